"""``spiking_gru`` and ``adlif_gru``: the spiking GRU neuron, with the LIF or the adLIF soma. torch's GRU cell
inside, binary spikes out.

``[r_i,z_i,n_i] = in + bias_in`` and ``[r_h,z_h,n_h] = rec + bias_rec`` (3H each: the recurrent spikes arrive on
their own port, because r multiplies only the recurrent part of n); ``h = (1 - z) n + z h``; drive ``d = h``;
then the soma. Fixed point and quantisation as the spiking LSTM kinds (:mod:`spikernn.hardware.kinds.spiking_lstm`).
"""
from __future__ import annotations

from spikernn.functional import GATES
from spikernn.hardware.kinds import gates
from spikernn.hardware.kinds.soma import ADLIF_SOMA, LIF_SOMA, Soma
from spikernn.hardware.kinds.spec import IN_FRAC_BITS, Param, Port
from spikernn.hardware.kinds.spiking_lstm import Q12_UNIT, SpikingGated, gated_state

G = GATES["gru"]


class SpikingGru(SpikingGated):
    def drive(self, cell, inputs, prep):
        a_in, a_rec = gates.gru_ports(inputs)
        pi = a_in + prep.bias
        ph = a_rec + prep.bias_rec
        if prep.fixed:
            h = gates.gru_fixed(pi, ph, cell, prep.size, prep.frac_bits)
        else:
            h = gates.gru_float(pi, ph, cell, prep.size)
        return h, h


def spiking_gru(name: str, sm: Soma) -> SpikingGru:
    """The spiking GRU kind called ``name`` with the soma ``sm``."""
    return SpikingGru(
        name=name,
        summary=f"spiking GRU neuron with the {sm.title} soma: torch's GRU cell inside, binary spikes out",
        ports=(Port("in", G, bias="bias_in", doc="input spikes/values, gates r,z,n"),
               Port("rec", G, bias="bias_rec", doc="recurrent spikes, gates r,z,n")),
        float_params=(Param("bias_in", 0.0, "input units", "b_ih", gates=G),
                      Param("bias_rec", 0.0, "input units", "b_hh", gates=G), *sm.float_params),
        fixed_params=(Param("bias_in", 0, "2**-F input units", "b_ih", gates=G, integer=True),
                      Param("bias_rec", 0, "2**-F input units", "b_hh", gates=G, integer=True),
                      *sm.fixed_params(Q12_UNIT)),
        settings=(*sm.settings, IN_FRAC_BITS),
        state_type=gated_state(name, "h", sm, __name__),
        sends="spikes",
        soma=sm,
        bias_names=("bias_in", "bias_rec"),
    )


SPIKING_GRU = spiking_gru("spiking_gru", LIF_SOMA)
ADLIF_GRU = spiking_gru("adlif_gru", ADLIF_SOMA)
SpikingGruState = SPIKING_GRU.state_type  # (h, v, a)
AdlifGruState = ADLIF_GRU.state_type  # (h, v, w, s)
