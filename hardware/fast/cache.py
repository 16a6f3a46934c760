"""What the fast backend keeps of a network between runs: its compiled plan (:func:`~spikernn.hardware.fast.plan.
compile_network`) and, for batch-1 runs, packed compiled streams (:class:`~spikernn.hardware.compiled.engine.
CompiledStream`), so that running the same network again skips compiling and packing it (about two thirds of a
batch-1 run of 200 steps of the issue-4 network: benchmarks/results/round6/fast_vs_lava_t18lava.md).

Never stale: an entry is used only while the network's **content** is bit for bit what it was compiled from.
Every run recomputes the network's :func:`signature` - precision, input and output names, each population's
type, name, kind (and the registered kind object), size, stage, direction, parameters and settings, each synapse
block's names, port, exponent and weights - and compares it with the entry's. Arrays enter it as their type,
dtype, shape and bytes (``tobytes``: -0.0 and 0.0 differ, any memory layout), so a weight changed in place,
through a view, a torch tensor sharing its memory or another array put in its place, a changed parameter or
setting, a new precision: each misses and recompiles (checking the network again). Measured on the issue-4
network (2 x 128 LIF, 53,504 weights, 428 kB): the signature and its comparison cost ~20-40 us against ~0.9 ms
of compiling and packing (read-only flags or pointers would be cheaper but miss writes through another view or a
tensor; a hash costs more than the comparison). A value the signature cannot freeze exactly (an object array, an
unknown object) makes the network uncached: compiled on every run, as before. The entries live beside the
network (keyed by ``id``, dropped when it is garbage-collected), not in it: copying or pickling a network copies
no cache. Module flags the packed layout depends on (:data:`~spikernn.hardware.compiled.layout.PAIR_FORM`) are part
of a stream's key.

A stream is taken out of the pool for a run and put back after it (reset first), so concurrent runs of one
network in several threads each get their own. ``with caching(False): ...`` turns the cache off (every run
compiles, as without it: benchmarks' cold figures); :func:`clear` empties it.
"""
from __future__ import annotations

import contextlib
import threading
import weakref
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from spikernn.hardware.fast.plan import Plan, compile_network
from spikernn.hardware.kinds import KINDS
from spikernn.hardware.network import Network

MAX_IDLE_STREAMS = 4  # idle batch-1 streams kept per network (one per thread running it at once)
_STATE = threading.local()  # .off: caching turned off in this thread (caching(False))
_ENTRIES: dict[int, "_Entry"] = {}


class _Uncacheable(Exception):
    """A value :func:`signature` cannot freeze exactly."""


@dataclass
class _Entry:
    ref: weakref.ref
    sig: tuple
    plan: Plan
    streams: dict[tuple, list] = field(default_factory=dict)  # stream key -> idle streams
    unsupported: dict[tuple, Exception] = field(default_factory=dict)  # stream key -> why it cannot stream


def _freeze(v: Any) -> Any:
    """A hashable, exact image of ``v``: arrays (and anything numpy converts, tensors included) as type, dtype,
    shape and bytes; scalars with their type (floats by ``repr``, so -0.0 != 0.0); containers item by item."""
    t = type(v)
    if t is np.ndarray:
        if v.dtype.hasobject:
            raise _Uncacheable("object array")
        return (v.dtype, v.shape, v.tobytes())
    if t is str:
        return v
    if t is int or t is bool or v is None:
        return (t, v)
    if t is float:
        return (t, repr(v))
    if t is dict:
        return (t, tuple((k if type(k) is str else _freeze(k), _freeze(x)) for k, x in v.items()))
    if t is list or t is tuple:
        return (t, tuple(_freeze(x) for x in v))
    a = np.asarray(v)
    if a.dtype.hasobject:
        raise _Uncacheable(t.__name__)
    return (t, a.dtype, a.shape, a.tobytes())


def _pop_sig(p: Any) -> tuple:
    return (type(p), _freeze(p.name), _freeze(p.kind), _freeze(p.size), _freeze(p.stage), _freeze(p.reverse),
            id(KINDS.get(p.kind)) if type(p.kind) is str else None, _freeze(p.params), _freeze(p.attrs))


def _syn_sig(s: Any) -> tuple:
    return (type(s), _freeze(s.name), _freeze(s.source), _freeze(s.target), _freeze(s.port), _freeze(s.weight_exp),
            _freeze(s.weights))


