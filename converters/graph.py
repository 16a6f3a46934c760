"""Conversion from the model's traced graph (torch.fx), whatever its attributes are called.

:func:`graph_to_network` traces ``model.forward`` with recurrent layers (``torch.nn.RNN/LSTM/GRU``, spikernn's
spiking layers) and every ``torch.nn`` module as leaves, then reads the graph node by node. What it maps:

* recurrent layers: ``nn.RNN/LSTM/GRU`` (sigma-delta kinds, :mod:`spikernn.converters.dense`) and spikernn
  ``SpikingRNN/LSTM/GRU`` (spiking kinds, :mod:`spikernn.converters.spiking`), one after another; layer
  populations are named ``l0, l1, ...`` across modules;
* ``nn.Linear`` (and chains of them) before, between and after recurrent layers: kept as a pending affine
  map and folded exactly into the weights that read it (``W_ih A`` and ``W_ih c`` into the input bias; into the
  readout) - a Linear never becomes a population of its own;
* ``ReLU`` / ``tanh`` (modules, functions or methods): an ``sd_rnn`` population (relu / tanh, no recurrent
  block) of the pending affine map; ``sigmoid(z) = (1 + tanh(z/2)) / 2``: an ``sd_rnn`` tanh population of
  ``z/2`` whose ``0.5 h + 0.5`` is folded into its reader. Only on sigma-delta (dense) paths;
* ``Dropout`` (modules, ``F.dropout``) and ``Identity``: identity (inference);
* ``nn.Conv1d`` over time on the input (any kernel, stride, dilation, zero padding, groups): host
  preprocessing that only rearranges - the host sends each output step's window of K input frames
  (``meta["input_unfold"]``), the kernel becomes a synapse block folded into its reader (exact). Cost: each
  frame is sent up to K times (the input events count them) and the kernel's C x F x K weights sit in synapses;
* ``nn.Embedding`` on the input: the host sends one-hot token vectors (``meta["input_encoding"] = "one_hot"``),
  the table is folded into the first synapses (``W_ih E``), so the lookup costs on the chip what it costs
  there: a changed token sends two delta events (old -1, new +1), each through that column's fan-out;
* readouts: every step (``meta["output"] = "sequence"``), the last step (``out[:, -1]``, ``h_n[-1]``), the
  last valid step (``out[arange(B), lengths - 1]``, ``h_n[-1]`` of a packed run), mean / sum / max over time
  (``.mean(dim)``, ``.sum(dim)``, ``.max(dim)[0]``, ``.amax(dim)``; over valid steps after
  ``pad_packed_sequence`` with ``sum / lengths``). The chip computes the per-step readout (the Linear), the
  host reads it at or over the steps (:func:`spikernn.hardware.io.format_output`); a Linear after a mean is
  exact per step, after a sum its bias is added once on the host (``meta["output_bias"]``); a Linear after a
  max over time is not linear in the per-step values and is refused;
* ``pack_padded_sequence`` / ``pad_packed_sequence`` (called by those names), ``transpose``/``permute``,
  ``contiguous``, ``size``/``shape``, ``torch.arange``, ``lengths - 1``, ``unsqueeze``, ``.float()``, ``cat``
  of per-step features.

Everything else raises :class:`UnsupportedModelError` naming the operation, the module path, the source line
of the user's forward and what is supported: no node of the graph is left out of the network silently.
"""
from __future__ import annotations

import inspect
import operator
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import fx, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from spikernn.converters.dense import _KIND, add_layers, add_readout, check_dense_rnn, dense_mode
from spikernn.converters.spiking import _readout_linear, neuron_params, soma_kinds, spiking_mode
from spikernn.hardware.network import Network, Population, SynapseBlock
from spikernn.readout import LeakyReadout

SUPPORTED = ("nn.RNN/LSTM/GRU, spikernn SpikingRNN/LSTM/GRU, nn.Linear (before/between/after, folded), "
             "ReLU/tanh/sigmoid between Linear layers (dense paths), Dropout/Identity, nn.Embedding and "
             "nn.Conv1d over time on the input, spikernn LeakyReadout, "
             "readouts: every step, last step, last valid step (out[arange(B), lengths-1], h_n[-1]), mean/sum/max "
             "over time, pack_padded_sequence/pad_packed_sequence, transpose/permute/contiguous/size, cat")


class UnsupportedModelError(TypeError, ValueError):
    """A model, module or operation the converters cannot map; the message names it, its module path and
    the source line of the user's forward, and lists what is supported."""


