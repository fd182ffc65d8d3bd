"""Path Kernel at real scale: Tr Π and the top of Π's spectrum for ResNet-20 and VGG-16, beside one forward and
backward pass of the same network on one 32×32 input (float32, the cost a training step pays per input).

Tr Π is one forward+backward of the squared network (float64); each Lanczos step is one forward-over-reverse
Hessian-vector product of it (G·w). Lanczos stops once each requested eigenvalue is estimated accurate to `tol`
(1e-6 relative, the default of `path_kernel_eigvals`), so the top eigenvalue alone, far from the rest, takes a
handful of products; a cluster below it takes all the steps allowed. "40 steps" is the fixed-length run of the
previous version (tol=None), against which λ1 is compared. Nothing enumerates paths.

    python bench/path_kernel_bench.py [--models resnet20,vgg16]
"""
import argparse, time, warnings
import torch
from ntk_paths import ResNet20, VGG, init_weights
from ntk_paths.linalg import lanczos
from ntk_paths.paths import path_kernel_trace, path_kernel_gvp, _flat_ops
from ntk_paths.prunable import prunable


def timed(f, repeats=3):
    out, ts = None, []
    for _ in range(repeats):
        t = time.perf_counter(); out = f(); ts.append(time.perf_counter() - t)
    return out, sorted(ts)[len(ts) // 2]


def top(net, k, tol, steps=None):
    "Lanczos on G as path_kernel_eigvals runs it, counting the products"
    mv, n = _flat_ops(net, None, (3, 32, 32))
    calls = []
    def counted(v): calls.append(1); return mv(v)
    vals, est = lanczos(counted, n, k, steps, torch.Generator().manual_seed(0), tol=tol, bounds=True)
    return vals, est, len(calls)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet20,vgg16")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    print(f"2-core CPU, {torch.get_num_threads()} threads; medians of 3 runs (the eigenvalues: 1 run); "
          "ratio = time / (fwd+bwd of one input)\n")
    print("| model | weights | fwd+bwd (s) | Tr Π (s) | ratio | one G·w (s) | ratio | λ1, tol 1e-6: s | products | ratio "
          "| λ1 vs 40 steps | top-10, tol 1e-6: s | products | ratio | of 10 within 1e-6 | worst estimate | 40 steps (s) | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    models = {"resnet20": ("ResNet-20", ResNet20), "vgg16": ("VGG-16", lambda: VGG(16))}
    for key in a.models.split(","):
        name, make = models[key]
        net = init_weights(make(), 0).eval()
        x = torch.randn(1, 3, 32, 32)
        def fb():
            net.zero_grad(); net(x).sum().backward()
        _, t_fb = timed(fb)
        tr, t_tr = timed(lambda: path_kernel_trace(net))
        w = {n: torch.randn(p.weight.shape, dtype=torch.float64) for n, p in prunable(net).items()}
        _, t_gv = timed(lambda: path_kernel_gvp(net, w))
        (old, _, _), t_old = timed(lambda: top(net, 10, None, 40), repeats=1)
        (l1, _, c1), t_1 = timed(lambda: top(net, 1, 1e-6), repeats=1)
        (t10, e10, c10), t_10 = timed(lambda: top(net, 10, 1e-6), repeats=1)
        ok = int((e10 <= 1e-6 * t10.abs()).sum())
        P = sum(p.weight.numel() for p in prunable(net).values())
        print(f"| {name} | {P:,} | {t_fb:.3f} | {t_tr:.3f} | {t_tr / t_fb:.1f}× | {t_gv:.3f} | {t_gv / t_fb:.1f}× | "
              f"{t_1:.2f} | {c1} | {t_1 / t_fb:.0f}× | {abs(l1[0] - old[0]).item() / old[0].item():.0e} | "
              f"{t_10:.1f} | {c10} | {t_10 / t_fb:.0f}× | {ok} | {(e10 / t10.abs()).max().item():.0e} | "
              f"{t_old:.1f} | {t_old / t_fb:.0f}× |", flush=True)


if __name__ == "__main__":
    main()
