"""Overhead of measuring energy: a ~1 s CPU workload timed bare and inside a measurement window.

Prints, for the default CPU meter of this machine (RAPL when readable, else codecarbon):
    * block ratio  = wall time of ``with measuring(...): workload()`` (meter set-up and tear-down included)
                     / wall time of ``workload()``;
    * window ratio = time of the workload inside the window / bare time (how much the meter's background
                     sampling slows the work itself).
Runs alternate bare/measured ``--rounds`` times; the ratios are medians of the per-round (paired) ratios, so
load from other processes that drifts between rounds cancels. torch runs on one thread. Usage:

    .venv/bin/python benchmarks/bench_energy_overhead.py [--seconds 1.0] [--rounds 3]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from spikernn.energy.measurement import measuring


def make_workload(seconds: float):
    """A torch LSTM inference loop calibrated to last about ``seconds`` on this machine."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = torch.nn.LSTM(32, 64, batch_first=True).eval()
    x = torch.randn(16, 50, 32)

    def one() -> None:
        with torch.inference_mode():
            model(x)

    for _ in range(3):
        one()
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 0.2:
        one()
        n += 1
    calls = max(1, round(n * seconds / (time.perf_counter() - t0)))

    def workload() -> float:
        t = time.perf_counter()
        for _ in range(calls):
            one()
        return time.perf_counter() - t

    return workload, calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="length of the workload (s)")
    ap.add_argument("--rounds", type=int, default=4, help="bare/measured pairs (the first also pays imports)")
    args = ap.parse_args()
    if args.rounds < 2:
        ap.error("--rounds must be >= 2 (round 1 includes one-time imports)")
    workload, calls = make_workload(args.seconds)
    bare, block, inner, method, kind = [], [], [], "?", "?"
    for _ in range(args.rounds):
        bare.append(workload())
        t0 = time.perf_counter()
        with measuring("cpu", inferences=calls * 16) as m:
            inner.append(workload())
        block.append(time.perf_counter() - t0)
        method, kind = m.figure.method, m.figure.kind
    b, bl, inn = statistics.median(bare), statistics.median(block), statistics.median(inner)
    r_block = statistics.median(x / y for x, y in zip(block[1:], bare[1:]))
    r_inner = statistics.median(x / y for x, y in zip(inner[1:], bare[1:]))
    print(f"meter: {method} ({kind}); workload: {calls} LSTM forwards of batch 16, {args.rounds} rounds")
    print(f"bare workload         : {b:.3f} s (runs {', '.join(f'{v:.3f}' for v in bare)})")
    print(f"measured block        : {bl:.3f} s (runs {', '.join(f'{v:.3f}' for v in block)})")
    print(f"workload inside window: {inn:.3f} s (runs {', '.join(f'{v:.3f}' for v in inner)})")
    print(f"overhead ratio (block / bare)  : {r_block:.3f}  (median of paired rounds 2..{args.rounds})")
    print(f"overhead ratio (window / bare) : {r_inner:.3f}")
    print(f"first measured block / bare    : {block[0] / bare[0]:.3f} (includes importing the meter's library)")


if __name__ == "__main__":
    main()
