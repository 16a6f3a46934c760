"""Fused whole-sequence spiking RNN/LSTM/GRU: one autograd node per layer and direction.

The forward pass loops over time without building a graph, keeping what the backward needs; the backward is
hand-written BPTT with the surrogate derivative of the spike. It computes exactly the equations of
``docs/equations.md`` (and the step functions of :mod:`spikernn.functional`; tests check that values and
gradients agree). Why: an autograd graph of ~15 small nodes per time step costs more than the arithmetic.

Inputs (``T`` time steps, ``B`` batch, ``H`` hidden, ``G`` gates):
    x_proj (T,B,G*H) = W_ih x_t + b_ih (+ b_hh for RNN/LSTM, whose b_hh just adds), weight_hh (G*H,H),
    bias_hh (G*H,) for GRU only (it is gated by r), the soma's per-neuron tensors (H,) (LIF: decay, threshold,
    adapt_decay, adapt_scale; adLIF: alpha, beta, a, b, threshold), initial state s0, v0, a0, c0 (c for LSTM,
    h for GRU, ignored for RNN), each (B,H).
Outputs: the sequences S, V, A, C (T,B,H): spikes, membrane after reset, adaptation (LIF threshold trace or
adLIF current w), analog state. The drive loops (one per cell kind) hand each step's drive to a soma object
(:class:`_LIFSoma`, :class:`_AdLIFSoma`), whose backward twin turns dL/ds_t into dL/dd_t. The reset is the core's
one rule, :func:`spikernn.functional.reset_membrane` (written into the sequence buffers), and the backward
uses its partial derivatives, :func:`spikernn.functional.reset_partials`.

Speed notes (CPU, float32; measured by ``benchmarks/bench_speed_cells.py``). The LSTM, the GRU and the RNN with a
non-adaptive LIF or an adLIF soma (the defaults) run each step as one torch GEMM (the LSTM: and one torch sigmoid of
the four gates) and one numba kernel for the rest of the step (cell update, membrane, spike, reset, adaptation;
:mod:`spikernn._fused_kernels`), and their BPTT as one GEMM and one kernel per step, where the torch loop takes
~12-20 small ops per step each way (each ~2 µs of dispatch on a 4096-element tensor, and as many passes over
memory). The forward runs all T steps of a batch half in one kernel call, W_hh s summed over the spikes (no step
GEMM); so does the backward where torch's MKL is callable from the kernels (each step's GEMM the ``sgemm_`` call
of ``torch.addmm``, bit for bit; :func:`_bptt_compiled`), and W_hh's gradient is summed over the spikes where they
are sparse (:func:`_spike_weight_grad`). Batches of 16 or more run as two halves, at once on two threads when torch
has >= 2 (:func:`_split_batch`: in one region of torch's own OpenMP team; each half's GEMMs on one MKL thread),
equal to running them in turn to float32 rounding. glibc's malloc is told to keep the big buffers in its heap
(:func:`_tune_malloc`: no page faults per call). Same saved tensors, same equations; the kernels' float32 rounding
differs (tests/test_fused_compiled.py checks values and gradients against the torch loop and the step functions).
The kernels are used when numba is importable and not switched off by ``SPIKERNN_KERNELS=numpy``
(:func:`compiled_kernels`, :func:`uses_compiled`); everything else (adaptive LIF, sigma-delta, other devices
and dtypes, no numba) runs the torch loop. The RNN's kernels (AMD EPYC, AVX-512, 2 shared cores, load ~15, 1 thread,
CPU time, torch loop -> kernels): adLIF RNN/nn.RNN 1.48-1.58 -> 0.77-0.78, LIF RNN/nn.RNN 1.00 -> 0.86-0.87
(benchmarks/results/round8/speed_cells_f14train.md). They compile on first use (3.4 s, 2 shared cores) and
load from numba's disk cache afterwards (0.8 s for the first fwd+bwd of a process, against 0.12 s for the torch
loop). Measured on one Xeon (AVX-512, 2 shared cores, load 5-7), ``--quick``, the torch loop with oneDNN GEMMs
(before) and the LIF LSTM kernels in alternating runs, medians of 3 at 1 thread (CPU time): SpikingLSTM/nn.LSTM
2.20 -> 1.59, SpikingGRU/nn.GRU 1.33 -> 1.15, SpikingRNN/nn.RNN 1.74 -> 1.01, adLIF RNN/nn.RNN 2.61 -> 1.94; at 2
threads (wall time, 2 runs each, which the load distorts: nn.LSTM itself took 56-458 ms) SpikingLSTM/nn.LSTM 1.74,
4.09 -> 1.82, 1.51. The adLIF LSTM and the GRU kernels (AMD EPYC, AVX2, 2 shared cores, load 5-6, 1 thread, CPU
time, torch loop -> kernels): adLIF LSTM/nn.LSTM 1.66 -> 1.26-1.32, LIF GRU/nn.GRU 1.03 -> 0.63-0.71, adLIF
GRU/nn.GRU 1.25 -> 0.72.

The GEMMs are torch's default (MKL on x86 builds; the step GEMMs with the weight transposed once into a
contiguous copy) unless oneDNN's measures faster on this CPU at the first use (:func:`_onednn_faster`, by a margin
of :data:`ONEDNN_MARGIN`): on the Xeon above MKL was ~1.8x faster than oneDNN for the step GEMMs and 1.2-1.3x for
the big weight-gradient and input GEMMs; on an earlier machine oneDNN was ~1.5x faster than the default BLAS.
Then the recurrent weight is packed once per sequence and the big weight-gradient GEMMs read the gate gradient as
a transposed weight, no transposed copy. ``tanh`` is evaluated as ``2 σ(2x) − 1`` (the LSTM takes its g rows
doubled so one sigmoid covers all four gates, and its torch loop runs on ``n = −c`` so that cell update and drive
take 5 ops per step), the surrogate derivative has a closed form for snntorch's named surrogates. Every one of
these falls back to plain torch ops when unavailable (other devices, dtypes or builds).
"""
from __future__ import annotations

import os
import time
import warnings
from functools import cached_property
from typing import Callable, NamedTuple, Optional

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from spikernn._numba import kernels_disabled
from spikernn.functional import (RESETS, AdLIFParams, DeltaParams, SomaParams, Surrogate, reset_membrane,
                                 reset_partials)


def surrogate_derivative(surrogate: Surrogate, x: Tensor) -> Tensor:
    """Elementwise derivative of an (elementwise) snntorch surrogate at ``x``, for all of ``x`` in one call."""
    with torch.enable_grad():
        xi = x.detach().requires_grad_(True)
        y = surrogate(xi)
        (g,) = torch.autograd.grad(y, xi, torch.ones_like(y))
    return g


_ONEDNN: dict = {"ok": None, "faster": {}}


def _onednn_available() -> bool:
    if _ONEDNN["ok"] is None:
        try:
            w = torch.ops.mkldnn._reorder_linear_weight(torch.ones(2, 2), 1)
            y = torch.ops.mkldnn._linear_pointwise(torch.ones(1, 2), w, None, "none", [], "")
            _ONEDNN["ok"] = bool(torch.allclose(y, torch.full((1, 2), 2.0)))
        except Exception:  # noqa: BLE001 - any failure means: not usable in this build
            _ONEDNN["ok"] = False
    return _ONEDNN["ok"]


ONEDNN_MARGIN = 1.2  # oneDNN is used only where it is at least this much faster than torch's default GEMM


GEMM_CHOICES = ("auto", "default", "onednn")


def gemm_choice() -> str:
    """``SPIKERNN_GEMM`` from the environment: ``auto`` (default: measured, :func:`_onednn_faster`), ``default``
    (torch's own GEMM always) or ``onednn`` (oneDNN wherever this build has it). The two GEMMs round float32
    differently, so a measured choice that flips between processes (a loaded machine) changes the trained bits;
    pin it for runs that must repeat bit for bit."""
    choice = os.environ.get("SPIKERNN_GEMM", "auto").strip().lower() or "auto"
    if choice not in GEMM_CHOICES:
        raise ValueError(f"SPIKERNN_GEMM={choice!r}: expected one of {', '.join(GEMM_CHOICES)}")
    return choice


def _onednn_faster() -> bool:
    """Whether oneDNN's GEMM beats torch's default BLAS on this CPU, measured once per process and thread count
    on the step GEMM of the benchmark (32x128 @ 128x512, ~5 ms): on one Xeon (AVX-512, MKL) MKL was ~1.8x
    faster than oneDNN; on an earlier machine oneDNN was ~1.5x faster than the default BLAS. oneDNN is chosen
    only when it wins by :data:`ONEDNN_MARGIN`, so that a close call keeps the default (the two round
    differently). ``SPIKERNN_GEMM=default`` / ``onednn`` (:func:`gemm_choice`) replaces the measurement."""
    choice = gemm_choice()
    if choice != "auto":
        return choice == "onednn" and _onednn_available()
    threads = torch.get_num_threads()
    if threads not in _ONEDNN["faster"]:
        faster = False
        if _onednn_available():
            g = torch.Generator().manual_seed(0)
            w, x, add = (torch.randn(*shape, generator=g) for shape in ((512, 128), (32, 128), (32, 512)))
            wt, out = w.t().contiguous(), torch.empty(32, 512)
            packed = torch.ops.mkldnn._reorder_linear_weight(w, 32)

            def default() -> None:
                torch.addmm(add, x, wt, out=out)

            def onednn() -> None:
                torch.add(torch.ops.mkldnn._linear_pointwise(x, packed, None, "none", [], ""), add, out=out)

            best = {}
            for fn in (default, onednn, default, onednn):
                fn()
                t0 = time.perf_counter()
                for _ in range(20):
                    fn()
                best[fn] = min(best.get(fn, float("inf")), time.perf_counter() - t0)
            faster = best[onednn] * ONEDNN_MARGIN < best[default]
        _ONEDNN["faster"][threads] = faster
    return _ONEDNN["faster"][threads]


