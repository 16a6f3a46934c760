"""Streaming: a network run one input step at a time, its state kept between calls (``net.stream(...)``).

What every backend's stream shares (:class:`Stream`): it refuses networks that need the whole sequence
(several stages or reverse populations: bidirectional layers), checks each step's input, shapes the output and
builds the activity counters (:class:`~spikernn.hardware.stats.ActivityStats`, readable at any time with
:attr:`Stream.stats`). A backend's stream implements :meth:`Stream._step`, :meth:`Stream._reset` and
:meth:`Stream._counts`. Feeding a sequence step by step gives the output of ``run`` on the whole sequence,
``y[t]`` at step t (the fast backend's compiled stream: the same bits, float and fixed point).

>>> import numpy as np
>>> from spikernn.hardware import Network, Population, SynapseBlock
>>> net = Network([Population("x", "input", 2), Population("h", "lif", 3, {"threshold": 0.5})],
...               [SynapseBlock("xh", "x", "h", "in", np.ones((3, 2)))], "x", ["h"])
>>> s = net.stream(batch=1, backend="reference")
>>> s.step(np.array([0.4, 0.3])).tolist(), s.steps, s.stats.total_events()
([1.0, 1.0, 1.0], 1, 5)
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from spikernn.hardware.network import Network
from spikernn.hardware.stats import ActivityStats, assemble_stats

NOT_FINITE = "x_t contains NaN or inf"
BIDIRECTIONAL = ("a network with several stages or reverse (bidirectional) populations needs the whole sequence; "
                 "it cannot be streamed step by step (run it on the whole sequence with net.run(x))")


def streamable(net: Network) -> bool:
    """Whether ``net`` can run step by step: one stage, no reverse populations."""
    return len(net.stages) == 1 and not any(p.reverse for p in net.populations)


def check_streamable(net: Network, validate: bool = True) -> None:
    """ValueError for a network that cannot run step by step (:data:`BIDIRECTIONAL`); ``validate``: check the
    network first (``net.validate()``)."""
    if validate:
        net.validate()
    if not streamable(net):
        raise ValueError(BIDIRECTIONAL)


class Stream(ABC):
    """A network stepped one input step at a time: ``y_t = s.step(x_t)``.

    ``x_t``: (batch, I) float (or (I,) when batch is 1); returns the network output of this step, (batch, O)
    float64 (or (O,)), the values ``run`` gives at that step (fixed point: dequantised). State is kept between
    calls; :meth:`reset` starts a new sequence. :attr:`steps` counts the steps since the start or the last reset,
    :attr:`stats` the activity over them.
    """

    def __init__(self, net: Network, batch: int = 1, validated: bool = False) -> None:
        check_streamable(net, validate=not validated)  # validated: the caller checked it (compiled it)
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        self.net, self.batch = net, int(batch)
        self.input_size = net.input_size
        self.shape = (self.batch, self.input_size)
        self.steps = 0

    def step(self, x_t: Any) -> np.ndarray:
        """Feed input step ``x_t``; return this step's output."""
        x = np.asarray(x_t, dtype=np.float64)
        squeeze = x.ndim == 1 and self.batch == 1
        if squeeze:
            x = x.reshape(1, -1)
        if x.shape != self.shape:
            want = f"({self.batch}, {self.input_size})" + (f" or ({self.input_size},)" if self.batch == 1 else "")
            raise ValueError(f"x_t must have shape {want}, got {np.shape(x_t)}")
        y = self._step(x if x.flags.c_contiguous else np.ascontiguousarray(x))
        self.steps += 1
        return y[0] if squeeze else y

    def run(self, x: Any) -> np.ndarray:
        """Feed a whole sequence ``x`` (T, batch, I) step by step (continuing from the current state); the outputs
        (T, batch, O)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 3:
            raise ValueError(f"x must be (T, batch, I), got shape {x.shape}")
        return np.stack([self.step(x_t) for x_t in x])

    def reset(self) -> None:
        """Back to the zero state (a new sequence); the counters restart."""
        self._reset()
        self.steps = 0

    @property
    def stats(self) -> ActivityStats:
        """The activity of the steps since the start or the last reset (as ``net.simulate`` counts it)."""
        events, synops = self._counts()
        return assemble_stats(self.net, events, synops, self.steps, self.batch)

    @abstractmethod
    def _step(self, x: np.ndarray) -> np.ndarray:
        """One step on the input (batch, I) float64 C-contiguous; the output (batch, O) float64. ValueError
        (:data:`NOT_FINITE`) before changing anything when x holds NaN or inf."""

    @abstractmethod
    def _reset(self) -> None:
        """Zero state."""

    @abstractmethod
    def _counts(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Per-step events per population and synaptic operations per block, (steps,) int64 each."""


class StepCounter:
    """Per-step activity for a stream that has each step's event masks (the reference stream)."""

    def __init__(self, net: Network) -> None:
        self.net = net
        self.fan = {b.name: (b.source, b.fan_out.astype(np.int64)) for b in net.synapses}
        self.reset()

    def reset(self) -> None:
        self.events: dict[str, list[int]] = {p.name: [] for p in self.net.populations}
        self.synops: dict[str, list[int]] = {b: [] for b in self.fan}

    def add(self, masks: dict[str, np.ndarray]) -> None:
        """Count one step: population name -> (batch, n) bool mask."""
        per_neuron = {name: m.sum(axis=0, dtype=np.int64) for name, m in masks.items()}
        for name, pn in per_neuron.items():
            self.events[name].append(int(pn.sum()))
        for b, (src, fan) in self.fan.items():
            self.synops[b].append(int(per_neuron[src] @ fan))

    def counts(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        arr = lambda d: {k: np.asarray(v, np.int64) for k, v in d.items()}  # noqa: E731
        return arr(self.events), arr(self.synops)
