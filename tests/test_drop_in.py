"""Ordinary torch.nn.RNN/LSTM/GRU usages (torch's docs and tutorials), run on torch's layer and on the spiking
one: the same shapes, dtypes, devices, container types and kinds of outcome (success / error).

Each usage is a function ``usage(make)`` where ``make(**kw)`` builds the layer under test (torch's or the
spiking one, same arguments); it returns any structure of tensors, packed sequences and tuples, which
:func:`outcome` reduces to its kind (types, shapes, dtypes, devices) for the comparison.
"""
import copy
import io
import pickle

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

import spikernn as snr

PAIRS = {"rnn": (nn.RNN, snr.SpikingRNN), "lstm": (nn.LSTM, snr.SpikingLSTM), "gru": (nn.GRU, snr.SpikingGRU)}
I, H, T, B = 10, 20, 5, 3  # torch's docs example: nn.LSTM(10, 20, 2); input (5, 3, 10); h0 (2, 3, 20)


def outcome(obj):
    """The kind of a result: nested types with tensor shapes, dtypes and device types."""
    if isinstance(obj, PackedSequence):
        return ("packed", outcome(obj.data), tuple(obj.batch_sizes.tolist()))
    if isinstance(obj, torch.Tensor):
        return ("tensor", tuple(obj.shape), obj.dtype, obj.device.type)
    if isinstance(obj, (tuple, list)):
        return (type(obj).__name__, tuple(outcome(o) for o in obj))
    if isinstance(obj, dict):
        return ("dict", tuple((k, outcome(v)) for k, v in sorted(obj.items())))
    return (type(obj).__name__, obj if isinstance(obj, (bool, int, str)) else None)


def run(usage, make):
    try:
        return outcome(usage(make))
    except Exception as e:  # noqa: BLE001 - the kind of outcome is what is compared
        return ("raises", f"{type(e).__name__}: {e}")


def state0(kind, n=2, batch=(B,), dtype=None):
    h0 = torch.randn(n, *batch, H, dtype=dtype)
    return (h0, torch.randn(n, *batch, H, dtype=dtype)) if kind == "lstm" else h0


# ----------------------------------------------------------------------------------- the usages
def default_call(make, kind):
    out, h = make(input_size=I, hidden_size=H, num_layers=2)(torch.randn(T, B, I))
    if kind == "lstm":
        h_n, c_n = h  # out, (h_n, c_n) = lstm(x)
        return out, h_n, c_n
    return out, h


def initial_state(make, kind):
    return make(input_size=I, hidden_size=H, num_layers=2)(torch.randn(T, B, I), state0(kind))


def keyword_arguments(make, kind):
    return make(input_size=I, hidden_size=H, num_layers=2)(input=torch.randn(T, B, I), hx=state0(kind))


def batch_first(make, kind):
    m = make(input_size=I, hidden_size=H, batch_first=True)
    return m(torch.randn(B, T, I), state0(kind, 1))


def unbatched(make, kind):
    return make(input_size=I, hidden_size=H, num_layers=2)(torch.randn(T, I), state0(kind, 2, ()))


def bidirectional(make, kind):
    m = make(input_size=I, hidden_size=H, num_layers=2, bidirectional=True)
    out, h = m(torch.randn(T, B, I), state0(kind, 4))
    h_n = h[0] if kind == "lstm" else h
    return out, torch.cat([h_n[-2], h_n[-1]], -1)  # the usual classifier feature


def packed_unsorted(make, kind):
    m = make(input_size=I, hidden_size=H, num_layers=2)
    lengths = torch.tensor([3, 5, 2])
    packed = pack_padded_sequence(torch.randn(T, B, I), lengths, enforce_sorted=False)
    out, h = m(packed, state0(kind))
    padded, out_lengths = pad_packed_sequence(out)
    return out, h, padded, out_lengths


def packed_batch_first(make, kind):
    m = make(input_size=I, hidden_size=H, batch_first=True, bidirectional=True)
    lengths = torch.tensor([5, 4, 2])
    out, h = m(pack_padded_sequence(torch.randn(B, T, I), lengths, batch_first=True))
    return pad_packed_sequence(out, batch_first=True, total_length=T)[0], h


def to_float64(make, kind):
    m = make(input_size=I, hidden_size=H).to(torch.float64)
    return m(torch.randn(T, B, I, dtype=torch.float64), state0(kind, 1, dtype=torch.float64))


def dtype_mismatch_raises(make, kind):
    return make(input_size=I, hidden_size=H)(torch.randn(T, B, I, dtype=torch.float64))


def factory_kwargs(make, kind):
    m = make(input_size=I, hidden_size=H, device="cpu", dtype=torch.float64)
    return {n: p for n, p in m.named_parameters() if n.startswith(("weight", "bias"))}, \
        m(torch.randn(T, B, I, dtype=torch.float64))


