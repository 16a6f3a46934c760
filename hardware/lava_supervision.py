"""Lava process supervision: run a Lava process graph under ``Loihi2SimCfg`` and always stop it cleanly.

:func:`run_processes` compiles and runs the graph connected to a process for a number of steps and stops it in a
``finally`` (also on KeyboardInterrupt and SystemExit); a run whose process failed is torn down by force
(Lava's own ``stop()`` would hang) and raises :class:`LavaRunError` naming the failing process.
:func:`live_children` lists this process's live child processes (what must be empty after every run).

Signals (:func:`stop_on_signals`, entered by every run in the main thread): SIGINT, SIGTERM and SIGHUP stop
the run. The first one is recorded and unwinds the run (KeyboardInterrupt; SIGTERM/SIGHUP as a private
BaseException), the Lava processes are torn down (SIGTERM, then SIGKILL), Lava's shared memory and the records
in /dev/shm are removed, and then the signal is re-raised: KeyboardInterrupt for SIGINT, and SIGTERM/SIGHUP
delivered again to the handler that was there before (the default ends the process with the usual status,
after the cleanup). A
signal is never lost: one that arrives while Lava forks its processes or while the teardown runs is acted on
right after, and one swallowed on its way (a signal handler's exception raised inside a ``__del__`` is only
printed) is raised again by the run's watch loop or at the end. The forked Lava processes inherit the handler
and ignore SIGINT (a terminal's Ctrl-C reaches the whole process group: this process then tears them down in
order) and die on SIGTERM/SIGHUP. Outside the main thread Python cannot install handlers: such runs are stopped
only by exceptions.

Resources: every exit path (success, a failed process, a signal, a timeout) releases what the run holds in
this process - the runtime's channel threads (joined), the actors' pipes and process sentinels (closed) and
Lava's shared-memory manager - so that a long-lived process can run (and fail) any number of runs with flat
fd and thread counts (``benchmarks/bench_hostile_inputs.py`` counts them over 20 failing runs). The run is
awaited by polling the runtime's response channels from the calling thread (no helper thread that a failed
run would leave blocked forever). ``stall_timeout`` (seconds) stops a run that makes no progress - e.g. a
process model that blocks - with :class:`LavaTimeoutError`, after the same teardown.

Every process gets its ProcessModel through ``Loihi2SimCfg(exception_proc_model_map=...)`` when a
``model_map`` is given (:func:`spikernn.hardware.lava_processes.models_for`): Lava's own model search would
otherwise import every module in the folder of each Process class (all of ``hardware/``) on every compile.
``SPIKERNN_LAVA_DEBUG=1`` prints teardown problems to stderr. Importing this module does not import Lava.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable

import numpy as np

__all__ = ["LavaRunError", "LavaTimeoutError", "live_children", "run_processes", "stop_on_signals"]

STALL_CHUNK_STEPS = 64  # with a stall timeout, a run is cut into RunSteps chunks of at most this many steps


class LavaRunError(RuntimeError):
    """A Lava run failed; the message names the stage/process and the underlying error."""


class LavaTimeoutError(LavaRunError):
    """A Lava run made no progress (no chunk of steps finished) for longer than its ``stall_timeout``."""


# --------------------------------------------------------------------------------------------------------
# process hygiene
# --------------------------------------------------------------------------------------------------------

def live_children() -> list[int]:
    """PIDs of this process's live child processes (multiprocessing's view plus /proc), psutil-free.

    multiprocessing's resource tracker (one helper per interpreter, started by the first shared-memory use,
    ended at exit) is not counted.
    """
    pids = {p.pid for p in multiprocessing.active_children() if p.pid is not None}
    me = os.getpid()
    try:
        from multiprocessing import resource_tracker

        tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    except Exception:  # noqa: BLE001
        tracker = None
    try:
        for tid in os.listdir(f"/proc/{me}/task"):
            try:
                with open(f"/proc/{me}/task/{tid}/children") as f:
                    pids.update(int(x) for x in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    alive = []
    pids.discard(tracker)
    for pid in sorted(pids):
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                alive.append(pid)
        except OSError:
            continue
    return alive


def _actor_errors(runtime) -> list[str]:
    """Error lines reported by the runtime's actor processes (each actor's last exception)."""
    msgs = []
    mi = getattr(runtime, "_messaging_infrastructure", None)
    for actor in list(getattr(mi, "actors", []) or []):
        try:
            exc = actor._exception if getattr(actor, "_is_done", False) else actor.exception
        except Exception:  # noqa: BLE001 - closed pipes etc.
            exc = getattr(actor, "_exception", None)
        if not exc:
            continue
        e, tb = exc
        lines = [ln for ln in str(tb).strip().splitlines() if ln.strip()]
        spikernn_lines = [ln for ln in lines if "spikernn Lava process" in ln]
        msgs.append((spikernn_lines[-1] if spikernn_lines else (lines[-1] if lines else repr(e))).strip())
    return msgs


def _debug(msg: str) -> None:
    if os.environ.get("SPIKERNN_LAVA_DEBUG"):
        print(f"[spikernn.lava_supervision] {msg}", file=sys.stderr, flush=True)


def _force_teardown(proc) -> None:
    """Terminate everything a (possibly failed) Lava runtime started, without Lava's stop() handshake.
    A further SIGINT/SIGTERM during the teardown is deferred until it is complete (then raised)."""
    guard = _active_guard()
    with guard.deferred() if guard is not None else _nothing():
        _force_teardown_now(proc)


@contextmanager
def _nothing():
    yield


def _force_teardown_now(proc) -> None:
    rt = getattr(proc, "_runtime", None)
    if rt is None:
        return
    mi = getattr(rt, "_messaging_infrastructure", None)
    actors = [a for a in list(getattr(mi, "actors", []) or []) if not getattr(a, "_closed", False)
              and getattr(a, "_parent_pid", None) == os.getpid() and getattr(a, "_popen", None) is not None]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for actor in actors:
            try:
                if actor._popen.poll() is None:
                    os.kill(actor.pid, sig)
            except Exception as e:  # noqa: BLE001 - best effort
                _debug(f"teardown: signal {sig} to {actor.pid}: {e!r}")
        deadline = time.monotonic() + 5.0
        for actor in actors:
            try:  # mp.Process.join: Lava's SystemProcess.join takes no timeout
                multiprocessing.Process.join(actor, max(0.0, deadline - time.monotonic()))
            except Exception as e:  # noqa: BLE001
                _debug(f"teardown: join {actor.pid}: {e!r}")
        if all(a._popen.poll() is not None for a in actors):
            break
    for actor in actors:
        try:
            actor._is_done = True
            actor._pconn.close()
            actor._cconn.close()
        except Exception:  # noqa: BLE001
            pass
        try:
            multiprocessing.Process.close(actor)  # the process sentinel (a pipe fd); refused while it runs
        except Exception as e:  # noqa: BLE001
            _debug(f"teardown: close {getattr(actor, 'pid', '?')}: {e!r}")
    try:
        rt.join()  # the runtime's channel ports: releases and ends their callback threads
    except Exception as e:  # noqa: BLE001
        _debug(f"teardown: joining the runtime's ports: {e!r}")
    try:
        smm = getattr(mi, "_smm", None)
        if smm is not None:
            smm.shutdown()
    except Exception:  # noqa: BLE001
        pass
    try:
        wd = getattr(rt, "_watchdog_manager", None)
        if wd is not None:
            wd.stop()
    except Exception:  # noqa: BLE001
        pass
    rt._is_running = False
    rt._is_started = False


def _stop(proc, timeout: float = 30.0) -> None:
    """Lava's normal stop(), in a thread with a timeout; on failure or timeout, force the teardown."""
    rt = getattr(proc, "_runtime", None)
    if rt is None:
        return
    err: list[BaseException] = []

    def target():
        try:
            proc.stop()
        except BaseException as e:  # noqa: BLE001
            err.append(e)

    th = threading.Thread(target=target, daemon=True, name="spikernn-lava-stop")
    th.start()
    try:
        th.join(timeout)
    except KeyboardInterrupt:
        _force_teardown(proc)
        raise
    if th.is_alive() or err:
        _force_teardown(proc)


