"""Multi-layer spiking RNN/LSTM/GRU with the interface of ``torch.nn.RNN/LSTM/GRU``.

Calls and returns as torch's::

    out, h_n = rnn(input, hx=None)              # SpikingRNN, SpikingGRU
    out, (h_n, c_n) = lstm(input, hx=None)      # SpikingLSTM

``input`` is (T,B,I), (B,T,I) with ``batch_first``, unbatched (T,I) or a ``PackedSequence`` (then ``out`` is
packed the same way and the final state of each sequence is taken at its own last step). ``out`` holds binary
spikes (T,B,D*H) (D = 2 when bidirectional; forward direction first). Dropout (as torch) acts on the outputs
of every layer but the last, in training only.

**States.** A spiking neuron holds more than torch's ``h`` (and ``c``): its last spikes ``s``, membrane ``v``,
adaptation ``a``, and the LSTM's analog cell state ``c`` or the GRU's analog state ``h``. ``hx`` comes in one
of two forms and the returned state has the form that came in:

* **torch form** (``hx`` None, a tensor ``h0``, or ``(h0, c0)`` for the LSTM), each (num_layers*D, B, H) —
  (num_layers*D, H) for unbatched input — ordered as torch's ``h_n``. ``h0`` is taken as ``s0``, the previous
  output that the recurrent weights read (as torch's ``h0`` is read by ``W_hh``); ``c0`` as the LSTM's cell
  state; membrane, adaptation and the GRU's analog state start at zero. Returned: ``h_n`` = the final spikes
  (so ``h_n[-1] == out[-1]`` for a unidirectional layer, as in torch) and, for the LSTM, ``c_n`` = the final
  cell state. Feeding them back continues the spikes and ``c`` but restarts the rest of the neuron from rest.
* **spiking form**: :class:`~spikernn.functional.RNNState` ``(s, v, a)``, ``LSTMState (s, v, a, c)``,
  ``GRUState (s, v, a, h)`` (fields shaped as above); the full final state comes back in the same form, and
  feeding it back continues a sequence exactly. ``layer.initial_state(B)`` makes the all-zero one:
  ``out, st = lstm(x, lstm.initial_state(B))``.

Parameters are torch's names and shapes (``weight_ih_l{k}[_reverse]``, ``weight_hh_...``, ``bias_ih_...``,
``bias_hh_...``); :meth:`~_SpikingRNNBase.from_torch` builds a layer from a torch one and reports what it
copied. The neuron tensors (:mod:`spikernn.neurons`) are ``decay_l{k}[_reverse]``, ``threshold_...``,
``adapt_decay_...``, ``adapt_scale_...`` (LIF) or ``alpha_...``, ``beta_...``, ``a_...``, ``b_...``,
``threshold_...`` (adLIF).

**Tools.** ``torch.compile`` (default backend) compiles the module around the fused whole-sequence kernel,
which runs eagerly inside the compiled model (it is marked ``torch.compiler.disable``: its hand-written
backward is already one node per layer). Under ``torch.func`` transforms (``grad``, ``vmap``, ``jacrev``,
``jacfwd``, ...) the layer runs its step path (same values; a one-time warning says so). ``forward`` never
waits for the device by default: activity counters stay on the device until read, and the NaN/inf input
check runs on CPU tensors only (:func:`spikernn.set_finite_checks`). Per-sequence ``lengths`` and packed
input are read on the host, as torch's packing does.

**Rate bound.** With the neuron option ``rate_target`` (SpikingRNN's adLIF default 0.12) each layer and direction
passes its spikes through :func:`spikernn.rate_bound.bound_rate` in training: the same values, with a gradient
that lowers the population's mean rate while it is above the target (over the valid steps only).
"""
from __future__ import annotations

import logging
import math
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Optional, Union

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from spikernn import functional as SF
from spikernn._checks import (check_bool, check_features, check_positive_int, check_same_dtype, check_tensor, current_transform,
                              is_transformed)