class _Matmul:
    """``add + x @ weight.T`` for a fixed weight and batch size, called once per time step.

    On CPU float32 where oneDNN's GEMM is faster (:func:`_onednn_faster`) the weight is pre-packed once for it;
    otherwise ``torch.addmm`` with the transposed weight made contiguous once. Same result up to float
    rounding."""

    def __init__(self, weight: Tensor, batch: int) -> None:
        self.packed = None
        if _use_onednn(weight):
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), batch)
        else:
            self.weight_t = weight.t().contiguous()

    def __call__(self, x: Tensor, add: Tensor, out: Optional[Tensor] = None) -> Tensor:
        """``add + x @ weight.T`` (in ``out`` if given, else a new tensor)."""
        if self.packed is not None:
            y = torch.ops.mkldnn._linear_pointwise(x, self.packed, None, "none", [], "")
            return y.add_(add) if out is None else torch.add(y, add, out=out)
        return torch.addmm(add, x, self.weight_t, out=out)


def _use_onednn(t: Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype == torch.float32 and _onednn_available() and _onednn_faster()


def _mm_tn(a: Tensor, b: Tensor) -> Tensor:
    """``a.T @ b`` for tall a (N,M), b (N,K) (weight gradients summed over steps and batch): oneDNN on CPU
    float32 where it is faster (:func:`_onednn_faster`), else torch.mm. oneDNN takes ``a`` as a transposed
    (strided) weight, so only the narrower ``b`` is copied."""
    if _use_onednn(a) and a.stride(-1) == 1:
        return torch.ops.mkldnn._linear_pointwise(b.t().contiguous(), a.t(), None, "none", [], "").t().contiguous()
    return a.t() @ b


class _Linear(torch.autograd.Function):
    """``x @ w.T + b`` for 2-D ``x`` with oneDNN GEMMs in forward and backward (CPU float32)."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.has_b = b is not None
        return torch.ops.mkldnn._linear_pointwise(x.contiguous(), w.contiguous(), b, "none", [], "")

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gx = gw = None
        if ctx.needs_input_grad[0]:
            gx = torch.ops.mkldnn._linear_pointwise(g.contiguous(), w.t().contiguous(), None, "none", [], "")
        if ctx.needs_input_grad[1]:
            gw = _mm_tn(g, x)
        gb = g.sum(0) if ctx.has_b and ctx.needs_input_grad[2] else None
        return gx, gw, gb


def linear(x: Tensor, weight: Tensor, bias: Optional[Tensor]) -> Tensor:
    """``x @ weight.T + bias`` for 2-D ``x``; oneDNN GEMMs on CPU float32 where they are faster
    (:func:`_onednn_faster`), else torch's."""
    if _use_onednn(x) and _use_onednn(weight):
        return _Linear.apply(x, weight, bias)
    return torch.nn.functional.linear(x, weight, bias)


def lstm_gate_scale(hidden_size: int, dtype=None, device=None) -> Tensor:
    """(4H,) factors [1, 1, 2, 1] per gate block (i, f, g, o): the fused LSTM takes the g rows of ``x_proj``
    and ``weight_hh`` doubled, so one sigmoid gives all gates (``tanh(g) = 2 σ(2g) − 1``)."""
    s = torch.ones(4 * hidden_size, dtype=dtype, device=device)
    s[2 * hidden_size : 3 * hidden_size] = 2.0
    return s


class SomaSpec(NamedTuple):
    """The non-tensor description of a soma for the fused path: ``neuron`` ("lif"/"adlif"/"delta"), ``reset``,
    ``adaptive`` (LIF adaptive threshold), ``discretisation`` (adLIF "ef"/"se") and, for the sigma-delta soma,
    its event ``threshold``, ``activation`` and ``straight_through`` (its gradient)."""

    neuron: str
    reset: str
    adaptive: bool = False
    discretisation: str = "ef"
    threshold: float = 0.0
    activation: str = "identity"
    straight_through: bool = False


class _LIFSoma:
    """Forward of the LIF soma over a sequence (reference: :func:`spikernn.functional.soma_step`).

    Keeps the (T+1,B,H) buffers S, V, A (entry 0: the initial state) and U (T,B,H, the membrane before reset).
    ``step(t, d, scratch)`` takes the drive ``d`` of step t (``scratch``: ``d`` is ``U[t]`` and may be
    overwritten) and returns the spikes ``s_t``."""

    def __init__(self, spec: SomaSpec, params: tuple, T: int, B: int, H: int, opts: dict,
                 s0: Tensor, v0: Tensor, a0: Tensor) -> None:
        self.beta, self.theta, self.rho, self.ba = params
        self.reset, self.adaptive = spec.reset, spec.adaptive
        self.S, self.V, self.U = (torch.empty(n, B, H, **opts) for n in (T + 1, T + 1, T))
        self.S[0], self.V[0] = s0, v0
        self.A = torch.empty(T + 1, B, H, **opts) if self.adaptive else None
        if self.adaptive:
            self.A[0] = a0
        self.a0 = a0
        self.s, self.v, self.a = s0, v0, a0

    # per-step views of the buffers, made in bulk on the first use (only the torch loop steps through them; the
    # numba kernels write the whole buffers: ~1 us per view, ~0.5 ms per sequence saved there)
    Ss = cached_property(lambda self: self.S.unbind(0))
    Vs = cached_property(lambda self: self.V.unbind(0))
    Us = cached_property(lambda self: self.U.unbind(0))
    As = cached_property(lambda self: self.A.unbind(0) if self.adaptive else None)

    def step(self, t: int, d: Tensor, scratch: bool) -> Tensor:
        u = d.addcmul_(self.beta, self.v) if scratch else torch.addcmul(d, self.beta, self.v, out=self.Us[t])
        th = torch.addcmul(self.theta, self.ba, self.a) if self.adaptive else self.theta
        s = self.s = torch.gt(u, th, out=self.Ss[t + 1])
        self.v = reset_membrane(u, s, th, self.reset, out=self.Vs[t + 1])
        if self.adaptive:
            self.a = torch.addcmul(s, self.rho, self.a, out=self.As[t + 1])
        return s

    def outputs(self) -> tuple[Tensor, Tensor, Tensor, tuple]:
        """``(S, V, A, extra_saved)``; A is the constant initial trace when adaptation is off."""
        A = self.A if self.adaptive else self.a0.unsqueeze(0).expand_as(self.V)
        return self.S, self.V, A, ()


class _AdLIFSoma(_LIFSoma):
    """Forward of the adLIF soma (reference: :func:`spikernn.functional.adlif_step`); A holds w. Also keeps
    J (T,B,H) = d_t − w_{t-1}, the net current, for the gradient of α."""

    def __init__(self, spec: SomaSpec, params: tuple, T: int, B: int, H: int, opts: dict,
                 s0: Tensor, v0: Tensor, a0: Tensor) -> None:
        super().__init__(SomaSpec("lif", spec.reset, True), (None, None, None, None), T, B, H, opts, s0, v0, a0)
        self.alpha, beta, a, b, self.theta = params
        self.beta = beta
        self.qa, self.qb = (1 - beta) * a, (1 - beta) * b
        self.ef = spec.discretisation == "ef"
        self.J = torch.empty(T, B, H, **opts)

    Js = cached_property(lambda self: self.J.unbind(0))

    def step(self, t: int, d: Tensor, scratch: bool) -> Tensor:  # noqa: ARG002 - d is read before U[t] is written
        w_prev, v_prev, s_prev = self.a, self.v, self.s
        j = torch.sub(d, w_prev, out=self.Js[t])
        u = torch.lerp(j, v_prev, self.alpha, out=self.Us[t])  # α v + (1 − α)(d − w)
        s = self.s = torch.gt(u, self.theta, out=self.Ss[t + 1])
        v = self.v = reset_membrane(u, s, self.theta, self.reset, out=self.Vs[t + 1])
        x, y = (v_prev, s_prev) if self.ef else (v, s)
        self.a = torch.mul(w_prev, self.beta, out=self.As[t + 1]).addcmul_(self.qa, x).addcmul_(self.qb, y)
        return s

    def outputs(self) -> tuple[Tensor, Tensor, Tensor, tuple]:
        return self.S, self.V, self.A, (self.J,)


class _LIFSomaBackward:
    """BPTT through the LIF soma. ``step(t, g_s)`` takes dL/ds_t from outside the soma (outputs and the
    next step's drive) and returns dL/dd_t; ``finish`` gives the gradients of the soma's parameters and of
    the initial v, a (and an extra term for s0: None here)."""

    def __init__(self, spec: SomaSpec, params: tuple, S: Tensor, V: Tensor, U: Tensor, A: Tensor, extra: tuple,
                 gV: Optional[Tensor], gA: Optional[Tensor], phi_of: Callable[[Tensor], Tensor]) -> None:
        self.beta, self.theta, self.rho, self.ba = params
        self.adaptive = spec.adaptive
        self.S, self.V, self.A, self.gV, self.gA = S, V, A, gV, gA
        T, B, H = U.shape
        opts = dict(dtype=U.dtype, device=U.device)
        TH = torch.addcmul(self.theta, self.ba, A[:-1]) if self.adaptive else self.theta
        self.PHI = phi_of(torch.sub(U, TH))
        self.GU = self.GD = torch.empty(T, B, H, **opts)
        self.GTH = torch.empty(T, B, H, **opts) if self.adaptive else None
        self.Snow, self.reset = S[1:], spec.reset
        self.gu = None  # g_u of step t+1
        self.ga_carry = None  # rho g_a_{t+1} + b_a g_theta_{t+1}

    # made on the first use, as the forward soma's per-step views: the torch loop's step (and the LIF finish) read
    # them, the numba kernels do not
    PHIs = cached_property(lambda self: self.PHI.unbind(0))
    GUs = cached_property(lambda self: self.GU.unbind(0))
    partials = cached_property(lambda self: reset_partials(self.Snow, self.reset))  # (∂v/∂u, ∂v/∂θ), (T,B,H)/None
    DVDU = cached_property(lambda self: self.partials[0])
    DVDTH = cached_property(lambda self: self.partials[1])

    def step(self, t: int, gs: Tensor) -> Tensor:
        gV, gA, beta = self.gV, self.gA, self.beta
        gu, ga = self.gu, None
        if self.adaptive:
            ga = self.ga_carry
            if gA is not None:
                ga = gA[t] if ga is None else ga + gA[t]
            if ga is not None:
                gs = gs + ga
        phi = self.PHIs[t]
        gv = None
        if gu is not None and gV is None and not self.adaptive and self.DVDU is None:
            # the common case (dv/du = 1), in one buffer: g_u = beta g_u' + phi g_s
            gu = torch.mul(beta, gu, out=self.GUs[t]).addcmul_(phi, gs)
        else:
            if gu is None:
                gv = gV[t] if gV is not None else None
            else:
                gv = beta * gu
                if gV is not None:
                    gv = gv + gV[t]
            if gv is None:
                gu = torch.mul(phi, gs, out=self.GUs[t])
            else:
                gvu = gv if self.DVDU is None else gv * self.DVDU[t]
                gu = torch.addcmul(gvu, phi, gs, out=self.GUs[t])
        if self.adaptive:
            gth = torch.mul(phi, gs, out=self.GTH[t]).neg_()
            if gv is not None and self.DVDTH is not None:
                gth.addcmul_(self.DVDTH[t], gv)
            ga_new = gth * self.ba
            if ga is not None:
                ga_new.addcmul_(self.rho, ga)
            self.ga_carry = ga_new
        self.gu = gu
        return gu

    def finish(self, needs: tuple) -> tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor], tuple]:
        """``(g_v0, g_a0, extra g_s0, parameter gradients)``; ``needs`` = needs_input_grad of (v0, a0, *params)."""
        GU, V, beta, gV = self.GU, self.V, self.beta, self.gV
        g_v0 = beta * GU[0] if needs[0] else None
        g_a0 = self.ga_carry if self.adaptive else (self.gA.sum(0) if self.gA is not None else None)
        g_beta = (GU * V[:-1]).sum((0, 1)) if needs[2] else None
        g_theta = None
        if needs[3]:
            if self.adaptive:
                g_theta = self.GTH.sum((0, 1))
            else:
                # g_theta_t = -phi_t g_s_t + dv/dtheta g_v_t, and phi g_s = g_u - dv/du g_v
                GVp = torch.zeros_like(GU)
                GVp[:-1] = beta * GU[1:]
                if gV is not None:
                    GVp = GVp + gV
                g_th = (GVp if self.DVDU is None else GVp * self.DVDU) - GU
                if self.DVDTH is not None:
                    g_th = g_th.addcmul_(self.DVDTH, GVp)
                g_theta = g_th.sum((0, 1))
        g_ba = (self.GTH * self.A[:-1]).sum((0, 1)) if self.adaptive and needs[5] else None
        return g_v0, g_a0, None, (g_beta, g_theta, None, g_ba)


