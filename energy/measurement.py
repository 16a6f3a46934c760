"""Measure the energy of a callable (or a block of code) per inference, on CPU or on an NVIDIA GPU.

Algorithm of :func:`measure`:
    1. run ``warmup`` calls;
    2. when the meter supports it (RAPL, NVML), measure idle power over ``idle_s`` seconds of sleep;
    3. ``repeats`` windows; each calls ``fn`` until ``min_window_s`` seconds have passed, counting the calls
       (so one slow call cannot shrink the window), then synchronises CUDA and closes the window; per window
       joules / (calls x inferences_per_call) and seconds likewise;
    4. median and spread over the windows; dynamic = (window joules - idle W x window s) / inferences.
Meters are tried in order (CPU: RAPL read directly, then codecarbon; GPU: NVML). A meter that cannot work
here is skipped with its reason; when none works the result is an unavailable figure (never an exception
from codecarbon or NVML). Exceptions raised by the measured callable itself propagate unchanged.
"""
from __future__ import annotations

import math
import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from spikernn.energy.meters import Meter, MeterReading, MeterUnavailable
from spikernn.energy.result import EnergyFigure, median_and_spread

MAX_CALLS_PER_WINDOW = 10_000_000


def parse_device(device: str) -> tuple[str, int]:
    """("cpu", 0) or ("cuda", index) from "cpu", "gpu", "cuda", "cuda:1"; ValueError otherwise."""
    d = str(device).strip().lower()
    if d == "cpu":
        return "cpu", 0
    if d in ("gpu", "cuda"):
        return "cuda", 0
    if d.startswith("cuda:") and d[5:].isdigit():
        return "cuda", int(d[5:])
    raise ValueError(f"device must be 'cpu', 'gpu', 'cuda' or 'cuda:N', got {device!r}")


def default_meters(device: str = "cpu") -> list[Meter]:
    """Meters to try, in order: CPU -> [RaplMeter, CodecarbonMeter]; CUDA -> [NvmlMeter]."""
    from spikernn.energy.codecarbon_meter import CodecarbonMeter
    from spikernn.energy.nvml import NvmlMeter
    from spikernn.energy.rapl import RaplMeter

    kind, index = parse_device(device)
    if kind == "cpu":
        return [RaplMeter(), CodecarbonMeter()]
    return [NvmlMeter(index)]


def cuda_sync(device: str) -> Callable[[], None] | None:
    """``torch.cuda.synchronize`` for a CUDA device (None for CPU or when torch has no CUDA)."""
    kind, index = parse_device(device)
    if kind != "cuda":
        return None
    try:
        import torch

        if not torch.cuda.is_available():
            return None
        return lambda: torch.cuda.synchronize(index)
    except Exception:
        return None


def _default_idle_s(meter: Meter) -> float:
    # NVML updates ~every 100 ms: an idle window of 1 s gives ~10 % resolution; RAPL updates ~every 1 ms.
    return 1.0 if meter.method.startswith("nvml") else 0.5


def _idle_watts(meter: Meter, idle_s: float) -> float:
    meter.start()
    time.sleep(idle_s)
    r = meter.stop()
    return r.joules / r.seconds if r.seconds > 0 else 0.0


def _window_caveat(meter: Meter, window_s: float) -> str:
    if meter.method.startswith("nvml") and window_s < 1.0:
        return (f" WARNING: windows of {window_s:.2f} s are short for a counter updated every ~100 ms; "
                "treat this figure as coarse.")
    return ""


def _measure_with(meter: Meter, fn: Callable[[], Any], *, inferences_per_call: int, repeats: int,
                  min_window_s: float, warmup: int, idle_s: float | None,
                  sync: Callable[[], None] | None) -> EnergyFigure:
    do_sync = sync or (lambda: None)
    meter.open()
    try:
        for _ in range(max(warmup, 0)):
            fn()
        do_sync()
        idle_w = None
        if meter.supports_idle:
            s = _default_idle_s(meter) if idle_s is None else idle_s
            if s > 0:
                idle_w = _idle_watts(meter, s)
        totals, dyn, secs, counts = [], [], [], []
        comps_acc: dict[str, list[float]] = {}
        window_s = 0.0
        for _ in range(repeats):
            meter.start()
            t0 = time.perf_counter()
            calls = 0
            while True:
                fn()
                calls += 1
                if calls >= MAX_CALLS_PER_WINDOW or time.perf_counter() - t0 >= min_window_s:
                    break
            do_sync()
            r: MeterReading = meter.stop()
            if not math.isfinite(r.joules) or r.joules < 0:
                raise MeterUnavailable(f"{meter.method} returned an invalid energy ({r.joules} J)")
            n = calls * inferences_per_call
            counts.append(n)
            window_s = r.seconds
            totals.append(r.joules / n)
            secs.append(r.seconds / n)
            for k, v in r.components.items():
                comps_acc.setdefault(k, []).append(v / n)
            if idle_w is not None:
                dyn.append(max(r.joules - idle_w * r.seconds, 0.0) / n)
        med, spread = median_and_spread(totals)
        sec_med, _ = median_and_spread(secs)
        dyn_med, _ = median_and_spread(dyn)
        comps = {k: median_and_spread(v)[0] for k, v in comps_acc.items()}
        return EnergyFigure(
            kind=meter.kind,  # type: ignore[arg-type]
            method=meter.method,
            caveat=meter.caveat + _window_caveat(meter, window_s),
            joules_per_inference=med,
            seconds_per_inference=sec_med,
            iterations=int(statistics.median_low(counts)),
            repeats=repeats,
            spread_j=spread,
            samples_j=tuple(totals),
            dynamic_joules_per_inference=dyn_med,
            dynamic_samples_j=tuple(dyn),
            idle_watts=idle_w,
            components_j=comps,  # type: ignore[arg-type]
            device=meter.device,
        )
    finally:
        meter.close()


