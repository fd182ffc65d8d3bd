"The empirical NTK against plain per-sample gradients in float64, and everything built on it."
import copy, warnings
import pytest, torch
from torch import nn
import torch.nn.functional as F
import torch.nn.utils.prune as torch_prune
from ntk_paths import (empirical_ntk, ntk_matrix, ntk_vp, ntk_eigvals, kernel_eigvals, ntk_trace, predict_mse_loss, fit_mse, Masks,
                       apply_masks, init_weights, MLP, LeNet5, VGG, ResNet20, Conv1dNet)
from ntk_paths.prunable import prunable


def reference_ntk(model, x1, x2, masks=None):
    "Per-sample gradients with one autograd.grad call per (sample, output), then one GEMM; masked weights zeroed"
    params = [p for p in model.parameters() if p.requires_grad]
    found = {p.weight: masks[n] for n, p in prunable(model).items()} if masks else {}
    def jac(x):
        rows = []
        for xi in x:
            out = model(xi[None])[0]
            for k in range(out.shape[0]):
                g = torch.autograd.grad(out[k], params, retain_graph=True, allow_unused=True)
                rows.append(torch.cat([(gi if gi is not None else torch.zeros_like(p)).mul(found[p] if p in found else 1).flatten()
                                       for gi, p in zip(g, params)]))
        return torch.stack(rows), out.shape[0]
    with torch.no_grad():
        if masks:   # the masked network: pruned weights are zero in the forward pass too
            saved = {p: p.clone() for p in found}
            for p, m in found.items(): p.mul_(m)
    try:
        J1, K = jac(x1); J2 = J1 if x2 is x1 else jac(x2)[0]   # one Jacobian when both sides are the same inputs
    finally:
        if masks:
            with torch.no_grad():
                for p, v in saved.items(): p.copy_(v)
    th = (J1 @ J2.T).view(len(x1), K, len(x2), K).permute(0, 2, 1, 3)
    return th


CASES = {
    "mlp": (lambda: MLP((12, 24, 16, 4)), (12,)),
    "cnn_pool": (lambda: LeNet5(1, 4, 16), (1, 16, 16)),
    "bn_eval": (lambda: VGG(11, batch_norm=True, num_classes=4, in_channels=2, width=0.125), (2, 32, 32)),
    "residual": (lambda: ResNet20(num_classes=4, width=4, input_size=8), (3, 8, 8)),
    "conv1d": (lambda: Conv1dNet(channels=6, num_classes=4), (1, 40)),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("masked", [0, 0.5, 0.9])        # none; half pruned; 90 % pruned (only kept Jacobian entries held)
def test_every_implementation_equals_the_float64_reference(case, masked):
    make, shape = CASES[case]
    net = init_weights(make(), 0).double().eval()
    with torch.no_grad():   # non-trivial BatchNorm statistics and affine parameters
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5); m.running_var.uniform_(0.5, 2); m.weight.uniform_(0.5, 1.5); m.bias.uniform_(-0.2, 0.2)
    g = torch.Generator().manual_seed(1)
    x1, x2 = torch.randn(4, *shape, generator=g, dtype=torch.float64), torch.randn(3, *shape, generator=g, dtype=torch.float64)
    masks = Masks({n: torch.rand(p.weight.shape, generator=g) > masked for n, p in prunable(net).items()}) if masked else None
    refs = {"sym": reference_ntk(net, x1, x1, masks), "x2": reference_ntk(net, x1, x2, masks)}
    for impl in ("structured", "jacobian"):
        for which, xb in (("sym", None), ("x2", x2)):
            ref = refs[which]
            full = empirical_ntk(net, x1, xb, masks=masks, implementation=impl, chunk=3)
            trace = empirical_ntk(net, x1, xb, masks=masks, implementation=impl, mode="trace")
            diag = empirical_ntk(net, x1, xb, masks=masks, implementation=impl, mode="diag", chunk=2)
            scale = ref.abs().max()
            assert ((full - ref).abs().max() / scale) <= 1e-5, (impl, which)
            assert ((trace - torch.einsum("nmkk->nm", ref)).abs().max() / scale) <= 1e-5, (impl, which)
            assert ((diag - torch.einsum("nmkk->nmk", ref)).abs().max() / scale) <= 1e-5, (impl, which)


