"""What a new user meets first: every link of the README and the front page is in git, every README code block runs
as written and offline, the notebooks import only what the package declares, and the tutorials carry their figures."""
import ast, configparser, json, os, re, shlex, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
NOTEBOOKS = sorted((ROOT / "nbs").glob("*.ipynb")) + sorted((ROOT / "nbs" / "tutorials").glob("*.ipynb"))
SHOWCASE = sorted((ROOT / "nbs" / "tutorials").glob("*.ipynb")) + [ROOT / "nbs" / "index.ipynb"]


def tracked() -> set[str]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode: pytest.skip(f"not a git checkout: {out.stderr.strip()}")
    return set(out.stdout.split())


def relative_links(text:str) -> list[str]:
    links = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'<img[^>]+src="([^"]+)"', text)
    return [l.split("#")[0] for l in links if not re.match(r"[a-z]+:", l) and not l.startswith("#")]


def cells(path:Path, kind:str="code") -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind]


@pytest.mark.parametrize("doc", ["README.md", "nbs/index.ipynb"])
def test_every_relative_link_is_in_git(doc):
    text = README if doc == "README.md" else "\n".join(cells(ROOT / doc, "markdown"))
    files, base = tracked(), Path(doc).parent
    links = relative_links(text)
    missing = [l for l in links if os.path.normpath(base / l) not in files
               and not any(f.startswith(os.path.normpath(base / l) + "/") for f in files)]
    assert (links or doc != "README.md") and not missing, f"{doc} links files that git does not track: {missing}"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, re.S)


def test_readme_has_examples():
    assert len(python_blocks()) >= 4


@pytest.mark.parametrize("i", range(len(python_blocks())))
def test_readme_python_block_runs_as_written(i, tmp_path):
    "Each block on its own, in a fresh interpreter, offline (no proxy, no download), in an empty folder"
    env = {**os.environ, "NO_PROXY": "*", "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-c", python_blocks()[i]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"README python block {i} failed:\n{python_blocks()[i]}\n{r.stderr[-3000:]}"


def test_readme_cli_example_runs_offline(tmp_path):
    "The command-line example of the README (a data-free method on CIFAR-10's shape: no dataset is read)"
    cmd = shlex.split(re.search(r"`(ntk-paths prune --model\s+vgg16[^`]*)`", README).group(1)) + ["--quiet"]   # as written: 100 iterations
    exe = Path(sys.executable).parent / "ntk-paths"
    env = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    r = subprocess.run([str(exe), *cmd[1:]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    out = re.search(r"--out (\S+)", " ".join(cmd)).group(1)
    r = subprocess.run([str(exe), "report", out], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "method=synflow" in r.stdout, r.stderr


def declared_modules() -> set[str]:
    cfg = configparser.ConfigParser(); cfg.read(ROOT / "settings.ini")
    names = " ".join(cfg["DEFAULT"].get(k, "") for k in ("requirements", "dev_requirements", "notebook_requirements", "ray_requirements"))
    pkgs = {re.split(r"[<>=!\[ ;]", p)[0].lower() for p in shlex.split(names)}
    alias = {"scikit-learn": "sklearn", "ipykernel": "IPython", "jupyterlab": "jupyterlab", "ipywidgets": "ipywidgets"}
    return {alias.get(p, p).replace("-", "_") for p in pkgs} | {"IPython", "ntk_paths"}


def test_notebooks_import_only_declared_packages():
    allowed, bad = declared_modules() | set(sys.stdlib_module_names), []
    for nb in NOTEBOOKS:
        for src in cells(nb):
            src = "\n".join(l for l in src.splitlines() if not l.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(src)):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                       [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
                bad += [f"{nb.name}: {m}" for m in mods if m.split(".")[0] not in allowed]
    assert not bad, f"notebooks import packages outside settings.ini's requirements and extras: {bad}"


@pytest.mark.parametrize("nb", SHOWCASE, ids=lambda p: p.name)
def test_showcase_notebooks_carry_their_figures(nb):
    "Committed with outputs (each under 2 MB): someone browsing the repository sees the results"
    assert nb.stat().st_size < 2 * 2**20, f"{nb.name} is {nb.stat().st_size / 2**20:.1f} MB"
    outs = [o for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    pngs = [o for o in outs if "image/png" in o.get("data", {})]
    assert pngs, f"{nb.name} has no figure in its committed outputs; run tools/run_notebooks.sh"
    assert "google.colab" in cells(nb)[0], f"{nb.name}: the first code cell should install ntk_paths on Colab"


def test_figures_show_as_png_under_nbconvert(tmp_path):
    """Executed by nbconvert in a fresh kernel (no inline backend set up by hand), figures come out as PNG, not as text:
    a figure the tutorials' way (`fig = new_figure(...)`, then `fig` last in the cell) and a library plot's return"""
    pytest.importorskip("nbconvert"); pytest.importorskip("ipykernel")
    sources = ["from ntk_paths import MLP, init_weights, prune\nfrom ntk_paths.plots import new_figure, plot_layer_densities",
               "fig = new_figure((4, 3)); ax = fig.subplots(); ax.plot([0, 1], [1, 0])\nfig",
               'plot_layer_densities(prune(init_weights(MLP((8, 16, 4)), 0), "synflow", 0.3, progress=False))']
    nb = dict(nbformat=4, nbformat_minor=5, metadata=dict(kernelspec=dict(name="python3", display_name="Python 3", language="python")),
              cells=[dict(cell_type="code", id=f"c{i}", metadata={}, source=s, outputs=[], execution_count=None)
                     for i, s in enumerate(sources)])
    (tmp_path / "t.ipynb").write_text(json.dumps(nb))
    r = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute", "--output", "out.ipynb",
                        "--ExecutePreprocessor.timeout=300", str(tmp_path / "t.ipynb")], capture_output=True, text=True, timeout=600,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr[-3000:]
    cells_out = [c.get("outputs", []) for c in json.loads((tmp_path / "out.ipynb").read_text())["cells"]]
    for i in (1, 2):
        assert any("image/png" in o.get("data", {}) for o in cells_out[i]), f"cell {i} shows no PNG: {cells_out[i]}"
    assert not any("<Figure size" in "".join(o.get("data", {}).get("text/plain", "")) and "image/png" not in o.get("data", {})
                   for outs in cells_out for o in outs), "a figure came out as text"
