"""The conformance matrix, compiled-kernel level: every kernel of :mod:`spikernn.hardware.compiled.kernels`
against the reference step of the kind it names, state included, step by step.

Cells: kind x precision x setting (reset / discretisation / activation / input coding) x adaptation x fractional
bits x batch. Each cell runs one population as a compiled unit whose ports take the synaptic input given
(random, from small to saturating and clamped), for 120 steps, from the zero state and from a random one; fixed
point must agree bit for bit (state, payload, events), float to float rounding (the kernels' tanh is not numpy's;
spikes identical). Plus: the host input's quantisation and coding, the float tanh, and what the engine refuses.
"""
from __future__ import annotations

import dataclasses
import zlib

import numpy as np
import pytest

from spikernn.hardware.backends import get_backend
from spikernn.hardware.compiled import kernels as K
from spikernn.hardware.compiled.engine import UnitState, _empty, _interpret, supports
from spikernn.hardware.compiled.layout import KNOWN, Unsupported, build_unit, pack_state, unpack_state
from spikernn.hardware.fast.plan import compile_network
from spikernn.hardware.fixed_point import quantize_input
from spikernn.hardware.kinds import KINDS
from spikernn.hardware.kinds.spec import Setting
from spikernn.hardware.network import Network, Population, SynapseBlock

STEPS = 120
N = 7


def _params(kind: str, precision: str, rng, F: int, adapt: bool) -> dict:
    n = N
    if precision == "float":
        soma = {"decay": rng.uniform(0, 1, n), "threshold": rng.uniform(-0.2, 1, n)}
        if adapt:
            soma.update(adapt_scale=rng.uniform(0, 1, n), adapt_decay=rng.uniform(0, 1, n))
        adlif = {"alpha": rng.uniform(0, 1, n), "beta": rng.uniform(0, 1, n), "a": rng.normal(0, 1, n),
                 "b": rng.normal(0, 1, n), "threshold": rng.uniform(-.1, .5, n)}  # a gated drive is in (-1, 1)
        return {
            "lif": lambda: {**soma, "bias": rng.normal(0, 0.3, n)},
            "adlif": lambda: {"bias": rng.normal(0, .3, n), "alpha": rng.uniform(0, 1, n), "beta": rng.uniform(0, 1, n),
                              "a": rng.normal(0, 1, n), "b": rng.normal(0, 1, n), "threshold": rng.uniform(-.1, .5, n)},
            "spiking_lstm": lambda: {**soma, "bias": rng.normal(0, 1, 4 * n)},
            "spiking_gru": lambda: {**soma, "bias_in": rng.normal(0, 1, 3 * n), "bias_rec": rng.normal(0, 1, 3 * n)},
            "adlif_lstm": lambda: {**adlif, "bias": rng.normal(0, 1, 4 * n)},
            "adlif_gru": lambda: {**adlif, "bias_in": rng.normal(0, 1, 3 * n), "bias_rec": rng.normal(0, 1, 3 * n)},
            "sd_rnn": lambda: {"bias": rng.normal(0, 1, n)},
            "sd_lstm": lambda: {"bias": rng.normal(0, 1, 4 * n)},
            "sd_gru": lambda: {"bias_in": rng.normal(0, 1, 3 * n), "bias_rec": rng.normal(0, 1, 3 * n)},
            "readout": lambda: {"bias": rng.normal(0, 1, n), "decay": rng.uniform(0, 1, n)},
        }[kind]()
    big = 1 << (F + 3)
    soma = {"dv": rng.integers(0, 4097, n), "vth": rng.integers(-64, 3000, n)}  # a gated drive is below 4096
    soma["dv"][:2] = 0, 4096  # no decay, full decay
    if adapt:
        soma.update(adapt_scale=rng.integers(-(1 << 14), 1 << 14, n), da=rng.integers(0, 4097, n))
    ints = lambda k: rng.integers(-big, big, k * n)  # noqa: E731
    adlif = {"dalpha": rng.integers(0, 65537, n), "dbeta": rng.integers(0, 65537, n), "a": rng.integers(-8192, 8192, n),
             "b": rng.integers(-(1 << 13), 1 << 13, n), "vth": rng.integers(-(1 << 9), 1 << 12, n)}  # Q12 drive
    return {
        "lif": lambda: {"dv": rng.integers(0, 4096, n), "vth": rng.integers(0, 1 << 17, n),
                        "bias_mant": rng.integers(-4096, 4096, n), "bias_exp": rng.integers(0, 8, n),
                        **({"adapt_scale": rng.integers(-(1 << 20), 1 << 20, n), "da": rng.integers(0, 4097, n)}
                           if adapt else {}),
                        **({"du": rng.integers(0, 4096, n)} if F % 2 else {})},  # odd F: a decaying current
        "adlif": lambda: {"bias": ints(1), "dalpha": rng.integers(0, 65537, n), "dbeta": rng.integers(0, 65537, n),
                          "a": rng.integers(-8192, 8192, n), "b": rng.integers(-(1 << 14), 1 << 14, n),
                          "vth": rng.integers(-(1 << 10), 1 << 14, n)},
        "spiking_lstm": lambda: {**soma, "bias": ints(4)},
        "spiking_gru": lambda: {**soma, "bias_in": ints(3), "bias_rec": ints(3)},
        "adlif_lstm": lambda: {**adlif, "bias": ints(4)},
        "adlif_gru": lambda: {**adlif, "bias_in": ints(3), "bias_rec": ints(3)},
        "sd_rnn": lambda: {"bias": ints(1)},
        "sd_lstm": lambda: {"bias": ints(4)},
        "sd_gru": lambda: {"bias_in": ints(3), "bias_rec": ints(3)},
        "readout": lambda: {"bias": rng.integers(-(1 << 20), 1 << 20, n), "dv": rng.integers(0, 4097, n)},
    }[kind]()


