"""The MaskExplorer in a real browser: Voila serves a notebook that builds it, Playwright drives Debian's Chromium.

Needs /usr/bin/chromium (`apt-get install chromium`, which tools/test.sh runs when it can) and the dev extra
(voila, playwright, ipykernel). Without them the test is skipped and pytest prints why (`-rs`).
Screenshots land in tests/artifacts/.
"""
import importlib.util, json, re, socket, subprocess, sys, time
from contextlib import contextmanager
from pathlib import Path
import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

def _missing() -> str:
    if not Path(CHROMIUM).exists():
        return f"no browser: {CHROMIUM} is not installed (apt-get install chromium; tools/test.sh does it when run as root)"
    for mod in ("voila", "playwright", "ipykernel"):
        try: __import__(mod)
        except ImportError: return f"the Python package {mod} is missing: pip install -e '.[dev]'"
    return ""

pytestmark = pytest.mark.skipif(bool(_missing()), reason=_missing() or "-")

CELL = """from ntk_paths import MaskExplorer
MaskExplorer("lenet5", "synflow", 0.05, floor=1e-3)"""

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def _notebook(folder:Path) -> Path:
    nb = dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name="python3", display_name="python3", language="python")),
              cells=[dict(cell_type="code", id="explorer", metadata={}, outputs=[], execution_count=None, source=CELL)])
    (folder / "explorer.ipynb").write_text(json.dumps(nb))
    return folder / "explorer.ipynb"

@contextmanager
def _server(folder:Path, args:list[str], name:str):
    "Start a server on a free port of 127.0.0.1 in `folder`; yield its port once it accepts connections"
    port, log = _free_port(), open(folder / f"{name}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", *args, f"--port={port}"], cwd=folder, stdout=log, stderr=subprocess.STDOUT)
    try:
        for _ in range(240):
            if proc.poll() is not None: pytest.fail(f"{name} exited ({proc.returncode}): {(folder / f'{name}.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close(); break
            except OSError: time.sleep(0.5)
        else: pytest.fail(f"{name} did not answer on port {port} within 120 s; its log: {folder / f'{name}.log'}")
        yield port
    finally:
        proc.terminate()
        try: proc.wait(10)
        except subprocess.TimeoutExpired: proc.kill()
        log.close()

@contextmanager
def _page():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try: yield browser.new_page(viewport=dict(width=1280, height=900))
        finally: browser.close()

def _density(text:str) -> float:
    m = re.search(r"density ([0-9.e-]+) — kept", text)
    assert m, f"no density in the summary: {text!r}"
    return float(m.group(1))

def _drag_slider_and_check(page, root:str, name:str):
    "The explorer under `root` shows density 0.05; drag its slider left and check the text and the chart follow"
    summary = page.locator(f"{root} .widget-html", has_text="kept").first
    summary.wait_for(timeout=180_000)                          # the notebook ran and the widget rendered
    page.wait_for_function(f"() => document.querySelectorAll('{root} .widget-image').length >= 2", timeout=30_000)
    chart = page.locator(f"{root} .widget-image").first
    before, src = _density(summary.inner_text()), chart.get_attribute("src")
    assert before == pytest.approx(0.05, rel=1e-3)
    assert src, "the density chart has no image"
    page.screenshot(path=str(ARTIFACTS / f"{name}_before.png"), full_page=True)

    handle = page.locator(f"{root} .widget-slider .noUi-handle, {root} .widget-slider .ui-slider-handle").first
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y); page.mouse.down(); page.mouse.move(x - 120, y, steps=8); page.mouse.up()   # a user drags left

    page.wait_for_function("(old) => !document.body.innerText.includes(old)", arg=f"density {before:.4g} —", timeout=60_000)
    after = _density(summary.inner_text())
    page.wait_for_function(f"(old) => document.querySelector('{root} .widget-image').getAttribute('src') !== old", arg=src,
                           timeout=30_000)
    page.wait_for_function(f"() => ![...document.querySelectorAll('{root} .widget-box select, {root} .widget-box input')]"
                           ".some(e => e.disabled)", timeout=30_000)   # the controls are unlocked once the redraw is done
    page.screenshot(path=str(ARTIFACTS / f"{name}_after.png"), full_page=True)
    assert after < before, f"dragging the slider left should lower the density: {before} → {after}"
    readout = page.locator(f"{root} .widget-slider .widget-readout").first.inner_text()
    assert float(readout) == pytest.approx(after, rel=0.05), (readout, after)
    assert "Traceback" not in page.locator(root).first.inner_text()
    print(f"{name}: density {before:g} → {after:g}; screenshots in {ARTIFACTS}")

def test_mask_explorer_in_voila(tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    _notebook(tmp_path)
    with _server(tmp_path, ["voila", "explorer.ipynb", "--no-browser", "--Voila.ip=127.0.0.1", "--show_tracebacks=True"], "voila") as port, \
         _page() as page:
        page.goto(f"http://127.0.0.1:{port}/", timeout=180_000)
        _drag_slider_and_check(page, "body", "mask_explorer_voila")

@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jupyterlab") is None, reason="JupyterLab is not installed (pip install jupyterlab)")
def test_mask_explorer_in_jupyterlab(tmp_path):
    "Open the notebook in JupyterLab, run its cell as a user would (Shift+Enter), then drag the slider"
    ARTIFACTS.mkdir(exist_ok=True)
    _notebook(tmp_path)
    lab = ["jupyter", "lab", "--no-browser", "--ServerApp.allow_root=True", "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
           f"--ServerApp.root_dir={tmp_path}", "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    with _server(tmp_path, lab, "jupyterlab") as port, _page() as page:
        page.goto(f"http://127.0.0.1:{port}/lab/tree/explorer.ipynb", timeout=180_000)
        page.locator(".jp-Notebook .jp-Cell .cm-content").first.click(timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle'], .jp-KernelStatus", timeout=120_000)
        page.keyboard.press("Shift+Enter")
        _drag_slider_and_check(page, ".jp-OutputArea-output", "mask_explorer_jupyterlab")
