"""The one place that makes Lava (lava-nc 0.10.0) importable on Python 3.11.

Every module of spikernn that needs Lava calls :func:`ensure_lava` (or imports this module) *before* its
first ``import lava...``; nothing else in the project imports Lava first, and ``import spikernn`` never
imports this module, so Lava stays optional and import stays fast.

Two things stop Lava 0.10.0 from importing on Python 3.11, and both are fixed here at import time without
editing site-packages:

1. ``lava/magma/compiler/var_model.py`` declares dataclass fields ``x: ByteEncoder = ByteEncoder()``.
   Python 3.11 rejects unhashable (mutable) dataclass defaults. A meta-path finder loads that one module
   from its own source with those defaults rewritten to ``dataclasses.field(default_factory=ByteEncoder)``
   - the same objects, built fresh per instance, which is what the authors meant.
2. ``lava/magma/runtime/message_infrastructure/multiprocessing.py`` calls
   ``multiprocessing.set_start_method('fork')`` at import, which raises if a start method was already
   chosen (by torch, a test runner, the user). If 'fork' is already the method the call is made a no-op;
   if another method was chosen we raise a clear error instead of Lava's bare RuntimeError.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import multiprocessing
import re
import sys
from types import ModuleType

_VAR_MODEL = "lava.magma.compiler.var_model"
_MUTABLE_DEFAULT = re.compile(r"^(\s+\w+: ByteEncoder) = ByteEncoder\(\)\s*$", re.MULTILINE)


class _PatchedSourceLoader(importlib.machinery.SourceFileLoader):
    """Loads ``var_model.py`` with its mutable dataclass defaults turned into default factories."""

    def get_data(self, path: str) -> bytes:  # noqa: D401 - loader protocol
        if path.endswith(".pyc"):
            raise OSError("spikernn: no bytecode cache for the patched Lava module")
        source = super().get_data(path).decode("utf-8")
        patched = _MUTABLE_DEFAULT.sub(
            r'\1 = __import__("dataclasses").field(default_factory=ByteEncoder)', source
        )
        if patched == source:
            raise ImportError(f"spikernn: {path} no longer has the expected ByteEncoder defaults")
        return patched.encode("utf-8")

    def path_stats(self, path: str):  # never reuse a stale cache of the unpatched module
        raise OSError


class _LavaVarModelFinder(importlib.abc.MetaPathFinder):
    """Meta-path finder that only intercepts ``lava.magma.compiler.var_model``."""

    def find_spec(self, fullname, path, target=None):
        if fullname != _VAR_MODEL:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None and spec.origin and spec.origin.endswith(".py"):
                spec.loader = _PatchedSourceLoader(fullname, spec.origin)
                return spec
        return None


def _install_finder() -> None:
    if not any(isinstance(f, _LavaVarModelFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _LavaVarModelFinder())


def _guard_start_method() -> None:
    """Let Lava's ``set_start_method('fork')`` succeed when 'fork' is (or can be) the method."""
    current = multiprocessing.get_start_method(allow_none=True)
    if current is None or getattr(multiprocessing.set_start_method, "_spikernn_guard", False):
        return
    if current != "fork":
        raise RuntimeError(
            f"Lava needs the multiprocessing start method 'fork', but {current!r} was already set in this "
            "process. Import spikernn.hardware's Lava backend before setting a start method, or use 'fork'."
        )
    original = multiprocessing.set_start_method

    def set_start_method(method: str, force: bool = False) -> None:
        if method == multiprocessing.get_start_method(allow_none=True) and not force:
            return
        original(method, force=force)

    set_start_method._spikernn_guard = True  # type: ignore[attr-defined]
    multiprocessing.set_start_method = set_start_method


INSTALL_HINT = ("pip install 'spikernn[lava]' && pip install --no-deps --ignore-requires-python lava-nc==0.10.0"
                " (or `make install` in a checkout)")


class LavaNotInstalled(ImportError):
    """lava-nc is not installed: the Lava backend is the optional ``lava`` extra."""


def lava_installed() -> bool:
    """Whether lava-nc is installed, without importing it."""
    return importlib.util.find_spec("lava") is not None


def ensure_lava() -> ModuleType:
    """Make ``import lava`` work on this interpreter and return the ``lava`` package.

    Raises :class:`LavaNotInstalled` (an ImportError) saying how to install it when lava-nc is not installed.
    """
    if not lava_installed():
        raise LavaNotInstalled(f"the Lava backend needs lava-nc, which is not installed: {INSTALL_HINT}. "
                               "Everything else (training, conversion, backend='fast', placement, energy) works without it.")
    _install_finder()
    _guard_start_method()
    import lava
    import lava.magma.compiler.var_model  # noqa: F401  (patched on first import)
    import lava.magma.runtime.message_infrastructure.multiprocessing  # noqa: F401  (sets 'fork')

    return lava


def lava_version() -> str | None:
    """Installed lava-nc version, or None, without importing Lava."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lava-nc")
    except PackageNotFoundError:
        return None


if lava_installed():  # importing this module patches Lava; without Lava, ensure_lava() says how to install it
    ensure_lava()
