"The prune loop and the first saliencies: SynFlow's defining properties, layer collapse, numerics, any nn.Module."
import math
import copy
import pytest, torch
from torch import nn
from ntk_paths import (prunable, prune, Masks, SCORES, saliency, init_weights, apply_masks, VGG, ResNet20, MLP, LeNet5, ScoreError)
from ntk_paths.scores import synflow_pass


def test_pruned_weights_never_come_back():
    seen = []

    @saliency("_revive_if_allowed")
    def revive(model, masks, **_):
        seen.append(masks)
        return {n: 1.0 + 100.0 * (~m).float() for n, m in masks.items()}   # dead weights score highest

    try:
        final = prune(init_weights(MLP((16, 16, 4)), 0), "_revive_if_allowed", 0.05, iterations=6, progress=False)
    finally:
        SCORES.pop("_revive_if_allowed")
    steps = seen[1:] + [final]
    for before, after in zip(seen, steps):
        assert all(not (after[k] & ~before[k]).any() for k in before)
    total = final.total
    assert [s.kept for s in steps] == [round(0.05 ** (k / 6) * total) for k in range(1, 7)]


def conv_net(bias=False):
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=bias), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 6, 3, padding=1, bias=bias), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 5, bias=bias))


def test_synflow_conserves_flow_at_every_hidden_neuron():
    "Tanaka et al., Theorem 1: bias-free ReLU net at init; incoming score sum = outgoing score sum per neuron/channel"
    net = init_weights(conv_net(), 0)
    s = SCORES["synflow"](net, Masks.ones(net), input_shape=(3, 8, 8))
    torch.testing.assert_close(s["0.weight"].sum((1, 2, 3)), s["3.weight"].sum((0, 2, 3)), rtol=1e-10, atol=0)
    # channel c of conv 3 feeds the 16 flattened positions c*16 … c*16+15 of the linear layer
    torch.testing.assert_close(s["3.weight"].sum((1, 2, 3)), s["6.weight"].sum(0).view(6, 16).sum(1), rtol=1e-10, atol=0)
    mlp = init_weights(MLP((10, 7, 5, 3), bias=False), 1)
    s = SCORES["synflow"](mlp, Masks.ones(mlp))
    torch.testing.assert_close(s["fc1.weight"].sum(1), s["fc2.weight"].sum(0), rtol=1e-10, atol=0)
    torch.testing.assert_close(s["fc2.weight"].sum(1), s["fc3.weight"].sum(0), rtol=1e-10, atol=0)
    # and equals the total flow R across every layer (the whole network is one cut)
    totals = torch.stack([v.sum() for v in s.values()])
    torch.testing.assert_close(totals, totals[:1].expand(3), rtol=1e-10, atol=0)


def test_synflow_is_the_path_sum():
    "|θ_j ∂R/∂θ_j| = Σ over input→output paths through j of |product of weights|, on an enumerable net"
    net = init_weights(MLP((3, 4, 2), bias=False), 2)
    W1, W2 = net.fc1.weight.detach().abs().double(), net.fc2.weight.detach().abs().double()
    s = SCORES["synflow"](net, Masks.ones(net))
    ref1 = torch.zeros_like(W1); ref2 = torch.zeros_like(W2)
    for i in range(3):
        for h in range(4):
            for o in range(2):
                v = W1[h, i] * W2[o, h]
                ref1[h, i] += v; ref2[o, h] += v
    torch.testing.assert_close(s["fc1.weight"], ref1); torch.testing.assert_close(s["fc2.weight"], ref2)


def test_synflow_leaves_weights_signs_and_modes_alone():
    net = init_weights(ResNet20(), 0).train()
    net.layer2.eval()                       # a mixed-mode model comes back mixed
    before = copy.deepcopy(net.state_dict())
    masks = prune(net, "synflow", 0.1, iterations=3, progress=False)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert net.training and not net.layer2.training and net.layer3.training
    assert masks.kept == round(0.1 * masks.total)


def test_synflow_on_deep_plain_convnet_is_finite():
    layers = [nn.Conv2d(3, 32, 3, padding=1), nn.ReLU()]
    for _ in range(48): layers += [nn.Conv2d(32, 32, 3, padding=1), nn.ReLU()]
    deep = init_weights(nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)), 0)
    s = synflow_pass(deep, Masks.ones(deep), torch.ones(1, 3, 8, 8))
    assert all(torch.isfinite(v).all() and (v > 0).any() for v in s.values())
    # in float32 the same objective overflows: that is why we compute in float64
    with torch.no_grad():
        r = torch.func.functional_call(deep, {n: p.abs() for n, p in deep.named_parameters()}, (torch.ones(1, 3, 8, 8),))
    assert torch.isinf(r).any()
    m = prune(deep, "synflow", 0.05, iterations=5, input_shape=(3, 8, 8), progress=False)
    assert m.kept == round(0.05 * m.total) and not m.collapsed


def test_synflow_avoids_layer_collapse_where_magnitude_does_not():
    "VGG-16, no data, compression 10^3: single-shot magnitude empties a layer, iterative SynFlow keeps all 14"
    vgg = init_weights(VGG(16), 0)
    mag = prune(vgg, "magnitude", compression=1000, progress=False)
    syn = prune(vgg, "synflow", compression=1000, iterations=20, progress=False)
    assert mag.collapsed, "magnitude was expected to collapse a layer at compression 1000"
    assert syn.collapsed == [] and len(syn) == 14


