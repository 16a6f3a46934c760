"""Spiking RNN/LSTM/GRU cells: one time step with explicit state in and out (like ``torch.nn.LSTMCell``).

Unlike torch's cells, which take and return ``h`` (and ``c``), a spiking cell takes and returns its full state
NamedTuple, ``s, state = cell(x, state)``: a torch-form ``h`` would drop the membrane at every step, so the
layers (:mod:`spikernn.layers`) are the place for torch's state conventions.

Weights follow ``torch.nn.RNNCell/LSTMCell/GRUCell`` (names ``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``; gate order LSTM i,f,g,o and GRU r,z,n). Neuron tensors are ``decay``, ``threshold``,
``adapt_decay``, ``adapt_scale`` (each (H,)); options in :mod:`spikernn.neurons`.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Optional

import torch
from torch import Tensor, nn

from spikernn import functional as SF
from spikernn._checks import check_bool, check_features, check_positive_int, check_same_dtype, check_tensor
from spikernn.neurons import (NeuronOptions, neuron_values, register_neuron_tensors,
                              reset_neuron_tensors, soma_params)


class _SpikingCellBase(nn.Module):
    kind = "rnn"

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, device: Any = None,
                 dtype: Optional[torch.dtype] = None, **neuron_options: Any) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        input_size, hidden_size = check_positive_int(input_size, "input_size"), check_positive_int(hidden_size, "hidden_size")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, check_bool(bias, "bias")
        if neuron_options.get("rate_target") is not None:
            raise ValueError("rate_target bounds a population's mean rate over a sequence: it is an option of the "
                             "layers (SpikingRNN/LSTM/GRU); a cell sees one step (add "
                             "spikernn.rate_bound.rate_penalty to your loss over the steps instead)")
        # a cell type's default rate bound (neurons.CELL_RATE_BOUND) is the layers' and is dropped here
        self.neuron_options = replace(NeuronOptions.from_kwargs(neuron_options, self.kind), rate_target=None)
        self._surrogate = self.neuron_options.surrogate_fn()
        G = SF.GATES[self.kind]
        self.weight_ih = nn.Parameter(torch.empty(G * hidden_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(G * hidden_size, hidden_size, **factory))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G * hidden_size, **factory))
            self.bias_hh = nn.Parameter(torch.empty(G * hidden_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        register_neuron_tensors(self, "", hidden_size, self.neuron_options, **factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform(-1/sqrt(H), 1/sqrt(H)) for the recurrent weights and biases, as torch; ``weight_ih``
        Uniform(-1/sqrt(input_size), 1/sqrt(input_size)) (as the layers; :data:`spikernn.neurons.INPUT_INIT`);
        neuron tensors to their initial values (:func:`spikernn.neurons.reset_neuron_tensors`)."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for w in (self.weight_hh, self.bias_ih, self.bias_hh):
            if w is not None:
                nn.init.uniform_(w, -k, k)
        nn.init.uniform_(self.weight_ih, -1.0 / math.sqrt(self.input_size), 1.0 / math.sqrt(self.input_size))
        reset_neuron_tensors(self, "", self.neuron_options)

    def forward(self, x: Tensor, state: Optional[tuple] = None) -> tuple[Tensor, tuple]:
        """One step. ``x``: (B, input_size) or unbatched (input_size,). ``state``: the cell's state NamedTuple
        (fields (B, H) or (H,)) or None for zeros. Returns ``(spikes, new_state)``."""
        check_features(x, (1, 2), self.input_size, "input", "((B, input_size) or (input_size,))")
        check_same_dtype(x, self.weight_ih)
        unbatched = x.dim() == 1
        if unbatched:
            x = x.unsqueeze(0)
        cls = SF.STATE_TYPES[self.kind]
        if state is None:
            state = SF.zero_state(self.kind, (x.shape[0],), self.hidden_size, x.dtype, x.device)
        else:
            if len(state) != len(cls._fields):
                raise ValueError(f"state must have fields {cls._fields}, got {len(state)} tensors")
            exp = (self.hidden_size,) if unbatched else (x.shape[0], self.hidden_size)
            for name, t in zip(cls._fields, state):
                check_tensor(t, f"state.{name}")
                check_same_dtype(t, x, f"state.{name}", "input")
                if tuple(t.shape) != exp:
                    raise ValueError(f"state.{name} must have shape {exp}, got {tuple(t.shape)}")
            state = cls(*(t.unsqueeze(0) if unbatched else t for t in state))
        x_proj = x @ self.weight_ih.t()
        if self.bias_ih is not None:
            x_proj = x_proj + self.bias_ih
        soma = soma_params(self, "", self.neuron_options)
        s, new = SF.cell_step(self.kind, x_proj, state, self.weight_hh, self.bias_hh, soma, self._surrogate)
        if unbatched:
            s, new = s.squeeze(0), cls(*(t.squeeze(0) for t in new))
        return s, new

    def neuron_parameters(self) -> dict[str, Any]:
        """Effective neuron values ((H,) float tensors, detached) plus ``neuron`` and ``reset``: see
        :func:`spikernn.neurons.neuron_values`."""
        return neuron_values(self, "", self.neuron_options)

    @property
    def config(self) -> dict[str, Any]:
        """JSON-able constructor description used by :func:`spikernn.save`."""
        return {"class": type(self).__name__, "args": {"input_size": self.input_size, "hidden_size": self.hidden_size,
                "bias": self.bias, **self.neuron_options.to_config()}}

    def extra_repr(self) -> str:
        o = self.neuron_options
        return f"{self.input_size}, {self.hidden_size}, neuron={o.neuron!r}, reset={o.reset!r}, adaptive={o.adaptive}"


class SpikingRNNCell(_SpikingCellBase):
    """Recurrent LIF neuron, one time step (docs/equations.md):

    ``d_t = W_ih x_t + b_ih + W_hh s_{t-1} + b_hh``; ``v_t = β v_{t-1} + d_t``; ``θ_t = θ0 + b_a a_{t-1}``;
    ``s_t = H(v_t − θ_t)``; ``v_t ← reset(v_t, s_t)``; ``a_t = ρ a_{t-1} + s_t``.
    State :class:`~spikernn.functional.RNNState` ``(s, v, a)``.
    """

    kind = "rnn"


class SpikingLSTMCell(_SpikingCellBase):
    """Spiking LSTM neuron, one time step (docs/equations.md); only spikes ``s`` leave the neuron:

    ``[i,f,g,o] = W_ih x_t + b_ih + W_hh s_{t-1} + b_hh``; ``c_t = σ(f) c_{t-1} + σ(i) tanh(g)``;
    ``d_t = σ(o) tanh(c_t)``; then the soma: by default adLIF with θ0 0.3 (:data:`spikernn.neurons.DEFAULT_NEURON`,
    :data:`~spikernn.neurons.CELL_THRESHOLD`), ``u_t = α v_{t-1} + (1 − α)(d_t − w_{t-1})``, ``s_t = H(u_t − θ0)``,
    reset, adaptation current ``w``; or LIF (``neuron="lif"``).
    State :class:`~spikernn.functional.LSTMState` ``(s, v, a, c)``.
    """

    kind = "lstm"


class SpikingGRUCell(_SpikingCellBase):
    """Spiking GRU neuron, one time step (docs/equations.md); only spikes ``s`` leave the neuron:

    ``[r_i,z_i,n_i] = W_ih x_t + b_ih``; ``[r_h,z_h,n_h] = W_hh s_{t-1} + b_hh``; ``r = σ(r_i + r_h)``;
    ``z = σ(z_i + z_h)``; ``n = tanh(n_i + r n_h)``; ``h_t = (1 − z) n + z h_{t-1}``; ``d_t = h_t``; then the soma
    (by default adLIF with θ0 0.3, as :class:`SpikingLSTMCell`).
    State :class:`~spikernn.functional.GRUState` ``(s, v, a, h)``.
    """

    kind = "gru"
