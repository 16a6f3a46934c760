"""The spiking somas the spiking kinds are built from, their one reset rule, and their float and fixed-point
steps (docs/equations.md, "The spiking soma" and "The adLIF soma").

A kind composes a drive with a soma: ``lif`` (Lava's synaptic current) and ``adlif`` (input plus bias) are
a recurrent layer's neurons; ``spiking_lstm``/``spiking_gru`` (LIF soma) and ``adlif_lstm``/``adlif_gru``
(adLIF soma) put the LSTM/GRU cell in front of the soma. Each soma is a :class:`Soma` (:data:`LIF_SOMA`,
:data:`ADLIF_SOMA`, keyed by the core's ``neuron`` option in :data:`SOMAS`): its float parameters, its
fixed-point registers for a drive in given units, its settings, its state fields, its reference step, and
its quantisation. The equations of each soma are written once, here.

**LIF soma.** Float (float64) is written in Lava's floating-point LIF form ``v = v*(1-dv) + drive`` with
``dv = 1 - decay``; threshold ``theta = threshold + adapt_scale * a``; spike ``v > theta``; reset;
``a = adapt_decay * a + s``. Fixed point: ``v = sat24(decay12(v) + drive)``
(:func:`spikernn.hardware.arith.decay_q` with ``dv``); ``theta = threshold + ((adapt_scale * a) >> 12)`` in v
units with ``a`` in Q12 (a spike adds 4096), decaying with ``da`` like v; after a subtractive reset v
saturates again.

**adLIF soma** (Bittar & Garner 2022; the core's ``neuron="adlif"``). Float, the core's equations in their
update form::

    u = v + (1 - alpha) ((d - w) - v)
    s = u > threshold;  v = reset(u, s)
    w = w + (1 - beta) ((a x + b y) - w)              "ef": x, y = v_{t-1}, s_{t-1};  "se": x, y = v_t, s_t

Fixed point ("microcode" neuron): v, w, the threshold ``vth`` and the jump ``b`` are integers in the drive's
units, 24-bit saturating; the decays are 16-bit decrements (:data:`DECAY_Q`) ``dalpha = round(65536 (1 -
alpha))``, ``dbeta = round(65536 (1 - beta))`` in [0, 65536] and the coupling ``a`` is Q12 (1.0 == 4096); every
product rounds half up (:func:`mul_decay` for the decays, :func:`~spikernn.hardware.arith.mul_q` for ``a``)::

    u = sat24(v + mul_decay(dalpha, (d - w) - v));  s = u > vth;  v = reset(u, s) (sat24 after a subtraction)
    w = sat24(w + mul_decay(dbeta, (mul_q(a, x) + b y) - w))

Why 16 bits and not Lava LIF's 12: in a trained SpikingRNN the adaptation current w is tens of θ0 (q·b up to 120
per spike, held for τ_w 60-300 steps), and a 12-bit ``dbeta`` is 3.6 % off at τ_w 300 (1 - β = 1/300: 13.65 ->
14); that error in w's decay alone flipped the class of 2 of 370 JapaneseVowels test sequences
(benchmarks/results/round6/accuracy_r6_rnn.md). 16 bits put it at 0.2 %. Network files of format version 2 and
before hold 12-bit decays (:data:`V2_DECAY_Q`); ``Network.load`` shifts them, which gives the same bits.

The reset rule (:func:`reset_membrane`) and the default reset mode (:data:`DEFAULT_RESET`, the core's
``NeuronOptions`` default, read from there) are defined here once and used by every reference step and every
fast kernel.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from spikernn.functional import DISCRETISATIONS, RESETS
from spikernn.hardware.arith import MAX24, ONE, Q, decay_q, mul_q, sat24
from spikernn.hardware.kinds.spec import Param, Setting
from spikernn.neurons import ADLIF_GAIN, ADLIF_RANGES, NeuronOptions
from spikernn.neurons import DEFAULT_RESET as _CORE_RESETS

# fractional bits of the adLIF soma's decay registers dalpha, dbeta (module docstring: 1.0 == DECAY_ONE), and of
# the files written before they had 16 (network format version <= 2: Q12)
DECAY_Q = 16
DECAY_ONE = 1 << DECAY_Q
V2_DECAY_Q = Q
DECAY_REGISTERS = ("dalpha", "dbeta")


def mul_decay(d: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A decay register (:data:`DECAY_Q` fractional bits) times an integer, rounded half up:
    ``(d x + 2**(DECAY_Q-1)) >> DECAY_Q``."""
    return (d * x + (1 << (DECAY_Q - 1))) >> DECAY_Q


