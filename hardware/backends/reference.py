"""The reference backend: the network contract run as plainly as possible, float and fixed point.

Each stage runs step by step in aligned time (:mod:`spikernn.hardware.timing`): at step t every population,
in order of depth, receives the sum of its blocks' synaptic input (Lava's Dense arithmetic,
:mod:`spikernn.hardware.synapses`) of what their sources sent at aligned step ``t - lag`` (host replays for
blocks from the input population or an earlier stage), and takes one reference step of its kind
(:mod:`spikernn.hardware.kinds`). No
kernels, no fused loops, no batching of time: it is what the fast simulator's optimisations and the Lava
processes are checked against (``tests/conformance/``).

Underneath :meth:`ReferenceBackend.execute` is a step-wise API, :class:`StageStepper` (one stage, one step at a
time, state kept between calls), which :meth:`ReferenceBackend.stream` exposes for single-stage networks:

>>> import numpy as np
>>> from spikernn.hardware import Network, Population, SynapseBlock
>>> net = Network([Population("x", "input", 2), Population("h", "lif", 3, {"threshold": 0.5})],
...               [SynapseBlock("xh", "x", "h", "in", np.ones((3, 2)))], "x", ["h"])
>>> s = ReferenceBackend().stream(net, batch=1)
>>> s.step(np.array([[0.4, 0.3]])).tolist()
[[1.0, 1.0, 1.0]]
>>> s.stats.events["h"].tolist()
[3]
"""
from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np

from spikernn.hardware.backends.base import Backend, Encoded, Recording, decode_outputs, host_streams
from spikernn.hardware.backends.stream import NOT_FINITE, StepCounter, Stream
from spikernn.hardware.network import Network
from spikernn.hardware.synapses import FixedDense
from spikernn.hardware.timing import block_lags, check_directions, depths, is_external


def synapses(weights: np.ndarray, weight_exp: int, fixed: bool):
    """One block's synaptic input (B, n_port) as a function of the messages (B, n_src): Lava's Dense arithmetic
    (:class:`~spikernn.hardware.synapses.FixedDense` in fixed point; ``msg @ W.T`` in float)."""
    if fixed:
        return FixedDense(weights, weight_exp)
    wt = np.ascontiguousarray(np.asarray(weights, np.float64).T)
    return lambda msg: msg.astype(np.float64) @ wt


