"""Markdown and self-contained HTML renderings of an :class:`~spikernn.energy.report.EnergyReport`.

Both are built from the same list of sections (heading + paragraphs / tables), so they say the same things.
The HTML has inline CSS and its plots embedded as base64 PNG; it loads nothing from anywhere.
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import Any

from spikernn.energy.figures import blouw2019, citation


def fmt_j(v: float | None) -> str:
    """Joules with an SI prefix, e.g. 1.23 µJ; "—" for None."""
    return _si(v, "J")


def fmt_s(v: float | None) -> str:
    """Seconds with an SI prefix, e.g. 4.5 ms; "—" for None."""
    return _si(v, "s")


def _si(v: float | None, unit: str) -> str:
    if v is None:
        return "—"
    if v == 0:
        return f"0 {unit}"
    for scale, prefix in ((1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(v) >= scale:
            return f"{v / scale:.3g} {prefix}{unit}"
    return f"{v:.3g} {unit}"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f} %"


@dataclass
class Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    image: str | None = None  # key of a plot


def sections(report: Any) -> list[Section]:
    """The report as sections, in reading order."""
    out: list[Section] = []
    head = Section("Summary")
    head.paragraphs.append(
        f"Model: {report.model or 'n/a'}; inferences per measurement batch: {report.inferences}; "
        f"time steps: {report.steps if report.steps is not None else 'n/a'}; created {report.created}.")
    head.paragraphs.append(
        "Every figure says how it was obtained: **measured** figures come from an energy counter (RAPL, NVML); "
        "**estimated** figures come from a model (codecarbon's TDP x load, per-operation energies). "
        "Compare figures of different kinds with care.")
    out.append(head)

    t = Section("Energy per inference", image="energy")
    t.headers = ["platform", "energy / inference", "dynamic", "time / inference", "kind", "method", "accuracy",
                 "device"]
    for r in report.rows:
        t.rows.append([r.platform, fmt_j(r.energy_per_inference_j), fmt_j(r.dynamic_energy_per_inference_j),
                       fmt_s(r.seconds_per_inference), r.kind, r.method, _pct(r.accuracy), r.device])
    out.append(t)

    ratios, dynamic = report.ratios(), report.ratios(dynamic=True)
    if ratios:
        s = Section("Ratios (energy per inference)")
        s.headers = ["ratio", "value", "kinds", "compares"]
        rows = {r.platform: r for r in report.rows}
        order = [r.platform for r in report.rows]
        for i, a in enumerate(order):  # each pair once, in row order (cpu/gpu, cpu/loihi, gpu/loihi)
            for b in order[i + 1:]:
                kinds = f"{rows[a].kind} / {rows[b].kind}"
                v = ratios.get(f"{a}/{b}")
                if v is not None:
                    s.rows.append([f"{a} / {b}", f"{v:.3g}", kinds, f"{_basis(rows[a])} / {_basis(rows[b])}"])
                d = dynamic.get(f"{a}/{b}")
                if d is not None and (v is None or f"{d:.3g}" != f"{v:.3g}"):
                    s.rows.append([f"{a} / {b}", f"{d:.3g}", kinds, "dynamic / dynamic"])
        s.paragraphs.append(
            "A ratio of a measured and an estimated figure inherits the estimate's uncertainty. "
            "'compares' says what each side counts: the Loihi estimate is dynamic energy only (no static power, "
            "host or IO), while an energy counter's total includes the idle power of the chip and codecarbon's "
            "figure is a TDP x load share; 'dynamic / dynamic' rows compare like with like where both sides "
            "have a dynamic figure (idle power measured and subtracted).")
        out.append(s)

    c = Section("Caveats, figure by figure")
    for r in report.rows:
        c.paragraphs.append(f"**{r.platform}** ({r.kind}, {r.method}): {r.caveat}"
                            + (f" {r.notes}" if r.notes else ""))
    for n in report.notes:
        c.paragraphs.append(n)
    out.append(c)

    m = Section("Measurement details")
    m.headers = ["platform", "iterations / window", "repeats", "samples (J / inference)", "spread (half range)",
                 "idle power", "components (J / inference)"]
    for r in report.rows:
        f = r.figure
        if f is None or not f.available:
            continue
        m.rows.append([r.platform, str(f.iterations), str(f.repeats), ", ".join(fmt_j(x) for x in f.samples_j) or "—",
                       fmt_j(f.spread_j), "—" if f.idle_watts is None else f"{f.idle_watts:.3g} W",
                       ", ".join(f"{k}: {fmt_j(v)}" for k, v in f.components_j.items()) or "—"])
    if m.rows:
        out.append(m)

    lb = report.loihi_breakdown
    if lb:
        s = Section("Loihi-class estimate by component", image="breakdown")
        total = sum(lb["breakdown_j"].values()) or 1.0
        s.headers = ["component", "J / inference", "share", "count / inference"]
        cnt = lb.get("counts", {})
        cmap = {"synaptic_ops": "synaptic_ops", "neuron_updates_active": "neuron_updates_active",
                "neuron_updates_inactive": "neuron_updates_inactive", "spikes": "events", "hops": "core_hops"}
        for k, v in lb["breakdown_j"].items():
            s.rows.append([k, fmt_j(v), f"{100 * v / total:.1f} %", f"{cnt.get(cmap.get(k, k), 0):.6g}"])
        s.paragraphs.append(f"Range over the stated approximations: {fmt_j(lb.get('low_j'))} to "
                            f"{fmt_j(lb.get('high_j'))} per inference.")
        out.append(s)

    act = report.activity
    if act:
        s = Section("Activity per layer (simulated)", image="activity")
        b = max(int(act.get("batch", 1)), 1)
        s.headers = ["population / synapse block", "events / inference", "synaptic ops / inference",
                     "neuron updates / inference", "message bits"]
        names = list(dict.fromkeys(list(act.get("events", {})) + list(act.get("neuron_updates", {}))
                                   + list(act.get("synaptic_ops", {}))))
        for n in names:
            ev = act.get("events", {}).get(n)
            so = act.get("synaptic_ops", {}).get(n)
            nu = act.get("neuron_updates", {}).get(n)
            s.rows.append([n, "—" if ev is None else f"{sum(ev) / b:.6g}", "—" if so is None else f"{sum(so) / b:.6g}",
                           "—" if nu is None else f"{nu / b:.6g}", str(act.get("message_bits", {}).get(n, "—"))])
        s.paragraphs.append(f"{act.get('steps')} time steps, counts summed over {b} inputs and divided by {b}.")
        out.append(s)

    if report.threshold_sweep:
        s = Section("Sigma-delta threshold sweep", image="sweep")
        s.headers = ["threshold ϑ", "accuracy", "events / inference", "synaptic ops / inference",
                     "Loihi estimate / inference"]
        for p in report.threshold_sweep:
            s.rows.append([f"{p.threshold:g}", _pct(p.accuracy), f"{p.events_per_inference:.6g}",
                           f"{p.synaptic_ops_per_inference:.6g}", fmt_j(p.energy_per_inference_j)])
        s.paragraphs.append("Energies in this table are estimates (Loihi per-op figures x simulated activity).")
        out.append(s)

    an = report.analytic or {}
    if an.get("counts"):
        s = Section("Analytic cross-check of the dense model (45 nm)")
        cnt = an["counts"]
        s.headers = ["quantity", "per inference"]
        for k in ("macs", "nonlinearities", "elementwise", "weight_bytes", "params"):
            if k in cnt:
                s.rows.append([k.replace("_", " "), f"{cnt[k]:,}"])
        for key, label in (("horowitz_fp32", "Horowitz 45 nm, fp32"), ("horowitz_int8", "Horowitz 45 nm, int8")):
            h = an.get(key)
            if h:
                s.rows.append([f"{label}: arithmetic + weight reads ({h['memory_level']})",
                               f"{fmt_j(h['arithmetic_j'])} + {fmt_j(h['memory_j'])} = {fmt_j(h['total_j'])}"])
        s.paragraphs.append(
            "ESTIMATED from operation counts and per-operation energies (" + citation("horowitz2014") + "); "
            "nonlinearities costed as one MAC (a lower bound); no control, scheduling or idle energy. "
            "Real CPUs and GPUs spend far more per inference than this floor; it shows how much is overhead.")
        out.append(s)

    pub = Section("Published reference: keyword spotting (measured, dynamic energy per inference)")
    pub.headers = ["platform", "J / inference"]
    for k, v in blouw2019().items():
        pub.rows.append([k, fmt_j(v)])
    pub.paragraphs.append(citation("blouw2019") + ". A different network and task: for scale only.")
    out.append(pub)

    src = Section("Sources")
    for k, v in report.to_dict()["metadata"].get("sources", {}).items():
        doi = f" doi:{v['doi']}." if v.get("doi") else ""
        src.paragraphs.append(f"[{k}] {v['citation']}.{doi} {v.get('note', '')}")
    out.append(src)

    mach = Section("Machine and versions")
    mach.headers = ["item", "value"]
    for k, v in (report.metadata.get("machine") or {}).items():
        mach.rows.append([k, str(v)])
    for k, v in (report.metadata.get("versions") or {}).items():
        mach.rows.append([k, str(v) if v else "not installed"])
    out.append(mach)
    return out


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Any) -> str:
    """The report as Markdown tables and paragraphs."""
    lines = [f"# {report.title}", ""]
    for sec in sections(report):
        lines += [f"## {sec.title}", ""]
        for p in sec.paragraphs:
            lines += [p, ""]
        if sec.headers:
            lines.append("| " + " | ".join(sec.headers) + " |")
            lines.append("|" + "|".join("---" for _ in sec.headers) + "|")
            for r in sec.rows:
                lines.append("| " + " | ".join(_md_escape(c) for c in r) + " |")
            lines.append("")
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1a202c;line-height:1.45;padding:0 1rem}
h1{font-size:1.7rem;border-bottom:2px solid #2b6cb0;padding-bottom:.3rem}
h2{font-size:1.2rem;margin-top:2rem;color:#2b6cb0}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88rem;width:100%}
th,td{border:1px solid #cbd5e0;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#edf2f7}
tr:nth-child(even) td{background:#f7fafc}
.kind-measured{color:#1c4f8a;font-weight:600}.kind-estimated{color:#b4631b;font-weight:600}
.kind-unavailable{color:#a0aec0;font-weight:600}
img{max-width:100%;border:1px solid #e2e8f0;margin:.5rem 0}
p{margin:.4rem 0}
.small{color:#4a5568;font-size:.85rem}
"""


