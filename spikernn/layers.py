"""Multi-layer spiking RNN/LSTM/GRU with the interface of ``torch.nn.RNN/LSTM/GRU``.

``out, state = layer(x, state=None)``: ``x`` is (T,B,I), (B,T,I) with ``batch_first``, unbatched (T,I) or a
``PackedSequence`` (then ``out`` is packed the same way and the final state of each sequence is taken at its
own last step). ``out`` holds binary spikes (T,B,D*H) (D = 2 when bidirectional; forward direction first).
``state`` is a NamedTuple (RNN ``(s,v,a)``, LSTM ``(s,v,a,c)``, GRU ``(s,v,a,h)``) whose fields are
(num_layers*D, B, H), ordered like torch's ``h_n``. Dropout (as torch) acts on the outputs of every layer but
the last, in training only.

Parameters are torch's names and shapes (``weight_ih_l{k}[_reverse]``, ``weight_hh_...``, ``bias_ih_...``,
``bias_hh_...``), so ``layer.load_state_dict(torch_lstm.state_dict(), strict=False)`` loads the weights. The
neuron tensors are ``decay_l{k}[_reverse]``, ``threshold_...``, ``adapt_decay_...``, ``adapt_scale_...``.
"""
from __future__ import annotations

import math
from typing import Any, Optional, Union

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from spikernn import functional as SF
from spikernn._checks import check_features, check_positive_int, check_same_dtype, check_tensor
from spikernn.activity import LayerActivity
from spikernn.fused import fused_sequence, linear, lstm_gate_scale
from spikernn.neurons import (NeuronOptions, neuron_values, register_neuron_tensors, reset_neuron_tensors,
                              soma_params)