class StageStepper:
    """One stage of a network, advanced one aligned step at a time with the kinds' reference steps.

    ``step(host)`` takes the host's messages for this step (``(source, flipped) -> (B, n)``, see
    :func:`~spikernn.hardware.backends.base.host_streams`) and returns, per population of the stage, ``(sent,
    value, mask)`` of this step. :meth:`reset` returns every population to its zero state.
    """

    def __init__(self, net: Network, stage: int, batch: int) -> None:
        check_directions(net)
        d, lags = depths(net), block_lags(net)
        self.fixed = net.precision == "fixed"
        self.batch = batch
        pops = [p for p in net.populations if p.stage == stage and p.kind != "input"]
        self.pops = sorted(pops, key=lambda p: d[p.name])  # lag-0 blocks go from depth k to depth k + 1
        self.kinds = {p.name: p.spec for p in self.pops}
        self.preps = {p.name: p.prepare(net.precision) for p in self.pops}
        self.blocks: dict[str, list] = {p.name: [] for p in self.pops}  # target -> [(block, lag, host key, input)]
        keep: dict[str, int] = {}
        for b in net.synapses:
            if b.target not in self.blocks:
                continue
            src, tgt = net.population(b.source), net.population(b.target)
            host = (src.name, src.reverse != tgt.reverse) if is_external(net, b, stage) else None
            self.blocks[b.target].append((b, lags[b.name], host, synapses(b.weights, b.weight_exp, self.fixed)))
            if host is None:
                keep[b.source] = max(keep.get(b.source, 0), lags[b.name])
        self.keep = keep
        self.reset()

    def reset(self) -> None:
        """Zero state for every population; nothing sent yet."""
        self.states = {n: self.kinds[n].init_state(p, self.batch) for n, p in self.preps.items()}
        self.history = {n: deque(maxlen=k + 1) for n, k in self.keep.items()}  # payloads sent, newest last

    def _sent_before(self, name: str, lag: int) -> np.ndarray | None:
        h = self.history[name]
        return h[-1 - lag] if lag < len(h) else None  # None: the source had not sent yet (idle before start)

    def step(self, host: dict[tuple[str, bool], np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
        out = {}
        for p in self.pops:
            name = p.name
            ins: dict[str, np.ndarray] = {}
            for b, lag, key, block_input in self.blocks[name]:
                if key is not None:
                    msg = host[key]
                elif lag == 0:
                    msg = out[b.source][0]  # a lag-0 block comes from a smaller depth: already stepped
                else:
                    msg = self._sent_before(b.source, lag - 1)
                if msg is None:
                    continue
                a = block_input(msg)
                ins[b.port] = a if b.port not in ins else ins[b.port] + a
            for port in self.kinds[name].ports:
                if port.name not in ins:
                    ins[port.name] = np.zeros((self.batch, port.size(p.size)), np.int64 if self.fixed else np.float64)
            st, sent, mask = self.kinds[name].step(self.states[name], ins, self.preps[name])
            self.states[name] = st
            out[name] = (sent, self.kinds[name].read_value(st, sent), mask)
        for name, h in self.history.items():
            h.append(out[name][0])
        return out


class ReferenceBackend(Backend):
    """The plain reference run (module docstring): every kind, float and fixed point, stages and reverse
    populations; slow (one Python step per population and time step)."""

    name = "reference"

    def execute(self, net: Network, x: np.ndarray, encoded: Encoded) -> Recording:
        net.validate()
        T, B, _ = x.shape
        inp = net.input
        rec = Recording(masks={inp: encoded.masks}, values={inp: encoded.values}, sent={inp: encoded.sent})
        for stage in net.stages:
            stepper = StageStepper(net, stage, B)
            if not stepper.pops:
                continue
            streams = host_streams(net, stage, rec)
            runs = {p.name: ([], [], []) for p in stepper.pops}
            for t in range(T):
                for name, res in stepper.step({k: v[t] for k, v in streams.items()}).items():
                    for seq, val in zip(runs[name], res):
                        seq.append(val)
            for name, (sent, values, masks) in runs.items():
                rec.sent[name], rec.values[name], rec.masks[name] = np.stack(sent), np.stack(values), np.stack(masks)
        return rec

    def stream(self, net: Network, batch: int = 1) -> "ReferenceStream":
        return ReferenceStream(net, batch)


class ReferenceStream(Stream):
    """A single-stage network run one input step at a time with the reference steps
    (:class:`~spikernn.hardware.backends.stream.Stream`): the bits of ``run(x, backend="reference")``."""

    def __init__(self, net: Network, batch: int = 1) -> None:
        super().__init__(net, batch)
        inp = net.population(net.input)
        self.input, self.input_kind, self.input_prep = inp, inp.spec, inp.prepare(net.precision)
        self.stepper = StageStepper(net, net.stages[0], self.batch)
        self.counter = StepCounter(net)
        self._reset()

    def _reset(self) -> None:
        self.stepper.reset()
        self.input_state = self.input_kind.init_state(self.input_prep, self.batch)
        self.counter.reset()

    def _step(self, x: np.ndarray) -> np.ndarray:
        if not np.isfinite(x).all():
            raise ValueError(NOT_FINITE)
        if self.net.precision == "fixed":
            from spikernn.hardware.fixed_point import quantize_input

            x = quantize_input(self.net, x)
        self.input_state, sent, mask = self.input_kind.step(self.input_state, {"x": x}, self.input_prep)
        res = self.stepper.step({(self.net.input, False): sent})
        rec = Recording(masks={n: r[2][None] for n, r in res.items()}, values={n: r[1][None] for n, r in res.items()})
        rec.masks[self.net.input] = mask[None]
        rec.values[self.net.input] = self.input_kind.read_value(self.input_state, sent)[None]
        self.counter.add({n: m[0] for n, m in rec.masks.items()})
        return decode_outputs(self.net, rec)[0]

    def _counts(self):
        return self.counter.counts()
