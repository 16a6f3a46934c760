"""A network stage as a Lava process graph (lava-nc 0.10.0), and reading back what its processes recorded.

Per stage (:func:`build_stage`):

* one host source (``lava.proc.io.source.RingBuffer``) holding every stream that comes from the host: the
  encoded input (graded values) and, for later stages, the recorded outputs of earlier stages;
* a ``lava.proc.dense.process.Dense`` per synapse block (graded, ``num_message_bits =``
  :data:`~spikernn.hardware.kinds.spec.GRADED_MESSAGE_BITS`, where the source does not send binary spikes;
  fixed point: ``weights=2*m, weight_exp=e-1, sign_mode=MIXED``, exact signed 8-bit,
  :func:`spikernn.hardware.synapses.lava_dense_args`). Blocks from the host are Dense processes over the whole
  host vector (the block's weights in its columns, zeros elsewhere), so that a stage is one connected graph;
* per population Lava's own ``LIF`` (reset "zero", no adaptation, no bias, one decay and threshold) or
  ``SigmaDelta`` (relu, no bias) where they fit (:func:`lava_population_plan`), the project's own Processes
  (:mod:`spikernn.hardware.lava_processes`) otherwise, each with a record.

Lava's bit-accurate Dense accumulates in int32 (then shifts by weight_exp); the fast simulator uses int64. They
agree while ``sum(|2 m| * |payload|)`` of a row stays below 2**31, which the scales chosen by
:func:`spikernn.hardware.fixed_point.quantize` give for the networks tested here; a host block that could
overflow gets a warning. Importing this module does not import Lava; building a stage does.
"""
from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from spikernn.hardware.kinds.spec import GRADED_MESSAGE_BITS, uniform
from spikernn.hardware.network import Network, Population
from spikernn.hardware.timing import is_external


def lif_fits(pop: Population, precision: str) -> bool:
    """Lava's LIF fits: reset "zero", no adaptation, no bias (it could not stay idle before its start step),
    and one decay and threshold for the whole population (Lava's du, dv, vth are scalars)."""
    if pop.kind != "lif":
        return False
    values, settings = pop.spec.resolve(pop.params, pop.attrs, precision, pop.size, where=pop.where())
    if settings["reset"] != "zero" or np.any(values["adapt_scale"] != 0):
        return False
    if precision == "fixed":
        return (not np.any(values["bias_mant"] != 0) and bool(np.all(values["du"] == 4095))
                and uniform(values["dv"]) and uniform(values["vth"]))
    return not np.any(values["bias"] != 0) and uniform(values["decay"]) and uniform(values["threshold"])


def sigma_delta_fits(pop: Population, precision: str) -> bool:
    """Lava's SigmaDelta fits: an ``sd_rnn`` with relu and no bias."""
    if pop.kind != "sd_rnn":
        return False
    values, settings = pop.spec.resolve(pop.params, pop.attrs, precision, pop.size, where=pop.where())
    return settings["activation"] == "relu" and not np.any(values["bias"] != 0)


def lava_population_plan(net: Network, builtins: bool = True) -> dict[str, str]:
    """Which Lava process each population becomes: "lava.LIF", "lava.SigmaDelta", the project's Process
    class name, or "host" (the input population is fed by the host source)."""
    from spikernn.hardware import lava_processes as LP  # noqa: F401 - imports Lava

    out = {}
    for p in net.populations:
        if p.kind == "input":
            out[p.name] = "host"
        elif builtins and lif_fits(p, net.precision):
            out[p.name] = "lava.LIF"
        elif builtins and sigma_delta_fits(p, net.precision):
            out[p.name] = "lava.SigmaDelta"
        else:
            out[p.name] = LP.PROCESS_FOR_KIND[p.kind].__name__
    return out


@dataclass
class StageRecord:
    """Where a population's record is and how to read it."""

    name: str
    size: int
    path: str
    builtin: str | None  # None (project process), "lif" or "sd"
    start: int


