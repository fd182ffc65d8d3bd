#!/usr/bin/env bash
# Execute the front page and the tutorials in place, so that they are committed with their outputs (figures included)
# for people who browse the repository; nbdev_clean then strips what is not content (execution counts, metadata).
#   bash tools/run_notebooks.sh            # all of them
#   bash tools/run_notebooks.sh nbs/tutorials/ntk_dynamics.ipynb
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH" MPLBACKEND=Agg
nbs=("$@"); [ ${#nbs[@]} -gt 0 ] || nbs=(nbs/index.ipynb nbs/tutorials/*.ipynb)
for nb in "${nbs[@]}"; do
  start=$(date +%s)
  python -m nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1800 "$nb" 2>&1 | grep -v "^\[NbConvertApp\]" || true
  echo "$nb: $(( $(date +%s) - start )) s, $(du -k "$nb" | cut -f1) KB"
done
nbdev_clean
