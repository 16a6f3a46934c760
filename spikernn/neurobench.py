"""spikernn models in NeuroBench (2.3.0, Yik et al., Nature Communications 16:1545, 2025).

NeuroBench finds a model's connection layers (``nn.Linear``, ``nn.Conv*``, ``nn.RNNBase``,
``nn.RNNCellBase``) and activation layers (``nn.ReLU``, ``nn.Sigmoid``, snntorch neurons) by module type and
hooks them. spikernn's spiking layers are none of these (their synapses are weight tensors used inside one
fused step, and they spike through a function), so NeuroBench alone reports activation sparsity 0 and
synaptic operations 0 for them; it also raises on whole ``nn.LSTM``/``nn.GRU``/``nn.RNN`` layers (only the
cell variants are counted). This module gives NeuroBench a faithful **view** of a model:

* every spikernn layer and direction becomes two connection layers sharing the layer's tensors, ``ih``
  (``nn.Linear`` of ``weight_ih``/``bias_ih``: the input synapses) and ``hh`` (``weight_hh``/``bias_hh``: the
  recurrent synapses), and one activation layer, ``spikes`` (:class:`SpikeActivation`);
* a :class:`~spikernn.readout.LeakyReadout` becomes an ``nn.Linear`` of its weight and bias;
* a whole torch ``nn.RNN``/``nn.LSTM``/``nn.GRU`` becomes one ``nn.RNNCell``/``nn.LSTMCell``/``nn.GRUCell``
  per layer and direction (sharing its tensors), run step by step, so NeuroBench's cell definitions apply;
* ``nn.Linear``, ``nn.Conv*``, cells and activation modules of the model are used as they are.

:func:`trace` runs the model once and records what each of these sees: for spikernn layers the layer input
and the previous step's spikes at every **valid** time step (padding after a sequence's end excluded), and
the spikes themselves. :func:`wrap` returns a ``neurobench.models.NeuroBenchModel`` whose ``__net__()`` is
the view and whose call runs the real model (so predictions are the model's own) and then feeds the recorded
tensors to the view's modules, where NeuroBench's hooks count them. ``spikernn.energy.neurobench_metrics``
computes the same metrics from the same trace without NeuroBench installed.

NeuroBench is imported only inside :func:`wrap` (``pip install spikernn[neurobench]``).

>>> import spikernn as snr                                                     # doctest: +SKIP
>>> from spikernn.neurobench import lengths_from_padding, wrap                 # doctest: +SKIP
>>> from neurobench.benchmarks import Benchmark                                # doctest: +SKIP
>>> model = snr.SpikingSequenceClassifier("lstm", 12, 64, 9)                   # doctest: +SKIP
>>> nb = wrap(model, lengths_of=lengths_from_padding)                          # doctest: +SKIP
>>> Benchmark(nb, loader, [], [lambda y: y.argmax(-1)],
...           [["footprint", "connection_sparsity"],
...            ["activation_sparsity", "synaptic_operations"]]).run()          # doctest: +SKIP
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pad_packed_sequence

from spikernn.functional import STATE_TYPES
from spikernn.layers import _SpikingRNNBase, reverse_padded
from spikernn.readout import LeakyReadout

STATELESS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
CELLS = {"RNN_TANH": nn.RNNCell, "RNN_RELU": nn.RNNCell, "LSTM": nn.LSTMCell, "GRU": nn.GRUCell}


class SpikeActivation(nn.Module):
    """Identity module standing for a spiking layer's spike function, so NeuroBench can hook its output."""

    def forward(self, s: Tensor) -> Tensor:
        return s


def _activation_types() -> tuple[type, ...]:
    """NeuroBench's activation modules: ReLU, Sigmoid, snntorch's SpikingNeuron (when snntorch imports)."""
    types: list[type] = [nn.ReLU, nn.Sigmoid, SpikeActivation]
    try:
        from snntorch import SpikingNeuron

        types.append(SpikingNeuron)
    except Exception:  # pragma: no cover - snntorch is a core dependency
        pass
    return tuple(types)


