"""How long a MaskExplorer slider move takes on VGG-16 (14.7 M weights), against the obvious ways.

A move re-thresholds the cached, sorted survival scores and redraws two pictures. The obvious ways to get the
mask at a new density are to run an exact top-k over the scores again (`topk_masks`), or to prune again.

    python bench/widget_bench.py [--method synflow] [--model vgg16] [--moves 10]
"""
import argparse, statistics, time
import torch
from ntk_paths import MaskExplorer, topk_masks, prune

p = argparse.ArgumentParser()
p.add_argument("--model", default="vgg16"); p.add_argument("--method", default="magnitude")
p.add_argument("--moves", type=int, default=10); p.add_argument("--device", default="cpu")
a = p.parse_args()
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {a.device}")

t = time.perf_counter()
ex = MaskExplorer(a.model, a.method, 0.01, device=a.device)
assert not ex.error.value, ex.error.value
print(f"{a.model} with {a.method}: first scoring and drawing {time.perf_counter() - t:.1f} s ({ex.masks.total:,} weights)")

densities = [10 ** (-1 - 3 * i / max(1, a.moves - 1)) for i in range(a.moves)]
moves, parts = [], {"threshold": [], "densities": [], "layer": []}
for d in densities:
    t = time.perf_counter(); ex.density_w.value = d; moves.append(time.perf_counter() - t)
    for k in parts: parts[k].append(ex.timings[k])
med = statistics.median
print(f"slider move: median {med(moves):.3f} s, max {max(moves):.3f} s over {a.moves} moves "
      f"(threshold {med(parts['threshold']):.3f}, density chart {med(parts['densities']):.3f}, layer heat map {med(parts['layer']):.3f})")

scores = ex.ranked.scores
topk = []
for d in densities[:3]:
    t = time.perf_counter(); m = topk_masks(scores, d); topk.append(time.perf_counter() - t)
    assert m == ex.ranked.masks(d)
print(f"mask at a new density: threshold {med(parts['threshold']):.3f} s vs exact top-k again {med(topk):.3f} s "
      f"({med(topk) / med(parts['threshold']):.1f}x)")
t = time.perf_counter(); prune(ex.model, a.method, densities[0], progress=False); again = time.perf_counter() - t
print(f"vs pruning again with {a.method}: {again:.2f} s ({again / med(moves):.1f}x a whole slider move)")
