"""Input validation with clear error messages (shape, rank, dtype, NaN/inf).

Shape, rank and dtype checks read only metadata. The NaN/inf check reads values, which on an accelerator
means waiting for the device (a host synchronisation): by default (:func:`set_finite_checks` ``"cpu"``) it runs
on CPU tensors only, where it costs one reduction and no wait, and is skipped on other devices, while
``torch.compile`` traces and under ``torch.func`` transforms (where a value cannot steer Python control flow).
``"always"`` checks everywhere outside those two; ``"never"`` turns it off.
"""
from __future__ import annotations

import numbers

import torch
from torch import Tensor

FINITE_CHECKS = ("cpu", "always", "never")
_FINITE = {"mode": "cpu"}


def set_finite_checks(mode: str) -> str:
    """Where inputs are checked for NaN/inf: "cpu" (default), "always" or "never" (module docstring).
    Returns the previous mode.

    >>> old = set_finite_checks("always")   # e.g. while debugging on a GPU
    >>> _ = set_finite_checks(old)
    """
    if mode not in FINITE_CHECKS:
        raise ValueError(f"finite-check mode must be one of {FINITE_CHECKS}, got {mode!r}")
    old, _FINITE["mode"] = _FINITE["mode"], mode
    return old


def is_transformed(x: Tensor) -> bool:
    """True for a tensor inside a ``torch.func`` transform (grad, vmap, jvp, ...)."""
    fn = getattr(getattr(torch._C, "_functorch", None), "is_functorch_wrapped_tensor", None)
    return bool(fn(x)) if fn is not None else False


def current_transform() -> str:
    """The innermost active ``torch.func`` transform ("grad", "vmap", "jvp", ...), or "" when none is."""
    peek = getattr(getattr(torch._C, "_functorch", None), "peek_interpreter_stack", None)
    interp = peek() if peek is not None else None
    return interp.key().name.lower() if interp is not None else ""


def _check_values(x: Tensor) -> bool:
    mode = _FINITE["mode"]
    if mode == "never" or torch.compiler.is_compiling() or is_transformed(x):
        return False
    return mode == "always" or x.device.type == "cpu"


def check_tensor(x: object, name: str = "input") -> Tensor:
    """Raise TypeError unless ``x`` is a floating-point tensor; ValueError if it holds NaN or inf (where
    values are checked: see :func:`set_finite_checks`)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must have a floating-point dtype, got {x.dtype} (convert with .float())")
    # fast path: one reduction; a non-finite sum means NaN/inf somewhere, or (rarely) overflow: check exactly
    if x.numel() and _check_values(x) and not bool(torch.isfinite(x.sum())) and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or inf values")
    return x


def check_features(x: Tensor, ranks: tuple[int, ...], features: int, name: str = "input", layout: str = "") -> Tensor:
    """Check rank is in ``ranks`` and the last dimension equals ``features``; dtype and finiteness too."""
    check_tensor(x, name)
    if x.dim() not in ranks:
        raise ValueError(f"{name} must have rank {' or '.join(map(str, ranks))} {layout}, got shape {tuple(x.shape)}")
    if x.shape[-1] != features:
        raise ValueError(f"{name} has feature size {x.shape[-1]} (last dim), expected {features}")
    return x


def check_positive_int(value: object, name: str) -> int:
    """``value`` as an int if it is a positive integer (Python or numpy, not a bool), else ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def check_bool(value: object, name: str) -> bool:
    """``value`` if it is a bool (Python or numpy), else TypeError naming ``name`` (``"yes"`` or 1 is not read
    as True)."""
    if type(value).__name__ == "bool_" or isinstance(value, bool):
        return bool(value)
    raise TypeError(f"{name} must be a bool (True or False), got {value!r} ({type(value).__name__})")


def check_same_dtype(x: Tensor, ref: Tensor, name: str = "input", ref_name: str = "weight") -> Tensor:
    """ValueError (as ``torch.nn.RNN`` gives) unless ``x`` has the dtype of ``ref`` (the module's weight)."""
    if x.dtype != ref.dtype and not torch.is_autocast_enabled(x.device.type):  # torch skips it under autocast too
        raise ValueError(f"{name} dtype ({x.dtype}) does not match the {ref_name} dtype ({ref.dtype}): convert with "
                         f".to({ref.dtype}) (or the model with .to({x.dtype}))")
    return x