def _settings(kind: str, setting, precision: str, F: int) -> dict:
    attrs = {} if precision == "float" else {"in_frac_bits": F}
    if kind in ("lif", "spiking_lstm", "spiking_gru"):
        attrs["reset"] = setting
    elif kind in ("adlif", "adlif_lstm", "adlif_gru"):
        attrs["reset"], attrs["discretisation"] = setting
    elif kind.startswith("sd_"):
        attrs["delta_threshold"] = 0 if setting == "exact" else (37 if precision == "fixed" else 0.01)
        if kind == "sd_rnn":
            attrs["activation"] = "relu" if setting == "relu" else "tanh"
    elif kind == "readout":
        attrs["input_coding"] = setting
    return attrs


SETTINGS = {"lif": ("subtract", "zero", "none"), "spiking_lstm": ("subtract", "zero", "none"),
            "spiking_gru": ("subtract", "zero", "none"),
            "adlif": (("subtract", "ef"), ("zero", "se"), ("none", "ef"), ("subtract", "se")),
            "adlif_lstm": (("subtract", "ef"), ("zero", "se"), ("none", "se")),
            "adlif_gru": (("subtract", "se"), ("zero", "ef"), ("none", "ef")),
            "sd_rnn": ("exact", "thr", "relu"), "sd_lstm": ("exact", "thr"), "sd_gru": ("exact", "thr"),
            "readout": ("value", "delta")}


def _one_population(kind: str, precision: str, params: dict, attrs: dict) -> tuple[Network, object]:
    """input -> kind (every port fed from the input, so every port starts from the precomputed input E)."""
    spec = KINDS[kind]
    width = max(p.size(N) for p in spec.ports)
    pops = [Population("x", "input", width), Population("p", kind, N, params, attrs)]
    syn = [SynapseBlock(f"x>{p.name}", "x", "p", p.name, np.eye(p.size(N), width)) for p in spec.ports]
    net = Network(pops, syn, "x", ["p"], precision=precision)
    return net, compile_network(net)


def _inputs(kind, precision, rng, t, B, width, F):
    if precision == "float":
        return rng.normal(0, [0.5, 3, 30][t % 3], (B, width))
    if kind == "lif":
        scale = [1 << 12, 1 << 16, 1 << 18][t % 3]  # wraps u, saturates v
    elif kind == "readout":
        scale = 1 << [10, 22, 24][t % 3]
    else:
        scale = 1 << [F - 2, F + 2, F + 4, 30][t % 4]  # small, saturating gates, huge (clamped) inputs
    return rng.integers(-scale, scale, (B, width))


