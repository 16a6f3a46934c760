"""Loihi-class latency per inference and energy-delay product of the demo's models, next to the CPU.

Reads what ``spikernn demo --out DIR`` wrote (``spiking-lstm/`` and ``dense-lstm/``: the trained model and
its fixed-point converted network), and for each model runs :func:`spikernn.energy.compare` the way the demo
measures it (64 test sequences per measured batch) with the accuracy on the full JapaneseVowels test split.
Prints, per model: the modelled Loihi time per inference (range) with its parts, the Loihi energy and EDP,
the CPU's measured time, energy and EDP, and Davies et al. 2018's per-operation times it uses. Usage:

    .venv/bin/spikernn demo --out /tmp/spikernn-demo
    .venv/bin/python benchmarks/bench_energy_loihi_latency.py --demo /tmp/spikernn-demo [--out DIR]
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import torch

import spikernn as snr
from spikernn import energy
from spikernn.datasets import japanese_vowels
from spikernn.energy.figures import citation, loihi_timing
from spikernn.energy.fmt import fmt_j, fmt_js, fmt_ratio, fmt_s
from spikernn.hardware.network import Network

MODELS = (("spiking LSTM", "spiking-lstm"), ("dense LSTM", "dense-lstm"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", default="spikernn-demo", help="folder written by `spikernn demo --out`")
    ap.add_argument("--out", default=None, help="also write report.{html,md,json} per model under this folder")
    ap.add_argument("--batch", type=int, default=64, help="test sequences per measured batch (the demo: 64)")
    args = ap.parse_args()
    demo = Path(args.demo)
    _, test = japanese_vowels()
    batch = test.subset(args.batch)
    t = loihi_timing()
    print(f"per-op times ({citation(t.source)}): synaptic op {fmt_s(t.synaptic_op_s)}, neuron update "
          f"{fmt_s(t.neuron_update_active_s)} active / {fmt_s(t.neuron_update_inactive_s)} inactive, spike "
          f"{fmt_s(t.spike_within_tile_s)}, hop {fmt_s(t.hop_east_west_s)}-{fmt_s(t.hop_north_south_s)}, barrier "
          f"{fmt_s(t.barrier_sync_1_tile_s)} (1 tile) - {fmt_s(t.barrier_sync_32_tiles_s)} (32 tiles)")
    for label, folder in MODELS:
        d = demo / folder
        if not (d / "model.safetensors").exists():
            raise SystemExit(f"{d / 'model.safetensors'} not found: run `spikernn demo --out {demo}` first")
        model = snr.load(d / "model.safetensors").eval()
        net = Network.load(d / "network-fixed.safetensors")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rep = energy.compare(model, batch.x, batch.y, lengths=batch.lengths, platforms=("cpu", "loihi"),
                                 network=net, eval_inputs=test.x, eval_targets=test.y, eval_lengths=test.lengths,
                                 title=f"{label}: demo model, JapaneseVowels")
        cpu, lo = rep.row("cpu"), rep.row("loihi")
        lat = rep.latency
        print(f"\n{label} ({sum(p.numel() for p in model.parameters()):,} parameters); accuracy on the full test "
              f"split: CPU {100 * cpu.accuracy:.1f} %, Loihi (fixed point) {100 * lo.accuracy:.1f} % (n = {lo.accuracy_n})")
        print(f"  Loihi placement: {lat['cores']} cores, {lat['tiles']} tile(s), {lat['chips']} chip(s); "
              f"{lat['steps_per_inference']:.1f} time steps per inference")
        print(f"  Loihi time / inference: {fmt_s(lat['seconds_per_inference'])} (range {fmt_s(lat['low_s'])} - "
              f"{fmt_s(lat['high_s'])}): " + ", ".join(f"{k} {fmt_s(v)}" for k, v in lat["breakdown_s"].items()))
        print(f"  Loihi energy / inference: {fmt_j(lo.energy_per_inference_j)} dynamic (+ static "
              f"{fmt_j(lo.figure.static_joules_per_inference)} at 0.232 W); EDP {fmt_js(lo.edp_js)}")
        flag = " DISTURBED" if cpu.figure.disturbed else ""
        print(f"  CPU ({cpu.method}, {cpu.figure.threads} thread(s)){flag}: {fmt_s(cpu.seconds_per_inference)} / inference"
              f" (batch {batch.x.shape[0]}), {fmt_j(cpu.energy_per_inference_j)} / inference; EDP {fmt_js(cpu.edp_js)}")
        print(f"  EDP ratio CPU / Loihi: {fmt_ratio(cpu.edp_js / lo.edp_js)}; energy ratio: "
              + next(fmt_ratio(r['value'], r['low'], r['high']) for r in rep.ratio_table()
                     if (r['a'], r['b']) == ('cpu', 'loihi')))
        if args.out:
            for ext in ("html", "md", "json"):
                rep.save(Path(args.out) / folder / f"report.{ext}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
