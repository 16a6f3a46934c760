"""Fast simulator: multi-layer / bidirectional networks against torch and against direct loops."""
import numpy as np
import pytest
import torch

from spikernn.hardware import arith as A
from spikernn.hardware import fixed_point as fp
from spikernn.hardware.fast import compile_network, simulate_fast
from spikernn.hardware.fast.kernels import LifKernel, LstmKernel, ReadoutKernel
from spikernn.hardware.kinds import KINDS
from spikernn.hardware.network import Network, Population, SynapseBlock
from spikernn.hardware.timing import block_lags, depths

RNG = np.random.default_rng(3)


def _np(t):
    return t.detach().double().numpy()


def dense_net(mod: torch.nn.RNNBase, kind: str, thr: float = 0.0) -> Network:
    """Sigma-delta network equal to a torch RNN/LSTM/GRU (tanh/relu), bidirectional included."""
    L, H, I = mod.num_layers, mod.hidden_size, mod.input_size
    dirs = 2 if mod.bidirectional else 1
    pops = [Population("x", "input", I, attrs={"encoding": "delta", "delta_threshold": 0.0})]
    syn = []
    prev: list[str] = ["x"]
    for layer in range(L):
        names = []
        for d in range(dirs):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            name = f"h{layer}{'b' if d else 'f'}"
            names.append(name)
            wih, whh = getattr(mod, "weight_ih" + sfx), getattr(mod, "weight_hh" + sfx)
            bih, bhh = getattr(mod, "bias_ih" + sfx), getattr(mod, "bias_hh" + sfx)
            attrs = {"delta_threshold": thr}
            if kind == "sd_gru":
                params = {"bias_in": _np(bih), "bias_rec": _np(bhh)}
                rec_port = "rec"
            else:
                params = {"bias": _np(bih + bhh)}
                rec_port = "in"
                if kind == "sd_rnn":
                    attrs["activation"] = mod.nonlinearity
            pops.append(Population(name, kind, H, params, attrs, stage=layer if dirs == 2 else 0, reverse=bool(d)))
            w = _np(wih)
            col = 0
            for src in prev:
                n = I if src == "x" else H
                syn.append(SynapseBlock(f"{src}->{name}", src, name, "in", w[:, col:col + n]))
                col += n
            syn.append(SynapseBlock(f"{name}->{name}", name, name, rec_port, _np(whh)))
        prev = names
    return Network(pops, syn, "x", prev)


@pytest.mark.parametrize("cls,kind,extra", [(torch.nn.LSTM, "sd_lstm", {}), (torch.nn.GRU, "sd_gru", {}),
                                            (torch.nn.RNN, "sd_rnn", {"nonlinearity": "tanh"}),
                                            (torch.nn.RNN, "sd_rnn", {"nonlinearity": "relu"})])
@pytest.mark.parametrize("bidir", [False, True])
def test_sigma_delta_networks_equal_torch(cls, kind, extra, bidir):
    torch.manual_seed(0)
    mod = cls(5, 7, num_layers=2, bidirectional=bidir, **extra).double()
    x = torch.randn(25, 4, 5, dtype=torch.float64)
    ref = _np(mod(x)[0])
    net = dense_net(mod, kind)
    y, stats = simulate_fast(net, x.numpy())
    np.testing.assert_allclose(y, ref, atol=1e-10)
    assert stats.steps == 25 and stats.batch == 4 and stats.total_events() > 0
    assert stats.message_bits["h0f"] == 24


def test_delta_threshold_reduces_events_and_bounds_error():
    torch.manual_seed(1)
    mod = torch.nn.GRU(5, 8, num_layers=1).double()
    x = torch.cumsum(torch.randn(40, 2, 5, dtype=torch.float64) * 0.05, 0)
    y0, s0 = simulate_fast(dense_net(mod, "sd_gru", 0.0), x.numpy())
    y1, s1 = simulate_fast(dense_net(mod, "sd_gru", 0.02), x.numpy())
    assert s1.total_events() < s0.total_events()
    assert np.abs(y1 - y0).max() < 0.3


# ---------------------------------------------------------------------------------------------- spiking nets

def _soma(v, a, d, p, reset):
    v = p["decay"] * v + d
    th = p["threshold"] + p["adapt_scale"] * a
    s = (v > th).astype(float)
    v = v - th * s if reset == "subtract" else (v * (1 - s) if reset == "zero" else v)
    return v, p["adapt_decay"] * a + s, s


def _sp(n, adapt=True):
    return {"decay": RNG.uniform(0.5, 0.95, n), "threshold": RNG.uniform(0.3, 0.8, n),
            "adapt_decay": np.full(n, 0.9), "adapt_scale": np.full(n, 0.2 if adapt else 0.0)}


def _sig(z):
    return 1 / (1 + np.exp(-z))


