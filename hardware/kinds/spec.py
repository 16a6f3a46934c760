"""The typed description every neuron kind gives of itself (:class:`NeuronKind`), and its parts.

A kind (one file per kind in this package, all in :data:`spikernn.hardware.kinds.KINDS`) states:

* its **ports** (:class:`Port`: name, gates per neuron, the bias parameter that goes with the port);
* its **parameters** per precision (:class:`Param`: name, default, unit, gates, allowed range, integer or not)
  and **settings** (:class:`Setting`: JSON values such as the reset mode, with one default and the choices);
* its **state** (a NamedTuple type, zero at the start of every sequence);
* what it **sends** (:data:`Sends`: binary spikes, graded values, or a value only the host reads) and so its
  message width (:data:`GRADED_MESSAGE_BITS` for graded payloads, 1 for spikes);
* its **reference step** in float and fixed point (:meth:`NeuronKind.step`: batched numpy, pure: the state is
  never modified in place), with the constants it needs computed once by :meth:`NeuronKind.prepare` into a
  frozen dataclass;
* its **quantisation rules** (:meth:`NeuronKind.quantize_params`, :meth:`NeuronKind.dequantize_params`,
  :meth:`NeuronKind.frac_bits_limits`) and what it sends in fixed point (:meth:`NeuronKind.out_frac_bits`);
* what the energy model and the placement count per neuron (:attr:`NeuronKind.compartments`: one
  dendritic accumulator per gate of every port; :attr:`NeuronKind.updates_per_step`: neuron updates per neuron
  and step, each costed as one Loihi compartment update by :mod:`spikernn.energy.loihi`).

A :class:`~spikernn.hardware.network.Population` keeps its parameters and settings as plain dicts (what the
network file stores); :meth:`NeuronKind.prepare` checks them against this description (unknown names, shapes,
ranges, NaN, choices) and returns the typed, default-filled constants every consumer uses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np

Precision = Literal["float", "fixed"]
PRECISIONS: tuple[str, ...] = ("float", "fixed")
Sends = Literal["spikes", "graded", "host"]
GRADED_MESSAGE_BITS = 24  # payload bits of a graded spike (Loihi 2 allows up to 32); binary spikes carry 1
StepResult = tuple[Any, np.ndarray, np.ndarray]  # (new state, payload sent (B, n), event mask (B, n) bool)


def check_precision(precision: str) -> None:
    """ValueError unless ``precision`` is "float" or "fixed"."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be 'float' or 'fixed', got {precision!r}")


@dataclass(frozen=True)
class Port:
    """A synaptic input port: ``gates`` inputs per neuron (LSTM 4: i, f, g, o), and the bias parameter added
    to it (None when the port has none)."""

    name: str
    gates: int = 1
    bias: str | None = None
    doc: str = ""

    def size(self, neurons: int) -> int:
        """Number of synaptic inputs of this port for ``neurons`` neurons."""
        return neurons * self.gates


@dataclass(frozen=True)
class Param:
    """A per-neuron parameter: an array of ``size * gates`` values in ``Population.params`` (a scalar is
    broadcast; a missing one takes ``default``). ``low``/``high`` bound the allowed values (inclusive),
    ``integer`` asks for whole numbers (fixed-point registers)."""

    name: str
    default: float
    unit: str
    doc: str
    gates: int = 1
    low: float = -math.inf
    high: float = math.inf
    integer: bool = False

    def length(self, size: int) -> int:
        return size * self.gates

    def resolve(self, value: Any, size: int, where: str) -> np.ndarray:
        """The parameter as a full array (int64 for integer parameters, float64 otherwise); ValueError naming
        ``where`` and the parameter for a wrong shape, NaN, a non-integer or an out-of-range value."""
        n = self.length(size)
        dtype = np.int64 if self.integer else np.float64
        if value is None:
            return np.full(n, self.default, dtype=dtype)
        arr = np.asarray(value)
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
            raise ValueError(f"{where}: param {self.name!r} has shape {arr.shape}; expected a scalar or shape ({n},)")
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{where}: param {self.name!r} must be numeric, got dtype {arr.dtype}")
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            raise ValueError(f"{where}: param {self.name!r} contains NaN")
        if self.integer and arr.dtype.kind == "f" and not np.all(arr == np.round(arr)):
            raise ValueError(f"{where}: param {self.name!r} ({self.unit}) must hold integers")
        if arr.size and (arr.min() < self.low or arr.max() > self.high):
            raise ValueError(f"{where}: param {self.name!r} must lie in [{self.low:g}, {self.high:g}] ({self.unit}); "
                             f"got values in [{arr.min():g}, {arr.max():g}]")
        if arr.ndim == 0:
            return np.full(n, arr.item(), dtype=dtype)
        return arr.astype(dtype)


