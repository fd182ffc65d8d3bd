"""The layers DESIGN.md draws hold in the code: imports go one way, only public names cross modules, and a script that
imports ntk_paths loads neither ipywidgets nor matplotlib."""
import ast, subprocess, sys
from pathlib import Path
import pytest

PKG = Path(__file__).resolve().parents[1] / "ntk_paths"
# bottom to top: a module may import only modules listed before it
LAYERS = ["checks", "io", "masks", "models", "data", "images", "linalg", "train", "ntk", "paths", "scores", "data_scores", "ntksap",
          "prune", "executors", "sweep", "experiments", "reproduce", "plots", "cli", "widgets"]


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