def build_stage(net: Network, stage: int, host_data: np.ndarray, host_index: dict, depth: dict, T: int,
                period: int, samples: int, plan: dict, tmpdir: str):
    """Create the Lava processes of one stage. Returns (host source, processes by population, records)."""
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
    recs: dict[str, StageRecord] = {}
    steps = period * samples
    for p in pops:
        path = os.path.join(tmpdir, f"s{stage}_{len(recs)}.rec")
        choice = plan[p.name]
        if choice in ("lava.LIF", "lava.SigmaDelta"):
            values, settings = p.spec.resolve(p.params, p.attrs, prec, p.size, where=p.where())
            if choice == "lava.LIF" and fixed:
                proc = LIF(shape=(p.size,), du=4095, dv=int(values["dv"][0]), vth=int(values["vth"][0]),
                           bias_mant=0, bias_exp=0, name=p.name)
            elif choice == "lava.LIF":
                proc = LIF(shape=(p.size,), du=1.0, dv=1.0 - float(values["decay"][0]),
                           vth=float(values["threshold"][0]), bias_mant=0.0, name=p.name)
            else:  # Lava's SigmaDelta sends on |delta| >= vth, the kind on > delta_threshold
                thr = settings["delta_threshold"]
                proc = SigmaDelta(shape=(p.size,), vth=(int(thr) + 1) if fixed else float(thr), bias=0,
                                  act_mode=ActivationMode.RELU, name=p.name)
            rec_proc = LP.Recorder(size=p.size, steps=steps, precision=prec, record_path=path)
            proc.s_out.connect(rec_proc.a_in)
            np.memmap(path, dtype=LP.record_dtype(prec), mode="w+", shape=(steps, p.size)).flush()
            recs[p.name] = StageRecord(p.name, p.size, path, "lif" if choice == "lava.LIF" else "sd", depth[p.name])
        else:
            LP.create_record(path, samples, T, p.size, prec)
            proc = LP.PROCESS_FOR_KIND[p.kind](size=p.size, params=p.params, attrs=p.attrs, precision=prec,
                                               start=depth[p.name], active=T, period=period, samples=samples,
                                               record_path=path, label=p.name, name=p.name)
            recs[p.name] = StageRecord(p.name, p.size, path, None, depth[p.name])
        procs[p.name] = proc

    n_host = host_data.shape[0]
    for b in net.synapses:
        if b.target not in names:
            continue
        tgt, src = net.population(b.target), net.population(b.source)
        external = is_external(net, b, stage)
        w = np.asarray(b.weights, dtype=np.float64)
        if external:
            lo, hi = host_index[(b.source, src.reverse != tgt.reverse)]
            full = np.zeros((w.shape[0], n_host), dtype=np.float64)
            full[:, lo:hi] = w
            w, graded = full, True
        else:
            graded = not src.spec.spiking
        bits = GRADED_MESSAGE_BITS if graded else 0
        if fixed:
            args = lava_dense_args(w, b.weight_exp)
            if external:
                peak = float(np.abs(host_data).max(initial=0)) * float(np.abs(args["weights"]).sum(axis=1).max(initial=0))
                if peak >= 2.0 ** 31:
                    warnings.warn(f"synapse block {b.name!r}: Lava's bit-accurate Dense accumulates in int32 and may "
                                  f"overflow here (|2m|.|x| up to {peak:.3g}); results can differ from the fast "
                                  "simulator. Quantise with a smaller input range.", RuntimeWarning, stacklevel=2)
            dense = Dense(weights=args["weights"], weight_exp=args["weight_exp"],
                          num_weight_bits=args["num_weight_bits"], sign_mode=SignMode[args["sign_mode"]],
                          num_message_bits=bits, name=f"dense:{b.name}")
        else:
            dense = Dense(weights=w, num_message_bits=bits, name=f"dense:{b.name}")
        (host.s_out if external else procs[b.source].s_out).connect(dense.s_in)
        target = procs[b.target]
        dense.a_out.connect(target.a_in if b.port == "in" else target.a_rec)
    return host, procs, recs


def read_records(recs: dict[str, StageRecord], prec: str, T: int, period: int, samples: int):
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


def record_dir(net: Network, T: int, B: int) -> str | None:
    """/dev/shm (RAM) for the records when it has room for them (4x margin), else the default temp dir."""
    need = sum(p.size for p in net.populations) * (T + 8) * B * 17 * 4
    try:
        if os.path.isdir("/dev/shm") and shutil.disk_usage("/dev/shm").free > need:
            return "/dev/shm"
    except OSError:
        pass
    return None
