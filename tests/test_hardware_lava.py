"""The Lava backend's supervision: failures inside a process are named and torn down, SIGINT and SIGTERM stop a
run (signalled from inside Lava's step loop, so nothing races) and are re-raised after the cleanup,
importing does not import Lava, bad calls are clear errors. (That Lava computes what the reference computes,
every kind, precision, stages, Lava's own LIF and SigmaDelta, is in the conformance matrix,
tests/conformance/test_conformance_backends.py, cells marked ``lava``.)

Lava start-up costs about a second per run here, so the networks are tiny and each test makes few runs."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("lava")
pytestmark = pytest.mark.lava  # real Lava processes (deselect with -m "not lava")

from spikernn.hardware.kinds import KINDS  # noqa: E402
from spikernn.hardware.lava_runner import LavaRunError, live_children, simulate_lava  # noqa: E402
from spikernn.hardware.network import Network, Population, SynapseBlock  # noqa: E402

T, B, I, H = 50, 2, 3, 5


def one_layer(kind: str, attrs: dict) -> Network:
    """input -> one recurrent population of ``kind`` (default parameters)."""
    rng = np.random.default_rng(0)
    g = KINDS[kind].gates["in"]
    pops = [Population("x", "input", I), Population(f"b0_{kind}0", kind, H, {}, attrs)]
    syn = [SynapseBlock("x>h", "x", pops[1].name, "in", rng.normal(0.2, 1.0, (g * H, I))),
           SynapseBlock("h>h", pops[1].name, pops[1].name, "in", rng.normal(0, 0.5, (g * H, H)))]
    return Network(pops, syn, "x", [pops[1].name])


def _input(seed=1):
    return np.random.default_rng(seed).normal(0.3, 1.0, (T, B, I))


def test_failure_inside_a_process_names_it_and_cleans_up(monkeypatch):
    from spikernn.hardware.kinds import KINDS

    calls = {"n": 0}
    cls = type(KINDS["sd_lstm"])
    real = cls.step

    def flaky(*a, **k):  # runs inside the forked Lava process
        calls["n"] += 1
        if calls["n"] == 7:
            raise FloatingPointError("synthetic overflow")
        return real(*a, **k)

    monkeypatch.setattr(cls, "step", flaky)
    net = one_layer("sd_lstm", {})
    t0 = time.perf_counter()
    with pytest.raises(LavaRunError, match=r"'b0_sd_lstm0' \(sd_lstm, float\) failed at time step 8: "
                                           r"FloatingPointError: synthetic overflow"):
        simulate_lava(net, _input())
    assert time.perf_counter() - t0 < 30
    assert live_children() == []


SIGNAL_AT_STEP = 40  # a Lava process sends the signal from inside Lava's step loop, at this step


def _signal_from_inside_the_run(monkeypatch, sig: int, note: str) -> None:
    """Make the ``lif`` kind's step, as it runs inside a forked Lava process, write its pid and the /dev/shm
    files it maps (Lava's channel buffers, the run's records) to ``note`` and send ``sig`` to its parent at
    step :data:`SIGNAL_AT_STEP`: the run is then provably inside Lava's step loop (no timing to race)."""
    cls = type(KINDS["lif"])
    real = cls.step
    count = {"n": 0}

    def step(*a, **k):
        count["n"] += 1
        if count["n"] == SIGNAL_AT_STEP:
            with open("/proc/self/maps") as f:
                shm = sorted({ln.split()[-1] for ln in f if "/dev/shm/" in ln})
            parent = os.getppid()
            pids = set()  # the run's processes: the parent's children
            for tid in os.listdir(f"/proc/{parent}/task"):
                with open(f"/proc/{parent}/task/{tid}/children") as f:
                    pids.update(int(p) for p in f.read().split())
            with open(note, "w") as f:
                json.dump({"pid": os.getpid(), "pids": sorted(pids), "shm": shm}, f)
            os.kill(parent, sig)
        return real(*a, **k)

    monkeypatch.setattr(cls, "step", step)


def _gone(note: str) -> None:
    """Every process of the run (the signalling one's siblings) is dead and the /dev/shm files it mapped are
    removed (a failing check still kills and removes what it found, so that it leaves no orphans)."""
    from multiprocessing import resource_tracker

    with open(note) as f:
        seen = json.load(f)
    assert seen["pid"] in seen["pids"]
    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)  # this interpreter's, not the run's
    seen["pids"] = [p for p in seen["pids"] if p != tracker]
    assert any("spikernn-lava-" in p for p in seen["shm"]) and any("psm_" in p for p in seen["shm"]), seen
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_dead(p) for p in seen["pids"]):
        time.sleep(0.05)  # the subprocess case: its children may still be exiting
    alive = [p for p in seen["pids"] if not _dead(p)]
    left = [p for p in seen["shm"] if os.path.exists(p)]
    dirs = {os.path.dirname(p) for p in seen["shm"] if "spikernn-lava-" in p}  # the run's record folder
    left += sorted(d for d in dirs if os.path.isdir(d))
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    for path in left:
        shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
    assert alive == [] and left == []