def reference_spiking(kind, layers, x, reset):
    """Direct loop over docs/equations.md for a stack of spiking layers + a leaky readout."""
    T, B, _ = x.shape
    inp = x
    for lay in layers[:-1]:
        H = lay["H"]
        v = a = c = h = np.zeros((B, H))
        s = np.zeros((B, H))
        out = np.zeros((T, B, H))
        for t in range(T):
            if kind == "lif":
                d = inp[t] @ lay["wi"].T + s @ lay["wh"].T + lay["p"]["bias"]
            elif kind == "spiking_lstm":
                pre = inp[t] @ lay["wi"].T + s @ lay["wh"].T + lay["p"]["bias"]
                i, f, g, o = _sig(pre[:, :H]), _sig(pre[:, H:2 * H]), np.tanh(pre[:, 2 * H:3 * H]), _sig(pre[:, 3 * H:])
                c = f * c + i * g
                d = o * np.tanh(c)
            else:
                gi = inp[t] @ lay["wi"].T + lay["p"]["bias_in"]
                gh = s @ lay["wh"].T + lay["p"]["bias_rec"]
                r, z = _sig(gi[:, :H] + gh[:, :H]), _sig(gi[:, H:2 * H] + gh[:, H:2 * H])
                n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
                h = (1 - z) * n + z * h
                d = h
            v, a, s = _soma(v, a, d, lay["p"], reset)
            out[t] = s
        inp = out
    ro = layers[-1]
    y = np.zeros((B, ro["O"]))
    ys = np.zeros((T, B, ro["O"]))
    for t in range(T):
        y = ro["decay"] * y + inp[t] @ ro["w"].T + ro["bias"]
        ys[t] = y
    return ys


@pytest.mark.parametrize("kind", ["lif", "spiking_lstm", "spiking_gru"])
@pytest.mark.parametrize("reset", ["zero", "subtract"])
def test_spiking_stack_matches_equations(kind, reset):
    I, H, O, T, B = 4, 10, 3, 30, 3
    g = {"lif": 1, "spiking_lstm": 4, "spiking_gru": 3}[kind]
    layers = []
    pops = [Population("x", "input", I)]
    syn = []
    src, n_src = "x", I
    for k in range(2):
        p = _sp(H, adapt=(k == 0))
        if kind == "spiking_gru":
            p.update(bias_in=RNG.normal(0, .3, 3 * H), bias_rec=RNG.normal(0, .3, 3 * H))
        else:
            p["bias"] = RNG.normal(0.1, .3, g * H)
        wi = RNG.normal(0, 1.0, (g * H, n_src))
        wh = RNG.normal(0, 0.5, (g * H, H))
        layers.append({"H": H, "wi": wi, "wh": wh, "p": p})
        name = f"l{k}"
        pops.append(Population(name, kind, H, p, {"reset": reset}))
        syn.append(SynapseBlock(f"{src}>{name}", src, name, "in", wi))
        syn.append(SynapseBlock(f"{name}>{name}", name, name, "rec" if kind == "spiking_gru" else "in", wh))
        src, n_src = name, H
    ro = {"O": O, "w": RNG.normal(0, .5, (O, H)), "bias": RNG.normal(0, .1, O), "decay": np.full(O, 0.8)}
    layers.append(ro)
    pops.append(Population("ro", "readout", O, {"bias": ro["bias"], "decay": ro["decay"]}))
    syn.append(SynapseBlock("l1>ro", "l1", "ro", "in", ro["w"]))
    net = Network(pops, syn, "x", ["ro"])
    x = RNG.normal(0.5, 1.0, (T, B, I))
    y, stats = simulate_fast(net, x)
    np.testing.assert_allclose(y, reference_spiking(kind, layers, x, reset), atol=1e-9)
    assert depths(net) == {"x": 0, "l0": 1, "l1": 2, "ro": 3}
    assert block_lags(net)["l0>l0"] == 1 and block_lags(net)["x>l0"] == 0
    assert stats.total_events() > 0 and stats.message_bits["l0"] == 1
    # synaptic ops = events x fan-out, per step
    ev = stats.events["l0"]
    assert stats.synaptic_ops["l0>l1"].sum() <= ev.sum() * g * H and stats.synaptic_ops["l0>l1"].sum() > 0
    assert stats.neuron_updates["l0"] == H * T * B


