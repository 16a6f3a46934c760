"""Reading untrusted files: paths, declared sizes, JSON schemas, tensor checksums (used by every file reader).

Model files (:func:`spikernn.load`), dense checkpoints (:func:`spikernn.converters.files.load_model`) and
network files (:meth:`spikernn.hardware.network.Network.load`) are safetensors files with JSON metadata. A file
may come from anyone, so the readers check it in this order, failing with one line that names the file and
the field, before anything the file declares is allocated:

1. the path (:func:`check_path`): exists, is a regular file (not a directory), is readable;
2. the safetensors header (:func:`open_safetensors`, read by safetensors itself, which checks that the
   declared tensors lie inside the file): number of tensors, elements per tensor and total bytes against
   :class:`FileLimits`;
3. the JSON metadata (:func:`parse_json`, :func:`check_schema`): types, enums, required keys; format
   versions (a newer one is refused naming both versions);
4. sizes the JSON declares (layers, widths, population sizes) against :class:`FileLimits`, and a model's
   parameters built on the ``meta`` device (no memory) against the file's tensors (names and shapes), so that
   a 4 KB file declaring ``hidden_size: 30000`` is refused without allocating its 14 GB;
5. after reading the tensors: their checksum (:func:`tensor_digest`, SHA-256 over names, dtypes, shapes and
   bytes, stored as ``"spikernn_sha256"`` in the metadata; a mismatch raises :class:`CorruptFileError`) and
   NaN/inf in floating-point tensors (refused). Files written before checksums existed (no
   ``"spikernn_sha256"``) are read unchecked - the checksum guards against corruption (bit flips, truncated
   copies), not against someone who rewrites the file on purpose.

The limits are generous for the models this library trains (64 layers, widths up to 65,536, 2 GiB of
tensors); pass ``limits=FileLimits.unlimited()`` (or a larger :class:`FileLimits`) to read a bigger model on
purpose. Nothing here unpickles. The schemas are small and their errors must be one line naming the field in
the project's words, so they are checked by the few lines of :func:`check_schema` rather than a JSON-Schema
library (which would add four packages, one of them compiled).

>>> check_schema({"size": "3"}, {"type": "object", "required": {"size": {"type": "int"}}}, "net.safetensors")
Traceback (most recent call last):
...
spikernn.filecheck.FileFormatError: net.safetensors: size must be an integer, got '3' (str)
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import stat
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

__all__ = ["FileLimits", "DEFAULT_LIMITS", "FileFormatError", "FileTooLargeError", "CorruptFileError",
           "check_path", "open_safetensors", "parse_json", "check_schema", "check_sizes", "tensor_digest",
           "verify_tensors", "check_declared_module", "CHECKSUM_KEY", "VERSION_KEY"]

CHECKSUM_KEY = "spikernn_sha256"   # metadata key of the tensors' checksum
VERSION_KEY = "spikernn_version"   # metadata key of the library version that wrote the file


class FileFormatError(ValueError):
    """A file's content is not what its reader accepts (wrong type, missing key, bad value, newer format)."""


class FileTooLargeError(FileFormatError):
    """A file declares more than :class:`FileLimits` allow (pass larger limits to read it on purpose)."""


class CorruptFileError(FileFormatError):
    """A file's tensors do not match the checksum it carries: the file is corrupted."""


@dataclass(frozen=True)
class FileLimits:
    """What an untrusted file may declare before it is refused (:class:`FileTooLargeError`).

    Attributes:
        max_layers: stacked recurrent layers (``num_layers``).
        max_width: any size or count a file declares (input/hidden size, classes, a population's neurons).
        max_tensors: tensors in one file.
        max_tensor_elements: elements of one tensor (declared by the file or by its model's configuration).
        max_total_bytes: bytes of all tensors together (the file's, and those its configuration declares).
    """

    max_layers: int = 64
    max_width: int = 65_536
    max_tensors: int = 4_096
    max_tensor_elements: int = 2 ** 28
    max_total_bytes: int = 2 * 2 ** 30

    @classmethod
    def unlimited(cls) -> "FileLimits":
        """No limits: for a huge model read on purpose."""
        big = 2 ** 62
        return cls(big, big, big, big, big)


