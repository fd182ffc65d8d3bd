"""Executors: worker processes and a real Ray cluster on 127.0.0.1 give the local executor's rows bit for bit; a killed
worker is retried and every configuration is written once; a killed driver resumes. Ray tests are skipped, with the
reason, when Ray is not installed or its cluster cannot start."""
from waiting import wait_until
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
    if (pid := wait_until(lambda: (_ray_task_pids() or [None])[0], 120, every=0.05)):
        os.kill(pid, signal.SIGKILL); killed.append(pid)
    t.join(600)
    assert killed, "no Ray task was seen running"
    assert sorted(ids(out)) == sorted(run_id(r) for r in cfg.runs())          # every configuration exactly once
    assert all(r["status"] == "ok" for r in result["res"].rows)                # the killed one was retried by Ray


def test_a_killed_ray_driver_resumes(cluster, tmp_path):
    out = tmp_path / "d"
    cmd = [EXE, "sweep", "--methods", "random,magnitude,synflow@3", "--densities", "0.1", "--seeds", "0,1", "--epochs", "3",
           "--executor", "ray", "--address", cluster, "--out", str(out), "--quiet"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_until(lambda: (out / RESULTS).exists() and len(ids(out)) >= 2, 300)
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


# ---- issue 26: a worker killed twice costs its own run only; a killed driver takes its workers with it ----
def _dies_twice(marker, run):
    "Kills its own worker process the first two times it is given x == 3"
    if run["x"] == 3:
        n = len(list(Path(marker).parent.glob(Path(marker).name + "*")))
        if n < 2: Path(f"{marker}{n}").touch(); os._exit(1)
    time.sleep(0.05)
    return dict(run, y=run["x"])


def test_a_worker_killed_twice_writes_off_its_own_run_only(tmp_path):
    lost = lambda run, why: dict(run, y=None, why=why)
    rows = list(ProcessExecutor(2, 1, retries=1).map(_dies_twice, (str(tmp_path / "died"),), [dict(x=k) for k in range(8)], lost))
    assert len(rows) == 8
    assert [r for r in rows if r["y"] is None] == [dict(x=3, y=None, why="its worker process died 2 times")]
    assert sorted(r["y"] for r in rows if r["y"] is not None) == [0, 1, 2, 4, 5, 6, 7]


def _sleeps(folder, run):
    Path(folder, f"worker-{os.getpid()}").touch()
    time.sleep(120)
    return run


DRIVER = """
import sys
from ntk_paths.executors import ProcessExecutor
sys.path.insert(0, sys.argv[2])
from test_executors import _sleeps
list(ProcessExecutor(2, 1).map(_sleeps, (sys.argv[1],), [dict(x=k) for k in range(4)], lambda r, w: r))
"""


def test_workers_exit_when_their_driver_is_killed(tmp_path):
    p = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path), str(Path(__file__).parent)])
    wait_until(lambda: len(list(tmp_path.glob("worker-*"))) >= 2 or p.poll() is not None, 120)
    pids = [int(f.name.split("-")[1]) for f in tmp_path.glob("worker-*")]
    assert len(pids) == 2, f"the workers did not start (driver exit code {p.poll()})"
    p.send_signal(signal.SIGKILL); p.wait()
    def alive(pid):
        try: os.kill(pid, 0); return True
        except ProcessLookupError: return False
    wait_until(lambda: not any(alive(q) for q in pids), 15, every=0.2)
    assert not any(alive(q) for q in pids), "worker processes outlived their killed driver"


def test_a_sweep_with_failed_runs_exits_1(tmp_path):
    r = subprocess.run([EXE, "sweep", "--methods", "random", "--densities", "1e-9", "--seeds", "0", "--epochs", "1",
                        "--out", str(tmp_path / "s"), "--quiet"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "1 run failed" in r.stderr and "--retry-failed" in r.stderr, (r.returncode, r.stderr[-500:])


def test_an_unreachable_ray_address_is_refused_quickly():
    pytest.importorskip("ray", reason='Ray is not installed (pip install -e ".[ray]")')
    from ntk_paths.executors import RayExecutor
    t = time.time()
    with pytest.raises(ValueError, match=r"no Ray cluster answers at 127\.0\.0\.1:\d+ .*ray start --head"):
        list(RayExecutor(address=f"127.0.0.1:{_free_port()}").map(_dies_once, ("x",), [dict(x=1)], lambda r, w: r))
    assert time.time() - t < 30


def test_an_infeasible_ray_request_is_refused_with_the_clusters_resources(cluster):
    from ntk_paths.executors import RayExecutor
    t = time.time()
    with pytest.raises(ValueError, match=r"no node of the Ray cluster has 64 CPUs for one run \(its nodes: 2 CPUs, 0 GPUs\)"):
        list(RayExecutor(address=cluster, cpus=64).map(_dies_once, ("x",), [dict(x=1)], lambda r, w: r))
    with pytest.raises(ValueError, match=r"has 1 CPUs and a GPU"):
        list(RayExecutor(address=cluster).map(_dies_once, ("x",), [dict(x=1)], lambda r, w: r, gpu=True))
    assert time.time() - t < 60
