"""Measure the energy of a callable (or a block of code) per inference, on CPU or on an NVIDIA GPU.

Algorithm of :func:`measure`:
    1. run ``warmup`` calls;
    2. when the meter supports it (RAPL, NVML), measure idle power over ``idle_s`` seconds of sleep;
    0. torch's threads are pinned for the whole measurement (``threads``: chosen from the cores other
       processes leave free, or as given) and restored after;
    3. windows until ``repeats`` of them are undisturbed (other processes' CPU use read from /proc/stat beside
       this process's CPU time, :mod:`spikernn.energy.load`; disturbed windows are re-measured, at most
       ``max_extra_windows`` times, else the figure is flagged ``disturbed``); each calls ``fn`` until
       ``min_window_s`` seconds have passed, counting the calls (so one slow call cannot shrink the window),
       then synchronises CUDA and closes the window; per window joules / (calls x inferences_per_call),
       wall seconds and process CPU seconds likewise;
    4. median, spread (half range) and range over the windows; dynamic = (window joules - idle W x window s)
       / inferences. RAM energy (codecarbon's "ram", RAPL's "dram") is a separate labelled figure, never
       inside ``joules_per_inference``.
Meters are tried in order (CPU: RAPL read directly, then codecarbon; GPU: NVML). A meter that cannot work
here is skipped with its reason; when none works the result is an unavailable figure (never an exception
from codecarbon or NVML). Exceptions raised by the measured callable itself propagate unchanged.
"""
from __future__ import annotations

import math
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

from spikernn.energy.load import (LoadSample, LoadWindow, background_load, choose_threads, disturbance_summary,
                                  summarise)
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
    """Meters to try, in order: CPU -> [RaplMeter, CodecarbonMeter]; CUDA -> [NvmlMeter, ZeusMeter] (Zeus
    when installed; pass ``meters=[ZeusMeter(i)]`` to cross-check NVML with it)."""
    from spikernn.energy.codecarbon_meter import CodecarbonMeter
    from spikernn.energy.nvml import NvmlMeter
    from spikernn.energy.rapl import RaplMeter
    from spikernn.energy.zeus_meter import ZeusMeter

    kind, index = parse_device(device)
    if kind == "cpu":
        return [RaplMeter(), CodecarbonMeter()]
    return [NvmlMeter(index), ZeusMeter(index)]


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


RAM_COMPONENTS = ("ram", "dram")  # meter components that are memory, kept out of the headline figure


def split_ram(components: dict[str, float]) -> tuple[float, float | None]:
    """(joules without RAM, RAM joules or None) of a meter reading's components."""
    ram = [v for k, v in components.items() if k in RAM_COMPONENTS]
    rest = sum(v for k, v in components.items() if k not in RAM_COMPONENTS)
    return rest, (sum(ram) if ram else None)


@contextmanager
def torch_threads(n: int | None) -> Iterator[int | None]:
    """Pin torch's intra-op threads to ``n`` for the block and restore the previous setting after
    (nothing happens when ``n`` is None or torch is not imported)."""
    torch = sys.modules.get("torch")
    if n is None or torch is None:
        yield None
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield int(n)
    finally:
        torch.set_num_threads(old)


def resolve_threads(threads: int | str | None, device: str) -> tuple[int | None, str]:
    """Threads to pin for a measurement and why (see :func:`spikernn.energy.load.choose_threads`);
    ``None`` leaves torch as it is."""
    if threads is None:
        return None, "torch threads left as they were"
    torch = sys.modules.get("torch")
    current = torch.get_num_threads() if torch is not None else None
    if threads == "auto" and current == 1:
        return 1, "torch was set to 1 thread"
    others = background_load(0.2) if threads == "auto" else None
    return choose_threads(threads, others_cores=others, current=current)


@dataclass
class _Window:
    joules: float
    ram: float | None
    seconds: float
    n: int
    components: dict[str, float]
    load: LoadSample
    dynamic: float | None


