#!/usr/bin/env bash
# Install ntk_paths with its dev extra into a virtual environment and run every test:
#   1. notebooks are clean (nbdev_clean changes nothing),
#   2. the library is in sync with the notebooks (nbdev_export changes nothing),
#   3. every notebook runs (nbdev_test; cells flagged slow/cuda are skipped),
#   4. the pytest suite (tests marked slow are skipped; run them with: .venv/bin/pytest -m slow).
# VENV=path picks another virtual environment (default: .venv in the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import ntk_paths, nbdev" || { echo "installation failed"; exit 1; }
export PATH="$PWD/$VENV/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }
changed() { git status --porcelain -- nbs ntk_paths; }

step "notebooks clean"
before=$(changed)
nbdev_clean
[ "$(changed)" = "$before" ] || { git status --short -- nbs; echo "FAIL: notebooks were not clean; run nbdev_clean and commit"; exit 1; }

step "library in sync with notebooks"
nbdev_export
[ "$(changed)" = "$before" ] || { git status --short -- ntk_paths; echo "FAIL: ntk_paths/ differs from the notebooks; run nbdev_export and commit"; exit 1; }

step "nbdev_test"
time nbdev_test --n_workers 1   # one worker: two would oversubscribe two cores (163 s against 78 s, measured)

step "pytest"
time pytest -q
