"""The layers hold in the code: the notebooks are numbered in import order (bottom to top: masks at the bottom; scores,
prune, the sweep runner, then the views: plots, cli, widgets), imports go one way, only public names cross modules, no
module grows past 450 lines, and a script that imports ntk_paths loads neither ipywidgets nor matplotlib."""
import ast, json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "ntk_paths"


def _exported(nb):
    "The module a notebook exports to (its `#| default_exp` cell)"
    for c in json.loads(nb.read_text())["cells"]:
        if m := re.match(r"#\|\s*default_exp\s+(\S+)", "".join(c["source"])): return m[1]


# bottom to top, in the notebooks' numbering: a module may import only modules listed before it
LAYERS = [_exported(nb) for nb in sorted((ROOT / "nbs").glob("[0-9][0-9]_*.ipynb"))]


def imports(module):
    "(imported module, imported names) for every `from ntk_paths.x import ...` / `from .x import ...` anywhere in the file"
    tree = ast.parse((PKG / f"{module}.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            name = node.module.removeprefix("ntk_paths.") if node.module.startswith("ntk_paths.") else \
                   node.module if node.level == 1 else None
            if name is not None: yield name, [a.name for a in node.names]


def test_every_module_has_a_layer():
    assert sorted(LAYERS) == sorted(p.stem for p in PKG.glob("*.py") if p.stem not in ("__init__", "_modidx"))


@pytest.mark.parametrize("module", LAYERS)
def test_imports_go_one_way_and_use_public_names(module):
    for other, names in imports(module):
        assert other in LAYERS, f"{module} imports an unknown module {other}"
        assert LAYERS.index(other) < LAYERS.index(module), f"{module} imports {other}, which sits above it"
        private = [n for n in names if n.startswith("_")]
        assert not private, f"{module} imports private names {private} from {other}"


def test_a_script_does_not_load_widgets_or_matplotlib():
    code = "import sys, ntk_paths, ntk_paths.masks; print(sorted(m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'matplotlib')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_notebooks_are_numbered_once_each():
    nbs = sorted((ROOT / "nbs").glob("*.ipynb"))
    numbers = [nb.name[:2] for nb in nbs if nb.name[:2].isdigit()]
    assert numbers == [f"{i:02d}" for i in range(len(numbers))], numbers          # 00, 01, 02, … with no gap or twin
    assert all(nb.name[:2].isdigit() or nb.name == "index.ipynb" for nb in nbs), [nb.name for nb in nbs]


def test_no_module_over_450_lines():
    sizes = {p.stem: len(p.read_text().splitlines()) for p in PKG.glob("*.py") if p.stem != "_modidx"}
    assert not {m: n for m, n in sizes.items() if n > 450}, sizes
