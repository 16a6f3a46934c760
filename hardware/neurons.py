"""Neuron step functions for every kind in :data:`spikernn.hardware.network.NEURON_KINDS`.

Every kind has a pure, batched numpy step function (arrays shaped (B, n) or (B, gates*n))::

    new_state, out, mask = step(kind, state, inputs_by_port, params, attrs, precision)
    state = init_state(kind, size, batch, params, attrs, precision)

``inputs_by_port`` maps a port name ("in", "rec") to the synaptic input of this step (the sum over all
synapse blocks ending at that port, see :mod:`spikernn.hardware.synapses`); the ``input`` kind takes the
host's value under the key ``"x"``. ``out`` is the payload sent on the outgoing synapses this step (binary
spikes 0/1, graded deltas, or the readout value), ``mask`` (bool) says which neurons sent an event. The
value the host reads from a population (its "output" for the network) is :func:`read_value`.
The same functions serve the fast simulator (large B) and the Lava engineer's custom ProcessModels (B = 1),
so both backends agree by construction. ``state`` is never modified in place. Per-kind functions
``step_<kind>`` (:data:`STEP`) take the same arguments; :func:`prepare_params` computes derived constants
once (pass its result as ``params`` to skip that work every step); :func:`out_frac_bits` and
:func:`delta_coded` describe what a population sends. A ``readout`` sends no events (mask all False).
Float sigmoid is computed as ``0.5 + 0.5*tanh(x/2)`` (a few ulp from torch.sigmoid).

Float precision (``precision="float"``, float64) implements docs/equations.md exactly. The soma is written
in Lava's floating-point LIF form ``v = v*(1-dv) + u + bias`` with ``u = a_in`` (du = 1) and
``dv = 1 - decay``, so a ``lif`` with reset "zero" and no adaptation gives the same bits as
``lava.proc.lif.models.PyLifModelFloat`` given the same ``a_in``.

Fixed point (``precision="fixed"``): integer arithmetic in int64 arrays holding the hardware widths.

* ``lif``: exactly Lava's bit-accurate LIF (``PyLifModelBitAcc``): params ``du`` (12-bit, hardware adds 1;
  4095 makes u = a_in), ``dv`` (12-bit, v decays by ``(4096-dv)/4096``, sign-magnitude shift, i.e.
  rounding toward zero), ``bias_mant`` (13-bit signed), ``bias_exp`` (0..7; bias in v units =
  ``bias_mant << bias_exp``), ``vth`` (17-bit unsigned, compared as ``vth << 6``). ``a_in`` is shifted left
  by 6; u is 24-bit and wraps, v is 24-bit and saturates at +-(2**23-1). Extensions beyond Lava's LIF (only
  through the project's own process): reset "subtract"/"none" and an adaptive threshold: state ``a`` in
  Q12 (a spike adds 4096) decaying with ``da`` (12-bit, like dv), threshold in v units
  ``(vth << 6) + ((adapt_scale * a) >> 12)`` with ``adapt_scale`` an integer in v units.
* gated and sigma-delta kinds (``spiking_lstm``, ``spiking_gru``, ``sd_*``, ``readout``): "microcode"
  neurons. Synaptic input and biases are integers with ``attrs["in_frac_bits"]`` = F fractional bits
  (1.0 = 2**F). Gate arithmetic is Q12 (``Q = 12`` fractional bits, 1.0 = 4096) in 24-bit saturating
  registers: a pre-activation is brought to Q12 by an arithmetic shift (floor) and fed to sigmoid/tanh
  through a 257-entry lookup table over [-8, 8) (one entry every 1/16, values round(f * 4096)) with linear
  interpolation of the remaining 8 bits (``lo + (((hi-lo)*frac + 128) >> 8)``); inputs outside [-8, 8) are
  clamped (saturate). Max error vs the exact function (measured over every Q12 input): 2.7e-4 (sigmoid), 5.4e-4 (tanh).
  Products of two Q12 numbers are ``(a*b + 2048) >> 12`` (round half up). The cell state c / h and the
  membrane are saturated to 24 bits.
  Spiking soma for ``spiking_lstm``/``spiking_gru``: v in Q12; ``v = sat24(signmag((4096-dv)*v >> 12) + d)``
  with ``dv`` in [0, 4096]; threshold ``vth`` in Q12 (no shift), adaptation as for ``lif`` with ``a`` in
  Q12 and ``adapt_scale`` in Q12 units of v.
  Sigma-delta kinds accumulate their inputs (sigma, int64, no wrap), compute the activation, and send
  ``delta = act - sent`` where ``|delta| > delta_threshold`` (an integer in output units, strict ">" as in
  docs/equations.md; Lava's SigmaDelta uses ">=", so give it ``vth = delta_threshold + 1``). Output units:
  Q12 for tanh/LSTM/GRU, the input units (F) for ``sd_rnn`` with relu (so ``sd_rnn``/relu with bias in F
  units is exactly ``lava.proc.sdn.SigmaDelta`` RELU with state_exp = spike_exp = 0).
  ``readout``: y in F units (24-bit saturating), ``y = sat24(signmag((4096-dv)*y >> 12) + in + bias)``,
  dv in [0, 4096] (4096 = no memory).
* ``input``: the host gives integers (x quantised with ``attrs["out_frac_bits"]``, see
  :func:`spikernn.hardware.fixed_point.quantize_input`); "value" sends x, "delta" sends changes.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from spikernn.hardware.network import NEURON_KINDS

try:  # the clip ufunc itself: np.clip's Python wrappers cost more than the work at batch 1
    from numpy.core.umath import clip as _clip
except ImportError:  # pragma: no cover - other numpy layouts
    _clip = np.clip

Q = 12  # fractional bits of the gate arithmetic (1.0 == 4096)
ONE = 1 << Q
MAX24 = (1 << 23) - 1
LUT_LO = -8.0  # LUT covers [-8, 8)
LUT_STEP_BITS = 8  # Q12 input: 1/16 per table entry -> 8 bits of interpolation
GATES = {"spiking_lstm": 4, "sd_lstm": 4, "spiking_gru": 3, "sd_gru": 3}
State = dict[str, np.ndarray]  # a population's state arrays, each (B, n) or (B, gates*n)
StepResult = tuple[State, np.ndarray, np.ndarray]  # (new state, payload sent (B, n), event mask (B, n) bool)


def _make_lut(fn) -> np.ndarray:
    xs = LUT_LO + np.arange(257) / 16.0
    return np.round(fn(xs) * ONE).astype(np.int64)


SIGMOID_LUT = _make_lut(lambda x: 1.0 / (1.0 + np.exp(-x)))
TANH_LUT = _make_lut(np.tanh)


def _lut_interp(table: np.ndarray, x12: np.ndarray) -> np.ndarray:
    """The table lookup with linear interpolation as specified (reference for the precomputed tables)."""
    xc = _clip(x12, -(8 << Q), (8 << Q) - 1) + (8 << Q)  # 0 .. 65535
    idx = xc >> LUT_STEP_BITS
    frac = xc & ((1 << LUT_STEP_BITS) - 1)
    lo = table.take(idx)
    hi = table.take(idx + 1)
    hi -= lo
    hi *= frac
    hi += 1 << (LUT_STEP_BITS - 1)
    hi >>= LUT_STEP_BITS
    hi += lo
    return hi


def _full_table(table: np.ndarray) -> np.ndarray:
    """:func:`_lut`'s value for every clipped input 0 .. 65535 (one gather instead of two and arithmetic)."""
    xc = np.arange(1 << 16, dtype=np.int64)
    idx = xc >> LUT_STEP_BITS
    frac = xc & ((1 << LUT_STEP_BITS) - 1)
    lo = table.take(idx)
    hi = table.take(np.minimum(idx + 1, len(table) - 1))  # idx + 1 <= 256 always; min only guards the shape
    return lo + (((hi - lo) * frac + (1 << (LUT_STEP_BITS - 1))) >> LUT_STEP_BITS)


