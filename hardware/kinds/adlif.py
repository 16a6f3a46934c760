"""``adlif``: the adaptive LIF neuron with an adaptation current (Bittar & Garner 2022, the core's
``neuron="adlif"``; docs/equations.md, "The adLIF soma"), the soma of a spiking RNN layer; binary spikes out.

The drive ``d = in + bias`` goes through the adLIF soma (:data:`spikernn.hardware.kinds.soma.ADLIF_SOMA`, which
holds its float and fixed-point equations; the ``adlif_lstm``/``adlif_gru`` kinds use the same soma).

Fixed point: the drive, v, w, the threshold ``vth`` and the jump ``b`` are integers with the input's F
fractional bits (``in_frac_bits``). Quantisation: dalpha, dbeta = round(65536 (1 - .)) (16-bit decays,
:data:`~spikernn.hardware.kinds.soma.DECAY_Q`), a = round(4096 a), b and
vth = round(. * 2**F); F keeps the worst-case membrane (4 x (|drive| + |b| + threshold)) within 24 bits.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spikernn.hardware.kinds import soma
from spikernn.hardware.kinds.soma import ADLIF_SOMA
from spikernn.hardware.kinds.spec import (IN_FRAC_BITS, MAX24_FLOAT, NeuronKind, Param, Port, Prepared,
                                          dequantize_biases, floor_log2, quantize_biases)


class AdLifState(NamedTuple):
    v: np.ndarray  # membrane (after reset)
    w: np.ndarray  # adaptation current
    s: np.ndarray  # the previous step's spikes (0/1, read by "ef")


@dataclass(frozen=True)
class AdLifPrepared(Prepared):
    fixed: bool
    size: int
    bias: np.ndarray  # float: input units; fixed: F units
    soma: soma.AdLifSomaPrepared


class AdLif(NeuronKind):
    def _prepare(self, values, settings, precision, size):
        fixed = precision == "fixed"
        return AdLifPrepared(fixed=fixed, size=size, bias=values["bias"],
                             soma=ADLIF_SOMA.prepare(values, settings, fixed))

    def init_state(self, prep, batch):
        dt = np.int64 if prep.fixed else np.float64
        return AdLifState(*(np.zeros((batch, prep.size), dt) for _ in range(3)))

    def step(self, state, inputs, prep):
        st, out, s = ADLIF_SOMA.step(state, inputs["in"] + prep.bias, prep.soma)
        return AdLifState(*st), out, s

    def frac_bits_limits(self, params, drive_bound):
        peak = lambda k: float(np.max(np.abs(params[k]), initial=0.0))  # noqa: E731
        bound = 4.0 * (drive_bound + peak("b") + peak("threshold"))
        return [floor_log2(MAX24_FLOAT / (2.0 * bound))]

    def quantize_params(self, params, size, F, info):
        out = quantize_biases(self, params, F, info)
        out.update(ADLIF_SOMA.quantize(params, F, info))
        return out

    def dequantize_params(self, params, size, F):
        out = dequantize_biases(self, params, F)
        out.update(ADLIF_SOMA.dequantize(params, F))
        return out


ADLIF = AdLif(
    name="adlif",
    summary="adaptive LIF soma with an adaptation current (Bittar & Garner 2022), binary spikes out",
    ports=(Port("in", 1, bias="bias", doc="synaptic input"),),
    float_params=(Param("bias", 0.0, "input units", "constant drive added every step"), *ADLIF_SOMA.float_params),
    fixed_params=(Param("bias", 0, "2**-F input units", "constant drive", integer=True),
                  *ADLIF_SOMA.fixed_params("2**-F input units (default for F = 12)")),
    settings=(*ADLIF_SOMA.settings, IN_FRAC_BITS),
    state_type=AdLifState,
    sends="spikes",
)
