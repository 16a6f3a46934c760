"""Hardware-level network description, independent of Lava.

A :class:`Network` is a set of neuron :class:`Population` objects and :class:`SynapseBlock` objects (dense
weight matrices) between them, recurrent blocks included. It is what the converters produce and what both
backends run: ``backend="lava"`` builds real Lava processes from it, ``backend="fast"`` runs it as batched
array code. It is serialisable (one safetensors file: arrays as tensors, the rest as JSON metadata), so a
converted network can be saved and run later.

Time: every synapse block delivers what its source sent at step t to its target at step t+1 (Lava's Dense
adds one step). The runners align that delay so that ``run(x)[t]`` is the output for input step ``t``.

Stages (bidirectional layers): populations with the same ``stage`` stream together. A later stage runs after
the earlier ones have seen the whole sequence; its inputs from earlier stages are their recorded outputs
(a host round trip on real hardware). A population with ``reverse=True`` sees its inputs in reversed time
order and its recorded output is flipped back, which is how the backward direction of a bidirectional layer
runs.

Neuron kinds (``input``, ``lif``, ``spiking_lstm``, ``spiking_gru``, ``sd_rnn``, ``sd_lstm``, ``sd_gru``,
``readout``) are defined in :mod:`spikernn.hardware.kinds`, one file each: their ports, parameters (names,
defaults, units, ranges), settings (``attrs``), state, what they send, equations and quantisation. A
population's ``params``/``attrs`` are checked against its kind when the network is built.

File format (:meth:`Network.save`): one safetensors file, arrays as tensors, the rest as JSON metadata under
``"spikernn_network"``. Version 2 (this one) differs from version 1 in one meaning only: a spiking population
without a ``reset`` setting resets by the one default of every backend (``spikernn.hardware.kinds.DEFAULT_RESET``,
the core's "subtract"). Version-1 files are read with ``reset = "zero"`` filled in where it was missing, which
is what version 1's fast and Lava backends did with them.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikernn.filecheck import (CHECKSUM_KEY, DEFAULT_LIMITS, VERSION_KEY, FileFormatError, FileLimits,
                                FileTooLargeError, check_path, check_schema, one_line_text, open_safetensors,
                                parse_json, tensor_digest, verify_tensors)
from spikernn.hardware.kinds import KINDS, NeuronKind, kind as kind_named
from spikernn.hardware.synapses import check_fixed_weights
from spikernn.hardware.kinds.spec import PRECISIONS, Prepared, check_precision  # noqa: F401 - PRECISIONS re-exported

# 3: the adLIF soma's decay registers dalpha, dbeta have 16 fractional bits (kinds.soma.DECAY_Q; 12 before)
FORMAT_VERSION = 3
NETWORK_FORMAT = "spikernn.hardware.Network"


def header_schema(limits: FileLimits | None = None) -> dict:
    """The JSON schema of a network file's ``spikernn_network`` header (:func:`spikernn.filecheck.check_schema`)."""
    lim = limits or DEFAULT_LIMITS
    name = {"type": "str"}
    pop = {"type": "object", "extra": False,
           "required": {"name": name, "kind": {"type": "str", "enum": tuple(sorted(KINDS))},
                        "size": {"type": "int", "min": 1, "max": lim.max_width},
                        "params": {"type": "array", "items": name, "max_items": 64},
                        "attrs": {"type": "object"}, "stage": {"type": "int", "min": 0, "max": 64},
                        "reverse": {"type": "bool"}}}
    syn = {"type": "object", "extra": False,
           "required": {"name": name, "source": name, "target": name, "port": {"type": "str"},
                        "weight_exp": {"type": "int", "min": -64, "max": 64}}}
    meta = {"type": "object", "optional": {"batch_first": {"type": "bool"},
                                           "output": {"type": "str", "enum": ("sequence", "last_step")}}}
    return {"type": "object", "extra": False,
            "required": {"format": {"type": "str", "enum": (NETWORK_FORMAT,)}, "version": {"type": "int"},
                         "populations": {"type": "array", "items": pop, "max_items": lim.max_tensors},
                         "synapses": {"type": "array", "items": syn, "max_items": lim.max_tensors},
                         "input": name, "outputs": {"type": "array", "items": name, "max_items": lim.max_tensors},
                         "precision": {"type": "str", "enum": tuple(PRECISIONS)}},
            "optional": {"meta": meta}}
