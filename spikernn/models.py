"""Ready-made sequence classifiers: spiking (encoder -> spiking RNN/LSTM/GRU -> leaky readout) and the dense
baseline (torch RNN/LSTM/GRU -> Linear). Both take batch-first input (B,T,F) plus optional ``lengths`` (B,)
and return logits (B,C) read at each sequence's last valid step, so padding after the end never matters.
"""
from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from spikernn._checks import check_bool, check_features, check_positive_int
from spikernn.activity import LayerActivity, mean_firing_rate, with_readout_fan_out
from spikernn.encoders import make_encoder
from spikernn.layers import SpikingGRU, SpikingLSTM, SpikingRNN
from spikernn.readout import LeakyReadout

SPIKING_LAYERS = {"rnn": SpikingRNN, "lstm": SpikingLSTM, "gru": SpikingGRU}
DENSE_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _check_kind(kind: str) -> str:
    if kind not in SPIKING_LAYERS:
        raise ValueError(f"kind must be 'rnn', 'lstm' or 'gru', got {kind!r}")
    return kind


def _time_first(x: Tensor, features: int, lengths: Optional[Tensor]) -> tuple[Tensor, Optional[Tensor]]:
    check_features(x, (3,), features, "input", "(B,T,F)")
    if lengths is not None:
        lengths = torch.as_tensor(lengths).to("cpu", torch.int64)
        if lengths.shape != (x.shape[0],):
            raise ValueError(f"lengths must have shape ({x.shape[0]},), got {tuple(lengths.shape)}")
        if int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]:
            raise ValueError(f"lengths must be in [1, T={x.shape[1]}], got min {int(lengths.min())} max {int(lengths.max())}")
    return x.transpose(0, 1), lengths


def _last_valid(y: Tensor, lengths: Optional[Tensor]) -> Tensor:
    """(T,B,C) -> (B,C) at each sequence's last valid step."""
    if lengths is None:
        return y[-1]
    return y[(lengths - 1).to(y.device), torch.arange(y.shape[1], device=y.device)]


