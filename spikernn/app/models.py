"""The model factory of the command line and the demo (``--model lstm|gru|rnn``, ``--dense``)."""
from __future__ import annotations

from typing import Any

import torch

MODEL_KINDS = ("lstm", "gru", "rnn")


def build_model(kind: str = "lstm", dense: bool = False, *, input_size: int, hidden_size: int, num_classes: int,
                num_layers: int = 1, bidirectional: bool = False, seed: int = 0, **neuron_options: Any) -> torch.nn.Module:
    """A sequence classifier with weights drawn from ``seed``: :class:`spikernn.SpikingSequenceClassifier` or,
    with ``dense``, the :class:`spikernn.DenseSequenceClassifier` baseline (torch.nn.RNN/LSTM/GRU + Linear
    head). ``neuron_options`` go to the spiking model only.

    >>> build_model("gru", input_size=4, hidden_size=8, num_classes=3).__class__.__name__
    'SpikingSequenceClassifier'
    """
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    from spikernn.models import DenseSequenceClassifier, SpikingSequenceClassifier

    torch.manual_seed(seed)
    kwargs: dict[str, Any] = dict(input_size=input_size, hidden_size=hidden_size, num_classes=num_classes,
                                  num_layers=num_layers, bidirectional=bidirectional)
    if dense:
        return DenseSequenceClassifier(kind, **kwargs)
    return SpikingSequenceClassifier(kind, **kwargs, **neuron_options)
