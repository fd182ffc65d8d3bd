"""Issue 25: models a researcher brings. Regression tests for the findings on real architectures, on small stand-ins
built here (the zoo of torchvision/timm models is the next step): transformers' attention under second derivatives,
ops without one, token inputs, clipping activations and slicing in the path methods, zero-initialised classifiers."""
import pytest, torch
from torch import nn
from quick import quick
from ntk_paths import prune, init_weights, MLP, ScoreError, path_kernel_trace, Protect
from ntk_paths.models import init_weights


class TinyTransformer(nn.Module):
    "One encoder layer (self-attention through scaled_dot_product_attention), mean over tokens, a classifier"
    def __init__(self, d=16, classes=4):
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(d, 2, 32, dropout=0.0, batch_first=True)
        self.head = nn.Linear(d, classes)
        self.input_shape = (5, d)
    def forward(self, x): return self.head(self.enc(x).mean(1))


class Tokens(nn.Module):
    "Token ids -> embedding -> mean -> classifier (integer inputs)"
    def __init__(self, vocab=50, d=12, classes=3):
        super().__init__()
        self.emb, self.fc1, self.fc2 = nn.Embedding(vocab, d), nn.Linear(d, 24), nn.Linear(24, classes)
    def forward(self, t): return self.fc2(torch.relu(self.fc1(self.emb(t).mean(1))))


def labelled(x, classes):
    return x, torch.arange(len(x)) % classes


@pytest.mark.parametrize("method", ["grasp", "prospr"])
def test_second_order_methods_run_on_attention(method):
    "torch's fused CPU attention has no double backward ('derivative for aten::_scaled_dot_product_flash_attention_for_cpu_backward')"
    net = init_weights(TinyTransformer(), 0).eval()
    data = labelled(torch.randn(8, 5, 16, generator=torch.Generator().manual_seed(0)), 4)
    m = prune(net, method, 0.3, data=data, progress=False)
    assert m.kept == round(0.3 * m.total)


def test_an_op_without_second_derivative_is_named():
    net = init_weights(nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.Hardsigmoid(), nn.Linear(16, 3)), 0)
    data = labelled(torch.randn(6, 8, generator=torch.Generator().manual_seed(0)), 3)
    with pytest.raises(NotImplementedError, match=r"grasp differentiates the network twice.*hardsigmoid_backward.*only one: .*snip"):
        prune(net, "grasp", 0.3, data=data, progress=False)
    assert prune(net, "snip", 0.3, data=data, progress=False).kept == round(0.3 * 8 * 16 + 0.3 * 16 * 3)


@pytest.mark.parametrize("method", ["snip", "iter_snip", "force", "prospr", "grasp"])
def test_token_ids_are_never_cast_to_the_masks_dtype(method):
    net = init_weights(Tokens(), 0)
    tokens = torch.randint(0, 50, (9, 7), generator=torch.Generator().manual_seed(0))
    m = prune(net, method, 0.2, data=labelled(tokens, 3), iterations=2 if method != "grasp" and method != "prospr" else None,
              progress=False)
    assert m.kept == round(0.2 * m.total) and set(m) == {"fc1.weight", "fc2.weight"}


def test_clipping_activations_are_refused_for_what_they_are():
    net = init_weights(nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.ReLU6(), nn.Linear(16, 3)), 0)
    with pytest.raises(NotImplementedError, match=r"hardtanh \(nn.ReLU6, nn.Hardtanh\) is piecewise linear but saturates"):
        path_kernel_trace(net, input_shape=(8,))
    with pytest.raises(NotImplementedError, match="sigmoid is not piecewise linear"):
        path_kernel_trace(init_weights(nn.Sequential(nn.Linear(8, 16), nn.Sigmoid(), nn.Linear(16, 3)), 0), input_shape=(8,))


