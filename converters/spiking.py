"""spikernn spiking models -> networks of spiking neuron populations (``lif``, ``spiking_lstm``, ``spiking_gru``
with the LIF soma; ``adlif``, ``adlif_lstm``, ``adlif_gru`` with the adLIF soma).

Accepted models:

* ``spikernn.SpikingRNN`` / ``SpikingLSTM`` / ``SpikingGRU`` (any ``num_layers``, ``bidirectional``,
  ``batch_first``, ``bias``): output is the spike sequence ``out`` shaped like the module's
  (``meta["output"] = "sequence"``).
* ``spikernn.SpikingSequenceClassifier`` (``.encoder``, ``.rnn``, ``.readout``): logits at each sequence's
  last valid step (``meta["output"] = "last_step"``). The encoder must be a direct-current encoder (the
  analog input goes straight to the first layer's synapses; ``None`` / ``nn.Identity`` count as that):
  Loihi's host feeds values, so rate/latency/delta encoders that generate spikes on the host side are
  refused with a ``ValueError`` naming the encoder - convert ``model.rnn`` and encode on the host instead.

Mapping: layer ``k`` (direction ``d``) is one population of ``hidden_size`` neurons named ``l{k}`` /
``l{k}_reverse``; ``W_ih`` is a synapse block from the previous layer (split by source direction), ``W_hh``
a recurrent block to itself, weights copied 1:1. The kind is the layer's cell with its soma
(:data:`SPIKING_KINDS`: ``SpikingLSTM(neuron="adlif")`` becomes ``adlif_lstm`` populations). RNN and LSTM
kinds get ``bias = b_ih + b_hh`` on port ``in`` (the drive sums them); the GRU kinds keep
``bias_in``/``bias_rec`` and ports ``in``/``rec``. Neuron parameters (the soma's float parameters,
:mod:`spikernn.hardware.kinds.soma`: LIF ``decay``, ``threshold``, ``adapt_decay``, ``adapt_scale``; adLIF
``alpha``, ``beta``, ``a``, ``b``, ``threshold``: effective, clamped values; settings ``reset`` and, adLIF,
``discretisation``) come from the layer's ``neuron_parameters(layer, reverse)``. The input population sends
values (``encoding "value"``). The readout (``LeakyReadout``) becomes a ``readout`` population with its
decay. Bidirectional stages as for dense models (see :mod:`spikernn.converters.dense`).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from spikernn.converters.dense import add_layers, add_readout
from spikernn.hardware.kinds import KINDS
from spikernn.hardware.kinds.soma import SOMAS
from spikernn.hardware.network import Network, Population, SynapseBlock
from spikernn.protocol import batch_first_of

# (the layer's cell, the core's soma option) -> the neuron kind
SPIKING_KINDS = {("RNN", "lif"): "lif", ("LSTM", "lif"): "spiking_lstm", ("GRU", "lif"): "spiking_gru",
                 ("RNN", "adlif"): "adlif", ("LSTM", "adlif"): "adlif_lstm", ("GRU", "adlif"): "adlif_gru"}
# the sigma-delta (graded-spike) soma: the cell of each mode inside a sigma-delta neuron (sends changes)
_DELTA_KINDS = {"RNN": "sd_rnn", "LSTM": "sd_lstm", "GRU": "sd_gru"}
_CLASS_MODE = {"SpikingRNN": "RNN", "SpikingLSTM": "LSTM", "SpikingGRU": "GRU"}


def spiking_mode(m: Any) -> str | None:
    """"RNN"/"LSTM"/"GRU" for a spikernn spiking layer (SpikingRNN/LSTM/GRU or subclass), else None."""
    if not isinstance(m, torch.nn.Module):
        return None
    for cls in type(m).__mro__:
        if cls.__name__ in _CLASS_MODE and cls.__module__.startswith("spikernn"):
            return _CLASS_MODE[cls.__name__]
    return None


def is_spiking_classifier(model: Any) -> bool:
    """Whether ``model`` has the SpikingSequenceClassifier shape: ``.rnn`` spikernn spiking layer + ``.readout``."""
    return (isinstance(model, torch.nn.Module) and hasattr(model, "readout")
            and spiking_mode(getattr(model, "rnn", None)) is not None)


def _f64(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().double().numpy().copy()
    return np.asarray(t, dtype=np.float64).copy()


def neuron_params(rnn: Any, layer: int, reverse: bool, H: int) -> tuple[dict, dict]:
    """Soma params and attrs of one layer/direction, from ``rnn.neuron_parameters(layer, reverse)``: the LIF
    soma's ``decay``, ``threshold``, ``adapt_decay``, ``adapt_scale`` and ``reset``, or the adLIF soma's
    ``alpha``, ``beta``, ``a``, ``b``, ``threshold``, ``reset`` and ``discretisation``."""
    fn = getattr(rnn, "neuron_parameters", None)
    if fn is None:
        raise TypeError(f"{type(rnn).__name__} has no neuron_parameters(layer, reverse): not a spikernn spiking layer")
    p = fn(layer, reverse)
    if p.get("neuron") == "delta":  # a sigma-delta neuron: its cell's biases come from the weights (add_layers)
        attrs: dict[str, Any] = {"delta_threshold": float(p["threshold"])}
        if p.get("activation") == "tanh":
            attrs["activation"] = "tanh"
        return {}, attrs
    sm = SOMAS[p.get("neuron", "lif")]
    params = {spec.name: np.broadcast_to(_f64(p.get(spec.name, spec.default)), (H,)).astype(np.float64).copy()
              for spec in sm.float_params}
    attrs = {s.name: str(p.get(s.name, s.default)) for s in sm.settings}
    return params, attrs


def soma_kinds(rnn: Any) -> dict[str, str]:
    """Mode -> neuron kind of a spikernn spiking layer's populations (its cell with its soma, LIF or adLIF)."""
    neuron = getattr(getattr(rnn, "neuron_options", None), "neuron", "lif")
    if neuron == "delta":
        return _DELTA_KINDS
    if neuron not in SOMAS:
        raise NotImplementedError(f"{type(rnn).__name__} uses neuron={neuron!r}, which has no hardware soma; "
                                  f"known: {sorted(SOMAS)}")
    return {mode: kind for (mode, soma), kind in SPIKING_KINDS.items() if soma == neuron}


