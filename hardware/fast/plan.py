"""The fast simulator's compiled plan of a network: prepared kinds, transposed weights, lags and the groups
(strongly connected components) it runs one after another."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from spikernn.hardware.kinds.spec import NeuronKind, Prepared
from spikernn.hardware.network import Network
from spikernn.hardware.timing import block_lags, check_directions, depths, is_external


@dataclass
class Blk:
    name: str
    source: str
    target: str
    port: str
    wt: np.ndarray  # (n_src, n_port) float64, transposed weights (mantissas in fixed)
    exp: int
    lag: int
    graded: bool
    fan_out: np.ndarray
    external: bool
    wt32: np.ndarray | None = None  # float32 copy when binary-input integer sums are exact in float32


@dataclass
class Pop:
    name: str
    spec: NeuronKind
    size: int
    prep: Prepared
    attrs: dict
    stage: int
    reverse: bool
    depth: int
    ports: dict[str, int]  # port -> width
    ext: dict[str, list] = field(default_factory=dict)  # port -> blocks from earlier groups
    internal: dict[str, list] = field(default_factory=dict)  # port -> blocks inside the group

    @property
    def kind(self) -> str:
        return self.spec.name


@dataclass
class Plan:
    """What :func:`compile_network` precomputes for :func:`spikernn.hardware.fast.simulate_fast`."""

    pops: dict[str, Pop]
    blocks: dict[str, Blk]
    groups: list[list[str]]
    fixed: bool
    input: str
    outputs: list[str]
    need_values: set[str]  # populations whose host-readable values a later step needs
    need_sent: set[str]  # graded populations whose payloads a later group reads


def sccs(names: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    """Strongly connected components in topological order (Tarjan)."""
    adj: dict[str, list[str]] = {n: [] for n in names}
    for a, b in edges:
        adj[a].append(b)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    for n in names:
        if n not in index:
            visit(n)
    return out[::-1]


def compile_network(net: Network) -> Plan:
    """Precompute everything the simulator needs (prepared kinds, transposed weights, lags, groups)."""
    net.validate(params=False)  # each population's parameters are checked by prepare() below
    check_directions(net)
    fixed = net.precision == "fixed"
    d = depths(net)
    lags = block_lags(net)
    pops: dict[str, Pop] = {}
    for p in net.populations:
        spec = p.spec
        pops[p.name] = Pop(name=p.name, spec=spec, size=p.size, prep=p.prepare(net.precision), attrs=p.attrs,
                           stage=p.stage, reverse=p.reverse, depth=d[p.name],
                           ports={port.name: port.size(p.size) for port in spec.ports})
    blks: dict[str, Blk] = {}
    for b in net.synapses:
        src, tgt = pops[b.source], pops[b.target]
        w = np.asarray(b.weights, dtype=np.float64)
        if fixed and not np.all(w == np.round(w)):
            raise ValueError(f"fixed-point network: synapse block {b.name!r} has non-integer weight mantissas")
        blks[b.name] = Blk(name=b.name, source=b.source, target=b.target, port=b.port,
                           wt=np.ascontiguousarray(w.T), exp=int(b.weight_exp) if fixed else 0,
                           lag=lags[b.name], graded=not src.spec.spiking, fan_out=np.count_nonzero(w, axis=0),
                           external=is_external(net, b, tgt.stage))
    if fixed:
        for b in blks.values():
            rowsum = float(np.abs(b.wt).sum(axis=0).max(initial=0))
            if not b.graded and rowsum < 2 ** 24:
                b.wt32 = b.wt.astype(np.float32)
            if rowsum * float(2 ** 23) >= 2 ** 53:
                raise ValueError(f"synapse block {b.name!r}: fan-in too large for exact accumulation")
    groups: list[list[str]] = []
    for s in net.stages:
        names = [p.name for p in net.populations if p.stage == s and p.kind != "input"]
        edges = [(b.source, b.target) for b in blks.values()
                 if not b.external and b.source in names and b.target in names]
        for comp in sccs(names, edges):
            groups.append(sorted(comp, key=lambda n: (pops[n].depth, names.index(n))))
    done: set[str] = {p.name for p in net.populations if p.kind == "input"}
    for g in groups:
        gset = set(g)
        for n in g:
            P = pops[n]
            P.ext = {port: [] for port in P.ports}
            P.internal = {port: [] for port in P.ports}
            for b in blks.values():
                if b.target != n:
                    continue
                if b.source in gset and not b.external:
                    P.internal[b.port].append(b)
                else:
                    if b.source not in done and not b.external:
                        raise AssertionError("group order")  # pragma: no cover
                    P.ext[b.port].append(b)
        done |= gset
    need_values = set(net.outputs)
    need_sent = set()
    group_of = {n: i for i, g in enumerate(groups) for n in g}
    for b in blks.values():
        src, tgt = pops[b.source], pops[b.target]
        if b.external and src.reverse != tgt.reverse:
            need_values.add(b.source)
        elif group_of.get(b.source) != group_of.get(b.target):
            need_sent.add(b.source)
    return Plan(pops=pops, blocks=blks, groups=groups, fixed=fixed, input=net.input, outputs=list(net.outputs),
                need_values=need_values, need_sent=need_sent)
