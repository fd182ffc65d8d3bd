"The path decomposition: exact on enumerable nets, Tr Π without paths on convs and residual nets, G·w and its spectrum."
import math, warnings
import pytest, torch
from torch import nn
from ntk_paths import Masks, init_weights, SCORES, MLP, ResNet20, empirical_ntk
from ntk_paths.prunable import prunable
from ntk_paths.paths import path_kernel_trace, squared_pass, path_kernel_gvp, path_kernel_eigvals
from ntk_paths.decomposition import path_decomposition, count_paths, enumerate_paths


def seq_mlp():
    return init_weights(nn.Sequential(nn.Linear(4, 5, bias=False), nn.ReLU(), nn.Linear(5, 4, bias=False), nn.ReLU(),
                                      nn.Linear(4, 3, bias=False)), 0).double().eval()


def seq_cnn(pool="max"):
    "Two convolutions (padding, stride), pooling, a BatchNorm scale with zero shift, a linear head"
    p = nn.MaxPool2d(2) if pool == "max" else nn.AvgPool2d(2)
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU(), p,
                        nn.Conv2d(3, 2, 2, stride=1, bias=False), nn.ReLU(), nn.Flatten(), nn.Linear(2, 3, bias=False))
    init_weights(net, 2)
    with torch.no_grad(): net[1].weight.copy_(torch.tensor([0.7, 1.2, 1.9])); net[1].running_var.fill_(1.5)
    for q in net[1].parameters(): q.requires_grad_(False)
    return net.double().eval()


@pytest.mark.parametrize("make,shape", [(seq_mlp, (4,)), (seq_cnn, (2, 4, 4)), (lambda: seq_cnn("avg"), (2, 4, 4))])
@pytest.mark.parametrize("masked", [False, True])
def test_decomposition_is_exact(make, shape, masked):
    net = make()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, *shape, generator=g, dtype=torch.float64)
    masks = Masks({n: torch.rand(p.weight.shape, generator=g) > 0.3 for n, p in prunable(net).items()}) if masked else None
    dec = path_decomposition(net, x, masks)
    ntk = empirical_ntk(net, x, masks=masks)
    assert ((dec.ntk() - ntk).abs().max() / ntk.abs().max()).item() <= 1e-10
    # Tr Π without paths = the explicit trace = Σ path_kernel saliency / |θ|, all respecting the mask
    tr = path_kernel_trace(net, masks, input_shape=shape)
    assert math.isclose(tr, dec.Pi.trace().item(), rel_tol=1e-10)
    sal = SCORES["path_kernel"](net, masks if masked else Masks.ones(net), input_shape=shape)
    w = {n: p.weight.detach().double().abs() for n, p in prunable(net).items()}
    assert math.isclose(sum((sal[n][w[n] > 0] / w[n][w[n] > 0]).sum().item() for n in sal), tr, rel_tol=1e-10)
    # v and Π themselves: R₂ = Σ v², and Π = J Jᵀ has v_p v_q/θ_j² entries
    R2, _ = squared_pass(net, masks, input_shape=shape)
    assert math.isclose(R2.item(), (dec.v ** 2).sum().item(), rel_tol=1e-10)


def test_G_and_its_spectrum_equal_the_explicit_path_kernel():
    net = seq_cnn()
    dec = path_decomposition(net, torch.randn(2, 2, 4, 4, dtype=torch.float64))
    g = torch.Generator().manual_seed(0)
    w = {n: torch.randn(p.weight.shape, generator=g, dtype=torch.float64) for n, p in prunable(net).items()}
    Gw = path_kernel_gvp(net, w, input_shape=(2, 4, 4))
    flat = torch.cat([w[n].flatten() for n in dec.names])
    torch.testing.assert_close(torch.cat([Gw[n].flatten() for n in dec.names]), dec.J_theta_v.T @ (dec.J_theta_v @ flat))
    exact = torch.linalg.eigvalsh(dec.Pi).flip(0)
    # default: stop once each is estimated accurate to 1e-6; all steps (tol=None): round-off
    torch.testing.assert_close(path_kernel_eigvals(net, 8, input_shape=(2, 4, 4)), exact[:8], rtol=1e-6, atol=0)
    torch.testing.assert_close(path_kernel_eigvals(net, 8, input_shape=(2, 4, 4), tol=None), exact[:8], rtol=1e-8, atol=1e-8 * exact[0].item())