DEFAULT_LIMITS = FileLimits()
_OVERRIDE = "pass limits=spikernn.filecheck.FileLimits(...) (or FileLimits.unlimited()) to read it on purpose"


def check_path(path: Any, what: str) -> Path:
    """``path`` as a Path if it names a readable regular file; else a one-line error (TypeError for a value
    that is not a path, FileNotFoundError, IsADirectoryError, PermissionError, FileFormatError)."""
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"the {what} path must be a str or os.PathLike, got {type(path).__name__}")
    p = Path(path)
    if str(path) == "":
        raise FileNotFoundError(f"no {what}: the path is empty")
    try:
        st = p.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"no {what} at {p}") from None
    except (OSError, ValueError) as e:  # a name too long, a NUL byte, a loop of links ...
        raise FileNotFoundError(f"no {what} at {p} ({type(e).__name__}: {e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{p} is a directory, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise FileFormatError(f"{p} is not a regular file (a device, pipe or socket), not a {what}")
    if not os.access(p, os.R_OK):
        raise PermissionError(f"{p}: no permission to read the {what}")
    return p


@contextmanager
def open_safetensors(path: Path, what: str, limits: FileLimits | None = None,
                     framework: str = "pt") -> Iterator[tuple[Any, dict[str, str], dict[str, tuple[str, tuple]]]]:
    """Open a safetensors file (header only: nothing is read but its JSON) and check its tensors against
    ``limits``. Yields ``(handle, metadata, {name: (dtype, shape)})``; ``handle.get_tensor`` reads one.

    Raises FileFormatError for a file that is not safetensors (never unpickled), FileTooLargeError past the
    limits."""
    from safetensors import SafetensorError, safe_open

    limits = limits or DEFAULT_LIMITS
    try:
        handle = safe_open(str(path), framework=framework)
    except (SafetensorError, OSError, ValueError) as e:
        raise FileFormatError(f"{path} is not a {what}: not a safetensors file ({one_line_text(e)}); spikernn "
                              "never unpickles files: write it with spikernn's save functions") from None
    with handle as f:
        try:
            meta = f.metadata() or {}
            names = list(f.keys())
            if len(names) > limits.max_tensors:
                raise FileTooLargeError(f"{path}: {len(names)} tensors exceed the limit of {limits.max_tensors}; "
                                        f"{_OVERRIDE}")
            infos = {}
            for name in names:
                sl = f.get_slice(name)
                infos[name] = (str(sl.get_dtype()), tuple(int(d) for d in sl.get_shape()))
        except SafetensorError as e:
            raise FileFormatError(f"{path} is not a {what}: unreadable safetensors header ({one_line_text(e)})") from None
        total = 0
        for name, (dtype, shape) in infos.items():
            n = math.prod(shape)
            if n > limits.max_tensor_elements:
                raise FileTooLargeError(f"{path}: tensor {name!r} has {n:,} elements, over the limit of "
                                        f"{limits.max_tensor_elements:,}; {_OVERRIDE}")
            total += n * _ITEMSIZE.get(dtype, 8)
        if total > limits.max_total_bytes:
            raise FileTooLargeError(f"{path}: its tensors hold {total:,} bytes, over the limit of "
                                    f"{limits.max_total_bytes:,}; {_OVERRIDE}")
        yield f, {str(k): str(v) for k, v in meta.items()}, infos


_ITEMSIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
             "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def one_line_text(e: BaseException) -> str:
    """An exception's message on one line (the lines joined with "; ")."""
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    return "; ".join(lines).replace(":;", ":") if lines else type(e).__name__


def parse_json(raw: Any, where: str, field: str) -> Any:
    """``json.loads(raw)`` with a one-line FileFormatError naming ``field`` (invalid JSON, nesting too deep)."""
    if not isinstance(raw, str):
        raise FileFormatError(f"{where}: {field} must be a JSON string, got {type(raw).__name__}")
    try:
        return json.loads(raw)
    except RecursionError:
        raise FileFormatError(f"{where}: {field} is nested too deeply to be a spikernn header") from None
    except ValueError as e:  # JSONDecodeError, and ints with too many digits
        raise FileFormatError(f"{where}: {field} is not valid JSON ({one_line_text(e)})") from None


_TYPE_NAMES = {"object": "an object", "array": "a list", "str": "a string", "int": "an integer",
               "number": "a number", "bool": "a boolean (true or false)"}


def _is_type(value: Any, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    raise ValueError(f"unknown schema type {kind!r}")


def _show(value: Any) -> str:
    text = repr(value)
    return (text[:60] + "...") if len(text) > 63 else text


def check_schema(value: Any, schema: dict, where: str, field: str = "") -> None:
    """Raise FileFormatError naming ``field`` (a dotted path) unless ``value`` fits ``schema``.

    A schema is a dict: ``type`` ("object", "array", "str", "int", "number", "bool", "any"; a tuple allows
    several), ``enum`` (allowed values), ``min``/``max`` (numbers), ``max_items`` and ``items`` (arrays),
    ``required``/``optional`` (objects: key -> schema) and ``extra`` (objects: whether other keys are allowed,
    default True)."""
    kinds = schema.get("type", "any")
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    name = field or "the header"
    if not any(_is_type(value, k) for k in kinds):
        want = " or ".join(_TYPE_NAMES.get(k, k) for k in kinds)
        raise FileFormatError(f"{where}: {name} must be {want}, got {_show(value)} ({type(value).__name__})")
    if "enum" in schema and value not in schema["enum"]:
        raise FileFormatError(f"{where}: {name} must be one of {list(schema['enum'])}, got {_show(value)}")
    if "min" in schema and _is_type(value, "number") and value < schema["min"]:
        raise FileFormatError(f"{where}: {name} must be >= {schema['min']}, got {_show(value)}")
    if "max" in schema and _is_type(value, "number") and value > schema["max"]:
        raise FileTooLargeError(f"{where}: {name} = {_show(value)} exceeds the limit of {schema['max']:,}; "
                                f"{_OVERRIDE}")
    if isinstance(value, list):
        if "max_items" in schema and len(value) > schema["max_items"]:
            raise FileTooLargeError(f"{where}: {name} has {len(value):,} entries, over the limit of "
                                    f"{schema['max_items']:,}; {_OVERRIDE}")
        if "items" in schema:
            for i, item in enumerate(value):
                check_schema(item, schema["items"], where, f"{field}[{i}]")
    if isinstance(value, dict):
        req, opt = schema.get("required", {}), schema.get("optional", {})
        for key in req:
            if key not in value:
                raise FileFormatError(f"{where}: {name} has no {key!r} (a required key)")
        if not schema.get("extra", True):
            unknown = sorted(str(k) for k in value if k not in req and k not in opt)
            if unknown:
                raise FileFormatError(f"{where}: {name} has unknown key(s) {unknown}; known: {sorted({**req, **opt})}")
        for key, sub in {**req, **opt}.items():
            if key in value:
                check_schema(value[key], sub, where, f"{field}.{key}" if field else key)


_WIDTH_NAMES = ("input_size", "hidden_size", "output_size", "num_classes", "in_features", "out_features",
                "size", "features")


def check_sizes(args: dict, where: str, field: str, limits: FileLimits | None = None) -> None:
    """Refuse sizes a configuration declares past ``limits`` (``num_layers``; widths such as ``hidden_size``),
    and sizes that are not positive integers, before anything is built from them."""
    limits = limits or DEFAULT_LIMITS
    for key, value in args.items():
        if key == "num_layers" or key in _WIDTH_NAMES or key.endswith("_size"):
            cap = limits.max_layers if key == "num_layers" else limits.max_width
            check_schema(value, {"type": "int", "min": 0 if key == "proj_size" else 1, "max": cap}, where,
                         f"{field}.{key}")


def tensor_digest(tensors: dict[str, Any]) -> str:
    """SHA-256 (hex) over the tensors' names, dtypes, shapes and bytes, in name order. Takes torch tensors or
    numpy arrays (a file's tensors are hashed in the framework they were written from)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name]
        dtype, shape, data = _tensor_bytes(t)
        h.update(json.dumps([name, dtype, list(shape)]).encode())
        h.update(data)
    return h.hexdigest()


def _tensor_bytes(t: Any) -> tuple[str, tuple, bytes | memoryview]:
    try:
        import torch

        if isinstance(t, torch.Tensor):
            t = t.detach().cpu().contiguous()
            data = t.reshape(-1).view(torch.uint8).numpy() if t.numel() else b""
            return str(t.dtype).removeprefix("torch."), tuple(t.shape), memoryview(data).cast("B") if t.numel() else data
    except ImportError:  # pragma: no cover - torch is a dependency
        pass
    import numpy as np

    a = np.ascontiguousarray(t)
    return a.dtype.name, tuple(a.shape), a.reshape(-1).view(np.uint8).data if a.size else b""


def verify_tensors(tensors: dict[str, Any], meta: dict[str, str], where: str, finite: bool = True) -> None:
    """Check loaded tensors: the checksum in ``meta`` (when the file has one; :class:`CorruptFileError` on a
    mismatch) and, with ``finite``, no NaN/inf in floating-point tensors."""
    expected = meta.get(CHECKSUM_KEY)
    if expected is not None:
        got = tensor_digest(tensors)
        if got != expected:
            raise CorruptFileError(f"{where}: the file is corrupted: its tensors do not match the checksum it "
                                   f"carries (sha256 {got[:12]}... != {str(expected)[:12]}...)")
    if finite:
        for name in sorted(tensors):
            bad = _nonfinite(tensors[name])
            if bad:
                raise FileFormatError(f"{where}: tensor {name!r} contains {bad} NaN/inf value(s): refused (a "
                                      "diverged or corrupted model)")


def _nonfinite(t: Any) -> int:
    import numpy as np

    try:
        import torch

        if isinstance(t, torch.Tensor):
            return int((~torch.isfinite(t)).sum()) if t.is_floating_point() else 0
    except ImportError:  # pragma: no cover
        pass
    a = np.asarray(t)
    return int((~np.isfinite(a)).sum()) if np.issubdtype(a.dtype, np.floating) else 0


def check_declared_module(build: Callable[[], Any], infos: dict[str, tuple[str, tuple]], where: str,
                          limits: FileLimits | None = None) -> None:
    """Build the model a file declares on the ``meta`` device (no memory), then refuse it unless its
    state_dict has exactly the file's tensor names and shapes and fits ``limits`` - so that a small file
    declaring a huge model is refused before anything is allocated."""
    import torch

    limits = limits or DEFAULT_LIMITS
    with torch.device("meta"):
        module = build()
    sd = module.state_dict()
    declared = {k: tuple(v.shape) for k, v in sd.items()}
    total = sum(v.numel() * v.element_size() for v in sd.values())
    if total > limits.max_total_bytes:
        raise FileTooLargeError(f"{where}: its configuration declares {total:,} bytes of parameters, over the "
                                f"limit of {limits.max_total_bytes:,}; {_OVERRIDE}")
    missing = sorted(set(declared) - set(infos))
    unexpected = sorted(set(infos) - set(declared))
    if missing or unexpected:
        parts = ([f"missing tensor(s) {_few(missing)}"] if missing else []) + \
                ([f"unexpected tensor(s) {_few(unexpected)}"] if unexpected else [])
        raise FileFormatError(f"{where}: the tensors do not match the configuration: " + "; ".join(parts))
    for k in sorted(declared):
        if declared[k] != infos[k][1]:
            raise FileFormatError(f"{where}: tensor {k!r} has shape {list(infos[k][1])} but the configuration "
                                  f"declares {list(declared[k])}")


def _few(names: Iterable[str]) -> str:
    names = list(names)
    return str(names[:4])[:-1] + (f", ... ({len(names)} in all)]" if len(names) > 4 else "]")
