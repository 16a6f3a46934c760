"""Packing a unit of populations into the flat tables the compiled interpreter reads
(:mod:`spikernn.hardware.compiled.kernels`).

A **unit** is an ordered list of populations stepped together (a group of the fast plan, a whole stage, or, when
streaming, the input population and the whole stage). Per unit:

* ``POP`` (P, POP_COLS) int64, one row per population: kind code, size n, its columns in the state array ``ST``
  (B, S), in the payload ring ``HIST`` (R, B, O) (which is also the mask row), in the synaptic input ``ACC``
  (B, A) per port ("in", "rec") and whether the port starts from precomputed inputs ``E``; its parameter offset
  in ``P``; reset mode, flags, fractional bits; its blocks in ``BLK``; the recording columns.
* ``BLK`` (nb, BLK_COLS) int64, the blocks computed inside the unit ("live": their source is in the unit), in each
  port's canonical order, and ``W``: their transposed weights (n_src, m) row-major, one after another (fixed point:
  mantissas times ``2**exp`` when exp >= 0, exact; else the mantissas and ``B_EXP`` = exp).
* Blocks whose source is outside the unit ("pre") are listed in :attr:`Unit.pre`: their input is computed
  beforehand (:func:`~spikernn.hardware.compiled.kernels.pre_block`) into ``E``.

The **canonical block order** of a port (what makes float results independent of how a run is cut into units):
blocks from the host (the input population, an earlier stage) first, then from an earlier group of the stage,
then from the population's own group, each in network order; each block's sum is formed alone and added in that
order. State fields are laid out in the order of the kind's state NamedTuple (:meth:`NeuronKind.init_state`),
parameters in the order the kernels read (``_PACK`` below).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from spikernn.hardware.fast.plan import Blk, Plan, Pop
from spikernn.hardware.kinds.soma import AdLifSomaPrepared, SomaFixed, SomaFloat

from spikernn.hardware.compiled import kernels as K

RESET_CODES = {"subtract": K.SUBTRACT, "zero": K.ZERO, "none": K.NONE}
EXACT_INT = float(2 ** 62)
STEP_SPIKES = {True: False, False: False}  # fixed point / float: binary-spike recurrent blocks stepped as matrix
# products too (else the interpreter's column additions); graded ones always are

# Per kind: its code, the settings and parameters the kernels know (a kind that gains one is not compiled: the
# numpy fast path runs it, never a kernel that ignores it), the parameter packing and the value field the host
# reads (read_value) for kinds that send values.
KNOWN = {
    "input": (K.INPUT, {"encoding", "delta_threshold", "out_frac_bits"}, set(), set()),
    "lif": (K.LIF, {"reset", "in_frac_bits"}, {"bias", "decay", "threshold", "adapt_decay", "adapt_scale"},
            {"du", "bias_mant", "bias_exp", "dv", "vth", "da", "adapt_scale"}),
    "adlif": (K.ADLIF, {"reset", "discretisation", "in_frac_bits"}, {"bias", "alpha", "beta", "a", "b", "threshold"},
              {"bias", "dalpha", "dbeta", "a", "b", "vth"}),
    "spiking_lstm": (K.SLSTM, {"reset", "in_frac_bits"}, {"bias", "decay", "threshold", "adapt_decay", "adapt_scale"},
                     {"bias", "dv", "vth", "da", "adapt_scale"}),
    "spiking_gru": (K.SGRU, {"reset", "in_frac_bits"},
                    {"bias_in", "bias_rec", "decay", "threshold", "adapt_decay", "adapt_scale"},
                    {"bias_in", "bias_rec", "dv", "vth", "da", "adapt_scale"}),
    "adlif_lstm": (K.ALSTM, {"reset", "discretisation", "in_frac_bits"},
                   {"bias", "alpha", "beta", "a", "b", "threshold"}, {"bias", "dalpha", "dbeta", "a", "b", "vth"}),
    "adlif_gru": (K.AGRU, {"reset", "discretisation", "in_frac_bits"},
                  {"bias_in", "bias_rec", "alpha", "beta", "a", "b", "threshold"},
                  {"bias_in", "bias_rec", "dalpha", "dbeta", "a", "b", "vth"}),
    "sd_rnn": (K.SDRNN, {"activation", "delta_threshold", "in_frac_bits"}, {"bias"}, {"bias"}),
    "sd_lstm": (K.SDLSTM, {"delta_threshold", "in_frac_bits"}, {"bias"}, {"bias"}),
    "sd_gru": (K.SDGRU, {"delta_threshold", "in_frac_bits"}, {"bias_in", "bias_rec"}, {"bias_in", "bias_rec"}),
    "readout": (K.READOUT, {"input_coding", "in_frac_bits"}, {"bias", "decay"}, {"bias", "dv"}),
}
VALUE_FIELD = {"input": "sent", "sd_rnn": "sent", "sd_lstm": "sent", "sd_gru": "sent", "readout": "y"}
PREPARED_FIELDS = {  # the Prepared dataclass fields the packers read, either precision (another: not compiled)
    "input": {"fixed", "size", "encoding", "threshold", "out_frac_bits"},
    "lif": {"fixed", "size", "soma", "bias", "du", "u_pass"},
    "adlif": {"fixed", "size", "bias", "soma"},
    "adlif_lstm": {"fixed", "size", "soma", "bias", "bias_rec", "frac_bits"},
    "adlif_gru": {"fixed", "size", "soma", "bias", "bias_rec", "frac_bits"},
    "spiking_lstm": {"fixed", "size", "soma", "bias", "bias_rec", "frac_bits"},
    "spiking_gru": {"fixed", "size", "soma", "bias", "bias_rec", "frac_bits"},
    "sd_rnn": {"fixed", "size", "bias", "bias_rec", "threshold", "frac_bits", "activation"},
    "sd_lstm": {"fixed", "size", "bias", "bias_rec", "threshold", "frac_bits", "activation"},
    "sd_gru": {"fixed", "size", "bias", "bias_rec", "threshold", "frac_bits", "activation"},
    "readout": {"fixed", "size", "bias", "decay", "sigma", "frac_bits"},
}
LIF_SOMAS, ADLIF_SOMAS = (SomaFixed, SomaFloat), (AdLifSomaPrepared,)
SOMAS = {"lif": LIF_SOMAS, "spiking_lstm": LIF_SOMAS, "spiking_gru": LIF_SOMAS,
         "adlif": ADLIF_SOMAS, "adlif_lstm": ADLIF_SOMAS, "adlif_gru": ADLIF_SOMAS}
# the prepared soma types the packers read, per kind, and their fields (another type, or one that gains a field:
# not compiled)
SOMA_FIELDS = {SomaFixed: {"dv", "threshold", "adapt_scale", "da", "reset", "adaptive"},
               SomaFloat: {"m", "threshold", "adapt_scale", "adapt_decay", "reset", "adaptive"},
               AdLifSomaPrepared: {"fixed", "ka", "kb", "a", "b", "threshold", "reset", "symplectic"}}


PAIR_FORM = True  # graded int8 blocks also in the pair layout (kernels._sum8_pairs, with AVX2); False: the columns
# only (kernels._sum8_graded) - both exact; the conformance tests run either


def pair_layout(mant: np.ndarray) -> np.ndarray:
    """The (n_src, m) int8 mantissas in the pair layout of ``kernels._sum8_pairs``: flat, element
    ``kp * 2m + 2c + h`` = mantissa of source 2kp + h for output c (an odd source count padded with a zero source)."""
    n, m = mant.shape
    padded = np.zeros((n + (n & 1), m), np.int8)
    padded[:n] = mant
    return np.ascontiguousarray(padded.reshape(-1, 2, m).transpose(0, 2, 1)).reshape(-1)


class Unsupported(Exception):
    """The compiled engine cannot run this network (the numpy fast path does); the message says why."""


def check_kind(P: Pop, precision: str) -> None:
    """Unsupported unless the kernels know every setting, parameter and prepared field of P's kind."""
    entry = KNOWN.get(P.kind)
    if entry is None:
        raise Unsupported(f"no compiled kernel for kind {P.kind!r}")
    _, settings, fparams, xparams = entry
    k = P.spec
    have_s = {s.name for s in k.settings}
    have_p = {p.name for p in k.params_for(precision)}
    want_p = xparams if precision == "fixed" else fparams
    have_f = {f.name for f in fields(P.prep)}
    new = sorted(have_s - settings) + sorted(have_p - want_p) + sorted(have_f - PREPARED_FIELDS[P.kind])
    if new:
        raise Unsupported(f"kind {P.kind!r} has settings/parameters the compiled kernel does not know: {new}")
    soma = getattr(P.prep, "soma", None)
    if soma is not None and (type(soma) not in SOMAS.get(P.kind, ()) or
                             {f.name for f in fields(soma)} != SOMA_FIELDS[type(soma)]):
        raise Unsupported(f"kind {P.kind!r}: its soma ({type(soma).__name__}) is not one the kernels know")


