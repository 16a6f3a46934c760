"""Fixed-point rules of the simulated Loihi 2 and ``quantize(net)``: float network -> fixed-precision network.

Every helper returns the quantised values AND the error they introduced (quantised minus exact, in the
float units of the input), so that reports can say how much precision was lost.

Formats (the arithmetic is :mod:`spikernn.hardware.arith`; each kind's own quantisation rules are in its file
under :mod:`spikernn.hardware.kinds`, applied here through ``quantize_params``/``frac_bits_limits``):

* weights: signed 8-bit mantissa m in [-128, 127] and one exponent per synapse block e in [-8, 7]
  (the Loihi weight-exponent range); effective weight m * 2**e in the target's input units. Lava: pass
  ``weights=2*m, weight_exp=e-1, sign_mode=MIXED`` (:func:`spikernn.hardware.synapses.lava_dense_args`).
* input units: each non-input population has ``attrs["in_frac_bits"]`` = F: its synaptic input and biases
  are integers in units of 2**-F. Graded senders have output units 2**-out_frac_bits
  (:meth:`NeuronKind.out_frac_bits <spikernn.hardware.kinds.spec.NeuronKind.out_frac_bits>`; binary spikes are 1). A block from S to D therefore
  stores ``W * 2**(F_D - out_frac_bits(S))`` as m * 2**e.
* ``lif``: Lava LIF registers: du = 4095 (u = a_in), dv = round(4096*(1-decay)) in [0, 4095] (12-bit),
  vth = round(threshold * 2**F) (17-bit unsigned, <= 131071), bias = bias_mant * 2**(bias_exp-6) input
  units with bias_mant 13-bit signed and bias_exp in [0, 7] chosen for the finest resolution, adaptation
  da = round(4096*(1-adapt_decay)) and adapt_scale = round(adapt_scale * 2**(F+6)) (v units). F is chosen
  so that |a_in| < 2**15 (16-bit synaptic input) for the worst-case input, vth fits 17 bits and the bias 13.
* ``spiking_lstm``/``spiking_gru``: biases in F units, soma in Q12: dv in [0, 4096], vth = round(thr*4096),
  adapt_scale = round(b_a*4096), da as above; ``adlif_lstm``/``adlif_gru`` the same biases and the adLIF soma
  in Q12 (``adlif`` with F = 12: dalpha, dbeta 16-bit, a Q12, b and vth round(. * 4096)).
* ``adlif``: bias, b and vth in F units, dalpha = round(65536 (1 - alpha)), dbeta likewise (16-bit,
  :data:`spikernn.hardware.kinds.soma.DECAY_Q`), a in Q12.
* ``sd_*``: biases in F units; ``delta_threshold`` (attrs) becomes an integer in output units.
* ``readout``: bias in F units, dv in [0, 4096]; the output is y * 2**-F.
* ``input``: ``attrs["out_frac_bits"]`` = F_x; the host sends round(x * 2**F_x) saturated to 24 bits.

Fixed point against float (:func:`dequantize`): the dequantised network has exactly the fixed network's
parameters, and runs bit for bit alike only where no arithmetic step rounds (decays 1, every synaptic sum
exact, a memoryless readout). In general the 12-bit decays truncate, blocks with a negative weight exponent
floor their sums and the adaptive threshold floors ``b_a a``: membranes stay within the bound those roundings
accumulate (``b_t = beta b_{t-1} + 1 + 64 n_floor`` units of v, plus the threshold's error), and a membrane
within it of its threshold may spike one step apart (docs/hardware_kinds.md has the measured rate; the test
``test_quantize_lif_network_tracks_dequantized_within_the_rounding_bound`` checks the bound on every draw).

Scales are chosen from worst-case bounds (sum of |weights| times the largest message + |bias|) so that
activations cannot saturate, capped so that weights fit the 8-bit mantissa with e <= 7. The input range
comes from ``calibration_x`` (max |x|), ``input_range``, ``net.meta["input_range"]``, or is assumed to be 1.
"""
from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikernn.hardware.arith import MAX24, Q
from spikernn.hardware.kinds.lif import BIAS_MANT_MAX as LIF_BIAS_MANT_MAX
from spikernn.hardware.kinds.lif import VTH_MAX as LIF_VTH_MAX  # noqa: F401 - the 17-bit LIF threshold register
from spikernn.hardware.kinds.spec import F_MAX, floor_log2
from spikernn.hardware.network import Network, Population, SynapseBlock

