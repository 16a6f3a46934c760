"""Conversion from the traced graph (spikernn.converters.graph): the models people have, float equality at
threshold 0, and every unmapped operation named (type/op, module path, source line)."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from spikernn.converters import to_lava, verify
from spikernn.converters.graph import UnsupportedModelError
from spikernn.layers import SpikingGRU

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench_conversion_models import (BiTagger, GRUForecaster, KeywordConvGRU, LSTMCellLoop,  # noqa: E402
                                     LstmFcNames, MeanPooled, MLPHead, PerStepPacked, TextLSTM, main)

RNNS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


class PackedMean(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x, lengths):
        p = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(p)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return self.head(out.sum(1) / lengths.unsqueeze(1))


class PackedBiTagger(nn.Module):
    """Bidirectional GRU over a packed batch, per-step head: torch's backward pass starts at each sequence's
    own last valid step."""

    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 6, batch_first=True, bidirectional=True)
        self.head = nn.Linear(12, 3)

    def forward(self, x, lengths):
        p = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = pad_packed_sequence(self.rnn(p)[0], batch_first=True, total_length=x.shape[1])
        return self.head(out)


class GatherLast(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(4, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x, lengths):
        out, _ = self.rnn(x)
        return self.head(out[torch.arange(x.size(0)), lengths - 1])


class SumMaxHeads(nn.Module):
    def __init__(self, pool):
        super().__init__()
        self.pool = pool
        self.rnn = nn.RNN(4, 8, batch_first=True)
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        out, _ = self.rnn(x)
        if self.pool == "sum":
            return self.head(out.sum(1))
        return self.head(out).max(dim=1)[0]


class SpikingThenLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = SpikingGRU(4, 8, batch_first=True, threshold=0.3)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc(self.rnn(x)[0]).mean(1)


X = torch.randn(3, 9, 4, generator=torch.Generator().manual_seed(0))
LENGTHS = torch.tensor([9, 6, 2])


@pytest.mark.parametrize("model,x,lengths,output", [
    (MeanPooled, X, None, "mean"),
    (TextLSTM, torch.randint(0, 30, (3, 9), generator=torch.Generator().manual_seed(1)), None, "last_step"),
    (KeywordConvGRU, X, None, "mean"),
    (MLPHead, X, None, "last_step"),
    (BiTagger, X, None, "sequence"),
    (GRUForecaster, X, None, "sequence"),
    (PackedMean, X, LENGTHS, "mean"),
    (GatherLast, X, LENGTHS, "last_step"),
    (LstmFcNames, X, LENGTHS, "last_step"),
    (PerStepPacked, X, LENGTHS, "sequence"),
    (lambda: SumMaxHeads("sum"), X, None, "sum"),
    (lambda: SumMaxHeads("max"), X, None, "max"),
], ids=["mean_pooled", "embedding", "conv1d", "mlp_head", "tagger", "forecaster", "packed_mean", "gather_last",
        "lstm_fc", "per_step_packed", "sum", "max"])
def test_models_convert_exactly_at_threshold_zero(model, x, lengths, output):
    torch.manual_seed(0)
    m = model().eval()
    net = to_lava(m)
    assert net.meta["output"] == output
    r = verify(m, net, x, lengths)
    assert r.max_abs_error <= 1e-5, r.summary()
    assert r.events_per_inference > 0
    # a net run on the model's own input gives the model's output
    y = net.run(x, lengths=lengths)
    ref = m(x) if lengths is None else m(x, lengths)
    assert y.shape == ref.shape and float((y - ref.detach()).abs().max()) <= 1e-5


@pytest.mark.parametrize("pool", ["sequence", "mean"])
def test_packed_bidirectional_unequal_lengths_run_in_length_groups(pool):
    """A packed bidirectional model on a padded batch of unequal lengths: the network runs equal-length groups
    (Network.runs_in_length_groups), so net.run and verify equal torch on every valid step, and the activity
    counts only valid steps."""
    torch.manual_seed(0)
    m = PackedBiTagger().eval()
    if pool == "mean":
        m = PackedMean().eval()
        m.rnn = nn.LSTM(4, 4, batch_first=True, bidirectional=True)
    net = to_lava(m)
    assert net.runs_in_length_groups(LENGTHS.numpy()) and not net.runs_in_length_groups(np.array([9, 9, 9]))
    y, stats = net.simulate(X, lengths=LENGTHS)
    with torch.no_grad():
        ref = m(X, LENGTHS)
    valid = (torch.arange(X.shape[1])[None, :] < LENGTHS[:, None])[..., None] if pool == "sequence" else True
    assert float(((y - ref).abs() * valid).max()) <= 1e-5
    assert verify(m, net, X, LENGTHS).max_abs_error <= 1e-5
    assert stats.batch == 3 and stats.steps == 9
    updates = sum(stats.neuron_updates.values())
    assert updates == sum(net.population(p.name).size * p.spec.updates_per_step * int(LENGTHS.sum())
                          for p in net.populations if p.spec.updates_per_step)


def test_spiking_layer_and_linear_head_bit_equal():
    torch.manual_seed(0)
    m = SpikingThenLinear().eval()
    net = to_lava(m)
    assert net.population("input").attrs["encoding"] == "value" and net.meta["family"] == "spiking"
    r = verify(m, net, X * 2)
    assert r.max_abs_error <= 1e-5, r.summary()


def test_linear_before_is_folded_into_the_input_weights():
    torch.manual_seed(0)
    m = MLPHead().eval()
    net = to_lava(m)
    names = [p.name for p in net.populations]
    assert names == ["input", "l0", "head_1", "head"], names  # pre-Linear folded; the ReLU is a population
    w = net.incoming("l0")[0].weights
    ref = (m.rnn.weight_ih_l0.double() @ m.pre.weight.double()).detach().numpy()
    np.testing.assert_allclose(w, ref, atol=1e-12)
    assert net.population("head_1").kind == "sd_rnn" and net.population("head_1").attrs["activation"] == "relu"


def test_embedding_ids_are_checked_and_fixed_point_agrees():
    torch.manual_seed(0)
    m = TextLSTM().eval()
    ids = torch.randint(0, 30, (4, 7))
    net = to_lava(m, "fixed")
    assert net.meta["input_encoding"] == "one_hot" and net.input_size == 30
    r = verify(m, net, ids)
    assert r.agreement == 1.0 and r.max_abs_error < 0.05, r.summary()
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 30\)"):
        net.run(torch.tensor([[0, 31]]))


def test_conv1d_stride_dilation_groups():
    torch.manual_seed(0)

    class K(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 6, 3, stride=2, dilation=2, groups=2, padding=2)
            self.gru = nn.GRU(6, 5)
            self.fc = nn.Linear(5, 2)

        def forward(self, x):  # (B, T, F) in, time-first into the GRU
            z = self.conv(x.permute(0, 2, 1)).permute(2, 0, 1)
            return self.fc(self.gru(z)[0][-1])

    m = K().eval()
    r = verify(m, to_lava(m), torch.randn(2, 13, 4))
    assert r.max_abs_error <= 1e-5, r.summary()


def test_mean_pooled_rnn_head_is_not_read_at_the_last_step():
    """The issue's 71.9 % case: the same weights read at the last step would differ."""
    torch.manual_seed(0)
    m = MeanPooled().eval()
    net = to_lava(m)
    assert net.meta["output"] == "mean" and verify(m, net, X).max_abs_error <= 1e-5