def _soma_params(sm, fixed: bool, lif: bool) -> tuple[list, int, int]:
    """Soma parameters in kernel order (fixed: dv, threshold, adapt_scale, da; float: [LIF: m first] m, threshold,
    adapt_scale, adapt_decay), flags and reset code."""
    flags = K.F_ADAPT if sm.adaptive else 0
    if fixed:
        return [sm.dv, sm.threshold, sm.adapt_scale, sm.da], flags, RESET_CODES[sm.reset]
    return [sm.m, sm.threshold, sm.adapt_scale, sm.adapt_decay], flags, RESET_CODES[sm.reset]


def pack_params(P: Pop) -> tuple[list[np.ndarray], int, int, int]:
    """``(parameter arrays in kernel order, flags, reset code, fractional bits)`` of population P."""
    p, kind, fixed = P.prep, P.kind, P.prep.fixed
    if kind == "input":
        return [np.array([p.threshold])], K.F_DELTA if p.encoding == "delta" else 0, 0, p.out_frac_bits if fixed else 0
    if kind == "lif":
        sm, flags, reset = _soma_params(p.soma, fixed, True)
        if fixed:
            return [p.du, p.bias, *sm], flags | (K.F_UPASS if p.u_pass else 0), reset, 0
        m, th, ba, rho = sm
        return [m, p.bias, th, ba, rho], flags, reset, 0
    if kind in ("adlif", "adlif_lstm", "adlif_gru"):
        sm = p.soma
        soma = [sm.ka, sm.kb, sm.a, sm.b, sm.threshold]
        flags, reset = K.F_SE if sm.symplectic else 0, RESET_CODES[sm.reset]
        if kind == "adlif":
            return [p.bias, *soma], flags, reset, 0
        biases = [p.bias] if kind == "adlif_lstm" else [p.bias, p.bias_rec]
        return [*biases, *soma], flags, reset, p.frac_bits
    if kind in ("spiking_lstm", "spiking_gru"):
        sm, flags, reset = _soma_params(p.soma, fixed, False)
        biases = [p.bias] if kind == "spiking_lstm" else [p.bias, p.bias_rec]
        return [*biases, *sm], flags, reset, p.frac_bits
    if kind in ("sd_rnn", "sd_lstm", "sd_gru"):
        biases = [p.bias] if kind != "sd_gru" else [p.bias, p.bias_rec]
        flags = K.F_RELU if p.activation == "relu" else 0
        return [*biases, np.array([p.threshold])], flags, 0, p.frac_bits
    if kind == "readout":
        return [p.bias, p.decay], K.F_SIGMA if p.sigma else 0, 0, p.frac_bits
    raise Unsupported(f"no compiled kernel for kind {kind!r}")  # pragma: no cover - check_kind refuses first


