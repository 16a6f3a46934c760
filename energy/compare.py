"""``compare``: the same model measured on CPU (and GPU) with torch, and estimated on Loihi-class hardware
from the converted network's simulated activity, as one :class:`EnergyReport`.

Contract used (spikernn.converters / spikernn.hardware):
    net = converters.to_lava(model, precision="float"|"fixed", threshold=..., **convert_options)
    out, stats = net.simulate(x, backend="fast")      # x shaped like the model input; stats: ActivityStats
"""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from spikernn.energy.counts import arch_of, horowitz_estimate, recognise_arch
from spikernn.energy.figures import citation, loihi2_static_power, loihi2_system
from spikernn.energy.fmt import fmt_j, fmt_s
from spikernn.energy.loihi import loihi_estimate
from spikernn.energy.loihi_timing import loihi_latency
from spikernn.energy.measurement import measure
from spikernn.energy.meters import Meter
from spikernn.energy.neurobench_metrics import network_metrics, neurobench_metrics
from spikernn.energy.report import EnergyReport, PlatformRow, SweepPoint
from spikernn.energy.result import EnergyFigure
from spikernn.energy.uncertainty import wilson_interval

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
@dataclass
class EvalSplit:
    """Where accuracy is measured: ``x`` (shaped like the model input), ``targets`` (B,), optional
    ``lengths``, and ``label`` in words ("full test split", "the measured batch")."""

    x: Any
    targets: Any
    lengths: Any = None
    label: str = "the measured batch"

    @property
    def n(self) -> int:
        return int(len(self.targets))


def _torch_row(platform: str, model: Any, x: Any, lengths: Any, batch: int, *, device: str,
               predict: Callable[[Any], Any] | None, bf: bool, repeats: int, min_window_s: float,
               meters: Sequence[Meter] | None, split: EvalSplit | None = None,
               threads: int | str | None = "auto") -> PlatformRow:
    import torch

    xe = split.x if split is not None else None
    if device != "cpu":
        model = copy.deepcopy(model).to(device)
        x = x.to(device)
        xe = xe.to(device) if xe is not None else None
    modes = [(m, m.training) for m in model.modules()] if hasattr(model, "modules") else []
    model.eval()  # the caller's model on CPU: every submodule's train/eval mode is restored below

    def run() -> Any:
        with torch.inference_mode():
            return forward(model, x, lengths, batch_first=bf)

    try:
        acc = None
        if split is not None:
            with torch.inference_mode():
                out = forward(model, xe, split.lengths, batch_first=bf)
            pred = predict(out) if predict is not None else predictions(
                out, batch_first=bf, lengths=split.lengths, unbatched=_unbatched(xe))
            acc = accuracy(pred, split.targets)
        fig = measure(run, device=device, inferences_per_call=batch, repeats=repeats, min_window_s=min_window_s,
                      meters=meters, threads=threads)
    finally:
        for m, training in modes:
            m.training = training
    return PlatformRow.from_figure(platform, fig, accuracy=acc, accuracy_n=split.n if split else None,
                                   accuracy_of=split.label if split else "",
                                   notes=f"torch {torch.__version__} forward of the model on {device}, "
                                         f"batch {batch}, inference mode"
                                         + (f", {fig.threads} thread(s) ({fig.threads_note})" if fig.threads else "")
                                         + ".")


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


def _annotate_hops(network: Any, stats: Any, *, with_placement: bool = False) -> Any:
    """Fill ``stats.core_hops`` from a Loihi 2 placement of ``network`` (:func:`spikernn.hardware.place`)
    unless the activity already carries hops; returns a note for the report row saying where hops came from
    (and, with ``with_placement``, ``(note, placement or None)``).

    A network that is not a :class:`spikernn.hardware.network.Network`, or that does not fit Loihi 2, keeps no
    hops (the note says so) rather than failing the report."""
    from spikernn.hardware.network import Network

    def done(note: str, pl: Any = None) -> Any:
        return (note, pl) if with_placement else note

    if not isinstance(network, Network):
        return done("no placement for this network object: core hops not counted")
    from spikernn.hardware.placement import annotate_hops, place

    try:
        pl = place(network)
    except ValueError as exc:
        return done(f"core hops not counted: the network does not fit Loihi 2 ({exc})")
    if getattr(stats, "core_hops", None):
        return done("core hops as given with the activity", pl)
    annotate_hops(stats, network, pl)
    return done(f"core hops from a Loihi 2 placement ({pl.cores} cores on {pl.chips} chip(s))", pl)


