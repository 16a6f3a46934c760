"""Input checking and output layout shared by both backends.

Backends see one canonical layout: ``x`` as a float64 numpy array (T, B, I) and return ``y`` as (T, B, O)
aligned so that ``y[t]`` answers input step ``t``. This module converts from and back to the layout of the
source model (``batch_first``, unbatched, last-step readout).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Layout:
    """How the caller's input was laid out, to give the output the same shape and type."""

    batch_first: bool
    unbatched: bool
    torch_dtype: Any  # torch dtype of the caller's tensor, or None for numpy input
    lengths: np.ndarray | None


def prepare_input(net, x: Any, lengths: Any = None) -> tuple[np.ndarray, Layout]:
    """Validate ``x`` against ``net`` and return it as float64 (T, B, I) plus its layout."""
    torch_dtype = None
    try:
        import torch

        if isinstance(x, torch.nn.utils.rnn.PackedSequence):
            raise TypeError("PackedSequence input is not supported by the hardware runners; pass a padded tensor and `lengths`")
        if isinstance(x, torch.Tensor):
            torch_dtype = x.dtype
            if not (x.is_floating_point()):
                raise TypeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
            x = x.detach().cpu().double().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"input must be floating point, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    batch_first = bool(net.meta.get("batch_first", False))
    if x.ndim == 2:
        unbatched = True
        x = x[:, None, :]
    elif x.ndim == 3:
        unbatched = False
        if batch_first:
            x = np.transpose(x, (1, 0, 2))
    else:
        raise ValueError(f"input must have rank 2 (T, I) or 3 ({'B, T' if batch_first else 'T, B'}, I); got shape {x.shape}")
    if x.shape[2] != net.input_size:
        raise ValueError(f"input feature size {x.shape[2]} does not match the network's input size {net.input_size}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"input has no time steps or no batch items: shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("input contains NaN or inf")
    lens = None
    if lengths is not None:
        raw = np.asarray(lengths.cpu() if hasattr(lengths, "cpu") else lengths).reshape(-1)
        if raw.dtype.kind not in "iuf" or (raw.dtype.kind == "f" and not np.all(np.isfinite(raw) & (raw == np.round(raw)))):
            raise ValueError(f"lengths must be whole numbers of time steps, got {raw.tolist()[:8]}")
        lens = raw.astype(np.int64)
        if lens.shape[0] != x.shape[1]:
            raise ValueError(f"lengths has {lens.shape[0]} entries for a batch of {x.shape[1]}")
        if lens.min() < 1 or lens.max() > x.shape[0]:
            raise ValueError(f"lengths must lie in [1, {x.shape[0]}], got min {lens.min()} max {lens.max()}")
    return np.ascontiguousarray(x), Layout(batch_first, unbatched, torch_dtype, lens)


def format_output(net, y_tbo: np.ndarray, layout: Layout):
    """Turn a backend's (T, B, O) output into the source model's output shape, as a torch tensor."""
    import torch

    mode = net.meta.get("output", "sequence")
    if mode == "last_step":
        T, B = y_tbo.shape[:2]
        idx = (layout.lengths - 1) if layout.lengths is not None else np.full(B, T - 1)
        y = y_tbo[idx, np.arange(B)]  # (B, O)
        if layout.unbatched:
            y = y[0]
    elif mode == "sequence":
        y = y_tbo
        if layout.unbatched:
            y = y[:, 0]
        elif layout.batch_first:
            y = np.transpose(y, (1, 0, 2))
    else:
        raise ValueError(f"network meta 'output' must be 'sequence' or 'last_step', got {mode!r}")
    dtype = layout.torch_dtype if layout.torch_dtype in (torch.float64,) else torch.float32
    return torch.from_numpy(np.ascontiguousarray(y)).to(dtype)
