"""Issue 25: models nobody here wrote. Every method on each model either returns an exact-count mask with the model
untouched and every empty layer warned about, or refuses with a clear error raised by ntk_paths (ScoreError,
NotImplementedError, ValueError naming the cause); never a raw torch error, never a silent result.

The default run takes every family on small inputs (3×32×32): 13 torchvision families (the heavy ones as small
configurations of torchvision's own classes), 5 timm models, an LSTM, a GRU and a tied-embedding language model
(about 40 s). `pytest -m slow` runs the full models at their real input sizes and writes docs/zoo.md (model × method:
✓, or the refusal and why; collapsed layers and coverage)."""
import time, traceback, warnings
from pathlib import Path
import pytest, torch
from torch import nn
import torchvision.models as tvm
from torchvision.models.convnext import CNBlockConfig
from torchvision.models.efficientnet import MBConvConfig
from torchvision.models.regnet import BlockParams
from quick import quick
from ntk_paths import prune, SCORES, ScoreError
from ntk_paths.prunable import uncovered, prunable
from test_any_model import TiedLM           # token embedding, a hidden layer, the output layer tied to the embedding

timm = pytest.importorskip("timm", reason="timm is in the dev extra: pip install -e '.[dev]'")
from timm.models.mlp_mixer import MlpMixer
from timm.models.convmixer import ConvMixer

CLEAR = (ScoreError, NotImplementedError, ValueError)


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__(); self.rnn, self.fc = nn.LSTM(32, 24, batch_first=True), nn.Linear(24, 10)
    def forward(self, x): return self.fc(self.rnn(x.squeeze(1))[0][:, -1])          # (N, 1, T, F): T steps of F


class GRUNet(LSTMNet):
    def __init__(self):
        super().__init__(); self.rnn = nn.GRU(32, 24, batch_first=True)


S = (3, 32, 32)
ZOO = {  # the default run: name -> (build, one input's shape or "tokens"); small configurations of the heavy families
    "resnet18": (lambda: tvm.resnet18(num_classes=10), S),
    "mobilenet_v2 (×0.25)": (lambda: tvm.mobilenet_v2(num_classes=10, width_mult=0.25), S),
    "mobilenet_v3_small": (lambda: tvm.mobilenet_v3_small(num_classes=10), S),
    "shufflenet_v2_x0_5": (lambda: tvm.shufflenet_v2_x0_5(num_classes=10), S),
    "squeezenet1_1": (lambda: tvm.squeezenet1_1(num_classes=10), S),
    "mnasnet0_5": (lambda: tvm.mnasnet0_5(num_classes=10), S),
    "googlenet": (lambda: tvm.googlenet(num_classes=10, aux_logits=False, init_weights=True), S),
    "DenseNet (small)": (lambda: tvm.DenseNet(growth_rate=8, block_config=(2, 2), num_init_features=16, num_classes=10), S),
    "RegNet (small)": (lambda: tvm.RegNet(BlockParams.from_init_params(depth=4, w_0=16, w_a=8.0, w_m=2.0, group_width=8),
                                          num_classes=10), S),
    "EfficientNet (small)": (lambda: tvm.EfficientNet([MBConvConfig(1, 3, 1, 16, 8, 1), MBConvConfig(4, 3, 2, 8, 16, 2)], 0.2,
                                                      num_classes=10, last_channel=64), S),
    "ConvNeXt (small)": (lambda: tvm.ConvNeXt([CNBlockConfig(16, 32, 1), CNBlockConfig(32, None, 1)], num_classes=10), S),
    "SwinTransformer (small)": (lambda: tvm.SwinTransformer([4, 4], 16, [1, 1], [2, 2], [2, 2], num_classes=10), S),
    "VisionTransformer (small)": (lambda: tvm.VisionTransformer(32, 8, 2, 2, 32, 64, num_classes=10), S),
    "timm resnet18": (lambda: timm.create_model("resnet18", num_classes=10), S),
    "timm mobilenetv3_small_050": (lambda: timm.create_model("mobilenetv3_small_050", num_classes=10), S),
    "timm deit_tiny (2 blocks)": (lambda: timm.create_model("deit_tiny_patch16_224", num_classes=10, img_size=32, patch_size=8,
                                                            depth=2), S),
    "timm MlpMixer (small)": (lambda: MlpMixer(num_classes=10, img_size=32, patch_size=8, num_blocks=2, embed_dim=64), S),
    "timm ConvMixer (small)": (lambda: ConvMixer(dim=32, depth=2, kernel_size=3, patch_size=4, num_classes=10), S),
    "lstm": (LSTMNet, (1, 8, 32)),
    "gru": (GRUNet, (1, 8, 32)),
    "tied_lm": (lambda: TiedLM(vocab=10, d=16), "tokens"),
}
R = (3, 224, 224)
REAL = {  # behind slow: the models as their authors build them, at their real input sizes
    **{n: (lambda n=n: getattr(tvm, n)(num_classes=10), R) for n in (
        "resnet18", "resnet50", "vgg11_bn", "densenet121", "regnet_x_400mf", "squeezenet1_0", "mobilenet_v2",
        "mobilenet_v3_large", "shufflenet_v2_x1_0", "mnasnet1_0", "efficientnet_b0", "convnext_tiny", "swin_t", "vit_b_16")},
    "googlenet": (lambda: tvm.googlenet(num_classes=10, aux_logits=False, init_weights=True), R),
    "inception_v3": (lambda: tvm.inception_v3(num_classes=10, aux_logits=False, init_weights=True), (3, 299, 299)),
    **{f"timm {n}": (lambda n=n: timm.create_model(n, num_classes=10), R) for n in (
        "resnet18", "mobilenetv3_large_100", "deit_tiny_patch16_224", "mixer_s16_224", "convmixer_768_32")},
    "lstm": (LSTMNet, (1, 8, 32)), "gru": (GRUNet, (1, 8, 32)), "tied_lm": (lambda: TiedLM(vocab=10, d=16), "tokens"),
}


