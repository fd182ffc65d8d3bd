#!/usr/bin/env bash
# Install ntk_paths with its dev and ray extras into a virtual environment and run every test:
#   1. notebooks are clean (nbdev_clean changes nothing),
#   2. the library is in sync with the notebooks (nbdev_export changes nothing),
#   3. every notebook runs (nbdev_test; cells flagged slow/cuda are skipped),
#   4. the pytest suite (tests marked slow are skipped; run them with: .venv/bin/pytest -m slow), including the
#      widget test in a real browser (Voila + Playwright + Debian's Chromium, installed here when we are root)
#      the widgets under ipywidgets 7.7.1 (what Colab ships; installed apart, in .cache/ipywidgets7), and the Ray
#      executor on a local Ray cluster that tests/test_executors.py starts on 127.0.0.1 and stops.
# VENV=path picks another virtual environment (default: .venv in the repository).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q -e ".[dev,ray]" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import ntk_paths, nbdev" || { echo "installation failed"; exit 1; }
export PATH="$PWD/$VENV/bin:$PATH"

# The browser test needs Chromium from the system packages; without it the test is skipped and says why.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO=none; fi
  if [ "$SUDO" != none ]; then
    (DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium >/tmp/ntk_paths_apt.log 2>&1 ||
     { $SUDO apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q chromium >/tmp/ntk_paths_apt.log 2>&1; }) ||
      echo "note: could not install chromium (see /tmp/ntk_paths_apt.log); the browser test will be skipped"
  else echo "note: not root and no sudo: chromium is not installed; the browser test will be skipped"; fi
fi
# ipywidgets 7.7.1 beside the venv (not in it), for the test that the widgets import and work under it
[ -d .cache/ipywidgets7/ipywidgets ] || "$VENV/bin/python" -m pip install -q --target .cache/ipywidgets7 --no-deps \
  "ipywidgets==7.7.1" ipython_genutils "widgetsnbextension>=3.6,<4" "jupyterlab_widgets>=1,<3" 2>&1 | grep -v "^WARNING: Location" || true

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
# two notebooks at a time, one thread each: 208 s against 323 s for one at a time with two threads (measured on
# two cores; two workers with two threads each oversubscribe the cores and were slower still)
time env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nbdev_test --n_workers 2

step "pytest"
# two pytest-xdist workers, one thread each, a test file per worker at a time (its module fixtures, such as the local
# Ray cluster, start once): 7 min against 10 min for one process with two threads (measured on two cores)
time env OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 pytest -q -rs -n 2 --dist loadfile   # -rs: the reason of every skipped test