V1_RESET = "zero"  # what version 1's fast and Lava backends did with a spiking population without "reset"


@dataclass
class Population:
    """A group of ``size`` neurons of one ``kind``.

    Attributes:
        name: unique name within the network.
        kind: one of :data:`spikernn.hardware.kinds.KINDS`.
        size: number of neurons.
        params: name -> array (or scalar) of neuron parameters of the kind and the network's precision
            (a missing one takes the kind's default).
        attrs: the kind's JSON settings (reset mode, activation, delta threshold, input coding, ...).
        stage: execution stage (0 for everything that streams together).
        reverse: run this population on time-reversed input (backward direction).
    """

    name: str
    kind: str
    size: int
    params: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    stage: int = 0
    reverse: bool = False

    @property
    def spec(self) -> NeuronKind:
        """The population's kind (:mod:`spikernn.hardware.kinds`)."""
        return kind_named(self.kind)

    def port_size(self, port: str) -> int:
        """Number of synaptic inputs of ``port`` (size x gates)."""
        k = self.spec
        if port not in k.gates:
            raise ValueError(f"population {self.name!r} ({self.kind}) has no input port {port!r}; "
                             f"ports: {sorted(k.gates)}")
        return self.size * k.gates[port]

    @property
    def graded(self) -> bool:
        """Whether this population sends graded (valued) events rather than binary spikes."""
        return self.spec.graded

    def where(self) -> str:
        """How error messages name this population."""
        return f"population {self.name!r} ({self.kind}, size {self.size})"

    def prepare(self, precision: str) -> Prepared:
        """The kind's typed constants for this population (validated; defaults filled in)."""
        return self.spec.prepare(self.params, self.attrs, precision, self.size, where=self.where())


@dataclass
class SynapseBlock:
    """Dense synapses from ``source`` to port ``port`` of ``target``.

    Attributes:
        name: unique name within the network.
        source, target: population names.
        port: target input port ("in" or "rec").
        weights: (target port size, source size) array. Float weights in "float" precision; integer
            mantissas (8-bit range) in "fixed" precision, the effective weight being w * 2**weight_exp.
        weight_exp: per-block exponent (fixed precision; 0 in float).
    """

    name: str
    source: str
    target: str
    port: str
    weights: np.ndarray
    weight_exp: int = 0

    @property
    def fan_out(self) -> np.ndarray:
        """(source size,) number of nonzero weights driven by each source neuron."""
        return np.count_nonzero(self.weights, axis=0)


