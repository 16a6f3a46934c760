"""``spiking_lstm`` and ``adlif_lstm``: the spiking LSTM neuron, with the LIF or the adLIF soma. Analog gates
and cell state inside, binary spikes out.

``[i,f,g,o] = in + bias`` (4H, torch order); ``c = σ(f) c + σ(i) tanh(g)``; drive ``d = σ(o) tanh(c)``; then the
soma (:mod:`spikernn.hardware.kinds.soma`: :data:`~spikernn.hardware.kinds.soma.LIF_SOMA` for ``spiking_lstm``,
:data:`~spikernn.hardware.kinds.soma.ADLIF_SOMA` for ``adlif_lstm``; the core's ``neuron`` option). The recurrent
spikes arrive on the same port as the input. :class:`SpikingGated` is what the LSTM and GRU kinds share: one
cell, any soma.

Fixed point ("microcode" neuron): synaptic input and biases with ``in_frac_bits`` = F fractional bits, the cell
(:mod:`spikernn.hardware.kinds.gates`) and the soma in Q12 (the drive is Q12): LIF ``dv`` in [0, 4096],
threshold ``vth`` in Q12 (no shift), ``adapt_scale`` in Q12 units of v; adLIF ``vth`` and ``b`` in Q12.
Quantisation: biases round(b 2**F), the soma's registers by its own rules with 12 fractional bits (LIF: dv =
round(4096 (1-decay)), vth = round(threshold 4096), adapt_scale = round(b_a 4096); adLIF: see its soma).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from spikernn.functional import GATES
from spikernn.hardware.arith import Q
from spikernn.hardware.kinds import gates
from spikernn.hardware.kinds.soma import ADLIF_SOMA, LIF_SOMA, Soma
from spikernn.hardware.kinds.spec import IN_FRAC_BITS, NeuronKind, Param, Port, Prepared, quantize_biases

G = GATES["lstm"]
Q12_UNIT = "Q12 (1.0 == 4096)"  # the drive of a gated neuron's soma


def gated_state(kind_name: str, cell_field: str, sm: Soma, module: str) -> type:
    """The state NamedTuple of a gated kind (named after the kind, defined in ``module``): its analog cell
    field, then the soma's fields."""
    cls = NamedTuple(f"{''.join(w.title() for w in kind_name.split('_'))}State",
                     [(cell_field, np.ndarray)] + [(f, np.ndarray) for f in sm.state_fields])
    cls.__module__ = module
    return cls


@dataclass(frozen=True)
class SpikingGatedPrepared(Prepared):
    """Prepared spiking LSTM/GRU: the soma, the port biases (float, or integers in F units) and F."""

    fixed: bool
    size: int
    soma: Any  # the soma's prepared constants (soma.SomaFloat / SomaFixed / AdLifSomaPrepared)
    bias: np.ndarray  # LSTM: (4H,); GRU: bias_in (3H,)
    bias_rec: np.ndarray | None  # GRU: (3H,)
    frac_bits: int


@dataclass(frozen=True)
class SpikingGated(NeuronKind):
    """What the spiking LSTM and GRU kinds share: a soma (``soma``), gate biases in F units and the soma in
    Q12 when quantised. Subclasses compute the cell in :meth:`drive`."""

    soma: Soma = LIF_SOMA
    bias_names: tuple[str, str | None] = ("bias", None)

    def _prepare(self, values, settings, precision, size):
        fixed = precision == "fixed"
        bias, bias_rec = self.bias_names
        return SpikingGatedPrepared(fixed=fixed, size=size, soma=self.soma.prepare(values, settings, fixed),
                                    bias=values[bias], bias_rec=values[bias_rec] if bias_rec else None,
                                    frac_bits=int(settings["in_frac_bits"]))

    def init_state(self, prep, batch):
        dt = np.int64 if prep.fixed else np.float64
        return self.state_type(*(np.zeros((batch, prep.size), dt) for _ in self.state_type._fields))

    def drive(self, cell: np.ndarray, inputs: dict[str, np.ndarray], prep: SpikingGatedPrepared):
        """``(new cell state, drive)`` of the cell from its state and the synaptic inputs."""
        raise NotImplementedError

    def step(self, state, inputs, prep):
        cell, d = self.drive(state[0], inputs, prep)
        st, out, s = self.soma.step(state[1:], d, prep.soma)
        return self.state_type(cell, *st), out, s

    def quantize_params(self, params, size, F, info):
        out = quantize_biases(self, params, F, info)
        out.update(self.soma.quantize(params, Q, info))
        return out

    def dequantize_params(self, params, size, F):
        out = super().dequantize_params(params, size, F)
        out.update(self.soma.dequantize(params, Q))
        return out


class SpikingLstm(SpikingGated):
    def drive(self, cell, inputs, prep):
        pre = inputs["in"] + prep.bias
        if prep.fixed:
            return gates.lstm_fixed(pre, cell, prep.size, prep.frac_bits)
        return gates.lstm_float(pre, cell, prep.size)


def spiking_lstm(name: str, sm: Soma) -> SpikingLstm:
    """The spiking LSTM kind called ``name`` with the soma ``sm``."""
    return SpikingLstm(
        name=name,
        summary=f"spiking LSTM neuron with the {sm.title} soma: analog gates and cell state inside, binary spikes out",
        ports=(Port("in", G, bias="bias", doc="input and recurrent spikes, 4 gates i,f,g,o per neuron"),),
        float_params=(Param("bias", 0.0, "input units", "gate biases b_ih + b_hh", gates=G), *sm.float_params),
        fixed_params=(Param("bias", 0, "2**-F input units", "gate biases", gates=G, integer=True),
                      *sm.fixed_params(Q12_UNIT)),
        settings=(*sm.settings, IN_FRAC_BITS),
        state_type=gated_state(name, "c", sm, __name__),
        sends="spikes",
        soma=sm,
    )


SPIKING_LSTM = spiking_lstm("spiking_lstm", LIF_SOMA)
ADLIF_LSTM = spiking_lstm("adlif_lstm", ADLIF_SOMA)
SpikingLstmState = SPIKING_LSTM.state_type  # (c, v, a)
AdlifLstmState = ADLIF_LSTM.state_type  # (c, v, w, s)
