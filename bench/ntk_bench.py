"""Empirical NTK: time, peak memory and accuracy of ntk_paths against the PyTorch tutorial's recipe.

The tutorial ("Neural Tangent Kernels", pytorch/tutorials) computes per-sample Jacobians with
`vmap(jacrev(f))` and contracts them parameter by parameter with an einsum. ntk_paths' `structured`
implementation never forms the Jacobians of dense layers; `jacobian` is its generic (chunked) contraction.
Every configuration runs in a fresh process so that peak memory is its own; timings are the median of warm
runs. Errors are against a float64 kernel of the first 32 inputs.

The FLOP floor of a full kernel (Novak et al. 2022) is making the N·K per-sample gradients (here: K backward passes
of the whole batch, which cost what N·K single backward passes cost) plus the (N·K)² · P contraction (a float32 GEMM
of the (N·K × P) Jacobian with itself, timed on random numbers); a symmetric kernel may mirror half of that GEMM.

    python bench/ntk_bench.py              # MLP 784-300-100-10, LeNet-5 and ResNet-20 (32×32), N=256, full kernel, K=10;
                                           # ResNet-20 also at N=64, with the floor at both
    python bench/ntk_bench.py --large      # also ResNet-20 at N=1024 with an 8 GB budget (structured only; long)
    python bench/ntk_bench.py --modes      # the trace and diag kernels of ResNet-20 against the tutorial's recipe
    python bench/ntk_bench.py --all        # every model of ntk_paths.MODELS, full/trace/diag, against the tutorial's
                                           # recipe, at the largest N (≤ 64) whose tutorial Jacobians fit in 2 GB
    python bench/ntk_bench.py --models vgg11   # VGG-11 at N=64 and 256 against the floor (the tutorial's Jacobians
                                               # would take 2 × 24 GB at N=64: it cannot run here)
    python bench/ntk_bench.py --models vgg11 --pruned 0.1   # the same networks with random masks keeping 10 %

For VGG-11 the (N·K × P) Jacobian of the floor does not fit in memory: its GEMM is timed on column slices of 1 GB
and scaled to P (the same FLOPs, as the GEMM's time is linear in P).
"""
import argparse, json, os, resource, subprocess, sys, time
import torch

MODELS = {"mlp": "MLP((784, 300, 100, 10), input_shape=(784,))", "lenet5": "LeNet5(3, 10, 32)", "resnet20": "ResNet20()",
          "vgg11": "VGG(11)"}
INPUTS = {"mlp": (784,), "lenet300": (784,), "conv1d": (1, 40)}      # ntk_paths.MODELS: these, and (3, 32, 32) for the others


def tutorial_ntk(model, x1, x2, mode="full"):
    "The tutorial's Jacobian-contraction recipe: vmap(jacrev) per sample, an einsum per parameter"
    from torch.func import functional_call, vmap, jacrev
    params = {k: v.detach() for k, v in model.named_parameters()}
    single = lambda p, x: functional_call(model, p, (x.unsqueeze(0),)).squeeze(0)
    j1 = vmap(jacrev(single), (None, 0))(params, x1)
    j2 = vmap(jacrev(single), (None, 0))(params, x2)
    eq = {"full": "Naf,Mbf->NMab", "trace": "Naf,Maf->NM", "diag": "Naf,Maf->NMa"}[mode]   # the tutorial's compute= options
    return sum(torch.einsum(eq, a.flatten(2), b.flatten(2)) for a, b in zip(j1.values(), j2.values()))


def modes_table(Ns=(64, 256)):
    "ResNet-20, trace and diag kernels: ours (auto) against the tutorial's recipe, in this process (times only)"
    from ntk_paths import ResNet20, init_weights, empirical_ntk
    net = init_weights(ResNet20(), 0).eval()
    w = torch.randn(2, 3, 32, 32)
    empirical_ntk(net, w, mode="trace", progress=False); tutorial_ntk(net, w, w, "trace")   # warm up torch.func
    print("| model | N | mode | ours (s) | tutorial (s) | tutorial / ours | max rel. difference |")
    print("|---|---|---|---|---|---|---|")
    for N in Ns:
        x = torch.randn(N, 3, 32, 32, generator=torch.Generator().manual_seed(0))
        for mode in ("trace", "diag"):
            t = time.perf_counter(); ours = empirical_ntk(net, x, mode=mode, progress=False); t_ours = time.perf_counter() - t
            t = time.perf_counter(); tut = tutorial_ntk(net, x, x, mode); t_tut = time.perf_counter() - t
            err = ((ours - tut).abs().max() / tut.abs().max()).item()
            print(f"| resnet20 | {N} | {mode} | {t_ours:.2f} | {t_tut:.2f} | {t_tut / t_ours:.1f}× | {err:.1e} |", flush=True)


