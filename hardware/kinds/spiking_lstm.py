"""``spiking_lstm``: the spiking LSTM neuron. Analog gates and cell state inside, binary spikes out.

``[i,f,g,o] = in + bias`` (4H, torch order); ``c = σ(f) c + σ(i) tanh(g)``; drive ``d = σ(o) tanh(c)``; then the
shared soma (:mod:`spikernn.hardware.kinds.soma`). The recurrent spikes arrive on the same port as the input.

Fixed point ("microcode" neuron): synaptic input and biases with ``in_frac_bits`` = F fractional bits, the cell
(:mod:`spikernn.hardware.kinds.gates`) and the soma in Q12: ``dv`` in [0, 4096], threshold ``vth`` in Q12
(no shift), ``adapt_scale`` in Q12 units of v. Quantisation: biases round(b 2**F), dv = round(4096 (1-decay)),
vth = round(threshold 4096), adapt_scale = round(b_a 4096).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spikernn.functional import GATES
from spikernn.hardware.arith import ONE, Q
from spikernn.hardware.kinds import gates, soma
from spikernn.hardware.kinds.spec import IN_FRAC_BITS, NeuronKind, Param, Port, Prepared, quantize_biases

G = GATES["lstm"]
Q12_THRESHOLD = Param("vth", 0, "Q12 (1.0 == 4096)", "threshold", integer=True)


class SpikingLstmState(NamedTuple):
    c: np.ndarray  # cell state
    v: np.ndarray  # membrane (after reset)
    a: np.ndarray  # adaptation trace


@dataclass(frozen=True)
class SpikingGatedPrepared(Prepared):
    """Prepared spiking LSTM/GRU: the soma, the port biases (float, or integers in F units) and F."""

    fixed: bool
    size: int
    soma: soma.SomaFloat | soma.SomaFixed
    bias: np.ndarray  # LSTM: (4H,); GRU: bias_in (3H,)
    bias_rec: np.ndarray | None  # GRU: (3H,)
    frac_bits: int


def prepare_spiking_gated(values: dict, settings: dict, precision: str, size: int, bias: str,
                          bias_rec: str | None) -> SpikingGatedPrepared:
    fixed = precision == "fixed"
    sm = soma.prepare_fixed(values, settings, values["vth"]) if fixed else soma.prepare_float(values, settings)
    return SpikingGatedPrepared(fixed=fixed, size=size, soma=sm, bias=values[bias],
                                bias_rec=values[bias_rec] if bias_rec else None,
                                frac_bits=int(settings["in_frac_bits"]))


class SpikingGated(NeuronKind):
    """What the spiking LSTM and GRU kinds share: gate biases in F units and a Q12 soma when quantised."""

    def quantize_params(self, params, size, F, info):
        out = quantize_biases(self, params, F, info)
        out.update(soma.quantize_soma(params, size, Q, Q, info, max_dv=ONE))
        return out

    def dequantize_params(self, params, size, F):
        out = super().dequantize_params(params, size, F)
        out.update(soma.dequantize_soma(params, Q, Q))
        return out


class SpikingLstm(SpikingGated):
    def _prepare(self, values, settings, precision, size):
        return prepare_spiking_gated(values, settings, precision, size, "bias", None)

    def init_state(self, prep, batch):
        dt = np.int64 if prep.fixed else np.float64
        return SpikingLstmState(*(np.zeros((batch, prep.size), dt) for _ in range(3)))

    def step(self, state, inputs, prep):
        pre = inputs["in"] + prep.bias
        H = prep.size
        if prep.fixed:
            c, d = gates.lstm_fixed(pre, state.c, H, prep.frac_bits)
            v, a, out, s = soma.soma_fixed(state.v, state.a, d, prep.soma)
        else:
            c, d = gates.lstm_float(pre, state.c, H)
            v, a, out, s = soma.soma_float(state.v, state.a, d, prep.soma)
        return SpikingLstmState(c, v, a), out, s


SPIKING_LSTM = SpikingLstm(
    name="spiking_lstm",
    summary="spiking LSTM neuron: analog gates and cell state inside, binary spikes out",
    ports=(Port("in", G, bias="bias", doc="input and recurrent spikes, 4 gates i,f,g,o per neuron"),),
    float_params=(Param("bias", 0.0, "input units", "gate biases b_ih + b_hh", gates=G), *soma.FLOAT_PARAMS),
    fixed_params=(Param("bias", 0, "2**-F input units", "gate biases", gates=G, integer=True),
                  *soma.fixed_params(Q12_THRESHOLD, "Q12 units of v", dv_high=ONE)),
    settings=(soma.RESET, IN_FRAC_BITS),
    state_type=SpikingLstmState,
    sends="spikes",
)