class Shuffle(nn.Module):
    "ShuffleNet's channel split: chunk, a branch, concatenate (or the same with slices)"
    def __init__(self, chunk=True):
        super().__init__()
        self.chunk = chunk
        self.a, self.b = nn.Conv2d(2, 8, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(8 * 16, 3)
    def forward(self, x):
        x = torch.relu(self.a(x))
        u, v = x.chunk(2, dim=1) if self.chunk else (x[:, :4], x[:, 4:])
        return self.fc(torch.cat([u, torch.relu(self.b(v))], 1).flatten(1))


def test_channel_split_by_chunk_is_a_path_operation():
    ours, sliced = init_weights(Shuffle(True), 0), init_weights(Shuffle(False), 0)
    t = path_kernel_trace(ours, input_shape=(2, 4, 4))
    assert t == path_kernel_trace(sliced, input_shape=(2, 4, 4)) and t > 0
    assert prune(ours, "synflow", 0.2, input_shape=(2, 4, 4), progress=False).kept == prune(
        ours, "path_kernel", 0.2, input_shape=(2, 4, 4), progress=False).kept


def test_a_zero_initialised_classifier_is_named():
    net = init_weights(MLP((8, 16, 3)), 0)
    with torch.no_grad(): net.fc2.weight.zero_(); net.fc2.bias.zero_()      # torchvision's ViT head, timm's Mixer head
    with pytest.raises(ScoreError, match=r"'fc2.weight' is all zero \(initialised to zero.*Re-initialise it"):
        prune(net, "synflow", 0.1, progress=False)


class GRUNet(nn.Module):
    def __init__(self, cls=nn.GRU):
        super().__init__(); self.rnn, self.fc = cls(4, 8, batch_first=True), nn.Linear(8, 2)
        self.input_shape = (5, 4)
    def forward(self, x): return self.fc(self.rnn(x)[0][:, -1])


def test_attention_and_recurrent_weights_are_pruned_by_default():
    "Finding 3: MultiheadAttention's in-projection and RNN weights were left dense, silently; now they are pruned"
    import warnings
    net = init_weights(TinyTransformer(), 0)
    assert "enc.self_attn.in_proj_weight" in prunable(net)
    with warnings.catch_warnings(): warnings.simplefilter("error"); m = prune(net, "random", 0.1, progress=False)
    assert "uncovered" not in m.meta and m.kept == round(0.1 * m.total) and m.total == sum(
        p.numel() for p in net.parameters() if p.dim() >= 2)
    for cls in (nn.GRU, nn.LSTM, nn.RNN):
        net = init_weights(GRUNet(cls), 0)
        with warnings.catch_warnings(): warnings.simplefilter("error"); m = prune(net, "magnitude", 0.3, progress=False)
        assert list(m) == ["rnn.weight_ih_l0", "rnn.weight_hh_l0", "fc.weight"] and m.kept == round(0.3 * m.total), cls


@pytest.mark.parametrize("cls", [nn.LSTM, nn.GRU, nn.MultiheadAttention])
def test_masks_on_recurrent_and_attention_weights_train_and_round_trip(cls):
    "apply_masks on weight_ih/hh and in_proj_weight: the forward of the masked copy, zeros kept by SGD, both file conventions"
    import copy
    from ntk_paths import remove_masks, to_torch_prune
    g = torch.Generator().manual_seed(0)
    if cls is nn.MultiheadAttention:
        net = nn.Sequential(); net.add_module("att", nn.MultiheadAttention(8, 2, batch_first=True))
        run = lambda n, x: n.att(x, x, x)[0]
    else:
        net = nn.Sequential(); net.add_module("att", cls(8, 6, num_layers=2, batch_first=True))
        run = lambda n, x: n.att(x)[0]
    m = Masks({k: torch.rand(p.weight.shape, generator=g) < 0.4 for k, p in prunable(net).items()})
    x = torch.randn(3, 5, 8, generator=g)
    def tensor(n, k): mod, _, a = k.rpartition("."); return getattr(n.get_submodule(mod), a)
    ref = copy.deepcopy(net)
    with torch.no_grad():
        for k, mk in m.items(): tensor(ref, k).mul_(mk)
    apply_masks(net, m)
    assert torch.allclose(run(net, x), run(ref, x), atol=1e-6)
    assert Masks.from_model(net) == m and Masks.from_model(to_torch_prune(copy.deepcopy(net), m)) == m
    assert torch.allclose(run(to_torch_prune(copy.deepcopy(net), m), x), run(ref, x), atol=1e-6)
    opt = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
    for _ in range(2): opt.zero_grad(); run(net, x).square().sum().backward(); opt.step()
    for k, mk in m.items():
        w = tensor(net, k)
        assert (w[~mk] == 0).all() and (w[mk] != 0).any(), k
    baked = remove_masks(net)
    assert all((tensor(baked, k)[~mk] == 0).all() for k, mk in m.items()) and not list(baked.buffers())


def test_embeddings_are_opt_in():
    import warnings
    net = init_weights(Tokens(), 0)
    data = labelled(torch.randint(0, 50, (12, 7), generator=torch.Generator().manual_seed(0)), 3)
    with pytest.warns(UserWarning, match=r"emb.weight.*embeddings=True"):
        m = prune(net, "snip", 0.2, data=data, progress=False)
    assert list(m) == ["fc1.weight", "fc2.weight"] and m.meta["uncovered"] == {"emb.weight": 600}
    with warnings.catch_warnings(): warnings.simplefilter("error"); m = prune(net, "snip", 0.2, data=data, embeddings=True, progress=False)
    assert list(m) == ["emb.weight", "fc1.weight", "fc2.weight"] and m.kept == round(0.2 * (600 + 288 + 72))
    assert m.meta["embeddings"] is True and "uncovered" not in m.meta


class Bilinear(nn.Module):
    "A custom layer: a bare Parameter used through a matmul, which no module type tells ntk_paths about"
    def __init__(self):
        super().__init__(); self.W = nn.Parameter(torch.randn(6, 6)); self.fc = nn.Linear(6, 2)
        self.input_shape = (6,)
    def forward(self, x): return self.fc(torch.relu(x @ self.W))


@pytest.mark.parametrize("method", ["magnitude", "snip", "synflow", "ntksap"])
def test_any_parameter_can_be_added_or_removed_by_name(method):
    net = init_weights(Bilinear(), 0)
    data = (torch.randn(8, 6, generator=torch.Generator().manual_seed(0)), torch.arange(8) % 2)
    kw = dict(data=data) if SCORES[method].data != "none" else {}
    with pytest.warns(UserWarning, match=r"1 weight tensor \(36 weights.*: W"):
        m = prune(net, method, 0.5, progress=False, iterations=1, **kw)
    m = prune(net, method, 0.5, progress=False, iterations=1, include=r"^W$", **kw)
    assert list(m) == ["fc.weight", "W"] and m.kept == 24 and m.meta["include"] == r"^W$"
    x = data[0]
    import copy
    masked = apply_masks(copy.deepcopy(net), m)
    with torch.no_grad():
        ref = torch.nn.functional.linear(torch.relu(x @ (net.W * m["W"])), net.fc.weight * m["fc.weight"], net.fc.bias)
        assert torch.allclose(masked(x), ref, atol=1e-6)
    assert list(prune(net, method, 0.5, progress=False, iterations=1, include="W", protect=Protect(exclude="fc"), **kw)) == ["W"]


def test_the_ntk_with_masked_attention_and_recurrent_weights():
    "empirical_ntk with masks on in_proj_weight / weight_hh: the kernel of the pruned network (jacrev over kept weights)"
    for net, x in [(init_weights(TinyTransformer(d=8), 0), torch.randn(3, 5, 8, generator=torch.Generator().manual_seed(1))),
                   (init_weights(GRUNet(nn.LSTM), 0), torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(1)))]:
        net = net.double().eval(); x = x.double()
        net.input_shape = tuple(x.shape[1:])
        m = Masks({k: torch.rand(p.weight.shape, generator=torch.Generator().manual_seed(3)) < 0.5 for k, p in prunable(net).items()})
        found = prunable(net)
        params = {n: p.detach() for n, p in net.named_parameters()}
        for k, p in found.items(): params[p.path] = params[p.path] * m[k]
        jac = torch.func.jacrev(lambda p: torch.func.functional_call(net, p, (x,)))(params)
        for k, p in found.items(): jac[p.path] = jac[p.path] * m[k]          # pruned weights are not parameters
        J = torch.cat([j.flatten(2) for j in jac.values()], 2)
        ref = torch.einsum("nkp,mlp->nmkl", J, J)
        got = empirical_ntk(net, x, masks=m)
        assert ((got - ref).abs().max() / ref.abs().max()) < 1e-10, type(net).__name__


