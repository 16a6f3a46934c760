"""Report figures as PNG bytes (matplotlib, Agg backend; no display needed).

Each function returns PNG bytes, or None when the report has nothing to plot for it. Axes carry units
with SI prefixes (µJ, ms: matplotlib's ``EngFormatter``, never a ``1e-6`` offset), and every colour or
hatch used has a legend entry.
"""
from __future__ import annotations

import io
from typing import Any

from spikernn.energy.figures import blouw2019
from spikernn.energy.fmt import fmt_j, supported_digits

# category -> (legend label, face colour, hatch, edge colour)
STYLES = {
    "measured": ("measured (energy counter)", "#2b6cb0", "", "black"),
    "estimated": ("estimated (model: TDP x load, per-op energies)", "#dd8a2b", "//", "black"),
    "system": ("Loihi 2 system reference (Hala Point, all included)", "#f6e05e", "xx", "black"),
    "floor": ("analytic floor: dense fp32 op counts at 45 nm", "#f3c892", "..", "black"),
    "published": ("published measurements, another network (Blouw et al. 2019)", "#cccccc", "", "#666666"),
}


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _eng(unit: str) -> Any:
    from matplotlib.ticker import EngFormatter

    return EngFormatter(unit=unit, sep=" ")


def _log_axis_with_units(axis: Any, unit: str, subs: tuple[float, ...] = (1.0,)) -> None:
    """A log axis whose ticks read 1 µJ, 10 µJ, ... (``subs`` (1, 2, 5) adds 2 µJ, 5 µJ for narrow ranges)."""
    from matplotlib.ticker import LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=subs, numticks=12))
    axis.set_major_formatter(_eng(unit))
    axis.set_minor_formatter(NullFormatter())


def _category(row: Any) -> str:
    if row.method.startswith("loihi2-system"):
        return "system"
    return row.kind if row.kind in ("measured", "estimated") else "estimated"


def energy_per_platform(report: Any, *, with_published: bool = True) -> bytes | None:
    """Bar chart on a log scale in joules (SI-prefixed ticks): energy per inference per platform, with
    the figure's range as an error bar, coloured by how it was obtained; the analytic floor and Blouw et al.
    2019's published keyword-spotting figures (another network, grey) for scale. The legend lists every
    style drawn."""
    rows = [r for r in report.rows if r.energy_per_inference_j]
    if not rows:
        return None
    plt = _plt()
    from matplotlib.patches import Patch

    bars: list[tuple[str, float, tuple[float, float] | None, str]] = []
    for r in rows:
        bars.append((f"{r.platform}\n{r.method}", r.energy_per_inference_j, r.interval_j, _category(r)))
    floor = (report.analytic or {}).get("horowitz_fp32")
    if floor and floor.get("total_j"):
        bars.append(("dense fp32\n45 nm op-count floor", floor["total_j"], None, "floor"))
    pub = blouw2019() if with_published else {}
    fig, ax = plt.subplots(figsize=(max(7.5, 1.05 * (len(bars) + len(pub) + 1)), 4.8))
    used = []
    for xi, (label, v, iv, cat) in enumerate(bars):
        name, color, hatch, edge = STYLES[cat]
        err = None
        if iv is not None and iv[0] <= v <= iv[1] and iv[1] > iv[0]:
            err = [[v - iv[0]], [iv[1] - v]]
        ax.bar(xi, v, color=color, hatch=hatch, edgecolor=edge, yerr=err, capsize=4 if err else 0)
        digits = supported_digits(v, *iv) if iv else 3  # as the table: only the digits the range supports
        ax.annotate(fmt_j(v, digits), (xi, iv[1] if err else v), ha="center", va="bottom", fontsize=8,
                    xytext=(0, 3), textcoords="offset points")
        used.append(cat)
    px = list(range(len(bars) + 1, len(bars) + 1 + len(pub)))
    for xi, v in zip(px, pub.values()):
        name, color, hatch, edge = STYLES["published"]
        ax.bar(xi, v, color=color, hatch=hatch, edgecolor=edge)
    if pub:
        used.append("published")
        ax.axvline(len(bars), color="#666666", lw=0.8, ls="--")
    ax.set_xticks(list(range(len(bars))) + px, [b[0] for b in bars] + [f"{n}\nBlouw 2019" for n in pub],
                  fontsize=7, rotation=30, ha="right")
    ax.set_yscale("log")
    _log_axis_with_units(ax.yaxis, "J")
    ax.set_ylabel("energy per inference (log scale)")
    ax.set_title("Energy per inference (error bars: range over windows / approximations)", fontsize=10)
    ax.grid(axis="y", which="major", alpha=0.3)
    handles = [Patch(facecolor=STYLES[c][1], hatch=STYLES[c][2], edgecolor=STYLES[c][3], label=STYLES[c][0])
               for c in dict.fromkeys(used)]
    ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.9)
    lo = min([b[1] for b in bars] + list(pub.values()))
    hi = max([b[2][1] if b[2] else b[1] for b in bars] + list(pub.values()))
    ax.set_ylim(lo / 3, hi * 30)  # room for the labels above the bars and for the legend
    return _png(fig)


