"""Masks, NTKs and Path Kernel statistics of the README examples, saved to compare two versions bit for bit:
    PYTHONPATH=<old checkout> python tools/bit_identical.py before.pt; python tools/bit_identical.py after.pt
(then torch.equal on every entry; issue 11 and 13 changes were checked this way)"""
import sys, torch
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
torch.save(out, sys.argv[1])
