"""Operation counts of dense (non-spiking) RNN / LSTM / GRU inference, per time step and per sequence.

Counted per layer and direction, with ``G`` gates (RNN 1, LSTM 4, GRU 3), input width ``I_l`` (``input_size``
for layer 0, ``num_directions * hidden_size`` after) and hidden width ``H``, following torch's equations:

* MACs: ``G * H * (I_l + H)`` (the two matrix-vector products ``W_ih x`` and ``W_hh h``).
* elementwise ops (adds/mults outside the matrix products), with biases:
    - RNN:  ``3H``  (``+b_ih``, ``+b_hh``, ``W_ih x + W_hh h``);
    - LSTM: ``16H`` (``12H`` for the four gate pre-activations as above; ``c = f*c + i*g``: 3H; ``o*tanh(c)``: H);
    - GRU:  ``14H`` (r, z: 3H each; n: ``+b_in``, ``+b_hn``, ``r*n_h``, add: 4H; ``(1-z)*n + z*h``: 4H).
  Without biases the ``2GH`` bias adds are dropped.
* nonlinearities (sigmoid/tanh evaluations): RNN ``H``, LSTM ``5H`` (3 sigmoids, tanh g, tanh c), GRU ``3H``.
* weight bytes read: all parameters of the layer once per step (``bytes_per_param`` each; no reuse across
  steps, as at batch 1 when the weights do not stay in registers).
A Linear head (``head`` outputs) adds ``in*out`` MACs, ``out`` bias adds and its parameter bytes, once per
sequence (``head_every_step=False``) or at every step.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from spikernn.energy.figures import HorowitzFigures, horowitz
from spikernn.functional import GATES as _CORE_GATES

GATES = {**{k.upper(): g for k, g in _CORE_GATES.items()}, "RNN_TANH": _CORE_GATES["rnn"], "RNN_RELU": _CORE_GATES["rnn"]}
# per H: elementwise ops other than the 2GH bias adds (RNN 3H-2H, LSTM 16H-8H, GRU 14H-6H; see above)
_ELEMENTWISE_NONBIAS = {1: 1, 4: 8, 3: 8}
_NONLIN = {1: 1, 4: 5, 3: 3}


@dataclass(frozen=True)
class OpCounts:
    """Operation counts of one inference (per step or per sequence).

    Attributes:
        macs: multiply-accumulates.
        nonlinearities: sigmoid / tanh (or ReLU) evaluations.
        elementwise: other adds and multiplies.
        weight_bytes: bytes of parameters read (every step re-reads the weights).
        params: number of distinct parameters of the model (not multiplied by steps).
    """

    macs: int
    nonlinearities: int
    elementwise: int
    weight_bytes: int
    params: int

    def __add__(self, other: "OpCounts") -> "OpCounts":
        return OpCounts(*(a + b for a, b in zip(self.astuple(), other.astuple())))

    def __mul__(self, k: int) -> "OpCounts":
        """Counts of ``k`` repetitions (e.g. steps); ``params`` is a model size and stays as it is."""
        k = int(k)
        return OpCounts(self.macs * k, self.nonlinearities * k, self.elementwise * k, self.weight_bytes * k,
                        self.params)

    __rmul__ = __mul__

    def astuple(self) -> tuple[int, int, int, int, int]:
        return (self.macs, self.nonlinearities, self.elementwise, self.weight_bytes, self.params)

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _mode(mode: str) -> int:
    key = mode.upper()
    if key not in GATES:
        raise ValueError(f"mode must be one of 'rnn', 'lstm', 'gru', got {mode!r}")
    return GATES[key]


def cell_step_counts(mode: str, input_size: int, hidden_size: int, *, bias: bool = True,
                     bytes_per_param: int = 4) -> OpCounts:
    """Counts of one step of one cell (one layer, one direction)."""
    if input_size < 1 or hidden_size < 1:
        raise ValueError(f"input_size and hidden_size must be >= 1, got {input_size}, {hidden_size}")
    g, i, h = _mode(mode), int(input_size), int(hidden_size)
    macs = g * h * (i + h)
    elem = _ELEMENTWISE_NONBIAS[g] * h + (2 * g * h if bias else 0)
    params = g * h * (i + h) + (2 * g * h if bias else 0)
    return OpCounts(macs=macs, nonlinearities=_NONLIN[g] * h, elementwise=elem,
                    weight_bytes=params * bytes_per_param, params=params)


def head_counts(in_features: int, out_features: int, *, bias: bool = True, bytes_per_param: int = 4) -> OpCounts:
    """Counts of one Linear head evaluation."""
    params = in_features * out_features + (out_features if bias else 0)
    return OpCounts(macs=in_features * out_features, nonlinearities=0,
                    elementwise=out_features if bias else 0, weight_bytes=params * bytes_per_param, params=params)


def step_counts(mode: str, input_size: int, hidden_size: int, num_layers: int = 1, *,
                bidirectional: bool = False, bias: bool = True, head: int | None = None,
                head_every_step: bool = False, bytes_per_param: int = 4) -> OpCounts:
    """Counts of one time step of a whole stacked (bi)directional network (+ head when evaluated per step)."""
    if num_layers < 1:
        raise ValueError(f"num_layers must be >= 1, got {num_layers}")
    dirs = 2 if bidirectional else 1
    total = OpCounts(0, 0, 0, 0, 0)
    for layer in range(num_layers):
        width = input_size if layer == 0 else dirs * hidden_size
        cell = cell_step_counts(mode, width, hidden_size, bias=bias, bytes_per_param=bytes_per_param)
        for _ in range(dirs):  # each direction has its own parameters (``*`` would keep ``params``)
            total = total + cell
    if head and head_every_step:
        total = total + head_counts(dirs * hidden_size, head, bias=bias, bytes_per_param=bytes_per_param)
    return total


def sequence_counts(mode: str, input_size: int, hidden_size: int, steps: int, num_layers: int = 1, *,
                    bidirectional: bool = False, bias: bool = True, head: int | None = None,
                    head_every_step: bool = False, bytes_per_param: int = 4) -> OpCounts:
    """Counts of one inference over ``steps`` time steps (the head once at the end unless ``head_every_step``)."""
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    per = step_counts(mode, input_size, hidden_size, num_layers, bidirectional=bidirectional, bias=bias,
                      head=head, head_every_step=head_every_step, bytes_per_param=bytes_per_param)
    total = steps * per
    if head and not head_every_step:
        dirs = 2 if bidirectional else 1
        total = total + head_counts(dirs * hidden_size, head, bias=bias, bytes_per_param=bytes_per_param)
    return total


@dataclass(frozen=True)
class DenseArch:
    """What the counts need to know about a recurrent model."""

    mode: str
    input_size: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    bias: bool = True
    head: int | None = None
    head_every_step: bool = False  # a readout evaluated at every time step (LeakyReadout), not once at the end

    def sequence_counts(self, steps: int, *, head_every_step: bool | None = None,
                        bytes_per_param: int = 4) -> OpCounts:
        """Counts of one inference over ``steps`` time steps (``head_every_step`` None: the arch's own)."""
        every = self.head_every_step if head_every_step is None else head_every_step
        return sequence_counts(self.mode, self.input_size, self.hidden_size, steps, self.num_layers,
                               bidirectional=self.bidirectional, bias=self.bias, head=self.head,
                               head_every_step=every, bytes_per_param=bytes_per_param)


def _is_recurrent(m: Any) -> bool:
    return hasattr(m, "hidden_size") and hasattr(m, "input_size") and hasattr(m, "num_layers")


def recognise_arch(model: Any) -> tuple[DenseArch | None, str]:
    """``(arch, "")`` for a torch RNN/LSTM/GRU, a spikernn Spiking* model, or a module holding one recurrent
    layer plus at most one head (``nn.Linear`` or :class:`spikernn.readout.LeakyReadout`) that reads the layer's
    output; ``(None, reason)`` when the counts would not describe the model (no recurrent layer, several
    recurrent layers or heads, a head whose width is not the layer's output): the analytic count is then left
    out rather than undercounted.

    >>> import torch
    >>> recognise_arch(torch.nn.GRU(4, 8))[0].mode
    'GRU'
    >>> recognise_arch(torch.nn.Sequential(torch.nn.LSTM(4, 8), torch.nn.LSTM(8, 8)))[1]
    'several recurrent modules (0, 1): the counts describe one stacked recurrent layer and a head'
    """
    try:
        import torch.nn as nn

        from spikernn.readout import LeakyReadout
    except Exception:
        return None, "torch is not available"
    if not isinstance(model, nn.Module):
        return None, f"{type(model).__name__} is not a torch module"
    rnns: list[tuple[str, Any]] = []
    heads: list[tuple[str, Any]] = []
    for name, m in model.named_modules():
        if any(name.startswith(r + ".") or r == "" for r, _ in rnns):
            continue  # inside a recurrent module already found (its cells and gates)
        if _is_recurrent(m):
            rnns.append((name, m))
        elif isinstance(m, (nn.Linear, LeakyReadout)):
            heads.append((name, m))
    if not rnns:
        return None, "no recurrent module (RNN/LSTM/GRU)"
    if len(rnns) > 1:
        return None, (f"several recurrent modules ({', '.join(n or type(m).__name__ for n, m in rnns)}): the counts "
                      "describe one stacked recurrent layer and a head")
    if len(heads) > 1:
        return None, (f"several head layers ({', '.join(n for n, _ in heads)}): the counts describe one recurrent "
                      "layer and at most one head")
    rnn = rnns[0][1]
    mode = str(getattr(rnn, "mode", "") or type(rnn).__name__).upper()
    for key in ("LSTM", "GRU", "RNN"):
        if key in mode:
            mode = key
            break
    else:
        return None, f"recurrent module {type(rnn).__name__} is not an RNN, LSTM or GRU"
    bidirectional = bool(getattr(rnn, "bidirectional", False))
    head = None
    if heads:
        name, h = heads[0]
        width = (2 if bidirectional else 1) * int(rnn.hidden_size)
        if int(h.in_features) != width:
            return None, (f"head {name} reads {h.in_features} features, not the recurrent layer's output ({width}): "
                          "something between them is not counted")
        head = int(h.out_features)
    return DenseArch(mode=mode, input_size=int(rnn.input_size), hidden_size=int(rnn.hidden_size),
                     num_layers=int(rnn.num_layers), bidirectional=bidirectional,
                     bias=bool(getattr(rnn, "bias", True)), head=head,
                     head_every_step=bool(heads) and isinstance(heads[0][1], LeakyReadout)), ""


def arch_of(model: Any) -> DenseArch | None:
    """The :class:`DenseArch` of ``model``, or None when it cannot be recognised (:func:`recognise_arch` says
    why)."""
    return recognise_arch(model)[0]


@dataclass(frozen=True)
class DenseEnergyEstimate:
    """45 nm analytic energy of dense inference (Horowitz 2014), joules per inference, by component."""

    arithmetic_j: float
    memory_j: float
    memory_level: str
    counts: OpCounts

    @property
    def total_j(self) -> float:
        return self.arithmetic_j + self.memory_j

    def to_dict(self) -> dict[str, Any]:
        return {"arithmetic_j": self.arithmetic_j, "memory_j": self.memory_j, "total_j": self.total_j,
                "memory_level": self.memory_level, "counts": self.counts.to_dict()}


def horowitz_estimate(counts: OpCounts, *, precision: str = "fp32", memory: str = "auto",
                      figures: HorowitzFigures | None = None) -> DenseEnergyEstimate:
    """Cross-check energy of ``counts`` at 45 nm (Horowitz, ISSCC 2014).

    Arithmetic: MACs x E_MAC (fp32 4.6 pJ; int8 0.2 + 0.03 pJ); each nonlinearity and elementwise op costed
    as one MAC — a lower bound for sigmoid/tanh, which take several operations. Memory: weight bytes read in
    64-bit words x E_read, where ``memory`` is "8kb" (10 pJ), "1mb" (100 pJ), "dram" (1.3 nJ, the low end)
    or "auto" (8 KB cache if the parameters fit, 1 MB if they fit, else DRAM). ``counts.weight_bytes`` is used
    as counted: count with ``bytes_per_param=1`` for an int8 estimate.
    """
    f = figures or horowitz()
    if precision == "fp32":
        mac = f.fp32_mac_j
    elif precision == "int8":
        mac = f.int8_mult_j + f.int8_add_j
    else:
        raise ValueError(f"precision must be 'fp32' or 'int8', got {precision!r}")
    arith = (counts.macs + counts.nonlinearities + counts.elementwise) * mac
    model_bytes = counts.params * (4 if precision == "fp32" else 1)
    level = memory
    if memory == "auto":
        level = "8kb" if model_bytes <= 8 * 1024 else "1mb" if model_bytes <= 1024 * 1024 else "dram"
    read = {"8kb": f.read_64bit_8kb_cache_j, "1mb": f.read_64bit_1mb_cache_j, "dram": f.read_64bit_dram_low_j}
    if level not in read:
        raise ValueError(f"memory must be 'auto', '8kb', '1mb' or 'dram', got {memory!r}")
    words = counts.weight_bytes / 8.0
    return DenseEnergyEstimate(arithmetic_j=arith, memory_j=words * read[level], memory_level=level, counts=counts)