class SpikingSequenceClassifier(nn.Module):
    """``encoder`` (optional) -> ``rnn`` (SpikingRNN/LSTM/GRU) -> ``readout`` (:class:`LeakyReadout`).

    Args:
        kind: "rnn", "lstm" or "gru". input_size: features F. hidden_size: H. num_classes: C.
        num_layers, bidirectional, dropout: as torch. encoder: None/"direct" (analog current into the first
            layer; ``.encoder`` is then None), "rate" or "delta"; encoder_options: its keyword arguments.
        readout_decay: β_out (default 0.9: the logits integrate the last ~10 steps; 0 = linear readout of the
            last step's spikes only); learn_readout_decay: make it learnable.
        fused: use the fused whole-sequence autograd path (default) or the step-function path.
        **neuron_options: see :mod:`spikernn.neurons`.
    ``forward(x (B,T,F), lengths=None) -> logits (B,C)`` = readout value at each sequence's last valid step;
    :meth:`forward_steps` gives the readout at every step (B,T,C). ``activity`` holds the spiking statistics
    of the last pass (the last layer's fan-out includes the readout's C outputs). The model follows
    :mod:`spikernn.protocol` (``batch_first = True``; ``lengths`` on the CPU).
    """

    batch_first = True  # input is (B,T,F); the inner spiking layer is time-first

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_classes: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0, encoder: Optional[str] = None,
                 encoder_options: Optional[dict] = None, readout_decay: float = 0.9,
                 learn_readout_decay: bool = False, fused: bool = True, **neuron_options: Any) -> None:
        super().__init__()
        self.kind = _check_kind(kind)
        self.input_size, self.hidden_size, self.num_classes = (check_positive_int(v, n) for n, v in (
            ("input_size", input_size), ("hidden_size", hidden_size), ("num_classes", num_classes)))
        check_bool(bidirectional, "bidirectional")
        check_bool(learn_readout_decay, "learn_readout_decay")
        self.encoder_kind = None if encoder in (None, "direct") else encoder
        self.encoder_options = dict(encoder_options or {})
        self.encoder = make_encoder(self.encoder_kind, input_size, **self.encoder_options) if self.encoder_kind else None
        rnn_in = self.encoder.out_features if self.encoder is not None else input_size
        self.rnn = SPIKING_LAYERS[kind](rnn_in, hidden_size, num_layers=num_layers, dropout=dropout,
                                        bidirectional=bidirectional, fused=fused, **neuron_options)
        D = 2 if bidirectional else 1
        self.readout = LeakyReadout(D * hidden_size, num_classes, decay=readout_decay, learn_decay=learn_readout_decay)
        self._args = {"kind": kind, "input_size": input_size, "hidden_size": hidden_size, "num_classes": num_classes,
                      "num_layers": num_layers, "bidirectional": bidirectional, "dropout": dropout,
                      "encoder": self.encoder_kind, "encoder_options": self.encoder_options,
                      "readout_decay": readout_decay, "learn_readout_decay": learn_readout_decay}

    def forward_steps(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """Readout at every step, (B,T,C) (values after a sequence's end are not meaningful)."""
        return self._steps(x, lengths)[0].transpose(0, 1)

    def _steps(self, x: Tensor, lengths: Optional[Tensor]) -> tuple[Tensor, Optional[Tensor]]:
        xt, lengths = _time_first(x, self.input_size, lengths)
        if self.encoder is not None:
            xt = self.encoder(xt)
        s, _ = self.rnn.forward_padded(xt, lengths)
        return self.readout(s), lengths

    def forward(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """Logits (B,C) at each sequence's last valid step; ``x`` (B,T,F), ``lengths`` (B,) or None (= T)."""
        y, lengths = self._steps(x, lengths)
        return _last_valid(y, lengths)

    @property
    def activity(self) -> list[LayerActivity]:
        """Per layer and direction spiking statistics of the last forward pass; the last layer's fan-out
        includes the readout's ``num_classes`` outputs."""
        return with_readout_fan_out(self.rnn.last_activity, self.rnn.num_layers - 1, self.num_classes)

    def firing_rate(self) -> float:
        """Mean firing rate of all spiking neurons in the last forward pass."""
        return mean_firing_rate(self.rnn.last_activity)

    @property
    def config(self) -> dict[str, Any]:
        """JSON-able constructor description used by :func:`spikernn.save`."""
        return {"class": type(self).__name__, "args": {**self._args, **self.rnn.neuron_options.to_config(),
                                                        "fused": self.rnn.fused}}


class DenseSequenceClassifier(nn.Module):
    """Dense baseline: ``rnn`` (torch.nn.RNN/LSTM/GRU, time-first, ``batch_first=False``) -> ``head`` (nn.Linear).

    Logits come from the hidden state at each sequence's last valid step: the last layer's ``h_n`` of a packed
    run. For ``bidirectional=True`` that is the concatenation [forward direction's hidden at the last valid
    step, reverse direction's hidden after reading the whole sequence back to t=0] (torch's ``h_n[-2:]``).
    Input (B,T,F) plus optional ``lengths`` (B,).
    """

    batch_first = True  # input is (B,T,F); the inner torch RNN is time-first

    def __init__(self, kind: str, input_size: int, hidden_size: int, num_classes: int, num_layers: int = 1,
                 bidirectional: bool = False, dropout: float = 0.0) -> None:
        super().__init__()
        self.kind = _check_kind(kind)
        self.input_size, self.hidden_size, self.num_classes = (check_positive_int(v, n) for n, v in (
            ("input_size", input_size), ("hidden_size", hidden_size), ("num_classes", num_classes)))
        check_bool(bidirectional, "bidirectional")
        self.rnn = DENSE_LAYERS[kind](input_size, hidden_size, num_layers=num_layers, dropout=dropout,
                                      bidirectional=bidirectional)
        D = 2 if bidirectional else 1
        self.head = nn.Linear(D * hidden_size, num_classes)
        self._args = {"kind": kind, "input_size": input_size, "hidden_size": hidden_size, "num_classes": num_classes,
                      "num_layers": num_layers, "bidirectional": bidirectional, "dropout": dropout}

    def features(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """Hidden vector (B, D*H) fed to the head."""
        xt, lengths = _time_first(x, self.input_size, lengths)
        inp = xt if lengths is None else pack_padded_sequence(xt, lengths, enforce_sorted=False)
        _, h = self.rnn(inp)
        h_n = h[0] if isinstance(h, tuple) else h
        if self.rnn.bidirectional:
            return torch.cat([h_n[-2], h_n[-1]], -1)
        return h_n[-1]

    def forward(self, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
        """Logits (B,C)."""
        return self.head(self.features(x, lengths))

    @property
    def config(self) -> dict[str, Any]:
        """JSON-able constructor description used by :func:`spikernn.save`."""
        return {"class": type(self).__name__, "args": dict(self._args)}
