"""Encoders turning analog sequences (T,B,F) into the input of the first spiking layer.

* :class:`DirectEncoder` - identity: the analog value is a current into the first layer (default).
* :class:`RateEncoder` - Bernoulli spikes with probability ``clamp(gain * x, 0, 1)`` per step
  (straight-through gradient).
* :class:`DeltaEncoder` - threshold crossing: an "up" spike when the signal rose by more than ``threshold``
  since the last emitted level, a "down" spike when it fell; output has 2F channels (up first, then down).
"""
from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from spikernn._checks import check_tensor


class DirectEncoder(nn.Module):
    """Identity: analog input drives the first layer directly (``out_features = in_features``)."""

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.in_features = self.out_features = int(in_features)

    def forward(self, x: Tensor) -> Tensor:
        """(T,B,F) -> (T,B,F), unchanged."""
        return check_tensor(x, "encoder input")

    @property
    def config(self) -> dict[str, Any]:
        return {"class": "DirectEncoder", "args": {"in_features": self.in_features}}


class RateEncoder(nn.Module):
    """Bernoulli rate code: ``s_t ~ Bernoulli(clamp(gain * x_t, 0, 1))``; gradient passes straight through
    ``gain * x`` inside [0, 1]. Stochastic in training and evaluation (seed with ``torch.manual_seed``)."""

    def __init__(self, in_features: int, gain: float = 1.0) -> None:
        super().__init__()
        self.in_features = self.out_features = int(in_features)
        self.gain = float(gain)

    def forward(self, x: Tensor) -> Tensor:
        """(T,B,F) analog -> (T,B,F) binary spikes."""
        check_tensor(x, "encoder input")
        p = (self.gain * x).clamp(0.0, 1.0)
        s = torch.bernoulli(p.detach())
        return p + (s - p).detach()

    @property
    def config(self) -> dict[str, Any]:
        return {"class": "RateEncoder", "args": {"in_features": self.in_features, "gain": self.gain}}


class DeltaEncoder(nn.Module):
    """Delta (threshold-crossing) code with up/down channels, as a send-on-delta sensor.

    The reference level starts at ``x_0`` (so step 0 emits nothing); at each step, if ``x_t − ref > threshold``
    an up spike is sent and ``ref += threshold``; if ``ref − x_t > threshold`` a down spike and
    ``ref −= threshold`` (at most one event per channel and step). Not differentiable (the input is data).
    """

    def __init__(self, in_features: int, threshold: float = 0.1) -> None:
        super().__init__()
        if threshold <= 0:
            raise ValueError(f"DeltaEncoder threshold must be > 0, got {threshold}")
        self.in_features = int(in_features)
        self.out_features = 2 * self.in_features
        self.threshold = float(threshold)

    @torch.no_grad()
    def forward(self, x: Tensor) -> Tensor:
        """(T,B,F) analog -> (T,B,2F) binary spikes (up channels, then down channels)."""
        check_tensor(x, "encoder input")
        if x.dim() != 3:
            raise ValueError(f"encoder input must be (T,B,F), got shape {tuple(x.shape)}")
        ref = x[0].clone()
        out = torch.zeros(x.shape[0], x.shape[1], 2 * x.shape[2], dtype=x.dtype, device=x.device)
        F = x.shape[2]
        for t in range(1, x.shape[0]):
            up = (x[t] - ref) > self.threshold
            down = (ref - x[t]) > self.threshold
            ref = ref + self.threshold * (up.to(x.dtype) - down.to(x.dtype))
            out[t, :, :F] = up.to(x.dtype)
            out[t, :, F:] = down.to(x.dtype)
        return out

    @property
    def config(self) -> dict[str, Any]:
        return {"class": "DeltaEncoder", "args": {"in_features": self.in_features, "threshold": self.threshold}}


ENCODERS = {"direct": DirectEncoder, "rate": RateEncoder, "delta": DeltaEncoder}


def make_encoder(kind: str, in_features: int, **kwargs: Any) -> nn.Module:
    """Encoder by name: "direct", "rate" or "delta"."""
    if kind not in ENCODERS:
        raise ValueError(f"encoder must be one of {sorted(ENCODERS)}, got {kind!r}")
    return ENCODERS[kind](in_features, **kwargs)
