"""CPU speed of spiking layers vs torch.nn: forward + backward, B=32, T=100, I=40, H=128 (median of repeats).

Prints SpikingLSTM / nn.LSTM (target <= 1.7 at 1 thread, CPU time, and at 2 threads, wall time; goal 1.5; issue
14) and SpikingGRU / nn.GRU (target <= 2.0) ratios, SpikingRNN / nn.RNN (LIF soma, and adLIF, the default), and snntorch's
SLSTM and RLeaky (time-stepped in Python, as snntorch is used) in the same run. The header says whether the fused
LSTM ran its numba kernels (:func:`spikernn.fused.uses_compiled`) and which GEMM the fused path chose.

    .venv/bin/python benchmarks/bench_speed_cells.py [--threads 1] [--repeats 15] [--T 100] [--quick]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch


CLOCK = {"wall": time.perf_counter, "cpu": time.process_time}
TARGETS = {"LSTM": 1.7, "GRU": 2.0}  # Spiking<name> / nn.<name>, fwd+bwd (module docstring)


def timeit(fn, repeats: int, warmup: int = 3, clock: str = "cpu") -> float:
    """Median time of ``fn()`` in milliseconds: "cpu" = CPU time of this process (robust on a shared machine
    with 1 thread), "wall" = wall-clock time."""
    now = CLOCK[clock]
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = now()
        fn()
        ts.append(now() - t0)
    return statistics.median(ts) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--B", type=int, default=32)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--I", type=int, default=40)
    ap.add_argument("--H", type=int, default=128)
    ap.add_argument("--quick", action="store_true", help="5 repeats")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="cpu: process CPU time (default; other jobs on a shared machine barely disturb it); wall")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    repeats = 5 if a.quick else a.repeats
    import snntorch as snn

    import spikernn as snr

    torch.manual_seed(0)
    B, T, I, H = a.B, a.T, a.I, a.H
    x = torch.randn(T, B, I)
    print(f"CPU fwd+bwd, B={B} T={T} I={I} H={H}, torch {torch.__version__}, torch threads={torch.get_num_threads()}, "
          f"median of {repeats}, clock={a.clock}")
    from spikernn import fused

    engine = "numba kernels" if fused.compiled_kernels() is not None else "torch loop (no numba kernels)"
    print(f"fused LSTM: {engine}; step GEMMs: {'oneDNN' if fused._use_onednn(x) else 'torch default (MKL/BLAS)'}")
    if engine == "numba kernels":
        K = fused.compiled_kernels()
        openmp = getattr(fused, "SPLIT_OPENMP", False) and fused._gomp_parallel() is not None
        halves = "torch's OpenMP team" if openmp else "a Python worker thread"
        bptt = "one kernel call per batch half (MKL sgemm)" if getattr(K, "HAVE_SGEMM", False) else "Python step loop"
        print(f"fused backward: {bptt}; batch halves at >= 2 threads on {halves}")

    def layer_fn(m):
        def f():
            out, _ = m(x)
            out.sum().backward()
        return f

    results: dict[str, float] = {}
    rates: dict[str, float] = {}
    pairs = [("LSTM", torch.nn.LSTM, snr.SpikingLSTM, {}), ("GRU", torch.nn.GRU, snr.SpikingGRU, {}),
             ("RNN", torch.nn.RNN, snr.SpikingRNN, {"neuron": "lif"}),
             ("RNN adLIF", torch.nn.RNN, snr.SpikingRNN, {"neuron": "adlif"})]  # adLIF: SpikingRNN's default soma
    # interleave the measurements so that load from other processes hits both sides alike
    for name, dense_cls, spk_cls, opts in pairs:
        dense, spk = dense_cls(I, H), spk_cls(I, H, threshold=0.1, **opts)
        d_ts, s_ts = [], []
        for _ in range(3):
            d_ts.append(timeit(layer_fn(dense), max(1, repeats // 3), clock=a.clock))
            s_ts.append(timeit(layer_fn(spk), max(1, repeats // 3), clock=a.clock))
        results[f"nn.{name.split()[0]}" + (" (again)" if f"nn.{name.split()[0]}" in results else "")] = \
            statistics.median(d_ts)
        results[f"Spiking{name}"] = statistics.median(s_ts)
        with torch.no_grad():
            rates[f"Spiking{name}"] = float(spk(x)[0].mean())
        spk.fused = False
        results[f"Spiking{name} (step path)"] = timeit(layer_fn(spk), max(1, repeats // 3), clock=a.clock)

    slstm = snn.SLSTM(I, H)
    def f_slstm():
        syn, mem = slstm.reset_mem()
        outs = []
        for t in range(T):
            spk, syn, mem = slstm(x[t], syn, mem)
            outs.append(spk)
        torch.stack(outs).sum().backward()
    results["snntorch SLSTM"] = timeit(f_slstm, max(1, repeats // 3), clock=a.clock)

    fc = torch.nn.Linear(I, H)
    rleaky = snn.RLeaky(beta=0.9, linear_features=H)
    def f_rleaky():
        spk, mem = rleaky.init_rleaky()
        outs = []
        cur = fc(x)
        for t in range(T):
            spk, mem = rleaky(cur[t], spk, mem)
            outs.append(spk)
        torch.stack(outs).sum().backward()
    results["snntorch RLeaky (+Linear input)"] = timeit(f_rleaky, max(1, repeats // 3), clock=a.clock)

    width = max(map(len, results))
    for k, v in results.items():
        extra = f"   firing rate {rates[k]:.3f}" if k in rates else ""
        print(f"  {k:<{width}}  {v:8.2f} ms{extra}")
    for name, dense in (("LSTM", "nn.LSTM"), ("GRU", "nn.GRU"), ("RNN", "nn.RNN"), ("RNN adLIF", "nn.RNN (again)")):
        r = results[f"Spiking{name}"] / results[dense]
        name = f"{name}/{dense.split()[0]}" if name == "RNN adLIF" else f"{name}/nn.{name}"
        target = TARGETS.get(name.split("/")[0])
        tag = "" if target is None else f"  (target <= {target}: " + ("PASS" if r <= target else "FAIL") + ")"
        print(f"ratio Spiking{name} = {r:.2f} (threads={torch.get_num_threads()}, {a.clock} time){tag}")


if __name__ == "__main__":
    main()
