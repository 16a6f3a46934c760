"""Round 7 (issue 17): does a bench_accuracy.py recipe's trained SpikingLSTM still convert? Trains the recipe on the
JapaneseVowels training split (bench_accuracy.build + train_recipe, the harness's own code, one seed), converts it
with ``converters.to_lava(model, "fixed", calibration_x=train x)`` and reports, on the 370 test utterances run by
the fast simulator, the torch and hardware accuracy and their class agreement (target >= 99 %).

    OMP_NUM_THREADS=1 nice -n 19 .venv/bin/python benchmarks/results/round7/convert_best_lstm.py RECIPE [SEED]
"""
import json
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_accuracy as ba  # noqa: E402
from bench_conversion_common import accuracy, agreement, model_logits, run_split  # noqa: E402
from spikernn.converters import to_lava  # noqa: E402

recipe = sys.argv[1]
seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
torch.set_num_threads(1)
train, test = ba.snr.datasets.load("japanese_vowels")
torch.manual_seed(seed)
net = ba.build("snn_lstm", recipe, train, 128, {})
t0 = time.perf_counter()
ba.train_recipe(net, recipe, train, ba.RECIPE_EPOCHS[recipe], seed)
net.eval()
ref = model_logits(net, test.x, test.lengths)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    hw = to_lava(net, "fixed", calibration_x=train.x)
fast = run_split(hw, test, "fast")
res = {"recipe": recipe, "seed": seed, "train_s": time.perf_counter() - t0,
       "neuron_options": net.rnn.neuron_options.to_config(),
       "torch_test_accuracy": accuracy(ref, test.y), "hardware_test_accuracy": accuracy(fast["logits"], test.y),
       "class_agreement": agreement(fast["logits"], ref),
       "max_abs_logit_error": float((fast["logits"] - ref).abs().max()),
       "events_per_inference": fast["events"], "quantization_warnings": [str(w.message) for w in caught]}
print(json.dumps(res, indent=1, default=str))
out = Path(__file__).parent / f"conversion_best_lstm_{recipe}_s{seed}.json"
out.write_text(json.dumps(res, indent=1, default=str))
print(f"wrote {out}")
