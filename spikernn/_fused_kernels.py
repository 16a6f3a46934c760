"""numba kernels of the fused training path (:mod:`spikernn.fused`): one call per time step does all the
elementwise work of a step of the spiking LSTM, GRU or RNN with a (non-adaptive) LIF or an adLIF soma (gates, cell
update, membrane, spike, reset, adaptation current), and one call per step its BPTT; the GEMMs stay in torch. Each
drive and each soma is written once, as an inlined element function (:func:`_lstm_cell`, :func:`_gru_cell`,
:func:`_lif`, :func:`_adlif` and their ``_grad`` twins), and the kernels combine them. Imported only by :func:`spikernn.fused.compiled_kernels`
(never by ``import spikernn``); compiled on first use and cached on disk (``cache=True``).

The arrays are numpy views of the fused path's torch buffers (float32, C-contiguous; ``Tensor.numpy()`` shares
memory), so the kernels write the same saved tensors as the torch loop: (T,B,4H) ``ACT`` (σ of the gates, the g
rows doubled: ``tanh(g) = 2 σ(2g) − 1``), (T+1,B,H) ``C`` (c), ``S``, ``V``, (T,B,H) ``Q`` = σ(−2c) and ``U``
(membrane before reset); the adLIF soma also W (w) and J (d − w), the GRU ACT = (r, z, n) and HP = W_hh s + b_hh,
(T,B,3H). Each kernel runs two loops per batch row, the drive and the soma (row helpers such as :func:`_lstm_row`,
:func:`_adlif_row`): one loop over all the arrays of a step does not always vectorise (LLVM gives up on its
alias checks; the adLIF GRU step took 5.5x as long). Same equations as the torch loop (docs/equations.md); float32 rounding differs (the
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
    inner loops). The reset's partials are ∂v/∂u = 1 − k_u s and ∂v/∂θ = −k_θ s."""
    return (_F1 if reset == SUBTRACT else _F0), (_F1 if reset == ZERO else _F0)


# ---- one element of a step: the drives of the cells and the somas, and their BPTT (inlined into the kernels) ----

@njit(**INLINE)
def _lstm_cell(i, f, sg, o, c_prev):
    """The LSTM's cell update and drive from σ of its gates (sg = σ(2g)): ``(c, q, d)`` with
    c = f c' + i (2 sg − 1), q = σ(−2c) and d = o (1 − 2q) = o tanh(c)."""
    c = f * c_prev + i * (_F2 * sg - _F1)
    q = sigmoid(-_F2 * c)
    return c, q, o * (_F1 - _F2 * q)


@njit(**INLINE)
def _lstm_cell_grad(gd, i, f, sg, o, q, c_prev, carry, gc_in):
    """BPTT of :func:`_lstm_cell` for dL/dd ``gd``, ``carry`` = f_{t+1} dL/dc_{t+1} and the gradient ``gc_in``
    of the c output: the gate pre-activation gradients (i, f, g doubled, o) and the next carry f dL/dc."""
    gc = gd * o * _F4 * q * (_F1 - q) + carry + gc_in  # d tanh(c)/dc = 1 − tanh² = 4 q (1 − q)
    return (gc * i * (_F1 - i) * (_F2 * sg - _F1), gc * f * (_F1 - f) * c_prev, gc * _F2 * i * sg * (_F1 - sg),
            gd * o * (_F1 - o) * (_F1 - _F2 * q), gc * f)


@njit(**INLINE)
def _gru_cell(xr, xz, xn, hr, hz, hn, h_prev):
    """The GRU's drive from ``x_proj`` (xr, xz, xn) and W_hh s + b_hh (hr, hz, hn): ``(r, z, n, h)`` with
    r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r hn) = 2 σ(2 (xn + r hn)) − 1, h = n + z (h' − n)."""
    r = sigmoid(xr + hr)
    z = sigmoid(xz + hz)
    n = _F2 * sigmoid(_F2 * (xn + r * hn)) - _F1
    return r, z, n, n + z * (h_prev - n)


@njit(**INLINE)
def _gru_cell_grad(gd, r, z, n, hn, h_prev, carry, gh_in):
    """BPTT of :func:`_gru_cell` for dL/dd ``gd`` (d = h), ``carry`` = z_{t+1} dL/dh_{t+1} and the gradient
    ``gh_in`` of the h output: the gradients of (xr, xz, xn), of (hr, hz, hn) and the next carry z dL/dh."""
    gh = gd + carry + gh_in
    gn = gh * (_F1 - z) * (_F1 - n * n)
    gz = gh * (h_prev - n) * z * (_F1 - z)
    gr = gn * hn * r * (_F1 - r)
    return gr, gz, gn, gn * r, gh * z


@njit(**INLINE)
def _lstm_row(H, a, c_prev, c_new, q_out, d_out):
    """:func:`_lstm_cell` over one batch row (the first loop of a forward step): writes c, q and the drive d."""
    ai, af, ag, ao = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]  # views: affine indices, so LLVM vectorises
    for h in range(H):
        c_new[h], q_out[h], d_out[h] = _lstm_cell(ai[h], af[h], ag[h], ao[h], c_prev[h])


@njit(**INLINE)
def _gru_row(H, x, hp, a, h_prev, h_new):
    """:func:`_gru_cell` over one batch row (the first loop of a forward step): writes (r, z, n) into ``a`` and
    h (the drive) into ``h_new``."""
    xr, xz, xn, hr, hz, hn = x[:H], x[H:2 * H], x[2 * H:], hp[:H], hp[H:2 * H], hp[2 * H:]
    ar, az, an = a[:H], a[H:2 * H], a[2 * H:]
    for k in range(H):
        ar[k], az[k], an[k], h_new[k] = _gru_cell(xr[k], xz[k], xn[k], hr[k], hz[k], hn[k], h_prev[k])