# ------------------------------------------------------------------------------------------ abstract values
@dataclass
class Feat:
    """A per-step feature tensor: ``A @ concat(src outputs) + c`` (``A``/``c`` None: the identity)."""

    src: list[tuple[str, int]]
    dims: tuple[str, ...]
    coding: str | None  # "delta" (sigma-delta senders), "value" (spikes, values), None (the input, undecided)
    A: np.ndarray | None = None
    c: np.ndarray | None = None
    packed: bool = False  # a PackedSequence
    zero_invalid: bool = False  # padded back by pad_packed_sequence: zero beyond each sequence's length
    decay: np.ndarray | None = None  # a leaky readout (spikernn LeakyReadout) integrates the affine map

    @property
    def n_src(self) -> int:
        return sum(n for _, n in self.src)

    @property
    def size(self) -> int:
        return self.A.shape[0] if self.A is not None else self.n_src

    def affine(self) -> tuple[np.ndarray, np.ndarray]:
        A = np.eye(self.n_src) if self.A is None else self.A
        return A, (np.zeros(A.shape[0]) if self.c is None else self.c)

    def then(self, W: np.ndarray, b: np.ndarray) -> "Feat":
        """This feature followed by ``W @ . + b``."""
        A, c = self.affine()
        return replace(self, A=W @ A, c=W @ c + b)


@dataclass
class Pooled:
    """A (B, F) tensor read from a Feat at or over time, then ``post`` (a Linear) applied."""

    feat: Feat
    pool: str  # "last_step", "mean", "sum", "max"
    valid: bool  # over each sequence's valid steps (lengths)
    post: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class HState:
    """The final hidden state h_n of a recurrent module (its ``out`` feature and layout facts)."""

    out: Feat
    layers: int
    directions: int


@dataclass
class Opaque:
    """A value the converter knows but cannot map further (an LSTM's c_n, indices of a max, ...)."""

    what: str


@dataclass
class Lengths:
    offset: int = 0


@dataclass
class Dim:
    label: str


@dataclass
class Shape:
    dims: tuple[str, ...]


@dataclass
class Arange:
    label: str


@dataclass
class Tup:
    items: tuple


# --------------------------------------------------------------------------------------------- tracing
class _Tracer(fx.Tracer):
    """fx tracer: recurrent layers and every torch.nn module are leaves; pack/pad functions stay calls."""

    def __init__(self) -> None:
        super().__init__(autowrap_functions=(pack_padded_sequence, pad_packed_sequence))
        self.record_stack_traces = True

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return (dense_mode(m) is not None or spiking_mode(m) is not None or isinstance(m, LeakyReadout)
                or super().is_leaf_module(m, qualname))


def _user_frame(tb) -> str:
    """'file:line: code' of the deepest frame outside torch in a traceback."""
    best = ""
    for fr in traceback.extract_tb(tb):
        if "/torch/" not in fr.filename:
            best = f"{fr.filename}:{fr.lineno}: {(fr.line or '').strip()}"
    return best


def trace(model: nn.Module) -> fx.Graph:
    """The fx graph of ``model.forward`` (arguments after the second are fixed at their defaults)."""
    params = list(inspect.signature(model.forward).parameters.values())
    concrete = {}
    for p in params[2:]:
        if p.default is inspect.Parameter.empty:
            raise UnsupportedModelError(f"{type(model).__name__}.forward takes {len(params)} arguments; the converters "
                                        "call model(x) or model(x, lengths) (spikernn.protocol)")
        concrete[p.name] = p.default
    import torch.nn.utils.rnn as rnn_utils

    saved = {f.__name__: f for f in (pack_padded_sequence, pad_packed_sequence)}
    try:
        for name, fn in saved.items():  # reached as torch.nn.utils.rnn.<name> (autowrap sees only globals)
            setattr(rnn_utils, name, _recorded(fn))
        return _Tracer().trace(model, concrete_args=concrete or None)
    except UnsupportedModelError:
        raise
    except Exception as e:  # noqa: BLE001 - any tracing failure is reported with the user's line
        where = _user_frame(e.__traceback__)
        raise UnsupportedModelError(
            f"cannot trace {type(model).__name__}.forward with torch.fx ({type(e).__name__}: {e})"
            f"{' at ' + where if where else ''}. Data-dependent Python control flow, loops over time steps "
            f"(e.g. an nn.LSTMCell loop) and checks on tensor values cannot be traced; supported: {SUPPORTED}") from None
    finally:
        for name, fn in saved.items():
            setattr(rnn_utils, name, fn)


def _recorded(fn):
    """``fn`` as one graph node when called on traced values (else ``fn`` itself)."""
    def call(*args, **kwargs):
        proxies = [a for a in list(args) + list(kwargs.values()) if isinstance(a, fx.Proxy)]
        if not proxies:
            return fn(*args, **kwargs)
        return proxies[0].tracer.create_proxy("call_function", fn, args, kwargs)
    call.__name__ = fn.__name__
    return call