def run_processes(root, num_steps: int, precision: str, *, model_map: dict | None = None,
                  what: str = "Lava network", progress: Callable[[int], None] | None = None,
                  chunks: int = 1, stall_timeout: float | None = None) -> dict:
    """Compile and run the Lava graph connected to ``root`` for ``num_steps`` under Loihi2SimCfg, then stop.

    Args:
        root: any process of the graph.
        precision: "float" ('floating_pt') or "fixed" ('fixed_pt', bit-accurate models).
        model_map: process instance or class -> ProcessModel class (skips Lava's model search; see
            :func:`spikernn.hardware.lava_processes.models_for`).
        what: description used in error messages.
        progress: called with the number of steps done after each chunk.
        chunks: split the run into this many RunSteps calls (for progress).
        stall_timeout: seconds a chunk of steps may take (the run is then cut into chunks of at most
            :data:`STALL_CHUNK_STEPS` steps; compiling and starting the processes do not count); a run that
            exceeds it is torn down and raises :class:`LavaTimeoutError`. None (default): no limit.

    Returns:
        ``{"compile_s": compile + start-up, "run_s": stepping, "stop_s": stop, "steps": num_steps}``.

    Raises:
        LavaRunError naming what failed (LavaTimeoutError for a stalled run); KeyboardInterrupt, SystemExit
        and other BaseExceptions are
        re-raised after the teardown (no Lava process outlives the call).
    """
    from spikernn.hardware.lava_compat import ensure_lava

    ensure_lava()
    from lava.magma.core.run_configs import Loihi2SimCfg

    if precision not in ("float", "fixed"):
        raise ValueError(f"precision must be 'float' or 'fixed', got {precision!r}")
    if stall_timeout is not None:
        if isinstance(stall_timeout, bool) or not isinstance(stall_timeout, (int, float)) or not stall_timeout > 0:
            raise ValueError(f"stall_timeout must be a positive number of seconds or None, got {stall_timeout!r}")
        chunks = max(int(chunks), -(-int(num_steps) // STALL_CHUNK_STEPS))
    tag = "fixed_pt" if precision == "fixed" else "floating_pt"
    exc_map = {}
    if model_map:
        procs = _connected_processes(root)
        for p in procs:
            mdl = model_map.get(p) or model_map.get(type(p))
            if mdl is not None:
                exc_map[p] = mdl
    cfg = Loihi2SimCfg(select_tag=tag, exception_proc_model_map=exc_map)
    with stop_on_signals():
        return _run_supervised(root, num_steps, cfg, tag, what, progress, chunks, stall_timeout)


def _run_supervised(root, num_steps: int, cfg, tag: str, what: str, progress, chunks: int,
                    stall_timeout: float | None = None) -> dict:
    """:func:`run_processes`' run, stop and teardown (inside :func:`stop_on_signals`)."""
    info = {"compile_s": 0.0, "run_s": 0.0, "stop_s": 0.0, "steps": int(num_steps)}
    ok = False
    try:
        chunks = max(1, min(int(chunks), int(num_steps)))
        bounds = np.linspace(0, num_steps, chunks + 1).astype(int)
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b > a:
                _run_watched(root, int(b - a), cfg, info, stall_timeout)
                if progress is not None:
                    progress(int(b))
        ok = True
    except KeyboardInterrupt:
        _force_teardown(root)
        raise
    except _Stalled as e:
        _force_teardown(root)
        raise LavaTimeoutError(f"{what} ({tag}, {num_steps} steps) made no progress: {e}; the run was stopped "
                               "and its processes ended") from None
    except Exception as e:  # noqa: BLE001 - re-raised as LavaRunError
        rt = getattr(root, "_runtime", None)
        details = _actor_errors(rt) if rt is not None else []
        _force_teardown(root)
        if not details:
            msg = str(e).strip()
            details = [f"{type(e).__name__}: {msg.splitlines()[-1] if msg else ''}"]
        raise LavaRunError(f"{what} ({tag}, {num_steps} steps) failed: " + "; ".join(details)) from None
    except BaseException:  # SIGTERM (_Terminated), SystemExit, GeneratorExit, ...
        _force_teardown(root)  # otherwise the Lava processes live on and the interpreter hangs at exit
        raise
    finally:
        if ok:
            t1 = time.perf_counter()
            _stop(root)
            info["stop_s"] = time.perf_counter() - t1
    return info


class _Terminated(BaseException):
    """SIGTERM or SIGHUP during a Lava run: unwinds the run (the teardown runs on the way) up to
    :func:`stop_on_signals`, which delivers the signal again to the previous handler."""


_WATCHED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_ENDING = (signal.SIGTERM, signal.SIGHUP)  # signals that end the process (SIGINT only interrupts)


class _SignalGuard:
    """The handler :func:`stop_on_signals` installs, and what it has seen (see the module docstring)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.caught: int | None = None  # the run's signal (the first; SIGTERM/SIGHUP once one came)
        self.defer = 0  # > 0: inside a window where the signal is only recorded
        self.late = False  # a signal arrived inside such a window: raise it when the window closes
        self.old: dict[int, object] = {}

    def handler(self, signum: int, frame) -> None:  # noqa: ARG002 - signal handler signature
        if os.getpid() != self.pid:  # inherited by a forked Lava process: the parent stops the run
            if signum in _ENDING:
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            return
        if self.caught is None or (signum in _ENDING and self.caught not in _ENDING):  # the process is to end
            self.caught = signum
        if self.defer:
            self.late = True
            return
        raise _signal_exception(signum)

    def check(self) -> None:
        """Raise the run's signal if one arrived and was not acted on (deferred, or swallowed on its way)."""
        if self.caught is not None and not self.defer:
            raise _signal_exception(self.caught)

    @contextmanager
    def deferred(self):
        """Only record SIGINT/SIGTERM inside the block (Lava forking its processes, the teardown); one that
        arrived is raised when the block ends."""
        self.defer += 1
        try:
            yield
        finally:
            self.defer -= 1
        if self.late and not self.defer:
            self.late = False
            self.check()


def _signal_exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else _Terminated(signum)


_GUARD: list[_SignalGuard] = []  # the active guard of this process (at most one; entered in the main thread)


def _active_guard() -> _SignalGuard | None:
    return _GUARD[0] if _GUARD and _GUARD[0].pid == os.getpid() else None


@contextmanager
def stop_on_signals():
    """While the block runs (a Lava run and everything it leaves to clean up), SIGINT, SIGTERM and SIGHUP stop
    it: the block unwinds (its ``finally`` clauses and :func:`run_processes`' teardown run), then SIGINT is
    raised as KeyboardInterrupt and SIGTERM/SIGHUP is delivered again to the handler that was installed
    before (by default: the process ends by that signal, after the cleanup). Re-entrant; a no-op outside the main thread and
    for a signal whose handler is SIG_IGN or not Python's."""
    if _active_guard() is not None or threading.current_thread() is not threading.main_thread():
        yield
        return
    guard = _SignalGuard()
    for sig in _WATCHED:
        old = signal.getsignal(sig)
        if old is None or old == signal.SIG_IGN:
            continue  # a C-level handler, or ignored: leave it
        guard.old[sig] = old
        signal.signal(sig, guard.handler)
    _GUARD[:] = [guard]
    exc: BaseException | None = None
    try:
        yield
        guard.check()  # a signal swallowed on its way (e.g. inside a __del__)
    except BaseException as e:  # noqa: BLE001 - re-raised below
        exc = e
    finally:
        guard.defer += 1  # from here on the handler only records, so that every handler is restored
        _GUARD.clear()
        for sig, old in guard.old.items():
            signal.signal(sig, old)
    if guard.caught in _ENDING:
        name = signal.Signals(guard.caught).name
        _debug(f"{name} during a Lava run: run stopped and cleaned up; delivering {name} to the previous handler")
        signal.raise_signal(guard.caught)  # the previous handler: the default ends the process here
        raise LavaRunError(f"the Lava run was stopped by {name}") from (None if isinstance(exc, _Terminated) else exc)
    if guard.caught == signal.SIGINT and not isinstance(exc, KeyboardInterrupt):
        raise KeyboardInterrupt from exc
    if exc is not None:
        raise exc


class _ActorFailed(RuntimeError):
    pass


class _Stalled(RuntimeError):
    pass


def _run_watched(root, steps: int, cfg, info: dict, stall_timeout: float | None = None) -> None:
    """``root.run(RunSteps(steps))`` without blocking, then wait for the run's end by polling.

    Lava's blocking run (and ``Runtime.wait``) joins every actor when one of them reports an error, which
    hangs when the others are blocked on their channels, and a thread left in ``wait`` after a failed run
    never ends. Here the calling thread itself polls the runtime's response channels (what
    ``Runtime._get_resp_for_run`` reads) in short sleeps (so Ctrl-C works), sees a failed or dead actor and
    raises, and raises ``_Stalled`` past ``stall_timeout`` seconds; the teardown is the caller's.
    SIGINT/SIGTERM/SIGHUP during the first call (Lava forks its processes) are acted on when it returns.
    """
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.runtime.mgmt_token_enums import MGMT_RESPONSE, enum_equal

    t0 = time.perf_counter()
    guard = _active_guard()
    forking = guard is not None and getattr(root, "_runtime", None) is None  # the first call starts the processes
    with guard.deferred() if forking else _nothing():
        root.run(condition=RunSteps(num_steps=steps, blocking=False), run_cfg=cfg)
    t1 = time.perf_counter()
    info["compile_s"] += t1 - t0  # compile + process start-up (first call); sending the run command
    rt = root._runtime
    ports = list(rt.service_to_runtime)
    pending = set(range(len(ports)))
    actors = list(getattr(rt._messaging_infrastructure, "actors", []) or [])
    delay = 0.0005
    while pending:
        for i in sorted(pending):
            if not ports[i].probe():
                continue
            data = ports[i].recv()
            if enum_equal(data, MGMT_RESPONSE.DONE):
                pending.discard(i)
            elif enum_equal(data, MGMT_RESPONSE.ERROR):
                raise _ActorFailed("a Lava process failed")
            elif enum_equal(data, MGMT_RESPONSE.REQ_PAUSE) or enum_equal(data, MGMT_RESPONSE.REQ_STOP):
                raise _ActorFailed(f"a Lava process asked to pause or stop ({data})")
            else:
                raise _ActorFailed(f"the Lava runtime received {data}")
        if not pending:
            break
        if guard is not None:
            guard.check()  # a signal whose exception was swallowed on its way
        for actor in actors:
            try:
                if getattr(actor, "_closed", False) or getattr(actor, "_is_done", False):
                    continue
                if actor.exception is not None or actor.exitcode is not None:
                    raise _ActorFailed("a Lava process failed")
            except _ActorFailed:
                raise
            except Exception:  # noqa: BLE001 - closed handles
                continue
        if stall_timeout is not None and time.perf_counter() - t1 > stall_timeout:
            raise _Stalled(f"{steps} steps not done after {stall_timeout:g} s (stall_timeout)")
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    rt._is_running = False
    info["run_s"] += time.perf_counter() - t1


def _connected_processes(root) -> list:
    """All processes connected to ``root`` through ports (what Lava's compiler will compile)."""
    seen = {id(root): root}
    stack = [root]
    while stack:
        p = stack.pop()
        for port in list(p.in_ports) + list(p.out_ports):
            for q in list(getattr(port, "in_connections", [])) + list(getattr(port, "out_connections", [])):
                proc = q.process
                if proc is not None and id(proc) not in seen:
                    seen[id(proc)] = proc
                    stack.append(proc)
    return list(seen.values())

