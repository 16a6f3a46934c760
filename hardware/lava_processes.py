"""spikernn's own Lava Processes (interfaces) and their PyProcessModels ('floating_pt' and bit-accurate
'fixed_pt'), for what lava-nc 0.10.0 lacks:

* neuron kinds with no Lava counterpart, as Loihi 2 microcode neurons would be: :class:`SpikingLSTM`,
  :class:`SpikingGRU`, :class:`SigmaDeltaRNN` (tanh, or relu with a bias), :class:`SigmaDeltaLSTM`,
  :class:`SigmaDeltaGRU`, :class:`Readout`, and :class:`SomaLIF` (LIF with reset "subtract"/"none", an
  adaptive threshold or a bias: Lava's LIF only resets to zero and cannot stay idle when it has a bias);
* :class:`Recorder`: a sink that records (steps, n) for a whole run in one shared memory map, read once
  by the host (``Var.get()`` copies element by element and is far too slow for records);
* graded input comes from Lava's own ``lava.proc.io.source.RingBuffer``, which sends the values it holds
  (float64 in 'floating_pt', int32 in 'fixed_pt'), i.e. graded spikes when the Dense after it has
  ``num_message_bits > 0``.

Every neuron model calls the batched step functions of :mod:`spikernn.hardware.neurons` with a batch of one,
so the fast simulator and Lava agree by construction. Timing: a neuron process handles ``samples`` inputs one
after another, each in a window of ``period`` time steps; in each window it is idle (zero state, sends
zeros) until its ``start`` step (its depth in the network), then runs ``active`` steps, then is idle again.
It records what it sent, which neurons sent an event, and the value the host reads
(:func:`spikernn.hardware.neurons.read_value`) into a memory map of shape (samples, active, ...), so a
whole batch can run in one Lava run.

This module imports Lava (through :mod:`spikernn.hardware.lava_compat`); import it lazily.
"""
from __future__ import annotations

import numpy as np

from spikernn.hardware.lava_compat import ensure_lava

ensure_lava()

from lava.magma.core.decorator import implements, requires, tag  # noqa: E402
from lava.magma.core.model.py.model import PyLoihiProcessModel  # noqa: E402
from lava.magma.core.model.py.ports import PyInPort, PyOutPort  # noqa: E402
from lava.magma.core.model.py.type import LavaPyType  # noqa: E402
from lava.magma.core.process.ports.ports import InPort, OutPort  # noqa: E402
from lava.magma.core.process.process import AbstractProcess  # noqa: E402
from lava.magma.core.resources import CPU  # noqa: E402
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol  # noqa: E402

from spikernn.hardware import neurons as N  # noqa: E402
from spikernn.hardware.network import NEURON_KINDS  # noqa: E402

