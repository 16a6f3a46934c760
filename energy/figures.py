"""Published hardware energy figures, shipped as data (``figures.json``) with their sources.

Every number used by the analytic models comes from here, so a report can cite it. Units: joules.

Sources (full citations in ``figures.json`` -> ``sources``):
    * ``davies2018``  – Davies et al., IEEE Micro 2018, Table 2 (Loihi, pre-silicon).
    * ``intel2021``   – Intel Loihi 2 technology brief, 2021 (no per-op energy published).
    * ``horowitz2014``– Horowitz, ISSCC 2014 (45 nm energy per operation / memory access).
    * ``blouw2019``   – Blouw et al., NICE 2019 (measured keyword-spotting energy per inference).
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


def blouw2019() -> dict[str, float]:
    """Published measured dynamic energy per inference (J) for keyword spotting, Blouw et al. 2019."""
    return dict(_load()["blouw2019_kws"]["platforms_j"])
