"""Published hardware energy figures, shipped as data (``figures.json``) with their sources.

Every number used by the analytic models comes from here, so a report can cite it. Units: joules.

Sources (full citations in ``figures.json`` -> ``sources``):
    * ``davies2018``  – Davies et al., IEEE Micro 2018, Table 2 (Loihi, pre-silicon).
    * ``intel2021``   – Intel Loihi 2 technology brief, 2021 (no per-op energy published).
    * ``horowitz2014``– Horowitz, ISSCC 2014 (45 nm energy per operation / memory access).
    * ``blouw2019``   – Blouw et al., NICE 2019 (measured keyword-spotting energy per inference).
    * ``lavadl_pilotnet`` – lava-dl PilotNet on Loihi 2 (measured static power 0.232 W).
    * ``intel2024_halapoint`` – Intel's Hala Point system (1,152 Loihi 2 chips, 2,600 W, 380 T synaptic ops/s).
    * ``sanafe_loihi`` – SANA-FE's Loihi architecture file, a second reading of Davies 2018's Table 2 times.
"""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

SCHEMA = "spikernn.energy-figures/1"


@lru_cache(maxsize=1)
def _load() -> dict[str, Any]:
    text = resources.files("spikernn.energy").joinpath("figures.json").read_text(encoding="utf-8")
    data = json.loads(text)
    if data.get("schema") != SCHEMA:
        raise ValueError(f"spikernn.energy figures.json has schema {data.get('schema')!r}, expected {SCHEMA!r}")
    return data


def all_figures() -> dict[str, Any]:
    """A copy of the whole figures table (sources and all figure groups)."""
    return copy.deepcopy(_load())


def sources() -> dict[str, dict[str, str]]:
    """Source key -> {"citation", "doi" (when known), "note"}."""
    return copy.deepcopy(_load()["sources"])


def citation(key: str) -> str:
    """Human-readable citation of a source key such as ``"davies2018"``."""
    src = _load()["sources"].get(key)
    if src is None:
        raise KeyError(f"unknown energy figure source {key!r}; known: {sorted(_load()['sources'])}")
    doi = f", doi:{src['doi']}" if src.get("doi") else ""
    return f"{src['citation']}{doi}"


@dataclass(frozen=True)
class LoihiFigures:
    """Loihi per-operation energies in joules (Davies et al. 2018, Table 2)."""

    synaptic_op_j: float
    neuron_update_active_j: float
    neuron_update_inactive_j: float
    spike_within_tile_j: float
    hop_east_west_j: float
    hop_north_south_j: float
    source: str = "davies2018"

    @property
    def hop_mean_j(self) -> float:
        """Mean of the E-W and N-S hop energies, for hops whose direction is unknown."""
        return 0.5 * (self.hop_east_west_j + self.hop_north_south_j)


@dataclass(frozen=True)
class HorowitzFigures:
    """45 nm energies in joules (Horowitz, ISSCC 2014); memory reads are per 64-bit access."""

    fp32_add_j: float
    fp32_mult_j: float
    fp32_mac_j: float
    fp16_add_j: float
    fp16_mult_j: float
    int32_add_j: float
    int32_mult_j: float
    int8_add_j: float
    int8_mult_j: float
    read_64bit_8kb_cache_j: float
    read_64bit_1mb_cache_j: float
    read_64bit_dram_low_j: float
    read_64bit_dram_high_j: float
    source: str = "horowitz2014"


def loihi() -> LoihiFigures:
    """Loihi figures from ``figures.json`` (Davies et al. 2018, Table 2)."""
    d = _load()["loihi"]
    return LoihiFigures(
        synaptic_op_j=float(d["synaptic_op_j"]),
        neuron_update_active_j=float(d["neuron_update_active_j"]),
        neuron_update_inactive_j=float(d["neuron_update_inactive_j"]),
        spike_within_tile_j=float(d["spike_within_tile_j"]),
        hop_east_west_j=float(d["hop_east_west_j"]),
        hop_north_south_j=float(d["hop_north_south_j"]),
        source=d["source"],
    )


def horowitz() -> HorowitzFigures:
    """Horowitz 45 nm figures from ``figures.json``."""
    d = _load()["horowitz_45nm"]
    names = [f for f in HorowitzFigures.__dataclass_fields__ if f != "source"]
    return HorowitzFigures(**{n: float(d[n]) for n in names}, source=d["source"])


@dataclass(frozen=True)
class LoihiTiming:
    """Loihi times per operation in seconds (Davies et al. 2018, Table 2)."""

    synaptic_op_s: float
    neuron_update_active_s: float
    neuron_update_inactive_s: float
    spike_within_tile_s: float
    hop_east_west_s: float
    hop_north_south_s: float
    barrier_sync_1_tile_s: float
    barrier_sync_32_tiles_s: float
    cores_per_tile: int
    source: str = "davies2018"

    def barrier_s(self, tiles: int) -> float:
        """Barrier synchronisation time for ``tiles`` tiles: linear between Table 2's 1-tile and 32-tile
        figures, 32 tiles' figure above (more than one chip: chip-to-chip sync is not modelled)."""
        t = min(max(int(tiles), 1), 32)
        return self.barrier_sync_1_tile_s + (self.barrier_sync_32_tiles_s - self.barrier_sync_1_tile_s) * (t - 1) / 31


@dataclass(frozen=True)
class Loihi2System:
    """System-level Loihi 2 reference (Hala Point): joules per synaptic op with everything included."""

    chips: int
    max_power_w: float
    synaptic_ops_per_s: float
    synaptic_op_j: float
    source: str = "intel2024_halapoint"


def loihi_timing() -> LoihiTiming:
    """Loihi per-operation times from ``figures.json`` (Davies et al. 2018, Table 2)."""
    d = _load()["loihi_timing"]
    names = [f for f in LoihiTiming.__dataclass_fields__ if f not in ("source", "cores_per_tile")]
    return LoihiTiming(**{n: float(d[n]) for n in names}, cores_per_tile=int(d["cores_per_tile"]), source=d["source"])


def loihi2_static_power() -> tuple[float, str]:
    """(watts, source key): the published static power of one Loihi 2 chip (lava-dl PilotNet, 0.232 W)."""
    d = _load()["loihi2_static"]
    return float(d["static_power_w"]), d["source"]


def loihi2_system() -> Loihi2System:
    """Hala Point's system-level figures (Intel 2024)."""
    d = _load()["loihi2_system_halapoint"]
    return Loihi2System(chips=int(d["chips"]), max_power_w=float(d["max_power_w"]),
                        synaptic_ops_per_s=float(d["synaptic_ops_per_s"]), synaptic_op_j=float(d["synaptic_op_j"]),
                        source=d["source"])


def blouw2019() -> dict[str, float]:
    """Published measured dynamic energy per inference (J) for keyword spotting, Blouw et al. 2019."""
    return dict(_load()["blouw2019_kws"]["platforms_j"])
