"""``to_lava`` and ``verify``: the converters' entry points for torch and spikernn models."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from spikernn.converters.dense import dense_mode, dense_to_network, is_dense_classifier
from spikernn.converters.spiking import is_spiking_classifier, spiking_mode, spiking_to_network
from spikernn.hardware.network import Network
from spikernn.protocol import call_model

_ACCEPTED = ("torch.nn.RNN/LSTM/GRU; a model with .rnn (torch.nn.RNN/LSTM/GRU) and .head (nn.Linear); "
             "spikernn SpikingRNN/LSTM/GRU; SpikingSequenceClassifier; a spikernn.hardware Network")


def model_family(model: Any) -> str:
    """"dense" or "spiking" for a model :func:`to_lava` accepts; TypeError naming anything else."""
    if spiking_mode(model) is not None or is_spiking_classifier(model):
        return "spiking"
    if dense_mode(model) is not None or is_dense_classifier(model):
        return "dense"
    rnn = getattr(model, "rnn", None)
    if rnn is not None:
        raise TypeError(f"unsupported model {type(model).__name__}: its .rnn is {type(rnn).__name__} and its head/"
                        f"readout is {type(getattr(model, 'head', getattr(model, 'readout', None))).__name__}; "
                        f"accepted: {_ACCEPTED}")
    raise TypeError(f"unsupported model {type(model).__name__}; accepted: {_ACCEPTED}")


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
        fam = model_family(model)
        if fam == "spiking":
            if threshold or input_threshold:
                raise ValueError("threshold/input_threshold are sigma-delta settings of dense models; spiking "
                                 "models send binary spikes (their firing threshold is a neuron parameter)")
            net = spiking_to_network(model, batch_first=batch_first)
        else:
            net = dense_to_network(model, threshold=threshold, input_threshold=input_threshold, batch_first=batch_first)
        rnn = getattr(model, "rnn", model)
        if was_training and float(getattr(rnn, "dropout", 0.0) or 0.0) > 0:
            warnings.warn(f"{type(model).__name__} is in training mode with dropout: dropout is ignored by the conversion "
                          "(call model.eval() before comparing)", stacklevel=2)
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


def model_output(model: Any, x: torch.Tensor, lengths: Any = None) -> torch.Tensor:
    """The source model's output that a converted network reproduces (eval mode, no grad): logits for
    classifiers (called through :func:`spikernn.protocol.call_model`: ``model(x, lengths)``, full lengths when
    none are given), the ``out`` sequence for bare recurrent modules."""
    model_family(model)  # TypeError for unsupported models
    p0 = next(model.parameters())
    xx = x.to(device=p0.device, dtype=p0.dtype)
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            if dense_mode(model) is not None or spiking_mode(model) is not None:
                out = model(xx)[0]
            else:  # a classifier, called as spikernn.protocol says: model(x, lengths), lengths on the CPU
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


def _run_grouped(net: Network, x: torch.Tensor, lengths: np.ndarray, backend: str, options: dict):
    """Run each group of equal-length sequences trimmed to its length (bidirectional last-step models, whose
    backward pass must start at each sequence's own last step). Returns (output (B, O), events, synops)."""
    bf = bool(net.meta.get("batch_first", False))
    B = len(lengths)
    out = None
    events = synops = 0.0
    for L in sorted(set(int(v) for v in lengths)):
        idx = np.nonzero(lengths == L)[0]
        ti = torch.as_tensor(idx)
        xi = x[ti, :L] if bf else x[:L, ti]
        y, pi = _simulate(net, xi, None, backend, options)
        if out is None:
            out = torch.zeros((B,) + tuple(y.shape[1:]), dtype=torch.float64)
        out[ti] = y
        events += pi["events"] * len(idx)
        synops += pi["synaptic_ops"] * len(idx)
    return out, events / B, synops / B


def verify(model: Any, net: Network, x: Any, lengths: Any = None, backend: str = "fast", *, atol: float = 1e-5,
           **options: Any) -> VerificationResult:
    """Run ``model`` (torch) and ``net`` (``backend``) on the same ``x`` and compare.

    ``x`` is laid out as the model expects (``net.meta["batch_first"]``). For classifiers, ``lengths`` gives
    each sequence's valid length; logits are compared at that step (bidirectional classifiers are run in
    equal-length groups so that both sides start their backward pass at the sequence's end). For sequence
    outputs with ``lengths``, only valid steps are compared. ``backend`` is any name in
    :data:`spikernn.hardware.backends.BACKENDS` (``"reference"``: the neuron kinds' reference steps run plainly,
    float or fixed point). ``options`` go to the backend.
    """
    x = _as_tensor(x)
    family = net.meta.get("family") or model_family(model)
    mode = net.meta.get("output", "sequence")
    ref = model_output(model, x, lengths)
    lens = None
    if lengths is not None:
        lens = np.asarray(lengths.cpu() if hasattr(lengths, "cpu") else lengths).astype(np.int64).reshape(-1)
    if mode == "last_step" and lens is not None and net.meta.get("bidirectional") and len(set(lens.tolist())) > 1:
        y, ev, so = _run_grouped(net, x, lens, backend, options)
    else:
        y, pi = _simulate(net, x, lengths, backend, options)
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
    if mode == "last_step":
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
    if ref.dim() == (1 if mode == "last_step" else 2):  # unbatched
        batch = 1
    elif mode == "last_step":
        batch = int(ref.shape[0])
    else:
        batch = int(ref.shape[0 if net.meta.get("batch_first") else 1])
    return VerificationResult(backend=backend, precision=net.precision, family=family, output=mode, batch=batch,
                              max_abs_error=float(diff.max()) if diff.numel() else 0.0, max_abs_error_per_output=per,
                              agreement=agreement, agreement_kind=kind, events_per_inference=float(ev),
                              synaptic_ops_per_inference=float(so), atol=atol, model_output=ref, network_output=y)
