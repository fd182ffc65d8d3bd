"""Issue 29: a shrunk reproduction from the command line, and a sweep killed in the middle of a run's training that
resumes that run from its checkpoint."""
from waiting import wait_until
import json, os, signal, subprocess, sys, time
import torch
from ntk_paths.images import write_cifar


def cifar(root, n=1000, m=200):
    g = torch.Generator().manual_seed(0)
    write_cifar(root, "cifar10", torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(n) % 10,
                torch.randint(0, 256, (m, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(m) % 10)


def cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-c", "import sys; from ntk_paths.cli import main; sys.exit(main())", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, **kw)


def test_shrunk_reproduce_prints_the_published_column(tmp_path):
    cifar(tmp_path)
    p = cli("reproduce", "ntksap", "--dataset", "cifar10", "--model", "resnet20", "--data", str(tmp_path), "--epochs", "1",
            "--fraction", "0.2", "--methods", "magnitude,ntksap", "--densities", str(0.8 ** 10), "--seeds", "0",
            "--iterations", "ntksap=1", "--out", str(tmp_path / "out"), "--quiet")
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "SHRUNK (1 epochs, 0.2 of the images)" in out
    assert "| ntksap | 0.1074 | " in out and "87.86 ± 0.13" in out and "≈87.60" in out    # NTK-SAP Table 12; the figure
    assert (tmp_path / "out" / "reproduction.png").read_bytes()[:4] == b"\x89PNG"
    assert "SHRUNK" in (tmp_path / "out" / "reproduction.md").read_text()


def test_sweep_killed_mid_training_resumes_that_run(tmp_path):
    cifar(tmp_path)
    args = ("reproduce", "ntksap", "--dataset", "cifar10", "--model", "resnet20", "--data", str(tmp_path), "--epochs", "4",
            "--fraction", "0.3", "--methods", "magnitude", "--densities", "0.1", "--seeds", "0", "--out", str(tmp_path / "out"), "--quiet")
    p = cli(*args)
    try:                                   # the dense run finishes first; then wait for the magnitude run's first epoch
        wait_until(lambda: p.poll() is not None or list((tmp_path / "out" / "checkpoints").glob("magnitude*.pt")), 240)
        assert p.poll() is None, "the sweep ended before it could be killed"
        os.kill(p.pid, signal.SIGKILL)
    finally: p.kill(); p.wait()
    rows = [json.loads(l) for l in (tmp_path / "out" / "results.jsonl").read_text().splitlines() if l.strip()]
    assert [r["method"] for r in rows] == ["dense"]
    q = cli(*args); out, err = q.communicate(timeout=300)
    assert q.returncode == 0, err
    rows = [json.loads(l) for l in (tmp_path / "out" / "results.jsonl").read_text().splitlines() if l.strip()]
    mag = [r for r in rows if r["method"] == "magnitude"]
    assert len(mag) == 1 and mag[0]["status"] == "ok" and mag[0]["train_resumed"] == 1
    assert not list((tmp_path / "out" / "checkpoints").glob("*.pt"))