def _check_encoder(enc: Any) -> None:
    if enc is None or isinstance(enc, torch.nn.Identity):
        return
    name = type(enc).__name__
    kind = str(getattr(enc, "kind", getattr(enc, "mode", name))).lower()
    if "direct" in kind or "current" in kind or name.lower() in ("directencoder", "directcurrentencoder", "direct"):
        return
    raise ValueError(f"encoder {name} ({kind}) cannot run on the hardware backends: only direct-current input "
                     "(the analog x feeds the first layer) is supported. Convert model.rnn and its readout "
                     "instead, and encode the input on the host.")


def _readout_linear(ro: Any) -> tuple[torch.nn.Linear, np.ndarray | None]:
    """(Linear with weight/bias, decay (C,)) of a LeakyReadout-like module or a plain nn.Linear."""
    if isinstance(ro, torch.nn.Linear):
        return ro, None
    lin = None
    for attr in ("linear", "fc", "proj", "layer"):
        cand = getattr(ro, attr, None)
        if isinstance(cand, torch.nn.Linear):
            lin = cand
            break
    if lin is None and isinstance(getattr(ro, "weight", None), torch.Tensor):
        lin = ro  # duck-typed: .weight (C, H) and .bias
    if lin is None:
        raise TypeError(f"unsupported readout {type(ro).__name__}: need a LeakyReadout or nn.Linear")
    decay = None
    fn = getattr(ro, "neuron_parameters", None)
    if callable(fn):
        p = fn()
        if "decay" in p:
            decay = _f64(p["decay"])
    if decay is None:
        for attr in ("effective_decay", "decay", "beta"):
            v = getattr(ro, attr, None)
            if callable(v) and attr == "effective_decay":
                v = v()
            if v is not None and not callable(v):
                decay = _f64(v).clip(0.0, 1.0)
                break
    C = lin.weight.shape[0]
    if decay is not None:
        decay = np.broadcast_to(decay, (C,)).astype(np.float64).copy()
    return lin, decay


def spiking_to_network(model: Any, batch_first: bool | None = None) -> Network:
    """Build the float :class:`Network` of a spikernn spiking layer or classifier (module docstring)."""
    readout = None
    if spiking_mode(model) is not None:
        rnn = model
        output = "sequence"
        bf = batch_first_of(rnn)
    elif is_spiking_classifier(model):
        _check_encoder(getattr(model, "encoder", None))
        rnn, readout = model.rnn, model.readout
        output = "last_step"
        bf = batch_first_of(model)  # classifiers take (B, T, F) unless they declare otherwise
    else:
        raise TypeError(f"not a spikernn spiking model: {type(model).__name__}")
    if batch_first is not None:
        bf = bool(batch_first)
    mode = spiking_mode(rnn)
    graded = getattr(getattr(rnn, "neuron_options", None), "neuron", "lif") == "delta"
    # sigma-delta neurons accumulate their input: the host then sends the changes of x (threshold 0: exact)
    enc = {"encoding": "delta", "delta_threshold": 0.0} if graded else {"encoding": "value"}
    pops: list[Population] = [Population(name="input", kind="input", size=int(rnn.input_size), attrs=enc)]
    syns: list[SynapseBlock] = []
    last = add_layers(pops, syns, rnn, mode, "input", threshold=0.0, kinds=soma_kinds(rnn),
                      params_fn=lambda k, rev, H: neuron_params(rnn, k, rev, H))
    D = 2 if rnn.bidirectional else 1
    H = int(rnn.hidden_size)
    outputs = last
    meta: dict[str, Any] = {
        "source": f"spikernn.{type(rnn).__name__}",
        "model": type(model).__name__,
        "kind": mode.lower(),
        "family": "spiking",
        "batch_first": bf,
        "output": output,
        "num_layers": int(rnn.num_layers),
        "hidden_size": H,
        "bidirectional": bool(rnn.bidirectional),
        "neuron": getattr(getattr(rnn, "neuron_options", None), "neuron", "lif"),
    }
    if readout is not None:
        lin, decay = _readout_linear(readout)
        stage = max(p.stage for p in pops) + (1 if D == 2 else 0)
        outputs = [add_readout(pops, syns, lin, last, [H] * D, decay=decay, stage=stage, name="readout",
                               input_coding="delta" if graded else None)]
        meta["num_classes"] = int(lin.weight.shape[0])
    return Network(populations=pops, synapses=syns, input="input", outputs=outputs, precision="float", meta=meta)