# ------------------------------------------------------------------------------------------- refusals
class _Wrap(nn.Module):
    """LSTM, then ``op`` on its output, then a Linear: each op below is named in the error."""

    def __init__(self, op, mod=None):
        super().__init__()
        self.rnn = nn.LSTM(4, 6, batch_first=True)
        self.mod = mod
        self.op = op
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(self.op(self, out))


UNSUPPORTED = [
    ("LayerNorm", lambda s, o: s.mod(o), nn.LayerNorm(6)),
    ("BatchNorm1d", lambda s, o: s.mod(o), nn.BatchNorm1d(9)),
    ("GELU", lambda s, o: s.mod(o), nn.GELU()),
    ("Softmax", lambda s, o: s.mod(o), nn.Softmax(-1)),
    ("MultiheadAttention", lambda s, o: s.mod(o, o, o)[0], nn.MultiheadAttention(6, 2, batch_first=True)),
    ("LSTMCell", lambda s, o: s.mod(o)[0], nn.LSTMCell(6, 6)),
    ("operator.mul", lambda s, o: o * o, None),
    ("operator.add", lambda s, o: o + 1.0, None),
    ("method .flip", lambda s, o: o.flip(1), None),
    ("torch.cumsum", lambda s, o: torch.cumsum(o, 1), None),
    ("method .exp", lambda s, o: o.exp(), None),
    ("torch.flip", lambda s, o: torch.flip(o, (1,)), None),
]


