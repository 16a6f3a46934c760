"""The Lava backend: run a :class:`~spikernn.hardware.network.Network` as real Lava processes (lava-nc 0.10.0)
under ``Loihi2SimCfg`` - 'floating_pt' for float networks, bit-accurate 'fixed_pt' for fixed-point ones.

``simulate_lava(net, x_tbi, **options) -> (y_tbo, ActivityStats)`` (called by ``Network.simulate(x,
backend="lava")``) builds, per stage:

* one host source (``lava.proc.io.source.RingBuffer``) holding every stream that comes from the host: the
  encoded input (graded values) and, for later stages, the recorded outputs of earlier stages
  (:func:`spikernn.hardware.fast.replay_messages`; time-reversed for ``reverse`` populations);
* a ``lava.proc.dense.process.Dense`` per synapse block (graded, ``num_message_bits=24``, where the source
  sends graded values; fixed point: ``weights=2*m, weight_exp=e-1, sign_mode=MIXED``, exact signed 8-bit);
* per population Lava's own ``LIF`` (reset "zero", no adaptation, no bias) or ``SigmaDelta`` (relu, no bias)
  where they fit, the project's own Processes (:mod:`spikernn.hardware.lava_processes`) otherwise.

Timing is the fast simulator's (:func:`spikernn.hardware.fast.depths`): every Dense adds one step; a
population at depth k handles input step t at Lava step t+k and is idle before. Lava runs one input at a
time: networks made only of the project's Processes run a whole batch in one Lava run (the neurons reset
themselves every ``T + depth`` steps); with Lava's LIF/SigmaDelta each batch item gets its own run.
Results are read in bulk (memory-mapped records), never through ``Var.get()``. Every run is stopped in a
``finally`` (also on KeyboardInterrupt); a run whose process failed is torn down by force (Lava's own
``stop()`` would hang) and raises :class:`LavaRunError` naming the failing process.

Notes:

* Every process gets its ProcessModel through ``Loihi2SimCfg(exception_proc_model_map=...)``
  (:func:`spikernn.hardware.lava_processes.models_for`): Lava's own model search would otherwise import
  every module in the folder of each Process class (all of ``hardware/``) on every compile.
* Blocks from the host are Dense processes over the whole host vector (the block's weights in its columns,
  zeros elsewhere), so that a stage is one connected Lava graph.
* Lava's bit-accurate Dense accumulates in int32 (then shifts by weight_exp); the fast simulator uses
  int64. They agree while ``sum(|2 m| * |payload|)`` of a row stays below 2**31, which the scales chosen by
  :func:`spikernn.hardware.fixed_point.quantize` give for the networks tested here.
* ``SPIKERNN_LAVA_DEBUG=1`` prints teardown problems to stderr.

Importing this module does not import Lava; the first run does.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from spikernn.hardware.network import Network
from spikernn.hardware.stats import ActivityStats, count_activity

GRADED_MESSAGE_BITS = 24

__all__ = ["simulate_lava", "smoke_test", "run_processes", "LavaRunError", "live_children",
           "lava_population_plan"]


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
        print(f"[spikernn.lava_runner] {msg}", file=sys.stderr, flush=True)


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


# --------------------------------------------------------------------------------------------------------
# network -> Lava processes
# --------------------------------------------------------------------------------------------------------

def _uniform(v) -> bool:
    v = np.asarray(v)
    return v.ndim == 0 or v.size == 0 or bool(np.all(v == v.flat[0]))


def _first(v):
    v = np.asarray(v)
    return v.item() if v.ndim == 0 else v.flat[0].item()


def _lif_fits(pop, precision: str) -> bool:
    """Lava's LIF fits: reset "zero", no adaptation, no bias (it could not stay idle before its start step),
    and one decay and threshold for the whole population (Lava's du, dv, vth are scalars)."""
    if pop.kind != "lif" or pop.attrs.get("reset", "zero") != "zero":
        return False
    p = pop.params
    if np.any(np.asarray(p.get("adapt_scale", 0)) != 0):
        return False
    if precision == "fixed":
        return (not np.any(np.asarray(p.get("bias_mant", 0)) != 0) and np.all(np.asarray(p.get("du", 4095)) == 4095)
                and _uniform(p.get("dv", 0)) and _uniform(p.get("vth", 0)))
    return (not np.any(np.asarray(p.get("bias", 0)) != 0) and _uniform(p.get("decay", 1.0))
            and _uniform(p.get("threshold", 1.0)))


def _sd_fits(pop, precision: str) -> bool:
    return (pop.kind == "sd_rnn" and pop.attrs.get("activation", "tanh") == "relu"
            and bool(np.all(np.asarray(pop.params.get("bias", 0)) == 0)))


def lava_population_plan(net: Network, builtins: bool = True) -> dict[str, str]:
    """Which Lava process each population becomes: "lava.LIF", "lava.SigmaDelta", the project's Process
    class name, or "host" (the input population is fed by the host source)."""
    from spikernn.hardware import lava_processes as LP  # noqa: F401 - imports Lava

    out = {}
    for p in net.populations:
        if p.kind == "input":
            out[p.name] = "host"
        elif builtins and _lif_fits(p, net.precision):
            out[p.name] = "lava.LIF"
        elif builtins and _sd_fits(p, net.precision):
            out[p.name] = "lava.SigmaDelta"
        else:
            out[p.name] = LP.PROCESS_FOR_KIND[p.kind].__name__
    return out


@dataclass
class _Rec:
    """Where a population's record is and how to read it."""

    name: str
    kind: str
    size: int
    path: str
    builtin: str | None  # None (project process), "lif" or "sd"
    start: int


def _build_stage(net: Network, stage: int, host_data: np.ndarray, host_index: dict, depth: dict, T: int,
                 period: int, samples: int, plan: dict, tmpdir: str):
    """Create the Lava processes of one stage. Returns (root process, records, model map)."""
    from lava.proc.dense.process import Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.sdn.process import ActivationMode, SigmaDelta
    from lava.utils.weightutils import SignMode

    from spikernn.hardware import lava_processes as LP
    from spikernn.hardware.synapses import lava_dense_args

    prec = net.precision
    fixed = prec == "fixed"
    pops = [p for p in net.populations if p.stage == stage and p.kind != "input"]
    names = {p.name for p in pops}
    host = RingBuffer(data=host_data)
    procs: dict[str, Any] = {}
    recs: dict[str, _Rec] = {}
    steps = period * samples
    for p in pops:
        path = os.path.join(tmpdir, f"s{stage}_{len(recs)}.rec")
        choice = plan[p.name]
        if choice == "lava.LIF":
            prm = p.params
            if fixed:
                proc = LIF(shape=(p.size,), du=4095, dv=int(_first(prm.get("dv", 0))), vth=int(_first(prm.get("vth", 0))),
                           bias_mant=0, bias_exp=0, name=p.name)
            else:
                proc = LIF(shape=(p.size,), du=1.0, dv=1.0 - float(_first(prm.get("decay", 1.0))),
                           vth=float(_first(prm.get("threshold", 1.0))), bias_mant=0.0, name=p.name)
            rec_proc = LP.Recorder(size=p.size, steps=steps, precision=prec, record_path=path)
            proc.s_out.connect(rec_proc.a_in)
            np.memmap(path, dtype=LP.record_dtype(prec), mode="w+", shape=(steps, p.size)).flush()
            recs[p.name] = _Rec(p.name, p.kind, p.size, path, "lif", depth[p.name])
        elif choice == "lava.SigmaDelta":
            thr = p.attrs.get("delta_threshold", 0)
            vth = (int(thr) + 1) if fixed else float(thr)
            proc = SigmaDelta(shape=(p.size,), vth=vth, bias=0, act_mode=ActivationMode.RELU, name=f"{p.name}")
            rec_proc = LP.Recorder(size=p.size, steps=steps, precision=prec, record_path=path)
            proc.s_out.connect(rec_proc.a_in)
            np.memmap(path, dtype=LP.record_dtype(prec), mode="w+", shape=(steps, p.size)).flush()
            recs[p.name] = _Rec(p.name, p.kind, p.size, path, "sd", depth[p.name])
        else:
            LP.create_record(path, samples, T, p.size, prec)
            cls = LP.PROCESS_FOR_KIND[p.kind]
            proc = cls(size=p.size, params=p.params, attrs=p.attrs, precision=prec, start=depth[p.name],
                       active=T, period=period, samples=samples, record_path=path, label=p.name,
                       name=f"{p.name}")
            recs[p.name] = _Rec(p.name, p.kind, p.size, path, None, depth[p.name])
        procs[p.name] = proc

    def in_port(proc, port):
        if port == "in":
            return proc.a_in
        return proc.a_rec

    n_host = host_data.shape[0]
    for b in net.synapses:
        if b.target not in names:
            continue
        tgt = net.population(b.target)
        src = net.population(b.source)
        external = src.kind == "input" or src.stage < stage
        w = np.asarray(b.weights, dtype=np.float64)
        if external:
            lo, hi = host_index[(b.source, src.reverse != tgt.reverse)]
            full = np.zeros((w.shape[0], n_host), dtype=np.float64)
            full[:, lo:hi] = w
            w, graded = full, True
        else:
            graded = src.graded or src.kind == "readout"
        if fixed:
            args = lava_dense_args(w, b.weight_exp)
            if external:
                peak = float(np.abs(host_data).max(initial=0)) * float(np.abs(args["weights"]).sum(axis=1).max(initial=0))
                if peak >= 2.0 ** 31:
                    import warnings

                    warnings.warn(f"synapse block {b.name!r}: Lava's bit-accurate Dense accumulates in int32 and may "
                                  f"overflow here (|2m|.|x| up to {peak:.3g}); results can differ from the fast "
                                  "simulator. Quantise with a smaller input range.", RuntimeWarning, stacklevel=2)
            dense = Dense(weights=args["weights"], weight_exp=args["weight_exp"],
                          num_weight_bits=args["num_weight_bits"], sign_mode=SignMode[args["sign_mode"]],
                          num_message_bits=GRADED_MESSAGE_BITS if graded else 0, name=f"dense:{b.name}")
        else:
            dense = Dense(weights=w, num_message_bits=GRADED_MESSAGE_BITS if graded else 0, name=f"dense:{b.name}")
        (host.s_out if external else procs[b.source].s_out).connect(dense.s_in)
        dense.a_out.connect(in_port(procs[b.target], b.port))
    return host, procs, recs


def _read_records(recs: dict[str, _Rec], prec: str, T: int, period: int, samples: int):
    """(out, value, mask) per population, each (T, samples, n) in the population's own time."""
    from spikernn.hardware import lava_processes as LP

    res = {}
    for name, r in recs.items():
        if r.builtin is None:
            out, val, mask = LP.open_record(r.path, samples, T, r.size, prec, mode="r")
            out, val, mask = np.array(out), np.array(val), np.array(mask)
        else:
            raw = np.array(np.memmap(r.path, dtype=LP.record_dtype(prec), mode="r", shape=(period * samples, r.size)))
            idx = (np.arange(samples)[:, None] * period + r.start + np.arange(T)[None, :])
            out = raw[idx]  # (samples, T, n)
            mask = out != 0
            if r.builtin == "lif":
                out = mask.astype(out.dtype)
                val = out
            else:
                val = np.cumsum(out, axis=1)
        res[name] = (out.transpose(1, 0, 2), val.transpose(1, 0, 2), mask.transpose(1, 0, 2))
    return res


@contextmanager
def _progress_bar(enabled: bool, total: int, description: str):
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} steps"),
                  TimeElapsedColumn(), transient=True) as prog:
        task = prog.add_task(description, total=total)
        yield (prog, task)


