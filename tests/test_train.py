"Training a masked network: pruned weights stay exactly zero whatever the optimizer does."
from waiting import wait_until
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


# ---- issue 29: long runs survive, masks hold under the papers' recipes ----
import os, signal, subprocess, sys, time
from pathlib import Path
from ntk_paths import ResNet20
from ntk_paths.images import write_cifar, load_cifar

KILLED_RUN = """
import sys, torch
torch.set_num_threads(1)
from ntk_paths import train, prune, init_weights, MLP, load_digits
net = init_weights(MLP(), 0)
masks = prune(net, "synflow", 0.05, iterations=5, progress=False)
train(net, load_digits(), masks, epochs=3, batch_size=8, optimizer="sgd", lr=0.02, weight_decay=5e-4, seed=3,
      checkpoint=sys.argv[1], checkpoint_minutes=0, progress=False)
"""


def _same_run(ck):
    "The killed run's call, here, in one thread (the child's thread count: the same bits)"
    net = init_weights(MLP(), 0)
    masks = prune(net, "synflow", 0.05, iterations=5, progress=False)
    res = train(net, load_digits(), masks, epochs=3, batch_size=8, optimizer="sgd", lr=0.02, weight_decay=5e-4, seed=3,
                checkpoint=ck, checkpoint_minutes=0, progress=False)
    return net, res


def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    ck = tmp_path / "run.pt"
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(ck)], env={**os.environ, "OMP_NUM_THREADS": "1"})
    def inside_epoch_2():                                        # the checkpoint is inside the second epoch
        if child.poll() is not None or not ck.exists(): return None
        try: s = torch.load(ck, weights_only=False)
        except Exception: return None                            # not possible with atomic writes, but never block on it
        return (s["epoch"], s["batch"]) if s and s["epoch"] == 1 and s["batch"] >= 20 else None
    try:
        where = wait_until(inside_epoch_2, 120, every=0.05) or None
        assert child.poll() is None, "the run ended before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill(); child.wait()
    assert where is not None, "the checkpoint never reached the middle of epoch 2"
    threads = torch.get_num_threads(); torch.set_num_threads(1)
    try:
        resumed_net, resumed = _same_run(ck)                      # the same call again: continues from the file
        fresh_net, fresh = _same_run(tmp_path / "other.pt")       # never interrupted
    finally: torch.set_num_threads(threads)
    assert resumed.resumed == 1 and fresh.resumed == 0
    assert resumed.history == fresh.history and len(fresh.history) == 3
    a, b = resumed_net.state_dict(), fresh_net.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("amp", [None, "bf16"])
def test_masked_weights_stay_zero_with_momentum_weight_decay_and_amp(tmp_path, amp):
    g = torch.Generator().manual_seed(0)
    write_cifar(tmp_path, "cifar10", torch.randint(0, 256, (128, 3, 32, 32), dtype=torch.uint8, generator=g),
                torch.arange(128) % 10, torch.randint(0, 256, (20, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(20) % 10)
    net = init_weights(ResNet20(width=4), 0)
    masks = prune(net, "magnitude", 0.05, progress=False)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    res = train(net, load_cifar("cifar10", tmp_path), masks, "ntksap-cifar10-resnet20", epochs=2, batch_size=32,
                amp=amp, nesterov=True, progress=False)
    assert res.recipe["amp"] == amp and len(res.history) == 2
    for name, m in masks.items():
        w = net.get_submodule(name.rsplit(".", 1)[0]).weight
        assert (w[~m] == 0).all(), name
        assert (w[m] != 0).all(), name             # every kept weight moved and none was zeroed by accident
        orig = before[name]
        assert not torch.equal(w.detach()[m], orig[m])
    assert Masks.from_model(net) == masks


@pytest.mark.slow
def test_compiled_training_runs_and_learns():
    "Recipe(compile=True): torch.compile of the training forward (20 s of compiling on two CPU cores)"
    res = train(init_weights(MLP(), 0), load_digits(), epochs=2, compile=True, progress=False)
    assert res.test_acc > 0.8 and res.recipe["compile"]
