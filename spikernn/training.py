"""Training and evaluation of sequence classifiers taking ``(x, lengths)`` and returning logits: the one loop
behind :func:`spikernn.train`, ``spikernn train`` (also under torchrun) and ``spikernn demo``.

* Models are called as :mod:`spikernn.protocol` says: ``model(x, lengths)`` with ``x`` (B, T, F) — (T, B, F)
  for a model that declares ``batch_first = False`` — and ``lengths`` on the CPU. Truncated BPTT and the
  firing rates of the rate regulariser travel in a :class:`~spikernn.protocol.RunContext` opened around each
  call, which also collects the spiking layers' activity.
* ``device``: the model is moved there and every batch with it (lengths stay on the CPU).
* DistributedDataParallel: pass a DDP-wrapped model and ``sampler=`` a ``DistributedSampler`` (its
  ``set_epoch`` is called each epoch; :func:`spikernn.distributed.train` does both). When a
  ``torch.distributed`` process group with more than one rank is initialised, the per-epoch training metrics
  are summed over the ranks and :func:`evaluate` scores each rank's share of the data and sums the counts, so
  every rank returns the figures of the whole set. The spiking layers are found through ``.module``.
* ``on_epoch(epoch, loss, accuracy)`` is called after every epoch (e.g. to drive a progress display).
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from spikernn.protocol import RunContext, batch_first_of, call_model, run_context, unwrap


class WeightAverage:
    """Weight averaging over the last ``swa`` fraction of ``epochs`` (``torch.optim.swa_utils.AveragedModel``; one
    model, not an ensemble), for a training loop of ordinary epochs: :meth:`begin_epoch` before each epoch (with
    ``swa_lr``, the averaging phase runs at that constant lr: the schedule is dropped), :meth:`end_epoch` after it,
    :meth:`finish` at the end (the averaged parameters replace the last ones; buffers are not averaged). Used by
    :func:`spikernn.forecasting.fit` (``swa=``) and the accuracy harness's loops (``benchmarks/bench_accuracy.py``)."""

    def __init__(self, model: nn.Module, epochs: int, swa: float, swa_lr: Optional[float] = None) -> None:
        if not 0.0 <= swa <= 1.0:
            raise ValueError(f"swa (the fraction of the epochs whose weights are averaged) must be in [0, 1], got {swa}")
        if swa_lr is not None and swa_lr < 0:
            raise ValueError(f"swa_lr must be None or >= 0, got {swa_lr}")
        self.model, self.n = model, int(round(swa * epochs))
        self.start, self.swa_lr = epochs - self.n, swa_lr
        self.avg = torch.optim.swa_utils.AveragedModel(model) if self.n else None

    def schedule_epochs(self, epochs: int) -> int:
        """The epochs an lr schedule spans: all, or (with ``swa_lr``) those before the averaging phase."""
        return epochs - self.n if self.swa_lr else epochs

    def begin_epoch(self, epoch: int, opt: torch.optim.Optimizer, sched):
        """The schedule to step in this epoch (None from the averaging phase on when ``swa_lr`` is set)."""
        if self.swa_lr and self.n and epoch == self.start:
            for pg in opt.param_groups:
                pg["lr"] = self.swa_lr
            return None
        return sched

    def end_epoch(self, epoch: int) -> None:
        if self.avg is not None and epoch >= self.start:
            self.avg.update_parameters(self.model)

    def finish(self) -> None:
        if self.avg is not None:
            with torch.no_grad():
                for p, q in zip(self.model.parameters(), self.avg.module.parameters()):
                    p.copy_(q)


def _spiking_layers(model: nn.Module) -> list[nn.Module]:
    from spikernn.layers import _SpikingRNNBase

    return [m for m in unwrap(model).modules() if isinstance(m, _SpikingRNNBase)]


def _dataset(data: Any) -> Dataset:
    """A dataset of ``(x, lengths, y)`` items from a dataset, an object with ``x``/``lengths``/``y`` tensors
    (:class:`spikernn.datasets.SequenceData`) or an ``(x, lengths, y)`` tuple or list."""
    if isinstance(data, (tuple, list)) and len(data) == 3 and all(isinstance(t, Tensor) for t in data):
        return TensorDataset(*data)
    if all(hasattr(data, k) for k in ("x", "lengths", "y")):
        return TensorDataset(data.x, data.lengths, data.y)
    if isinstance(data, Tensor) or (isinstance(data, (tuple, list)) and data and all(isinstance(t, Tensor) for t in data)):
        raise TypeError("data must be (x, lengths, y) tensors, an object with .x/.lengths/.y (SequenceData), a "
                        f"dataset or a DataLoader of (x, lengths, y) items; got {type(data).__name__}")
    return data


def _loader(data: Any, batch_size: int, shuffle: bool, sampler=None, seed: Optional[int] = None) -> DataLoader:
    if isinstance(data, DataLoader):
        return data
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    return DataLoader(_dataset(data), batch_size=batch_size, shuffle=shuffle and sampler is None, sampler=sampler,
                      generator=g)