@dataclass
class Network:
    """A hardware-level network: populations, synapse blocks, which population the host feeds and which
    populations form the output (concatenated along features in this order).

    Attributes:
        populations: all populations, in a topological-ish order (inputs first).
        synapses: all synapse blocks.
        input: name of the ``input`` population the host feeds.
        outputs: population names whose outputs, concatenated, are the network output.
        precision: "float" or "fixed".
        meta: JSON-able facts about the source model (kind, batch_first, output mode, fixed-point scales,
            how to read the output: e.g. "last_step" or "sequence") for the converters and reports.
    """

    populations: list[Population]
    synapses: list[SynapseBlock]
    input: str
    outputs: list[str]
    precision: str = "float"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.validate()

    # -- lookup ---------------------------------------------------------------------------------------
    def population(self, name: str) -> Population:
        """The population called ``name``."""
        pops = self.populations
        index = self.__dict__.get("_index")  # name -> position, rebuilt when the list changed under it
        i = index.get(name) if index is not None else None
        if i is None or i >= len(pops) or pops[i].name != name:
            index = self.__dict__["_index"] = {p.name: k for k, p in enumerate(pops)}
            i = index.get(name)
            if i is None:
                raise KeyError(f"no population named {name!r}; have {[p.name for p in pops]}")
        return pops[i]

    def incoming(self, target: str) -> list[SynapseBlock]:
        """Synapse blocks that end at population ``target``."""
        return [s for s in self.synapses if s.target == target]

    @property
    def input_size(self) -> int:
        return self.population(self.input).size

    @property
    def output_size(self) -> int:
        return sum(self.population(n).size for n in self.outputs)

    @property
    def stages(self) -> list[int]:
        return sorted({p.stage for p in self.populations})

    # -- checks ---------------------------------------------------------------------------------------
    def validate(self, params: bool = True) -> None:
        """Raise ValueError naming the first inconsistency (kind, port, shape, precision, names); ``params=False``
        leaves the populations' parameters and settings to the caller (who prepares them, which checks them)."""
        check_precision(self.precision)
        names = [p.name for p in self.populations]
        if len(set(names)) != len(names):
            raise ValueError(f"population names must be unique: {names}")
        for p in self.populations:
            if p.kind not in KINDS:
                raise ValueError(f"population {p.name!r}: unknown neuron kind {p.kind!r}; known: {sorted(KINDS)}")
            if p.size <= 0:
                raise ValueError(f"population {p.name!r}: size must be positive, got {p.size}")
            if params:
                p.spec.resolve(p.params, p.attrs, self.precision, p.size, where=p.where())
        if self.population(self.input).kind != "input":
            raise ValueError(f"network input {self.input!r} must be a population of kind 'input'")
        for o in self.outputs:
            self.population(o)
        snames = [s.name for s in self.synapses]
        if len(set(snames)) != len(snames):
            raise ValueError(f"synapse block names must be unique: {snames}")
        for s in self.synapses:
            src, dst = self.population(s.source), self.population(s.target)
            expected = (dst.port_size(s.port), src.size)
            if tuple(s.weights.shape) != expected:
                raise ValueError(
                    f"synapse block {s.name!r}: weights shape {tuple(s.weights.shape)} != (target port size, "
                    f"source size) {expected}"
                )
            if not np.all(np.isfinite(s.weights)):
                raise ValueError(f"synapse block {s.name!r}: weights contain NaN or inf")
            if self.precision == "fixed":
                check_fixed_weights(s.weights, s.weight_exp, f"synapse block {s.name!r}")
            if dst.stage < src.stage:
                raise ValueError(f"synapse block {s.name!r} goes from stage {src.stage} back to stage {dst.stage}")

    # -- persistence ----------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the network to one safetensors file (arrays) with JSON metadata. Returns the path."""
        from safetensors.numpy import save_file

        path = Path(path)
        tensors: dict[str, np.ndarray] = {}
        pops = []
        for p in self.populations:
            for k, v in p.params.items():
                tensors[f"pop/{p.name}/{k}"] = np.asarray(v).copy(order="C")  # a scalar stays 0-d
            pops.append({"name": p.name, "kind": p.kind, "size": p.size, "params": sorted(p.params),
                         "attrs": p.attrs, "stage": p.stage, "reverse": p.reverse})
        syns = []
        for s in self.synapses:
            tensors[f"syn/{s.name}/weights"] = np.ascontiguousarray(np.asarray(s.weights))
            syns.append({"name": s.name, "source": s.source, "target": s.target, "port": s.port,
                         "weight_exp": int(s.weight_exp)})
        import spikernn

        header = {"format": NETWORK_FORMAT, "version": FORMAT_VERSION, "populations": pops,
                  "synapses": syns, "input": self.input, "outputs": self.outputs,
                  "precision": self.precision, "meta": self.meta}
        save_file(tensors, str(path), metadata={"spikernn_network": json.dumps(header),
                                                VERSION_KEY: spikernn.__version__,
                                                CHECKSUM_KEY: tensor_digest(tensors)})
        return path

    @classmethod
    def load(cls, path: str | Path, *, limits: FileLimits | None = None) -> "Network":
        """Read a network written by :meth:`save` (no pickle involved). The file is untrusted
        (:mod:`spikernn.filecheck`): the header is checked against :func:`header_schema` (types, enums,
        required keys, sizes within ``limits``), the format version must be an integer this spikernn reads,
        every declared tensor must be in the file, the checksum must match (files without one, written before
        checksums, are read unchecked) and the arrays must be finite.

        Raises FileNotFoundError / IsADirectoryError for a bad path, ValueError (FileFormatError; its
        subclasses FileTooLargeError and CorruptFileError) when it is not a valid network file."""
        path = check_path(path, "network file")
        where = str(path)
        with open_safetensors(path, "spikernn hardware network", limits, framework="numpy") as (f, meta, infos):
            if "spikernn_network" not in meta:
                raise FileFormatError(f"{path} is not a spikernn hardware network (no 'spikernn_network' metadata)")
            header = parse_json(meta["spikernn_network"], where, "spikernn_network")
            check_schema(header, {"type": "object", "required": {"version": {"type": "any"}}}, where)
            version = header["version"]
            if not isinstance(version, int) or isinstance(version, bool):
                raise FileFormatError(f"{where}: version must be an integer network format version, got "
                                      f"{version!r} ({type(version).__name__})")
            if version > FORMAT_VERSION:
                raise FileFormatError(f"{where}: network format version {version} is newer than this spikernn "
                                      f"reads (up to {FORMAT_VERSION}; written by spikernn "
                                      f"{meta.get(VERSION_KEY, '(unknown)')}): upgrade spikernn to read it")
            if version < 1:
                raise FileFormatError(f"{where}: network format version {version} is not one this spikernn knows")
            check_schema(header, header_schema(limits), where)
            tensors = {}
            for p in header["populations"]:
                for k in p["params"]:
                    tensors[f"pop/{p['name']}/{k}"] = None
            for s in header["synapses"]:
                tensors[f"syn/{s['name']}/weights"] = None
            missing = sorted(set(tensors) - set(infos))
            if missing:
                raise FileFormatError(f"{where}: the header declares tensor(s) the file does not hold: {missing[:4]}")
            total = sum(p["size"] for p in header["populations"])
            lim = limits or DEFAULT_LIMITS
            if total > lim.max_width * 64:
                raise FileTooLargeError(f"{where}: the populations declare {total:,} neurons, over the limit of "
                                        f"{lim.max_width * 64:,}; pass larger limits to read it on purpose")
            tensors = {k: f.get_tensor(k) for k in tensors}
        verify_tensors(tensors, meta, where)
        try:
            pops = [Population(name=p["name"], kind=p["kind"], size=p["size"],
                               params=_upgrade_params(p["kind"], {k: tensors[f"pop/{p['name']}/{k}"]
                                                                  for k in p["params"]}, version,
                                                      header["precision"]),
                               attrs=_upgrade_attrs(p["kind"], p["attrs"], version), stage=p["stage"],
                               reverse=p["reverse"])
                    for p in header["populations"]]
            syns = [SynapseBlock(name=s["name"], source=s["source"], target=s["target"], port=s["port"],
                                 weights=tensors[f"syn/{s['name']}/weights"], weight_exp=s["weight_exp"])
                    for s in header["synapses"]]
            return cls(populations=pops, synapses=syns, input=header["input"], outputs=list(header["outputs"]),
                       precision=header["precision"], meta=header.get("meta", {}))
        except (KeyError, TypeError, ValueError) as e:
            raise FileFormatError(f"{where}: {one_line_text(e).strip(chr(39))}") from None

    # -- running --------------------------------------------------------------------------------------
    def simulate(self, x: Any, backend: str = "fast", lengths: Any = None, **options: Any):
        """Run the network on input ``x`` and return ``(output, ActivityStats)``.

        Args:
            x: torch tensor or numpy array shaped like the source model's input: (T, B, I), (B, T, I) when
                ``meta["batch_first"]``, or unbatched (T, I). Float values; fixed-point networks quantise
                the input themselves.
            backend: a name in :data:`spikernn.hardware.backends.BACKENDS`: "fast" (batched array simulator),
                "lava" (real Lava processes, Loihi2SimCfg) or "reference" (the kinds' reference steps, plainly).
            lengths: optional (B,) valid lengths per sequence (time steps); needed for
                ``meta["output"] == "last_step"`` outputs of padded batches, and the activity statistics
                count only the valid steps (padding is not work an inference would do). A bidirectional
                network from a packed model runs unequal lengths in equal-length groups
                (:meth:`runs_in_length_groups`), as torch's packed backward pass does.
            options: passed to the backend.

        Returns:
            The output as a torch tensor shaped like the source model's output (float32 unless x was
            float64) and the run's activity statistics.
        """
        from spikernn.hardware.backends import get_backend
        from spikernn.hardware.io import format_output, prepare_input

        runner = get_backend(backend)
        x_tbi, layout = prepare_input(self, x, lengths)
        if self.runs_in_length_groups(layout.lengths):
            y_tbo, stats = self._simulate_length_groups(runner, x_tbi, layout.lengths, options)
        else:
            y_tbo, stats = runner.simulate(self, x_tbi, lengths=layout.lengths, **options)
        return format_output(self, y_tbo, layout), stats

    def runs_in_length_groups(self, lengths: np.ndarray | None) -> bool:
        """True when a padded batch of unequal ``lengths`` must run as groups of equal length: a network with a
        backward direction (reverse populations or several stages) converted from a model that runs its
        sequences packed (``meta["packed"]``, default True), whose backward pass starts at each sequence's own
        last step, not at the padded end."""
        if lengths is None or len(set(np.asarray(lengths).tolist())) < 2 or not self.meta.get("packed", True):
            return False
        return len(self.stages) > 1 or any(p.reverse for p in self.populations)

    def _simulate_length_groups(self, runner: Any, x_tbi: np.ndarray, lengths: np.ndarray, options: dict):
        """Run each group of equal-length sequences trimmed to its length; (T, B, O) output (zero beyond each
        sequence's length) and the merged activity statistics."""
        from spikernn.hardware.stats import merge_stats

        y_tbo, parts = None, []
        for L in sorted(set(int(v) for v in lengths)):
            idx = np.nonzero(lengths == L)[0]
            y, st = runner.simulate(self, np.ascontiguousarray(x_tbi[:L, idx]), lengths=None, **options)
            if y_tbo is None:
                y_tbo = np.zeros((x_tbi.shape[0], len(lengths)) + y.shape[2:], dtype=y.dtype)
            y_tbo[:L, idx] = y
            parts.append(st)
        return y_tbo, merge_stats(parts)

    def run(self, x: Any, backend: str = "fast", lengths: Any = None, **options: Any):
        """Like :meth:`simulate` but returns only the output."""
        return self.simulate(x, backend=backend, lengths=lengths, **options)[0]

    def stream(self, batch: int = 1, backend: str = "fast", **options: Any):
        """The network run one input step at a time (a :class:`~spikernn.hardware.backends.stream.Stream`):
        ``y_t = s.step(x_t)`` with x_t (batch, I) (or (I,) for batch 1) keeps the state between calls, returns
        this step's output (batch, O) float64 (fixed point dequantised: the values ``run`` gives at step t);
        ``s.reset()`` starts a new sequence, ``s.stats`` is the activity so far. Bidirectional (staged) networks
        need the whole sequence and raise ValueError. ``backend="fast"`` steps with the compiled kernels
        (the bits of ``run``; without numba, the reference steps), ``"reference"`` with the kinds' reference
        steps; ``options`` go to the backend's ``stream`` (fast: ``engine``).

        >>> import numpy as np
        >>> net = Network([Population("x", "input", 2), Population("h", "lif", 3, {"threshold": 0.5})],
        ...               [SynapseBlock("xh", "x", "h", "in", np.ones((3, 2)))], "x", ["h"])
        >>> s = net.stream()
        >>> [s.step([0.2, 0.2]).tolist() for _ in range(2)]
        [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
        """
        from spikernn.hardware.backends import get_backend

        return get_backend(backend).stream(self, batch=batch, **options)