@njit(**INLINE)
def _lif_row(H, d, v_prev, beta, theta, k_th, k_u, u_out, s_out, v_out):
    """:func:`_lif` over one batch row (the second loop of a forward step); ``d`` may be ``u_out``."""
    for h in range(H):
        u_out[h], s_out[h], v_out[h] = _lif(d[h], v_prev[h], beta[h], theta[h], k_th, k_u)


@njit(**INLINE)
def _adlif_row(H, d, v_prev, s_prev, w_prev, alpha, beta, qa, qb, theta, k_th, k_u, k_se, j_out, u_out, s_out,
               v_out, w_out):
    """:func:`_adlif` over one batch row (the second loop of a forward step); ``d`` may be ``j_out``."""
    for h in range(H):
        j_out[h], u_out[h], s_out[h], v_out[h], w_out[h] = _adlif(d[h], v_prev[h], s_prev[h], w_prev[h], alpha[h],
                                                                  beta[h], qa[h], qb[h], theta[h], k_th, k_u, k_se)


@njit(**INLINE)
def _adlif_row_grad(H, last, gs_in, phi, ss, gu_next, gw_next, gv_in, ga_in, alpha, beta, qa, qb, k_th, k_u, k_se,
                    gu_out, gw_out, gth_out, gd_out):
    """:func:`_adlif_grad` over one batch row (the first loop of a backward step): writes g_u, g_w, g_θ and g_d
    (``gd_out``: a block of the gate gradients, which the cell's loop reads and overwrites). ``gu_next``,
    ``gw_next`` are not read when ``last``."""
    for h in range(H):
        gu_out[h], gw_out[h], gth_out[h], gd_out[h] = _adlif_grad(
            gs_in[h], phi[h], ss[h], _F0 if last else gu_next[h], _F0 if last else gw_next[h], gv_in[h], ga_in[h],
            alpha[h], beta[h], qa[h], qb[h], k_th, k_u, k_se)


@njit(**INLINE)
def _lstm_row_grad(H, a, gz, c_prev, qq, carry, gc_in):
    """:func:`_lstm_cell_grad` over one batch row (the second loop of a backward step): reads dL/dd from the o block
    of ``gz`` (where the soma's loop left it) and writes the four gate gradients there and the carry."""
    ai, af, ag, ao = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
    gzi, gzf, gzg, gzo = gz[:H], gz[H:2 * H], gz[2 * H:3 * H], gz[3 * H:]
    for h in range(H):
        gzi[h], gzf[h], gzg[h], gzo[h], carry[h] = _lstm_cell_grad(gzo[h], ai[h], af[h], ag[h], ao[h], qq[h],
                                                                   c_prev[h], carry[h], gc_in[h])


@njit(**INLINE)
def _gru_row_grad(H, a, hp, gx, ghp, h_prev, carry, gc_in):
    """:func:`_gru_cell_grad` over one batch row (the second loop of a backward step): reads dL/dd from the n block
    of ``ghp`` (where the soma's loop left it) and writes the gradients of x_proj (``gx``) and of W_hh s + b_hh
    (``ghp``) and the carry."""
    ar, az, an, hn = a[:H], a[H:2 * H], a[2 * H:], hp[2 * H:]
    gxr, gxz, gxn, ghr, ghz, ghn = gx[:H], gx[H:2 * H], gx[2 * H:], ghp[:H], ghp[H:2 * H], ghp[2 * H:]
    for k in range(H):
        gr, gz, gn, gnh, cy = _gru_cell_grad(ghn[k], ar[k], az[k], an[k], hn[k], h_prev[k], carry[k], gc_in[k])
        gxr[k] = gr
        gxz[k] = gz
        gxn[k] = gn
        ghr[k] = gr
        ghz[k] = gz
        ghn[k] = gnh
        carry[k] = cy


@njit(**INLINE)
def _lif(d, v_prev, beta, th, k_th, k_u):
    """The LIF soma (non-adaptive): ``(u, s, v)`` with u = d + β v', s = u > θ, v = the reset of u."""
    u = d + beta * v_prev
    s = _F1 if u > th else _F0
    return u, s, u - s * (k_th * th + k_u * u)


@njit(**INLINE)
def _lif_grad(gs, phi, s, gu1, gv_in, beta, k_u):
    """BPTT of :func:`_lif`: dL/du_t = φ_t g_s + ∂v/∂u (β g_u_{t+1} + gV_t) (= dL/dd_t); ``gu1`` = g_u_{t+1}
    (0 at the last step)."""
    return phi * gs + (beta * gu1 + gv_in) * (_F1 - k_u * s)


@njit(**INLINE)
def _adlif(d, v_prev, s_prev, w_prev, alpha, beta, qa, qb, th, k_th, k_u, k_se):
    """The adLIF soma (:func:`spikernn.functional.adlif_step`): ``(j, u, s, v, w)`` with j = d − w',
    u = α v' + (1 − α) j, s = u > θ, v = the reset of u, w = β w' + qa x + qb y, (x, y) = (v, s) for "se"
    (``k_se`` 1) or (v', s') for "ef" (``k_se`` 0); qa = (1 − β) a, qb = (1 − β) b."""
    j = d - w_prev
    u = alpha * v_prev + (_F1 - alpha) * j
    s = _F1 if u > th else _F0
    v = u - s * (k_th * th + k_u * u)
    w = beta * w_prev + qa * (k_se * v + (_F1 - k_se) * v_prev) + qb * (k_se * s + (_F1 - k_se) * s_prev)
    return j, u, s, v, w