def test_vgg11_convolutions_as_patches_equal_the_reference():
    "Full-size VGG-11 (conv biases): its 512-channel layers stay factored (cotangents and patches); the kernel is unchanged"
    from ntk_paths.ntk_blocks import structured_layers, layer_shapes, patches_pay
    net = init_weights(VGG(11), 0).double().eval()
    g = torch.Generator().manual_seed(2)
    x1, x2 = torch.randn(2, 3, 32, 32, generator=g, dtype=torch.float64), torch.randn(1, 3, 32, 32, generator=g, dtype=torch.float64)
    layers, _ = structured_layers(net)
    shapes = layer_shapes(net, {n: p.detach() for n, p in net.named_parameters()}, layers, x1)
    chosen = [n for (n, m, k), s in zip(layers, shapes) if k == "conv" and patches_pay(m, s, 10, 2, "full")]
    assert {"features.11", "features.13", "features.16", "features.18"} <= set(chosen), chosen
    xs = torch.cat([x1, x2]); ref = reference_ntk(net, xs, xs)[:2]          # rows of x1, columns of x1 and x2
    ones = Masks({n: torch.ones(p.weight.shape, dtype=torch.bool) for n, p in prunable(net).items()})
    for masks in (None, ones):
        for mode, red in (("full", "nmkj->nmkj"), ("trace", "nmkk->nm"), ("diag", "nmkk->nmk")):
            sym = empirical_ntk(net, x1, masks=masks, mode=mode, progress=False)
            cross = empirical_ntk(net, x1, x2, masks=masks, mode=mode, progress=False)
            want = torch.einsum(red, ref)
            assert ((torch.cat([sym, cross], 1) - want).abs().max() / want.abs().max()) <= 1e-10, (mode, masks is None)


def test_masks_applied_to_the_model_count_too():
    net = init_weights(MLP((10, 16, 3)), 0).double().eval()
    x = torch.randn(5, 10, dtype=torch.float64)
    masks = Masks({n: torch.rand(p.weight.shape) > 0.5 for n, p in prunable(net).items()})
    explicit = empirical_ntk(net, x, masks=masks)
    applied = empirical_ntk(apply_masks(copy.deepcopy(net), masks), x)
    tp = copy.deepcopy(net)
    for n, p in prunable(tp).items(): torch_prune.custom_from_mask(p.module, "weight", masks[n])
    torch.testing.assert_close(applied, explicit); torch.testing.assert_close(empirical_ntk(tp, x), explicit)
    assert not torch.allclose(explicit, empirical_ntk(net, x))


def test_ntk_vp_lanczos_and_traces():
    net = init_weights(LeNet5(1, 5, 16), 0).double().eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 1, 16, 16, generator=g, dtype=torch.float64)
    th = ntk_matrix(empirical_ntk(net, x))
    v = torch.randn(12, 5, generator=g, dtype=torch.float64)
    torch.testing.assert_close(ntk_vp(net, x, v).flatten(), th @ v.flatten())
    exact = torch.linalg.eigvalsh(th).flip(0)
    torch.testing.assert_close(kernel_eigvals(th), exact)
    torch.testing.assert_close(ntk_eigvals(net, x, k=6, solver="lanczos", generator=g), exact[:6], rtol=1e-8, atol=1e-8 * exact[0].item())
    assert abs(ntk_trace(net, x) - th.trace().item()) < 1e-9 * th.trace().item()
    assert abs(ntk_trace(net, x, estimator="hutch++", probes=60) / th.trace().item() - 1) < 0.1


def test_linearised_prediction_matches_a_very_wide_network():
    """Full-batch GD, lr·λ_max/N = 1: the loss of a width-4096 MLP stays within 1% of its initial value of the
    prediction for 20 steps (measured 0.18%; the deviation shrinks with width, as linearisation theory says:
    2.4% at width 64), and a narrow net deviates more."""
    g = torch.Generator().manual_seed(0)
    N, d, K = 20, 10, 2
    x, y = torch.randn(N, d, generator=g, dtype=torch.float64), torch.randn(N, K, generator=g, dtype=torch.float64)
    dev = {}
    for w in (64, 4096):
        net = init_weights(MLP((d, w, w, K)), 0).double().eval()
        th = empirical_ntk(net, x)
        lr = N / kernel_eigvals(th, k=1).item()
        with torch.no_grad(): r0 = net(x) - y
        pred = predict_mse_loss(th, r0, lr, 20)
        meas = torch.tensor(fit_mse(net, x, y, lr, 20), dtype=torch.float64)
        dev[w] = ((meas - pred).abs().max() / meas[0]).item()
    assert dev[4096] < 0.01 and dev[64] > dev[4096]


