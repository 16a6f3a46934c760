"""Report figures as PNG bytes (matplotlib, Agg backend; no display needed).

Each function returns PNG bytes, or None when the report has nothing to plot for it.
"""
from __future__ import annotations

import io
from typing import Any

from spikernn.energy.figures import blouw2019
from spikernn.energy.render import fmt_j

_KIND_STYLE = {"measured": dict(color="#2b6cb0", hatch=""), "estimated": dict(color="#dd8a2b", hatch="//")}


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


def energy_per_platform(report: Any, *, with_published: bool = True) -> bytes | None:
    """Bar chart, log scale: joules per inference per platform, coloured by kind (hatched = estimated);
    Blouw et al. 2019's published keyword-spotting figures in grey for scale (a different network)."""
    rows = [r for r in report.rows if r.energy_per_inference_j]
    if not rows:
        return None
    plt = _plt()
    labels, vals, styles = [], [], []
    for r in rows:
        labels.append(f"{r.platform} ({r.kind})\n{r.method}")
        vals.append(r.energy_per_inference_j)
        styles.append(_KIND_STYLE.get(r.kind, dict(color="#888888", hatch="")))
    floor = (report.analytic or {}).get("horowitz_fp32")
    if floor and floor.get("total_j"):
        labels.append("dense fp32 (estimated)\n45 nm op-count floor")
        vals.append(floor["total_j"])
        styles.append(dict(color="#f3c892", hatch=".."))
    pub = blouw2019() if with_published else {}
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * (len(vals) + len(pub) + 1)), 4.5))
    x = list(range(len(vals)))
    for xi, v, st in zip(x, vals, styles):
        ax.bar(xi, v, color=st["color"], hatch=st["hatch"], edgecolor="black")
        ax.annotate(fmt_j(v), (xi, v), ha="center", va="bottom", fontsize=8)
    px = list(range(len(vals) + 1, len(vals) + 1 + len(pub)))
    for xi, (name, v) in zip(px, pub.items()):
        ax.bar(xi, v, color="#cccccc", edgecolor="#666666")
    if pub:
        ax.axvline(len(vals), color="#666666", lw=0.8, ls="--")
    ax.set_xticks(x + px, labels + [f"{n}\nBlouw 2019" for n in pub], fontsize=7, rotation=30, ha="right")
    ax.set_yscale("log")
    ax.set_ylabel("energy per inference (J, log scale)")
    ax.set_title("Energy per inference: blue = measured, orange hatched = estimated, dotted = analytic floor\n"
                 "grey = published measurements of another network (keyword spotting, Blouw et al. 2019)", fontsize=9)
    ax.grid(axis="y", which="both", alpha=0.3)
    return _png(fig)


def loihi_breakdown(report: Any) -> bytes | None:
    """Horizontal bars: Loihi estimate per component (J per inference)."""
    bd = (report.loihi_breakdown or {}).get("breakdown_j")
    if not bd:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 2.6))
    names = list(bd)
    ax.barh(names, [bd[n] for n in names], color="#dd8a2b", hatch="//", edgecolor="black")
    ax.set_xlabel("J per inference (estimated)")
    ax.set_title("Loihi-class estimate by component")
    return _png(fig)


def threshold_sweep(report: Any) -> bytes | None:
    """Accuracy vs estimated Loihi energy (log x) across sigma-delta thresholds, plus events per inference."""
    pts = report.threshold_sweep
    if not pts:
        return None
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.8))
    if any(p.accuracy is not None for p in pts):
        q = [p for p in pts if p.accuracy is not None]
        a1.plot([p.energy_per_inference_j for p in q], [p.accuracy for p in q], "o-", color="#2b6cb0")
        for p in q:
            a1.annotate(f"ϑ={p.threshold:g}", (p.energy_per_inference_j, p.accuracy), fontsize=7,
                        textcoords="offset points", xytext=(4, 4))
        a1.set_xscale("log")
        from matplotlib.ticker import EngFormatter, LogLocator, NullFormatter

        a1.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        a1.xaxis.set_major_formatter(EngFormatter(unit="J"))
        a1.xaxis.set_minor_formatter(NullFormatter())
        a1.set_xlabel("estimated Loihi energy per inference (J)")
        a1.set_ylabel("accuracy")
        a1.set_title("Accuracy vs energy")
    else:
        a1.text(0.5, 0.5, "no targets: accuracy not computed", ha="center", va="center")
        a1.set_axis_off()
    a2.plot([p.threshold for p in pts], [p.events_per_inference for p in pts], "s-", color="#dd8a2b")
    a2.set_xlabel("sigma-delta threshold ϑ")
    a2.set_ylabel("events per inference")
    a2.set_title("Activity vs threshold")
    fig.tight_layout()
    return _png(fig)


def activity_over_time(report: Any) -> bytes | None:
    """Events per inference per time step for each population (layer)."""
    act = report.activity
    if not act or not act.get("events"):
        return None
    plt = _plt()
    batch = max(int(act.get("batch", 1)), 1)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for name, series in act["events"].items():
        ax.plot(range(len(series)), [v / batch for v in series], label=name, lw=1.5)
    ax.set_xlabel("time step")
    ax.set_ylabel("events per inference")
    ax.set_title("Activity per layer over time (simulated)")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    return _png(fig)