def signature(net: Network) -> tuple | None:
    """Everything :func:`compile_network` and the packed streams read from ``net``, frozen exactly
    (:func:`_freeze`); None when some value cannot be frozen (the network is then not cached)."""
    try:
        return (type(net), _freeze(net.precision), _freeze(net.input), _freeze(net.outputs),
                tuple(map(_pop_sig, net.populations)), tuple(map(_syn_sig, net.synapses)))
    except Exception:  # noqa: BLE001 - _Uncacheable, or a value numpy cannot convert: not cached (compiling
        return None  # then says what is wrong with it)


def enabled() -> bool:
    """Whether runs in this thread use the cache (:func:`caching`)."""
    return not getattr(_STATE, "off", False)


@contextlib.contextmanager
def caching(on: bool = True) -> Iterator[None]:
    """Turn the cache on or off in this thread for the ``with`` block (off: every run compiles and packs)."""
    before = getattr(_STATE, "off", False)
    _STATE.off = not on
    try:
        yield
    finally:
        _STATE.off = before


def clear() -> None:
    """Forget every cached plan and stream."""
    _ENTRIES.clear()


def _drop(key: int, ref: weakref.ref) -> None:
    e = _ENTRIES.get(key)
    if e is not None and e.ref is ref:
        del _ENTRIES[key]


def _entry(net: Network) -> tuple[Plan, _Entry | None]:
    """``net``'s plan and its valid cache entry (compiled now when missing or stale; None: not cached)."""
    sig = signature(net) if enabled() else None
    if sig is None:
        return compile_network(net), None
    key = id(net)
    e = _ENTRIES.get(key)
    if e is not None and e.ref() is net and e.sig == sig:
        return e.plan, e
    plan = compile_network(net)  # checks the network; raises for what is wrong with it
    if signature(net) != sig:  # changed while compiling (another thread): use this plan once, keep nothing
        return plan, None
    try:
        ref = weakref.ref(net, lambda r, k=key: _drop(k, r))
    except TypeError:  # not weak-referenceable: not cached
        return plan, None
    e = _ENTRIES[key] = _Entry(ref=ref, sig=sig, plan=plan)
    return plan, e


def cached_plan(net: Network) -> Plan:
    """``compile_network(net)``, reused while ``net`` is unchanged (module docstring). Treat it as read-only (it
    is shared by the runs of ``net``; :func:`compile_network` gives a plan of one's own)."""
    return _entry(net)[0]


def _stream_key(batch: int) -> tuple:
    from spikernn.hardware.compiled import layout

    return (batch, layout.PAIR_FORM)


def take_stream(net: Network, batch: int = 1):
    """A :class:`~spikernn.hardware.compiled.engine.CompiledStream` of ``net`` in the zero state: an idle one of
    the pool (while ``net`` is unchanged) or a new one; give it back with :func:`give_stream` after using it.
    Raises :class:`~spikernn.hardware.compiled.engine.Unsupported` as ``CompiledStream`` does."""
    from spikernn.hardware.compiled.engine import CompiledStream

    plan, e = _entry(net)
    if e is None:
        return CompiledStream(net, batch, plan=plan)
    key = _stream_key(batch)
    bad = e.unsupported.get(key)
    if bad is not None:
        raise bad
    idle = e.streams.get(key)
    while idle:
        try:
            s = idle.pop()
        except IndexError:  # another thread took the last one
            break
        s.net = net
        s._cache = (e, key)
        return s
    try:
        s = CompiledStream(net, batch, plan=e.plan)
    except Exception as exc:
        from spikernn.hardware.compiled.engine import Unsupported

        if isinstance(exc, Unsupported):
            e.unsupported[key] = exc
        raise
    s._cache = (e, key)
    return s


def give_stream(s) -> None:
    """Put a stream from :func:`take_stream` back (reset; kept while its network is unchanged). A stream whose run
    failed is not given back."""
    where = getattr(s, "_cache", None)
    if where is None:
        return
    e, key = where
    s._cache = None
    if _ENTRIES.get(id(s.net)) is not e:  # the network changed or went: the stream is stale
        return
    idle = e.streams.setdefault(key, [])
    if len(idle) < MAX_IDLE_STREAMS:
        s.reset()
        s.net = None  # the pool must not keep the network alive
        idle.append(s)
