"""``compare``: the same model measured on CPU (and GPU) with torch, and estimated on Loihi-class hardware
from the converted network's simulated activity, as one :class:`EnergyReport`.

Contract used (spikernn.converters / spikernn.hardware):
    net = converters.to_lava(model, precision="float"|"fixed", threshold=..., **convert_options)
    out, stats = net.simulate(x, backend="fast")      # x shaped like the model input; stats: ActivityStats
"""
from __future__ import annotations

import copy
from typing import Any, Callable, Sequence

from spikernn.energy.counts import arch_of, horowitz_estimate
from spikernn.energy.loihi import loihi_estimate
from spikernn.energy.measurement import measure
from spikernn.energy.meters import Meter
from spikernn.energy.report import EnergyReport, PlatformRow, SweepPoint
from spikernn.energy.result import EnergyFigure

PLATFORMS = ("cpu", "gpu", "loihi")


# -- model plumbing --------------------------------------------------------------------------------------
def batch_first_of(model: Any) -> bool:
    """``batch_first`` of a torch model as :mod:`spikernn.protocol` defines it; of a converted network, its
    ``meta["batch_first"]`` (False without one)."""
    import torch

    if isinstance(model, torch.nn.Module):
        from spikernn.protocol import batch_first_of as protocol_batch_first

        return protocol_batch_first(model)
    meta = getattr(model, "meta", None)
    return bool(meta.get("batch_first", False)) if isinstance(meta, dict) else False


def batch_and_steps(x: Any, batch_first: bool) -> tuple[int, int]:
    """(batch, time steps) of an input shaped (T,B,I), (B,T,I) when batch_first, or unbatched (T,I)."""
    shape = tuple(getattr(x, "shape", ()))
    if len(shape) == 2:
        return 1, int(shape[0])
    if len(shape) != 3:
        raise ValueError(f"inputs must be shaped (T, B, I), (B, T, I) with batch_first, or (T, I); got {shape}")
    return (int(shape[0]), int(shape[1])) if batch_first else (int(shape[1]), int(shape[0]))


def forward(model: Any, x: Any, lengths: Any = None, *, batch_first: bool | None = None) -> Any:
    """Run ``model`` on ``x`` and return its main output (the first element of a tuple, as torch RNNs return),
    called as :func:`spikernn.protocol.call_model` says: classifiers as ``model(x, lengths)`` (full lengths,
    from ``x`` laid out as ``batch_first`` — default the model's — when none are given), bare recurrent modules
    as ``model(x)``."""
    from spikernn.protocol import call_model, full_lengths, is_recurrent_layer

    if is_recurrent_layer(model):
        out = model(x)
    else:
        if lengths is None:
            lengths = full_lengths(x, batch_first_of(model) if batch_first is None else batch_first)
        out = call_model(model, x, lengths)
    return out[0] if isinstance(out, tuple) else out


def predictions(out: Any, *, batch_first: bool, lengths: Any = None, unbatched: bool = False) -> Any:
    """Class predictions (B,) from logits (B, C), or from a sequence output at each sequence's last valid
    step: (T, B, C) / (B, T, C) with batch_first; an unbatched sequence (T, C) (``unbatched=True``) gives (1,)."""
    import torch

    out = torch.as_tensor(out).detach().cpu()
    if out.dim() == 2 and not unbatched:
        return out.argmax(-1)
    if out.dim() == 2:
        out = out.unsqueeze(0 if batch_first else 1)
    if out.dim() != 3:
        raise ValueError(f"cannot take predictions from an output of shape {tuple(out.shape)}; pass predict=")
    seq = out if batch_first else out.transpose(0, 1)  # (B, T, C)
    if lengths is None:
        last = seq[:, -1]
    else:
        idx = torch.as_tensor(lengths, dtype=torch.long).cpu() - 1
        last = seq[torch.arange(seq.shape[0]), idx]
    return last.argmax(-1)


def accuracy(pred: Any, targets: Any) -> float:
    """Fraction of ``pred`` equal to ``targets`` (both (B,) class indices)."""
    import torch

    p = torch.as_tensor(pred).cpu().reshape(-1)
    t = torch.as_tensor(targets).cpu().reshape(-1)
    if p.shape != t.shape:
        raise ValueError(f"predictions {tuple(p.shape)} and targets {tuple(t.shape)} differ in size")
    if p.numel() == 0:
        raise ValueError("no targets: accuracy of an empty batch is undefined")
    return float((p == t.to(p.dtype)).float().mean())


