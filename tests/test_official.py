"""With count="official", ntk_paths' iterative SynFlow, SynFlow-L2 and path_kernel masks equal the official loop's bit
for bit (tests/reference/official.py, float64) at every density of the schedule; with the default count they differ by
the kept-count convention only (each step keeps round(d·N) instead of N − int((1 − d)·N)). path_kernel on a network with
max-pooling differs on purpose: a squared copy of the network keeps max-pooling, which drops every path but one per
window from Tr Π; our squared network sums them (nbs/04_paths.ipynb checks it against the enumerated paths)."""
import pytest, torch
from ntk_paths import prune, init_weights, ResNet20, LeNet5, MLP, Masks
from reference.official import official_prune_loop


def same(ours, theirs): return all(torch.equal(ours[n].cpu(), theirs[n]) for n in theirs) and list(ours) == list(theirs)


@pytest.mark.parametrize("method", ["synflow", "synflow_l2"])
@pytest.mark.parametrize("model,shape,density,T", [
    (lambda: MLP((64, 64, 32, 10)), (64,), 0.01, 100),
    (lambda: LeNet5(), (1, 28, 28), 0.003, 30)])
def test_official_count_gives_the_official_masks(method, model, shape, density, T):
    net = init_weights(model(), 0)
    theirs = official_prune_loop(net, density, T, shape, method)
    ours = prune(net, method, density, iterations=T, count="official", progress=False)
    assert same(ours, theirs)
    assert ours.kept == sum(int(m.sum()) for m in theirs.values())
    assert ours.meta["count"] == "official"
    default = prune(net, method, density, iterations=T, progress=False)
    assert default.kept == round(density * default.total) and "count" not in default.meta


@pytest.mark.parametrize("method", ["synflow", "synflow_l2", "path_kernel"])
def test_resnet20_at_100_iterations(method):
    "ResNet-20 (our copy of the official architecture), density 0.01, 100 iterations: about 6 s each on two cores"
    net = init_weights(ResNet20(), 0)
    theirs = official_prune_loop(net, 0.01, 100, (3, 32, 32), method)
    ours = prune(net, method, 0.01, iterations=100, count="official", progress=False)
    assert same(ours, theirs)
    default = prune(net, method, 0.01, iterations=100, progress=False)
    overlap = sum(int((default[n] & ours[n]).sum()) for n in ours) / ours.kept
    assert 0.8 < overlap < 1      # the counts alone make the default mask another one (86.7 % and 88.2 % shared when measured)


def test_path_kernel_official_on_an_mlp():
    net = init_weights(MLP((64, 64, 32, 10)), 0)          # biases too: the squared network leaves them out, as the reference
    theirs = official_prune_loop(net, 0.01, 100, (64,), "path_kernel")
    assert same(prune(net, "path_kernel", 0.01, iterations=100, count="official", progress=False), theirs)


def test_path_kernel_differs_where_max_pooling_drops_paths():
    net = init_weights(LeNet5(), 0)
    theirs = official_prune_loop(net, 0.01, 10, (1, 28, 28), "path_kernel")
    ours = prune(net, "path_kernel", 0.01, iterations=10, count="official", progress=False)
    assert ours.kept == sum(int(m.sum()) for m in theirs.values())
    assert not same(ours, theirs)          # max-pooling: one path per window in the copy, all of them in Tr Π


def test_the_command_line_counts_the_official_way(tmp_path):
    from ntk_paths.cli import main
    assert main(["prune", "--model", "mlp", "--method", "synflow", "--iterations", "5", "--count", "official",
                 "--out", str(tmp_path / "m.pt"), "--quiet"]) == 0
    assert Masks.load(tmp_path / "m.pt").meta["count"] == "official"
