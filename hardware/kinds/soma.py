"""The spiking soma shared by the spiking kinds (``lif``, ``spiking_lstm``, ``spiking_gru``): its parameters,
its one reset rule, and its float and fixed-point steps (docs/equations.md, "The spiking soma").

Float (float64) is written in Lava's floating-point LIF form ``v = v*(1-dv) + drive`` with ``dv = 1 - decay``;
threshold ``theta = threshold + adapt_scale * a``; spike ``v > theta``; reset; ``a = adapt_decay * a + s``.

Fixed point: ``v = sat24(decay12(v) + drive)`` (:func:`spikernn.hardware.arith.decay_q` with ``dv``);
``theta = threshold + ((adapt_scale * a) >> 12)`` in v units with ``a`` in Q12 (a spike adds 4096), decaying
with ``da`` like v; after a subtractive reset v saturates again.

The reset rule (:func:`reset_membrane`) and the default reset mode (:data:`DEFAULT_RESET`, the core's
``NeuronOptions`` default, read from there) are defined here once and used by every reference step and every
fast kernel.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spikernn.functional import RESETS
from spikernn.hardware.arith import ONE, Q, decay_q, sat24
from spikernn.hardware.kinds.spec import Param, Setting
from spikernn.neurons import DEFAULT_RESET as _CORE_RESETS

# the hardware's one reset default: the core's default for its LIF soma (the soma of every kind but adlif; the
# converter writes every population's reset out, so a converted adLIF layer keeps the core's "zero")
DEFAULT_RESET: str = _CORE_RESETS["lif"]
RESET = Setting("reset", DEFAULT_RESET, "what a spike does to the membrane: 'subtract' the threshold, set it to "
                "'zero', or 'none' (the core's NeuronOptions default)", choices=RESETS)

FLOAT_PARAMS = (
    Param("decay", 1.0, "per step", "membrane decay beta (v_t = beta v_{t-1} + drive)"),
    Param("threshold", 1.0, "membrane units", "firing threshold theta0"),
    Param("adapt_decay", 0.0, "per step", "decay rho of the adaptation trace a"),
    Param("adapt_scale", 0.0, "membrane units per unit of a", "b_a: theta = theta0 + b_a a (0 disables it)"),
)


def fixed_params(threshold: Param, adapt_unit: str, dv_high: int) -> tuple[Param, ...]:
    """The soma's fixed-point registers: ``dv``, the kind's ``threshold`` register, ``da``, ``adapt_scale``."""
    return (
        Param("dv", 0, "1/4096 per step", "12-bit voltage decay: v decays by (4096-dv)/4096", low=0, high=dv_high,
              integer=True),
        threshold,
        Param("da", ONE, "1/4096 per step", "adaptation decay: a decays by (4096-da)/4096", low=0, high=ONE,
              integer=True),
        Param("adapt_scale", 0, adapt_unit, "threshold rise per unit of a (a in Q12: a spike adds 4096)", integer=True),
    )


@dataclass(frozen=True)
class SomaFloat:
    """Prepared float soma: ``m`` the membrane multiplier ``1 - (1 - decay)`` (Lava's form), ``threshold``,
    ``adapt_scale``, ``adapt_decay`` (each (n,)), the reset mode and whether adaptation is on."""

    m: np.ndarray
    threshold: np.ndarray
    adapt_scale: np.ndarray
    adapt_decay: np.ndarray
    reset: str
    adaptive: bool


@dataclass(frozen=True)
class SomaFixed:
    """Prepared fixed-point soma: ``dv``, ``threshold`` (v units), ``adapt_scale`` (v units per Q12 unit of a),
    ``da`` (each (n,) int64), the reset mode and whether adaptation is on."""

    dv: np.ndarray
    threshold: np.ndarray
    adapt_scale: np.ndarray
    da: np.ndarray
    reset: str
    adaptive: bool


def prepare_float(values: dict, settings: dict) -> SomaFloat:
    ba = values["adapt_scale"]
    return SomaFloat(m=1.0 - (1.0 - values["decay"]), threshold=values["threshold"], adapt_scale=ba,
                     adapt_decay=values["adapt_decay"], reset=settings["reset"], adaptive=bool(np.any(ba != 0)))


def prepare_fixed(values: dict, settings: dict, threshold: np.ndarray) -> SomaFixed:
    ba = values["adapt_scale"]
    return SomaFixed(dv=values["dv"], threshold=threshold, adapt_scale=ba, da=values["da"],
                     reset=settings["reset"], adaptive=bool(np.any(ba != 0)))


_subtract, _multiply, _copyto = np.subtract, np.multiply, np.copyto  # bound once: kernels call this every step


def reset_membrane(v: np.ndarray, spikes: np.ndarray, theta: Any, reset: str, tmp: np.ndarray | None = None,
                   spike_values: np.ndarray | None = None) -> None:
    """The reset rule, in place on ``v`` where ``spikes`` (bool): "zero" sets v to 0, "subtract" subtracts
    ``theta``, "none" leaves v. (Fixed point saturates v again after a subtraction.)

    With a buffer ``tmp`` (v's shape and dtype) the subtraction is ``v -= spikes * theta`` (the same values
    for a finite theta, and several times faster in numpy than a masked subtraction; the fast kernels use it),
    with ``spike_values`` (the spikes as 0/1 numbers, when the caller has them) in place of the bool spikes.
    """
    if reset == "subtract":
        if tmp is None:
            _subtract(v, theta, out=v, where=spikes)
        else:
            v -= _multiply(spikes if spike_values is None else spike_values, theta, out=tmp)
    elif reset == "zero":
        _copyto(v, 0, where=spikes)


def fire_float(v: np.ndarray, a: np.ndarray, p: SomaFloat) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Threshold, spike, reset (in place on the fresh ``v``) and adaptation. Returns ``(v, a, spikes as
    float64, spikes as bool)``."""
    theta = p.threshold + p.adapt_scale * a if p.adaptive else p.threshold
    s = v > theta
    reset_membrane(v, s, theta, p.reset)
    sf = s.astype(np.float64)
    if p.adaptive:
        a = p.adapt_decay * a
        a += sf
    return v, a, sf, s


def soma_float(v: np.ndarray, a: np.ndarray, drive: np.ndarray, p: SomaFloat):
    """``v = v*m + drive`` then :func:`fire_float`."""
    v = v * p.m
    v += drive
    return fire_float(v, a, p)


def soma_fixed(v: np.ndarray, a: np.ndarray, drive: np.ndarray, p: SomaFixed):
    """``v = sat24(decay12(v) + drive)``; threshold, spike, reset; ``a = sat24(decay12(a) + 4096 s)``.
    Returns ``(v, a, spikes as int64, spikes as bool)``."""
    v = sat24(decay_q(v, p.dv) + drive)
    theta = p.threshold + ((p.adapt_scale * a) >> Q) if p.adaptive else p.threshold
    s = v > theta
    reset_membrane(v, s, theta, p.reset)
    if p.reset == "subtract":
        v = sat24(v)
    si = s.astype(np.int64)
    if p.adaptive:
        a = sat24(decay_q(a, p.da) + (si << Q))
    return v, a, si, s


def quantize_soma(params: dict, size: int, threshold_frac_bits: int, adapt_frac_bits: int, info: dict,
                  max_dv: int, vth_max: int | None = None) -> dict:
    """Fixed soma registers from float params: dv = round(4096 (1-decay)) (clipped to ``max_dv``), the threshold
    as round(threshold 2**threshold_frac_bits) (clipped to [0, vth_max] when given) and, when adaptation is on,
    da and adapt_scale = round(b_a 2**adapt_frac_bits)."""
    from spikernn.hardware.fixed_point import MAX24, quantize_decay, quantize_value

    out = {}
    out["dv"], e = quantize_decay(params["decay"], max_dv)
    info["decay_max_abs_error"] = float(np.abs(e).max(initial=0.0))
    vth, e = quantize_value(params["threshold"], threshold_frac_bits, MAX24 if vth_max is None else vth_max)
    out["vth"] = np.maximum(vth, 0) if vth_max is not None else vth
    info["threshold_max_abs_error"] = float(np.abs(e).max(initial=0.0))
    ba = params["adapt_scale"]
    if np.any(ba != 0):
        out["da"], e = quantize_decay(params["adapt_decay"], ONE)
        info["adapt_decay_max_abs_error"] = float(np.abs(e).max(initial=0.0))
        out["adapt_scale"], e = quantize_value(ba, adapt_frac_bits)
        info["adapt_scale_max_abs_error"] = float(np.abs(e).max(initial=0.0))
    return out


def dequantize_soma(params: dict, threshold_frac_bits: int, adapt_frac_bits: int) -> dict:
    """Inverse of :func:`quantize_soma`: the effective float decay, threshold and adaptation."""
    out = {"decay": (ONE - params["dv"]) / float(ONE), "adapt_decay": (ONE - params["da"]) / float(ONE),
           "threshold": params["vth"] * 2.0 ** -threshold_frac_bits,
           "adapt_scale": params["adapt_scale"] * 2.0 ** -adapt_frac_bits}
    return out
