"""Surrogate spike functions: forward Heaviside ``H(x) = x > 0``, backward the derivative of a smooth stand-in.

The names are snntorch's (``snntorch.surrogate.atan``, ``fast_sigmoid``, ``sigmoid``; the formulas reproduce
their backward exactly, tested against snntorch). They are written here rather than taken from snntorch
because snntorch's are closures (``atan.<locals>.inner``: a model holding one cannot be pickled, so
``torch.save(model)``, ``deepcopy`` through pickle and multiprocessing fail) and autograd Functions without
``setup_context`` (``torch.func.grad``/``vmap`` refuse them). :class:`Surrogate` is a small module-level
callable that pickles by name, and :class:`SpikeFunction` supports ``torch.func`` (vmap rule generated, forward
AD via ``jvp``). The closed-form derivatives also serve the fused backward pass (one definition).

Other snntorch surrogate names still work through :class:`SnnTorchSurrogate` (picklable by name; no
``torch.func`` support), and any callable can be passed as ``surrogate=``.
"""
from __future__ import annotations

import functools
import inspect
import math
from typing import Callable, Optional

import torch
from torch import Tensor


def _atan(x: Tensor, alpha: float = 2.0) -> Tensor:
    """alpha/2 / (1 + (pi/2 alpha x)^2)"""
    k2 = (math.pi / 2 * alpha) ** 2
    return torch.addcmul(x.new_ones(()), x, x, value=k2).reciprocal_().mul_(alpha / 2)


def _fast_sigmoid(x: Tensor, slope: float = 25.0) -> Tensor:
    """1 / (slope |x| + 1)^2"""
    return x.abs().mul_(slope).add_(1.0).square_().reciprocal_()


def _sigmoid(x: Tensor, slope: float = 25.0) -> Tensor:
    """slope * s (1 - s), s = sigmoid(slope x), as slope * sigmoid(kx) * sigmoid(-kx) (exact in both tails)"""
    kx = x.mul(slope)
    return kx.sigmoid().mul_(kx.neg_().sigmoid_()).mul_(slope)


_DERIVATIVES = {"atan": _atan, "fast_sigmoid": _fast_sigmoid, "sigmoid": _sigmoid}


def surrogate_derivative_for(name: object, options: Optional[dict] = None) -> Optional[Callable[[Tensor], Tensor]]:
    """Closed-form derivative of ``snntorch.surrogate.<name>(**options)`` (a picklable partial), or None if
    not known."""
    if not isinstance(name, str) or name not in _DERIVATIVES:
        return None
    fn = _DERIVATIVES[name]
    try:
        inspect.signature(fn).bind(None, **(options or {}))
    except TypeError:
        return None
    return functools.partial(fn, **(options or {}))


class SpikeFunction(torch.autograd.Function):
    """``apply(x, surrogate) -> H(x)`` in ``x``'s dtype; backward ``g * surrogate.derivative(x)``."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Tensor, surrogate: "Surrogate") -> Tensor:
        return (x > 0).to(x.dtype)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        x, surrogate = inputs
        ctx.save_for_backward(x)
        ctx.save_for_forward(x)
        ctx.surrogate = surrogate

    @staticmethod
    def backward(ctx, g: Tensor):
        (x,) = ctx.saved_tensors
        return g * ctx.surrogate.derivative(x), None

    @staticmethod
    def jvp(ctx, x_t: Tensor, _s_t) -> Tensor:
        (x,) = ctx.saved_tensors
        return x_t * ctx.surrogate.derivative(x)


class Surrogate:
    """A named surrogate spike function (``"atan"``, ``"fast_sigmoid"``, ``"sigmoid"``) with its options;
    callable on a tensor. Pickles as ``(name, options)``.

    >>> sg = Surrogate("atan", {"alpha": 2.0})
    >>> sg(torch.tensor([-0.5, 0.0, 0.5])).tolist()
    [0.0, 0.0, 1.0]
    """

    def __init__(self, name: str, options: Optional[dict] = None) -> None:
        self.name, self.options = name, dict(options or {})
        derivative = surrogate_derivative_for(name, self.options)
        if derivative is None:
            raise ValueError(f"no closed-form surrogate {name!r} with options {self.options}; known: "
                             f"{sorted(_DERIVATIVES)}")
        self.derivative = derivative

    def __call__(self, x: Tensor) -> Tensor:
        return SpikeFunction.apply(x, self)

    def __reduce__(self):
        return (type(self), (self.name, self.options))

    def __repr__(self) -> str:
        return f"Surrogate({self.name!r}, {self.options})"


class SnnTorchSurrogate:
    """snntorch's surrogate ``snntorch.surrogate.<name>(**options)``, picklable by name (rebuilt on load)."""

    def __init__(self, name: str, options: Optional[dict] = None) -> None:
        from snntorch import surrogate as sg

        self.name, self.options = name, dict(options or {})
        self.fn = getattr(sg, name)(**self.options)

    def __call__(self, x: Tensor) -> Tensor:
        return self.fn(x)

    def __reduce__(self):
        return (type(self), (self.name, self.options))

    def __repr__(self) -> str:
        return f"SnnTorchSurrogate({self.name!r}, {self.options})"


def surrogate_names() -> tuple[str, ...]:
    """The surrogate names accepted: the public lowercase surrogate functions of ``snntorch.surrogate``
    (not its classes, helpers or dunder attributes; not ``custom_surrogate``, which needs a function)."""
    import inspect

    from snntorch import surrogate as sg

    return tuple(sorted(n for n, f in vars(sg).items() if inspect.isfunction(f) and f.__module__ == sg.__name__
                        and n.islower() and not n.startswith("_") and n != "custom_surrogate"))


def named_surrogate(name: str, options: Optional[dict] = None) -> Callable[[Tensor], Tensor]:
    """The surrogate for a snntorch function name: our :class:`Surrogate` when its derivative is known in
    closed form, else :class:`SnnTorchSurrogate`."""
    if surrogate_derivative_for(name, options) is not None:
        return Surrogate(name, options)
    return SnnTorchSurrogate(name, options)