def test_batch_independence_and_fixed_determinism(tmp_path):
    """Each batch item runs alone the same; fixed point is deterministic; save/load gives the same output."""
    torch.manual_seed(2)
    mod = torch.nn.LSTM(5, 6, num_layers=2, bidirectional=True).double()
    net = dense_net(mod, "sd_lstm")
    x = RNG.normal(0, 1, (12, 3, 5))
    y, _ = simulate_fast(net, x)
    y1, _ = simulate_fast(net, x[:, 1:2])
    np.testing.assert_allclose(y[:, 1:2], y1, atol=1e-13)
    q, rep = fp.quantize(net, calibration_x=x)
    yq, sq = simulate_fast(q, x)
    assert np.abs(yq - y).max() < 0.05, np.abs(yq - y).max()
    q.save(tmp_path / "q.safetensors")
    q2 = Network.load(tmp_path / "q.safetensors")
    yq2, sq2 = simulate_fast(q2, x)
    np.testing.assert_array_equal(yq, yq2)
    assert sq.to_dict() == sq2.to_dict()
    yq3, _ = simulate_fast(q, x[:, 2:3])
    np.testing.assert_array_equal(yq[:, 2:3], yq3)


def test_random_recurrent_graph_with_cross_links_runs_and_matches_float_steps():
    """A 3-population cycle (A->B->C->A plus self loops) at batch 5 equals a run of each item at batch 1,
    and the fixed-point version equals its dequantised float network on grid inputs."""
    I, H = 3, 6
    pops = [Population("x", "input", I)] + [
        Population(n, "lif", H, {"bias": RNG.normal(0, .1, H), "decay": np.full(H, 0.5), "threshold": np.ones(H)},
                   {"reset": "zero"}) for n in "ABC"]
    syn = [SynapseBlock("xA", "x", "A", "in", RNG.normal(0, 1, (H, I)))]
    for s, t in ["AB", "BC", "CA", "AA", "BB", "CC", "AC"]:
        syn.append(SynapseBlock(s + t, s, t, "in", RNG.normal(0, .7, (H, H))))
    net = Network(pops, syn, "x", ["C", "A"])
    assert depths(net) == {"x": 0, "A": 1, "B": 2, "C": 2}
    lags = block_lags(net)
    assert lags["CA"] == 2 and lags["AC"] == 0 and lags["BC"] == 1
    plan = compile_network(net)
    assert plan.groups == [["A", "B", "C"]] or sorted(plan.groups[0]) == ["A", "B", "C"]
    x = RNG.normal(0.5, 1, (30, 5, I))
    y, st = simulate_fast(net, x)
    for b in range(5):
        yb, _ = simulate_fast(net, x[:, b:b + 1])
        np.testing.assert_array_equal(y[:, b:b + 1], yb)
    q, rep = fp.quantize(net, input_range=4)
    F = rep.input_frac_bits
    xg = np.round(x * 2 ** F) / 2 ** F
    np.testing.assert_array_equal(simulate_fast(q, xg)[0], simulate_fast(fp.dequantize(q), xg)[0])


def test_errors():
    pops = [Population("x", "input", 2), Population("a", "lif", 2, reverse=True), Population("b", "lif", 2)]
    syn = [SynapseBlock("xa", "x", "a", "in", np.ones((2, 2))), SynapseBlock("ab", "a", "b", "in", np.ones((2, 2)))]
    net = Network(pops, syn, "x", ["b"])
    with pytest.raises(ValueError, match="opposite time direction"):
        simulate_fast(net, np.zeros((3, 1, 2)))
    pops = [Population("x", "input", 2), Population("a", "lif", 2)]
    net = Network(pops, [], "x", ["a"])
    with pytest.raises(ValueError, match="unreachable"):
        simulate_fast(net, np.zeros((3, 1, 2)))
    with pytest.raises(TypeError, match="unknown options"):
        simulate_fast(Network(pops[:1], [], "x", ["x"]), np.zeros((3, 1, 2)), bogus=1)


@pytest.mark.parametrize("encoding", ["value", "delta"])
def test_reverse_population_fed_by_input(encoding):
    """A reverse LIF population fed directly by the input (value or delta coded) sees the flipped input."""
    I, H, T, B = 3, 6, 12, 2
    p = {"bias": RNG.normal(0, .3, H), "decay": np.full(H, .9), "threshold": np.full(H, .5),
         "adapt_decay": np.full(H, .8), "adapt_scale": np.full(H, .2)}
    kind = "lif" if encoding == "value" else "sd_rnn"
    params = p if kind == "lif" else {"bias": p["bias"]}
    pops = [Population("x", "input", I, attrs={"encoding": encoding}),
            Population("r", kind, H, params, {"reset": "subtract"} if kind == "lif" else {"activation": "tanh"},
                       reverse=True)]
    wi, wh = RNG.normal(0, 1, (H, I)), RNG.normal(0, .5, (H, H))
    syn = [SynapseBlock("xr", "x", "r", "in", wi), SynapseBlock("rr", "r", "r", "in", wh)]
    net = Network(pops, syn, "x", ["r"])
    x = RNG.normal(0, 2, (T, B, I))
    y, _ = simulate_fast(net, x)
    xr = x[::-1]
    v = a = s = np.zeros((B, H))
    out = []
    for t in range(T):
        d = xr[t] @ wi.T + s @ wh.T + p["bias"]
        if kind == "lif":
            v, a, s = _soma(v, a, d, p, "subtract")
        else:
            s = np.tanh(d)
        out.append(s)
    np.testing.assert_allclose(y, np.array(out)[::-1], atol=1e-10)