def _cells():
    for kind in SETTINGS:
        for precision in ("fixed", "float"):
            for setting in SETTINGS[kind]:
                for adapt in ((False, True) if kind in ("lif", "spiking_lstm", "spiking_gru") else (False,)):
                    for F in ((9, 12, 14) if precision == "fixed" and kind != "lif" else (11, 12)):
                        for B in (1, 9):
                            yield pytest.param(kind, precision, setting, adapt, F, B,
                                               id=f"{kind}-{precision}-{setting}-{'adapt' if adapt else 'plain'}-F{F}-B{B}")


@pytest.mark.parametrize("kind,precision,setting,adapt,F,B", list(_cells()))
def test_compiled_kernel_equals_reference_step(kind, precision, setting, adapt, F, B):
    # a stable seed per cell (str's hash() changes with PYTHONHASHSEED: a cell could draw a silent population)
    rng = np.random.default_rng([F, B, zlib.crc32(kind.encode()), zlib.crc32(str(setting).encode())])
    spec = KINDS[kind]
    params = _params(kind, precision, rng, F, adapt)
    net, plan = _one_population(kind, precision, params, _settings(kind, setting, precision, F))
    unit = build_unit(plan, ["p"])
    assert unit.POP[0, K.K_KIND] == KNOWN[kind][0] and all(unit.POP[0, K.K_E0 + q] for q in range(len(spec.ports)))
    prep = net.population("p").prepare(precision)
    st = UnitState(unit, B)
    ref = spec.init_state(prep, B)
    if B > 1:  # from a random state too (fixed: 24-bit values)
        ref = type(ref)(*[rng.integers(-(1 << 20), 1 << 20, a.shape) if precision == "fixed" else
                          rng.normal(0, 1, a.shape) for a in ref])
        if kind in ("lif", "spiking_lstm", "spiking_gru") and precision == "fixed":
            ref = ref._replace(a=np.abs(ref.a))  # the adaptation trace is never negative
        if kind in ("adlif", "adlif_lstm", "adlif_gru"):
            ref = ref._replace(s=(rng.random(ref.s.shape) < .5).astype(ref.s.dtype))
        pack_state(unit, st.ST, "p", ref)
    dt = unit.dtype
    MASKS, VREC = np.zeros((1, B, unit.n_out), bool), np.zeros((1, B, 0), dt)
    X, EVC, OUTS, Y = _empty((1, 1, 1), np.float64), _empty((0, 1), np.int64), _empty((0, 2), np.int64), \
        _empty((0, 1, 1), np.float64)
    events = 0
    for t in range(STEPS):
        ins = {p.name: _inputs(kind, precision, rng, t, B, p.size(N), F) for p in spec.ports}
        E = np.zeros((1, B, unit.n_acc), dt)
        for q, p in enumerate(spec.ports):
            a0 = int(unit.POP[0, K.K_A0 + 2 * q])
            E[0, :, a0:a0 + p.size(N)] = ins[p.name]
        _interpret(unit, st, t, 1, E, X, MASKS, VREC, EVC, EVC, OUTS, _empty((1,), np.float64), Y)
        ref, out, mask = spec.step(ref, ins, prep)
        got = unpack_state(unit, st.ST, "p")
        payload = st.HIST[t % unit.R][:, unit.out_cols("p")]
        got_mask = MASKS[0][:, unit.out_cols("p")]
        if precision == "float" and kind.startswith("sd_") and setting == "exact":
            # threshold 0: whether a change of an ulp or two is an event is float rounding; all others agree
            clear = np.abs(out) > 1e-12
            np.testing.assert_array_equal(got_mask[clear], mask[clear])
            assert np.all(np.abs(payload[got_mask != mask]) <= 1e-12)
        else:
            np.testing.assert_array_equal(got_mask, mask)
        if precision == "fixed":
            for field, a, b in zip(ref._fields, got, ref):
                np.testing.assert_array_equal(a, b, err_msg=f"{kind} state {field} at step {t}")
            np.testing.assert_array_equal(payload, out)
        else:
            for field, a, b in zip(ref._fields, got, ref):
                np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12, err_msg=f"{kind} state {field} at step {t}")
            np.testing.assert_allclose(payload, out, rtol=1e-12, atol=1e-12)
            ref = type(ref)(*got)  # keep the two on the same trajectory (rounding may differ in the last bit)
            mask = got_mask
        events += int(mask.sum())
    if spec.sends != "host":
        assert events > 0


