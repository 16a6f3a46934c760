"""The fast simulator against the torch model it came from: batch 256, T=100, 40 inputs, 2 layers of 128.

    .venv/bin/python benchmarks/bench_batch_vs_torch.py [--models spiking_lstm,...] [--repeats 5] [--clock cpu|wall]
        [--threads 1] [--rates 0.1]

For each model (SpikingLSTM / SpikingGRU / SpikingRNN, dense nn.LSTM / nn.GRU converted to sigma-delta at
threshold 0), converted with ``to_lava`` in fixed and float precision: the median time of
``net.simulate(x, backend="fast")`` (``engine="auto"``: from batch 64 the engine it measured faster on this network,
named on the line; the numpy engine beside it) over the median time of the torch model's ``torch.no_grad()``
forward on the same input, measured interleaved in one run. Targets (issue 14):
<= 1.0 for the spiking models, <= 1.5 for the converted dense ones. The default clock is process CPU time with one
thread on both sides (other jobs on a shared machine barely move it); ``--clock wall`` measures wall time.

Activity: untrained spiking models at their default initialisation are nearly silent (firing rate < 0.005), which
flatters the sparse paths. With ``--rates R`` (default 0.1) the weights and biases of a spiking model are scaled
by one factor, found by bisection on the torch model, so that its output layer fires at a mean rate of about R
(:func:`calibrate`; the spiking LSTM/GRU get the LIF soma at threshold :data:`GATED_THRESHOLD`: their default adLIF
soma stays silent on this random input at any scale); ``--rates 0,0.1`` measures
the models as initialised too (0: unscaled). Each line prints the activity the simulator saw: events per neuron per step over the non-input populations (sigma-delta layers at
threshold 0 send nearly every step).
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


GATED_THRESHOLD = 0.5  # calibrated spiking LSTM/GRU: their soma's drive is below 1, the default threshold 1.5
# leaves them silent at any weight scale


def build(name: str, I: int, H: int, **neuron):
    import spikernn as snr

    return {"spiking_lstm": lambda: snr.SpikingLSTM(I, H, num_layers=2, **neuron),
            "spiking_gru": lambda: snr.SpikingGRU(I, H, num_layers=2, **neuron),
            "spiking_rnn": lambda: snr.SpikingRNN(I, H, num_layers=2, **neuron),
            "dense_lstm": lambda: torch.nn.LSTM(I, H, num_layers=2),
            "dense_gru": lambda: torch.nn.GRU(I, H, num_layers=2)}[name]()


def spike_rate(model, x: torch.Tensor) -> float:
    """Mean firing rate of ``model``'s output spikes (its last layer; spikes per neuron per step) on ``x``."""
    with torch.no_grad():
        return float(model(x)[0].float().mean())


