"""Fused whole-sequence spiking RNN/LSTM/GRU: one autograd node per layer and direction.

The forward pass loops over time without building a graph, keeping what the backward needs; the backward is
hand-written BPTT with the surrogate derivative of the spike. It computes exactly the equations of
``docs/equations.md`` (and the step functions of :mod:`spikernn.functional`; tests check that values and
gradients agree). Why: an autograd graph of ~15 small nodes per time step costs more than the arithmetic.

Inputs (``T`` time steps, ``B`` batch, ``H`` hidden, ``G`` gates):
    x_proj (T,B,G*H) = W_ih x_t + b_ih (+ b_hh for RNN/LSTM, whose b_hh just adds), weight_hh (G*H,H),
    bias_hh (G*H,) for GRU only (it is gated by r), decay/threshold/adapt_decay/adapt_scale (H,), initial
    state s0, v0, a0, c0 (c for LSTM, h for GRU, ignored for RNN), each (B,H).
Outputs: the sequences S, V, A, C (T,B,H): spikes, membrane after reset, adaptation trace, analog state.

Speed notes (CPU, float32; measured by ``benchmarks/bench_speed_cells.py``): the per-step GEMMs use oneDNN with
the recurrent weight packed once per sequence (~1.5x faster than the default BLAS on this machine), the
big weight-gradient GEMMs use oneDNN too (the gate gradient is read as a transposed weight, no transposed copy),
``tanh`` is evaluated as ``2 σ(2x) − 1`` (the LSTM takes its g rows doubled so one sigmoid covers all four gates,
and runs its loop on ``n = −c`` so that cell update and drive take 5 ops per step), the surrogate derivative has
a closed form for snntorch's named surrogates. Every one of these falls back to plain torch ops when unavailable (other devices, dtypes or builds).
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from spikernn.functional import Surrogate


def surrogate_derivative(surrogate: Surrogate, x: Tensor) -> Tensor:
    """Elementwise derivative of an (elementwise) snntorch surrogate at ``x``, for all of ``x`` in one call."""
    with torch.enable_grad():
        xi = x.detach().requires_grad_(True)
        y = surrogate(xi)
        (g,) = torch.autograd.grad(y, xi, torch.ones_like(y))
    return g


_ONEDNN = {"ok": None}


def _onednn_available() -> bool:
    if _ONEDNN["ok"] is None:
        try:
            w = torch.ops.mkldnn._reorder_linear_weight(torch.ones(2, 2), 1)
            y = torch.ops.mkldnn._linear_pointwise(torch.ones(1, 2), w, None, "none", [], "")
            _ONEDNN["ok"] = bool(torch.allclose(y, torch.full((1, 2), 2.0)))
        except Exception:  # noqa: BLE001 - any failure means: not usable in this build
            _ONEDNN["ok"] = False
    return _ONEDNN["ok"]


class _Matmul:
    """``x @ weight.T`` for a fixed weight and batch size, called once per time step.

    On CPU float32 (and when the torch build has it) the weight is pre-packed once for oneDNN, whose
    small-matrix GEMM is ~1.5x faster than the default BLAS here; otherwise ``torch.mm``. Same result up to
    float rounding.
    """

    def __init__(self, weight: Tensor, batch: int) -> None:
        self.weight_t = weight.t()
        self.packed = None
        if weight.device.type == "cpu" and weight.dtype == torch.float32 and _onednn_available():
            self.packed = torch.ops.mkldnn._reorder_linear_weight(weight.contiguous(), batch)

    def __call__(self, x: Tensor, add: Tensor) -> Tensor:
        """``add + x @ weight.T`` (a new tensor)."""
        if self.packed is not None:
            return torch.ops.mkldnn._linear_pointwise(x, self.packed, None, "none", [], "").add_(add)
        return torch.addmm(add, x, self.weight_t)


def _use_onednn(t: Tensor) -> bool:
    return t.device.type == "cpu" and t.dtype == torch.float32 and _onednn_available()


def _mm_tn(a: Tensor, b: Tensor) -> Tensor:
    """``a.T @ b`` for tall a (N,M), b (N,K) (weight gradients summed over steps and batch): oneDNN on CPU
    float32 when available (~2x faster than the default BLAS here), else torch.mm. oneDNN takes ``a`` as a
    transposed (strided) weight, so only the narrower ``b`` is copied."""
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
    """``x @ weight.T + bias`` for 2-D ``x``; oneDNN GEMMs on CPU float32 when available, else torch's."""
    if _use_onednn(x) and _use_onednn(weight):
        return _Linear.apply(x, weight, bias)
    return torch.nn.functional.linear(x, weight, bias)


