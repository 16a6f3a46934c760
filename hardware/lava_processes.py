"""spikernn's own Lava Processes and their PyProcessModels, in Lava's style (``lava/proc/lif/process.py`` and
``models.py``): a Process declares the interface (ports, and the neurons' parameters and state as ``Var``s), and
explicit ``floating_pt`` / bit-accurate ``fixed_pt`` ProcessModel classes implement it.

Processes, one per neuron kind that lava-nc 0.10.0 lacks (as Loihi 2 microcode neurons would be):
:class:`LifNeuron` (LIF with reset "subtract"/"none", an adaptive threshold or a bias: Lava's LIF only resets
to zero and cannot stay idle when it has a bias), :class:`AdLifNeuron`, :class:`SpikingLstmNeuron`, :class:`SpikingGruNeuron`,
:class:`AdLifLstmNeuron`, :class:`AdLifGruNeuron` (the LSTM/GRU cell with the adLIF soma),
:class:`SigmaDeltaRnnNeuron`, :class:`SigmaDeltaLstmNeuron`, :class:`SigmaDeltaGruNeuron`,
:class:`ReadoutNeuron`; and :class:`Recorder`, a sink that records (steps, n) for a whole run in one shared
memory map read once by the host (``Var.get()`` copies element by element and is far too slow for records).
Graded input comes from Lava's own ``lava.proc.io.source.RingBuffer``.

Each Process's ``Var``s are its kind's parameters of the run's precision and its state fields, as the kind
file (:mod:`spikernn.hardware.kinds`) defines them; the ProcessModels declare the matching ``LavaPyType``s
(:func:`_declare_vars`) and step with the kind's reference step on a batch of one, so the fast simulator,
the reference and Lava agree by construction.

Timing: a neuron process handles ``samples`` inputs one after another, each in a window of ``period`` time
steps; in each window it is idle (zero state, sends zeros) until its ``start`` step (its depth in the network),
then runs ``active`` steps, then is idle again. It records what it sent, which neurons sent an event, and the
value the host reads into a memory map of shape (samples, active, ...), so a whole batch runs in one Lava run.

This module imports Lava (through :mod:`spikernn.hardware.lava_compat`); import it lazily.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from spikernn.hardware.lava_compat import ensure_lava

ensure_lava()

from lava.magma.core.decorator import implements, requires, tag  # noqa: E402
from lava.magma.core.model.py.model import PyLoihiProcessModel  # noqa: E402
from lava.magma.core.model.py.ports import PyInPort, PyOutPort  # noqa: E402
from lava.magma.core.model.py.type import LavaPyType  # noqa: E402
from lava.magma.core.process.ports.ports import InPort, OutPort  # noqa: E402
from lava.magma.core.process.process import AbstractProcess  # noqa: E402
from lava.magma.core.process.variable import Var  # noqa: E402
from lava.magma.core.resources import CPU  # noqa: E402
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol  # noqa: E402

from spikernn.hardware.kinds import KINDS  # noqa: E402
from spikernn.hardware.kinds.spec import NeuronKind  # noqa: E402

__all__ = [
    "NeuronProcess", "LifNeuron", "AdLifNeuron", "SpikingLstmNeuron", "SpikingGruNeuron", "AdLifLstmNeuron",
    "AdLifGruNeuron", "SigmaDeltaRnnNeuron",
    "SigmaDeltaLstmNeuron", "SigmaDeltaGruNeuron", "ReadoutNeuron", "Recorder", "PROCESS_FOR_KIND", "models_for",
    "record_dtype", "open_record", "create_record",
]


def record_dtype(precision: str):
    """dtype of recorded payloads/values: int64 (fixed) or float64 (float)."""
    return np.int64 if precision == "fixed" else np.float64


def open_record(path: str, samples: int, steps: int, size: int, precision: str, mode: str = "r"):
    """Memory maps of a neuron record: ``(out, value, mask)`` each (samples, steps, size)."""
    dt = record_dtype(precision)
    n = samples * steps * size
    item = np.dtype(dt).itemsize
    out = np.memmap(path, dtype=dt, mode=mode, offset=0, shape=(samples, steps, size))
    val = np.memmap(path, dtype=dt, mode=mode, offset=n * item, shape=(samples, steps, size))
    mask = np.memmap(path, dtype=np.bool_, mode=mode, offset=2 * n * item, shape=(samples, steps, size))
    return out, val, mask


def create_record(path: str, samples: int, steps: int, size: int, precision: str) -> None:
    """Create the (zeroed) file behind :func:`open_record`."""
    item = np.dtype(record_dtype(precision)).itemsize
    n = samples * steps * size
    with open(path, "wb") as f:
        f.truncate(2 * n * item + n)


def _state_widths(kind: NeuronKind, size: int) -> dict[str, int]:
    """Width of every state field of one neuron population (from the kind's zero state)."""
    prep = kind.prepare({}, {}, "float", size)
    return {f: int(np.shape(v)[-1]) for f, v in zip(kind.state_type._fields, kind.init_state(prep, 1))}


# --------------------------------------------------------------------------------------------------------
# Processes (interfaces)
# --------------------------------------------------------------------------------------------------------

class NeuronProcess(AbstractProcess):
    """A population of ``size`` neurons of a spikernn kind (:attr:`kind`), as a Loihi 2 microcode neuron.

    Ports: ``a_in`` (size x gates of the kind's "in" port), ``a_rec`` for kinds with a "rec" port, and ``s_out``
    (size): binary spikes, graded deltas or (readout) the value y. Vars: every parameter of the kind at
    ``precision`` (full arrays, defaults filled in) and every state field (zero).

    Args:
        size: number of neurons.
        params, attrs: as the :class:`~spikernn.hardware.network.Population` (checked against the kind).
        precision: "float" or "fixed" (must match the run config's tag: 'floating_pt' / 'fixed_pt').
        start: first active step in each window (the population's depth).
        active: number of active steps per window (the sequence length T).
        period: window length (T + the network's largest depth).
        samples: number of windows (inputs) in the run.
        record_path: file for the record (see :func:`open_record`), or None to record nothing.
        label: name used in error messages (the population name).
    """

    kind: ClassVar[NeuronKind]

    def __init__(self, *, size: int, params: dict, attrs: dict, precision: str, start: int, active: int,
                 period: int, samples: int = 1, record_path: str | None = None, label: str = "",
                 name: str | None = None, **kwargs) -> None:
        kind = self.kind
        if start < 0 or start + active > period:
            raise ValueError(f"{label or kind.name}: window start {start} + active {active} exceeds period {period}")
        values, settings = kind.resolve(params, attrs, precision, size, where=f"population {label or kind.name!r}")
        super().__init__(size=size, kind=kind.name, settings=settings, precision=precision, start=int(start),
                         active=int(active), period=int(period), samples=int(samples), record_path=record_path,
                         label=label or kind.name, name=name, **kwargs)
        self.a_in = InPort(shape=(kind.port("in").size(size),))
        if "rec" in kind.gates:
            self.a_rec = InPort(shape=(kind.port("rec").size(size),))
        self.s_out = OutPort(shape=(size,))
        for pname, value in values.items():  # the kind's parameters
            setattr(self, pname, Var(shape=value.shape, init=value))
        for field, width in _state_widths(kind, size).items():  # the kind's state
            setattr(self, field, Var(shape=(width,), init=0))


class LifNeuron(NeuronProcess):
    """The ``lif`` kind: LIF soma with reset "zero"/"subtract"/"none", adaptive threshold and bias."""

    kind = KINDS["lif"]


class AdLifNeuron(NeuronProcess):
    """The ``adlif`` kind: adaptive LIF with an adaptation current (Bittar & Garner 2022)."""

    kind = KINDS["adlif"]


class SpikingLstmNeuron(NeuronProcess):
    """The ``spiking_lstm`` kind: analog gates and cell state inside, binary spikes out (a_in: 4H)."""

    kind = KINDS["spiking_lstm"]


class SpikingGruNeuron(NeuronProcess):
    """The ``spiking_gru`` kind (a_in: 3H input part, a_rec: 3H recurrent part)."""

    kind = KINDS["spiking_gru"]


class AdLifLstmNeuron(NeuronProcess):
    """The ``adlif_lstm`` kind: the spiking LSTM cell with the adLIF soma (a_in: 4H)."""

    kind = KINDS["adlif_lstm"]


class AdLifGruNeuron(NeuronProcess):
    """The ``adlif_gru`` kind: the spiking GRU cell with the adLIF soma (a_in: 3H, a_rec: 3H)."""

    kind = KINDS["adlif_gru"]


class SigmaDeltaRnnNeuron(NeuronProcess):
    """The ``sd_rnn`` kind: sigma-delta RNN neuron, tanh (or relu) activation, graded deltas out."""

    kind = KINDS["sd_rnn"]


class SigmaDeltaLstmNeuron(NeuronProcess):
    """The ``sd_lstm`` kind: torch's LSTM cell on accumulated inputs, graded deltas out."""

    kind = KINDS["sd_lstm"]


class SigmaDeltaGruNeuron(NeuronProcess):
    """The ``sd_gru`` kind (a_in: 3H, a_rec: 3H), graded deltas out."""

    kind = KINDS["sd_gru"]


class ReadoutNeuron(NeuronProcess):
    """The ``readout`` kind: leaky integrator; s_out carries y (the host reads it; not counted as an event)."""

    kind = KINDS["readout"]


PROCESS_FOR_KIND: dict[str, type[NeuronProcess]] = {
    c.kind.name: c for c in (LifNeuron, AdLifNeuron, SpikingLstmNeuron, SpikingGruNeuron, AdLifLstmNeuron,
                             AdLifGruNeuron, SigmaDeltaRnnNeuron, SigmaDeltaLstmNeuron, SigmaDeltaGruNeuron,
                             ReadoutNeuron)
}


class Recorder(AbstractProcess):
    """Sink recording its input a_in (n,) at every step of ``steps`` into a memory map at ``record_path``
    (shape (steps, n), float64 or int64), read once by the host after the run."""

    def __init__(self, *, size: int, steps: int, precision: str, record_path: str, name: str | None = None) -> None:
        super().__init__(size=size, steps=steps, precision=precision, record_path=record_path, name=name)
        self.a_in = InPort(shape=(size,))


# --------------------------------------------------------------------------------------------------------
# ProcessModels
# --------------------------------------------------------------------------------------------------------

FLOAT_IN = LavaPyType(PyInPort.VEC_DENSE, float)
FLOAT_OUT = LavaPyType(PyOutPort.VEC_DENSE, float)
FIXED_IN = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)
FIXED_OUT = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24)


