"""The shipped kernels._adlif_float against variants without per-sample array views (2-D indexing), on one
256 x 128 layer-step of a captured state: us per call (min of 5 x 200), outputs asserted equal."""
import sys, os, time
import numpy as np
from numba import njit
from spikernn.hardware.compiled import kernels as K
from spikernn.hardware.compiled.kernels import (K_N, K_ST, K_P, K_A0, K_OUT, K_RESET, K_FLAGS, F_SE, seg,
                                                _adlif_soma_float, JIT)


@njit(**JIT)
def adlif_2d(j, POP, P, ST, ACC, OUT, MK):
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, se = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0
    bias, ka, kb, ca = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cb, th = seg(P, p0, n, 4), seg(P, p0, n, 5)
    for b in range(ST.shape[0]):
        for i in range(n):
            v, w, o, s = _adlif_soma_float(ST[b, s0 + i], ST[b, s0 + n + i], ST[b, s0 + 2 * n + i],
                                           ACC[b, a0 + i] + bias[i], ka[i], kb[i], ca[i], cb[i], th[i], reset, se)
            ST[b, s0 + i] = v
            ST[b, s0 + n + i] = w
            ST[b, s0 + 2 * n + i] = o
            OUT[b, o0 + i] = o
            MK[b, o0 + i] = s


@njit(**JIT)
def adlif_flat(j, POP, P, ST, ACC, OUT, MK):
    """flat 1-D views made once; per-sample offsets."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, se = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0
    bias, ka, kb, ca = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cb, th = seg(P, p0, n, 4), seg(P, p0, n, 5)
    S, A, O, M = ST.reshape(-1), ACC.reshape(-1), OUT.reshape(-1), MK.reshape(-1)
    ss, sa, so = ST.shape[1], ACC.shape[1], OUT.shape[1]
    for b in range(ST.shape[0]):
        q, r, u = b * ss + s0, b * sa + a0, b * so + o0
        for i in range(n):
            v, w, o, s = _adlif_soma_float(S[q + i], S[q + n + i], S[q + 2 * n + i], A[r + i] + bias[i], ka[i], kb[i],
                                           ca[i], cb[i], th[i], reset, se)
            S[q + i] = v
            S[q + n + i] = w
            S[q + 2 * n + i] = o
            O[u + i] = o
            M[u + i] = s


@njit(**JIT)
def adlif_hoisted(j, POP, P, ST, ACC, OUT, MK):
    """2-D views per field made once (no per-sample views), indexed [b, i]."""
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, se = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0
    bias, ka, kb, ca = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cb, th = seg(P, p0, n, 4), seg(P, p0, n, 5)
    V, Wv, SP = ST[:, s0:s0 + n], ST[:, s0 + n:s0 + 2 * n], ST[:, s0 + 2 * n:s0 + 3 * n]
    A, O, M = ACC[:, a0:a0 + n], OUT[:, o0:o0 + n], MK[:, o0:o0 + n]
    for b in range(ST.shape[0]):
        for i in range(n):
            v, w, o, s = _adlif_soma_float(V[b, i], Wv[b, i], SP[b, i], A[b, i] + bias[i], ka[i], kb[i], ca[i], cb[i],
                                           th[i], reset, se)
            V[b, i] = v
            Wv[b, i] = w
            SP[b, i] = o
            O[b, i] = o
            M[b, i] = s


from numba import types, carray
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _ptr(typingctx, arr, off):
    """A typed pointer to arr's element at flat offset off (C-contiguous arr)."""
    sig = types.CPointer(arr.dtype)(arr, off)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.gep(a.data, [args[1]])

    return sig, codegen


@njit(inline="always")
def rowseg(A, b, off, n):
    """A[b, off:off + n] as an array without a meminfo (no reference counts): a carray over the parent's data."""
    return carray(_ptr(A, b * A.shape[1] + off), n)


@njit(**JIT)
def adlif_carray(j, POP, P, ST, ACC, OUT, MK):
    n, s0, p0, a0, o0 = POP[j, K_N], POP[j, K_ST], POP[j, K_P], POP[j, K_A0], POP[j, K_OUT]
    reset, se = POP[j, K_RESET], (POP[j, K_FLAGS] & F_SE) != 0
    bias, ka, kb, ca = seg(P, p0, n, 0), seg(P, p0, n, 1), seg(P, p0, n, 2), seg(P, p0, n, 3)
    cb, th = seg(P, p0, n, 4), seg(P, p0, n, 5)
    for b in range(ST.shape[0]):
        acc, v, w, sp = rowseg(ACC, b, a0, n), rowseg(ST, b, s0, n), rowseg(ST, b, s0 + n, n), rowseg(ST, b, s0 + 2 * n, n)
        out, mk = rowseg(OUT, b, o0, n), rowseg(MK, b, o0, n)
        for i in range(n):
            v[i], w[i], o, s = _adlif_soma_float(v[i], w[i], sp[i], acc[i] + bias[i], ka[i], kb[i], ca[i], cb[i],
                                                 th[i], reset, se)
            sp[i], out[i], mk[i] = o, o, s


def main():
    rng = np.random.default_rng(0)
    B, n = 256, 128
    POP = np.full((1, K.POP_COLS), -1, np.int64)
    POP[0, K_N], POP[0, K_ST], POP[0, K_P], POP[0, K_A0], POP[0, K_OUT] = n, 0, 0, 0, 0
    POP[0, K_RESET], POP[0, K_FLAGS] = K.SUBTRACT, 0
    P = np.concatenate([rng.normal(0, .1, n), rng.uniform(.01, .2, n), rng.uniform(.003, .05, n),
                        rng.uniform(-.5, .5, n), rng.uniform(0, 2, n), rng.uniform(.2, .6, n)])
    ST0 = rng.normal(0, .3, (B, 3 * n)); ST0[:, 2 * n:] = rng.random((B, n)) < .15
    ACC = rng.normal(0, .5, (B, n))
    res = {}
    for name, f in (("shipped", K._adlif_float), ("2d", adlif_2d), ("flat", adlif_flat), ("hoisted", adlif_hoisted), ("carray", adlif_carray)):
        ST = ST0.copy(); OUT = np.zeros((B, n)); MK = np.zeros((B, n), bool)
        f(0, POP, P, ST, ACC, OUT, MK)
        res[name] = (ST.copy(), OUT.copy(), MK.copy())
    for name in res:
        for a, b in zip(res[name], res["shipped"]):
            assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), name
    print("outputs equal bit for bit")
    for rnd in range(3):
        line = []
        for name, f in (("shipped", K._adlif_float), ("2d", adlif_2d), ("flat", adlif_flat), ("hoisted", adlif_hoisted), ("carray", adlif_carray)):
            ST = ST0.copy(); OUT = np.zeros((B, n)); MK = np.zeros((B, n), bool)
            best = 1e9
            for _ in range(5):
                t = time.perf_counter()
                for _ in range(200):
                    f(0, POP, P, ST, ACC, OUT, MK)
                best = min(best, (time.perf_counter() - t) / 200)
            line.append(f"{name} {best * 1e6:.1f} us")
        print(", ".join(line), f"; load {os.getloadavg()[0]:.2f}")


main()
