#!/usr/bin/env bash
# Execute the front page and the tutorials in place (cells flagged slow, cuda or notest are skipped; cells flagged full,
# which nbdev_test skips, run: they set the configuration behind the committed outputs),
# so that they are committed with their outputs, figures included; then nbdev_clean strips what is not content.
#   bash tools/run_notebooks.sh                                   # all of them
#   bash tools/run_notebooks.sh nbs/tutorials/ntk_dynamics.ipynb  # one
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH" MPLBACKEND=Agg
python tools/run_notebooks.py "$@"
nbdev_clean