def _linear_view(weight: Tensor, bias: Optional[Tensor]) -> nn.Linear:
    """An ``nn.Linear`` whose weight and bias ARE the given tensors (shared, not copied)."""
    lin = nn.Linear.__new__(nn.Linear)
    nn.Module.__init__(lin)
    lin.in_features, lin.out_features = int(weight.shape[1]), int(weight.shape[0])
    lin.weight = weight if isinstance(weight, nn.Parameter) else nn.Parameter(weight, requires_grad=False)
    if bias is None:
        lin.register_parameter("bias", None)
    else:
        lin.bias = bias if isinstance(bias, nn.Parameter) else nn.Parameter(bias, requires_grad=False)
    return lin


def _cell_view(rnn: nn.RNNBase, layer: int, reverse: bool) -> nn.RNNCellBase:
    """The torch cell of one layer/direction of ``rnn``, sharing its tensors."""
    if getattr(rnn, "proj_size", 0):
        raise ValueError("nn.LSTM with proj_size > 0 is not supported by the NeuroBench view")
    cls = CELLS.get(rnn.mode)
    if cls is None:
        raise ValueError(f"unsupported recurrent mode {rnn.mode!r}")
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    w_ih = getattr(rnn, "weight_ih" + sfx)
    kw = {"nonlinearity": "relu" if rnn.mode == "RNN_RELU" else "tanh"} if cls is nn.RNNCell else {}
    cell = cls.__new__(cls)
    nn.Module.__init__(cell)
    cell.input_size, cell.hidden_size, cell.bias = int(w_ih.shape[1]), rnn.hidden_size, rnn.bias
    if kw:
        cell.nonlinearity = kw["nonlinearity"]
    cell.weight_ih, cell.weight_hh = w_ih, getattr(rnn, "weight_hh" + sfx)
    if rnn.bias:
        cell.bias_ih, cell.bias_hh = getattr(rnn, "bias_ih" + sfx), getattr(rnn, "bias_hh" + sfx)
    else:
        cell.register_parameter("bias_ih", None)
        cell.register_parameter("bias_hh", None)
    return cell


class LayerView(nn.Module):
    """One spikernn layer/direction as NeuroBench sees it: ``ih`` and ``hh`` synapses, ``spikes``."""

    def __init__(self, layer: _SpikingRNNBase, k: int, reverse: bool) -> None:
        super().__init__()
        w = layer.weights(k, reverse)
        self.ih = _linear_view(w["weight_ih"], w["bias_ih"])
        self.hh = _linear_view(w["weight_hh"], w["bias_hh"])
        self.spikes = SpikeActivation()


class _Holder(nn.Module):
    """Registers every parameter and buffer of the model once, so the view's footprint is the model's."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        for i, p in enumerate(model.parameters()):
            self.register_parameter(f"p{i}", p)
        for i, b in enumerate(model.buffers()):
            self.register_buffer(f"b{i}", b)


class NeuroBenchView(nn.Module):
    """The model as NeuroBench sees it (see the module docstring). ``views`` maps a module of the model to
    its view modules; ``connections``/``activations`` hold them in model order."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.state = _Holder(model)
        self.connections = nn.ModuleList()
        self.activations = nn.ModuleList()
        self.views: dict[int, Any] = {}
        self.names: dict[int, str] = {}
        acts = _activation_types()
        for name, m in _walk(model):
            if isinstance(m, _SpikingRNNBase):
                vs = {}
                for k in range(m.num_layers):
                    for d in range(m.num_directions):
                        v = LayerView(m, k, d == 1)
                        self.connections.append(v)
                        vs[(k, d)] = v
                        self.names[id(v)] = f"{name or 'model'}.l{k}" + ("_reverse" if d else "")
                self.views[id(m)] = vs
            elif isinstance(m, LeakyReadout):
                v = _linear_view(m.weight, m.bias)
                self.connections.append(v)
                self.views[id(m)] = v
                self.names[id(v)] = name or "readout"
            elif isinstance(m, nn.RNNBase):
                vs = {}
                for k in range(m.num_layers):
                    for d in range(2 if m.bidirectional else 1):
                        c = _cell_view(m, k, d == 1)
                        self.connections.append(c)
                        vs[(k, d)] = c
                        self.names[id(c)] = f"{name or 'rnn'}.l{k}" + ("_reverse" if d else "")
                self.views[id(m)] = vs
            elif isinstance(m, STATELESS + (nn.RNNCellBase,)):
                self.connections.append(m)
                self.names[id(m)] = name or type(m).__name__
            elif isinstance(m, acts):
                self.activations.append(m)
                self.names[id(m)] = name or type(m).__name__