# ---- tied weights (issue 25, finding 4; issue 26, finding 1) ----
from ntk_paths import SCORES, Masks, apply_masks, empirical_ntk, prunable


class Tied(nn.Module):
    "An autoencoder-like net whose decoder reuses the encoder's Parameter (dec.weight = enc.weight)"
    def __init__(self):
        super().__init__()
        self.enc, self.dec, self.head = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 3)
        self.dec.weight = self.enc.weight
        self.input_shape = (8,)
    def forward(self, x): return self.head(torch.relu(self.dec(torch.relu(self.enc(x)))))


class TiedLM(nn.Module):
    "Token ids -> embedding -> linear -> output layer tied to the embedding"
    def __init__(self, vocab=20, d=8):
        super().__init__()
        self.emb, self.mid, self.out = nn.Embedding(vocab, d), nn.Linear(d, d), nn.Linear(d, vocab, bias=False)
        self.out.weight = self.emb.weight
    def forward(self, t): return self.out(torch.relu(self.mid(self.emb(t).mean(1))))


def jacobian_ntk(model, x):
    "J Jᵀ from torch.func.jacrev over the model's unique parameters (float64), the reference"
    params = {n: p.detach() for n, p in model.named_parameters()}          # one name per tied Parameter
    jac = torch.func.jacrev(lambda p: torch.func.functional_call(model, p, (x,)))(params)
    J = torch.cat([j.flatten(2) for j in jac.values()], 2)                 # (N, K, P)
    return torch.einsum("nkp,mlp->nmkl", J, J)


