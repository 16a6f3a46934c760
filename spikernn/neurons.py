"""Neuron options shared by all spiking cells and layers, and their per-neuron parameters.

Options (keyword arguments ``**neuron_options`` of every spiking cell/layer):

* ``decay`` (β, default 0.9): membrane decay per time step, in [0, 1]; ``learn_decay`` (default True).
* ``threshold`` (θ0, default 1.0): firing threshold > 0; ``learn_threshold`` (default False).
* ``reset``: "subtract" (default), "zero" or "none".
* ``adapt_decay`` (ρ, default 0.0) and ``adapt_scale`` (b_a, default 0.0): adaptive threshold
  ``θ_t = θ0 + b_a a_{t-1}``, ``a_t = ρ a_{t-1} + s_t``; disabled when ``adapt_scale == 0``. Fixed (buffers).
* ``surrogate``: a name of a function in ``snntorch.surrogate`` (default "atan") or any snntorch surrogate
  callable; ``surrogate_options``: keyword arguments for the named one (e.g. ``{"alpha": 2.0}``).

Learnable values are kept valid by clamping in the forward pass: effective β = clamp(decay, 0, 1),
effective θ0 = clamp(threshold, min=1e-3).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional, Union

import torch
from torch import Tensor, nn

from spikernn.functional import RESETS

MIN_THRESHOLD = 1e-3


@dataclass
class NeuronOptions:
    """Validated neuron options (see the module docstring for meanings and defaults)."""

    decay: float = 0.9
    learn_decay: bool = True
    threshold: float = 1.0
    learn_threshold: bool = False
    reset: str = "subtract"
    adapt_decay: float = 0.0
    adapt_scale: float = 0.0
    surrogate: Union[str, Callable, None] = "atan"
    surrogate_options: Optional[dict] = field(default=None)

    def __post_init__(self) -> None:
        for name in ("decay", "threshold", "adapt_decay", "adapt_scale"):
            val = getattr(self, name)
            if isinstance(val, bool) or not isinstance(val, (int, float)):
                raise TypeError(f"neuron option {name!r} must be a float, got {type(val).__name__}")
            if val != val or val in (float("inf"), float("-inf")):
                raise ValueError(f"neuron option {name!r} must be finite, got {val}")
        if not 0.0 <= self.decay <= 1.0:
            raise ValueError(f"decay must be in [0, 1], got {self.decay}")
        if not 0.0 <= self.adapt_decay <= 1.0:
            raise ValueError(f"adapt_decay must be in [0, 1], got {self.adapt_decay}")
        if self.threshold <= 0:
            raise ValueError(f"threshold must be > 0, got {self.threshold}")
        if self.adapt_scale < 0:
            raise ValueError(f"adapt_scale must be >= 0, got {self.adapt_scale}")
        if self.reset not in RESETS:
            raise ValueError(f"reset must be one of {RESETS}, got {self.reset!r}")
        if self.surrogate is None:
            self.surrogate = "atan"
        if isinstance(self.surrogate, str):
            from snntorch import surrogate as sg

            if not callable(getattr(sg, self.surrogate, None)) or self.surrogate[0].isupper():
                raise ValueError(f"unknown surrogate {self.surrogate!r}: use a function name of snntorch.surrogate")
        elif not callable(self.surrogate):
            raise TypeError(f"surrogate must be a name or a callable, got {type(self.surrogate).__name__}")

    @property
    def adaptive(self) -> bool:
        """True when the adaptive threshold is on (``adapt_scale > 0``)."""
        return self.adapt_scale > 0

    def surrogate_fn(self) -> Callable[[Tensor], Tensor]:
        """The surrogate spike function (forward Heaviside, backward surrogate derivative)."""
        if callable(self.surrogate):
            return self.surrogate
        from snntorch import surrogate as sg

        return getattr(sg, self.surrogate)(**(self.surrogate_options or {}))

    def surrogate_grad_fn(self) -> Optional[Callable[[Tensor], Tensor]]:
        """Closed-form derivative of the surrogate when it is a known snntorch name, else None."""
        from spikernn.surrogates import surrogate_derivative_for

        return surrogate_derivative_for(self.surrogate, self.surrogate_options)

    def to_config(self) -> dict[str, Any]:
        """JSON-able dict; a custom surrogate callable is recorded as "custom" (pass it again to ``load``)."""
        d = asdict(self)
        if callable(self.surrogate):
            d["surrogate"] = "custom"
        return d

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> "NeuronOptions":
        """Build from ``**neuron_options``; unknown names raise TypeError naming them."""
        known = set(cls.__dataclass_fields__)
        bad = sorted(set(kwargs) - known)
        if bad:
            raise TypeError(f"unknown neuron option(s) {bad}; known: {sorted(known)}")
        if kwargs.get("surrogate") == "custom":
            raise ValueError("this model was saved with a custom surrogate callable: pass surrogate=<callable>")
        return cls(**kwargs)


def register_neuron_tensors(module: nn.Module, suffix: str, hidden_size: int, opts: NeuronOptions) -> None:
    """Create ``decay{suffix}``, ``threshold{suffix}`` (parameters if learnable, else buffers) and
    ``adapt_decay{suffix}``, ``adapt_scale{suffix}`` (buffers) on ``module``, each of shape (hidden_size,)."""
    for name, val, learn in (("decay", opts.decay, opts.learn_decay), ("threshold", opts.threshold, opts.learn_threshold)):
        t = torch.full((hidden_size,), float(val))
        if learn:
            module.register_parameter(name + suffix, nn.Parameter(t))
        else:
            module.register_buffer(name + suffix, t)
    module.register_buffer("adapt_decay" + suffix, torch.full((hidden_size,), float(opts.adapt_decay)))
    module.register_buffer("adapt_scale" + suffix, torch.full((hidden_size,), float(opts.adapt_scale)))


def effective_neuron_tensors(module: nn.Module, suffix: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(decay, threshold, adapt_decay, adapt_scale)`` as used in the equations (clamped), each (H,)."""
    decay = getattr(module, "decay" + suffix).clamp(0.0, 1.0)
    threshold = getattr(module, "threshold" + suffix).clamp(min=MIN_THRESHOLD)
    return decay, threshold, getattr(module, "adapt_decay" + suffix), getattr(module, "adapt_scale" + suffix)
