"""Process-group setup and teardown around :func:`spikernn.training.train`, for `spikernn train` also
under ``torchrun``:

* single process: :func:`train` is :func:`spikernn.training.train`;
* under ``torchrun`` (detected from the ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` environment variables):
  ``torch.distributed`` is initialised (``gloo`` on CPU, ``nccl`` on GPU), the model is wrapped in
  :class:`torch.nn.parallel.DistributedDataParallel`, each rank sees its share of the samples through a
  :class:`torch.utils.data.distributed.DistributedSampler`, training metrics and evaluation counts are summed
  over ranks (by :mod:`spikernn.training`), and only rank 0 writes the checkpoint (the caller checks
  ``info.is_main``); :func:`finish` calls ``destroy_process_group``;
* a script of your own run under torchrun should end with :func:`exit_worker` after :func:`finish` and after
  writing its files: DDP keeps gloo threads alive past ``destroy_process_group``, and their teardown at
  interpreter exit sometimes aborts the process (SIGABRT) after a successful run.

Example (2 processes on CPU)::

    torchrun --standalone --nproc_per_node=2 -m spikernn train --data japanese_vowels --model lstm \
        --epochs 1 --out runs/ddp

This module imports nothing from hardware/converters/energy.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Optional

import torch
from torch import nn

__all__ = ["DistInfo", "dist_info", "setup", "finish", "barrier", "resolve_device", "train", "exit_worker"]


@dataclass
class DistInfo:
    """Where this process stands: ``world_size`` 1 means no torch.distributed."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: Optional[str] = None

    @property
    def enabled(self) -> bool:
        """Whether torch.distributed is in use (several ranks, or a backend initialised)."""
        return self.world_size > 1 or self.backend is not None

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0 (the one that writes files)."""
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


def exit_worker(code: int = 0) -> None:
    """End a torchrun worker process now, after flushing its output, without interpreter teardown.

    Why: DistributedDataParallel's reducer keeps references to the gloo process group that outlive
    ``destroy_process_group`` (torch 2.13: 10 extra references remain after the DDP wrapper, its module and
    the reducer are deleted), so the group's ``gloo_tcp_loop`` / ``pt_gloo_runloop`` threads are still running
    when the interpreter exits. Their teardown then sometimes hits ``std::terminate`` ("terminate called
    without an active exception", SIGABRT) after the run has finished and saved its results: measured on
    2 of 84 two-process runs of ``spikernn train`` (3 runs at a time on a 2-core machine), 0 of 60 with this
    exit. ``os._exit`` skips that teardown. Call it only once every file is written and :func:`finish` has run.
    """
    import contextlib
    import logging
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken stream must not fail a finished run
            stream.flush()
    logging.shutdown()
    os._exit(code)


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op without torch.distributed)."""
    import torch.distributed as dist

    if info.enabled and dist.is_initialized():
        dist.barrier()


def train(model: nn.Module, data: Any, *, info: Optional[DistInfo] = None, device: torch.device | str = "cpu",
          seed: int = 0, **options: Any) -> dict[str, Any]:
    """:func:`spikernn.training.train` of ``model`` on ``data`` (see :func:`spikernn.training.evaluate` for the
    forms it takes), single process or, when ``info.world_size > 1``, DistributedDataParallel: each rank
    trains on its :class:`~torch.utils.data.distributed.DistributedSampler` shard of the model wrapped in DDP
    (the model passed in is trained in place) and the history's metrics are summed over the ranks.

    ``options``: the other keyword arguments of :func:`spikernn.training.train` (``epochs``, ``batch_size``,
    ``lr``, ``on_epoch``, ...); the progress bar is only shown on rank 0. Returns the history.
    """
    from torch.utils.data.distributed import DistributedSampler

    from spikernn import training

    info = info or DistInfo()
    device = torch.device(device)
    model.to(device)
    if info.world_size <= 1:
        return training.train(model, data, seed=seed, device=device, **options)
    from torch.nn.parallel import DistributedDataParallel as DDP

    ds = training._dataset(data)
    sampler = DistributedSampler(ds, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=seed)
    net = DDP(model, device_ids=[device.index] if device.type == "cuda" else None,
              find_unused_parameters=_has_unused_parameters(model, ds, device))
    options["progress"] = options.get("progress", True) and info.is_main
    return training.train(net, ds, sampler=sampler, seed=seed, device=device, **options)


def _has_unused_parameters(model: nn.Module, ds: Any, device: torch.device) -> bool:
    """One probe forward/backward on a small batch: do some trainable parameters get no gradient?"""
    from spikernn.training import _to, model_forward

    x, lengths, y = (torch.stack(t) for t in zip(*(ds[i] for i in range(min(4, len(ds))))))
    model.zero_grad(set_to_none=True)
    xb, lb, yb = _to(device, x, lengths, y)
    nn.functional.cross_entropy(model_forward(model, xb, lb), yb).backward()
    unused = any(p.requires_grad and p.grad is None for p in model.parameters())
    model.zero_grad(set_to_none=True)
    return unused

