"Training a masked network: pruned weights stay exactly zero whatever the optimizer does."
import copy
import pytest, torch
from ntk_paths import train, prune, init_weights, LeNet5, MLP, load_digits, Masks


@pytest.mark.parametrize("optimizer,wd", [("sgd", 5e-4), ("adam", 0.0), ("adam", 1e-2)])
def test_pruned_weights_stay_zero(optimizer, wd):
    d = load_digits()
    net = init_weights(MLP(), 0)
    masks = prune(net, "synflow", 0.02, iterations=10, progress=False)
    res = train(net, d, masks, epochs=3, lr=0.05 if optimizer == "sgd" else 1e-2, optimizer=optimizer,
                weight_decay=wd, progress=False)
    for name, m in masks.items():
        w = net.get_submodule(name.rsplit(".", 1)[0]).weight
        assert (w[~m] == 0).all() and (w[m] != 0).any()
    assert res.test_acc > 0.3 and res.density == masks.density
    assert Masks.from_model(copy.deepcopy(net)) == masks


def test_training_is_reproducible():
    d = load_digits()
    runs = [train(init_weights(MLP(), 3), d, epochs=2, seed=7, progress=False).history for _ in range(2)]
    assert runs[0] == runs[1]
