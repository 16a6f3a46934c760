"""Fast simulator vs Lava (Loihi2SimCfg) on the same 2-layer recurrent spiking network.

    .venv/bin/python benchmarks/bench_fast_vs_lava.py [--kind lif|spiking_lstm] [--hidden 128] [--steps 200]
        [--precision float|fixed] [--lava-samples 4] [--batch 256]

Prints steps per second at batch 1 (fast / Lava ratio; target >= 100x) and samples per second at batch 256
(Lava's rate measured on a few samples; target >= 1000x), and checks that both backends gave the same output
on the samples Lava ran. Lava's batch rate is measured two ways: one Lava run per sample (how Lava runs
inputs one at a time; this is the ratio compared with the target) and spikernn's runner multiplexing the
samples back to back in one Lava run (neurons reset themselves between samples; faster). Rates are end to
end (process creation, compilation, start-up, stepping, stop) for both backends; Lava's stepping-only rate
is shown too.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from spikernn.hardware.fast import compile_network, simulate_fast
from spikernn.hardware.network import Network, Population, SynapseBlock


def build(kind: str, I: int, H: int, O: int, seed: int = 0) -> Network:
    """input -> kind(H, recurrent) -> kind(H, recurrent) -> readout(O)."""
    rng = np.random.default_rng(seed)
    g = {"lif": 1, "spiking_lstm": 4}[kind]
    pops = [Population("x", "input", I)]
    syn = []
    src, n = "x", I
    for k in range(2):
        name = f"h{k}"
        prm = {"decay": np.full(H, 0.9), "threshold": np.full(H, 0.5), "bias": rng.normal(0, 0.05, g * H)}
        pops.append(Population(name, kind, H, prm, {"reset": "subtract"}))
        syn.append(SynapseBlock(f"{src}>{name}", src, name, "in", rng.normal(0, 1.5 / np.sqrt(n), (g * H, n))))
        syn.append(SynapseBlock(f"{name}>{name}", name, name, "in", rng.normal(0, 1.0 / np.sqrt(H), (g * H, H))))
        src, n = name, H
    pops.append(Population("ro", "readout", O, {"bias": np.zeros(O), "decay": np.full(O, 0.9)}))
    syn.append(SynapseBlock("h1>ro", "h1", "ro", "in", rng.normal(0, 0.3, (O, H))))
    return Network(pops, syn, "x", ["ro"])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", default="lif", choices=["lif", "spiking_lstm"])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--inputs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lava-samples", type=int, default=4)
    ap.add_argument("--precision", default="float", choices=["float", "fixed"])
    ap.add_argument("--repeats", type=int, default=5, help="fast-simulator repeats (best time is used)")
    a = ap.parse_args(argv)

    from spikernn.hardware.lava_runner import simulate_lava

    net = build(a.kind, a.inputs, a.hidden, 10)
    rng = np.random.default_rng(1)
    x = rng.normal(0.2, 1.0, (a.steps, a.batch, a.inputs))
    if a.precision == "fixed":
        import warnings

        from spikernn.hardware.fixed_point import quantize

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = quantize(net, calibration_x=x)[0]
    T = a.steps
    print(f"network: input {a.inputs} -> 2 x {a.kind}({a.hidden}, recurrent) -> readout(10); T={T}; "
          f"precision {a.precision}")

    # ---- fast simulator (end to end: compile + simulate, best of repeats) ----
    def fast_time(xb):
        best = float("inf")
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            simulate_fast(net, xb, plan=compile_network(net))
            best = min(best, time.perf_counter() - t0)
        return best

    f1 = fast_time(x[:, :1])
    fB = fast_time(x)
    # ---- Lava: batch 1, and a few samples back to back in one run ----
    tim1: dict = {}
    t0 = time.perf_counter()
    y1, _ = simulate_lava(net, x[:, :1], timings=tim1)
    l1 = time.perf_counter() - t0
    k = max(1, min(a.lava_samples, a.batch))
    timk: dict = {}
    t0 = time.perf_counter()
    yk, _ = simulate_lava(net, x[:, :k], timings=timk)
    lk = time.perf_counter() - t0
    k1 = max(1, k // 2)
    tims: dict = {}
    t0 = time.perf_counter()
    ys, _ = simulate_lava(net, x[:, :k1], samples_per_run=1, timings=tims)
    ls = time.perf_counter() - t0
    yf, _ = simulate_fast(net, x[:, :k])

    def agree(u, v):
        return np.array_equal(u, v) if a.precision == "fixed" else bool(np.abs(u - v).max() <= 1e-6)

    same = agree(yf, yk) and agree(yf[:, :k1], ys)

    fast_sps1 = T / f1
    lava_sps1 = T / l1
    lava_sps1_run = tim1["steps"] / tim1["run_s"]
    fast_samples = a.batch / fB
    lava_samples = k1 / ls  # one Lava run per sample
    lava_samples_mux = k / lk  # all k samples in one Lava run
    lava_samples_run = k / timk["run_s"]
    r1, rB, rM = fast_sps1 / lava_sps1, fast_samples / lava_samples, fast_samples / lava_samples_mux
    print(f"batch 1 : fast {fast_sps1:12,.0f} steps/s | Lava {lava_sps1:8,.1f} steps/s end to end "
          f"({lava_sps1_run:,.1f} steps/s stepping only; compile+start {tim1['compile_s']:.2f} s)")
    print(f"batch {a.batch}: fast {fast_samples:12,.1f} samples/s | Lava {lava_samples:8,.3f} samples/s end to end, "
          f"one run per sample ({k1} samples); {lava_samples_mux:,.3f} samples/s with {k} samples multiplexed in "
          f"one run ({lava_samples_run:,.3f} samples/s stepping only)")
    print(f"ratio fast/Lava at batch 1 (steps/s):       {r1:10,.0f}x  (target >= 100x)  "
          f"{'OK' if r1 >= 100 else 'BELOW TARGET'}")
    print(f"ratio fast/Lava at batch {a.batch} (samples/s): {rB:10,.0f}x  (target >= 1000x) "
          f"{'OK' if rB >= 1000 else 'BELOW TARGET'}  [vs one Lava run per sample]")
    print(f"ratio fast/Lava at batch {a.batch} (samples/s): {rM:10,.0f}x  [vs Lava multiplexed, spikernn's default]")
    print(f"outputs of the {k} Lava samples equal the fast simulator's: {same}")
    return {"fast_steps_per_s_b1": fast_sps1, "lava_steps_per_s_b1": lava_sps1, "ratio_b1": r1,
            "fast_samples_per_s": fast_samples, "lava_samples_per_s": lava_samples, "ratio_batch": rB,
            "lava_samples_per_s_multiplexed": lava_samples_mux, "ratio_batch_multiplexed": rM,
            "same": same}


if __name__ == "__main__":
    main()
