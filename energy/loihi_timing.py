"""Loihi-class time per inference from simulated activity and a core placement, with cited per-op times.

Per time step (Davies et al., IEEE Micro 2018, Table 2; pre-silicon Loihi, used as a proxy for Loihi 2):

    step time = max over cores c of [ syn_ops_c x 3.5 ns + active_c x 8.4 ns + inactive_c x 5.3 ns
                                      + spikes_c x 2.1 ns ]                   (cores work in parallel)
              + longest hop path of any block that carried events x t_hop     (4.1 ns E-W .. 6.5 ns N-S)
              + barrier synchronisation (113 ns for 1 tile .. 465 ns for 32 tiles of 4 cores)

and the time per inference is the sum over the steps an inference runs. A core does its synaptic ops and
neuron updates one after another (Table 2's times are per op), so the slowest core sets the pace of a step.

Where the counts come from (public API only): ``ActivityStats`` (events per population and step, synaptic
ops per synapse block and step, neuron updates per population; all summed over the batch) and
``hardware.place(network)`` (which population slice sits on which core, mesh positions and hop distances).

Stated approximations:
    * work of a population is spread over its cores in proportion to their neurons; synaptic ops of a block
      happen on the cores of its target population (synapses live with the target neuron);
    * active vs inactive updates as in the energy model: a neuron-step is active when the neuron sent an
      event (low end); the high end costs every compartment of every neuron (LSTM 4, GRU 6 per the
      placement) as an active update and every hop at the N-S time;
    * per-step figures are batch averages (the max over cores of averages, not the average of maxima);
    * inferences of different lengths: the barrier is paid once per valid step of an inference;
    * not modelled: host input/output, the pipeline fill of one step per synapse layer, chip-to-chip
      links and barriers (above 32 tiles the 32-tile barrier is used), Loihi 2's faster circuits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikernn.energy.figures import LoihiTiming, citation, loihi_timing

METHOD = "loihi-davies2018-timing"


@dataclass(frozen=True)
class LoihiLatency:
    """Modelled time of one inference on Loihi-class cores.

    Attributes:
        seconds_per_inference: point estimate (s). low_s, high_s: bounds over the approximations (s).
        steps_per_inference: valid time steps an inference runs (mean over the batch).
        per_step_s: (T,) point estimate of each step (s), batch-averaged.
        breakdown_s: seconds per inference by part: "compute" (slowest core), "hops", "barrier".
        cores, tiles, chips: the placement used. critical_core: the core that was slowest most often.
        caveat: approximations in words. sources: figures.json keys.
    """

    seconds_per_inference: float
    low_s: float
    high_s: float
    steps_per_inference: float
    per_step_s: list[float]
    breakdown_s: dict[str, float]
    cores: int
    tiles: int
    chips: int
    critical_core: int | None
    caveat: str
    sources: tuple[str, ...] = ("davies2018", "sanafe_loihi")
    per_core_busy_s: dict[int, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"seconds_per_inference": self.seconds_per_inference, "low_s": self.low_s, "high_s": self.high_s,
                "steps_per_inference": self.steps_per_inference, "per_step_s": list(self.per_step_s),
                "breakdown_s": dict(self.breakdown_s), "cores": self.cores, "tiles": self.tiles,
                "chips": self.chips, "critical_core": self.critical_core, "caveat": self.caveat,
                "sources": list(self.sources), "per_core_busy_s": {str(k): v for k, v in self.per_core_busy_s.items()},
                "method": METHOD}


def _series(d: dict[str, Any], key: str, steps: int) -> np.ndarray:
    v = d.get(key)
    if v is None:
        return np.zeros(steps)
    a = np.asarray(v, dtype=np.float64).reshape(-1)
    return a if a.shape[0] == steps else np.resize(a, steps)


def loihi_latency(stats: Any, network: Any, placement: Any = None, *,
                  timing: LoihiTiming | None = None) -> LoihiLatency:
    """Time per inference of ``network`` on Loihi-class cores, from its simulated ``stats``.

    Args:
        stats: ActivityStats of a run of ``network`` (``net.simulate(x)``).
        network: the converted :class:`spikernn.hardware.network.Network` (its synapse blocks say which
            population each block's ops land on).
        placement: ``spikernn.hardware.place(network)`` (computed when None).
        timing: per-op times (default: Davies et al. 2018 Table 2 from figures.json).

    Raises:
        ValueError: when ``stats.batch`` < 1 or the network has no placed population.

    >>> lat = loihi_latency(stats, net)                     # doctest: +SKIP
    >>> lat.seconds_per_inference, lat.cores                # doctest: +SKIP
    (2.1e-05, 2)
    """
    t = timing or loihi_timing()
    batch = int(getattr(stats, "batch", 0))
    steps = int(getattr(stats, "steps", 0))
    if batch < 1 or steps < 1:
        raise ValueError(f"ActivityStats has batch {batch} and {steps} steps: no time per inference")
    if placement is None:
        from spikernn.hardware import place

        placement = place(network)
    rows = list(placement.table)
    if not rows:
        raise ValueError("the placement has no cores (a network without neurons?)")
    sizes = {p.name: int(p.size) for p in network.populations}
    b = float(batch)
    events = {k: _series(stats.events, k, steps) / b for k in stats.events}
    syn = {k: _series(stats.synaptic_ops, k, steps) / b for k in stats.synaptic_ops}
    updates = {k: float(v) / b for k, v in stats.neuron_updates.items()}  # per inference, valid steps only
    blocks_into: dict[str, list[str]] = {}
    for blk in network.synapses:
        blocks_into.setdefault(blk.target, []).append(blk.name)

    # valid steps per inference: from any placed population's updates (neurons x valid steps)
    placed = [r["population"] for r in rows]
    valid = [updates[p] / sizes[p] for p in dict.fromkeys(placed) if p in updates and sizes.get(p)]
    steps_inf = float(np.median(valid)) if valid else float(steps)
    frac = min(steps_inf / steps, 1.0)

    low = np.zeros((len(rows), steps))
    high = np.zeros((len(rows), steps))
    for i, r in enumerate(rows):
        p = r["population"]
        share = r["neurons"] / max(sizes.get(p, r["neurons"]), 1)
        ops = sum((syn.get(k, np.zeros(steps)) for k in blocks_into.get(p, [])), np.zeros(steps)) * share
        ev = events.get(p, np.zeros(steps)) * share
        n_upd = r["neurons"] * frac  # neuron updates of this core per (average) step
        active = np.minimum(ev, n_upd)
        comp = r.get("compartments", r["neurons"]) / max(r["neurons"], 1)
        common = ops * t.synaptic_op_s + ev * t.spike_within_tile_s
        low[i] = common + active * t.neuron_update_active_s + (n_upd - active) * t.neuron_update_inactive_s
        high[i] = common + n_upd * comp * t.neuron_update_active_s

    # hops: the longest core-to-core path of any block whose source sent events in the step
    hop_len = np.zeros(steps)
    for blk in network.synapses:
        src = placement.cores_of(blk.source) or [-1]  # the host-fed input enters next to core 0
        dst = placement.cores_of(blk.target)
        if not dst:
            continue
        longest = max(placement.hops(a, c) for a in src for c in dst)
        carried = events.get(blk.source, np.zeros(steps)) > 0
        hop_len = np.maximum(hop_len, np.where(carried, longest, 0))
    tiles = int(math.ceil(placement.cores / t.cores_per_tile))
    barrier = t.barrier_s(tiles)

    compute_low, compute_high = low.max(0), high.max(0)
    per_step = compute_low + hop_len * 0.5 * (t.hop_east_west_s + t.hop_north_south_s)
    total = float(per_step.sum()) + barrier * steps_inf
    lo = float((compute_low + hop_len * t.hop_east_west_s).sum()) + barrier * steps_inf
    hi = float((compute_high + hop_len * t.hop_north_south_s).sum()) + barrier * steps_inf
    crit = int(rows[int(np.bincount(low.argmax(0)).argmax())]["core"]) if steps else None
    chips = int(getattr(placement, "chips", 1))
    caveat = (
        "ESTIMATE, not a measurement: time per inference from simulated activity, a Loihi 2 core placement and "
        f"Loihi's per-operation times ({citation(t.source)}, pre-silicon: 3.5 ns per synaptic op, 8.4 / 5.3 ns "
        "per active / inactive neuron update, 2.1 ns per spike, 4.1-6.5 ns per hop, 113-465 ns barrier for "
        "1-32 tiles), cores in parallel, one barrier per step. A proxy for Loihi 2 (faster circuits, no public "
        "per-op times). Host IO, pipeline fill and chip-to-chip links not modelled"
        + (f"; {chips} chips: the 32-tile barrier is a lower bound" if tiles > 32 else "") + ".")
    return LoihiLatency(
        seconds_per_inference=total, low_s=lo, high_s=hi, steps_per_inference=steps_inf,
        per_step_s=(per_step + barrier * frac).tolist(),
        breakdown_s={"compute": float(compute_low.sum()),
                     "hops": float((hop_len * 0.5 * (t.hop_east_west_s + t.hop_north_south_s)).sum()),
                     "barrier": barrier * steps_inf},
        cores=int(placement.cores), tiles=tiles, chips=chips, critical_core=crit, caveat=caveat,
        per_core_busy_s={int(r["core"]): float(low[i].sum()) for i, r in enumerate(rows)})
