"""Issue 25: models nobody here wrote. Every method on each model either returns an exact-count mask with the model
untouched, or refuses with a clear error (ScoreError, NotImplementedError, ValueError naming the cause); never a raw
torch error, never a silent result. The default run takes three small torchvision families; `pytest -m slow` runs the
whole zoo and writes docs/zoo.md (model × method: ✓, or the refusal and why; collapsed layers and coverage)."""
import time, traceback, warnings
from pathlib import Path
import pytest, torch
from torch import nn
import torchvision.models as tvm
from ntk_paths import prune, SCORES, ScoreError, init_weights
from ntk_paths.masks import uncovered, prunable
from test_any_model import TiedLM           # token embedding, a hidden layer, the output layer tied to the embedding

CLEAR = (ScoreError, NotImplementedError, ValueError)


class LSTMNet(nn.Module):
    def __init__(self):
        super().__init__(); self.rnn, self.fc = nn.LSTM(32, 24, batch_first=True), nn.Linear(24, 10)
    def forward(self, x): return self.fc(self.rnn(x.squeeze(1))[0][:, -1])          # (N, 1, T, F): T steps of F


class GRUNet(LSTMNet):
    def __init__(self):
        super().__init__(); self.rnn = nn.GRU(32, 24, batch_first=True)


ZOO = {  # name: (build, one input's shape or "tokens")
    "resnet18": (lambda: tvm.resnet18(num_classes=10), (3, 32, 32)),
    "mobilenet_v3_small": (lambda: tvm.mobilenet_v3_small(num_classes=10), (3, 32, 32)),
    "shufflenet_v2_x0_5": (lambda: tvm.shufflenet_v2_x0_5(num_classes=10), (3, 32, 32)),
    "vgg11_bn": (lambda: tvm.vgg11_bn(num_classes=10), (3, 64, 64)),
    "densenet121": (lambda: tvm.densenet121(num_classes=10), (3, 64, 64)),
    "regnet_x_400mf": (lambda: tvm.regnet_x_400mf(num_classes=10), (3, 32, 32)),
    "squeezenet1_0": (lambda: tvm.squeezenet1_0(num_classes=10), (3, 64, 64)),
    "mobilenet_v2": (lambda: tvm.mobilenet_v2(num_classes=10), (3, 32, 32)),
    "efficientnet_b0": (lambda: tvm.efficientnet_b0(num_classes=10), (3, 32, 32)),
    "convnext_tiny": (lambda: tvm.convnext_tiny(num_classes=10), (3, 32, 32)),
    "swin_t": (lambda: tvm.swin_t(num_classes=10), (3, 32, 32)),
    "vit_b_16": (lambda: tvm.vit_b_16(num_classes=10, image_size=32), (3, 32, 32)),
    "lstm": (LSTMNet, (1, 8, 32)),
    "gru": (GRUNet, (1, 8, 32)),
    "tied_lm": (lambda: TiedLM(vocab=10, d=16), "tokens"),
}
DEFAULT = ["resnet18", "mobilenet_v3_small", "shufflenet_v2_x0_5", "lstm", "tied_lm"]


def attempt(name, method):
    "('ok', note) or ('refused', reason); fails the test on a raw error, a wrong count or a touched model"
    build, shape = ZOO[name]
    torch.manual_seed(0)
    net = build().eval()
    g = torch.Generator().manual_seed(0)
    if shape == "tokens": x = torch.randint(0, 10, (10, 6), generator=g)
    else: x = torch.randn(10, *shape, generator=g); net.input_shape = shape
    before = {k: v.clone() for k, v in net.state_dict().items()}
    kw = dict(rounds=1, batch_size=4) if method == "ntksap" else {}
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            m = prune(net, method, 0.05, data=(x, torch.arange(10)) if SCORES[method].data != "none" else None,
                      iterations=None if SCORES[method].iterations == 1 else 2, progress=False, **kw)
    except CLEAR as e:
        msg = " ".join(str(e).split())
        where = traceback.extract_tb(e.__traceback__)[-1].filename       # raised by ntk_paths, not passed on from torch
        assert "ntk_paths" in where and len(msg) > 30, f"{name}/{method}: raw {type(e).__name__} from {where}: {msg}"
        return "refused", f"{type(e).__name__}: {msg[:140]}"
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), f"{name}/{method} changed the model"
    assert m.kept == round(0.05 * m.total), f"{name}/{method}: {m.kept} kept of {m.total}"
    notes = sorted({c.category.__name__.replace("Warning", "") for c in w if c.category.__name__ in
                    ("ZeroScoreWarning", "CollapseWarning", "UncoveredWarning")})
    parts = ([f"{len(m.collapsed)} empty"] if m.collapsed else []) + [n for n in notes if n != "Collapse"]
    return "ok", ", ".join(parts)


@pytest.mark.parametrize("name", DEFAULT)
def test_small_zoo(name):
    for method in SCORES: attempt(name, method)


@pytest.mark.slow
def test_whole_zoo_writes_docs_zoo_md():
    rows, t0, reasons = [], time.time(), {}
    for name, (build, shape) in ZOO.items():
        net = build()
        unc = uncovered(net); n_unc = sum(unc.values())
        cov = sum(p.weight.numel() for p in prunable(net).values())
        cells = []
        for method in SCORES:
            kind, note = attempt(name, method)
            if kind != "ok":
                why = note.split(": ", 1)[1]
                k = reasons.setdefault(why, (len(reasons) + 1, []))
                k[1].append(f"{name}/{method}")
            cells.append("✓" + (f" ({note})" if note else "") if kind == "ok" else f"✗ {note.split(':')[0]} [{reasons[why][0]}]")
        rows.append((name, f"{n_unc / (n_unc + cov):.1%}" if n_unc else "0 %", cells))
    lines = ["# The zoo: every method on models nobody here wrote",
             "", "Generated by `pytest -m slow tests/test_zoo.py::test_whole_zoo_writes_docs_zoo_md` (density 0.05, 1–2 "
             "iterations, small inputs, torchvision models as built). ✓: exact-count mask, model untouched (notes: layers "
             "left empty, ZeroScore = whole layers scored 0 and were tie-broken at random, Uncovered = weights not pruned). "
             "✗: refused with a clear error (the exception named). Coverage: the share of weight tensors not pruned.",
             "", "| model | not covered | " + " | ".join(SCORES) + " |", "|---|---|" + "---|" * len(SCORES)]
    for name, share, cells in rows: lines.append(f"| {name} | {share} | " + " | ".join(cells) + " |")
    lines += ["", "Why each refusal (the first 140 characters of its message):", ""]
    lines += [f"{i}. {why} — {', '.join(where)}" for why, (i, where) in reasons.items()]
    lines += ["", f"{sum(c.startswith('✓') for _, _, cs in rows for c in cs)} of {len(rows) * len(SCORES)} ✓, "
              f"{sum(c.startswith('✗') for _, _, cs in rows for c in cs)} refused; {time.time() - t0:.0f} s on two CPU cores."]
    (Path(__file__).resolve().parents[1] / "docs" / "zoo.md").write_text("\n".join(lines) + "\n")