def simulate_lava(net: Network, x_tbi: np.ndarray, *, builtins: bool = True, progress: bool = False,
                  samples_per_run: int | None = None, timings: dict | None = None,
                  lengths: np.ndarray | None = None, **options: Any) -> tuple[np.ndarray, ActivityStats]:
    """Run ``net`` on ``x_tbi`` (T, B, I) float64 with real Lava processes; return (y (T, B, O), stats).

    Args:
        net: float or fixed-point network ('floating_pt' / bit-accurate 'fixed_pt' models).
        x_tbi: input in the canonical layout (fixed-point networks quantise it as the fast simulator does).
        builtins: use Lava's own LIF / SigmaDelta where they fit (then every batch item runs on its own);
            False uses the project's Processes only (a whole batch per run).
        progress: show a rich progress bar (off by default).
        samples_per_run: batch items per Lava run when only the project's Processes are used (default: all).
        lengths: optional (B,) valid lengths; padding steps after them are not counted in the stats.
        timings: a dict to fill with ``runs``, ``steps`` (Lava steps), ``build_s`` (creating processes),
            ``compile_s`` (compile + process start-up), ``run_s`` (stepping), ``stop_s``, ``total_s``.

    Returns:
        ``(y, stats)`` exactly as :func:`spikernn.hardware.fast.simulate_fast` returns them.
    """
    if options:
        raise TypeError(f"simulate_lava got unknown options {sorted(options)}")
    from spikernn.hardware import neurons as N
    from spikernn.hardware.fast import depths, replay_messages

    net.validate()
    x = np.asarray(x_tbi, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"x must be (T, B, I), got shape {x.shape}")
    T, B, _ = x.shape
    prec = net.precision
    fixed = prec == "fixed"
    dt = np.int64 if fixed else np.float64
    depth = depths(net)
    for b in net.synapses:
        src, tgt = net.population(b.source), net.population(b.target)
        if tgt.kind == "input":
            raise ValueError(f"synapse block {b.name!r} targets the input population")
        if src.kind != "input" and src.stage == tgt.stage and src.reverse != tgt.reverse:
            raise ValueError(f"synapse block {b.name!r} connects populations of opposite time direction in the "
                             "same stage; put the target in a later stage")
    plan = lava_population_plan(net, builtins)
    uses_builtin = any(v.startswith("lava.") for v in plan.values())

    # ---- host side of the input population (as the fast simulator) --------------------------------------
    inp = net.population(net.input)
    if fixed:
        from spikernn.hardware.fixed_point import quantize_input

        xin = quantize_input(net, x)
    else:
        xin = x
    iprm = N.prepare_params("input", inp.params, inp.attrs, prec, size=inp.size)
    sent: dict[str, np.ndarray] = {}
    values: dict[str, np.ndarray] = {}
    masks: dict[str, np.ndarray] = {}
    if iprm["_enc"] == "value":
        sent[inp.name], values[inp.name], masks[inp.name] = xin, xin, xin != 0
    else:
        st = N.init_state("input", inp.size, B, iprm, inp.attrs, prec)
        o_all, v_all, m_all = np.empty_like(xin), np.empty_like(xin), np.empty(xin.shape, bool)
        for t in range(T):
            st, o, m = N.step_input(st, {"x": xin[t]}, iprm, inp.attrs, prec)
            o_all[t], m_all[t], v_all[t] = o, m, st["sent"]
        sent[inp.name], values[inp.name], masks[inp.name] = o_all, v_all, m_all

    t_start = time.perf_counter()
    tim = {"runs": 0, "steps": 0, "build_s": 0.0, "compile_s": 0.0, "run_s": 0.0, "stop_s": 0.0}
    tmpdir = tempfile.mkdtemp(prefix="spikernn-lava-", dir=_record_dir(net, T, B))
    try:
        for stage in net.stages:
            pops = [p for p in net.populations if p.stage == stage and p.kind != "input"]
            if not pops:
                continue
            names = {p.name for p in pops}
            # host streams: (source, flip) -> messages (T, B, n) in the target's own time
            streams: dict[tuple[str, bool], np.ndarray] = {}
            for b in net.synapses:
                if b.target not in names:
                    continue
                src, tgt = net.population(b.source), net.population(b.target)
                if src.kind == "input" or src.stage < stage:
                    key = (src.name, src.reverse != tgt.reverse)
                    if key not in streams:
                        streams[key] = replay_messages(values[src.name], src.graded, key[1], sent[src.name])
            host_index, lo = {}, 0
            for key, m in streams.items():
                host_index[key] = (lo, lo + m.shape[2])
                lo += m.shape[2]
            n_host = max(lo, 1)
            host_all = np.zeros((T, B, n_host), dt)
            for key, (a, c) in host_index.items():
                host_all[:, :, a:c] = streams[key]
            dmax = max(depth[p.name] for p in pops)
            period = T + dmax
            per_run = 1 if uses_builtin else max(1, min(B, samples_per_run or B))
            outs = {p.name: np.zeros((T, B, p.size), dt) for p in pops}
            vals = {p.name: np.zeros((T, B, p.size), dt) for p in pops}
            msks = {p.name: np.zeros((T, B, p.size), bool) for p in pops}
            runs = [(s, min(B, s + per_run)) for s in range(0, B, per_run)]
            total_steps = sum((e - s) * period for s, e in runs)
            with _progress_bar(progress, total_steps, f"Lava stage {stage} ({prec})") as bar:
                done = 0
                for s, e in runs:
                    n = e - s
                    data = np.zeros((n_host, n * period), dt)
                    for j in range(n):
                        data[:, j * period:j * period + T] = host_all[:, s + j, :].T
                    if fixed:
                        data = data.astype(np.int32)
                    tb = time.perf_counter()
                    host, procs, recs = _build_stage(net, stage, data, host_index, depth, T, period, n, plan,
                                                     tmpdir)
                    from spikernn.hardware.lava_processes import models_for

                    tim["build_s"] += time.perf_counter() - tb
                    cb = None
                    if bar is not None:
                        prog, task = bar
                        cb = (lambda d, base=done: prog.update(task, completed=base + d))
                    info = run_processes(host, n * period, prec, model_map=models_for(prec),
                                  what=f"Lava stage {stage} of network (batch items {s}..{e - 1})",
                                  progress=cb, chunks=20 if bar is not None else 1)
                    done += n * period
                    tim["runs"] += 1
                    for k in ("steps", "compile_s", "run_s", "stop_s"):
                        tim[k] += info[k]
                    res = _read_records(recs, prec, T, period, n)
                    for name, (o, v, m) in res.items():
                        outs[name][:, s:e], vals[name][:, s:e], msks[name][:, s:e] = o, v, m
                    for f in os.listdir(tmpdir):
                        os.unlink(os.path.join(tmpdir, f))
            for p in pops:
                sent[p.name], values[p.name], masks[p.name] = outs[p.name], vals[p.name], msks[p.name]
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if timings is not None:
            tim["total_s"] = time.perf_counter() - t_start
            timings.update(tim)

    # ---- output (aligned, reverse flipped back, dequantised) ----------------------------------------------
    ys = []
    for name in net.outputs:
        P = net.population(name)
        v = values[name][::-1] if P.reverse else values[name]
        if fixed:
            from spikernn.hardware.fixed_point import output_scale

            v = v.astype(np.float64) * output_scale(P)
        ys.append(np.asarray(v, dtype=np.float64))
    y = np.concatenate(ys, axis=2) if len(ys) > 1 else np.ascontiguousarray(ys[0])
    return y, _stats(net, masks, T, B, lengths)