def reverse_padded(x: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """Reverse each sequence of (T,B,*) ``x`` within its own length (padding stays at the end)."""
    if lengths is None:
        return x.flip(0)
    T, B = x.shape[0], x.shape[1]
    t = torch.arange(T, device=x.device).unsqueeze(1)
    L = lengths.to(x.device).unsqueeze(0)
    idx = torch.where(t < L, L - 1 - t, t)  # (T,B)
    idx = idx.view(T, B, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, idx)


class _SpikingRNNBase(nn.Module):
    kind = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        fused: bool = True,
        **neuron_options: Any,
    ) -> None:
        super().__init__()
        input_size, hidden_size, num_layers = (check_positive_int(v, name) for name, v in (
            ("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)))
        if not (isinstance(dropout, (int, float)) and 0.0 <= dropout <= 1.0):
            raise ValueError(f"dropout must be a number in [0, 1], got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bool(bias), bool(batch_first), float(dropout)
        self.bidirectional = bool(bidirectional)
        self.fused = bool(fused)
        self.neuron_options = NeuronOptions.from_kwargs(neuron_options)
        self._surrogate = self.neuron_options.surrogate_fn()
        self._surrogate_grad = self.neuron_options.surrogate_grad_fn()
        self.readout_fan_out = 0  # set by a model that puts a readout after the last layer
        self.record_activity = True
        self.last_activity: list[LayerActivity] = []
        self.tbptt: Optional[int] = None  # truncate BPTT every this many time steps (None: full BPTT)
        self.keep_rates = False  # keep differentiable firing rates in ``last_rates`` (for regularisation)
        self.last_rates: list[Tensor] = []
        D = 2 if bidirectional else 1
        G = SF.GATES[self.kind]
        for k in range(num_layers):
            in_k = input_size if k == 0 else hidden_size * D
            for d in range(D):
                sfx = self._suffix(k, d == 1)
                setattr(self, "weight_ih" + sfx, nn.Parameter(torch.empty(G * hidden_size, in_k)))
                setattr(self, "weight_hh" + sfx, nn.Parameter(torch.empty(G * hidden_size, hidden_size)))
                if bias:
                    setattr(self, "bias_ih" + sfx, nn.Parameter(torch.empty(G * hidden_size)))
                    setattr(self, "bias_hh" + sfx, nn.Parameter(torch.empty(G * hidden_size)))
                register_neuron_tensors(self, sfx, hidden_size, self.neuron_options)
        self.reset_parameters()

    @staticmethod
    def _suffix(layer: int, reverse: bool) -> str:
        return f"_l{layer}" + ("_reverse" if reverse else "")

    @property
    def num_directions(self) -> int:
        """2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    def reset_parameters(self) -> None:
        """Uniform(-1/sqrt(H), 1/sqrt(H)) for all weights and biases, as torch; neuron tensors to their initial
        values (:func:`spikernn.neurons.reset_neuron_tensors`)."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for name, p in self.named_parameters():
            if name.startswith(("weight_", "bias_")):
                nn.init.uniform_(p, -k, k)
        for k_, d in self._populations():
            reset_neuron_tensors(self, self._suffix(k_, d), self.neuron_options)

    def _populations(self) -> list[tuple[int, bool]]:
        """(layer, reverse) of every layer and direction."""
        return [(k, d == 1) for k in range(self.num_layers) for d in range(self.num_directions)]

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
    def forward(self, x: Union[Tensor, PackedSequence], state: Optional[tuple] = None
                ) -> tuple[Union[Tensor, PackedSequence], tuple]:
        """Run the whole sequence; returns ``(out, state)`` (see the module docstring)."""
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
        out, new_state = self.forward_padded(xs, lengths, state, _unbatched=unbatched, _checked=True)
        if packed:
            out = self._pack_like(out, lengths, x)
        elif unbatched:
            out = out.squeeze(1)
            new_state = type(new_state)(*(t.squeeze(1) for t in new_state))
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, new_state

    def forward_padded(self, x: Tensor, lengths: Optional[Tensor] = None, state: Optional[tuple] = None,
                       _unbatched: bool = False, _checked: bool = False) -> tuple[Tensor, tuple]:
        """Time-first padded input (T,B,I) with optional ``lengths`` (B,) -> ``(out (T,B,D*H), state)``.

        ``out`` is zero after each sequence's end; the final state is taken at each sequence's last step.
        (``forward`` calls this; models use it directly to avoid packing.)
        """
        xs = x
        if not _checked:
            check_features(xs, (3,), self.input_size, "input", "(T,B,I)")
        check_same_dtype(xs, self.weight_ih_l0)
        if lengths is not None:
            lengths = torch.as_tensor(lengths).to("cpu", torch.int64)
            if lengths.shape != (xs.shape[1],) or int(lengths.min()) < 1 or int(lengths.max()) > xs.shape[0]:
                raise ValueError(f"lengths must be (B,)={xs.shape[1]} ints in [1, T={xs.shape[0]}], got {lengths.tolist()}")
        T, B = xs.shape[0], xs.shape[1]
        if T == 0:
            raise ValueError("input has zero time steps")
        H, D, L = self.hidden_size, self.num_directions, self.num_layers
        cls = SF.STATE_TYPES[self.kind]
        init = self._check_state(state, cls, B, _unbatched, xs)
        mask = None
        if lengths is not None:
            mask = (torch.arange(T).unsqueeze(1) < lengths.unsqueeze(0)).to(xs.dtype).to(xs.device).unsqueeze(-1)
        n_valid = int(lengths.sum()) if lengths is not None else T * B
        finals: list[list[Tensor]] = [[] for _ in cls._fields]
        acts: list[LayerActivity] = []
        rates: list[Tensor] = []
        G = SF.GATES[self.kind]
        inp = xs
        for k in range(L):
            outs = []
            for d in range(D):
                idx = k * D + d
                x_dir = inp if d == 0 else reverse_padded(inp, lengths)
                s0 = tuple(f[idx] for f in init)
                seqs = self._run_direction(k, d == 1, x_dir, s0)  # S, V, A, C (T,B,H)
                for j, seq in enumerate(seqs[: len(cls._fields)]):
                    if lengths is None:
                        finals[j].append(seq[-1])
                    else:
                        finals[j].append(seq[(lengths - 1).to(seq.device), torch.arange(B, device=seq.device)])
                out_d = seqs[0]
                if mask is not None:
                    out_d = out_d * mask
                if d == 1:
                    out_d = reverse_padded(out_d, lengths)
                outs.append(out_d)
                if self.keep_rates:
                    rates.append(out_d.sum() / (H * n_valid))
                if self.record_activity:
                    fan = G * H + (G * H * D if k < L - 1 else self.readout_fan_out)
                    with torch.no_grad():
                        per_step = out_d.detach().sum((1, 2)).cpu()
                    acts.append(LayerActivity(k, "reverse" if d else "forward", H, per_step, H * n_valid, B, T, fan))
            out = outs[0] if D == 1 else torch.cat(outs, -1)
            if self.dropout > 0 and self.training and k < L - 1:
                out = nn.functional.dropout(out, self.dropout, True)
            inp = out
        self.last_activity = acts
        self.last_rates = rates
        return out, cls(*(torch.stack(f, 0) for f in finals))

    def _check_state(self, state, cls, B: int, unbatched: bool, xs: Tensor) -> tuple:
        n, H = self.num_layers * self.num_directions, self.hidden_size
        if state is None:
            z = torch.zeros(n, B, H, dtype=xs.dtype, device=xs.device)
            return tuple(z for _ in cls._fields)
        if not isinstance(state, tuple) or len(state) != len(cls._fields):
            raise ValueError(f"state must be a {cls.__name__} with fields {cls._fields}")
        exp = (n, H) if unbatched else (n, B, H)
        out = []
        for name, t in zip(cls._fields, state):
            check_tensor(t, f"state.{name}")
            check_same_dtype(t, xs, f"state.{name}", "input")
            if tuple(t.shape) != exp:
                raise ValueError(f"state.{name} must have shape {exp}, got {tuple(t.shape)}")
            out.append(t.unsqueeze(1) if unbatched else t)
        return tuple(out)

    @staticmethod
    def _pack_like(out: Tensor, lengths: Tensor, like: PackedSequence) -> PackedSequence:
        if like.sorted_indices is not None:
            out = out.index_select(1, like.sorted_indices.to(out.device))
            lengths = lengths.index_select(0, like.sorted_indices.cpu())
        p = pack_padded_sequence(out, lengths.cpu(), enforce_sorted=True)
        return PackedSequence(p.data, p.batch_sizes, like.sorted_indices, like.unsorted_indices)

    def _run_direction(self, layer: int, reverse: bool, x: Tensor, state0: tuple) -> tuple[Tensor, ...]:
        """One layer/direction over the whole (T,B,I) sequence; returns the sequences (S, V, A, C).

        With ``self.tbptt = k`` (training), the state is detached every k steps (truncated BPTT)."""
        k = self.tbptt
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
        sfx = self._suffix(layer, reverse)
        w = self.weights(layer, reverse)
        T, B, I = x.shape
        w_ih, w_hh = w["weight_ih"], w["weight_hh"]
        b = None
        if w["bias_ih"] is not None:
            b = w["bias_ih"] + w["bias_hh"] if self.kind != "gru" else w["bias_ih"]
        if self.fused and self.kind == "lstm":  # the fused LSTM takes the g rows doubled
            scale = lstm_gate_scale(self.hidden_size, w_ih.dtype, w_ih.device)
            w_ih, w_hh = w_ih * scale.unsqueeze(1), w_hh * scale.unsqueeze(1)
            b = b * scale if b is not None else None
        x2 = x.reshape(T * B, I)
        if self.fused:
            x_proj = linear(x2, w_ih, b).view(T, B, w_ih.shape[0])
        else:
            x_proj = (torch.addmm(b, x2, w_ih.t()) if b is not None else x2 @ w_ih.t()).view(T, B, w_ih.shape[0])
        b_hh = w["bias_hh"] if self.kind == "gru" else None
        soma = soma_params(self, sfx, self.neuron_options)
        s0, v0, a0 = state0[:3]
        c0 = state0[3] if len(state0) > 3 else torch.zeros_like(v0)
        if self.fused:
            return fused_sequence(self.kind, x_proj, w_hh, b_hh, soma, (s0, v0, a0, c0), self._surrogate,
                                  self._surrogate_grad)
        cls = SF.STATE_TYPES[self.kind]
        st = cls(*state0)
        seqs: list[list[Tensor]] = [[] for _ in cls._fields]
        for t in range(T):
            _, st = SF.cell_step(self.kind, x_proj[t], st, w["weight_hh"], b_hh, soma, self._surrogate)
            for j, v in enumerate(st):
                seqs[j].append(v)
        return tuple(torch.stack(s, 0) for s in seqs)


class SpikingRNN(_SpikingRNNBase):
    """Multi-layer recurrent LIF network; drop-in for ``torch.nn.RNN`` (see :class:`~spikernn.cells.SpikingRNNCell`
    for the equations). State ``RNNState(s, v, a)``."""

    kind = "rnn"


class SpikingLSTM(_SpikingRNNBase):
    """Multi-layer spiking LSTM; drop-in for ``torch.nn.LSTM`` (equations in
    :class:`~spikernn.cells.SpikingLSTMCell`). State ``LSTMState(s, v, a, c)``."""

    kind = "lstm"


class SpikingGRU(_SpikingRNNBase):
    """Multi-layer spiking GRU; drop-in for ``torch.nn.GRU`` (equations in
    :class:`~spikernn.cells.SpikingGRUCell`). State ``GRUState(s, v, a, h)``."""

    kind = "gru"
