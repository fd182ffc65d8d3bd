"Masks: exact densities, round trips through deepcopy / state_dict / torch.nn.utils.prune, saving, bad input."
import copy, json, math, os
import pytest, torch
from torch import nn
import torch.nn.utils.prune as torch_prune
from ntk_paths import (Masks, MaskMismatchError, prunable, topk_masks, apply_masks, remove_masks, to_torch_prune,
                       init_weights, VGG, ResNet20, MLP, resolve_density)


def odd_net():
    "Layers of awkward sizes: 3·5·3·3=135, 7·3·2·2=84, 7·5=35 (plus a 1-output head of 5 weights)"
    return nn.Sequential(nn.Conv2d(5, 3, 3), nn.ReLU(), nn.Conv2d(3, 7, 2), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(7, 5), nn.ReLU(), nn.Linear(5, 1))


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_exact_density_for_awkward_targets(scope, gen):
    net = odd_net()
    scores = {n: torch.rand(p.weight.shape, generator=gen) for n, p in prunable(net).items()}
    total = sum(s.numel() for s in scores.values())
    for d in [1.0, 0.999, 0.5, 1 / 3, 2 / 7, 0.123456, 0.05, 1 / total, 1.4 / total]:
        m = topk_masks(scores, d, scope=scope)
        assert m.kept == math.floor(d * total + 0.5), (d, scope)
        if scope == "layer":  # every layer keeps floor or ceil of its share
            for r in m.rows():
                assert math.floor(d * r["numel"]) <= r["kept"] <= math.ceil(d * r["numel"])


def test_ties_are_broken_deterministically_not_dropped():
    scores = {"a": torch.zeros(10), "b": torch.ones(6), "c": torch.zeros(4)}
    m = topk_masks(scores, 0.5)          # 10 of 20: all six ones, then the four earliest zeros
    assert m.kept == 10 and m["b"].all() and m["a"][:4].all() and not m["a"][4:].any() and not m["c"].any()
    assert m == topk_masks(scores, 0.5)


def test_keeping_the_highest_scores(gen):
    s = {"x": torch.randn(50, generator=gen), "y": torch.randn(30, generator=gen)}
    m = topk_masks(s, 0.25)
    kept = torch.cat([s[k][m[k]] for k in s]); dropped = torch.cat([s[k][~m[k]] for k in s])
    assert kept.min() > dropped.max()


def test_density_arguments():
    assert resolve_density(sparsity=0.75) == 0.25
    for bad, msg in [(dict(density=0), "(0, 1]"), (dict(density=-0.1), "(0, 1]"), (dict(density=1.01), "(0, 1]"),
                     (dict(sparsity=1.0), "[0, 1)"), (dict(compression=0.9), ">= 1"), (dict(density=0.1, compression=10), "exactly one")]:
        with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            resolve_density(**bad)


def masked(model, density=0.2, seed=0):
    init_weights(model, seed)
    g = torch.Generator().manual_seed(seed)
    m = topk_masks({n: torch.rand(p.weight.shape, generator=g) for n, p in prunable(model).items()}, density)
    return apply_masks(model, m), m


@pytest.mark.parametrize("make", [lambda: VGG(11, batch_norm=True), ResNet20, lambda: MLP((64, 32, 10))])
def test_deepcopy_and_state_dict_round_trips(make):
    net, m = masked(make())
    net.eval()
    x = torch.randn(3, *net.input_shape)
    with torch.no_grad(): y = net(x)
    twin = copy.deepcopy(net)
    with torch.no_grad(): assert torch.equal(twin(x), y)
    assert Masks.from_model(twin) == m
    fresh = apply_masks(init_weights(make(), 99), Masks.ones(make()))   # different weights, all-ones masks
    fresh.load_state_dict(net.state_dict()); fresh.eval()
    with torch.no_grad(): assert torch.equal(fresh(x), y)
    assert Masks.from_model(fresh) == m
    # removing masks from a copy leaves the original working (torch shares the parametrized class)
    remove_masks(twin)
    with torch.no_grad(): assert torch.equal(net(x), y) and torch.equal(twin(x), y)


def test_torch_prune_both_ways():
    net, m = masked(VGG(11))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad(): y = net(x)
    tp = to_torch_prune(copy.deepcopy(net), m)
    assert {k for k in tp.state_dict() if k.endswith("weight_mask")} == {k + "_mask" for k in m}
    with torch.no_grad(): assert torch.allclose(tp(x), y)
    assert Masks.from_model(tp) == m
    # a model pruned with torch's own global magnitude pruning, re-applied with ntk_paths
    ref = init_weights(VGG(11), 5)
    torch_prune.global_unstructured([(mod, "weight") for mod in ref.modules() if isinstance(mod, (nn.Conv2d, nn.Linear))],
                                    torch_prune.L1Unstructured, amount=0.9)
    tm = Masks.from_model(ref)
    assert abs(tm.density - 0.1) < 1e-6
    ours = apply_masks(init_weights(VGG(11), 5), tm)
    with torch.no_grad(): assert torch.allclose(ours(x), ref(x))


def test_save_load_and_summary(tmp_path):
    net, m = masked(ResNet20(), 0.05)
    m.meta = {"method": "random", "density": 0.05}
    p = m.save(tmp_path / "r20.pt")
    assert Masks.load(p, ResNet20()) == m
    summary = json.loads((tmp_path / "r20.json").read_text())
    assert summary["kept"] == m.kept and summary["meta"]["method"] == "random" and len(summary["layers"]) == 22
    assert os.path.getsize(p) < m.total / 8 + 20_000   # packed bits


def test_mask_file_for_another_model_names_the_mismatch(tmp_path):
    net, m = masked(VGG(11))
    m.save(tmp_path / "vgg11.pt")
    with pytest.raises(MaskMismatchError, match=r"classifier.weight: mask \(10, 512\) vs weight \(100, 512\)"):
        Masks.load(tmp_path / "vgg11.pt", VGG(11, num_classes=100))
    with pytest.raises(MaskMismatchError, match="no such prunable weight: features.0.weight"):
        Masks.load(tmp_path / "vgg11.pt", ResNet20())


def test_interrupted_save_leaves_the_old_file(tmp_path, monkeypatch):
    net, m = masked(MLP((64, 32, 10)))
    p = m.save(tmp_path / "m.pt")
    before = p.read_bytes()
    def broken_save(obj, f):
        f.write(b"half a mask"); raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(KeyboardInterrupt):
        Masks.ones(net).save(p)
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["m.json", "m.pt"]   # no temporary left behind


def test_bad_masks():
    with pytest.raises(ValueError, match="no prunable layer"): Masks.ones(nn.Sequential(nn.BatchNorm1d(3)))
    with pytest.raises(TypeError, match="not a tensor"): Masks({"a": [1, 0]})
    with pytest.raises(ValueError, match="not a mask file"): Masks.load(__file__)