from spikernn.hardware.synapses import MANT_MAX, MANT_MIN, WEIGHT_EXP_RANGE  # noqa: E402,F401 - defined there


# ----------------------------------------------------------------------------------------------------------
# elementary quantisers: (quantised, error)
# ----------------------------------------------------------------------------------------------------------

def quantize_weights(w: np.ndarray, scale: float = 1.0, exp_range: tuple[int, int] = WEIGHT_EXP_RANGE
                     ) -> tuple[np.ndarray, int, np.ndarray, int]:
    """Quantise ``w * scale`` to 8-bit mantissas with one exponent.

    Returns ``(mantissa int64, exp, error, n_saturated)`` where ``error = m*2**exp/scale - w`` (float units
    of ``w``) and ``n_saturated`` counts weights clipped to the mantissa range (only when exp would have to
    exceed ``exp_range[1]``).
    """
    w = np.asarray(w, dtype=np.float64)
    ws = w * scale
    amax = float(np.abs(ws).max(initial=0.0))
    lo, hi = exp_range
    if amax == 0.0:
        e = lo
    else:
        e = max(lo, int(math.ceil(math.log2(amax / MANT_MAX))) - 1)
        while e < hi and (np.round(ws / 2.0 ** e).max(initial=0) > MANT_MAX
                          or np.round(ws / 2.0 ** e).min(initial=0) < MANT_MIN):
            e += 1
        e = min(e, hi)
    raw = np.round(ws / 2.0 ** e)
    n_sat = int(np.count_nonzero((raw > MANT_MAX) | (raw < MANT_MIN)))
    m = np.clip(raw, MANT_MIN, MANT_MAX).astype(np.int64)
    err = m * 2.0 ** e / scale - w
    return m, e, err, n_sat