def _declare_vars(kind: NeuronKind, precision: str):
    """Class decorator: the ``LavaPyType`` of every Var of a :class:`NeuronProcess` of ``kind`` at
    ``precision`` (its parameters and state fields; float64, or int64 registers holding the hardware widths)."""
    dtype = np.int64 if precision == "fixed" else float

    def declare(cls):
        for p in kind.params_for(precision):
            setattr(cls, p.name, LavaPyType(np.ndarray, dtype))
        for field in kind.state_type._fields:
            setattr(cls, field, LavaPyType(np.ndarray, dtype))
        cls.kind_name, cls.precision = kind.name, precision
        return cls

    return declare


class NeuronModel(PyLoihiProcessModel):
    """What every neuron model shares: windowing, zero state at the start of a window, the kind's reference
    step (batch of one) on the Vars, send, record. Subclasses declare their ports and Vars."""

    kind_name: ClassVar[str] = ""
    precision: ClassVar[str] = ""

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        pp = self.proc_params
        self._kind = KINDS[pp["kind"]]
        self._settings = pp["settings"]
        self._size = pp["size"]
        self._start, self._active, self._period = pp["start"], pp["active"], pp["period"]
        self._samples, self._label = pp["samples"], pp["label"]
        self._dt = record_dtype(self.precision)
        self._has_rec = "rec" in self._kind.gates
        self._zero = np.zeros(self._size, self._dt)
        self._prep = None
        self._rec = None
        self._rec_path = pp["record_path"]

    def _records(self):
        if self._rec is None and self._rec_path:
            self._rec = open_record(self._rec_path, self._samples, self._active, self._size, self.precision, mode="r+")
        return self._rec

    def _prepared(self):
        if self._prep is None:  # the parameter Vars, as the kind's typed constants
            values = {p.name: getattr(self, p.name) for p in self._kind.params_for(self.precision)}
            self._prep = self._kind._prepare(values, self._settings, self.precision, self._size)
        return self._prep

    def run_spk(self) -> None:
        t = self.time_step - 1
        a_in = self.a_in.recv()
        a_rec = self.a_rec.recv() if self._has_rec else None
        local = t % self._period
        sample = t // self._period
        k = local - self._start
        if sample >= self._samples or not (0 <= k < self._active):
            self.s_out.send(self._zero)
            return
        fields = self._kind.state_type._fields
        try:
            if k == 0:  # a new input: zero state
                for f in fields:
                    getattr(self, f)[:] = 0
            prep = self._prepared()
            state = self._kind.state_type(*(getattr(self, f)[None] for f in fields))
            ins = {"in": np.asarray(a_in, dtype=self._dt)[None]}
            if self._has_rec:
                ins["rec"] = np.asarray(a_rec, dtype=self._dt)[None]
            state, out, mask = self._kind.step(state, ins, prep)
            for f, v in zip(fields, state):
                getattr(self, f)[:] = v[0]
            rec = self._records()
            if rec is not None:
                rec[0][sample, k] = out[0]
                rec[1][sample, k] = self._kind.read_value(state, out)[0]
                rec[2][sample, k] = mask[0]
        except Exception as e:  # name what failed: the runtime only reports "1 Exception(s) occurred"
            raise RuntimeError(f"spikernn Lava process {self._label!r} ({self._kind.name}, {self.precision}) failed "
                               f"at time step {self.time_step}: {type(e).__name__}: {e}") from e
        self.s_out.send(np.asarray(out[0], dtype=self._dt))


