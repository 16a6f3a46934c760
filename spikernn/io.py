"""Save and load models safely: one safetensors file holding the tensors, with the JSON config in its metadata.

Never pickle. A registry maps class names to classes; ``load`` of an unknown class raises a clear error.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Union

from torch import nn

FORMAT = "spikernn/1"
_REGISTRY: dict[str, Callable[..., nn.Module]] = {}
_BUILTINS_REGISTERED = False


def register(cls: type) -> type:
    """Register a model class (must have a ``config`` property ``{"class", "args"}``) for :func:`load`."""
    _REGISTRY[cls.__name__] = cls
    return cls


def _registry() -> dict[str, Callable[..., nn.Module]]:
    """The registry, with spikernn's own classes added on first use (also after a user's ``register``)."""
    global _BUILTINS_REGISTERED
    if not _BUILTINS_REGISTERED:
        from spikernn import cells, layers, models, readout

        for cls in (layers.SpikingRNN, layers.SpikingLSTM, layers.SpikingGRU, cells.SpikingRNNCell,
                    cells.SpikingLSTMCell, cells.SpikingGRUCell, models.SpikingSequenceClassifier,
                    models.DenseSequenceClassifier, readout.LeakyReadout):
            _REGISTRY.setdefault(cls.__name__, cls)
        _BUILTINS_REGISTERED = True
    return _REGISTRY


def save(model: nn.Module, path: Union[str, Path], extra: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to ``path`` (.safetensors): its state_dict plus ``{"format", "config", "extra"}`` as JSON
    metadata. ``extra`` is any JSON-able dict (e.g. training history). Returns the path."""
    from safetensors.torch import save_file

    cfg = getattr(model, "config", None)
    if not isinstance(cfg, dict) or "class" not in cfg:
        raise TypeError(f"{type(model).__name__} has no config property; cannot save it with spikernn.save")
    if cfg["class"] not in _registry():
        raise TypeError(f"class {cfg['class']!r} is not registered; use spikernn.io.register first")
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "config": json.dumps(cfg), "extra": json.dumps(extra or {})}
    path = Path(path)
    save_file(tensors, str(path), metadata=meta)
    return path


def read_metadata(path: Union[str, Path]) -> dict[str, Any]:
    """The saved ``config`` and ``extra`` of a file, without building the model.

    Raises ValueError for a file that is not safetensors (e.g. a pickled ``torch.save`` checkpoint, which is
    never read) or not a spikernn model file."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except SafetensorError as e:
        raise ValueError(f"{path} is not a safetensors file ({e}); spikernn never unpickles checkpoints: "
                         "save the model with spikernn.save") from e
    if meta.get("format") != FORMAT or "config" not in meta:
        raise ValueError(f"{path} is not a spikernn model file (format {meta.get('format')!r}"
                         f"{'' if 'config' in meta else ', no config'})")
    try:
        return {"config": json.loads(meta["config"]), "extra": json.loads(meta.get("extra", "{}"))}
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: corrupt spikernn metadata ({e})") from e


def load(path: Union[str, Path], **overrides: Any) -> nn.Module:
    """Rebuild the model saved at ``path`` and load its tensors. ``overrides`` replace constructor arguments
    (e.g. ``surrogate=<callable>`` for a model saved with a custom surrogate)."""
    from safetensors.torch import load_file

    meta = read_metadata(path)
    cfg = meta["config"]
    name = cfg.get("class")
    reg = _registry()
    if name not in reg:
        raise ValueError(f"unknown model class {name!r} in {path}; registered: {sorted(reg)}")
    args = dict(cfg.get("args", {}))
    if args.get("neuron") == "adlif" and "adapt_gain" not in args:
        args["adapt_gain"] = 1.0  # saved before the gain q existed: a and b then acted unscaled
    model = reg[name](**{**args, **overrides})
    model.load_state_dict(load_file(str(path)))
    return model