def lstm_gate_scale(hidden_size: int, dtype=None, device=None) -> Tensor:
    """(4H,) factors [1, 1, 2, 1] per gate block (i, f, g, o): the fused LSTM takes the g rows of ``x_proj``
    and ``weight_hh`` doubled, so one sigmoid gives all gates (``tanh(g) = 2 σ(2g) − 1``)."""
    s = torch.ones(4 * hidden_size, dtype=dtype, device=device)
    s[2 * hidden_size : 3 * hidden_size] = 2.0
    return s


def _fire(u: Tensor, v: Tensor, a: Tensor, theta: Tensor, ba: Tensor, rho: Tensor, reset: str, adaptive: bool,
          s_out: Tensor, v_out: Tensor, a_out: Optional[Tensor]) -> tuple[Tensor, Tensor, Tensor]:
    """The soma after the drive (docs/equations.md): threshold, spike, reset, adaptation trace, written into
    ``s_out``, ``v_out``, ``a_out``; returns the new ``(s, v, a)``. ``u`` is the membrane before reset."""
    th = torch.addcmul(theta, ba, a) if adaptive else theta
    s = torch.gt(u, th, out=s_out)
    if reset == "subtract":
        v = torch.addcmul(u, s, th, value=-1.0, out=v_out)
    elif reset == "zero":
        v = torch.addcmul(u, u, s, value=-1.0, out=v_out)
    else:
        v = v_out.copy_(u)
    if adaptive:
        a = torch.addcmul(s, rho, a, out=a_out)
    return s, v, a


