"""Uncertainty of the figures a report compares: accuracy intervals and ratio ranges.

    >>> lo, hi = wilson_interval(356, 370)
    >>> round(lo, 3), round(hi, 3)
    (0.937, 0.977)
    >>> ratio_range((8e-3, 9e-3, 1e-2), (1e-6, 1.2e-6))
    (8333.333333333334, 6666.666666666667, 10000.0)
"""
from __future__ import annotations

import math
import statistics
from typing import Sequence


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % (z = 1.96) Wilson score interval of an accuracy ``correct / n``; ValueError for n < 1."""
    if n < 1:
        raise ValueError(f"an accuracy needs n >= 1 samples, got {n}")
    if not 0 <= correct <= n:
        raise ValueError(f"correct must be in [0, n={n}], got {correct}")
    p = correct / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def ratio_range(a: Sequence[float] | tuple[float, float, float], b: Sequence[float]) -> tuple[float, float, float]:
    """(median ratio, low, high) of a / b from samples (or (value, low, high) triples) of each side:
    ``median(a) / median(b)``, ``min(a) / max(b)``, ``max(a) / min(b)``. Zero denominators raise."""
    if not a or not b:
        raise ValueError("ratio_range needs samples on both sides")
    if min(b) <= 0:
        raise ValueError(f"cannot divide by a non-positive figure ({min(b)})")
    return statistics.median(a) / statistics.median(b), min(a) / max(b), max(a) / min(b)