# -- platform rows ----------------------------------------------------------------------------------------
def _torch_row(platform: str, model: Any, x: Any, targets: Any, lengths: Any, batch: int, *, device: str,
               predict: Callable[[Any], Any] | None, bf: bool, repeats: int, min_window_s: float,
               meters: Sequence[Meter] | None) -> PlatformRow:
    import torch

    if device != "cpu":
        model = copy.deepcopy(model).to(device)
        x = x.to(device)
    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    model.eval()  # the caller's model on CPU: every submodule's train/eval mode is restored below

    def run() -> Any:
        with torch.inference_mode():
            return forward(model, x, lengths, batch_first=bf)

    try:
        acc = None
        if targets is not None:
            out = run()
            pred = predict(out) if predict is not None else predictions(
                out, batch_first=bf, lengths=lengths, unbatched=_unbatched(x))
            acc = accuracy(pred, targets)
        fig = measure(run, device=device, inferences_per_call=batch, repeats=repeats, min_window_s=min_window_s,
                      meters=meters)
    finally:
        for m, training in modes:
            m.training = training
    return PlatformRow.from_figure(platform, fig, accuracy=acc,
                                   notes=f"torch {torch.__version__} forward of the model on {device}, "
                                         f"batch {batch}, inference mode.")


def _unbatched(x: Any) -> bool:
    return len(tuple(getattr(x, "shape", ()))) == 2


def _convert(model: Any, *, precision: str, threshold: float, convert_options: dict[str, Any] | None = None) -> Any:
    from spikernn import converters

    to_lava = getattr(converters, "to_lava", None)
    if to_lava is None:
        raise ImportError("spikernn.converters.to_lava is not available")
    return to_lava(model, precision=precision, threshold=threshold, **(convert_options or {}))


def _simulate(net: Any, x: Any, lengths: Any, backend: str) -> tuple[Any, Any]:
    if lengths is not None:
        return net.simulate(x, backend=backend, lengths=lengths)
    return net.simulate(x, backend=backend)


def _hardware_accuracy(net: Any, model: Any, out: Any, x: Any, targets: Any, lengths: Any,
                       predict: Callable[[Any], Any] | None) -> float | None:
    """Accuracy of a simulated network's output ``out`` on ``targets`` (None without targets); the output
    layout is the network's (its ``meta["batch_first"]``), else the model's."""
    if targets is None:
        return None
    bf = batch_first_of(net) if getattr(net, "meta", None) else batch_first_of(model)
    pred = predict(out) if predict is not None else predictions(
        out, batch_first=bf, lengths=lengths, unbatched=_unbatched(x))
    return accuracy(pred, targets)


def _annotate_hops(network: Any, stats: Any) -> str:
    """Fill ``stats.core_hops`` from a Loihi 2 placement of ``network`` (:func:`spikernn.hardware.place`)
    unless the activity already carries hops; returns a note for the report row saying where hops came from.

    A network that is not a :class:`spikernn.hardware.network.Network`, or that does not fit Loihi 2, keeps no
    hops (the note says so) rather than failing the report."""
    if getattr(stats, "core_hops", None):
        return "core hops as given with the activity"
    from spikernn.hardware.network import Network

    if not isinstance(network, Network):
        return "no placement for this network object: core hops not counted"
    from spikernn.hardware.placement import annotate_hops, place

    try:
        pl = place(network)
    except ValueError as exc:
        return f"core hops not counted: the network does not fit Loihi 2 ({exc})"
    annotate_hops(stats, network, pl)
    return f"core hops from a Loihi 2 placement ({pl.cores} cores on {pl.chips} chip(s))"