# ---- performance paths: in-place LIF kernel, precomputed LUTs, batch shards in threads --------------------

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
    for t in range(300):
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


def test_precomputed_lookup_tables_equal_interpolation():
    from spikernn.hardware.kinds.gates import lstm_offsets

    x = np.arange(-(1 << 18), 1 << 18, dtype=np.int64)  # every Q12 input and clamped ones
    np.testing.assert_array_equal(A.sigmoid_q(x), A.lut_interp(A.SIGMOID_LUT, x))
    np.testing.assert_array_equal(A.tanh_q(x), A.lut_interp(A.TANH_LUT, x))
    z = np.random.default_rng(0).integers(-(1 << 17), 1 << 17, (50, 28))
    want = A.lut_interp(A.SIGMOID_LUT, z)
    want[:, 14:21] = A.lut_interp(A.TANH_LUT, z[:, 14:21])  # LSTM g columns (H = 7)
    np.testing.assert_array_equal(A.lut_columns(z, lstm_offsets(7)), want)


@pytest.mark.parametrize("precision", ["fixed", "float"])
def test_kernels_and_worker_threads_give_the_same_results(precision):
    rng = np.random.default_rng(5)
    I, H = 6, 20
    pops = [Population("x", "input", I)]
    syn = []
    src, n = "x", I
    for k, kind in enumerate(["lif", "spiking_lstm"]):
        g = 4 if kind == "spiking_lstm" else 1
        prm = {"decay": np.full(H, 0.9), "threshold": np.full(H, 0.5), "bias": rng.normal(0, 0.05, g * H)}
        pops.append(Population(f"h{k}", kind, H, prm, {"reset": "subtract"}))
        syn.append(SynapseBlock(f"{src}>h{k}", src, f"h{k}", "in", rng.normal(0, 1.5 / np.sqrt(n), (g * H, n))))
        syn.append(SynapseBlock(f"h{k}>h{k}", f"h{k}", f"h{k}", "in", rng.normal(0, 1.0 / np.sqrt(H), (g * H, H))))
        src, n = f"h{k}", H
    pops.append(Population("ro", "readout", 3, {"bias": np.zeros(3), "decay": np.full(3, 0.9)}))
    syn.append(SynapseBlock("h1>ro", "h1", "ro", "in", rng.normal(0, 0.3, (3, H))))
    net = Network(pops, syn, "x", ["ro", "h0"])
    x = rng.normal(0.2, 1.0, (40, 50, I))
    if precision == "fixed":
        net = fp.quantize(net, calibration_x=x)[0]
    y0, s0 = simulate_fast(net, x, use_kernels=False)  # the reference steps only
    y1, s1 = simulate_fast(net, x)
    y3, s3 = simulate_fast(net, x, workers=3)
    assert s0.total_events() > 0
    np.testing.assert_array_equal(y1, y0)
    if precision == "fixed":
        np.testing.assert_array_equal(y3, y0)
    else:
        np.testing.assert_allclose(y3, y0, rtol=0, atol=1e-12)
    assert s1.to_dict() == s0.to_dict() == s3.to_dict()


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
    for t in range(200):
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
    for t in range(200):
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
    """The fused loops (one lif / spiking_lstm population with self-recurrent blocks) against the plain
    step functions, over batch sizes, chunkings (several chunks per run) and several self blocks."""
    net = _fused_net(kind, reset, n_self, precision, seed=3 + n_self)
    rng = np.random.default_rng(9)
    x = rng.normal(0.3, 1.0, (37, 20, 5))
    if precision == "fixed":
        net = fp.quantize(net, calibration_x=x)[0]
    y0, s0 = simulate_fast(net, x, use_kernels=False)
    assert s0.events["h"].sum() > 0
    for B in (1, 7, 20):
        for ce in (1 << 17, 300):  # one chunk / many short chunks
            y1, s1 = simulate_fast(net, x[:, :B], use_kernels=True, chunk_elems=ce)
            if precision == "fixed":
                np.testing.assert_array_equal(y1, y0[:, :B])
            else:
                np.testing.assert_allclose(y1, y0[:, :B], rtol=0, atol=1e-12)
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
        y0, s0 = simulate_fast(big, x, use_kernels=False)
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
            y0, s0 = simulate_fast(big, x, use_kernels=False)
            y1, s1 = simulate_fast(big, x, use_kernels=True)
            assert s0.events["h"].sum() > 0
            np.testing.assert_array_equal(y1, y0)
            assert s1.to_dict() == s0.to_dict()
