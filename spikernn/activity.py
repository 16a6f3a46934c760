"""Activity statistics of the last forward pass (what the energy model reads).

Counts are summed over the batch and kept per time step. Collected under ``no_grad`` from the spikes the
layer already computed (one reduction per layer and direction), so training is not slowed measurably.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import Tensor


@dataclass
class LayerActivity:
    """Spiking activity of one layer and direction over one forward pass.

    Attributes:
        layer: layer index k; direction: "forward" or "reverse"; neurons: H.
        spikes_per_step: (T,) float tensor, spikes at each time step summed over the batch (valid steps only).
        neuron_steps: number of valid neuron updates, ``H * sum(lengths)`` (= ``H*T*B`` without padding).
        batch: B; steps: T (padded length).
        fan_out: synapses one spike drives: recurrent gates (G*H) + next layer's gates (G*H*directions) or the
            readout's outputs for the last layer (0 for a bare layer without readout).
    """

    layer: int
    direction: str
    neurons: int
    spikes_per_step: Tensor
    neuron_steps: int
    batch: int
    steps: int
    fan_out: int

    @property
    def total_spikes(self) -> float:
        """All spikes of this population in the pass (all batch items)."""
        return float(self.spikes_per_step.sum())

    @property
    def firing_rate(self) -> float:
        """Spikes per neuron per valid time step: ``spikes / (neurons * steps * batch)``."""
        return self.total_spikes / max(self.neuron_steps, 1)

    @property
    def synaptic_events(self) -> float:
        """Synaptic events: spikes x fan-out (all batch items)."""
        return self.total_spikes * self.fan_out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (per-step counts as a list)."""
        return {"layer": self.layer, "direction": self.direction, "neurons": self.neurons, "batch": self.batch,
                "steps": self.steps, "neuron_steps": self.neuron_steps, "fan_out": self.fan_out,
                "total_spikes": self.total_spikes, "firing_rate": self.firing_rate,
                "synaptic_events": self.synaptic_events, "spikes_per_step": self.spikes_per_step.tolist()}


def mean_firing_rate(acts: list[LayerActivity]) -> float:
    """Firing rate over all populations: total spikes / total neuron updates."""
    n = sum(a.neuron_steps for a in acts)
    return sum(a.total_spikes for a in acts) / max(n, 1)