def _lut(table: np.ndarray, x12: np.ndarray) -> np.ndarray:
    full = _FULL_SIGMOID if table is SIGMOID_LUT else (_FULL_TANH if table is TANH_LUT else _full_table(table))
    xc = _clip(x12, -(8 << Q), (8 << Q) - 1)
    xc += 8 << Q  # 0 .. 65535
    return full.take(xc)


def sigmoid_q(x12: np.ndarray) -> np.ndarray:
    """Fixed-point sigmoid: Q12 int64 in, Q12 int64 out (LUT + linear interpolation, saturating)."""
    return _lut(SIGMOID_LUT, x12)


def tanh_q(x12: np.ndarray) -> np.ndarray:
    """Fixed-point tanh: Q12 int64 in, Q12 int64 out (LUT + linear interpolation, saturating)."""
    return _lut(TANH_LUT, x12)


def mul_q(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Product of two Q12 numbers, rounded half up: (a*b + 2048) >> 12."""
    return (a * b + (1 << (Q - 1))) >> Q


def sat24(x: np.ndarray) -> np.ndarray:
    """Saturate to the signed 24-bit range [-(2**23-1), 2**23-1] (as Lava's LIF voltage)."""
    return _clip(x, -MAX24, MAX24)


def to_q12(x: np.ndarray, frac_bits: int) -> np.ndarray:
    """Re-express an integer with ``frac_bits`` fractional bits in Q12 (arithmetic shift, floor)."""
    if frac_bits > Q:
        return x >> (frac_bits - Q)
    if frac_bits < Q:
        return x << (Q - frac_bits)
    return x


def decay_q(x: np.ndarray, d: Any) -> np.ndarray:
    """Lava-style 12-bit decay: sign(x) * ((|x| * (4096 - d)) >> 12) (rounds toward zero)."""
    prod = x * (ONE - d)
    return np.sign(prod) * (np.abs(prod) >> Q)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Float logistic sigmoid (float64) as ``0.5 + 0.5*tanh(x/2)`` (identical math to 1/(1+exp(-x)),
    within a few ulp of torch.sigmoid, and several times faster in numpy)."""
    t = np.tanh(x * 0.5)
    t *= 0.5
    t += 0.5
    return t


# ----------------------------------------------------------------------------------------------------------
# parameter preparation (derived constants computed once; steps accept raw or prepared params)
# ----------------------------------------------------------------------------------------------------------

def _arr(params: dict, key: str, size: int, default: float, dtype=np.float64) -> np.ndarray:
    v = params.get(key)
    if v is None:
        return np.full(size, default, dtype=dtype)
    v = np.asarray(v)
    if v.ndim == 0:
        v = np.full(size, v.item())
    return v.astype(dtype)


def prepare_params(kind: str, params: dict, attrs: dict, precision: str, size: int | None = None) -> dict:
    """Return ``params`` plus derived constants (keys starting with "_"); steps call it when needed.

    Calling it once and passing the result to :func:`step` saves per-step work (the fast simulator does).
    """
    if "_prepared" in params:
        return params
    if kind not in NEURON_KINDS:
        raise ValueError(f"unknown neuron kind {kind!r}; known: {sorted(NEURON_KINDS)}")
    if precision not in ("float", "fixed"):
        raise ValueError(f"precision must be 'float' or 'fixed', got {precision!r}")
    p = dict(params)
    n = size if size is not None else _infer_size(kind, params)
    fixed = precision == "fixed"
    if kind in ("lif", "spiking_lstm", "spiking_gru"):
        reset = attrs.get("reset", "zero")
        if reset not in ("zero", "subtract", "none"):
            raise ValueError(f"reset must be 'zero', 'subtract' or 'none', got {reset!r}")
        p["_reset"] = reset
        if not fixed:
            dec = _arr(params, "decay", n, 1.0)
            p["_m"] = 1.0 - (1.0 - dec)  # Lava's v * (1 - dv) with dv = 1 - decay
            p["_th"] = _arr(params, "threshold", n, 1.0)
            p["_ba"] = _arr(params, "adapt_scale", n, 0.0)
            p["_rho"] = _arr(params, "adapt_decay", n, 0.0)
            if kind == "lif":
                p["_bias"] = _arr(params, "bias", n, 0.0)
        else:
            i64 = np.int64
            p["_dv"] = _arr(params, "dv", n, 0, i64)
            p["_ba"] = _arr(params, "adapt_scale", n, 0, i64)
            p["_da"] = _arr(params, "da", n, ONE, i64)
            vth = _arr(params, "vth", n, 0, i64)
            if kind == "lif":
                p["_du"] = _arr(params, "du", n, 4095, i64)
                p["_u_pass"] = bool(np.all(p["_du"] == 4095))
                mant = _arr(params, "bias_mant", n, 0, i64)
                ex = _arr(params, "bias_exp", n, 0, i64)
                p["_bias"] = np.where(ex >= 0, mant << np.maximum(ex, 0), mant >> np.maximum(-ex, 0))
                p["_th"] = vth << 6
            else:
                p["_th"] = vth
        p["_adapt"] = bool(np.any(p["_ba"] != 0))
    if kind in ("spiking_lstm", "sd_lstm", "sd_rnn", "readout"):
        g = GATES.get(kind, 1)
        p["_bias"] = _arr(params, "bias", g * n, 0.0, np.int64 if fixed else np.float64)
    if kind in ("spiking_gru", "sd_gru"):
        p["_bias_in"] = _arr(params, "bias_in", 3 * n, 0.0, np.int64 if fixed else np.float64)
        p["_bias_rec"] = _arr(params, "bias_rec", 3 * n, 0.0, np.int64 if fixed else np.float64)
    if kind == "readout":
        if fixed:
            p["_dv"] = _arr(params, "dv", n, ONE, np.int64)
        else:
            p["_decay"] = _arr(params, "decay", n, 0.0)
        p["_sigma"] = attrs.get("input_coding", "value") == "delta"
    if kind == "sd_rnn":
        act = attrs.get("activation", "tanh")
        if act not in ("tanh", "relu"):
            raise ValueError(f"sd_rnn activation must be 'tanh' or 'relu', got {act!r}")
        p["_act"] = act
    if kind.startswith("sd_") or kind == "input":
        thr = attrs.get("delta_threshold", 0)
        p["_thr"] = int(thr) if fixed else float(thr)
    if kind == "input":
        enc = attrs.get("encoding", "value")
        if enc not in ("value", "delta"):
            raise ValueError(f"input encoding must be 'value' or 'delta', got {enc!r}")
        p["_enc"] = enc
    if fixed:
        p["_F"] = int(attrs.get("in_frac_bits", Q))
    p["_prepared"] = True
    return p


def _infer_size(kind: str, params: dict) -> int:
    for key, g in (("decay", 1), ("threshold", 1), ("vth", 1), ("dv", 1), ("bias_mant", 1)):
        if key in params and np.ndim(params[key]) > 0:
            return int(np.shape(params[key])[0]) // g
    if "bias" in params:
        return int(np.shape(params["bias"])[0]) // GATES.get(kind, 1)
    if "bias_in" in params:
        return int(np.shape(params["bias_in"])[0]) // 3
    raise ValueError(f"cannot infer the size of a {kind!r} population from its params; pass size=")


# ----------------------------------------------------------------------------------------------------------
# state
# ----------------------------------------------------------------------------------------------------------

def init_state(kind: str, size: int, batch: int, params: dict | None = None, attrs: dict | None = None,
               precision: str = "float") -> dict[str, np.ndarray]:
    """Zero initial state of a population of ``size`` neurons for ``batch`` inputs (docs/equations.md)."""
    if kind not in NEURON_KINDS:
        raise ValueError(f"unknown neuron kind {kind!r}; known: {sorted(NEURON_KINDS)}")
    dt = np.int64 if precision == "fixed" else np.float64
    z = lambda m=1: np.zeros((batch, m * size), dt)  # noqa: E731
    if kind == "input":
        return {"sent": z()}
    if kind == "lif":
        st = {"v": z(), "a": z()}
        if precision == "fixed":
            st["u"] = z()
        return st
    if kind == "spiking_lstm":
        return {"c": z(), "v": z(), "a": z()}
    if kind == "spiking_gru":
        return {"h": z(), "v": z(), "a": z()}
    if kind == "sd_rnn":
        return {"sigma": z(), "sent": z()}
    if kind == "sd_lstm":
        return {"sigma": z(4), "c": z(), "sent": z()}
    if kind == "sd_gru":
        return {"sigma_in": z(3), "sigma_rec": z(3), "h": z(), "sent": z()}
    if kind == "readout":
        return {"sigma": z(), "y": z()}
    raise AssertionError(kind)


# ----------------------------------------------------------------------------------------------------------
# soma (shared by the spiking kinds)
# ----------------------------------------------------------------------------------------------------------

def _soma_float(v, a, d, p):
    """v = v*(1-dv) + d (Lava order); theta = th + ba*a; spike; reset; a = rho*a + s."""
    v = v * p["_m"]
    v += d
    return _fire_float(v, a, p)


def _fire_float(v, a, p):
    """Threshold, reset (in place on the fresh ``v``) and adaptation of the float soma."""
    if p["_adapt"]:
        theta = p["_th"] + p["_ba"] * a
    else:
        theta = p["_th"]
    s = v > theta
    reset = p["_reset"]
    if reset == "zero":
        np.copyto(v, 0.0, where=s)
    elif reset == "subtract":
        np.subtract(v, theta, out=v, where=s)
    sf = s.astype(np.float64)
    if p["_adapt"]:
        a = p["_rho"] * a
        a += sf
    return v, a, sf, s


def _soma_fixed(v, a, drive_v, p):
    """v = sat24(decay12(v) + drive); theta = th + (ba*a >> 12); spike; reset; a = decay12(a) + 4096*s."""
    v = sat24(decay_q(v, p["_dv"]) + drive_v)
    if p["_adapt"]:
        theta = p["_th"] + ((p["_ba"] * a) >> Q)
    else:
        theta = p["_th"]
    s = v > theta
    reset = p["_reset"]
    if reset == "zero":
        v = np.where(s, 0, v)
    elif reset == "subtract":
        v = sat24(v - np.where(s, theta, 0))
    si = s.astype(np.int64)
    if p["_adapt"]:
        a = sat24(decay_q(a, p["_da"]) + (si << Q))
    return v, a, si, s


def _delta_send(act, sent, thr):
    delta = act - sent
    mask = np.abs(delta) > thr
    out = np.where(mask, delta, 0)
    return out, sent + out, mask


# ----------------------------------------------------------------------------------------------------------
# step functions per kind
# ----------------------------------------------------------------------------------------------------------

def step_input(state: State, inputs: dict[str, np.ndarray], params: dict, attrs: dict,
               precision: str = "float") -> StepResult:
    """Host input: "value" sends x_t; "delta" sends x_t - last sent where |change| > delta_threshold."""
    p = prepare_params("input", params, attrs, precision, size=np.shape(inputs["x"])[-1])
    x = inputs["x"]
    if p["_enc"] == "value":
        mask = x != 0
        return {"sent": x}, x, mask
    out, sent, mask = _delta_send(x, state["sent"], p["_thr"])
    return {"sent": sent}, out, mask


def step_lif(state: State, inputs: dict[str, np.ndarray], params: dict, attrs: dict,
             precision: str = "float") -> StepResult:
    """Recurrent LIF soma: d = in + bias (float); Lava's bit-accurate LIF (fixed)."""
    a_in = inputs["in"]
    p = prepare_params("lif", params, attrs, precision, size=a_in.shape[-1])
    if precision == "fixed":
        if p["_u_pass"]:  # du = 4095: the decayed current is exactly 0
            u = a_in << 6
        else:
            u = decay_q(state["u"], p["_du"] + 1) + (a_in << 6)  # hardware adds 1 to du; input MSB-aligned
        M = 1 << 23
        if u.size and np.abs(u).max() >= M:
            w = np.where(u > M, u - 2 * M, u)
            u = np.where(w <= -M, u + 2 * M, w)  # 24-bit wrap, exactly as Lava writes it
        v, a, out, s = _soma_fixed(state["v"], state["a"], u + p["_bias"], p)
        return {"v": v, "a": a, "u": u}, out, s
    # float, Lava order: u = a_in (du = 1); v = v*(1-dv) + u + bias
    v = state["v"] * p["_m"]
    v += a_in
    v += p["_bias"]
    v, a, sf, s = _fire_float(v, state["a"], p)
    return {"v": v, "a": a}, sf, s


def _lstm_gates_float(pre, c, H):
    sg = sigmoid(pre)  # i, f, o (the g columns are overwritten below)
    g = np.tanh(pre[:, 2 * H:3 * H])
    c = sg[:, H:2 * H] * c
    c += sg[:, :H] * g
    return c, sg[:, 3 * H:] * np.tanh(c)


_GATE_OFFSETS: dict[int, np.ndarray] = {}
_LUT_BOTH = np.concatenate([SIGMOID_LUT, TANH_LUT])
_FULL_SIGMOID = _full_table(SIGMOID_LUT)
_FULL_TANH = _full_table(TANH_LUT)
_FULL_BOTH = np.concatenate([_FULL_SIGMOID, _FULL_TANH])
_FULL_OFFSETS: dict[int, np.ndarray] = {}


def _lstm_offsets(H: int) -> np.ndarray:
    off = _GATE_OFFSETS.get(H)
    if off is None:
        off = np.zeros(4 * H, np.int64)
        off[2 * H:3 * H] = len(SIGMOID_LUT)  # g gate uses the tanh table
        _GATE_OFFSETS[H] = off
    return off


def _lut_offset(x12: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """:func:`_lut` with a per-column table choice (bit-identical to separate sigmoid_q/tanh_q calls)."""
    H4 = offset.shape[-1]
    full_off = _FULL_OFFSETS.get(H4)
    if full_off is None:  # 32768 (sigmoid columns) or 65536 + 32768 (tanh columns)
        full_off = _FULL_OFFSETS[H4] = (offset != 0) * (1 << 16) + (8 << Q)
    xc = _clip(x12, -(8 << Q), (8 << Q) - 1)
    xc += full_off
    return _FULL_BOTH.take(xc)


def _lut_offset_interp(x12: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Reference of :func:`_lut_offset` (interpolating the 257-entry tables)."""
    xc = _clip(x12, -(8 << Q), (8 << Q) - 1)
    xc += 8 << Q
    idx = xc >> LUT_STEP_BITS
    idx += offset
    xc &= (1 << LUT_STEP_BITS) - 1
    lo = _LUT_BOTH.take(idx)
    idx += 1
    hi = _LUT_BOTH.take(idx)
    hi -= lo
    hi *= xc
    hi += 1 << (LUT_STEP_BITS - 1)
    hi >>= LUT_STEP_BITS
    hi += lo
    return hi


def _lstm_gates_fixed(pre, c, H, F):
    act = _lut_offset(to_q12(pre, F), _lstm_offsets(H))  # sigmoid(i, f, o), tanh(g)
    c = sat24(mul_q(act[:, H:2 * H], c) + mul_q(act[:, :H], act[:, 2 * H:3 * H]))
    return c, mul_q(act[:, 3 * H:], tanh_q(c))


def _gru_float(pi, ph, h, H):
    r = sigmoid(pi[:, :H] + ph[:, :H])
    z = sigmoid(pi[:, H:2 * H] + ph[:, H:2 * H])
    n = np.tanh(pi[:, 2 * H:] + r * ph[:, 2 * H:])
    return (1.0 - z) * n + z * h


def _gru_fixed(pi, ph, h, H, F):
    r = sigmoid_q(to_q12(pi[:, :H] + ph[:, :H], F))
    z = sigmoid_q(to_q12(pi[:, H:2 * H] + ph[:, H:2 * H], F))
    n = tanh_q(sat24(to_q12(pi[:, 2 * H:], F) + mul_q(r, to_q12(ph[:, 2 * H:], F))))
    return sat24(mul_q(ONE - z, n) + mul_q(z, h))


def step_spiking_lstm(state: State, inputs: dict[str, np.ndarray], params: dict, attrs: dict,
                      precision: str = "float") -> StepResult:
    """Spiking LSTM: gates from in (4H) + bias; c = f c + i g; d = o tanh(c); soma."""
    a_in = inputs["in"]
    H = a_in.shape[-1] // 4
    p = prepare_params("spiking_lstm", params, attrs, precision, size=H)
    pre = a_in + p["_bias"]
    if precision == "fixed":
        c, d = _lstm_gates_fixed(pre, state["c"], H, p["_F"])
        v, a, out, s = _soma_fixed(state["v"], state["a"], d, p)
    else:
        c, d = _lstm_gates_float(pre, state["c"], H)
        v, a, out, s = _soma_float(state["v"], state["a"], d, p)
    return {"c": c, "v": v, "a": a}, out, s


def step_spiking_gru(state: State, inputs: dict[str, np.ndarray], params: dict, attrs: dict,
                     precision: str = "float") -> StepResult:
    """Spiking GRU: torch GRU gates on in (3H) + bias_in and rec (3H) + bias_rec; d = h; soma."""
    a_in = inputs["in"]
    H = a_in.shape[-1] // 3
    p = prepare_params("spiking_gru", params, attrs, precision, size=H)
    a_rec = inputs.get("rec")
    if a_rec is None:
        a_rec = np.zeros_like(a_in)
    pi = a_in + p["_bias_in"]
    ph = a_rec + p["_bias_rec"]
    if precision == "fixed":
        h = _gru_fixed(pi, ph, state["h"], H, p["_F"])
        v, a, out, s = _soma_fixed(state["v"], state["a"], h, p)
    else:
        h = _gru_float(pi, ph, state["h"], H)
        v, a, out, s = _soma_float(state["v"], state["a"], h, p)
    return {"h": h, "v": v, "a": a}, out, s


def step_sd_rnn(state: State, inputs: dict[str, np.ndarray], params: dict, attrs: dict,
                precision: str = "float") -> StepResult:
    """Sigma-delta RNN neuron: sigma += in; act = tanh|relu(sigma + bias); send act - sent if > threshold."""
    a_in = inputs["in"]
    p = prepare_params("sd_rnn", params, attrs, precision, size=a_in.shape[-1])
    sigma = state["sigma"] + a_in
    pre = sigma + p["_bias"]
    if precision == "fixed":
        act = np.maximum(pre, 0) if p["_act"] == "relu" else tanh_q(to_q12(pre, p["_F"]))
    else:
        act = np.maximum(pre, 0.0) if p["_act"] == "relu" else np.tanh(pre)
    out, sent, mask = _delta_send(act, state["sent"], p["_thr"])
    return {"sigma": sigma, "sent": sent}, out, mask


def step_sd_lstm(state: State, inputs: dict[str, np.ndarray], params: dict, attrs: dict,
                 precision: str = "float") -> StepResult:
    """Sigma-delta LSTM neuron: sigma (4H) += in; torch LSTM cell on sigma + bias; send delta of h."""
    a_in = inputs["in"]
    H = a_in.shape[-1] // 4
    p = prepare_params("sd_lstm", params, attrs, precision, size=H)
    sigma = state["sigma"] + a_in
    pre = sigma + p["_bias"]
    if precision == "fixed":
        c, h = _lstm_gates_fixed(pre, state["c"], H, p["_F"])
    else:
        c, h = _lstm_gates_float(pre, state["c"], H)
    out, sent, mask = _delta_send(h, state["sent"], p["_thr"])
    return {"sigma": sigma, "c": c, "sent": sent}, out, mask


def step_sd_gru(state: State, inputs: dict[str, np.ndarray], params: dict, attrs: dict,
                precision: str = "float") -> StepResult:
    """Sigma-delta GRU neuron: sigma_in/sigma_rec (3H) accumulate; torch GRU cell; send delta of h."""
    a_in = inputs["in"]
    H = a_in.shape[-1] // 3
    p = prepare_params("sd_gru", params, attrs, precision, size=H)
    a_rec = inputs.get("rec")
    if a_rec is None:
        a_rec = np.zeros_like(a_in)
    si = state["sigma_in"] + a_in
    sr = state["sigma_rec"] + a_rec
    pi = si + p["_bias_in"]
    ph = sr + p["_bias_rec"]
    if precision == "fixed":
        h = _gru_fixed(pi, ph, state["h"], H, p["_F"])
    else:
        h = _gru_float(pi, ph, state["h"], H)
    out, sent, mask = _delta_send(h, state["sent"], p["_thr"])
    return {"sigma_in": si, "sigma_rec": sr, "h": h, "sent": sent}, out, mask


def step_readout(state: State, inputs: dict[str, np.ndarray], params: dict, attrs: dict,
                 precision: str = "float") -> StepResult:
    """Leaky integrator y = decay*y + in + bias (in = accumulated input when input_coding == "delta")."""
    a_in = inputs["in"]
    p = prepare_params("readout", params, attrs, precision, size=a_in.shape[-1])
    sigma = state["sigma"]
    if p["_sigma"]:
        sigma = sigma + a_in
        a_in = sigma
    if precision == "fixed":
        y = sat24(decay_q(state["y"], p["_dv"]) + a_in + p["_bias"])
    else:
        y = p["_decay"] * state["y"] + a_in + p["_bias"]
    return {"sigma": sigma, "y": y}, y, np.zeros(y.shape, bool)  # read by the host; sends no events


STEP = {
    "input": step_input,
    "lif": step_lif,
    "spiking_lstm": step_spiking_lstm,
    "spiking_gru": step_spiking_gru,
    "sd_rnn": step_sd_rnn,
    "sd_lstm": step_sd_lstm,
    "sd_gru": step_sd_gru,
    "readout": step_readout,
}


def step(kind: str, state: State, inputs_by_port: dict[str, np.ndarray], params: dict, attrs: dict,
         precision: str = "float") -> StepResult:
    """One time step of a population of kind ``kind``: returns ``(new_state, out, event_mask)``."""
    try:
        fn = STEP[kind]
    except KeyError:
        raise ValueError(f"unknown neuron kind {kind!r}; known: {sorted(STEP)}") from None
    return fn(state, inputs_by_port, params, attrs, precision)


def out_frac_bits(kind: str, attrs: dict) -> int:
    """Fractional bits of what a fixed-point population sends / the host reads (0 for binary spikes).

    ``input``: ``attrs["out_frac_bits"]``; ``sd_rnn`` relu and ``readout``: ``attrs["in_frac_bits"]``;
    ``sd_rnn`` tanh, ``sd_lstm``, ``sd_gru``: Q12; spiking kinds: 0 (a spike is 1).
    """
    if kind == "input":
        return int(attrs.get("out_frac_bits", 0))
    if kind == "readout" or (kind == "sd_rnn" and attrs.get("activation", "tanh") == "relu"):
        return int(attrs.get("in_frac_bits", Q))
    if kind in ("sd_rnn", "sd_lstm", "sd_gru"):
        return Q
    return 0


def delta_coded(kind: str, attrs: dict) -> bool:
    """Whether a population's messages are changes (sigma-delta coding) rather than values."""
    if kind == "input":
        return attrs.get("encoding", "value") == "delta"
    return kind in ("sd_rnn", "sd_lstm", "sd_gru")


def read_value(kind: str, state: dict, out: np.ndarray) -> np.ndarray:
    """What the host reads from a population at this step (its network output).

    Spiking kinds: the spikes (``out``). Graded kinds (``input``, ``sd_*``): the value last sent, i.e. the
    sum of all deltas sent so far (``state["sent"]``; with delta_threshold 0 it equals the activation).
    ``readout``: y. Fixed-point values are integers; :func:`spikernn.hardware.fixed_point.output_scale`
    gives the factor back to float.
    """
    if kind in ("input", "sd_rnn", "sd_lstm", "sd_gru"):
        return state["sent"]
    if kind == "readout":
        return state["y"]
    return out


# ----------------------------------------------------------------------------------------------------------
# in-place batched LIF kernel (fast simulator, large batches)
# ----------------------------------------------------------------------------------------------------------

_EXACT = float(2 ** 53)


_rmax, _rmin = np.maximum.reduce, np.minimum.reduce  # without ndarray.max's Python wrapper (batch 1)


def _sat24_inplace(x: np.ndarray) -> None:
    """:func:`sat24` in place on a float64 array."""
    if x.size <= 4096:  # small: one clip call costs less than two reductions
        _clip(x, -float(MAX24), float(MAX24), out=x)
    elif _rmax(x, axis=None) > MAX24 or _rmin(x, axis=None) < -MAX24:  # large: saturation is rare, check first
        _clip(x, -float(MAX24), float(MAX24), out=x)


class _SomaKernel:
    """The spiking soma shared by the in-place kernels: threshold (adaptive or not), spike, reset and
    adaptation trace, applied to ``self.v`` after the drive was added (the order of the step functions).
    Subclasses set ``v, a, tmp, adapt, reset, th, ba`` and, in fixed point, ``ma, th_neg``; in float ``rho``."""

    def _fire_fixed(self, spikes: np.ndarray) -> None:
        v, a, tmp = self.v, self.a, self.tmp
        if self.adapt:
            theta = np.multiply(self.ba, a)
            theta *= 1.0 / ONE
            np.floor(theta, out=theta)
            theta += self.th
        else:
            theta = self.th
        np.greater(v, theta, out=spikes)
        if self.reset == "zero":
            np.copyto(v, 0.0, where=spikes)
        elif self.reset == "subtract":
            np.multiply(spikes, theta, out=tmp)
            v -= tmp
            if self.adapt or self.th_neg:  # v > theta >= 0 gives 0 < v - theta < v: nothing to saturate
                _sat24_inplace(v)
        if self.adapt:
            np.multiply(a, self.ma, out=a)
            np.trunc(a, out=a)
            np.multiply(spikes, float(ONE), out=tmp)
            a += tmp
            _sat24_inplace(a)

    def _fire_float(self, spikes: np.ndarray) -> None:
        v, a, tmp = self.v, self.a, self.tmp
        if self.adapt:
            theta = np.multiply(self.ba, a)
            theta += self.th
        else:
            theta = self.th
        np.greater(v, theta, out=spikes)
        if self.reset == "zero":
            np.copyto(v, 0.0, where=spikes)
        elif self.reset == "subtract":  # v - 1*theta or v - 0 (theta finite): the same values as where=
            np.multiply(spikes, theta, out=tmp)
            v -= tmp
        if self.adapt:
            a *= self.rho
            a += spikes


class LifKernel(_SomaKernel):
    """In-place batched ``lif`` step for the fast simulator: the same numbers as :func:`step_lif`.

    It owns its state (preallocated, updated in place) and writes the spikes into a given bool array, so a
    step allocates nothing. Fixed point runs on float64 arrays holding the integers of :func:`step_lif`
    exactly (every intermediate is an integer below 2**53): the 12-bit decay ``sign(x)*((|x|*(4096-d)) >> 12)``
    is ``trunc(x * ((4096-d)/4096))`` (the product is exact: its true value has at most 36 significant bits),
    ``floor`` replaces arithmetic shifts; comparisons and saturation are unchanged. Float runs the float
    step's operations in the same order. :meth:`supported` says when the kernel applies (else use the step).
    """

    def __init__(self, params: dict, attrs: dict, precision: str, batch: int, size: int) -> None:
        p = prepare_params("lif", params, attrs, precision, size=size)
        self.p, self.fixed = p, precision == "fixed"
        shape = (batch, size)
        f64 = np.float64
        self.v = np.zeros(shape, f64)
        self.a = np.zeros(shape, f64)
        self.u = np.zeros(shape, f64)
        self.tmp = np.empty(shape, f64)
        self.sf = np.empty(shape, f64)
        self.adapt = bool(p["_adapt"])
        self.reset = p["_reset"]
        if self.fixed:
            self.mv = (ONE - p["_dv"].astype(f64)) / ONE
            self.mu = (ONE - (p["_du"].astype(f64) + 1)) / ONE
            self.ma = (ONE - p["_da"].astype(f64)) / ONE
            self.u_pass = bool(p["_u_pass"])
            self.bias = p["_bias"].astype(f64)
            self.th = p["_th"].astype(f64)
            self.ba = p["_ba"].astype(f64)
            self.th_neg = bool(np.any(self.th < 0))
        else:
            self.m, self.bias, self.th = p["_m"], p["_bias"], p["_th"]
            self.ba, self.rho = p["_ba"], p["_rho"]

    @staticmethod
    def supported(params: dict, attrs: dict, precision: str, size: int) -> bool:
        p = prepare_params("lif", params, attrs, precision, size=size)
        if precision != "fixed":
            return bool(np.all(np.isfinite(p["_th"])) and np.all(np.isfinite(p["_ba"])))
        ok = all(np.all((p[k] >= 0) & (p[k] <= ONE)) for k in ("_dv", "_da"))
        ok = ok and bool(np.all((p["_du"] >= 0) & (p["_du"] < ONE)))
        big = max(float(np.abs(p[k]).max(initial=0)) for k in ("_bias", "_th", "_ba"))
        return bool(ok and big * 2.0 ** 26 < _EXACT)

    def step(self, a_in: np.ndarray, spikes: np.ndarray) -> None:
        """One step for synaptic input ``a_in`` (B, n) (integers as int64 or float64 in fixed point);
        writes the spikes into the bool array ``spikes`` (B, n)."""
        v, u, tmp = self.v, self.u, self.tmp
        if self.fixed:
            M = float(1 << 23)
            if self.u_pass:
                np.multiply(a_in, 64.0, out=u)
            else:
                np.multiply(u, self.mu, out=u)
                np.trunc(u, out=u)
                np.multiply(a_in, 64.0, out=tmp)
                u += tmp
            if u.size and (_rmax(u, axis=None) >= M or _rmin(u, axis=None) <= -M):
                w = np.where(u > M, u - 2 * M, u)
                u[...] = np.where(w <= -M, u + 2 * M, w)  # 24-bit wrap, exactly as step_lif
            np.multiply(v, self.mv, out=v)
            np.trunc(v, out=v)
            v += u
            v += self.bias
            _sat24_inplace(v)
            self._fire_fixed(spikes)
            return
        # float, the order of step_lif: v = v*m + a_in + bias
        v *= self.m
        v += a_in
        v += self.bias
        self._fire_float(spikes)


class ReadoutKernel:
    """In-place batched ``readout`` step (``input_coding`` "value") for the fast simulator: the numbers of
    :func:`step_readout`. Fixed point holds the integers in float64: ``trunc(y * ((4096-dv)/4096))`` is the
    12-bit decay exactly (see :class:`LifKernel`); a sum beyond 2**53 would be rounded, but it saturates to
    the same 24-bit bound as the exact sum. ``y`` is the state (B, n), overwritten each step."""

    def __init__(self, params: dict, attrs: dict, precision: str, batch: int, size: int) -> None:
        p = prepare_params("readout", params, attrs, precision, size=size)
        self.fixed = precision == "fixed"
        self.y = np.zeros((batch, size), np.float64)
        self.bias = p["_bias"].astype(np.float64)
        self.m = ((ONE - p["_dv"].astype(np.float64)) / ONE) if self.fixed else p["_decay"]

    @staticmethod
    def supported(params: dict, attrs: dict, precision: str, size: int) -> bool:
        p = prepare_params("readout", params, attrs, precision, size=size)
        if p["_sigma"]:
            return False
        if precision != "fixed":
            return True
        return bool(np.all((p["_dv"] >= 0) & (p["_dv"] <= ONE)) and float(np.abs(p["_bias"]).max(initial=0)) < 2 ** 52)

    def step(self, a_in: np.ndarray) -> np.ndarray:
        """One step; returns ``y`` (the kernel's own array)."""
        y = self.y
        y *= self.m  # float: decay*y (the same product)
        if self.fixed:
            np.trunc(y, out=y)
        y += a_in
        y += self.bias
        if self.fixed:
            _sat24_inplace(y)
        return y


# ----------------------------------------------------------------------------------------------------------
# in-place batched spiking-LSTM kernel (fast simulator)
# ----------------------------------------------------------------------------------------------------------


class LstmKernel(_SomaKernel):
    """In-place batched ``spiking_lstm`` step for the fast simulator: the same numbers as
    :func:`step_spiking_lstm` (fixed point bit for bit, float the same operations in the same order).

    Fixed point: gates in int64 buffers (table lookups through the precomputed 65,536-entry tables, the
    products ``(a*b + 2048) >> 12`` of :func:`mul_q`), the soma in float64 holding its integers exactly as in
    :class:`LifKernel` (``trunc(v * (4096-dv)/4096)`` is the sign-magnitude 12-bit decay). ``a_in`` may be
    int64 or float64/float32 holding integers. :meth:`supported` says when the kernel applies.
    """

    def __init__(self, params: dict, attrs: dict, precision: str, batch: int, size: int) -> None:
        p = prepare_params("spiking_lstm", params, attrs, precision, size=size)
        self.p, self.fixed, self.H = p, precision == "fixed", size
        H, B = size, batch
        f64 = np.float64
        self.v = np.zeros((B, H), f64)
        self.a = np.zeros((B, H), f64)
        self.tmp = np.empty((B, H), f64)
        self.adapt = bool(p["_adapt"])
        self.reset = p["_reset"]
        if self.fixed:
            i64 = np.int64
            self.pre = np.empty((B, 4 * H), i64)
            self.act = np.empty((B, 4 * H), i64)
            self.X = np.zeros((B, 2 * H), i64)  # [g | c]: c is the state (the right half)
            self.c = self.X[:, H:]
            self.P = np.empty((B, 2 * H), i64)
            self.d = np.empty((B, H), i64)
            self.ti = np.empty((B, H), i64)
            self.F = F = int(p["_F"])
            # table index (x12 + 32768) folded into the bias: floor((pre + 32768 * 2**(F-12)) / 2**(F-12))
            # = floor(pre / 2**(F-12)) + 32768, and (pre + 32768 >> (12-F)) << (12-F) = (pre << (12-F)) + 32768
            self.bias = p["_bias"].astype(i64) + ((8 << Q) << (F - Q) if F >= Q else (8 << Q) >> (Q - F))
            self.mv = (ONE - p["_dv"].astype(f64)) / ONE
            self.ma = (ONE - p["_da"].astype(f64)) / ONE
            self.th = p["_th"].astype(f64)
            self.ba = p["_ba"].astype(f64)
            self.th_neg = bool(np.any(self.th < 0))
        else:
            self.pre = np.empty((B, 4 * H), f64)
            self.sg = np.empty((B, 4 * H), f64)
            self.g = np.empty((B, H), f64)
            self.c = np.zeros((B, H), f64)
            self.d = np.empty((B, H), f64)
            self.bias = p["_bias"]
            self.m, self.th = p["_m"], p["_th"]
            self.ba, self.rho = p["_ba"], p["_rho"]

    @staticmethod
    def supported(params: dict, attrs: dict, precision: str, size: int) -> bool:
        p = prepare_params("spiking_lstm", params, attrs, precision, size=size)
        if precision != "fixed":
            return bool(np.all(np.isfinite(p["_th"])) and np.all(np.isfinite(p["_ba"])))
        ok = all(np.all((p[k] >= 0) & (p[k] <= ONE)) for k in ("_dv", "_da"))
        big = max(float(np.abs(p[k]).max(initial=0)) for k in ("_th", "_ba"))
        return bool(ok and big * 2.0 ** 26 < _EXACT and float(np.abs(p["_bias"]).max(initial=0)) < 2.0 ** 52
                    and p["_F"] >= Q - 15)

    def step(self, a_in: np.ndarray, spikes: np.ndarray, a_rec: np.ndarray | None = None) -> None:
        """One step for synaptic input ``a_in`` (B, 4H) (plus ``a_rec`` when given: the input is
        ``a_in + a_rec``, added first as in the simulator's loop); writes the spikes into the bool array
        ``spikes``."""
        H = self.H
        if not self.fixed:
            pre, sg, g, c, d, tmp = self.pre, self.sg, self.g, self.c, self.d, self.tmp
            if a_rec is None:
                np.add(a_in, self.bias, out=pre)
            else:
                np.add(a_in, a_rec, out=pre)
                pre += self.bias
            np.multiply(pre, 0.5, out=sg)  # sigmoid(pre) = 0.5 + 0.5*tanh(pre/2), as sigmoid()
            np.tanh(sg, out=sg)
            sg *= 0.5
            sg += 0.5
            np.tanh(pre[:, 2 * H:3 * H], out=g)
            c *= sg[:, H:2 * H]
            np.multiply(sg[:, :H], g, out=tmp)
            c += tmp
            np.tanh(c, out=tmp)
            np.multiply(sg[:, 3 * H:], tmp, out=d)
            v = self.v
            v *= self.m
            v += d
            self._fire_float(spikes)
            return
        pre, act, X, P, c, d = self.pre, self.act, self.X, self.P, self.c, self.d
        if a_rec is None:
            np.add(a_in, self.bias, out=pre, casting="unsafe")  # exact integers
        else:
            np.add(a_in, a_rec, out=pre, casting="unsafe")
            pre += self.bias
        F = self.F  # the bias holds 32768 (in input units): pre is the table index, clamped by take
        if F > Q:
            pre >>= F - Q
        elif F < Q:
            pre <<= Q - F
        _FULL_SIGMOID.take(pre[:, :2 * H], out=act[:, :2 * H], mode="clip")  # i, f
        _FULL_TANH.take(pre[:, 2 * H:3 * H], out=X[:, :H], mode="clip")  # g, next to c
        _FULL_SIGMOID.take(pre[:, 3 * H:], out=act[:, 3 * H:], mode="clip")  # o
        np.multiply(act[:, :2 * H], X, out=P)  # [i*g | f*c]
        P += 1 << (Q - 1)
        P >>= Q
        np.add(P[:, H:], P[:, :H], out=c)  # mul_q(f, c) + mul_q(i, g)
        _clip(c, -MAX24, MAX24, out=c)
        ti = self.ti
        np.add(c, 8 << Q, out=ti)
        _FULL_TANH.take(ti, out=d, mode="clip")  # tanh_q(c) (mode "clip" is the clamp of the input)
        d *= act[:, 3 * H:]
        d += 1 << (Q - 1)
        d >>= Q
        v = self.v
        np.multiply(v, self.mv, out=v)
        np.trunc(v, out=v)
        v += d
        _sat24_inplace(v)
        self._fire_fixed(spikes)
