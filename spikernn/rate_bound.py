"""A bound on a population's mean firing rate that acts in training only (the backward pass).

A spiking layer's energy on neuromorphic hardware grows with its spikes, so a layer is worth most when its mean
firing rate r (spikes per neuron per valid time step) stays low. :func:`bound_rate` leaves the spikes as they are
(the forward pass, conversion and both hardware backends see exactly the same numbers) and adds, in the backward
pass, the gradient of the penalty

    P = λ · H · relu(r − r*)²,   r = Σ_valid s / (H · n_valid)

(:func:`rate_penalty`: H neurons, n_valid valid (time step, sequence) pairs, r* the target rate, λ the strength):
each valid spike gets ``2 λ relu(r − r*) / n_valid`` more gradient, which pushes the whole population's rate down
while it is above r* and does nothing below it. The factor H makes the push per spike independent of the layer's
width, at the scale of a loss that averages over sequences and time steps (a cross-entropy on the time-mean of the
spikes gives each spike a gradient of order 1 / (B · T)).

Why here and not in the user's loss: the plain drop-in swap (``nn.RNN`` -> ``snr.SpikingRNN``, the user's own
loop and loss) has no place for a regulariser, and SpikingRNN's default adLIF soma fires at 0.24-0.29 on speech
(``spikernn.neurons``, "Round 10"). The layers apply this bound per layer and direction when the neuron option
``rate_target`` is set (SpikingRNN's adLIF default 0.12, :data:`spikernn.neurons.CELL_RATE_BOUND`). Written by
hand: snntorch's rate regularisers (``snntorch.functional.reg``) are loss terms the user adds, not a bound inside
the layer, and they penalise every neuron rather than the population above a target.

>>> import torch
>>> s = torch.ones(4, 2, 3, requires_grad=True)     # (T, B, H): every neuron fires at every step, r = 1
>>> y = bound_rate(s, target=0.25, strength=1.0)
>>> bool(torch.equal(y, s))                          # the forward pass is the identity
True
>>> y.sum().backward()
>>> round(float(s.grad[0, 0, 0]), 4)                # 1 + 2 · 1 · (1 − 0.25) / (4 · 2)
1.1875
"""
from __future__ import annotations

import math
from typing import Optional

import torch
from torch import Tensor


def check_rate_target(target: object) -> Optional[float]:
    """``target`` validated: None (no bound) or a float in (0, 1) (spikes per neuron per time step)."""
    if target is None:
        return None
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not math.isfinite(target):
        raise TypeError(f"rate_target must be None or a finite float in (0, 1), got {target!r}")
    if not 0.0 < float(target) < 1.0:
        raise ValueError(f"rate_target must be in (0, 1) (spikes per neuron per time step), got {target}")
    return float(target)


def check_rate_strength(strength: object) -> float:
    """``strength`` (λ) validated: a finite float >= 0."""
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not math.isfinite(strength):
        raise TypeError(f"rate_strength must be a finite float >= 0, got {strength!r}")
    if strength < 0:
        raise ValueError(f"rate_strength must be >= 0, got {strength}")
    return float(strength)


def _rate(spikes: Tensor, mask: Optional[Tensor]) -> tuple[Tensor, Tensor]:
    """(r, n_valid): the population's mean rate over the valid elements and the number of valid (time step,
    sequence) pairs, both 0-d tensors on the spikes' device (no host sync)."""
    H = spikes.shape[-1]
    if mask is None:
        n = torch.full((), spikes.numel() // max(H, 1), dtype=spikes.dtype, device=spikes.device)
        return spikes.sum() / (n * H), n
    m = mask.expand_as(spikes)
    n = m.sum() / H
    return (spikes * m).sum() / (n * H).clamp(min=1), n


class _BoundRate(torch.autograd.Function):
    """Identity forward; backward adds ``2 λ relu(r − r*) / n_valid`` to every valid element's gradient."""

    generate_vmap_rule = True

    @staticmethod
    def forward(spikes: Tensor, mask: Optional[Tensor], target: float, strength: float) -> Tensor:
        return spikes.view_as(spikes)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        spikes, mask, target, strength = inputs
        ctx.save_for_backward(spikes, mask)
        ctx.target, ctx.strength = target, strength

    @staticmethod
    def backward(ctx, g: Tensor):
        spikes, mask = ctx.saved_tensors
        r, n = _rate(spikes.detach(), mask)
        push = 2.0 * ctx.strength * torch.relu(r - ctx.target) / n.clamp(min=1)
        extra = push if mask is None else push * mask.expand_as(spikes)
        return g + extra, None, None, None


def bound_rate(spikes: Tensor, target: Optional[float], strength: float = 1.0,
               mask: Optional[Tensor] = None) -> Tensor:
    """``spikes`` unchanged, with the gradient of :func:`rate_penalty` added in the backward pass (module
    docstring). ``spikes``: (..., H), one population of H neurons (a layer and direction), e.g. (T, B, H);
    ``target``: r* in (0, 1) or None (no bound: ``spikes`` returned as is); ``strength``: λ >= 0; ``mask``:
    None or a 0/1 tensor broadcastable to ``spikes`` (e.g. (T, B, 1)) marking the valid steps. Where no gradient
    is recorded the input is returned as is. ``torch.func``-ready (a vmap rule is generated)."""
    target, strength = check_rate_target(target), check_rate_strength(strength)
    if target is None or strength == 0.0 or not (torch.is_grad_enabled() and spikes.requires_grad):
        return spikes
    return _BoundRate.apply(spikes, mask, target, strength)


def rate_penalty(spikes: Tensor, target: float, strength: float = 1.0, mask: Optional[Tensor] = None) -> Tensor:
    """``λ · H · relu(r − r*)²`` (a 0-d tensor): the penalty whose gradient :func:`bound_rate` adds, for a
    caller who wants it as an explicit loss term (or to log it). Arguments as :func:`bound_rate`."""
    target, strength = check_rate_target(target), check_rate_strength(strength)
    if target is None:
        raise ValueError("rate_penalty needs a target rate in (0, 1), got None")
    r, _ = _rate(spikes, mask)
    return strength * spikes.shape[-1] * torch.relu(r - target) ** 2