class _AdLIFSomaBackward:
    """BPTT through the adLIF soma (same interface as :class:`_LIFSomaBackward`). With g_u, g_w the
    gradients of u_t, w_t and X_t, Y_t = (v_{t-1}, s_{t-1}) for "ef" or (v_t, s_t) for "se"::

        g_w_t = gA_t + β g_w_{t+1} − (1 − α) g_u_{t+1}
        g_v_t = gV_t + α g_u_{t+1} + (1 − β) a g_w_{t+[ef]}     g_s_t += (1 − β) b g_w_{t+[ef]}
        g_u_t = φ_t g_s_t + g_v_t ∂v/∂u ;  g_d_t = (1 − α) g_u_t ;  g_θ_t = −φ_t g_s_t + g_v_t ∂v/∂θ
    (∂v/∂u, ∂v/∂θ: the reset's partials, :func:`spikernn.functional.reset_partials`)
    """

    def __init__(self, spec: SomaSpec, params: tuple, S: Tensor, V: Tensor, U: Tensor, A: Tensor, extra: tuple,
                 gV: Optional[Tensor], gA: Optional[Tensor], phi_of: Callable[[Tensor], Tensor]) -> None:
        self.alpha, self.beta, self.a, self.b, self.theta = params
        self.ef = spec.discretisation == "ef"
        (self.J,) = extra
        self.S, self.V, self.A, self.gV, self.gA = S, V, A, gV, gA
        T, B, H = U.shape
        opts = dict(dtype=U.dtype, device=U.device)
        self.oma = 1 - self.alpha
        self.qa, self.qb = (1 - self.beta) * self.a, (1 - self.beta) * self.b
        self.PHI = phi_of(torch.sub(U, self.theta))
        self.GU, self.GD, self.GW, self.GTH = (torch.empty(T, B, H, **opts) for _ in range(4))
        self.Snow, self.reset = S[1:], spec.reset
        self.gu = self.gw = None  # of step t+1
        self.compiled = False  # True: the numba kernels ran (FusedSpikingSequence), finish sums with one too

    # per-step views and the reset's partials, made on the first use (as _LIFSomaBackward's): the torch loop only
    PHIs, GUs, partials, DVDU, DVDTH = (_LIFSomaBackward.PHIs, _LIFSomaBackward.GUs, _LIFSomaBackward.partials,
                                        _LIFSomaBackward.DVDU, _LIFSomaBackward.DVDTH)
    GDs = cached_property(lambda self: self.GD.unbind(0))
    GWs = cached_property(lambda self: self.GW.unbind(0))
    GTHs = cached_property(lambda self: self.GTH.unbind(0))

    def step(self, t: int, gs: Tensor) -> Tensor:
        gu1, gw1, gA, gV = self.gu, self.gw, self.gA, self.gV
        gw = self.GWs[t]
        if gw1 is None:
            gw.copy_(gA[t]) if gA is not None else gw.zero_()
        else:
            torch.mul(gw1, self.beta, out=gw).addcmul_(self.oma, gu1, value=-1.0)
            if gA is not None:
                gw.add_(gA[t])
        gw_in = gw1 if self.ef else gw  # the w that reads this step's v and s
        gv = None if gu1 is None else gu1 * self.alpha
        if gV is not None:
            gv = gV[t] if gv is None else gv.add_(gV[t])
        if gw_in is not None:  # out of place: gv may be a view of gV
            gv = gw_in * self.qa if gv is None else torch.addcmul(gv, gw_in, self.qa)
            gs = torch.addcmul(gs, gw_in, self.qb)
        gu = torch.mul(self.PHIs[t], gs, out=self.GUs[t])
        gth = torch.neg(gu, out=self.GTHs[t])
        if gv is not None:
            if self.DVDTH is not None:
                gth.addcmul_(self.DVDTH[t], gv)
            if self.DVDU is not None:
                gu.addcmul_(gv, self.DVDU[t])
            else:
                gu.add_(gv)
        self.gu, self.gw = gu, gw
        return torch.mul(gu, self.oma, out=self.GDs[t])

    def finish(self, needs: tuple) -> tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor], tuple]:
        """``(g_v0, g_a0, extra g_s0, parameter gradients)``; ``needs`` = needs_input_grad of (v0, a0, *params)."""
        gu0, gw0, V, S, A = self.GU[0], self.GW[0], self.V, self.S, self.A
        g_v0 = gu0 * self.alpha
        g_s0 = None
        if self.ef:
            g_v0 = g_v0.addcmul_(gw0, self.qa)
            g_s0 = gw0 * self.qb
        g_w0 = torch.mul(gw0, self.beta).addcmul_(self.oma, gu0, value=-1.0)
        omb = 1 - self.beta
        if self.compiled and any(needs[2:7]):  # the five sums in one numba pass
            K = compiled_kernels()
            T, B, H = self.GU.shape
            sums = torch.zeros(2, 5, H, dtype=torch.float64)
            arrays = [_numpy(q) for q in (self.GU, self.GW, self.GTH, V, S, A, self.J)] + [
                _numpy(self.a, (H,)), _numpy(self.b, (H,)), not self.ef]
            _split_batch(lambda b0, b1: K.adlif_param_grads(*arrays, sums[1 if b0 else 0].numpy(), b0, b1), B)
            g_al, g_be, g_x, g_y, g_th = sums.sum(0).to(self.GU.dtype).unbind(0)
            keep = [g if n else None for g, n in zip((g_al, g_be, g_x * omb, g_y * omb, g_th), needs[2:7])]
            return g_v0, g_w0, g_s0, tuple(keep)
        X, Y = (V[:-1], S[:-1]) if self.ef else (V[1:], S[1:])
        g_alpha = (self.GU * (V[:-1] - self.J)).sum((0, 1)) if needs[2] else None
        g_beta = (self.GW * (A[:-1] - torch.addcmul(self.a * X, self.b, Y))).sum((0, 1)) if needs[3] else None
        g_a = (self.GW * X).sum((0, 1)) * omb if needs[4] else None
        g_b = (self.GW * Y).sum((0, 1)) * omb if needs[5] else None
        g_theta = self.GTH.sum((0, 1)) if needs[6] else None
        return g_v0, g_w0, g_s0, (g_alpha, g_beta, g_a, g_b, g_theta)