def _check(inferences_per_call: int, repeats: int, min_window_s: float) -> None:
    if int(inferences_per_call) < 1:
        raise ValueError(f"inferences_per_call must be >= 1 (an empty batch has no energy per inference), "
                         f"got {inferences_per_call}")
    if int(repeats) < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if min_window_s < 0:
        raise ValueError(f"min_window_s must be >= 0 seconds, got {min_window_s}")


def measure(fn: Callable[[], Any], *, device: str = "cpu", inferences_per_call: int = 1, repeats: int = 3,
            min_window_s: float = 1.5, warmup: int = 1, idle_s: float | None = None,
            meters: Sequence[Meter] | None = None, sync: Callable[[], None] | None = None) -> EnergyFigure:
    """Energy and time per inference of ``fn()`` on ``device``.

    Args:
        fn: zero-argument callable doing ``inferences_per_call`` inferences (e.g. one batch forward).
        device: "cpu", "gpu"/"cuda" or "cuda:N" — which meters to use and what to synchronise.
        inferences_per_call: inferences done by one call (the batch size), >= 1.
        repeats: measurement windows; the figure is their median, the spread their half-range.
        min_window_s: seconds each window lasts at least (calls are repeated to fill it). Keep it well over
            1 s for NVML (its counter updates about every 100 ms).
        warmup: calls run before timing (JIT, caches, CUDA context).
        idle_s: seconds of idle measured before the windows for the dynamic figure (None: 1 s for NVML,
            0.5 s for RAPL; 0 disables). Meters without an idle notion (codecarbon) ignore it.
        meters: meters to try in order (default :func:`default_meters` for the device).
        sync: called before every window closes (default: ``torch.cuda.synchronize`` on CUDA devices).

    Returns:
        An :class:`EnergyFigure` from the first meter that works; an unavailable figure (joules None,
        ``unavailable_reason`` listing each meter's reason) when none does.
    """
    _check(inferences_per_call, repeats, min_window_s)
    meters = list(meters) if meters is not None else default_meters(device)
    sync = sync if sync is not None else cuda_sync(device)
    reasons = []
    for m in meters:
        try:
            return _measure_with(m, fn, inferences_per_call=int(inferences_per_call), repeats=int(repeats),
                                 min_window_s=float(min_window_s), warmup=warmup, idle_s=idle_s, sync=sync)
        except MeterUnavailable as exc:
            reasons.append(f"{getattr(m, 'method', type(m).__name__)}: {exc}")
    return EnergyFigure.unavailable("none", "; ".join(reasons) or "no meter given", device=str(device))


@dataclass
class Measurement:
    """Handle yielded by :func:`measuring`; ``figure`` is set when the block exits."""

    device: str
    inferences: int
    figure: EnergyFigure | None = None
    reasons: list[str] = field(default_factory=list)


@contextmanager
def measuring(device: str = "cpu", *, inferences: int = 1, meters: Sequence[Meter] | None = None,
              sync: Callable[[], None] | None = None) -> Iterator[Measurement]:
    """Measure one block of code as one window: ``with measuring("cpu", inferences=64) as m: ...``.

    After the block, ``m.figure`` is an :class:`EnergyFigure` with ``repeats=1`` (no idle subtraction;
    use :func:`measure` for repeats and dynamic figures) or an unavailable figure. ``inferences`` may be
    changed inside the block (``m.inferences = n``) when the count is known only there.
    """
    sync = sync if sync is not None else cuda_sync(device)
    handle = Measurement(device=str(device), inferences=int(inferences))
    active: Meter | None = None
    for m in (list(meters) if meters is not None else default_meters(device)):
        try:
            m.open()
            m.start()
            active = m
            break
        except MeterUnavailable as exc:
            handle.reasons.append(f"{getattr(m, 'method', type(m).__name__)}: {exc}")
            try:
                m.close()
            except Exception:
                pass
    t0 = time.perf_counter()
    try:
        yield handle
    finally:
        if sync is not None:
            sync()
        elapsed = time.perf_counter() - t0
        if active is None:
            handle.figure = EnergyFigure.unavailable("none", "; ".join(handle.reasons) or "no meter",
                                                     device=str(device))
        else:
            try:
                r = active.stop()
                if handle.inferences < 1:
                    handle.figure = EnergyFigure.unavailable(
                        active.method, f"inferences must be >= 1, got {handle.inferences}", device=active.device)
                else:
                    n = handle.inferences
                    handle.figure = EnergyFigure(
                        kind=active.kind, method=active.method,  # type: ignore[arg-type]
                        caveat=active.caveat + _window_caveat(active, r.seconds),
                        joules_per_inference=r.joules / n, seconds_per_inference=elapsed / n,
                        iterations=n, repeats=1, spread_j=0.0, samples_j=(r.joules / n,),
                        components_j={k: v / n for k, v in r.components.items()}, device=active.device)
            except MeterUnavailable as exc:
                handle.figure = EnergyFigure.unavailable(active.method, str(exc), device=str(device))
            finally:
                try:
                    active.close()
                except Exception:
                    pass
