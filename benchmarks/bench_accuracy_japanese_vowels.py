"""Accuracy of spiking RNN/LSTM/GRU classifiers on JapaneseVowels (public test split), mean over seeds.

Trains SpikingSequenceClassifier("rnn"/"lstm"/"gru") and a dense nn.LSTM baseline (DenseSequenceClassifier)
with the same helper (:func:`spikernn.train`), on the 270 training utterances, and reports accuracy on the
370 test utterances plus the mean firing rate (spikes per neuron per valid time step) on the test set.
Targets: SpikingLSTM and SpikingGRU >= 97 %, SpikingRNN >= 95 %.

    .venv/bin/python benchmarks/bench_accuracy_japanese_vowels.py [--seeds 3] [--epochs 30] [--quick]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

import spikernn as snr

TARGETS = {"rnn": 0.95, "lstm": 0.97, "gru": 0.97}


def spiking_model(kind: str, hidden: int, bidirectional: bool) -> torch.nn.Module:
    """The benchmark's spiking classifier: direct current input, leaky readout (β_out = 0.9)."""
    return snr.SpikingSequenceClassifier(kind, 12, hidden, 9, bidirectional=bidirectional, readout_decay=0.9,
                                         decay=0.9, threshold=1.0, reset="subtract")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="number of seeds (0..n-1)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--kinds", default="rnn,lstm,gru", help="comma-separated spiking kinds")
    ap.add_argument("--unidirectional", action="store_true", help="one direction (default: bidirectional)")
    ap.add_argument("--no-dense", action="store_true", help="skip the dense nn.LSTM baseline")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="1 seed, 5 epochs (smoke test)")
    ap.add_argument("--json", default=None, help="write results to this JSON file")
    a = ap.parse_args()
    if a.quick:
        a.seeds, a.epochs = 1, 5
    torch.set_num_threads(a.threads)
    bidir = not a.unidirectional
    train, test = snr.datasets.japanese_vowels()
    print(f"JapaneseVowels: train {tuple(train.x.shape)}, test {tuple(test.x.shape)}; hidden={a.hidden}, "
          f"bidirectional={bidir}, epochs={a.epochs}, seeds={a.seeds}, lr={a.lr}, threads={torch.get_num_threads()}")
    runs: list[tuple[str, str]] = [(k, "spiking") for k in a.kinds.split(",") if k]
    if not a.no_dense:
        runs.append(("lstm", "dense"))
    results = {}
    for kind, family in runs:
        name = f"Spiking{kind.upper()}" if family == "spiking" else "dense nn.LSTM"
        accs, rates, secs = [], [], []
        for seed in range(a.seeds):
            torch.manual_seed(seed)
            model = (spiking_model(kind, a.hidden, bidir) if family == "spiking"
                     else snr.DenseSequenceClassifier(kind, 12, a.hidden, 9, bidirectional=bidir))
            t0 = time.perf_counter()
            snr.train(model, train, epochs=a.epochs, batch_size=32, lr=a.lr, seed=seed, progress=False)
            secs.append(time.perf_counter() - t0)
            ev = snr.evaluate(model, test)
            accs.append(ev["accuracy"])
            if "firing_rate" in ev:
                rates.append(ev["firing_rate"])
            print(f"  {name:<14} seed {seed}: test accuracy {100 * ev['accuracy']:.2f} %"
                  + (f", firing rate {ev['firing_rate']:.3f}" if "firing_rate" in ev else "")
                  + f", train {secs[-1]:.1f} s")
        mean = statistics.mean(accs)
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        results[name] = {"accuracies": accs, "mean": mean, "std": std,
                         "firing_rate": statistics.mean(rates) if rates else None, "train_s": statistics.mean(secs)}
    print("\nmodel            test accuracy (mean ± std over seeds)   mean firing rate")
    for name, r in results.items():
        fr = f"{r['firing_rate']:.3f}" if r["firing_rate"] is not None else "  -  "
        kind = name.replace("Spiking", "").lower()
        tag = ""
        if name.startswith("Spiking"):
            tag = f"  target >= {100 * TARGETS[kind]:.0f} %: " + ("PASS" if r["mean"] >= TARGETS[kind] else "FAIL")
        print(f"{name:<16} {100 * r['mean']:6.2f} % ± {100 * r['std']:.2f}                       {fr}{tag}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"args": vars(a), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
