"""numba kernels of the fused training path (:mod:`spikernn.fused`): one call per time step does all the
elementwise work of a step of the spiking LSTM with a LIF soma (gates, cell update, membrane, spike, reset), and
one call per step its BPTT; the GEMMs stay in torch. Imported only by :func:`spikernn.fused.compiled_kernels`
(never by ``import spikernn``); compiled on first use and cached on disk (``cache=True``).

The arrays are numpy views of the fused path's torch buffers (float32, C-contiguous; ``Tensor.numpy()`` shares
memory), so the kernels write the same saved tensors as the torch loop: (T,B,4H) ``ACT`` (σ of the gates, the g
rows doubled: ``tanh(g) = 2 σ(2g) − 1``), (T+1,B,H) ``C`` (c), ``S``, ``V``, (T,B,H) ``Q`` = σ(−2c) and ``U``
(membrane before reset). Same equations as the torch loop (docs/equations.md); float32 rounding differs (the
sigmoid below is within 4 ulp of torch's on [−30, 30]).

All of it is in one file on purpose: numba's on-disk cache of a function is invalidated when its own file changes,
not when a function it calls in another file does.
"""
from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from spikernn._numba import numba_can_cache


def _probe():  # a function of this file: can numba cache it?
    return 0


def can_cache() -> bool:
    """Whether numba can cache this file's functions (:func:`spikernn._numba.numba_can_cache`)."""
    return numba_can_cache(_probe)


JIT = dict(cache=can_cache(), error_model="numpy", nogil=True)
INLINE = dict(JIT, inline="always")

# the reset codes (spikernn.functional.RESETS)
SUBTRACT, ZERO, NONE = 0, 1, 2
RESET_CODES = {"subtract": SUBTRACT, "zero": ZERO, "none": NONE}

_F0, _F1, _F2, _F4 = np.float32(0.0), np.float32(1.0), np.float32(2.0), np.float32(4.0)
_LOG2E = np.float32(1.4426950408889634)
_LN2_HI, _LN2_LO = np.float32(0.693359375), np.float32(-2.12194440e-4)
_EXP_MAX = np.float32(87.0)  # e^-87 = 1.6e-38: still a normal float32
# Cephes expf: e^r = 1 + r + r^2 P(r) on |r| <= ln2/2
_P0, _P1, _P2 = np.float32(1.9875691500e-4), np.float32(1.3981999507e-3), np.float32(8.3334519073e-3)
_P3, _P4, _P5 = np.float32(4.1665795894e-2), np.float32(1.6666665459e-1), np.float32(5.0000001201e-1)


@intrinsic
def _i32_as_f32(typingctx, x):
    """The float32 whose bits are the int32 ``x``."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float32))

    return sig, codegen


@njit(**INLINE)
def _exp_neg(y):
    """e^−y for float32 y >= 0 (clamped at 87), as branch-free code that LLVM vectorises (numba's ``math.exp``
    calls libm per element): Cody-Waite reduction y = k ln2 − r, Cephes' polynomial, 2^−k from its bits."""
    y = min(y, _EXP_MAX)
    k = np.floor(y * _LOG2E + np.float32(0.5))
    r = k * _LN2_HI - y + k * _LN2_LO
    p = ((((_P0 * r + _P1) * r + _P2) * r + _P3) * r + _P4) * r + _P5
    e = p * (r * r) + r + _F1
    return e * _i32_as_f32((np.int32(127) - np.int32(k)) << np.int32(23))


@njit(**INLINE)
def sigmoid(x):
    """σ(x) = 1 / (1 + e^−x) in float32 (e^−|x| only, so no overflow); within 4 ulp of ``torch.sigmoid`` on
    [−30, 30] (tests/test_fused_compiled.py)."""
    e = _exp_neg(abs(x))
    r = _F1 / (_F1 + e)
    return r if x >= _F0 else e * r


@njit(**JIT)
def vsigmoid(x, out):
    """out[i] = sigmoid(x[i]) (1-D; for the tests)."""
    for i in range(x.size):
        out[i] = sigmoid(x[i])


@njit(**JIT)
def _reset_factors(reset):
    """(k_θ, k_u) with v = u − s (k_θ θ + k_u u): "subtract" (1, 0), "zero" (0, 1), "none" (0, 0) (branch-free
    inner loops)."""
    return (_F1 if reset == SUBTRACT else _F0), (_F1 if reset == ZERO else _F0)


