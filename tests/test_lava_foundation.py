"""Foundation: Lava imports through the project's path (lava_compat), runs a recurrent LIF network under
Loihi2SimCfg in both precisions with the expected arithmetic, and never leaves child processes behind -
also when a process model raises in the middle of a run."""
from __future__ import annotations

import time

import numpy as np
import pytest

from spikernn.hardware.lava_compat import ensure_lava

lava = pytest.importorskip("lava")
pytestmark = pytest.mark.lava  # real Lava processes (deselect with -m "not lava")
ensure_lava()

from lava.magma.core.decorator import implements, requires, tag  # noqa: E402
from lava.magma.core.model.py.model import PyLoihiProcessModel  # noqa: E402
from lava.magma.core.model.py.ports import PyInPort, PyOutPort  # noqa: E402
from lava.magma.core.model.py.type import LavaPyType  # noqa: E402
from lava.magma.core.process.ports.ports import InPort, OutPort  # noqa: E402
from lava.magma.core.process.process import AbstractProcess  # noqa: E402
from lava.magma.core.resources import CPU  # noqa: E402
from lava.magma.core.run_conditions import RunSteps  # noqa: E402
from lava.magma.core.run_configs import Loihi2SimCfg  # noqa: E402
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol  # noqa: E402
from lava.proc.dense.process import Dense  # noqa: E402
from lava.proc.io.sink import RingBuffer as Sink  # noqa: E402
from lava.proc.io.source import RingBuffer as Source  # noqa: E402
from lava.proc.lif.process import LIF  # noqa: E402
from lava.utils.weightutils import SignMode  # noqa: E402

from spikernn.hardware.lava_runner import LavaRunError, live_children, run_processes, smoke_test  # noqa: E402

STEPS = 40


def _reference(x, w_in, w_rec, precision, decay=0.0, vth=0.0, dv=0, vth_int=0):
    """The same network on the reference backend (the ``lif`` kind's reference step, reset "zero"), shifted
    to Lava's global time: the LIF at depth 1 answers input step t at Lava step t + 1."""
    from spikernn.hardware.backends import get_backend
    from spikernn.hardware.network import Network, Population, SynapseBlock

    if precision == "fixed":
        lif = {"du": 4095, "dv": dv, "vth": vth_int}
    else:
        lif = {"decay": decay, "threshold": vth}
    n_in, n = w_in.shape[1], w_in.shape[0]
    net = Network([Population("x", "input", n_in), Population("lif", "lif", n, lif, {"reset": "zero"})],
                  [SynapseBlock("in", "x", "lif", "in", w_in), SynapseBlock("rec", "lif", "lif", "in", w_rec)],
                  "x", ["lif"], precision=precision)
    y, _ = get_backend("reference").simulate(net, x[:, None, :].astype(np.float64))
    s_all = np.zeros((x.shape[0], n), bool)
    s_all[1:] = y[:-1, 0] != 0
    return s_all


def _network(precision, rng):
    n_in, n = 4, 6
    x = (rng.random((STEPS, n_in)) < 0.4).astype(np.int64)
    if precision == "fixed":
        w_in = rng.integers(-20, 90, (n, n_in))
        w_rec = rng.integers(-60, 50, (n, n))
        w_rec[0, 1] = -128  # extreme mantissas pass unchanged with 2*m, weight_exp=-1, MIXED
        w_rec[1, 0] = 127
        kw = dict(dv=700, vth_int=100)
        src = Source(data=x.T.astype(np.int32))
        d_in = Dense(weights=2 * w_in, weight_exp=-1, sign_mode=SignMode.MIXED)
        lif = LIF(shape=(n,), du=4095, dv=kw["dv"], vth=kw["vth_int"])
        d_rec = Dense(weights=2 * w_rec, weight_exp=-1, sign_mode=SignMode.MIXED)
    else:
        w_in = rng.uniform(-0.2, 0.9, (n, n_in))
        w_rec = rng.uniform(-0.6, 0.5, (n, n))
        kw = dict(decay=0.85, vth=1.0)
        src = Source(data=x.T.astype(np.float64))
        d_in = Dense(weights=w_in)
        lif = LIF(shape=(n,), du=1.0, dv=1.0 - kw["decay"], vth=kw["vth"])
        d_rec = Dense(weights=w_rec)
    sink = Sink(shape=(n,), buffer=STEPS)
    src.s_out.connect(d_in.s_in)
    d_in.a_out.connect(lif.a_in)
    lif.s_out.connect(d_rec.s_in)
    d_rec.a_out.connect(lif.a_in)
    lif.s_out.connect(sink.a_in)
    ref = _reference(x, w_in, w_rec, precision, **kw)
    return lif, sink, ref


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_recurrent_lif_matches_numpy_reference(precision):
    lif, sink, ref = _network(precision, np.random.default_rng(1))
    tag_name = "fixed_pt" if precision == "fixed" else "floating_pt"
    try:
        lif.run(condition=RunSteps(num_steps=STEPS), run_cfg=Loihi2SimCfg(select_tag=tag_name))
        spikes = sink.data.get().T != 0  # (steps, n); small enough for Var.get
    finally:
        lif.stop()
    assert ref.sum() > 10 and (~ref).sum() > 10, "reference should both spike and stay silent"
    assert ref[:, :].any(axis=0).sum() >= 3
    np.testing.assert_array_equal(spikes, ref)
    assert live_children() == []


@pytest.mark.parametrize("precision", ["float", "fixed"])
def test_smoke_test_runs_both_precisions(precision):
    res = smoke_test(precision)
    assert res["ok"], res
    assert res["steps"] > 0 and res["seconds"] > 0 and res["spikes"] > 0
    assert live_children() == []


class Boom(AbstractProcess):
    """Passes its input on, raises at step ``at``."""

    def __init__(self, *, shape, at):
        super().__init__(shape=shape, at=at)
        self.a_in = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)


@implements(proc=Boom, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyBoom(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, float)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, float)

    def run_spk(self):
        x = self.a_in.recv()
        if self.time_step == self.proc_params["at"]:
            raise ValueError(f"deliberate failure at step {self.time_step}")
        self.s_out.send(x)


def test_failing_process_model_raises_clear_error_and_leaves_no_children():
    src = Source(data=np.ones((3, 10)))
    boom = Boom(shape=(3,), at=4)
    dense = Dense(weights=np.eye(3))
    lif = LIF(shape=(3,), du=1.0, dv=0.5, vth=10.0)
    src.s_out.connect(boom.a_in)
    boom.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    t0 = time.perf_counter()
    with pytest.raises(LavaRunError, match="deliberate failure at step 4") as info:
        run_processes(lif, 20, "float", model_map={Boom: PyBoom}, what="failing test network")
    assert "failing test network" in str(info.value)
    assert time.perf_counter() - t0 < 30, "teardown of a failed run must not hang"
    assert live_children() == []


def test_normal_run_leaves_no_children():
    lif, sink, ref = _network("float", np.random.default_rng(2))
    run_processes(lif, STEPS, "float")
    assert live_children() == []


def test_system_exit_during_a_run_tears_down_the_processes():
    """A BaseException that is not an Exception (SystemExit from a SIGTERM handler, here raised by the
    progress callback while the Lava processes are up) must not leave them alive (the interpreter would hang
    at exit)."""
    lif, sink, ref = _network("float", np.random.default_rng(3))

    def progress(done):
        raise SystemExit("terminated")

    with pytest.raises(SystemExit, match="terminated"):
        run_processes(lif, STEPS, "float", progress=progress, chunks=2)
    assert live_children() == []