@pytest.mark.parametrize("name,op,mod", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_ops_are_named_with_path_and_line(name, op, mod):
    with pytest.raises(UnsupportedModelError) as e:
        to_lava(_Wrap(op, mod).eval())
    msg = str(e.value)
    assert name in msg and "test_converters_graph.py" in msg and "Supported:" in msg, msg
    if mod is not None:
        assert "'mod'" in msg


def test_untraceable_models_are_refused_with_the_line():
    with pytest.raises(UnsupportedModelError, match=r"cannot trace LSTMCellLoop.*bench_conversion_models.py"):
        to_lava(LSTMCellLoop())


def test_benchmark_table_runs(capsys):
    assert main(["--batch", "2", "--steps", "6"]) == 0
    out = capsys.readouterr().out
    assert "LSTMCell loop                  refused" in out and "mean-pooled .rnn+.head         mean" in out


def test_readouts_that_have_no_mapping_are_refused():
    class MaxThenLinear(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 6, batch_first=True)
            self.head = nn.Linear(6, 2)

        def forward(self, x):
            return self.head(self.rnn(x)[0].max(1).values)

    with pytest.raises(UnsupportedModelError, match="Linear after a max over time"):
        to_lava(MaxThenLinear())

    class BiHn(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 6, bidirectional=True)
            self.head = nn.Linear(6, 2)

        def forward(self, x):
            return self.head(self.rnn(x)[1][-1])

    with pytest.raises(UnsupportedModelError, match=r"h_n\[-1\] of a bidirectional"):
        to_lava(BiHn())

    class CellState(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.LSTM(4, 6)
            self.head = nn.Linear(6, 2)

        def forward(self, x):
            return self.head(self.rnn(x)[1][1][-1])

    with pytest.raises(UnsupportedModelError, match="cell state"):
        to_lava(CellState())


# ------------------------------------------------------------------------------------------- fuzzing
def _build(spec):
    """A model from a spec: optional pre-Linear, recurrent layers (kind, hidden, bidirectional), optional
    elementwise between two Linear layers, then a readout."""
    pre, layers, mid, readout = spec
    mods = nn.ModuleList()
    size = 3
    if pre:
        mods.append(nn.Linear(size, pre))
        size = pre
    rnns = nn.ModuleList()
    for kind, h, bi in layers:
        rnns.append(RNNS[kind](size, h, batch_first=True, bidirectional=bi))
        size = h * (2 if bi else 1)
    heads = nn.ModuleList([nn.Linear(size, 5)])
    if mid:
        heads.append(nn.Linear(5, 4))

    class Fuzz(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre, self.rnns, self.heads = mods, rnns, heads

        def forward(self, x):
            for m in self.pre:
                x = m(x)
            for r in self.rnns:
                x = r(x)[0]
            x = self.heads[0](x)
            if mid:
                x = self.heads[1](getattr(torch, mid)(x))
            if readout == "step":
                return x
            if readout == "last":
                return x[:, -1]
            return getattr(x, readout)(dim=1) if readout != "max" else x.max(dim=1)[0]

    return Fuzz().eval()


_layer = st.tuples(st.sampled_from(sorted(RNNS)), st.integers(2, 5), st.booleans())
_spec = st.tuples(st.sampled_from([0, 4]), st.lists(_layer, min_size=1, max_size=2),
                  st.sampled_from([None, "relu", "tanh", "sigmoid"]),
                  st.sampled_from(["step", "last", "mean", "sum", "max"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=_spec, seed=st.integers(0, 2 ** 16))
def test_fuzz_supported_graphs_convert_exactly(spec, seed):
    torch.manual_seed(seed)
    m = _build(spec)
    x = torch.randn(2, 5, 3)
    r = verify(m, to_lava(m), x)
    assert r.max_abs_error <= 1e-5, (spec, r.summary())


_BAD = {"softplus": lambda x: nn.functional.softplus(x), "mul": lambda x: x * 2.0, "exp": lambda x: x.exp(),
        "abs": lambda x: torch.abs(x), "log_softmax": lambda x: x.log_softmax(-1), "cumsum": lambda x: x.cumsum(1)}
_BAD_NAMES = {"softplus": "softplus", "mul": "operator.mul", "exp": ".exp", "abs": "torch.abs",
              "log_softmax": ".log_softmax", "cumsum": ".cumsum"}


@settings(max_examples=20, deadline=None)
@given(spec=_spec, bad=st.sampled_from(sorted(_BAD)), where=st.sampled_from(["input", "between", "end"]))
def test_fuzz_unsupported_graphs_name_the_culprit(spec, bad, where):
    m = _build(spec)
    fn = _BAD[bad]

    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.m = m

        def forward(self, x):
            if where == "input":
                x = fn(x)
            y = self.m.rnns[0](x)[0]
            if where == "between":
                y = fn(y)
            for r in self.m.rnns[1:]:
                y = r(y)[0]
            y = self.m.heads[0](y)
            return fn(y) if where == "end" else y

    with pytest.raises(UnsupportedModelError) as e:
        to_lava(Bad().eval())
    assert _BAD_NAMES[bad] in str(e.value) and "test_converters_graph.py" in str(e.value), str(e.value)
