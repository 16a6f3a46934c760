"""``lif``: the recurrent leaky integrate-and-fire neuron (the soma of a spiking RNN layer), binary spikes out.

Float: Lava's floating-point LIF with du = 1 (u = a_in): ``v = v*(1-dv) + a_in + bias`` with ``dv = 1 - decay``,
then the shared soma (:mod:`spikernn.hardware.kinds.soma`); with reset "zero" and no adaptation it gives the
bits of ``lava.proc.lif.models.PyLifModelFloat``.

Fixed point: exactly Lava's bit-accurate LIF (``PyLifModelBitAcc``): ``du`` (12-bit, the hardware adds 1; 4095
makes u = a_in), ``dv`` (12-bit), ``bias_mant`` (13-bit signed) and ``bias_exp`` (0..7; bias in v units
``bias_mant << bias_exp``), ``vth`` (17-bit unsigned, compared as ``vth << 6``). ``a_in`` is shifted left by
6; u is 24-bit and wraps, v is 24-bit and saturates. Beyond Lava's LIF (the project's own process): reset
"subtract"/"none" and the adaptive threshold with ``adapt_scale`` in v units.

Quantisation (:mod:`spikernn.hardware.fixed_point`): du = 4095, dv = round(4096 (1-decay)) in [0, 4095],
vth = round(threshold 2**F) (17 bits), the bias as bias_mant 2**(bias_exp-6) input units, adaptation
adapt_scale = round(b_a 2**(F+6)); F keeps |a_in| < 2**15 (16-bit synaptic input) for the worst-case
input, vth within 17 bits and the bias within 13.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spikernn.hardware.arith import decay_q, shift, wrap24
from spikernn.hardware.kinds import soma
from spikernn.hardware.kinds.spec import IN_FRAC_BITS, NeuronKind, Param, Port, Prepared, floor_log2

VTH_MAX = (1 << 17) - 1  # 17-bit unsigned threshold register
BIAS_MANT_MAX = (1 << 12) - 1  # 13-bit signed bias mantissa: -4096 .. 4095
AIN_MAX = 1 << 15  # 16-bit synaptic input
U_PASS = 4095  # du that makes u = a_in (the hardware adds 1: the decayed current is 0)


class LifState(NamedTuple):
    v: np.ndarray  # membrane (after reset)
    a: np.ndarray  # adaptation trace
    u: np.ndarray  # synaptic current (Lava's u; float: u = a_in)


@dataclass(frozen=True)
class LifFloat(Prepared):
    fixed: bool
    size: int
    soma: soma.SomaFloat
    bias: np.ndarray


@dataclass(frozen=True)
class LifFixed(Prepared):
    fixed: bool
    size: int
    soma: soma.SomaFixed
    du: np.ndarray
    u_pass: bool  # du == 4095 everywhere: u = a_in << 6
    bias: np.ndarray  # v units


class Lif(NeuronKind):
    def _prepare(self, values, settings, precision, size):
        if precision == "fixed":
            thr = values["vth"] << 6
            return LifFixed(fixed=True, size=size, soma=soma.prepare_fixed(values, settings, thr), du=values["du"],
                            u_pass=bool(np.all(values["du"] == U_PASS)),
                            bias=shift(values["bias_mant"], values["bias_exp"]))
        return LifFloat(fixed=False, size=size, soma=soma.prepare_float(values, settings), bias=values["bias"])

    def init_state(self, prep, batch):
        z = np.zeros((batch, prep.size), np.int64 if prep.fixed else np.float64)
        return LifState(z, z.copy(), z.copy())

    def step(self, state, inputs, prep):
        a_in = inputs["in"]
        if prep.fixed:
            if prep.u_pass:  # du = 4095: the decayed current is exactly 0
                u = a_in << 6
            else:
                u = decay_q(state.u, prep.du + 1) + (a_in << 6)  # hardware adds 1 to du; input MSB-aligned
            u = wrap24(u)
            v, a, out, s = soma.soma_fixed(state.v, state.a, u + prep.bias, prep.soma)
            return LifState(v, a, u), out, s
        # float, Lava order: u = a_in (du = 1); v = v*(1-dv) + u + bias
        v = state.v * prep.soma.m
        v += a_in
        v += prep.bias
        v, a, sf, s = soma.fire_float(v, state.a, prep.soma)
        return LifState(v, a, a_in), sf, s

    def frac_bits_limits(self, params, drive_bound):
        limits = [floor_log2((AIN_MAX - 1) / drive_bound),
                  floor_log2(VTH_MAX / max(float(np.max(params["threshold"], initial=0.0)), 1e-12))]
        bmax = float(np.max(np.abs(params["bias"]), initial=0.0))
        if bmax > 0:
            limits.append(floor_log2(BIAS_MANT_MAX * 2.0 / bmax))
        return limits

    def quantize_params(self, params, size, F, info):
        from spikernn.hardware.fixed_point import quantize_lif_bias

        out = {"du": np.full(size, U_PASS, np.int64)}
        out.update(soma.quantize_soma(params, size, F, F + 6, info, max_dv=4095, vth_max=VTH_MAX))
        out["bias_mant"], out["bias_exp"], e = quantize_lif_bias(params["bias"], F)
        info["bias_max_abs_error"] = float(np.abs(e).max(initial=0.0))
        return out

    def dequantize_params(self, params, size, F):
        out = soma.dequantize_soma(params, F, F + 6)
        out["bias"] = params["bias_mant"] * 2.0 ** (params["bias_exp"] - 6 - F)
        return out


LIF = Lif(
    name="lif",
    summary="recurrent leaky integrate-and-fire soma (Lava's LIF plus reset modes and an adaptive threshold)",
    ports=(Port("in", 1, bias="bias", doc="synaptic input"),),
    float_params=(Param("bias", 0.0, "input units", "constant drive added every step"), *soma.FLOAT_PARAMS),
    fixed_params=(
        Param("du", U_PASS, "1/4096 per step", "12-bit current decay (the hardware adds 1; 4095: u = a_in)",
              low=0, high=4095, integer=True),
        Param("bias_mant", 0, "v units / 2**bias_exp", "13-bit signed bias mantissa", low=-BIAS_MANT_MAX - 1,
              high=BIAS_MANT_MAX, integer=True),
        Param("bias_exp", 0, "bits", "bias exponent: bias = bias_mant << bias_exp (v units)", low=0, high=7,
              integer=True),
        *soma.fixed_params(Param("vth", 0, "input units (compared as vth << 6)", "17-bit unsigned threshold",
                                 low=0, high=VTH_MAX, integer=True), "v units", dv_high=4095),
    ),
    settings=(soma.RESET, IN_FRAC_BITS),
    state_type=LifState,
    sends="spikes",
)
