"""``to_lava`` and ``verify``: the converters' entry points for torch and spikernn models."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from spikernn.converters.dense import check_thresholds, dense_mode, dense_to_network, is_dense_classifier
from spikernn.converters.graph import UnsupportedModelError, graph_to_network
from spikernn.converters.spiking import is_spiking_classifier, spiking_mode, spiking_to_network
from spikernn.hardware.io import POOLED_OUTPUTS
from spikernn.hardware.network import Network
from spikernn.protocol import call_model

_ACCEPTED = ("torch.nn.RNN/LSTM/GRU; spikernn SpikingRNN/LSTM/GRU, SpikingSequenceClassifier, "
             "DenseSequenceClassifier; any nn.Module whose traced graph (torch.fx) is built from "
             "the operations spikernn.converters.graph maps; a spikernn.hardware Network")


def is_own_composite(model: Any) -> bool:
    """spikernn's own classifiers (their forwards check lengths and cannot be traced): converted from their
    declared structure (:mod:`~spikernn.converters.dense`, :mod:`~spikernn.converters.spiking`)."""
    own = type(model).__module__.startswith("spikernn")
    return own and (is_spiking_classifier(model) or is_dense_classifier(model))


def model_family(model: Any) -> str:
    """"dense" or "spiking" for a model :func:`to_lava` accepts (spiking when it holds a spikernn spiking
    layer); TypeError naming anything else."""
    if spiking_mode(model) is not None or (is_own_composite(model) and is_spiking_classifier(model)):
        return "spiking"
    if dense_mode(model) is not None or is_own_composite(model):
        return "dense"
    if isinstance(model, torch.nn.Module):
        mods = list(model.modules())
        if any(spiking_mode(m) is not None for m in mods):
            return "spiking"
        if any(dense_mode(m) is not None for m in mods) or any(isinstance(m, torch.nn.Linear) for m in mods):
            return "dense"
    raise UnsupportedModelError(f"unsupported model {type(model).__name__}: no recurrent layer or Linear in it; "
                                f"accepted: {_ACCEPTED}")


def convert_module(model: Any, threshold: float = 0.0, input_threshold: float | None = None,
                   batch_first: bool | None = None) -> Network:
    """The float network of a torch / spikernn model: a bare recurrent layer and spikernn's own classifiers
    from their declared structure, any other module from its traced graph
    (:func:`spikernn.converters.graph.graph_to_network`)."""
    if spiking_mode(model) is not None or (is_own_composite(model) and is_spiking_classifier(model)):
        if threshold or input_threshold:
            raise ValueError("threshold/input_threshold are sigma-delta settings of dense models; spiking "
                             "models send binary spikes (their firing threshold is a neuron parameter)")
        return spiking_to_network(model, batch_first=batch_first)
    if dense_mode(model) is not None or is_own_composite(model):
        return dense_to_network(model, threshold=threshold, input_threshold=input_threshold, batch_first=batch_first)
    if not isinstance(model, torch.nn.Module):
        raise UnsupportedModelError(f"unsupported model {type(model).__name__}; accepted: {_ACCEPTED}")
    check_thresholds(threshold, input_threshold)
    net = graph_to_network(model, threshold=threshold, input_threshold=input_threshold, batch_first=batch_first)
    if net.meta["family"] == "spiking" and (threshold or input_threshold):
        raise ValueError("threshold/input_threshold are sigma-delta settings of dense models; spiking "
                         "models send binary spikes (their firing threshold is a neuron parameter)")
    return net


def quantize_network(net: Network, stacklevel: int = 2, **options: Any) -> Network:
    """Fixed-point version of a float ``net`` through :func:`spikernn.hardware.fixed_point.quantize`.

    Saturation warnings raised by ``quantize`` pass through to the caller; the report is kept in
    ``fixed.meta["quantization"]`` (as a dict when the report offers ``to_dict``) and as
    ``fixed.quantization_report``.
    """
    try:
        from spikernn.hardware.fixed_point import quantize
    except ImportError as e:  # pragma: no cover - depends on the hardware package being complete
        raise NotImplementedError("precision='fixed' needs spikernn.hardware.fixed_point.quantize, which is not "
                                  f"available here ({e})") from e
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fixed, report = quantize(net, **options)
    for w in caught:  # re-issue at the caller of to_lava, naming the source model
        warnings.warn(f"to_lava(precision='fixed') of {net.meta.get('model', 'network')}: {w.message}",
                      w.category, stacklevel=stacklevel)
    rep: Any = report
    if hasattr(report, "to_dict"):
        rep = report.to_dict()
    elif hasattr(report, "__dataclass_fields__"):
        from dataclasses import asdict

        rep = asdict(report)
    try:
        import json

        json.dumps(rep)
        fixed.meta.setdefault("quantization", rep)
    except (TypeError, ValueError):
        fixed.meta.setdefault("quantization", str(rep))
    fixed.quantization_report = report  # type: ignore[attr-defined]
    return fixed


def to_lava(model: Any, precision: str = "float", *, threshold: float = 0.0, input_threshold: float | None = None,
            batch_first: bool | None = None, **quantize_options: Any) -> Network:
    """Convert ``model`` to a hardware-level :class:`~spikernn.hardware.network.Network` that both backends
    (``net.run(x, backend="lava")`` and ``backend="fast"``) run.

    Args:
        model: a dense ``torch.nn.RNN`` (tanh/relu), ``LSTM`` or ``GRU`` (any num_layers, bidirectional,
            batch_first, bias), a model with ``.rnn`` (such a module) and ``.head`` (``nn.Linear``), a spikernn
            ``SpikingRNN/LSTM/GRU`` or ``SpikingSequenceClassifier``, or an existing float ``Network``
            (only quantised). See :mod:`spikernn.converters.dense` and :mod:`spikernn.converters.spiking`.
        precision: "float" or "fixed" (build float, then :func:`spikernn.hardware.fixed_point.quantize`;
            weights that saturate make ``quantize`` warn with the quantisation error).
        threshold: sigma-delta threshold ϑ of dense models (0 reproduces the dense model; larger values
            send fewer events). Spiking models have no such threshold: nonzero values raise ValueError.
        input_threshold: delta threshold of the input population of dense models (default: ``threshold``).
        batch_first: override the input layout recorded in ``net.meta["batch_first"]``.
        quantize_options: passed to ``quantize`` (fixed precision only): ``calibration_x`` (input data whose
            max |x| sets the input range; pass the training inputs), ``input_range`` (largest |x|),
            ``max_frac_bits``. Without either, ``quantize`` assumes |x| <= 1 and ``to_lava`` warns.

    Raises:
        TypeError: an unsupported model or layer (named in the message).
        ValueError: unsupported settings (``proj_size > 0``, a spike-generating encoder, bad precision, ...).
    """
    if precision not in ("float", "fixed"):
        raise ValueError(f"precision must be 'float' or 'fixed', got {precision!r}")
    if isinstance(model, Network):
        net = model
        if net.precision == "fixed" and precision == "float":
            raise ValueError("this network is already fixed-point; convert the source model again for float")
    else:
        was_training = getattr(model, "training", False)
        net = convert_module(model, threshold=threshold, input_threshold=input_threshold, batch_first=batch_first)
        if was_training and any(isinstance(m, torch.nn.Dropout) and m.p > 0 or float(getattr(m, "dropout", 0.0) or 0.0) > 0
                                for m in model.modules()):
            warnings.warn(f"{type(model).__name__} is in training mode with dropout: dropout is ignored by the conversion "
                          "(call model.eval() before comparing)", stacklevel=2)
    if precision == "fixed" and net.precision != "fixed" and (net.meta.get("input_encoding") == "one_hot"
                                                            or net.meta.get("input_unfold")):
        # the host's input stage (one-hot token vectors, Conv1d windows) comes first: calibrate on what it sends
        cx = quantize_options.get("calibration_x")
        if cx is not None:
            from spikernn.hardware.io import prepare_input

            cx = prepare_input(net, cx)[0]  # (T, B, I)
            quantize_options["calibration_x"] = cx.transpose(1, 0, 2) if net.meta.get("batch_first") else cx
        elif net.meta.get("input_encoding") == "one_hot":
            quantize_options.setdefault("input_range", 1.0)
    if precision == "fixed" and net.precision != "fixed":
        if (quantize_options.get("calibration_x") is None and quantize_options.get("input_range") is None
                and "input_range" not in net.meta):
            warnings.warn("to_lava(precision='fixed') without calibration_x= or input_range=: the fixed-point "
                          "input scale assumes |x| <= 1 (inputs beyond that lose headroom); pass "
                          "calibration_x=<training inputs>", UserWarning, stacklevel=2)
        net = quantize_network(net, stacklevel=3, **quantize_options)
    return net


# ---------------------------------------------------------------------------------------------- verify
@dataclass
class VerificationResult:
    """How closely a converted network reproduces its source model on one input batch.

    Attributes:
        backend: the backend that ran the network.
        precision: the network's precision.
        family: "dense" or "spiking".
        output: "sequence" or "last_step".
        batch: number of sequences compared.
        max_abs_error: max |network - model| over all compared outputs.
        max_abs_error_per_output: the same per output population (e.g. "l1", "l1_reverse", "head").
        agreement: class agreement (argmax, last_step outputs) or spike agreement (fraction of equal
            spike values, spiking sequences); for dense sequences the fraction of outputs within ``atol``.
        agreement_kind: "class", "spike" or "within_atol".
        events_per_inference: events (spikes / graded spikes) per sequence, from ActivityStats.
        synaptic_ops_per_inference: synaptic operations per sequence.
        atol: tolerance used for ``within_atol``/``ok``.
        model_output, network_output: the compared tensors (float64).
    """

    backend: str
    precision: str
    family: str
    output: str
    batch: int
    max_abs_error: float
    max_abs_error_per_output: dict[str, float]
    agreement: float
    agreement_kind: str
    events_per_inference: float
    synaptic_ops_per_inference: float
    atol: float = 1e-5
    model_output: Any = field(default=None, repr=False)
    network_output: Any = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """Whether outputs match within ``atol`` (float) / agree fully."""
        return self.max_abs_error <= self.atol or self.agreement >= 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields (without the compared tensors)."""
        return {k: getattr(self, k) for k in ("backend", "precision", "family", "output", "batch", "max_abs_error",
                                              "max_abs_error_per_output", "agreement", "agreement_kind",
                                              "events_per_inference", "synaptic_ops_per_inference", "atol")}

    def summary(self) -> str:
        """A few human-readable lines: errors, agreement, events per inference."""
        per = ", ".join(f"{k} {v:.3g}" for k, v in self.max_abs_error_per_output.items())
        return (f"verify [{self.family} -> {self.precision} network, backend={self.backend}, {self.batch} sequences]\n"
                f"  max abs error     {self.max_abs_error:.3g}  ({per})\n"
                f"  {self.agreement_kind + ' agreement':<17} {100 * self.agreement:.2f}%\n"
                f"  events/inference  {self.events_per_inference:.1f}   synaptic ops/inference "
                f"{self.synaptic_ops_per_inference:.1f}")

    __str__ = summary


