"""Activity statistics of a forward pass of the spiking layers.

Counts are summed over the batch and kept per time step, from the spikes the layer already computed (one
reduction per layer and direction, detached), on the device that computed them: reading a figure
(``total_spikes``, ``firing_rate``, ``to_dict``) is what waits for the device, not the forward pass.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from torch import Tensor


@dataclass
class LayerActivity:
    """Spiking activity of one layer and direction over one forward pass.

    Attributes:
        layer: layer index k; direction: "forward" or "reverse"; neurons: H.
        spikes_per_step: (T,) float tensor on the layer's device, spikes at each time step summed over the
            batch (valid steps only).
        neuron_steps: number of valid neuron updates, ``H * sum(lengths)`` (= ``H*T*B`` without padding).
        batch: B; steps: T (padded length).
        fan_out: synapses one spike drives: recurrent gates (G*H) + next layer's gates (G*H*directions); for
            the last layer the layer counts no readout, and a model that has one adds its outputs
            (:func:`with_readout_fan_out`).
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



def with_readout_fan_out(acts: list[LayerActivity], last_layer: int, readout_outputs: int) -> list[LayerActivity]:
    """``acts`` with the readout's outputs added to the fan-out of layer ``last_layer``'s populations."""
    return [replace(a, fan_out=a.fan_out + readout_outputs) if a.layer == last_layer else a for a in acts]
