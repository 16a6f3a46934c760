"""Training driver for sequence classifiers, single process or DistributedDataParallel.

One loop serves `spikernn train`, `spikernn demo` and `torchrun ... -m spikernn train`:

* single process: plain mini-batch training;
* under ``torchrun`` (detected from the ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` environment variables):
  ``torch.distributed`` is initialised (``gloo`` on CPU, ``nccl`` on GPU), the model is wrapped in
  :class:`torch.nn.parallel.DistributedDataParallel`, each rank sees its share of the samples through a
  :class:`torch.utils.data.distributed.DistributedSampler`, evaluation counts are summed over ranks, and only
  rank 0 writes the checkpoint; :func:`finish` calls ``destroy_process_group``.

Example (2 processes on CPU)::

    torchrun --standalone --nproc_per_node=2 -m spikernn train --data japanese_vowels --model lstm \
        --epochs 1 --out runs/ddp

This module imports nothing from hardware/converters/energy.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import torch
from torch import nn

__all__ = ["DistInfo", "dist_info", "setup", "finish", "resolve_device", "train_classifier", "evaluate_classifier",
           "TrainResult"]


@dataclass
class DistInfo:
    """Where this process stands: ``world_size`` 1 means no torch.distributed."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: Optional[str] = None

    @property
    def enabled(self) -> bool:
        return self.world_size > 1 or self.backend is not None

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    """True when the process was started by torchrun (or another launcher setting RANK and WORLD_SIZE)."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def dist_info() -> DistInfo:
    """The current process group's rank/world size (1 process when torch.distributed is not initialised)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)), dist.get_backend())
    return DistInfo()


def resolve_device(device: str = "auto", info: Optional[DistInfo] = None) -> torch.device:
    """``"auto"`` -> ``cuda`` when available else ``cpu``; under DDP on GPU each rank takes ``cuda:LOCAL_RANK``."""
    info = info or DistInfo()
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError("device 'cuda' requested but no CUDA GPU is available (use --device cpu)")
        if info.enabled and dev.index is None:
            dev = torch.device("cuda", info.local_rank)
    return dev


def setup(device: str = "auto") -> tuple[DistInfo, torch.device]:
    """Initialise torch.distributed when launched by torchrun; return this rank's info and device.

    ``gloo`` on CPU, ``nccl`` on GPU. Without torchrun this does nothing and returns world size 1.
    """
    import torch.distributed as dist

    if not launched_by_torchrun() or int(os.environ.get("WORLD_SIZE", "1")) < 1:
        return DistInfo(), resolve_device(device)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    want = "cuda" if (device == "auto" and torch.cuda.is_available()) or device.startswith("cuda") else "cpu"
    backend = "nccl" if want == "cuda" else "gloo"
    if want == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but no CUDA GPU is available (use --device cpu)")
        if local >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK {local} but only {torch.cuda.device_count()} GPU(s): start fewer processes per node")
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    info = DistInfo(rank, world, local, backend)
    if want == "cpu":
        # share the machine's cores between the ranks instead of oversubscribing them
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(world, 1)))
    return info, resolve_device(device if device != "auto" else want, info)


