"""The LSTM and GRU cell arithmetic inside gated neurons (torch's equations, gate order i,f,g,o and r,z,n), in
float and in fixed point; shared by the spiking kinds (whose soma then receives the result as its drive) and
the sigma-delta kinds (which send its changes). docs/equations.md gives the equations.

Fixed point: pre-activations with F fractional bits are brought to Q12 (:func:`~spikernn.hardware.arith.to_q12`),
gates through the lookup tables, products :func:`~spikernn.hardware.arith.mul_q`, c and h saturated to 24 bits.
"""
from __future__ import annotations

import numpy as np

from spikernn.hardware.arith import ONE, lut_columns, lut_offsets, mul_q, sat24, sigmoid, sigmoid_q, tanh_q, to_q12

_LSTM_OFFSETS: dict[int, np.ndarray] = {}


def lstm_offsets(H: int) -> np.ndarray:
    """Table offsets of the 4H LSTM pre-activations: sigmoid for i, f, o, tanh for g."""
    off = _LSTM_OFFSETS.get(H)
    if off is None:
        cols = np.zeros(4 * H, bool)
        cols[2 * H:3 * H] = True
        off = _LSTM_OFFSETS[H] = lut_offsets(cols)
    return off


def lstm_float(pre: np.ndarray, c: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
    """``(c, h)``: ``c = σ(f) c + σ(i) tanh(g)``, ``h = σ(o) tanh(c)`` from pre-activations (B, 4H)."""
    sg = sigmoid(pre)  # i, f, o (the g columns are not used)
    g = np.tanh(pre[:, 2 * H:3 * H])
    c = sg[:, H:2 * H] * c
    c += sg[:, :H] * g
    return c, sg[:, 3 * H:] * np.tanh(c)


def lstm_fixed(pre: np.ndarray, c: np.ndarray, H: int, F: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed-point LSTM cell: pre-activations with F fractional bits, c and h in Q12."""
    act = lut_columns(to_q12(pre, F), lstm_offsets(H))  # sigmoid(i, f, o), tanh(g)
    c = sat24(mul_q(act[:, H:2 * H], c) + mul_q(act[:, :H], act[:, 2 * H:3 * H]))
    return c, mul_q(act[:, 3 * H:], tanh_q(c))


def gru_ports(inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The GRU kinds' ``(in, rec)`` synaptic inputs (zeros on a "rec" port no block reaches)."""
    a_in = inputs["in"]
    a_rec = inputs.get("rec")
    return a_in, (np.zeros_like(a_in) if a_rec is None else a_rec)


def gru_float(pi: np.ndarray, ph: np.ndarray, h: np.ndarray, H: int) -> np.ndarray:
    """``h = (1 - z) n + z h`` with ``r, z = σ(...)``, ``n = tanh(n_i + r n_h)`` from input (pi) and
    recurrent (ph) pre-activations, each (B, 3H)."""
    r = sigmoid(pi[:, :H] + ph[:, :H])
    z = sigmoid(pi[:, H:2 * H] + ph[:, H:2 * H])
    n = np.tanh(pi[:, 2 * H:] + r * ph[:, 2 * H:])
    return (1.0 - z) * n + z * h


def gru_fixed(pi: np.ndarray, ph: np.ndarray, h: np.ndarray, H: int, F: int) -> np.ndarray:
    """The fixed-point GRU cell: pre-activations with F fractional bits, h in Q12."""
    r = sigmoid_q(to_q12(pi[:, :H] + ph[:, :H], F))
    z = sigmoid_q(to_q12(pi[:, H:2 * H] + ph[:, H:2 * H], F))
    n = tanh_q(sat24(to_q12(pi[:, 2 * H:], F) + mul_q(r, to_q12(ph[:, 2 * H:], F))))
    return sat24(mul_q(ONE - z, n) + mul_q(z, h))
