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

Neuron kinds and their ``params`` (float precision; every array has shape (size,) unless said otherwise,
gate order as torch: LSTM i,f,g,o; GRU r,z,n) — the equations are in docs/equations.md:

==============  ========  =====================================================================
kind            ports     params / attrs
==============  ========  =====================================================================
input           -         attrs: encoding "value" (send x_t) or "delta" (send x_t - last sent when
                          |change| > attrs["delta_threshold"]); the host feeds x here
lif             in        bias, decay, threshold, adapt_decay, adapt_scale; attrs: reset
spiking_lstm    in (4H)   bias (4H), decay, threshold, adapt_decay, adapt_scale; attrs: reset
spiking_gru     in, rec   bias_in (3H), bias_rec (3H) + soma params as lif; attrs: reset
                (3H each)
sd_rnn          in        bias, attrs: activation "tanh"|"relu", delta_threshold (float)
sd_lstm         in (4H)   bias (4H); attrs: delta_threshold
sd_gru          in, rec   bias_in (3H), bias_rec (3H); attrs: delta_threshold
readout         in        bias, decay (leaky integrator y = decay*y + in + bias; decay 0 = linear)
==============  ========  =====================================================================

``sd_*`` neurons and a ``readout`` with ``attrs["input_coding"] == "delta"`` accumulate their inputs
(sigma) because their sources send changes (delta); all others take each step's input as it comes.
The size of a port is ``size`` times the number of gates (4 for LSTM, 3 for GRU, 1 otherwise).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

NEURON_KINDS: dict[str, dict[str, int]] = {
    # kind -> {port name: gates per neuron}
    "input": {},
    "lif": {"in": 1},
    "spiking_lstm": {"in": 4},
    "spiking_gru": {"in": 3, "rec": 3},
    "sd_rnn": {"in": 1},
    "sd_lstm": {"in": 4},
    "sd_gru": {"in": 3, "rec": 3},
    "readout": {"in": 1},
}
GRADED_KINDS = frozenset({"input", "sd_rnn", "sd_lstm", "sd_gru"})  # send graded (valued) events
PRECISIONS = ("float", "fixed")
FORMAT_VERSION = 1
_GATED_PARAMS = {("spiking_lstm", "bias"): 4, ("sd_lstm", "bias"): 4, ("spiking_gru", "bias_in"): 3,
                 ("spiking_gru", "bias_rec"): 3, ("sd_gru", "bias_in"): 3, ("sd_gru", "bias_rec"): 3}


def param_length(kind: str, key: str, size: int) -> int:
    """Length of a per-neuron param array: ``size`` times the gates for gate biases (LSTM ``bias`` 4H, GRU
    ``bias_in``/``bias_rec`` 3H), ``size`` otherwise (see the table in the module docstring)."""
    return size * _GATED_PARAMS.get((kind, key), 1)