def finish(info: DistInfo) -> None:
    """Destroy the process group (no-op without torch.distributed). Call :func:`barrier` first on the
    success path; after an error a rank leaves without waiting for the others (torchrun stops them)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    import torch.distributed as dist

    if info.enabled and dist.is_initialized():
        dist.barrier()


@dataclass
class TrainResult:
    """What training produced: per-epoch loss and accuracy (train set, summed over ranks), seconds."""

    epochs: int
    loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    seconds: float = 0.0
    world_size: int = 1
    samples_per_rank: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "loss": self.loss, "train_accuracy": self.train_accuracy,
                "seconds": self.seconds, "world_size": self.world_size, "samples_per_rank": self.samples_per_rank}


def _batch_first(model: nn.Module) -> bool:
    """Classifiers take (B, T, I) unless they say ``batch_first = False`` (spikernn's do take (B, T, I))."""
    inner = getattr(model, "module", model)  # DDP wraps the model in .module
    return bool(getattr(inner, "batch_first", True))


def model_forward(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Logits of a sequence classifier for padded data ``x`` (B, T, I): ``model(x, lengths)`` on the batch
    trimmed to its longest sequence, transposed to (T, B, I) for models that are not batch-first."""
    T = int(lengths.max())
    x = x[:, :T]
    if not _batch_first(model):
        x = x.transpose(0, 1)
    return model(x, lengths)


_forward = model_forward


def train_classifier(
    model: nn.Module,
    x: torch.Tensor,
    lengths: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 5e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    device: torch.device | str = "cpu",
    info: Optional[DistInfo] = None,
    on_epoch: Optional[Callable[[int, float, float], None]] = None,
    grad_clip: float = 1.0,
) -> TrainResult:
    """Train ``model`` (``forward(x (B,T,I), lengths (B,)) -> logits (B,C)``) with Adam and cross entropy.

    Under DDP (``info.world_size > 1``) the model is wrapped in DistributedDataParallel and each rank trains
    on its DistributedSampler shard; the returned losses/accuracies are averaged over all ranks. The model
    passed in is trained in place (its parameters are the DDP module's parameters).

    ``on_epoch(epoch, loss, accuracy)`` is called after every epoch (on every rank).
    """
    from torch.utils.data import DataLoader, TensorDataset
    from torch.utils.data.distributed import DistributedSampler

    info = info or DistInfo()
    device = torch.device(device)
    torch.manual_seed(seed)
    model.to(device)
    ds = TensorDataset(x, lengths, y)
    if info.world_size > 1:
        import torch.distributed as dist
        from torch.nn.parallel import DistributedDataParallel as DDP

        sampler = DistributedSampler(ds, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=seed)
        loader = DataLoader(ds, batch_size=batch_size, sampler=sampler)
        net: nn.Module = DDP(model, device_ids=[device.index] if device.type == "cuda" else None,
                             find_unused_parameters=_has_unused_parameters(model, x, lengths, y, device))
    else:
        sampler = None
        gen = torch.Generator().manual_seed(seed)
        loader = DataLoader(ds, batch_size=batch_size, shuffle=True, generator=gen)
        net = model
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, epochs * len(loader)))
    loss_fn = nn.CrossEntropyLoss()
    result = TrainResult(epochs=epochs, world_size=info.world_size,
                         samples_per_rank=len(sampler) if sampler is not None else len(ds))
    t0 = time.perf_counter()
    for epoch in range(epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        net.train()
        tot = torch.zeros(3, dtype=torch.float64)  # loss sum, correct, count
        for xb, lb, yb in loader:
            xb, lb, yb = xb.to(device), lb.to(device), yb.to(device)
            logits = _forward(net, xb, lb.cpu() if _lengths_on_cpu(model) else lb)
            loss = loss_fn(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if grad_clip:
                torch.nn.utils.clip_grad_norm_(params, grad_clip)
            opt.step()
            sched.step()
            n = yb.shape[0]
            tot += torch.tensor([float(loss.detach()) * n, float((logits.argmax(1) == yb).sum()), n], dtype=torch.float64)
        if info.world_size > 1:
            import torch.distributed as dist

            t = tot.to(device)
            dist.all_reduce(t)
            tot = t.cpu()
        ep_loss, ep_acc = float(tot[0] / max(tot[2], 1)), float(tot[1] / max(tot[2], 1))
        result.loss.append(ep_loss)
        result.train_accuracy.append(ep_acc)
        if on_epoch is not None:
            on_epoch(epoch, ep_loss, ep_acc)
    result.seconds = time.perf_counter() - t0
    model.eval()
    return result


def _lengths_on_cpu(model: nn.Module) -> bool:
    # pack_padded_sequence wants CPU lengths; classifiers that use it say so with this attribute
    return bool(getattr(model, "lengths_on_cpu", False))


def _has_unused_parameters(model: nn.Module, x, lengths, y, device) -> bool:
    """One probe forward/backward on a small batch: do some trainable parameters get no gradient?"""
    model.zero_grad(set_to_none=True)
    n = min(4, x.shape[0])
    logits = _forward(model, x[:n].to(device), lengths[:n].to(device))
    nn.functional.cross_entropy(logits, y[:n].to(device)).backward()
    unused = any(p.requires_grad and p.grad is None for p in model.parameters())
    model.zero_grad(set_to_none=True)
    return unused


@torch.no_grad()
def evaluate_classifier(
    model: nn.Module,
    x: torch.Tensor,
    lengths: torch.Tensor,
    y: torch.Tensor,
    *,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
    info: Optional[DistInfo] = None,
) -> float:
    """Accuracy of ``model`` on (x, lengths, y). Under DDP each rank scores ``rank::world_size`` and the
    counts are summed, so every rank returns the accuracy on the whole set."""
    info = info or DistInfo()
    device = torch.device(device)
    was_training = model.training
    model.eval()
    idx = torch.arange(info.rank, x.shape[0], info.world_size)
    correct = torch.zeros(2, dtype=torch.float64)
    for i in range(0, idx.numel(), batch_size):
        j = idx[i:i + batch_size]
        xb, lb, yb = x[j].to(device), lengths[j], y[j].to(device)
        logits = _forward(model, xb, lb if _lengths_on_cpu(model) else lb.to(device))
        correct += torch.tensor([float((logits.argmax(1) == yb).sum()), float(j.numel())], dtype=torch.float64)
    if info.world_size > 1:
        import torch.distributed as dist

        t = correct.to(device)
        dist.all_reduce(t)
        correct = t.cpu()
    model.train(was_training)
    return float(correct[0] / max(correct[1], 1))


def epochs_to_steps(n: int, batch_size: int, world_size: int = 1) -> int:
    """Optimizer steps per epoch for ``n`` samples (per rank)."""
    return math.ceil(math.ceil(n / world_size) / batch_size)
