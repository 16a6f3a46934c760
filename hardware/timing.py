"""Time in a network run: the delay contract every backend shares (network docstring), in one place.

* Every synapse block delivers at global step g+1 what its source sent at global step g (Lava's Dense adds
  one step).
* A population's **depth** is its number of synapse hops from its stage's sources (breadth-first, i.e. the
  shortest path): the ``input`` population has depth 0; a population fed by the input population or by an
  earlier stage (a host replay) has depth 1; recurrent edges never lower a depth. A population at depth k
  processes input step t at global step t+k (it starts at step ``depth``); before that it is idle with zero
  state and sends nothing.
* Hence, in aligned time (index = input step), a block from S (depth dS) to D (depth dD) of the same stage
  carries S's aligned step t to D's aligned step t + lag with ``lag = 1 + dS - dD`` (0 for a feed-forward
  block, 1 for a self-recurrent block, never negative). Blocks from the input population or from an earlier
  stage have lag 0.

Stages run one after another; a later stage's inputs from an earlier stage are that stage's recorded values,
replayed by the host (:func:`replay_messages`). A population with ``reverse=True`` runs in reversed time: inputs
from the input population or an earlier stage are flipped, its recorded output is flipped back. Same-stage
blocks must connect populations of the same direction (:func:`check_directions`).
"""
from __future__ import annotations

import numpy as np

from spikernn.hardware.network import Network, SynapseBlock


def is_external(net: Network, blk: SynapseBlock, target_stage: int | None = None) -> bool:
    """Whether ``blk`` comes from the host: from the input population or from an earlier stage."""
    src = net.population(blk.source)
    if target_stage is None:
        target_stage = net.population(blk.target).stage
    return src.kind == "input" or src.stage < target_stage


def check_directions(net: Network) -> None:
    """ValueError for a block into the input population or between opposite time directions in one stage."""
    for b in net.synapses:
        src, tgt = net.population(b.source), net.population(b.target)
        if tgt.kind == "input":
            raise ValueError(f"synapse block {b.name!r} targets the input population")
        if not is_external(net, b, tgt.stage) and src.reverse != tgt.reverse:
            raise ValueError(f"synapse block {b.name!r} connects populations of opposite time direction in the "
                             f"same stage ({src.name!r} reverse={src.reverse}, {tgt.name!r} reverse={tgt.reverse}); "
                             "put the target in a later stage")


def depths(net: Network) -> dict[str, int]:
    """Depth (start step) of every population: see the module docstring. The input population has 0."""
    d: dict[str, int] = {}
    for p in net.populations:
        if p.kind == "input":
            d[p.name] = 0
    for s in net.stages:
        pops = [p for p in net.populations if p.stage == s and p.kind != "input"]
        names = {p.name for p in pops}
        frontier = []
        for p in pops:
            if any(is_external(net, b, s) for b in net.incoming(p.name)):
                d[p.name] = 1
                frontier.append(p.name)
        while frontier:
            nxt = []
            for b in net.synapses:
                if b.source in frontier and b.target in names and b.target not in d:
                    d[b.target] = d[b.source] + 1
                    nxt.append(b.target)
            frontier = nxt
        for p in pops:
            if p.name not in d:
                raise ValueError(f"population {p.name!r} receives nothing from the input or an earlier stage "
                                 "(unreachable); remove it or connect it")
    return d


def block_lags(net: Network) -> dict[str, int]:
    """Aligned-time lag of every synapse block: 0 for external/feed-forward, 1 + dS - dD otherwise."""
    d = depths(net)
    lags = {}
    for b in net.synapses:
        tgt = net.population(b.target)
        lags[b.name] = 0 if is_external(net, b, tgt.stage) else 1 + d[b.source] - d[b.target]
    return lags


def replay_messages(values: np.ndarray, flip: bool, sent: np.ndarray | None, delta: bool) -> np.ndarray:
    """Messages a host replays into a later stage (or a reverse population) from a recorded source.

    ``values`` (T, B, n) are the source's recorded values and ``sent`` its payload as sent (or None), both in
    the source's own time. Without a flip the payload is replayed as it was sent. With a flip (the target
    runs in the opposite time direction) value-coded sources (binary spikes, readouts, an ``input`` with
    encoding "value") replay their flipped values, delta-coded sources (``sd_*``, ``input`` "delta": ``delta``
    True, :meth:`NeuronKind.delta_coded`) the time differences of their flipped values, so that the target's
    accumulated input equals the flipped values.
    """
    if not flip:
        if sent is not None:
            return sent
        if not delta:
            return values
    if not delta:
        return values[::-1] if flip else values
    v = values[::-1] if flip else values
    out = np.empty_like(v)
    out[0] = v[0]
    np.subtract(v[1:], v[:-1], out=out[1:])
    return out