@njit(**INLINE)
def _adlif_grad(gs, phi, s, gu1, gw1, gv_in, ga_in, alpha, beta, qa, qb, k_th, k_u, k_se):
    """BPTT of :func:`_adlif` (the per-element form of :class:`spikernn.fused._AdLIFSomaBackward`), ``gu1``,
    ``gw1`` = g_u, g_w of step t+1 (0 at the last step)::

        g_w_t = gA_t + β g_w_{t+1} − (1 − α) g_u_{t+1};   g_w' = g_w_t ("se") or g_w_{t+1} ("ef")
        g_v = gV_t + α g_u_{t+1} + qa g_w';   g_s += qb g_w'
        g_u_t = φ_t g_s + ∂v/∂u g_v;   g_θ_t = −φ_t g_s + ∂v/∂θ g_v;   g_d = (1 − α) g_u_t

    Returns ``(g_u, g_w, g_θ, g_d)``."""
    gw = ga_in + beta * gw1 - (_F1 - alpha) * gu1
    gwi = k_se * gw + (_F1 - k_se) * gw1
    gv = gv_in + alpha * gu1 + qa * gwi
    pg = phi * (gs + qb * gwi)
    gu = pg + (_F1 - k_u * s) * gv
    return gu, gw, -k_th * s * gv - pg, (_F1 - alpha) * gu


# ---- the kernels: one step of one cell type with one soma, batch rows b0:b1 --------------------------------------

@njit(**JIT)
def lstm_lif_forward_step(t, ACT, C, Q, U, S, V, beta, theta, reset, b0, b1):
    """Step ``t`` of the LSTM with a LIF soma (non-adaptive threshold). On entry ``ACT[t]`` (B,4H) holds σ of the
    gates (i, f, σ(2g), o). Reads ``C[t]``, ``V[t]``, writes ``C[t+1]`` = f c + i (2 σ(2g) − 1), ``Q[t]`` = σ(−2 c),
    ``U[t]`` = o tanh(c) + β v, ``S[t+1]`` = u > θ, ``V[t+1]`` = the reset of u (:func:`_lstm_cell`,
    :func:`_lif`). ``beta``, ``theta``: (H,); ``reset``: RESET_CODES; batch rows ``b0:b1`` only."""
    H = C.shape[2]
    k_th, k_u = _reset_factors(reset)
    for b in range(b0, b1):  # two loops, the cell and the soma (d passes in U[t])
        _lstm_row(H, ACT[t, b], C[t, b], C[t + 1, b], Q[t, b], U[t, b])
        _lif_row(H, U[t, b], V[t, b], beta, theta, k_th, k_u, U[t, b], S[t + 1, b], V[t + 1, b])


@njit(**JIT)
def lstm_lif_backward_step(t, last, GS, GZ, GU, CARRY, ACT, C, Q, S, PHI, beta, gV, gC, reset, b0, b1):
    """BPTT of step ``t`` (the twin of :func:`lstm_lif_forward_step`; ``last``: t is the last step, nothing comes
    from t+1). ``GS`` (B,H): dL/ds_t from outside the soma (the output's gradient plus W_hh^T of the next step's
    gate gradients). Writes ``GU[t]`` = dL/du_t, ``GZ[t]`` (B,4H) the gate pre-activation gradients and
    ``CARRY`` (B,H) = f_t dL/dc_t (on entry the same from step t+1; zeros for the last step). ``gV``, ``gC``:
    the gradients of the V and C outputs, (T,B,H), or (1,B,H) zeros when there are none. Batch rows ``b0:b1``."""
    H = GS.shape[1]
    _, k_u = _reset_factors(reset)
    tv = t if gV.shape[0] > 1 else 0
    tc = t if gC.shape[0] > 1 else 0
    tn = t if last else t + 1  # (GU[t] is unset if last, and not read)
    for b in range(b0, b1):
        gzo = GZ[t, b, 3 * H:]
        gs_in, gu_out, gu_next = GS[b], GU[t, b], GU[tn, b]
        ss, phi, gv_in = S[t + 1, b], PHI[t, b], gV[tv, b]
        for h in range(H):  # the soma, then the cell (g_d passes in gzo; g_u = g_d: the drive adds to u with weight 1)
            gd = _lif_grad(gs_in[h], phi[h], ss[h], _F0 if last else gu_next[h], gv_in[h], beta[h], k_u)
            gu_out[h] = gd
            gzo[h] = gd
        _lstm_row_grad(H, ACT[t, b], GZ[t, b], C[t, b], Q[t, b], CARRY[b], gC[tc, b])


@njit(**JIT)
def lstm_adlif_forward_step(t, ACT, C, Q, U, S, V, W, J, alpha, beta, qa, qb, theta, reset, se, b0, b1):
    """Step ``t`` of the LSTM with an adLIF soma (:func:`_lstm_cell`, :func:`_adlif`). ``ACT``, ``C``, ``Q`` as
    :func:`lstm_lif_forward_step`; reads ``S[t]``, ``V[t]``, ``W[t]`` (s, v, w of step t−1), writes ``J[t]`` =
    d − w (the net current, for the gradient of α), ``U[t]``, ``S[t+1]``, ``V[t+1]``, ``W[t+1]``. ``alpha``,
    ``beta``, ``theta``, ``qa`` = (1 − β) a, ``qb`` = (1 − β) b (a, b with the gain q): (H,); ``reset``:
    RESET_CODES; ``se``: True for the "se" discretisation; batch rows ``b0:b1`` only."""
    H = C.shape[2]
    k_th, k_u = _reset_factors(reset)
    k_se = _F1 if se else _F0
    for b in range(b0, b1):  # two loops, the cell and the soma (d passes in J[t])
        _lstm_row(H, ACT[t, b], C[t, b], C[t + 1, b], Q[t, b], J[t, b])
        _adlif_row(H, J[t, b], V[t, b], S[t, b], W[t, b], alpha, beta, qa, qb, theta, k_th, k_u, k_se, J[t, b],
                   U[t, b], S[t + 1, b], V[t + 1, b], W[t + 1, b])


