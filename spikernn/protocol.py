"""How spikernn's parts call a model, and what a forward pass is asked and reports: one explicit protocol.

**Calling a model.** Everything in spikernn that runs a model (:func:`spikernn.train`, :func:`spikernn.evaluate`,
the converters' reference output, ``energy.compare``, the demo) calls it through :func:`call_model`, which
decides by the model's type, never by trying calls or reading signatures:

* a *recurrent layer* (``torch.nn.RNN/LSTM/GRU`` or a spikernn spiking layer): ``out, state = layer(x)``, ``x``
  laid out as ``layer.batch_first`` says; with ``lengths`` the input is packed (torch's way to give lengths to
  a layer) and ``out`` padded back;
* any other module is a *sequence model*: ``logits = model(x, lengths)``, ``x`` shaped (B,T,F) — or (T,B,F)
  when the model declares ``batch_first = False`` — and ``lengths`` (B,) int64 **on the CPU** (as
  ``pack_padded_sequence`` wants), all equal to T for an unpadded batch. spikernn's classifiers follow it.

**Run context.** What a forward pass is asked beyond its inputs (truncated BPTT, keeping differentiable firing
rates for a regulariser) and what it reports back (a :class:`~spikernn.activity.LayerActivity` per spiking
population, the rates) travels in a :class:`RunContext` that the caller opens around the call::

    with run_context(tbptt=20, keep_rates=True) as ctx:
        logits = model(x, lengths)
    reg = torch.stack(ctx.rates).mean()     # ctx.activity: the populations' activity, in call order

The spiking layers read the innermost open context. It is held in a :class:`contextvars.ContextVar` (per
thread and asyncio task: concurrent calls do not mix), so it reaches the layers through any user model
without changing that model's ``forward`` signature; ``torch.nn.DataParallel``'s replica threads do not see
it. Without a context a layer runs full BPTT, keeps no rates, and reports its activity only as its own
``last_activity``.
"""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

import torch
from torch import Tensor, nn


@dataclass
class RunContext:
    """Options and reports of the forward passes run inside :func:`run_context`.

    Attributes:
        tbptt: truncate backpropagation through time every this many steps (in training, with grad enabled;
            None: full BPTT).
        keep_rates: the spiking layers append each population's differentiable firing rate (a scalar tensor:
            spikes per neuron per valid step) to ``rates``.
        activity: filled by the spiking layers: one LayerActivity per layer and direction, in call order.
        rates: filled when ``keep_rates``.
    """

    tbptt: Optional[int] = None
    keep_rates: bool = False
    activity: list = field(default_factory=list)
    rates: list = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.tbptt is not None and (isinstance(self.tbptt, bool) or not isinstance(self.tbptt, int)
                                       or self.tbptt < 1):
            raise ValueError(f"tbptt must be a positive int or None, got {self.tbptt!r}")


_CURRENT: contextvars.ContextVar[Optional[RunContext]] = contextvars.ContextVar("spikernn_run_context", default=None)


@contextlib.contextmanager
def run_context(ctx: Optional[RunContext] = None, **options: Any) -> Iterator[RunContext]:
    """Open a :class:`RunContext` (``ctx``, or one made from ``options``) for the forward passes inside.

    >>> import spikernn as snr
    >>> m = snr.SpikingGRU(3, 4)
    >>> with run_context(keep_rates=True) as ctx:
    ...     out, h = m(torch.randn(5, 2, 3))
    >>> len(ctx.rates), len(ctx.activity)
    (1, 1)
    """
    if ctx is None:
        ctx = RunContext(**options)
    elif options:
        raise TypeError("pass a RunContext or its options, not both")
    token = _CURRENT.set(ctx)
    try:
        yield ctx
    finally:
        _CURRENT.reset(token)


def current_context() -> Optional[RunContext]:
    """The innermost open :class:`RunContext`, or None."""
    return _CURRENT.get()


def is_recurrent_layer(model: Any) -> bool:
    """True for ``torch.nn.RNN/LSTM/GRU`` (any ``RNNBase``) and spikernn's spiking layers."""
    from spikernn.layers import _SpikingRNNBase

    return isinstance(model, (nn.RNNBase, _SpikingRNNBase))


def unwrap(model: Any) -> Any:
    """The module inside a DistributedDataParallel / DataParallel wrapper, else ``model``."""
    inner = getattr(model, "module", None)
    return inner if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)) else model


def batch_first_of(model: Any) -> bool:
    """Input layout of a model under the protocol: a recurrent layer's ``batch_first``; for a sequence model
    its declared ``batch_first``, default True ((B,T,F), as spikernn's classifiers)."""
    model = unwrap(model)
    if is_recurrent_layer(model):
        return bool(model.batch_first)
    return bool(getattr(model, "batch_first", True))


def full_lengths(x: Tensor, batch_first: bool) -> Tensor:
    """(B,) int64 CPU lengths, all T, for an unpadded batch ``x`` laid out as ``batch_first`` says."""
    b, t = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
    return torch.full((b,), t, dtype=torch.long)


def call_model(model: Any, x: Tensor, lengths: Optional[Tensor] = None) -> Tensor:
    """Run ``model`` on ``x`` as the protocol says (module docstring); returns a recurrent layer's output
    sequence or a sequence model's logits. ``lengths``: (B,) valid lengths (any device; passed on the CPU)."""
    from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

    bf = batch_first_of(model)
    if lengths is not None:
        lengths = torch.as_tensor(lengths).to("cpu", torch.long)
    if is_recurrent_layer(unwrap(model)):
        if lengths is None or isinstance(x, PackedSequence):
            return model(x)[0]
        total = x.shape[1] if bf else x.shape[0]
        out, _ = model(pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=False))
        return pad_packed_sequence(out, batch_first=bf, total_length=total)[0]
    return model(x, lengths if lengths is not None else full_lengths(x, bf))
