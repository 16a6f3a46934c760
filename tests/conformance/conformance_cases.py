"""The cells of the conformance matrix: backend x kind x reset x adaptation x precision x batch x stages.

Every cell is a small network (or a branch of one) built here, run on the reference backend (the kinds'
reference steps, plainly: :mod:`spikernn.hardware.backends.reference`) and on the implementation under test;
fixed point must agree bit for bit, float to float rounding. Lava cells share a few networks (a Lava run costs
process start-up plus ~1-10 ms per step, so each network holds one branch per cell) and are marked ``lava``.
"""
from __future__ import annotations

import itertools
import warnings
import zlib
from dataclasses import dataclass

import numpy as np

from spikernn.hardware.fixed_point import quantize
from spikernn.hardware.kinds import KINDS
from spikernn.hardware.network import Network, Population, SynapseBlock

SPIKING = ("lif", "adlif", "spiking_lstm", "spiking_gru", "adlif_lstm", "adlif_gru")
ADLIF = ("adlif", "adlif_lstm", "adlif_gru")  # the kinds with the adLIF soma
SIGMA_DELTA = (("sd_rnn", "tanh"), ("sd_rnn", "relu"), ("sd_lstm", None), ("sd_gru", None))
RESETS = ("subtract", "zero", "none", None)  # None: no "reset" attribute (the one default)
I, H, O, T = 3, 4, 2, 12


@dataclass(frozen=True)
class Branch:
    """One kind of neuron with its settings: what a cell varies."""

    kind: str
    reset: str | None = None  # spiking kinds
    adapt: bool = False  # spiking kinds: the adaptive threshold; adLIF soma: the symplectic ("se") discretisation
    activation: str | None = None  # sd_rnn
    threshold: float = 0.0  # sigma-delta delta threshold
    layers: int = 2

    @property
    def id(self) -> str:
        return self._id + ("" if self.layers == 2 else f"-{self.layers}layer")

    @property
    def _id(self) -> str:
        if self.kind in ADLIF:
            return f"{self.kind}-{self.reset or 'default'}-{'se' if self.adapt else 'ef'}"
        if self.kind in SPIKING:
            return f"{self.kind}-{self.reset or 'default'}-{'adapt' if self.adapt else 'fixed_th'}"
        return f"{self.kind}{'-' + self.activation if self.activation else ''}-thr{self.threshold:g}"

    @property
    def spiking(self) -> bool:
        return self.kind in SPIKING


def spiking_branches() -> list[Branch]:
    return [Branch(k, r, a) for k, r, a in itertools.product(SPIKING, RESETS, (False, True))]


def sigma_delta_branches() -> list[Branch]:
    return [Branch(k, activation=act, threshold=thr) for (k, act), thr in itertools.product(SIGMA_DELTA, (0.0, 0.03))]


def _params(b: Branch, rng: np.random.Generator, builtin: bool = False) -> tuple[dict, dict]:
    g = KINDS[b.kind].gates["in"]
    attrs: dict = {}
    if b.kind in ADLIF:  # the core's ranges (sparch's); the drive enters with the gain 1 - alpha
        # a gated drive lies in (-1, 1): faster membranes, lower thresholds to spike within T steps
        (th, al) = ((0.05, 0.2), (0.8, 0.96)) if b.kind == "adlif" else ((0.01, 0.05), (0.6, 0.9))
        p = {"alpha": rng.uniform(*al, H), "beta": rng.uniform(0.96, 0.99, H), "a": rng.uniform(-1, 1, H),
             "b": rng.uniform(0, 2, H), "threshold": rng.uniform(*th, H)}
        attrs["discretisation"] = "se" if b.adapt else "ef"
        if b.reset is not None:
            attrs["reset"] = b.reset
    elif b.spiking:
        th = (0.3, 0.8) if b.kind == "lif" else (0.1, 0.3)  # a gated drive o*tanh(c) lies in (-1, 1)
        p = {"decay": rng.uniform(0.6, 0.95, H), "threshold": rng.uniform(*th, H)}
        if builtin:
            p = {"decay": np.full(H, 0.8), "threshold": np.full(H, 0.6)}
        if b.adapt:
            p.update(adapt_decay=np.full(H, 0.9), adapt_scale=np.full(H, 0.2))
        if b.reset is not None:
            attrs["reset"] = b.reset
    else:
        p = {}
        attrs["delta_threshold"] = b.threshold
        if b.activation:
            attrs["activation"] = b.activation
    if builtin:
        return p, attrs
    if b.kind.endswith("gru"):
        p.update(bias_in=rng.normal(0, .3, 3 * H), bias_rec=rng.normal(0, .3, 3 * H))
    else:  # adLIF: a gated drive o tanh(c) more often > 0 (the membrane integrates it with the gain 1 - alpha)
        p["bias"] = rng.normal(0.1 if b.kind == "adlif_lstm" else 0.05, .2, g * H)
    return p, attrs


