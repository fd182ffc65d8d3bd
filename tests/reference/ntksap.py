"""NTK-SAP's Eq. 10 computed the straightforward way: the reference that tests/test_scores.py checks ntk_paths against
and that bench/ntksap_bench.py times ntk_paths against."""
import copy
import torch
from torch import nn
from ntk_paths import init_weights
from ntk_paths.prunable import prunable


def ntksap_reference(model, masks, eps, batch_size, rounds, shape, gen, biased_variance=True):
    """Eq. 10 the straightforward way: deep copies, explicit perturbation, a BatchNorm statistics pass, and the chain rule.

    biased_variance=False keeps the unbiased running variance of the statistics pass, as NTK-SAP's code does;
    True rescales it to the biased variance that train mode normalises with (what ntk_paths computes)."""
    dev, dt = next(model.parameters()).device, next(model.parameters()).dtype
    masks = {n: m.to(dev) for n, m in masks.items()}
    total = {n: torch.zeros(m.shape, dtype=torch.float64, device=dev) for n, m in masks.items()}
    for _ in range(rounds):                                 # draws on the CPU generator, then moved: the same on every device
        net0 = init_weights(copy.deepcopy(model), gen)                            # θ_{0,i}
        z = torch.randn(batch_size, *shape, generator=gen).to(dev, dt)
        delta = {n: (torch.randn(m.shape, generator=gen) * eps).to(dev, dt) for n, m in masks.items()}
        net1 = copy.deepcopy(net0)
        theta = {n: p.weight.detach().clone() for n, p in prunable(net0).items()}
        with torch.no_grad():
            for n in masks:
                prunable(net0)[n].weight.copy_(theta[n] * masks[n])
                prunable(net1)[n].weight.copy_((theta[n] + delta[n]) * masks[n])
            bns = [m for m in net0.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
            counts = []
            for b in bns:
                b.reset_running_stats(); b.momentum = 1.0
                b.register_forward_hook(lambda m, i, o: counts.append(i[0].numel() // i[0].shape[1]))
            net0.train(); net0(z)                                                  # statistics of the unperturbed batch
            for b0, b1, n in zip(bns, [m for m in net1.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)], counts):
                if biased_variance: b0.running_var.mul_((n - 1) / n)               # the biased variance train mode normalised with
                b1.running_mean.copy_(b0.running_mean); b1.running_var.copy_(b0.running_var)
                b0._forward_hooks.clear()
        net0.eval(); net1.eval()
        ((net0(z) - net1(z)) ** 2).sum().backward()
        for n in masks:   # ∂L/∂m = θ ⊙ ∂L/∂w₀ + (θ + Δθ) ⊙ ∂L/∂w₁
            total[n] += theta[n] * prunable(net0)[n].weight.grad + (theta[n] + delta[n]) * prunable(net1)[n].weight.grad
    return {n: t.abs() * masks[n] for n, t in total.items()}
