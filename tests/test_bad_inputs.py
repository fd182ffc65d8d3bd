"""Bad inputs a user makes, each answered by a clear error: the right exception type, and a message that names the
problem and the fix. One row per input; `test_count` keeps the list from shrinking below what issue 11 asks for."""
import contextlib, io, json, os, warnings
import pytest
import torch
from torch import nn
from quick import quick
from ntk_paths import (Masks, MaskMismatchError, apply_masks, resolve_density, topk_masks, prune, ScoreError, empirical_ntk, ntk_trace,
                       ntk_eigvals, kernel_eigvals, path_kernel_trace, path_decomposition, squared_pass, count_paths, train, evaluate,
                       TensorData, load_dataset, load_digits, load_torchvision, balanced_batch, SweepConfig, sweep,
                       load_sweep, compare, MLP, LeNet5, VGG, init_weights)
from ntk_paths.storage import FolderLock, read_jsonl
from ntk_paths.cli import main
from ntk_paths.executors import get_executor

D = load_digits()
X, Y = D.x_train[:20], D.y_train[:20]


def mlp(): return init_weights(MLP(), 0)
def _tied():
    net = nn.Sequential(); net.a, net.b = nn.Linear(4, 4), nn.Linear(4, 4); net.b.weight = net.a.weight
    return init_weights(net, 0)
def bn_net(): return init_weights(VGG(11, batch_norm=True, width=0.125), 0)
def meta_mlp():
    with torch.device("meta"): return MLP()
def nan_mlp():
    m = mlp(); m.fc1.weight.data[0, 0] = float("nan"); return m
class Fn(nn.Module):
    def __init__(self, f): super().__init__(); self.f = f
    def forward(self, x): return self.f(x)
def act(a): return nn.Sequential(nn.Linear(3, 4, bias=False), a, nn.Linear(4, 2, bias=False))
M = Masks({"a": torch.ones(3, 3, dtype=torch.bool)})


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    masks = prune(mlp(), "magnitude", 0.1, progress=False)
    good = masks.save(d / "good.pt")
    p = torch.load(good, weights_only=True); p["masks"]["fc1.weight"]["bits"][3] ^= 4; torch.save(p, d / "flipped.pt")
    p = torch.load(good, weights_only=True); del p["masks"]; torch.save(p, d / "nomasks.pt")
    p = torch.load(good, weights_only=True); del p["sha256"]
    p["masks"]["fc1.weight"]["bits"] = p["masks"]["fc1.weight"]["bits"][:10]; torch.save(p, d / "short.pt")
    (d / "junk.pt").write_bytes(b"not a mask at all")
    (d / "folder.pt").mkdir()
    (d / "cfg.yaml").write_text("dataset: digits")
    (d / "cfg.json").write_text(json.dumps({"dataset": "digits", "epoch": 3}))
    s = d / "sw"; s.mkdir(); (s / "sweep.json").write_text('{"config": {"dataset": "digits",\n "model": mlp}}')
    r = d / "rows"; r.mkdir(); (r / "sweep.json").write_text(json.dumps({"config": {}}))
    (r / "results.jsonl").write_text('{"run_id": "a", "status": "ok"}\n{broken\n{"run_id": "b", "status": "ok"}\n')
    (d / "empty").mkdir(); (d / "busy").mkdir(); (d / "sumdir.json").mkdir()
    (d / "bad.toml").write_text('dataset = "digits"\nseeds = [0, 1\n')
    e = d / "edited"; e.mkdir(); (e / "sweep.json").write_text(json.dumps({"config": {}}))
    (e / "results.jsonl").write_text('{"run_id": "a", "method": "random", "density": 0.1, "seed": 0}\n')
    e2 = d / "edited2"; e2.mkdir()
    (e2 / "sweep.json").write_text(json.dumps({"config": __import__("dataclasses").asdict(
        SweepConfig(methods=["random"], densities=[0.1], seeds=[0], epochs=1)), "command": "", "version": ""}))
    (e2 / "results.jsonl").write_text('{"run_id": "dense|1|0|none", "method": "dense", "density": 1.0, "seed": 0}\n')
    return d