from spikernn.activity import LayerActivity
from spikernn.fused import fused_sequence, linear, lstm_gate_scale
from spikernn.neurons import (NeuronOptions, neuron_values, register_neuron_tensors,
                              reset_neuron_tensors, soma_params)
from spikernn.protocol import current_context
from spikernn.rate_bound import bound_rate

log = logging.getLogger("spikernn")
_WARNED: set = set()


def _warn_once(key: str, message: str) -> None:
    if key not in _WARNED:
        _WARNED.add(key)
        warnings.warn(message, stacklevel=3)


def reverse_padded(x: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """Reverse each sequence of (T,B,*) ``x`` within its own length (padding stays at the end); ``lengths``
    (B,) on ``x``'s device or None."""
    if lengths is None:
        return x.flip(0)
    T, B = x.shape[0], x.shape[1]
    t = torch.arange(T, device=x.device).unsqueeze(1)
    L = lengths.to(x.device).unsqueeze(0)
    idx = torch.where(t < L, L - 1 - t, t)  # (T,B)
    idx = idx.view(T, B, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, idx)


@dataclass
class TorchWeights:
    """What :meth:`_SpikingRNNBase.from_torch` / ``load_torch_weights`` copied: ``copied`` (name, shape) of
    every tensor of the torch module, ``kept`` the spiking layer's own neuron tensors (not in torch), and
    ``source`` the torch module's repr."""

    source: str
    copied: list
    kept: list

    def __str__(self) -> str:
        names = ", ".join(f"{n} {tuple(s)}" for n, s in self.copied)
        return (f"copied {len(self.copied)} tensors from {self.source}: {names}; kept the spiking neuron's own "
                f"{len(self.kept)} tensors ({', '.join(self.kept)})")


def _fused_chunk(layer: "_SpikingRNNBase", k: int, reverse: bool, x: Tensor, state0: tuple) -> tuple:
    """The fused whole-sequence path of one layer/direction (input projection + :func:`fused_sequence`); runs
    eagerly under ``torch.compile`` (through :func:`_fused_chunk_eager`)."""
    sfx = layer._suffix(k, reverse)
    w = layer.weights(k, reverse)
    T, B, I = x.shape
    w_ih, w_hh = w["weight_ih"], w["weight_hh"]
    b = None
    if w["bias_ih"] is not None:
        b = w["bias_ih"] + w["bias_hh"] if layer.kind != "gru" else w["bias_ih"]
    if layer.kind == "lstm":  # the fused LSTM takes the g rows doubled
        scale = lstm_gate_scale(layer.hidden_size, w_ih.dtype, w_ih.device)
        w_ih, w_hh = w_ih * scale.unsqueeze(1), w_hh * scale.unsqueeze(1)
        b = b * scale if b is not None else None
    x_proj = linear(x.reshape(T * B, I), w_ih, b).view(T, B, w_ih.shape[0])
    b_hh = w["bias_hh"] if layer.kind == "gru" else None
    soma = soma_params(layer, sfx, layer.neuron_options)
    s0, v0, a0 = state0[:3]
    c0 = state0[3] if len(state0) > 3 else torch.zeros_like(v0)
    return fused_sequence(layer.kind, x_proj, w_hh, b_hh, soma, (s0, v0, a0, c0), layer._surrogate,
                          layer._surrogate_grad)


# _fused_chunk marked torch.compiler.disable, in torch's lazy form: ``torch.compiler.disable`` itself imports
# torch._dynamo (~2.5 s), which ``import spikernn`` should not pay. It is used whenever torch._dynamo is loaded
# (torch.compile loads it before tracing): a compiled forward that breaks its graph runs the rest eagerly, and
# dynamo would then compile the fused kernel's own frames unless they are marked.
_fused_chunk_eager = torch._disable_dynamo(_fused_chunk)


class _SpikingRNNBase(nn.Module):
    kind = "rnn"
    torch_class: type = nn.RNN

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        *,
        proj_size: int = 0,
        device: Any = None,
        dtype: Optional[torch.dtype] = None,
        fused: bool = True,
        **neuron_options: Any,
    ) -> None:
        super().__init__()
        input_size, hidden_size, num_layers = (check_positive_int(v, name) for name, v in (
            ("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)))
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout <= 1.0):
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
        if proj_size:
            raise ValueError(f"proj_size={proj_size!r} is not supported: a spiking layer's output is its spikes "
                             "(hidden_size wide)")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = check_bool(bias, "bias"), check_bool(batch_first, "batch_first")
        self.dropout = float(dropout)
        self.bidirectional = check_bool(bidirectional, "bidirectional")
        self.proj_size = 0
        self.fused = check_bool(fused, "fused")
        self.neuron_options = NeuronOptions.from_kwargs(neuron_options, self.kind)
        self._surrogate = self.neuron_options.surrogate_fn()
        self._surrogate_grad = self.neuron_options.surrogate_grad_fn()
        self.last_activity: list[LayerActivity] = []
        factory = {"device": device, "dtype": dtype}
        G = SF.GATES[self.kind]
        for k, reverse in self._populations():
            in_k = input_size if k == 0 else hidden_size * self.num_directions
            sfx = self._suffix(k, reverse)
            setattr(self, "weight_ih" + sfx, nn.Parameter(torch.empty(G * hidden_size, in_k, **factory)))
            setattr(self, "weight_hh" + sfx, nn.Parameter(torch.empty(G * hidden_size, hidden_size, **factory)))
            if bias:
                setattr(self, "bias_ih" + sfx, nn.Parameter(torch.empty(G * hidden_size, **factory)))
                setattr(self, "bias_hh" + sfx, nn.Parameter(torch.empty(G * hidden_size, **factory)))
            register_neuron_tensors(self, sfx, hidden_size, self.neuron_options, **factory)
        self.reset_parameters()

    @staticmethod
    def _suffix(layer: int, reverse: bool) -> str:
        return f"_l{layer}" + ("_reverse" if reverse else "")

    @property
    def num_directions(self) -> int:
        """2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    def _populations(self) -> list[tuple[int, bool]]:
        """(layer, reverse) of every layer and direction, in torch's order."""
        return [(k, d == 1) for k in range(self.num_layers) for d in range(self.num_directions)]

    def reset_parameters(self) -> None:
        """Uniform(-1/sqrt(H), 1/sqrt(H)) for the recurrent weights and the biases, as torch; the input weights
        ``weight_ih_*`` Uniform(-1/sqrt(F), 1/sqrt(F)) with F their fan-in (input_size, or D*H for layers
        after the first), so that a z-scored input of any width drives the soma near its threshold at
        initialisation (:data:`spikernn.neurons.INPUT_INIT` says why); neuron tensors to their initial
        values (:func:`spikernn.neurons.reset_neuron_tensors`)."""
        for name, p in self.named_parameters():
            if name.startswith(("weight_", "bias_")):
                fan = p.shape[1] if name.startswith("weight_ih") else self.hidden_size
                nn.init.uniform_(p, -1.0 / math.sqrt(fan), 1.0 / math.sqrt(fan))
        for layer, reverse in self._populations():
            reset_neuron_tensors(self, self._suffix(layer, reverse), self.neuron_options)

    def flatten_parameters(self) -> None:
        """No-op, for code written for ``torch.nn.LSTM``: the spiking layers keep no cuDNN flat weight buffer."""

    @property
    def all_weights(self) -> list[list[nn.Parameter]]:
        """Per layer and direction ``[weight_ih, weight_hh, bias_ih, bias_hh]`` (without biases if bias=False),
        as torch's ``all_weights``."""
        return [[p for p in self.weights(k, r).values() if p is not None] for k, r in self._populations()]

    # ------------------------------------------------------------------ public helpers
    def neuron_parameters(self, layer: int, reverse: bool = False) -> dict[str, Any]:
        """Effective neuron values of ``layer`` (direction ``reverse``), detached float tensors of shape (H,),
        plus ``neuron`` and ``reset`` (str): see :func:`spikernn.neurons.neuron_values` (LIF: ``decay``,
        ``threshold``, ``adapt_decay``, ``adapt_scale``; adLIF: ``alpha``, ``beta``, ``a``, ``b``,
        ``threshold``, ``discretisation``)."""
        if not 0 <= layer < self.num_layers:
            raise ValueError(f"layer must be in [0, {self.num_layers}), got {layer}")
        if reverse and not self.bidirectional:
            raise ValueError("reverse=True needs a bidirectional layer")
        return neuron_values(self, self._suffix(layer, reverse), self.neuron_options)

    def weights(self, layer: int, reverse: bool = False) -> dict[str, Optional[Tensor]]:
        """``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` of one layer/direction (None without bias)."""
        sfx = self._suffix(layer, reverse)
        return {n: getattr(self, n + sfx, None) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}

    def initial_state(self, batch_size: Optional[int] = None, *, device: Any = None,
                      dtype: Optional[torch.dtype] = None) -> tuple:
        """The all-zero spiking state (fields (num_layers*D, B, H), or (num_layers*D, H) for ``batch_size``
        None), on the weights' device and dtype unless given. Passing it as ``hx`` returns the full final
        spiking state."""
        w = self.weight_ih_l0
        shape = (self.num_layers * self.num_directions,) + (() if batch_size is None else (int(batch_size),))
        return SF.zero_state(self.kind, shape, self.hidden_size, dtype or w.dtype, device or w.device)

    @classmethod
    def from_torch(cls, module: nn.Module, *, return_report: bool = False, **neuron_options: Any):
        """A spiking layer with the sizes, layout, dropout, device and dtype of the torch layer ``module``
        (``torch.nn.RNN`` for SpikingRNN, ``LSTM``, ``GRU``) and a copy of all its weights; ``neuron_options``
        as the constructor's. Logs what it copied (logger "spikernn", INFO); ``return_report=True`` returns
        ``(layer, TorchWeights)``. No ``strict=False`` needed, so a wrong module is an error, not a silence.

        >>> import spikernn as snr
        >>> lstm = torch.nn.LSTM(3, 4, num_layers=2)
        >>> m, rep = snr.SpikingLSTM.from_torch(lstm, return_report=True)
        >>> len(rep.copied), torch.equal(m.weight_hh_l1, lstm.weight_hh_l1)
        (8, True)
        """
        if not isinstance(module, cls.torch_class):
            raise TypeError(f"{cls.__name__}.from_torch takes a torch.nn.{cls.torch_class.__name__}, got "
                            f"{type(module).__name__}")
        if getattr(module, "proj_size", 0):
            raise ValueError(f"proj_size={module.proj_size} has no spiking counterpart")
        p = next(module.parameters())
        layer = cls(module.input_size, module.hidden_size, module.num_layers, module.bias, module.batch_first,
                    module.dropout, module.bidirectional, device=p.device, dtype=p.dtype, **neuron_options)
        report = layer.load_torch_weights(module)
        log.info("%s.from_torch: %s", cls.__name__, report)
        return (layer, report) if return_report else layer

    def load_torch_weights(self, module: nn.Module) -> TorchWeights:
        """Copy every tensor of the torch layer ``module``'s ``state_dict`` into this layer (same names; a
        missing name or a different shape is a ValueError naming it); the neuron tensors stay. Returns the
        report."""
        own = dict(self.named_parameters())
        src = module.state_dict()
        for name, t in src.items():
            if name not in own:
                raise ValueError(f"{type(module).__name__} has {name!r}, which {type(self).__name__} lacks "
                                 f"(sizes or options differ?)")
            if own[name].shape != t.shape:
                raise ValueError(f"{name}: shape {tuple(t.shape)} in {type(module).__name__}, "
                                 f"{tuple(own[name].shape)} here")
        with torch.no_grad():
            for name, t in src.items():
                own[name].copy_(t)
        kept = [n for n, _ in self.state_dict().items() if n not in src]
        return TorchWeights(repr(module), [(n, tuple(t.shape)) for n, t in src.items()], kept)

    @property
    def config(self) -> dict[str, Any]:
        """JSON-able constructor description (class name + arguments) used by :func:`spikernn.save`."""
        args = {"input_size": self.input_size, "hidden_size": self.hidden_size, "num_layers": self.num_layers,
                "bias": self.bias, "batch_first": self.batch_first, "dropout": self.dropout,
                "bidirectional": self.bidirectional, "fused": self.fused, **self.neuron_options.to_config()}
        return {"class": type(self).__name__, "args": args}

    @property
    def activity(self) -> list[LayerActivity]:
        """Activity of the last forward pass (alias of ``last_activity``)."""
        return self.last_activity

    def extra_repr(self) -> str:
        o = self.neuron_options
        s = f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.bidirectional:
            s += ", bidirectional=True"
        if o.adlif:
            return s + f", neuron='adlif', discretisation={o.discretisation!r}, threshold={o.threshold}, reset={o.reset!r}"
        return s + f", decay={o.decay}, threshold={o.threshold}, reset={o.reset!r}, adaptive={o.adaptive}"

    # ------------------------------------------------------------------ forward
    def forward(self, input: Union[Tensor, PackedSequence], hx: Optional[Any] = None
                ) -> tuple[Union[Tensor, PackedSequence], Any]:
        """Run the whole sequence; returns ``(out, state)`` with the state in the form of ``hx`` (module
        docstring)."""
        x = input
        packed = isinstance(x, PackedSequence)
        lengths = None
        if packed:
            check_tensor(x.data, "input.data")
            if x.data.dim() != 2 or x.data.shape[-1] != self.input_size:
                raise ValueError(f"packed input must have data of shape (N, {self.input_size}), got {tuple(x.data.shape)}")
            xs, lengths = pad_packed_sequence(x, batch_first=False)
            unbatched = False
        else:
            layout = "((B,T,I) with batch_first, or unbatched (T,I))" if self.batch_first else "((T,B,I) or unbatched (T,I))"
            check_features(x, (2, 3), self.input_size, "input", layout)
            unbatched = x.dim() == 2
            xs = x.unsqueeze(1) if unbatched else (x.transpose(0, 1) if self.batch_first else x)
        init, spiking_form = self._state_in(hx, xs, unbatched)
        out, final = self.forward_padded(xs, lengths, SF.STATE_TYPES[self.kind](*init), _checked=True)
        if packed:
            out = self._pack_like(out, lengths, x)
        elif unbatched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if unbatched:
            final = type(final)(*(t.squeeze(1) for t in final))
        if spiking_form:
            return out, final
        return out, ((final.s, final.c) if self.kind == "lstm" else final.s)

    def forward_padded(self, x: Tensor, lengths: Optional[Tensor] = None, hx: Optional[Any] = None, *,
                       _checked: bool = False) -> tuple[Tensor, tuple]:
        """Time-first padded input (T,B,I) with optional ``lengths`` (B,) -> ``(out (T,B,D*H), spiking state)``.

        ``out`` is zero after each sequence's end; the final state is taken at each sequence's last step.
        ``hx`` in either form (module docstring); the state returned is always the full spiking one.
        (Models use this to avoid packing; ``forward`` runs through it with ``_checked=True``, its input and
        state already validated.)
        """
        if _checked:
            return self._run(x, lengths, tuple(hx))
        check_features(x, (3,), self.input_size, "input", "(T,B,I)")
        init, _ = self._state_in(hx, x, False)
        return self._run(x, lengths, init)

    def _run(self, xs: Tensor, lengths: Optional[Tensor], init: tuple) -> tuple[Tensor, tuple]:
        check_same_dtype(xs, self.weight_ih_l0)
        T, B = xs.shape[0], xs.shape[1]
        if T == 0:
            raise ValueError("input has zero time steps")
        dev = xs.device
        lengths_dev = None
        if lengths is not None:
            lengths = torch.as_tensor(lengths).to("cpu", torch.int64)
            if lengths.shape != (B,) or int(lengths.min()) < 1 or int(lengths.max()) > T:
                raise ValueError(f"lengths must be (B,)={B} ints in [1, T={T}], got {lengths.tolist()}")
            lengths_dev = lengths.to(dev, non_blocking=True)
        H, D, L = self.hidden_size, self.num_directions, self.num_layers
        cls = SF.STATE_TYPES[self.kind]
        mask = None
        if lengths_dev is not None:
            mask = (torch.arange(T, device=dev).unsqueeze(1) < lengths_dev.unsqueeze(0)).to(xs.dtype).unsqueeze(-1)
        n_valid = int(lengths.sum()) if lengths is not None else T * B
        ctx = current_context()
        finals: list[list[Tensor]] = [[] for _ in cls._fields]
        acts: list[LayerActivity] = []
        rates: list[Tensor] = []
        G = SF.GATES[self.kind]
        graded = self.neuron_options.delta
        opts = self.neuron_options
        bound = (opts.rate_target, opts.rate_strength) if opts.rate_target is not None and not graded else None
        inp = xs
        for k in range(L):
            outs = []
            for d in range(D):
                idx = k * D + d
                x_dir = inp if d == 0 else reverse_padded(inp, lengths_dev)
                s0 = tuple(f[idx] for f in init)
                seqs = self._run_direction(k, d == 1, x_dir, s0, ctx.tbptt if ctx is not None else None)
                for j, seq in enumerate(seqs[: len(cls._fields)]):
                    if lengths_dev is None:
                        finals[j].append(seq[-1])
                    else:
                        finals[j].append(seq[lengths_dev - 1, torch.arange(B, device=dev)])
                out_d = seqs[0]
                # what the neurons sent: binary spikes, or (sigma-delta soma) one graded event per change of ŝ
                events = out_d if not graded else (out_d != torch.cat((s0[0].unsqueeze(0), out_d[:-1]))).to(xs.dtype)
                if mask is not None:
                    out_d, events = out_d * mask, events * mask
                if bound is not None:  # training only: the forward value is unchanged (spikernn.rate_bound)
                    out_d = bound_rate(out_d, bound[0], bound[1], mask)
                if d == 1:
                    out_d = reverse_padded(out_d, lengths_dev)
                outs.append(out_d)
                if ctx is not None and ctx.keep_rates:
                    rates.append(events.sum() / (H * n_valid))
                fan = G * H + (G * H * D if k < L - 1 else 0)
                # counts stay on the device (no host sync); LayerActivity reads them when asked
                acts.append(LayerActivity(k, "reverse" if d else "forward", H, events.detach().sum((1, 2)),
                                          H * n_valid, B, T, fan))
            out = outs[0] if D == 1 else torch.cat(outs, -1)
            if self.dropout > 0 and self.training and k < L - 1:
                out = nn.functional.dropout(out, self.dropout, True)
            inp = out
        self.last_activity = acts
        if ctx is not None:
            ctx.activity.extend(acts)
            ctx.rates.extend(rates)
        return out, cls(*(torch.stack(f, 0) for f in finals))

    def _state_in(self, hx: Any, xs: Tensor, unbatched: bool) -> tuple[tuple, bool]:
        """``hx`` as spiking-state fields (num_layers*D, B, H) each, and whether it came in spiking form."""
        n, B, H = self.num_layers * self.num_directions, xs.shape[1], self.hidden_size
        cls = SF.STATE_TYPES[self.kind]
        exp = (n, H) if unbatched else (n, B, H)
        if hx is None:
            z = torch.zeros(n, B, H, dtype=xs.dtype, device=xs.device)
            return tuple(z for _ in cls._fields), False
        spiking = isinstance(hx, tuple) and len(hx) == len(cls._fields) and not (self.kind == "lstm" and len(hx) == 2)
        torch_form = (self.kind == "lstm" and isinstance(hx, tuple) and len(hx) == 2) or \
            (self.kind != "lstm" and isinstance(hx, Tensor))
        if not (spiking or torch_form):
            want = "(h0, c0)" if self.kind == "lstm" else "a tensor h0"
            raise ValueError(f"hx must be {want} shaped {exp} (torch's form) or a {cls.__name__} with fields "
                             f"{cls._fields}, got {type(hx).__name__}"
                             + (f" of {len(hx)} tensors" if isinstance(hx, tuple) else ""))
        names = cls._fields if spiking else (("h0", "c0") if self.kind == "lstm" else ("h0",))
        given = hx if isinstance(hx, tuple) else (hx,)
        checked = []
        for name, t in zip(names, given):
            label = f"state.{name}" if spiking else name
            check_tensor(t, label)
            check_same_dtype(t, xs, label, "input")
            if tuple(t.shape) != exp:
                raise ValueError(f"{label} must have shape {exp}, got {tuple(t.shape)}")
            checked.append(t.unsqueeze(1) if unbatched else t)
        if spiking:
            return tuple(checked), True
        z = torch.zeros_like(checked[0])
        fields = {f: z for f in cls._fields}
        fields["s"] = checked[0]
        if self.kind == "lstm":
            fields["c"] = checked[1]
        return tuple(fields[f] for f in cls._fields), False

    @staticmethod
    def _pack_like(out: Tensor, lengths: Tensor, like: PackedSequence) -> PackedSequence:
        if like.sorted_indices is not None:
            out = out.index_select(1, like.sorted_indices.to(out.device))
            lengths = lengths.index_select(0, like.sorted_indices.cpu())
        p = pack_padded_sequence(out, lengths.cpu(), enforce_sorted=True)
        return PackedSequence(p.data, p.batch_sizes, like.sorted_indices, like.unsorted_indices)

    def _run_direction(self, layer: int, reverse: bool, x: Tensor, state0: tuple, tbptt: Optional[int]
                       ) -> tuple[Tensor, ...]:
        """One layer/direction over the whole (T,B,I) sequence; returns the sequences (S, V, A, C).

        With ``tbptt = k`` (training, grad enabled) the state is detached every k steps (truncated BPTT)."""
        k = tbptt
        if k is not None and self.training and torch.is_grad_enabled() and x.shape[0] > k:
            chunks = []
            st = state0
            for t0 in range(0, x.shape[0], k):
                seqs = self._run_chunk(layer, reverse, x[t0:t0 + k], tuple(t.detach() for t in st))
                chunks.append(seqs)
                st = tuple(q[-1] for q in seqs[: len(state0)])
            return tuple(torch.cat(parts, 0) for parts in zip(*chunks))
        return self._run_chunk(layer, reverse, x, state0)

    def _run_chunk(self, layer: int, reverse: bool, x: Tensor, state0: tuple) -> tuple[Tensor, ...]:
        if self.fused:
            if not any(is_transformed(t) for t in (x, self.weight_ih_l0, *state0)):
                fn = _fused_chunk_eager if "torch._dynamo" in sys.modules else _fused_chunk
                return fn(self, layer, reverse, x, state0)
            _warn_once("func", "spikernn: torch.func transforms cannot see through the fused kernel; the spiking "
                               "layers run their step path under them (same values, slower)")
        try:
            return self._step_chunk(layer, reverse, x, state0)
        except RuntimeError as e:
            if "setup_context" not in str(e) or not current_transform():
                raise
            raise RuntimeError(f"torch.func.{current_transform()} (a torch.func transform) cannot run the surrogate "
                               f"{self._surrogate!r} of {type(self).__name__}: it is an autograd.Function without "
                               "setup_context (as snntorch's are). Use surrogate='atan', 'fast_sigmoid' or 'sigmoid' "
                               "(spikernn's own, torch.func-ready)") from e

    def _step_chunk(self, layer: int, reverse: bool, x: Tensor, state0: tuple) -> tuple[Tensor, ...]:
        """The step path: :func:`spikernn.functional.cell_step` at every time step (plain autograd)."""
        w = self.weights(layer, reverse)
        T, B, I = x.shape
        b = None
        if w["bias_ih"] is not None:
            b = w["bias_ih"] + w["bias_hh"] if self.kind != "gru" else w["bias_ih"]
        x_proj = nn.functional.linear(x.reshape(T * B, I), w["weight_ih"], b).view(T, B, w["weight_ih"].shape[0])
        b_hh = w["bias_hh"] if self.kind == "gru" else None
        soma = soma_params(self, self._suffix(layer, reverse), self.neuron_options)
        cls = SF.STATE_TYPES[self.kind]
        st = cls(*state0)
        seqs: list[list[Tensor]] = [[] for _ in cls._fields]
        for t in range(T):
            _, st = SF.cell_step(self.kind, x_proj[t], st, w["weight_hh"], b_hh, soma, self._surrogate)
            for j, v in enumerate(st):
                seqs[j].append(v)
        return tuple(torch.stack(s, 0) for s in seqs)


class SpikingRNN(_SpikingRNNBase):
    """Multi-layer recurrent LIF (or adLIF) network; drop-in for ``torch.nn.RNN`` (see
    :class:`~spikernn.cells.SpikingRNNCell` for the equations). ``out, h_n = rnn(x, h0)``; spiking state
    ``RNNState(s, v, a)``.

    >>> import spikernn as snr
    >>> rnn = snr.SpikingRNN(10, 20, num_layers=2)
    >>> out, h_n = rnn(torch.randn(5, 3, 10), torch.zeros(2, 3, 20))
    >>> out.shape, h_n.shape
    (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    """

    kind = "rnn"
    torch_class = nn.RNN


class SpikingLSTM(_SpikingRNNBase):
    """Multi-layer spiking LSTM; drop-in for ``torch.nn.LSTM`` (equations in
    :class:`~spikernn.cells.SpikingLSTMCell`). ``out, (h_n, c_n) = lstm(x, (h0, c0))``; spiking state
    ``LSTMState(s, v, a, c)``.

    >>> import spikernn as snr
    >>> lstm = snr.SpikingLSTM(10, 20, num_layers=2)
    >>> out, (h_n, c_n) = lstm(torch.randn(5, 3, 10))
    >>> out.shape, c_n.shape
    (torch.Size([5, 3, 20]), torch.Size([2, 3, 20]))
    >>> out, st = lstm(torch.randn(5, 3, 10), lstm.initial_state(3))   # the full spiking state
    >>> type(st).__name__, st.v.shape
    ('LSTMState', torch.Size([2, 3, 20]))
    """

    kind = "lstm"
    torch_class = nn.LSTM


class SpikingGRU(_SpikingRNNBase):
    """Multi-layer spiking GRU; drop-in for ``torch.nn.GRU`` (equations in
    :class:`~spikernn.cells.SpikingGRUCell`). ``out, h_n = gru(x, h0)``; spiking state ``GRUState(s, v, a, h)``."""

    kind = "gru"
    torch_class = nn.GRU
