"""The MaskExplorer in a real browser: Voila serves a notebook that builds it, Playwright drives Debian's Chromium.

Needs /usr/bin/chromium (`apt-get install chromium`, which tools/test.sh runs when it can) and the dev extra
(voila, playwright, ipykernel). Without them the test is skipped and pytest prints why (`-rs`).
Screenshots land in tests/artifacts/.
"""
import json, re, socket, subprocess, sys, time
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

@pytest.fixture(scope="module")
def voila_url(tmp_path_factory):
    d = tmp_path_factory.mktemp("voila")
    nb = dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name="python3", display_name="python3", language="python")),
              cells=[dict(cell_type="code", id="explorer", metadata={}, outputs=[], execution_count=None, source=CELL)])
    (d / "explorer.ipynb").write_text(json.dumps(nb))
    port, log = _free_port(), open(d / "voila.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "voila", "explorer.ipynb", "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
                             "--show_tracebacks=True"], cwd=d, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=2).close(); break
            except OSError: time.sleep(0.5)
        else: pytest.fail(f"voila did not answer on {url} within 60 s; its log: {d / 'voila.log'}")
        if proc.poll() is not None: pytest.fail(f"voila exited ({proc.returncode}): {(d / 'voila.log').read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        try: proc.wait(10)
        except subprocess.TimeoutExpired: proc.kill()
        log.close()

def _density(text:str) -> float:
    m = re.search(r"density ([0-9.e-]+) — kept", text)
    assert m, f"no density in the summary: {text!r}"
    return float(m.group(1))

def test_mask_explorer_in_chromium(voila_url):
    from playwright.sync_api import sync_playwright
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport=dict(width=1280, height=900))
            page.goto(voila_url, timeout=120_000)
            summary = page.locator(".widget-html", has_text="kept").first
            summary.wait_for(timeout=120_000)                      # the notebook ran and the widget rendered
            page.wait_for_function("() => document.querySelectorAll('.widget-image').length >= 2", timeout=30_000)
            before = _density(summary.inner_text())
            src = page.locator(".widget-image").first.get_attribute("src")
            assert before == pytest.approx(0.05, rel=1e-3)
            assert src, "the density chart has no image"
            page.screenshot(path=str(ARTIFACTS / "mask_explorer_before.png"), full_page=True)

            handle = page.locator(".widget-slider .noUi-handle, .widget-slider .ui-slider-handle").first
            box = handle.bounding_box()
            x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            page.mouse.move(x, y); page.mouse.down(); page.mouse.move(x - 120, y, steps=8); page.mouse.up()   # a user drags left

            page.wait_for_function("(old) => !document.body.innerText.includes(old)", arg=f"density {before:.4g} —", timeout=60_000)
            after = _density(summary.inner_text())
            page.wait_for_function("(old) => document.querySelector('.widget-image').getAttribute('src') !== old", arg=src,
                                   timeout=30_000)
            page.wait_for_function("() => ![...document.querySelectorAll('.widget-box select, .widget-box input')].some(e => e.disabled)",
                                   timeout=30_000)                 # the controls are unlocked once the redraw is done
            page.screenshot(path=str(ARTIFACTS / "mask_explorer_after.png"), full_page=True)
            assert after < before, f"dragging the slider left should lower the density: {before} → {after}"
            readout = page.locator(".widget-slider .widget-readout").first.inner_text()
            assert float(readout) == pytest.approx(after, rel=0.05), (readout, after)
            assert "Error" not in page.locator("body").inner_text()
            print(f"density {before:g} → {after:g}; screenshots in {ARTIFACTS}")
        finally:
            browser.close()
