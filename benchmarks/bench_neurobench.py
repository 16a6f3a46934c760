"""NeuroBench 2.3.0's own Benchmark on the demo's trained models, against spikernn's NeuroBench metrics.

For the spiking LSTM and the dense LSTM that ``spikernn demo --out DIR`` trained on JapaneseVowels, on the
whole test split (370 sequences, batches of 64, lengths recovered from the zero padding):

    NeuroBench alone   neurobench.models.TorchModel(model): what a user gets without spikernn's help;
    NeuroBench + wrap  spikernn.neurobench.wrap(model) inside neurobench.benchmarks.Benchmark;
    spikernn           spikernn.energy.neurobench_metrics(model, x, lengths=..., batch_size=64) (no NeuroBench).

Prints the three side by side and whether wrap and spikernn agree. Needs ``pip install spikernn[neurobench]``.

    .venv/bin/python benchmarks/bench_neurobench.py --demo /tmp/spikernn-demo
"""
from __future__ import annotations

import argparse
import contextlib
import io
import warnings
from pathlib import Path

import torch
from neurobench.benchmarks import Benchmark
from neurobench.metrics.static import ConnectionSparsity, Footprint
from neurobench.metrics.workload import ActivationSparsity, ClassificationAccuracy, SynapticOperations
from neurobench.models import TorchModel
from torch.utils.data import DataLoader, TensorDataset

import spikernn as snr
from spikernn.datasets import japanese_vowels
from spikernn.energy.neurobench_metrics import neurobench_metrics
from spikernn.neurobench import lengths_from_padding, wrap

METRICS = [[Footprint, ConnectionSparsity], [ActivationSparsity, SynapticOperations, ClassificationAccuracy]]


def bench(model, loader) -> dict:
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return Benchmark(model, loader, [], [lambda out: out.argmax(-1)], METRICS).run(quiet=True)


def show(name: str, r: dict) -> None:
    so = r["SynapticOperations"]
    so = so if isinstance(so, dict) else {"Effective_MACs": so, "Effective_ACs": so, "Dense": so}
    acc = r.get("ClassificationAccuracy")
    cs = r["ConnectionSparsity"]
    cs = "failed" if cs is None else f"{cs:.4f}"
    print(f"  {name:<18} footprint {r['Footprint']:>8,} B | conn. sparsity {cs} | "
          f"act. sparsity {r['ActivationSparsity']:.4f} | MACs {so['Effective_MACs']:>9,.1f} | "
          f"ACs {so['Effective_ACs']:>9,.1f} | dense {so['Dense']:>9,.1f}"
          + (f" | accuracy {100 * acc:.1f} %" if acc is not None else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo", default="spikernn-demo", help="folder written by `spikernn demo --out`")
    args = ap.parse_args()
    _, test = japanese_vowels()
    assert torch.equal(lengths_from_padding(test.x), test.lengths), "padding does not give the lengths back"
    loader = DataLoader(TensorDataset(test.x, test.y), batch_size=64)
    for label, folder in (("spiking LSTM", "spiking-lstm"), ("dense LSTM", "dense-lstm")):
        path = Path(args.demo) / folder / "model.safetensors"
        if not path.exists():
            raise SystemExit(f"{path} not found: run `spikernn demo --out {args.demo}` first")
        model = snr.load(path).eval()
        print(f"\n{label} on the JapaneseVowels test split (n = {len(test)}), per sample:")
        show("NeuroBench alone", bench(TorchModel(model), loader))
        via = bench(wrap(model, lengths_of=lengths_from_padding), loader)
        show("NeuroBench + wrap", via)
        m = neurobench_metrics(model, test.x, lengths=test.lengths, batch_size=64).as_neurobench()
        ours = {"Footprint": m["footprint"], "ConnectionSparsity": m["connection_sparsity"],
                "ActivationSparsity": m["activation_sparsity"] or 0.0,
                "SynapticOperations": m["synaptic_operations"]}
        show("spikernn", ours)
        same = all(abs(via["SynapticOperations"][k] - ours["SynapticOperations"][k]) < 1e-6 * max(1, ours["SynapticOperations"][k])
                   for k in ours["SynapticOperations"]) and via["Footprint"] == ours["Footprint"] \
            and via["ConnectionSparsity"] == ours["ConnectionSparsity"] \
            and abs(via["ActivationSparsity"] - ours["ActivationSparsity"]) < 1e-9
        print(f"  NeuroBench + wrap equals spikernn: {same}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