@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("encoding", ["value", "delta"])
def test_host_input_coding_equals_the_reference(precision, encoding):
    """The stream's host side in the interpreter: quantize_input (round half to even, 24-bit saturation) and the
    input kind's value / sigma-delta coding."""
    rng = np.random.default_rng(3)
    I, B = 6, 4
    attrs = {"encoding": encoding, "delta_threshold": 0.05 if precision == "float" else 3}
    if precision == "fixed":
        attrs["out_frac_bits"] = 4
    net = Network([Population("x", "input", I, attrs=attrs), Population("r", "readout", 2)],
                  [SynapseBlock("x>r", "x", "r", "in", np.ones((2, I)))], "x", ["r"], precision=precision)
    unit = build_unit(compile_network(net), ["x"])
    st = UnitState(unit, B)
    kind, prep = KINDS["input"], net.population("x").prepare(precision)
    ref = kind.init_state(prep, B)
    MASKS = np.zeros((1, B, unit.n_out), bool)
    e = _empty((0, 1), np.int64)
    for t in range(60):
        x = rng.normal(0, [0.1, 1, 1e7][t % 3], (1, B, I))
        x[0, 0, :3] = (np.arange(3) + 0.5) / 16  # ties: round half to even
        assert _interpret(unit, st, t, 1, _empty((1, B, unit.n_acc), unit.dtype), x, MASKS,
                          np.zeros((1, B, 0), unit.dtype), e, e, _empty((0, 2), np.int64), _empty((1,), np.float64),
                          _empty((0, 1, 1), np.float64)) == 0
        xq = quantize_input(net, x[0]) if precision == "fixed" else x[0]
        ref, out, mask = kind.step(ref, {"x": xq}, prep)
        np.testing.assert_array_equal(st.HIST[0][:, :I], out)
        np.testing.assert_array_equal(MASKS[0][:, :I], mask)
        np.testing.assert_array_equal(unpack_state(unit, st.ST, "x")[0], ref.sent)


def test_float_tanh_within_two_ulp_of_numpy():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, s, 200_000) for s in (1e-3, 0.3, 1, 3, 10, 30)] +
                       [np.array([0.0, -0.0, 0.625, -0.625, np.nextafter(0.625, 0), 5e-324, 1e-300, 19.0, 20.0,
                                  21.0, 700.0, -700.0, 1e300])])
    got = np.empty_like(x)
    K.vtanh(x, got)
    ref = np.tanh(x)
    ulp = np.abs(got - ref) / np.spacing(np.abs(ref)).clip(np.finfo(float).tiny)
    assert ulp.max() <= 2, ulp.max()
    assert np.array_equal(np.signbit(got), np.signbit(ref))  # -0.0 stays -0.0


def _cephes_tanh_numpy(x: np.ndarray) -> np.ndarray:
    """kernels.tanh's operations one by one in numpy float64 (IEEE operations, no fused multiply-adds: numba
    compiles without fastmath, so LLVM does not contract them either), 2**k by np.ldexp."""
    with np.errstate(all="ignore"):  # x * x overflows for |x| > 1e154 (that lane takes the big form)
        return _cephes_tanh_body(x)


def _cephes_tanh_body(x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    lo = ax < 0.625
    z = x * x
    y = np.minimum(2.0 * ax, 40.0)
    k = np.floor(K._LOG2E * y + 0.5)
    r = (y - k * K._LN2_HI) - k * K._LN2_LO
    rr = r * r
    px = r * ((K._EP[0] * rr + K._EP[1]) * rr + K._EP[2])
    qe = ((K._EQ[0] * rr + K._EQ[1]) * rr + K._EQ[2]) * rr + K._EQ[3]
    dm = qe - px
    num = np.where(lo, x * z * ((K._TP[0] * z + K._TP[1]) * z + K._TP[2]), 2.0 * dm)
    den = np.where(lo, ((z + K._TQ[0]) * z + K._TQ[1]) * z + K._TQ[2],
                   np.ldexp(1.0, k.astype(np.int64)) * (qe + px) + dm)
    q = num / den
    return np.copysign(np.where(lo, x + q, 1.0 - q), x)


def test_float_tanh_is_its_formula_bit_for_bit():
    """The kernels' tanh is the Cephes form its docstring gives (round 10: one division), bit for bit (its 2**k from
    exponent bits included): a faster formulation must give the same float64 values, or change this reference with
    it (it stays within 2 ulp of numpy: test_float_tanh_within_two_ulp_of_numpy)."""
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(0, s, 300_000) for s in (1e-3, 0.1, 0.5, 1, 3, 10, 30)] +
                       [np.array([0.0, -0.0, 0.625, -0.625, np.nextafter(0.625, 0), np.nextafter(-0.625, 0), 5e-324,
                                  1e-300, 19.0, 20.0, 21.0, 700.0, -700.0, 1e300, np.inf, -np.inf])])
    got = np.empty_like(x)
    K.vtanh(x, got)
    assert np.array_equal(got.view(np.int64), _cephes_tanh_numpy(x).view(np.int64))