def meta_device_then_materialise(make, kind):
    m = make(input_size=I, hidden_size=H, num_layers=2, device="meta")  # shape inference / FSDP-style init
    metas = tuple(p.is_meta for n, p in m.named_parameters() if n.startswith("weight"))
    m = m.to_empty(device="cpu")
    m.reset_parameters()
    return metas, m(torch.randn(T, B, I))


def state_dict_round_trip(make, kind):
    torch.manual_seed(0)
    m, m2 = make(input_size=I, hidden_size=H, num_layers=2), make(input_size=I, hidden_size=H, num_layers=2)
    m2.load_state_dict(m.state_dict())
    x = torch.randn(T, B, I)
    return torch.equal(m(x)[0], m2(x)[0])


def torch_save_whole_model(make, kind, tmp_path=None):
    m = make(input_size=I, hidden_size=H)
    buf = io.BytesIO()
    torch.save(m, buf)  # pickles the module: only in tests, on data written here
    buf.seek(0)
    m2 = torch.load(buf, weights_only=False)
    x = torch.randn(T, B, I)
    return type(m2) is type(m), torch.equal(m(x)[0], m2(x)[0])


def deepcopy_independent(make, kind):
    m = make(input_size=I, hidden_size=H)
    m2 = copy.deepcopy(m)
    x = torch.randn(T, B, I)
    same = torch.equal(m(x)[0], m2(x)[0])
    with torch.no_grad():
        m2.weight_ih_l0.add_(1.0)
    return same, not torch.equal(m.weight_ih_l0, m2.weight_ih_l0)


def pickle_round_trip(make, kind):
    m = make(input_size=I, hidden_size=H)
    x = torch.randn(T, B, I)
    return torch.equal(pickle.loads(pickle.dumps(m))(x)[0], m(x)[0])


def tbptt_detach_loop(make, kind):
    m = make(input_size=I, hidden_size=H)
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    h = None
    for chunk in torch.randn(4 * T, B, I).split(T):
        out, h = m(chunk, h)
        opt.zero_grad()
        out.sum().backward()
        opt.step()
        h = tuple(t.detach() for t in h) if isinstance(h, tuple) else h.detach()
    return h


def train_step_and_grads(make, kind):
    m = make(input_size=I, hidden_size=H, num_layers=2, dropout=0.5)
    head = nn.Linear(H, 4)
    opt = torch.optim.Adam(list(m.parameters()) + list(head.parameters()), lr=1e-2)
    x = torch.randn(T, B, I, requires_grad=True)
    loss = nn.functional.cross_entropy(head(m(x)[0].mean(0)), torch.tensor([0, 1, 2]))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
    grads = all(p.grad is not None for n, p in m.named_parameters() if n.startswith("weight"))
    return loss.detach(), x.grad, grads


def eval_mode_deterministic(make, kind):
    m = make(input_size=I, hidden_size=H, num_layers=2, dropout=0.5).eval()
    x = torch.randn(T, B, I)
    return torch.equal(m(x)[0], m(x)[0]), m.training


def custom_init_loop(make, kind):
    m = make(input_size=I, hidden_size=H)
    for name, p in m.named_parameters():  # the usual RNN initialisation recipe
        if "weight_hh" in name:
            nn.init.orthogonal_(p)
        elif "weight_ih" in name:
            nn.init.xavier_uniform_(p)
        elif "bias" in name:
            nn.init.zeros_(p)
    return m(torch.randn(T, B, I))


def parameter_names_and_all_weights(make, kind):
    m = make(input_size=I, hidden_size=H, num_layers=2, bidirectional=True)
    m.flatten_parameters()
    names = {n: p for n, p in m.named_parameters() if n.startswith(("weight", "bias"))}
    return names, [list(w) for w in m.all_weights]


def torch_compile(make, kind):
    torch._dynamo.reset()
    m = make(input_size=I, hidden_size=H)
    x = torch.randn(T, B, I, requires_grad=True)
    out, h = torch.compile(m)(x)
    out.sum().backward()
    return torch.equal(out, m(x)[0]), x.grad


def func_grad(make, kind):
    from torch.func import functional_call, grad

    m = make(input_size=I, hidden_size=H)
    x = torch.randn(T, B, I)
    params = dict(m.named_parameters())
    g = grad(lambda p: functional_call(m, p, (x,))[0].pow(2).sum())(params)
    return {n: g[n] for n in ("weight_ih_l0", "weight_hh_l0")}


def func_vmap(make, kind):
    from torch.func import vmap

    m = make(input_size=I, hidden_size=H)
    return vmap(lambda xi: m(xi)[0])(torch.randn(B, T, I))  # a batch of unbatched sequences


USAGES = [default_call, initial_state, keyword_arguments, batch_first, unbatched, bidirectional, packed_unsorted,
          packed_batch_first, to_float64, dtype_mismatch_raises, factory_kwargs, meta_device_then_materialise,
          state_dict_round_trip, torch_save_whole_model, deepcopy_independent, pickle_round_trip, tbptt_detach_loop,
          train_step_and_grads, eval_mode_deterministic, custom_init_loop, parameter_names_and_all_weights,
          func_grad, func_vmap]
