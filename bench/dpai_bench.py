"""The cost of DPaI's default setting (3000 Adam steps, α = 0.99, β = 0.5, lr 0.005: their CIFAR setting) on ResNet-20
at compression 10^2.5 (density 0.316 %, their run.sh), against SynFlow's 100 iterations on the same model in the same
process: seconds, and DPaI in SynFlow-run equivalents. Also prints the counts DPaI balances along the run (the trajectory
table of ../shared/reference/beyond_methods.md §8.1.2 was measured on their code, with their path surrogate).

    python -m bench.dpai_bench [--steps 3000] [--threads 2] [--device cpu|cuda]
"""
import argparse, time
import torch
from ntk_paths import prune, init_weights, make_model, npb_counts

p = argparse.ArgumentParser()
p.add_argument("--steps", type=int, default=3000); p.add_argument("--threads", type=int, default=2)
p.add_argument("--device", default="cpu"); p.add_argument("--compression", type=float, default=10 ** 2.5)
a = p.parse_args()
torch.set_num_threads(a.threads)
net = init_weights(make_model("resnet20", (3, 32, 32), 10), 0).to(a.device)


def timed(f):
    if a.device.startswith("cuda"): torch.cuda.synchronize()
    t = time.perf_counter(); out = f()
    if a.device.startswith("cuda"): torch.cuda.synchronize()
    return time.perf_counter() - t, out


prune(net, "dpai", compression=a.compression, steps=2, progress=False)         # warm-up: imports, first allocations
t_syn, syn = timed(lambda: prune(net, "synflow", compression=a.compression, progress=False))
trace = []
t_dpai, dp = timed(lambda: prune(net, "dpai", compression=a.compression, steps=a.steps, trace=trace, progress=False))
rnd = prune(net, "random", compression=a.compression, layer_density="erk", progress=False)
print(f"ResNet-20, compression {a.compression:.4g} (density {dp.density:.4g}, {dp.kept} of {dp.total} weights), "
      f"{a.threads} threads, {a.device}")
print(f"synflow (100 iterations): {t_syn:.1f} s")
print(f"dpai ({a.steps} steps): {t_dpai:.1f} s = {t_dpai / t_syn:.1f} SynFlow runs ({1000 * t_dpai / a.steps:.1f} ms a step)")
print("\n| step | log P | nodes | kernels | weights |\n|---|---|---|---|---|")
for s in sorted({0, 100, 500, 1000, 2000, a.steps - 1} & set(range(len(trace)))):
    b = trace[s]; print(f"| {s} | {b.log_paths:.2f} | {b.nodes} | {b.kernels} | {b.weights} |")
for name, m in (("dpai (final)", dp), ("random ERK", rnd), ("synflow", syn)):
    b = npb_counts(net, m); print(f"| {name} | {b.log_paths:.2f} | {b.nodes} | {b.kernels} | {b.weights} |")
