"""Pure step functions of the spiking neurons, with explicit state NamedTuples (Norse style).

Everything here implements ``docs/equations.md`` exactly; one call advances **one time step**. The modules in
:mod:`spikernn.cells` and :mod:`spikernn.layers` are thin wrappers over these functions, and the fused
whole-sequence path (:mod:`spikernn.fused`) is tested against them.

Conventions: tensors are ``(B, H)`` (batch, hidden); per-neuron parameters are ``(H,)``; ``x_proj`` is the
input projection ``W_ih x_t + b_ih`` (``(B, G*H)`` with ``G`` = 1, 4, 3 gates for RNN, LSTM, GRU).
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Optional, Union

import torch
from torch import Tensor

Surrogate = Callable[[Tensor], Tensor]
RESETS = ("subtract", "zero", "none")
DISCRETISATIONS = ("ef", "se")  # adLIF: Euler forward (Bittar & Garner 2022), symplectic Euler (Baronig et al. 2025)
DELTA_ACTIVATIONS = ("identity", "tanh")  # the sigma-delta soma's value: the drive itself (LSTM/GRU) or tanh (RNN)


class SomaState(NamedTuple):
    """State of the spiking soma, each (B, H): membrane ``v`` (after reset) and adaptation ``a``: the threshold
    trace of the LIF soma, or the adaptation current ``w`` of the adLIF soma."""

    v: Tensor
    a: Tensor


class RNNState(NamedTuple):
    """State of a spiking RNN neuron: last spikes ``s``, membrane ``v``, adaptation ``a``; each (..., B, H)."""

    s: Tensor
    v: Tensor
    a: Tensor


class LSTMState(NamedTuple):
    """State of a spiking LSTM neuron: ``s``, ``v``, ``a`` as :class:`RNNState` plus analog cell state ``c``."""

    s: Tensor
    v: Tensor
    a: Tensor
    c: Tensor


class GRUState(NamedTuple):
    """State of a spiking GRU neuron: ``s``, ``v``, ``a`` as :class:`RNNState` plus analog GRU state ``h``."""

    s: Tensor
    v: Tensor
    a: Tensor
    h: Tensor


STATE_TYPES = {"rnn": RNNState, "lstm": LSTMState, "gru": GRUState}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def default_surrogate() -> Surrogate:
    """The arctan surrogate (snntorch's ``atan``, ``alpha=2``): forward ``H(x) = x > 0``, backward
    ``1/(1+(pi x)^2)`` (:class:`spikernn.surrogates.Surrogate`)."""
    from spikernn.surrogates import Surrogate as _Surrogate

    return _Surrogate("atan")


def spike(x: Tensor, surrogate: Optional[Surrogate] = None) -> Tensor:
    """Heaviside ``H(x)`` with ``H(0) = 0`` in forward and the surrogate derivative in backward."""
    fn = surrogate if surrogate is not None else default_surrogate()
    out = fn(x)
    return out if out.dtype == x.dtype else out.to(x.dtype)


def reset_membrane(u: Tensor, s: Tensor, threshold: Tensor, reset: str, out: Optional[Tensor] = None) -> Tensor:
    """The reset rule, the core's one definition (docs/equations.md): the membrane after the spikes ``s``
    (0/1, detached by the caller in training): "subtract" ``u − θ s``, "zero" ``u (1 − s)``, "none" ``u``.

    ``out``: write the result there (the fused loops' in-place form, :mod:`spikernn.fused`). Its partial
    derivatives are :func:`reset_partials`."""
    if reset == "subtract":
        return torch.addcmul(u, s, threshold, value=-1.0, out=out)
    if reset == "zero":
        return torch.addcmul(u, u, s, value=-1.0, out=out)
    return u if out is None else out.copy_(u)


def reset_partials(s: Tensor, reset: str) -> tuple[Optional[Tensor], Optional[Tensor]]:
    """``(∂v/∂u, ∂v/∂θ)`` of :func:`reset_membrane` for the spikes ``s`` (which carry no gradient through the
    reset): "subtract" (1, −s), "zero" (1 − s, 0), "none" (1, 0); None stands for the constant 1 (∂v/∂u) or
    0 (∂v/∂θ), so that a backward pass can skip the product. Used by the fused backward (:mod:`spikernn.fused`)."""
    if reset == "subtract":
        return None, torch.neg(s)
    if reset == "zero":
        return torch.sub(1.0, s), None
    return None, None


def _check_reset(reset: str) -> None:
    if reset not in RESETS:
        raise ValueError(f"reset must be one of {RESETS}, got {reset!r}")


def soma_step(
    d: Tensor,
    state: SomaState,
    decay: Tensor,
    threshold: Tensor,
    reset: str = "subtract",
    adapt_decay: Optional[Tensor] = None,
    adapt_scale: Optional[Tensor] = None,
    surrogate: Optional[Surrogate] = None,
) -> tuple[Tensor, SomaState]:
    """One step of the LIF soma (docs/equations.md, "The spiking soma").

    ``u = β v + d``; ``θ = θ0 + b_a a``; ``s = H(u − θ)``; ``v ← reset(u, s)`` with the spike detached in the
    reset; ``a ← ρ a + s``. ``adapt_scale=None`` (or zero) disables adaptation (``a`` then still integrates
    spikes when ``adapt_decay`` is given, but never changes ``θ``).

    Returns ``(s, SomaState(v, a))``.
    """
    _check_reset(reset)
    u = torch.addcmul(d, decay, state.v)
    theta = threshold if adapt_scale is None else torch.addcmul(threshold, adapt_scale, state.a)
    s = spike(u - theta, surrogate)
    v = reset_membrane(u, s.detach(), theta, reset)
    a = state.a if adapt_decay is None else torch.addcmul(s, adapt_decay, state.a)
    return s, SomaState(v, a)


def adlif_step(
    d: Tensor,
    s_prev: Tensor,
    state: SomaState,
    alpha: Tensor,
    beta: Tensor,
    a: Tensor,
    b: Tensor,
    threshold: Tensor,
    reset: str = "subtract",
    discretisation: str = "ef",
    surrogate: Optional[Surrogate] = None,
) -> tuple[Tensor, SomaState]:
    """One step of the adaptive LIF soma with an adaptation current (docs/equations.md, "The adLIF soma").

    Bittar & Garner 2022 (Frontiers in Neuroscience 16:865897, code idiap/sparch), with the membrane ``v`` kept
    after reset as in the LIF soma and the adaptation current ``w`` in ``state.a``::

        u_t = α v_{t-1} + (1 − α)(d_t − w_{t-1})
        s_t = H(u_t − θ);  v_t = reset(u_t, s_t)              (spike detached in the reset)
        "ef": w_t = β w_{t-1} + (1 − β)(a v_{t-1} + b s_{t-1})   (Euler forward, Bittar & Garner)
        "se": w_t = β w_{t-1} + (1 − β)(a v_t + b s_t)           (symplectic Euler, Baronig et al. 2025)

    ``s_prev`` is ``s_{t-1}`` (used by "ef"). Returns ``(s_t, SomaState(v_t, w_t))``.
    """
    _check_reset(reset)
    if discretisation not in DISCRETISATIONS:
        raise ValueError(f"discretisation must be one of {DISCRETISATIONS}, got {discretisation!r}")
    u = torch.lerp(d - state.a, state.v, alpha)  # α v + (1 − α)(d − w)
    s = spike(u - threshold, surrogate)
    v = reset_membrane(u, s.detach(), threshold, reset)
    x, y = (state.v, s_prev) if discretisation == "ef" else (v, s)
    w = torch.lerp(torch.addcmul(a * x, b, y), state.a, beta)  # β w + (1 − β)(a x + b y)
    return s, SomaState(v, w)


def delta_step(d: Tensor, s_prev: Tensor, threshold: float, activation: str = "identity",
               straight_through: bool = False) -> tuple[Tensor, SomaState]:
    """One step of the sigma-delta (graded-spike) soma (docs/equations.md, "The sigma-delta soma").

    The neuron's value is ``y_t = d_t`` ("identity", the LSTM/GRU drive, in (-1, 1)) or ``tanh(d_t)``
    ("tanh", the RNN's); it sends a graded spike carrying the change ``y_t − ŝ_{t-1}`` only where
    ``|y_t − ŝ_{t-1}| > ϑ``, and every receiver (the next layer, its own recurrent synapses, a readout)
    accumulates the changes, so it holds ``ŝ_t = ŝ_{t-1} + m_t (y_t − ŝ_{t-1})`` with ``m_t`` the event mask.
    ``ŝ`` is the layer's output and the recurrent input (state field ``s``); ``y`` is kept in ``v``. The mask
    is detached, so the gradient is exact almost everywhere: ``∂ŝ_t/∂y_t = m_t``, ``∂ŝ_t/∂ŝ_{t-1} = 1 − m_t``.
    ``straight_through=True`` keeps the forward (bit for bit) and takes the straight-through gradient instead,
    ``∂ŝ_t/∂y_t = 1``, ``∂ŝ_t/∂ŝ_{t-1} = 0`` (the dense cell's gradient at the quantised forward).

    Returns ``(ŝ_t, SomaState(y_t, 0))``.
    """
    if activation not in DELTA_ACTIVATIONS:
        raise ValueError(f"activation must be one of {DELTA_ACTIVATIONS}, got {activation!r}")
    y = torch.tanh(d) if activation == "tanh" else d
    m = ((y - s_prev).abs() > threshold).to(y.dtype).detach()
    s = torch.addcmul(s_prev, m, y - s_prev)
    if straight_through:  # value s exactly (y − y is 0), gradient 1 to y and none to ŝ_{t-1}
        s = s.detach() + (y - y.detach())
    return s, SomaState(y, torch.zeros_like(y))


class LIFParams(NamedTuple):
    """Effective (clamped) parameters of the LIF soma, each (H,); ``adapt_*`` None without adaptation."""

    decay: Tensor
    threshold: Tensor
    reset: str = "subtract"
    adapt_decay: Optional[Tensor] = None
    adapt_scale: Optional[Tensor] = None


class AdLIFParams(NamedTuple):
    """Effective (clamped) parameters of the adLIF soma, each (H,): membrane decay ``alpha``, adaptation decay
    ``beta``, subthreshold coupling ``a``, spike-triggered jump ``b``, ``threshold``."""

    alpha: Tensor
    beta: Tensor
    a: Tensor
    b: Tensor
    threshold: Tensor
    reset: str = "subtract"
    discretisation: str = "ef"


class DeltaParams(NamedTuple):
    """Parameters of the sigma-delta soma: the event threshold ϑ >= 0 (one value per layer, as the hardware's
    ``delta_threshold``), the activation of the drive ("identity" or "tanh") and whether training takes the
    straight-through gradient (:func:`delta_step`; the forward is the same)."""

    threshold: float
    activation: str = "identity"
    straight_through: bool = False


SomaParams = Union[LIFParams, AdLIFParams, DeltaParams]


def soma_update(d: Tensor, s_prev: Tensor, state: SomaState, soma: SomaParams,
                surrogate: Optional[Surrogate] = None) -> tuple[Tensor, SomaState]:
    """One step of the soma ``soma`` describes (:class:`LIFParams`, :class:`AdLIFParams` or
    :class:`DeltaParams`) driven by ``d``."""
    if isinstance(soma, DeltaParams):
        return delta_step(d, s_prev, soma.threshold, soma.activation, soma.straight_through)
    if isinstance(soma, AdLIFParams):
        return adlif_step(d, s_prev, state, soma.alpha, soma.beta, soma.a, soma.b, soma.threshold, soma.reset,
                          soma.discretisation, surrogate)
    return soma_step(d, state, soma.decay, soma.threshold, soma.reset, soma.adapt_decay, soma.adapt_scale, surrogate)


def rnn_drive(x_proj: Tensor, s_prev: Tensor, weight_hh: Tensor, bias_hh: Optional[Tensor]) -> Tensor:
    """Drive of the spiking RNN cell: ``d = W_ih x + b_ih + W_hh s_{t-1} + b_hh`` (``x_proj`` holds the first two)."""
    d = torch.addmm(x_proj, s_prev, weight_hh.t())
    return d if bias_hh is None else d + bias_hh


def lstm_drive(
    x_proj: Tensor, s_prev: Tensor, c_prev: Tensor, weight_hh: Tensor, bias_hh: Optional[Tensor]
) -> tuple[Tensor, Tensor]:
    """Drive of the spiking LSTM cell; returns ``(d, c)``.

    ``[i,f,g,o] = x_proj + W_hh s_{t-1} + b_hh``; ``c = σ(f) c_{t-1} + σ(i) tanh(g)``; ``d = σ(o) tanh(c)``.
    """
    z = torch.addmm(x_proj, s_prev, weight_hh.t())
    if bias_hh is not None:
        z = z + bias_hh
    act = torch.sigmoid(z)
    i, f, _, o = act.chunk(4, dim=-1)
    g = torch.tanh(z.chunk(4, dim=-1)[2])
    c = torch.addcmul(f * c_prev, i, g)
    d = o * torch.tanh(c)
    return d, c


def gru_drive(
    x_proj: Tensor, s_prev: Tensor, h_prev: Tensor, weight_hh: Tensor, bias_hh: Optional[Tensor]
) -> tuple[Tensor, Tensor]:
    """Drive of the spiking GRU cell; returns ``(d, h)`` with ``d = h``.

    ``[r_h,z_h,n_h] = W_hh s_{t-1} + b_hh``; ``r = σ(r_i + r_h)``; ``z = σ(z_i + z_h)``;
    ``n = tanh(n_i + r n_h)``; ``h = (1 − z) n + z h_{t-1}``.
    """
    hp = s_prev @ weight_hh.t() if bias_hh is None else torch.addmm(bias_hh, s_prev, weight_hh.t())
    H = h_prev.shape[-1]
    rz = torch.sigmoid(x_proj[..., : 2 * H] + hp[..., : 2 * H])
    r, z = rz[..., :H], rz[..., H:]
    n = torch.tanh(torch.addcmul(x_proj[..., 2 * H :], r, hp[..., 2 * H :]))
    h = torch.addcmul(n, z, h_prev - n)
    return h, h


def cell_step(
    kind: str,
    x_proj: Tensor,
    state: tuple,
    weight_hh: Tensor,
    bias_hh: Optional[Tensor],
    soma: SomaParams,
    surrogate: Optional[Surrogate] = None,
) -> tuple[Tensor, tuple]:
    """One step of a spiking ``kind`` in {"rnn","lstm","gru"} cell: drive, then the soma ``soma``.

    Returns ``(s, new_state)`` (the state NamedTuple of ``kind``)."""
    if kind == "rnn":
        d = rnn_drive(x_proj, state.s, weight_hh, bias_hh)
        s, st = soma_update(d, state.s, SomaState(state.v, state.a), soma, surrogate)
        return s, RNNState(s, st.v, st.a)
    if kind == "lstm":
        d, c = lstm_drive(x_proj, state.s, state.c, weight_hh, bias_hh)
        s, st = soma_update(d, state.s, SomaState(state.v, state.a), soma, surrogate)
        return s, LSTMState(s, st.v, st.a, c)
    if kind == "gru":
        d, h = gru_drive(x_proj, state.s, state.h, weight_hh, bias_hh)
        s, st = soma_update(d, state.s, SomaState(state.v, state.a), soma, surrogate)
        return s, GRUState(s, st.v, st.a, h)
    raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")


def zero_state(kind: str, batch_shape: tuple, hidden_size: int, dtype=None, device=None) -> tuple:
    """All-zero initial state (``v = a = 0, s = 0``, ``c = h = 0``) of shape ``batch_shape + (hidden_size,)``."""
    cls = STATE_TYPES[kind]
    z = torch.zeros(*batch_shape, hidden_size, dtype=dtype, device=device)
    return cls(*([z] * len(cls._fields)))


def readout_step(s: Tensor, y_prev: Tensor, weight: Tensor, bias: Optional[Tensor], decay: Tensor) -> Tensor:
    """Leaky readout: ``y_t = β_out y_{t-1} + W_out s_t + b_out`` (``β_out = 0`` gives a linear readout)."""
    y = s @ weight.t()
    if bias is not None:
        y = y + bias
    return torch.addcmul(y, decay, y_prev)
