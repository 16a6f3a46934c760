"""The conformance matrix, kernel level: every fast kernel (:data:`spikernn.hardware.fast.KERNELS`) against the
reference step it names, and the fast backend's fused loops against the reference backend on the cases that
take their special paths (several self blocks, short chunks, wrapping currents, saturation, thresholds at
the top of the register range).

Cells: kernel x reset x adaptation x precision x batch (x fractional bits / current decay): fixed point bit for
bit (state included), float the same operations in the same order (bitwise equal).
"""

import numpy as np
import pytest

from spikernn.hardware import fixed_point as fp
from spikernn.hardware.backends import get_backend
from spikernn.hardware.fast import KERNELS, simulate_fast
from spikernn.hardware.fast.kernels import LifKernel, LstmKernel, ReadoutKernel
from spikernn.hardware.kinds import KINDS
from spikernn.hardware.network import Network, Population, SynapseBlock

STEPS = 120
REFERENCE = get_backend("reference")


def test_every_kernel_names_its_reference():
    assert KERNELS == {"lif": LifKernel, "spiking_lstm": LstmKernel, "readout": ReadoutKernel}
    for name, k in KERNELS.items():
        assert k.reference is KINDS[name]


@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("reset", ["zero", "subtract", "none"])
@pytest.mark.parametrize("adapt", [False, True])
@pytest.mark.parametrize("u_pass", [True, False])
@pytest.mark.parametrize("B", [9, 400])  # small arrays saturate with one clip, large ones check first
def test_lif_kernel_equals_step_lif(precision, reset, adapt, u_pass, B):
    rng = np.random.default_rng(7)
    n = 13
    attrs = {"reset": reset}
    if precision == "fixed":
        params = {"dv": rng.integers(0, 4096, n), "vth": rng.integers(0, 1 << 17, n),
                  "bias_mant": rng.integers(-4096, 4096, n), "bias_exp": rng.integers(0, 8, n)}
        if not u_pass:
            params["du"] = rng.integers(0, 4096, n)
        if adapt:
            params["adapt_scale"] = rng.integers(-(1 << 20), 1 << 20, n)
            params["da"] = rng.integers(0, 4097, n)
    else:
        params = {"decay": rng.uniform(0, 1, n), "threshold": rng.uniform(0.1, 2, n), "bias": rng.normal(0, 0.3, n)}
        if adapt:
            params["adapt_scale"] = rng.uniform(0, 1, n)
            params["adapt_decay"] = rng.uniform(0, 1, n)
    lif = KINDS["lif"]
    p = lif.prepare(params, attrs, precision, n)
    assert LifKernel.supported(p) and LifKernel.reference is lif
    k = LifKernel(p, B)
    st = lif.init_state(p, B)
    spikes = np.empty((B, n), bool)
    total = 0
    for t in range(STEPS):
        scale = [1 << 12, 1 << 16, 1 << 18][t % 3]  # includes inputs that wrap u and saturate v
        if precision == "fixed":
            a_in = rng.integers(-scale, scale, (B, n))
            k_in = a_in if t % 2 else a_in.astype(np.float64)  # the kernel takes int64 or exact float64
        else:
            a_in = k_in = rng.normal(0.3, 1.5, (B, n))
        st, out, m = lif.step(st, {"in": a_in}, p)
        k.step(k_in, spikes)
        np.testing.assert_array_equal(spikes, m)
        np.testing.assert_array_equal(k.v, st.v)
        np.testing.assert_array_equal(k.a, st.a)
        if precision == "fixed" and not u_pass:
            np.testing.assert_array_equal(k.u, st.u)
        total += int(m.sum())
    assert total > 0


@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("B", [9, 400])
def test_readout_kernel_equals_step_readout(precision, B):
    rng = np.random.default_rng(8)
    n = 11
    if precision == "fixed":
        params = {"dv": rng.integers(0, 4097, n), "bias": rng.integers(-(1 << 20), 1 << 20, n)}
    else:
        params = {"decay": rng.uniform(0, 1, n), "bias": rng.normal(0, 1, n)}
    ro = KINDS["readout"]
    p = ro.prepare(params, {}, precision, n)
    assert ReadoutKernel.supported(p) and ReadoutKernel.reference is ro
    assert not ReadoutKernel.supported(ro.prepare(params, {"input_coding": "delta"}, precision, n))
    k = ReadoutKernel(p, B)
    st = ro.init_state(p, B)
    for t in range(STEPS):
        if precision == "fixed":
            a_in = rng.integers(-(1 << [10, 22, 24][t % 3]), 1 << [10, 22, 24][t % 3], (B, n))  # saturates too
        else:
            a_in = rng.normal(0, 2, (B, n))
        st, y, m = ro.step(st, {"in": a_in}, p)
        np.testing.assert_array_equal(k.step(a_in), y)
        assert not m.any()


