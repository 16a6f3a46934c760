"""``sd_lstm``: the sigma-delta LSTM neuron of a converted dense ``torch.nn.LSTM``; graded changes of h out.

It accumulates its 4H inputs (sigma), runs torch's LSTM cell on ``sigma + bias`` (:mod:`~spikernn.hardware.kinds.gates`)
and sends the change of h where it exceeds ``delta_threshold``. Fixed point: input and bias with F fractional
bits, the cell and the output in Q12.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from spikernn.functional import GATES
from spikernn.hardware.kinds import gates
from spikernn.hardware.kinds.delta import delta_send
from spikernn.hardware.kinds.sd_rnn import SigmaDeltaKind, prepare_sigma_delta
from spikernn.hardware.kinds.spec import DELTA_THRESHOLD, IN_FRAC_BITS, Param, Port

G = GATES["lstm"]


class SdLstmState(NamedTuple):
    sigma: np.ndarray  # (B, 4H) accumulated input
    c: np.ndarray  # cell state
    sent: np.ndarray  # h last sent


class SdLstm(SigmaDeltaKind):
    def _prepare(self, values, settings, precision, size):
        return prepare_sigma_delta(values, settings, precision, size)

    def init_state(self, prep, batch):
        dt = np.int64 if prep.fixed else np.float64
        H = prep.size
        return SdLstmState(np.zeros((batch, G * H), dt), np.zeros((batch, H), dt), np.zeros((batch, H), dt))

    def step(self, state, inputs, prep):
        sigma = state.sigma + inputs["in"]
        pre = sigma + prep.bias
        if prep.fixed:
            c, h = gates.lstm_fixed(pre, state.c, prep.size, prep.frac_bits)
        else:
            c, h = gates.lstm_float(pre, state.c, prep.size)
        out, sent, mask = delta_send(h, state.sent, prep.threshold)
        return SdLstmState(sigma, c, sent), out, mask


SD_LSTM = SdLstm(
    name="sd_lstm",
    summary="sigma-delta LSTM neuron of a converted dense LSTM, graded changes of h out",
    ports=(Port("in", G, bias="bias", doc="changes of the gate pre-activations i,f,g,o"),),
    float_params=(Param("bias", 0.0, "input units", "b_ih + b_hh", gates=G),),
    fixed_params=(Param("bias", 0, "2**-F input units", "b_ih + b_hh", gates=G, integer=True),),
    settings=(DELTA_THRESHOLD, IN_FRAC_BITS),
    state_type=SdLstmState,
    sends="graded",
)
