"""Sigma-delta threshold vs accuracy vs events per inference: a dense GRU on JapaneseVowels.

Trains a dense GRU classifier (torch.nn.GRU + Linear head), converts it with
``converters.to_lava(model, precision, threshold=ϑ)`` for a range of thresholds ϑ (ϑ = 0 reproduces the
dense model; a larger ϑ sends fewer graded spikes), runs the whole test set on the fast simulator and prints
a table of test accuracy, class agreement with the torch model, events and synaptic operations per
inference. Writes a JSON file (the energy report reads ``points``) and a PNG plot.

    .venv/bin/python benchmarks/bench_conversion_threshold_curve.py [--epochs 60] [--hidden 32]
        [--precision float|fixed] [--out benchmarks/results/conversion_threshold_curve.json]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_conversion_common import (accuracy, agreement, build, load_jv, model_logits, run_split,  # noqa: E402
                                to_jsonable, train)

THRESHOLDS = (0.0, 0.001, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def plot(points: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax1 = plt.subplots(figsize=(6.4, 4.0))
    thr = [max(p["threshold"], 1e-4) for p in points]
    ax1.plot(thr, [100 * p["test_accuracy"] for p in points], "o-", color="tab:blue", label="test accuracy")
    ax1.plot(thr, [100 * p["class_agreement"] for p in points], "s--", color="tab:cyan", label="agreement with torch")
    ax1.set_xscale("log")
    ax1.set_xlabel("sigma-delta threshold ϑ (ϑ=0 plotted at 1e-4)")
    ax1.set_ylabel("%")
    ax2 = ax1.twinx()
    ax2.plot(thr, [p["events_per_inference"] for p in points], "^-", color="tab:red", label="events / inference")
    ax2.set_ylabel("events per inference", color="tab:red")
    ax2.set_yscale("log")
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, loc="lower left", fontsize=8)
    ax1.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--precision", choices=("float", "fixed"), default="float")
    ap.add_argument("--thresholds", type=float, nargs="*", default=list(THRESHOLDS))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/conversion_threshold_curve.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from spikernn.converters import to_lava

    ds = load_jv()
    model = build("gru", True, ds, args.hidden, seed=args.seed)
    secs, acc = train(model, ds, args.epochs, lr=args.lr, seed=args.seed)
    ref = model_logits(model, ds.test.x, ds.test.lengths)
    print(f"dense GRU (hidden {args.hidden}) trained {args.epochs} epochs in {secs:.0f} s: torch test accuracy "
          f"{100 * acc:.2f}% on {len(ds.test)} JapaneseVowels test sequences")
    print(f"{args.precision} networks, fast backend; events = graded spikes sent by the input and GRU neurons\n")
    hdr = f"{'threshold':>9}  {'accuracy':>8}  {'agreement':>9}  {'max|dlogit|':>11}  {'events/inf':>10}  {'synops/inf':>10}  {'events %':>8}"
    print(hdr)
    print("-" * len(hdr))
    points = []
    base_events = None
    for thr in args.thresholds:
        kw = {"calibration_x": ds.train.x} if args.precision == "fixed" else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = to_lava(model, args.precision, threshold=thr, **kw)
        r = run_split(net, ds.test, "fast")
        base_events = base_events or r["events"]
        p = {"threshold": thr, "test_accuracy": accuracy(r["logits"], ds.test.y),
             "class_agreement": agreement(r["logits"], ref),
             "max_abs_logit_error": float((r["logits"] - ref).abs().max()),
             "events_per_inference": r["events"], "synaptic_ops_per_inference": r["synaptic_ops"],
             "events_fraction": r["events"] / base_events}
        points.append(p)
        print(f"{thr:>9.3g}  {100 * p['test_accuracy']:>7.2f}%  {100 * p['class_agreement']:>8.2f}%  "
              f"{p['max_abs_logit_error']:>11.3g}  {p['events_per_inference']:>10.1f}  "
              f"{p['synaptic_ops_per_inference']:>10.0f}  {100 * p['events_fraction']:>7.1f}%")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": "conversion_threshold_curve", "model": "dense GRU + Linear head",
               "dataset": "JapaneseVowels (sktime)", "hidden_size": args.hidden, "epochs": args.epochs,
               "precision": args.precision, "backend": "fast", "torch_test_accuracy": acc,
               "test_sequences": len(ds.test), "points": points,
               "how_obtained": "events and synaptic ops counted by the fast simulator (ActivityStats), per test "
                               "sequence; accuracy on the JapaneseVowels test split"}
    out.write_text(json.dumps(to_jsonable(payload), indent=2))
    png = out.with_suffix(".png")
    plot(points, png, f"dense GRU on JapaneseVowels, {args.precision} sigma-delta network")
    print(f"\nwrote {out} and {png}")
    return payload


if __name__ == "__main__":
    main()
