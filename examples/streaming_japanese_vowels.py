"""Streaming on the simulated chip: a real JapaneseVowels utterance fed frame by frame through a converted LSTM,
with the running class decision and the latency of every step.

    .venv/bin/python examples/streaming_japanese_vowels.py            # trains a small nn.LSTM first (a few seconds)
    .venv/bin/python examples/streaming_japanese_vowels.py --utterances 5 --precision float

An ordinary ``torch.nn.LSTM`` classifier (``snr.DenseSequenceClassifier``: logits from the last valid step's
hidden output) is trained on the packaged JapaneseVowels set (sktime; 12 LPC cepstra per 10 ms frame, 9
speakers), converted to sigma-delta LSTM neurons
(``converters.to_lava``, fixed point by default: what the chip runs), and streamed: ``s = net.stream()``, then
``y_t = s.step(x_t)`` per frame. The readout at frame t is the classifier's logits for the utterance so far, so
its argmax is the running decision. Prints, per utterance, the decision at each frame, the latency of each
``step`` call (p50 / p99 in microseconds, one thread), and that the streamed outputs equal the simulator's run of
the whole utterance at every frame, and ``net.run``'s answer at the last, bit for bit (float: to rounding).
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

import spikernn as snr
from spikernn import converters
from spikernn.app.data import load_dataset


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--utterances", type=int, default=3, help="test utterances to stream")
    ap.add_argument("--precision", default="fixed", choices=["fixed", "float"])
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    ds = load_dataset("japanese_vowels")
    model = snr.DenseSequenceClassifier("lstm", ds.input_size, a.hidden_size, ds.num_classes)
    t0 = time.perf_counter()
    snr.train(model, ds.train, epochs=a.epochs, lr=1e-2, progress=False)
    model.eval()
    print(f"trained {a.epochs} epochs in {time.perf_counter() - t0:.1f} s; PyTorch test accuracy "
          f"{snr.evaluate(model, ds.test)['accuracy']:.3f}")
    qopts = {"calibration_x": ds.train.x} if a.precision == "fixed" else {}
    net = converters.to_lava(model, precision=a.precision, **qopts)
    from spikernn.hardware import compiled

    print(f"converted ({a.precision} point): {len(net.populations)} populations; fast simulator kernels: "
          f"{compiled.info()['engine']}")
    from spikernn.hardware.backends import get_backend

    fast = get_backend("fast")
    stream = net.stream(batch=1)
    stream.step(np.zeros(ds.input_size))  # first call: compiles the kernels (or loads them from numba's cache)
    few = ds.test.subset(a.utterances)
    correct, all_us, exact = 0, [], True
    for i in range(len(few)):
        L = int(few.lengths[i])
        frames = few.x[i, :L].numpy().astype(np.float64)  # (L, 12): one utterance
        stream.reset()
        decisions, us = [], []
        for x_t in frames:
            t = time.perf_counter_ns()
            y_t = stream.step(x_t)
            us.append((time.perf_counter_ns() - t) / 1e3)
            decisions.append(int(np.argmax(y_t)))
        # the same utterance as a whole: every step (the simulator's output sequence) and net.run's answer (the
        # classifier's logits at the last step; the network keeps the model's batch_first (B, T, I) input)
        y_all = fast.simulate(net, frames[:, None])[0][:, 0]
        y_run = np.asarray(net.run(frames[None], backend="fast"))[0]
        stream.reset()
        y_stream = stream.run(frames[:, None])[:, 0]
        eq = np.array_equal if a.precision == "fixed" else lambda u, v: np.allclose(u, v, rtol=0, atol=1e-9)
        same = eq(y_stream, y_all) and eq(y_stream[-1], y_run)
        exact &= bool(same)
        label = int(few.y[i])
        correct += decisions[-1] == label
        p50, p99 = np.percentile(us, [50, 99])
        all_us += us
        print(f"utterance {i} ({L} frames, speaker {label}): running class "
              f"{' '.join(str(d) for d in decisions)} -> final {decisions[-1]} "
              f"({'right' if decisions[-1] == label else 'wrong'}); step latency p50 {p50:.1f} us, p99 {p99:.1f} us; "
              f"stream equals net.run: {same}")
    p50, p99 = np.percentile(all_us, [50, 99])
    print(f"all {len(all_us)} steps: p50 {p50:.1f} us, p99 {p99:.1f} us per frame (a frame is 10 ms of speech); "
          f"{correct}/{len(few)} final decisions right; every stream equals net.run: {exact}")
    return {"p50_us": float(p50), "p99_us": float(p99), "exact": exact, "correct": correct}


if __name__ == "__main__":
    main()