class FusedSpikingSequence(torch.autograd.Function):
    """``apply(kind, reset, adaptive, surrogate, x_proj, weight_hh, bias_hh, decay, threshold, adapt_decay,
    adapt_scale, s0, v0, a0, c0) -> (S, V, A, C)``; see the module docstring.

    State sequences are kept in (T+1,B,H) buffers whose entry 0 is the initial state, so "previous step"
    values are views. tanh is evaluated as ``2 σ(2x) − 1`` (the same function; faster on CPU).
    """

    @staticmethod
    def forward(ctx, kind, reset, adaptive, surrogate, x_proj, w_hh, b_hh, beta, theta, rho, ba, s0, v0, a0, c0,
                surrogate_grad=None):
        T, B, _ = x_proj.shape
        H = w_hh.shape[1]
        opts = dict(dtype=x_proj.dtype, device=x_proj.device)
        S = torch.empty(T + 1, B, H, **opts)
        V = torch.empty(T + 1, B, H, **opts)
        C = torch.empty(T + 1, B, H, **opts)
        U = torch.empty(T, B, H, **opts)
        A = torch.empty(T + 1, B, H, **opts) if adaptive else None
        S[0], V[0], C[0] = s0, v0, c0
        if adaptive:
            A[0] = a0
        m1 = torch.tensor(-1.0, **opts)
        two = torch.tensor(2.0, **opts)
        s, v, a = s0, v0, a0
        saved: tuple = ()
        if kind == "lstm":
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
            Ss, Vs, Ns, Us, Qs = S.unbind(0), V.unbind(0), C.unbind(0), U.unbind(0), Q.unbind(0)
            As = A.unbind(0) if adaptive else None
            n = Ns[0]
            for t in range(T):
                torch.sigmoid(mm(s, xs[t]), out=acts[t])
                i = Is[t]
                n = torch.addcmul(i, Fs[t], n, out=Ns[t + 1])
                n.addcmul_(i, SGs[t], value=-2.0)
                q = torch.mul(n, two, out=Qs[t]).sigmoid_()
                o = Os[t]
                u = torch.addcmul(o, o, q, value=-2.0, out=Us[t]).addcmul_(beta, v)
                s, v, a = _fire(u, v, a, theta, ba, rho, reset, adaptive, Ss[t + 1], Vs[t + 1], As[t + 1] if adaptive else None)
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
                hp = torch.addmm(b_hh, s, w_t, out=HP[t])
                act = ACT[t]
                torch.sigmoid(xt[:, :H2] + hp[:, :H2], out=act[:, :H2])
                n = torch.addcmul(xt[:, H2:], act[:, :H], hp[:, H2:])
                n = torch.sigmoid(n.mul_(two), out=act[:, H2:])
                n = torch.add(m1, n, alpha=2, out=n)
                h = torch.addcmul(n, act[:, H:H2], h - n, out=C[t + 1])
                u = torch.addcmul(h, beta, v, out=U[t])
                s, v, a = _fire(u, v, a, theta, ba, rho, reset, adaptive, S[t + 1], V[t + 1], A[t + 1] if adaptive else None)
            saved = (ACT, HP)
        elif kind == "rnn":
            mm = _Matmul(w_hh, B)
            for t in range(T):
                z = mm(s, x_proj[t])
                u = torch.addcmul(z, beta, v, out=U[t])
                s, v, a = _fire(u, v, a, theta, ba, rho, reset, adaptive, S[t + 1], V[t + 1], A[t + 1] if adaptive else None)
            C[1:] = 0.0
        else:
            raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
        if not adaptive:
            A = a0.unsqueeze(0).expand(T + 1, B, H)
        ctx.kind, ctx.reset, ctx.adaptive, ctx.surrogate = kind, reset, adaptive, surrogate
        ctx.surrogate_grad = surrogate_grad
        ctx.has_b_hh = b_hh is not None
        ctx.save_for_backward(w_hh, beta, theta, rho, ba, S, V, U, A, C, *saved)
        ctx.set_materialize_grads(False)
        return S[1:], V[1:], A[1:], C[1:]

    @staticmethod
    @once_differentiable
    def backward(ctx, gS, gV, gA, gC):
        kind, reset, adaptive = ctx.kind, ctx.reset, ctx.adaptive
        w_hh, beta, theta, rho, ba, S, V, U, A, C, *saved = ctx.saved_tensors
        T, B, H = U.shape
        H2 = 2 * H
        opts = dict(dtype=U.dtype, device=U.device)
        Sprev, Snow = S[:-1], S[1:]
        TH = torch.addcmul(theta, ba, A[:-1]) if adaptive else theta
        if ctx.surrogate_grad is not None:
            PHI = ctx.surrogate_grad(torch.sub(U, TH))
        else:
            PHI = surrogate_derivative(ctx.surrogate, U - TH)
        if gS is None:
            gS = torch.zeros(T, B, H, **opts)
        GU = torch.empty(T, B, H, **opts)
        GTH = torch.empty(T, B, H, **opts) if adaptive else None
        one = torch.tensor(1.0, **opts)
        if kind == "lstm":
            # BPTT through n = -c (see forward): g_n = dL/dn. M: d(pre-activation)/d(n or d) coefficients, so that
            # the gate gradients are gz = [g_n, g_n, g_n, g_u] * M; written over M step by step (M[t] used once).
            ACT, Q = saved
            zero = torch.zeros((), **opts)
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
            G_rec = GU
        mm_b = _Matmul(w_hh.t(), B)
        gSs, PHIs, GUs, Grecs = gS.unbind(0), PHI.unbind(0), GU.unbind(0), G_rec.unbind(0)
        if kind == "lstm":
            K1s, Fgs = K1.unbind(0), Fg.unbind(0)
        gu = None  # g_u_{t+1}
        carry = None  # LSTM: f_{t+1} g_n_{t+1} (n = -c);  GRU: z_{t+1} g_h_{t+1}
        ga_carry = None  # rho g_a_{t+1} + b_a g_theta_{t+1}
        for t in range(T - 1, -1, -1):
            if t == T - 1:
                gs = gSs[t]
            else:
                gs = mm_b(Grecs[t + 1], gSs[t])
            if adaptive:
                ga = ga_carry
                if gA is not None:
                    ga = gA[t] if ga is None else ga + gA[t]
                if ga is not None:
                    gs = gs + ga
            phi = PHIs[t]
            if gu is not None and gV is None and not adaptive and reset != "zero":
                # the common case, in one buffer: g_u = beta g_u' + phi g_s
                gu = torch.mul(beta, gu, out=GUs[t]).addcmul_(phi, gs)
            else:
                if gu is None:
                    gv = gV[t] if gV is not None else None
                else:
                    gv = beta * gu
                    if gV is not None:
                        gv = gv + gV[t]
                if gv is None:
                    gu = torch.mul(phi, gs, out=GUs[t])
                else:
                    gvu = gv * (one - Snow[t]) if reset == "zero" else gv
                    gu = torch.addcmul(gvu, phi, gs, out=GUs[t])
            if adaptive:
                gth = torch.mul(phi, gs, out=GTH[t]).neg_()
                if gv is not None and reset == "subtract":
                    gth.addcmul_(Snow[t], gv, value=-1.0)
                ga_new = gth * ba
                if ga is not None:
                    ga_new.addcmul_(rho, ga)
                ga_carry = ga_new
            if kind == "lstm":
                gn = gu * K1s[t] if carry is None else torch.addcmul(carry, gu, K1s[t])
                if gC is not None:
                    gn = gn - gC[t]  # c = -n
                torch.mul(torch.cat((gn, gn, gn, gu), 1), Grecs[t], out=Grecs[t])
                carry = gn * Fgs[t]
            elif kind == "gru":
                gh = gu if carry is None else gu + carry
                if gC is not None:
                    gh = gh + gC[t]
                gh1 = gh.unsqueeze(1)
                torch.mul(gh1, MX[t], out=GX[t].unflatten(-1, (3, H)))
                torch.mul(gh1, MH[t], out=GHP[t].unflatten(-1, (3, H)))
                carry = gh * Z[t]
        needs = ctx.needs_input_grad
        g_s0 = G_rec[0] @ w_hh if needs[11] else None
        g_v0 = beta * GU[0] if needs[12] else None
        g_a0 = ga_carry if adaptive else (gA.sum(0) if gA is not None else None)
        g_c0 = None if kind == "rnn" else (carry.neg() if kind == "lstm" else carry)
        g_x = g_w = None
        if needs[4]:
            g_x = GZ if kind == "lstm" else (GX if kind == "gru" else GU)
        if needs[5]:
            g_w = _mm_tn(G_rec.flatten(0, 1), Sprev.flatten(0, 1))
        g_b = GHP.sum((0, 1)) if (kind == "gru" and ctx.has_b_hh and needs[6]) else None
        g_beta = (GU * V[:-1]).sum((0, 1)) if needs[7] else None
        g_theta = None
        if needs[8]:
            if adaptive:
                g_theta = GTH.sum((0, 1))
            else:
                # g_theta_t = -phi_t g_s_t - [subtract] s_t g_v_t, and phi g_s = g_u - g_v (x (1-s) for "zero")
                GVp = torch.zeros_like(GU)
                GVp[:-1] = beta * GU[1:]
                if gV is not None:
                    GVp = GVp + gV
                if reset == "zero":
                    g_th = GVp * (one - Snow) - GU
                elif reset == "subtract":
                    g_th = GVp - GU - Snow * GVp
                else:
                    g_th = GVp - GU
                g_theta = g_th.sum((0, 1))
        g_ba = (GTH * A[:-1]).sum((0, 1)) if adaptive and needs[10] else None
        return (None, None, None, None, g_x, g_w, g_b, g_beta, g_theta, None, g_ba, g_s0, g_v0, g_a0, g_c0, None)