def test_eigvals_warn_when_steps_run_out_before_tol():
    net = seq_cnn()
    exact = torch.linalg.eigvalsh(path_decomposition(net, torch.randn(2, 2, 4, 4, dtype=torch.float64)).Pi).flip(0)
    with pytest.warns(UserWarning, match="only estimated accurate to"):
        top = path_kernel_eigvals(net, 8, input_shape=(2, 4, 4), steps=9)
    assert not torch.allclose(top, exact[:8], rtol=1e-6)      # the warning is about a real error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        path_kernel_eigvals(net, 1, input_shape=(2, 4, 4))    # the top one converges: no warning


def test_bias_paths():
    "f = W2 relu(W1 x + b1) + b2: with bias=True each bias starts its own paths"
    net = init_weights(MLP((3, 4, 2)), 0).double()
    with torch.no_grad(): net.fc1.bias.uniform_(-1, 1); net.fc2.bias.uniform_(-1, 1)
    W1, b1, W2, b2 = (t.detach() for t in (net.fc1.weight, net.fc1.bias, net.fc2.weight, net.fc2.bias))
    R2, d = squared_pass(net, bias=True)
    ref = (W1.pow(2).sum(1) * W2.pow(2).sum(0)).sum() + (b1.pow(2) * W2.pow(2).sum(0)).sum() + b2.pow(2).sum()
    assert math.isclose(R2.item(), ref.item(), rel_tol=1e-12)
    torch.testing.assert_close(d["fc1.weight"], W2.pow(2).sum(0)[:, None].expand(4, 3))
    torch.testing.assert_close(d["fc1.bias"], W2.pow(2).sum(0))
    torch.testing.assert_close(d["fc2.weight"], (W1.pow(2).sum(1) + b1.pow(2))[None].expand(2, 4))
    torch.testing.assert_close(d["fc2.bias"], torch.ones(2, dtype=torch.float64))
    R2_nobias, _ = squared_pass(net)
    assert math.isclose(R2_nobias.item(), (W1.pow(2).sum(1) * W2.pow(2).sum(0)).sum().item(), rel_tol=1e-12)


def test_residual_networks_add_their_branches():
    """Paths through a residual block either take the block or the shortcut, so R₂ and every d_j of a ResNet are the
    sums of the same network with one or the other cut (and each such cut network is a chain, checked above)."""
    net = init_weights(ResNet20(num_classes=3, width=4, input_size=8), 0).double().eval()
    block = net.layer2[0]                                   # has a 1×1 conv shortcut
    R2, d = squared_pass(net, input_shape=(3, 8, 8))
    def cut(which):
        masks = {}
        for n, p in prunable(net).items():
            inside = n.startswith("layer2.0.") and ("shortcut" in n) == (which == "shortcut")
            masks[n] = torch.zeros_like(p.weight, dtype=torch.bool) if inside else torch.ones_like(p.weight, dtype=torch.bool)
        return squared_pass(net, Masks(masks), input_shape=(3, 8, 8))
    (Ra, da), (Rb, db) = cut("shortcut"), cut("main")      # only the main branch / only the shortcut
    assert math.isclose(R2.item(), Ra.item() + Rb.item(), rel_tol=1e-10)
    for n in d:
        if n.startswith("layer2.0."): continue              # weights of the cut branch are masked in one of the two
        torch.testing.assert_close(d[n], da[n] + db[n], rtol=1e-10, atol=0)
    assert path_kernel_trace(net, input_shape=(3, 8, 8)) > 0


def test_refusals():
    with pytest.raises(ValueError, match="paths, more than max_paths"):
        enumerate_paths(nn.Sequential(nn.Linear(40, 40, bias=False), nn.ReLU(), nn.Linear(40, 40, bias=False)), (40,), max_paths=10_000)
    for net, shape in [(seq_cnn(), (2, 4, 4)), (seq_mlp(), (4,))]:       # the dynamic-programming count is the list's length
        assert count_paths(net, shape) == len(enumerate_paths(net, shape)) > 0
    assert count_paths(seq_mlp(), (4,)) == 4 * 5 * 4 * 3
    with pytest.raises(ValueError, match="nn.Sequential"): path_decomposition(ResNet20(), torch.randn(1, 3, 32, 32))
    with pytest.raises(NotImplementedError, match="not piecewise linear"):
        squared_pass(nn.Sequential(nn.Linear(3, 3), nn.GELU(), nn.Linear(3, 2)), input_shape=(3,))
