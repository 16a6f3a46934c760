"""Sigma-delta coding, shared by the ``input`` kind (encoding "delta") and the sigma-delta neurons: send the
change of a value where it exceeds a threshold, keep what was sent (docs/equations.md, "Dense (ANN) cells
converted to sigma-delta neurons")."""
from __future__ import annotations

import numpy as np


def delta_send(value: np.ndarray, sent: np.ndarray, threshold) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(out, new_sent, mask)``: ``out = value - sent`` where ``|value - sent| > threshold`` (strict), else 0;
    ``new_sent = sent + out`` (the value a receiver that accumulates the changes holds)."""
    delta = value - sent
    mask = np.abs(delta) > threshold
    out = np.where(mask, delta, 0)
    return out, sent + out, mask
