"""The official SynFlow prune loop, written the straightforward way (Tanaka et al.'s Synaptic-Flow code, which the NTK-SAP
and Path Kernel code reuse): linearise (every state_dict entry made positive), then per step score the masked |θ|
network on an all-ones input, and prune the `int((1 - d) * N)` lowest scores with a `kthvalue` threshold
(`_global_mask`). tests/test_official.py checks ntk_paths' masks against it; bench/ times ntk_paths against it."""
import copy, torch
from torch import nn
from torch.func import functional_call

PRUNED = (nn.Conv1d, nn.Conv2d, nn.Linear)


def squared_copy(net):
    "The path_kernel network: squared weights, no biases, BatchNorm as its squared eval-mode scale γ²/(σ²+ε), ReLU idle"
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):           # x·γ/√(σ²+ε) becomes x·γ²/(σ²+ε)
                m.running_var.copy_((m.running_var + m.eps) ** 2 - m.eps); m.running_mean.zero_()
                m.weight.pow_(2); m.bias.zero_()
            elif isinstance(m, PRUNED):
                m.weight.pow_(2)
                if m.bias is not None: m.bias.zero_()
    return net


def official_prune_loop(model, density, iterations, input_shape, score="synflow", dtype=torch.float64):
    """Masks {state_dict name: bool tensor} after `iterations` steps of the official loop (global scope, exponential schedule).
    score="path_kernel": the same loop on the squared network (`squared_copy`), scored |θ|·∂R₂/∂(θ²), as the SynFlowL2 of
    the PX repository; the final average pooling keeps its 1/n (a factor 64 on every path of ResNet-20, a power of two,
    so the scores differ from ours by exactly that factor and the ranking not at all)"""
    net = copy.deepcopy(model).to(dtype).eval()
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point(): t.abs_()                              # linearize
    if score == "path_kernel": squared_copy(net)
    layers = [(n, m) for n, m in net.named_modules() if isinstance(m, PRUNED)]
    names = [f"{n}.weight" for n, _ in layers]
    weights = [m.weight.detach() for _, m in layers]                          # p = |θ| (θ² for path_kernel)
    masks = [torch.ones_like(w) for w in weights]                             # weight_mask buffers
    x = torch.ones(1, *input_shape, dtype=dtype, device=weights[0].device)
    for epoch in range(iterations):
        ps = [w.clone().requires_grad_() for w in weights]
        out = functional_call(net, {n: mk * p for n, mk, p in zip(names, masks, ps)}, (x,))   # layers compute mask * W
        torch.sum(out).backward()
        if score == "synflow": scores = [torch.clone(p.grad * p).detach().abs_() for p in ps]
        elif score == "synflow_l2": scores = [torch.clone(p.grad * p * p).detach().abs_() for p in ps]
        elif score == "path_kernel": scores = [torch.clone(p.grad * p.sqrt()).detach().abs_() for p in ps]
        else: raise ValueError(score)
        sparse = density ** ((epoch + 1) / iterations)                        # exponential schedule
        global_scores = torch.cat([torch.flatten(s) for s in scores])
        k = int((1.0 - sparse) * global_scores.numel())
        if not k < 1:
            threshold, _ = torch.kthvalue(global_scores, k)
            masks = [torch.where(s <= threshold, torch.zeros_like(mk), torch.ones_like(mk)) for s, mk in zip(scores, masks)]
    return {n: mk.bool() for n, mk in zip(names, masks)}