# torch 2.13's own layers have no vmap batching rule (aten::lstm/gru/rnn_tanh); the spiking ones run under it
TORCH_CANNOT = {func_vmap: ("tensor", (B, T, H), torch.float32, "cpu")}


@pytest.mark.parametrize("kind", sorted(PAIRS))
@pytest.mark.parametrize("usage", USAGES, ids=[u.__name__ for u in USAGES])
def test_usage_same_kind_of_outcome(usage, kind):
    ref_cls, spk_cls = PAIRS[kind]
    torch.manual_seed(0)
    ref = run(lambda make: usage(make, kind), lambda **kw: ref_cls(**kw))
    torch.manual_seed(0)
    spk = run(lambda make: usage(make, kind), lambda **kw: spk_cls(threshold=0.1, **kw))
    if usage in TORCH_CANNOT:  # torch raises; the spiking layer does what the usage asks
        assert ref[0] == "raises" and spk == TORCH_CANNOT[usage], f"torch: {ref}\nspiking: {spk}"
    elif ref[0] == "raises" or spk[0] == "raises":
        assert ref[0] == spk[0], f"torch: {ref}\nspiking: {spk}"
    else:
        assert spk == ref
    assert usage is not dtype_mismatch_raises or spk[0] == "raises"


@pytest.mark.filterwarnings("ignore")
def test_torch_compile_same_kind_of_outcome():
    """``torch.compile`` with the default backend (inductor), LSTM (the others share the code path)."""
    ref = run(lambda make: torch_compile(make, "lstm"), lambda **kw: nn.LSTM(**kw))
    spk = run(lambda make: torch_compile(make, "lstm"), lambda **kw: snr.SpikingLSTM(threshold=0.1, **kw))
    assert spk == ref and spk[1][0] == ("bool", True)


def _forward_in_child(model, x):
    return model(x)[0].detach()


def test_multiprocessing_spawn_runs_the_model():
    """A spawned process (as DDP's ``mp.spawn`` and DataLoader workers use) receives the model by pickling."""
    import torch.multiprocessing as mp

    models = [cls(I, H, threshold=0.1) for cls in (snr.SpikingRNN, snr.SpikingLSTM, snr.SpikingGRU)]
    x = torch.randn(T, B, I)
    with mp.get_context("spawn").Pool(1) as pool:
        outs = pool.starmap(_forward_in_child, [(m, x) for m in models])
    for m, o in zip(models, outs):
        assert torch.equal(o, m(x)[0])


def test_from_torch_copies_everything_without_strict_false():
    for kind, (ref_cls, spk_cls) in PAIRS.items():
        ref = ref_cls(I, H, num_layers=2, bidirectional=True, batch_first=True, dropout=0.1, dtype=torch.float64)
        m, rep = spk_cls.from_torch(ref, return_report=True, threshold=0.1)
        assert (m.num_layers, m.bidirectional, m.batch_first, m.dropout, m.weight_ih_l0.dtype) == \
            (2, True, True, 0.1, torch.float64)
        assert [n for n, _ in rep.copied] == list(ref.state_dict()) and "copied 16 tensors" in str(rep)
        assert all(torch.equal(getattr(m, n), t) for n, t in ref.state_dict().items())
        assert rep.kept and all(n.startswith(("decay", "threshold", "adapt", "alpha", "beta", "a_", "b_"))
                                for n in rep.kept)
        with pytest.raises(TypeError, match="takes a torch.nn"):
            spk_cls.from_torch(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="weight_ih_l1"):
        snr.SpikingLSTM(I, H).load_torch_weights(nn.LSTM(I, H, num_layers=2))


def test_state_forms_and_their_errors():
    m = snr.SpikingLSTM(I, H, num_layers=2, threshold=0.1)
    x = torch.randn(T, B, I)
    out, (h, c) = m(x)
    out2, st = m(x, m.initial_state(B))  # the full spiking state
    assert isinstance(st, snr.LSTMState) and torch.equal(st.s, h) and torch.equal(st.c, c)
    assert torch.equal(out, out2)
    # torch form in: h0 -> s0 (what W_hh reads), c0 -> c; the membrane starts at rest
    h0, c0 = torch.rand(2, B, H), torch.rand(2, B, H)
    zero = torch.zeros(2, B, H)
    a, _ = m(x, (h0, c0))
    b, _ = m(x, snr.LSTMState(h0, zero, zero, c0))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match=r"hx must be \(h0, c0\)"):
        m(x, torch.zeros(2, B, H))
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 3, 20\)"):
        m(x, (torch.zeros(1, B, H), torch.zeros(1, B, H)))
    with pytest.raises(ValueError, match="GRUState"):
        snr.SpikingGRU(I, H)(x, (torch.zeros(1, B, H),) * 2)
    with pytest.raises(ValueError, match="proj_size"):
        snr.SpikingLSTM(I, H, proj_size=5)
