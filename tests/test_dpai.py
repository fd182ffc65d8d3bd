"""Issue 28: DPaI. The counts it balances (log paths, effective nodes, kernels, weights) against brute-force path
enumeration on an MLP, a CNN with padding, pooling and BatchNorm, and a residual block; its first update against the
rule written out by hand; exact density and an untouched model on ResNet-20."""
import itertools, math
import pytest, torch
from torch import nn
from ntk_paths import Masks, init_weights, prune, ResNet20, MLP, npb_counts, topk_masks
from ntk_paths.decomposition import enumerate_paths
from ntk_paths.dpai import dpai
from ntk_paths.paths import path_count
from test_effective import NETS, Residual, sparse_masks


def enumerated_counts(net, masks, shape):
    "(paths, nodes, kernels, weights): every listed path whose weights are all kept, and the units it crosses"
    ps = enumerate_paths(net, shape, max_paths=2_000_000)
    alive = torch.ones(len(ps), dtype=torch.bool)
    for name, idx in ps.weights: alive &= masks[name].flatten()[idx]
    nodes = kernels = weights = 0
    for name, idx in ps.weights:
        shape_w = masks[name].shape
        used = idx[alive].unique()
        per_out = math.prod(shape_w[1:])
        taps = math.prod(shape_w[2:]) if len(shape_w) > 2 else 1
        nodes += len((used // per_out).unique())
        kernels += len((used // taps).unique())
        weights += len(used)
    return int(alive.sum()), nodes, kernels, weights


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("density", [0.2, 0.5])
def test_counts_equal_path_enumeration(name, density):
    build, shape = NETS[name]
    for seed in range(4):
        net = init_weights(build(), seed).eval()
        m = sparse_masks(net, density, seed)
        P, nodes, kernels, weights = enumerated_counts(net, m, shape)
        b = npb_counts(net, m, shape)
        assert (b.nodes, b.kernels, b.weights) == (nodes, kernels, weights), (name, density, seed)
        assert b.log_paths == (math.log(P) if P else -math.inf) or abs(b.log_paths - math.log(P)) < 1e-12
        assert path_count(net, m, shape).item() == P


def test_counts_of_a_residual_block():
    "Paths through the block (in → h1 → h2 → out) and around it (in → out, the skip): counted by hand"
    net = init_weights(Residual(), 0).eval()
    for seed in range(6):
        m = sparse_masks(net, 0.3, seed)
        M1, M2, M3 = m["fc1.weight"], m["fc2.weight"], m["fc3.weight"]
        eff = {k: torch.zeros_like(v) for k, v in m.items()}
        P = 0
        for i, j, k, o in itertools.product(range(4), range(5), range(4), range(3)):
            if M1[j, i] and M2[k, j] and M3[o, k]:
                P += 1; eff["fc1.weight"][j, i] = eff["fc2.weight"][k, j] = eff["fc3.weight"][o, k] = True
        for i, o in itertools.product(range(4), range(3)):
            if M3[o, i]: P += 1; eff["fc3.weight"][o, i] = True
        nodes = sum(int(e.any(1).sum()) for e in eff.values())
        weights = sum(int(e.sum()) for e in eff.values())
        assert tuple(npb_counts(net, m)) == ((math.log(P) if P else -math.inf), nodes, weights, weights), seed


def test_the_first_step_is_one_adam_step_on_the_balanced_path_gradient():
    """Adam's first step moves every coordinate by lr·sign(gradient): |s| grows by lr where a path runs (the path
    gradient of log P is never negative) and stays where none can run; the balance factors change its size not at all"""
    net = init_weights(MLP((12, 10, 8, 3)), 0); net.input_shape = (12,)
    ones = Masks.ones(net)
    g = torch.Generator().manual_seed(5)
    s0 = {n: torch.randn(v.shape, generator=g) for n, v in ones.items()}
    rank = lambda s: topk_masks(s, 0.2, alive=ones, layer_density="erk")
    m0 = rank({n: v.abs() for n, v in s0.items()})
    leaves = {n: v.double().requires_grad_() for n, v in m0.items()}
    grads = torch.autograd.grad(path_count(net, leaves), list(leaves.values()))
    for alpha, beta in [(0.99, 0.5), (0.0, 0.0), (1.0, 1.0)]:
        s1 = dpai(net, ones, rank=rank, generator=torch.Generator().manual_seed(5), steps=1, lr=0.01, alpha=alpha,
                  beta=beta, progress=False)
        for (n, a), gr in zip(s0.items(), grads):
            moved = gr > 0
            if alpha == 1.0 and beta == 1.0:     # only entries whose kernel is not yet effective move: a kept weight on a path stays
                moved = moved & ~((gr > 0) & m0[n])
            want = torch.where(moved, a.abs() + 0.01, a.abs())
            assert torch.allclose(s1[n], want, atol=1e-6), (alpha, beta, n)


def test_dpai_on_resnet20_is_exact_deterministic_and_leaves_the_model():
    net = init_weights(ResNet20(), 0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    trace = []
    a = prune(net, "dpai", compression=10 ** 2.5, steps=40, trace=trace, progress=False)
    b = prune(net, "dpai", compression=10 ** 2.5, steps=40, progress=False)
    assert a == b and a.kept == round(a.total / 10 ** 2.5)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert trace[-1].log_paths > trace[0].log_paths and trace[-1].weights > trace[0].weights
    assert tuple(npb_counts(net, a))[1:] == tuple(npb_counts(net, a.effective(net)))[1:]   # counts see only effective weights
    assert prune(net, "dpai", compression=10 ** 2.5, steps=40, seed=1, progress=False) != a
