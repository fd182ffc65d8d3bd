"""Path Kernel at real scale: Tr Π and the top-10 eigenvalues of Π for ResNet-20 and VGG-16, beside one forward and
backward pass of the same network on one 32×32 input (float32, the cost a training step pays per input).

Tr Π is one forward+backward of the squared network (float64); each Lanczos step is one forward-over-reverse
Hessian-vector product of it, so the top-k costs (steps × that). Nothing enumerates paths.

    python bench/path_kernel_bench.py [--steps 40]
"""
import argparse, time
import torch
from ntk_paths import ResNet20, VGG, init_weights
from ntk_paths.paths import path_kernel_trace, path_kernel_eigvals, path_kernel_gvp
from ntk_paths.masks import prunable


def timed(f, repeats=3):
    out, ts = None, []
    for _ in range(repeats):
        t = time.perf_counter(); out = f(); ts.append(time.perf_counter() - t)
    return out, sorted(ts)[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40, help="Lanczos steps for the top 10")
    a = ap.parse_args()
    print(f"2-core CPU, {torch.get_num_threads()} threads; medians of 3 runs (the eigenvalues: 1 run)\n")
    print("| model | weights | fwd+bwd, 1 input (s) | Tr Π (s) | ratio | one G·w (s) | ratio | top-10 eigenvalues (s) | ratio | λ_max(Π) | Tr Π |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, net in [("ResNet-20", ResNet20()), ("VGG-16", VGG(16))]:
        net = init_weights(net, 0).eval()
        x = torch.randn(1, 3, 32, 32)
        def fb():
            net.zero_grad(); net(x).sum().backward()
        _, t_fb = timed(fb)
        tr, t_tr = timed(lambda: path_kernel_trace(net))
        w = {n: torch.randn(p.weight.shape, dtype=torch.float64) for n, p in prunable(net).items()}
        _, t_gv = timed(lambda: path_kernel_gvp(net, w))
        top, t_top = timed(lambda: path_kernel_eigvals(net, 10, steps=a.steps), repeats=1)
        P = sum(p.weight.numel() for p in prunable(net).values())
        print(f"| {name} | {P:,} | {t_fb:.3f} | {t_tr:.3f} | {t_tr / t_fb:.1f}× | {t_gv:.3f} | {t_gv / t_fb:.1f}× | "
              f"{t_top:.1f} | {t_top / t_fb:.0f}× | {top[0]:.4g} | {tr:.4g} |", flush=True)


if __name__ == "__main__":
    main()
