"""``sd_rnn``: the sigma-delta RNN neuron of a converted dense ``torch.nn.RNN`` (tanh or relu); graded changes out.

It accumulates the changes it receives (sigma), computes ``act = tanh|relu(sigma + bias)`` and sends
``act - sent`` where ``|act - sent| > delta_threshold`` (strict ">"; Lava's SigmaDelta uses ">=", so give it
``vth = delta_threshold + 1``). Fixed point: input and bias with F fractional bits; tanh through the Q12 table,
output in Q12; relu output in the input units (F), so relu with bias in F units is exactly
``lava.proc.sdn.SigmaDelta`` RELU with state_exp = spike_exp = 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spikernn.hardware.arith import Q, tanh_q, to_q12
from spikernn.hardware.kinds.delta import delta_send
from spikernn.hardware.kinds.spec import DELTA_THRESHOLD, IN_FRAC_BITS, NeuronKind, Param, Port, Prepared, Setting


class SdRnnState(NamedTuple):
    sigma: np.ndarray  # accumulated input
    sent: np.ndarray  # value last sent


@dataclass(frozen=True)
class SigmaDeltaPrepared(Prepared):
    """Prepared sigma-delta neuron: port biases, the delta threshold (output units), F, and the activation."""

    fixed: bool
    size: int
    bias: np.ndarray  # (G*H,) (GRU: bias_in)
    bias_rec: np.ndarray | None  # GRU
    threshold: float | int
    frac_bits: int
    activation: str = "tanh"


def prepare_sigma_delta(values: dict, settings: dict, precision: str, size: int, bias: str = "bias",
                        bias_rec: str | None = None) -> SigmaDeltaPrepared:
    fixed = precision == "fixed"
    thr = settings["delta_threshold"]
    return SigmaDeltaPrepared(fixed=fixed, size=size, bias=values[bias],
                              bias_rec=values[bias_rec] if bias_rec else None,
                              threshold=int(thr) if fixed else float(thr), frac_bits=int(settings["in_frac_bits"]),
                              activation=settings.get("activation", "tanh"))


class SigmaDeltaKind(NeuronKind):
    """What the three sigma-delta kinds share: graded changes out, the host reads the value last sent."""

    def read_value(self, state, out):
        return state.sent

    def delta_coded(self, attrs):
        return True

    def sigma_input(self, attrs):
        return True

    def out_frac_bits(self, attrs):
        return Q


class SdRnn(SigmaDeltaKind):
    def _prepare(self, values, settings, precision, size):
        return prepare_sigma_delta(values, settings, precision, size)

    def init_state(self, prep, batch):
        dt = np.int64 if prep.fixed else np.float64
        return SdRnnState(np.zeros((batch, prep.size), dt), np.zeros((batch, prep.size), dt))

    def step(self, state, inputs, prep):
        sigma = state.sigma + inputs["in"]
        pre = sigma + prep.bias
        if prep.fixed:
            act = np.maximum(pre, 0) if prep.activation == "relu" else tanh_q(to_q12(pre, prep.frac_bits))
        else:
            act = np.maximum(pre, 0.0) if prep.activation == "relu" else np.tanh(pre)
        out, sent, mask = delta_send(act, state.sent, prep.threshold)
        return SdRnnState(sigma, sent), out, mask

    def out_frac_bits(self, attrs):
        if attrs.get("activation", "tanh") == "relu":
            return int(attrs.get("in_frac_bits", Q))
        return Q

    def output_bound(self, attrs):
        return None if attrs.get("activation", "tanh") == "relu" else 1.0


SD_RNN = SdRnn(
    name="sd_rnn",
    summary="sigma-delta RNN neuron (tanh or relu) of a converted dense RNN, graded changes out",
    ports=(Port("in", 1, bias="bias", doc="changes of W_ih x + W_hh h"),),
    float_params=(Param("bias", 0.0, "input units", "b_ih + b_hh"),),
    fixed_params=(Param("bias", 0, "2**-F input units", "b_ih + b_hh", integer=True),),
    settings=(Setting("activation", "tanh", "the RNN's nonlinearity", choices=("tanh", "relu")), DELTA_THRESHOLD,
              IN_FRAC_BITS),
    state_type=SdRnnState,
    sends="graded",
)
