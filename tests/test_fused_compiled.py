"""The numba kernels of the fused training path (spikernn._fused_kernels; the LSTM and the GRU with a LIF or an
adLIF soma): the same spikes and, to float32 tolerance, the same states and gradients as the torch loop of
spikernn.fused, and the torch loop wherever the kernels do not apply."""
import numpy as np
import pytest
import torch

import spikernn as snr
from spikernn import fused

pytest.importorskip("numba")


@pytest.fixture
def calls(monkeypatch):
    """Counts the compiled forward passes (LSTM, GRU and RNN)."""
    n = {"compiled": 0}
    for name in ("_lstm_forward_compiled", "_gru_forward_compiled", "_rnn_forward_compiled"):
        orig = getattr(fused, name)

        def spy(*a, _orig=orig, **k):
            n["compiled"] += 1
            return _orig(*a, **k)

        monkeypatch.setattr(fused, name, spy)
    return n


def _run(m, x, h0):
    m.zero_grad()
    xx = x.clone().requires_grad_(True)
    hh = [h.clone().requires_grad_(True) for h in h0]
    out, state = m(xx, tuple(hh))
    w = torch.linspace(0.5, 1.5, out.numel()).view_as(out)
    # the V and C outputs (state) carry gradients too: both optional inputs of the backward kernel are exercised
    loss = (out * w).sum() + sum((f * f).sum() for f in state[1:])
    loss.backward()
    grads = {n: p.grad.clone() for n, p in m.named_parameters()}
    grads["x"] = xx.grad
    grads.update({f"h0[{i}]": h.grad for i, h in enumerate(hh) if h.grad is not None})
    return out.detach(), [f.detach() for f in state], grads


def _close(a, b, tol=2e-5):
    scale = b.abs().max().clamp(min=1e-6)
    return float((a - b).abs().max() / scale) < tol


SOMAS = {"lif": dict(neuron="lif", threshold=0.15, decay=0.6), "adlif_se": dict(neuron="adlif", threshold=0.1),
         "adlif_ef": dict(neuron="adlif", threshold=0.1, discretisation="ef")}


@pytest.mark.parametrize("cls", [snr.SpikingLSTM, snr.SpikingGRU, snr.SpikingRNN])
@pytest.mark.parametrize("soma", sorted(SOMAS))
@pytest.mark.parametrize("reset", ["subtract", "zero", "none"])
@pytest.mark.parametrize("T", [1, 17])
def test_compiled_equals_torch_loop(cls, soma, reset, T, calls, monkeypatch):
    """Forward: the same spikes bit for bit, states to float32 rounding; backward: every gradient (weights, the
    soma's per-neuron tensors, the input and all four initial states), the V and C outputs' gradients
    included."""
    torch.manual_seed(3)
    m = cls(5, 24, num_layers=2, bidirectional=True, learn_threshold=True, reset=reset, **SOMAS[soma])
    x = torch.randn(T, 3, 5)
    h0 = [torch.rand_like(h) * 0.5 for h in m.initial_state(3)]
    o1, s1, g1 = _run(m, x, h0)
    assert calls["compiled"] == 4  # 2 layers x 2 directions
    monkeypatch.setenv("SPIKERNN_KERNELS", "numpy")
    o2, s2, g2 = _run(m, x, h0)
    assert calls["compiled"] == 4, "SPIKERNN_KERNELS=numpy must select the torch loop"
    assert o1.sum() > 0
    assert torch.equal(o1, o2)
    for a, b in zip(s1, s2):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert set(g1) == set(g2) and ("h0[3]" in g1 or cls is snr.SpikingRNN) and "h0[2]" in g1
    if soma != "lif":
        assert {"alpha_l0", "beta_l1", "a_l0_reverse", "b_l1_reverse", "threshold_l0"} <= set(g1)
    for n in g1:
        assert g2[n].abs().max() > 0, n  # every gradient is exercised
        assert _close(g1[n], g2[n]), n


@pytest.mark.parametrize("cls", [snr.SpikingLSTM, snr.SpikingGRU, snr.SpikingRNN])
@pytest.mark.parametrize("neuron", ["lif", "adlif"])
def test_compiled_equals_step_path(cls, neuron, calls):
    """The compiled fused path against the step functions (the reference of both fused paths)."""
    torch.manual_seed(4)
    m = cls(6, 16, threshold=0.2 if neuron == "lif" else 0.1, neuron=neuron)
    x = torch.randn(30, 4, 6)
    h0 = m.initial_state(4)
    o1, _, g1 = _run(m, x, h0)
    assert calls["compiled"] == 1
    m.fused = False
    o2, _, g2 = _run(m, x, h0)
    assert torch.equal(o1, o2)
    for n in g1:
        assert _close(g1[n], g2[n]), n