def _source_line(node: fx.Node) -> str:
    """'File ..., line N, in fn: code' of the user's frame that created ``node`` (the last outside torch)."""
    lines = [ln.strip() for ln in (node.stack_trace or "").strip().splitlines() if ln.strip()]
    best = ""
    for i, ln in enumerate(lines):
        if ln.startswith("File ") and "/torch/" not in ln:
            best = f"{ln}: {lines[i + 1] if i + 1 < len(lines) and not lines[i + 1].startswith('File ') else ''}"
    return best or "(no source line recorded)"


def _op_name(node: fx.Node, modules: dict) -> str:
    """How an error names a node: the module (type and path), or the function/method and the module it is in."""
    if node.op == "call_module":
        return f"{type(modules[node.target]).__name__} (module {node.target!r})"
    if node.op == "call_method":
        what = f"method .{node.target}()"
    else:
        t = node.target
        what = f"function {getattr(t, '__module__', '') or ''}.{getattr(t, '__name__', str(t))}".replace("_operator.",
                                                                                                     "operator.")
    stack = node.meta.get("nn_module_stack") or {}
    if stack:
        path, cls = list(stack.values())[-1]
        what += f" in module {path!r} ({getattr(cls, '__name__', cls)})"
    return what


# ------------------------------------------------------------------------------------------ the reader
@dataclass
class _Builder:
    model: nn.Module
    threshold: float
    pops: list = field(default_factory=list)
    syns: list = field(default_factory=list)
    input_size: int | None = None
    input_coding: str | None = None
    vocab: int | None = None
    layers: int = 0
    families: set = field(default_factory=set)
    recurrent: list = field(default_factory=list)
    subst: dict = field(default_factory=dict)
    uses_lengths: bool = False
    packed: bool = False
    unfold: dict | None = None
    node: Any = None
    modules: dict = field(default_factory=dict)

    # -- errors and layout -------------------------------------------------------------------------
    def fail(self, why: str) -> None:
        n = self.node
        raise UnsupportedModelError(
            f"cannot convert {type(self.model).__name__}: {_op_name(n, self.modules)} at {_source_line(n)}: {why}. "
            f"Supported: {SUPPORTED}")

    def resolve(self, label: str) -> str:
        while label in self.subst:
            label = self.subst[label]
        return label

    def bind(self, dims: tuple[str, ...], want: tuple[str, ...]) -> None:
        if len(dims) != len(want):
            self.fail(f"expected a tensor of rank {len(want)} ({', '.join(want)}), got rank {len(dims)}")
        for d, w in zip(dims, want):
            r = self.resolve(d)
            if r in ("B", "T", "F"):
                if r != w:
                    self.fail(f"layout mismatch: this dimension is {r} where {w} is expected")
            else:
                self.subst[r] = w

    def need_coding(self, f: Feat, coding: str) -> None:
        if f.coding is None:
            if self.input_coding not in (None, coding):
                self.fail("the input feeds both spiking and sigma-delta stages (one input encoding only)")
            self.input_coding = coding
        elif f.coding != coding:
            self.fail(f"a {'spiking' if coding == 'value' else 'sigma-delta (dense)'} stage reads "
                      f"{'sigma-delta changes' if f.coding == 'delta' else 'spikes/values'}: dense and spiking "
                      "stages cannot be chained")

    def feat_size(self, f: Feat, n: int) -> None:
        if f.src and f.src[0][0] == "input" and f.src[0][1] is None:
            f.src[0] = ("input", n)
            self.input_size = n
        elif f.size != n:
            self.fail(f"expects {n} features, gets {f.size}")

    # -- mapping -----------------------------------------------------------------------------------
    def recurrent_layer(self, m: nn.Module, f: Feat) -> Tup:
        if not isinstance(f, Feat):
            self.fail(f"input is {type(f).__name__}, not a per-step sequence")
        bf = bool(m.batch_first)
        if not f.packed:
            self.bind(f.dims, ("B", "T", "F") if bf else ("T", "B", "F"))
        self.feat_size(f, int(m.input_size))
        spiking = spiking_mode(m) is not None
        coding = "value" if spiking else "delta"
        self.need_coding(f, coding)
        if spiking:
            mode = spiking_mode(m)
            kinds, params_fn = soma_kinds(m), (lambda k, rev, H, m=m: neuron_params(m, k, rev, H))
        else:
            mode = check_dense_rnn(m)
            kinds, params_fn = _KIND, None
        last = add_layers(self.pops, self.syns, m, mode, f.src, threshold=self.threshold, kinds=kinds,
                          params_fn=params_fn, in_affine=None if f.A is None else f.affine(),
                          first_layer=self.layers)
        self.layers += int(m.num_layers)
        self.families.add("spiking" if spiking else "dense")
        self.recurrent.append((m, mode))
        D = 2 if m.bidirectional else 1
        self.packed |= f.packed
        out = Feat(src=[(n, int(m.hidden_size)) for n in last], dims=("B", "T", "F") if bf else ("T", "B", "F"),
                   coding=coding, packed=f.packed)
        h = HState(out, int(m.num_layers), D)
        state = Tup((h, Opaque("the LSTM cell state c_n"))) if mode == "LSTM" else h
        return Tup((out, state))

    def elementwise(self, fn: str, f: Any) -> Any:
        if isinstance(f, Pooled) and f.pool == "last_step" and f.post is None:  # per-step op, then the same read
            return replace(f, feat=self.elementwise(fn, f.feat))
        if not isinstance(f, Feat) or f.packed or f.decay is not None:
            self.fail(f"{fn} is mapped on per-step features only (got {type(f).__name__}"
                      f"{' of a leaky readout' if isinstance(f, Feat) and f.decay is not None else ''})")
        self.need_coding(f, "delta")
        if f.zero_invalid:
            self.fail(f"{fn} after pad_packed_sequence (the padding steps would not stay zero)")
        if f.src[0][1] is None:
            self.fail(f"{fn} directly on the input has no sigma-delta neuron to run on (put a Linear before it)")
        A, c = f.affine()
        if fn == "sigmoid":
            A, c = A / 2, c / 2
        name = self.node.name
        self.pops.append(Population(name=name, kind="sd_rnn", size=A.shape[0], params={"bias": c},
                                    attrs={"activation": "tanh" if fn != "relu" else "relu",
                                           "delta_threshold": float(self.threshold)}))
        col = 0
        for s, n in f.src:
            self.syns.append(SynapseBlock(name=f"{s}->{name}", source=s, target=name, port="in",
                                          weights=A[:, col:col + n]))
            col += n
        out = Feat(src=[(name, A.shape[0])], dims=f.dims, coding="delta", zero_invalid=f.zero_invalid)
        if fn == "sigmoid":
            n = A.shape[0]
            out = replace(out, A=np.eye(n) / 2, c=np.full(n, 0.5))
        return out

    def embedding(self, m: nn.Embedding, f: Any) -> Feat:
        if not (isinstance(f, Feat) and f.src == [("input", None)] and f.A is None):
            self.fail("nn.Embedding is supported on the model's input (token ids) only")
        if m.max_norm is not None:
            self.fail("nn.Embedding with max_norm renormalises rows at lookup time; not supported")
        V = int(m.num_embeddings)
        self.vocab = V
        f.src[0] = ("input", V)
        self.input_size = V
        self.need_coding(f, "delta")
        dims = f.dims[:2] + ("F",)
        return Feat(src=[("input", V)], dims=dims, coding=None, A=m.weight.detach().double().numpy().T.copy(),
                    c=np.zeros(m.embedding_dim))

    def conv1d(self, m: nn.Conv1d, f: Any) -> Feat:
        """A Conv1d over time on the input: the host sends each output step's window of K input frames
        (``meta["input_unfold"]``, no arithmetic), the kernel is a synapse block folded into its reader."""
        if not (isinstance(f, Feat) and f.src[0][0] == "input" and f.A is None and len(f.src) == 1):
            self.fail("Conv1d over time is mapped on the model's input only (as the host's window stage)")
        if m.padding_mode != "zeros":
            self.fail(f"Conv1d padding_mode={m.padding_mode!r} (only 'zeros')")
        self.bind(f.dims, ("B", "F", "T"))
        F, C, K = int(m.in_channels), int(m.out_channels), int(m.kernel_size[0])
        d, st, g = int(m.dilation[0]), int(m.stride[0]), int(m.groups)
        if m.padding == "same":
            left = d * (K - 1) // 2
            right = d * (K - 1) - left
        elif m.padding == "valid":
            left = right = 0
        else:
            left = right = int(m.padding[0])
        self.feat_size(f, F)
        f.src[0] = ("input", F * K)
        self.input_size = F * K
        self.unfold = {"features": F, "kernel_size": K, "stride": st, "dilation": d, "pad_left": left,
                       "pad_right": right}
        W = m.weight.detach().double().numpy()  # (C, F/g, K)
        A = np.zeros((C, F, K))
        per_in, per_out = F // g, C // g
        for gi in range(g):
            A[gi * per_out:(gi + 1) * per_out, gi * per_in:(gi + 1) * per_in] = W[gi * per_out:(gi + 1) * per_out]
        c = np.zeros(C) if m.bias is None else m.bias.detach().double().numpy()
        return Feat(src=f.src, dims=f.dims, coding=f.coding, A=A.reshape(C, F * K), c=c)

    def linear(self, m: nn.Linear, v: Any) -> Any:
        W = m.weight.detach().double().numpy()
        b = np.zeros(W.shape[0]) if m.bias is None else m.bias.detach().double().numpy()
        if isinstance(v, Feat) and v.decay is not None:
            self.fail("a Linear after a leaky readout (the readout population is read by the host)")
        if isinstance(v, Feat) and not v.packed:
            self.bind(v.dims[-1:], ("F",))
            self.feat_size(v, W.shape[1])
            return v.then(W, b)
        if isinstance(v, Pooled) and v.feat.decay is not None:
            self.fail("a Linear after a leaky readout (the readout population is read by the host)")
        if isinstance(v, Pooled) and v.pool == "last_step" and v.post is None:  # per step, read at the same step
            return replace(v, feat=self.linear(m, v.feat))
        if isinstance(v, Pooled):
            if v.pool == "max":
                self.fail("a Linear after a max over time is not linear in the per-step values the chip reads; "
                          "apply the Linear per step before the max (head(out).max(dim)) or pool by mean")
            if (v.post[0].shape[0] if v.post is not None else v.feat.size) != W.shape[1]:
                self.fail(f"expects {W.shape[1]} features")
            P, q = v.post if v.post is not None else (np.eye(v.feat.size), np.zeros(v.feat.size))
            return replace(v, post=(W @ P, W @ q + b))
        self.fail(f"Linear on a {type(v).__name__}")

    def leaky_readout(self, m: LeakyReadout, f: Any) -> Feat:
        """spikernn's LeakyReadout (time-first input): its Linear, integrated with its decay on the chip."""
        if not isinstance(f, Feat) or f.packed or f.decay is not None or f.zero_invalid:
            self.fail("LeakyReadout reads a per-step spike sequence (T, B, F)")
        self.bind(f.dims, ("T", "B", "F"))
        self.feat_size(f, int(m.in_features))
        lin, decay = _readout_linear(m)
        return replace(f.then(lin.weight.detach().double().numpy(), lin.bias.detach().double().numpy()
                              if lin.bias is not None else np.zeros(lin.weight.shape[0])), decay=decay)

    def time_dim(self, f: Feat, dim: Any) -> None:
        """Bind dimension ``dim`` of ``f`` to time (the other non-feature dimension to batch)."""
        if not isinstance(dim, int):
            self.fail(f"pooling needs one integer dimension, got {dim!r}")
        d = dim % len(f.dims)
        r = self.resolve(f.dims[d])
        if r in ("B", "F"):
            self.fail(f"reading over dimension {dim}, which is {r}, not time")
        if r != "T":
            self.subst[r] = "T"
        for i, o in enumerate(f.dims[:-1]):
            if i != d and self.resolve(o) not in ("B", "T"):
                self.subst[self.resolve(o)] = "B"

    def pool(self, kind: str, f: Any, dim: Any, keepdim: bool = False) -> Pooled:
        if not isinstance(f, Feat) or f.packed:
            self.fail(f"{kind} over time of a {type(f).__name__}")
        if keepdim:
            self.fail("keepdim=True pooling is not supported")
        self.time_dim(f, dim)
        if f.zero_invalid:  # padded back by pad_packed_sequence: only a plain sum (then / lengths) is mapped
            if f.A is not None or kind != "sum":
                self.fail(f"{kind} over a padded-back sequence{' after a Linear' if f.A is not None else ''} counts "
                          "the padding; map: out.sum(dim) / lengths (then the Linear)")
            return Pooled(f, "sum", valid=True)
        return Pooled(f, kind, valid=False)

    def getitem(self, v: Any, idx: Any) -> Any:
        if isinstance(v, Opaque):
            self.fail(f"{v.what} has no hardware mapping")
        if isinstance(v, Tup):
            if not isinstance(idx, int):
                self.fail(f"tuple index {idx!r}")
            item = v.items[idx]
            if isinstance(item, Opaque):
                return item
            return item
        if isinstance(v, Shape):
            return Dim(v.dims[idx])
        if isinstance(v, HState):
            if not isinstance(idx, int):
                self.fail(f"h_n[{idx!r}]: only h_n[-1] (the last layer) is mapped")
            n = v.layers * v.directions
            i = idx % n
            if v.directions == 2 or i != n - 1:
                self.fail(f"h_n[{idx}] of a {'bidirectional ' if v.directions == 2 else ''}module: only h_n[-1] of a "
                          "unidirectional module (= out at the last valid step) is mapped; read out[:, -1] or "
                          "out[arange(B), lengths - 1] of a bidirectional one")
            return Pooled(replace(v.out, packed=False), "last_step", valid=v.out.packed)
        if isinstance(v, Feat) and not v.packed:
            idx = idx if isinstance(idx, tuple) else (idx,)
            if len(idx) == 2 and isinstance(idx[0], Arange) and isinstance(idx[1], Lengths) and idx[1].offset == -1:
                self.bind(v.dims[:2], ("B", "T"))
                self.bind((idx[0].label,), ("B",))
                return Pooled(v, "last_step", valid=True)
            if len(idx) == 2 and isinstance(idx[1], Arange) and isinstance(idx[0], Lengths) and idx[0].offset == -1:
                self.bind(v.dims[:2], ("T", "B"))
                self.bind((idx[1].label,), ("B",))
                return Pooled(v, "last_step", valid=True)
            full = [i for i, e in enumerate(idx) if e == slice(None) or e is Ellipsis]
            pick = [i for i, e in enumerate(idx) if isinstance(e, int)]
            if len(pick) == 1 and idx[pick[0]] == -1 and len(full) == len(idx) - 1 and Ellipsis not in idx[:pick[0]]:
                self.time_dim(v, pick[0])
                return Pooled(v, "last_step", valid=False)
        self.fail(f"indexing a {type(v).__name__} with {idx!r}: only out[:, -1], out[-1] (time-first), "
                  "out[arange(B), lengths - 1] and h_n[-1] are mapped")

    # -- the output --------------------------------------------------------------------------------
    def readout(self, f: Feat, A: np.ndarray, c: np.ndarray) -> list[str]:
        if f.coding is None:
            self.need_coding(f, "delta")
        coding = f.coding or self.input_coding
        name = "readout" if "spiking" in self.families else "head"
        add_readout(self.pops, self.syns, (A, c), [s for s, _ in f.src], [n for _, n in f.src], decay=f.decay,
                    input_coding="delta" if coding == "delta" else None, name=name)
        return [name]

    def finish(self, v: Any) -> tuple[list[str], dict]:
        meta: dict[str, Any] = {}
        if isinstance(v, Feat) and not v.packed:
            self.bind(v.dims, (self.resolve(v.dims[0]), self.resolve(v.dims[1]), "F"))
            if v.A is None and v.src[0][0] != "input":
                outs = [s for s, _ in v.src]
            else:
                outs = self.readout(v, *v.affine())
            meta["output"] = "sequence"
            if v.zero_invalid:  # torch gives the affine map of zeros beyond each length
                meta["zero_invalid"] = True
                meta["invalid_fill"] = None if v.A is None else [float(x) for x in v.affine()[1]]
            meta["out_dims"] = [self.resolve(d) for d in v.dims]
            return outs, meta
        if isinstance(v, Pooled):
            f = v.feat
            A, c = f.affine()
            bias = None
            if v.post is not None:
                P, q = v.post
                A, c = P @ A, P @ c
                if v.pool == "sum":
                    bias = q  # added once, after the sum
                else:
                    c = c + q
            if v.post is None and f.A is None and f.src[0][0] != "input":
                outs = [s for s, _ in f.src]
            else:
                outs = self.readout(f, A, c)
            meta.update(output=v.pool, pool_valid=bool(v.valid),
                        output_bias=None if bias is None else [float(b) for b in bias])
            if v.valid:
                self.uses_lengths = True
            return outs, meta
        self.fail(f"the model returns a {type(v).__name__}; a per-step tensor or a (B, C) readout is expected"
                  if not isinstance(v, Tup) else "the model returns a tuple; return one tensor (the logits/outputs)")
        raise AssertionError  # unreachable


