"""Fast simulator: multi-layer / bidirectional networks against torch and against direct loops."""
import numpy as np
import pytest
import torch

from spikernn.hardware import fixed_point as fp
from spikernn.hardware.fast import compile_network, simulate_fast
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


def test_auto_engine_measured_once_per_structure():
    """engine="auto" from MEASURE_BATCH samples on: one measurement per network structure and batch (kept in
    ENGINE_CHOICE), the bits of the engine it picked (fixed point: either engine's, they are bit-exact)."""
    from spikernn.hardware.compiled import available
    from spikernn.hardware.fast import backend as fb

    rng = np.random.default_rng(5)
    pops = [Population("x", "input", 6), Population("h", "lif", 16, {"threshold": np.full(16, 0.5)})]
    syn = [SynapseBlock("xh", "x", "h", "in", rng.normal(0, 1, (16, 6))),
           SynapseBlock("hh", "h", "h", "in", rng.normal(0, .5, (16, 16)))]
    net, _ = fp.quantize(Network(pops, syn, "x", ["h"]), input_range=4)
    x = rng.normal(0, 1, (2 * fb.PROBE_STEPS + 1, fb.MEASURE_BATCH, 6))
    plan = compile_network(net)
    key = (fb.structure_key(plan), fb.MEASURE_BATCH, 1)
    fb.ENGINE_CHOICE.pop(key, None)
    y, _ = simulate_fast(net, x, plan=plan)
    engine, t_numba, t_numpy = fb.ENGINE_CHOICE[key]
    assert engine in ("auto", "numpy") and t_numba > 0 and t_numpy > 0
    assert engine == "numpy" or available()
    fb.ENGINE_CHOICE[key] = ("numpy", 0.0, 0.0)  # a recorded choice is not measured again
    np.testing.assert_array_equal(simulate_fast(net, x, plan=plan)[0], y)
    np.testing.assert_array_equal(simulate_fast(net, x, plan=plan, engine="numpy")[0], y)
    fb.ENGINE_CHOICE.pop(key)


def _intmm_or_skip():
    from spikernn.hardware import compiled

    if not compiled.available():
        pytest.skip("numba unavailable: no compiled matrix-product paths")
    from spikernn.hardware.compiled import intmm

    if not intmm.available():
        pytest.skip("no exact torch._int_mm here: the matrix-product paths are not taken")
    return intmm