def test_any_module_and_already_masked_models():
    torchvision = pytest.importorskip("torchvision")
    tv = init_weights(torchvision.models.resnet18(num_classes=10), 0)
    m = prune(tv, "synflow", 0.02, iterations=4, input_shape=(3, 32, 32), progress=False)
    assert m.kept == round(0.02 * m.total) and "fc.weight" in m and "layer2.0.downsample.0.weight" in m
    # pruning a model that already carries masks continues from them
    net = apply_masks(init_weights(LeNet5(), 0), prune(init_weights(LeNet5(), 0), "magnitude", 0.3, progress=False))
    start = Masks.from_model(net)
    more = prune(net, "synflow", 0.05, masks=start, iterations=5, progress=False)
    assert all(not (more[k] & ~start[k]).any() for k in start)


def test_collapsed_network_fails_with_a_clear_error():
    net = init_weights(MLP((8, 8, 2), bias=False), 0)
    dead = Masks({"fc1.weight": torch.zeros(8, 8, dtype=torch.bool), "fc2.weight": torch.ones(2, 8, dtype=torch.bool)})
    with pytest.raises(ScoreError, match="every score is zero"):
        prune(net, "synflow", 0.01, masks=dead, progress=False)


def test_bad_input():
    net = MLP()
    with pytest.raises(ValueError, match="choose one of: random, magnitude, synflow"): prune(net, "snap", 0.1)
    with pytest.raises(ValueError, match="iterations must be an integer >= 1"): prune(net, "synflow", 0.1, iterations=2.5)
    with pytest.raises(ValueError, match="unknown sanity check"): prune(net, "random", 0.1, sanity="flip")
    with pytest.raises(ValueError, match="scope must be"): prune(net, "random", 0.1, scope="module")
    with pytest.raises(ValueError, match="pass input_shape"): prune(nn.Sequential(nn.Conv2d(3, 2, 3), nn.Flatten()), "synflow", 0.5)
    with pytest.raises(ValueError, match=r"logits of shape \(N, K\)"):
        prune(nn.Sequential(nn.Linear(3, 2), nn.Flatten(0)), "synflow", 0.5, input_shape=(3,), progress=False)


@pytest.mark.parametrize("rule", ["erk", "er", "uniform", "uniform+", "erk+"])
def test_layer_density_rules_on_every_reference_model(rule):
    "prune(net, 'random', 0.01, layer_density=rule) on MLP, LeNet-5, VGG-16 and ResNet-20: exact total, the rule's shares"
    from ntk_paths.topk import layer_counts
    done = 0
    for net in (MLP(), LeNet5(), VGG(16, width=0.25), ResNet20()):
        init_weights(net, 0)
        shapes = {n: tuple(p.weight.shape) for n, p in prunable(net).items()}
        fixed = sum(math.prod(shapes[n]) for n in list(shapes)[:1]) if rule == "uniform+" else \
                sum(math.prod(shapes[n]) for n in list(shapes)[-1:]) if rule == "erk+" else 0
        if fixed >= 0.01 * sum(math.prod(s) for s in shapes.values()):     # the dense layer alone is over the budget
            with pytest.raises(ValueError, match="use a higher density or another rule"):
                prune(net, "random", 0.01, layer_density=rule, progress=False)
            continue
        mk = prune(net, "random", 0.01, layer_density=rule, progress=False)
        assert mk.kept == round(0.01 * mk.total)
        assert [r["kept"] for r in mk.rows()] == list(layer_counts(shapes, 0.01, rule).values())
        done += 1
    assert done >= 2


def test_an_iterative_method_with_erk_keeps_every_step_exact():
    net = init_weights(ResNet20(), 0)
    mk = prune(net, "synflow", 0.01, iterations=20, layer_density="erk", progress=False)
    assert mk.kept == round(0.01 * mk.total) and mk.collapsed == []


# ---- issue 25: whole layers that score exactly zero ----
import warnings as _warnings
from ntk_paths.prune import ZeroScoreWarning, CollapseWarning


def _zero_gamma_resnet():
    "ResNet-20 with every block's last BatchNorm γ at zero, as timm initialises its ResNets (zero_init_last)"
    net = init_weights(ResNet20(), 0)
    with torch.no_grad():
        for name, m in net.named_modules():
            if name.endswith("bn2"): m.weight.zero_()
    return net


@pytest.mark.parametrize("method", ["synflow", "snip"])
def test_layers_scored_zero_are_not_kept_by_layer_order(method):
    net = _zero_gamma_resnet()
    data = (torch.randn(20, 3, 32, 32, generator=torch.Generator().manual_seed(0)), torch.arange(20) % 10)
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always")
        m = prune(net, method, 0.05, iterations=1, data=data if method == "snip" else None, progress=False)
    zw = [w for w in caught if w.category is ZeroScoreWarning]
    assert len(zw) == 1 and "18 of 22 layers score exactly 0" in str(zw[0].message), [str(w.message) for w in caught]
    assert m.kept == round(0.05 * m.total)
    rows = {r["name"]: r["density"] for r in m.rows()}
    blocks = [n for n in rows if ".conv" in n and n.startswith("layer")]
    assert len(blocks) == 18
    assert max(rows[n] for n in blocks) < 0.5                   # layer order would have kept layer1.0.conv1 whole
    assert min(rows[n] for n in blocks) > 0                     # and emptied the last ones
    again = prune(_zero_gamma_resnet(), method, 0.05, iterations=1, data=data if method == "snip" else None, progress=False)
    assert again == m                                            # the random tie rule is seeded


def test_prune_warns_when_its_result_has_empty_layers():
    vgg = init_weights(VGG(16, width=0.25), 0)
    with pytest.warns(CollapseWarning, match=r"magnitude at density 0\.001 left 5 layers with no weight: features\.19\.weight"):
        m = prune(vgg, "magnitude", compression=1000, progress=False)
    assert m.collapsed