def cli(*args):
    "Run a command as `main` does, but let its exception through, so that each case states the kind of error"
    from ntk_paths.cli import build_parser
    a = build_parser().parse_args(list(args)); a.argv = list(args)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()): rc = a.func(a)
    raise AssertionError(f"no error: exit status {rc}")


def test_the_command_line_turns_every_error_into_exit_2_with_its_message(tmp_path, capsys):
    assert main(["report", str(tmp_path / "none.pt")]) == 2
    assert capsys.readouterr().err.startswith(f"ntk-paths report: error: no such mask file: {tmp_path / 'none.pt'}")


def locked(d):
    with FolderLock(d, "sweep"): sweep(SweepConfig(methods=["random"], densities=[0.1], seeds=[0], epochs=1), d, progress=False)


CASES = [  # (name, call(files), exception type, words the message must contain)
    # densities and masks
    ("density 0", lambda f: resolve_density(0), ValueError, ["density must be in (0, 1]", "fraction of weights kept"]),
    ("two of density/sparsity", lambda f: resolve_density(0.1, sparsity=0.9), ValueError, ["exactly one of"]),
    ("compression below 1", lambda f: resolve_density(compression=0.5), ValueError, ["compression must be a finite number >= 1"]),
    ("density not a number", lambda f: resolve_density("a lot"), TypeError, ["density must be a number"]),
    ("empty Masks", lambda f: Masks({}), ValueError, ["at least one tensor"]),
    ("mask with a 2", lambda f: Masks({"a": torch.tensor([0, 2])}), ValueError, ["values other than 0 and 1"]),
    ("missing mask file", lambda f: Masks.load(f / "nothing.pt"), FileNotFoundError, ["no such mask file"]),
    ("mask path is a folder", lambda f: Masks.load(f / "folder.pt"), FileNotFoundError, ["it is a folder"]),
    ("summary instead of mask", lambda f: Masks.load(f / "good.json"), ValueError, ["is the JSON summary", "good.pt"]),
    ("junk mask file", lambda f: Masks.load(f / "junk.pt"), ValueError, ["is not a mask file written by Masks.save"]),
    ("flipped bit", lambda f: Masks.load(f / "flipped.pt"), ValueError, ["does not match its checksum", "prune again"]),
    ("mask file without masks", lambda f: Masks.load(f / "nomasks.pt"), ValueError, ["is damaged", "save the masks again"]),
    ("mask bits cut short", lambda f: warnings.catch_warnings() and Masks.load(f / "short.pt"), ValueError, ["do not cover its shape"]),
    ("mask saved as .json", lambda f: M.save(f / "m.json"), ValueError, ["another suffix than .json"]),
    ("meta not JSON", lambda f: Masks(M, {"x": object()}).save(f / "m.pt"), ValueError, ["plain JSON data"]),
    ("masks of another model", lambda f: Masks.load(f / "good.pt", init_weights(MLP((64, 32, 10)), 0)), MaskMismatchError,
     ["shape mismatch", "another architecture"]),
    ("NaN scores to top-k", lambda f: topk_masks({"a": torch.tensor([1., float("nan")])}, 0.5), ValueError, ["NaN or inf"]),
    ("min_density with layer_density", lambda f: prune(mlp(), "random", 0.1, layer_density="erk", min_density=0.05, progress=False),
     ValueError, ["min_density does not go with layer_density", "drop one"]),
    ("top-k scope typo", lambda f: topk_masks({"a": torch.ones(4)}, 0.5, scope="layers"), ValueError, ["scope must be"]),
    ("density keeping nothing", lambda f: topk_masks({"a": torch.ones(4)}, 0.01), ValueError, ["keeps 0 of 4", "at least 0.25"]),
    # prune
    ("unknown method", lambda f: prune(mlp(), "synfow", 0.1), ValueError, ["unknown method 'synfow'", "synflow"]),
    ("misspelt option", lambda f: prune(mlp(), "grasp", 0.1, data=D, temprature=5), TypeError, ["did you mean 'temperature'?"]),
    ("option of another method", lambda f: prune(mlp(), "synflow", 0.1, rounds=3), TypeError, ["does not take 'rounds'"]),
    ("iterations 0", lambda f: prune(mlp(), "synflow", 0.1, iterations=0), ValueError, ["iterations must be an integer >= 1"]),
    ("schedule typo", lambda f: prune(mlp(), "synflow", 0.1, schedule="cosine"), ValueError, ["unknown schedule", "exponential"]),
    ("sanity typo", lambda f: prune(mlp(), "synflow", 0.1, sanity="shuffled"), ValueError, ["unknown sanity check", "shuffle"]),
    ("snip without data", lambda f: prune(mlp(), "snip", 0.1), ValueError, ["needs a labelled batch", "data=TensorData"]),
    ("snip with inputs only", lambda f: prune(mlp(), "snip", 0.1, data=X), ValueError, ["snip needs labels", "data=(x, y)"]),
    ("empty pruning batch", lambda f: prune(mlp(), "snip", 0.1, data=(X[:0], Y[:0])), ValueError, ["empty batch", "at least one"]),
    ("x and y lengths", lambda f: prune(mlp(), "snip", 0.1, data=(X, Y[:5])), ValueError, ["20 inputs but 5 labels"]),
    ("float labels", lambda f: prune(mlp(), "snip", 0.1, data=(X, Y.float())), TypeError, ["integer class indices", "y.long()"]),
    ("NaN weights", lambda f: prune(nan_mlp(), "synflow", 0.1), ValueError, ["'fc1.weight' holds 1 NaN or inf", "torch.nan_to_num"]),
    ("NaN pruning inputs", lambda f: prune(mlp(), "snip", 0.1, data=(X * float("nan"), Y)), ValueError, ["NaN or inf", "nan_to_num"]),
    ("meta model", lambda f: prune(meta_mlp(), "synflow", 0.1), ValueError, ["meta device", "to_empty"]),
    ("data of the wrong shape", lambda f: prune(mlp(), "snip", 0.1, data=(X[..., :4], Y)), ValueError,
     ["do not fit MLP", "it expects inputs of shape (64,)"]),
    ("half model, float data", lambda f: prune(mlp().half(), "snip", 0.1, data=(X, Y)), TypeError, ["torch.float16 but", "convert"]),
    ("start masks of another model", lambda f: prune(mlp(), "synflow", 0.1, masks=M), MaskMismatchError, ["do not fit"]),
    ("no prunable layer", lambda f: prune(nn.Sequential(nn.BatchNorm1d(3)), "random", 0.1), ValueError, ["no prunable layer"]),
    ("min_density above density", lambda f: prune(mlp(), "random", 0.01, scope="layer", min_density=0.1), ValueError, ["min_density=0.1 exceeds density=0.01 in layer scope", "scope='global'"]),
    ("all-zero weights", lambda f: prune(nn.Sequential(nn.Linear(3, 3, bias=False)).apply(lambda m: nn.init.zeros_(m.weight)
                                       if isinstance(m, nn.Linear) else None), "synflow", 0.5, input_shape=(3,), progress=False),
     ScoreError, ["every score is zero", "'0.weight' is all zero", "Re-initialise it"]),
    # the NTK
    ("negative chunk", lambda f: empirical_ntk(mlp(), X, chunk=-1), ValueError, ["chunk must be an integer >= 1"]),
    ("zero chunk", lambda f: empirical_ntk(mlp(), X, chunk=0), ValueError, ["chunk must be an integer >= 1"]),
    ("fractional chunk", lambda f: empirical_ntk(mlp(), X, chunk=2.5), ValueError, ["chunk must be an integer >= 1 or None, got 2.5"]),
    ("negative memory", lambda f: empirical_ntk(mlp(), X, max_memory=-1), ValueError, ["positive number of bytes"]),
    ("memory words", lambda f: empirical_ntk(mlp(), X, max_memory="lots"), ValueError, ["like '8GB'"]),
    ("kernel mode typo", lambda f: empirical_ntk(mlp(), X, mode="frobenius"), ValueError, ["mode must be one of"]),
    ("implementation typo", lambda f: empirical_ntk(mlp(), X, implementation="fast"), ValueError, ["implementation must be 'auto' or one of"]),
    ("empty NTK batch", lambda f: empirical_ntk(mlp(), X[:0]), ValueError, ["x1 is an empty batch"]),
    ("NaN NTK inputs", lambda f: empirical_ntk(mlp(), X * float("nan")), ValueError, ["the inputs x1 holds"]),
    ("NTK inputs of the wrong shape", lambda f: empirical_ntk(mlp(), X[..., :4]), ValueError, ["do not fit MLP"]),
    ("images too small for VGG", lambda f: empirical_ntk(bn_net().eval(), torch.randn(2, 3, 16, 16)), ValueError,
     ["inputs must be at least 32×32"]),
    ("x2 of another shape", lambda f: empirical_ntk(mlp(), X, X[..., :4]), ValueError, ["different shapes"]),
    ("BatchNorm in train mode", lambda f: empirical_ntk(bn_net(), torch.randn(2, 3, 32, 32)), ValueError,
     ["train mode", "model.eval()"]),
    ("NTK of a NaN model", lambda f: empirical_ntk(nan_mlp(), X), ValueError, ["'fc1.weight' holds"]),
    ("Hutch++ with 2 probes", lambda f: ntk_trace(mlp(), X, estimator="hutch++", probes=2), ValueError, ["probes must be an integer >= 3"]),
    ("trace chunk 0", lambda f: ntk_trace(mlp(), X, chunk=0), ValueError, ["chunk must be an integer >= 1"]),
    ("trace estimator typo", lambda f: ntk_trace(mlp(), X, estimator="hutchison"), ValueError, ["estimator must be one of"]),
    ("trace with the removed method=", lambda f: ntk_trace(mlp(), X, method="hutchinson"), TypeError, ["no longer takes method=", "estimator="]),
    ("eigvals with the removed method=", lambda f: ntk_eigvals(mlp(), X, method="lanczos"), TypeError, ["no longer takes method=", "solver="]),
    ("include as a number", lambda f: prune(mlp(), "magnitude", 0.1, include=5), TypeError, ["include takes regular expressions", "got 5"]),
    ("dpai with no steps", lambda f: prune(mlp(), "dpai", 0.1, steps=0), ValueError, ["steps must be an integer >= 1"]),
    ("dpai beta above 1", lambda f: prune(mlp(), "dpai", 0.1, beta=1.5), ValueError, ["beta weighs the balance terms", "[0, 1]"]),
    ("eigenvalues of a non-square kernel", lambda f: kernel_eigvals(torch.zeros(3, 4)), ValueError, ["square kernel"]),
    # paths
    ("Softsign in the path kernel", lambda f: path_kernel_trace(act(nn.Softsign())), NotImplementedError, ["softsign", "Replace it"]),
    ("torch.sin in the path kernel", lambda f: path_kernel_trace(act(Fn(torch.sin))), NotImplementedError, ["sin is not among"]),
    ("x*x in the path kernel", lambda f: path_kernel_trace(act(Fn(lambda x: x * x))), NotImplementedError, ["mul multiplies"]),
    ("constant shift in the path kernel", lambda f: path_kernel_trace(act(Fn(lambda x: x + 1))), NotImplementedError, ["adds something"]),
    ("tanh in squared_pass", lambda f: squared_pass(act(nn.Tanh())), NotImplementedError, ["tanh is not piecewise linear"]),
    ("too many paths", lambda f: path_decomposition(nn.Sequential(nn.Conv2d(3, 16, 3, bias=False), nn.ReLU(), nn.Flatten(),
                                                   nn.Linear(16 * 30 * 30, 10, bias=False)), torch.randn(1, 3, 32, 32)),
     ValueError, ["more than max_paths", "path_kernel_trace"]),
    ("paths with biases", lambda f: path_decomposition(nn.Sequential(nn.Linear(3, 2)), torch.randn(1, 3)), ValueError, ["bias-free"]),
    ("paths of a non-Sequential", lambda f: count_paths(Fn(torch.relu), (3,)), ValueError, ["needs an nn.Sequential"]),
    # training and data
    ("batch size 0", lambda f: train(mlp(), D, batch_size=0), ValueError, ["batch_size must be an integer >= 1"]),
    ("zero epochs", lambda f: train(mlp(), D, epochs=0), ValueError, ["epochs must be an integer >= 1"]),
    ("optimizer typo", lambda f: train(mlp(), D, optimizer="adan"), ValueError, ["optimizer must be one of sgd, adam, adamw; got 'adan'"]),
    ("too few outputs", lambda f: train(init_weights(MLP((64, 32, 5)), 0), D), ValueError, ["10 classes but the model returns"]),
    ("images too small for LeNet-5", lambda f: train(init_weights(LeNet5(1, 10, 28), 0), D), ValueError, ["at least 28×28"]),
    ("half model in training", lambda f: train(mlp().half(), D), TypeError, ["torch.float16 but data.x_train is torch.float32"]),
    ("tuple instead of TensorData", lambda f: train(mlp(), (D.x_train, D.y_train)), TypeError, ["data must be a TensorData"]),
    ("meta model in training", lambda f: train(meta_mlp(), D), ValueError, ["meta device"]),
    ("evaluate with short labels", lambda f: evaluate(mlp(), X, Y[:3]), ValueError, ["20 inputs but 3 labels"]),
    ("TensorData lengths", lambda f: TensorData("d", X, Y[:3], X, Y, 10), ValueError, ["20 inputs but 3 labels in y_train"]),
    ("TensorData label 10 of 10 classes", lambda f: TensorData("d", X, Y * 0 + 10, X, Y, 10), ValueError, ["outside 0 … 9"]),
    ("TensorData float labels", lambda f: TensorData("d", X, Y.float(), X, Y, 10), TypeError, ["y_train.long()"]),
    ("unknown dataset", lambda f: load_dataset("cifar11"), ValueError, ["unknown dataset", "cifar10"]),
    ("torchvision files missing", lambda f: load_torchvision("cifar10", f / "nodata"), FileNotFoundError,
     ["torchvision's layout", "download=True"]),
    ("per_class too large", lambda f: balanced_batch(X, Y, 50), ValueError, ["fewer than per_class=50"]),
    # sweeps
    ("sweep method typo", lambda f: SweepConfig(methods=["snipp"]).validate(), ValueError, ["unknown method 'snipp'"]),
    ("sweep density 2", lambda f: SweepConfig(densities=[2]).validate(), ValueError, ["density 2 is not in (0, 1]"]),
    ("config in YAML", lambda f: SweepConfig.from_file(f / "cfg.yaml"), ValueError, [".toml or .json"]),
    ("config key typo", lambda f: SweepConfig.from_file(f / "cfg.json"), ValueError, ["unknown keys ['epoch']", "epochs"]),
    ("damaged sweep.json", lambda f: load_sweep(f / "sw"), ValueError, ["sweep.json is damaged (line 2", "--overwrite to set the finished runs"]),
    ("damaged results line", lambda f: load_sweep(f / "rows"), ValueError, ["results.jsonl, line 2", "delete or fix that line"]),
    ("plot an empty folder", lambda f: load_sweep(f / "empty"), FileNotFoundError, ["holds no sweep", "--out"]),
    ("second sweep in a busy folder", lambda f: locked(f / "busy"), RuntimeError, ["in use by another sweep: process"]),
    ("compare method typo", lambda f: compare(methods=["synflow", "grasp2"]), ValueError, ["unknown method 'grasp2'"]),
    # widgets
    ("explorer density 2", lambda f: __import__("ntk_paths").MaskExplorer("mlp", "magnitude", 2.0, input_shape=(1, 8, 8)),
     ValueError, ["outside the slider's range"]),
    ("explorer method needing data", lambda f: __import__("ntk_paths").MaskExplorer("mlp", "snip", input_shape=(1, 8, 8)),
     ValueError, ["pass data="]),
    ("explorer on an absent device", lambda f: __import__("ntk_paths").MaskExplorer("mlp", "magnitude", input_shape=(1, 8, 8),
                                                                                   device="tpu"), ValueError, ["device 'tpu' is not available here; choose one of: cpu"]),
    # the command line
    ("CLI prune method typo", lambda f: cli("prune", "--method", "synflo", "--quiet"), ValueError, ["did you mean 'synflow'?"]),
    ("CLI report missing file", lambda f: cli("report", str(f / "none.pt")), FileNotFoundError, ["no such mask file"]),
    ("CLI report damaged file", lambda f: cli("report", str(f / "flipped.pt")), ValueError, ["does not match its checksum"]),
    ("CLI compare density 2", lambda f: cli("compare", "--densities", "2", "--quiet"), ValueError, ["density must be in (0, 1]"]),
    ("CLI sweep method typo", lambda f: cli("sweep", "--methods", "foo", "--out", str(f / "s2"), "--quiet"), ValueError,
     ["unknown method 'foo'"]),
    ("sweep layer density typo", lambda f: SweepConfig(layer_density="ERK").validate(), ValueError, ["layer_density must be one of"]),
    ("prune layer density typo", lambda f: prune(mlp(), "random", 0.1, layer_density="erdos"), ValueError, ["layer_density must be one of"]),
    ("uniform+ below its dense layers", lambda f: prune(mlp(), "random", 0.01, layer_density="uniform+"), ValueError, ["use a higher density or another rule"]),
    ("count typo", lambda f: prune(mlp(), "synflow", 0.1, iterations=2, count="paper"), ValueError, ["count must be one of"]),
    ("CLI executor typo", lambda f: cli("sweep", "--executor", "rey", "--out", str(f / "s3"), "--quiet"), ValueError,
     ["unknown executor 'rey' (did you mean 'ray'?)"]),
    ("CLI workers with the local executor", lambda f: cli("sweep", "--workers", "2", "--out", str(f / "s4"), "--quiet"), ValueError,
     ["--workers does not go with --executor local"]),
    ("CLI address with processes", lambda f: cli("compare", "--executor", "processes", "--address", "auto", "--quiet"), ValueError,
     ["--address does not go with --executor processes; it takes --workers"]),
    ("processes executor with 0 workers", lambda f: get_executor("processes", workers=0), ValueError, ["workers must be an integer >= 1"]),
    ("executor option typo", lambda f: get_executor("processes", worker=2), TypeError, ["did you mean 'workers'?"]),
    # issue 26: unclear answers made clear
    ("labels of -100", lambda f: prune(mlp(), "snip", 0.1, data=(X, torch.full_like(Y, -100))), ValueError,
     ["label -100 (cross-entropy's ignore_index, 20 of them)", "drop those examples"]),
    ("labels past the outputs, bare (x, y)", lambda f: prune(mlp(), "snip", 0.1, data=(X, Y + 10)), ValueError,
     ["the pruning labels holds labels from 10 to 19, outside 0 … 9 (10 classes)"]),
    ("GraSP temperature 0", lambda f: prune(mlp(), "grasp", 0.1, data=(X, Y), temperature=0), ValueError,
     ["temperature divides the logits and must be a finite number > 0"]),
    ("ProsPr lr NaN", lambda f: prune(mlp(), "prospr", 0.1, data=(X, Y), lr=float("nan")), ValueError,
     ["ProsPr's lr must be a finite number in [0, 10], got nan"]),
    ("ProsPr lr 1e6", lambda f: prune(mlp(), "prospr", 0.1, data=(X, Y), lr=1e6), ValueError, ["got 1000000.0", "diverge"]),
    ("weight_norm layer", lambda f: prune(nn.Sequential(nn.utils.parametrizations.weight_norm(nn.Linear(4, 3))), "magnitude", 0.5),
     ValueError, ["0 (ParametrizedLinear) has a reparametrised weight (weight_norm", "remove_parametrizations"]),
    ("old-style weight_norm layer", lambda f: prune(nn.Sequential(nn.utils.weight_norm(nn.Linear(4, 3))), "magnitude", 0.5),
     ValueError, ["has a reparametrised weight", "remove_weight_norm"]),
    ("malformed TOML", lambda f: SweepConfig.from_file(f / "bad.toml"), ValueError, ["bad.toml is not valid TOML"]),
    ("summary path is a folder", lambda f: prune(mlp(), "magnitude", 0.1).save(f / "sumdir.pt"), IsADirectoryError,
     ["sumdir.json is a folder", "choose another name"]),
    ("hand-edited results row", lambda f: load_sweep(f / "edited"), ValueError, ["row 1: status missing", "edited by hand"]),
    ("resume past a hand-edited row", lambda f: sweep(SweepConfig(methods=["random"], densities=[0.1], seeds=[0], epochs=1),
                                                      f / "edited2", progress=False), ValueError, ["row 1: status missing"]),
    ("sweep without densities", lambda f: SweepConfig(densities=[]).validate(), ValueError, ["densities is empty"]),
    ("sweep without methods", lambda f: SweepConfig(methods=[]).validate(), ValueError, ["methods is empty"]),
    ("a tied weight's second name", lambda f: apply_masks(_tied(), Masks({"b.weight": torch.ones(4, 4, dtype=torch.bool)})),
     MaskMismatchError, ["no such prunable weight: b.weight", "tied weights have one mask, under their first name: b.weight is a.weight"]),
    ("CLI data method without files", lambda f: cli("prune", "--dataset", "cifar10", "--model", "vgg11", "--method", "snip",
                                                    "--data", str(f / "empty"), "--quiet"), FileNotFoundError, ["CIFAR10 not found", "--download"]),
    ("CLI shape with a data method", lambda f: cli("prune", "--method", "snip", "--input-shape", "3,8,8", "--quiet"), ValueError,
     ["drop --input-shape"]),
]


