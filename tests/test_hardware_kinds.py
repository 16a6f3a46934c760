"""Neuron kinds: their reference steps (float) against direct float64 implementations of docs/equations.md,
the fixed-point LIF against Lava's own bit-accurate LIF model code (driven without a Lava runtime), the typed
descriptions (parameters, settings, defaults) and their checks."""
import numpy as np
import pytest
import torch

from spikernn.hardware.kinds import DEFAULT_RESET, KINDS, describe, kind


def init_state(name, size, batch, params=None, attrs=None, precision="float"):
    k = KINDS[name]
    return k.init_state(k.prepare(params or {}, attrs or {}, precision, size), batch)


def step(name, state, inputs, params, attrs, precision="float"):
    k = KINDS[name]
    size = (np.shape(inputs["in"])[-1] // k.gates["in"]) if "in" in inputs else np.shape(inputs["x"])[-1]
    return k.step(state, inputs, k.prepare(params, attrs, precision, size))

RNG = np.random.default_rng(1)
T, B, H = 30, 3, 5


def sig(x):
    return 1 / (1 + np.exp(-x))


def soma_ref(v, a, d, decay, th, ba, rho, reset):
    v = decay * v + d
    theta = th + ba * a
    s = (v > theta).astype(float)
    if reset == "subtract":
        v = v - theta * s
    elif reset == "zero":
        v = v * (1 - s)
    a = rho * a + s
    return v, a, s


def soma_params(n):
    return {"decay": RNG.uniform(0.3, 1.0, n), "threshold": RNG.uniform(0.5, 1.5, n),
            "adapt_decay": RNG.uniform(0.5, 0.99, n), "adapt_scale": RNG.uniform(0.0, 0.5, n)}


def run(name, inputs_seq, params, attrs, precision="float", size=H):
    k = KINDS[name]
    prep = k.prepare(params, attrs, precision, size)
    st = k.init_state(prep, B)
    outs, masks, states = [], [], []
    for ins in inputs_seq:
        st, o, m = k.step(st, ins, prep)
        outs.append(o)
        masks.append(m)
        states.append(st)
    return np.array(outs), np.array(masks), states


@pytest.mark.parametrize("reset", ["zero", "subtract", "none"])
def test_lif_float_matches_equations(reset):
    p = soma_params(H)
    p["bias"] = RNG.normal(0, 0.2, H)
    a_in = RNG.normal(0.3, 1.0, (T, B, H))
    out, mask, _ = run("lif", [{"in": a} for a in a_in], p, {"reset": reset})
    v = a = np.zeros((B, H))
    for t in range(T):
        v, a, s = soma_ref(v, a, a_in[t] + p["bias"], p["decay"], p["threshold"], p["adapt_scale"],
                           p["adapt_decay"], reset)
        np.testing.assert_array_equal(out[t], s)
        np.testing.assert_array_equal(mask[t], s > 0)
    assert out.sum() > 0


def test_spiking_lstm_float_matches_torch_cell():
    p = soma_params(H)
    p["bias"] = RNG.normal(0, 0.3, 4 * H)
    a_in = RNG.normal(0, 1.5, (T, B, 4 * H))
    out, _, states = run("spiking_lstm", [{"in": a} for a in a_in], p, {"reset": "subtract"})
    v = a = c = np.zeros((B, H))
    for t in range(T):
        pre = a_in[t] + p["bias"]
        i, f, g, o = sig(pre[:, :H]), sig(pre[:, H:2 * H]), np.tanh(pre[:, 2 * H:3 * H]), sig(pre[:, 3 * H:])
        c = f * c + i * g
        d = o * np.tanh(c)
        v, a, s = soma_ref(v, a, d, p["decay"], p["threshold"], p["adapt_scale"], p["adapt_decay"], "subtract")
        np.testing.assert_array_equal(out[t], s)
        np.testing.assert_allclose(states[t].c, c, rtol=0, atol=1e-14)


def test_spiking_gru_float_matches_equations():
    p = soma_params(H)
    p["bias_in"] = RNG.normal(0, 0.3, 3 * H)
    p["bias_rec"] = RNG.normal(0, 0.3, 3 * H)
    ai = RNG.normal(0, 1.5, (T, B, 3 * H))
    ar = RNG.normal(0, 1.5, (T, B, 3 * H))
    out, _, states = run("spiking_gru", [{"in": x, "rec": y} for x, y in zip(ai, ar)], p, {"reset": "zero"})
    v = a = h = np.zeros((B, H))
    for t in range(T):
        gi, gh = ai[t] + p["bias_in"], ar[t] + p["bias_rec"]
        r = sig(gi[:, :H] + gh[:, :H])
        z = sig(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        h = (1 - z) * n + z * h
        v, a, s = soma_ref(v, a, h, p["decay"], p["threshold"], p["adapt_scale"], p["adapt_decay"], "zero")
        np.testing.assert_array_equal(out[t], s)
        np.testing.assert_allclose(states[t].h, h, atol=1e-14)


@pytest.mark.parametrize("act", ["tanh", "relu"])
@pytest.mark.parametrize("thr", [0.0, 0.05])
def test_sd_rnn_float(act, thr):
    bias = RNG.normal(0, 0.3, H)
    deltas = RNG.normal(0, 0.3, (T, B, H))
    out, mask, states = run("sd_rnn", [{"in": d} for d in deltas], {"bias": bias},
                            {"activation": act, "delta_threshold": thr})
    sigma = np.cumsum(deltas, axis=0)
    f = np.tanh if act == "tanh" else (lambda z: np.maximum(z, 0))
    sent = np.zeros((B, H))
    for t in range(T):
        h = f(sigma[t] + bias)
        dlt = h - sent
        m = np.abs(dlt) > thr
        np.testing.assert_array_equal(mask[t], m)
        np.testing.assert_allclose(out[t], np.where(m, dlt, 0), atol=1e-12)
        sent = sent + np.where(m, dlt, 0)
        if thr == 0:
            np.testing.assert_allclose(states[t].sent, h, atol=1e-12)
        assert np.all(np.abs(states[t].sent - h) <= thr + 1e-12)


def test_sd_lstm_and_gru_float_match_torch_cells():
    torch.manual_seed(0)
    I = 4
    lstm = torch.nn.LSTMCell(I, H).double()
    gru = torch.nn.GRUCell(I, H).double()
    x = torch.randn(T, B, I, dtype=torch.float64)
    # drive the sigma-delta neurons with the deltas of W_ih x + W_hh h_prev (what the synapses deliver)
    st_l = init_state("sd_lstm", H, B)
    st_g = init_state("sd_gru", H, B)
    pl = {"bias": (lstm.bias_ih + lstm.bias_hh).detach().numpy()}
    pg = {"bias_in": gru.bias_ih.detach().numpy(), "bias_rec": gru.bias_hh.detach().numpy()}
    h_l = c_l = torch.zeros(B, H, dtype=torch.float64)
    h_g = torch.zeros(B, H, dtype=torch.float64)
    prev_l = np.zeros((B, 4 * H))
    prev_gi = np.zeros((B, 3 * H))
    prev_gh = np.zeros((B, 3 * H))
    sent_l = np.zeros((B, H))
    sent_g = np.zeros((B, H))
    with torch.no_grad():
        for t in range(T):
            drive = (x[t] @ lstm.weight_ih.T).numpy() + sent_l @ lstm.weight_hh.numpy().T
            st_l, o, _ = step("sd_lstm", st_l, {"in": drive - prev_l}, pl, {}, "float")
            prev_l = drive
            sent_l = st_l.sent
            h_l, c_l = lstm(x[t], (h_l, c_l))
            np.testing.assert_allclose(st_l.sent, h_l.numpy(), atol=1e-12)
            gi = (x[t] @ gru.weight_ih.T).numpy()
            gh = sent_g @ gru.weight_hh.numpy().T
            st_g, o, _ = step("sd_gru", st_g, {"in": gi - prev_gi, "rec": gh - prev_gh}, pg, {}, "float")
            prev_gi, prev_gh, sent_g = gi, gh, st_g.sent
            h_g = gru(x[t], h_g)
            np.testing.assert_allclose(st_g.sent, h_g.numpy(), atol=1e-12)


@pytest.mark.parametrize("coding", ["value", "delta"])
def test_readout_and_input_float(coding):
    decay = RNG.uniform(0, 0.9, H)
    bias = RNG.normal(0, 0.1, H)
    a_in = RNG.normal(0, 1, (T, B, H))
    out, mask, _ = run("readout", [{"in": a} for a in a_in], {"bias": bias, "decay": decay},
                       {"input_coding": coding})
    drive = np.cumsum(a_in, axis=0) if coding == "delta" else a_in
    y = np.zeros((B, H))
    for t in range(T):
        y = decay * y + drive[t] + bias
        np.testing.assert_allclose(out[t], y, atol=1e-12)
    assert not mask.any()
    x = RNG.normal(0, 1, (T, B, H))
    out, mask, states = run("input", [{"x": v} for v in x], {}, {"encoding": "delta", "delta_threshold": 0.5})
    sent = np.zeros((B, H))
    for t in range(T):
        d = x[t] - sent
        m = np.abs(d) > 0.5
        np.testing.assert_array_equal(mask[t], m)
        sent = sent + np.where(m, d, 0)
        np.testing.assert_allclose(states[t].sent, sent)
    out, mask, _ = run("input", [{"x": v} for v in x], {}, {"encoding": "value"})
    np.testing.assert_array_equal(out, x)


def test_unknown_kind_and_bad_attrs():
    with pytest.raises(ValueError, match="unknown neuron kind"):
        kind("lstm")
    with pytest.raises(ValueError, match="reset must be one of"):
        step("lif", init_state("lif", 2, 1), {"in": np.zeros((1, 2))}, {}, {"reset": "bogus"})
    with pytest.raises(ValueError, match=r"unknown float-precision param\(s\) \['thresold'\]"):
        KINDS["lif"].prepare({"thresold": 0.5}, {}, "float", 2)  # a typo is an error, not a silent default
    with pytest.raises(ValueError, match=r"unknown setting\(s\) \['activation'\] for kind 'lif'"):
        KINDS["lif"].prepare({}, {"activation": "tanh"}, "float", 2)
    with pytest.raises(ValueError, match=r"param 'vth' must lie in \[0, 131071\]"):
        KINDS["lif"].prepare({"vth": 1 << 17}, {}, "fixed", 2)  # the 17-bit register
    with pytest.raises(ValueError, match="must hold integers"):
        KINDS["spiking_lstm"].prepare({"dv": 0.5}, {}, "fixed", 2)
    with pytest.raises(ValueError, match="delta_threshold must be a finite number >= 0"):
        KINDS["sd_gru"].prepare({}, {"delta_threshold": float("nan")}, "float", 2)


def test_one_reset_default_from_the_core():
    """Every spiking kind's reset default is the core's NeuronOptions default."""
    from spikernn.neurons import NeuronOptions

    assert DEFAULT_RESET == NeuronOptions().reset == "subtract"
    for name in ("lif", "adlif", "spiking_lstm", "spiking_gru", "adlif_lstm", "adlif_gru"):
        assert KINDS[name].setting("reset").default == DEFAULT_RESET
        assert KINDS[name].prepare({}, {}, "float", 3).soma.reset == DEFAULT_RESET


def test_kind_descriptions_are_complete():
    """Gates come from the core's table, message widths from one constant; the docs table lists every kind."""
    from spikernn.functional import GATES
    from spikernn.hardware.kinds.spec import GRADED_MESSAGE_BITS

    assert KINDS["spiking_lstm"].gates == KINDS["adlif_lstm"].gates == KINDS["sd_lstm"].gates == {"in": GATES["lstm"]}
    assert KINDS["spiking_gru"].gates == KINDS["adlif_gru"].gates == {"in": GATES["gru"], "rec": GATES["gru"]}
    assert {n: k.message_bits for n, k in KINDS.items()} == {
        "input": GRADED_MESSAGE_BITS, "lif": 1, "adlif": 1, "spiking_lstm": 1, "spiking_gru": 1,
        "adlif_lstm": 1, "adlif_gru": 1, "sd_rnn": GRADED_MESSAGE_BITS,
        "sd_lstm": GRADED_MESSAGE_BITS, "sd_gru": GRADED_MESSAGE_BITS, "readout": GRADED_MESSAGE_BITS}
    text = describe()
    for name, k in KINDS.items():
        assert text.count(f"{name}: ") >= 1
        for prec in ("float", "fixed"):
            for p in k.params_for(prec):
                assert f"{prec} param {p.name} " in text
        k2 = k.prepare({}, {}, "fixed", 2)  # every default is valid in both precisions
        assert k2.fixed and not k.prepare({}, {}, "float", 2).fixed


# ---------------------------------------------------------------------------------------------- fixed point

class _In:
    def __init__(self, data):
        self.data = data

    def recv(self):
        return self.data


class _Out:
    def send(self, data):
        self.data = np.array(data)


def _lava_lif_bitacc(p, n):
    import spikernn.hardware.lava_compat  # noqa: F401
    from lava.proc.lif.models import PyLifModelBitAcc

    m = PyLifModelBitAcc({})
    m.u = np.zeros(n, np.int32)
    m.v = np.zeros(n, np.int32)
    m.du, m.dv = int(p["du"]), int(p["dv"])
    m.bias_mant = np.asarray(p["bias_mant"], np.int16)
    m.bias_exp = np.asarray(p["bias_exp"], np.int16)
    m.vth = int(p["vth"])
    m.s_out = _Out()
    return m


@pytest.mark.lava
@pytest.mark.parametrize("du,dv", [(4095, 0), (4095, 1000), (300, 4095), (0, 17)])
def test_lif_fixed_bit_matches_lava_bitacc_model(du, dv):
    """Our fixed LIF step == lava.proc.lif.models.PyLifModelBitAcc.run_spk, bit for bit (B=1)."""
    n = 16
    p = {"du": du, "dv": dv, "bias_mant": RNG.integers(-4096, 4096, n), "bias_exp": RNG.integers(0, 8, n),
         "vth": 900}
    lava = _lava_lif_bitacc(p, n)
    st = init_state("lif", n, 1, p, {}, "fixed")
    for t in range(60):
        a = RNG.integers(-3000, 3000, n).astype(np.int32)
        if t % 17 == 0:
            a = RNG.integers(-2 ** 17, 2 ** 17, n).astype(np.int32)  # drive u to wrap, v to saturate
        lava.a_in = _In(a)
        lava.run_spk()
        st, out, mask = step("lif", st, {"in": a[None].astype(np.int64)}, p, {"reset": "zero"}, "fixed")
        np.testing.assert_array_equal(st.u[0], lava.u)
        np.testing.assert_array_equal(st.v[0], lava.v)
        np.testing.assert_array_equal(out[0], lava.s_out.data.astype(np.int64))


@pytest.mark.lava
def test_lif_float_bit_matches_lava_float_model():
    import spikernn.hardware.lava_compat  # noqa: F401
    from lava.proc.lif.models import PyLifModelFloat

    n = 12
    decay = RNG.uniform(0.1, 0.99, n)
    bias = RNG.normal(0, 0.3, n)
    m = PyLifModelFloat({})
    m.u, m.v = np.zeros(n), np.zeros(n)
    m.du, m.dv = 1.0, 1.0 - decay
    m.bias_mant, m.bias_exp, m.vth = bias, np.zeros(n), 0.8
    m.s_out = _Out()
    p = {"bias": bias, "decay": decay, "threshold": np.full(n, 0.8)}
    st = init_state("lif", n, 1)
    for _ in range(50):
        a = RNG.normal(0.2, 1, n)
        m.a_in = _In(a)
        m.run_spk()
        st, out, _ = step("lif", st, {"in": a[None]}, p, {"reset": "zero"})
        np.testing.assert_array_equal(st.v[0], m.v)
        np.testing.assert_array_equal(out[0], m.s_out.data.astype(float))


@pytest.mark.lava
def test_sd_rnn_relu_fixed_matches_lava_sigma_delta():
    import spikernn.hardware.lava_compat  # noqa: F401
    from lava.proc.sdn.models import PySigmaDeltaModelFixed
    from lava.proc.sdn.process import ActivationMode

    n = 10
    bias = RNG.integers(-500, 500, n)
    thr = 40
    m = PySigmaDeltaModelFixed({"act_mode": ActivationMode.RELU})
    for k in ("sigma", "act", "residue", "error"):
        setattr(m, k, np.zeros(n, np.int32))
    m.bias = bias.astype(np.int32)
    m.vth = np.full(n, thr + 1, np.int32)  # Lava sends on >=, we on >
    m.spike_exp = np.zeros(n, np.int32)
    m.state_exp = np.zeros(n, np.int32)
    m.cum_error = False
    m.s_out = _Out()
    st = init_state("sd_rnn", n, 1, {}, {}, "fixed")
    attrs = {"activation": "relu", "delta_threshold": thr, "in_frac_bits": 10}
    for _ in range(40):
        a = RNG.integers(-300, 300, n).astype(np.int32)
        m.a_in = _In(a)
        m.run_spk()
        st, out, _ = step("sd_rnn", st, {"in": a[None].astype(np.int64)}, {"bias": bias}, attrs, "fixed")
        np.testing.assert_array_equal(out[0], m.s_out.data)


@pytest.mark.parametrize("kind", ["spiking_lstm", "spiking_gru", "sd_lstm", "sd_gru", "sd_rnn", "readout"])
def test_fixed_kinds_track_float(kind):
    """Fixed-point gated/sigma-delta kinds follow the float equations to within their stated resolution."""
    F = 12
    g = {"spiking_lstm": 4, "sd_lstm": 4, "spiking_gru": 3, "sd_gru": 3}.get(kind, 1)
    pf, pq = {}, {}
    if kind in ("spiking_gru", "sd_gru"):
        for k in ("bias_in", "bias_rec"):
            pf[k] = RNG.normal(0, 0.3, g * H)
            pq[k] = np.round(pf[k] * 2 ** F).astype(np.int64)
            pf[k] = pq[k] / 2 ** F
    else:
        pf["bias"] = RNG.normal(0, 0.3, g * H)
        pq["bias"] = np.round(pf["bias"] * 2 ** F).astype(np.int64)
        pf["bias"] = pq["bias"] / 2 ** F
    if kind.startswith("spiking"):
        pf.update(decay=np.full(H, 0.75), threshold=np.full(H, 100.0))  # never spikes: compare v
        pq.update(dv=np.full(H, 1024), vth=np.full(H, 100 * 4096))
    if kind == "readout":
        pf["decay"] = np.full(H, 0.5)
        pq["dv"] = np.full(H, 2048)
    ports = ["in", "rec"] if kind in ("spiking_gru", "sd_gru") else ["in"]
    ins = [{pt: RNG.normal(0, 0.2, (B, g * H)) for pt in ports} for _ in range(T)]
    insq = [{k: np.round(v * 2 ** F).astype(np.int64) for k, v in d.items()} for d in ins]
    insf = [{k: v / 2 ** F for k, v in d.items()} for d in insq]
    attrs = {"in_frac_bits": F, **({"activation": "tanh"} if kind == "sd_rnn" else {})}
    _, _, sf = run(kind, insf, pf, attrs, "float")
    _, _, sq = run(kind, insq, pq, attrs, "fixed")
    key = {"spiking_lstm": "v", "spiking_gru": "v", "readout": "y"}.get(kind, "sent")
    scale = 2 ** F if kind == "readout" else 4096
    err = max(np.abs(getattr(a, key) / scale - getattr(b, key)).max() for a, b in zip(sq, sf))
    assert err < 0.01, err


@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("disc", ["ef", "se"])
def test_adlif_float_matches_the_core_step(reset, disc):
    """The ``adlif`` kind's float reference step == the core's torch ``adlif_step`` (float64), state included."""
    from spikernn.functional import SomaState, adlif_step

    n, steps = 7, 120
    rng = np.random.default_rng(5)
    p = {"alpha": rng.uniform(0.8, 0.96, n), "beta": rng.uniform(0.96, 0.99, n), "a": rng.uniform(-1, 1, n),
         "b": rng.uniform(0, 2, n), "threshold": rng.uniform(0.05, 0.3, n), "bias": rng.normal(0, 0.1, n)}
    k = KINDS["adlif"]
    prep = k.prepare(p, {"reset": reset, "discretisation": disc}, "float", n)
    st = k.init_state(prep, B)
    tv = {key: torch.tensor(v) for key, v in p.items()}
    zero = torch.zeros(B, n, dtype=torch.float64)
    ts, s_prev = SomaState(zero, zero), zero
    total = 0
    for _ in range(steps):
        a_in = rng.normal(0.4, 2.0, (B, n))
        st, out, m = k.step(st, {"in": a_in}, prep)
        s, ts = adlif_step(torch.tensor(a_in) + tv["bias"], s_prev, ts, tv["alpha"], tv["beta"], tv["a"], tv["b"],
                           tv["threshold"], reset, disc)
        s_prev = s
        np.testing.assert_array_equal(out, s.numpy())
        np.testing.assert_allclose(st.v, ts.v.numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose(st.w, ts.a.numpy(), rtol=0, atol=1e-12)
        total += int(m.sum())
    assert 0 < total < steps * B * n


@pytest.mark.parametrize("cell,kind", [("lstm", "adlif_lstm"), ("gru", "adlif_gru")])
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("disc", ["ef", "se"])
def test_adlif_gated_float_matches_the_core_cell(cell, kind, reset, disc):
    """The ``adlif_lstm``/``adlif_gru`` kinds' float reference step == the core's torch ``cell_step`` with the
    adLIF soma (float64): spikes identical, membrane, adaptation current and cell state to 1e-12."""
    from spikernn.functional import AdLIFParams, cell_step, zero_state

    n, steps = 5, 120
    G = {"lstm": 4, "gru": 3}[cell]
    rng = np.random.default_rng(7)
    p = {"alpha": rng.uniform(0.8, 0.96, n), "beta": rng.uniform(0.96, 0.99, n), "a": rng.uniform(-1, 1, n),
         "b": rng.uniform(0, 2, n), "threshold": rng.uniform(0.02, 0.1, n)}
    w_hh, b_hh = rng.normal(0, 0.5, (G * n, n)), rng.normal(0, 0.3, G * n)
    k = KINDS[kind]
    bias = {"bias": b_hh} if cell == "lstm" else {"bias_rec": b_hh}
    prep = k.prepare({**p, **bias}, {"reset": reset, "discretisation": disc}, "float", n)
    st = k.init_state(prep, B)
    tv = {key: torch.tensor(v) for key, v in p.items()}
    soma = AdLIFParams(tv["alpha"], tv["beta"], tv["a"], tv["b"], tv["threshold"], reset, disc)
    ts = zero_state(cell, (B,), n, dtype=torch.float64)
    total = 0
    for _ in range(steps):
        x_proj = rng.normal(0.3, 1.5, (B, G * n))
        s_prev = ts.s.numpy()
        ins = {"in": x_proj + s_prev @ w_hh.T} if cell == "lstm" else {"in": x_proj, "rec": s_prev @ w_hh.T}
        st, out, m = k.step(st, ins, prep)
        s, ts = cell_step(cell, torch.tensor(x_proj), ts, torch.tensor(w_hh), torch.tensor(b_hh), soma)
        np.testing.assert_array_equal(out, s.numpy())
        for field, ref in (("v", ts.v), ("w", ts.a), ("c" if cell == "lstm" else "h", ts[3])):
            np.testing.assert_allclose(getattr(st, field), ref.numpy(), rtol=0, atol=1e-12)
        total += int(m.sum())
    assert 0.02 * steps * B * n < total < 0.9 * steps * B * n


@pytest.mark.parametrize("disc", ["ef", "se"])
def test_adlif_fixed_tracks_float(disc):
    """Fixed point follows the float adLIF within its resolution (F = 12; a threshold it never reaches)."""
    n, F = 6, 12
    rng = np.random.default_rng(6)
    pf = {"alpha": rng.uniform(0.8, 0.96, n), "beta": rng.uniform(0.96, 0.99, n), "a": rng.uniform(-1, 1, n),
          "b": rng.uniform(0, 2, n), "threshold": np.full(n, 50.0), "bias": rng.normal(0, 0.1, n)}
    k = KINDS["adlif"]
    pq = k.quantize_params(k.resolve(pf, {}, "float", n)[0], n, F, {})
    pf = k.dequantize_params(pq, n, F)  # the float network with exactly the fixed parameters
    attrs = {"discretisation": disc, "in_frac_bits": F}
    prep_f, prep_q = k.prepare(pf, attrs, "float", n), k.prepare(pq, attrs, "fixed", n)
    sf, sq = k.init_state(prep_f, B), k.init_state(prep_q, B)
    err = 0.0
    for _ in range(100):
        aq = np.round(rng.normal(0.3, 1.0, (B, n)) * 2 ** F).astype(np.int64)
        sf, _, _ = k.step(sf, {"in": aq / 2 ** F}, prep_f)
        sq, _, _ = k.step(sq, {"in": aq}, prep_q)
        err = max(err, np.abs(sq.v / 2 ** F - sf.v).max(), np.abs(sq.w / 2 ** F - sf.w).max())
    assert 0 < err < 0.01, err


def test_the_docs_table_is_written_from_the_kinds():
    from pathlib import Path

    from spikernn.hardware.kinds import markdown

    doc = Path(__file__).resolve().parents[1] / "docs" / "hardware_kinds.md"
    assert doc.read_text() == markdown(), "regenerate: python -m spikernn.hardware.kinds > docs/hardware_kinds.md"
