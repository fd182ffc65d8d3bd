"""Behind `slow`: the tutorials in the configuration behind their committed outputs (cells flagged `full`, which the
default nbdev_test skips; it runs their quick configuration). 4 min 6 s on two cores:
    pytest -m slow tests/test_tutorials_full.py"""
import os, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_tutorials_run_in_their_full_configuration():
    exe = shutil.which("nbdev_test", path=str(Path(sys.executable).parent)) or "nbdev_test"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    r = subprocess.run([exe, "--flags", "full", "--path", "nbs/tutorials", "--n_workers", "2"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