def _distributed() -> bool:
    """Whether a torch.distributed process group with more than one rank is initialised."""
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def _sum_over_ranks(values: list[float], device: torch.device) -> list[float]:
    """``values`` summed over the ranks of the process group (unchanged in a single process)."""
    if not _distributed():
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)  # nccl needs the rank's GPU
    dist.all_reduce(t)
    return t.cpu().tolist()


def _device_of(model: nn.Module, device: Optional[torch.device | str]) -> torch.device:
    """``device`` (the model is moved there), or where the model's parameters are (CPU without any)."""
    if device is not None:
        device = torch.device(device)
        model.to(device)
        return device
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def model_forward(model: nn.Module, x: Tensor, lengths: Tensor) -> Tensor:
    """Logits of a sequence classifier for padded data ``x`` (B, T, I), called as :mod:`spikernn.protocol`
    says (``lengths`` on the CPU, (T, B, I) for models that declare ``batch_first = False``), on the batch
    trimmed to its longest sequence (saves time)."""
    lengths = lengths.cpu()
    x = x[:, : int(lengths.max())]
    if not batch_first_of(model):
        x = x.transpose(0, 1)
    return call_model(model, x, lengths)


def _to(device: torch.device, x: Tensor, lengths: Tensor, y: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    return x.to(device), lengths.cpu(), y.to(device)


def _activity(ctx: RunContext) -> tuple[Any, int]:
    """Spikes (a tensor on the layers' device, or 0.0 without spiking layers) and neuron steps of the forward
    passes recorded in ``ctx``; nothing is read from the device here."""
    spikes = sum((a.spikes_per_step.sum() for a in ctx.activity), 0.0)
    return spikes, sum(a.neuron_steps for a in ctx.activity)


@torch.no_grad()
def evaluate(model: nn.Module, data: Any, batch_size: int = 256, *, device: Optional[torch.device | str] = None,
             distributed: Optional[bool] = None) -> dict[str, float]:
    """Accuracy, mean cross-entropy, number of sequences ``n`` and (spiking models) mean firing rate over ``data``.

    ``data``: a :class:`~spikernn.datasets.SequenceData` (or anything with ``x``, ``lengths``, ``y``), an
    ``(x, lengths, y)`` tuple, a dataset of ``(x, lengths, y)`` or a DataLoader of them. ``device``: where to
    run (the model is moved there; default: where the model is). ``distributed`` (default: when a process group of more than one rank
    is initialised; every rank must then call this): each rank scores items ``rank::world_size`` (a
    DataLoader is taken as already sharded) and the counts are summed over the ranks.
    """
    net = unwrap(model)  # no DDP collectives here: ranks may see different numbers of batches
    dev = _device_of(net, device)
    distributed = _distributed() if distributed is None else distributed
    if distributed and not isinstance(data, DataLoader):
        import torch.distributed as dist

        ds = _dataset(data)
        data = Subset(ds, range(dist.get_rank(), len(ds), dist.get_world_size()))
    was = net.training
    net.eval()
    n, correct, loss_sum, spikes, neuron_steps = 0, 0, 0.0, 0.0, 0.0
    try:
        for x, lengths, y in _loader(data, batch_size, False):
            x, lengths, y = _to(dev, x, lengths, y)
            with run_context() as ctx:
                logits = model_forward(net, x, lengths)
            loss_sum += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(-1) == y).sum())
            n += int(y.shape[0])
            s, ns = _activity(ctx)
            spikes, neuron_steps = spikes + s, neuron_steps + ns
    finally:
        net.train(was)
    spikes = float(spikes)
    if distributed:
        n, correct, loss_sum, spikes, neuron_steps = _sum_over_ranks([n, correct, loss_sum, spikes, neuron_steps], dev)
        n, correct = int(n), int(correct)
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
    device: Optional[torch.device | str] = None,
    on_epoch: Optional[Callable[[int, float, float], None]] = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train a classifier (``model(x, lengths) -> logits``) with Adam (or ``optimizer``) on cross-entropy.

    Args:
        train_data: as ``data`` of :func:`evaluate`.
        epochs, batch_size, lr, weight_decay: the usual (Adam over the parameters that require grad).
        scheduler: "cosine" (to 0 over all steps) or "none".
        clip_grad: max gradient norm (None: no clipping).
        rate_reg: weight of the firing-rate regulariser: ``rate_reg * mean(r_l)`` over spiking layers, or
            ``rate_reg * mean((r_l - target_rate)^2)`` when ``target_rate`` is given (r = spikes per neuron
            per step; energy scales with spikes).
        tbptt: truncate backpropagation through time every ``tbptt`` time steps (None: full BPTT).
        input_noise: std of Gaussian noise added to the inputs in training (data augmentation).
        val_data: evaluated after each epoch. sampler: e.g. a DistributedSampler (``set_epoch`` is called).
        seed: seeds torch and the shuffling (None: neither).
        device: move the model and the batches there (default: where the model is).
        on_epoch: ``on_epoch(epoch, loss, accuracy)`` after every epoch (on every rank under DDP).
        progress: show a rich progress bar.
    Under an initialised process group of several ranks the metrics are summed over the ranks (see the
    module docstring). The model is trained in place and left in the train/eval mode it came in.

    Returns the history: ``"loss"``, ``"train_accuracy"``, ``"firing_rate"`` (NaN for dense models),
    ``"val_accuracy"`` (NaN without ``val_data``), ``"epoch_time_s"`` lists, one entry per epoch, and
    ``"epochs"``, ``"seconds"`` (whole run), ``"world_size"``, ``"samples_per_rank"`` (training samples one
    rank sees per epoch). :func:`history_record` makes it JSON-safe.
    """
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be >= 1, got {epochs}, {batch_size}")
    if scheduler not in ("cosine", "none"):
        raise ValueError(f"scheduler must be 'cosine' or 'none', got {scheduler!r}")
    if rate_reg > 0 and not _spiking_layers(model):
        raise ValueError(f"rate_reg={rate_reg} needs spiking layers, but {type(unwrap(model)).__name__} has none")
    if seed is not None:
        torch.manual_seed(seed)
    dev = _device_of(model, device)
    loader = _loader(train_data, batch_size, True, sampler, seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = optimizer or torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    total = epochs * len(loader)
    sched = (torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, total) / total)))
             if scheduler == "cosine" and optimizer is None else None)
    world = torch.distributed.get_world_size() if _distributed() else 1
    hist: dict[str, Any] = {"loss": [], "train_accuracy": [], "firing_rate": [], "val_accuracy": [], "epoch_time_s": [],
                            "epochs": epochs, "seconds": 0.0, "world_size": world,
                            "samples_per_rank": len(loader.sampler)}
    bar = None
    if progress:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                       TimeRemainingColumn(), TextColumn("{task.fields[info]}"), transient=True)
        task = bar.add_task("train", total=total, info="")
        bar.start()
    was = model.training
    t_start = time.perf_counter()
    try:
        model.train()
        for epoch in range(epochs):
            if sampler is not None and hasattr(sampler, "set_epoch"):
                sampler.set_epoch(epoch)
            t0 = time.perf_counter()
            n, correct, loss_sum, spikes, nsteps = 0, 0, 0.0, 0.0, 0.0
            for x, lengths, y in loader:
                x, lengths, y = _to(dev, x, lengths, y)
                if input_noise > 0:
                    x = x + input_noise * torch.randn_like(x)
                with run_context(tbptt=tbptt, keep_rates=rate_reg > 0) as ctx:
                    logits = model_forward(model, x, lengths)
                loss = nn.functional.cross_entropy(logits, y)
                if rate_reg > 0:
                    rates = torch.stack(ctx.rates)
                    reg = rates.mean() if target_rate is None else (rates - target_rate).pow(2).mean()
                    loss = loss + rate_reg * reg
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if clip_grad is not None:
                    nn.utils.clip_grad_norm_(params, clip_grad)
                opt.step()
                if sched is not None:
                    sched.step()
                b = int(y.shape[0])
                n += b
                loss_sum += float(loss.detach()) * b
                correct += int((logits.detach().argmax(-1) == y).sum())
                s, ns = _activity(ctx)
                spikes, nsteps = spikes + s, nsteps + ns
                if bar is not None:
                    bar.update(task, advance=1, info=f"epoch {epoch + 1} loss {loss_sum / n:.3f}")
            spikes = float(spikes)
            n, correct, loss_sum, spikes, nsteps = _sum_over_ranks([n, correct, loss_sum, spikes, nsteps], dev)
            hist["loss"].append(loss_sum / max(n, 1))
            hist["train_accuracy"].append(correct / max(n, 1))
            hist["firing_rate"].append(spikes / nsteps if nsteps else float("nan"))
            hist["val_accuracy"].append(evaluate(model, val_data, device=dev)["accuracy"] if val_data is not None
                                        else float("nan"))
            hist["epoch_time_s"].append(time.perf_counter() - t0)
            if on_epoch is not None:
                on_epoch(epoch, hist["loss"][-1], hist["train_accuracy"][-1])
    finally:
        hist["seconds"] = time.perf_counter() - t_start
        model.train(was)
        if bar is not None:
            bar.stop()
    return hist


def history_record(hist: dict[str, Any]) -> dict[str, Any]:
    """A training history as strict JSON: NaN (no firing rate / no validation data) becomes None."""
    def clean(v: Any) -> Any:
        if isinstance(v, list):
            return [clean(u) for u in v]
        return None if isinstance(v, float) and math.isnan(v) else v

    return {k: clean(v) for k, v in hist.items()}
