"""Save and load models safely: one safetensors file holding the tensors, with the JSON config in its metadata.

Never pickle. A registry maps class names to classes; ``load`` of an unknown class raises a clear error.
Files are untrusted: every reader checks them as :mod:`spikernn.filecheck` describes (paths, declared sizes,
JSON schema, format version, checksum, NaN/inf). Format ``spikernn/1``; files also record the library version
(``spikernn_version``) and a checksum of their tensors (``spikernn_sha256``); older files without them load
unchecked.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Union

from torch import nn

from spikernn.filecheck import (CHECKSUM_KEY, VERSION_KEY, FileFormatError, FileLimits, check_declared_module,
                                check_path, check_schema, check_sizes, one_line_text, open_safetensors, parse_json,
                                tensor_digest, verify_tensors)

FORMAT_VERSION = 1
FORMAT = f"spikernn/{FORMAT_VERSION}"
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
    metadata, the library version and a checksum of the tensors (:mod:`spikernn.filecheck`). ``extra`` is any
    JSON-able dict (e.g. training history). Returns the path."""
    from safetensors.torch import save_file

    import spikernn

    cfg = getattr(model, "config", None)
    if not isinstance(cfg, dict) or "class" not in cfg:
        raise TypeError(f"{type(model).__name__} has no config property; cannot save it with spikernn.save")
    if cfg["class"] not in _registry():
        raise TypeError(f"class {cfg['class']!r} is not registered; use spikernn.io.register first")
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    meta = {"format": FORMAT, "config": json.dumps(cfg), "extra": json.dumps(extra or {}),
            VERSION_KEY: spikernn.__version__, CHECKSUM_KEY: tensor_digest(tensors)}
    path = Path(path)
    save_file(tensors, str(path), metadata=meta)
    return path


WHAT = "spikernn model file"
_CONFIG_SCHEMA = {"type": "object", "required": {"class": {"type": "str"}},
                  "optional": {"args": {"type": "object"}}}


def _format_version(meta: dict[str, str], path: Path) -> int:
    """The model-format version of a file's ``format`` ("spikernn/N"); newer than this library reads: refused."""
    fmt = meta.get("format")
    if fmt is None or "config" not in meta:
        raise FileFormatError(f"{path} is not a {WHAT} (format {fmt!r}{'' if 'config' in meta else ', no config'})")
    head, _, num = fmt.partition("/")
    if head != "spikernn" or not num.isdigit():
        raise FileFormatError(f"{path} is not a {WHAT}: format {fmt!r} (expected 'spikernn/<integer>')")
    version = int(num)
    if version > FORMAT_VERSION:
        by = meta.get(VERSION_KEY, "an unknown version")
        raise FileFormatError(f"{path} was written by a newer spikernn ({by}, format {fmt!r}); this spikernn "
                              f"reads up to {FORMAT!r}: upgrade spikernn to read it")
    if version < 1:
        raise FileFormatError(f"{path}: format {fmt!r} is not a version this spikernn knows")
    return version


def read_metadata(path: Union[str, Path], limits: FileLimits | None = None) -> dict[str, Any]:
    """The saved ``config``, ``extra``, ``version`` (the spikernn that wrote it, or None) and ``checksum``
    (None for files written before checksums) of a file, without building the model or reading its tensors.

    Raises ValueError (:class:`~spikernn.filecheck.FileFormatError`) for a file that is not safetensors (e.g. a
    pickled ``torch.save`` checkpoint, which is never read) or not a valid spikernn model file, and
    FileNotFoundError / IsADirectoryError for a bad path."""
    return _read_header(check_path(path, WHAT), limits)[0]


def _read_header(path: Path, limits: FileLimits | None) -> tuple[dict[str, Any], dict]:
    with open_safetensors(path, WHAT, limits) as (_, meta, infos):
        pass
    _format_version(meta, path)
    cfg = parse_json(meta["config"], str(path), "config")
    check_schema(cfg, _CONFIG_SCHEMA, str(path), "config")
    extra = parse_json(meta.get("extra", "{}"), str(path), "extra")
    check_schema(extra, {"type": "object"}, str(path), "extra")
    return {"config": cfg, "extra": extra, "version": meta.get(VERSION_KEY),
            "checksum": meta.get(CHECKSUM_KEY)}, {"meta": meta, "infos": infos}


def load(path: Union[str, Path], *, limits: FileLimits | None = None, **overrides: Any) -> nn.Module:
    """Rebuild the model saved at ``path`` and load its tensors. ``overrides`` replace constructor arguments
    (e.g. ``surrogate=<callable>`` for a model saved with a custom surrogate).

    The file is untrusted (:mod:`spikernn.filecheck`): its sizes are checked against ``limits`` (default
    :data:`~spikernn.filecheck.DEFAULT_LIMITS`; ``FileLimits.unlimited()`` for a huge model read on purpose)
    and the model it declares is built on the ``meta`` device and compared with its tensors before anything
    is allocated; its checksum (when it has one) and NaN/inf in its tensors are checked after reading.

    Raises:
        FileNotFoundError, IsADirectoryError: a bad path.
        ValueError: anything wrong with the file, one line naming the field (FileFormatError; its subclasses
            FileTooLargeError past the limits and CorruptFileError for a checksum mismatch).

    >>> import tempfile, spikernn as snr
    >>> p = snr.save(snr.SpikingGRU(3, 4), tempfile.mkdtemp() + "/g.safetensors")
    >>> type(snr.load(p)).__name__
    'SpikingGRU'
    """
    from safetensors.torch import load_file

    path = check_path(path, WHAT)
    info, raw = _read_header(path, limits)
    cfg = info["config"]
    name = cfg["class"]
    reg = _registry()
    if name not in reg:
        raise FileFormatError(f"unknown model class {name!r} in {path}; registered: {sorted(reg)}")
    args = dict(cfg.get("args", {}))
    if args.get("neuron") == "adlif" and "adapt_gain" not in args:
        args["adapt_gain"] = 1.0  # saved before the gain q existed: a and b then acted unscaled
    args.update(overrides)
    where = str(path)
    check_sizes(cfg.get("args", {}), where, "config.args", limits)

    def build() -> nn.Module:
        try:
            return reg[name](**args)
        except (TypeError, ValueError) as e:
            raise FileFormatError(f"{where}: config.args rejected by {name}: {one_line_text(e)}") from None

    check_declared_module(build, raw["infos"], where, limits)
    model = build()
    tensors = load_file(str(path))
    verify_tensors(tensors, raw["meta"], where)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as e:
        raise FileFormatError(f"{where}: {one_line_text(e)}") from None
    return model
