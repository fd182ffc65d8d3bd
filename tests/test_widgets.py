"""The explorers under ipywidgets 7.7.1, the version Colab ships (the notebook tests run them under ipywidgets 8).

tools/test.sh installs ipywidgets 7.7.1 apart from the venv, in .cache/ipywidgets7; this test puts it first on
the path of a fresh interpreter, builds each explorer, moves its controls and checks what they show.
"""
import os, subprocess, sys
from pathlib import Path
import pytest

W7 = Path(__file__).parents[1] / ".cache" / "ipywidgets7"

SCRIPT = """
import ipywidgets
assert ipywidgets.__version__ == "7.7.1", ipywidgets.__version__
from ntk_paths import MaskExplorer, SpectrumExplorer, CompareView
ex = MaskExplorer("mlp", "synflow", 0.05, data="digits", floor=1e-3)
assert ex.error.value == "", ex.error.value
ex.density_w.value = 0.01
assert ex.masks.kept == round(0.01 * ex.masks.total) and "density 0.01" in ex.summary.value
assert bytes(ex.densities_img.value)[:4] == b"\\x89PNG" and bytes(ex.mask_img.value)[:4] == b"\\x89PNG"
sx = SpectrumExplorer("mlp", ["synflow"], 0.05, data="digits", n=4, floor=1e-3)
assert sx.error.value == "" and list(sx.spectra) == ["dense", "synflow"] and len(sx.spectra["dense"]) == 40
cv = CompareView("mlp", ["synflow", "random"], 0.05, data="digits", floor=1e-3)
cv.density_w.value = 0.02
assert cv.error.value == "" and all(m.kept == round(0.02 * m.total) for m in cv.masks.values())
print("ok", ipywidgets.__version__)
"""

@pytest.mark.skipif(not (W7 / "ipywidgets").is_dir(), reason=f"ipywidgets 7.7.1 is not installed in {W7} (tools/test.sh installs it)")
def test_explorers_under_ipywidgets_7():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(W7), str(Path(__file__).parents[1])]))
    r = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "ok 7.7.1" in r.stdout