@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("reset", ["zero", "subtract", "none"])
@pytest.mark.parametrize("adapt", [False, True])
@pytest.mark.parametrize("F", [9, 12, 14])
@pytest.mark.parametrize("B", [1, 9, 400])
def test_lstm_kernel_equals_step_spiking_lstm(precision, reset, adapt, F, B):
    rng = np.random.default_rng(11 + F)
    H = 7
    attrs = {"reset": reset, "in_frac_bits": F}
    if precision == "fixed":
        params = {"dv": rng.integers(0, 4097, H), "vth": rng.integers(-64, 1 << 14, H),
                  "bias": rng.integers(-(1 << (F + 3)), 1 << (F + 3), 4 * H)}
        params["dv"][0], params["dv"][1] = 0, 4096  # edge cases: no decay, full decay
        if adapt:
            params["adapt_scale"] = rng.integers(-(1 << 14), 1 << 14, H)
            params["da"] = rng.integers(0, 4097, H)
    else:
        params = {"decay": rng.uniform(0, 1, H), "threshold": rng.uniform(-0.2, 1, H), "bias": rng.normal(0, 1, 4 * H)}
        if adapt:
            params["adapt_scale"] = rng.uniform(0, 1, H)
            params["adapt_decay"] = rng.uniform(0, 1, H)
    if F == 12 and not adapt:  # per-population constants given as scalars
        params = {k: (v[0] if k in ("dv", "vth", "decay", "threshold") else v) for k, v in params.items()}
    lstm = KINDS["spiking_lstm"]
    p = lstm.prepare(params, attrs, precision, H)
    assert LstmKernel.supported(p) and LstmKernel.reference is lstm
    k = LstmKernel(p, B)
    st = lstm.init_state(p, B)
    spikes = np.empty((B, H), bool)
    total = 0
    for t in range(STEPS):
        if precision == "fixed":
            scale = 1 << [F - 2, F + 2, F + 4, 30][t % 4]  # small, saturating gates, huge (clamped) inputs
            a_in = rng.integers(-scale, scale, (B, 4 * H))
            k_in = [a_in, a_in.astype(np.float64), a_in.astype(np.float32) if scale < 1 << 24 else a_in][t % 3]
        else:
            a_in = k_in = rng.normal(0, [0.5, 3, 30][t % 3], (B, 4 * H))
        st, out, m = lstm.step(st, {"in": a_in}, p)
        k.step(k_in, spikes)
        np.testing.assert_array_equal(spikes, m)  # fixed: the same integers; float: the same operations
        np.testing.assert_array_equal(k.c, st.c)
        np.testing.assert_array_equal(k.v, st.v)
        np.testing.assert_array_equal(k.a, st.a)
        total += int(m.sum())
    assert total > 0




def _fused_net(kind, reset, n_self, precision, seed, I=5, H=11, ext=True):
    """input -> kind(H) with ``n_self`` self-recurrent blocks (-> readout); optionally no external input
    to the recurrent population's self loop beyond step 0 (second population fed only by its own spikes)."""
    rng = np.random.default_rng(seed)
    g = 4 if kind == "spiking_lstm" else 1
    prm = {"decay": rng.uniform(0.5, 1.0, H), "threshold": np.full(H, 0.4), "bias": rng.normal(0.1, 0.2, g * H)}
    pops = [Population("x", "input", I), Population("h", kind, H, prm, {"reset": reset}),
            Population("k", kind, H, dict(prm), {"reset": reset}),
            Population("ro", "readout", 3, {"bias": rng.normal(0, 0.1, 3), "decay": np.full(3, 0.8)})]
    syn = [SynapseBlock("x>h", "x", "h", "in", rng.normal(0.2, 1.0, (g * H, I)))]
    for j in range(n_self):
        syn.append(SynapseBlock(f"h>h{j}", "h", "h", "in", rng.normal(0, 1.2 / np.sqrt(H), (g * H, H))))
    # k: fed by h (external, precomputed) or, when ext is False, only through the x>h>k chain's first hop
    syn.append(SynapseBlock("h>k", "h", "k", "in", rng.normal(0.1, 0.8, (g * H, H))))
    syn.append(SynapseBlock("k>k", "k", "k", "in", rng.normal(0, 1.0 / np.sqrt(H), (g * H, H))))
    syn.append(SynapseBlock("k>ro", "k", "ro", "in", rng.normal(0, 0.5, (3, H))))
    return Network(pops, syn, "x", ["ro", "h", "k"])