def test_the_ntk_of_a_tied_model_is_the_tied_kernel():
    net = init_weights(Tied(), 0).double().eval()
    x = torch.randn(5, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ref = jacobian_ntk(net, x)
    for impl in ("auto", "jacobian"):
        assert ((empirical_ntk(net, x, implementation=impl) - ref).abs().max() / ref.abs().max()) < 1e-10, impl


def test_a_tied_weight_is_one_mask_counted_once():
    net = init_weights(Tied(), 0)
    assert list(prunable(net)) == ["enc.weight", "head.weight"]
    m = prune(net, "magnitude", 0.5, progress=False)
    assert m.total == 64 + 24 and m.kept == 44                               # 88 weights, not 152


@pytest.mark.parametrize("method", list(SCORES))
def test_every_method_works_on_a_tied_model(method):
    net = init_weights(Tied(), 0)
    data = (torch.randn(12, 8, generator=torch.Generator().manual_seed(1)), torch.arange(12) % 3)
    m = prune(net, method, 0.3, data=data if SCORES[method].data != "none" else None, progress=False,
              iterations=None if SCORES[method].iterations == 1 else 2, **quick(method))
    assert m.kept == round(0.3 * 88) and set(m) == {"enc.weight", "head.weight"}


def test_a_tied_weight_stays_pruned_in_every_layer_that_uses_it():
    for net, key, layers in [(init_weights(Tied(), 0), "enc.weight", ("enc", "dec")),
                             (init_weights(TiedLM(), 0), "out.weight", ("out", "emb"))]:
        m = Masks({k: torch.rand(v.weight.shape, generator=torch.Generator().manual_seed(2)) < 0.3 for k, v in prunable(net).items()})
        apply_masks(net, m)
        x = torch.randn(4, 8) if isinstance(net, Tied) else torch.randint(0, 20, (4, 5))
        opt = torch.optim.SGD(net.parameters(), lr=0.5, momentum=0.9, weight_decay=1e-3)
        for _ in range(2):
            opt.zero_grad(); net(x).square().sum().backward(); opt.step()
        for layer in layers:
            w = getattr(net, layer).weight
            assert (w[~m[key]] == 0).all() and (w[m[key]] != 0).any(), layer
        assert Masks.from_model(net) == m


# ---- transposed convolutions are pruned (finding 3: a decoder "pruned to 0.05" kept 88 % of its weights) ----
class Decoder(nn.Module):
    "A conv, two transposed convs (a decoder's upsampling), a classifier"
    def __init__(self):
        super().__init__()
        self.c = nn.Conv2d(1, 4, 3, 2, 1)
        self.up1, self.up2 = nn.ConvTranspose2d(4, 8, 2, 2), nn.ConvTranspose2d(8, 2, 3, 1, 1)
        self.fc = nn.Linear(2 * 8 * 8, 3)
        self.input_shape = (1, 8, 8)
    def forward(self, x): return self.fc(torch.relu(self.up2(torch.relu(self.up1(torch.relu(self.c(x)))))).flatten(1))


@pytest.mark.parametrize("method", list(SCORES))
def test_transposed_convolutions_are_pruned_to_the_density(method):
    net = init_weights(Decoder(), 0)
    data = (torch.randn(9, 1, 8, 8, generator=torch.Generator().manual_seed(0)), torch.arange(9) % 3)
    assert list(prunable(net)) == ["c.weight", "up1.weight", "up2.weight", "fc.weight"]
    try: m = prune(net, method, 0.05, data=data if SCORES[method].data != "none" else None, progress=False,
                   iterations=None if SCORES[method].iterations == 1 else 2, **quick(method))
    except NotImplementedError as e:                        # the path methods' squared network (and DPaI's mask graph): refused by name
        assert method in ("path_kernel", "px", "dpai") and "conv_transpose2d" in str(e), str(e)
        return
    assert m.kept == round(0.05 * m.total) and "uncovered" not in m.meta


def test_the_ntk_of_a_decoder():
    net = init_weights(Decoder(), 0).double().eval()
    x = torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ref = jacobian_ntk(net, x)
    m = Masks({k: torch.rand(p.weight.shape, generator=torch.Generator().manual_seed(3)) < 0.3 for k, p in prunable(net).items()})
    assert ((empirical_ntk(net, x) - ref).abs().max() / ref.abs().max()) < 1e-10
    assert empirical_ntk(net, x, masks=m).shape == (3, 3, 3, 3)
