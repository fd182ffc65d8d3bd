"The ntk-paths command as a user runs it."
import json, os, shutil, subprocess, sys
import pytest

EXE = shutil.which("ntk-paths", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def run(*args, cwd):
    assert EXE, "the ntk-paths console script is not installed; run pip install -e ."
    return subprocess.run([EXE, *args], cwd=cwd, capture_output=True, text=True, timeout=600)


def test_compare_small(tmp_path):
    r = run("compare", "--densities", "0.1,0.01", "--epochs", "3", "--methods", "random,synflow",
            "--iterations", "synflow=10", "--out", "out", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "| random |" in r.stdout and "| synflow |" in r.stdout and "Dense network" in r.stdout
    rows = [json.loads(l) for l in (tmp_path / "out" / "runs.jsonl").read_text().splitlines()]
    assert len(rows) == 5 and {r["method"] for r in rows} == {"dense", "random", "synflow"}
    assert (tmp_path / "out" / "accuracy.png").stat().st_size > 10_000


def test_prune_and_report(tmp_path):
    r = run("prune", "--model", "lenet5", "--dataset", "mnist1d", "--method", "synflow", "--compression", "50",
            "--iterations", "5", "--out", "m.pt", "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and "LeNet5 takes images" in r.stderr
    r = run("prune", "--model", "conv1d", "--dataset", "mnist1d", "--method", "synflow", "--compression", "50",
            "--iterations", "5", "--out", "m.pt", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "compression 50" in r.stdout
    r = run("report", "m.pt", cwd=tmp_path)
    assert r.returncode == 0 and "method=synflow" in r.stdout and "conv1d" in r.stdout


def test_bad_arguments_exit_2_with_a_message(tmp_path):
    r = run("compare", "--model", "vgg19", "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and "unknown model 'vgg19'" in r.stderr
    r = run("prune", "--density", "0", cwd=tmp_path)
    assert r.returncode == 2 and "density must be in (0, 1]" in r.stderr
    r = run("report", "nothing.pt", cwd=tmp_path)
    assert r.returncode == 2 and "not a mask file" in r.stderr