@njit(**JIT)
def lstm_adlif_backward_step(t, last, GS, GZ, GU, GW, GTH, CARRY, ACT, C, Q, S, PHI, alpha, beta, qa, qb, gV, gA,
                             gC, reset, se, b0, b1):
    """BPTT of step ``t`` of :func:`lstm_adlif_forward_step` (``last``: nothing comes from t+1;
    :func:`_adlif_grad`, :func:`_lstm_cell_grad`). ``GS`` (B,H): dL/ds_t from outside the soma. Writes
    ``GU[t]``, ``GW[t]``, ``GTH[t]`` (for the parameter gradients, summed in torch), ``GZ[t]`` and ``CARRY`` as
    :func:`lstm_lif_backward_step`. ``gV``, ``gA``, ``gC``: (T,B,H), or (1,B,H) zeros when there are none."""
    H = GS.shape[1]
    k_th, k_u = _reset_factors(reset)
    k_se = _F1 if se else _F0
    tv = t if gV.shape[0] > 1 else 0
    ta = t if gA.shape[0] > 1 else 0
    tc = t if gC.shape[0] > 1 else 0
    tn = t if last else t + 1  # (GU[t], GW[t] are unset if last, and not read)
    for b in range(b0, b1):
        gzo = GZ[t, b, 3 * H:]
        # two loops, the soma and the cell (g_d passes in gzo)
        _adlif_row_grad(H, last, GS[b], PHI[t, b], S[t + 1, b], GU[tn, b], GW[tn, b], gV[tv, b], gA[ta, b], alpha,
                        beta, qa, qb, k_th, k_u, k_se, GU[t, b], GW[t, b], GTH[t, b], gzo)
        _lstm_row_grad(H, ACT[t, b], GZ[t, b], C[t, b], Q[t, b], CARRY[b], gC[tc, b])


@njit(**JIT)
def gru_lif_forward_step(t, XP, HP, ACT, C, U, S, V, beta, theta, reset, b0, b1):
    """Step ``t`` of the GRU with a LIF soma (non-adaptive threshold; :func:`_gru_cell`, :func:`_lif`). ``XP``
    (T,B,3H): x_proj; on entry ``HP[t]`` (B,3H) holds W_hh s_{t−1} + b_hh. Reads ``C[t]`` (h), ``V[t]``, writes
    ``ACT[t]`` = (r, z, n), ``C[t+1]`` = h, ``U[t]``, ``S[t+1]``, ``V[t+1]``. ``beta``, ``theta``: (H,);
    ``reset``: RESET_CODES; batch rows ``b0:b1`` only."""
    H = C.shape[2]
    k_th, k_u = _reset_factors(reset)
    for b in range(b0, b1):  # two loops, the cell and the soma (d = h, in C[t+1])
        _gru_row(H, XP[t, b], HP[t, b], ACT[t, b], C[t, b], C[t + 1, b])
        _lif_row(H, C[t + 1, b], V[t, b], beta, theta, k_th, k_u, U[t, b], S[t + 1, b], V[t + 1, b])


@njit(**JIT)
def gru_lif_backward_step(t, last, GS, GX, GHP, GU, CARRY, ACT, HP, C, S, PHI, beta, gV, gC, reset, b0, b1):
    """BPTT of step ``t`` of :func:`gru_lif_forward_step` (``last``: nothing comes from t+1;
    :func:`_lif_grad`, :func:`_gru_cell_grad`). ``GS`` (B,H): dL/ds_t from outside the soma (the output's
    gradient plus W_hh^T ``GHP[t+1]``). Writes ``GU[t]`` = dL/du_t, ``GX[t]``, ``GHP[t]`` (B,3H): the gradients
    of x_proj and of W_hh s + b_hh, and ``CARRY`` (B,H) = z_t dL/dh_t (on entry the same from step t+1; zeros for
    the last step). ``gV``, ``gC``: (T,B,H), or (1,B,H) zeros when there are none. Batch rows ``b0:b1``."""
    H = GS.shape[1]
    _, k_u = _reset_factors(reset)
    tv = t if gV.shape[0] > 1 else 0
    tc = t if gC.shape[0] > 1 else 0
    tn = t if last else t + 1
    for b in range(b0, b1):
        ghn = GHP[t, b, 2 * H:]
        gs_in, gu_out, gu_next = GS[b], GU[t, b], GU[tn, b]
        ss, phi, gv_in = S[t + 1, b], PHI[t, b], gV[tv, b]
        for k in range(H):  # the soma, then the cell (g_d passes in ghn)
            gd = _lif_grad(gs_in[k], phi[k], ss[k], _F0 if last else gu_next[k], gv_in[k], beta[k], k_u)
            gu_out[k] = gd
            ghn[k] = gd
        _gru_row_grad(H, ACT[t, b], HP[t, b], GX[t, b], GHP[t, b], C[t, b], CARRY[b], gC[tc, b])


