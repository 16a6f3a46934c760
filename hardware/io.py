"""Input checking and output layout shared by both backends.

Backends see one canonical layout: ``x`` as a float64 numpy array (T, B, I) and return ``y`` as (T, B, O)
aligned so that ``y[t]`` answers input step ``t``. This module converts from and back to the layout of the
source model (``batch_first``, unbatched, last-step readout).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from spikernn.hardware.backends.base import NOT_FINITE_INPUT, check_feature_size


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
            if net.meta.get("input_encoding") == "one_hot" and not x.is_floating_point():
                x = x.detach().cpu().numpy()  # token ids: one-hot below
                torch_dtype = torch.float32
            elif not (x.is_floating_point()):
                raise TypeError(f"input must be a floating-point tensor, got dtype {x.dtype}")
            else:
                x = x.detach().cpu().double().numpy()
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    x = np.asarray(x)
    if net.meta.get("input_encoding") == "one_hot" and x.dtype.kind in "iub":
        x = one_hot_ids(net, x)
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
    if net.meta.get("input_unfold"):
        x = unfold_windows(x, net.meta["input_unfold"])
    check_feature_size(x, net)
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"input has no time steps or no batch items: shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(NOT_FINITE_INPUT)
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


POOLED_OUTPUTS = ("last_step", "mean", "sum", "max")  # meta["output"] values read at or over time, (B, O)


def one_hot_ids(net, ids: np.ndarray) -> np.ndarray:
    """Token ids (T, B) / (B, T) / (T,) -> float one-hot vectors (..., V): the host's input stage of a network
    converted from an ``nn.Embedding`` model (the embedding table is folded into the first synapses)."""
    V = int(net.meta["vocab_size"])
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"this network takes token ids (integers) as an nn.Embedding does, got dtype {ids.dtype}")
    if ids.ndim not in (1, 2):
        raise ValueError(f"token ids must have rank 1 (T,) or 2, got shape {ids.shape}")
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"token ids must lie in [0, {V}), got min {ids.min()} max {ids.max()}")
    return np.eye(V, dtype=np.float64)[ids]


def unfold_windows(x: np.ndarray, spec: dict) -> np.ndarray:
    """(T, B, F) -> (T_out, B, F*K): each output step's window of K frames of a ``Conv1d`` over time (zero
    padded, ``stride``, ``dilation``), feature-major like the kernel ``weight.reshape(C, F*K)``: the host's
    input stage of a network converted from a Conv1d front end (it only rearranges values)."""
    F, K, st, d = (int(spec[k]) for k in ("features", "kernel_size", "stride", "dilation"))
    if x.shape[2] != F:
        raise ValueError(f"input feature size {x.shape[2]} does not match the Conv1d's {F} input channels")
    T, B = x.shape[:2]
    xp = np.concatenate([np.zeros((int(spec["pad_left"]), B, F)), x, np.zeros((int(spec["pad_right"]), B, F))])
    T_out = (xp.shape[0] - d * (K - 1) - 1) // st + 1
    if T_out < 1:
        raise ValueError(f"{T} input steps are fewer than the Conv1d's receptive field ({d * (K - 1) + 1})")
    win = np.stack([xp[k * d: k * d + st * (T_out - 1) + 1: st] for k in range(K)], axis=-1)  # (T_out, B, F, K)
    return np.ascontiguousarray(win.reshape(T_out, B, F * K))


def format_output(net, y_tbo: np.ndarray, layout: Layout):
    """Turn a backend's (T, B, O) output into the source model's output shape, as a torch tensor.

    Pooled outputs (``meta["output"]`` in :data:`POOLED_OUTPUTS`) are read on the host from the output
    populations' per-step values: at the last (valid) step, or their mean / sum / max over the (valid) steps
    (``meta["pool_valid"]``: over each sequence's ``lengths``, default True), then ``meta["output_bias"]``
    added (a Linear after a sum over time adds its bias once)."""
    import torch

    mode = net.meta.get("output", "sequence")
    if mode in POOLED_OUTPUTS:
        T, B = y_tbo.shape[:2]
        lens = layout.lengths if (layout.lengths is not None and net.meta.get("pool_valid", True)) else np.full(B, T)
        if mode == "last_step":
            y = y_tbo[lens - 1, np.arange(B)]  # (B, O)
        else:
            valid = (np.arange(T)[:, None] < lens[None, :])[..., None]  # (T, B, 1)
            if mode == "max":
                y = np.where(valid, y_tbo, -np.inf).max(axis=0)
            else:
                y = np.where(valid, y_tbo, 0.0).sum(axis=0)
                if mode == "mean":
                    y = y / lens[:, None]
        if net.meta.get("output_bias") is not None:
            y = y + np.asarray(net.meta["output_bias"], np.float64)
        if layout.unbatched:
            y = y[0]
    elif mode == "sequence":
        y = y_tbo
        if net.meta.get("zero_invalid") and layout.lengths is not None:  # padded back (pad_packed_sequence)
            fill = np.asarray(net.meta.get("invalid_fill") or 0.0, np.float64)
            y = np.where((np.arange(y.shape[0])[:, None] < layout.lengths[None, :])[..., None], y, fill)
        if layout.unbatched:
            y = y[:, 0]
        elif layout.batch_first:
            y = np.transpose(y, (1, 0, 2))
    else:
        raise ValueError(f"network meta 'output' must be 'sequence' or one of {POOLED_OUTPUTS}, got {mode!r}")
    dtype = layout.torch_dtype if layout.torch_dtype in (torch.float64,) else torch.float32
    return torch.from_numpy(np.ascontiguousarray(y)).to(dtype)
