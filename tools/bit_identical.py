"""Masks, NTKs and Path Kernel statistics of the README examples, saved to compare two versions bit for bit:
    PYTHONPATH=<old checkout> python tools/bit_identical.py before.pt; python tools/bit_identical.py after.pt
(then torch.equal on every entry; issue 11 and 13 changes were checked this way)"""
import sys, torch
if sys.argv[1] == "--compare":                       # python tools/bit_identical.py --compare before.pt after.pt
    a, b = (torch.load(f, weights_only=False) for f in sys.argv[2:4])
    def same(u, v): return all(same(u[k], v[k]) for k in u) and u.keys() == v.keys() if isinstance(u, dict) else torch.equal(u, v)
    bad = [k for k in a if k not in b or not same(a[k], b[k])]
    print(f"{len(a) - len(bad)} of {len(a)} entries bit-identical" + (f"; differ: {bad}" if bad else ""))
    sys.exit(1 if bad else 0)
from ntk_paths import load_digits, MLP, init_weights, prune, empirical_ntk, path_kernel_trace, path_kernel_eigvals
from ntk_paths.models import ResNet20, VGG
out = {}
data = load_digits()
net = init_weights(MLP(), 0)
for m, kw in [("synflow", {}), ("snip", dict(data=data)), ("grasp", dict(data=data)), ("iter_snip", dict(data=data)),
              ("ntksap", dict(rounds=5, batch_size=100)), ("magnitude", {}), ("random", {}), ("synflow_dist", dict(data=data)),
              ("path_kernel", {})]:
    out[m] = dict(prune(net, m, density=0.01, progress=False, **kw))
masks = out["synflow"]
from ntk_paths import Masks
out["ntk"] = empirical_ntk(net.eval(), data.x_train[:100], masks=Masks(masks))
out["pkt"] = torch.tensor(path_kernel_trace(net, Masks(masks)))
out["pke"] = path_kernel_eigvals(net, k=5, masks=Masks(masks))
r = init_weights(ResNet20(), 0)
out["resnet_synflow"] = dict(prune(r, "synflow", density=0.01, iterations=10, progress=False))
from ntk_paths import ntk_trace, ntk_eigvals, ntk_vp, survival_scores, path_kernel_stats
from ntk_paths.models import LeNet5
x = torch.randn(24, 3, 32, 32, generator=torch.Generator().manual_seed(1))
for name, model in [("lenet", LeNet5(in_channels=3, num_classes=10, input_size=32)), ("resnet", r), ("vgg", VGG(11, batch_norm=True, width=0.25))]:
    init_weights(model, 0); model.eval()
    mk = prune(model, "snip", density=0.05, data=(x, torch.arange(24) % 10), progress=False)
    out[name + "_snip"] = dict(mk)
    for impl in ("structured", "jacobian"):
        for mode in ("full", "trace", "diag"):
            out[f"{name}_{impl}_{mode}"] = empirical_ntk(model, x[:8], x[8:14], masks=mk, mode=mode, implementation=impl)
    out[name + "_sym"] = empirical_ntk(model, x[:10], masks=mk, chunk=3)
out["hutchpp"] = torch.tensor(ntk_trace(net.eval(), data.x_train[:50], masks=Masks(masks), estimator="hutch++", probes=30))
out["hutch"] = torch.tensor(ntk_trace(net.eval(), data.x_train[:50], masks=Masks(masks), estimator="hutchinson", probes=30))
out["lanczos"] = ntk_eigvals(net.eval(), data.x_train[:50], k=5, solver="lanczos", masks=Masks(masks), generator=torch.Generator().manual_seed(0))
out["vp"] = ntk_vp(net.eval(), data.x_train[:20], torch.ones(20, 10, dtype=data.x_train.dtype), masks=Masks(masks))
out["survival"] = survival_scores(net, "synflow", 0.01, iterations=20, progress=False)
out["pks"] = torch.tensor([v for v in path_kernel_stats(net, Masks(masks)).values() if isinstance(v, float)])
from ntk_paths import train                          # the digits training of the README's results (issue 29: unchanged)
for opt, lr, wd in [("adam", 1e-3, 0.0), ("sgd", 0.05, 5e-4)]:
    t = init_weights(MLP(), 0)
    res = train(t, data, Masks(masks), epochs=3, lr=lr, optimizer=opt, weight_decay=wd, seed=1, progress=False)
    out[f"train_{opt}"] = dict(t.state_dict(), history=torch.tensor([[h[k] for k in ("train_loss", "test_loss", "test_acc")] for h in res.history]))
torch.save(out, sys.argv[1])