@njit(**JIT)
def gru_adlif_forward_step(t, XP, HP, ACT, C, U, S, V, W, J, alpha, beta, qa, qb, theta, reset, se, b0, b1):
    """Step ``t`` of the GRU with an adLIF soma (:func:`_gru_cell`, :func:`_adlif`): ``XP``, ``HP``, ``ACT``,
    ``C`` as :func:`gru_lif_forward_step`, the soma's buffers and parameters as
    :func:`lstm_adlif_forward_step`."""
    H = C.shape[2]
    k_th, k_u = _reset_factors(reset)
    k_se = _F1 if se else _F0
    for b in range(b0, b1):  # two loops, the cell and the soma (d = h, in C[t+1])
        _gru_row(H, XP[t, b], HP[t, b], ACT[t, b], C[t, b], C[t + 1, b])
        _adlif_row(H, C[t + 1, b], V[t, b], S[t, b], W[t, b], alpha, beta, qa, qb, theta, k_th, k_u, k_se, J[t, b],
                   U[t, b], S[t + 1, b], V[t + 1, b], W[t + 1, b])


@njit(**JIT)
def gru_adlif_backward_step(t, last, GS, GX, GHP, GU, GW, GTH, CARRY, ACT, HP, C, S, PHI, alpha, beta, qa, qb, gV,
                            gA, gC, reset, se, b0, b1):
    """BPTT of step ``t`` of :func:`gru_adlif_forward_step` (:func:`_adlif_grad`, :func:`_gru_cell_grad`): the
    outputs of :func:`gru_lif_backward_step` plus ``GW[t]``, ``GTH[t]`` as :func:`lstm_adlif_backward_step`."""
    H = GS.shape[1]
    k_th, k_u = _reset_factors(reset)
    k_se = _F1 if se else _F0
    tv = t if gV.shape[0] > 1 else 0
    ta = t if gA.shape[0] > 1 else 0
    tc = t if gC.shape[0] > 1 else 0
    tn = t if last else t + 1
    for b in range(b0, b1):
        ghn = GHP[t, b, 2 * H:]
        # two loops, the soma and the cell (g_d passes in ghn)
        _adlif_row_grad(H, last, GS[b], PHI[t, b], S[t + 1, b], GU[tn, b], GW[tn, b], gV[tv, b], gA[ta, b], alpha,
                        beta, qa, qb, k_th, k_u, k_se, GU[t, b], GW[t, b], GTH[t, b], ghn)
        _gru_row_grad(H, ACT[t, b], HP[t, b], GX[t, b], GHP[t, b], C[t, b], CARRY[b], gC[tc, b])


# ---- whole sequences: the recurrent drive of the spikes (no GEMM) and the steps above, t = 0 … T−1 ----------------

@njit(**INLINE)
def _axpy(a, x, y):
    """y += a x (1-D)."""
    for k in range(y.shape[0]):
        y[k] += a * x[k]


@njit(**INLINE)
def _add_spikes(s, WT, out):
    """out += Σ_j s[j] WT[j], the rows where s ≠ 0 only."""
    for j in range(s.shape[0]):
        if s[j] != _F0:
            _axpy(s[j], WT[j], out)


@njit(**INLINE)
def _spike_drive_row(s, WT, add, out):
    """``out = add + Σ_j s[j] WT[j]`` for one batch row: W_hh s for spikes ``s`` (H,) as a sum of the rows of
    ``WT`` = W_hhᵀ (H,G) where s ≠ 0 (binary spikes are sparse: a GEMM would multiply by zeros; graded values,
    such as a given s_0, are weighted). ``add`` (G,): x_proj or b_hh."""
    G = out.shape[0]
    for g in range(G):
        out[g] = add[g]
    _add_spikes(s, WT, out)


@njit(**INLINE)
def _lstm_gates(t, XP, WT, ACT, S, b0, b1):
    """``ACT[t]`` = σ(``XP[t]`` + W_hh s_{t−1}) for batch rows ``b0:b1`` (:func:`_spike_drive_row`)."""
    for b in range(b0, b1):
        a = ACT[t, b]
        _spike_drive_row(S[t, b], WT, XP[t, b], a)
        for g in range(a.shape[0]):
            a[g] = sigmoid(a[g])


@njit(**JIT)
def lstm_lif_forward_seq(XP, WT, ACT, C, Q, U, S, V, beta, theta, reset, b0, b1):
    """All T steps of :func:`lstm_lif_forward_step` for batch rows ``b0:b1``, each with its gate
    pre-activations ``ACT[t]`` = σ(``XP[t]`` + W_hh s_{t−1}) made here (:func:`_spike_drive_row`; ``XP``
    (T,B,4H) x_proj, ``WT`` (H,4H) = W_hhᵀ, the g rows doubled)."""
    for t in range(XP.shape[0]):
        _lstm_gates(t, XP, WT, ACT, S, b0, b1)
        lstm_lif_forward_step(t, ACT, C, Q, U, S, V, beta, theta, reset, b0, b1)


@njit(**JIT)
def lstm_adlif_forward_seq(XP, WT, ACT, C, Q, U, S, V, W, J, alpha, beta, qa, qb, theta, reset, se, b0, b1):
    """All T steps of :func:`lstm_adlif_forward_step` for batch rows ``b0:b1``, the gates made as in
    :func:`lstm_lif_forward_seq`."""
    for t in range(XP.shape[0]):
        _lstm_gates(t, XP, WT, ACT, S, b0, b1)
        lstm_adlif_forward_step(t, ACT, C, Q, U, S, V, W, J, alpha, beta, qa, qb, theta, reset, se, b0, b1)


