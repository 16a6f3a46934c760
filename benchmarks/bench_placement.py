"""Placement of a 2-layer, 128-unit spiking LSTM classifier (JapaneseVowels shape: 12 inputs, 9 classes) on
Loihi 2 cores, and the error for a layer too wide for one core.

    .venv/bin/python benchmarks/bench_placement.py [--hidden 128] [--layers 2]
"""
from __future__ import annotations

import argparse

import spikernn as snr
from spikernn.converters import to_lava
from spikernn.hardware import place


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    a = ap.parse_args()
    model = snr.SpikingSequenceClassifier("lstm", 12, a.hidden, 9, num_layers=a.layers)
    placement = place(to_lava(model))
    print(placement.summary())
    wide = to_lava(snr.SpikingSequenceClassifier("lstm", 12, 4096, 9, num_layers=2))
    big = place(wide)
    print(f"4096-unit 2-layer spiking LSTM: {big.cores} cores on {big.chips} chips")
    try:
        place(wide, max_chips=1)
        print("... and it fits on one chip (unexpected)")
    except ValueError as exc:
        print(f"the same on one chip (max_chips=1): ValueError: {exc}")
    try:
        place(wide, synaptic_memory_bytes_per_core=8 * 1024)
        print("... and it fits with 8 KB of synaptic memory per core (unexpected)")
    except ValueError as exc:
        print(f"the same with 8 KB synaptic memory per core: ValueError: {exc}")


if __name__ == "__main__":
    main()