# the hardware's one reset default: the core's default for its LIF soma (the converter writes every
# population's reset out, so a converted adLIF layer keeps the core's "zero")
DEFAULT_RESET: str = _CORE_RESETS["lif"]
DEFAULT_DISCRETISATION: str = next(f.default for f in fields(NeuronOptions) if f.name == "discretisation")
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


# ------------------------------------------------------------------------------------------------------------
# the somas as parts of a kind
# ------------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Soma:
    """A spiking soma as a part of a neuron kind: the kind computes a drive and hands it to :meth:`step`.

    ``name`` is the core's ``neuron`` option; ``state_fields`` the soma's fields of the kind's state (after the
    kind's own); ``float_params`` and ``settings`` go into the kind's description as they are;
    :meth:`fixed_params` gives the registers for a drive in ``unit`` (integers with the drive's fractional
    bits). Subclasses implement :meth:`prepare`, :meth:`step`, :meth:`quantize` and :meth:`dequantize`.
    """

    name: str
    title: str
    state_fields: tuple[str, ...]
    float_params: tuple[Param, ...]
    settings: tuple[Setting, ...]

    def fixed_params(self, unit: str) -> tuple[Param, ...]:
        """The fixed-point registers for a drive whose integers are ``unit`` (e.g. "Q12 (1.0 == 4096)")."""
        raise NotImplementedError

    def prepare(self, values: dict, settings: dict, fixed: bool) -> Any:
        """The typed constants of :meth:`step` from resolved ``values`` (the kind's params of this precision)."""
        raise NotImplementedError

    def step(self, state: tuple, drive: np.ndarray, p: Any) -> tuple[tuple, np.ndarray, np.ndarray]:
        """One step on the drive (B, n): ``(new state fields, spikes as numbers, spikes as bool)``; pure."""
        raise NotImplementedError

    def quantize(self, params: dict, frac_bits: int, info: dict) -> dict:
        """Fixed registers from float params (full arrays) for a drive with ``frac_bits`` fractional bits;
        records the errors in ``info``."""
        raise NotImplementedError

    def dequantize(self, params: dict, frac_bits: int) -> dict:
        """Float params with exactly the effective values of the fixed registers."""
        raise NotImplementedError


class LifSoma(Soma):
    """The LIF soma in a microcode neuron (:func:`soma_float` / :func:`soma_fixed`): the threshold in the
    drive's units, ``dv`` in [0, 4096]. (The ``lif`` kind keeps Lava's LIF registers and calls the same
    functions directly.)"""

    def fixed_params(self, unit: str) -> tuple[Param, ...]:
        return fixed_params(Param("vth", 0, unit, "threshold", integer=True), "units of vth", dv_high=ONE)

    def prepare(self, values: dict, settings: dict, fixed: bool) -> SomaFloat | SomaFixed:
        return prepare_fixed(values, settings, values["vth"]) if fixed else prepare_float(values, settings)

    def step(self, state: tuple, drive: np.ndarray, p: SomaFloat | SomaFixed):
        v, a, out, s = (soma_fixed if isinstance(p, SomaFixed) else soma_float)(state[0], state[1], drive, p)
        return (v, a), out, s

    def quantize(self, params: dict, frac_bits: int, info: dict) -> dict:
        return quantize_soma(params, 0, frac_bits, frac_bits, info, max_dv=ONE)

    def dequantize(self, params: dict, frac_bits: int) -> dict:
        return dequantize_soma(params, frac_bits, frac_bits)


LIF_SOMA = LifSoma("lif", "LIF", ("v", "a"), FLOAT_PARAMS, (RESET,))

# a hand-built adLIF population's defaults: the middle of the core's ranges (SE-adLIF's), as the neuron uses them
# (a and b times the core's gain q), also in their fixed form
ADLIF_MID = {k: (lo + hi) / 2 * (ADLIF_GAIN if k in ("a", "b") else 1.0) for k, (lo, hi) in ADLIF_RANGES.items()}
DISCRETISATION = Setting("discretisation", DEFAULT_DISCRETISATION, "'ef' (Euler forward: w reads v and s of the "
                         "previous step) or 'se' (symplectic Euler: of this step); the core's default",
                         choices=DISCRETISATIONS)


@dataclass(frozen=True)
class AdLifSomaPrepared:
    """Prepared adLIF soma (each (n,)): float ``ka = 1 - alpha``, ``kb = 1 - beta``, ``a``, ``b``, ``threshold``;
    fixed point ``dalpha``, ``dbeta`` (:data:`DECAY_Q`), ``a`` (Q12), ``b`` and ``vth`` (drive units) in the same
    fields."""

    fixed: bool
    ka: np.ndarray
    kb: np.ndarray
    a: np.ndarray
    b: np.ndarray
    threshold: np.ndarray
    reset: str
    symplectic: bool  # discretisation "se"