class _DeltaSoma:
    """Forward of the sigma-delta soma (reference: :func:`spikernn.functional.delta_step`): S holds ŝ (what the
    receivers hold), V the value y (the drive, or tanh of it), M the event masks; U is the drive buffer the
    LSTM loop writes into."""

    def __init__(self, spec: SomaSpec, params: tuple, T: int, B: int, H: int, opts: dict,
                 s0: Tensor, v0: Tensor, a0: Tensor) -> None:
        self.thr, self.tanh = spec.threshold, spec.activation == "tanh"
        self.S, self.V, self.U, self.M = (torch.empty(n, B, H, **opts) for n in (T + 1, T + 1, T, T))
        self.S[0], self.V[0] = s0, v0
        self.a0 = a0
        self.Ss, self.Vs, self.Us, self.Ms = (q.unbind(0) for q in (self.S, self.V, self.U, self.M))
        self.s = s0

    def step(self, t: int, d: Tensor, scratch: bool) -> Tensor:  # noqa: ARG002 - d is read, never overwritten
        y = torch.tanh(d, out=self.Vs[t + 1]) if self.tanh else self.Vs[t + 1].copy_(d)
        diff = y - self.s
        m = torch.gt(diff.abs(), self.thr, out=self.Ms[t])
        self.s = torch.addcmul(self.s, m, diff, out=self.Ss[t + 1])
        return self.s

    def outputs(self) -> tuple[Tensor, Tensor, Tensor, tuple]:
        return self.S, self.V, torch.zeros_like(self.V), (self.M,)


class _DeltaSomaBackward:
    """BPTT through the sigma-delta soma: with g the gradient of ŝ_t, ``g_y_t = m_t g`` (times 1 − y² for
    tanh) and ``(1 − m_t) g`` carries to ŝ_{t-1}; with ``spec.straight_through`` ``g_y_t = g`` and nothing
    carries (reference: :func:`spikernn.functional.delta_step`)."""

    def __init__(self, spec: SomaSpec, params: tuple, S: Tensor, V: Tensor, U: Tensor, A: Tensor, extra: tuple,
                 gV: Optional[Tensor], gA: Optional[Tensor], phi_of: Callable[[Tensor], Tensor]) -> None:
        (self.M,) = extra
        self.V, self.gV, self.tanh = V, gV, spec.activation == "tanh"
        self.straight = spec.straight_through
        self.GD = torch.empty_like(self.M)
        self.GDs, self.Ms = self.GD.unbind(0), self.M.unbind(0)
        self.carry = None
        self.one = V.new_ones(())

    def step(self, t: int, gs: Tensor) -> Tensor:
        g = gs if self.carry is None else gs + self.carry
        m = self.Ms[t]
        gy = self.GDs[t].copy_(g) if self.straight else torch.mul(m, g, out=self.GDs[t])
        if self.gV is not None:
            gy.add_(self.gV[t])
        if self.tanh:
            y = self.V[t + 1]
            gy.mul_(torch.addcmul(self.one, y, y, value=-1.0))
        if not self.straight:  # straight-through: nothing reaches ŝ_{t-1} through the soma (carry stays None)
            self.carry = g - m * g
        return gy

    def finish(self, needs: tuple) -> tuple[Optional[Tensor], Optional[Tensor], Optional[Tensor], tuple]:
        """``(g_v0, g_a0, extra g_s0, parameter gradients)``: the carry reaches ŝ_0; v0, a0 are not read."""
        return None, None, self.carry, ()


MALLOC_MMAP_THRESHOLD = 32 << 20  # bytes: the largest glibc accepts (mallopt M_MMAP_THRESHOLD)
MALLOC_TRIM_THRESHOLD = 256 << 20  # bytes of free memory the heap keeps before returning it to the system
_MALLOC: dict = {"tuned": None}


def _tune_malloc() -> bool:
    """Once per process, on the first CPU sequence of :class:`FusedSpikingSequence`: glibc's malloc keeps the
    fused path's (T,B,G*H) buffers in its heap instead of mapping fresh pages for each (``mallopt``
    M_MMAP_THRESHOLD = :data:`MALLOC_MMAP_THRESHOLD`, M_TRIM_THRESHOLD = :data:`MALLOC_TRIM_THRESHOLD`). glibc's
    default threshold adapts to the largest block freed so far, so a buffer of exactly that size (x_proj, the
    gates, their gradient: 6.5 MB each at B=32, T=100, H=128) is mapped anew and page-faulted in on every call:
    ~5300 page faults and ~8 ms of system time per fwd+bwd of the benchmark's SpikingLSTM (18-26 ms), none with
    these settings (2 shared cores, 1 thread). The cost: the process keeps freed memory (up to its peak use) for
    reuse. It applies to the whole process (as preloading jemalloc or tcmalloc would); ``SPIKERNN_MALLOPT=0``
    leaves malloc alone. Returns whether the settings were made (False: not glibc, or switched off)."""
    if _MALLOC["tuned"] is None:
        _MALLOC["tuned"] = False
        if os.environ.get("SPIKERNN_MALLOPT", "1") != "0":
            try:
                import ctypes

                mallopt = ctypes.CDLL(None).mallopt
                mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
                M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
                _MALLOC["tuned"] = bool(mallopt(M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)
                                        and mallopt(M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD))
            except (OSError, AttributeError):  # not glibc (musl, macOS, Windows): nothing to set
                pass
    return _MALLOC["tuned"]


_KERNELS: dict = {"module": None, "error": None, "load_s": None}


def compiled_kernels():
    """The numba kernels of the fused path (:mod:`spikernn._fused_kernels`, imported on the first call; each
    kernel compiles on its first use, then loads from numba's disk cache), or None where they cannot be used:
    numba not installed or failing to load, or ``SPIKERNN_KERNELS=numpy`` (:func:`spikernn._numba.kernels_disabled`,
    the same switch as the fast simulator's compiled kernels). The fused path then runs its torch loop."""
    if kernels_disabled():
        return None
    if _KERNELS["module"] is None and _KERNELS["error"] is None:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # numba's "cannot cache" warnings: it compiles uncached
                from spikernn import _fused_kernels
            _KERNELS["module"] = _fused_kernels
        except Exception as exc:  # noqa: BLE001 - numba missing or broken: the torch loop runs
            _KERNELS["error"] = f"{type(exc).__name__}: {exc}"
        _KERNELS["load_s"] = time.perf_counter() - t0
    return _KERNELS["module"]


def kernels_info() -> dict:
    """What the fused training path runs, for ``spikernn doctor``: ``{"engine": "numba" | "torch", "reason": why
    not numba ("" when it is), "load_s": seconds to load the kernel module (first call in this process),
    "covers": the cases the kernels run}``."""
    module = compiled_kernels()
    if module is not None:
        reason = ""
    elif kernels_disabled():
        reason = "SPIKERNN_KERNELS=numpy"
    else:
        reason = _KERNELS["error"] or "numba kernels unavailable"
    return {"engine": "numba" if module is not None else "torch", "reason": reason, "load_s": _KERNELS["load_s"],
            "covers": "LSTM, GRU and RNN with a non-adaptive LIF or an adLIF soma, CPU float32 (everything else: the "
                      "torch loop)"}


