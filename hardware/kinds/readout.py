"""``readout``: the leaky-integrator readout ``y = decay*y + in + bias`` (decay 0: a linear readout). The host
reads y; it sends no events (in Lava its y goes out as a graded payload, not counted).

With ``input_coding`` "delta" it accumulates its input first (its sources send changes: a readout of a
sigma-delta network). Fixed point: y in the input units (F fractional bits, 24-bit saturating),
``y = sat24(decay12(y) + in + bias)`` with ``dv`` in [0, 4096] (4096: no memory). Quantisation: bias round(b 2**F),
dv = round(4096 (1-decay)); F keeps the worst-case |y| = |drive| / (1 - decay) within 24 bits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spikernn.hardware.arith import ONE, Q, decay_q, sat24
from spikernn.hardware.kinds.spec import (IN_FRAC_BITS, MAX24_FLOAT, NeuronKind, Param, Port, Prepared, Setting,
                                          floor_log2, quantize_biases)


class ReadoutState(NamedTuple):
    sigma: np.ndarray  # accumulated input (input_coding "delta")
    y: np.ndarray  # the value the host reads


@dataclass(frozen=True)
class ReadoutPrepared(Prepared):
    fixed: bool
    size: int
    bias: np.ndarray
    decay: np.ndarray  # float: decay; fixed: dv
    sigma: bool  # accumulate the input (input_coding "delta")
    frac_bits: int


class Readout(NeuronKind):
    def _prepare(self, values, settings, precision, size):
        fixed = precision == "fixed"
        return ReadoutPrepared(fixed=fixed, size=size, bias=values["bias"], decay=values["dv" if fixed else "decay"],
                               sigma=settings["input_coding"] == "delta", frac_bits=int(settings["in_frac_bits"]))

    def init_state(self, prep, batch):
        dt = np.int64 if prep.fixed else np.float64
        return ReadoutState(np.zeros((batch, prep.size), dt), np.zeros((batch, prep.size), dt))

    def step(self, state, inputs, prep):
        a_in = inputs["in"]
        sigma = state.sigma
        if prep.sigma:
            sigma = sigma + a_in
            a_in = sigma
        if prep.fixed:
            y = sat24(decay_q(state.y, prep.decay) + a_in + prep.bias)
        else:
            y = prep.decay * state.y + a_in + prep.bias
        return ReadoutState(sigma, y), y, np.zeros(y.shape, bool)  # read by the host; sends no events

    def read_value(self, state, out):
        return state.y

    def sigma_input(self, attrs):
        return attrs.get("input_coding", "value") == "delta"

    def out_frac_bits(self, attrs):
        return int(attrs.get("in_frac_bits", Q))

    def frac_bits_limits(self, params, drive_bound):
        dec = float(np.max(params["decay"], initial=0.0))
        return [floor_log2(MAX24_FLOAT / (2.0 * drive_bound / max(1.0 - dec, 1.0 / ONE)))]

    def quantize_params(self, params, size, F, info):
        from spikernn.hardware.fixed_point import quantize_decay

        out = quantize_biases(self, params, F, info)
        out["dv"], e = quantize_decay(params["decay"], ONE)
        info["decay_max_abs_error"] = float(np.abs(e).max(initial=0.0))
        return out

    def dequantize_params(self, params, size, F):
        out = super().dequantize_params(params, size, F)
        out["decay"] = (ONE - params["dv"]) / float(ONE)
        return out


READOUT = Readout(
    name="readout",
    summary="leaky-integrator readout y = decay*y + in + bias, read by the host",
    ports=(Port("in", 1, bias="bias", doc="spikes or values of the layer it reads"),),
    float_params=(Param("bias", 0.0, "input units", "b_out"),
                  Param("decay", 0.0, "per step", "beta_out (0: a linear readout)")),
    fixed_params=(Param("bias", 0, "2**-F input units", "b_out", integer=True),
                  Param("dv", ONE, "1/4096 per step", "y decays by (4096-dv)/4096 (4096: no memory)", low=0, high=ONE,
                        integer=True)),
    settings=(Setting("input_coding", "value", "'delta': accumulate the input (sources send changes)",
                      choices=("value", "delta")), IN_FRAC_BITS),
    state_type=ReadoutState,
    sends="host",
)