def _upgrade_params(kind: str, params: dict, version: int, precision: str) -> dict:
    """Parameters of a population read from a file of format ``version``, in this version's meaning: before
    version 3 the adLIF soma's fixed decay registers had 12 fractional bits (kinds.soma.V2_DECAY_Q), now
    DECAY_Q; shifting them left gives the same products bit for bit (``(d 2**k x + 2**(q+k-1)) >> (q+k)`` equals
    ``(d x + 2**(q-1)) >> q``)."""
    if version >= 3 or precision != "fixed":
        return params
    from spikernn.hardware.kinds.soma import DECAY_Q, DECAY_REGISTERS, V2_DECAY_Q

    shift = DECAY_Q - V2_DECAY_Q
    fixed = {p.name for p in KINDS[kind].fixed_params} if kind in KINDS else set()
    return {k: (v << shift if k in DECAY_REGISTERS and k in fixed and np.issubdtype(np.asarray(v).dtype, np.integer)
                else v) for k, v in params.items()}


def _upgrade_attrs(kind: str, attrs: dict, version: int) -> dict:
    """Settings of a population read from a file of format ``version``, in this version's meaning."""
    attrs = dict(attrs)
    if version < 2 and kind in KINDS and any(s.name == "reset" for s in KINDS[kind].settings):
        attrs.setdefault("reset", V1_RESET)
    return attrs