def fused_sequence(
    kind: str,
    x_proj: Tensor,
    weight_hh: Tensor,
    bias_hh: Optional[Tensor],
    decay: Tensor,
    threshold: Tensor,
    adapt_decay: Tensor,
    adapt_scale: Tensor,
    state: tuple[Tensor, Tensor, Tensor, Tensor],
    reset: str,
    adaptive: bool,
    surrogate: Surrogate,
    surrogate_grad: Optional[Callable[[Tensor], Tensor]] = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Run a whole sequence with :class:`FusedSpikingSequence`; ``state = (s0, v0, a0, c0)``.

    ``bias_hh`` must be ``None`` for RNN/LSTM (fold it into ``x_proj``) and a tensor for GRU. For LSTM the g rows
    of ``x_proj`` and ``weight_hh`` must be doubled (multiply by :func:`lstm_gate_scale`). Returns the
    sequences ``(S, V, A, C)``, each (T,B,H). ``surrogate_grad``: closed-form derivative of ``surrogate``
    (see :mod:`spikernn.surrogates`); None evaluates it with autograd.
    """
    s0, v0, a0, c0 = state
    if kind == "gru" and bias_hh is None:
        bias_hh = torch.zeros(weight_hh.shape[0], dtype=x_proj.dtype, device=x_proj.device)
    return FusedSpikingSequence.apply(
        kind, reset, adaptive, surrogate, x_proj, weight_hh, bias_hh, decay, threshold, adapt_decay, adapt_scale,
        s0, v0, a0, c0, surrogate_grad,
    )
