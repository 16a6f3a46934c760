"""Resource mapping: neurons and synapses of a :class:`Network` onto Loihi 2 cores and chips.

Facts (shared/DESIGN.md; Intel Loihi 2 brief 2021): 128 neuro-cores per chip, up to 8,192 neurons per core,
about 192 KB of synaptic memory per core. Everything else here is a **stated assumption**, not a published
figure:

* weights are 8-bit and stored densely: 1 byte per synapse, zero weights of a dense block included (the
  Dense process has no sparse format); synapses live in the memory of the core holding the target neuron;
* a neuron's cost in neuron slots (compartments) is its kind's
  :attr:`~spikernn.hardware.kinds.spec.NeuronKind.compartments`: one dendritic accumulator per gate of every
  port, the cell state and membrane kept in the neuron's microcode state (``COMPARTMENTS`` below: LIF 1;
  spiking/sigma-delta LSTM 4; GRU 6: three gates on each of the "in" and "rec" ports; sigma-delta RNN and
  readout 1); the 8,192-neuron limit counts compartments;
* the ``input`` population is fed by the host and takes no core; its messages enter through a host port
  next to core 0 of chip 0;
* populations never share a core (each starts on a fresh core), neurons are split into contiguous slices;
* cores of a chip form a 2-D mesh (16 columns x 8 rows for 128 cores), chips are tiled left to right in one
  row, and the hop distance between cores is the Manhattan distance on that global grid;
* a spike is sent once to every core that holds one of its targets (dense blocks reach every target core).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikernn.hardware.kinds import KINDS
from spikernn.hardware.network import Network
from spikernn.hardware.stats import ActivityStats

NEURONS_PER_CORE = 8192
SYNAPTIC_MEMORY_BYTES_PER_CORE = 192 * 1024
CORES_PER_CHIP = 128
BYTES_PER_SYNAPSE = 1
COMPARTMENTS = {name: k.compartments for name, k in KINDS.items()}  # neuron slots per neuron, by kind


@dataclass
class Placement:
    """Where every population slice sits.

    Attributes:
        cores: number of cores used.
        chips: number of chips used.
        table: one row per core: {"core", "chip", "x", "y", "population", "start", "stop", "neurons",
            "compartments", "synapse_bytes", "fan_in"} (fan_in: synapses per neuron of that population).
        cores_per_chip, mesh_cols, mesh_rows: the mesh geometry used for hop distances.
        assumptions: the stated assumptions, in words.
    """

    cores: int
    chips: int
    table: list[dict[str, Any]]
    cores_per_chip: int
    mesh_cols: int
    mesh_rows: int
    limits: dict[str, Any] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)

    def cores_of(self, population: str) -> list[int]:
        """Core ids holding ``population`` (empty for the host-fed input)."""
        return [r["core"] for r in self.table if r["population"] == population]

    def position(self, core: int) -> tuple[int, int]:
        """Global mesh coordinates (x, y) of a core; -1 is the host port."""
        if core < 0:
            return (-1, 0)
        chip, i = divmod(core, self.cores_per_chip)
        return (chip * self.mesh_cols + i % self.mesh_cols, i // self.mesh_cols)

    def hops(self, a: int, b: int) -> int:
        """Mesh hops between cores a and b (Manhattan distance; a core id of -1 is the host port)."""
        (xa, ya), (xb, yb) = self.position(a), self.position(b)
        return abs(xa - xb) + abs(ya - yb)

    def hop_matrix(self) -> np.ndarray:
        """(cores, cores) hop distances."""
        pos = np.array([self.position(c) for c in range(self.cores)]).reshape(-1, 2)
        return np.abs(pos[:, None, :] - pos[None, :, :]).sum(-1)

    def hops_per_event(self, net: Network, block: str) -> float:
        """Average hops one event of the block's source travels to reach all cores of its target
        (events spread over the source's cores in proportion to their neurons)."""
        b = next(s for s in net.synapses if s.name == block)
        src_rows = [r for r in self.table if r["population"] == b.source]
        tgt = self.cores_of(b.target)
        if not src_rows:  # host-fed input
            return float(sum(self.hops(-1, d) for d in tgt))
        total = sum(r["neurons"] for r in src_rows)
        return float(sum(r["neurons"] / total * sum(self.hops(r["core"], d) for d in tgt) for r in src_rows))

    def to_dict(self) -> dict:
        return {"cores": self.cores, "chips": self.chips, "table": [dict(r) for r in self.table],
                "cores_per_chip": self.cores_per_chip, "mesh_cols": self.mesh_cols, "mesh_rows": self.mesh_rows,
                "limits": dict(self.limits), "assumptions": list(self.assumptions)}

    def summary(self) -> str:
        lines = [f"{self.cores} cores on {self.chips} chip(s) (mesh {self.mesh_cols}x{self.mesh_rows} per chip)",
                 f"{'core':>5} {'chip':>4} {'population':<16} {'slice':<13} {'neurons':>7} {'compart.':>8} "
                 f"{'syn bytes':>10} {'fan-in':>6}"]
        for r in self.table:
            lines.append(f"{r['core']:>5} {r['chip']:>4} {r['population']:<16} {str(r['start']) + ':' + str(r['stop']):<13} "
                         f"{r['neurons']:>7} {r['compartments']:>8} {r['synapse_bytes']:>10} {r['fan_in']:>6}")
        return "\n".join(lines)


def _mesh(cores_per_chip: int) -> tuple[int, int]:
    cols = 2 ** math.ceil(math.log2(math.sqrt(cores_per_chip))) if cores_per_chip > 1 else 1
    return cols, math.ceil(cores_per_chip / cols)


def place(net: Network, *, neurons_per_core: int = NEURONS_PER_CORE,
          synaptic_memory_bytes_per_core: int = SYNAPTIC_MEMORY_BYTES_PER_CORE,
          max_fan_in: int | None = None, cores_per_chip: int = CORES_PER_CHIP, max_chips: int | None = None,
          bytes_per_synapse: float = BYTES_PER_SYNAPSE,
          compartments: dict[str, int] | None = None) -> Placement:
    """Map ``net`` onto cores under per-core limits; raise ValueError naming the limit that cannot be met.

    Args:
        neurons_per_core: neuron slots (compartments) per core (Loihi 2: up to 8,192).
        synaptic_memory_bytes_per_core: synaptic memory per core (Loihi 2: ~192 KB).
        max_fan_in: optional limit on synapses per neuron.
        cores_per_chip: cores per chip (Loihi 2: 128).
        max_chips: optional limit on chips.
        bytes_per_synapse: memory per synapse (8-bit weights: 1).
        compartments: override of :data:`COMPARTMENTS` (neuron slots per neuron, by kind).
    """
    comp = dict(COMPARTMENTS)
    comp.update(compartments or {})
    if neurons_per_core <= 0 or synaptic_memory_bytes_per_core <= 0 or cores_per_chip <= 0:
        raise ValueError("neurons_per_core, synaptic_memory_bytes_per_core and cores_per_chip must be positive")
    if bytes_per_synapse < 0:
        raise ValueError(f"bytes_per_synapse must be >= 0, got {bytes_per_synapse}")
    bad = {k: v for k, v in comp.items() if k != "input" and not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1)}
    if bad:
        raise ValueError(f"compartments per neuron must be integers >= 1, got {bad}")
    cols, rows = _mesh(cores_per_chip)
    table: list[dict[str, Any]] = []
    core = 0
    for p in net.populations:
        if p.kind == "input":
            continue
        c = comp[p.kind]
        fan_in = sum(int(np.shape(b.weights)[1]) * p.spec.gates[b.port] for b in net.incoming(p.name))
        if max_fan_in is not None and fan_in > max_fan_in:
            raise ValueError(f"population {p.name!r}: each neuron has fan-in {fan_in} synapses, more than "
                             f"max_fan_in={max_fan_in}")
        bytes_per_neuron = fan_in * bytes_per_synapse
        if bytes_per_neuron > synaptic_memory_bytes_per_core:
            raise ValueError(f"population {p.name!r}: one neuron's fan-in ({fan_in} synapses, "
                             f"{bytes_per_neuron:g} bytes) exceeds a core's synaptic memory "
                             f"({synaptic_memory_bytes_per_core} bytes)")
        if c > neurons_per_core:
            raise ValueError(f"population {p.name!r}: one {p.kind} neuron needs {c} compartments, more than "
                             f"neurons_per_core={neurons_per_core}")
        per_core = neurons_per_core // c
        if bytes_per_neuron > 0:
            per_core = min(per_core, int(synaptic_memory_bytes_per_core // bytes_per_neuron))
        for start in range(0, p.size, per_core):
            stop = min(p.size, start + per_core)
            chip, i = divmod(core, cores_per_chip)
            table.append({"core": core, "chip": chip, "x": chip * cols + i % cols, "y": i // cols,
                          "population": p.name, "start": start, "stop": stop, "neurons": stop - start,
                          "compartments": (stop - start) * c,
                          "synapse_bytes": int(math.ceil((stop - start) * bytes_per_neuron)), "fan_in": fan_in})
            core += 1
    chips = (core + cores_per_chip - 1) // cores_per_chip if core else 0
    if max_chips is not None and chips > max_chips:
        raise ValueError(f"the network needs {core} cores = {chips} chips of {cores_per_chip} cores, more than "
                         f"max_chips={max_chips}")
    assumptions = [
        f"8-bit dense weights: {bytes_per_synapse:g} byte(s) per synapse, stored at the target core",
        "neuron slots per neuron: " + ", ".join(f"{k} {v}" for k, v in comp.items()),
        "populations do not share cores; input is host-fed through a port next to core 0",
        f"cores on a {cols}x{rows} mesh per chip, chips tiled in a row; hops = Manhattan distance",
    ]
    limits = {"neurons_per_core": neurons_per_core, "synaptic_memory_bytes_per_core": synaptic_memory_bytes_per_core,
              "max_fan_in": max_fan_in, "cores_per_chip": cores_per_chip, "max_chips": max_chips}
    return Placement(cores=core, chips=chips, table=table, cores_per_chip=cores_per_chip, mesh_cols=cols,
                     mesh_rows=rows, limits=limits, assumptions=assumptions)


def annotate_hops(stats: ActivityStats, net: Network, placement: Placement) -> ActivityStats:
    """Fill ``stats.core_hops``: per synapse block and step, events of its source x average hops per event
    (:meth:`Placement.hops_per_event`), as integers whose running sum is the rounded running sum of the exact
    products (so the total is off by at most 0.5 hop; rounding each step alone turned 1 event x 0.5 hops into
    0 at every step). Returns ``stats`` (modified in place)."""
    for b in net.synapses:
        ev = np.asarray(stats.events.get(b.source, np.zeros(stats.steps, np.int64)), dtype=np.float64)
        cum = np.rint(np.cumsum(ev * placement.hops_per_event(net, b.name))).astype(np.int64)
        stats.core_hops[b.name] = np.diff(cum, prepend=0)
    return stats