def _run_window(meter: Meter, fn: Callable[[], Any], inferences_per_call: int, min_window_s: float,
                do_sync: Callable[[], None], threads: int | None, idle_w: float | None) -> _Window:
    lw = LoadWindow(threads)
    meter.start()
    lw.start()
    t0 = time.perf_counter()
    calls = 0
    while True:
        fn()
        calls += 1
        if calls >= MAX_CALLS_PER_WINDOW or time.perf_counter() - t0 >= min_window_s:
            break
    do_sync()
    load = lw.stop()
    r: MeterReading = meter.stop()
    if not math.isfinite(r.joules) or r.joules < 0:
        raise MeterUnavailable(f"{meter.method} returned an invalid energy ({r.joules} J)")
    head, ram = split_ram(r.components) if r.components else (r.joules, None)
    dyn = None
    if idle_w is not None:
        # idle power of the headline part only: the idle window's RAM share is unknown, so scale by the
        # headline's share of this window (exact for meters without a RAM component)
        share = head / r.joules if r.joules > 0 else 1.0
        dyn = max(head - idle_w * share * r.seconds, 0.0)
    return _Window(head, ram, r.seconds, calls * inferences_per_call, dict(r.components), load, dyn)


def _measure_with(meter: Meter, fn: Callable[[], Any], *, inferences_per_call: int, repeats: int,
                  min_window_s: float, warmup: int, idle_s: float | None,
                  sync: Callable[[], None] | None, threads: int | None = None, threads_note: str = "",
                  max_extra_windows: int | None = None, judge_load: bool = True) -> EnergyFigure:
    do_sync = sync or (lambda: None)
    extra = repeats if max_extra_windows is None else max(int(max_extra_windows), 0)
    meter.open()
    try:
        with torch_threads(threads):
            for _ in range(max(warmup, 0)):
                fn()
            do_sync()
            idle_w = None
            if meter.supports_idle:
                s = _default_idle_s(meter) if idle_s is None else idle_s
                if s > 0:
                    idle_w = _idle_watts(meter, s)
            windows: list[_Window] = []
            # repeat until ``repeats`` undisturbed windows, re-measuring disturbed ones up to ``extra`` times
            while True:
                windows.append(_run_window(meter, fn, inferences_per_call, min_window_s, do_sync, threads, idle_w))
                clean = [w for w in windows if not (judge_load and w.load.disturbed)]
                if len(clean) >= repeats or len(windows) >= repeats + extra:
                    break
        disturbed = len(clean) < repeats
        used = windows if disturbed else clean
        reason = disturbance_summary([w.load for w in windows]) if disturbed else ""
        return _figure(meter, used, windows, idle_w, threads, threads_note, disturbed, reason)
    finally:
        meter.close()


def _figure(meter: Meter, used: list[_Window], windows: list[_Window], idle_w: float | None,
            threads: int | None, threads_note: str, disturbed: bool, reason: str) -> EnergyFigure:
    totals = [w.joules / w.n for w in used]
    secs = [w.seconds / w.n for w in used]
    cpus = [w.load.process_cpu_s / w.n for w in used]
    dyn = [w.dynamic / w.n for w in used if w.dynamic is not None]
    rams = [w.ram / w.n for w in used if w.ram is not None]
    med, spread = median_and_spread(totals)
    comps_acc: dict[str, list[float]] = {}
    for w in used:
        for k, v in w.components.items():
            comps_acc.setdefault(k, []).append(v / w.n)
    caveat = meter.caveat + _window_caveat(meter, used[-1].seconds)
    if disturbed:
        caveat += f" DISTURBED: {reason}; the figure uses every window and is not reliable."
    return EnergyFigure(
        kind=meter.kind,  # type: ignore[arg-type]
        method=meter.method,
        caveat=caveat,
        joules_per_inference=med,
        seconds_per_inference=median_and_spread(secs)[0],
        iterations=int(statistics.median_low([w.n for w in used])),
        repeats=len(used),
        spread_j=spread,
        samples_j=tuple(totals),
        dynamic_joules_per_inference=median_and_spread(dyn)[0],
        dynamic_samples_j=tuple(dyn),
        idle_watts=idle_w,
        components_j={k: median_and_spread(v)[0] for k, v in comps_acc.items()},  # type: ignore[misc]
        device=meter.device,
        low_j=min(totals),
        high_j=max(totals),
        ram_joules_per_inference=median_and_spread(rams)[0],
        ram_kind=(getattr(meter, "ram_kind", None) or meter.kind) if rams else None,
        threads=threads,
        threads_note=threads_note,
        cpu_seconds_per_inference=median_and_spread(cpus)[0],
        seconds_samples=tuple(secs),
        cpu_seconds_samples=tuple(cpus),
        load=summarise([w.load for w in windows]),
        disturbed=disturbed,
        disturbed_reason=reason,
    )


def _check(inferences_per_call: int, repeats: int, min_window_s: float) -> None:
    if int(inferences_per_call) < 1:
        raise ValueError(f"inferences_per_call must be >= 1 (an empty batch has no energy per inference), "
                         f"got {inferences_per_call}")
    if int(repeats) < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if min_window_s < 0:
        raise ValueError(f"min_window_s must be >= 0 seconds, got {min_window_s}")