def uses_compiled(kind: str, spec: SomaSpec, *tensors: Optional[Tensor]) -> bool:
    """Whether :class:`FusedSpikingSequence` runs a sequence with the numba kernels: the LSTM, GRU or RNN with a
    non-adaptive LIF or an adLIF soma, every tensor on CPU in float32, and :func:`compiled_kernels` available.
    Everything else (adaptive LIF, sigma-delta, other devices and dtypes) runs the torch loop."""
    return (kind in ("lstm", "gru", "rnn") and (spec.neuron == "adlif" or (spec.neuron == "lif" and not spec.adaptive))
            and all(t is None or (t.device.type == "cpu" and t.dtype == torch.float32) for t in tensors)
            and compiled_kernels() is not None)


def _numpy(t: Tensor, shape: Optional[tuple] = None):
    """A C-contiguous float32 numpy array of ``t`` (sharing memory when ``t`` is already contiguous)."""
    t = t.detach()
    if shape is not None:
        t = t.expand(shape)
    return t.contiguous().numpy()


SPLIT_MIN_BATCH = 16  # batches at least this large run as two halves (on two threads when torch has >= 2)
SPLIT_PARALLEL = True  # False: the halves one after the other even with >= 2 torch threads
# False: the second half on a Python worker thread even where torch's OpenMP runtime is callable (for A/B timing:
# SPIKERNN_SPLIT=thread in the environment)
SPLIT_OPENMP = os.environ.get("SPIKERNN_SPLIT", "openmp") != "thread"
_POOL: dict = {"pool": None, "pid": None}


def _split_batch(run: Callable[[int, int], None], B: int) -> None:
    """``run(b0, b1)`` over the batch rows ``0:B``: with ``B >= SPLIT_MIN_BATCH`` as two halves, at once on two
    threads when torch has >= 2 (each half's GEMMs on one MKL thread, :func:`_mkl_local_threads`; the numba kernels
    and torch ops release the GIL), else one after the other; smaller batches in one call. The two threads are
    torch's own OpenMP team where its runtime is callable (:func:`_gomp_parallel`: one ``GOMP_parallel`` region,
    the halves on the calling thread and on torch's OpenMP worker), else the calling thread and a Python worker
    thread. Why torch's team: libgomp's worker spins for a while after each of torch's parallel ops (300,000
    pauses, milliseconds), so a third thread of ours shared the 2 cores with a spinning one: at 2 threads the
    benchmark's SpikingLSTM fwd+bwd took ~140 ms of CPU time against 20 ms with ``OMP_WAIT_POLICY=passive``
    (2 shared cores, load 7), and SpikingLSTM/nn.LSTM at 2 threads (wall, Xeon, load < 2, medians of 5 runs) was
    1.64 with the Python thread against 1.20 with torch's team (benchmarks/results/round7/speed_cells_t19train.md).
    The halves are the same rows either way; their result equals one loop's to float32
    rounding, not always bit for bit: a BLAS need not round a row alike in a 10-row and a 20-row product, on
    another thread or with another thread count (MKL on AVX2 does not; tests/test_fused_compiled.py).
    ``SPLIT_PARALLEL = False`` runs the halves in turn; ``SPLIT_OPENMP = False`` (``SPIKERNN_SPLIT=thread``) uses
    the Python worker thread."""
    if B < SPLIT_MIN_BATCH:
        run(0, B)
        return
    h = B // 2
    if torch.get_num_threads() < 2 or not SPLIT_PARALLEL:
        run(0, h)
        run(h, B)
        return
    inference = torch.is_inference_mode_enabled()  # thread-local, as grad mode (the runs use no_grad)
    one_blas_thread = _mkl_local_threads()

    def half(b0: int, b1: int) -> None:
        # each half's GEMMs on its own thread only: with torch's 2 threads each would start a team of 2 (4 threads
        # on 2 cores, spinning at every barrier)
        prev = one_blas_thread(1) if one_blas_thread is not None else None  # the thread's previous local count
        try:
            with torch.inference_mode(inference):
                run(b0, b1)
        finally:
            if prev is not None:
                one_blas_thread(prev)  # as before (0: MKL's process-wide setting, torch.set_num_threads)

    gomp = _gomp_parallel() if SPLIT_OPENMP else None
    if gomp is not None:
        todo, errors = [(h, B), (0, h)], []

        def body(_data) -> None:  # on each thread of the team: take halves until none is left (a team of 1 does both)
            while todo:
                try:
                    b0, b1 = todo.pop()
                except IndexError:
                    return
                try:
                    half(b0, b1)
                except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread below
                    errors.append(exc)

        callback = _GOMP["type"](body)
        gomp(callback, None, 2, 0)  # ctypes releases the GIL for the call; the team takes it in body
        if errors:
            raise errors[0]
        return
    if _POOL["pool"] is None or _POOL["pid"] != os.getpid():  # a forked child has the pool but not its thread
        from concurrent.futures import ThreadPoolExecutor

        _POOL.update(pool=ThreadPoolExecutor(1, thread_name_prefix="spikernn-fused"), pid=os.getpid())

    other = _POOL["pool"].submit(half, h, B)
    try:
        half(0, h)
    finally:
        other.result()


_GOMP: dict = {"looked": False, "parallel": None, "type": None, "pid": os.getpid()}