@dataclass
class PreBlock:
    """A block whose input the unit receives precomputed: into ``E[:, :, a0:a0+m]`` of target row ``j``."""

    blk: Blk
    j: int
    a0: int
    m: int
    w: np.ndarray  # (n_src, m) weights as the kernels take them
    ex: int


@dataclass
class Unit:
    """The packed tables of one unit (module docstring) and the facts the engine needs to run it."""

    names: list[str]
    fixed: bool
    POP: np.ndarray
    BLK: np.ndarray
    W: np.ndarray
    W8: np.ndarray  # fixed point: the int8 mantissas (times 2**B_EXP8) of the blocks with B_RSUM >= 0, else zeros,
    # at W's offsets; then, for the graded ones among them, the mantissas in the pair layout (pair_layout) at B_W8P
    # float: W's float32 twin where exact (f32_twin; read by the binary column sums), else empty
    P: np.ndarray
    FAN: np.ndarray
    state_widths: dict[str, list[tuple[str, int, int]]]  # name -> [(field, column, width)]
    n_state: int
    n_out: int
    n_acc: int
    n_tmp: int
    n_rec: int
    R: int
    pre: list[PreBlock] = field(default_factory=list)
    stepped: list[PreBlock] = field(default_factory=list)  # recurrent blocks the engine computes per step (GEMMs)
    block_names: list[str] = field(default_factory=list)  # BLK's B_ID -> network block name

    @property
    def dtype(self):
        return np.int64 if self.fixed else np.float64

    def index(self, name: str) -> int:
        return self.names.index(name)

    def out_cols(self, name: str) -> slice:
        j = self.index(name)
        o = int(self.POP[j, K.K_OUT])
        return slice(o, o + int(self.POP[j, K.K_N]))

    def rec_cols(self, name: str, what: str) -> slice | None:
        """Columns of the recorded payload ("sent") or value ("value") of ``name`` in VREC, or None."""
        j = self.index(name)
        c = int(self.POP[j, K.K_SENT if what == "sent" else K.K_VAL])
        return None if c < 0 else slice(c, c + int(self.POP[j, K.K_N]))