def loihi_breakdown(report: Any) -> bytes | None:
    """Horizontal bars: Loihi estimate per component, joules per inference with SI-prefixed ticks."""
    bd = (report.loihi_breakdown or {}).get("breakdown_j")
    if not bd:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 2.8))
    names = list(bd)
    ax.barh([n.replace("_", " ") for n in names], [bd[n] for n in names], color=STYLES["estimated"][1],
            hatch="//", edgecolor="black")
    ax.xaxis.set_major_formatter(_eng("J"))
    ax.set_xlabel("energy per inference (estimated, Loihi per-op energies)")
    ax.set_title("Loihi-class estimate by component")
    return _png(fig)


def threshold_sweep(report: Any) -> bytes | None:
    """Accuracy (with its 95 % interval) vs estimated Loihi energy (log x, SI-prefixed) across sigma-delta
    thresholds, plus events per inference against the threshold."""
    pts = report.threshold_sweep
    if not pts:
        return None
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    if any(p.accuracy is not None for p in pts):
        q = [p for p in pts if p.accuracy is not None]
        xs, ys = [p.energy_per_inference_j for p in q], [100 * p.accuracy for p in q]
        err = None
        if all(p.accuracy_ci for p in q):
            err = [[100 * (p.accuracy - p.accuracy_ci[0]) for p in q], [100 * (p.accuracy_ci[1] - p.accuracy) for p in q]]
        a1.errorbar(xs, ys, yerr=err, fmt="o-", color="#2b6cb0", capsize=3,
                    label="accuracy, 95 % interval" if err else "accuracy")
        for p in q:
            a1.annotate(f"ϑ={p.threshold:g}", (p.energy_per_inference_j, 100 * p.accuracy), fontsize=7,
                        textcoords="offset points", xytext=(4, 4))
        a1.set_xscale("log")
        _log_axis_with_units(a1.xaxis, "J", subs=(1.0, 2.0, 5.0))
        n = q[0].n
        a1.set_xlabel("estimated Loihi energy per inference")
        a1.set_ylabel("accuracy (%)" + (f", n = {n:,}" if n else ""))
        a1.set_title("Accuracy vs energy")
        a1.legend(fontsize=7)
    else:
        a1.text(0.5, 0.5, "no targets: accuracy not computed", ha="center", va="center")
        a1.set_axis_off()
    a2.plot([p.threshold for p in pts], [p.events_per_inference for p in pts], "s-", color="#dd8a2b")
    a2.yaxis.set_major_formatter(_eng(""))
    a2.set_xlabel("sigma-delta threshold ϑ")
    a2.set_ylabel("events per inference")
    a2.set_title("Activity vs threshold")
    fig.tight_layout()
    return _png(fig)


def activity_over_time(report: Any) -> bytes | None:
    """Events sent per time step by each population (layer), averaged over the inputs of the batch."""
    act = report.activity
    if not act or not act.get("events"):
        return None
    plt = _plt()
    batch = max(int(act.get("batch", 1)), 1)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for name, series in act["events"].items():
        ax.plot(range(len(series)), [v / batch for v in series], label=name, lw=1.5)
    ax.set_xlabel("time step")
    ax.set_ylabel("events per time step\n(per inference)")
    ax.set_title(f"Events sent per time step, by population (simulated; mean over {batch:,} inputs)")
    ax.legend(fontsize=7, loc="best", title="population", title_fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    return _png(fig)