def calibrate(model, x: torch.Tensor, rate: float, steps: int = 12) -> tuple[float, float]:
    """Scale the weights and biases of ``model`` in place by the one factor (bisection in log space over
    1/16 .. 64) that brings its output firing rate on ``x`` closest to ``rate``; returns (factor, rate reached)."""
    base = {n: p.detach().clone() for n, p in model.named_parameters() if n.startswith(("weight", "bias"))}

    def at(f: float) -> float:
        with torch.no_grad():
            for n, p in model.named_parameters():
                if n in base:
                    p.copy_(base[n] * f)
        return spike_rate(model, x)

    lo, hi = -4.0, 6.0  # log2 of the factor
    for _ in range(steps):
        mid = (lo + hi) / 2
        if at(2.0 ** mid) < rate:
            lo = mid
        else:
            hi = mid
    f = 2.0 ** ((lo + hi) / 2)
    return f, at(f)


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
    ap.add_argument("--rates", default="0.1", help="target firing rates of the spiking models, comma-separated "
                    "(0: as initialised)")
    a = ap.parse_args(argv)
    from spikernn.hardware import compiled
    from spikernn.hardware.backends import get_backend

    torch.set_num_threads(a.threads)
    # glibc malloc tuned up front (spikernn.fused._tune_malloc: what a spiking model's first forward sets for the whole
    # process), so that torch's baseline is the same whichever models run: a dense-only run otherwise measured an
    # untuned torch, 176 against 144 ms for the dense GRU, and a flattering ratio (round10/batch_f14float.md)
    from spikernn.fused import _tune_malloc

    malloc_tuned = _tune_malloc()
    clock = CLOCK[a.clock]
    fast = get_backend("fast")
    torch.manual_seed(0)
    x = torch.randn(a.T, a.B, 40)
    xn = x.numpy().astype(np.float64)
    print(f"batch {a.B}, T={a.T}, 40 inputs, 2 layers of 128; {a.threads} thread(s) on both sides, {a.clock} clock, "
          f"median of {a.repeats}; engine {compiled.info()['engine']}; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores; glibc malloc {'tuned' if malloc_tuned else 'untuned'} (SPIKERNN_MALLOPT)")
    res = {}
    for target_rate in (float(r) for r in a.rates.split(",")):
        for name in a.models.split(","):
            res.update(measure(a, name, target_rate, x, xn, clock, fast))
    return res


def measure(a, name: str, target_rate: float, x: torch.Tensor, xn: np.ndarray, clock, fast) -> dict:
    """One model in fixed and float precision: print its line per precision, return the ratios."""
    from spikernn import converters
    from spikernn.hardware.fast import compile_network

    res = {}
    torch.manual_seed(1)
    spiking = name.startswith("spiking")
    # calibrated spiking LSTM/GRU: the LIF soma at GATED_THRESHOLD (the default adLIF soma, θ0 0.3, stays silent at
    # every weight scale the bisection tries on this random input, so it cannot be brought to the target rate)
    gated = target_rate > 0 and name in ("spiking_lstm", "spiking_gru")
    neuron = {"neuron": "lif", "threshold": GATED_THRESHOLD} if gated else {}
    model = build(name, 40, 128, **neuron).eval()
    scale = ""
    if spiking and target_rate > 0:
        f, got = calibrate(model, x[:, :32], target_rate)
        scale = f"; weights x{f:.2f}{' LIF soma, threshold %g' % GATED_THRESHOLD if neuron else ''} for rate {target_rate}"
    for precision in ("fixed", "float"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = converters.to_lava(model, precision=precision, calibration_x=x[:, :64]) \
                if precision == "fixed" else converters.to_lava(model)
        plan = compile_network(net)
        run = lambda engine: fast.simulate(net, xn, plan=plan, engine=engine, workers=a.threads)  # noqa: E731
        _, stats = run("auto")  # compiles / loads the kernels, measures which engine "auto" runs
        from spikernn.hardware.fast import backend as fb

        choice = fb.ENGINE_CHOICE.get((fb.structure_key(plan), a.B, max(1, min(a.threads, a.B // fb.MIN_SHARD))))
        auto = "compiled" if choice is None or choice[0] == "auto" else "numpy"
        hidden = [p for p in net.populations if p.kind != "input"]
        activity = sum(int(stats.events[p.name].sum()) for p in hidden) / (a.T * a.B * sum(p.size for p in hidden))
        rate = spike_rate(model, x) if spiking else None
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
        spikes = f"; torch output rate {rate:.3f}{scale}" if rate is not None else ""
        print(f"{name:13s} {precision:5s}: torch {tt * 1e3:7.1f} ms, fast ({auto:8s}) {tf * 1e3:7.1f} ms -> fast/torch "
              f"{r:5.2f} (target <= {TARGET[name]}: {ok}; range {min(t_fast) / max(t_torch):.2f}-"
              f"{max(t_fast) / min(t_torch):.2f}){extra}; activity {activity:.3f}{spikes}", flush=True)
        res[f"{name}-{precision}-rate{target_rate:g}"] = r
    return res


if __name__ == "__main__":
    main()