def threshold_sweep(model: Any, inputs: Any, thresholds: Sequence[float], targets: Any = None, *,
                    lengths: Any = None, precision: str = "float", backend: str = "fast",
                    predict: Callable[[Any], Any] | None = None,
                    convert_options: dict[str, Any] | None = None) -> list[SweepPoint]:
    """Convert ``model`` at each sigma-delta threshold, simulate ``inputs``, and return accuracy on
    ``targets`` (with its n and 95 % interval), events and synaptic ops per inference and the Loihi-class
    energy estimate per inference (J). Pass the whole evaluation split: a sweep decided by a handful of
    samples says nothing. ``convert_options``: further keyword arguments of ``converters.to_lava``."""
    points = []
    for thr in thresholds:
        net = _convert(model, precision=precision, threshold=float(thr), convert_options=convert_options)
        out, stats = _simulate(net, inputs.detach().cpu() if hasattr(inputs, "detach") else inputs, lengths, backend)
        _annotate_hops(net, stats)
        est = loihi_estimate(stats)
        acc = _hardware_accuracy(net, model, out, inputs, targets, lengths, predict)
        per = stats.per_inference()
        n = int(len(targets)) if targets is not None else None
        ci = list(wilson_interval(int(round(acc * n)), n)) if acc is not None and n else None
        points.append(SweepPoint(threshold=float(thr), accuracy=acc, events_per_inference=per["events"],
                                 synaptic_ops_per_inference=per["synaptic_ops"],
                                 energy_per_inference_j=est.joules_per_inference, n=n, accuracy_ci=ci))
    return points


