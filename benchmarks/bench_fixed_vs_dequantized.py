"""Fixed point against its dequantised float twin: how often the arithmetic's rounding moves a spike.

Random 2 x 16 LIF networks (decay 0.75, 3 inputs, 40 steps, the networks of
``tests/test_hardware_fixed_point.py``), each quantised and run next to ``fixed_point.dequantize`` of itself
in lockstep; prints the draws with a differing spike, the spike slots that differ, and the largest membrane
gap as a fraction of the rounding bound (docs/hardware_kinds.md, "Fixed point against float"), which must
stay <= 1.

    .venv/bin/python benchmarks/bench_fixed_vs_dequantized.py [--seeds 40]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_hardware_fixed_point import _lif_net, _rounding_bound  # noqa: E402 - the test's networks and check

from spikernn.hardware import fixed_point as fp  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=40)
    a = ap.parse_args()
    draws = differing = slots = moved = 0
    worst = 0.0
    for reset, adapt in (("zero", False), ("subtract", True), ("subtract", False), ("zero", True)):
        for seed in range(a.seeds):
            rng = np.random.default_rng(seed)
            q, rep = fp.quantize(_lif_net(reset=reset, adapt=adapt, rng=rng), input_range=3.0)
            F = rep.input_frac_bits
            x = np.round(rng.normal(0, 1, (40, 3, 6)) * 2 ** F) / 2 ** F
            first, w, n, d = _rounding_bound(q, x)
            draws, differing, slots, moved = draws + 1, differing + (first is not None), slots + n, moved + d
            worst = max(worst, w)
    print(f"{draws} draws: {differing} with a differing spike; {moved:,} of {slots:,} spike slots differ "
          f"({100 * moved / slots:.2f} %); largest membrane gap before the first differing spike: "
          f"{worst:.3f} x the rounding bound")


if __name__ == "__main__":
    main()
