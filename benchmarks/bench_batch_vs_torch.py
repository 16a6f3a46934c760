"""The fast simulator against the torch model it came from: batch 256, T=100, 40 inputs, 2 layers of 128.

    .venv/bin/python benchmarks/bench_batch_vs_torch.py [--models spiking_lstm,...] [--repeats 5] [--clock cpu|wall]
        [--threads 1]

For each model (SpikingLSTM / SpikingGRU / SpikingRNN with default neuron options, dense nn.LSTM / nn.GRU converted
to sigma-delta at threshold 0), converted with ``to_lava`` in fixed and float precision: the median time of
``net.simulate(x, backend="fast")`` (the compiled engine; the numpy engine beside it) over the median time of the
torch model's ``torch.no_grad()`` forward on the same input, measured interleaved in one run. Targets (issue 14):
<= 1.0 for the spiking models, <= 1.5 for the converted dense ones. The default clock is process CPU time with one
thread on both sides (other jobs on a shared machine barely move it); ``--clock wall`` measures wall time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings

import numpy as np
import torch

CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
TARGET = {"spiking_lstm": 1.0, "spiking_gru": 1.0, "spiking_rnn": 1.0, "dense_lstm": 1.5, "dense_gru": 1.5}


def build(name: str, I: int, H: int):
    import spikernn as snr

    return {"spiking_lstm": lambda: snr.SpikingLSTM(I, H, num_layers=2),
            "spiking_gru": lambda: snr.SpikingGRU(I, H, num_layers=2),
            "spiking_rnn": lambda: snr.SpikingRNN(I, H, num_layers=2),
            "dense_lstm": lambda: torch.nn.LSTM(I, H, num_layers=2),
            "dense_gru": lambda: torch.nn.GRU(I, H, num_layers=2)}[name]()


def median_time(fn, repeats: int, clock) -> float:
    ts = []
    for _ in range(repeats):
        t0 = clock()
        fn()
        ts.append(clock() - t0)
    return statistics.median(ts)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(TARGET))
    ap.add_argument("--B", type=int, default=256)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--clock", default="cpu", choices=list(CLOCK))
    ap.add_argument("--threads", type=int, default=1, help="torch threads and fast-simulator workers")
    ap.add_argument("--no-numpy", action="store_true", help="skip the numpy engine column")
    a = ap.parse_args(argv)
    from spikernn import converters
    from spikernn.hardware import compiled
    from spikernn.hardware.backends import get_backend
    from spikernn.hardware.fast import compile_network

    torch.set_num_threads(a.threads)
    clock = CLOCK[a.clock]
    fast = get_backend("fast")
    torch.manual_seed(0)
    x = torch.randn(a.T, a.B, 40)
    xn = x.numpy().astype(np.float64)
    print(f"batch {a.B}, T={a.T}, 40 inputs, 2 layers of 128; {a.threads} thread(s) on both sides, {a.clock} clock, "
          f"median of {a.repeats}; engine {compiled.info()['engine']}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores")
    res = {}
    for name in a.models.split(","):
        model = build(name, 40, 128).eval()
        for precision in ("fixed", "float"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net = converters.to_lava(model, precision=precision, calibration_x=x[:, :64]) \
                    if precision == "fixed" else converters.to_lava(model)
            plan = compile_network(net)
            run = lambda engine: fast.simulate(net, xn, plan=plan, engine=engine, workers=a.threads)  # noqa: E731
            run("auto")  # compile / load the kernels
            with torch.no_grad():
                model(x)
                rate = float(model(x)[0].float().mean()) if name.startswith("spiking") else None
            t_torch, t_fast, t_np = [], [], []
            for _ in range(a.repeats):  # interleaved: load from other jobs hits both sides alike
                with torch.no_grad():
                    t_torch.append(median_time(lambda: model(x), 1, clock))
                t_fast.append(median_time(lambda: run("auto"), 1, clock))
            if not a.no_numpy:
                t_np.append(median_time(lambda: run("numpy"), 1, clock))
            tt, tf = statistics.median(t_torch), statistics.median(t_fast)
            r = tf / tt
            ok = "OK" if r <= TARGET[name] else "MISSED"
            extra = f"; numpy engine {statistics.median(t_np) * 1e3:7.1f} ms ({statistics.median(t_np) / tt:5.2f})" \
                if t_np else ""
            spikes = f"; firing rate {rate:.2f}" if rate is not None else ""
            print(f"{name:13s} {precision:5s}: torch {tt * 1e3:7.1f} ms, fast {tf * 1e3:7.1f} ms -> fast/torch "
                  f"{r:5.2f} (target <= {TARGET[name]}: {ok}; range {min(t_fast) / max(t_torch):.2f}-"
                  f"{max(t_fast) / min(t_torch):.2f}){extra}{spikes}", flush=True)
            res[f"{name}-{precision}"] = r
    return res


if __name__ == "__main__":
    main()