@njit(**JIT)
def gru_lif_forward_seq(XP, WT, b_hh, HP, ACT, C, U, S, V, beta, theta, reset, b0, b1):
    """All T steps of :func:`gru_lif_forward_step` for batch rows ``b0:b1``, each with ``HP[t]`` = W_hh s_{t−1}
    + ``b_hh`` made here (:func:`_spike_drive_row`; ``WT`` (H,3H) = W_hhᵀ)."""
    T = XP.shape[0]
    for t in range(T):
        for b in range(b0, b1):
            _spike_drive_row(S[t, b], WT, b_hh, HP[t, b])
        gru_lif_forward_step(t, XP, HP, ACT, C, U, S, V, beta, theta, reset, b0, b1)


@njit(**JIT)
def gru_adlif_forward_seq(XP, WT, b_hh, HP, ACT, C, U, S, V, W, J, alpha, beta, qa, qb, theta, reset, se, b0, b1):
    """All T steps of :func:`gru_adlif_forward_step` for batch rows ``b0:b1``, ``HP[t]`` made as in
    :func:`gru_lif_forward_seq`."""
    T = XP.shape[0]
    for t in range(T):
        for b in range(b0, b1):
            _spike_drive_row(S[t, b], WT, b_hh, HP[t, b])
        gru_adlif_forward_step(t, XP, HP, ACT, C, U, S, V, W, J, alpha, beta, qa, qb, theta, reset, se, b0, b1)


@njit(**JIT)
def rnn_lif_forward_seq(XP, WT, U, S, V, beta, theta, reset, b0, b1):
    """All T steps of the RNN with a LIF soma (non-adaptive threshold) for batch rows ``b0:b1``: the drive
    d = ``XP[t]`` + W_hh s_{t−1} (:func:`_spike_drive_row`; ``XP`` (T,B,H) x_proj, ``WT`` (H,H) = W_hhᵀ) made
    in ``U[t]``, then :func:`_lif` writes ``U[t]`` (u), ``S[t+1]``, ``V[t+1]`` from ``V[t]``."""
    H = V.shape[2]
    k_th, k_u = _reset_factors(reset)
    for t in range(XP.shape[0]):
        for b in range(b0, b1):
            _spike_drive_row(S[t, b], WT, XP[t, b], U[t, b])
            _lif_row(H, U[t, b], V[t, b], beta, theta, k_th, k_u, U[t, b], S[t + 1, b], V[t + 1, b])


@njit(**JIT)
def rnn_adlif_forward_seq(XP, WT, U, S, V, W, J, alpha, beta, qa, qb, theta, reset, se, b0, b1):
    """All T steps of the RNN with an adLIF soma for batch rows ``b0:b1``: the drive made in ``J[t]`` as
    :func:`rnn_lif_forward_seq` (then overwritten by d − w'), then :func:`_adlif` (buffers and parameters as
    :func:`lstm_adlif_forward_step`)."""
    H = V.shape[2]
    k_th, k_u = _reset_factors(reset)
    k_se = _F1 if se else _F0
    for t in range(XP.shape[0]):
        for b in range(b0, b1):
            _spike_drive_row(S[t, b], WT, XP[t, b], J[t, b])
            _adlif_row(H, J[t, b], V[t, b], S[t, b], W[t, b], alpha, beta, qa, qb, theta, k_th, k_u, k_se, J[t, b],
                       U[t, b], S[t + 1, b], V[t + 1, b], W[t + 1, b])


@njit(**JIT)
def spike_weight_grad(G, S, out, n0, n1):
    """``out += Σ_n S[n]ᵀ ⊗ G[n]`` over rows ``n0:n1``: the weight gradient (W_hh's, transposed: (H,G)) of a
    drive W_hh s for the gradients ``G`` (N,G) of the drives and the spikes ``S`` (N,H) they read, adding only
    where s ≠ 0 (sparse spikes)."""
    Hs = S.shape[1]
    for n in range(n0, n1):
        s, g = S[n], G[n]
        for j in range(Hs):
            if s[j] != _F0:
                _axpy(s[j], g, out[j])


@njit(**JIT)
def count_nonzero(x):
    """The number of elements of the C-contiguous array ``x`` that are not 0 (NaN counts, −0 does not: as
    ``np.count_nonzero``, whose float loop took ~0.5 ms on the (3200,128) spikes of the benchmark against ~0.02 ms
    here)."""
    f = x.reshape(-1)
    n = 0
    for i in range(f.size):
        n += f[i] != _F0
    return n


@njit(**JIT)
def adlif_param_grads(GU, GW, GTH, V, S, A, J, a, b, se, out, b0, b1):
    """The adLIF soma's parameter gradients over all steps, batch rows ``b0:b1``, added into ``out`` (5,H)
    float64: Σ g_u (v_{t−1} − j_t) (α), Σ g_w (w_{t−1} − a x − b y) (β), Σ g_w x, Σ g_w y (a, b before the factor
    1 − β) and Σ g_θ (θ), with (x, y) = (v_t, s_t) for "se" or (v_{t−1}, s_{t−1}) for "ef" — the sums of
    :meth:`spikernn.fused._AdLIFSomaBackward.finish` in one pass (float64 sums). ``GU``, ``GW``, ``GTH``, ``J``
    (T,B,H); ``V``, ``S``, ``A`` (T+1,B,H); ``a``, ``b`` (H,)."""
    T, H = GU.shape[0], GU.shape[2]
    k = 1 if se else 0
    o_al, o_be, o_x, o_y, o_th = out[0], out[1], out[2], out[3], out[4]
    for t in range(T):
        for bb in range(b0, b1):
            gu, gw, gth, vp, jj, ap = GU[t, bb], GW[t, bb], GTH[t, bb], V[t, bb], J[t, bb], A[t, bb]
            x, y = V[t + k, bb], S[t + k, bb]
            for h in range(H):
                o_al[h] += np.float64(gu[h] * (vp[h] - jj[h]))
                o_be[h] += np.float64(gw[h] * (ap[h] - (a[h] * x[h] + b[h] * y[h])))
                o_x[h] += np.float64(gw[h] * x[h])
                o_y[h] += np.float64(gw[h] * y[h])
                o_th[h] += np.float64(gth[h])


