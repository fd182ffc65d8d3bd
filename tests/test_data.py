"Offline datasets, and the torchvision loaders tested on tiny files written in torchvision's layout."
import pickle, struct
from unittest import mock
import numpy as np
import pytest, torch
from ntk_paths import load_torchvision, load_digits, load_mnist1d, balanced_batch, load_dataset


def write_idx(path, arr):
    arr = np.asarray(arr, dtype=np.uint8)
    with open(path, "wb") as f:
        f.write(struct.pack(">I", 0x0800 | arr.ndim))
        f.write(struct.pack(">" + "I" * arr.ndim, *arr.shape))
        f.write(arr.tobytes())


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_mnist_layout(tmp_path, name, folder):
    pytest.importorskip("torchvision")
    raw = tmp_path / folder / "raw"; raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    xtr, xte = rng.integers(0, 256, (20, 28, 28)), rng.integers(0, 256, (10, 28, 28))
    ytr, yte = np.arange(20) % 10, np.arange(10) % 10
    for f, a in [("train-images-idx3-ubyte", xtr), ("train-labels-idx1-ubyte", ytr),
                 ("t10k-images-idx3-ubyte", xte), ("t10k-labels-idx1-ubyte", yte)]:
        write_idx(raw / f, a)
    d = load_torchvision(name, tmp_path)
    assert d.input_shape == (1, 28, 28) and len(d.x_train) == 20 and len(d.x_test) == 10 and d.num_classes == 10
    mean, std = d.norm
    torch.testing.assert_close(d.x_train * std[0] + mean[0], torch.tensor(xtr, dtype=torch.float32).unsqueeze(1) / 255)
    assert d.y_test.tolist() == yte.tolist()


@pytest.mark.parametrize("name,folder,key,k", [("cifar10", "cifar-10-batches-py", "labels", 10),
                                                ("cifar100", "cifar-100-python", "fine_labels", 100)])
def test_cifar_layout(tmp_path, name, folder, key, k):
    pytest.importorskip("torchvision")
    base = tmp_path / folder; base.mkdir()
    rng = np.random.default_rng(1)
    def batch(n): return {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), key: list(rng.integers(0, k, n))}
    if name == "cifar10":
        files = {f"data_batch_{i}": batch(4) for i in range(1, 6)} | {"test_batch": batch(6)}
        meta = ("batches.meta", {"label_names": [f"c{i}" for i in range(10)]})
    else:
        files = {"train": batch(8), "test": batch(6)}
        meta = ("meta", {"fine_label_names": [f"c{i}" for i in range(100)]})
    for f, d in [*files.items(), meta]:
        with open(base / f, "wb") as fh: pickle.dump(d, fh)
    with mock.patch("torchvision.datasets.cifar.check_integrity", return_value=True):   # real files are md5-checked
        d = load_torchvision(name, tmp_path)
    n_train = 20 if name == "cifar10" else 8
    assert d.input_shape == (3, 32, 32) and len(d.x_train) == n_train and len(d.x_test) == 6 and d.num_classes == k
    first = files["data_batch_1" if name == "cifar10" else "train"]["data"][0].reshape(3, 32, 32)
    mean, std = torch.tensor(d.norm[0]).view(3, 1, 1), torch.tensor(d.norm[1]).view(3, 1, 1)
    torch.testing.assert_close(d.x_train[0] * std + mean, torch.tensor(first, dtype=torch.float32) / 255)


def test_missing_files_say_what_to_do(tmp_path):
    pytest.importorskip("torchvision")
    with pytest.raises(FileNotFoundError, match="download=True"): load_torchvision("mnist", tmp_path)


def test_offline_datasets_and_balanced_batches():
    d = load_digits()
    x, y = balanced_batch(d.x_train, d.y_train, 7, 3)
    assert torch.bincount(y).tolist() == [7] * 10
    m = load_mnist1d()
    assert m.input_shape == (1, 40) and len(m.x_test) == 1000
    assert load_dataset("mnist1d") is m   # cached