def compare(model: Any, inputs: Any, targets: Any = None, *, lengths: Any = None,
            platforms: Sequence[str] = PLATFORMS, network: Any = None, threshold: float = 0.0,
            precision: str = "float", backend: str = "fast", repeats: int = 5, min_window_s: float = 1.0,
            sweep_thresholds: Sequence[float] | None = None, predict: Callable[[Any], Any] | None = None,
            cpu_meters: Sequence[Meter] | None = None, gpu_meters: Sequence[Meter] | None = None,
            active: str = "events", title: str = "spikernn energy report",
            convert_options: dict[str, Any] | None = None, eval_inputs: Any = None, eval_targets: Any = None,
            eval_lengths: Any = None, eval_label: str = "full test split", threads: int | str | None = "auto",
            static_power: bool = True, system_reference: bool = True, neurobench: bool = True) -> EnergyReport:
    """Energy per inference of ``model`` on each platform, as an :class:`EnergyReport`.

    Args:
        model: a torch module: dense ``nn.RNN/LSTM/GRU`` (+ Linear head) or a spikernn spiking model.
        inputs: one batch shaped like the model input ((T,B,I), or (B,T,I) with ``batch_first``). Its batch
            size is the number of inferences each measured call does; it must not be empty.
        targets: optional (B,) class indices of ``inputs``; used for accuracy when no ``eval_*`` split is given.
        lengths: optional (B,) valid lengths of a padded batch (passed to the model and the simulator).
        platforms: any of "cpu", "gpu", "loihi". "gpu" without a CUDA device gives an unavailable row.
        network: an already converted network (skips ``converters.to_lava``).
        threshold: sigma-delta threshold used when converting (0 reproduces a dense model exactly).
        precision: "float" or "fixed" conversion.
        backend: simulator backend, "fast" (default) or "lava".
        repeats, min_window_s, threads: measurement windows and torch threads (see
            :func:`spikernn.energy.measurement.measure`).
        sweep_thresholds: optional thresholds for an accuracy-vs-energy sweep attached to the report (run on
            the evaluation split).
        predict: optional ``output -> (B,) predictions`` (default: argmax of logits / last valid step).
        cpu_meters, gpu_meters: meters to use instead of the defaults (e.g. in tests).
        active: Loihi active-update approximation, "events" or "all" (see :mod:`spikernn.energy.loihi`).
        convert_options: further keyword arguments of every ``converters.to_lava`` call here (the Loihi row
            without ``network`` and the sweep), e.g. the fixed-point calibration ``{"calibration_x": x_train}``
            or ``{"input_range": r}``; without one a fixed-point conversion assumes |x| <= 1 and warns.
        eval_inputs, eval_targets, eval_lengths: the split accuracy is measured on (e.g. the whole test set),
            shaped like ``inputs``; every row's accuracy then carries its n and 95 % Wilson interval. Without
            them the accuracy is that of ``inputs``/``targets`` (also with its n and interval).
        eval_label: what the evaluation split is, in words.
        static_power: give the Loihi row a static-energy figure (Loihi 2 static power x modelled latency).
        system_reference: add the system-level Loihi 2 row (Hala Point: J per synaptic op all included).
        neurobench: attach NeuroBench 2.3.0's metrics (footprint, connection and activation sparsity,
            synaptic operations) of the model on ``inputs`` and of the converted network's activity
            (:mod:`spikernn.energy.neurobench_metrics`; NeuroBench itself is not needed).

    Returns:
        An EnergyReport with one row per requested platform (an unavailable row says why), ratios with their
        ranges, time per inference and energy-delay product per row (Loihi: modelled, Davies 2018 Table 2),
        the dense-model analytic cross-check, the activity behind the Loihi row and the sweep when asked.

    Raises:
        ValueError: empty batch, unknown platform, targets not matching the batch.

    >>> rep = compare(model, x, y, eval_inputs=x_test, eval_targets=y_test)   # doctest: +SKIP
    >>> rep.save("report.html")                                               # doctest: +SKIP
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
    x_cpu = inputs.detach().cpu() if hasattr(inputs, "detach") else inputs
    # the default split is the measured batch itself (the same object, so the Loihi row simulates it once)
    split = _eval_split(x_cpu, targets, lengths, eval_inputs, eval_targets, eval_lengths, eval_label, bf)

    report = EnergyReport(title=title, model=_describe_model(model), inferences=batch, steps=steps)
    report.analytic = _analytic(model, steps)
    if neurobench:
        report.neurobench = {}
        _attach(report, f"{type(model).__name__} (torch)", lambda: neurobench_metrics(
            model, x_cpu, lengths=lengths, samples=batch))
    kw = dict(predict=predict, bf=bf, repeats=repeats, min_window_s=min_window_s, split=split, threads=threads)
    if "cpu" in platforms:
        report.add_row(_torch_row("cpu", model, x_cpu, lengths, batch, device="cpu", meters=cpu_meters, **kw))
    if "gpu" in platforms:
        report.add_row(_gpu_row(model, x_cpu, lengths, batch, meters=gpu_meters, **kw))
    if "loihi" in platforms:
        for row in _loihi_rows(report, model, x_cpu, lengths, network=network, threshold=threshold,
                               precision=precision, backend=backend, predict=predict, active=active,
                               convert_options=convert_options, split=split, static_power=static_power,
                               system_reference=system_reference):
            report.add_row(row)
    if sweep_thresholds:
        sx, st, sl = (split.x, split.targets, split.lengths) if split is not None else (x_cpu, None, lengths)
        report.add_threshold_sweep(threshold_sweep(model, sx, sweep_thresholds, st, lengths=sl,
                                                   precision=precision, backend=backend, predict=predict,
                                                   convert_options=convert_options))
    if split is not None:
        report.notes.append(f"Accuracy in every table: {split.label}, n = {split.n}, with its 95 % Wilson "
                            "interval; the energy figures are per inference of the measured batch.")
    return report


def _eval_split(inputs: Any, targets: Any, lengths: Any, eval_inputs: Any, eval_targets: Any, eval_lengths: Any,
                label: str, bf: bool) -> EvalSplit | None:
    if eval_inputs is None and eval_targets is None:
        if targets is None:
            return None
        return EvalSplit(inputs, targets, lengths, "the measured batch")
    if eval_inputs is None or eval_targets is None:
        raise ValueError("give both eval_inputs and eval_targets (the split accuracy is measured on)")
    n, _ = batch_and_steps(eval_inputs, bf)
    if len(eval_targets) != n:
        raise ValueError(f"eval_targets has {len(eval_targets)} entries but eval_inputs holds {n} inputs")
    if eval_lengths is not None and len(eval_lengths) != n:
        raise ValueError(f"eval_lengths has {len(eval_lengths)} entries but eval_inputs holds {n} inputs")
    x = eval_inputs.detach().cpu() if hasattr(eval_inputs, "detach") else eval_inputs
    return EvalSplit(x, eval_targets, eval_lengths, label)


def _gpu_row(model: Any, x: Any, lengths: Any, batch: int, **kw: Any) -> PlatformRow:
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except Exception:
        has_cuda = False
    if not has_cuda:
        return PlatformRow.from_figure("gpu", EnergyFigure.unavailable("none", "no CUDA device visible to torch",
                                                                      device="gpu"))
    return _torch_row("gpu", model, x, lengths, batch, device="cuda:0", **kw)


def _loihi_rows(report: EnergyReport, model: Any, x: Any, lengths: Any, *, network: Any,
                threshold: float, precision: str, backend: str, predict: Callable[[Any], Any] | None,
                active: str, convert_options: dict[str, Any] | None = None, split: EvalSplit | None = None,
                static_power: bool = True, system_reference: bool = True) -> list[PlatformRow]:
    """The Loihi row (per-op energy, modelled latency, optional static energy) and, when asked, the
    system-level Loihi 2 reference row."""
    if network is None:
        try:
            network = _convert(model, precision=precision, threshold=threshold, convert_options=convert_options)
        except ImportError as exc:
            return [PlatformRow.from_figure("loihi", EnergyFigure.unavailable(
                "loihi-davies2018-proxy", f"cannot convert the model: {exc}", device="Loihi (proxy for Loihi 2)"))]
        extra = "".join(f", {k}=..." for k in (convert_options or {}))
        how = f"converted with converters.to_lava(precision={precision!r}, threshold={threshold:g}{extra})"
    else:
        how = "a given converted network"
    out, stats = _simulate(network, x, lengths, backend)
    hops_note, placement = _annotate_hops(network, stats, with_placement=True)
    if report.neurobench is not None and placement is not None:
        _attach(report, f"{type(model).__name__} converted ({getattr(network, 'precision', '?')} point, simulated)",
                lambda: network_metrics(network, stats))
    latency = None
    if placement is not None:
        latency = loihi_latency(stats, network, placement)
        report.latency = latency.to_dict()
    est = loihi_estimate(stats, active=active,  # type: ignore[arg-type]
                         seconds_per_inference=latency.seconds_per_inference if latency else None)
    fig = est.figure
    if latency is not None and static_power:
        watts, src = loihi2_static_power()
        chips = max(latency.chips, 1)
        fig = dataclasses.replace(fig, static_joules_per_inference=watts * chips * latency.seconds_per_inference,
                                  sources=tuple(dict.fromkeys(fig.sources + latency.sources + (src,))))
    report.set_activity(stats)
    report.loihi_breakdown = est.to_dict()
    acc, acc_of = None, ""
    if split is not None:
        if split.x is x and split.lengths is lengths:
            acc = _hardware_accuracy(network, model, out, x, split.targets, lengths, predict)
        else:
            out_e, _ = _simulate(network, split.x, split.lengths, backend)
            acc = _hardware_accuracy(network, model, out_e, split.x, split.targets, split.lengths, predict)
        acc_of = split.label
    timing = (f"time per inference modelled from Loihi's per-op times on {latency.cores} core(s), "
              f"{latency.steps_per_inference:.3g} steps (range {fmt_s(latency.low_s)} to {fmt_s(latency.high_s)})"
              if latency else "no placement, so no Loihi timing model and no time per inference")
    rows = [PlatformRow.from_figure("loihi", fig, accuracy=acc, accuracy_n=split.n if split else None,
                                    accuracy_of=acc_of,
                                    notes=f"Activity from {how}, simulated with backend {backend!r}; {hops_note}; "
                                          f"{timing}.")]
    if system_reference:
        rows.append(_system_row(est.counts["synaptic_ops"], latency))
    return rows


def _attach(report: EnergyReport, name: str, compute: Callable[[], Any]) -> None:
    """Add one model's NeuroBench metrics to the report (a note instead when they cannot be computed)."""
    try:
        m = compute()
        report.neurobench[name] = {"footprint_bytes": m.footprint_bytes,
                                   "connection_sparsity": m.connection_sparsity,
                                   "activation_sparsity": m.activation_sparsity, "effective_macs": m.effective_macs,
                                   "effective_acs": m.effective_acs, "dense": m.dense, "samples": m.samples,
                                   "notes": list(m.notes)}
    except Exception as exc:  # a report must not fail on a model the view does not know
        report.notes.append(f"NeuroBench metrics of {name} not computed: {exc}")