def _category(plan: Plan, b: Blk, tgt: Pop, group_of: dict[str, int]) -> int:
    src = plan.pops[b.source]
    if src.kind == "input" or src.stage < tgt.stage:
        return 0
    return 1 if group_of.get(b.source) != group_of.get(b.target) else 2


def canonical_blocks(plan: Plan, name: str, group_of: dict[str, int]) -> list[Blk]:
    """The blocks into ``name`` in canonical order: per port, host blocks, then earlier groups', then internal,
    each in network order."""
    tgt = plan.pops[name]
    order = list(plan.blocks)
    ports = list(tgt.ports)
    blks = [b for b in plan.blocks.values() if b.target == name]
    return sorted(blks, key=lambda b: (ports.index(b.port), _category(plan, b, tgt, group_of), order.index(b.name)))


def _weights(b: Blk, fixed: bool) -> tuple[np.ndarray, int]:
    """The block's (n_src, m) weights for the kernels and its remaining exponent (fixed: scaled when exp >= 0)."""
    if not fixed:
        return np.ascontiguousarray(b.wt, np.float64), 0
    m = b.wt.astype(np.int64)
    if b.exp >= 0:
        if float(np.abs(m).max(initial=0)) * 2.0 ** b.exp * max(1, m.shape[0]) * 2.0 ** 26 >= EXACT_INT:
            raise Unsupported(f"synapse block {b.name!r}: weights too large for exact int64 sums")
        return np.ascontiguousarray(m << b.exp), 0
    return np.ascontiguousarray(m), b.exp


