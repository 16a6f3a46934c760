"""Where the fused SpikingLSTM/GRU fwd+bwd spends its time: per-phase CPU time (or wall time) and page faults per
call of the benchmark's layer (B=32, T=100, I=40, H=128), the spiking layer alone in a loop (as in training).

    .venv/bin/python benchmarks/profile_fused_phases.py [--threads 1] [--cell LSTM] [--clock cpu] [--iters 30]

Phases: the fused layer's forward (``_fused_chunk``: input projection + FusedSpikingSequence), its compiled
forward and BPTT kernels, W_hh's gradient, the soma's backward set-up and parameter sums; "total fwd/bwd" are the
whole forward and ``backward()``.
"""
from __future__ import annotations

import argparse
import resource
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cell", choices=["LSTM", "GRU"], default="LSTM")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    ap.add_argument("--iters", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import spikernn as snr
    from spikernn import fused, layers

    clock = time.process_time if a.clock == "cpu" else time.perf_counter
    acc: dict[str, float] = {}

    def timed(obj, name: str, key: str) -> None:
        f = getattr(obj, name, None)
        if f is None:
            return

        def g(*args, **kw):
            t0 = clock()
            try:
                return f(*args, **kw)
            finally:
                acc[key] = acc.get(key, 0.0) + clock() - t0

        setattr(obj, name, g)

    kind = a.cell.lower()
    for n in (f"_{kind}_forward_compiled", f"_{kind}_backward_compiled", "_spike_weight_grad"):
        timed(fused, n, n)
    timed(layers, "_fused_chunk", "_fused_chunk (forward)")
    for cls in (fused._LIFSomaBackward, fused._AdLIFSomaBackward):
        for m in ("__init__", "finish"):
            timed(cls, m, f"soma backward {m}")
    torch.manual_seed(0)
    T, B, I, H = 100, 32, 40, 128
    x = torch.randn(T, B, I)
    m = getattr(snr, f"Spiking{a.cell}")(I, H, threshold=0.1)

    def run() -> None:
        t0 = clock()
        out, _ = m(x)
        loss = out.sum()
        t1 = clock()
        loss.backward()
        acc["total fwd"] = acc.get("total fwd", 0.0) + t1 - t0
        acc["total bwd"] = acc.get("total bwd", 0.0) + clock() - t1

    for _ in range(5):
        run()
    acc.clear()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(a.iters):
        run()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    print(f"Spiking{a.cell} fwd+bwd, threads={a.threads}, {a.clock} time, mean of {a.iters}, spikernn {snr.__file__}")
    print(f"  page faults/call {(r1.ru_minflt - r0.ru_minflt) / a.iters:.0f}, system time/call "
          f"{(r1.ru_stime - r0.ru_stime) / a.iters * 1e3:.2f} ms")
    for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
        print(f"  {k:34s} {v / a.iters * 1e3:8.3f} ms")


if __name__ == "__main__":
    main()
