"""Iterative SynFlow, SynFlow-L2 and path_kernel: ntk_paths against a straightforward implementation of the official loop (tests/reference/official.py),
in the same process, on ResNet-20 (or VGG-16-BN), with the same masks checked.

    python -m bench.synflow_bench [--model resnet20|vgg16_bn] [--methods synflow,synflow_l2,path_kernel] [--iterations 100] [--threads 2]
                                  [--device cuda] [--repeats 3]

Prints the time of each, the ratio, and whether the masks are equal (ntk_paths with count="official" against the
float64 reference; the float32 reference is timed as the official code runs, its mask compared too)."""
import argparse, sys, time
from pathlib import Path
import torch
from tests.reference.official import official_prune_loop
from ntk_paths import prune, init_weights, make_model

p = argparse.ArgumentParser()
p.add_argument("--model", default="resnet20"); p.add_argument("--iterations", type=int, default=100)
p.add_argument("--density", type=float, default=0.01); p.add_argument("--threads", type=int, default=2)
p.add_argument("--methods", default="synflow,synflow_l2,path_kernel"); p.add_argument("--device", default="cpu")
p.add_argument("--repeats", type=int, default=1, help="timed runs of each, interleaved (the median is printed)")
a = p.parse_args()
torch.set_num_threads(a.threads)
net = init_weights(make_model(a.model, (3, 32, 32), 10), 0).to(a.device)


def timed(f):
    if a.device.startswith("cuda"): torch.cuda.synchronize()
    t = time.perf_counter(); out = f()
    if a.device.startswith("cuda"): torch.cuda.synchronize()
    return time.perf_counter() - t, out


print(f"{a.model}, to density {a.density}, {a.iterations} iterations, {a.threads} threads, device {a.device}, "
      f"median of {a.repeats}\n")
print("| method | ntk_paths, count='official' (s) | official loop, float64 (s) | ours / it | same mask | official loop, float32 (s) | ours / it | same mask as ours |")
print("|---|---|---|---|---|---|---|---|")
for method in a.methods.split(","):
    for dtype in (torch.float64, torch.float32):       # warm-up: the first conv of a process sets up its kernels
        prune(net, method, 0.5, iterations=2, count="official", progress=False)
        official_prune_loop(net, 0.5, 2, (3, 32, 32), method, dtype)
    runs = []
    for _ in range(a.repeats):                          # interleaved, so that a drift of the machine hits all three
        runs.append((timed(lambda: prune(net, method, a.density, iterations=a.iterations, count="official", progress=False)),
                     timed(lambda: official_prune_loop(net, a.density, a.iterations, (3, 32, 32), method, torch.float64)),
                     timed(lambda: official_prune_loop(net, a.density, a.iterations, (3, 32, 32), method, torch.float32))))
    (_, ours), (_, ref64), (_, ref32) = runs[-1]
    t_ours, t64, t32 = (sorted(r[i][0] for r in runs)[len(runs) // 2] for i in range(3))
    same = lambda r: all(torch.equal(ours[n], r[n]) for n in r)
    share = lambda r: sum(int((ours[n] & r[n]).sum()) for n in r) / ours.kept
    print(f"| {method} | {t_ours:.1f} | {t64:.1f} | {t_ours / t64:.2f} | {same(ref64)} | {t32:.1f} | {t_ours / t32:.2f} | "
          f"{same(ref32)} ({share(ref32):.1%} shared) |", flush=True)