def attempt(name, method, zoo=ZOO, n=10):
    "('ok', note) or ('refused', reason); fails the test on a raw error, a wrong count, a silent empty layer or a touched model"
    build, shape = zoo[name]
    torch.manual_seed(0)
    net = build().eval()
    g = torch.Generator().manual_seed(0)
    if shape == "tokens": x = torch.randint(0, 10, (n, 6), generator=g)
    else: x = torch.randn(n, *shape, generator=g); net.input_shape = shape
    before = {k: v.clone() for k, v in net.state_dict().items()}
    kw = quick(method)
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m = prune(net, method, 0.05, data=(x, torch.arange(n)) if SCORES[method].data != "none" else None,
                      iterations=None if SCORES[method].iterations == 1 else 2, progress=False, **kw)
    except CLEAR as e:
        msg = " ".join(str(e).split())
        where = traceback.extract_tb(e.__traceback__)[-1].filename       # raised by ntk_paths, not passed on from torch
        assert "ntk_paths" in where and len(msg) > 30, f"{name}/{method}: raw {type(e).__name__} from {where}: {msg}"
        return "refused", f"{type(e).__name__}: {msg[:140]}"
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), f"{name}/{method} changed the model"
    assert m.kept == round(0.05 * m.total), f"{name}/{method}: {m.kept} kept of {m.total}"
    assert not m.collapsed or any(c.category.__name__ == "CollapseWarning" for c in w), f"{name}/{method}: silent empty layers"
    notes = sorted({c.category.__name__.replace("Warning", "") for c in w if c.category.__name__ in
                    ("ZeroScoreWarning", "CollapseWarning", "UncoveredWarning")})
    parts = ([f"{len(m.collapsed)} empty"] if m.collapsed else []) + [n for n in notes if n != "Collapse"]
    return "ok", ", ".join(parts)


@pytest.mark.parametrize("name", list(ZOO))
def test_small_zoo(name):
    for method in SCORES: attempt(name, method)