def all_models_table():
    "Every model of ntk_paths.MODELS, full/trace/diag: ours (auto) against the tutorial's recipe, in this process"
    from ntk_paths import MODELS as ALL, make_model, init_weights, empirical_ntk
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    print("max rel. difference: between the two float32 kernels; for VGG traces it is the tutorial's own float32 error "
          "(a (N·K × P) product with P in the millions)\n")
    print("| model | P | N | mode | ours (s) | tutorial (s) | tutorial / ours | max rel. difference |")
    print("|---|---|---|---|---|---|---|---|")
    for name in ALL:
        net = init_weights(make_model(name, INPUTS.get(name, (3, 32, 32)), 10), 0).eval()
        P = sum(p.numel() for p in net.parameters())
        N = max(2, min(64, 2**31 // (10 * P * 4)))
        x = torch.randn(N, *INPUTS.get(name, (3, 32, 32)), generator=torch.Generator().manual_seed(0))
        empirical_ntk(net, x[:2], progress=False); tutorial_ntk(net, x[:2], x[:2])                # warm up torch.func
        for mode in ("full", "trace", "diag"):
            t_ours = t_tut = float("inf")
            for _ in range(2):
                t = time.perf_counter(); ours = empirical_ntk(net, x, mode=mode, max_memory="8GB", progress=False)
                t_ours = min(t_ours, time.perf_counter() - t)
                t = time.perf_counter(); tut = tutorial_ntk(net, x, x, mode); t_tut = min(t_tut, time.perf_counter() - t)
            err = ((ours - tut).abs().max() / tut.abs().max()).item()
            print(f"| {name} | {P / 1e6:.2f} M | {N} | {mode} | {t_ours:.3f} | {t_tut:.3f} | {t_tut / t_ours:.1f}× | {err:.1e} |", flush=True)


def floor(model_name, N):
    "Seconds for K batched backward passes (the per-sample gradients' FLOPs) plus the (N·K)²·P float32 GEMM"
    from torch.func import functional_call, vjp, vmap
    from ntk_paths import MLP, LeNet5, ResNet20, VGG, init_weights
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    net = init_weights(eval(MODELS[model_name]), 0).eval()
    x = torch.randn(N, *net.input_shape, generator=torch.Generator().manual_seed(0))
    params = {k: v.detach() for k, v in net.named_parameters()}
    P = sum(p.numel() for p in params.values())
    def grads():
        out, pull = vjp(lambda p: functional_call(net, p, (x,)), params)
        return vmap(pull)(torch.eye(out.shape[1])[:, None, :].expand(out.shape[1], N, out.shape[1]).contiguous())
    cols = min(P, 2**30 // (N * 10 * 4))                       # a column slice of at most 1 GB, the GEMM scaled to P
    A = torch.randn(N * 10, cols)
    tg, tj = [], []
    for _ in range(2):
        t = time.perf_counter(); A @ A.T; tg.append((time.perf_counter() - t) * P / cols)
        t = time.perf_counter(); grads(); tj.append(time.perf_counter() - t)
    print(json.dumps(dict(model=model_name, method="floor", N=N, seconds=min(tg) + min(tj), gemm=min(tg), grads=min(tj))))


def child(model_name, method, N, max_memory):
    "Run one configuration and print a JSON line"
    if method == "floor": return floor(model_name, N)
    from ntk_paths import MLP, LeNet5, ResNet20, VGG, init_weights, empirical_ntk
    torch.set_num_threads(int(os.environ.get("THREADS", torch.get_num_threads())))
    net = init_weights(eval(MODELS[model_name]), 0).eval()
    x = torch.randn(N, *net.input_shape, generator=torch.Generator().manual_seed(0))
    if os.environ.get("PRUNED"):                               # random masks keeping this fraction of every layer
        from ntk_paths import Masks, apply_masks
        from ntk_paths.prunable import prunable
        g = torch.Generator().manual_seed(1)
        masks = Masks({n: torch.rand(p.weight.shape, generator=g) < float(os.environ["PRUNED"]) for n, p in prunable(net).items()})
        apply_masks(net, masks)                                # the tutorial's recipe then sees the pruned network too
    run = (lambda xs: tutorial_ntk(net, xs, xs)) if method == "tutorial" else \
          (lambda xs: empirical_ntk(net, xs, implementation=method, max_memory=max_memory))
    run(x[:2])                                                   # warm up torch.func
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    times = []
    while len(times) < 3 and sum(times) < 60:
        t = time.perf_counter(); th = run(x); times.append(time.perf_counter() - t)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
    n = 32 if model_name != "vgg11" else 8                     # VGG-11's float64 Jacobians: 740 MB per input
    ref = empirical_ntk(net.double(), x[:n].double(), implementation="jacobian", max_memory="8GB", progress=False)
    err = ((th[:n, :n].double() - ref).abs().max() / ref.abs().max()).item()
    print(json.dumps(dict(model=model_name, method=method, N=N, seconds=sorted(times)[len(times) // 2], runs=len(times),
                          peak_gb=peak / 2**20, rel_err=err, shape=list(th.shape), max_memory=max_memory)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--large", action="store_true", help="also ResNet-20 at N=1024 with an 8 GB memory budget")
    ap.add_argument("--models", default=",".join(MODELS), help="which of " + ", ".join(MODELS))
    ap.add_argument("--modes", action="store_true", help="only the trace and diag kernels of ResNet-20 at N=64 and 256")
    ap.add_argument("--all", action="store_true", help="every model of ntk_paths.MODELS, full/trace/diag, against the tutorial")
    ap.add_argument("--pruned", type=float, help="random masks keeping this fraction of every layer's weights")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child: return child(a.child[0], a.child[1], int(a.child[2]), a.child[3])
    if a.modes: return modes_table()
    if a.all: return all_models_table()
    configs = [(m, meth, 256, "2GB") for m in MODELS if m != "vgg11" for meth in ("tutorial", "jacobian", "structured")]
    configs += [("resnet20", meth, 64, "2GB") for meth in ("tutorial", "jacobian", "structured", "floor")]
    configs += [("resnet20", "structured", 256, "8GB"), ("resnet20", "floor", 256, "-")]
    configs += [("vgg11", meth, N, mem) for N in (64, 256) for meth, mem in (("structured", "2GB"), ("structured", "8GB"), ("floor", "-"))]
    if a.large: configs.append(("resnet20", "structured", 1024, "8GB"))
    configs = [c for c in configs if c[0] in a.models.split(",") and (not a.pruned or c[2] == 64)]   # pruned: N=64 only
    rows = []
    env = {**os.environ, "PRUNED": str(a.pruned)} if a.pruned else None
    for cfg in configs:
        r = subprocess.run([sys.executable, __file__, "--child", *map(str, cfg)], capture_output=True, text=True, env=env)
        line = [l for l in r.stdout.splitlines() if l.startswith("{")]
        if r.returncode or not line:
            rows.append(dict(model=cfg[0], method=cfg[1], N=cfg[2], error=(r.stderr.strip().splitlines() or ["?"])[-1]))
        else: rows.append(json.loads(line[-1]))
        print(rows[-1], file=sys.stderr, flush=True)
    print(f"Full NTK (N·K × N·K, K = 10), float32, eval mode, {torch.get_num_threads()} threads; median of warm runs; "
          + (f"random masks keeping {a.pruned:.0%} of every layer; " if a.pruned else "") +
          "peak = resident memory above the process after warm-up; error: max |Θ − Θ_float64| / max |Θ_float64| on 32 inputs "
          "(VGG-11: 8)\n")
    print("| model | N | method | seconds | peak GB | time ratio (tutorial / this) | memory vs tutorial | rel. error | this / floor |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        fl = next((t for t in rows if t["model"] == r["model"] and t["method"] == "floor" and t["N"] == r["N"] and "error" not in t), None)
        if r["method"] == "floor" and "error" not in r:
            print(f"| {r['model']} | {r['N']} | FLOP floor: grads {r['grads']:.2f} s + GEMM {r['gemm']:.2f} s | {r['seconds']:.3f} | | | | | 1.00 |"); continue
        if "error" in r:
            print(f"| {r['model']} | {r['N']} | {r['method']} | failed: {r['error'][:60]} | | | | |"); continue
        tut = next((t for t in rows if t["model"] == r["model"] and t["method"] == "tutorial" and t["N"] == r["N"] and "error" not in t), None)
        ratio = f"{tut['seconds'] / r['seconds']:.1f}×" if tut else "—"
        mem = f"{100 * r['peak_gb'] / tut['peak_gb']:.0f} %" if tut and tut["peak_gb"] > 0 else "—"
        vs = f"{r['seconds'] / fl['seconds']:.2f}" if fl else "—"
        print(f"| {r['model']} | {r['N']} | {r['method']} ({r.get('max_memory', '')}) | {r['seconds']:.3f} | {r['peak_gb']:.2f} | {ratio} | {mem} | {r['rel_err']:.1e} | {vs} |")


if __name__ == "__main__":
    main()