def quantize_decay(decay: np.ndarray, max_d: int = 4095, frac_bits: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Decay factor -> decrement d with ``frac_bits`` fractional bits (12: Lava's registers; effective decay
    (2**frac_bits - d) / 2**frac_bits), clipped to [0, max_d]; error in decay units."""
    decay = np.asarray(decay, dtype=np.float64)
    one = 1 << frac_bits
    d = np.clip(np.round(one * (1.0 - decay)), 0, max_d).astype(np.int64)
    return d, (one - d) / float(one) - decay


def quantize_value(x: np.ndarray, frac_bits: int, max_abs: int = MAX24) -> tuple[np.ndarray, np.ndarray]:
    """Round ``x * 2**frac_bits`` to integers saturated to +-max_abs; error in the units of x."""
    x = np.asarray(x, dtype=np.float64)
    q = np.clip(np.round(x * 2.0 ** frac_bits), -max_abs, max_abs).astype(np.int64)
    return q, q / 2.0 ** frac_bits - x


def quantize_lif_bias(b: np.ndarray, frac_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """LIF bias -> (bias_mant 13-bit, bias_exp in [0,7], error): value = bias_mant * 2**(bias_exp-6-F)."""
    b = np.asarray(b, dtype=np.float64)
    v = b * 2.0 ** (frac_bits + 6)  # in v units
    ex = np.zeros(b.shape, np.int64)
    for k in range(8):
        need = np.abs(np.round(v / 2.0 ** ex)) > LIF_BIAS_MANT_MAX
        ex = np.where(need & (ex == k) & (k < 7), k + 1, ex)
    mant = np.clip(np.round(v / 2.0 ** ex), -LIF_BIAS_MANT_MAX - 1, LIF_BIAS_MANT_MAX).astype(np.int64)
    return mant, ex, mant * 2.0 ** ex / 2.0 ** (frac_bits + 6) - b


# ----------------------------------------------------------------------------------------------------------
# input / output scaling used by both backends
# ----------------------------------------------------------------------------------------------------------

INPUT_RANGE_TOLERANCE = 1.25  # inputs up to this factor past the calibrated range pass without a warning


class InputRangeWarning(RuntimeWarning):
    """A fixed-point network got inputs beyond the range it was calibrated for: values saturate."""


def quantize_input(net: Network, x: np.ndarray) -> np.ndarray:
    """Host side of a fixed-point network: float x (T, B, I) -> int64 payloads round(x * 2**F_x), 24-bit.

    Inputs beyond the calibrated range (``net.meta["fixed_point"]["input_range"]``, the largest |x| the
    quantiser planned for) by more than :data:`INPUT_RANGE_TOLERANCE` are still run - clipped to 24 bits at
    the input and saturating inside the network - but warn (:class:`InputRangeWarning`) with the factor and
    the error the input's own clipping introduces: a fixed-point network's output is then not trustworthy;
    rescale the input or re-quantise with a wider ``input_range``."""
    inp = net.population(net.input)
    F = inp.spec.out_frac_bits(inp.attrs)
    x = np.asarray(x, dtype=np.float64)
    warn_input_range(net, x, stacklevel=3)
    return np.clip(np.round(x * 2.0 ** F), -MAX24, MAX24).astype(np.int64)


def input_warn_limit(net: Network) -> float:
    """The largest |x| :func:`warn_input_range` lets pass without a warning: :data:`INPUT_RANGE_TOLERANCE` times
    the calibrated input range (inf when the network has none)."""
    xr = (net.meta.get("fixed_point") or {}).get("input_range")
    return INPUT_RANGE_TOLERANCE * xr if isinstance(xr, (int, float)) and xr > 0 else float("inf")


def warn_input_range(net: Network, x: np.ndarray, stacklevel: int = 2) -> None:
    """:class:`InputRangeWarning` when the float input ``x`` of the fixed-point network ``net`` goes beyond its
    calibrated range by more than :data:`INPUT_RANGE_TOLERANCE` (:func:`quantize_input`, and runs that quantise
    in compiled code)."""
    xr = (net.meta.get("fixed_point") or {}).get("input_range")
    peak = float(np.abs(x).max(initial=0.0))
    if peak > input_warn_limit(net):
        inp = net.population(net.input)
        clip_err = max(0.0, peak - MAX24 * 2.0 ** -inp.spec.out_frac_bits(inp.attrs))
        warnings.warn(f"fixed-point input max |x| = {peak:.4g} is {peak / xr:.3g} times the calibrated range "
                      f"{xr:.4g}: activations saturate (output not trustworthy); the input's own 24-bit clipping "
                      f"error is {clip_err:.4g}. Rescale the input or quantise with a wider input_range",
                      InputRangeWarning, stacklevel=stacklevel + 1)


def output_scale(pop: Population) -> float:
    """Factor turning a fixed-point population's read value (:meth:`NeuronKind.read_value`) into float."""
    return 2.0 ** -pop.spec.out_frac_bits(pop.attrs)


# ----------------------------------------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------------------------------------

@dataclass
class QuantizationReport:
    """What :func:`quantize` did and what it cost.

    Attributes:
        weights: block name -> {"weight_exp", "scale", "max_abs_error", "rel_error", "saturated"} (errors
            in the float weight units; rel_error = max_abs_error / max|W|).
        populations: population name -> {"in_frac_bits", "out_frac_bits", "bound", <param>_max_abs_error...}.
        input_frac_bits: F_x of the input.
        notes: assumptions and warnings in words.
    """

    weights: dict[str, dict[str, Any]] = field(default_factory=dict)
    populations: dict[str, dict[str, Any]] = field(default_factory=dict)
    input_frac_bits: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def max_weight_error(self) -> float:
        return max((w["max_abs_error"] for w in self.weights.values()), default=0.0)

    @property
    def saturated_weights(self) -> int:
        return int(sum(w["saturated"] for w in self.weights.values()))

    def to_dict(self) -> dict:
        return {"weights": self.weights, "populations": self.populations,
                "input_frac_bits": self.input_frac_bits, "notes": list(self.notes)}

    def summary(self) -> str:
        lines = [f"input: {self.input_frac_bits} fractional bits"]
        for n, p in self.populations.items():
            lines.append(f"population {n}: in_frac_bits={p.get('in_frac_bits')} out_frac_bits={p.get('out_frac_bits')}")
        for n, w in self.weights.items():
            lines.append(f"block {n}: weight_exp={w['weight_exp']} max_abs_error={w['max_abs_error']:.3g} "
                         f"rel_error={w['rel_error']:.3g} saturated={w['saturated']}")
        lines += [f"note: {s}" for s in self.notes]
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------------------
# quantize
# ----------------------------------------------------------------------------------------------------------

_floor_log2 = floor_log2


def _topo(net: Network) -> list[Population]:
    """Populations ordered by stage then depth (feed-forward order)."""
    from spikernn.hardware.timing import depths

    d = depths(net)
    return sorted(net.populations, key=lambda p: (0 if p.kind == "input" else 1, p.stage, d[p.name]))


def quantize(net: Network, *, calibration_x: Any = None, input_range: float | None = None,
             max_frac_bits: int = F_MAX) -> tuple[Network, "QuantizationReport"]:
    """Turn a float network into a fixed-precision one; returns ``(fixed_net, report)``.

    Args:
        net: a ``precision="float"`` network.
        calibration_x: optional float input (T, B, I) or (T, I); its max |x| sets the input range.
        input_range: the largest |x| expected (used when no calibration data is given).
        max_frac_bits: upper limit of every population's fractional bits.
    The fixed network records its scales in population attrs (``in_frac_bits``, ``out_frac_bits``) and in
    ``net.meta["fixed_point"]``; the backends quantise x and dequantise the output themselves.
    Warns (``warnings.warn``) when weights saturate, with the error introduced.
    Raises ValueError for a non-float network or a non-finite input range (NaN/inf in ``calibration_x``).
    """
    if net.precision != "float":
        raise ValueError(f"quantize() needs a float network, this one has precision {net.precision!r}")
    rep = QuantizationReport()
    # ---- input range -------------------------------------------------------------------------------------
    if calibration_x is not None:
        cx = calibration_x.detach().cpu().numpy() if hasattr(calibration_x, "detach") else np.asarray(calibration_x)
        xr = float(np.abs(cx).max(initial=0.0))
        rep.notes.append(f"input range {xr:.4g} from calibration data")
    elif input_range is not None:
        xr = float(input_range)
    elif "input_range" in net.meta:
        xr = float(net.meta["input_range"])
    else:
        xr = 1.0
        rep.notes.append("input range assumed |x| <= 1 (pass input_range= or calibration_x= to quantize)")
    if not math.isfinite(xr):  # NaN would silently pick the finest scale and saturate every input
        raise ValueError("quantize: the input range is not finite: "
                         + ("calibration_x contains NaN or inf" if calibration_x is not None else f"{xr!r}"))
    xr = max(abs(xr), 1e-12)
    observed: dict[str, float] = {}
    if calibration_x is not None:
        # the float run on the calibration data bounds relu sigma-delta values (no bound exists a priori)
        if any(p.kind == "sd_rnn" and p.attrs.get("activation", "tanh") == "relu" for p in net.populations):
            from spikernn.hardware.fast import record_values

            cxx = np.asarray(cx, dtype=np.float64)
            if cxx.ndim == 2:
                cxx = cxx[:, None, :]
            elif net.meta.get("batch_first", False):
                cxx = np.transpose(cxx, (1, 0, 2))
            for name, v in record_values(net, cxx).items():
                observed[name] = float(np.abs(v).max(initial=0.0))
    Fx = int(min(max_frac_bits, max(0, _floor_log2(MAX24 / (8.0 * xr)))))
    rep.input_frac_bits = Fx

    bound: dict[str, float] = {}  # largest |value| a population sends/holds (float units)
    fout: dict[str, int] = {}  # out frac bits
    new_pops: dict[str, Population] = {}
    new_blocks: dict[str, SynapseBlock] = {}
    order = _topo(net)
    for p in order:
        kind = p.spec
        attrs = copy.deepcopy(p.attrs)
        prm, _ = kind.resolve(p.params, p.attrs, "float", p.size, where=p.where())
        info: dict[str, Any] = {}
        if p.kind == "input":
            attrs["out_frac_bits"] = Fx
            thr = float(attrs.get("delta_threshold", 0.0))
            attrs["delta_threshold"] = int(round(thr * 2.0 ** Fx))
            bound[p.name], fout[p.name] = xr, Fx
            new_pops[p.name] = Population(p.name, p.kind, p.size, {}, attrs, p.stage, p.reverse)
            rep.populations[p.name] = {"in_frac_bits": None, "out_frac_bits": Fx, "bound": xr}
            continue
        inc = net.incoming(p.name)
        # worst-case drive per port row, with unknown (later/self) sources bounded by 1 for binary and
        # by a heuristic for graded (relu) sources not yet seen
        def src_bound(name: str) -> float:
            sp = net.population(name)
            if not sp.graded:
                return 1.0
            if name in bound:
                return bound[name]
            if name in observed:
                return 2.0 * max(observed[name], 1e-3)  # calibrated, with 2x headroom
            known = sp.spec.output_bound(sp.attrs)
            return float("nan") if known is None else known  # None: unknown relu source (recurrent): filled below

        rows: dict[str, np.ndarray] = {}
        unknown_rows: dict[str, np.ndarray] = {}
        for b in inc:
            sb = src_bound(b.source)
            contrib = np.abs(np.asarray(b.weights, dtype=np.float64)).sum(axis=1)
            if math.isnan(sb):
                unknown_rows[b.port] = unknown_rows.get(b.port, 0) + contrib
            else:
                rows[b.port] = rows.get(b.port, 0) + contrib * sb
        D = 0.0
        for port in kind.ports:
            r = rows.get(port.name, 0.0) + (np.abs(prm[port.bias]) if port.bias else 0.0)
            D = max(D, float(np.max(r, initial=0.0)))
        if unknown_rows:
            # a relu sigma-delta population feeding itself: bound its value by 4x the known drive
            U = max(float(np.max(u)) for u in unknown_rows.values())
            guess = max(4.0 * D, 1.0)
            D = D + U * guess
            rep.notes.append(f"{p.name}: relu recurrence bounded heuristically by |h| <= {guess:.3g}; pass "
                             "calibration_x= to quantize for a measured bound")
        D = max(D, 1e-9)
        info["drive_bound"] = D
        # ---- choose F: the kind's own limits, and weights that fit the 8-bit mantissa with e <= 7 --------
        limits = [max_frac_bits, *kind.frac_bits_limits(prm, D)]
        for b in inc:
            wmax = float(np.abs(b.weights).max(initial=0.0))
            if wmax > 0 and b.source in fout:
                limits.append(_floor_log2(MANT_MAX * 2.0 ** WEIGHT_EXP_RANGE[1] * 2.0 ** fout[b.source] / wmax))
            elif wmax > 0 and not net.population(b.source).graded:
                limits.append(_floor_log2(MANT_MAX * 2.0 ** WEIGHT_EXP_RANGE[1] / wmax))
        F = int(max(0, min(limits)))
        attrs["in_frac_bits"] = F
        info["in_frac_bits"] = F
        newp = kind.quantize_params(prm, p.size, F, info)
        fo = kind.out_frac_bits(attrs)
        if kind.graded and "delta_threshold" in {st.name for st in kind.settings}:
            thr = float(attrs.get("delta_threshold", 0.0))
            attrs["delta_threshold"] = int(round(thr * 2.0 ** fo))
        fout[p.name] = fo
        info["out_frac_bits"] = fo
        if p.graded:
            known = kind.output_bound(attrs)
            if known is None:  # relu: measured, or the drive bound
                bound[p.name] = 2.0 * max(observed[p.name], 1e-3) if p.name in observed else max(D, 1.0)
            else:
                bound[p.name] = known
        new_pops[p.name] = Population(p.name, p.kind, p.size, newp, attrs, p.stage, p.reverse)
        rep.populations[p.name] = info
    # ---- input frac bits: not finer than the blocks it feeds can resolve with e >= -8 -------------------
    for b in net.synapses:
        if b.source == net.input:
            wmax = float(np.abs(b.weights).max(initial=0.0))
            if wmax > 0:
                Ft = new_pops[b.target].attrs["in_frac_bits"]
                lim = Ft + _floor_log2(wmax * 2.0 ** -WEIGHT_EXP_RANGE[0] / MANT_MAX)
                Fx = max(0, min(Fx, lim))
    if Fx != rep.input_frac_bits:
        rep.input_frac_bits = Fx
        fout[net.input] = Fx
        inp = new_pops[net.input]
        thr = float(net.population(net.input).attrs.get("delta_threshold", 0.0))
        inp.attrs["out_frac_bits"] = Fx
        inp.attrs["delta_threshold"] = int(round(thr * 2.0 ** Fx))
        rep.populations[net.input]["out_frac_bits"] = Fx
    # ---- weights -----------------------------------------------------------------------------------------
    for b in net.synapses:
        Ft = new_pops[b.target].attrs["in_frac_bits"]
        scale = 2.0 ** (Ft - fout[b.source])
        m, e, err, nsat = quantize_weights(b.weights, scale)
        wmax = float(np.abs(b.weights).max(initial=0.0))
        maxerr = float(np.abs(err).max(initial=0.0))
        rep.weights[b.name] = {"weight_exp": e, "scale": scale, "max_abs_error": maxerr,
                               "rel_error": maxerr / wmax if wmax > 0 else 0.0, "saturated": nsat}
        if wmax > 0 and e == WEIGHT_EXP_RANGE[0] and float(np.abs(m).max()) < 64:
            rep.notes.append(f"block {b.name}: weights use only {int(np.abs(m).max())} of 127 mantissa steps "
                             f"(exponent at its minimum {e}); the target's scale is coarse for these weights"
                             + ("; calibration_x= may help" if calibration_x is None else ""))
        if nsat:
            warnings.warn(f"quantize: {nsat} weights of block {b.name!r} saturated the 8-bit mantissa "
                          f"(max abs error {maxerr:.4g}, max |w| {wmax:.4g})", RuntimeWarning, stacklevel=2)
        new_blocks[b.name] = SynapseBlock(b.name, b.source, b.target, b.port, m, e)
    meta = copy.deepcopy(net.meta)
    meta["fixed_point"] = {
        "format": "spikernn-fixed-1", "q_frac_bits": Q, "input_frac_bits": Fx, "input_range": xr,
        "in_frac_bits": {n: p.attrs.get("in_frac_bits") for n, p in new_pops.items()},
        "out_frac_bits": dict(fout),
        "lut": "sigmoid/tanh: 257 entries over [-8,8) step 1/16, Q12, linear interpolation",
    }
    fixed = Network(populations=[new_pops[p.name] for p in net.populations],
                    synapses=[new_blocks[b.name] for b in net.synapses],
                    input=net.input, outputs=list(net.outputs), precision="fixed", meta=meta)
    return fixed, rep


def dequantize(net: Network) -> Network:
    """The float network with exactly the effective values of a fixed network (weights m*2**e / scale,
    decays (4096-d)/4096, thresholds, biases): float vs dequantised isolates the arithmetic (rounding)
    error from the parameter quantisation error. The two are bit-identical only where nothing rounds; otherwise
    their membranes stay within the accumulated rounding bound and a spike near threshold may fall a step
    apart (module docstring, "Fixed point against float")."""
    if net.precision != "fixed":
        raise ValueError("dequantize() needs a fixed-point network")
    fo = {p.name: p.spec.out_frac_bits(p.attrs) for p in net.populations}
    pops = []
    for p in net.populations:
        kind = p.spec
        attrs = {k: v for k, v in p.attrs.items() if k not in ("in_frac_bits", "out_frac_bits")}
        if "delta_threshold" in attrs:
            attrs["delta_threshold"] = float(attrs["delta_threshold"]) * 2.0 ** -fo[p.name]
        prm, settings = kind.resolve(p.params, p.attrs, "fixed", p.size, where=p.where())
        F = int(settings.get("in_frac_bits", 0))
        newp = kind.dequantize_params(prm, p.size, F) if kind.ports else {}
        pops.append(Population(p.name, p.kind, p.size, newp, attrs, p.stage, p.reverse))
    blocks = []
    for b in net.synapses:
        tgt = net.population(b.target)
        F = int(tgt.attrs.get("in_frac_bits", tgt.spec.setting("in_frac_bits").default))
        scale = 2.0 ** (F - fo[b.source])
        blocks.append(SynapseBlock(b.name, b.source, b.target, b.port,
                                   np.asarray(b.weights, np.float64) * 2.0 ** b.weight_exp / scale, 0))
    meta = {k: v for k, v in net.meta.items() if k != "fixed_point"}
    return Network(pops, blocks, net.input, list(net.outputs), "float", meta)