CACHE = Path(__file__).resolve().parents[1] / "docs" / "zoo.json"        # a model's row as soon as it is done: a rerun
DOC = Path(__file__).resolve().parents[1] / "docs" / "zoo.md"              # after an interruption goes on from there


def write_zoo_md(rows:dict):
    "docs/zoo.md from the finished rows: the table, the reasons of the refusals numbered once, counts and time"
    reasons, lines = {}, []
    for name, r in rows.items():
        cells = []
        for method in SCORES:
            if method not in r["cells"]: cells.append("—"); continue           # a method added after this row was run
            kind, note = r["cells"][method]
            if kind == "ok": cells.append("✓" + (f" ({note})" if note else "")); continue
            why = note.split(": ", 1)[1]
            k = reasons.setdefault(why, (len(reasons) + 1, []))
            k[1].append(f"{name}/{method}")
            cells.append(f"✗ {note.split(':')[0]} [{k[0]}]")
        lines.append(f"| {name} | {r['input']} | {r['coverage']} | " + " | ".join(cells) + " |")
    ok = sum(c[0] == "ok" for r in rows.values() for c in r["cells"].values())   # (— : not run yet)
    n = sum(len(r["cells"]) for r in rows.values())
    head = ["# The zoo: every method on models nobody here wrote", "",
            "Generated by `pytest -m slow tests/test_zoo.py::test_whole_zoo_writes_docs_zoo_md`: each model as its authors build it "
            "(10 classes), at its real input size, a batch of 4, density 0.05, 1–2 iterations. ✓: exact-count mask, model "
            "untouched, every empty layer warned about (notes: layers left empty, ZeroScore = whole layers scored 0 and were "
            "tie-broken at random, Uncovered = weights not pruned). ✗: refused with a clear error raised by ntk_paths (the "
            "exception named). Not covered: the share of weight tensors (two or more dimensions) that are not pruned. The default "
            "test run checks the same on small inputs and small configurations of every family (`tests/test_zoo.py::test_small_zoo`).",
            "", "| model | input | not covered | " + " | ".join(SCORES) + " |", "|---|---|---|" + "---|" * len(SCORES)]
    tail = ["", "Why each refusal (the first 140 characters of its message):", ""]
    tail += [f"{i}. {why} — {', '.join(where)}" for why, (i, where) in reasons.items()]
    tail += ["", f"{ok} of {n} ✓, {n - ok} refused, 0 raw torch errors, 0 silent; {sum(r['seconds'] for r in rows.values()):.0f} s "
             "on two CPU cores (one thread)."]
    if todo := [m for m in REAL if m not in rows]:
        tail += ["", f"Not run yet ({len(todo)} of {len(REAL)}): {', '.join(todo)}. The run resumes from docs/zoo.json: run the "
                 "command above again to go on."]
    DOC.write_text("\n".join(head + lines + tail) + "\n")


@pytest.mark.slow
def test_whole_zoo_writes_docs_zoo_md():
    import json
    rows = json.loads(CACHE.read_text()) if CACHE.exists() else {}
    rows = {k: v for k, v in rows.items() if k in REAL}
    for name, (build, shape) in REAL.items():
        row = rows.get(name)
        if not (missing := [m for m in SCORES if row is None or m not in row["cells"]]): continue
        t0 = time.time()
        if row is None:
            net = build()
            unc = uncovered(net); n_unc = sum(unc.values())
            total = sum(p.numel() for p in net.parameters() if p.dim() >= 2)
            row = dict(cells={}, coverage=f"{n_unc / total:.1%}" if n_unc else "0 %", seconds=0.0,
                       input="token ids" if shape == "tokens" else "×".join(map(str, shape)))
        row["cells"].update({method: attempt(name, method, REAL, n=4) for method in missing})   # methods added since: only those
        row["seconds"] += time.time() - t0
        rows[name] = row
        CACHE.parent.mkdir(exist_ok=True); CACHE.write_text(json.dumps(rows))
        write_zoo_md(rows)