class AdLifSoma(Soma):
    """The adLIF soma (module docstring); state ``v`` (after reset), ``w`` (adaptation current) and ``s`` (the
    previous step's spikes as 0/1, read by "ef")."""

    def fixed_params(self, unit: str) -> tuple[Param, ...]:
        return (
            Param("dalpha", round(DECAY_ONE * (1 - ADLIF_MID["alpha"])), f"1/{DECAY_ONE} per step",
                  f"membrane: u = v + (dalpha/{DECAY_ONE}) (d - w - v)", low=0, high=DECAY_ONE, integer=True),
            Param("dbeta", round(DECAY_ONE * (1 - ADLIF_MID["beta"])), f"1/{DECAY_ONE} per step",
                  f"adaptation: w += (dbeta/{DECAY_ONE}) (a x + b y - w)", low=0, high=DECAY_ONE, integer=True),
            Param("a", round(ONE * ADLIF_MID["a"]), "Q12 (1.0 == 4096)", "subthreshold coupling", low=-MAX24,
                  high=MAX24, integer=True),
            Param("b", round(ONE * ADLIF_MID["b"]), f"{unit} per spike", "spike-triggered jump", low=-MAX24,
                  high=MAX24, integer=True),
            Param("vth", ONE, unit, "threshold", low=-MAX24, high=MAX24, integer=True),
        )

    def prepare(self, values: dict, settings: dict, fixed: bool) -> AdLifSomaPrepared:
        if fixed:
            ka, kb, th = values["dalpha"], values["dbeta"], values["vth"]
        else:
            ka, kb, th = 1.0 - values["alpha"], 1.0 - values["beta"], values["threshold"]
        return AdLifSomaPrepared(fixed=fixed, ka=ka, kb=kb, a=values["a"], b=values["b"], threshold=th,
                                 reset=settings["reset"], symplectic=settings["discretisation"] == "se")

    def step(self, state: tuple, drive: np.ndarray, p: AdLifSomaPrepared):
        v, w, s_prev = state
        if p.fixed:
            u = sat24(v + mul_decay(p.ka, (drive - w) - v))
        else:
            u = v + p.ka * ((drive - w) - v)
        s = u > p.threshold
        reset_membrane(u, s, p.threshold, p.reset)
        if p.fixed and p.reset == "subtract":
            u = sat24(u)
        out = s.astype(u.dtype)
        x, y = (u, out) if p.symplectic else (v, s_prev)
        if p.fixed:
            w = sat24(w + mul_decay(p.kb, (mul_q(p.a, x) + p.b * y) - w))
        else:
            w = w + p.kb * ((p.a * x + p.b * y) - w)
        return (u, w, out), out, s

    def quantize(self, params: dict, frac_bits: int, info: dict) -> dict:
        from spikernn.hardware.fixed_point import quantize_decay, quantize_value

        out = {}
        for name, key in (("alpha", "dalpha"), ("beta", "dbeta")):
            out[key], e = quantize_decay(params[name], DECAY_ONE, DECAY_Q)
            info[f"{name}_max_abs_error"] = float(np.abs(e).max(initial=0.0))
        for name, frac in (("a", Q), ("b", frac_bits), ("threshold", frac_bits)):
            q, e = quantize_value(params[name], frac)
            out["vth" if name == "threshold" else name] = q
            info[f"{name}_max_abs_error"] = float(np.abs(e).max(initial=0.0))
        return out

    def dequantize(self, params: dict, frac_bits: int) -> dict:
        return dict(alpha=(DECAY_ONE - params["dalpha"]) / float(DECAY_ONE),
                    beta=(DECAY_ONE - params["dbeta"]) / float(DECAY_ONE),
                    a=params["a"] / float(ONE), b=params["b"] * 2.0 ** -frac_bits,
                    threshold=params["vth"] * 2.0 ** -frac_bits)


ADLIF_SOMA = AdLifSoma(
    "adlif", "adLIF", ("v", "w", "s"),
    (Param("alpha", ADLIF_MID["alpha"], "per step", "membrane decay alpha", low=0.0, high=1.0),
     Param("beta", ADLIF_MID["beta"], "per step", "adaptation decay beta", low=0.0, high=1.0),
     Param("a", ADLIF_MID["a"], "per unit of v", "subthreshold coupling of w to the membrane"),
     Param("b", ADLIF_MID["b"], "membrane units per spike", "spike-triggered jump of w"),
     Param("threshold", 1.0, "membrane units", "firing threshold theta0")),
    (RESET, DISCRETISATION))

SOMAS: dict[str, Soma] = {s.name: s for s in (LIF_SOMA, ADLIF_SOMA)}  # by the core's ``neuron`` option