@pytest.mark.parametrize("precision", ["fixed", "float"])
@pytest.mark.parametrize("kind", ["lif", "spiking_lstm"])
@pytest.mark.parametrize("reset", ["zero", "subtract", "none"])
@pytest.mark.parametrize("n_self", [0, 1, 2])
def test_fused_single_population_groups_equal_step_functions(precision, kind, reset, n_self):
    """The fused loops (one lif / spiking_lstm population with self-recurrent blocks) against the reference
    backend, over batch sizes, chunkings (several chunks per run) and several self blocks."""
    net = _fused_net(kind, reset, n_self, precision, seed=3 + n_self)
    rng = np.random.default_rng(9)
    x = rng.normal(0.3, 1.0, (37, 20, 5))
    if precision == "fixed":
        net = fp.quantize(net, calibration_x=x)[0]
    y0, s0 = REFERENCE.simulate(net, x)
    assert s0.events["h"].sum() > 0
    for B in (1, 7, 20):
        for ce in (1 << 17, 300):  # one chunk / many short chunks
            y1, s1 = simulate_fast(net, x[:, :B], use_kernels=True, chunk_elems=ce)
            if precision == "fixed":
                np.testing.assert_array_equal(y1, y0[:, :B])
            else:
                np.testing.assert_allclose(y1, y0[:, :B], rtol=0, atol=1e-9)
            if B == x.shape[1]:
                assert s1.to_dict() == s0.to_dict()


@pytest.mark.parametrize("kind", ["lif", "spiking_lstm"])
def test_fused_fixed_point_with_wrapping_and_saturation(kind):
    """Fixed point with huge weights: u wraps (LIF: the fused loop steps those chunks through the kernel),
    gates clamp, v saturates; and large weight exponents."""
    import dataclasses

    net = _fused_net(kind, "subtract", 1, "fixed", seed=5)
    rng = np.random.default_rng(2)
    x = rng.normal(0.3, 1.0, (30, 9, 5))
    net = fp.quantize(net, calibration_x=x)[0]
    for boost in (1, 6, 12):
        syn = [dataclasses.replace(b, weight_exp=int(b.weight_exp) + boost) if b.source == b.target or b.source == "x"
               else b for b in net.synapses]
        big = dataclasses.replace(net, synapses=syn)
        y0, s0 = REFERENCE.simulate(big, x)
        for ce in (1 << 17, 200):
            y1, s1 = simulate_fast(big, x, use_kernels=True, chunk_elems=ce)
            np.testing.assert_array_equal(y1, y0)
            assert s1.to_dict() == s0.to_dict()


@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_fused_lif_large_threshold_and_no_self_blocks(reset):
    """Fixed-point LIF thresholds at the top of the 17-bit range (v saturating near them), and
    a LIF population without self-recurrent blocks (fused loop without a product)."""
    import dataclasses

    rng = np.random.default_rng(4)
    x = rng.normal(0.3, 1.0, (25, 6, 5))
    for n_self in (0, 1):
        net = fp.quantize(_fused_net("lif", reset, n_self, "fixed", seed=8), calibration_x=x)[0]
        pops = [dataclasses.replace(p, params={**p.params, "vth": np.full(p.size, (1 << 17) - 1)})
                if p.kind == "lif" else p for p in net.populations]  # theta = 2**23 - 64
        syn = [dataclasses.replace(b, weight_exp=int(b.weight_exp) + 9) for b in net.synapses]
        for big in (net, dataclasses.replace(net, populations=pops, synapses=syn)):
            y0, s0 = REFERENCE.simulate(big, x)
            y1, s1 = simulate_fast(big, x, use_kernels=True)
            assert s0.events["h"].sum() > 0
            np.testing.assert_array_equal(y1, y0)
            assert s1.to_dict() == s0.to_dict()
