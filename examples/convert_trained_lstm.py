"""Convert an ordinary trained ``torch.nn.LSTM`` classifier to Loihi-style Lava processes, run it on the fast
simulator and on Lava, and verify it against PyTorch.

    .venv/bin/python examples/convert_trained_lstm.py                  # trains a small LSTM for ~20 s first
    .venv/bin/python examples/convert_trained_lstm.py --state-dict my_lstm.pt --hidden-size 64

The converter reads your model's traced graph (torch.fx), whatever its attributes are called: recurrent
layers, Linear layers and the readout (here the output at each sequence's last valid step, like
``LSTMClassifier`` below; mean/sum/max over time and per-step outputs convert too). Took 41 s with its defaults on a loaded 2-core machine (load average ~14).
"""
from __future__ import annotations

import argparse
import importlib.util
import time

import torch
from torch import nn

import spikernn as snr
from spikernn import converters
from spikernn.app.data import load_dataset
from spikernn.app.simulation import net_input, simulate_dataset


class LSTMClassifier(nn.Module):
    """An ordinary PyTorch LSTM classifier: logits from the hidden output at the last valid step."""

    def __init__(self, input_size: int, hidden_size: int, num_classes: int):
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, num_classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)                                      # (B, T, H)
        last = out[torch.arange(out.shape[0]), lengths.to(out.device) - 1]
        return self.head(last)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="japanese_vowels", choices=["japanese_vowels", "synthetic"])
    ap.add_argument("--hidden-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--state-dict", help="load these weights (torch.save(model.state_dict())) instead of training")
    ap.add_argument("--lava-sequences", type=int, default=3, help="test sequences to run on Lava")
    args = ap.parse_args()

    ds = load_dataset(args.data)
    model = LSTMClassifier(ds.input_size, args.hidden_size, ds.num_classes)
    if args.state_dict:
        model.load_state_dict(torch.load(args.state_dict, weights_only=True))
    else:
        t0 = time.perf_counter()
        snr.train(model, ds.train, epochs=args.epochs, lr=1e-2, progress=False)
        print(f"trained {args.epochs} epochs in {time.perf_counter() - t0:.1f} s")
    model.eval()
    acc = snr.evaluate(model, ds.test)["accuracy"]
    print(f"PyTorch test accuracy: {acc:.3f}")

    for precision in ("float", "fixed"):
        # sigma-delta LSTM neurons + Dense synapses; in fixed point the training inputs set the input range
        qopts = {"calibration_x": ds.train.x} if precision == "fixed" else {}
        net = converters.to_lava(model, precision=precision, **qopts)
        print(f"\n== {precision} point: {len(net.populations)} populations, {len(net.synapses)} synapse blocks")

        # the whole test set on the fast (batched, bit-exact) simulator
        sim = simulate_dataset(net, ds.test, backend="fast")
        print(f"fast simulator test accuracy: {sim['accuracy']:.3f} "
              f"({sim['per_inference']['events']:.0f} events, {sim['per_inference']['synaptic_ops']:.0f} synaptic ops "
              f"per inference, {sim['seconds']:.1f} s)")

        # a few sequences on real Lava processes: same outputs as the fast simulator
        n_lava = args.lava_sequences
        if n_lava and importlib.util.find_spec("lava") is None:
            print("  Lava is not installed (the lava extra): no Lava run (--lava-sequences 0 to silence this)")
            n_lava = 0
        few = ds.test.subset(max(n_lava, 1))  # spread over the (class-sorted) test split
        for i in range(len(few) if n_lava else 0):
            L = int(few.lengths[i])
            x = net_input(net, few.x[i:i + 1, :L])
            lens = few.lengths[i:i + 1]
            t0 = time.perf_counter()
            y_lava = net.run(x, backend="lava", lengths=lens)
            y_fast = net.run(x, backend="fast", lengths=lens)
            print(f"  sequence {i} ({L} steps): Lava {time.perf_counter() - t0:.1f} s, "
                  f"max |lava - fast| = {float((y_lava - y_fast).abs().max()):.3g}, "
                  f"class {int(y_lava.argmax())} (label {int(few.y[i])})")

        # PyTorch vs the converted network on 64 test sequences
        sub = ds.test.subset(64)
        rep = converters.verify(model, net, net_input(net, sub.x), lengths=sub.lengths, backend="fast")
        print(rep.summary() if hasattr(rep, "summary") else rep)


if __name__ == "__main__":
    main()