def _tree(d) -> set:
    return {str(p.relative_to(d)) for p in d.rglob("*") if not p.name.startswith(".lock")}


def test_count():
    assert len(CASES) >= 128 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("name,call,exc,words", CASES, ids=[c[0] for c in CASES])
def test_bad_input(name, call, exc, words, files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                                     # a command that writes into ./results shows up here
    before = _tree(files)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc) as e: call(files)
    assert type(e.value) is exc or exc is Exception, f"{name}: {type(e.value).__name__}, not {exc.__name__}"
    assert _tree(files) == before and not list(tmp_path.iterdir()), f"{name}: a refused input left files behind"
    msg = str(e.value)
    for w in words: assert w in msg, f"{name}: {w!r} not in {msg!r}"
    assert "Traceback" not in msg


# ---- issue 26: silent wrong results of the newer surface, each failing before its fix ----
import math as _math, os as _os, threading as _threading
import torch.nn.utils.prune as _tp
from ntk_paths import SweepConfig, sweep, ntk_eigvals, path_kernel_trace, Masks as _Masks, SCORES as _SCORES, load_digits as _digits
from ntk_paths.survival import Ranked, survival_scores


def test_a_folder_without_sweep_json_is_not_adopted(tmp_path):
    cfg = SweepConfig(methods=["random"], densities=[0.1], seeds=[0], epochs=1)
    sweep(cfg, tmp_path / "s", progress=False)
    (tmp_path / "s" / "sweep.json").unlink()
    with pytest.raises(ValueError, match=r"holds 2 finished runs in results.jsonl but no sweep.json"):
        sweep(SweepConfig(methods=["random"], densities=[0.1], seeds=[0], epochs=7), tmp_path / "s", progress=False)
    assert not (tmp_path / "s" / "sweep.json").exists()                      # nothing claims 7 epochs