def _system_row(synaptic_ops_per_inference: float, latency: Any) -> PlatformRow:
    """The system-level Loihi 2 reference: synaptic ops x Hala Point's J per synaptic op, all included."""
    s = loihi2_system()
    j = synaptic_ops_per_inference * s.synaptic_op_j
    fig = EnergyFigure(
        kind="estimated", method="loihi2-system-halapoint", joules_per_inference=j,
        seconds_per_inference=latency.seconds_per_inference if latency else None,
        caveat=(f"SYSTEM-LEVEL REFERENCE, an estimate: synaptic ops per inference x {fmt_j(s.synaptic_op_j)} per "
                f"synaptic op, Intel's Hala Point figure ({s.chips:,} Loihi 2 chips, up to {s.max_power_w:,.0f} W at "
                f"{s.synaptic_ops_per_s / 1e12:,.0f} T synaptic ops/s; {citation(s.source)}). Static power, host and "
                "IO are all included, at full load; a small network on a few cores would not load the system "
                "like this, so read it as the scale of a whole Loihi 2 system's cost per synaptic op."),
        iterations=1, repeats=1, device="Loihi 2 system (Hala Point)", sources=(s.source,), low_j=None, high_j=None)
    return PlatformRow.from_figure("loihi2-system", fig, notes="Not a model of this network's placement.")


def _describe_model(model: Any) -> str:
    arch = arch_of(model)
    name = type(model).__name__
    if arch is None:
        return name
    s = (f"{name}: {arch.mode} input {arch.input_size}, hidden {arch.hidden_size}, {arch.num_layers} layer(s)"
         + (", bidirectional" if arch.bidirectional else ""))
    return s + (f", head {arch.head}" if arch.head else "")


def _analytic(model: Any, steps: int) -> dict[str, Any]:
    arch, why = recognise_arch(model)
    if arch is None:
        return {"unavailable": why}
    c32 = arch.sequence_counts(steps, bytes_per_param=4)
    c8 = arch.sequence_counts(steps, bytes_per_param=1)
    return {"arch": {"mode": arch.mode, "input_size": arch.input_size, "hidden_size": arch.hidden_size,
                     "num_layers": arch.num_layers, "bidirectional": arch.bidirectional, "bias": arch.bias,
                     "head": arch.head},
            "steps": steps, "counts": c32.to_dict(), "kind": "estimated", "method": "op-counts-horowitz2014",
            "horowitz_fp32": horowitz_estimate(c32, precision="fp32").to_dict(),
            "horowitz_int8": horowitz_estimate(c8, precision="int8").to_dict()}
