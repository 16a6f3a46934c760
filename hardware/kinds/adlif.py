"""``adlif``: the adaptive LIF neuron with an adaptation current (Bittar & Garner 2022, the core's
``neuron="adlif"``; docs/equations.md, "The adLIF soma"), the soma of a spiking RNN layer; binary spikes out.

Float (float64), the core's equations in their update form::

    u = v + (1 - alpha) ((d - w) - v)                 d = in + bias
    s = u > threshold;  v = reset(u, s)               (the shared reset rule, spikernn.hardware.kinds.soma)
    w = w + (1 - beta) ((a x + b y) - w)              "ef": x, y = v_{t-1}, s_{t-1};  "se": x, y = v_t, s_t

Fixed point ("microcode" neuron; the quantiser's choice of units): the drive, v, w, the threshold ``vth`` and
the jump ``b`` are integers with the input's F fractional bits (``in_frac_bits``), 24-bit saturating; the decays
are 12-bit decrements ``dalpha = round(4096 (1 - alpha))``, ``dbeta = round(4096 (1 - beta))`` in [0, 4096]
and the coupling ``a`` is Q12 (1.0 == 4096); every product is :func:`~spikernn.hardware.arith.mul_q` (round half
up)::

    u = sat24(v + mul_q(dalpha, (d - w) - v));  s = u > vth;  v = reset(u, s) (sat24 after a subtraction)
    w = sat24(w + mul_q(dbeta, (mul_q(a, x) + b y) - w))

Quantisation: dalpha, dbeta as above, a = round(4096 a), b and vth = round(. * 2**F); F keeps the worst-case
membrane (4 x (|drive| + |b| + threshold)) within 24 bits.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from spikernn.functional import DISCRETISATIONS
from spikernn.hardware.arith import MAX24, ONE, Q, mul_q, sat24
from spikernn.hardware.kinds import soma
from spikernn.hardware.kinds.spec import (IN_FRAC_BITS, MAX24_FLOAT, NeuronKind, Param, Port, Prepared, Setting,
                                          dequantize_biases, floor_log2, quantize_biases)
from spikernn.neurons import ADLIF_GAIN, ADLIF_RANGES, NeuronOptions

DEFAULT_DISCRETISATION: str = next(f.default for f in fields(NeuronOptions) if f.name == "discretisation")
# a hand-built population's defaults: the middle of the core's ranges (SE-adLIF's), as the neuron uses them
# (a and b times the core's gain q), also in their fixed form
MID = {k: (lo + hi) / 2 * (ADLIF_GAIN if k in ("a", "b") else 1.0) for k, (lo, hi) in ADLIF_RANGES.items()}


class AdLifState(NamedTuple):
    v: np.ndarray  # membrane (after reset)
    w: np.ndarray  # adaptation current
    s: np.ndarray  # the previous step's spikes (0/1, read by "ef")


@dataclass(frozen=True)
class AdLifPrepared(Prepared):
    fixed: bool
    size: int
    bias: np.ndarray
    ka: np.ndarray  # float: 1 - alpha; fixed: dalpha
    kb: np.ndarray  # float: 1 - beta; fixed: dbeta
    a: np.ndarray  # float: a; fixed: Q12
    b: np.ndarray  # float: b; fixed: F units
    threshold: np.ndarray  # float: threshold; fixed: vth (F units)
    reset: str
    symplectic: bool  # discretisation "se"


class AdLif(NeuronKind):
    def _prepare(self, values, settings, precision, size):
        fixed = precision == "fixed"
        if fixed:
            ka, kb, th = values["dalpha"], values["dbeta"], values["vth"]
        else:
            ka, kb, th = 1.0 - values["alpha"], 1.0 - values["beta"], values["threshold"]
        return AdLifPrepared(fixed=fixed, size=size, bias=values["bias"], ka=ka, kb=kb, a=values["a"], b=values["b"],
                             threshold=th, reset=settings["reset"], symplectic=settings["discretisation"] == "se")

    def init_state(self, prep, batch):
        dt = np.int64 if prep.fixed else np.float64
        return AdLifState(*(np.zeros((batch, prep.size), dt) for _ in range(3)))

    def step(self, state, inputs, prep):
        d = inputs["in"] + prep.bias
        v, w = state.v, state.w
        if prep.fixed:
            u = sat24(v + mul_q(prep.ka, (d - w) - v))
        else:
            u = v + prep.ka * ((d - w) - v)
        s = u > prep.threshold
        soma.reset_membrane(u, s, prep.threshold, prep.reset)
        if prep.fixed and prep.reset == "subtract":
            u = sat24(u)
        out = s.astype(u.dtype)
        x, y = (u, out) if prep.symplectic else (v, state.s)
        if prep.fixed:
            w = sat24(w + mul_q(prep.kb, (mul_q(prep.a, x) + prep.b * y) - w))
        else:
            w = w + prep.kb * ((prep.a * x + prep.b * y) - w)
        return AdLifState(u, w, out), out, s

    def frac_bits_limits(self, params, drive_bound):
        peak = lambda k: float(np.max(np.abs(params[k]), initial=0.0))  # noqa: E731
        bound = 4.0 * (drive_bound + peak("b") + peak("threshold"))
        return [floor_log2(MAX24_FLOAT / (2.0 * bound))]

    def quantize_params(self, params, size, F, info):
        from spikernn.hardware.fixed_point import quantize_decay, quantize_value

        out = quantize_biases(self, params, F, info)
        for name, key in (("alpha", "dalpha"), ("beta", "dbeta")):
            out[key], e = quantize_decay(params[name], ONE)
            info[f"{name}_max_abs_error"] = float(np.abs(e).max(initial=0.0))
        for name, frac in (("a", Q), ("b", F), ("threshold", F)):
            q, e = quantize_value(params[name], frac)
            out["vth" if name == "threshold" else name] = q
            info[f"{name}_max_abs_error"] = float(np.abs(e).max(initial=0.0))
        return out

    def dequantize_params(self, params, size, F):
        out = dequantize_biases(self, params, F)
        out.update(alpha=(ONE - params["dalpha"]) / float(ONE), beta=(ONE - params["dbeta"]) / float(ONE),
                   a=params["a"] / float(ONE), b=params["b"] * 2.0 ** -F, threshold=params["vth"] * 2.0 ** -F)
        return out


ADLIF = AdLif(
    name="adlif",
    summary="adaptive LIF soma with an adaptation current (Bittar & Garner 2022), binary spikes out",
    ports=(Port("in", 1, bias="bias", doc="synaptic input"),),
    float_params=(
        Param("bias", 0.0, "input units", "constant drive added every step"),
        Param("alpha", MID["alpha"], "per step", "membrane decay alpha", low=0.0, high=1.0),
        Param("beta", MID["beta"], "per step", "adaptation decay beta", low=0.0, high=1.0),
        Param("a", MID["a"], "per unit of v", "subthreshold coupling of w to the membrane"),
        Param("b", MID["b"], "membrane units per spike", "spike-triggered jump of w"),
        Param("threshold", 1.0, "membrane units", "firing threshold theta0"),
    ),
    fixed_params=(
        Param("bias", 0, "2**-F input units", "constant drive", integer=True),
        Param("dalpha", round(ONE * (1 - MID["alpha"])), "1/4096 per step",
              "membrane: u = v + (dalpha/4096) (d - w - v)", low=0, high=ONE, integer=True),
        Param("dbeta", round(ONE * (1 - MID["beta"])), "1/4096 per step",
              "adaptation: w += (dbeta/4096) (a x + b y - w)", low=0, high=ONE, integer=True),
        Param("a", round(ONE * MID["a"]), "Q12 (1.0 == 4096)", "subthreshold coupling", low=-MAX24, high=MAX24,
              integer=True),
        Param("b", round(ONE * MID["b"]), "2**-F input units per spike (default for F = 12)", "spike-triggered jump",
              low=-MAX24, high=MAX24, integer=True),
        Param("vth", ONE, "2**-F input units (default for F = 12)", "threshold", low=-MAX24, high=MAX24,
              integer=True),
    ),
    settings=(soma.RESET,
              Setting("discretisation", DEFAULT_DISCRETISATION, "'ef' (Euler forward: w reads v and s of the "
                      "previous step) or 'se' (symplectic Euler: of this step); the core's default",
                      choices=DISCRETISATIONS),
              IN_FRAC_BITS),
    state_type=AdLifState,
    sends="spikes",
)