def _record_dir(net: Network, T: int, B: int) -> str | None:
    """/dev/shm (RAM) for the records when it has room for them (4x margin), else the default temp dir."""
    need = sum(p.size for p in net.populations) * (T + 8) * B * 17 * 4
    try:
        if os.path.isdir("/dev/shm") and shutil.disk_usage("/dev/shm").free > need:
            return "/dev/shm"
    except OSError:
        pass
    return None


def _stats(net: Network, masks: dict[str, np.ndarray], T: int, B: int,
           lengths: np.ndarray | None = None) -> ActivityStats:
    """Activity counted exactly as the fast simulator counts it (the shared :func:`count_activity`)."""
    return count_activity(net, masks, T, B, lengths=lengths, graded_bits=GRADED_MESSAGE_BITS)


# --------------------------------------------------------------------------------------------------------
# doctor
# --------------------------------------------------------------------------------------------------------

def reference_recurrent_lif(x: np.ndarray, w_in: np.ndarray, w_rec: np.ndarray, decay: float, vth: float,
                            precision: str, dv: int = 0, vth_int: int = 0) -> np.ndarray:
    """numpy reference of source -> Dense -> LIF <-> Dense in Lava's timing (spikes (steps, n)).

    Float: u = a_in; v = v*(1-dv) + u; spike v > vth; v = 0 on spike. Fixed: Lava's bit-accurate LIF with
    du = 4095, integer weights (w_in, w_rec), ``dv`` and ``vth_int``. ``x`` is (steps, n_in) as sent.
    """
    steps, n = x.shape[0], w_in.shape[0]
    s = np.zeros((steps, n))
    a_in_buf = np.zeros(n)
    a_rec_buf = np.zeros(n)
    v = np.zeros(n)
    fixed = precision == "fixed"
    if fixed:
        v = np.zeros(n, np.int64)
    prev_s = np.zeros(n)
    for t in range(steps):
        a = a_in_buf + a_rec_buf  # Dense sends what it accumulated at t-1
        a_in_buf = w_in @ x[t]
        if fixed:
            dec = v * (4096 - dv)
            v = np.sign(dec) * (np.abs(dec) >> 12) + (a.astype(np.int64) << 6)
            v = np.clip(v, -(2 ** 23 - 1), 2 ** 23 - 1)
            sp = v > (vth_int << 6)
        else:
            v = v * (1 - (1 - decay)) + a
            sp = v > vth
        v = np.where(sp, 0, v)
        s[t] = sp
        prev_s = sp.astype(np.float64)
        a_rec_buf = w_rec @ prev_s
    return s


