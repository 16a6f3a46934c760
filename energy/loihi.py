"""Loihi-class energy estimate from simulated activity (:class:`spikernn.hardware.stats.ActivityStats`).

    E = synaptic_ops x E_syn + active updates x E_active + inactive updates x E_inactive
        + events x E_spike + core hops x E_hop

with Loihi's per-operation energies (Davies et al., IEEE Micro 2018, Table 2: E_syn 23.6 pJ, a lower bound;
E_active 81 pJ; E_inactive 52 pJ; E_spike 1.7 pJ within a tile; E_hop 3.0 pJ E-W / 4.0 pJ N-S). This is a
**proxy for Loihi 2**, for which Intel has published no per-operation energy.

Approximations (stated in the figure's caveat):
    * active vs inactive neuron updates: ActivityStats keeps, per population, the events it sent per step
      but not which neurons received input, so a neuron-step counts as *active* when the neuron sent an
      event in that step (at most one event per neuron per step, so active = min(events, updates)) and
      every other neuron-step as *inactive*. Neurons that received input without sending are therefore
      costed as inactive: this is the low end. ``active="all"`` costs every update as active (the high end).
    * hops: the placement does not record direction, so each hop is costed at the E-W / N-S mean (3.5 pJ);
      the bounds use 3.0 and 4.0 pJ.
    * graded spikes (``message_bits`` > 1) cost as one spike and one synaptic op per target, as binary
      spikes do on Loihi; Loihi 2 graded payloads are not modelled.
    * a neuron update costs one Loihi compartment update, whatever the neuron: gated LSTM/GRU or sigma-delta
      microcode neurons on Loihi 2 do more per update, so their share is understated;
    * static/leakage power and the host/IO (x86 cores, chip-to-chip) are not included.
Per inference = totals / batch (ActivityStats counts are summed over the batch).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from spikernn.energy.figures import LoihiFigures, citation, loihi
from spikernn.energy.result import EnergyFigure

METHOD = "loihi-davies2018-proxy"
COMPONENTS = ("synaptic_ops", "neuron_updates_active", "neuron_updates_inactive", "spikes", "hops")


@dataclass(frozen=True)
class LoihiEstimate:
    """Loihi-class energy of one inference, in joules, with its breakdown.

    Attributes:
        figure: the :class:`EnergyFigure` (kind "estimated", method "loihi-davies2018-proxy").
        breakdown_j: component -> joules per inference (keys :data:`COMPONENTS`).
        low_j, high_j: bounds over the stated approximations (active split, hop direction), J per inference.
        counts: per-inference counts used: synaptic_ops, neuron_updates_active, neuron_updates_inactive,
            events, core_hops.
        per_population_j: population -> joules per inference of its neuron updates and spikes.
        per_block_j: synapse block -> joules per inference of its synaptic ops and hops.
    """

    figure: EnergyFigure
    breakdown_j: dict[str, float]
    low_j: float
    high_j: float
    counts: dict[str, float]
    per_population_j: dict[str, float] = field(default_factory=dict)
    per_block_j: dict[str, float] = field(default_factory=dict)

    @property
    def joules_per_inference(self) -> float:
        return float(self.figure.joules_per_inference or 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"figure": self.figure.to_dict(), "breakdown_j": dict(self.breakdown_j), "low_j": self.low_j,
                "high_j": self.high_j, "counts": dict(self.counts),
                "per_population_j": dict(self.per_population_j), "per_block_j": dict(self.per_block_j)}


def _split_updates(stats: Any) -> tuple[dict[str, int], dict[str, int]]:
    active, inactive = {}, {}
    for pop, updates in stats.neuron_updates.items():
        ev = stats.events.get(pop)
        sent = int(ev.sum()) if ev is not None else 0
        a = min(sent, int(updates))
        active[pop], inactive[pop] = a, int(updates) - a
    return active, inactive


def loihi_estimate(stats: Any, *, active: Literal["events", "all"] = "events",
                   figures: LoihiFigures | None = None, seconds_per_inference: float | None = None) -> LoihiEstimate:
    """Loihi-class energy per inference from activity statistics.

    Args:
        stats: an ActivityStats (events, synaptic_ops, neuron_updates, core_hops summed over ``batch``).
        active: "events" (a neuron-step is active iff the neuron sent an event; the point estimate) or
            "all" (every update costed as active).
        figures: per-op energies (default: Davies et al. 2018 from figures.json).
        seconds_per_inference: a time per inference to carry, e.g. from
            :func:`spikernn.energy.loihi_timing.loihi_latency` (None: no time given).

    Raises:
        ValueError: when ``stats.batch`` < 1 (an empty batch has no per-inference figure) or ``active`` is
            not one of the two choices.
    """
    if active not in ("events", "all"):
        raise ValueError(f"active must be 'events' or 'all', got {active!r}")
    batch = int(getattr(stats, "batch", 0))
    if batch < 1:
        raise ValueError(f"ActivityStats.batch is {batch}: an empty batch has no energy per inference")
    f = figures or loihi()
    act, inact = _split_updates(stats)
    updates = {p: int(u) for p, u in stats.neuron_updates.items()}
    syn = {k: int(v.sum()) for k, v in stats.synaptic_ops.items()}
    ev = {k: int(v.sum()) for k, v in stats.events.items()}
    hops = {k: int(v.sum()) for k, v in stats.core_hops.items()}
    n_syn, n_ev, n_hop = sum(syn.values()), sum(ev.values()), sum(hops.values())
    n_upd = sum(updates.values())
    n_act = n_upd if active == "all" else sum(act.values())
    n_inact = n_upd - n_act

    b = float(batch)
    breakdown = {
        "synaptic_ops": n_syn * f.synaptic_op_j / b,
        "neuron_updates_active": n_act * f.neuron_update_active_j / b,
        "neuron_updates_inactive": n_inact * f.neuron_update_inactive_j / b,
        "spikes": n_ev * f.spike_within_tile_j / b,
        "hops": n_hop * f.hop_mean_j / b,
    }
    total = sum(breakdown.values())
    common = (n_syn * f.synaptic_op_j + n_ev * f.spike_within_tile_j) / b
    low = common + (sum(act.values()) * f.neuron_update_active_j + (n_upd - sum(act.values())) *
                    f.neuron_update_inactive_j + n_hop * f.hop_east_west_j) / b
    high = common + (n_upd * f.neuron_update_active_j + n_hop * f.hop_north_south_j) / b

    per_pop = {}
    for p in set(updates) | set(ev):
        a = updates.get(p, 0) if active == "all" else act.get(p, 0)
        i = updates.get(p, 0) - a
        per_pop[p] = (a * f.neuron_update_active_j + i * f.neuron_update_inactive_j
                      + ev.get(p, 0) * f.spike_within_tile_j) / b
    per_block = {k: (syn.get(k, 0) * f.synaptic_op_j + hops.get(k, 0) * f.hop_mean_j) / b
                 for k in set(syn) | set(hops)}
    graded = sorted(p for p, bits in getattr(stats, "message_bits", {}).items() if int(bits) > 1)
    caveat = (
        "ESTIMATE, not a measurement: activity from the simulator x Loihi per-op energies "
        f"({citation(f.source)}; pre-silicon; 23.6 pJ per synaptic op is a lower bound), used as a proxy for "
        "Loihi 2, which has no public per-op energy. Active neuron-step = the neuron sent an event "
        + ("(here every update costed as active)" if active == "all" else "(the low end; 'all' gives the high end)")
        + "; hops at the 3.5 pJ E-W/N-S mean. A neuron update is costed as one Loihi compartment update: "
        "gated (LSTM/GRU, sigma-delta) microcode neurons do more work per update, so their share is understated. "
        "Static power, host and IO excluded."
        + (f" Graded spikes ({', '.join(graded)}) costed as binary spikes." if graded else "")
    )
    fig = EnergyFigure(
        kind="estimated", method=METHOD, caveat=caveat, joules_per_inference=total,
        # per-operation energies are dynamic energy: the whole figure is dynamic (static power excluded)
        dynamic_joules_per_inference=total,
        seconds_per_inference=seconds_per_inference, iterations=batch, repeats=1, spread_j=(high - low) / 2,
        low_j=low, high_j=high,
        components_j=breakdown, device="Loihi (proxy for Loihi 2)", sources=(f.source, "intel2021"),
    )
    counts = {"synaptic_ops": n_syn / b, "neuron_updates_active": n_act / b, "neuron_updates_inactive": n_inact / b,
              "events": n_ev / b, "core_hops": n_hop / b}
    return LoihiEstimate(figure=fig, breakdown_j=breakdown, low_j=low, high_j=high, counts=counts,
                         per_population_j=per_pop, per_block_j=per_block)