def test_bad_input():
    net = init_weights(MLP((6, 8, 3)), 0).eval()
    x = torch.randn(4, 6)
    with pytest.raises(ValueError, match=r"logits of shape \(N, K\)"): empirical_ntk(nn.Sequential(nn.Linear(6, 3), nn.Flatten(0)), x)
    with pytest.raises(ValueError, match="different shapes"): empirical_ntk(net, x, torch.randn(2, 5))
    with pytest.raises(ValueError, match="x1 is an empty batch"): empirical_ntk(net, x[:0])
    with pytest.raises(ValueError, match="train mode"): empirical_ntk(VGG(11, batch_norm=True, width=0.125).train(), torch.randn(2, 3, 32, 32))
    bn = VGG(11, batch_norm=True, width=0.125).train()
    th = empirical_ntk(bn, torch.randn(2, 3, 32, 32), force_eval=True)
    assert bn.training and th.shape == (2, 2, 10, 10)
    with pytest.raises(MemoryError, match="Raise max_memory"): empirical_ntk(net, torch.randn(400, 6), max_memory="1MB")
    odd = nn.Sequential(nn.Linear(6, 8), nn.LayerNorm(8), nn.Linear(8, 3)).eval()
    with pytest.warns(UserWarning, match="LayerNorm"):
        th = empirical_ntk(odd, x, implementation="structured")
    torch.testing.assert_close(th, empirical_ntk(odd, x, implementation="jacobian"))
    with pytest.raises(ValueError, match=r"v must have shape \(4, 3\)"): ntk_vp(net, x, torch.randn(4, 2))


def test_large_batches_stay_within_memory():
    "ResNet-20-sized kernel with a small memory budget: chunked blocks equal the unchunked kernel"
    net = init_weights(ResNet20(num_classes=3, width=4, input_size=8), 0).eval()
    x = torch.randn(24, 3, 8, 8)
    whole = empirical_ntk(net, x, mode="trace")
    small = empirical_ntk(net, x, mode="trace", max_memory="12MB")
    torch.testing.assert_close(small, whole, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("implementation", ["structured", "jacobian"])
def test_panels_when_the_factors_do_not_all_fit(implementation, monkeypatch):
    "A budget that holds the factors of only a few chunks: several panels, every block still right, each chunk made per panel"
    import ntk_paths.ntk as ntk
    net = init_weights(ResNet20(num_classes=3, width=4, input_size=8), 0).eval()
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(24, 3, 8, 8, generator=g), torch.randn(10, 3, 8, 8, generator=g)
    kern = ntk.IMPLEMENTATIONS[implementation](ntk._setup(net, None, x))
    import weakref
    made, live, most = [], [0], [0]
    class Held:                                            # a chunk's factors, counted while alive
        def __init__(self, f): self.f = f; live[0] += 1; most[0] = max(most[0], live[0]); weakref.finalize(self, lambda: live.__setitem__(0, live[0] - 1))
    counting = ntk.KernelRecipe(lambda xs: made.append(len(xs)) or Held(kern.factors(xs)), lambda a, b, m: kern.combine(a.f, b.f, m),
                          kern.bytes_per_sample, kern.kept_per_sample, kern.chunk_hint)
    monkeypatch.setattr(ntk, "_choose", lambda impl, net: counting)
    c = 3
    budget = 24 * 24 * 9 * 4 + c * (kern.bytes_per_sample + 3 * (kern.kept_per_sample or kern.bytes_per_sample))   # 2 chunks held
    for x2 in (None, y):
        made.clear()
        small = empirical_ntk(net, x, x2, chunk=c, max_memory=budget)
        monkeypatch.undo()
        whole = empirical_ntk(net, x, x2, implementation=implementation)
        torch.testing.assert_close(small, whole, rtol=1e-4, atol=1e-5 * whole.abs().max().item())
        monkeypatch.setattr(ntk, "_choose", lambda impl, net: counting)
        assert most[0] <= 3                                    # a panel of two chunks and one being streamed: never more
        most[0] = 0
        if x2 is None: assert sum(made) == 24 + 3 * (6 + 4 + 2)   # panels of 2 chunks of 3: each made once, then streamed
        else: assert sum(made) == 24 + 10 * -(-8 // max(1, (budget - 24 * 10 * 9 * 4 - c * (kern.bytes_per_sample + (kern.kept_per_sample or kern.bytes_per_sample))) // (c * (kern.kept_per_sample or kern.bytes_per_sample))))


@pytest.mark.parametrize("case", ["cnn_pool", "bn_eval", "residual", "conv1d", "mlp"])
def test_a_mask_with_empty_layers_gives_the_pruned_networks_kernel(case):
    "Issue 25: a conv (or linear) layer with no kept weight crashed the kernel (torch.cat of an empty list)"
    make, shape = CASES[case]
    net = init_weights(make(), 0).double().eval()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, *shape, generator=g, dtype=torch.float64)
    found = list(prunable(net).items())
    masks = Masks({n: (torch.zeros(p.weight.shape, dtype=torch.bool) if i == 1 else torch.rand(p.weight.shape, generator=g) > 0.8)
                   for i, (n, p) in enumerate(found)})                       # the second layer empty, the rest 20 % kept
    assert masks.collapsed == [found[1][0]]
    ref = reference_ntk(net, x, x, masks)
    for impl in ("structured", "jacobian"):
        th = empirical_ntk(net, x, masks=masks, implementation=impl)
        assert ((th - ref).abs().max() / ref.abs().max().clamp_min(1e-300)) <= 1e-5, impl