@njit(**JIT)
def lstm_lif_forward_step(t, ACT, C, Q, U, S, V, beta, theta, reset, b0, b1):
    """Step ``t`` of the LSTM with a LIF soma (non-adaptive threshold). On entry ``ACT[t]`` (B,4H) holds σ of the
    gates (i, f, σ(2g), o). Reads ``C[t]``, ``V[t]``, writes ``C[t+1]`` = f c + i (2 σ(2g) − 1), ``Q[t]`` = σ(−2 c),
    the drive o (1 − 2 q) = o tanh(c), ``U[t]`` = drive + β v, ``S[t+1]`` = u > θ, ``V[t+1]`` = the reset of u.
    ``beta``, ``theta``: (H,); ``reset``: RESET_CODES; batch rows ``b0:b1`` only."""
    H = C.shape[2]
    k_th, k_u = _reset_factors(reset)
    for b in range(b0, b1):
        a = ACT[t, b]
        ai, af, ag, ao = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]  # views: affine indices, so LLVM vectorises
        c_prev, v_prev = C[t, b], V[t, b]
        c_new, q_out, u_out, s_out, v_out = C[t + 1, b], Q[t, b], U[t, b], S[t + 1, b], V[t + 1, b]
        for h in range(H):
            i, f, sg, o = ai[h], af[h], ag[h], ao[h]
            c = f * c_prev[h] + i * (_F2 * sg - _F1)
            q = sigmoid(-_F2 * c)
            u = o * (_F1 - _F2 * q) + beta[h] * v_prev[h]
            th = theta[h]
            s = _F1 if u > th else _F0
            c_new[h] = c
            q_out[h] = q
            u_out[h] = u
            s_out[h] = s
            v_out[h] = u - s * (k_th * th + k_u * u)


@njit(**JIT)
def lstm_lif_backward_step(t, last, GS, GZ, GU, CARRY, ACT, C, Q, S, PHI, beta, gV, gC, reset, b0, b1):
    """BPTT of step ``t`` (the twin of :func:`lstm_lif_forward_step`; ``last``: t is the last step, nothing comes
    from t+1). ``GS`` (B,H): dL/ds_t from outside the soma (the output's gradient plus W_hh^T of the next step's
    gate gradients). Writes ``GU[t]`` = dL/du_t (φ_t g_s + ∂v/∂u (β g_u_{t+1} + gV_t)), ``GZ[t]`` (B,4H) the gate
    pre-activation gradients and ``CARRY`` (B,H) = f_t dL/dc_t (on entry the same from step t+1; zeros for the last step). ``gV``, ``gC``:
    the gradients of the V and C outputs, (T,B,H), or (1,B,H) zeros when there are none. Batch rows ``b0:b1``."""
    H = GS.shape[1]
    k_u = _F1 if reset == ZERO else _F0  # ∂v/∂u = 1 − k_u s
    tv = t if gV.shape[0] > 1 else 0
    tc = t if gC.shape[0] > 1 else 0
    tn = t if last else t + 1
    for b in range(b0, b1):
        a, gz = ACT[t, b], GZ[t, b]
        ai, af, ag, ao = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        gzi, gzf, gzg, gzo = gz[:H], gz[H:2 * H], gz[2 * H:3 * H], gz[3 * H:]
        gs_in, gu_out, gu_next, carry = GS[b], GU[t, b], GU[tn, b], CARRY[b]
        c_prev, qq, ss, phi, gv_in, gc_in = C[t, b], Q[t, b], S[t + 1, b], PHI[t, b], gV[tv, b], gC[tc, b]
        for h in range(H):
            gv = ((_F0 if last else beta[h] * gu_next[h]) + gv_in[h]) * (_F1 - k_u * ss[h])  # (GU[t] unset if last)
            gd = phi[h] * gs_in[h] + gv  # g_u = g_d (the drive adds to u with weight 1)
            gu_out[h] = gd
            i, f, sg, o = ai[h], af[h], ag[h], ao[h]
            q = qq[h]
            # d tanh(c)/dc = 1 − tanh² = 4 q (1 − q)
            gc = gd * o * _F4 * q * (_F1 - q) + carry[h] + gc_in[h]
            gzi[h] = gc * i * (_F1 - i) * (_F2 * sg - _F1)
            gzf[h] = gc * f * (_F1 - f) * c_prev[h]
            gzg[h] = gc * _F2 * i * sg * (_F1 - sg)
            gzo[h] = gd * o * (_F1 - o) * (_F1 - _F2 * q)
            carry[h] = gc * f
