"""Fixed-point conversion fidelity on JapaneseVowels (real data, packaged in sktime; no download).

Trains a dense LSTM classifier (torch.nn.LSTM + Linear head) and spiking classifiers (by default SpikingLSTM
and SpikingRNN, each + readout, with the layers' default neuron options; ``--neuron adlif`` for the adLIF
soma), converts each with ``converters.to_lava(model, "fixed", calibration_x=train x)`` and reports, on
the whole test set (370 sequences) run by the fast simulator: test accuracy of the torch model and of the
hardware network, and class agreement between them (target >= 99%); then runs the test sequences (all by
default, ``--lava N`` for fewer) on real Lava processes (``backend="lava"``) and checks they give the same
bits as the fast simulator.

    .venv/bin/python benchmarks/bench_conversion_japanese_vowels.py [--epochs 60] [--hidden 64] [--lava N]
        [--out benchmarks/results/conversion_japanese_vowels.json]
    .venv/bin/python benchmarks/bench_conversion_japanese_vowels.py --recipe tuned_adlif_th02 --spiking-kinds lstm

``--recipe NAME`` (a spiking recipe of ``bench_accuracy.py``, e.g. ``tuned_adlif_th02``): the spiking classifiers
are built and trained by the accuracy harness's own code (``bench_accuracy.build`` + ``train_recipe``, all 270
training utterances, the recipe's epochs, hidden 128 unless ``--hidden`` is given) instead of this script's
``snr.train`` loop, and the dense LSTM is skipped; ``--epochs``, ``--lr``, ``--readout-decay``, ``--neuron`` and
``--spike-threshold`` do not apply (the recipe pins them).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_conversion_common import (accuracy, agreement, build, load_jv, model_logits, net_input,  # noqa: E402
                                run_split, to_jsonable, train)


def evaluate(name: str, model, ds, args) -> dict:
    from spikernn.converters import to_lava

    res: dict = {"model": name}
    if args.recipe:
        import bench_accuracy as ba

        t0 = time.perf_counter()
        ba.train_recipe(model, args.recipe, ds.train, ba.RECIPE_EPOCHS[args.recipe], args.seed)
        model.eval()
        t_train, acc = time.perf_counter() - t0, ba.snr.evaluate(model, ds.test)["accuracy"]
        res["recipe"] = args.recipe
    else:
        t_train, acc = train(model, ds, args.epochs, lr=args.lr, seed=args.seed)
    res["train_seconds"] = t_train
    res["torch_test_accuracy"] = acc
    ref = model_logits(model, ds.test.x, ds.test.lengths)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net = to_lava(model, "fixed", calibration_x=ds.train.x)
    res["quantization_warnings"] = [str(w.message) for w in caught]
    fast = run_split(net, ds.test, "fast")
    res["hardware_test_accuracy"] = accuracy(fast["logits"], ds.test.y)
    res["class_agreement"] = agreement(fast["logits"], ref)
    res["max_abs_logit_error"] = float((fast["logits"] - ref).abs().max())
    res["events_per_inference"] = fast["events"]
    res["synaptic_ops_per_inference"] = fast["synaptic_ops"]
    res["fast_seconds"] = fast["seconds"]
    fl = run_split(to_lava(model, "float"), ds.test, "fast")
    res["float_network_class_agreement"] = agreement(fl["logits"], ref)
    res["float_network_max_abs_logit_error"] = float((fl["logits"] - ref).abs().max())
    # a few sequences on real Lava processes
    n = args.lava
    if n > 0:
        try:
            sub = ds.test.subset(n)
            t0 = time.perf_counter()
            lava_logits = net.run(net_input(net, sub.x), backend="lava", lengths=sub.lengths).double()
            res["lava_seconds"] = time.perf_counter() - t0
            res["lava_sequences"] = n
            res["lava_vs_fast_max_abs_diff"] = float((lava_logits - fast["logits"][:n]).abs().max())
            res["lava_class_agreement_with_torch"] = agreement(lava_logits, ref[:n])
        except Exception as e:  # noqa: BLE001 - report, do not hide, a missing/broken Lava backend
            res["lava_error"] = f"{type(e).__name__}: {e}"
    return res


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--hidden", type=int, default=None, help="hidden size (default 64; 128 with --recipe)")
    ap.add_argument("--recipe", default=None,
                    help="train the spiking classifiers with this bench_accuracy.py recipe (e.g. tuned_adlif_th02)")
    ap.add_argument("--readout-decay", type=float, default=0.8,
                    help="leaky readout decay of the spiking classifier (logits integrate over time: robust to "
                         "single spike flips after quantisation)")
    ap.add_argument("--spike-threshold", type=float, default=None,
                    help="firing threshold of the spiking LSTM (default: the neuron default, spikernn.neurons)")
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--neuron", default=None, choices=["lif", "adlif"],
                    help="soma of the spiking classifiers (default: the layers' default, spikernn.neurons)")
    ap.add_argument("--spiking-kinds", default="lstm,rnn", help="spiking classifiers to convert (lstm, gru, rnn)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lava", type=int, default=None,
                    help="test sequences to run on Lava (default: the whole test set, ~10 s per model here; 0 skips)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/conversion_japanese_vowels.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.recipe:
        import bench_accuracy as ba

        if args.recipe not in ba.ADLIF_RECIPES:
            ap.error(f"--recipe {args.recipe!r}: not a spiking recipe of bench_accuracy.py "
                     f"(one of {sorted(ba.ADLIF_RECIPES)})")
    if args.hidden is None:
        args.hidden = 128 if args.recipe else 64
    ds = load_jv()
    if args.recipe:  # the splits as the recipe feeds them (e.g. with delta features), the same for torch and hardware
        import types

        tr, te = ba.recipe_data(args.recipe, ds.train, ds.test)
        ds = types.SimpleNamespace(train=tr, test=te, input_size=tr.num_features, num_classes=ds.num_classes)
    if args.lava is None:
        args.lava = len(ds.test)
    print(f"JapaneseVowels: {len(ds.train)} train / {len(ds.test)} test, {ds.input_size} features, "
          f"{ds.num_classes} classes")
    results = []
    spiking_opts = {"readout_decay": args.readout_decay}
    if args.spike_threshold is not None:
        spiking_opts["threshold"] = args.spike_threshold
    if args.neuron is not None:
        spiking_opts["neuron"] = args.neuron
    names = {"lstm": "SpikingLSTM", "gru": "SpikingGRU", "rnn": "SpikingRNN"}
    todo = [] if args.recipe else [("dense LSTM", True, "lstm", {})]
    todo += [(names[k], False, k, spiking_opts) for k in args.spiking_kinds.split(",") if k]
    for name, dense, kind, opts in todo:
        what = f"recipe {args.recipe}" if args.recipe else f"{args.epochs} epochs"
        print(f"\n== {name}: train ({what}), hidden {args.hidden}, convert (fixed), run test set")
        if args.recipe:
            torch.manual_seed(args.seed)
            model = ba.build(f"snn_{kind}", args.recipe, ds.train, args.hidden, {})
        else:
            model = build(kind, dense, ds, args.hidden, seed=args.seed, **opts)
        r = evaluate(name, model, ds, args)
        results.append(r)
        print(f"  torch test accuracy      {100 * r['torch_test_accuracy']:.2f}%   (trained in {r['train_seconds']:.0f} s)")
        print(f"  hardware test accuracy   {100 * r['hardware_test_accuracy']:.2f}%   (fixed point, fast backend, "
              f"{len(ds.test)} sequences, {r['fast_seconds']:.1f} s)")
        print(f"  class agreement          {100 * r['class_agreement']:.2f}%   (target >= 99%)")
        print(f"  max |logit error|        {r['max_abs_logit_error']:.4g}   (float network: "
              f"{r['float_network_max_abs_logit_error']:.3g}, agreement {100 * r['float_network_class_agreement']:.2f}%)")
        print(f"  events / inference       {r['events_per_inference']:.1f}   synaptic ops / inference "
              f"{r['synaptic_ops_per_inference']:.0f}")
        if r["quantization_warnings"]:
            print(f"  quantisation warnings: {r['quantization_warnings']}")
        if "lava_error" in r:
            print(f"  Lava: not run ({r['lava_error']})")
        elif args.lava:
            print(f"  Lava ({r['lava_sequences']} sequences, {r['lava_seconds']:.1f} s): max |lava - fast| "
                  f"{r['lava_vs_fast_max_abs_diff']:.3g}, class agreement with torch "
                  f"{100 * r['lava_class_agreement_with_torch']:.2f}%")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": "conversion_japanese_vowels", "epochs": args.epochs, "hidden_size": args.hidden,
               "seed": args.seed, "recipe": args.recipe,
               "spiking_options": ba.ADLIF_RECIPES[args.recipe] if args.recipe else spiking_opts, "precision": "fixed", "backend": "fast",
               "test_sequences": len(ds.test), "results": results}
    out.write_text(json.dumps(to_jsonable(payload), indent=2))
    print(f"\nwrote {out}")
    ok = all(r["class_agreement"] >= 0.99 for r in results)
    print("PASS: class agreement >= 99% for every model" if ok else "FAIL: class agreement below 99%")
    return payload


if __name__ == "__main__":
    main()
