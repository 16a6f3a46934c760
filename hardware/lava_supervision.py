"""Lava process supervision: run a Lava process graph under ``Loihi2SimCfg`` and always stop it cleanly.

:func:`run_processes` compiles and runs the graph connected to a process for a number of steps and stops it in a
``finally`` (also on KeyboardInterrupt and SystemExit); a run whose process failed is torn down by force
(Lava's own ``stop()`` would hang) and raises :class:`LavaRunError` naming the failing process. Ctrl-C during
Lava's fork of its processes only interrupts this process, which then tears the children down in order.
:func:`live_children` lists this process's live child processes (what must be empty after every run).

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

__all__ = ["LavaRunError", "live_children", "run_processes"]


class LavaRunError(RuntimeError):
    """A Lava run failed; the message names the stage/process and the underlying error."""


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
    A further Ctrl-C during the teardown is deferred until it is complete (then raised)."""
    with _defer_sigint(True):
        _force_teardown_now(proc)


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
                  chunks: int = 1) -> float:
    """Compile and run the Lava graph connected to ``root`` for ``num_steps`` under Loihi2SimCfg, then stop.

    Args:
        root: any process of the graph.
        precision: "float" ('floating_pt') or "fixed" ('fixed_pt', bit-accurate models).
        model_map: process instance or class -> ProcessModel class (skips Lava's model search; see
            :func:`spikernn.hardware.lava_processes.models_for`).
        what: description used in error messages.
        progress: called with the number of steps done after each chunk.
        chunks: split the run into this many RunSteps calls (for progress).

    Returns:
        ``{"compile_s": compile + start-up, "run_s": stepping, "stop_s": stop, "steps": num_steps}``.

    Raises:
        LavaRunError naming what failed; KeyboardInterrupt, SystemExit and other BaseExceptions are
        re-raised after the teardown (no Lava process outlives the call).
    """
    from spikernn.hardware.lava_compat import ensure_lava

    ensure_lava()
    from lava.magma.core.run_configs import Loihi2SimCfg

    if precision not in ("float", "fixed"):
        raise ValueError(f"precision must be 'float' or 'fixed', got {precision!r}")
    tag = "fixed_pt" if precision == "fixed" else "floating_pt"
    exc_map = {}
    if model_map:
        procs = _connected_processes(root)
        for p in procs:
            mdl = model_map.get(p) or model_map.get(type(p))
            if mdl is not None:
                exc_map[p] = mdl
    cfg = Loihi2SimCfg(select_tag=tag, exception_proc_model_map=exc_map)
    info = {"compile_s": 0.0, "run_s": 0.0, "stop_s": 0.0, "steps": int(num_steps)}
    ok = False
    try:
        chunks = max(1, min(int(chunks), int(num_steps)))
        bounds = np.linspace(0, num_steps, chunks + 1).astype(int)
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b > a:
                _run_watched(root, int(b - a), cfg, info)
                if progress is not None:
                    progress(int(b))
        ok = True
    except KeyboardInterrupt:
        _force_teardown(root)
        raise
    except Exception as e:  # noqa: BLE001 - re-raised as LavaRunError
        rt = getattr(root, "_runtime", None)
        details = _actor_errors(rt) if rt is not None else []
        _force_teardown(root)
        if not details:
            msg = str(e).strip()
            details = [f"{type(e).__name__}: {msg.splitlines()[-1] if msg else ''}"]
        raise LavaRunError(f"{what} ({tag}, {num_steps} steps) failed: " + "; ".join(details)) from None
    except BaseException:  # SystemExit (e.g. a SIGTERM handler calling sys.exit), GeneratorExit, ...
        _force_teardown(root)  # otherwise the Lava processes live on and the interpreter hangs at exit
        raise
    finally:
        if ok:
            t1 = time.perf_counter()
            _stop(root)
            info["stop_s"] = time.perf_counter() - t1
    return info


@contextmanager
def _defer_sigint(enabled: bool):
    """SIGINT only sets a flag inside the block; KeyboardInterrupt is raised after it (main thread only)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def note(signum, frame):  # noqa: ARG001 - signal handler signature
        pending.append(signum)

    old = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)
    if pending:
        raise KeyboardInterrupt


@contextmanager
def _children_ignore_sigint(enabled: bool):
    """While Lava forks its processes, SIGINT only sets a flag; the forked children keep that handler, so
    Ctrl-C in a terminal (sent to the whole process group) interrupts only this process, which then tears
    the children down in order (SIGTERM) instead of each child dying with its own traceback. A Ctrl-C that
    arrives during the fork window is raised as KeyboardInterrupt right after it."""
    with _defer_sigint(enabled):
        yield


class _ActorFailed(RuntimeError):
    pass


def _run_watched(root, steps: int, cfg, info: dict) -> None:
    """``root.run(RunSteps(steps))`` without blocking, watching the actor processes.

    Lava's blocking run joins every actor when one of them reports an error, which hangs when the others
    are blocked on their channels; here the main thread waits in short sleeps (so Ctrl-C works), sees a
    failed or dead actor itself and raises, leaving the teardown to the caller.
    """
    from lava.magma.core.run_conditions import RunSteps

    t0 = time.perf_counter()
    with _children_ignore_sigint(getattr(root, "_runtime", None) is None):
        root.run(condition=RunSteps(num_steps=steps, blocking=False), run_cfg=cfg)
    t1 = time.perf_counter()
    info["compile_s"] += t1 - t0  # compile + process start-up (first call); sending the run command
    rt = root._runtime
    box: list[BaseException] = []

    def wait():
        try:
            rt.wait()
        except BaseException as e:  # noqa: BLE001
            box.append(e)

    th = threading.Thread(target=wait, daemon=True, name="spikernn-lava-wait")
    th.start()
    actors = list(getattr(rt._messaging_infrastructure, "actors", []) or [])
    delay = 0.001
    while th.is_alive():
        th.join(delay)
        delay = min(delay * 2, 0.05)
        if not th.is_alive():
            break
        for actor in actors:
            try:
                if getattr(actor, "_closed", False) or getattr(actor, "_is_done", False):
                    continue
                if actor.exception is not None or actor.exitcode is not None:
                    raise _ActorFailed("a Lava process failed")
            except _ActorFailed:
                raise
            except Exception:  # noqa: BLE001 - closed handles while Lava joins
                continue
    info["run_s"] += time.perf_counter() - t1
    if box:
        raise box[0]


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