@dataclass
class Population:
    """A group of ``size`` neurons of one ``kind``.

    Attributes:
        name: unique name within the network.
        kind: one of :data:`NEURON_KINDS`.
        size: number of neurons.
        params: name -> array of neuron parameters (see the module docstring).
        attrs: JSON-able settings (reset mode, activation, delta threshold, input coding, ...).
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

    def port_size(self, port: str) -> int:
        """Number of synaptic inputs of ``port`` (size x gates)."""
        ports = NEURON_KINDS[self.kind]
        if port not in ports:
            raise ValueError(f"population {self.name!r} ({self.kind}) has no input port {port!r}; ports: {sorted(ports)}")
        return self.size * ports[port]

    @property
    def graded(self) -> bool:
        """Whether this population sends graded (valued) events rather than binary spikes."""
        return self.kind in GRADED_KINDS


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
        for p in self.populations:
            if p.name == name:
                return p
        raise KeyError(f"no population named {name!r}; have {[p.name for p in self.populations]}")

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
    def validate(self) -> None:
        """Raise ValueError naming the first inconsistency (kind, port, shape, precision, names)."""
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        names = [p.name for p in self.populations]
        if len(set(names)) != len(names):
            raise ValueError(f"population names must be unique: {names}")
        for p in self.populations:
            if p.kind not in NEURON_KINDS:
                raise ValueError(f"population {p.name!r}: unknown neuron kind {p.kind!r}; known: {sorted(NEURON_KINDS)}")
            if p.size <= 0:
                raise ValueError(f"population {p.name!r}: size must be positive, got {p.size}")
            for key, value in p.params.items():
                arr = np.asarray(value)
                n = param_length(p.kind, key, p.size)
                if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
                    raise ValueError(f"population {p.name!r} ({p.kind}, size {p.size}): param {key!r} has shape "
                                     f"{arr.shape}; expected a scalar or shape ({n},)")
                if arr.dtype.kind in "fc" and np.isnan(arr).any():
                    raise ValueError(f"population {p.name!r}: param {key!r} contains NaN")
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
                tensors[f"pop/{p.name}/{k}"] = np.ascontiguousarray(np.asarray(v))
            pops.append({"name": p.name, "kind": p.kind, "size": p.size, "params": sorted(p.params),
                         "attrs": p.attrs, "stage": p.stage, "reverse": p.reverse})
        syns = []
        for s in self.synapses:
            tensors[f"syn/{s.name}/weights"] = np.ascontiguousarray(np.asarray(s.weights))
            syns.append({"name": s.name, "source": s.source, "target": s.target, "port": s.port,
                         "weight_exp": int(s.weight_exp)})
        header = {"format": "spikernn.hardware.Network", "version": FORMAT_VERSION, "populations": pops,
                  "synapses": syns, "input": self.input, "outputs": self.outputs,
                  "precision": self.precision, "meta": self.meta}
        save_file(tensors, str(path), metadata={"spikernn_network": json.dumps(header)})
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Network":
        """Read a network written by :meth:`save` (no pickle involved).

        Raises FileNotFoundError when ``path`` does not exist, ValueError when it is not a network file."""
        from safetensors import SafetensorError, safe_open

        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no network file at {path}")
        try:
            opened = safe_open(str(path), framework="numpy")
        except SafetensorError as exc:
            raise ValueError(f"{path}: not a safetensors file ({exc}); not a spikernn hardware network") from None
        with opened as f:
            meta = f.metadata() or {}
            if "spikernn_network" not in meta:
                raise ValueError(f"{path} is not a spikernn hardware network (no 'spikernn_network' metadata)")
            header = json.loads(meta["spikernn_network"])
            if header.get("version", 0) > FORMAT_VERSION:
                raise ValueError(f"{path}: network format version {header['version']} is newer than this spikernn reads")
            pops = [Population(name=p["name"], kind=p["kind"], size=int(p["size"]),
                               params={k: f.get_tensor(f"pop/{p['name']}/{k}") for k in p["params"]},
                               attrs=p["attrs"], stage=int(p["stage"]), reverse=bool(p["reverse"]))
                    for p in header["populations"]]
            syns = [SynapseBlock(name=s["name"], source=s["source"], target=s["target"], port=s["port"],
                                 weights=f.get_tensor(f"syn/{s['name']}/weights"), weight_exp=int(s["weight_exp"]))
                    for s in header["synapses"]]
        return cls(populations=pops, synapses=syns, input=header["input"], outputs=list(header["outputs"]),
                   precision=header["precision"], meta=header.get("meta", {}))

    # -- running --------------------------------------------------------------------------------------
    def simulate(self, x: Any, backend: str = "fast", lengths: Any = None, **options: Any):
        """Run the network on input ``x`` and return ``(output, ActivityStats)``.

        Args:
            x: torch tensor or numpy array shaped like the source model's input: (T, B, I), (B, T, I) when
                ``meta["batch_first"]``, or unbatched (T, I). Float values; fixed-point networks quantise
                the input themselves.
            backend: "fast" (batched array simulator) or "lava" (real Lava processes, Loihi2SimCfg).
            lengths: optional (B,) valid lengths per sequence (time steps); needed for
                ``meta["output"] == "last_step"`` outputs of padded batches, and the activity statistics
                count only the valid steps (padding is not work an inference would do).
            options: passed to the backend.

        Returns:
            The output as a torch tensor shaped like the source model's output (float32 unless x was
            float64) and the run's activity statistics.
        """
        from spikernn.hardware.io import format_output, prepare_input

        x_tbi, layout = prepare_input(self, x, lengths)
        if backend == "fast":
            from spikernn.hardware.fast import simulate_fast

            y_tbo, stats = simulate_fast(self, x_tbi, lengths=layout.lengths, **options)
        elif backend == "lava":
            from spikernn.hardware.lava_runner import simulate_lava

            y_tbo, stats = simulate_lava(self, x_tbi, lengths=layout.lengths, **options)
        else:
            raise ValueError(f"unknown backend {backend!r}; use 'fast' or 'lava'")
        return format_output(self, y_tbo, layout), stats

    def run(self, x: Any, backend: str = "fast", lengths: Any = None, **options: Any):
        """Like :meth:`simulate` but returns only the output."""
        return self.simulate(x, backend=backend, lengths=lengths, **options)[0]