def test_float_pow2_is_exact():
    k = np.arange(0, 1024, dtype=np.float64)
    got = np.empty_like(k)
    K.vpow2(k, got)
    assert np.array_equal(got, np.ldexp(1.0, np.arange(0, 1024)))


@pytest.mark.parametrize("m", [8, 64, 67, 129, 512])
@pytest.mark.parametrize("wtype", [np.float64, np.float32])
def test_float_column_sums_onto_a_port_are_the_sums_added_after(m, wtype):
    """kernels._colsums_onto (a float port's first binary block written onto E[tt] in one pass) gives the bits of
    forming the block's column sums alone (_colsums) and adding them to the port's sum, -0.0 and tails included;
    with nothing sent, the port's sum plus +0.0."""
    rng = np.random.default_rng(m)
    ns = 37
    W = (rng.standard_normal(ns * m) * 10.0 ** rng.integers(-6, 2, ns * m)).astype(wtype)
    base = rng.standard_normal(m) * 3
    base[::5] = -0.0
    offs = np.zeros(ns, np.int64)
    for rate in (0.0, 0.1, 0.5, 1.0):
        srow = (rng.random(ns) < rate).astype(np.float64)
        sums, got = np.empty(m), np.empty(m)
        n1 = K._colsums(sums, srow, W, 0, m, offs)
        n2 = K._colsums_onto(got, base, srow, W, 0, m, offs)
        assert n1 == n2 == int(srow.sum())
        assert np.array_equal((base + sums).view(np.int64), got.view(np.int64))
        assert not np.signbit(sums[sums == 0]).any()  # zero sums are +0.0 (so a fresh port's zeros plus them
        # are the sums themselves: the interpreter writes them directly)


@pytest.mark.parametrize("n,m", [(1, 1), (3, 7), (40, 128), (40, 67), (64, 130), (5, 512), (17, 8)])
def test_float_graded_tiles_are_the_interpreters_sums(n, m):
    """kernels.graded_rows (a graded block of few sources, blas.TILE_SOURCES, in register tiles over weights
    regrouped by gemv_pack) gives, row for row, the bits of the interpreter's _row_into (ascending sources from
    +0.0, multiply then add, zero payloads skipped): written, or added onto a port's running sum at an offset
    (-0.0 in it; the sum formed alone first); tiles, vectors and tails; weights over 9 decades."""
    rng = np.random.default_rng(n * 1000 + m)
    N, a0, A = 29, 3, m + 6
    W = rng.standard_normal((n, m)) * 10.0 ** rng.integers(-6, 3, (n, m))
    X = rng.standard_normal((N, n)) * 10.0 ** rng.integers(-3, 2, (N, n))
    X[rng.random((N, n)) < 0.3] = 0.0
    X[0] = 0.0  # nothing sent: +0.0 sums
    X[1, ::2] = -0.0
    Wp = K.gemv_pack(W)
    ref = np.zeros((N, m))
    for i in range(N):
        K._row_into(ref[i], X[i], W.reshape(-1), 0, m, True)
    out = np.full((N, A), np.nan)
    K.graded_rows(X, Wp, m, out, a0, False)
    assert np.array_equal(out[:, a0:a0 + m].view(np.int64), ref.view(np.int64))
    assert np.isnan(out[:, :a0]).all() and np.isnan(out[:, a0 + m:]).all()  # other columns untouched
    base = rng.standard_normal((N, A))
    base[:, ::4] = -0.0
    got = base.copy()
    K.graded_rows(X, Wp, m, got, a0, True)
    want = base.copy()
    want[:, a0:a0 + m] = base[:, a0:a0 + m] + ref
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