class FloatNeuronModel(NeuronModel):
    """A floating-point neuron model: float64 ports (a GRU kind's model adds ``a_rec``)."""

    a_in: PyInPort = FLOAT_IN
    s_out: PyOutPort = FLOAT_OUT


class FixedNeuronModel(NeuronModel):
    """A bit-accurate neuron model: 24-bit integer ports (a GRU kind's model adds ``a_rec``)."""

    a_in: PyInPort = FIXED_IN
    s_out: PyOutPort = FIXED_OUT


MODEL_VARIANTS = {  # precision -> (model base class, Lava tags, the port type of a_rec)
    "float": (FloatNeuronModel, ("floating_pt",), FLOAT_IN),
    "fixed": (FixedNeuronModel, ("fixed_pt", "bit_accurate_loihi"), FIXED_IN),
}


def _neuron_model(proc: type[NeuronProcess], precision: str) -> type[NeuronModel]:
    """The ProcessModel of ``proc`` at ``precision``: its kind's float or bit-accurate fixed-point reference
    step (:class:`NeuronModel`), with the kind's Vars and, for kinds with a "rec" port, ``a_rec``. The class
    is named ``Py<Process>Model<Float|Fixed>`` and bound in this module, as Lava's own models are."""
    base, tags, rec_port = MODEL_VARIANTS[precision]
    name = f"Py{proc.__name__}Model{precision.title()}"
    what = "Floating-point" if precision == "float" else "Bit-accurate"
    body = {"__module__": __name__, "__qualname__": name,
            "__doc__": f"{what} model of :class:`{proc.__name__}` (the ``{proc.kind.name}`` kind's {precision} "
                       "reference step)."}
    if "rec" in proc.kind.gates:
        body["a_rec"] = rec_port
    cls = type(name, (base,), body)
    cls = implements(proc=proc, protocol=LoihiProtocol)(requires(CPU)(tag(*tags)(
        _declare_vars(proc.kind, precision)(cls))))
    globals()[name] = cls
    return cls


