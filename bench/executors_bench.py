"""The same 12-run digits sweep with the local executor, with 2 worker processes, and on a local Ray cluster with 2 CPUs:
wall times, speed-ups against local, and whether the rows are the same (one torch thread per run everywhere).

    python bench/executors_bench.py [--epochs 20]

Run it on a quiet machine (nothing else running): runs of a small MLP share two cores badly."""
import argparse, json, tempfile, time
from pathlib import Path
import torch
from ntk_paths.sweep import SweepConfig, sweep
from ntk_paths.executors import LocalExecutor, ProcessExecutor, RayExecutor

def timed(cfg, name, ex):
    out = Path(tempfile.mkdtemp()) / name
    t = time.perf_counter(); res = sweep(cfg, out, progress=False, executor=ex); dt = time.perf_counter() - t
    return dt, measured(res)


def measured(res): return sorted(json.dumps({k: v for k, v in r.items() if not k.endswith("seconds")}) for r in res.rows)


def main():   # worker processes are spawned: they import this file, so it runs nothing at import time
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=20)
    a = p.parse_args()
    # 5 methods × 1 density × 2 seeds + the dense net per seed = 12 runs
    cfg = SweepConfig(methods=["random", "magnitude", "snip", "grasp", "synflow@20"], densities=[0.05], seeds=[0, 1], epochs=a.epochs)
    assert len(cfg.runs()) == 12


    torch.set_num_threads(1)
    times, rows = {}, {}
    times["local"], rows["local"] = timed(cfg, "local", LocalExecutor())
    times["processes=2"], rows["processes=2"] = timed(cfg, "processes", ProcessExecutor(workers=2, threads=1))
    try:
        import ray
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        t0 = time.perf_counter(); ray.get(ray.remote(lambda: 0).remote()); start = time.perf_counter() - t0
        times["ray (2 CPUs)"], rows["ray (2 CPUs)"] = timed(cfg, "ray", RayExecutor(cpus=1))
        ray.shutdown()
    except ImportError:
        print("Ray is not installed: pip install -e '.[ray]'"); start = None
    print(f"12-run digits sweep (MLP, {a.epochs} epochs), one torch thread per run, {torch.get_num_threads()} thread in the driver\n")
    print("| executor | wall time (s) | speed-up vs local | rows equal local |")
    print("|---|---|---|---|")
    for k, v in times.items():
        print(f"| {k} | {v:.1f} | {times['local'] / v:.2f}× | {rows[k] == rows['local']} |")
    if start is not None: print(f"\n(Ray cluster start, not included above: first task after {start:.1f} s)")


if __name__ == "__main__":
    main()