@pytest.mark.parametrize("case", ["float64", "rnn_float64", "adaptive", "gru_adaptive", "rnn_adaptive", "delta",
                                  "rnn_delta", "no_kernels"])
def test_torch_loop_where_the_kernels_do_not_apply(case, calls, monkeypatch):
    torch.manual_seed(5)
    cls = snr.SpikingRNN if case.startswith("rnn") else snr.SpikingGRU if case.startswith("gru") else snr.SpikingLSTM
    adaptive = {"neuron": "lif", "adapt_scale": 0.3, "adapt_decay": 0.8}
    opts = {"adaptive": adaptive, "gru_adaptive": adaptive, "rnn_adaptive": adaptive, "delta": {"neuron": "delta"},
            "rnn_delta": {"neuron": "delta"}}.get(case, {"threshold": 0.2})
    m = cls(4, 8, **opts)
    x = torch.randn(6, 2, 4)
    if case.endswith("float64"):
        m, x = m.double(), x.double()
    if case == "no_kernels":  # numba missing or failing to load
        monkeypatch.setitem(fused._KERNELS, "module", None)
        monkeypatch.setitem(fused._KERNELS, "error", "ImportError: No module named 'numba'")
        assert fused.compiled_kernels() is None
    out, _ = m(x)
    out.sum().backward()
    assert calls["compiled"] == 0


def test_uses_compiled():
    spec = fused.SomaSpec("lif", "subtract")
    f32, f64 = torch.zeros(2), torch.zeros(2, dtype=torch.float64)
    assert fused.uses_compiled("lstm", spec, f32, None)
    assert not fused.uses_compiled("lstm", spec, f32, f64)
    assert fused.uses_compiled("gru", spec, f32)
    assert fused.uses_compiled("rnn", spec, f32)
    assert not fused.uses_compiled("rnn", spec, f64)
    for kind in ("lstm", "gru", "rnn"):
        assert not fused.uses_compiled(kind, fused.SomaSpec("lif", "subtract", adaptive=True), f32)
        assert fused.uses_compiled(kind, fused.SomaSpec("adlif", "zero", discretisation="se"), f32)
        assert not fused.uses_compiled(kind, fused.SomaSpec("adlif", "zero"), f64)
        assert not fused.uses_compiled(kind, fused.SomaSpec("delta", "none"), f32)


def test_sigmoid_kernel_close_to_torch():
    K = fused.compiled_kernels()
    x = np.concatenate([np.linspace(-30, 30, 200001, dtype=np.float32),
                        np.array([-1e30, -200, -88, -87, 0.0, -0.0, 87, 88, 200, 1e30], dtype=np.float32)])
    out = np.empty_like(x)
    K.vsigmoid(x, out)
    ref = torch.sigmoid(torch.from_numpy(x)).numpy()
    inner = np.abs(x) <= 30
    assert np.max(np.abs(out - ref)[inner] / np.spacing(ref[inner])) <= 4
    assert np.all((out >= 0) & (out <= 1)) and np.all(np.diff(out[:200001]) >= 0)  # monotone on the grid
    assert np.max(np.abs(out - ref)) <= 4 * np.spacing(np.float32(0.5))  # the tails: 0 and 1 within 4 ulp of 1/2


def test_onednn_choice_is_measured_once_per_thread_count(monkeypatch):
    monkeypatch.delenv("SPIKERNN_GEMM", raising=False)
    a = fused._onednn_faster()
    assert isinstance(a, bool) and fused._ONEDNN["faster"][torch.get_num_threads()] is a
    assert fused._onednn_faster() is a


def test_gemm_choice_pinned_by_the_environment(monkeypatch):
    monkeypatch.setattr(fused, "_ONEDNN", {"ok": None, "faster": {}})
    monkeypatch.setenv("SPIKERNN_GEMM", "default")
    assert fused._onednn_faster() is False and fused._ONEDNN["faster"] == {}  # nothing measured
    monkeypatch.setenv("SPIKERNN_GEMM", " OneDNN ")
    assert fused._onednn_faster() is fused._onednn_available()
    monkeypatch.setenv("SPIKERNN_GEMM", "mkl")
    with pytest.raises(ValueError, match="SPIKERNN_GEMM='mkl'.*auto, default, onednn"):
        fused._onednn_faster()