def _walk(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """Modules of ``model`` in order, not descending into those the view handles as a whole."""
    handled = (_SpikingRNNBase, LeakyReadout, nn.RNNBase, nn.RNNCellBase) + STATELESS + _activation_types()
    stack = [("", model)]
    while stack:
        name, m = stack.pop(0)
        yield name, m
        if isinstance(m, handled):
            continue
        stack[0:0] = [(f"{name}.{n}" if name else n, c) for n, c in m.named_children()]


# -- tracing -----------------------------------------------------------------------------------------------
@dataclass
class Call:
    """One input (connection layer) or output (activation layer) as NeuroBench would see it.

    ``module`` is the layer (the model's own or a view's); ``args`` what it is called with (a connection:
    ``(x,)``, a cell ``(x, h)`` / ``(x, (h, c))``); ``output`` an activation's output; ``replay``: whether a
    :func:`wrap`-ped model must feed it to the view (False for the model's own modules, which NeuroBench hooks
    as they run)."""

    name: str
    module: nn.Module
    args: tuple = ()
    output: Optional[Tensor] = None
    replay: bool = True


@dataclass
class Trace:
    """What one forward pass showed NeuroBench's view: ``output`` (the model's own), ``connections`` and
    ``activations`` (:class:`Call` lists, in call order), ``samples`` (the batch size) and ``notes``."""

    output: Any
    connections: list[Call] = field(default_factory=list)
    activations: list[Call] = field(default_factory=list)
    samples: int = 0
    notes: list[str] = field(default_factory=list)


def _valid_mask(T: int, B: int, lengths: Optional[Tensor], device: Any) -> Tensor:
    if lengths is None:
        return torch.ones(T, B, dtype=torch.bool, device=device)
    L = torch.as_tensor(lengths).to(device)
    return torch.arange(T, device=device).unsqueeze(1) < L.unsqueeze(0)


_SFX = re.compile(r"_l(\d+)(_reverse)?$")


def _single_layer(layer: _SpikingRNNBase, k: int, cache: dict) -> _SpikingRNNBase:
    """Layer ``k`` of ``layer`` as a one-layer module of the same class and options (cached)."""
    key = (id(layer), k)
    if key in cache:
        return cache[key]
    args = dict(layer.config["args"])
    args.update(input_size=layer.input_size if k == 0 else layer.hidden_size * layer.num_directions,
                num_layers=1, batch_first=False, dropout=0.0)
    one = type(layer)(**args)
    sd = {}
    for name, t in layer.state_dict().items():
        m = _SFX.search(name)
        if m and int(m.group(1)) == k:
            sd[name[: m.start()] + "_l0" + (m.group(2) or "")] = t
    one.load_state_dict(sd, strict=True)
    one.eval()
    cache[key] = one
    return one


def _spiking_calls(view: NeuroBenchView, layer: _SpikingRNNBase, x: Tensor, lengths: Optional[Tensor],
                   state: Optional[tuple], out: Tensor, cache: dict) -> tuple[list[Call], list[Call]]:
    """Per layer/direction: ih inputs, hh inputs (previous spikes) and spikes, at valid steps only."""
    T, B = x.shape[0], x.shape[1]
    H, D = layer.hidden_size, layer.num_directions
    mask = _valid_mask(T, B, lengths, x.device)
    conns, acts = [], []
    inp = x
    for k in range(layer.num_layers):
        if layer.num_layers == 1:
            out_k = out
        else:
            st = None if state is None else type(state)(*(f[k * D:(k + 1) * D] for f in state))
            with torch.no_grad():
                out_k, _ = _single_layer(layer, k, cache).forward_padded(inp, lengths, st)
        for d in range(D):
            v = view.views[id(layer)][(k, d)]
            S = out_k[..., d * H:(d + 1) * H]
            zero = torch.zeros_like(S[:1])
            if d == 0:  # the spikes a step receives back: the previous step's (in its processing order)
                prev = torch.cat([zero, S[:-1]], 0)
            else:  # reverse direction: the next time step's, zero at each sequence's last valid step
                prev = torch.cat([S[1:], zero], 0)
            if state is not None:
                s0 = state[0][k * D + d]
                if d == 0:
                    prev[0] = s0
                else:
                    last = (lengths - 1) if lengths is not None else torch.full((B,), T - 1)
                    prev[last.to(prev.device), torch.arange(B, device=prev.device)] = s0
            name = view.names[id(v)]
            conns.append(Call(f"{name}.ih", v.ih, (inp[mask],)))
            conns.append(Call(f"{name}.hh", v.hh, (prev[mask],)))
            acts.append(Call(f"{name}.spikes", v.spikes, output=S[mask]))
        inp = out_k
    return conns, acts


def _dense_calls(view: NeuroBenchView, rnn: nn.RNNBase, args: tuple, output: Any) -> list[Call]:
    """Replay a whole torch RNN/LSTM/GRU with its cells, step by step, at valid steps only."""
    x = args[0]
    hx = args[1] if len(args) > 1 else None
    lengths = None
    if isinstance(x, PackedSequence):  # padded back in the caller's batch order, as hx is given
        x, lengths = pad_packed_sequence(x, batch_first=False)
    elif rnn.batch_first and x.dim() == 3:
        x = x.transpose(0, 1)
    if x.dim() == 2:  # unbatched (T, I)
        x = x.unsqueeze(1)
        hx = None if hx is None else (tuple(h.unsqueeze(1) for h in hx) if isinstance(hx, tuple) else hx.unsqueeze(1))
    T, B = x.shape[0], x.shape[1]
    D, H = (2 if rnn.bidirectional else 1), rnn.hidden_size
    is_lstm = rnn.mode == "LSTM"
    mask = _valid_mask(T, B, lengths, x.device)
    calls = []
    inp = x
    for k in range(rnn.num_layers):
        outs = []
        for d in range(D):
            cell = view.views[id(rnn)][(k, d)]
            xs = inp if d == 0 else reverse_padded(inp, lengths)
            i = k * D + d
            if hx is None:
                h = torch.zeros(B, H, dtype=x.dtype, device=x.device)
                c = torch.zeros_like(h)
            else:
                h = (hx[0] if is_lstm else hx)[i]
                c = hx[1][i] if is_lstm else None
            hs = []
            for t in range(T):
                m = mask[t]
                a = (xs[t][m], (h[m], c[m])) if is_lstm else (xs[t][m], h[m])
                calls.append(Call(view.names[id(cell)], cell, a))
                with torch.no_grad():  # .forward: no hooks (NeuroBench's must see only the replayed calls)
                    nh = cell.forward(xs[t], (h, c)) if is_lstm else cell.forward(xs[t], h)
                if is_lstm:
                    nh, nc = nh
                    c = torch.where(m.unsqueeze(1), nc, c)
                h = torch.where(m.unsqueeze(1), nh, h)
                hs.append(nh * m.unsqueeze(1))
            seq = torch.stack(hs, 0)
            outs.append(seq if d == 0 else reverse_padded(seq, lengths))
        inp = torch.cat(outs, -1) if D == 2 else outs[0]
    real = output[0]
    if isinstance(real, PackedSequence):
        real = pad_packed_sequence(real, batch_first=False)[0]
    elif rnn.batch_first and real.dim() == 3:
        real = real.transpose(0, 1)
    if real.dim() == 2:
        real = real.unsqueeze(1)
    if real.shape == inp.shape and not torch.allclose(real.float(), inp.float(), atol=1e-4, rtol=1e-3):
        raise RuntimeError(f"the cell-by-cell replay of {type(rnn).__name__} differs from its output "
                           f"(max |diff| {float((real - inp).abs().max()):.3g}); its NeuroBench counts would be wrong")
    return calls


def default_forward(model: nn.Module, x: Any, lengths: Any = None) -> Any:
    """The model called as :mod:`spikernn.protocol` says: a recurrent layer as ``model(x)`` (its whole
    output), a sequence model as ``model(x, lengths)`` (full lengths when none are given)."""
    from spikernn.protocol import call_model, is_recurrent_layer

    return model(x) if is_recurrent_layer(model) else call_model(model, x, lengths)


def trace(model: nn.Module, x: Any, *, lengths: Any = None, view: Optional[NeuroBenchView] = None,
          forward: Optional[Callable[..., Any]] = None) -> Trace:
    """Run ``model`` on ``x`` once (no grad) and record what NeuroBench's view of it sees.

    Args:
        model: any torch module; spikernn layers, LeakyReadout, torch RNN/LSTM/GRU layers and cells, Linear,
            Conv and activation modules inside it are traced (see the module docstring).
        x: one batch; its first dimension is taken as the number of samples, as NeuroBench does.
        lengths: optional (B,) valid lengths, passed to the model when its forward takes them.
        view: the :class:`NeuroBenchView` to record against (default: built here).
        forward: ``forward(model, x, lengths) -> output`` (default :func:`default_forward`), e.g. a loop over
            time steps for snntorch networks.
    """
    view = view if view is not None else NeuroBenchView(model)
    fwd = forward or default_forward
    tr = Trace(output=None, samples=int(x.shape[0]) if hasattr(x, "shape") and len(x.shape) else 1)
    handles, patched = [], []
    spiking: list[tuple] = []
    readouts: list[tuple] = []
    dense: list[tuple] = []
    acts = _activation_types()

    def conn_hook(mod, args):
        tr.connections.append(Call(view.names.get(id(mod), type(mod).__name__), mod, tuple(args), replay=False))

    def act_hook(mod, args, out):
        o = out
        if isinstance(out, tuple):
            spk = getattr(mod, "init_hidden", False) and not getattr(mod, "output", False)
            o = out if spk and not isinstance(out, tuple) else out[0]
        tr.activations.append(Call(view.names.get(id(mod), type(mod).__name__), mod, output=o.detach(),
                                   replay=False))

    for _, m in _walk(model):
        if isinstance(m, _SpikingRNNBase):
            own = m.__dict__.get("forward_padded")

            def patched_fp(xx, lengths=None, hx=None, _m=m, _own=own, **kw):
                res = (_own or type(_m).forward_padded.__get__(_m))(xx, lengths, hx, **kw)
                state = None if hx is None else STATE_TYPES[_m.kind](*_m._state_in(hx, xx, False)[0])  # spiking form
                spiking.append((_m, xx, lengths, state, res[0], len(tr.connections), len(tr.activations)))
                return res

            m.forward_padded = patched_fp
            patched.append((m, own))
        elif isinstance(m, LeakyReadout):
            handles.append(m.register_forward_pre_hook(
                lambda mod, args: readouts.append((mod, args[0], len(tr.connections)))))
        elif isinstance(m, nn.RNNBase):
            handles.append(m.register_forward_hook(
                lambda mod, args, out: dense.append((mod, tuple(args), out, len(tr.connections)))))
        elif isinstance(m, STATELESS + (nn.RNNCellBase,)):
            handles.append(m.register_forward_pre_hook(conn_hook))
        elif isinstance(m, acts):
            handles.append(m.register_forward_hook(act_hook))
    try:
        with torch.no_grad():
            tr.output = fwd(model, x, lengths)
    finally:
        for h in handles:
            h.remove()
        for m, own in patched:
            if own is None:
                del m.__dict__["forward_padded"]
            else:
                m.forward_padded = own
    # insert the recorded layer calls where they happened in the forward pass (later positions first)
    cache: dict = {}
    inserts: list[tuple[int, int, list[Call], list[Call]]] = []
    last_lengths: dict[tuple[int, int], Any] = {}
    for (m, xx, ll, st, out, ci, ai) in spiking:
        c, a = _spiking_calls(view, m, xx, ll, st, out, cache)
        inserts.append((ci, ai, c, a))
        last_lengths[(out.shape[0], out.shape[1])] = ll
    for (m, s, ci) in readouts:
        ll = last_lengths.get((s.shape[0], s.shape[1])) if s.dim() == 3 else None
        rows = s[_valid_mask(s.shape[0], s.shape[1], ll, s.device)] if s.dim() == 3 else s
        inserts.append((ci, len(tr.activations), [Call(view.names[id(view.views[id(m)])], view.views[id(m)],
                                                      (rows,))], []))
    for (m, args, out, ci) in dense:
        inserts.append((ci, len(tr.activations), _dense_calls(view, m, args, out), []))
        tr.notes.append(f"{type(m).__name__} counted as NeuroBench counts its cells ({CELLS[m.mode].__name__}, "
                        "step by step): NeuroBench 2.3.0 itself raises on whole nn.RNN/LSTM/GRU layers")
    for ci, ai, c, a in sorted(inserts, key=lambda t: (t[0], t[1]), reverse=True):
        tr.connections[ci:ci] = c
        tr.activations[ai:ai] = a
    return tr


def lengths_from_padding(x: Tensor, *, batch_first: bool = True) -> Tensor:
    """(B,) valid lengths of a zero-padded batch: one past the last step with any nonzero feature (at least 1).
    For ``wrap(model, lengths_of=lengths_from_padding)`` when the data loader gives only padded sequences."""
    xt = x if batch_first else x.transpose(0, 1)  # (B, T, F)
    nonzero = (xt != 0).flatten(2).any(-1)  # (B, T)
    T = nonzero.shape[1]
    last = torch.where(nonzero, torch.arange(1, T + 1, device=x.device), torch.zeros((), dtype=torch.long)).amax(1)
    return last.clamp(min=1).cpu()


# -- NeuroBench ---------------------------------------------------------------------------------------------
def wrap(model: nn.Module, *, forward: Optional[Callable[..., Any]] = None,
         lengths_of: Optional[Callable[[Any], Any]] = None) -> Any:
    """A ``neurobench.models.NeuroBenchModel`` running ``model`` with its synapses and spikes exposed.

    Args:
        model: a spikernn model (or any torch module; see the module docstring for what is exposed).
        forward: ``forward(model, x, lengths) -> output`` (default :func:`default_forward`).
        lengths_of: optional ``x -> (B,) lengths`` for padded batches (NeuroBench passes only the data).

    Raises:
        ImportError: when neurobench is not installed (``pip install spikernn[neurobench]``).
    """
    try:
        from neurobench.models import NeuroBenchModel
    except Exception as exc:
        raise ImportError(f"spikernn.neurobench.wrap needs NeuroBench: pip install 'spikernn[neurobench]' "
                          f"(neurobench==2.3.0) ({exc})") from None

    class SpikernnNeuroBenchModel(NeuroBenchModel):
        """NeuroBench model over a spikernn model; ``__net__()`` is its :class:`NeuroBenchView`."""

        def __init__(self) -> None:
            super().__init__()
            self.net = model
            self.net.eval()
            self.view = NeuroBenchView(model)
            self.add_activation_module(SpikeActivation)
            self.last_trace: Optional[Trace] = None

        def __call__(self, batch: Any) -> Any:
            lengths = lengths_of(batch) if lengths_of is not None else None
            tr = trace(self.net, batch, lengths=lengths, view=self.view, forward=forward)
            with torch.no_grad():
                for c in tr.connections + tr.activations:
                    if c.replay:
                        c.module(*c.args) if c.output is None else c.module(c.output)
            self.last_trace = tr
            return tr.output

        def __net__(self) -> nn.Module:
            return self.view

    return SpikernnNeuroBenchModel()
