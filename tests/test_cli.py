"The ntk-paths command as a user runs it."
from waiting import wait_until
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
    assert "| random |" in r.stdout and "| synflow |" in r.stdout and "Dense: " in r.stdout
    rows = [json.loads(l) for l in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
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
    assert r.returncode == 2 and "no such mask file: nothing.pt" in r.stderr
    r = run("prune", "--method", "synflo", cwd=tmp_path)
    assert r.returncode == 2 and "unknown method 'synflo' (did you mean 'synflow'?)" in r.stderr


def test_data_free_prune_loads_no_dataset(tmp_path):
    # cifar10 is not on this machine: a data-free method takes the shape from the name and never opens the files
    r = run("prune", "--model", "vgg11", "--dataset", "cifar10", "--method", "synflow", "--iterations", "2",
            "--compression", "10", "--out", "v.pt", "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "compression 10" in r.stdout and not (tmp_path / "data").exists()
    r = run("prune", "--model", "vgg11", "--dataset", "cifar10", "--method", "snip", "--quiet", cwd=tmp_path)
    assert r.returncode == 2 and "--download" in r.stderr and "torchvision's layout" in r.stderr
    r = run("prune", "--model", "mlp", "--input-shape", "20", "--num-classes", "3", "--method", "magnitude", cwd=tmp_path)
    assert r.returncode == 0, r.stderr


def test_compare_killed_rerun_keeps_finished_runs(tmp_path):
    "A second compare into the same folder, killed part-way, leaves every finished row of the first in place"
    args = ("compare", "--densities", "0.1", "--epochs", "2", "--methods", "random,magnitude", "--out", "out", "--quiet")
    assert run(*args, cwd=tmp_path).returncode == 0
    before = (tmp_path / "out" / "results.jsonl").read_text()
    more = ("compare", "--densities", "0.1", "--epochs", "2", "--methods", "random,magnitude,synflow", "--out", "out", "--quiet")
    r = run(*more, cwd=tmp_path)                         # another configuration: refused, nothing touched
    assert r.returncode == 2 and "different sweep" in r.stderr
    assert (tmp_path / "out" / "results.jsonl").read_text() == before
    p = subprocess.Popen([EXE, *more, "--overwrite"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    import time                                          # until it has set the old results aside (importing torch alone takes 4-8 s)
    wait_until(lambda: list((tmp_path / "out").glob("results.jsonl.bak-*")), 120)
    time.sleep(1); p.kill(); p.wait()                    # killed part-way through the new comparison
    backups = list((tmp_path / "out").glob("results.jsonl.bak-*"))
    assert len(backups) == 1 and backups[0].read_text() == before
    r = run(*more, cwd=tmp_path)                         # the same command resumes the new comparison
    assert r.returncode == 0, r.stderr
    rows = [json.loads(l) for l in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["method"] for r in rows) == ["dense", "magnitude", "random", "synflow"]


def test_two_sweeps_in_one_folder(tmp_path):
    args = ("sweep", "--methods", "random,magnitude,synflow", "--densities", "0.1,0.01", "--seeds", "0,1", "--epochs", "3",
            "--out", "s", "--quiet")
    first = subprocess.Popen([EXE, *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_until((tmp_path / "s" / "sweep.json").exists, 120)   # until the first holds the folder (a busy machine: 10 s)
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 2 and "in use by another sweep: process" in r.stderr and str(first.pid) in r.stderr
    first.kill(); first.wait()                           # a dead holder releases the lock
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