def test_method_typos_in_iterations_are_refused():
    with pytest.raises(ValueError, match=r"iterations names an unknown method 'synflw' \(did you mean 'synflow'\?\)"):
        SweepConfig(iterations={"synflw": 2}).validate()
    with pytest.raises(ValueError, match=r"iterations\['synflow'\] must be an integer >= 1"):
        SweepConfig(iterations={"synflow": 0}).validate()


def test_training_settings_are_checked_before_the_first_run(tmp_path):
    for bad, words in [(dict(epochs=0), "epochs must be an integer >= 1"), (dict(lr=-1.0), "lr must be a number > 0"),
                       (dict(batch_size=0), "batch_size must be an integer >= 1"), (dict(optimizer="sgdd"), "optimizer must be one of"),
                       (dict(device="cuda:7" if not torch.cuda.is_available() else "nope"), "device")]:
        with pytest.raises(ValueError, match=words):
            sweep(SweepConfig(methods=["random"], densities=[0.1], seeds=[0], **bad), tmp_path / "t", progress=False)
        assert not (tmp_path / "t").exists()                                  # refused before anything was written


def test_ntk_eigvals_refuses_k_below_one():
    th = torch.eye(4)
    for k in (-1, 0):
        with pytest.raises(ValueError, match="k must be an integer >= 1"): kernel_eigvals(th, k=k)
    assert len(kernel_eigvals(th, k=4)) == 4