def measure(fn: Callable[[], Any], *, device: str = "cpu", inferences_per_call: int = 1, repeats: int = 5,
            min_window_s: float = 1.0, warmup: int = 1, idle_s: float | None = None,
            meters: Sequence[Meter] | None = None, sync: Callable[[], None] | None = None,
            threads: int | str | None = "auto", max_extra_windows: int | None = None) -> EnergyFigure:
    """Energy and time per inference of ``fn()`` on ``device``.

    Args:
        fn: zero-argument callable doing ``inferences_per_call`` inferences (e.g. one batch forward).
        device: "cpu", "gpu"/"cuda" or "cuda:N" — which meters to use and what to synchronise.
        inferences_per_call: inferences done by one call (the batch size), >= 1.
        repeats: undisturbed measurement windows wanted; the figure is their median, the spread their
            half-range, ``low_j``/``high_j`` their min and max.
        min_window_s: seconds each window lasts at least (calls are repeated to fill it). Keep it well over
            1 s for NVML (its counter updates about every 100 ms).
        warmup: calls run before timing (JIT, caches, CUDA context).
        idle_s: seconds of idle measured before the windows for the dynamic figure (None: 1 s for NVML,
            0.5 s for RAPL; 0 disables). Meters without an idle notion (codecarbon) ignore it.
        meters: meters to try in order (default :func:`default_meters` for the device).
        sync: called before every window closes (default: ``torch.cuda.synchronize`` on CUDA devices).
        threads: torch threads for the windows (pinned, restored after): an int, "auto" (the cores other
            processes leave free, at most torch's current setting) or None (leave torch alone).
        max_extra_windows: how many disturbed windows may be re-measured (default: ``repeats``). On CPU a
            window is disturbed when other processes oversubscribe the cores (see :mod:`spikernn.energy.load`);
            when fewer than ``repeats`` clean windows can be had the figure is flagged ``disturbed``.

    Returns:
        An :class:`EnergyFigure` from the first meter that works (RAM energy, when the meter has it, is in
        ``ram_joules_per_inference`` and not in ``joules_per_inference``); an unavailable figure (joules
        None, ``unavailable_reason`` listing each meter's reason) when none does.

    >>> fig = measure(lambda: sum(range(10_000)), repeats=1, min_window_s=0.05)   # doctest: +SKIP
    >>> fig.kind, fig.method, fig.threads                                          # doctest: +SKIP
    ('estimated', 'codecarbon-tdp-load', 1)
    """
    _check(inferences_per_call, repeats, min_window_s)
    meters = list(meters) if meters is not None else default_meters(device)
    sync = sync if sync is not None else cuda_sync(device)
    n_threads, note = resolve_threads(threads, device)
    reasons = []
    for m in meters:
        try:
            return _measure_with(m, fn, inferences_per_call=int(inferences_per_call), repeats=int(repeats),
                                 min_window_s=float(min_window_s), warmup=warmup, idle_s=idle_s, sync=sync,
                                 threads=n_threads, threads_note=note, max_extra_windows=max_extra_windows,
                                 judge_load=parse_device(device)[0] == "cpu")
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
    lw = LoadWindow(None)
    t0 = time.perf_counter()
    lw.start()
    try:
        yield handle
    finally:
        if sync is not None:
            sync()
        load = lw.stop()
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
                    head, ram = split_ram(r.components) if r.components else (r.joules, None)
                    handle.figure = EnergyFigure(
                        kind=active.kind, method=active.method,  # type: ignore[arg-type]
                        caveat=active.caveat + _window_caveat(active, r.seconds),
                        joules_per_inference=head / n, seconds_per_inference=elapsed / n,
                        iterations=n, repeats=1, spread_j=0.0, samples_j=(head / n,),
                        components_j={k: v / n for k, v in r.components.items()}, device=active.device,
                        low_j=head / n, high_j=head / n,
                        ram_joules_per_inference=None if ram is None else ram / n,
                        ram_kind=(getattr(active, "ram_kind", None) or active.kind) if ram is not None else None,
                        cpu_seconds_per_inference=load.process_cpu_s / n, load=summarise([load]))
            except MeterUnavailable as exc:
                handle.figure = EnergyFigure.unavailable(active.method, str(exc), device=str(device))
            finally:
                try:
                    active.close()
                except Exception:
                    pass
