"""Numbers formatted for people: SI prefixes, thousands separators, and only the digits a spread supports.

    >>> fmt_j(5.08582e-2), fmt_s(4.5e-3), fmt_count(96766.2)
    ('50.9 mJ', '4.5 ms', '96,766')
    >>> fmt_ratio(6610.0, 1300.0, 10200.0)      # samples spanning a wide range: one significant digit
    '7,000 (1,300–10,000)'
    >>> fmt_ratio(15.83, 15.6, 16.1)
    '15.8 (15.6–16.1)'
"""
from __future__ import annotations

import math

_PREFIXES = ((1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def _si(v: float | None, unit: str, digits: int = 3) -> str:
    if v is None:
        return "—"
    if v == 0:
        return f"0 {unit}"
    v = _round_sig(v, digits)  # round first, so 999.96 µJ becomes 1 mJ, not 1,000 µJ
    for scale, prefix in _PREFIXES:
        if abs(v) >= scale * (1 - 1e-12):
            return f"{_sig(v / scale, digits)} {prefix}{unit}"
    return f"{v:.{digits}g} {unit}"


def _round_sig(v: float, digits: int) -> float:
    if v == 0 or not math.isfinite(v):
        return v
    return round(v, digits - 1 - math.floor(math.log10(abs(v))))


def _sig(v: float, digits: int) -> str:
    """``v`` to ``digits`` significant digits, without exponent notation and with thousands separators."""
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    r = _round_sig(v, digits)
    if abs(r) >= 10 ** digits:
        return f"{r:,.0f}"
    return f"{r:.{digits}g}"


def fmt_j(v: float | None, digits: int = 3) -> str:
    """Joules with an SI prefix, e.g. ``1.23 µJ``; "—" for None."""
    return _si(v, "J", digits)


def fmt_s(v: float | None, digits: int = 3) -> str:
    """Seconds with an SI prefix, e.g. ``4.5 ms``; "—" for None."""
    return _si(v, "s", digits)


def fmt_js(v: float | None, digits: int = 3) -> str:
    """Joule-seconds (energy-delay product) with an SI prefix, e.g. ``3.2 nJ·s``."""
    return _si(v, "J·s", digits)


def fmt_count(v: float | None) -> str:
    """A count for people: ``96,766``; fractional counts under 100 keep three significant digits."""
    if v is None:
        return "—"
    if abs(v) >= 100 or float(v).is_integer():
        return f"{round(v):,}"
    return _sig(v, 3)


def fmt_pct(v: float | None, digits: int = 1) -> str:
    """A fraction as a percentage, ``0.9622 -> '96.2 %'``."""
    return "—" if v is None else f"{100 * v:.{digits}f} %"


def supported_digits(value: float, low: float | None, high: float | None, *, most: int = 3) -> int:
    """Significant digits of ``value`` that its range [low, high] supports: the last digit shown is of the
    order of the half-width (one digit when the half-width is as large as the value), at most ``most``."""
    if low is None or high is None or value == 0 or not math.isfinite(value):
        return most
    half = abs(high - low) / 2.0
    if half <= 0:
        return most
    d = math.floor(math.log10(abs(value))) - math.floor(math.log10(half)) + 1
    return int(min(max(d, 1), most))


def fmt_ratio(value: float | None, low: float | None = None, high: float | None = None) -> str:
    """A ratio with the digits its range supports, and the range: ``'160 (90–250)'``; "—" for None."""
    if value is None:
        return "—"
    d = supported_digits(value, low, high)
    s = _sig(value, d)
    if low is None or high is None:
        return s
    rd = max(d, 2)
    return f"{s} ({_sig(low, rd)}–{_sig(high, rd)})"


def fmt_j_range(value: float | None, low: float | None, high: float | None) -> str:
    """Joules with the digits the range supports and the range: ``'44 µJ (41–48 µJ)'``."""
    if value is None:
        return "—"
    d = supported_digits(value, low, high)
    if low is None or high is None or low == high:
        return fmt_j(value, d)
    rd = max(d, 2)
    return f"{fmt_j(value, d)} ({fmt_j(low, rd)} – {fmt_j(high, rd)})"