class _RecorderModelBase(PyLoihiProcessModel):
    a_in = None

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        self._rec = None

    def run_spk(self) -> None:
        data = self.a_in.recv()
        pp = self.proc_params
        t = self.time_step - 1
        if self._rec is None:
            self._rec = np.memmap(pp["record_path"], dtype=record_dtype(pp["precision"]), mode="r+",
                                  shape=(pp["steps"], pp["size"]))
        if t < pp["steps"]:
            self._rec[t] = data


@implements(proc=Recorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyRecorderModelFloat(_RecorderModelBase):
    """Float recorder model."""

    a_in: PyInPort = FLOAT_IN


@implements(proc=Recorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyRecorderModelFixed(_RecorderModelBase):
    """Fixed-point recorder model."""

    a_in: PyInPort = FIXED_IN


MODELS: dict[tuple[type, str], type] = {
    (proc, precision): _neuron_model(proc, precision) for proc in PROCESS_FOR_KIND.values() for precision in MODEL_VARIANTS
}
MODELS[(Recorder, "float")] = PyRecorderModelFloat
MODELS[(Recorder, "fixed")] = PyRecorderModelFixed


def models_for(precision: str) -> dict[type, type]:
    """Process class -> ProcessModel class for ``precision`` ("float"/"fixed"), for the project's own
    Processes and the Lava built-ins the runner uses (so the compiler needs no directory scan)."""
    from lava.proc.dense.models import PyDenseModelBitAcc, PyDenseModelFloat
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import PySendModelFixed, PySendModelFloat, RingBuffer
    from lava.proc.lif.models import PyLifModelBitAcc, PyLifModelFloat
    from lava.proc.lif.process import LIF
    from lava.proc.sdn.models import PySigmaDeltaModelFixed, PySigmaDeltaModelFloat
    from lava.proc.sdn.process import SigmaDelta

    fixed = precision == "fixed"
    m = {cls: mdl for (cls, prec), mdl in MODELS.items() if prec == precision}
    m[Dense] = PyDenseModelBitAcc if fixed else PyDenseModelFloat
    m[RingBuffer] = PySendModelFixed if fixed else PySendModelFloat
    m[LIF] = PyLifModelBitAcc if fixed else PyLifModelFloat
    m[SigmaDelta] = PySigmaDeltaModelFixed if fixed else PySigmaDeltaModelFloat
    return m
