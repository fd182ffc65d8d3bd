"Sweeps survive being killed, record failures, refuse bad input before training, and plot from their files."
from waiting import wait_until
import json, os, shutil, signal, subprocess, sys, time
from pathlib import Path
import pytest, torch
from ntk_paths import SCORES, saliency
from ntk_paths.sweep import SweepConfig, sweep, load_sweep, run_id, RESULTS

EXE = shutil.which("ntk-paths", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))


def ids(path):
    return [json.loads(l)["run_id"] for l in Path(path, RESULTS).read_text().splitlines() if l.strip()]


def test_killed_sweep_resumes_and_runs_everything_exactly_once(tmp_path):
    out = tmp_path / "sw"
    cmd = [EXE, "sweep", "--methods", "random,magnitude,synflow@5", "--densities", "0.1,0.03", "--seeds", "0,1",
           "--epochs", "2", "--out", str(out), "--quiet"]
    expected = {run_id(r) for r in SweepConfig(methods=["random", "magnitude", "synflow@5"], densities=[0.1, 0.03], seeds=[0, 1]).runs()}
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: (out / RESULTS).exists() and len(ids(out)) >= 3, 300, every=0.2)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    first = ids(out)
    assert 3 <= len(first) < len(expected), "the sweep should have been killed part-way"
    with open(out / RESULTS, "a") as f: f.write('{"run_id": "random|0.1|0|no')   # as if killed while writing
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    final = ids(out)
    assert sorted(final) == sorted(expected)                 # every configuration exactly once
    assert final[:len(first)] == first                       # finished runs were kept, not redone
    assert (out / "accuracy.png").stat().st_size > 10_000 and "| synflow@5 |" in (out / "table.md").read_text()


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path):
    @saliency("_boom")
    def boom(model, masks, **_): raise RuntimeError("boom on purpose")
    try:
        cfg = SweepConfig(methods=["_boom", "random"], densities=[0.1], seeds=[0], epochs=1)
        res = sweep(cfg, tmp_path, progress=False)
        status = {r["method"]: r["status"] for r in res.rows}
        assert status == {"dense": "ok", "_boom": "failed", "random": "ok"}
        assert "boom on purpose" in next(r["error"] for r in res.rows if r["method"] == "_boom")
        n = len(ids(tmp_path))
        sweep(cfg, tmp_path, progress=False)                  # finished (failed) runs are not retried by default ...
        assert len(ids(tmp_path)) == n
        sweep(cfg, tmp_path, retry_failed=True, progress=False)   # ... unless asked
        assert len(ids(tmp_path)) == n + 1 and len(load_sweep(tmp_path).rows) == 3
    finally:
        SCORES.pop("_boom")


def test_bad_input_fails_before_training(tmp_path):
    blocker = tmp_path / "a_file"; blocker.write_text("")
    with pytest.raises(PermissionError, match="cannot write the results"):
        sweep(SweepConfig(methods=["random"], densities=[0.1], seeds=[0]), blocker / "sub", progress=False)
    with pytest.raises(ValueError, match="unknown method 'synflw'.*choose from random"):
        sweep(SweepConfig(methods=["synflw"]), tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()
    cfgfile = tmp_path / "c.toml"
    cfgfile.write_text('methods = ["random", "snip"]\ndensities = [0.2]\nseeds = [0]\nepochs = 1\nsanity = ["none", "invert"]\n')
    cfg = SweepConfig.from_file(cfgfile)
    assert cfg.sanity == [None, "invert"] and len(cfg.runs()) == 1 + 2 * 2
    cfgfile.write_text('methods = ["random"]\nepoch = 3\n')
    with pytest.raises(ValueError, match=r"unknown keys \['epoch'\]"): SweepConfig.from_file(cfgfile)
    r = subprocess.run([EXE, "sweep", "--model", "resnet99", "--out", str(tmp_path / "y")], capture_output=True, text=True)
    assert r.returncode == 2 and "unknown model 'resnet99'" in r.stderr


def test_an_executor_decides_where_and_in_which_order_runs_happen(tmp_path):
    "Rows arrive in the executor's order; the journal holds each run once and the numbers equal the local executor's"
    from ntk_paths.executors import Executor
    class Backwards(Executor):
        name = "backwards"
        def map(self, fn, shared, runs, lost, gpu=False):
            for run in reversed(runs): yield fn(*shared, run)
    cfg = SweepConfig(methods=["random", "synflow@3"], densities=[0.1], seeds=[0], epochs=1, ntk_samples=10)
    local = sweep(cfg, tmp_path / "local", progress=False)
    back = sweep(cfg, tmp_path / "back", progress=False, executor=Backwards())
    assert ids(tmp_path / "back") == ids(tmp_path / "local")[::-1]
    strip = lambda r: {k: v for k, v in r.items() if not k.endswith("seconds")}
    assert sorted(map(json.dumps, map(strip, back.rows))) == sorted(map(json.dumps, map(strip, local.rows)))
    with pytest.raises(ValueError, match="unknown executor 'slurm'"):
        sweep(cfg, tmp_path / "x", progress=False, executor="slurm")
    assert not (tmp_path / "x").exists()
