"""Leaky-integrator readout (no spikes): ``y_t = β_out y_{t-1} + W_out s_t + b_out`` (docs/equations.md)."""
from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import Tensor, nn

from spikernn._checks import check_bool, check_features, check_positive_int, check_tensor


class LeakyReadout(nn.Module):
    """Readout over time: ``y_t = β_out ⊙ y_{t-1} + W_out s_t + b_out``; ``decay=0`` gives a linear readout.

    Args:
        in_features: size of ``s_t``; out_features: size of ``y_t``.
        decay: β_out in [0, 1] (per output; one value broadcast). learn_decay: make β_out learnable
            (kept in [0, 1] by clamping). bias: use ``b_out``.
    Parameters ``weight`` (out, in), ``bias`` (out,), ``decay`` (out,) as in ``nn.Linear`` plus the decay.
    """

    def __init__(self, in_features: int, out_features: int, decay: float = 0.0, learn_decay: bool = False,
                 bias: bool = True) -> None:
        super().__init__()
        if not 0.0 <= float(decay) <= 1.0:
            raise ValueError(f"readout decay must be in [0, 1], got {decay}")
        self.in_features = check_positive_int(in_features, "in_features")
        self.out_features = check_positive_int(out_features, "out_features")
        self.learn_decay, self.has_bias = check_bool(learn_decay, "learn_decay"), check_bool(bias, "bias")
        self.init_decay = float(decay)
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        d = torch.full((out_features,), float(decay))
        if learn_decay:
            self.decay = nn.Parameter(d)
        else:
            self.register_buffer("decay", d)
        k = 1.0 / math.sqrt(in_features)
        nn.init.uniform_(self.weight, -k, k)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -k, k)

    def effective_decay(self) -> Tensor:
        """β_out as used in the equation, clamped to [0, 1], shape (out_features,)."""
        return self.decay.clamp(0.0, 1.0)

    def forward(self, s: Tensor, y0: Optional[Tensor] = None) -> Tensor:
        """``s``: (T,B,in) spikes (time first). Returns ``y`` (T,B,out) for every step; ``y0`` (B,out) initial."""
        check_features(s, (3,), self.in_features, "readout input", "(T,B,in_features)")
        if y0 is not None:
            check_tensor(y0, "y0")
            if tuple(y0.shape) != (s.shape[1], self.out_features):
                raise ValueError(f"y0 must have shape (B, out_features) = {(s.shape[1], self.out_features)}, "
                                 f"got {tuple(y0.shape)}")
        z = nn.functional.linear(s, self.weight, self.bias)
        beta = self.effective_decay()
        # beta = 0: y_t = z_t (the loop would give the same); decided without reading a device tensor
        if not self.learn_decay and y0 is None and beta.device.type == "cpu" and bool((beta == 0).all()):
            return z
        y = torch.zeros_like(z[0]) if y0 is None else y0
        ys = []
        for t in range(z.shape[0]):
            y = torch.addcmul(z[t], beta, y)
            ys.append(y)
        return torch.stack(ys, 0)

    def neuron_parameters(self) -> dict:
        """``{"decay": β_out}`` as a detached float tensor (out_features,) (effective, clamped)."""
        return {"decay": self.effective_decay().detach().clone().float()}

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, decay={self.init_decay}, learn_decay={self.learn_decay}"

    @property
    def config(self) -> dict[str, Any]:
        """JSON-able constructor description."""
        return {"class": "LeakyReadout", "args": {"in_features": self.in_features, "out_features": self.out_features,
                "decay": self.init_decay,
                "learn_decay": self.learn_decay, "bias": self.has_bias}}
