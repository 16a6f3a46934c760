"""What every backend shares, and the interface a backend implements.

A run goes through the same steps whatever runs it (:meth:`Backend.simulate`):

1. the input, already in the canonical layout (T, B, I) float64 (:mod:`spikernn.hardware.io` converts the
   caller's), is checked (:func:`check_input`) and encoded by the host (:func:`encode_input`: quantised in fixed
   point, value or sigma-delta coded by the ``input`` kind's own step);
2. the backend runs the network (:meth:`Backend.execute`) and returns a :class:`Recording`: per population, in
   the population's own time, which neurons sent an event (masks), and what was sent and what the host reads
   where needed;
3. the outputs are flipped back for reverse populations, concatenated and dequantised (:func:`decode_outputs`);
4. activity is counted from the masks (:func:`~spikernn.hardware.stats.count_activity`), the message widths
   coming from the kinds.

Timing (delay alignment, stages, host replays) is :mod:`spikernn.hardware.timing`; a backend that runs stage by
stage with host replays gets the replayed streams from :func:`host_streams`.

A backend is a subclass of :class:`Backend` registered under a name in
:data:`spikernn.hardware.backends.BACKENDS` (``register_backend``); ``Network.simulate(x, backend=name)`` finds
it there. A backend that can run step by step (streaming) also implements :meth:`Backend.stream`.
"""
from __future__ import annotations

import functools
import inspect
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from spikernn.hardware.network import Network
from spikernn.hardware.stats import ActivityStats, count_activity
from spikernn.hardware.timing import is_external, replay_messages


@dataclass
class Encoded:
    """The host side of the input population for a run: what it sends, what it holds, where it sent an event
    (each (T, B, I); int64 in fixed point)."""

    sent: np.ndarray
    values: np.ndarray
    masks: np.ndarray


@dataclass
class Recording:
    """What a run recorded, per population name, each (T, B, n) in the population's own time: ``masks`` (bool,
    every population), ``values`` (what the host reads: spikes, sent values, readout y; at least for the
    outputs) and ``sent`` (payloads, where a later stage or group needs them)."""

    masks: dict[str, np.ndarray] = field(default_factory=dict)
    values: dict[str, np.ndarray] = field(default_factory=dict)
    sent: dict[str, np.ndarray] = field(default_factory=dict)

    @staticmethod
    def concatenate(parts: list["Recording"]) -> "Recording":
        """Recordings of batch shards joined along the batch axis."""
        first = parts[0]
        join = lambda key, name: np.concatenate([getattr(p, key)[name] for p in parts], axis=1)  # noqa: E731
        return Recording(masks={k: join("masks", k) for k in first.masks},
                         values={k: join("values", k) for k in first.values},
                         sent={k: join("sent", k) for k in first.sent})


NOT_FINITE_INPUT = "input contains NaN or inf"


