"""``input``: the population the host feeds with the network's input x_t (it takes no core).

Encoding "value" sends x_t as a graded event (an event wherever x_t != 0); "delta" sends the change
x_t - (value last sent) where it exceeds ``delta_threshold`` (sigma-delta coding, for sigma-delta networks).
Fixed point: the host gives integers round(x * 2**out_frac_bits) saturated to 24 bits
(:func:`spikernn.hardware.fixed_point.quantize_input`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from spikernn.hardware.kinds.delta import delta_send
from spikernn.hardware.kinds.spec import DELTA_THRESHOLD, NeuronKind, Prepared, Setting


class InputState(NamedTuple):
    sent: np.ndarray  # (B, n) the value last sent (delta encoding)


@dataclass(frozen=True)
class InputPrepared(Prepared):
    fixed: bool
    size: int
    encoding: str
    threshold: float | int
    out_frac_bits: int


class Input(NeuronKind):
    def _prepare(self, values, settings, precision, size):
        thr = settings["delta_threshold"]
        fixed = precision == "fixed"
        return InputPrepared(fixed=fixed, size=size, encoding=settings["encoding"],
                             threshold=int(thr) if fixed else float(thr), out_frac_bits=int(settings["out_frac_bits"]))

    def init_state(self, prep, batch):
        return InputState(np.zeros((batch, prep.size), np.int64 if prep.fixed else np.float64))

    def step(self, state, inputs, prep):
        x = inputs["x"]
        if prep.encoding == "value":
            return InputState(x), x, x != 0
        out, sent, mask = delta_send(x, state.sent, prep.threshold)
        return InputState(sent), out, mask

    def read_value(self, state, out):
        return state.sent

    def delta_coded(self, attrs):
        return attrs.get("encoding", "value") == "delta"

    def out_frac_bits(self, attrs):
        return int(attrs.get("out_frac_bits", 0))


INPUT = Input(
    name="input",
    summary="host input x_t, sent as values or sigma-delta changes",
    ports=(),
    float_params=(),
    fixed_params=(),
    settings=(Setting("encoding", "value", "'value' sends x_t, 'delta' sends changes above delta_threshold",
                      choices=("value", "delta")),
              DELTA_THRESHOLD,
              Setting("out_frac_bits", 0, "fixed point: fractional bits of the integers the host sends", fixed_only=True,
                      low=0)),
    state_type=InputState,
    sends="graded",
    updates_per_step=0,
)
