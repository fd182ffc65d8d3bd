"""With count="official", ntk_paths' iterative SynFlow and SynFlow-L2 masks equal the official loop's bit for bit
(tests/official_reference.py, float64) at every density of the schedule; with the default count they differ by the
kept-count convention only (each step keeps round(d·N) instead of N − int((1 − d)·N))."""
import pytest, torch
from ntk_paths import prune, init_weights, ResNet20, LeNet5, MLP, Masks
from official_reference import official_prune_loop


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


@pytest.mark.parametrize("method", ["synflow", "synflow_l2"])
def test_resnet20_at_100_iterations(method):
    "ResNet-20 (our copy of the official architecture), density 0.01, 100 iterations: about 6 s each on two cores"
    net = init_weights(ResNet20(), 0)
    theirs = official_prune_loop(net, 0.01, 100, (3, 32, 32), method)
    ours = prune(net, method, 0.01, iterations=100, count="official", progress=False)
    assert same(ours, theirs)
    default = prune(net, method, 0.01, iterations=100, progress=False)
    overlap = sum(int((default[n] & ours[n]).sum()) for n in ours) / ours.kept
    assert 0.8 < overlap < 1      # the counts alone make the default mask another one (86.7 % and 88.2 % shared when measured)


def test_the_command_line_counts_the_official_way(tmp_path):
    from ntk_paths.cli import main
    assert main(["prune", "--model", "mlp", "--method", "synflow", "--iterations", "5", "--count", "official",
                 "--out", str(tmp_path / "m.pt"), "--quiet"]) == 0
    assert Masks.load(tmp_path / "m.pt").meta["count"] == "official"