def threshold_sweep(model: Any, inputs: Any, thresholds: Sequence[float], targets: Any = None, *,
                    lengths: Any = None, precision: str = "float", backend: str = "fast",
                    predict: Callable[[Any], Any] | None = None,
                    convert_options: dict[str, Any] | None = None) -> list[SweepPoint]:
    """Convert ``model`` at each sigma-delta threshold, simulate, and return accuracy (when ``targets``),
    events and synaptic ops per inference and the Loihi-class energy estimate per inference (J).
    ``convert_options``: further keyword arguments of ``converters.to_lava`` (see :func:`compare`)."""
    points = []
    for thr in thresholds:
        net = _convert(model, precision=precision, threshold=float(thr), convert_options=convert_options)
        out, stats = _simulate(net, inputs.detach().cpu() if hasattr(inputs, "detach") else inputs, lengths, backend)
        _annotate_hops(net, stats)
        est = loihi_estimate(stats)
        acc = _hardware_accuracy(net, model, out, inputs, targets, lengths, predict)
        per = stats.per_inference()
        points.append(SweepPoint(threshold=float(thr), accuracy=acc, events_per_inference=per["events"],
                                 synaptic_ops_per_inference=per["synaptic_ops"],
                                 energy_per_inference_j=est.joules_per_inference))
    return points


def compare(model: Any, inputs: Any, targets: Any = None, *, lengths: Any = None,
            platforms: Sequence[str] = PLATFORMS, network: Any = None, threshold: float = 0.0,
            precision: str = "float", backend: str = "fast", repeats: int = 3, min_window_s: float = 1.5,
            sweep_thresholds: Sequence[float] | None = None, predict: Callable[[Any], Any] | None = None,
            cpu_meters: Sequence[Meter] | None = None, gpu_meters: Sequence[Meter] | None = None,
            active: str = "events", title: str = "spikernn energy report",
            convert_options: dict[str, Any] | None = None) -> EnergyReport:
    """Energy per inference of ``model`` on each platform, as an :class:`EnergyReport`.

    Args:
        model: a torch module: dense ``nn.RNN/LSTM/GRU`` (+ Linear head) or a spikernn spiking model.
        inputs: one batch shaped like the model input ((T,B,I), or (B,T,I) with ``batch_first``). Its batch
            size is the number of inferences each measured call does; it must not be empty.
        targets: optional (B,) class indices; each row then carries the accuracy on its platform.
        lengths: optional (B,) valid lengths of a padded batch (passed to the model and the simulator).
        platforms: any of "cpu", "gpu", "loihi". "gpu" without a CUDA device gives an unavailable row.
        network: an already converted network (skips ``converters.to_lava``).
        threshold: sigma-delta threshold used when converting (0 reproduces a dense model exactly).
        precision: "float" or "fixed" conversion.
        backend: simulator backend, "fast" (default) or "lava".
        repeats, min_window_s: measurement windows (see :func:`spikernn.energy.measurement.measure`).
        sweep_thresholds: optional thresholds for an accuracy-vs-energy sweep attached to the report.
        predict: optional ``output -> (B,) predictions`` (default: argmax of logits / last valid step).
        cpu_meters, gpu_meters: meters to use instead of the defaults (e.g. in tests).
        active: Loihi active-update approximation, "events" or "all" (see :mod:`spikernn.energy.loihi`).
        convert_options: further keyword arguments of every ``converters.to_lava`` call here (the Loihi row
            without ``network`` and the sweep), e.g. the fixed-point calibration ``{"calibration_x": x_train}``
            or ``{"input_range": r}``; without one a fixed-point conversion assumes |x| <= 1 and warns.

    Returns:
        An EnergyReport with one row per requested platform (an unavailable row says why), ratios, the
        dense-model analytic cross-check, the activity behind the Loihi row and the sweep when asked.

    Raises:
        ValueError: empty batch, unknown platform, targets not matching the batch.
    """
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown:
        raise ValueError(f"unknown platform(s) {unknown}; choose from {PLATFORMS}")
    bf = batch_first_of(model)
    batch, steps = batch_and_steps(inputs, bf)
    if batch < 1 or steps < 1:
        raise ValueError(f"inputs hold an empty batch (batch {batch}, {steps} time steps): nothing to measure")
    if targets is not None and len(targets) != batch:
        raise ValueError(f"targets has {len(targets)} entries but the batch has {batch} inputs")

    report = EnergyReport(title=title, model=_describe_model(model), inferences=batch, steps=steps)
    report.analytic = _analytic(model, steps)
    x_cpu = inputs.detach().cpu() if hasattr(inputs, "detach") else inputs

    if "cpu" in platforms:
        report.add_row(_torch_row("cpu", model, x_cpu, targets, lengths, batch, device="cpu", predict=predict,
                                  bf=bf, repeats=repeats, min_window_s=min_window_s, meters=cpu_meters))
    if "gpu" in platforms:
        report.add_row(_gpu_row(model, x_cpu, targets, lengths, batch, predict=predict, bf=bf, repeats=repeats,
                                min_window_s=min_window_s, meters=gpu_meters))
    if "loihi" in platforms:
        report.add_row(_loihi_row(report, model, x_cpu, targets, lengths, network=network, threshold=threshold,
                                  precision=precision, backend=backend, predict=predict, active=active,
                                  convert_options=convert_options))
    if sweep_thresholds:
        report.add_threshold_sweep(threshold_sweep(model, x_cpu, sweep_thresholds, targets, lengths=lengths,
                                                   precision=precision, backend=backend, predict=predict,
                                                   convert_options=convert_options))
    return report


