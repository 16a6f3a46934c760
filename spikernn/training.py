"""Training and evaluation helpers for sequence classifiers taking ``(x, lengths)`` and returning logits.

Written so a ``DistributedSampler``/DDP wrapper can be used: pass ``sampler=`` (its ``set_epoch`` is called
each epoch) and a DDP-wrapped model (the spiking layers are found through ``.module``).
"""
from __future__ import annotations

import math
import time
from typing import Any, Optional

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from spikernn.datasets import SequenceData


def _spiking_layers(model: nn.Module) -> list[nn.Module]:
    from spikernn.layers import _SpikingRNNBase

    core = getattr(model, "module", model)
    return [m for m in core.modules() if isinstance(m, _SpikingRNNBase)]


def _loader(data: Any, batch_size: int, shuffle: bool, sampler=None, seed: Optional[int] = None) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    ds = data.dataset() if isinstance(data, SequenceData) else data
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler, generator=g)


def _trim(x: Tensor, lengths: Tensor) -> Tensor:
    """Drop padding steps beyond the longest sequence of the batch (saves time)."""
    return x[:, : int(lengths.max())]


@torch.no_grad()
def evaluate(model: nn.Module, data: Any, batch_size: int = 256) -> dict[str, float]:
    """Accuracy, mean cross-entropy and (spiking models) mean firing rate over ``data``.

    ``data``: a :class:`SequenceData`, a dataset of ``(x, lengths, y)`` or a DataLoader of them.
    """
    was = model.training
    model.eval()
    n, correct, loss_sum, spikes, neuron_steps = 0, 0, 0.0, 0.0, 0
    for x, lengths, y in _loader(data, batch_size, False):
        logits = model(_trim(x, lengths), lengths)
        loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        correct += int((logits.argmax(-1) == y).sum())
        n += int(y.shape[0])
        for layer in _spiking_layers(model):
            for a in layer.last_activity:
                spikes += a.total_spikes
                neuron_steps += a.neuron_steps
    model.train(was)
    out = {"accuracy": correct / max(n, 1), "loss": loss_sum / max(n, 1), "n": n}
    if neuron_steps:
        out["firing_rate"] = spikes / neuron_steps
    return out


def train(
    model: nn.Module,
    train_data: Any,
    *,
    epochs: int = 30,
    batch_size: int = 32,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    optimizer: Optional[torch.optim.Optimizer] = None,
    scheduler: str = "cosine",
    clip_grad: Optional[float] = 1.0,
    rate_reg: float = 0.0,
    target_rate: Optional[float] = None,
    tbptt: Optional[int] = None,
    val_data: Any = None,
    input_noise: float = 0.0,
    sampler=None,
    seed: Optional[int] = 0,
    progress: bool = True,
) -> dict[str, list]:
    """Train a classifier with Adam (or ``optimizer``) on cross-entropy; returns the history.

    Args:
        epochs, batch_size, lr, weight_decay: the usual. scheduler: "cosine" (to 0 over all steps) or "none".
        clip_grad: max gradient norm (None: no clipping).
        rate_reg: weight of the firing-rate regulariser: ``rate_reg * mean(r_l)`` over spiking layers, or
            ``rate_reg * mean((r_l - target_rate)^2)`` when ``target_rate`` is given (r = spikes per neuron
            per step; energy scales with spikes).
        tbptt: truncate backpropagation through time every ``tbptt`` time steps (None: full BPTT).
        input_noise: std of Gaussian noise added to the inputs in training (data augmentation).
        val_data: evaluated after each epoch. sampler: e.g. a DistributedSampler (``set_epoch`` is called).
        progress: show a rich progress bar.
    Returns ``{"loss", "train_accuracy", "firing_rate", "val_accuracy", "epoch_time_s"}`` lists, one per epoch.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    if seed is not None:
        torch.manual_seed(seed)
    loader = _loader(train_data, batch_size, True, sampler, seed)
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    total = epochs * len(loader)
    sched = (torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, total) / total)))
             if scheduler == "cosine" and optimizer is None else None)
    layers = _spiking_layers(model)
    old = [(l.tbptt, l.keep_rates) for l in layers]
    for l in layers:
        l.tbptt, l.keep_rates = tbptt, rate_reg > 0
    hist: dict[str, list] = {"loss": [], "train_accuracy": [], "firing_rate": [], "val_accuracy": [], "epoch_time_s": []}
    bar = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                       TimeRemainingColumn(), TextColumn("{task.fields[info]}"), transient=True)
        task = bar.add_task("train", total=total, info="")
        bar.start()
    try:
        model.train()
        for epoch in range(epochs):
            if sampler is not None and hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            t0 = time.perf_counter()
            n, correct, loss_sum, spikes, nsteps = 0, 0, 0.0, 0.0, 0
            for x, lengths, y in loader:
                x = _trim(x, lengths)
                if input_noise > 0:
                    x = x + input_noise * torch.randn_like(x)
                logits = model(x, lengths)
                loss = nn.functional.cross_entropy(logits, y)
                if rate_reg > 0:
                    rates = torch.stack([r for l in layers for r in l.last_rates])
                    reg = rates.mean() if target_rate is None else (rates - target_rate).pow(2).mean()
                    loss = loss + rate_reg * reg
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if clip_grad is not None:
                    nn.utils.clip_grad_norm_(model.parameters(), clip_grad)
                opt.step()
                if sched is not None:
                    sched.step()
                b = int(y.shape[0])
                n += b
                loss_sum += float(loss.detach()) * b
                correct += int((logits.detach().argmax(-1) == y).sum())
                for l in layers:
                    spikes += sum(a.total_spikes for a in l.last_activity)
                    nsteps += sum(a.neuron_steps for a in l.last_activity)
                if bar is not None:
                    bar.update(task, advance=1, info=f"epoch {epoch + 1} loss {loss_sum / n:.3f}")
            hist["loss"].append(loss_sum / n)
            hist["train_accuracy"].append(correct / n)
            hist["firing_rate"].append(spikes / nsteps if nsteps else float("nan"))
            hist["val_accuracy"].append(evaluate(model, val_data)["accuracy"] if val_data is not None else float("nan"))
            hist["epoch_time_s"].append(time.perf_counter() - t0)
    finally:
        if bar is not None:
            bar.stop()
        for l, (tb, kr) in zip(layers, old):
            l.tbptt, l.keep_rates = tb, kr
    return hist
