"""Dense ``torch.nn.RNN/LSTM/GRU`` models -> graded-spike sigma-delta networks (``sd_rnn/sd_lstm/sd_gru``).

Accepted models (anything else raises ``TypeError``/``ValueError`` naming what was found):

* a bare ``torch.nn.RNN`` (``nonlinearity`` "tanh" or "relu"), ``torch.nn.LSTM`` or ``torch.nn.GRU``, or a
  subclass of one: any ``num_layers``, ``bidirectional``, ``batch_first``, ``bias`` True or False,
  ``dropout`` (ignored: inference). ``proj_size > 0`` (LSTM projections) is refused. Output: torch's ``out``
  sequence, ``(T, B, D*H)`` or ``(B, T, D*H)`` (``meta["output"] = "sequence"``); the final ``(h_n, c_n)``
  state is not produced.
* a classifier with an ``.rnn`` attribute holding such a module and a ``.head`` ``torch.nn.Linear``
  (spikernn's ``DenseSequenceClassifier`` shape): logits = ``head(out[last valid step])``, returned by the
  network as ``(B, C)`` (``meta["output"] = "last_step"``; pass ``lengths`` for padded batches). Its input
  is batch-first ``(B, T, F)`` (spikernn's classifiers' convention, whatever the inner rnn's layout) unless
  the classifier has a ``batch_first`` attribute. Bidirectional classifiers must read ``out`` at the last
  valid step: spikernn's ``DenseSequenceClassifier(bidirectional=True)`` reads the backward direction's
  ``h_n`` (its value at t=0) instead, which one-time-step network outputs cannot express -> ValueError.

Mapping (equations: docs/equations.md, "Dense (ANN) cells converted to sigma-delta neurons"):

* the host feeds an ``input`` population with encoding ``"delta"`` (changes of x larger than the
  input threshold);
* layer ``k`` (direction ``d``) becomes one ``sd_*`` population of ``hidden_size`` neurons named
  ``l{k}`` / ``l{k}_reverse``. ``W_ih`` is a synapse block from the previous layer (split by columns per
  source direction), ``W_hh`` a recurrent block from the population to itself. RNN and LSTM receive both
  on port ``in`` and carry ``bias = b_ih + b_hh`` (the equations sum them); GRU keeps ``W_ih``/``b_ih`` on
  port ``in`` and ``W_hh``/``b_hh`` on port ``rec`` (``r`` multiplies only the recurrent part of ``n``);
* every sigma-delta neuron sends ``Δh`` only where ``|h_t - ĥ_{t-1}| > threshold``: ``threshold=0``
  reproduces the dense model, larger values send fewer events;
* the Linear head becomes a ``readout`` population (``decay = 0``, ``attrs["input_coding"] = "delta"``);
* unidirectional layers stream together in stage 0; with ``bidirectional=True`` layer ``k`` is stage ``k``
  and its backward direction is a ``reverse=True`` population (the next layer needs the whole backward
  sequence). Padded batches: the backward direction of a torch module run on a padded tensor starts at
  the padded end, and so does the network's; a classifier that packs its input starts each backward pass
  at that sequence's last valid step instead - :meth:`Network.simulate` runs such a network's unequal
  lengths in equal-length groups (``meta["packed"]``, :meth:`Network.runs_in_length_groups`).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from spikernn.functional import GATES
from spikernn.hardware.network import Network, Population, SynapseBlock
from spikernn.protocol import batch_first_of

_KIND = {"RNN": "sd_rnn", "LSTM": "sd_lstm", "GRU": "sd_gru"}


def dense_mode(rnn: Any) -> str | None:
    """"RNN", "LSTM" or "GRU" for a torch.nn recurrent module (or subclass), else None."""
    if isinstance(rnn, torch.nn.LSTM):
        return "LSTM"
    if isinstance(rnn, torch.nn.GRU):
        return "GRU"
    if isinstance(rnn, torch.nn.RNN):
        return "RNN"
    return None


def is_dense_classifier(model: Any) -> bool:
    """Whether ``model`` has the DenseSequenceClassifier shape: ``.rnn`` dense recurrent + ``.head`` Linear."""
    return (isinstance(model, torch.nn.Module) and dense_mode(getattr(model, "rnn", None)) is not None
            and isinstance(getattr(model, "head", None), torch.nn.Linear))


def uses_final_state(model: Any) -> bool:
    """Whether a classifier's head reads ``h_n`` (spikernn's DenseSequenceClassifier, or a model that says
    so with ``head_input = "h_n"``) rather than ``out`` at the last valid step."""
    flag = getattr(model, "head_input", None)
    if flag is not None:
        return flag == "h_n"
    return type(model).__name__ == "DenseSequenceClassifier" and type(model).__module__.startswith("spikernn")


def _np(t: torch.Tensor | None, shape: tuple[int, ...] | None = None) -> np.ndarray:
    if t is None:
        return np.zeros(shape, dtype=np.float64)
    return t.detach().cpu().double().numpy().copy()


def _param(m: Any, name: str) -> torch.Tensor | None:
    """Parameter ``name`` of ``m`` (attribute, else from ``named_parameters``), None when absent."""
    if hasattr(m, name):
        return getattr(m, name)
    return dict(m.named_parameters()).get(name)


def check_dense_rnn(rnn: Any) -> str:
    """"RNN"/"LSTM"/"GRU" for a convertible torch recurrent module; TypeError/ValueError naming what is not."""
    mode = dense_mode(rnn)
    if mode is None:
        raise TypeError(f"expected torch.nn.RNN/LSTM/GRU, got {type(rnn).__name__}")
    if getattr(rnn, "proj_size", 0):
        raise ValueError(f"{type(rnn).__name__} with proj_size={rnn.proj_size} (LSTM projections) is not supported: "
                         "the projected hidden state has no sigma-delta neuron; retrain with proj_size=0")
    if mode == "RNN" and rnn.nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"torch.nn.RNN nonlinearity {rnn.nonlinearity!r} is not supported (tanh, relu)")
    return mode


def add_layers(pops: list, syns: list, rnn: Any, mode: str, source: str | list[tuple[str, int]], *,
               threshold: float, kinds: dict[str, str] | None = None, params_fn=None, stage0: int = 0,
               in_affine: tuple[np.ndarray, np.ndarray] | None = None, first_layer: int = 0) -> list[str]:
    """Append the populations and synapse blocks of a (dense or spiking) multi-layer recurrent module whose
    weights follow torch's naming; returns the names of the last layer's populations (forward first).

    ``source``: the input population's name, or ``[(population, size), ...]`` whose outputs, concatenated,
    feed layer 0. ``in_affine = (A, c)``: layer 0 reads ``A @ sources + c`` (a Linear before the module,
    folded exactly: ``W_ih A`` on the synapses, ``W_ih c`` added to the input bias). Populations are named
    ``l{first_layer + k}``. ``params_fn(layer, reverse, H)`` (spiking modules) returns ``(params, attrs)`` for
    the soma; for dense modules ``threshold`` becomes ``attrs["delta_threshold"]``.
    """
    kinds = kinds or _KIND
    G = GATES[mode.lower()]
    H = int(rnn.hidden_size)
    D = 2 if rnn.bidirectional else 1
    srcs = [(source, int(rnn.input_size))] if isinstance(source, str) else list(source)
    prev = [n for n, _ in srcs]
    prev_sizes = [int(s) for _, s in srcs]
    for k in range(int(rnn.num_layers)):
        cur = []
        for d in range(D):
            sfx = "_reverse" if d else ""
            name = f"l{first_layer + k}{sfx}"
            w_ih, w_hh = _param(rnn, f"weight_ih_l{k}{sfx}"), _param(rnn, f"weight_hh_l{k}{sfx}")
            if w_ih is None or w_hh is None:
                raise ValueError(f"{type(rnn).__name__} has no weight_ih_l{k}{sfx}/weight_hh_l{k}{sfx}")
            w_ih, w_hh = _np(w_ih), _np(w_hh)
            b_ih = _np(_param(rnn, f"bias_ih_l{k}{sfx}"), (G * H,))
            b_hh = _np(_param(rnn, f"bias_hh_l{k}{sfx}"), (G * H,))
            if k == 0 and in_affine is not None:
                A, c = in_affine
                b_ih = b_ih + w_ih @ c
                w_ih = w_ih @ A
            if w_ih.shape != (G * H, sum(prev_sizes)) or w_hh.shape != (G * H, H):
                raise ValueError(f"{type(rnn).__name__} layer {k}{sfx}: unexpected weight shapes "
                                 f"{w_ih.shape}, {w_hh.shape} (projections or a custom cell?)")
            if mode == "GRU":
                params = {"bias_in": b_ih, "bias_rec": b_hh}
                rec_port = "rec"
            else:
                params = {"bias": b_ih + b_hh}
                rec_port = "in"
            attrs: dict[str, Any] = {}
            if params_fn is None:
                attrs["delta_threshold"] = float(threshold)
                if mode == "RNN":
                    attrs["activation"] = rnn.nonlinearity
            else:
                p2, a2 = params_fn(k, bool(d), H)
                params.update(p2)
                attrs.update(a2)
            stage = stage0 + (k if D == 2 else 0)
            pops.append(Population(name=name, kind=kinds[mode], size=H, params=params, attrs=attrs,
                                   stage=stage, reverse=bool(d)))
            col = 0
            for src, n in zip(prev, prev_sizes):
                syns.append(SynapseBlock(name=f"{src}->{name}", source=src, target=name, port="in",
                                         weights=w_ih[:, col:col + n]))
                col += n
            syns.append(SynapseBlock(name=f"{name}->{name}", source=name, target=name, port=rec_port, weights=w_hh))
            cur.append(name)
        prev = cur
        prev_sizes = [H] * D
    return prev


def add_readout(pops: list, syns: list, linear: torch.nn.Linear | tuple[np.ndarray, np.ndarray], sources: list[str],
                sizes: list[int], *, decay: np.ndarray | None = None, input_coding: str | None = None, stage: int = 0,
                name: str = "readout") -> str:
    """Append a ``readout`` population fed by ``sources`` through ``linear`` (an ``nn.Linear`` or a
    ``(weight, bias)`` pair; columns split per source)."""
    if isinstance(linear, tuple):
        W, b = (np.asarray(a, np.float64) for a in linear)
    else:
        W = _np(linear.weight)
        b = _np(linear.bias, (W.shape[0],))
    C = W.shape[0]
    if W.shape[1] != sum(sizes):
        raise ValueError(f"readout Linear expects {W.shape[1]} features but the recurrent part gives {sum(sizes)}")
    attrs = {"input_coding": input_coding} if input_coding else {}
    pops.append(Population(name=name, kind="readout", size=C,
                           params={"bias": b,
                                   "decay": np.zeros(C) if decay is None else np.asarray(decay, np.float64)},
                           attrs=attrs, stage=stage))
    col = 0
    for src, n in zip(sources, sizes):
        syns.append(SynapseBlock(name=f"{src}->{name}", source=src, target=name, port="in", weights=W[:, col:col + n]))
        col += n
    return name


def check_thresholds(threshold: float | None, input_threshold: float | None) -> None:
    """ValueError unless the sigma-delta thresholds are finite and >= 0 (NaN would silently never send)."""
    def bad(v: float | None) -> bool:
        return v is not None and not (math.isfinite(float(v)) and float(v) >= 0)

    if bad(threshold) or bad(input_threshold):
        raise ValueError(f"sigma-delta thresholds must be finite and >= 0, got threshold={threshold}, "
                         f"input_threshold={input_threshold}")


def dense_to_network(model: Any, threshold: float = 0.0, input_threshold: float | None = None,
                     batch_first: bool | None = None) -> Network:
    """Build the float sigma-delta :class:`Network` of a dense model (see the module docstring)."""
    check_thresholds(threshold, input_threshold)
    head = None
    if dense_mode(model) is not None:
        rnn = model
        output = "sequence"
        bf = rnn.batch_first
    elif is_dense_classifier(model):
        rnn, head = model.rnn, model.head
        output = "last_step"
        # classifiers of this shape take batch-first input (B, T, F) whatever their inner rnn's layout,
        # unless they declare otherwise (spikernn.protocol)
        bf = batch_first_of(model)
        if rnn.bidirectional and uses_final_state(model):
            raise ValueError(
                f"{type(model).__name__} with bidirectional=True reads the backward direction's final state h_n "
                "(after reading back to t=0) next to the forward direction's last valid step; a hardware network "
                "reads all outputs at one time step, so this head cannot be reproduced. Convert a classifier whose "
                "head reads out[last valid step], or use bidirectional=False")
    else:
        raise TypeError(f"not a dense recurrent model: {type(model).__name__}")
    mode = check_dense_rnn(rnn)
    if batch_first is not None:
        bf = bool(batch_first)
    in_thr = float(threshold if input_threshold is None else input_threshold)
    pops: list[Population] = [Population(name="input", kind="input", size=int(rnn.input_size),
                                         attrs={"encoding": "delta", "delta_threshold": in_thr})]
    syns: list[SynapseBlock] = []
    last = add_layers(pops, syns, rnn, mode, "input", threshold=threshold)
    D = 2 if rnn.bidirectional else 1
    H = int(rnn.hidden_size)
    outputs = last
    if head is not None:
        stage = max(p.stage for p in pops) + (1 if D == 2 else 0)
        outputs = [add_readout(pops, syns, head, last, [H] * D, input_coding="delta", stage=stage, name="head")]
    meta = {
        "source": f"torch.nn.{mode}" if type(rnn).__module__.startswith("torch") else type(rnn).__qualname__,
        "model": type(model).__name__,
        "kind": mode.lower(),
        "family": "dense",
        "batch_first": bf,
        "output": output,
        "num_layers": int(rnn.num_layers),
        "hidden_size": H,
        "bidirectional": bool(rnn.bidirectional),
        "threshold": float(threshold),
        "input_threshold": in_thr,
    }
    if head is not None:
        meta["num_classes"] = int(head.out_features)
    return Network(populations=pops, synapses=syns, input="input", outputs=outputs, precision="float", meta=meta)