def _dead(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_sigint_stops_the_run_cleans_up_and_reraises(monkeypatch, tmp_path):
    """SIGINT (Ctrl-C) inside the step loop: KeyboardInterrupt after every Lava process is gone, Lava's shared
    memory and the records are removed from /dev/shm, and the handlers are what they were."""
    note = str(tmp_path / "note.json")
    _signal_from_inside_the_run(monkeypatch, signal.SIGINT, note)
    # Python's own Ctrl-C handler, as in a terminal: a suite started in the background (``&``) inherits SIGINT
    # ignored, and a run rightly goes on through a signal its process ignores
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        net = one_layer("lif", {"reset": "subtract"})
        x = np.random.default_rng(0).normal(0, 1, (4000, 1, 3))
        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        t0 = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            simulate_lava(net, x)
        assert time.perf_counter() - t0 < 60
        assert live_children() == []
        _gone(note)
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    finally:
        signal.signal(signal.SIGINT, old_int)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_stops_the_run_and_reaches_the_previous_handler(monkeypatch, tmp_path, sig):
    """SIGTERM (or SIGHUP: the terminal closed) inside the step loop: the run is stopped and cleaned up, then
    the handler installed before the run gets the signal (here one raising SystemExit, as an application's
    would)."""
    note = str(tmp_path / "note.json")
    _signal_from_inside_the_run(monkeypatch, sig, note)
    got = []

    def app_handler(signum, frame):
        got.append(signum)
        raise SystemExit(128 + signum)

    old = signal.signal(sig, app_handler)
    try:
        with pytest.raises(SystemExit):
            simulate_lava(one_layer("lif", {"reset": "subtract"}), np.random.default_rng(0).normal(0, 1, (4000, 1, 3)))
        assert got == [sig] and signal.getsignal(sig) is app_handler
    finally:
        signal.signal(sig, old)
    assert live_children() == []
    _gone(note)


def test_sigterm_with_the_default_handler_ends_the_process_after_the_cleanup(tmp_path):
    """SIGTERM with the default disposition (a plain script): the process still ends by SIGTERM, but only
    after its Lava processes and its /dev/shm files are gone."""
    note = str(tmp_path / "note.json")
    code = f"""
import sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
import numpy as np, pytest, signal
import test_hardware_lava as t
mp = pytest.MonkeyPatch()
t._signal_from_inside_the_run(mp, signal.SIGTERM, {note!r})
t.simulate_lava(t.one_layer("lif", {{"reset": "subtract"}}), np.random.default_rng(0).normal(0, 1, (4000, 1, 3)))
print("run finished: SIGTERM was lost")
"""
    log = tmp_path / "out.txt"
    with open(log, "w") as out:  # not a pipe: a process outliving the script would hold it open
        r = subprocess.run([sys.executable, "-c", code], stdout=out, stderr=subprocess.STDOUT, timeout=300)
    _gone(note)
    assert r.returncode == -signal.SIGTERM, (r.returncode, log.read_text()[-2000:])


def _fds_and_threads() -> tuple[int, int]:
    import threading

    return len(os.listdir("/proc/self/fd")), threading.active_count()


def test_a_stalled_run_times_out_and_is_torn_down(monkeypatch):
    """A process model that blocks forever: with ``stall_timeout`` the run stops with LavaTimeoutError after
    about that long, with its processes ended and nothing leaked; without it Lava would wait forever."""
    from spikernn.hardware.lava_runner import LavaTimeoutError

    cls = type(KINDS["lif"])
    real = cls.step
    count = {"n": 0}

    def stuck(*a, **k):
        count["n"] += 1
        if count["n"] == 5:
            time.sleep(3600)
        return real(*a, **k)

    monkeypatch.setattr(cls, "step", stuck)
    before = _fds_and_threads()
    t0 = time.perf_counter()
    with pytest.raises(LavaTimeoutError, match=r"made no progress: .* after 1\.5 s \(stall_timeout\)"):
        simulate_lava(one_layer("lif", {"reset": "subtract"}), _input()[:20], stall_timeout=1.5)
    assert 1.5 <= time.perf_counter() - t0 < 30
    assert live_children() == []
    assert _fds_and_threads()[1] == before[1]
    with pytest.raises(ValueError, match="stall_timeout must be a positive number"):
        simulate_lava(one_layer("lif", {"reset": "subtract"}), _input()[:20], stall_timeout=0)


def test_import_spikernn_does_not_import_lava():
    code = ("import sys, spikernn, spikernn.hardware, spikernn.hardware.lava_runner; "
            "assert not any(m == 'lava' or m.startswith('lava.') for m in sys.modules), 'lava imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, env={**os.environ})


def test_errors_are_clear():
    net = one_layer("lif", {"reset": "subtract"})
    with pytest.raises(TypeError, match="unknown options"):
        simulate_lava(net, _input(), bogus=1)
    with pytest.raises(ValueError, match=r"\(T, B, I\)"):
        simulate_lava(net, np.zeros((3, 3)))
