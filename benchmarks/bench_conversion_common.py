"""Not a benchmark: shared helpers of the conversion benchmarks: data, spikernn's classifiers, training, and running a
converted network over a data split."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch


def load_jv():
    from spikernn.app.data import load_dataset

    return load_dataset("japanese_vowels")


def build(kind: str, dense: bool, ds, hidden: int, seed: int = 0, readout_decay: float = 0.0,
          **neuron_options) -> torch.nn.Module:
    """spikernn's DenseSequenceClassifier / SpikingSequenceClassifier (batch-first input, logits at the last
    valid step) for the data set ``ds``."""
    from spikernn.models import DenseSequenceClassifier, SpikingSequenceClassifier

    torch.manual_seed(seed)
    kw = dict(input_size=ds.input_size, hidden_size=hidden, num_classes=ds.num_classes)
    if dense:
        return DenseSequenceClassifier(kind, **kw)
    return SpikingSequenceClassifier(kind, readout_decay=readout_decay, **kw, **neuron_options)


def train(model, ds, epochs: int, lr: float = 5e-3, seed: int = 0) -> tuple[float, float]:
    """Train on the train split; returns (seconds, test accuracy of the torch model)."""
    import spikernn as snr

    t0 = time.perf_counter()
    snr.train(model, ds.train, epochs=epochs, lr=lr, seed=seed, progress=False)
    model.eval()
    acc = snr.evaluate(model, ds.test)["accuracy"]
    return time.perf_counter() - t0, acc


def net_input(net, x_btf: torch.Tensor) -> torch.Tensor:
    return x_btf if net.meta.get("batch_first", False) else x_btf.transpose(0, 1).contiguous()


def model_logits(model, x_btf: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    from spikernn.training import model_forward

    with torch.no_grad():
        return model_forward(model, x_btf, lengths).double()


def run_split(net, split, backend: str = "fast", batch: int = 128) -> dict[str, Any]:
    """Run a converted classifier over a split; returns logits (N, C), events and synaptic ops per inference,
    seconds."""
    outs, ev, so = [], 0.0, 0.0
    t0 = time.perf_counter()
    N = len(split)
    for i in range(0, N, batch):
        x = split.x[i:i + batch]
        L = split.lengths[i:i + batch]
        T = int(L.max())
        y, st = net.simulate(net_input(net, x[:, :T]), backend=backend, lengths=L)
        outs.append(y.double())
        pi = st.per_inference()
        ev += pi["events"] * x.shape[0]
        so += pi["synaptic_ops"] * x.shape[0]
    return {"logits": torch.cat(outs), "events": ev / N, "synaptic_ops": so / N, "seconds": time.perf_counter() - t0}


def agreement(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.argmax(-1) == b.argmax(-1)).double().mean())


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(-1) == y).double().mean())


def to_jsonable(o: Any) -> Any:
    if isinstance(o, dict):
        return {str(k): to_jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [to_jsonable(v) for v in o]
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, torch.Tensor):
        return o.tolist()
    return o