def _gomp_parallel() -> Optional[Callable]:
    """libgomp's ``GOMP_parallel(fn, data, num_threads, flags)`` from torch's own OpenMP runtime (the one torch
    loaded: its threads are torch's intra-op team), as a ctypes function taking a ``_GOMP["type"]`` callback, or
    None: torch without that runtime (another OpenMP, or none), or in a forked child of the process that imported
    this module (libgomp's team does not survive a fork)."""
    if os.getpid() != _GOMP["pid"]:
        return None
    if not _GOMP["looked"]:
        _GOMP["looked"] = True
        try:
            import ctypes

            path = os.path.join(os.path.dirname(torch.__file__), "lib", "libgomp.so.1")
            with open("/proc/self/maps") as maps:  # only the runtime torch already runs on, never a second copy
                loaded = any(line.rstrip().endswith(path) for line in maps)
            if loaded:
                fn = ctypes.CDLL(path).GOMP_parallel
                _GOMP["type"] = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
                fn.argtypes = [_GOMP["type"], ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
                fn.restype = None
                _GOMP["parallel"] = fn
        except (OSError, AttributeError):
            pass
    return _GOMP["parallel"]


_MKL: dict = {"looked": False, "set_local": None}


def _mkl_local_threads() -> Optional[Callable[[int], int]]:
    """MKL's ``MKL_Set_Num_Threads_Local(n)`` (sets the calling thread's BLAS thread count, 0: the process-wide
    one, which ``torch.set_num_threads`` sets; returns the previous local count) from torch's own library, or None where torch has no MKL that exports it
    (then the halves' GEMMs use torch's thread count)."""
    if not _MKL["looked"]:
        _MKL["looked"] = True
        try:
            import ctypes

            lib = ctypes.CDLL(os.path.join(os.path.dirname(torch.__file__), "lib", "libtorch_cpu.so"))
            fn = lib.MKL_Set_Num_Threads_Local
            fn.argtypes, fn.restype = [ctypes.c_int], ctypes.c_int
            _MKL["set_local"] = fn
        except (OSError, AttributeError):
            pass
    return _MKL["set_local"]


SPARSE_MAX_DENSITY = 0.15  # W_hh's gradient sums over the spikes (no GEMM) below this fraction of nonzero s


def _spike_weight_grad(G: Tensor, S: Tensor) -> Tensor:
    """W_hh's gradient ``G.T @ S`` (G (N,G) the gradients of the drives W_hh s, S (N,H) the spikes they read):
    below :data:`SPARSE_MAX_DENSITY` nonzero s as a sum over the spikes in a numba kernel
    (:func:`spikernn._fused_kernels.spike_weight_grad`; the rows in two halves as :func:`_split_batch`), else the
    GEMM (:func:`_mm_tn`). On the benchmark's (3200,512)x(3200,128), 1 thread: 1.3 ms at 0.7 % spikes, 2.9 ms
    at 10 %, 5.1 ms at 20 % against 5.2-5.9 ms for the GEMM. Equal to float32 rounding (another summation order)."""
    N, H = S.shape
    K = compiled_kernels()
    g, s = _numpy(G), _numpy(S)  # (counted on the host, in a kernel: no torch-level host read)
    if N == 0 or K.count_nonzero(s) > SPARSE_MAX_DENSITY * N * H:
        return _mm_tn(G, S)
    parts = [torch.zeros(H, G.shape[1], dtype=G.dtype) for _ in range(2)]
    # one part per half (the second half starts at n0 > 0): no two threads add into one buffer
    _split_batch(lambda n0, n1: K.spike_weight_grad(g, s, parts[1 if n0 else 0].numpy(), n0, n1), N)
    return parts[0].add_(parts[1]).t()


def _lstm_forward_compiled(soma: _LIFSoma, spec: SomaSpec, x_proj: Tensor, w_hh: Tensor, C: Tensor) -> tuple:
    """The LSTM loop of :class:`FusedSpikingSequence` with the numba kernels of its soma: all T steps of a batch
    half in one call (:func:`spikernn._fused_kernels.lstm_lif_forward_seq` or
    :func:`~spikernn._fused_kernels.lstm_adlif_forward_seq`: the recurrent drive W_hh s summed over the spikes,
    no GEMM, then the gates' σ and the step); fills ``soma``'s buffers and ``C`` (c, not −c) and returns the
    saved ``(ACT, Q)`` of the torch loop."""
    K = compiled_kernels()
    T, B, _ = x_proj.shape
    H = w_hh.shape[1]
    ACT = torch.empty(T, B, 4 * H, dtype=x_proj.dtype)
    Q = torch.empty(T, B, H, dtype=x_proj.dtype)
    bufs, params = _soma_kernel_args(K, soma, spec, H, False)
    arrays = [_numpy(x_proj), _numpy(w_hh.t())] + [q.numpy() for q in (ACT, C, Q)] + bufs
    seq = K.lstm_adlif_forward_seq if spec.neuron == "adlif" else K.lstm_lif_forward_seq
    _split_batch(lambda b0, b1: seq(*arrays, *params, b0, b1), B)
    return ACT, Q


def _bptt_compiled(step: Callable, seq: Callable, args: tuple, w_hh: Tensor, gS: Tensor, G_rec: Tensor,
                   GS: Tensor) -> None:
    """The time loop of a compiled backward pass, t = T−1 … 0: ``GS`` = dL/ds_t from outside the soma (``gS[t]``
    plus W_hh^T of step t+1's recurrent gradients ``G_rec[t+1]``, one GEMM), then ``step(t, last, *args, b0,
    b1)``; the batch halves on two threads as :func:`_split_batch`. Where torch's MKL is callable from the kernels
    (:data:`spikernn._fused_kernels.HAVE_SGEMM`) all T steps of a half are one call of ``seq`` (the same sgemm
    call as ``torch.addmm``, so the same bits, without a Python step loop: each step's ~8 µs of dispatch and, at 2
    threads, the two halves' hand-offs of the GIL); else a Python loop of one ``torch.addmm`` and one ``step``."""
    T, B = gS.shape[:2]
    K = compiled_kernels()
    if K.HAVE_SGEMM and w_hh.dtype == torch.float32:
        g, wh = _numpy(gS), _numpy(w_hh)
        _split_batch(lambda b0, b1: seq(g, wh, *args, b0, b1), B)
        return
    mm_b = _Matmul(w_hh.t(), B)

    def run(b0: int, b1: int) -> None:
        with torch.no_grad():
            gSs, Gs, gs = gS[:, b0:b1].unbind(0), G_rec[:, b0:b1].unbind(0), GS[b0:b1]
            for t in range(T - 1, -1, -1):
                if t == T - 1:
                    gs.copy_(gSs[t])
                else:
                    mm_b(Gs[t + 1], gSs[t], out=gs)
                step(t, t == T - 1, *args, b0, b1)

    _split_batch(run, B)


def _lstm_backward_compiled(soma: "_LIFSomaBackward", spec: SomaSpec, w_hh: Tensor, S: Tensor, C: Tensor,
                            ACT: Tensor, Q: Tensor, gS: Tensor, gV: Optional[Tensor], gA: Optional[Tensor],
                            gC: Optional[Tensor]) -> tuple[Tensor, Tensor]:
    """BPTT of :func:`_lstm_forward_compiled` with the numba step of its soma
    (:func:`spikernn._fused_kernels.lstm_lif_backward_step` or
    :func:`~spikernn._fused_kernels.lstm_adlif_backward_step`); fills ``soma.GU`` (adLIF: also ``soma.GW``,
    ``soma.GTH``, for ``soma.finish``) and returns the gate gradients GZ (T,B,4H) and dL/dc_0."""
    K = compiled_kernels()
    T, B, H = Q.shape
    GZ = torch.empty(T, B, 4 * H, dtype=Q.dtype)
    GS = torch.empty(B, H, dtype=Q.dtype)
    carry = torch.zeros(B, H, dtype=Q.dtype)
    gS = gS.contiguous()
    bufs, params = _soma_kernel_args(K, soma, spec, H, True)
    args = (GS.numpy(), GZ.numpy(), *bufs, carry.numpy(), _numpy(ACT), _numpy(C), _numpy(Q), _numpy(S),
            _numpy(soma.PHI), *params, *_grad_args(K, spec, B, H, gV, gA, gC))
    adlif = spec.neuron == "adlif"
    step = K.lstm_adlif_backward_step if adlif else K.lstm_lif_backward_step
    seq = K.lstm_adlif_backward_seq if adlif else K.lstm_lif_backward_seq
    _bptt_compiled(step, seq, args, w_hh, gS, GZ, GS)
    return GZ, carry


def _soma_kernel_args(K, soma, spec: SomaSpec, H: int, backward: bool) -> tuple[list, list]:
    """The soma's part of a compiled step's arguments: ``(buffers, parameters)``. Forward: LIF (U, S, V) and
    (β, θ, reset); adLIF (U, S, V, W, J) and (α, β, qa, qb, θ, reset, se). Backward: LIF (GU,) and (β,); adLIF
    (GU, GW, GTH) and (α, β, qa, qb)."""
    if spec.neuron == "adlif":
        if backward:
            return [_numpy(q) for q in (soma.GU, soma.GW, soma.GTH)], [_numpy(p, (H,)) for p in (soma.alpha,
                                                                                             soma.beta, soma.qa, soma.qb)]
        return ([q.numpy() for q in (soma.U, soma.S, soma.V, soma.A, soma.J)],
                [_numpy(p, (H,)) for p in (soma.alpha, soma.beta, soma.qa, soma.qb, soma.theta)]
                + [K.RESET_CODES[spec.reset], spec.discretisation == "se"])
    if backward:
        return [_numpy(soma.GU)], [_numpy(soma.beta, (H,))]
    return [q.numpy() for q in (soma.U, soma.S, soma.V)], [_numpy(soma.beta, (H,)), _numpy(soma.theta, (H,)),
                                                            K.RESET_CODES[spec.reset]]


def _grad_args(K, spec: SomaSpec, B: int, H: int, gV: Optional[Tensor], gA: Optional[Tensor],
               gC: Optional[Tensor]) -> list:
    """The output gradients of a compiled backward step, (T,B,H) or (1,B,H) zeros where there are none: LIF
    (gV, gC, reset), adLIF (gV, gA, gC, reset, se)."""
    zeros = torch.zeros(1, B, H).numpy()
    gs = [zeros if g is None else _numpy(g) for g in ((gV, gA, gC) if spec.neuron == "adlif" else (gV, gC))]
    return gs + [K.RESET_CODES[spec.reset]] + ([spec.discretisation == "se"] if spec.neuron == "adlif" else [])


def _gru_forward_compiled(soma: _LIFSoma, spec: SomaSpec, x_proj: Tensor, w_hh: Tensor, b_hh: Tensor,
                          C: Tensor) -> tuple:
    """The GRU loop of :class:`FusedSpikingSequence` with the numba kernels of its soma: all T steps of a batch
    half in one call (:func:`spikernn._fused_kernels.gru_lif_forward_seq`,
    :func:`~spikernn._fused_kernels.gru_adlif_forward_seq`: W_hh s + b_hh summed over the spikes, no GEMM, then
    the step); fills ``soma``'s buffers and ``C`` (h) and returns the saved ``(ACT, HP)`` of the torch loop."""
    K = compiled_kernels()
    T, B, _ = x_proj.shape
    H = w_hh.shape[1]
    ACT = torch.empty(T, B, 3 * H, dtype=x_proj.dtype)
    HP = torch.empty(T, B, 3 * H, dtype=x_proj.dtype)
    bufs, params = _soma_kernel_args(K, soma, spec, H, False)
    arrays = [_numpy(x_proj), _numpy(w_hh.t()), _numpy(b_hh), HP.numpy(), ACT.numpy(), C.numpy(), *bufs]
    seq = K.gru_adlif_forward_seq if spec.neuron == "adlif" else K.gru_lif_forward_seq
    _split_batch(lambda b0, b1: seq(*arrays, *params, b0, b1), B)
    return ACT, HP


def _gru_backward_compiled(soma: "_LIFSomaBackward", spec: SomaSpec, w_hh: Tensor, S: Tensor, C: Tensor,
                           ACT: Tensor, HP: Tensor, gS: Tensor, gV: Optional[Tensor], gA: Optional[Tensor],
                           gC: Optional[Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """BPTT of :func:`_gru_forward_compiled` with the numba step of its soma; fills the soma's gradient buffers
    (as :func:`_lstm_backward_compiled`) and returns GX, GHP (T,B,3H): the gradients of x_proj and of
    W_hh s + b_hh, and dL/dh_0."""
    K = compiled_kernels()
    T, B, H = soma.GU.shape
    GX = torch.empty(T, B, 3 * H, dtype=HP.dtype)
    GHP = torch.empty(T, B, 3 * H, dtype=HP.dtype)
    GS = torch.empty(B, H, dtype=HP.dtype)
    carry = torch.zeros(B, H, dtype=HP.dtype)
    gS = gS.contiguous()
    bufs, params = _soma_kernel_args(K, soma, spec, H, True)
    args = (GS.numpy(), GX.numpy(), GHP.numpy(), *bufs, carry.numpy(), _numpy(ACT), _numpy(HP), _numpy(C),
            _numpy(S), _numpy(soma.PHI), *params, *_grad_args(K, spec, B, H, gV, gA, gC))
    adlif = spec.neuron == "adlif"
    step = K.gru_adlif_backward_step if adlif else K.gru_lif_backward_step
    seq = K.gru_adlif_backward_seq if adlif else K.gru_lif_backward_seq
    _bptt_compiled(step, seq, args, w_hh, gS, GHP, GS)
    return GX, GHP, carry


def _rnn_forward_compiled(soma: _LIFSoma, spec: SomaSpec, x_proj: Tensor, w_hh: Tensor) -> tuple:
    """The RNN loop of :class:`FusedSpikingSequence` with the numba kernels of its soma: all T steps of a batch
    half in one call (:func:`spikernn._fused_kernels.rnn_lif_forward_seq`,
    :func:`~spikernn._fused_kernels.rnn_adlif_forward_seq`: the drive x_proj + W_hh s summed over the spikes, no
    GEMM, then the soma); fills ``soma``'s buffers. Nothing else is saved (the torch loop saves nothing either)."""
    K = compiled_kernels()
    B, H = x_proj.shape[1], w_hh.shape[1]
    bufs, params = _soma_kernel_args(K, soma, spec, H, False)
    arrays = [_numpy(x_proj), _numpy(w_hh.t()), *bufs]
    seq = K.rnn_adlif_forward_seq if spec.neuron == "adlif" else K.rnn_lif_forward_seq
    _split_batch(lambda b0, b1: seq(*arrays, *params, b0, b1), B)
    return ()


def _rnn_backward_compiled(soma: "_LIFSomaBackward", spec: SomaSpec, w_hh: Tensor, S: Tensor, gS: Tensor,
                           gV: Optional[Tensor], gA: Optional[Tensor]) -> Tensor:
    """BPTT of :func:`_rnn_forward_compiled` (:func:`spikernn._fused_kernels.rnn_lif_backward_step`,
    :func:`~spikernn._fused_kernels.rnn_adlif_backward_step`, all steps in one call where MKL's sgemm is callable:
    :func:`_bptt_compiled`); fills the soma's gradient buffers (as :func:`_lstm_backward_compiled`) and returns
    ``soma.GD`` (T,B,H), the gradient of the drive x_proj + W_hh s (the LIF soma's GU itself)."""
    K = compiled_kernels()
    T, B, H = soma.GU.shape
    GS = torch.empty(B, H, dtype=soma.GU.dtype)
    gS = gS.contiguous()
    bufs, params = _soma_kernel_args(K, soma, spec, H, True)
    zeros = torch.zeros(1, B, H).numpy()
    gv = zeros if gV is None else _numpy(gV)
    reset = K.RESET_CODES[spec.reset]
    if spec.neuron == "adlif":
        ga = zeros if gA is None else _numpy(gA)
        args = (GS.numpy(), _numpy(soma.GD), *bufs, _numpy(S), _numpy(soma.PHI), *params, gv, ga, reset,
                spec.discretisation == "se")
        step, seq = K.rnn_adlif_backward_step, K.rnn_adlif_backward_seq
    else:
        args = (GS.numpy(), *bufs, _numpy(S), _numpy(soma.PHI), *params, gv, reset)
        step, seq = K.rnn_lif_backward_step, K.rnn_lif_backward_seq
    _bptt_compiled(step, seq, args, w_hh, gS, soma.GD, GS)
    return soma.GD


_SOMAS = {"lif": (_LIFSoma, _LIFSomaBackward), "adlif": (_AdLIFSoma, _AdLIFSomaBackward),
          "delta": (_DeltaSoma, _DeltaSomaBackward)}


class FusedSpikingSequence(torch.autograd.Function):
    """``apply(kind, spec, surrogate, surrogate_grad, x_proj, weight_hh, bias_hh, s0, v0, a0, c0, *params)
    -> (S, V, A, C)``; see the module docstring. ``spec``: :class:`SomaSpec`; ``params``: the soma's tensors,
    LIF ``(decay, threshold, adapt_decay, adapt_scale)`` (the last two None without adaptation), adLIF
    ``(alpha, beta, a, b, threshold)``.

    State sequences are kept in (T+1,B,H) buffers whose entry 0 is the initial state, so "previous step"
    values are views. tanh is evaluated as ``2 σ(2x) − 1`` (the same function; faster on CPU).
    """

    @staticmethod
    def forward(ctx, kind, spec, surrogate, surrogate_grad, x_proj, w_hh, b_hh, s0, v0, a0, c0, *params):
        T, B, _ = x_proj.shape
        H = w_hh.shape[1]
        opts = dict(dtype=x_proj.dtype, device=x_proj.device)
        if _MALLOC["tuned"] is None and x_proj.device.type == "cpu":
            _tune_malloc()
        soma = _SOMAS[spec.neuron][0](spec, params, T, B, H, opts, s0, v0, a0)
        C = torch.empty(T + 1, B, H, **opts)
        C[0] = c0
        m1, two = x_proj.new_full((), -1.0), x_proj.new_full((), 2.0)
        saved: tuple = ()
        compiled = uses_compiled(kind, spec, x_proj, w_hh, s0, v0, c0, *params)
        if compiled and kind == "rnn":
            saved = _rnn_forward_compiled(soma, spec, x_proj, w_hh)
            C[1:] = 0.0
        elif compiled:
            saved = (_lstm_forward_compiled(soma, spec, x_proj, w_hh, C) if kind == "lstm"
                     else _gru_forward_compiled(soma, spec, x_proj, w_hh, b_hh, C))
        elif kind == "lstm":
            # x_proj and w_hh come with their g rows doubled (lstm_gate_scale), so one sigmoid gives
            # i, f, sg = sigmoid(2 g), o, and tanh(g) = 2 sg - 1. The loop keeps n = -c (in the C buffer, negated
            # after the loop): n_t = i + f n_{t-1} - 2 i sg (two ops), q = sigmoid(2 n) = sigmoid(-2 c),
            # tanh(c) = 1 - 2 q, so d = o - 2 o q (one op).
            mm = _Matmul(w_hh, B)
            ACT = torch.empty(T, B, 4 * H, **opts)  # sigmoid(i), sigmoid(f), sigmoid(2 g), sigmoid(o)
            Q = torch.empty(T, B, H, **opts)  # sigmoid(2 n_t) = sigmoid(-2 c_t)
            torch.neg(c0, out=C[0])
            # per-step views, made in bulk (cheaper than indexing inside the loop)
            xs, acts, Is, Fs, SGs, Os = (q.unbind(0) for q in (x_proj, ACT, ACT[..., :H], ACT[..., H:2 * H],
                                                                ACT[..., 2 * H:3 * H], ACT[..., 3 * H:]))
            Ns, Us, Qs = C.unbind(0), soma.Us, Q.unbind(0)
            n = Ns[0]
            for t in range(T):
                torch.sigmoid(mm(soma.s, xs[t]), out=acts[t])
                i = Is[t]
                n = torch.addcmul(i, Fs[t], n, out=Ns[t + 1])
                n.addcmul_(i, SGs[t], value=-2.0)
                q = torch.mul(n, two, out=Qs[t]).sigmoid_()
                o = Os[t]
                soma.step(t, torch.addcmul(o, o, q, value=-2.0, out=Us[t]), True)
            C.neg_()
            saved = (ACT, Q)
        elif kind == "gru":
            w_t = w_hh.t()
            H2 = 2 * H
            ACT = torch.empty(T, B, 3 * H, **opts)  # r, z, n
            HP = torch.empty(T, B, 3 * H, **opts)  # W_hh s + b_hh
            h = c0
            for t in range(T):
                xt = x_proj[t]
                hp = torch.addmm(b_hh, soma.s, w_t, out=HP[t])
                act = ACT[t]
                torch.sigmoid(xt[:, :H2] + hp[:, :H2], out=act[:, :H2])
                n = torch.addcmul(xt[:, H2:], act[:, :H], hp[:, H2:])
                n = torch.sigmoid(n.mul_(two), out=act[:, H2:])
                n = torch.add(m1, n, alpha=2, out=n)
                h = torch.addcmul(n, act[:, H:H2], h - n, out=C[t + 1])
                soma.step(t, h, False)
            saved = (ACT, HP)
        elif kind == "rnn":
            mm = _Matmul(w_hh, B)
            for t in range(T):
                soma.step(t, mm(soma.s, x_proj[t]), False)
            C[1:] = 0.0
        else:
            raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
        S, V, A, extra = soma.outputs()
        ctx.kind, ctx.spec, ctx.surrogate, ctx.surrogate_grad = kind, spec, surrogate, surrogate_grad
        ctx.compiled = compiled
        ctx.has_b_hh = b_hh is not None
        ctx.n_saved, ctx.n_extra = len(saved), len(extra)
        ctx.save_for_backward(w_hh, S, V, soma.U, A, C, *saved, *extra, *params)
        ctx.set_materialize_grads(False)
        return S[1:], V[1:], A[1:], C[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx, gS, gV, gA, gC):
        kind, spec = ctx.kind, ctx.spec
        w_hh, S, V, U, A, C, *rest = ctx.saved_tensors
        saved, extra, params = rest[:ctx.n_saved], rest[ctx.n_saved:ctx.n_saved + ctx.n_extra], \
            rest[ctx.n_saved + ctx.n_extra:]
        T, B, H = U.shape
        H2 = 2 * H
        opts = dict(dtype=U.dtype, device=U.device)
        if ctx.surrogate_grad is not None:
            phi_of = ctx.surrogate_grad
        else:
            def phi_of(x: Tensor) -> Tensor:
                return surrogate_derivative(ctx.surrogate, x)
        soma = _SOMAS[spec.neuron][1](spec, params, S, V, U, A, extra, gV, gA, phi_of)
        soma.compiled = ctx.compiled
        Sprev = S[:-1]
        if gS is None:
            gS = torch.zeros(T, B, H, **opts)
        one = U.new_ones(())
        if ctx.compiled and kind == "lstm":
            ACT, Q = saved
            GZ, c_carry = _lstm_backward_compiled(soma, spec, w_hh, S, C, ACT, Q, gS, gV, gA, gC)
            G_rec = GZ
        elif ctx.compiled and kind == "gru":
            ACT, HP = saved
            GX, GHP, c_carry = _gru_backward_compiled(soma, spec, w_hh, S, C, ACT, HP, gS, gV, gA, gC)
            G_rec = GHP
        elif ctx.compiled:
            G_rec = _rnn_backward_compiled(soma, spec, w_hh, S, gS, gV, gA)
        elif kind == "lstm":
            # BPTT through n = -c (see forward): g_n = dL/dn. M: d(pre-activation)/d(n or d) coefficients, so that
            # the gate gradients are gz = [g_n, g_n, g_n, g_d] * M; written over M step by step (M[t] used once).
            ACT, Q = saved
            zero = U.new_zeros(())
            M = torch.addcmul(ACT, ACT, ACT, value=-1.0)  # a (1 - a)
            Ig, Fg, SGg, Og = (ACT[..., k * H:(k + 1) * H] for k in range(4))
            Mi, Mf, Mg, Mo = (M[..., k * H:(k + 1) * H] for k in range(4))
            torch.addcmul(Mi, Mi, SGg, value=-2.0, out=Mi)  # dn/dz_i = i (1 - i) (1 - 2 sg)
            torch.addcmul(zero, Mf, C[:-1], value=-1.0, out=Mf)  # dn/dz_f = f (1 - f) n_{t-1}
            torch.addcmul(zero, Mg, Ig, value=-2.0, out=Mg)  # dn/dz_g' = -2 i sg (1 - sg)   (z_g' = 2 z_g)
            torch.addcmul(Mo, Mo, Q, value=-2.0, out=Mo)  # dd/dz_o = o (1 - o) (1 - 2 q) = o (1 - o) tanh(c)
            K1 = torch.addcmul(Q, Q, Q, value=-1.0)
            torch.addcmul(zero, K1, Og, value=-4.0, out=K1)  # dd/dn = -4 o q (1 - q)
            GZ = M
            G_rec = GZ
        elif kind == "gru":
            ACT, HP = saved
            R, Z, N = ACT[..., :H], ACT[..., H:H2], ACT[..., H2:]
            HN = HP[..., H2:]
            Kn = (one - Z) * torch.addcmul(one, N, N, value=-1.0)
            Kz = (C[:-1] - N) * Z * (one - Z)
            Kr = Kn * HN * R * (one - R)
            MX = torch.stack([Kr, Kz, Kn], 2)  # (T,B,3,H)
            MH = torch.stack([Kr, Kz, Kn * R], 2)
            GX = torch.empty(T, B, 3 * H, **opts)
            GHP = torch.empty(T, B, 3 * H, **opts)
            G_rec = GHP
        else:
            G_rec = soma.GD
        carry = None  # LSTM: f_{t+1} g_n_{t+1} (n = -c);  GRU: z_{t+1} g_h_{t+1}
        if not ctx.compiled:
            mm_b = _Matmul(w_hh.t(), B)
            gSs, Grecs = gS.unbind(0), G_rec.unbind(0)
            if kind == "lstm":
                K1s, Fgs = K1.unbind(0), Fg.unbind(0)
            for t in range(T - 1, -1, -1):
                gs = gSs[t] if t == T - 1 else mm_b(Grecs[t + 1], gSs[t])
                gd = soma.step(t, gs)
                if kind == "lstm":
                    gn = gd * K1s[t] if carry is None else torch.addcmul(carry, gd, K1s[t])
                    if gC is not None:
                        gn = gn - gC[t]  # c = -n
                    torch.mul(torch.cat((gn, gn, gn, gd), 1), Grecs[t], out=Grecs[t])
                    carry = gn * Fgs[t]
                elif kind == "gru":
                    gh = gd if carry is None else gd + carry
                    if gC is not None:
                        gh = gh + gC[t]
                    gh1 = gh.unsqueeze(1)
                    torch.mul(gh1, MX[t], out=GX[t].unflatten(-1, (3, H)))
                    torch.mul(gh1, MH[t], out=GHP[t].unflatten(-1, (3, H)))
                    carry = gh * Z[t]
        needs = ctx.needs_input_grad
        g_v0, g_a0, g_s0_soma, g_params = soma.finish(needs[8:9] + needs[9:10] + needs[11:])
        g_s0 = None
        if needs[7]:
            g_s0 = G_rec[0] @ w_hh
            if g_s0_soma is not None:
                g_s0 = g_s0 + g_s0_soma
        g_c0 = None if kind == "rnn" else (c_carry if ctx.compiled else carry.neg() if kind == "lstm" else carry)
        g_x = g_w = None
        if needs[4]:
            g_x = GZ if kind == "lstm" else (GX if kind == "gru" else soma.GD)
        if needs[5]:
            g_w = (_spike_weight_grad(G_rec.flatten(0, 1), Sprev.flatten(0, 1)) if ctx.compiled
                   else _mm_tn(G_rec.flatten(0, 1), Sprev.flatten(0, 1)))
        g_b = GHP.sum((0, 1)) if (kind == "gru" and ctx.has_b_hh and needs[6]) else None
        return (None, None, None, None, g_x, g_w, g_b, g_s0, g_v0, g_a0, g_c0, *g_params)


def _soma_tensors(soma: SomaParams) -> tuple[SomaSpec, tuple]:
    """The fused path's description and tensors of ``soma`` (:class:`~spikernn.functional.LIFParams` or
    :class:`~spikernn.functional.AdLIFParams`)."""
    if isinstance(soma, DeltaParams):
        return SomaSpec("delta", "none", threshold=float(soma.threshold), activation=soma.activation,
                        straight_through=bool(soma.straight_through)), ()
    if isinstance(soma, AdLIFParams):
        return SomaSpec("adlif", soma.reset, False, soma.discretisation), (soma.alpha, soma.beta, soma.a, soma.b,
                                                                           soma.threshold)
    adaptive = soma.adapt_scale is not None
    return SomaSpec("lif", soma.reset, adaptive), (soma.decay, soma.threshold, soma.adapt_decay, soma.adapt_scale)


def fused_sequence(
    kind: str,
    x_proj: Tensor,
    weight_hh: Tensor,
    bias_hh: Optional[Tensor],
    soma: SomaParams,
    state: tuple[Tensor, Tensor, Tensor, Tensor],
    surrogate: Surrogate,
    surrogate_grad: Optional[Callable[[Tensor], Tensor]] = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Run a whole sequence with :class:`FusedSpikingSequence`; ``state = (s0, v0, a0, c0)``, ``soma`` the
    effective soma parameters (:func:`spikernn.neurons.soma_params`).

    ``bias_hh`` must be ``None`` for RNN/LSTM (fold it into ``x_proj``) and a tensor for GRU. For LSTM the g rows
    of ``x_proj`` and ``weight_hh`` must be doubled (multiply by :func:`lstm_gate_scale`). Returns the
    sequences ``(S, V, A, C)``, each (T,B,H). ``surrogate_grad``: closed-form derivative of ``surrogate``
    (see :mod:`spikernn.surrogates`); None evaluates it with autograd.
    """
    if getattr(soma, "reset", "none") not in RESETS:
        raise ValueError(f"reset must be one of {RESETS}, got {soma.reset!r}")
    s0, v0, a0, c0 = state
    if kind == "gru" and bias_hh is None:
        bias_hh = torch.zeros(weight_hh.shape[0], dtype=x_proj.dtype, device=x_proj.device)
    spec, params = _soma_tensors(soma)
    return FusedSpikingSequence.apply(kind, spec, surrogate, surrogate_grad, x_proj, weight_hh, bias_hh,
                                      s0, v0, a0, c0, *params)