def test_path_kernel_trace_of_nan_weights_is_an_error():
    net = init_weights(MLP((4, 8, 2)), 0)
    with torch.no_grad(): net.fc1.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"): path_kernel_trace(net)


def test_concurrent_saves_to_one_path_leave_a_matching_pair(tmp_path):
    import json as _json
    masks = [_Masks({"w": torch.rand(64, 64, generator=torch.Generator().manual_seed(i)) < (i + 1) / 10}) for i in range(8)]
    for _ in range(3):
        ts = [_threading.Thread(target=m.save, args=(tmp_path / "m.pt",)) for m in masks]
        for t in ts: t.start()
        for t in ts: t.join()
        assert _Masks.load(tmp_path / "m.pt").kept == _json.loads((tmp_path / "m.json").read_text())["kept"]


def test_files_take_the_umask_mode(tmp_path):
    old = _os.umask(0o022)
    try:
        _Masks({"w": torch.ones(3, 3, dtype=torch.bool)}).save(tmp_path / "m.pt")
        sweep(SweepConfig(methods=["random"], densities=[0.5], seeds=[0], epochs=1), tmp_path / "s", progress=False)
    finally: _os.umask(old)
    for f in (tmp_path / "m.pt", tmp_path / "m.json", tmp_path / "s" / "sweep.json"):
        assert f.stat().st_mode & 0o777 == 0o644, f