__all__ = [
    "NeuronProcess", "SomaLIF", "SpikingLSTM", "SpikingGRU", "SigmaDeltaRNN", "SigmaDeltaLSTM",
    "SigmaDeltaGRU", "Readout", "Recorder", "PROCESS_FOR_KIND", "models_for", "record_dtype",
    "open_record",
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


# --------------------------------------------------------------------------------------------------------
# Processes (interfaces)
# --------------------------------------------------------------------------------------------------------

class NeuronProcess(AbstractProcess):
    """A population of ``size`` neurons of a spikernn kind (docs/equations.md), as a Loihi 2 microcode neuron.

    Ports: ``a_in`` (size x gates of the kind's "in" port), ``a_rec`` for the GRU kinds ("rec" port), and
    ``s_out`` (size): binary spikes, graded deltas or (readout) the value y.

    Args:
        size: number of neurons.
        params, attrs: as the :class:`~spikernn.hardware.network.Population` (float or fixed precision).
        precision: "float" or "fixed" (must match the run config's tag: 'floating_pt' / 'fixed_pt').
        start: first active step in each window (the population's depth).
        active: number of active steps per window (the sequence length T).
        period: window length (T + the network's largest depth).
        samples: number of windows (inputs) in the run.
        record_path: file for the record (see :func:`open_record`), or None to record nothing.
        label: name used in error messages (the population name).
    """

    kind: str = ""

    def __init__(self, *, size: int, params: dict, attrs: dict, precision: str, start: int, active: int,
                 period: int, samples: int = 1, record_path: str | None = None, label: str = "",
                 name: str | None = None, **kwargs) -> None:
        if start < 0 or start + active > period:
            raise ValueError(f"{label or self.kind}: window start {start} + active {active} exceeds period {period}")
        prepared = N.prepare_params(self.kind, params, attrs, precision, size=size)
        super().__init__(size=size, kind=self.kind, params=prepared, attrs=dict(attrs), precision=precision,
                         start=int(start), active=int(active), period=int(period), samples=int(samples),
                         record_path=record_path, label=label or self.kind, name=name, **kwargs)
        ports = NEURON_KINDS[self.kind]
        self.a_in = InPort(shape=(size * ports["in"],))
        if "rec" in ports:
            self.a_rec = InPort(shape=(size * ports["rec"],))
        self.s_out = OutPort(shape=(size,))


class SomaLIF(NeuronProcess):
    """Recurrent LIF soma with reset "zero"/"subtract"/"none", adaptive threshold and bias (lif kind)."""

    kind = "lif"


class SpikingLSTM(NeuronProcess):
    """Spiking LSTM neuron: analog gates and cell state inside, binary spikes out (a_in: 4H)."""

    kind = "spiking_lstm"


class SpikingGRU(NeuronProcess):
    """Spiking GRU neuron (a_in: 3H input part, a_rec: 3H recurrent part)."""

    kind = "spiking_gru"


class SigmaDeltaRNN(NeuronProcess):
    """Sigma-delta RNN neuron, tanh (or relu) activation, graded deltas out."""

    kind = "sd_rnn"


class SigmaDeltaLSTM(NeuronProcess):
    """Sigma-delta LSTM neuron (torch LSTM cell on accumulated inputs), graded deltas out."""

    kind = "sd_lstm"


class SigmaDeltaGRU(NeuronProcess):
    """Sigma-delta GRU neuron (a_in: 3H, a_rec: 3H), graded deltas out."""

    kind = "sd_gru"


class Readout(NeuronProcess):
    """Leaky-integrator readout; s_out carries y (the host reads it; it is not counted as an event)."""

    kind = "readout"


PROCESS_FOR_KIND: dict[str, type[NeuronProcess]] = {
    c.kind: c for c in (SomaLIF, SpikingLSTM, SpikingGRU, SigmaDeltaRNN, SigmaDeltaLSTM, SigmaDeltaGRU, Readout)
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

class _NeuronModelBase(PyLoihiProcessModel):
    """Shared run_spk: windowing, reset, step function (batch of one), send, record."""

    a_in = None
    s_out = None

    def __init__(self, proc_params) -> None:
        super().__init__(proc_params)
        pp = self.proc_params
        self._kind = pp["kind"]
        self._size = pp["size"]
        self._params = pp["params"]
        self._attrs = pp["attrs"]
        self._prec = pp["precision"]
        self._start = pp["start"]
        self._active = pp["active"]
        self._period = pp["period"]
        self._samples = pp["samples"]
        self._label = pp["label"]
        self._dt = record_dtype(self._prec)
        self._has_rec = "rec" in NEURON_KINDS[self._kind]
        self._fn = N.STEP[self._kind]
        self._zero = np.zeros(self._size, self._dt)
        self._state = None
        self._rec = None
        self._rec_path = pp["record_path"]

    def _records(self):
        if self._rec is None and self._rec_path:
            self._rec = open_record(self._rec_path, self._samples, self._active, self._size, self._prec, mode="r+")
        return self._rec

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
        try:
            if k == 0:
                self._state = N.init_state(self._kind, self._size, 1, self._params, self._attrs, self._prec)
            ins = {"in": np.asarray(a_in, dtype=self._dt)[None]}
            if self._has_rec:
                ins["rec"] = np.asarray(a_rec, dtype=self._dt)[None]
            st, out, mask = self._fn(self._state, ins, self._params, self._attrs, self._prec)
            self._state = st
            rec = self._records()
            if rec is not None:
                rec[0][sample, k] = out[0]
                rec[1][sample, k] = N.read_value(self._kind, st, out)[0]
                rec[2][sample, k] = mask[0]
        except Exception as e:  # name what failed: the runtime only reports "1 Exception(s) occurred"
            raise RuntimeError(f"spikernn Lava process {self._label!r} ({self._kind}, {self._prec}) failed at "
                               f"time step {self.time_step}: {type(e).__name__}: {e}") from e
        self.s_out.send(np.asarray(out[0], dtype=self._dt))


_FLOAT_PORTS = dict(
    a_in=LavaPyType(PyInPort.VEC_DENSE, float),
    a_rec=LavaPyType(PyInPort.VEC_DENSE, float),
    s_out=LavaPyType(PyOutPort.VEC_DENSE, float),
)
_FIXED_PORTS = dict(
    a_in=LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24),
    a_rec=LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24),
    s_out=LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=24),
)

_MODELS: dict[tuple[type, str], type] = {}


def _define_models(proc_cls: type[NeuronProcess]) -> tuple[type, type]:
    has_rec = "rec" in NEURON_KINDS[proc_cls.kind]
    made = []
    for prec, tag_name, ports, extra_tags in (("float", "floating_pt", _FLOAT_PORTS, ()),
                                               ("fixed", "fixed_pt", _FIXED_PORTS, ("bit_accurate_loihi",))):
        attrs = {"a_in": ports["a_in"], "s_out": ports["s_out"], "__module__": __name__,
                 "__doc__": f"{'Floating-point' if prec == 'float' else 'Bit-accurate fixed-point'} model of "
                            f":class:`{proc_cls.__name__}` (calls spikernn.hardware.neurons.step_{proc_cls.kind})."}
        if has_rec:
            attrs["a_rec"] = ports["a_rec"]
        name = f"Py{proc_cls.__name__}Model{'Float' if prec == 'float' else 'Fixed'}"
        cls = type(name, (_NeuronModelBase,), attrs)
        cls = tag(tag_name, *extra_tags)(requires(CPU)(implements(proc=proc_cls, protocol=LoihiProtocol)(cls)))
        globals()[name] = cls
        _MODELS[(proc_cls, prec)] = cls
        made.append(cls)
    return made[0], made[1]


for _cls in PROCESS_FOR_KIND.values():
    _define_models(_cls)


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

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)


@implements(proc=Recorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyRecorderModelFixed(_RecorderModelBase):
    """Fixed-point recorder model."""

    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=24)


_MODELS[(Recorder, "float")] = PyRecorderModelFloat
_MODELS[(Recorder, "fixed")] = PyRecorderModelFixed


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
    m = {cls: mdl for (cls, prec), mdl in _MODELS.items() if prec == precision}
    m[Dense] = PyDenseModelBitAcc if fixed else PyDenseModelFloat
    m[RingBuffer] = PySendModelFixed if fixed else PySendModelFloat
    m[LIF] = PyLifModelBitAcc if fixed else PyLifModelFloat
    m[SigmaDelta] = PySigmaDeltaModelFixed if fixed else PySigmaDeltaModelFloat
    return m
