"""Executors: worker processes and a real Ray cluster on 127.0.0.1 give the local executor's rows bit for bit; a killed
worker is retried and every configuration is written once; a killed driver resumes. Ray tests are skipped, with the
reason, when Ray is not installed or its cluster cannot start."""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time
from pathlib import Path
import pytest, torch
from ntk_paths.executors import ProcessExecutor, get_executor
from ntk_paths.sweep import SweepConfig, sweep, run_id, RESULTS

EXE = shutil.which("ntk-paths", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
RAY = shutil.which("ray", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
CFG = SweepConfig(methods=["random", "synflow@5"], densities=[0.1, 0.02], seeds=[0], epochs=2, ntk_samples=10)


def ids(path): return [json.loads(l)["run_id"] for l in Path(path, RESULTS).read_text().splitlines() if l.strip()]
def measured(res): return sorted(json.dumps({k: v for k, v in r.items() if not k.endswith("seconds")}) for r in res.rows)


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory):
    "The local executor's rows, computed with one torch thread (as each worker below runs)"
    threads = torch.get_num_threads(); torch.set_num_threads(1)
    try: return measured(sweep(CFG, tmp_path_factory.mktemp("local") / "s", progress=False))
    finally: torch.set_num_threads(threads)


def _dies_once(marker, run):
    "A task that kills its own worker process the first time it sees x == 3"
    if run["x"] == 3 and not Path(marker).exists():
        Path(marker).touch(); os._exit(1)
    return dict(run, y=run["x"])


def test_a_dead_worker_process_is_replaced_and_its_run_done_again(tmp_path):
    lost = lambda run, why: dict(run, y=None, why=why)
    rows = list(ProcessExecutor(2, 1).map(_dies_once, (str(tmp_path / "died"),), [dict(x=k) for k in range(5)], lost))
    assert sorted(r["y"] for r in rows) == [0, 1, 2, 3, 4] and (tmp_path / "died").exists()
    rows = list(ProcessExecutor(2, 1, retries=0).map(_dies_once, (str(tmp_path / "again"),), [dict(x=3)], lost))
    assert rows == [dict(x=3, y=None, why="its worker process died 1 times")]


def test_processes_give_the_local_rows(tmp_path, local_rows):
    assert measured(sweep(CFG, tmp_path / "p", progress=False, executor=ProcessExecutor(workers=2, threads=1))) == local_rows


# ---- Ray ----------------------------------------------------------------------------------------------------------

def _free_port():
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    "A Ray head on 127.0.0.1 with 2 worker CPUs, started and stopped here; its address"
    try: import ray  # noqa: F401
    except ImportError: pytest.skip('Ray is not installed (pip install -e ".[ray]"): the Ray executor is not tested')
    port, tmp = _free_port(), tempfile.mkdtemp(prefix="ray")
    # a throw-away cluster on 127.0.0.1 without token authentication (Ray 2.5x turns it on and keeps the token in ~/.ray,
    # which another cluster on the machine may replace); the driver (this process and its CLI children) must agree
    saved = {k: os.environ.get(k) for k in ("RAY_AUTH_MODE", "RAY_USAGE_STATS_ENABLED")}
    os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0")
    try:
        r = subprocess.run([RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", "--num-cpus=2",
                            "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={tmp}"],
                           capture_output=True, text=True, timeout=180)
        if r.returncode != 0:
            pytest.skip(f"a local Ray cluster could not start (ray start exited {r.returncode}): {(r.stderr or r.stdout)[-500:]}")
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)
        for k, v in saved.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v


def test_ray_gives_the_local_rows(cluster, tmp_path, local_rows):
    assert measured(sweep(CFG, tmp_path / "r", progress=False, executor=get_executor("ray", address=cluster))) == local_rows


def _ray_task_pids():
    "Processes running one of our Ray tasks (Ray titles them ray::_ray_task)"
    pids = []
    for p in Path("/proc").iterdir():
        try:
            if p.name.isdigit() and (p / "cmdline").read_bytes().startswith(b"ray::_ray_task"): pids.append(int(p.name))
        except OSError: pass
    return pids


def test_a_killed_ray_worker_is_retried_and_every_run_written_once(cluster, tmp_path):
    cfg = SweepConfig(methods=["random", "magnitude"], densities=[0.1], seeds=[0, 1], epochs=6)
    out, result, killed = tmp_path / "k", {}, []
    t = threading.Thread(target=lambda: result.update(res=sweep(cfg, out, progress=False, executor=get_executor("ray", address=cluster))))
    t.start()
    deadline = time.time() + 120
    while time.time() < deadline and not killed:
        if (pids := _ray_task_pids()):
            os.kill(pids[0], signal.SIGKILL); killed.append(pids[0])
        time.sleep(0.05)
    t.join(600)
    assert killed, "no Ray task was seen running"
    assert sorted(ids(out)) == sorted(run_id(r) for r in cfg.runs())          # every configuration exactly once
    assert all(r["status"] == "ok" for r in result["res"].rows)                # the killed one was retried by Ray


def test_a_killed_ray_driver_resumes(cluster, tmp_path):
    out = tmp_path / "d"
    cmd = [EXE, "sweep", "--methods", "random,magnitude,synflow@3", "--densities", "0.1", "--seeds", "0,1", "--epochs", "3",
           "--executor", "ray", "--address", cluster, "--out", str(out), "--quiet"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and (not (out / RESULTS).exists() or len(ids(out)) < 2): time.sleep(0.1)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    first = ids(out)
    expected = {run_id(r) for r in SweepConfig(methods=["random", "magnitude", "synflow@3"], densities=[0.1], seeds=[0, 1]).runs()}
    assert 2 <= len(first) < len(expected), "the driver should have been killed part-way"
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert sorted(ids(out)) == sorted(expected) and ids(out)[:len(first)] == first


def test_without_ray_the_ray_executor_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)          # as if Ray were not installed
    with pytest.raises(ImportError, match=r'the ray executor needs Ray: pip install -e "\.\[ray\]"'): get_executor("ray")