# ---- whole-sequence BPTT: the step GEMM through MKL's sgemm (torch's own), then the backward steps above -----------

def _find_sgemm():
    """The address of MKL's Fortran ``sgemm_`` in torch's own library (the GEMM ``torch.addmm`` runs on MKL builds),
    registered for LLVM as the symbol ``spikernn_sgemm`` (the kernels refer to it by name, so numba's disk cache
    stays valid across processes); None where torch has no MKL that exports it (then the BPTT time loop stays in
    Python, one ``torch.addmm`` per step, :func:`spikernn.fused._bptt_compiled`)."""
    try:
        import ctypes
        import os

        import llvmlite.binding as ll
        import torch

        if not torch.backends.mkl.is_available():
            return None
        lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
        addr = ctypes.cast(lib.sgemm_, ctypes.c_void_p).value
        ll.add_symbol("spikernn_sgemm", addr)
        return addr
    except (OSError, AttributeError, ImportError):
        return None


SGEMM = _find_sgemm()
HAVE_SGEMM = SGEMM is not None
_P = types.uintp  # every argument of the Fortran interface is a pointer
_sgemm = types.ExternalFunction("spikernn_sgemm", types.void(_P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P, _P))


@njit(**INLINE)
def _add_gemm(add, G, WH, out, ints, one, trans):
    """``out = add + G @ WH`` (rows of 2-D float32 views with unit inner stride: add, out (R,N), G (R,K), WH (K,N))
    with the call ``torch.addmm(add, G, WH, out=out)`` makes on MKL (copy ``add``, then sgemm with β = 1; the
    column-major product outᵀ = WHᵀ Gᵀ), so the same bits. ``ints`` (6,) int32 scratch, ``one`` (1,) float32 1,
    ``trans`` (1,) uint8 'N'."""
    R, N = out.shape
    for r in range(R):
        o, a = out[r], add[r]
        for n in range(N):
            o[n] = a[n]
    if R == 0:
        return
    ints[0], ints[1], ints[2] = N, R, G.shape[1]
    ints[3], ints[4], ints[5] = WH.strides[0] // 4, G.strides[0] // 4, out.strides[0] // 4
    _sgemm(trans.ctypes.data, trans.ctypes.data, ints[0:].ctypes.data, ints[1:].ctypes.data, ints[2:].ctypes.data,
           one.ctypes.data, WH.ctypes.data, ints[3:].ctypes.data, G.ctypes.data, ints[4:].ctypes.data,
           one.ctypes.data, out.ctypes.data, ints[5:].ctypes.data)


@njit(**INLINE)
def _bptt_gs(t, gS, G, WH, GS, b0, b1, ints, one, trans):
    """``GS`` = dL/ds_t from outside the soma for rows ``b0:b1``: ``gS[t]``, plus ``G[t+1]`` ``WH`` below the last
    step (``G`` the recurrent gradients, (T,B,G*H))."""
    if t == gS.shape[0] - 1:
        GS[b0:b1] = gS[t, b0:b1]
    else:
        _add_gemm(gS[t, b0:b1], G[t + 1, b0:b1], WH, GS[b0:b1], ints, one, trans)


@njit(**INLINE)
def _gemm_scratch():
    return np.empty(6, np.int32), np.ones(1, np.float32), np.full(1, 78, np.uint8)  # 78: 'N'


@njit(**JIT)
def lstm_lif_backward_seq(gS, WH, GS, GZ, GU, CARRY, ACT, C, Q, S, PHI, beta, gV, gC, reset, b0, b1):
    """All T steps of the LSTM/LIF BPTT for batch rows ``b0:b1``, t = T−1 … 0: ``GS`` = ``gS[t]`` + ``GZ[t+1]``
    ``WH`` (``WH`` = W_hh (4H,H), the g rows doubled; :func:`_add_gemm`), then :func:`lstm_lif_backward_step`.
    ``gS`` (T,B,H): the output's gradient; the rest as :func:`lstm_lif_backward_step`."""
    T = gS.shape[0]
    ints, one, trans = _gemm_scratch()
    for t in range(T - 1, -1, -1):
        _bptt_gs(t, gS, GZ, WH, GS, b0, b1, ints, one, trans)
        lstm_lif_backward_step(t, t == T - 1, GS, GZ, GU, CARRY, ACT, C, Q, S, PHI, beta, gV, gC, reset, b0, b1)


@njit(**JIT)
def lstm_adlif_backward_seq(gS, WH, GS, GZ, GU, GW, GTH, CARRY, ACT, C, Q, S, PHI, alpha, beta, qa, qb, gV, gA, gC,
                            reset, se, b0, b1):
    """All T steps of :func:`lstm_adlif_backward_step`, ``GS`` made as in :func:`lstm_lif_backward_seq`."""
    T = gS.shape[0]
    ints, one, trans = _gemm_scratch()
    for t in range(T - 1, -1, -1):
        _bptt_gs(t, gS, GZ, WH, GS, b0, b1, ints, one, trans)
        lstm_adlif_backward_step(t, t == T - 1, GS, GZ, GU, GW, GTH, CARRY, ACT, C, Q, S, PHI, alpha, beta, qa, qb,
                                 gV, gA, gC, reset, se, b0, b1)