def test_blas_product_takes_the_tiles_only_for_few_finite_weights():
    """blas.Weights packs the tiles for at most TILE_SOURCES sources with finite weights (a zero payload times inf
    is NaN, which the interpreter's skipped source never adds); either way the product is the block's input."""
    from spikernn.hardware.compiled import blas

    rng = np.random.default_rng(3)
    w = rng.standard_normal((blas.TILE_SOURCES, 24))
    assert blas.Weights(w).tiles is not None
    assert blas.Weights(rng.standard_normal((blas.TILE_SOURCES + 1, 24))).tiles is None
    w_inf = w.copy()
    w_inf[2, 5] = np.inf
    assert blas.Weights(w_inf).tiles is None
    msg = rng.standard_normal((70, blas.TILE_SOURCES))
    msg[:, 2] = 0.0
    for ww in (w, w_inf):
        out = np.ones((70, 30))
        blas.product(msg, blas.Weights(ww), out, 4)
        np.testing.assert_allclose(out[:, 4:28], 1.0 + msg @ ww, rtol=1e-12, atol=1e-12)
        assert (out[:, :4] == 1).all() and (out[:, 28:] == 1).all()
    exact = np.zeros((70, 24))
    for i in range(70):
        K._row_into(exact[i], msg[i], w.reshape(-1), 0, 24, True)
    out = np.zeros((70, 24))
    blas.product(msg, blas.Weights(w), out, 0, assign=True)
    assert np.array_equal(out, exact)


def test_blas_gemm_written_into_a_column_range_is_torch_mm():
    """blas._gemm_into (MKL's dgemm_ writing an assigning product straight into a column range of a wider buffer,
    ldc = its row stride): torch.mm's products bit for bit at the benchmark's shapes, to float rounding at others
    (the library's order, the tolerance of the GEMM route), the other columns untouched; blas.product with assign
    into a column range takes it."""
    import torch

    from spikernn.hardware.compiled import blas

    if blas._dgemm() is None:
        pytest.skip("torch without MKL's dgemm_")
    rng = np.random.default_rng(5)
    for N, n, m, A, a0, bitwise in ((256, 128, 384, 768, 384, True), (512, 128, 384, 768, 0, True),
                                    (64, 129, 512, 1024, 512, True), (7, 100, 65, 200, 3, False)):
        rows = rng.standard_normal((N, n))
        w = blas.Weights(rng.standard_normal((n, m)).astype(np.float32).astype(np.float64))
        ref = torch.mm(torch.from_numpy(rows), w.tensor).numpy()
        for via_product in (False, True):
            out = np.full((N, A), np.nan)
            if via_product:
                blas.product(rows, w, out, a0, assign=True)
            else:
                assert blas._gemm_into(rows, w, out[:, a0:a0 + m])
            got = out[:, a0:a0 + m]
            if bitwise:
                assert np.array_equal(got.view(np.int64), ref.view(np.int64))
            np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13)
            assert np.isnan(out[:, :a0]).all() and np.isnan(out[:, a0 + m:]).all()