def _gpu_row(model: Any, x: Any, targets: Any, lengths: Any, batch: int, **kw: Any) -> PlatformRow:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:
        has_cuda = False
    if not has_cuda:
        return PlatformRow.from_figure("gpu", EnergyFigure.unavailable("none", "no CUDA device visible to torch",
                                                                      device="gpu"))
    return _torch_row("gpu", model, x, targets, lengths, batch, device="cuda:0", **kw)


def _loihi_row(report: EnergyReport, model: Any, x: Any, targets: Any, lengths: Any, *, network: Any,
               threshold: float, precision: str, backend: str, predict: Callable[[Any], Any] | None,
               active: str, convert_options: dict[str, Any] | None = None) -> PlatformRow:
    if network is None:
        try:
            network = _convert(model, precision=precision, threshold=threshold, convert_options=convert_options)
        except ImportError as exc:
            return PlatformRow.from_figure("loihi", EnergyFigure.unavailable(
                "loihi-davies2018-proxy", f"cannot convert the model: {exc}", device="Loihi (proxy for Loihi 2)"))
        extra = "".join(f", {k}=..." for k in (convert_options or {}))
        how = f"converted with converters.to_lava(precision={precision!r}, threshold={threshold:g}{extra})"
    else:
        how = "a given converted network"
    out, stats = _simulate(network, x, lengths, backend)
    hops_note = _annotate_hops(network, stats)
    est = loihi_estimate(stats, active=active)  # type: ignore[arg-type]
    report.set_activity(stats)
    report.loihi_breakdown = est.to_dict()
    acc = _hardware_accuracy(network, model, out, x, targets, lengths, predict)
    return PlatformRow.from_figure("loihi", est.figure, accuracy=acc,
                                   notes=f"Activity from {how}, simulated with backend {backend!r}; {hops_note}; "
                                         "no Loihi timing model is applied, so no time per inference is given.")


def _describe_model(model: Any) -> str:
    arch = arch_of(model)
    name = type(model).__name__
    if arch is None:
        return name
    s = (f"{name}: {arch.mode} input {arch.input_size}, hidden {arch.hidden_size}, {arch.num_layers} layer(s)"
         + (", bidirectional" if arch.bidirectional else ""))
    return s + (f", head {arch.head}" if arch.head else "")


def _analytic(model: Any, steps: int) -> dict[str, Any]:
    arch = arch_of(model)
    if arch is None:
        return {}
    c32 = arch.sequence_counts(steps, bytes_per_param=4)
    c8 = arch.sequence_counts(steps, bytes_per_param=1)
    return {"arch": {"mode": arch.mode, "input_size": arch.input_size, "hidden_size": arch.hidden_size,
                     "num_layers": arch.num_layers, "bidirectional": arch.bidirectional, "bias": arch.bias,
                     "head": arch.head},
            "steps": steps, "counts": c32.to_dict(), "kind": "estimated", "method": "op-counts-horowitz2014",
            "horowitz_fp32": horowitz_estimate(c32, precision="fp32").to_dict(),
            "horowitz_int8": horowitz_estimate(c8, precision="int8").to_dict()}
