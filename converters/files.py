"""Convert a saved model file to a saved hardware network (what ``spikernn convert`` runs). Never unpickles.

Model files accepted by :func:`load_model`:

* anything ``spikernn.load`` reads (spikernn's safetensors + JSON format: spiking layers, classifiers and
  the dense classifiers spikernn writes);
* a plain safetensors file of a dense torch module whose metadata carries its constructor as JSON under
  ``"spikernn_dense"`` (or ``"config"``), e.g. ``{"class": "LSTM", "args": {"input_size": 12, ...}}`` with the
  state_dict as tensors; :func:`save_dense` writes exactly that for a bare ``torch.nn.RNN/LSTM/GRU``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

_DENSE = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}


def save_dense(module: torch.nn.Module, path: str | Path) -> Path:
    """Write a bare ``torch.nn.RNN/LSTM/GRU`` as safetensors + JSON constructor (readable by :func:`load_model`)."""
    from safetensors.torch import save_file

    from spikernn.converters.dense import check_dense_rnn

    mode = check_dense_rnn(module)
    args = {"input_size": module.input_size, "hidden_size": module.hidden_size, "num_layers": module.num_layers,
            "bias": module.bias, "batch_first": module.batch_first, "bidirectional": module.bidirectional}
    if mode == "RNN":
        args["nonlinearity"] = module.nonlinearity
    import spikernn
    from spikernn.filecheck import CHECKSUM_KEY, VERSION_KEY, tensor_digest

    sd = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    path = Path(path)
    save_file(sd, str(path), metadata={"spikernn_dense": json.dumps({"class": mode, "args": args}),
                                       VERSION_KEY: spikernn.__version__, CHECKSUM_KEY: tensor_digest(sd)})
    return path


def _dense_schema(cls_name: str) -> dict:
    """The JSON schema of a dense constructor (``{"class", "args"}``): torch's arguments, typed."""
    b, i = {"type": "bool"}, {"type": "int"}
    args = {"input_size": i, "hidden_size": i, "num_layers": i, "bias": b, "batch_first": b,
            "dropout": {"type": "number", "min": 0, "max": 1}, "bidirectional": b}
    if cls_name == "RNN":
        args["nonlinearity"] = {"type": "str", "enum": ("tanh", "relu")}
    if cls_name == "LSTM":
        args["proj_size"] = i
    return {"type": "object", "required": {"class": {"type": "str"}, "args": {
        "type": "object", "required": {"input_size": i, "hidden_size": i}, "optional": args, "extra": False}}}


def _load_dense_safetensors(path: Path, limits: Any = None) -> torch.nn.Module:
    from safetensors.torch import load_file

    from spikernn.filecheck import (check_declared_module, check_schema, check_sizes, open_safetensors,
                                    parse_json, verify_tensors)

    where = str(path)
    with open_safetensors(path, "model file", limits) as (_, meta, infos):
        pass
    key = "spikernn_dense" if "spikernn_dense" in meta else "config"
    if key not in meta:
        raise ValueError(f"{path}: not a spikernn model file (no spikernn metadata) and no 'spikernn_dense' "
                         "constructor JSON; nothing to rebuild the model from (pickled checkpoints are refused)")
    cfg = parse_json(meta[key], where, key)
    check_schema(cfg, {"type": "object", "required": {"class": {"type": "str"}}}, where, key)
    cls_name = cfg["class"].split(".")[-1]
    if cls_name not in _DENSE:
        raise ValueError(f"{path}: model class {cfg.get('class')!r} is not a dense RNN/LSTM/GRU")
    check_schema(cfg, _dense_schema(cls_name), where, key)
    check_sizes(cfg["args"], where, f"{key}.args", limits)
    check_declared_module(lambda: _DENSE[cls_name](**cfg["args"]), infos, where, limits)
    m = _DENSE[cls_name](**cfg["args"])
    tensors = load_file(str(path))
    verify_tensors(tensors, meta, where)
    m.load_state_dict(tensors)
    return m.eval()


def load_model(model_path: str | Path, limits: Any = None) -> torch.nn.Module:
    """Load a model for conversion: ``spikernn.load`` first, then the dense safetensors form (module docstring).
    Pickle files (``.pt``/``.pth``/``.pkl``) are refused. Both are read as untrusted files
    (:mod:`spikernn.filecheck`; ``limits``: a :class:`~spikernn.filecheck.FileLimits` for huge models); a
    file that fails a check as a spikernn model file (too large, corrupted, a bad field) is not retried as a
    dense one."""
    from spikernn.filecheck import FileFormatError, check_path

    path = check_path(model_path, "model file")
    if path.suffix in (".pt", ".pth", ".pkl", ".pickle", ".ckpt"):
        raise ValueError(f"{path}: pickled checkpoints are not loaded (unsafe). Save the model with "
                         "spikernn.save(model, path) (safetensors + JSON) and convert that file")
    from spikernn.io import load

    from spikernn.io import read_metadata

    try:
        read_metadata(path, limits)
    except FileFormatError as e:
        if "is not a spikernn model file (format None" not in str(e):
            raise
        return _load_dense_safetensors(path, limits)  # no spikernn model metadata: the dense form
    return load(path, limits=limits).eval()