@dataclass(frozen=True)
class Setting:
    """A setting of a whole population (JSON, in ``Population.attrs``): one ``default``, and ``choices`` when
    only some values are allowed. ``fixed_only`` settings are written by the quantiser (fractional bits)."""

    name: str
    default: Any
    doc: str
    choices: tuple = ()
    fixed_only: bool = False
    low: float | None = None  # numeric settings: a finite number >= low

    def resolve(self, attrs: dict, where: str) -> Any:
        value = attrs.get(self.name, self.default)
        if self.choices and value not in self.choices:
            raise ValueError(f"{where}: {self.name} must be one of {list(self.choices)}, got {value!r}")
        if self.low is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
                    or not math.isfinite(float(value)) or value < self.low:
                raise ValueError(f"{where}: {self.name} must be a finite number >= {self.low:g}, got {value!r}")
        return value


class Prepared:
    """Base of the constants a kind prepares once (frozen dataclasses in the kind files, each with a
    ``fixed: bool`` field saying which precision they are for)."""

    fixed: bool


@dataclass(frozen=True)
class NeuronKind:
    """One neuron kind: the single definition every consumer reads (see the module docstring).

    Subclasses (one per kind file) implement :meth:`_prepare`, :meth:`init_state`, :meth:`step` and the
    quantisation hooks; the rest is derived from the fields.
    """

    name: str
    summary: str
    ports: tuple[Port, ...]
    float_params: tuple[Param, ...]
    fixed_params: tuple[Param, ...]
    settings: tuple[Setting, ...]
    state_type: type
    sends: str  # one of Sends
    updates_per_step: int = 1  # neuron updates per neuron and time step counted by the energy model

    # -- derived facts --------------------------------------------------------------------------------
    @property
    def port_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.ports)

    def port(self, name: str) -> Port:
        for p in self.ports:
            if p.name == name:
                return p
        raise ValueError(f"neuron kind {self.name!r} has no input port {name!r}; ports: {list(self.port_names)}")

    @property
    def gates(self) -> dict[str, int]:
        """Port name -> inputs per neuron."""
        return {p.name: p.gates for p in self.ports}

    @property
    def compartments(self) -> int:
        """Neuron slots one neuron takes on a core: one dendritic accumulator per gate of every port (the
        state of gated neurons lives in their microcode state); the host-fed input takes none."""
        return sum(p.gates for p in self.ports)

    @property
    def spiking(self) -> bool:
        """Whether the kind sends binary spikes."""
        return self.sends == "spikes"

    @property
    def graded(self) -> bool:
        """Whether the kind sends graded (valued) events that count as events."""
        return self.sends == "graded"

    @property
    def message_bits(self) -> int:
        """Payload bits of one message: 1 for a binary spike, :data:`GRADED_MESSAGE_BITS` otherwise."""
        return 1 if self.spiking else GRADED_MESSAGE_BITS

    def params_for(self, precision: str) -> tuple[Param, ...]:
        check_precision(precision)
        return self.fixed_params if precision == "fixed" else self.float_params

    def param_spec(self, name: str, precision: str) -> Param | None:
        return next((p for p in self.params_for(precision) if p.name == name), None)

    def setting(self, name: str) -> Setting:
        return next(s for s in self.settings if s.name == name)

    # -- checking and preparing -----------------------------------------------------------------------
    def resolve(self, params: dict, attrs: dict, precision: str, size: int, where: str = "") -> tuple[dict, dict]:
        """``(params, settings)``: every parameter of ``precision`` as a full array and every setting, defaults
        filled in; ValueError naming ``where`` for unknown names and bad values."""
        where = where or f"a {self.name} population"
        specs = self.params_for(precision)
        known = {p.name for p in specs}
        extra = sorted(set(params) - known)
        if extra:
            raise ValueError(f"{where}: unknown {precision}-precision param(s) {extra} for kind {self.name!r}; "
                             f"known: {sorted(known)}")
        known_s = {s.name for s in self.settings}
        extra = sorted(set(attrs) - known_s)
        if extra:
            raise ValueError(f"{where}: unknown setting(s) {extra} for kind {self.name!r}; known: {sorted(known_s)}")
        values = {p.name: p.resolve(params.get(p.name), size, where) for p in specs}
        settings = {s.name: s.resolve(attrs, where) for s in self.settings}
        return values, settings

    def prepare(self, params: dict, attrs: dict, precision: str, size: int, where: str = "") -> Prepared:
        """The typed constants of one population for :meth:`step` (computed once; validates as
        :meth:`resolve`)."""
        values, settings = self.resolve(params, attrs, precision, size, where)
        return self._prepare(values, settings, precision, size)

    def _prepare(self, values: dict, settings: dict, precision: str, size: int) -> Prepared:
        raise NotImplementedError

    # -- the reference ----------------------------------------------------------------------------------
    def init_state(self, prep: Prepared, batch: int) -> NamedTuple:
        """Zero state for ``batch`` inputs (every field (B, width), int64 in fixed point, float64 in float)."""
        raise NotImplementedError

    def step(self, state: Any, inputs: dict[str, np.ndarray], prep: Prepared) -> StepResult:
        """One time step: ``inputs`` maps each port to its synaptic input (B, port width) (the ``input`` kind
        takes the host's value under "x"). Returns ``(new_state, out, mask)``: the payload sent (B, n) and
        which neurons sent an event (bool). Never modifies ``state`` in place."""
        raise NotImplementedError

    def read_value(self, state: Any, out: np.ndarray) -> np.ndarray:
        """What the host reads from the population at this step (its network output): spikes by default."""
        return out

    def delta_coded(self, attrs: dict) -> bool:
        """Whether the population's messages are changes (sigma-delta coding) rather than values."""
        return False

    def sigma_input(self, attrs: dict) -> bool:
        """Whether the population accumulates its inputs (its sources send changes)."""
        return False

    def out_frac_bits(self, attrs: dict) -> int:
        """Fractional bits of what a fixed-point population sends / the host reads (0 for binary spikes)."""
        return 0

    # -- quantisation (float parameters -> fixed; see spikernn.hardware.fixed_point) ------------------
    def output_bound(self, attrs: dict) -> float | None:
        """The largest |value| a graded population sends, when the kind bounds it (tanh, sigmoid gates);
        None when only data can tell (relu). Unused for binary spikes (bound 1)."""
        return 1.0

    def frac_bits_limits(self, params: dict, drive_bound: float) -> list[int]:
        """Upper limits of the input fractional bits F given the float params and the worst-case drive |D|."""
        return [floor_log2(MAX24_FLOAT / (2.0 * drive_bound))]

    def quantize_params(self, params: dict, size: int, F: int, info: dict) -> dict:
        """Fixed-point params from float ``params`` (full arrays) at input fractional bits ``F``; records the
        errors it introduced in ``info``."""
        return quantize_biases(self, params, F, info)

    def dequantize_params(self, params: dict, size: int, F: int) -> dict:
        """Float params with exactly the effective values of fixed ``params`` (full arrays)."""
        return dequantize_biases(self, params, F)

    # -- documentation ----------------------------------------------------------------------------------
    def describe(self) -> str:
        """One line per port, parameter and setting (the docs table)."""
        lines = [f"{self.name}: {self.summary} (sends {self.sends}, {self.message_bits}-bit messages, "
                 f"{self.compartments} compartment(s))"]
        lines += [f"  port {p.name}: {p.gates} per neuron{', bias ' + p.bias if p.bias else ''}" for p in self.ports]
        for prec in PRECISIONS:
            for p in self.params_for(prec):
                rng = "" if (p.low == -math.inf and p.high == math.inf) else f" in [{p.low:g}, {p.high:g}]"
                lines.append(f"  {prec} param {p.name} (x{p.gates}, default {p.default:g}, {p.unit}{rng}): {p.doc}")
        lines += [f"  setting {s.name} = {s.default!r}{' of ' + str(list(s.choices)) if s.choices else ''}: {s.doc}"
                  for s in self.settings]
        return "\n".join(lines)


