"""A converted network over a whole data split: batched by length, activity merged over the batches.

Used by ``spikernn simulate`` and the examples (the demo's whole-split run is ``energy.compare``'s Loihi row,
see :mod:`spikernn.app.reports`).
"""
from __future__ import annotations

import time
from typing import Any, Callable, Optional

import numpy as np
import torch

from spikernn.datasets import SequenceData


def net_input(net: Any, x_btf: torch.Tensor) -> torch.Tensor:
    """Data are (B, T, I); a network converted from a non-batch-first model wants (T, B, I)."""
    return x_btf if net.meta.get("batch_first", False) else x_btf.transpose(0, 1).contiguous()


def merge_stats(parts: list) -> Any:
    """Sum several :class:`~spikernn.hardware.ActivityStats` (batches of one data set) into one: per-step
    arrays are zero-padded to the longest run and added, batch sizes add up."""
    from spikernn.hardware.stats import ActivityStats

    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    steps = max(p.steps for p in parts)

    def add(maps: list[dict]) -> dict:
        out: dict[str, np.ndarray] = {}
        for m in maps:
            for k, v in m.items():
                v = np.asarray(v, dtype=np.int64)
                acc = out.setdefault(k, np.zeros(steps, dtype=np.int64))
                acc[: v.shape[0]] += v
        return out

    nu: dict[str, int] = {}
    for p in parts:
        for k, v in p.neuron_updates.items():
            nu[k] = nu.get(k, 0) + int(v)
    bits: dict[str, int] = {}
    for p in parts:
        bits.update(p.message_bits)
    return ActivityStats(steps=steps, batch=sum(p.batch for p in parts), events=add([p.events for p in parts]),
                         synaptic_ops=add([p.synaptic_ops for p in parts]), neuron_updates=nu, message_bits=bits,
                         core_hops=add([p.core_hops for p in parts]))


def simulate_dataset(net: Any, data: SequenceData, backend: str = "fast", batch_size: int = 128,
                     on_batch: Optional[Callable[[int], None]] = None, **options: Any) -> dict[str, Any]:
    """Run ``net`` on every sequence of ``data``: sequences are batched by length (little padding), each batch
    trimmed to its longest sequence. Returns accuracy (when the network ends in one logit per class read at
    the last valid step or pooled over time), predictions, outputs, merged activity statistics and activity per inference."""
    n = len(data)
    order = torch.argsort(data.lengths, stable=True)
    outputs: list[Optional[torch.Tensor]] = [None] * n
    stats_parts = []
    t0 = time.perf_counter()
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        T = int(data.lengths[idx].max())
        x = data.x[idx, :T]
        y, st = net.simulate(net_input(net, x), backend=backend, lengths=data.lengths[idx], **options)
        y = torch.as_tensor(y)
        if y.dim() == 3:  # sequence output: take the last valid step of each item
            y = (y if net.meta.get("batch_first", False) else y.transpose(0, 1))
            y = y[torch.arange(len(idx)), data.lengths[idx] - 1]
        for j, k in enumerate(idx.tolist()):
            outputs[k] = y[j]
        stats_parts.append(st)
        if on_batch is not None:
            on_batch(len(idx))
    seconds = time.perf_counter() - t0
    out = torch.stack(outputs).float()
    stats = merge_stats(stats_parts)
    pred = out.argmax(-1)
    from spikernn.hardware.io import POOLED_OUTPUTS

    is_classifier = net.meta.get("output") in POOLED_OUTPUTS and out.shape[-1] > int(data.y.max())
    acc = float((pred == data.y).double().mean()) if is_classifier else None
    per_inf = stats.per_inference() if stats is not None else {}
    return {"accuracy": acc, "predictions": pred, "outputs": out, "stats": stats, "per_inference": per_inf,
            "steps_per_inference": float(data.lengths.float().mean()), "seconds": seconds, "sequences": n,
            "backend": backend}
