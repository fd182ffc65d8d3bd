#!/usr/bin/env bash
# The device check of issue 29, one go on one GPU (planned for under 8 minutes on an H100; not yet run on hardware):
#   1. every '#| cuda' notebook cell (nbdev_test --flags cuda, on the notebooks that have such cells),
#   2. one epoch of ResNet-20 with the NTK-SAP recipe in each precision (float32, bf16, fp16) on full-size
#      CIFAR-10-format data, ours against the official loop (bench/train_bench.py --device cuda),
#   3. the SynFlow and NTK-SAP benches on the GPU (issue 16's pending check).
# Run it with the device tool from the repository root; everything it prints also goes to $OUT (or bench/out).
# The device image has torch, torchvision, matplotlib, tqdm and scikit-learn but not nbdev, fastcore, execnb or
# mnist1d: carry them as wheels in .whl (see the device README) for step 1; without them step 1 says it was skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/out}; mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
log() { echo "== $*" | tee -a "$OUT/gpu_check.log"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu_check.log"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))" | tee -a "$OUT/gpu_check.log"
t0=$SECONDS
log "1. '#| cuda' cells"
if python3 -c "import nbdev, fastcore, execnb" 2>/dev/null; then
  for nb in $(grep -l '#| cuda' nbs/*.ipynb nbs/tutorials/*.ipynb); do
    log "$nb"
    timeout 180 python3 -c "from nbdev.test import nbdev_test; nbdev_test(path='$nb', flags='cuda', n_workers=0)" 2>&1 |
      tail -20 | tee -a "$OUT/gpu_check.log"
  done
else log "skipped: nbdev/fastcore/execnb are not installed here (carry them as wheels in .whl)"; fi
log "2. one ResNet-20 epoch per precision, ours against the official loop ($((SECONDS - t0)) s so far)"
for amp in "" bf16 fp16; do
  timeout 150 python3 bench/train_bench.py --device cuda --fraction 1 --warmup 1 --threads 8 --workers 4 ${amp:+--amp $amp} 2>&1 |
    grep -v UserWarning | grep -v check_worker | tee -a "$OUT/gpu_check.log"
done
log "3. SynFlow and NTK-SAP on the GPU ($((SECONDS - t0)) s so far)"
timeout 120 python3 -m bench.synflow_bench --model resnet20 --device cuda --repeats 3 2>&1 | tee -a "$OUT/gpu_check.log"
timeout 90 python3 -m bench.ntksap_bench --device cuda 2>&1 | tee -a "$OUT/gpu_check.log"
log "done in $((SECONDS - t0)) s"