@njit(**JIT)
def rnn_lif_backward_step(t, last, GS, GU, S, PHI, beta, gV, reset, b0, b1):
    """BPTT of step ``t`` of :func:`rnn_lif_forward_seq` (``last``: nothing comes from t+1) for batch rows
    ``b0:b1``: ``GU[t]`` = dL/du_t = dL/dd_t (:func:`_lif_grad`; the drive adds to u with weight 1, so ``GU`` is
    also the gradient of x_proj and of W_hh s). ``GS`` (B,H): dL/ds_t from outside the soma (the output's
    gradient plus W_hh^T ``GU[t+1]``); ``gV``: the V output's gradient, (T,B,H), or (1,B,H) zeros."""
    H = GS.shape[1]
    _, k_u = _reset_factors(reset)
    tv = t if gV.shape[0] > 1 else 0
    tn = t if last else t + 1  # (GU[t] is unset if last, and not read)
    for b in range(b0, b1):
        gs_in, gu_out, gu_next = GS[b], GU[t, b], GU[tn, b]
        ss, phi, gv_in = S[t + 1, b], PHI[t, b], gV[tv, b]
        for h in range(H):
            gu_out[h] = _lif_grad(gs_in[h], phi[h], ss[h], _F0 if last else gu_next[h], gv_in[h], beta[h], k_u)


@njit(**JIT)
def rnn_adlif_backward_step(t, last, GS, GD, GU, GW, GTH, S, PHI, alpha, beta, qa, qb, gV, gA, reset, se, b0, b1):
    """BPTT of step ``t`` of :func:`rnn_adlif_forward_seq` for batch rows ``b0:b1`` (:func:`_adlif_grad`):
    writes ``GU[t]``, ``GW[t]``, ``GTH[t]`` and ``GD[t]`` = (1 − α) g_u (the gradient of x_proj and of W_hh s).
    ``GS`` as :func:`rnn_lif_backward_step` (with W_hh^T ``GD[t+1]``); ``gV``, ``gA``: (T,B,H), or (1,B,H)
    zeros."""
    H = GS.shape[1]
    k_th, k_u = _reset_factors(reset)
    k_se = _F1 if se else _F0
    tv = t if gV.shape[0] > 1 else 0
    ta = t if gA.shape[0] > 1 else 0
    tn = t if last else t + 1  # (GU[t], GW[t] are unset if last, and not read)
    for b in range(b0, b1):
        _adlif_row_grad(H, last, GS[b], PHI[t, b], S[t + 1, b], GU[tn, b], GW[tn, b], gV[tv, b], gA[ta, b],
                        alpha, beta, qa, qb, k_th, k_u, k_se, GU[t, b], GW[t, b], GTH[t, b], GD[t, b])


@njit(**JIT)
def gru_lif_backward_seq(gS, WH, GS, GX, GHP, GU, CARRY, ACT, HP, C, S, PHI, beta, gV, gC, reset, b0, b1):
    """All T steps of :func:`gru_lif_backward_step`: ``GS`` = ``gS[t]`` + ``GHP[t+1]`` ``WH`` (W_hh (3H,H))."""
    T = gS.shape[0]
    ints, one, trans = _gemm_scratch()
    for t in range(T - 1, -1, -1):
        _bptt_gs(t, gS, GHP, WH, GS, b0, b1, ints, one, trans)
        gru_lif_backward_step(t, t == T - 1, GS, GX, GHP, GU, CARRY, ACT, HP, C, S, PHI, beta, gV, gC, reset, b0, b1)


@njit(**JIT)
def gru_adlif_backward_seq(gS, WH, GS, GX, GHP, GU, GW, GTH, CARRY, ACT, HP, C, S, PHI, alpha, beta, qa, qb, gV, gA,
                           gC, reset, se, b0, b1):
    """All T steps of :func:`gru_adlif_backward_step`, ``GS`` made as in :func:`gru_lif_backward_seq`."""
    T = gS.shape[0]
    ints, one, trans = _gemm_scratch()
    for t in range(T - 1, -1, -1):
        _bptt_gs(t, gS, GHP, WH, GS, b0, b1, ints, one, trans)
        gru_adlif_backward_step(t, t == T - 1, GS, GX, GHP, GU, GW, GTH, CARRY, ACT, HP, C, S, PHI, alpha, beta, qa,
                                qb, gV, gA, gC, reset, se, b0, b1)


@njit(**JIT)
def rnn_lif_backward_seq(gS, WH, GS, GU, S, PHI, beta, gV, reset, b0, b1):
    """All T steps of :func:`rnn_lif_backward_step`: ``GS`` = ``gS[t]`` + ``GU[t+1]`` ``WH`` (W_hh (H,H))."""
    T = gS.shape[0]
    ints, one, trans = _gemm_scratch()
    for t in range(T - 1, -1, -1):
        _bptt_gs(t, gS, GU, WH, GS, b0, b1, ints, one, trans)
        rnn_lif_backward_step(t, t == T - 1, GS, GU, S, PHI, beta, gV, reset, b0, b1)


@njit(**JIT)
def rnn_adlif_backward_seq(gS, WH, GS, GD, GU, GW, GTH, S, PHI, alpha, beta, qa, qb, gV, gA, reset, se, b0, b1):
    """All T steps of :func:`rnn_adlif_backward_step`: ``GS`` = ``gS[t]`` + ``GD[t+1]`` ``WH``."""
    T = gS.shape[0]
    ints, one, trans = _gemm_scratch()
    for t in range(T - 1, -1, -1):
        _bptt_gs(t, gS, GD, WH, GS, b0, b1, ints, one, trans)
        rnn_adlif_backward_step(t, t == T - 1, GS, GD, GU, GW, GTH, S, PHI, alpha, beta, qa, qb, gV, gA, reset, se,
                                b0, b1)
