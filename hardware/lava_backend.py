"""The Lava backend: a :class:`~spikernn.hardware.network.Network` run as real Lava processes (lava-nc 0.10.0)
under ``Loihi2SimCfg`` - 'floating_pt' for float networks, bit-accurate 'fixed_pt' for fixed-point ones.

``net.run(x, backend="lava")`` (or :func:`simulate_lava`) runs every stage as a Lava graph
(:mod:`spikernn.hardware.lava_graph`) fed by a host source with the encoded input and, for later stages, the
host replays of earlier stages (:func:`~spikernn.hardware.backends.base.host_streams`); the run itself is
supervised by :func:`spikernn.hardware.lava_supervision.run_processes` (always stopped, failures named;
SIGINT/SIGTERM/SIGHUP stop it and are re-raised after the cleanup; ``stall_timeout`` stops a stalled run:
:func:`~spikernn.hardware.lava_supervision.stop_on_signals`).

Timing is the shared contract (:mod:`spikernn.hardware.timing`): every Dense adds one step; a population at
depth k handles input step t at Lava step t+k and is idle before. Lava runs one input at a time: networks made
only of the project's Processes run a whole batch in one Lava run (the neurons reset themselves every
``T + depth`` steps); with Lava's LIF/SigmaDelta each batch item gets its own run. Results are read in bulk
(memory-mapped records), never through ``Var.get()``. Importing this module does not import Lava; the first
run does.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from contextlib import contextmanager
from typing import Any

import numpy as np

from spikernn.hardware.backends.base import Backend, Encoded, Recording, host_streams
from spikernn.hardware.lava_graph import build_stage, lava_population_plan, read_records, record_dir
from spikernn.hardware.lava_supervision import run_processes, stop_on_signals
from spikernn.hardware.network import Network
from spikernn.hardware.stats import ActivityStats
from spikernn.hardware.timing import check_directions, depths


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


class LavaBackend(Backend):
    """Real Lava processes (module docstring)."""

    name = "lava"

    def execute(self, net: Network, x: np.ndarray, encoded: Encoded, *, builtins: bool = True,
                progress: bool = False, samples_per_run: int | None = None,
                timings: dict | None = None, stall_timeout: float | None = None) -> Recording:
        """Run ``net`` with real Lava processes.

        Args:
            builtins: use Lava's own LIF / SigmaDelta where they fit (then every batch item runs on its own);
                False uses the project's Processes only (a whole batch per run).
            progress: show a rich progress bar (off by default).
            samples_per_run: batch items per Lava run when only the project's Processes are used (default: all).
            stall_timeout: seconds a run may go without finishing a chunk of steps before it is stopped
                with :class:`~spikernn.hardware.lava_supervision.LavaTimeoutError` (default: no limit).
            timings: a dict to fill with ``runs``, ``steps`` (Lava steps), ``build_s`` (creating processes),
                ``compile_s`` (compile + process start-up), ``run_s`` (stepping), ``stop_s``, ``total_s``.
        """
        from spikernn.hardware.lava_processes import models_for  # imports Lava

        net.validate()
        T, B, _ = x.shape
        prec = net.precision
        dt = np.int64 if prec == "fixed" else np.float64
        check_directions(net)
        depth = depths(net)
        plan = lava_population_plan(net, builtins)
        uses_builtin = any(v.startswith("lava.") for v in plan.values())
        rec = Recording(masks={net.input: encoded.masks}, values={net.input: encoded.values},
                        sent={net.input: encoded.sent})
        t_start = time.perf_counter()
        tim = {"runs": 0, "steps": 0, "build_s": 0.0, "compile_s": 0.0, "run_s": 0.0, "stop_s": 0.0}
        # SIGINT/SIGTERM: every run's teardown and the records' removal first, then the signal (re-)raised
        with stop_on_signals():
            tmpdir = tempfile.mkdtemp(prefix="spikernn-lava-", dir=record_dir(net, T, B))
            try:
                for stage in net.stages:
                    pops = [p for p in net.populations if p.stage == stage and p.kind != "input"]
                    if not pops:
                        continue
                    streams = host_streams(net, stage, rec)
                    host_index, lo = {}, 0
                    for key, m in streams.items():
                        host_index[key] = (lo, lo + m.shape[2])
                        lo += m.shape[2]
                    host_all = np.zeros((T, B, max(lo, 1)), dt)
                    for key, (a, c) in host_index.items():
                        host_all[:, :, a:c] = streams[key]
                    period = T + max(depth[p.name] for p in pops)
                    per_run = 1 if uses_builtin else max(1, min(B, samples_per_run or B))
                    outs = {p.name: np.zeros((T, B, p.size), dt) for p in pops}
                    vals = {p.name: np.zeros((T, B, p.size), dt) for p in pops}
                    msks = {p.name: np.zeros((T, B, p.size), bool) for p in pops}
                    runs = [(s, min(B, s + per_run)) for s in range(0, B, per_run)]
                    steps_total = sum((e - s) * period for s, e in runs)
                    with _progress_bar(progress, steps_total, f"Lava stage {stage} ({prec})") as bar:
                        done = 0
                        for s, e in runs:
                            n = e - s
                            data = np.zeros((host_all.shape[2], n * period), dt)
                            for j in range(n):
                                data[:, j * period:j * period + T] = host_all[:, s + j, :].T
                            if prec == "fixed":
                                data = data.astype(np.int32)
                            tb = time.perf_counter()
                            host, _, recs = build_stage(net, stage, data, host_index, depth, T, period, n, plan, tmpdir)
                            tim["build_s"] += time.perf_counter() - tb
                            cb = None
                            if bar is not None:
                                prog, task = bar
                                cb = (lambda d, base=done: prog.update(task, completed=base + d))
                            info = run_processes(host, n * period, prec, model_map=models_for(prec),
                                                 what=f"Lava stage {stage} of network (batch items {s}..{e - 1})",
                                                 progress=cb, chunks=20 if bar is not None else 1,
                                                 stall_timeout=stall_timeout)
                            done += n * period
                            tim["runs"] += 1
                            for k in ("steps", "compile_s", "run_s", "stop_s"):
                                tim[k] += info[k]
                            for name, (o, v, m) in read_records(recs, prec, T, period, n).items():
                                outs[name][:, s:e], vals[name][:, s:e], msks[name][:, s:e] = o, v, m
                            for f in os.listdir(tmpdir):
                                os.unlink(os.path.join(tmpdir, f))
                    for p in pops:
                        n = p.name
                        rec.sent[n], rec.values[n], rec.masks[n] = outs[n], vals[n], msks[n]
            finally:
                shutil.rmtree(tmpdir, ignore_errors=True)
                if timings is not None:
                    tim["total_s"] = time.perf_counter() - t_start
                    timings.update(tim)
            return rec


def simulate_lava(net: Network, x_tbi: Any, *, lengths: np.ndarray | None = None,
                  **options: Any) -> tuple[np.ndarray, ActivityStats]:
    """Run ``net`` on ``x_tbi`` (T, B, I) with real Lava processes; return (y (T, B, O), stats) exactly as
    :func:`spikernn.hardware.fast.simulate_fast` does (options: :meth:`LavaBackend.execute`)."""
    return LavaBackend().simulate(net, x_tbi, lengths=lengths, **options)