@pytest.mark.parametrize("exp", [-5, 0, 3])
def test_intmm_float32_route_exact_up_to_its_bound(monkeypatch, exp):
    """The float32 GEMM route of intmm.product: taken while max |payload| x the largest column sum of |mantissas|
    is below 2**24 (every partial sum an exact float32 integer), float64 beyond; exact integers either way."""
    intmm = _intmm_or_skip()
    monkeypatch.setattr(intmm, "ROUTE", "float32")
    rng = np.random.default_rng(3)
    mant = rng.choice([-127, 127], (64, 8))  # every column sum of |mantissas|: 64 * 127
    blk = type("Blk", (), {"wt": mant, "exp": exp})()
    w = intmm.Weights(blk)
    assert w.rsum == 64 * 127
    taken = []
    orig, orig32 = intmm._product_float, intmm._product_f32
    monkeypatch.setattr(intmm, "_product_float", lambda *a: (taken.append(a[4]), orig(*a))[1])  # a[4]: dtype
    monkeypatch.setattr(intmm, "_product_f32", lambda *a: (lambda ok: (taken.append(np.float32) if ok else None,
                                                                       ok)[1])(orig32(*a)))
    limit = int((intmm.F32_EXACT - 1) // w.rsum)  # the largest payload the float32 bound allows
    for pmax, dtype in ((limit, np.float32), (limit + 1, np.float64)):
        msg = rng.integers(-pmax, pmax + 1, (70, 64))
        msg[0, :] = pmax  # the worst case: every partial sum of column c of the same sign
        msg[1, :] = -pmax * np.sign(mant[:, 0])
        out = np.zeros((70, 8), np.int64)
        assert intmm.product(msg, w, out, 0)
        want = np.floor((msg @ mant) * 2.0 ** exp).astype(np.int64) if exp < 0 else (msg @ mant) << exp
        np.testing.assert_array_equal(out, want)
        assert taken.pop() == dtype
    spikes = rng.random((70, 64)) < 0.3
    out = np.zeros((70, 8), np.int64)
    assert intmm.product(spikes, w, out, 0)
    want = spikes.astype(np.int64) @ mant
    np.testing.assert_array_equal(out, np.floor(want * 2.0 ** exp).astype(np.int64) if exp < 0 else want << exp)
    assert taken.pop() == np.float32


@pytest.mark.parametrize("exp", [-7, 0, 2])
def test_intmm_graded_planes_or_float64_exact(monkeypatch, exp):
    """Graded payloads of 2-3 bytes beyond the float32 bound: as int8 byte planes (``graded_planes``, forced by
    ROUTE "int8") or one float64 product (ROUTE "float32"), the same exact integers either way, added or (assign)
    written into their columns only."""
    intmm = _intmm_or_skip()
    rng = np.random.default_rng(11)
    mant = rng.integers(-128, 128, (40, 48))
    blk = type("Blk", (), {"wt": mant, "exp": exp})()
    w = intmm.Weights(blk)
    for pmax in (30000, 156014, 5_000_000):  # 2, 3 and 3 planes (5e6: 23 bits)
        msg = rng.integers(-pmax, pmax + 1, (300, 40))
        msg[0, :] = pmax
        want = msg @ mant
        want = np.floor(want * 2.0 ** exp).astype(np.int64) if exp < 0 else want << exp
        for route, planes in (("int8", True), ("float32", False)):
            monkeypatch.setattr(intmm, "ROUTE", route)
            assert (intmm.planes_needed(pmax) <= intmm.graded_planes()) == planes
            out = np.zeros((300, 48), np.int64)
            assert intmm.product(msg, w, out, 0)
            np.testing.assert_array_equal(out, want)
            out = np.full((300, 50), -12345, np.int64)  # assign: written over whatever the buffer held
            assert intmm.product(msg, w, out, 1, assign=True)
            np.testing.assert_array_equal(out[:, 1:49], want)
            assert (out[:, 0] == -12345).all() and (out[:, 49] == -12345).all()


@pytest.mark.parametrize("exp", [-5, 0, 2])
def test_intmm_float32_route_by_the_row_norm_bound(monkeypatch, exp):
    """Graded payloads whose max |payload| x rsum passes 2**24 still take the float32 route when the largest row
    norm x the largest column norm of the mantissas (Cauchy-Schwarz) stays below it, exact; a row at that bound
    (every payload the same, mantissas of equal magnitude) sends it to float64. Strided payloads (a view of a
    payload ring, as the stepped blocks read) give the same."""
    intmm = _intmm_or_skip()
    monkeypatch.setattr(intmm, "ROUTE", "float32")
    rng = np.random.default_rng(5)
    mant = rng.integers(-128, 128, (128, 24))
    blk = type("Blk", (), {"wt": mant, "exp": exp})()
    w = intmm.Weights(blk)
    taken = []
    orig32 = intmm._product_f32
    monkeypatch.setattr(intmm, "_product_f32", lambda *a: (lambda ok: (taken.append(ok), ok)[1])(orig32(*a)))
    pmax = int(intmm.F32_EXACT // w.rsum) * 4  # pmax * rsum well past 2**24
    ring = np.zeros((200, 160), np.int64)
    ring[:, 7:135] = rng.integers(-pmax // 16, pmax // 16 + 1, (200, 128))
    ring[::5, 7:135] = 0
    ring[3, 50] = pmax  # one large payload per row at most: the row norm stays small
    ring[9, 8] = -pmax
    msg = ring[:, 7:135]  # strided
    assert not msg.flags.c_contiguous and np.abs(msg).max() * w.rsum >= intmm.F32_EXACT
    assert np.sqrt((msg.astype(float) ** 2).sum(axis=1).max()) * w.cnorm < intmm.F32_EXACT
    out = np.zeros((200, 24), np.int64)
    assert intmm.product(msg, w, out, 0)
    want = msg @ mant
    want = np.floor(want * 2.0 ** exp).astype(np.int64) if exp < 0 else want << exp
    np.testing.assert_array_equal(out, want)
    assert taken == [True]
    # now a row at the bound: p_k = q sign(m_k0), |m_kc| all equal (Cauchy-Schwarz is tight there)
    eq = np.where(mant >= 0, 101, -101)
    w2 = intmm.Weights(type("Blk", (), {"wt": eq, "exp": exp})())
    q = int(intmm.F32_EXACT // w2.rsum) + 1
    msg2 = np.tile(q * np.sign(eq[:, 0]), (3, 1))
    out2 = np.zeros((3, 24), np.int64)
    assert intmm.product(msg2, w2, out2, 0)
    want2 = msg2 @ eq
    want2 = np.floor(want2 * 2.0 ** exp).astype(np.int64) if exp < 0 else want2 << exp
    np.testing.assert_array_equal(out2, want2)
    assert taken == [True, False]


@pytest.mark.parametrize("exp", [-6, 0, 2])
def test_intmm_byte_planes_exact_for_every_plane_count(monkeypatch, exp):
    """The int8 route for graded payloads: k = 1..4 signed-byte planes stacked into one int8 GEMM
    (kernels.byte_planes, any strides), recombined exactly (kernels.add_planes, = and +=), the largest payload of
    each plane count included (127 (256**k - 1) / 255) and its negative; taken for every k up to graded_planes()."""
    intmm = _intmm_or_skip()
    from spikernn.hardware.compiled import kernels as K

    monkeypatch.setattr(intmm, "ROUTE", "int8")
    assert intmm.graded_planes() == intmm.PLANES
    rng = np.random.default_rng(11)
    mant = rng.integers(-128, 128, (37, 29))
    w = intmm.Weights(type("Blk", (), {"wt": mant, "exp": exp})())
    taken = []
    orig = intmm._product_planes
    monkeypatch.setattr(intmm, "_product_planes", lambda *a: (taken.append(a[4]), orig(*a))[1])  # a[4]: k
    for k in range(1, intmm.PLANES + 1):
        lim = 127 * (256 ** k - 1) // 255
        assert intmm.planes_needed(lim) == k and intmm.planes_needed(lim + 1) == k + 1
        ring = np.zeros((70, 50), np.int64)
        ring[:, 5:42] = rng.integers(-lim, lim + 1, (70, 37))
        ring[0, 5:42], ring[1, 5:42] = lim, -lim
        msg = ring[:, 5:42]  # strided, as a payload ring's columns
        want = msg @ mant
        want = np.floor(want * 2.0 ** exp).astype(np.int64) if exp < 0 else want << exp
        base = rng.integers(-1000, 1000, (70, 40))
        out = base.copy()
        assert intmm.product(msg, w, out, 6)
        np.testing.assert_array_equal(out[:, 6:35], base[:, 6:35] + want)
        np.testing.assert_array_equal(np.delete(out, np.s_[6:35], axis=1), np.delete(base, np.s_[6:35], axis=1))
        out2 = base.copy()
        assert intmm.product(msg, w, out2, 6, assign=True)
        np.testing.assert_array_equal(out2[:, 6:35], want)
        assert taken[-2:] == [k, k]
        planes = np.zeros(k * 70 * 37, np.int8)
        K.byte_planes(msg, planes, k)
        got = sum(planes.reshape(k, 70, 37)[j].astype(np.int64) * 256 ** j for j in range(k))
        np.testing.assert_array_equal(got, msg)
    big = np.full((3, 37), intmm.MAX_PAYLOAD + 1, np.int64)  # beyond every route of int8 planes
    assert not intmm.product(big, w, np.zeros((3, 29), np.int64), 0)


def test_intmm_graded_planes_follow_the_measured_gemm_times(monkeypatch):
    """graded_planes: as many int8 GEMMs as cost at most 3/4 of one float32 GEMM (gemm_times), 0 .. PLANES;
    ROUTE forces PLANES (int8) or 0 (float32), and 0 sends graded payloads to the float32 / float64 routes."""
    intmm = _intmm_or_skip()
    monkeypatch.setattr(intmm, "ROUTE", None)
    t = intmm.gemm_times()
    assert t["int8"] > 0 and t["float32"] > 0
    assert intmm.graded_planes() == int(min(intmm.PLANES, 0.75 * t["float32"] / t["int8"]))
    monkeypatch.setitem(intmm._STATE, "f32_times", {"int8": 1.0, "float32": 4.0})
    assert intmm.graded_planes() == 3
    monkeypatch.setitem(intmm._STATE, "f32_times", {"int8": 1.0, "float32": 0.05})
    assert intmm.graded_planes() == 0
    monkeypatch.setattr(intmm, "ROUTE", "float32")
    assert intmm.graded_planes() == 0
    taken = []
    orig = intmm._product_planes
    monkeypatch.setattr(intmm, "_product_planes", lambda *a: (taken.append(a[4]), orig(*a))[1])
    mant = np.random.default_rng(2).integers(-128, 128, (16, 8))
    w = intmm.Weights(type("Blk", (), {"wt": mant, "exp": -3})())
    msg = np.random.default_rng(4).integers(-5000, 5000, (64, 16))
    out = np.zeros((64, 8), np.int64)
    assert intmm.product(msg, w, out, 0)
    np.testing.assert_array_equal(out, (msg @ mant) >> 3)
    assert taken == []


def test_intmm_float32_route_needs_full_float32_precision(monkeypatch):
    """float32 GEMMs only at torch's "highest" float32 matmul precision (no reduced-precision shortcuts); the
    route is measured once per process unless ROUTE forces it."""
    intmm = _intmm_or_skip()
    monkeypatch.setattr(intmm, "ROUTE", None)
    assert intmm.float32_faster() in (True, False)
    assert set(intmm._STATE["f32_times"]) == {"int8", "float32"}
    monkeypatch.setattr(intmm, "ROUTE", "float32")
    assert intmm.float32_faster()
    old = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium")
        assert not intmm.float32_faster()
        assert not intmm.use_float32(spikes=False) and not intmm.use_float32(spikes=True)
    finally:
        torch.set_float32_matmul_precision(old)
    monkeypatch.setattr(intmm, "ROUTE", None)  # measured: graded payloads always try float32, spikes as measured
    assert intmm.use_float32(spikes=False) and intmm.use_float32(spikes=True) == intmm.float32_faster()
    monkeypatch.setattr(intmm, "ROUTE", "int8")
    assert not intmm.use_float32(spikes=False)
    monkeypatch.setattr(intmm, "CROSSOVER", None)
    assert intmm.spike_crossover() > 0


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_compiled_batch_path_equals_numpy_engine_fixed(kind):
    """The compiled engine's batch path (group units from batch 16: the live recurrent blocks summed into the
    engine's precomputed-input rows in place, a zero-started port's first binary block written, not added; the
    host input quantised in one compiled pass; graded input products as int8 planes or float64) gives the numpy
    engine's bits, outputs and activity, for 2-layer spiking models active enough to exercise every block."""
    from spikernn.hardware import compiled

    if not compiled.available():
        pytest.skip("numba unavailable")
    import spikernn as snr
    from spikernn.converters import to_lava
    from spikernn.hardware.backends import get_backend

    torch.manual_seed(0)
    cls = {"rnn": snr.SpikingRNN, "gru": snr.SpikingGRU, "lstm": snr.SpikingLSTM}[kind]
    neuron = {} if kind == "rnn" else {"neuron": "lif", "threshold": 0.5}
    model = cls(10, 24, num_layers=2, **neuron).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.startswith(("weight", "bias")):
                p.mul_(20.0 if kind == "rnn" else 2.0)
    x = torch.randn(30, 40, 10) * 2
    net = to_lava(model, precision="fixed", calibration_x=x[:, :8])
    fast = get_backend("fast")
    xn = x.numpy().astype(np.float64)
    y, s = fast.simulate(net, xn, engine="numba")
    y0, s0 = fast.simulate(net, xn, engine="numpy")
    np.testing.assert_array_equal(y, y0)
    assert s.events.keys() == s0.events.keys()
    for name in s0.events:
        np.testing.assert_array_equal(s.events[name], s0.events[name])
    for name in s0.synaptic_ops:
        np.testing.assert_array_equal(s.synaptic_ops[name], s0.synaptic_ops[name])
    hidden = [p.name for p in net.populations if p.kind != "input"]
    assert all(s.events[n].sum() > 0 for n in hidden)  # every layer fired: the recurrent blocks delivered


@pytest.mark.parametrize("thr", [0, 3])
def test_compiled_delta_encoding_is_the_hosts(thr):
    """FastBackend.encode of a fixed-point "delta"-coded input (kernels.quantize_deltas, one compiled pass) gives
    encode_input's bits: the changes sent, the values held and the masks, with round-half-to-even quantisation,
    24-bit saturation, changes at or below the threshold held back, and the range warning."""
    from spikernn.hardware import compiled
    from spikernn.hardware.backends.base import encode_input
    from spikernn.hardware.fast.backend import FastBackend

    if not compiled.available():
        pytest.skip("numba unavailable: the host's numpy encoding is the only one")
    I = 6
    pops = [Population("x", "input", I, attrs={"encoding": "delta", "delta_threshold": 0.0}),
            Population("h", "sd_rnn", 4)]
    net = Network(pops, [SynapseBlock("xh", "x", "h", "in", RNG.normal(0, .5, (4, I)))], "x", ["h"])
    q, rep = fp.quantize(net, input_range=4)
    q.population("x").attrs["delta_threshold"] = thr
    F = rep.input_frac_bits
    x = RNG.normal(0, 1.5, (9, 3, I))
    x[1:4] = x[1]  # repeated steps: nothing sent at steps 2, 3
    x[4, 0, :3] = (np.arange(3) + 0.5) / 2 ** F  # exact halves: round to even
    x[5, 1, 0] = x[4, 1, 0] + 2.0 / 2 ** F  # a change of 2 quanta (held back at threshold 3)
    x[6, 2, :2] = x[5, 2, :2] + np.array([thr, thr + 1]) / 2 ** F  # at the threshold: held; one quantum past: sent
    want, got = encode_input(q, x), FastBackend().encode(q, x)
    for a, b in zip((want.sent, want.values, want.masks), (got.sent, got.values, got.masks)):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    assert want.masks[2:4].sum() == 0 and (thr == 0) == bool(want.masks[5, 1, 0])
    assert want.masks[5, 2, :2].all() and want.masks[6, 2, :2].tolist() == [False, True]
    big = x.copy()
    big[2, 2, 5] = 1e9  # beyond 24 bits: saturated, and warned about, both ways
    with pytest.warns(fp.InputRangeWarning):
        want = encode_input(q, big)
    with pytest.warns(fp.InputRangeWarning):
        got = FastBackend().encode(q, big)
    for a, b in zip((want.sent, want.values, want.masks), (got.sent, got.values, got.masks)):
        np.testing.assert_array_equal(a, b)
    assert got.values[2, 2, 5] == fp.MAX24