def build_unit(plan: Plan, names: list[str], *, record_sent: set[str] = frozenset(),
               record_values: set[str] = frozenset(), stepped: bool = False) -> Unit:
    """Pack the populations ``names`` (in step order) of ``plan``; blocks from outside the unit become
    :attr:`Unit.pre` (their ports start from ``E``), and with ``stepped`` the blocks inside it with a lag of one
    step or more become :attr:`Unit.stepped` (computed by the engine before each step, into ``E``; fixed point: any
    of them, exact in any order; float: those before the port's first live block, so that the canonical order
    holds). Raises :class:`Unsupported` for what the kernels cannot run."""
    fixed = plan.fixed
    precision = "fixed" if fixed else "float"
    group_of = {n: i for i, g in enumerate(plan.groups) for n in g}
    inside = set(names)
    pops = [plan.pops[n] for n in names]
    for P in pops:
        check_kind(P, precision)
    POP = np.full((len(pops), K.POP_COLS), -1, np.int64)
    st_cols = out_cols = acc_cols = rec_cols = 0
    params: list[np.ndarray] = []
    p_len = 0
    state_widths: dict[str, list] = {}
    for j, P in enumerate(pops):
        n = P.size
        st = P.spec.init_state(P.prep, 1)
        layout = []
        for fname, arr in zip(st._fields, st):
            layout.append((fname, st_cols, arr.shape[1]))
            st_cols += arr.shape[1]
        state_widths[P.name] = layout
        arrays, flags, reset, F = pack_params(P)
        POP[j, K.K_KIND] = KNOWN[P.kind][0]
        POP[j, K.K_N] = n
        POP[j, K.K_ST] = layout[0][1]
        POP[j, K.K_OUT] = out_cols
        out_cols += n
        POP[j, K.K_AW0] = POP[j, K.K_AW1] = 0
        POP[j, K.K_E0] = POP[j, K.K_E1] = 0
        for q, (port, width) in enumerate(P.ports.items()):
            POP[j, K.K_A0 + 2 * q] = acc_cols
            POP[j, K.K_AW0 + 2 * q] = width
            acc_cols += width
        POP[j, K.K_P] = p_len
        for a in arrays:
            a = np.asarray(a).reshape(-1)
            params.append(a)
            p_len += a.size
        POP[j, K.K_RESET], POP[j, K.K_FLAGS], POP[j, K.K_F] = reset, flags, F
        POP[j, K.K_SPK] = 1 if P.spec.spiking else 0
        vf = VALUE_FIELD.get(P.kind)
        POP[j, K.K_VST] = next(c for f, c, _ in layout if f == vf) if vf else -1
        if P.name in record_sent and not P.spec.spiking:
            POP[j, K.K_SENT] = rec_cols
            rec_cols += n
        if P.name in record_values and not P.spec.spiking:
            POP[j, K.K_VAL] = rec_cols
            rec_cols += n
    dt = np.int64 if fixed else np.float64
    Pk = np.concatenate(params).astype(dt) if params else np.zeros(0, dt)
    if fixed and float(np.abs(Pk).max(initial=0)) >= 2.0 ** 40:
        raise Unsupported("fixed-point parameters beyond 40 bits")
    blk_rows, w_parts, w8_parts, fan_parts, pre, steps, block_names = [], [], [], [], [], [], []
    w8p_parts: list[np.ndarray] = []
    w_len = fan_len = w8p_len = 0
    tmp = 1
    lag_max = 0
    for j, P in enumerate(pops):
        POP[j, K.K_B0] = len(blk_rows)
        seen_live = {port: False for port in P.ports}
        for b in canonical_blocks(plan, P.name, group_of):
            q = list(P.ports).index(b.port)
            a0 = int(POP[j, K.K_A0 + 2 * q])
            m = int(POP[j, K.K_AW0 + 2 * q])
            w, ex = _weights(b, fixed)
            tmp = max(tmp, m)
            # float: a block is stepped only before any live block of its port (the canonical order holds)
            if b.source not in inside or (stepped and b.lag >= 1 and (b.graded or STEP_SPIKES[fixed])
                                          and (fixed or not seen_live[b.port])):
                if seen_live[b.port] and not fixed:
                    raise AssertionError("canonical order: a precomputed block after a live one")  # pragma: no cover
                POP[j, K.K_E0 + q] = 1
                (pre if b.source not in inside else steps).append(PreBlock(b, j, a0, m, w, ex))
                lag_max = max(lag_max, b.lag if b.source in inside else 0)
                continue
            seen_live[b.port] = True
            lag_max = max(lag_max, b.lag)
            row = np.zeros(K.BLK_COLS, np.int64)
            row[K.B_SRC] = names.index(b.source)
            row[K.B_SOUT] = POP[names.index(b.source), K.K_OUT]
            row[K.B_NSRC] = w.shape[0]
            row[K.B_PORT] = q
            row[K.B_W] = w_len
            row[K.B_M] = m
            row[K.B_LAG] = b.lag
            row[K.B_EXP] = ex
            row[K.B_GRADED] = 1 if b.graded else 0
            row[K.B_FAN] = fan_len
            row[K.B_ID] = len(block_names)
            mant = np.ascontiguousarray(b.wt.astype(np.int64)) if fixed else None
            rsum = float(np.abs(mant).sum(axis=0).max(initial=0)) if fixed else np.inf
            int8 = fixed and mant.size and -128 <= mant.min() and mant.max() <= 127
            row[K.B_RSUM] = int(rsum) if int8 and rsum < 2 ** 31 else -1  # int32 sums exact below 2**31 / rsum
            row[K.B_EXP8] = b.exp
            block_names.append(b.name)
            blk_rows.append(row)
            w8_parts.append(mant.reshape(-1).astype(np.int8) if row[K.B_RSUM] >= 0 else np.zeros(w.size, np.int8))
            row[K.B_W8P] = -1
            if row[K.B_RSUM] >= 0 and b.graded and PAIR_FORM and K.HAVE_MADD:  # graded: also in the pair layout
                row[K.B_W8P] = w8p_len  # after W's int8 twin (W's length added below)
                w8p_parts.append(pair_layout(mant.astype(np.int8)))
                w8p_len += w8p_parts[-1].size
            w_parts.append(w.reshape(-1))
            w_len += w.size
            fan_parts.append(b.fan_out.astype(np.int64))
            fan_len += b.fan_out.size
        POP[j, K.K_NB] = len(blk_rows) - POP[j, K.K_B0]
    BLK = np.array(blk_rows, np.int64).reshape(-1, K.BLK_COLS)
    BLK[BLK[:, K.B_W8P] >= 0, K.B_W8P] += w_len
    W = np.concatenate(w_parts).astype(dt) if w_parts else np.zeros(1, dt)
    W8 = np.concatenate(w8_parts + w8p_parts) if fixed and w8_parts else np.zeros(1, np.int8)
    if not fixed:  # float: W's float32 twin where every weight is a float32 (converted torch parameters): binary
        # spikes' column sums read it widened to float64, the same sums from half the memory traffic (else empty)
        W8 = f32_twin(W)
    FAN = np.concatenate(fan_parts) if fan_parts else np.zeros(1, np.int64)
    return Unit(names=list(names), fixed=fixed, POP=POP, BLK=BLK, W=W, W8=W8, P=Pk if Pk.size else np.zeros(1, dt),
                FAN=FAN, state_widths=state_widths, n_state=max(st_cols, 1), n_out=max(out_cols, 1),
                n_acc=max(acc_cols, 1), n_tmp=tmp, n_rec=rec_cols, R=lag_max + 1, pre=pre, stepped=steps, block_names=block_names)


def f32_twin(w: np.ndarray) -> np.ndarray:
    """float64 weights ``w`` as float32 when that is exact (every weight a float32: widening gives them back bit for
    bit), else an empty float32 array."""
    w32 = w.astype(np.float32)
    return w32 if np.array_equal(w32.astype(np.float64), w) else np.zeros(0, np.float32)


def unpack_state(unit: Unit, ST: np.ndarray, name: str) -> list[np.ndarray]:
    """Population ``name``'s state fields (copies, in the order of its kind's state NamedTuple) from the packed
    state ``ST`` (B, S)."""
    return [ST[:, c:c + w].copy() for _, c, w in unit.state_widths[name]]


def pack_state(unit: Unit, ST: np.ndarray, name: str, state) -> None:
    """Write a kind's state NamedTuple (each field (B, width)) into the packed state ``ST``."""
    for (_, c, w), arr in zip(unit.state_widths[name], state):
        ST[:, c:c + w] = arr
