"""Markdown and self-contained HTML renderings of an :class:`~spikernn.energy.report.EnergyReport`.

Both are built from the same list of sections (heading + paragraphs / tables), so they say the same things.
The HTML has inline CSS and its plots embedded as base64 PNG; it loads nothing from anywhere.
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from typing import Any, Sequence

from spikernn.energy.figures import blouw2019, citation, loihi_timing
from spikernn.energy.fmt import fmt_count, fmt_j, fmt_j_range, fmt_js, fmt_pct, fmt_ratio, fmt_s

__all__ = ["sections", "to_markdown", "to_html", "fmt_j", "fmt_s", "fmt_accuracy"]  # fmt_j/fmt_s: used by the CLI


def fmt_accuracy(acc: float | None, n: int | None = None, ci: Sequence[float] | None = None) -> str:
    """``'96.2 % (n = 370, 95 % CI 93.7–97.7 %)'``; "—" without an accuracy."""
    if acc is None:
        return "—"
    if not n:
        return fmt_pct(acc)
    inner = f"n = {n:,}"
    if ci:
        inner += f", 95 % CI {100 * ci[0]:.1f}–{100 * ci[1]:.1f} %"
    return f"{fmt_pct(acc)} ({inner})"


def _row_energy(r: Any) -> str:
    iv = r.interval_j
    return fmt_j_range(r.energy_per_inference_j, *(iv or (None, None)))


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
        f"Model: {report.model or 'n/a'}; inferences per measurement batch: {report.inferences:,}; "
        f"time steps: {report.steps if report.steps is not None else 'n/a'}; created {report.created}.")
    head.paragraphs.append(
        "Every figure says how it was obtained: **measured** figures come from an energy counter (RAPL, NVML); "
        "**estimated** figures come from a model (codecarbon's TDP x load, per-operation energies). "
        "Compare figures of different kinds with care. Ranges in brackets are the min-max over the measurement "
        "windows (measured) or over the stated approximations (estimated); ratios show only the digits their "
        "range supports.")
    accs = [r for r in report.rows if r.accuracy is not None]
    if accs:
        of = sorted({r.accuracy_of for r in accs if r.accuracy_of})
        ns = sorted({r.accuracy_n for r in accs if r.accuracy_n})
        head.paragraphs.append("Accuracy: " + (", ".join(of) or "given targets")
                               + (f", n = {', '.join(f'{n:,}' for n in ns)}" if ns else "")
                               + ", with 95 % Wilson intervals.")
    out.append(head)

    t = Section("Energy per inference", image="energy")
    t.headers = ["platform", "energy / inference (range)", "what it counts", "kind", "method", "accuracy", "device"]
    for r in report.rows:
        t.rows.append([r.platform, _row_energy(r), _basis(r), r.kind, r.method,
                       fmt_accuracy(r.accuracy, getattr(r, "accuracy_n", None), getattr(r, "accuracy_ci", None)),
                       r.device])
    extra = [r for r in report.rows if r.figure is not None and r.energy_per_inference_j is not None]
    if extra:
        t.paragraphs.append("RAM energy is never inside the CPU figure; it is its own column below, labelled by "
                            "how it was obtained.")
    out.append(t)

    if extra:
        s = Section("Time, energy-delay product and the parts kept apart")
        s.headers = ["platform", "time / inference", "energy-delay product", "RAM (separate)", "dynamic",
                     "static (Loihi 2, 0.232 W)", "threads", "CPU time / inference"]
        for r in extra:
            f = r.figure
            ram = "—" if f.ram_joules_per_inference is None else f"{fmt_j(f.ram_joules_per_inference)} ({f.ram_kind})"
            static = "—"
            if f.static_joules_per_inference is not None:
                static = (f"{fmt_j(f.static_joules_per_inference)} (with it {fmt_j(r.energy_per_inference_j + f.static_joules_per_inference)})")
            s.rows.append([r.platform, fmt_s(r.seconds_per_inference), fmt_js(r.edp_js), ram,
                           fmt_j(r.dynamic_energy_per_inference_j), static,
                           "—" if f.threads is None else str(f.threads), fmt_s(f.cpu_seconds_per_inference)])
        s.paragraphs.append(
            "Time per inference: measured rows divide a window's wall time by the inferences in it (a batched "
            "throughput time, not the latency of one inference at batch 1); the Loihi row is the modelled time "
            "of one inference from its placement (see below). Energy-delay product = energy x time per inference.")
        out.append(s)

    table = report.ratio_table()
    if table:
        s = Section("Ratios (energy per inference)")
        s.headers = ["ratio", "value (range)", "kinds", "compares"]
        rows = {r.platform: r for r in report.rows}
        dyn = {(d["a"], d["b"]): d for d in report.ratio_table(dynamic=True)}
        for d in table:
            a, b = rows[d["a"]], rows[d["b"]]
            kinds = f"{a.kind} / {b.kind}"
            s.rows.append([f"{d['a']} / {d['b']}", fmt_ratio(d["value"], d["low"], d["high"]), kinds,
                           f"{_basis(a)} / {_basis(b)}"])
            dd = dyn.get((d["a"], d["b"]))
            if dd is not None and fmt_ratio(dd["value"]) != fmt_ratio(d["value"], d["low"], d["high"]).split(" (")[0]:
                s.rows.append([f"{d['a']} / {d['b']}", fmt_ratio(dd["value"]), kinds, "dynamic / dynamic"])
        s.paragraphs.append(
            "A ratio of a measured and an estimated figure inherits the estimate's uncertainty; its range combines "
            "both sides' ranges (low = low/high, high = high/low). 'compares' says what each side counts: the "
            "Loihi estimate is dynamic energy only (no static power, host or IO), a RAPL total includes the "
            "chip's idle power, codecarbon's figure is a TDP x load share of the CPU, and the Loihi 2 system "
            "reference includes everything at full load; 'dynamic / dynamic' rows compare like with like where "
            "both sides have a dynamic figure (idle power measured and subtracted).")
        out.append(s)

    c = Section("Caveats, figure by figure")
    for r in report.rows:
        c.paragraphs.append(f"**{r.platform}** ({r.kind}, {r.method}): {r.caveat}"
                            + (f" {r.notes}" if r.notes else ""))
    for n in report.notes:
        c.paragraphs.append(n)
    out.append(c)

    m = Section("Measurement details")
    m.headers = ["platform", "windows (used / disturbed)", "inferences / window", "samples (J / inference)",
                 "spread (half range)", "other load (cores)", "idle power", "components (J / inference)"]
    for r in report.rows:
        f = r.figure
        if f is None or not f.available or not f.samples_j:
            continue
        ld = f.load or {}
        load = "—"
        if ld.get("others_cores_median") is not None:
            load = (f"median {ld['others_cores_median']:.2f}, max {ld['others_cores_max']:.2f} of {ld.get('cores')}"
                    + (" — DISTURBED" if f.disturbed else ""))
        wins = f"{f.repeats} / {ld.get('disturbed_windows', 0)}" if ld else str(f.repeats)
        m.rows.append([r.platform, wins, fmt_count(f.iterations), ", ".join(fmt_j(x) for x in f.samples_j) or "—",
                       fmt_j(f.spread_j), load, "—" if f.idle_watts is None else f"{f.idle_watts:.3g} W",
                       ", ".join(f"{k}: {fmt_j(v)}" for k, v in f.components_j.items()) or "—"])
        if f.disturbed:
            m.paragraphs.append(f"**{r.platform}** is DISTURBED: {f.disturbed_reason}")
        if f.threads_note:
            m.paragraphs.append(f"**{r.platform}** threads: {f.threads_note} (restored after).")
    if m.rows:
        m.paragraphs.append("A window is disturbed when other processes (read from /proc/stat beside this process's "
                            "CPU time) used more cores than the measurement's threads left free, or a single-threaded "
                            "run got less than 0.75 of a core; disturbed windows are re-measured.")
        out.append(m)

    lat = report.latency
    if lat:
        tm = loihi_timing()
        s = Section("Loihi-class time per inference (modelled)")
        s.headers = ["quantity", "value"]
        s.rows += [["time per inference", f"{fmt_s(lat['seconds_per_inference'])} (range {fmt_s(lat['low_s'])} – "
                                          f"{fmt_s(lat['high_s'])})"],
                   ["time steps per inference", f"{lat['steps_per_inference']:.3g}"],
                   ["cores / tiles / chips", f"{lat['cores']} / {lat['tiles']} / {lat['chips']}"]]
        for k, v in lat["breakdown_s"].items():
            s.rows.append([f"  {k} (per inference)", fmt_s(v)])
        s.paragraphs.append("Each time step takes the slowest core's work + the longest hop path + one barrier "
                            f"({fmt_s(tm.barrier_sync_1_tile_s)} for 1 tile to {fmt_s(tm.barrier_sync_32_tiles_s)} "
                            "for 32). " + lat.get("caveat", ""))
        out.append(s)

    lb = report.loihi_breakdown
    if lb:
        s = Section("Loihi-class estimate by component", image="breakdown")
        total = sum(lb["breakdown_j"].values()) or 1.0
        s.headers = ["component", "J / inference", "share", "count / inference"]
        cnt = lb.get("counts", {})
        cmap = {"synaptic_ops": "synaptic_ops", "neuron_updates_active": "neuron_updates_active",
                "neuron_updates_inactive": "neuron_updates_inactive", "spikes": "events", "hops": "core_hops"}
        for k, v in lb["breakdown_j"].items():
            s.rows.append([k.replace("_", " "), fmt_j(v), f"{100 * v / total:.1f} %",
                           fmt_count(cnt.get(cmap.get(k, k), 0))])
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
            s.rows.append([n, "—" if ev is None else fmt_count(sum(ev) / b), "—" if so is None else fmt_count(sum(so) / b),
                           "—" if nu is None else fmt_count(nu / b), str(act.get("message_bits", {}).get(n, "—"))])
        s.paragraphs.append(f"{act.get('steps')} time steps; counts summed over {b:,} inputs and divided by {b:,}.")
        out.append(s)

    if report.threshold_sweep:
        s = Section("Sigma-delta threshold sweep", image="sweep")
        s.headers = ["threshold ϑ", "accuracy", "events / inference", "synaptic ops / inference",
                     "Loihi estimate / inference"]
        for p in report.threshold_sweep:
            s.rows.append([f"{p.threshold:g}", fmt_accuracy(p.accuracy, p.n, p.accuracy_ci),
                           fmt_count(p.events_per_inference), fmt_count(p.synaptic_ops_per_inference),
                           fmt_j(p.energy_per_inference_j)])
        s.paragraphs.append("Energies in this table are estimates (Loihi per-op figures x simulated activity).")
        out.append(s)

    nb = getattr(report, "neurobench", None)
    if nb:
        out.append(_neurobench_section(nb))

    an = report.analytic or {}
    if an.get("unavailable"):
        s = Section("Analytic cross-check of the dense model (45 nm)")
        s.paragraphs.append(f"Not computed: {an['unavailable']}.")
        out.append(s)
    if an.get("counts"):
        s = Section("Analytic cross-check of the dense model (45 nm)")
        cnt = an["counts"]
        s.headers = ["quantity", "per inference"]
        for k in ("macs", "nonlinearities", "elementwise", "weight_bytes", "params"):
            if k in cnt:
                s.rows.append([k.replace("_", " "), fmt_count(cnt[k])])
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


def _neurobench_section(nb: dict[str, Any]) -> Section:
    """NeuroBench 2.3.0's metrics as spikernn computes them (one column per model in ``nb``)."""
    s = Section("NeuroBench metrics (NeuroBench 2.3.0 definitions, computed by spikernn)")
    models = list(nb)
    s.headers = ["metric"] + models
    keys = [("footprint_bytes", "footprint (bytes)", fmt_count),
            ("connection_sparsity", "connection sparsity", lambda v: f"{v:.4f}"),
            ("activation_sparsity", "activation sparsity", lambda v: f"{v:.4f}"),
            ("effective_macs", "synaptic ops: effective MACs / sample", fmt_count),
            ("effective_acs", "synaptic ops: effective ACs / sample", fmt_count),
            ("dense", "synaptic ops: dense / sample", fmt_count)]
    for key, label, f in keys:
        s.rows.append([label] + [("—" if nb[m].get(key) is None else f(nb[m][key])) for m in models])
    for m in models:
        for n in nb[m].get("notes", []):
            s.paragraphs.append(f"**{m}**: {n}")
    s.paragraphs.append("Definitions as in NeuroBench 2.3.0 (Yik et al., Nature Communications 16:1545, 2025), "
                        "read in neurobench/metrics: footprint = bytes of parameters and buffers; connection "
                        "sparsity = zero weights / weights of the connection layers; activation sparsity = 1 - "
                        "nonzero / all outputs of the activation (spiking) layers over all steps; synaptic ops "
                        "with inputs and weights binarised and biases zeroed, as effective ACs when the inputs "
                        "hold only -1, 0, 1 and effective MACs otherwise; dense = every input and weight set to 1.")
    return s


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def _md_text(s: str) -> str:
    """Text from outside (a title made of a file name) as plain Markdown text: HTML escaped, one line, and
    Markdown's own markup characters backslash-escaped."""
    s = html.escape(str(s).replace("\r", " ").replace("\n", " "), quote=False)
    return "".join("\\" + c if c in "\\`*_[]#|<>!" else c for c in s)


def to_markdown(report: Any) -> str:
    """The report as Markdown tables and paragraphs (titles escaped: they may carry a file name)."""
    lines = [f"# {_md_text(report.title)}", ""]
    for sec in sections(report):
        lines += [f"## {_md_text(sec.title)}", ""]
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
    return row.figure.basis if row.figure is not None and row.kind != "unavailable" else "—"
