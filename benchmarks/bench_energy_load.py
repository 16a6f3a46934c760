"""CPU energy per inference of the same model on a quiet machine and while another process keeps a core busy.

The model and batch are the issue's: ``nn.LSTM(12, 64)`` on a (25, 16, 12) batch, inference mode. Three
measurements with :func:`spikernn.energy.measure` (default CPU meter of this machine, five undisturbed
windows each, disturbed windows re-measured up to five times):

    quiet    threads pinned to 1, no extra load from this script;
    loaded   threads pinned to 1, a busy-looping child process started by this script;
    loaded2  threads pinned to 2 under the same extra load (oversubscribed: must be flagged).

It prints the background load each phase saw (cores other processes kept busy, read from /proc/stat), each
figure with its spread and range, and the loaded/quiet ratio with its range. The claim checked: loaded and
quiet agree within 2x, or the loaded figure is flagged as disturbed. Usage:

    .venv/bin/python benchmarks/bench_energy_load.py [--repeats 5] [--window 1.0]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

import torch

from spikernn.energy import measure
from spikernn.energy.load import background_load
from spikernn.energy.fmt import fmt_j, fmt_ratio, fmt_s


def start_load(seconds: float) -> int:
    """Start a busy loop that is NOT a child of this process (a shell starts it in the background and exits),
    so codecarbon's process tracking, which adds this process's children, does not count it. Returns its pid."""
    cmd = f'{sys.executable} -c "import time; t = time.time()\nwhile time.time() - t < {seconds}: pass" ' \
          '> /dev/null 2>&1 & echo $!'
    out = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=30, check=True)
    return int(out.stdout.strip())


def stop_load(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def workload():
    torch.manual_seed(0)
    model = torch.nn.LSTM(12, 64).eval()
    x = torch.randn(25, 16, 12)

    def run() -> None:
        with torch.inference_mode():
            model(x)

    return run, x.shape[1]


def phase(name: str, fn, batch: int, *, threads: int, repeats: int, window: float):
    bg = background_load(0.5)
    t0 = time.perf_counter()
    fig = measure(fn, inferences_per_call=batch, repeats=repeats, min_window_s=window, threads=threads)
    took = time.perf_counter() - t0
    ld = fig.load
    print(f"\n[{name}] threads {fig.threads}; background before: {bg:.2f} cores busy by other processes; "
          f"during the windows: median {ld.get('others_cores_median', 0):.2f}, max {ld.get('others_cores_max', 0):.2f}; "
          f"this process {ld.get('own_cores_median', 0):.2f} cores ({took:.1f} s)")
    print(f"  meter {fig.method} ({fig.kind}); windows {ld.get('windows')}, disturbed {ld.get('disturbed_windows')}; "
          f"figure {'DISTURBED' if fig.disturbed else 'clean'}")
    print(f"  CPU energy / inference: {fmt_j(fig.joules_per_inference)} (median of {fig.repeats}; spread "
          f"±{fmt_j(fig.spread_j)}; range {fmt_j(fig.low_j)}-{fmt_j(fig.high_j)}); samples "
          + ", ".join(fmt_j(v) for v in fig.samples_j))
    print(f"  RAM (separate, {fig.ram_kind}): {fmt_j(fig.ram_joules_per_inference)}; wall {fmt_s(fig.seconds_per_inference)}"
          f" / inference, process CPU {fmt_s(fig.cpu_seconds_per_inference)} / inference")
    if fig.disturbed:
        print(f"  reason: {fig.disturbed_reason}")
    return fig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--window", type=float, default=1.0, help="seconds per measurement window")
    args = ap.parse_args()
    fn, batch = workload()
    print(f"nn.LSTM(12, 64), batch {batch} x 25 steps; torch {torch.__version__}; {args.repeats} windows of "
          f">= {args.window} s per figure")
    quiet = phase("quiet", fn, batch, threads=1, repeats=args.repeats, window=args.window)
    budget = 20 * args.repeats * args.window + 30  # the load stops itself even if this script dies
    pid = start_load(budget)
    try:
        time.sleep(0.5)
        loaded = phase("loaded", fn, batch, threads=1, repeats=args.repeats, window=args.window)
        loaded2 = phase("loaded2", fn, batch, threads=2, repeats=args.repeats, window=args.window)
    finally:
        stop_load(pid)
    print()
    for name, fig in (("loaded/quiet", loaded), ("loaded2/quiet", loaded2)):
        r = fig.joules_per_inference / quiet.joules_per_inference
        lo = fig.low_j / quiet.high_j
        hi = fig.high_j / quiet.low_j
        ok = 0.5 <= r <= 2.0
        print(f"{name}: {fmt_ratio(r, lo, hi)}; within 2x: {ok}; loaded figure flagged disturbed: {fig.disturbed} "
              f"-> claim {'holds' if ok or fig.disturbed else 'FAILS'}")


if __name__ == "__main__":
    main()