def check_input(x_tbi: Any, net: Network | None = None) -> np.ndarray:
    """``x_tbi`` as float64 (T, B, I): TypeError for values that are not real numbers (strings, objects, complex),
    ValueError for another rank, (with ``net``) a feature size other than the network's input size, or NaN/inf."""
    a = x_tbi if type(x_tbi) is np.ndarray else np.asarray(x_tbi)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"input must hold real numbers, got dtype {a.dtype}")
    x = a if a.dtype == np.float64 else a.astype(np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must be (T, B, I), got shape {x.shape}")
    if net is not None:
        check_feature_size(x, net)
        if not np.isfinite(x).all():
            raise ValueError(NOT_FINITE_INPUT)
    return x


def check_feature_size(x: np.ndarray, net: Network) -> None:
    """ValueError unless ``x`` (..., I) has the network's input size I (:func:`check_input`,
    :func:`spikernn.hardware.io.prepare_input`)."""
    if x.shape[-1] != net.input_size:
        raise ValueError(f"input feature size {x.shape[-1]} does not match the network's input size "
                         f"{net.input_size}")


def encode_input(net: Network, x: np.ndarray) -> Encoded:
    """What the host sends into the network for input ``x`` (T, B, I): the input population's reference step
    on the (fixed point: quantised) input, for every step."""
    inp = net.population(net.input)
    kind = inp.spec
    prep = inp.prepare(net.precision)
    if net.precision == "fixed":
        from spikernn.hardware.fixed_point import quantize_input

        x = quantize_input(net, x)
    if prep.encoding == "value":  # the step sends x itself: no loop needed
        return Encoded(x, x, x != 0)
    T, B, _ = x.shape
    st = kind.init_state(prep, B)
    sent, values, masks = np.empty_like(x), np.empty_like(x), np.empty(x.shape, bool)
    for t in range(T):
        st, sent[t], masks[t] = kind.step(st, {"x": x[t]}, prep)
        values[t] = kind.read_value(st, sent[t])
    return Encoded(sent, values, masks)


def decode_outputs(net: Network, rec: Recording) -> np.ndarray:
    """The network output (T, B, O) float64: the outputs' values, reverse populations flipped back to forward
    time, fixed-point values scaled back to float (:func:`~spikernn.hardware.fixed_point.output_scale`)."""
    from spikernn.hardware.fixed_point import output_scale

    ys = []
    for name in net.outputs:
        P = net.population(name)
        v = rec.masks[name] if P.spec.spiking else rec.values[name]
        if P.reverse:
            v = v[::-1]
        if net.precision == "fixed" and not P.spec.spiking:  # one pass: the float64 of each integer, times the scale
            v = np.multiply(v, output_scale(P), dtype=np.float64)
        else:
            v = v.astype(np.float64)
        ys.append(v)
    return np.concatenate(ys, axis=2) if len(ys) > 1 else np.ascontiguousarray(ys[0])


def host_streams(net: Network, stage: int, rec: Recording) -> dict[tuple[str, bool], np.ndarray]:
    """The streams the host replays into ``stage``: (source, flipped) -> messages (T, B, n) in the target's
    time, for every block from the input population or an earlier stage (:func:`replay_messages`)."""
    streams: dict[tuple[str, bool], np.ndarray] = {}
    for b in net.synapses:
        tgt = net.population(b.target)
        if tgt.stage != stage or not is_external(net, b, stage):
            continue
        src = net.population(b.source)
        key = (src.name, src.reverse != tgt.reverse)
        if key not in streams:
            values = rec.values.get(src.name, rec.masks[src.name]) if src.spec.spiking else rec.values[src.name]
            streams[key] = replay_messages(values, key[1], rec.sent.get(src.name),
                                           delta=src.spec.delta_coded(src.attrs))
    return streams


@functools.lru_cache(maxsize=None)
def _execute_options(cls: type) -> frozenset | None:
    """The keyword options of ``cls.execute`` (None when it takes any)."""
    params = inspect.signature(cls.execute).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return None
    return frozenset(params) - {"self", "net", "x", "encoded"}


class Backend(ABC):
    """A way to run a :class:`~spikernn.hardware.network.Network` (see the module docstring)."""

    name: ClassVar[str] = ""

    def simulate(self, net: Network, x_tbi: Any, *, lengths: np.ndarray | None = None,
                 **options: Any) -> tuple[np.ndarray, ActivityStats]:
        """Run ``net`` on ``x_tbi`` (T, B, I); return the aligned output (T, B, O) float64 and the activity
        (only the valid steps of each sequence counted when ``lengths`` is given)."""
        self.check_options(options)
        return self._simulate_checked(net, check_input(x_tbi, net), lengths, options)

    def _simulate_checked(self, net: Network, x: np.ndarray, lengths: np.ndarray | None,
                          options: dict) -> tuple[np.ndarray, ActivityStats]:
        """:meth:`simulate` on an input :func:`check_input` has already returned (a subclass's ``simulate``
        that checked it itself calls this, so the input is scanned once)."""
        T, B, _ = x.shape
        rec = self.execute(net, x, self.encode(net, x), **options)
        return decode_outputs(net, rec), count_activity(net, rec.masks, T, B, lengths=lengths)

    def encode(self, net: Network, x: np.ndarray) -> Encoded:
        """The host's encoding of the checked input (:func:`encode_input`; a backend may compute the same bits
        faster)."""
        return encode_input(net, x)

    def check_options(self, options: dict) -> None:
        """TypeError naming options :meth:`execute` does not take."""
        known = _execute_options(type(self))
        bad = sorted(set(options) - known) if known is not None else []
        if bad:
            raise TypeError(f"{self.name} backend got unknown options {bad}")

    @abstractmethod
    def execute(self, net: Network, x: np.ndarray, encoded: Encoded, **options: Any) -> Recording:
        """Run the network on the encoded input; return every population's :class:`Recording` (the input
        population's included). It checks the network first (``net.validate()``; a backend may take that
        from a compiled plan)."""

    def stream(self, net: Network, batch: int = 1):
        """A step-by-step run (a :class:`~spikernn.hardware.backends.stream.Stream`: ``s.step(x_t) -> y_t``);
        backends that cannot stream say so."""
        raise NotImplementedError(f"the {self.name} backend cannot stream; use backend='fast' (compiled) or "
                                  "'reference'")
