"""Closed-form derivatives of snntorch's surrogate spike functions, for the fused backward pass.

The forward spike is always snntorch's (Heaviside, ``x > 0``); these formulas reproduce the backward of the
named ``snntorch.surrogate`` function exactly (tested against autograd), evaluated over a whole (T,B,H)
tensor in a few in-place ops. Unknown surrogates fall back to autograd (:func:`spikernn.fused.surrogate_derivative`).
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from torch import Tensor


def _atan(alpha: float = 2.0) -> Callable[[Tensor], Tensor]:
    k2 = (math.pi / 2 * alpha) ** 2

    def d(x: Tensor) -> Tensor:  # alpha/2 / (1 + (pi/2 alpha x)^2), in two passes over x
        y = torch.addcmul(x.new_ones(()), x, x, value=k2)
        return torch.div(x.new_full((), alpha / 2), y, out=y)
    return d


def _fast_sigmoid(slope: float = 25.0) -> Callable[[Tensor], Tensor]:
    def d(x: Tensor) -> Tensor:  # 1 / (slope |x| + 1)^2
        return x.abs().mul_(slope).add_(1.0).square_().reciprocal_()
    return d


def _sigmoid(slope: float = 25.0) -> Callable[[Tensor], Tensor]:
    def d(x: Tensor) -> Tensor:  # slope * s (1 - s), s = sigmoid(slope x)
        s = x.mul(slope).sigmoid_()
        return s.sub(s.square()).mul_(slope)
    return d


_DERIVATIVES = {"atan": _atan, "fast_sigmoid": _fast_sigmoid, "sigmoid": _sigmoid}


def surrogate_derivative_for(name: object, options: Optional[dict] = None) -> Optional[Callable[[Tensor], Tensor]]:
    """Closed-form derivative of ``snntorch.surrogate.<name>(**options)``, or None if not known."""
    if not isinstance(name, str) or name not in _DERIVATIVES:
        return None
    try:
        return _DERIVATIVES[name](**(options or {}))
    except TypeError:
        return None