@pytest.mark.parametrize("cls", [snr.SpikingLSTM, snr.SpikingGRU, snr.SpikingRNN])
def test_batch_halves_on_two_threads_equal_halves_in_turn(cls, monkeypatch):
    """The compiled loops run a batch of >= SPLIT_MIN_BATCH as two halves (fused._split_batch), at once on two
    threads with >= 2 torch threads: the same values and gradients as the halves in turn (SPLIT_PARALLEL False)
    and as 1 torch thread, to float32 rounding (MKL on AVX2 rounds a small GEMM differently on another thread or
    with another thread count, so bits may differ by an ulp; spikes may flip only where v sits at θ)."""
    torch.manual_seed(6)
    m = cls(5, 16, threshold=0.15)
    x = torch.randn(12, 20, 5)
    h0 = [torch.rand_like(h) * 0.5 for h in m.initial_state(20)]
    threads = torch.get_num_threads()
    calls = {"threaded": 0, "ran": []}
    orig = fused._split_batch

    def spy(run, B):
        if B != 20:  # the weight gradient's rows (T*B), fused._spike_weight_grad
            return orig(run, B)
        calls["threaded"] += torch.get_num_threads() >= 2 and B >= fused.SPLIT_MIN_BATCH and fused.SPLIT_PARALLEL

        def logged(b0, b1):
            calls["ran"].append((b0, b1))
            run(b0, b1)

        return orig(logged, B)

    monkeypatch.setattr(fused, "_split_batch", spy)
    try:
        torch.set_num_threads(2)
        o1, s1, g1 = _run(m, x, h0)
        assert calls["threaded"] == 3  # forward, backward and the adLIF parameter sums
        monkeypatch.setattr(fused, "SPLIT_PARALLEL", False)
        o2, s2, g2 = _run(m, x, h0)
        torch.set_num_threads(1)
        o4, s4, g4 = _run(m, x, h0)
        monkeypatch.setattr(fused, "SPLIT_PARALLEL", True)
    finally:
        torch.set_num_threads(threads)
    assert sorted(set(calls["ran"])) == [(0, 10), (10, 20)]  # the same halves every time
    for o, st, g in ((o2, s2, g2), (o4, s4, g4)):
        assert (o1 != o).float().mean() <= 1e-3
        assert all(torch.allclose(a, b, rtol=1e-4, atol=1e-5) for a, b in zip(s1, st))
        assert all(torch.allclose(g1[n], g[n], rtol=1e-3, atol=1e-5) for n in g1)
    try:
        torch.set_num_threads(2)
        with torch.inference_mode():  # thread-local like grad mode: the worker thread runs in it too
            o3 = m(x, tuple(h0))[0]
    finally:
        torch.set_num_threads(threads)
    assert calls["threaded"] == 4 and (o3 != o1).float().mean() <= 1e-3


def test_batch_halves_pool_is_remade_in_a_forked_child(monkeypatch):
    """A forked child (DataLoader workers, multiprocessing) has the parent's pool object but not its thread: the
    pool is made again when the process id changed (a stale one would never run the other half)."""
    ran = []
    stale = object()
    monkeypatch.setattr(fused, "SPLIT_OPENMP", False)  # the Python worker thread (torch's OpenMP team: below)
    monkeypatch.setitem(fused._POOL, "pool", stale)
    monkeypatch.setitem(fused._POOL, "pid", -1)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    fused._split_batch(lambda b0, b1: ran.append((b0, b1)), 16)
    assert fused._POOL["pool"] is not stale and sorted(ran) == [(0, 8), (8, 16)]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("density", [0.0, 0.01, 0.1, 0.5])
def test_spike_weight_grad_equals_the_gemm(threads, density):
    """W_hh's gradient summed over the spikes (sparse s, fused._spike_weight_grad, rows in two halves on two
    threads) or by the GEMM (dense s): G.T @ S to float32 rounding, graded values of s (a given s_0) weighted."""
    g = torch.Generator().manual_seed(7)
    G = torch.randn(300, 48, generator=g)
    S = (torch.rand(300, 16, generator=g) < density).float()
    S[0, :3] = torch.tensor([0.25, -1.5, 2.0])  # graded, as a given s_0
    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        out = fused._spike_weight_grad(G, S)
    finally:
        torch.set_num_threads(prev)
    assert out.shape == (48, 16)
    torch.testing.assert_close(out, G.t() @ S, rtol=1e-5, atol=1e-5)