def smoke_test(precision: str = "float", steps: int = 30) -> dict:
    """Run a tiny recurrent LIF network (RingBuffer -> Dense -> LIF <-> Dense, recorded) on Lava in
    ``precision`` ("float" or "fixed") and compare its spikes with a numpy reference.

    Returns ``{"precision", "seconds", "steps", "ok", "spikes", "error"}`` (never raises for a failed run).
    """
    t0 = time.perf_counter()
    res = {"precision": precision, "steps": steps, "ok": False, "seconds": 0.0, "spikes": 0, "error": None}
    try:
        from spikernn.hardware.lava_compat import ensure_lava

        ensure_lava()
        from lava.proc.dense.process import Dense
        from lava.proc.io.source import RingBuffer
        from lava.proc.lif.process import LIF
        from lava.utils.weightutils import SignMode

        from spikernn.hardware import lava_processes as LP

        rng = np.random.default_rng(0)
        n_in, n = 3, 5
        fixed = precision == "fixed"
        x = (rng.random((steps, n_in)) < 0.5).astype(np.float64)
        if fixed:
            w_in = rng.integers(10, 60, (n, n_in))
            w_rec = rng.integers(-40, 40, (n, n))
            dv, vth = 600, 80
            src = RingBuffer(data=x.T.astype(np.int32))
            d_in = Dense(weights=2 * w_in, weight_exp=-1, sign_mode=SignMode.MIXED)
            lif = LIF(shape=(n,), du=4095, dv=dv, vth=vth)
            d_rec = Dense(weights=2 * w_rec, weight_exp=-1, sign_mode=SignMode.MIXED)
            ref = reference_recurrent_lif(x, w_in, w_rec, 0.0, 0.0, "fixed", dv=dv, vth_int=vth)
        else:
            w_in = rng.uniform(0.2, 0.9, (n, n_in))
            w_rec = rng.uniform(-0.5, 0.5, (n, n))
            decay, vth = 0.8, 1.0
            src = RingBuffer(data=x.T)
            d_in = Dense(weights=w_in)
            lif = LIF(shape=(n,), du=1.0, dv=1.0 - decay, vth=vth)
            d_rec = Dense(weights=w_rec)
            ref = reference_recurrent_lif(x, w_in, w_rec, decay, vth, "float")
        tmp = tempfile.mkdtemp(prefix="spikernn-smoke-")
        try:
            path = os.path.join(tmp, "rec")
            np.memmap(path, dtype=LP.record_dtype(precision), mode="w+", shape=(steps, n)).flush()
            rec = LP.Recorder(size=n, steps=steps, precision=precision, record_path=path)
            src.s_out.connect(d_in.s_in)
            d_in.a_out.connect(lif.a_in)
            lif.s_out.connect(d_rec.s_in)
            d_rec.a_out.connect(lif.a_in)
            lif.s_out.connect(rec.a_in)
            run_processes(lif, steps, precision, model_map=LP.models_for(precision), what="smoke test")
            s = np.array(np.memmap(path, dtype=LP.record_dtype(precision), mode="r", shape=(steps, n)))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        res["spikes"] = int((s != 0).sum())
        res["ok"] = bool(np.array_equal(s != 0, ref != 0)) and res["spikes"] > 0
        if not res["ok"]:
            res["error"] = "spikes differ from the numpy reference" if res["spikes"] else "no spikes"
    except Exception as e:  # noqa: BLE001 - doctor reports, does not crash
        res["error"] = f"{type(e).__name__}: {e}"
    res["seconds"] = round(time.perf_counter() - t0, 3)
    return res