MAX24_FLOAT = float((1 << 23) - 1)
F_MAX = 16  # the largest input fractional bits any population gets


def floor_log2(x: float) -> int:
    """floor(log2(x)) for x > 0, else :data:`F_MAX` (no limit)."""
    return int(math.floor(math.log2(x))) if x > 0 else F_MAX


def quantize_biases(kind: NeuronKind, params: dict, F: int, info: dict) -> dict:
    """The ports' bias params in units of 2**-F (24-bit); the generic part of :meth:`quantize_params`."""
    from spikernn.hardware.fixed_point import quantize_value

    out = {}
    for port in kind.ports:
        if port.bias and port.bias in params:
            q, e = quantize_value(params[port.bias], F)
            out[port.bias] = q
            info[f"{port.bias}_max_abs_error"] = float(np.abs(e).max(initial=0.0))
    return out


def dequantize_biases(kind: NeuronKind, params: dict, F: int) -> dict:
    """Inverse of :func:`quantize_biases`."""
    return {port.bias: params[port.bias] * 2.0 ** -F for port in kind.ports if port.bias and port.bias in params}


IN_FRAC_BITS = Setting("in_frac_bits", 12, "fixed point: fractional bits F of the synaptic input and biases "
                       "(1.0 == 2**F), chosen by the quantiser", fixed_only=True, low=0)
DELTA_THRESHOLD = Setting("delta_threshold", 0, "sigma-delta: send a change only where |change| > this (output "
                          "units; an integer in fixed point)", low=0)


def uniform(values: np.ndarray) -> bool:
    """Whether every element of ``values`` is the same (an empty array counts as uniform)."""
    v = np.asarray(values)
    return v.ndim == 0 or v.size == 0 or bool(np.all(v == v.flat[0]))