_ELEMENTWISE = {nn.ReLU: "relu", nn.Tanh: "tanh", nn.Sigmoid: "sigmoid"}
_FUNCS = {torch.relu: "relu", torch.nn.functional.relu: "relu", torch.tanh: "tanh", torch.sigmoid: "sigmoid",
          torch.nn.functional.tanh: "tanh", torch.nn.functional.sigmoid: "sigmoid"}
_POOLS = {"mean": "mean", "sum": "sum", "max": "max", "amax": "max"}
_PASS_METHODS = ("contiguous", "float", "double", "long", "int", "to", "cpu", "clone", "detach")


def _arg(node: fx.Node, i: int, name: str, default: Any = None) -> Any:
    return node.args[i] if len(node.args) > i else node.kwargs.get(name, default)


def graph_to_network(model: nn.Module, *, threshold: float = 0.0, input_threshold: float | None = None,
                     batch_first: bool | None = None) -> Network:
    """The float :class:`Network` of any traceable ``model`` built from the mapped operations (module
    docstring); :class:`UnsupportedModelError` naming the first operation it cannot map."""
    gm_graph = trace(model)
    b = _Builder(model=model, threshold=float(threshold), modules=dict(model.named_modules()))
    env: dict[fx.Node, Any] = {}
    placeholders = []

    def val(a: Any) -> Any:
        return fx.node.map_arg(a, lambda n: env[n])

    result = None
    for node in gm_graph.nodes:
        b.node = node
        if node.op == "placeholder":
            placeholders.append(node.target)
            if len(placeholders) == 1:
                env[node] = Feat(src=[("input", None)], dims=("x0", "x1", "F"), coding=None)
            else:
                b.uses_lengths = True
                env[node] = Lengths()
            continue
        if node.op == "get_attr":
            b.fail("reading a parameter or buffer directly in forward (only modules' own use is mapped)")
        if node.op == "output":
            result = val(node.args[0])
            break
        args = val(node.args)
        kw = val(node.kwargs)
        if node.op == "call_module":
            m = b.modules[node.target]
            if dense_mode(m) is not None or spiking_mode(m) is not None:
                if len(args) > 1 and args[1] is not None:
                    b.fail("an initial hidden state is not mapped (the chip starts from zero)")
                env[node] = b.recurrent_layer(m, args[0])
            elif isinstance(m, nn.Linear):
                env[node] = b.linear(m, args[0])
            elif isinstance(m, (nn.Dropout, nn.Identity, nn.AlphaDropout)):
                env[node] = args[0]
            elif type(m) in _ELEMENTWISE:
                env[node] = b.elementwise(_ELEMENTWISE[type(m)], args[0])
            elif isinstance(m, nn.Conv1d):
                env[node] = b.conv1d(m, args[0])
            elif isinstance(m, LeakyReadout):
                env[node] = b.leaky_readout(m, args[0])
            elif isinstance(m, nn.Embedding):
                env[node] = b.embedding(m, args[0])
            else:
                b.fail("this module has no hardware mapping")
            continue
        target = node.target
        name = target if node.op == "call_method" else getattr(target, "__name__", str(target))
        x0 = args[0] if args else None
        if node.op == "call_function" and target in _FUNCS:
            env[node] = b.elementwise(_FUNCS[target], x0)
        elif node.op == "call_method" and name in ("relu", "tanh", "sigmoid"):
            env[node] = b.elementwise(name, x0)
        elif node.op == "call_function" and target is torch.nn.functional.dropout:
            env[node] = x0
        elif name in _POOLS and isinstance(x0, Feat):
            dim = _arg(node, 1, "dim")
            if isinstance(dim, (tuple, list)) and len(dim) == 1:
                dim = dim[0]
            p = b.pool(_POOLS[name], x0, dim, bool(kw.get("keepdim", False)))
            env[node] = Tup((p, Opaque("the indices of a max"))) if name == "max" else p
        elif target is getattr and args[1] in ("device", "dtype"):
            env[node] = Opaque(f"a tensor's .{args[1]}")
        elif target is getattr and isinstance(x0, Tup) and args[1] in ("values", "indices"):
            env[node] = b.getitem(x0, 0 if args[1] == "values" else 1)
        elif target is operator.getitem:
            env[node] = b.getitem(x0, args[1])
        elif (target is getattr and args[1] == "shape") or name == "size":
            if not isinstance(x0, Feat):
                b.fail(f"shape of a {type(x0).__name__}")
            s = Shape(x0.dims)
            d = _arg(node, 1, "dim") if name == "size" else None
            env[node] = Dim(x0.dims[d]) if d is not None else s
        elif name in ("transpose", "swapaxes") and isinstance(x0, Feat):
            i, j = (a % len(x0.dims) for a in args[1:3])
            d = list(x0.dims)
            d[i], d[j] = d[j], d[i]
            env[node] = replace(x0, dims=tuple(d))
        elif name == "permute" and isinstance(x0, Feat):
            perm = args[1] if isinstance(args[1], (tuple, list)) else args[1:]
            env[node] = replace(x0, dims=tuple(x0.dims[p] for p in perm))
        elif name in _PASS_METHODS and node.op == "call_method" and isinstance(x0, (Feat, Lengths, Arange)):
            env[node] = x0
        elif target is torch.arange and isinstance(x0, Dim) and len(args) == 1:
            env[node] = Arange(x0.label)
        elif target is operator.sub and isinstance(x0, Lengths) and isinstance(args[1], int):
            env[node] = Lengths(x0.offset - args[1])
        elif name == "unsqueeze" and isinstance(x0, Lengths):
            env[node] = Lengths(x0.offset)
        elif target is operator.truediv and isinstance(x0, Pooled) and x0.pool == "sum" and x0.post is None:
            if isinstance(args[1], Lengths) and args[1].offset == 0 and x0.valid:
                env[node] = replace(x0, pool="mean")
            elif isinstance(args[1], Dim) and b.resolve(args[1].label) == "T" and not x0.valid:
                env[node] = replace(x0, pool="mean")
            else:
                b.fail("a sum over time divided by something else than the lengths (after pad_packed_sequence) "
                       "or the number of steps")
        elif target is torch.cat and all(isinstance(a, Feat) for a in args[0]):
            fs = list(args[0])
            dim = _arg(node, 1, "dim", 0)
            if dim % len(fs[0].dims) != len(fs[0].dims) - 1:
                b.fail("cat is mapped along the feature (last) dimension only")
            if len({f.coding for f in fs}) != 1 or any(f.packed or f.src[0][1] is None for f in fs):
                b.fail("cat of features with different codings, packed sequences or raw input")
            src = [s for f in fs for s in f.src]
            blocks = [f.affine() for f in fs]
            A = np.zeros((sum(a.shape[0] for a, _ in blocks), sum(a.shape[1] for a, _ in blocks)))
            r = k = 0
            for a, _ in blocks:
                A[r:r + a.shape[0], k:k + a.shape[1]] = a
                r, k = r + a.shape[0], k + a.shape[1]
            env[node] = Feat(src=src, dims=fs[0].dims, coding=fs[0].coding, A=A,
                             c=np.concatenate([c for _, c in blocks]), zero_invalid=all(f.zero_invalid for f in fs))
        elif target is pack_padded_sequence and isinstance(x0, Feat) and isinstance(args[1], Lengths):
            bf = bool(_arg(node, 2, "batch_first", False))
            b.bind(x0.dims, ("B", "T", "F") if bf else ("T", "B", "F"))
            env[node] = replace(x0, packed=True)
        elif target is pad_packed_sequence and isinstance(x0, Feat) and x0.packed:
            bf = bool(_arg(node, 1, "batch_first", False))
            env[node] = Tup((replace(x0, packed=False, zero_invalid=True,
                                     dims=("B", "T", "F") if bf else ("T", "B", "F")), Lengths()))
        else:
            b.fail("this operation has no hardware mapping" + (
                f" (on {x0.what})" if isinstance(x0, Opaque) else
                f" (on a {type(x0).__name__})" if x0 is not None and not isinstance(x0, (int, float)) else ""))
    outs, meta = b.finish(result)
    if not b.recurrent and not b.pops:
        raise UnsupportedModelError(f"{type(model).__name__} has nothing to convert (no recurrent layer or Linear)")
    if b.input_size is None:
        raise UnsupportedModelError(f"{type(model).__name__}: the model input reaches no mapped layer")
    bf_in = b.resolve("x0") == "B" if b.resolve("x0") in ("B", "T") else (
        b.resolve("x1") == "T" if b.resolve("x1") in ("B", "T") else None)
    if bf_in is None:
        bf_in = bool(getattr(model, "batch_first", True))
    if meta["output"] == "sequence":
        out_bf = meta.pop("out_dims")[0] == "B"
        if out_bf != bf_in:
            raise UnsupportedModelError(f"{type(model).__name__} takes {'(B, T, .)' if bf_in else '(T, B, .)'} input "
                                        f"and returns {'(B, T, .)' if out_bf else '(T, B, .)'} output; a network "
                                        "keeps one layout for both")
    if batch_first is not None:
        bf_in = bool(batch_first)
    in_thr = float(threshold if input_threshold is None else input_threshold)
    coding = b.input_coding or "delta"
    attrs = {"encoding": coding}
    if coding == "delta":
        attrs["delta_threshold"] = in_thr
    pops = [Population(name="input", kind="input", size=int(b.input_size), attrs=attrs)] + b.pops
    assign_stages(pops, b.syns)
    first = b.recurrent[0] if b.recurrent else None
    last = b.recurrent[-1] if b.recurrent else None
    family = "spiking" if "spiking" in b.families else "dense"
    meta.update({
        "source": "torch.fx graph of " + type(model).__qualname__,
        "model": type(model).__name__,
        "kind": first[1].lower() if first else "linear",
        "family": family,
        "batch_first": bf_in,
        "num_layers": b.layers,
        "hidden_size": int(last[0].hidden_size) if last else 0,
        "bidirectional": any(bool(m.bidirectional) for m, _ in b.recurrent),
        "inputs": ["x", "lengths"][:len(placeholders)],
        "packed": b.packed,
    })
    if family == "dense":
        meta.update(threshold=float(threshold), input_threshold=in_thr)
    if b.vocab is not None:
        meta.update(input_encoding="one_hot", vocab_size=b.vocab)
    if b.unfold is not None:
        meta["input_unfold"] = b.unfold
    if meta["output"] != "sequence":
        meta["num_classes"] = int(sum(p.size for p in pops if p.name in outs))
    for k in [k for k, v in meta.items() if v is None]:
        del meta[k]
    return Network(populations=pops, synapses=b.syns, input="input", outputs=outs, precision="float", meta=meta)


def assign_stages(pops: list[Population], syns: list[SynapseBlock]) -> None:
    """Stage of every population (in creation order): a population reads the whole recorded sequence of a
    source that runs backward in time, or runs backward itself over a computed source, one stage later."""
    stage = {p.name: 0 for p in pops}
    byname = {p.name: p for p in pops}
    for p in pops:
        s = 0
        for blk in syns:
            if blk.target != p.name or blk.source == p.name:
                continue
            src = byname[blk.source]
            if src.kind == "input":
                continue
            s = max(s, stage[src.name] + (1 if (src.reverse or p.reverse) else 0))
        stage[p.name] = s
        p.stage = s
