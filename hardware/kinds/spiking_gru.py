"""``spiking_gru``: the spiking GRU neuron. torch's GRU cell inside, binary spikes out.

``[r_i,z_i,n_i] = in + bias_in`` and ``[r_h,z_h,n_h] = rec + bias_rec`` (3H each: the recurrent spikes arrive on
their own port, because r multiplies only the recurrent part of n); ``h = (1 - z) n + z h``; drive ``d = h``;
then the shared soma. Fixed point and quantisation as ``spiking_lstm``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spikernn.functional import GATES
from spikernn.hardware.arith import ONE
from spikernn.hardware.kinds import gates, soma
from spikernn.hardware.kinds.spec import IN_FRAC_BITS, Param, Port
from spikernn.hardware.kinds.spiking_lstm import Q12_THRESHOLD, SpikingGated, prepare_spiking_gated

G = GATES["gru"]


class SpikingGruState(NamedTuple):
    h: np.ndarray  # analog GRU state
    v: np.ndarray  # membrane (after reset)
    a: np.ndarray  # adaptation trace


class SpikingGru(SpikingGated):
    def _prepare(self, values, settings, precision, size):
        return prepare_spiking_gated(values, settings, precision, size, "bias_in", "bias_rec")

    def init_state(self, prep, batch):
        dt = np.int64 if prep.fixed else np.float64
        return SpikingGruState(*(np.zeros((batch, prep.size), dt) for _ in range(3)))

    def step(self, state, inputs, prep):
        a_in, a_rec = gates.gru_ports(inputs)
        pi = a_in + prep.bias
        ph = a_rec + prep.bias_rec
        if prep.fixed:
            h = gates.gru_fixed(pi, ph, state.h, prep.size, prep.frac_bits)
            v, a, out, s = soma.soma_fixed(state.v, state.a, h, prep.soma)
        else:
            h = gates.gru_float(pi, ph, state.h, prep.size)
            v, a, out, s = soma.soma_float(state.v, state.a, h, prep.soma)
        return SpikingGruState(h, v, a), out, s


SPIKING_GRU = SpikingGru(
    name="spiking_gru",
    summary="spiking GRU neuron: torch's GRU cell inside, binary spikes out",
    ports=(Port("in", G, bias="bias_in", doc="input spikes/values, gates r,z,n"),
           Port("rec", G, bias="bias_rec", doc="recurrent spikes, gates r,z,n")),
    float_params=(Param("bias_in", 0.0, "input units", "b_ih", gates=G),
                  Param("bias_rec", 0.0, "input units", "b_hh", gates=G), *soma.FLOAT_PARAMS),
    fixed_params=(Param("bias_in", 0, "2**-F input units", "b_ih", gates=G, integer=True),
                  Param("bias_rec", 0, "2**-F input units", "b_hh", gates=G, integer=True),
                  *soma.fixed_params(Q12_THRESHOLD, "Q12 units of v", dv_high=ONE)),
    settings=(soma.RESET, IN_FRAC_BITS),
    state_type=SpikingGruState,
    sends="spikes",
)