def test_the_explorer_slider_end_is_inside_the_floor():
    net = init_weights(MLP((20, 30, 10)), 0)
    floor = 0.0022
    r = Ranked(survival_scores(net, "synflow", floor, iterations=3, progress=False), floor, {})
    d = 10 ** _math.log10(floor)                                                # 0.0021999…: the slider's leftmost value
    assert d < floor and r.masks(d).kept == _math.floor(floor * r.total + 0.5)


@pytest.mark.parametrize("method", list(_SCORES))
def test_every_method_starts_from_a_torch_prune_mask(method):
    data = _digits()
    net = init_weights(MLP(), 0)
    _tp.random_unstructured(net.fc1, "weight", 0.5)
    held = net.fc1.weight_mask.bool().clone()
    m = prune(net, method, 0.1, data=data if _SCORES[method].data != "none" else None,
              iterations=None if _SCORES[method].iterations == 1 else 2, progress=False, **quick(method))
    assert int((m["fc1.weight"] & ~held).sum()) == 0, "kept weights that torch.nn.utils.prune had removed"
    assert m.kept == round(0.1 * m.total)


def test_a_sweep_that_failed_on_missing_data_does_not_hold_its_folder(tmp_path, monkeypatch):
    "A cifar10 sweep without the files wrote sweep.json, and the corrected command was then refused as another sweep"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="CIFAR10 not found"):
        sweep(SweepConfig(dataset="cifar10", model="vgg11", methods=["random"], densities=[0.1], seeds=[0]), tmp_path / "s",
              progress=False)
    assert not (tmp_path / "s" / "sweep.json").exists()
    sweep(SweepConfig(methods=["random"], densities=[0.1], seeds=[0], epochs=1), tmp_path / "s", progress=False)


def test_explicit_start_masks_stay_within_a_torch_prune_mask():
    net = init_weights(MLP(), 0)
    _tp.random_unstructured(net.fc1, "weight", 0.5)
    m = prune(net, "magnitude", 0.1, masks=_Masks.ones(net), progress=False)
    assert int((m["fc1.weight"] & ~net.fc1.weight_mask.bool()).sum()) == 0