def test_batch_halves_use_one_blas_thread_each(monkeypatch):
    """With >= 2 torch threads each batch half runs its GEMMs on its own thread only (MKL's thread-local count,
    fused._mkl_local_threads: two teams of 2 on 2 cores would spin at every barrier); afterwards MKL has the
    thread count it had before (torch's, capped by MKL_NUM_THREADS where that is set)."""
    if fused._mkl_local_threads() is None:
        pytest.skip("torch without MKL_Set_Num_Threads_Local")
    import ctypes
    import os

    get = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so")).MKL_Get_Max_Threads
    seen = []
    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        before = get()  # 2, or what MKL_NUM_THREADS caps it at
        fused._split_batch(lambda b0, b1: seen.append((b0, b1, get())), 20)
        assert sorted(seen) == [(0, 10, 1), (10, 20, 1)]
        assert get() == before
    finally:
        torch.set_num_threads(prev)


@pytest.mark.parametrize("cls", [snr.SpikingLSTM, snr.SpikingGRU, snr.SpikingRNN])
@pytest.mark.parametrize("soma", sorted(SOMAS))
@pytest.mark.parametrize("threads", [1, 2])
def test_bptt_in_one_kernel_call_equals_the_python_step_loop(cls, soma, threads, monkeypatch):
    """Where torch's MKL sgemm is callable from the kernels (_fused_kernels.HAVE_SGEMM) the BPTT of a batch half is
    one kernel call (*_backward_seq: the step GEMM is the sgemm call torch.addmm makes): bit for bit the gradients of
    the Python loop of one torch.addmm and one backward-step kernel per step, at 1 and 2 threads (batch halves)."""
    K = fused.compiled_kernels()
    if not K.HAVE_SGEMM:
        pytest.skip("torch without an MKL sgemm_ export")
    torch.manual_seed(11)
    m = cls(6, 24, **SOMAS[soma])
    x = torch.randn(15, 18, 6)
    h0 = [torch.rand_like(h) * 0.5 for h in m.initial_state(18)]
    prev = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        o1, s1, g1 = _run(m, x, h0)
        monkeypatch.setattr(K, "HAVE_SGEMM", False)
        o2, s2, g2 = _run(m, x, h0)
    finally:
        torch.set_num_threads(prev)
    assert torch.equal(o1, o2) and all(torch.equal(a, b) for a, b in zip(s1, s2))
    assert all(torch.equal(g1[n], g2[n]) for n in g1), [n for n in g1 if not torch.equal(g1[n], g2[n])]


def test_batch_halves_run_on_torchs_openmp_team(monkeypatch):
    """Where torch's libgomp is callable (fused._gomp_parallel) the two halves run in one OpenMP region of torch's own
    team: the calling thread and torch's worker, no Python thread of ours (libgomp's worker spins after torch's ops
    and would share the cores with it); an exception in a half reaches the caller; in a forked child (another pid)
    the Python worker thread runs instead."""
    import threading

    if fused._gomp_parallel() is None:
        pytest.skip("torch without its own libgomp")
    prev = torch.get_num_threads()
    seen = []
    try:
        torch.set_num_threads(2)
        fused._split_batch(lambda b0, b1: seen.append((b0, b1, threading.get_ident())), 20)
        assert sorted(r[:2] for r in seen) == [(0, 10), (10, 20)]
        assert fused._POOL["pool"] is None or all(
            r[2] not in {t.ident for t in threading.enumerate() if t.name.startswith("spikernn-fused")} for r in seen)

        def boom(b0, b1):
            if b0:
                raise RuntimeError("half failed")

        with pytest.raises(RuntimeError, match="half failed"):
            fused._split_batch(boom, 20)
        monkeypatch.setitem(fused._GOMP, "pid", -1)
        assert fused._gomp_parallel() is None
        seen.clear()
        fused._split_batch(lambda b0, b1: seen.append((b0, b1)), 20)
        assert sorted(seen) == [(0, 10), (10, 20)]
    finally:
        torch.set_num_threads(prev)