def _inline_md(s: str) -> str:
    """Escape, then turn **bold** into <strong>."""
    parts = html.escape(s).split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))


def to_html(report: Any) -> str:
    """The report as one self-contained HTML page (inline CSS, plots as base64 PNG)."""
    from spikernn.energy import plots

    makers = {"energy": plots.energy_per_platform, "breakdown": plots.loihi_breakdown,
              "sweep": plots.threshold_sweep, "activity": plots.activity_over_time}
    body = [f"<h1>{html.escape(report.title)}</h1>"]
    for sec in sections(report):
        body.append(f"<h2>{html.escape(sec.title)}</h2>")
        for p in sec.paragraphs:
            body.append(f"<p>{_inline_md(p)}</p>")
        if sec.image:
            png = makers[sec.image](report)
            if png:
                b64 = base64.b64encode(png).decode("ascii")
                body.append(f'<img alt="{html.escape(sec.title)}" src="data:image/png;base64,{b64}">')
        if sec.headers:
            body.append("<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in sec.headers)
                        + "</tr></thead><tbody>")
            kind_col = sec.headers.index("kind") if "kind" in sec.headers else -1
            for r in sec.rows:
                cells = []
                for i, c in enumerate(r):
                    cls = f' class="kind-{html.escape(c)}"' if i == kind_col else ""
                    cells.append(f"<td{cls}>{html.escape(c)}</td>")
                body.append("<tr>" + "".join(cells) + "</tr>")
            body.append("</tbody></table>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(report.title)}</title><style>{_CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _basis(row: Any) -> str:
    """What a row's energy per inference counts (see :attr:`EnergyFigure.basis`)."""
    return row.figure.basis if row.figure is not None else "—"
