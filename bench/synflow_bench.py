"""Iterative SynFlow: ntk_paths against a straightforward implementation of the official loop (tests/official_reference.py),
in the same process, on ResNet-20 (or VGG-16-BN), with the same masks checked.

    python bench/synflow_bench.py [--model resnet20|vgg16_bn] [--iterations 100] [--threads 2]

Prints the time of each, the ratio, and whether the masks are equal (ntk_paths with count="official" against the
float64 reference; the float32 reference is timed as the official code runs, its mask compared too)."""
import argparse, sys, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from official_reference import official_prune_loop
from ntk_paths import prune, init_weights, make_model

p = argparse.ArgumentParser()
p.add_argument("--model", default="resnet20"); p.add_argument("--iterations", type=int, default=100)
p.add_argument("--density", type=float, default=0.01); p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
net = init_weights(make_model(a.model, (3, 32, 32), 10), 0)


def timed(f):
    t = time.perf_counter(); out = f(); return time.perf_counter() - t, out


t_ours, ours = timed(lambda: prune(net, "synflow", a.density, iterations=a.iterations, count="official", progress=False))
t64, ref64 = timed(lambda: official_prune_loop(net, a.density, a.iterations, (3, 32, 32), "synflow", torch.float64))
t32, ref32 = timed(lambda: official_prune_loop(net, a.density, a.iterations, (3, 32, 32), "synflow", torch.float32))
same = lambda r: all(torch.equal(ours[n], r[n]) for n in r)
share = lambda r: sum(int((ours[n] & r[n]).sum()) for n in r) / ours.kept
print(f"{a.model}, SynFlow to density {a.density}, {a.iterations} iterations, {a.threads} threads\n")
print("| implementation | time (s) | ours / it | same mask as ours |")
print("|---|---|---|---|")
print(f"| ntk_paths (count='official') | {t_ours:.1f} | 1.00 | — |")
print(f"| official loop, float64 | {t64:.1f} | {t_ours / t64:.2f} | {same(ref64)} |")
print(f"| official loop, float32 | {t32:.1f} | {t_ours / t32:.2f} | {same(ref32)} ({share(ref32):.1%} shared) |")