def _as_tensor(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    return torch.as_tensor(np.asarray(x))


def model_output(model: Any, x: torch.Tensor, lengths: Any = None, net: Network | None = None) -> torch.Tensor:
    """The source model's output that a converted network reproduces (eval mode, no grad): logits for
    classifiers (called through :func:`spikernn.protocol.call_model`: ``model(x, lengths)``, full lengths when
    none are given), the ``out`` sequence for bare recurrent modules. A network converted from the traced
    graph records the arguments its forward takes (``net.meta["inputs"]``): ``model(x)`` or
    ``model(x, lengths)``; ``x`` may be token ids (an ``nn.Embedding`` model)."""
    model_family(model)  # TypeError for unsupported models
    p0 = next(model.parameters())
    xx = x.to(device=p0.device, dtype=p0.dtype) if x.is_floating_point() else x.to(p0.device)
    inputs = (net.meta.get("inputs") if net is not None else None)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            if dense_mode(model) is not None or spiking_mode(model) is not None:
                out = model(xx)[0]
            elif inputs == ["x"]:
                out = model(xx)
            else:  # a classifier, called as spikernn.protocol says: model(x, lengths), lengths on the CPU
                if inputs == ["x", "lengths"] and lengths is None:
                    bf = bool(net.meta.get("batch_first", True))
                    lengths = torch.full((xx.shape[0 if bf else 1],), xx.shape[1 if bf else 0], dtype=torch.long)
                out = call_model(model, xx, None if lengths is None else _as_tensor(lengths).long())
                if isinstance(out, tuple):
                    out = out[0]
    finally:
        model.train(was)
    return out.detach().double().cpu()


def _simulate(net: Network, x: Any, lengths: Any, backend: str, options: dict):
    """(output tensor float64, per-inference dict) from a backend."""
    y, st = net.simulate(x, backend=backend, lengths=lengths, **options)
    return y.double(), st.per_inference()


def verify(model: Any, net: Network, x: Any, lengths: Any = None, backend: str = "fast", *, atol: float = 1e-5,
           **options: Any) -> VerificationResult:
    """Run ``model`` (torch) and ``net`` (``backend``) on the same ``x`` and compare.

    ``x`` is laid out as the model expects (``net.meta["batch_first"]``). For classifiers, ``lengths`` gives
    each sequence's valid length; logits are compared at that step (bidirectional networks run in equal-length
    groups, :meth:`Network.runs_in_length_groups`, so that both sides start their backward pass at the sequence's end). For sequence
    outputs with ``lengths``, only valid steps are compared. ``backend`` is any name in
    :data:`spikernn.hardware.backends.BACKENDS` (``"reference"``: the neuron kinds' reference steps run plainly,
    float or fixed point). ``options`` go to the backend.
    """
    x = _as_tensor(x)
    family = net.meta.get("family") or model_family(model)
    mode = net.meta.get("output", "sequence")
    ref = model_output(model, x, lengths, net)
    lens = None
    if lengths is not None:
        lens = np.asarray(lengths.cpu() if hasattr(lengths, "cpu") else lengths).astype(np.int64).reshape(-1)
    y, pi = _simulate(net, x, lengths, backend, options)  # bidirectional nets: equal-length groups (Network.simulate)
    ev, so = pi["events"], pi["synaptic_ops"]
    if tuple(y.shape) != tuple(ref.shape):
        raise ValueError(f"network output shape {tuple(y.shape)} != model output shape {tuple(ref.shape)}")
    diff = (y - ref).abs()
    mask = None
    if mode == "sequence" and lens is not None and y.dim() == 3:
        bf = bool(net.meta.get("batch_first", False))
        T = y.shape[1] if bf else y.shape[0]
        m = torch.arange(T)[:, None] < torch.as_tensor(lens)[None, :]  # (T, B)
        mask = (m.t() if bf else m)[..., None].expand_as(diff)
        diff = torch.where(mask, diff, torch.zeros_like(diff))
    per: dict[str, float] = {}
    col = 0
    for name in net.outputs:
        n = net.population(name).size
        per[name] = float(diff[..., col:col + n].max()) if diff.numel() else 0.0
        col += n
    if mode in POOLED_OUTPUTS:
        kind = "class"
        agreement = float((y.argmax(-1) == ref.argmax(-1)).double().mean())
    elif family == "spiking":
        kind = "spike"
        eq = (y == ref).double()
        agreement = float(eq[mask].mean()) if mask is not None else float(eq.mean())
    else:
        kind = "within_atol"
        ok = (diff <= atol).double()
        agreement = float(ok[mask].mean()) if mask is not None else float(ok.mean())
    if ref.dim() == (1 if mode in POOLED_OUTPUTS else 2):  # unbatched
        batch = 1
    elif mode in POOLED_OUTPUTS:
        batch = int(ref.shape[0])
    else:
        batch = int(ref.shape[0 if net.meta.get("batch_first") else 1])
    return VerificationResult(backend=backend, precision=net.precision, family=family, output=mode, batch=batch,
                              max_abs_error=float(diff.max()) if diff.numel() else 0.0, max_abs_error_per_output=per,
                              agreement=agreement, agreement_kind=kind, events_per_inference=float(ev),
                              synaptic_ops_per_inference=float(so), atol=atol, model_output=ref, network_output=y)
