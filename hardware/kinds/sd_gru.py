"""``sd_gru``: the sigma-delta GRU neuron of a converted dense ``torch.nn.GRU``; graded changes of h out.

It accumulates its input (3H, port "in") and recurrent (3H, port "rec") changes separately, runs torch's GRU
cell on them plus ``bias_in`` / ``bias_rec`` and sends the change of h where it exceeds ``delta_threshold``.
Fixed point as ``sd_lstm``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spikernn.functional import GATES
from spikernn.hardware.kinds import gates
from spikernn.hardware.kinds.delta import delta_send
from spikernn.hardware.kinds.sd_rnn import SigmaDeltaKind, prepare_sigma_delta
from spikernn.hardware.kinds.spec import DELTA_THRESHOLD, IN_FRAC_BITS, Param, Port

G = GATES["gru"]


class SdGruState(NamedTuple):
    sigma_in: np.ndarray  # (B, 3H) accumulated input part
    sigma_rec: np.ndarray  # (B, 3H) accumulated recurrent part
    h: np.ndarray  # GRU state
    sent: np.ndarray  # h last sent


class SdGru(SigmaDeltaKind):
    def _prepare(self, values, settings, precision, size):
        return prepare_sigma_delta(values, settings, precision, size, "bias_in", "bias_rec")

    def init_state(self, prep, batch):
        dt = np.int64 if prep.fixed else np.float64
        H = prep.size
        return SdGruState(np.zeros((batch, G * H), dt), np.zeros((batch, G * H), dt), np.zeros((batch, H), dt),
                          np.zeros((batch, H), dt))

    def step(self, state, inputs, prep):
        a_in, a_rec = gates.gru_ports(inputs)
        si = state.sigma_in + a_in
        sr = state.sigma_rec + a_rec
        pi = si + prep.bias
        ph = sr + prep.bias_rec
        if prep.fixed:
            h = gates.gru_fixed(pi, ph, state.h, prep.size, prep.frac_bits)
        else:
            h = gates.gru_float(pi, ph, state.h, prep.size)
        out, sent, mask = delta_send(h, state.sent, prep.threshold)
        return SdGruState(si, sr, h, sent), out, mask


SD_GRU = SdGru(
    name="sd_gru",
    summary="sigma-delta GRU neuron of a converted dense GRU, graded changes of h out",
    ports=(Port("in", G, bias="bias_in", doc="changes of the input pre-activations r,z,n"),
           Port("rec", G, bias="bias_rec", doc="changes of the recurrent pre-activations r,z,n")),
    float_params=(Param("bias_in", 0.0, "input units", "b_ih", gates=G),
                  Param("bias_rec", 0.0, "input units", "b_hh", gates=G)),
    fixed_params=(Param("bias_in", 0, "2**-F input units", "b_ih", gates=G, integer=True),
                  Param("bias_rec", 0, "2**-F input units", "b_hh", gates=G, integer=True)),
    settings=(DELTA_THRESHOLD, IN_FRAC_BITS),
    state_type=SdGruState,
    sends="graded",
)