def test_blas_gemm_into_from_several_threads_at_once_gives_each_its_own_product():
    """The fast simulator's batch shards call blas._gemm_into from several threads: each call's shapes are its own
    (no shared argument buffer), so concurrent calls of different shapes each give torch.mm's products."""
    import threading

    import torch

    from spikernn.hardware.compiled import blas

    if blas._dgemm() is None:
        pytest.skip("torch without MKL's dgemm_")
    rng = np.random.default_rng(11)
    jobs = []
    for N, n, m in ((256, 128, 384), (64, 40, 512), (128, 96, 128), (32, 7, 64)) * 2:
        rows = rng.standard_normal((N, n))
        w = blas.Weights(rng.standard_normal((n, m)).astype(np.float32).astype(np.float64))
        jobs.append((rows, w, torch.mm(torch.from_numpy(rows), w.tensor).numpy(), np.full((N, m + 8), np.nan)))
    barrier, errors = threading.Barrier(len(jobs)), []

    def work(rows, w, ref, out):
        barrier.wait()
        for _ in range(50):
            if not blas._gemm_into(rows, w, out[:, 8:]) or not np.allclose(out[:, 8:], ref, rtol=1e-13, atol=1e-13):
                errors.append(rows.shape)
                return

    threads = [threading.Thread(target=work, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


@pytest.mark.parametrize("cls", ["GRU", "LSTM"])
def test_float_stepped_gemms_written_into_e_give_the_sums_added_to_zeros(cls):
    """A converted float dense GRU / LSTM at batch 64 (the GEMM route, stepped recurrent blocks): the stepped GEMM
    written into E's columns (engine.STEPPED_WRITES) and the GEMMs written into column ranges (blas.WRITE_INTO)
    give the outputs of adding the products to zeroed columns, and agree with the numpy engine to float
    rounding."""
    import torch

    from spikernn.converters import to_lava
    from spikernn.hardware.compiled import blas, engine

    torch.manual_seed(0)
    model = getattr(torch.nn, cls)(6, 9, num_layers=2)
    net = to_lava(model)
    x = np.random.default_rng(1).standard_normal((14, 64, 6))
    fast = get_backend("fast")
    plan = compile_network(net)
    writes = [engine.stepped_writes(build_unit(plan, list(g), stepped=True))[0] for g in plan.groups]
    assert all(writes) if cls == "GRU" else not any(writes)  # the GRU's "rec" port has no precomputed block
    outs = {}
    try:
        for sw, wi in ((False, False), (True, False), (True, True)):
            engine.STEPPED_WRITES, blas.WRITE_INTO = sw, wi
            outs[sw, wi] = fast.simulate(net, x, engine="numba")[0]
    finally:
        engine.STEPPED_WRITES, blas.WRITE_INTO = True, True
    assert np.array_equal(outs[True, False], outs[False, False])
    assert np.array_equal(outs[True, True], outs[False, False])
    np.testing.assert_allclose(outs[True, True], fast.simulate(net, x, engine="numpy")[0], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("lag", [0, 2])
def test_float_spike_sums_written_into_e_are_those_added_to_zeros(lag):
    """kernels.pre_spikes_set (a float binary first block of E, its column sums written directly) gives the bits
    of pre_block into zeroed columns, zeros before the block's lag, other columns untouched; float64 weights and
    their float32 twin."""
    rng = np.random.default_rng(lag)
    T0, T, B, ns, m, a0 = 9, 5, 6, 37, 70, 2
    msg = rng.random((T0 + T, B, ns)) < 0.2
    msg[:, 0] = False
    for W in (rng.standard_normal(ns * m), rng.standard_normal(ns * m).astype(np.float32)):
        for t0 in (0, T0):
            E0 = np.zeros((T, B, m + 5))
            K.pre_block(msg, t0, T, lag, W, m, False, 0, E0, a0, np.zeros((B, m)))
            E1 = np.full((T, B, m + 5), np.nan)
            K.pre_spikes_set(msg, t0, T, lag, W, m, E1, a0)
            assert np.array_equal(E1[..., a0:a0 + m].view(np.int64), E0[..., a0:a0 + m].view(np.int64))
            assert np.isnan(E1[..., :a0]).all() and np.isnan(E1[..., a0 + m:]).all()


@pytest.mark.parametrize("dtype", [np.bool_, np.float64, np.float32, np.int8, np.int32, np.int64])
def test_active_offsets_are_the_sources_that_sent(dtype):
    """kernels._active_offsets (eight sources at a time with a compress where the host has AVX-512, then one by
    one) lists w0 + k m for exactly the sources k with a nonzero payload, ascending: every length around the
    eight-lane groups, firing from none to all, float payloads with -0.0 (not sent) and NaN (sent), and an offset
    buffer without the eight lanes of slack (the one-by-one loop takes over)."""
    rng = np.random.default_rng(zlib.crc32(np.dtype(dtype).str.encode()))
    for n in (0, 1, 7, 8, 9, 15, 16, 17, 40, 127, 128, 129):
        for p in (0.0, 0.15, 0.5, 1.0):
            srow = (rng.random(n) < p).astype(dtype)
            if np.dtype(dtype).kind == "f" and n:
                srow = srow * rng.standard_normal(n).astype(dtype)
                srow[rng.random(n) < 0.1] = -0.0
                srow[rng.random(n) < 0.05] = np.nan
            want = np.array([5 + k * 130 for k in range(n) if srow[k] != 0], np.int64)
            for slack in (K.COMPRESS_LANES, 0):
                offs = np.full(max(n + slack, 1), -1, np.int64)
                nk = K._active_offsets(srow, offs, 5, 130)
                assert nk == want.size and np.array_equal(offs[:nk], want), (n, p, slack)


def test_fixed_point_lut_equals_interpolating_the_small_table_at_every_input():
    """The kernels' sigmoid / tanh (one load from the full int16 tables) are arith.lut_interp of the 257-entry
    tables at every Q12 input the clamp distinguishes, and saturate beyond it."""
    from spikernn.hardware.arith import SIGMOID_LUT, TANH_LUT, lut_interp

    x = np.concatenate([np.arange(-(1 << 17), 1 << 17, dtype=np.int64),
                        np.array([-(1 << 40), 1 << 40, -(1 << 62), 1 << 62], np.int64)])
    for base, table in ((0, SIGMOID_LUT), (K.TANH_BASE, TANH_LUT)):
        got = np.empty_like(x)
        K.vlut(x, base, got)
        np.testing.assert_array_equal(got, lut_interp(table, x))


def test_a_kind_the_kernels_do_not_know_runs_on_the_numpy_engine(monkeypatch):
    """A kind that gained a setting is not compiled (never a kernel that ignores it): engine="auto" runs the
    numpy kernels (the same results), engine="numba" says why not."""
    net, _ = _one_population("lif", "float", {"threshold": np.full(N, 0.3)}, {})
    x = np.random.default_rng(1).normal(0.3, 1, (20, 2, net.input_size))
    y0 = get_backend("fast").simulate(net, x, engine="numba")[0]
    lif = KINDS["lif"]
    monkeypatch.setitem(KINDS, "lif", dataclasses.replace(lif, settings=lif.settings + (Setting("graded", False, "x"),)))
    assert "graded" in supports(compile_network(net))
    with pytest.raises(Unsupported, match="graded"):
        get_backend("fast").simulate(net, x, engine="numba")
    np.testing.assert_allclose(get_backend("fast").simulate(net, x)[0], y0, rtol=0, atol=1e-12)
    assert type(net.stream()).__name__ == "ReferenceStream"


@pytest.mark.parametrize("n_src,m,density", [(128, 512, 1.0), (40, 512, 1.0), (7, 13, 0.5), (1, 8, 1.0),
                                             (33, 100, 0.3), (128, 512, 0.05), (5, 3, 1.0), (2, 16, 0.0)])
def test_graded_int8_products_equal_integer_products(n_src, m, density):
    """The graded int8 routes of the interpreter (by pairs of sources, ``_sum8_pairs``, where the kernels have
    AVX2; int32 columns, ``_sum8_graded``) against exact integer products: int16-range payloads at the extremes,
    odd source counts (the pair layout's zero source), outputs past a multiple of 8, sparse and empty payloads."""
    from spikernn.hardware.compiled.layout import pair_layout

    rng = np.random.default_rng(n_src * 1000 + m)
    w = rng.integers(-128, 128, (n_src, m)).astype(np.int8)
    w[0] = -128
    p = (rng.integers(-32767, 32768, n_src) * (rng.random(n_src) < density)).astype(np.int64)
    if density:
        p[0] = -32767
    ref = (p[:, None] * w.astype(np.int64)).sum(axis=0)
    pad = rng.integers(-128, 128, 37).astype(np.int8)  # the block's mantissas start after others'
    idx = np.zeros(n_src, np.int64)
    acc = np.full(m, 99, np.int32)
    K._sum8_graded(acc, p, np.concatenate([pad, w.reshape(-1)]), 37, m, idx)
    np.testing.assert_array_equal(acc, ref)
    if K.HAVE_MADD:
        acc = np.full(m, 99, np.int32)
        K._sum8_pairs(acc, p, np.concatenate([pad, pair_layout(w)]), 37, m, idx)
        np.testing.assert_array_equal(acc, ref)