def _check_data(net_meta: dict, check_data: Any):
    """(x, lengths, calibration x) from ``check_data``: a tuple (x, lengths), a tensor x, or the name of a
    spikernn dataset (its test split is checked, its train split calibrates)."""
    if check_data is None:
        return None
    if isinstance(check_data, str):
        from spikernn import datasets

        train, test = datasets.load(check_data)
        bf = net_meta.get("batch_first", True)
        x = test.x if bf else test.x.transpose(0, 1)
        return x, test.lengths, train.x
    if isinstance(check_data, (tuple, list)):
        return check_data[0], (check_data[1] if len(check_data) > 1 else None), check_data[0]
    return check_data, None, check_data


def convert_file(model_path: str | Path, out_path: str | Path, precision: str = "float", threshold: float = 0.0,
                 check_data: Any = None, backend: str = "fast", input_range: float | None = None) -> dict[str, Any]:
    """Load ``model_path`` (:func:`load_model`), convert it with :func:`spikernn.converters.to_lava`, write the
    network with ``net.save(out_path)`` and return a summary dict:

    ``{"model", "model_path", "out_path", "precision", "threshold", "populations", "synapse_blocks",
    "neurons", "synapses", "output", "verification"[, "quantization"]}`` where ``verification`` is
    :meth:`VerificationResult.to_dict` on ``check_data`` run on ``backend`` (None without ``check_data``).
    ``check_data``: ``(x, lengths)``, a tensor ``x`` (laid out as the model takes it), or a data set name
    (``"japanese_vowels"``: checks its test split). Fixed precision: the input range is taken from
    ``input_range``, else from the check data (a named data set's train split), else assumed |x| <= 1.
    Quantisation warnings propagate to the caller.
    """
    from spikernn.converters.api import model_family, to_lava, verify

    model = load_model(model_path)
    model_family(model)
    data = None
    opts: dict[str, Any] = {}
    if check_data is not None:
        probe = to_lava(model, "float", threshold=threshold)
        data = _check_data(probe.meta, check_data)
    if precision == "fixed":
        if input_range is not None:
            opts["input_range"] = float(input_range)
        elif data is not None:
            opts["calibration_x"] = data[2]
    net = to_lava(model, precision, threshold=threshold, **opts)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    net.save(out)
    summary: dict[str, Any] = {
        "model": type(model).__name__,
        "model_path": str(model_path),
        "out_path": str(out),
        "precision": net.precision,
        "threshold": float(threshold),
        "populations": len(net.populations),
        "synapse_blocks": len(net.synapses),
        "neurons": int(sum(p.size for p in net.populations if p.kind != "input")),
        "synapses": int(sum(int((s.weights != 0).sum()) for s in net.synapses)),
        "output": net.meta.get("output"),
        "verification": None,
    }
    if "quantization" in net.meta:
        summary["quantization"] = net.meta["quantization"]
    if data is not None:
        x, lengths, _ = data
        summary["verification"] = verify(model, net, x, lengths, backend=backend).to_dict()
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable lines for a :func:`convert_file` summary (for the CLI)."""
    lines = [f"converted {summary['model']} ({summary['model_path']}) -> {summary['out_path']}",
             f"  precision {summary['precision']}, sigma-delta threshold {summary['threshold']:g}, "
             f"output {summary['output']}",
             f"  {summary['populations']} populations ({summary['neurons']} neurons), "
             f"{summary['synapse_blocks']} synapse blocks ({summary['synapses']} nonzero synapses)"]
    q = summary.get("quantization")
    if isinstance(q, dict) and q.get("weights"):
        worst = max(q["weights"].items(), key=lambda kv: kv[1].get("rel_error", 0.0))
        sat = sum(int(w.get("saturated", 0)) for w in q["weights"].values())
        lines.append(f"  quantisation: worst block {worst[0]} rel. weight error {worst[1].get('rel_error', 0):.3g}, "
                     f"{sat} saturated weights")
    v = summary.get("verification")
    if v:
        lines.append(f"  check on {v['batch']} sequences ({v['backend']} backend): max abs error "
                     f"{v['max_abs_error']:.3g}, {v['agreement_kind']} agreement {100 * v['agreement']:.2f}%, "
                     f"{v['events_per_inference']:.1f} events/inference")
    return "\n".join(lines)
