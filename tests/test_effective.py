"""Issue 28: effective sparsity. The effective mask (kept weights that lie on some input→output path of the mask)
against brute-force path enumeration: every path listed, a weight effective when a path whose weights are all kept
runs through it. On an MLP, a CNN with padding, max- and average pooling and BatchNorm, and a residual block."""
import itertools
import pytest, torch
from torch import nn
from ntk_paths import Masks, init_weights, prune, ResNet20
from ntk_paths.prunable import prunable
from ntk_paths.decomposition import enumerate_paths
from ntk_paths.paths import effective_masks


def enumerated_effective(net, masks, shape):
    "Every listed path whose weights are all kept marks its weights effective"
    ps = enumerate_paths(net, shape, max_paths=2_000_000)
    alive = torch.ones(len(ps), dtype=torch.bool)
    for name, idx in ps.weights: alive &= masks[name].flatten()[idx]
    out = {n: torch.zeros(m.numel(), dtype=torch.bool) for n, m in masks.items()}
    for name, idx in ps.weights: out[name][idx[alive]] = True
    return {n: out[n].view_as(masks[n]) for n in masks}


def sparse_masks(net, density, seed):
    g = torch.Generator().manual_seed(seed)
    return Masks({n: torch.rand(p.weight.shape, generator=g) < density for n, p in prunable(net).items()})


NETS = {
    "mlp": (lambda: nn.Sequential(nn.Linear(6, 8, bias=False), nn.ReLU(), nn.Linear(8, 7, bias=False), nn.ReLU(),
                                  nn.Linear(7, 3, bias=False)), (6,)),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                                  nn.Conv2d(3, 4, 2, bias=False), nn.ReLU(), nn.AvgPool2d(1), nn.Flatten(),
                                  nn.Linear(4, 3, bias=False)), (2, 4, 4)),
}


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("density", [0.15, 0.3, 0.6])
def test_effective_masks_equal_path_enumeration(name, density):
    build, shape = NETS[name]
    for seed in range(4):
        net = init_weights(build(), seed).eval()
        m = sparse_masks(net, density, seed)
        want = enumerated_effective(net, m, shape)
        got = effective_masks(net, m, shape)
        assert all(torch.equal(got[n], want[n]) for n in m), (name, density, seed)
        assert got.kept <= m.kept


class Residual(nn.Module):
    "x → fc1 → ReLU → fc2, plus x itself (the skip), → ReLU → fc3: paths through the block and around it"
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2, self.fc3 = nn.Linear(4, 5, bias=False), nn.Linear(5, 4, bias=False), nn.Linear(4, 3, bias=False)
        self.input_shape = (4,)
    def forward(self, x): return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x))) + x))


def residual_effective(m):
    "Every path listed by hand: in → h1 → h2 → out through the block, and in → h2 (the same unit) → out around it"
    M1, M2, M3 = m["fc1.weight"], m["fc2.weight"], m["fc3.weight"]
    out = {k: torch.zeros_like(v) for k, v in m.items()}
    for i, j, k, o in itertools.product(range(4), range(5), range(4), range(3)):
        if M1[j, i] and M2[k, j] and M3[o, k]:
            out["fc1.weight"][j, i] = out["fc2.weight"][k, j] = out["fc3.weight"][o, k] = True
    for i, o in itertools.product(range(4), range(3)):
        if M3[o, i]: out["fc3.weight"][o, i] = True               # the skip: unit i of the input is unit i of h2
    return out


@pytest.mark.parametrize("density", [0.1, 0.25, 0.5])
def test_effective_masks_of_a_residual_block(density):
    net = init_weights(Residual(), 0).eval()
    for seed in range(6):
        m = sparse_masks(net, density, seed)
        want, got = residual_effective(m), effective_masks(net, m)
        assert all(torch.equal(got[n], want[n]) for n in m), (density, seed)


def test_at_high_compression_resnet20_keeps_disconnected_weights():
    "Random pruning of ResNet-20 at 1 % leaves kept weights on no path; the effective density says how many"
    net = init_weights(ResNet20(), 0)
    m = prune(net, "random", 0.01, progress=False)
    e = m.effective(net)
    assert e.kept < m.kept and all(torch.equal(e[n] & ~m[n], torch.zeros_like(m[n])) for n in m)
    assert e.meta["effective"] is True and e.effective(net) == e       # effective masks are their own effective masks