def add_branch(pops: list, syn: list, b: Branch, tag: str, source: str, n_src: int, rng: np.random.Generator, *,
               layers: int = 2, feedback: bool = True, builtin: bool = False) -> list[str]:
    """``layers`` recurrent layers of ``b`` fed by ``source`` (plus a feedback block from the last layer to the
    first, a lag of 2 steps), then a readout; returns the names to read (the layers, the readout)."""
    g = KINDS[b.kind].gates["in"]
    rec_port = "rec" if b.kind.endswith("gru") else "in"
    names, src, n = [], source, n_src
    for k in range(layers):
        name = f"{tag}{k}"
        p, attrs = _params(b, rng, builtin)
        pops.append(Population(name, b.kind, H, p, attrs))
        w_scale = 0.6 if not b.spiking else 1.2
        syn.append(SynapseBlock(f"{src}>{name}", src, name, "in", rng.normal(0.2 if b.kind in ("lif", "adlif") else 0,
                                                                           w_scale, (g * H, n))))
        syn.append(SynapseBlock(f"{name}>{name}", name, name, rec_port, rng.normal(0, 0.5, (g * H, H))))
        names.append(name)
        src, n = name, H
    if feedback and layers > 1:
        syn.append(SynapseBlock(f"{names[-1]}>{names[0]}", names[-1], names[0], rec_port,
                                rng.normal(0, 0.4, (g * H, H))))
    ro = f"{tag}ro"
    pops.append(Population(ro, "readout", O, {"bias": rng.normal(0, .1, O), "decay": np.full(O, 0.7)},
                           {} if b.spiking else {"input_coding": "delta"}))
    syn.append(SynapseBlock(f"{src}>{ro}", src, ro, "in", rng.normal(0, .5, (O, H))))
    return [*names, ro]


def add_bidirectional(pops: list, syn: list, b: Branch, tag: str, rng: np.random.Generator, first_stage: int) -> list[str]:
    """Two bidirectional layers of ``b`` (stages first_stage, first_stage + 1; backward populations reverse)
    fed by the input ``x``, then a readout in the next stage; returns the names to read (all of them)."""
    g = KINDS[b.kind].gates["in"]
    rec_port = "rec" if b.kind.endswith("gru") else "in"
    prev, prev_n, every = ["x"], [I], []
    for layer in range(2):
        names = []
        for rev in (False, True):
            name = f"{tag}{layer}{'b' if rev else 'f'}"
            p, attrs = _params(b, rng)
            pops.append(Population(name, b.kind, H, p, attrs, stage=first_stage + layer, reverse=rev))
            for src, n in zip(prev, prev_n):
                syn.append(SynapseBlock(f"{src}>{name}", src, name, "in", rng.normal(0.1, 0.8, (g * H, n))))
            syn.append(SynapseBlock(f"{name}>{name}", name, name, rec_port, rng.normal(0, .5, (g * H, H))))
            names.append(name)
        prev, prev_n = names, [H, H]
        every += names
    ro = f"{tag}ro"
    pops.append(Population(ro, "readout", O, {"bias": rng.normal(0, .1, O), "decay": np.full(O, 0.7)},
                           {} if b.spiking else {"input_coding": "delta"}, stage=first_stage + 2))
    for src in prev:
        syn.append(SynapseBlock(f"{src}>{ro}", src, ro, "in", rng.normal(0, .5, (O, H))))
    return [*every, ro]


TOPOLOGIES = ("chain", "feedback", "bidir")


def zoo(branches: list[Branch], topology: str, precision: str, batch: int, seed: int = 0, *, builtin: bool = False,
        input_coding: str | None = None, steps: int = T) -> tuple[Network, np.ndarray, dict[str, list[str]]]:
    """A network holding one independent branch per entry of ``branches``, its input (T, batch, I) and, per
    branch id, the populations whose outputs the cell compares. ``topology``: "chain" (two recurrent layers and
    a readout: every population is a group of its own, so the fast backend's fused loops run), "feedback" (the
    same plus a block from the last layer back to the first, a lag of 2 steps: the layers form one group,
    stepped by the generic loop), "bidir" (two bidirectional layers in two stages, backward populations
    reversed, and a readout in a third stage: host replays between stages)."""
    coding = input_coding or ("value" if all(b.spiking for b in branches) else "delta")
    pops = [Population("x", "input", I, attrs={"encoding": coding, "delta_threshold": 0.05 if coding == "delta" else 0})]
    syn: list = []
    reads: dict[str, list[str]] = {}
    for i, b in enumerate(branches):
        tag = f"b{i}_"
        rng = np.random.default_rng([seed, zlib.crc32(b.id.encode())])  # a branch does not depend on the others
        if topology == "bidir":
            reads[b.id] = add_bidirectional(pops, syn, b, tag, rng, 0)
        else:
            reads[b.id] = add_branch(pops, syn, b, tag, "x", I, rng, layers=b.layers, feedback=topology == "feedback",
                                     builtin=builtin)
    net = Network(pops, syn, "x", [n for names in reads.values() for n in names])
    x = np.random.default_rng(seed + 1).normal(0.3, 1.0, (steps, batch, I))
    if precision == "fixed":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = quantize(net, calibration_x=x)[0]
    return net, x, reads


_OFFSETS: dict[int, tuple[Network, dict[str, tuple[int, int]]]] = {}


def columns(net: Network, names: list[str]) -> np.ndarray:
    """Output columns of ``names`` in the network output (outputs are concatenated in order)."""
    entry = _OFFSETS.get(id(net))
    if entry is None or entry[0] is not net:
        offsets, lo = {}, 0
        for n in net.outputs:
            size = net.population(n).size
            offsets[n] = (lo, lo + size)
            lo += size
        entry = _OFFSETS[id(net)] = (net, offsets)
    return np.concatenate([np.arange(*entry[1][n]) for n in names])
