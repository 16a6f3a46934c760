"""NIR (Neuromorphic Intermediate Representation, ``nir`` >= 1.0) export and import of spiking recurrent
networks, so that models move between spikernn, snntorch, Norse and Lava.

What maps
---------
A spikernn ``lif`` population (SpikingRNN layers, the spiking part of a converted network) is a NIR
``LIF`` node; its synapse blocks are ``Affine`` (carrying the neuron bias) / ``Linear`` nodes; a recurrent
block is an edge ``lif -> w_rec -> lif`` (snntorch's ``RLeaky`` export has exactly this form). A
``readout`` population is an ``Affine -> LI`` pair. ``Input``/``Output`` nodes are the network's ends.
Spiking LSTM/GRU neurons, sigma-delta neurons, adaptive thresholds and bidirectional (time-reversed)
populations have no NIR primitive: :func:`to_nir` raises ``ValueError`` naming them. An ``adlif`` population
exports only without its adaptation current (``a = b = 0``: then ``u = α v + (1 - α) d`` is NIR's ``LIF`` with
``r = 1``, and it imports back as a ``lif`` with the gain in its weights); NIR has no neuron with an adaptation
current (``CubaLIF``'s second variable is a synaptic current), so an adLIF with ``a`` or ``b`` != 0 is refused.

Time: NIR's neurons are continuous-time; discrete simulators (snntorch, Norse, Lava-via-NIR) use forward
Euler with a step ``dt``. For ``LIF`` (``tau dv/dt = (v_leak - v) + r I``) one step is

    v_t = (1 - dt/tau) v_{t-1} + (dt/tau) v_leak + (r dt/tau) I_t

so spikernn's ``v_t = β v_{t-1} + d_t`` (docs/equations.md) is ``β = 1 - dt/tau`` with input gain
``r dt/tau`` and a constant drive ``(dt/tau) v_leak``. :func:`to_nir` writes ``tau = dt/(1-β)``,
``r = tau/dt`` (gain 1), ``v_leak = 0`` and puts the bias into the incoming ``Affine`` - the convention of
snntorch's exporter, whose ``dt`` is fixed at ``1e-4``; that is also the default ``dt`` here (Norse's is
``1e-3``: pass ``dt=1e-3`` for Norse graphs). :func:`from_nir` folds any gain into the incoming weights and
biases and ``v_leak`` into the bias, so every such graph maps exactly. ``LI`` maps the same way to a
``readout`` (``y_t = β y_{t-1} + in + bias``). ``CubaLIF`` is accepted when its synaptic current has no
memory (``tau_syn == dt``, snntorch ``Synaptic(alpha=0)``); a decaying synaptic current needs a neuron kind
that ``spikernn.hardware`` does not have, and is refused with a ``ValueError``. ``IF`` maps to ``β = 1`` with
gain ``r`` (snntorch's reading).

Reset and spikes: NIR's ``LIF`` spikes when ``v > v_threshold`` and then sets ``v = v_reset``; spikernn's
``reset="zero"`` with ``v_reset = 0`` is exactly that (a nonzero ``v_reset`` is refused). NIR has no
subtractive reset: :func:`to_nir` exports ``reset="subtract"`` / ``"none"`` layers with
``metadata["spikernn_reset"]`` (which :func:`from_nir` honours) and warns that other tools will read them as
reset-to-zero.

Reset convention of the import: :func:`from_nir` reads NIR's ``LIF`` as NIR defines it - a neuron whose
``v`` exceeds ``v_threshold`` is set to ``v_reset`` (0) in the same step, no subtraction, no delay
(``RESET_CONVENTION``). A graph from another tool carries no word on how its source reset (snntorch writes
neither ``reset_mechanism`` nor ``reset_delay`` into NIR), so :func:`from_nir` warns (:class:`NIRResetWarning`,
naming those parameters) unless told with ``source_reset="zero"`` or ``"subtract"``.

snntorch equivalence: an snntorch ``RLeaky``/``Leaky`` equals the imported network spike for spike when it
was built with ``reset_mechanism="zero"`` and ``reset_delay=False`` (the neuron snntorch's own
``import_from_nir`` builds): then its membrane after a spike is 0 and the next step is
``β·0 + W x + V s + b``, as here. snntorch's default ``reset_delay=True`` applies a step's reset one step
later (``reset="zero"`` then also zeroes the next input; ``"subtract"`` subtracts the threshold after the
decay instead of before), and its ``reset_mechanism`` is not written into NIR at all, so other settings
cannot be reproduced from the graph. Recurrent edges (``lif -> w_rec -> lif``) deliver the previous step's
spikes; feed-forward edges deliver the same step's (snntorch's and spikernn's convention).

Exporting to snntorch (``to_nir(model, compat="snntorch")``). snntorch 1.0's ``import_from_nir`` runs two
things differently from NIR (upstream, in ``snntorch/import_nir.py``), which :func:`to_nir` works around:

* it has no ``LI`` node ("Unknown node type LI"): the readout is exported as a ``LIF`` that never fires
  (``v_threshold = inf``, ``metadata["spikernn_readout"]``), which snntorch builds as a ``Leaky`` whose
  membrane ``.mem`` is the readout ``y_t = beta y_{t-1} + W s_t + b`` (its spike output stays 0);
* its recurrent-layer rewrite (``_create_rnn_subgraph``) wires the sub-graph's input into the recurrent
  weights, so a ``lif -> w_rec -> lif`` pair runs as ``LIF(W_rec (x_t + s_{t-1}))`` instead of
  ``LIF(x_t + W_rec s_{t-1})``: a bare ``SpikingRNN`` exported with the plain NIR form differs in about 1
  of 9 spikes there, and snntorch's own ``RLeaky`` export/import round trip shows the same. The compatible
  form adds an identity ``Linear`` after ``w_rec`` (``lif -> w_rec -> w_rec.identity -> lif``, the same
  dynamics in NIR), which the rewrite does not match; nirtorch then runs the cycle with the previous
  step's output, and the spikes are identical.

``IF`` (decay 1) is refused with ``compat="snntorch"``: snntorch's importer builds it as ``Leaky(beta=0.9)``.

Exporting to Norse (``to_nir(model, dt=1e-3, compat="norse")``, then ``norse.torch.from_nir(graph, dt=1e-3)``):
Norse 1.1 reads ``LIF`` with the input gain ``dt/tau`` and ignores ``r`` (it logs "r is expected to be set
to 1"), so the default export (``r = tau/dt``, snntorch's form) reaches Norse's neurons scaled by
``1 - beta``; and its ``from_nir`` has no ``LI`` mapping (the readout node is left out). The compatible form
sets ``r = 1``, multiplies the incoming weights and biases by ``tau/dt``, and writes the readout as the
never-firing ``LIF`` (its membrane is Norse's state ``state.state[<readout>][0].v``): identical spikes and
readout values (tested). Norse 1.1's own ``to_nir`` writes ``tau = dt * tau_mem``-style values
(``dt / tau_mem_inv``) and scalar parameters, so graphs exported *by* Norse do not import correctly here
(not supported).
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from spikernn.hardware.kinds import DEFAULT_RESET
from spikernn.hardware.network import Network, Population, SynapseBlock

DEFAULT_DT = 1e-4  # snntorch's export/import constant
RESET_CONVENTION = ("NIR's reset: a neuron whose v exceeds v_threshold is set to v_reset (0) in the same step "
                    "(no subtraction, no delay)")
SOURCE_RESETS = ("zero", "subtract")
COMPAT = (None, "snntorch", "norse")


class NIRResetWarning(UserWarning):
    """A NIR graph from another tool was imported with NIR's reset convention, which its source may not use."""


def _nir():
    try:
        import nir
    except ImportError as e:  # pragma: no cover - nir is a dependency
        raise ImportError("NIR support needs the 'nir' package (pip install nir)") from e
    return nir


# ---------------------------------------------------------------------------------------------- export
def to_nir(model: Any, dt: float = DEFAULT_DT, *, compat: str | None = None) -> Any:
    """Export a spiking recurrent network to a ``nir.NIRGraph``.

    ``model``: a spikernn ``SpikingRNN`` / ``SpikingSequenceClassifier`` over a ``SpikingRNN`` (converted
    with :func:`spikernn.converters.to_lava` first) or a float :class:`Network` of ``input``, ``lif`` and
    ``readout`` populations. Unidirectional only; no adaptive thresholds. Node names are the population
    names; synapse blocks are named after the blocks (``"l0->l0"`` ...).

    ``compat="snntorch"``: a graph that snntorch's ``import_from_nir`` runs with the same dynamics (the
    readout as a never-firing ``LIF`` whose ``.mem`` is the readout, recurrent blocks followed by an
    identity ``Linear``; see the module docstring). ``compat="norse"``: ``r = 1`` with the input gain
    ``tau/dt`` in the incoming weights and biases (Norse's ``from_nir`` ignores ``r``; the same dynamics in
    NIR) and the readout as the never-firing ``LIF``; pass Norse the same ``dt``. spikernn's
    :func:`from_nir` reads every form.

    >>> from spikernn.layers import SpikingRNN
    >>> g = to_nir(SpikingRNN(2, 3, neuron="lif", reset="zero"))
    >>> sorted(type(n).__name__ for n in g.nodes.values())
    ['Affine', 'Input', 'LIF', 'Linear', 'Output']
    """
    nir = _nir()
    if compat not in COMPAT:
        raise ValueError(f"compat must be one of {COMPAT}, got {compat!r}")
    if isinstance(model, Network):
        net = model
    else:
        from spikernn.converters.api import to_lava

        net = to_lava(model, "float")
    if net.precision != "float":
        raise ValueError("to_nir exports float networks; convert with precision='float'")
    if dt <= 0:
        raise ValueError(f"dt must be > 0, got {dt}")
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    bias_done: set[str] = set()
    gain: dict[str, np.ndarray] = {}  # compat="norse": r = 1, the input gain tau/dt moved into the weights

    def r_of(name: str, tau: np.ndarray, drive_gain: Any = 1.0) -> np.ndarray:
        """NIR's r for a per-step input gain ``drive_gain`` (1 for lif and readout, 1 - alpha for adlif)."""
        if compat == "norse":
            gain[name] = drive_gain * tau / dt
            return np.ones_like(tau)
        return drive_gain * tau / dt
    for p in net.populations:
        if p.reverse:
            raise ValueError(f"population {p.name!r} runs time-reversed (bidirectional layer): NIR has no such node")
        if p.kind == "input":
            nodes[p.name] = nir.Input(input_type={"input": np.array([p.size])})
        elif p.kind in ("lif", "adlif"):
            values, settings = p.spec.resolve(p.params, p.attrs, "float", p.size, where=p.where())
            if p.kind == "adlif":  # u = alpha v + (1 - alpha)(d - w): without w, NIR's LIF with r = 1
                if np.any(values["a"] != 0) or np.any(values["b"] != 0):
                    raise ValueError(f"population {p.name!r} is an adLIF neuron with an adaptation current (a or b "
                                     "!= 0): NIR has no neuron with one (CubaLIF's second variable is a synaptic "
                                     "current); only a = b = 0 exports, as a LIF")
                decay, drive_gain = values["alpha"], 1.0 - values["alpha"]
            else:
                decay, drive_gain = values["decay"], np.ones(p.size)
            if np.any(values.get("adapt_scale", 0.0) != 0):
                raise ValueError(f"population {p.name!r} has an adaptive threshold (adapt_scale != 0): NIR's LIF has none")
            reset = settings["reset"]
            vth = values["threshold"].copy()
            if np.all(decay == 1.0):
                if compat == "snntorch":
                    raise ValueError(f"population {p.name!r} has decay 1 (NIR IF), which snntorch's import_from_nir "
                                     "builds as Leaky(beta=0.9): no snntorch-compatible export")
                node = nir.IF(r=drive_gain, v_threshold=vth, v_reset=np.zeros(p.size))
            elif np.any(decay >= 1.0):
                raise ValueError(f"population {p.name!r}: decay 1 mixed with decay < 1 cannot be one NIR node")
            else:
                tau = dt / (1.0 - decay)
                node = nir.LIF(tau=tau, r=r_of(p.name, tau, drive_gain), v_leak=np.zeros(p.size), v_threshold=vth,
                               v_reset=np.zeros(p.size))
            if reset != "zero":
                node.metadata["spikernn_reset"] = reset
                warnings.warn(f"population {p.name!r} uses reset={reset!r}; NIR's LIF resets to v_reset, so tools "
                              "other than spikernn will run it with a reset to zero", stacklevel=2)
            nodes[p.name] = node
        elif p.kind == "readout":
            decay = np.asarray(p.params["decay"], np.float64)
            if np.any(decay >= 1.0):
                raise ValueError(f"readout {p.name!r} with decay 1 has no finite NIR time constant")
            tau = dt / (1.0 - decay)
            if compat in ("snntorch", "norse"):  # a LIF that never fires: its membrane is the readout
                node = nir.LIF(tau=tau, r=r_of(p.name, tau), v_leak=np.zeros(p.size),
                               v_threshold=np.full(p.size, np.inf), v_reset=np.zeros(p.size))
                node.metadata["spikernn_readout"] = True
                nodes[p.name] = node
            else:
                nodes[p.name] = nir.LI(tau=tau, r=r_of(p.name, tau), v_leak=np.zeros(p.size))
        else:
            raise ValueError(f"population {p.name!r} is a {p.kind!r} neuron: NIR has LIF/IF/CubaLIF/LI but no "
                             "spiking LSTM/GRU or sigma-delta neurons; only SpikingRNN (lif) networks export")
    for s in net.synapses:
        if s.port != "in":
            raise ValueError(f"synapse block {s.name!r} targets port {s.port!r}: only 'in' exports to NIR")
        tgt = net.population(s.target)
        k = gain.get(s.target, np.ones(tgt.size))
        W = np.asarray(s.weights, np.float64) * (2.0 ** s.weight_exp) * k[:, None]
        bias = None
        # the neuron bias rides on the first non-recurrent incoming block (snntorch puts it on its Linear)
        if s.target not in bias_done and s.source != s.target and "bias" in tgt.params:
            bias = np.asarray(tgt.params["bias"], np.float64) * k
            bias_done.add(s.target)
        nodes[s.name] = nir.Affine(weight=W, bias=bias) if bias is not None else nir.Linear(weight=W)
        if compat == "snntorch" and s.source == s.target:  # see the module docstring: not a 2-node cycle
            nodes[s.name + ".identity"] = nir.Linear(weight=np.eye(tgt.size))
            edges += [(s.source, s.name), (s.name, s.name + ".identity"), (s.name + ".identity", s.target)]
        else:
            edges += [(s.source, s.name), (s.name, s.target)]
    for p in net.populations:  # a bias with no feed-forward block: put it on the recurrent one
        if p.kind in ("lif", "adlif", "readout") and p.name not in bias_done and np.any(np.asarray(p.params.get("bias", 0))):
            blk = next((s for s in net.synapses if s.target == p.name), None)
            if blk is None:
                raise ValueError(f"population {p.name!r} has a bias but no incoming synapses")
            bias = np.asarray(p.params["bias"], np.float64) * gain.get(p.name, np.ones(p.size))
            nodes[blk.name] = nir.Affine(weight=nodes[blk.name].weight, bias=bias)
    nodes["output"] = nir.Output(output_type={"output": np.array([net.output_size])})
    if len(net.outputs) != 1:
        raise ValueError(f"NIR export needs exactly one output population, got {net.outputs}")
    edges.append((net.outputs[0], "output"))
    meta = {k: v for k, v in net.meta.items() if isinstance(v, (str, int, float, bool))}
    meta["model_source"] = meta.pop("source", "")
    meta.update({"dt": dt, "source": "spikernn"})
    if compat:
        meta["compat"] = compat
    g = nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)
    return g


# ---------------------------------------------------------------------------------------------- import
def _flatten(graph, prefix: str = "") -> tuple[dict, list]:
    """Inline nested NIRGraphs: returns (nodes, edges) with sub-nodes named '<sub>.<node>' and the
    sub-graphs' own Input/Output nodes kept as pass-through nodes."""
    nir = _nir()
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    subs: dict[str, tuple[list[str], list[str]]] = {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            sn, se = _flatten(node, full + ".")
            nodes.update(sn)
            edges += se
            ins = [full + "." + k for k, v in node.nodes.items() if isinstance(v, nir.Input)]
            outs = [full + "." + k for k, v in node.nodes.items() if isinstance(v, nir.Output)]
            subs[full] = (ins, outs)
        else:
            nodes[full] = node
    for a, b in graph.edges:
        a, b = prefix + a, prefix + b
        srcs = subs[a][1] if a in subs else [a]
        dsts = subs[b][0] if b in subs else [b]
        edges += [(s, d) for s in srcs for d in dsts]
    return nodes, edges


def _is_readout_lif(node: Any) -> bool:
    """A never-firing LIF that :func:`to_nir` wrote for a readout (``compat="snntorch"``)."""
    return bool((getattr(node, "metadata", None) or {}).get("spikernn_readout"))


def _as_vec(v: Any, n: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(v, np.float64), (n,)).astype(np.float64).copy()


def _read_nir(path: Any) -> Any:
    """``nir.read`` of an untrusted path: the path checked first (missing, a directory: one line), and a file
    NIR cannot read (not HDF5, not a NIR graph) reported as a ValueError naming it, not h5py's own error."""
    from spikernn.filecheck import FileFormatError, check_path, one_line_text

    p = check_path(path, "NIR file")
    try:
        return _nir().read(str(p))
    except (OSError, KeyError, ValueError, TypeError, AttributeError) as e:
        raise FileFormatError(f"{p} is not a NIR graph file (HDF5, written by nir.write): "
                              f"{type(e).__name__}: {one_line_text(e)}") from None


def from_nir(graph: Any, dt: float | None = None, *, batch_first: bool | None = None, to: str = "network",
             source_reset: str | None = None) -> Any:
    """Build a float :class:`Network` from a ``nir.NIRGraph`` (or a path to a NIR HDF5 file).

    Supported nodes: ``Input``, ``Output``, ``Affine``, ``Linear``, ``Scale``, ``Identity``, ``LIF``, ``IF``,
    ``CubaLIF`` (memoryless synapse only), ``LI`` (as a readout), and nested ``NIRGraph`` (e.g. snntorch's
    ``RLeaky`` subgraphs); recurrence as ``neuron -> Affine/Linear -> neuron`` cycles. ``dt`` defaults to
    ``graph.metadata["dt"]`` or 1e-4 (see the module docstring for the mapping). The result runs with
    ``net.run(x, backend=...)`` on ``(T, B, I)`` input (``(B, T, I)`` with ``batch_first=True``; default: the
    layout recorded by spikernn's :func:`to_nir`, else time-first) and returns the output node's sequence:
    spikes for a neuron output, readout values for an ``LI``/``Affine`` output (a spikernn classifier exported
    by :func:`to_nir` keeps its ``"last_step"`` output).
    Unsupported nodes raise ``ValueError`` naming them.

    ``to="spikernn"`` returns a trainable spikernn model instead (:func:`network_to_spikernn`: a chain of
    equal-size LIF layers -> ``SpikingRNN``, plus a readout -> ``SpikingSequenceClassifier``).

    Reset: spikernn's own graphs keep the reset they were exported with. Any other graph is read with
    NIR's convention (``RESET_CONVENTION``: reset to ``v_reset`` in the step of the spike) and, since its
    source may have reset otherwise without saying so, a :class:`NIRResetWarning` names the parameters
    (snntorch's ``reset_mechanism`` and ``reset_delay``) unless ``source_reset`` says how the source
    reset: ``"zero"`` (NIR's; snntorch ``reset_mechanism="zero", reset_delay=False``) or ``"subtract"``
    (v minus the threshold; snntorch ``reset_mechanism="subtract", reset_delay=False``, exact while no
    membrane exceeds twice the threshold: snntorch then subtracts the threshold once more before the next
    step's firing). snntorch's default ``reset_delay=True`` has no spikernn equivalent: such a model
    differs after its first spike.
    """
    if to not in ("network", "spikernn"):
        raise ValueError(f"to must be 'network' or 'spikernn', got {to!r}")
    if source_reset not in (None,) + SOURCE_RESETS:
        raise ValueError(f"source_reset must be one of {SOURCE_RESETS} (or None), got {source_reset!r}")
    nir = _nir()
    if not isinstance(graph, nir.NIRNode):
        graph = _read_nir(graph)
    if not isinstance(graph, nir.NIRGraph):
        graph = nir.NIRGraph(nodes={"input": nir.Input(graph.input_type), "n": graph,
                                    "output": nir.Output(graph.output_type)},
                             edges=[("input", "n"), ("n", "output")])
    gmeta = dict(getattr(graph, "metadata", None) or {})
    if dt is None:
        dt = float(gmeta.get("dt", DEFAULT_DT) or DEFAULT_DT)
    if batch_first is None:  # spikernn's own exports record the layout; other tools' graphs are time-first
        batch_first = bool(gmeta.get("batch_first", False)) if gmeta.get("source") == "spikernn" else False
    nodes, edges = _flatten(graph)
    own = gmeta.get("source") == "spikernn"
    spiking = [k for k, v in nodes.items() if isinstance(v, (nir.LIF, nir.IF, nir.CubaLIF)) and not _is_readout_lif(v)]
    if spiking and not own and source_reset is None:
        warnings.warn(
            f"from_nir reads {', '.join(spiking[:3])}{' ...' if len(spiking) > 3 else ''} with {RESET_CONVENTION}. "
            "NIR does not record how the source model reset: snntorch's defaults differ (reset_mechanism='subtract', "
            "reset_delay=True) and an snntorch neuron built with anything but reset_mechanism='zero', "
            "reset_delay=False spikes differently here. Pass source_reset='zero' or 'subtract' to say which the "
            "source used.", NIRResetWarning, stacklevel=2)
    default_reset = source_reset or "zero"
    top_in = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    top_out = [k for k, v in graph.nodes.items() if isinstance(v, nir.Output)]
    if len(top_in) != 1 or len(top_out) != 1:
        raise ValueError(f"from_nir needs exactly one Input and one Output node, got inputs {top_in}, outputs {top_out}")
    inp, outp = top_in[0], top_out[0]

    from nir.ir.graph import Identity

    NEURON = (nir.LIF, nir.IF, nir.CubaLIF, nir.LI)
    WEIGHT = (nir.Affine, nir.Linear, nir.Scale)
    for k, v in nodes.items():
        if not isinstance(v, NEURON + WEIGHT + (nir.Input, nir.Output, Identity)):
            raise ValueError(f"NIR node {k!r} of type {type(v).__name__} is not supported by from_nir "
                             "(supported: Input, Output, Affine, Linear, Scale, Identity, LIF, IF, CubaLIF, LI)")
    preds: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in edges:
        if a not in nodes or b not in nodes:
            raise ValueError(f"NIR edge {(a, b)} names an unknown node")
        preds[b].append(a)
    is_src = lambda k: k == inp or isinstance(nodes[k], NEURON)  # noqa: E731

    def size_of(k: str) -> int:
        n = nodes[k]
        if isinstance(n, nir.Input):
            return int(np.prod(list(n.input_type.values())[0]))
        if isinstance(n, nir.LIF) or isinstance(n, nir.LI):
            return int(np.asarray(n.tau).size)
        if isinstance(n, nir.IF):
            return int(np.asarray(n.r).size)
        if isinstance(n, nir.CubaLIF):
            return int(np.asarray(n.tau_mem).size)
        raise AssertionError(k)

    def contributions(k: str, seen: tuple = ()) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """What arrives at the input of node k: a list of (source neuron/input, W, b) with summed affine maps."""
        out: list[tuple[str, np.ndarray, np.ndarray]] = []
        for p in preds[k]:
            if p in seen:
                raise ValueError(f"NIR graph has a cycle without a neuron through {p!r}")
            node = nodes[p]
            if is_src(p):
                n = size_of(p)
                out.append((p, np.eye(n), np.zeros(n)))
            elif isinstance(node, (nir.Affine, nir.Linear)):
                W = np.asarray(node.weight, np.float64)
                if W.ndim != 2:
                    raise ValueError(f"NIR node {p!r}: weight must be 2-D, got shape {W.shape}")
                b = np.asarray(node.bias, np.float64) if isinstance(node, nir.Affine) and node.bias is not None else 0.0
                for src, W0, b0 in contributions(p, seen + (p,)):
                    out.append((src, W @ W0, W @ b0 + b))
                if not preds[p] and np.any(b):
                    raise ValueError(f"NIR node {p!r} has no input")
            elif isinstance(node, nir.Scale):
                sc = np.asarray(node.scale, np.float64)
                for src, W0, b0 in contributions(p, seen + (p,)):
                    out.append((src, sc[:, None] * W0, sc * b0))
            else:  # Identity / nested Input / Output pass-through
                out += contributions(p, seen + (p,))
        return out

    pops: list[Population] = [Population(name=inp, kind="input", size=size_of(inp), attrs={"encoding": "value"})]
    syns: list[SynapseBlock] = []
    order = [k for k in nodes if isinstance(nodes[k], NEURON)]
    # the output: a neuron reached through pass-through nodes, or an affine map -> a decay-0 readout
    out_contrib_nodes = [p for p in preds[outp]]
    readout_from_affine = None
    out_names: list[str] = []
    for p in out_contrib_nodes:
        q = p
        while isinstance(nodes[q], (Identity, nir.Input, nir.Output)) and q != inp and len(preds[q]) == 1:
            q = preds[q][0]
        if isinstance(nodes[q], NEURON) or q == inp:
            out_names.append(q)
        else:
            readout_from_affine = p
    if readout_from_affine is not None:
        if out_names:
            raise ValueError("NIR Output fed by both a neuron and an affine map is not supported")
        out_names = ["readout"]
    neuron_names = set(order)
    for k in order:
        n = nodes[k]
        size = size_of(k)
        attrs: dict[str, Any] = {}
        if isinstance(n, nir.LIF):
            tau = _as_vec(n.tau, size)
            kk = dt / tau
            decay, gain, leak = 1.0 - kk, _as_vec(n.r, size) * kk, kk * _as_vec(n.v_leak, size)
        elif isinstance(n, nir.IF):
            decay, gain, leak = np.ones(size), _as_vec(n.r, size), np.zeros(size)
        elif isinstance(n, nir.CubaLIF):
            ks = dt / _as_vec(n.tau_syn, size)
            if not np.allclose(ks, 1.0, rtol=0, atol=1e-9):
                raise ValueError(f"NIR CubaLIF {k!r} has a decaying synaptic current (tau_syn={np.asarray(n.tau_syn).ravel()[:3]}"
                                 f"..., dt={dt}): spikernn.hardware has no current-based neuron kind; only "
                                 "tau_syn == dt (snntorch Synaptic(alpha=0)) maps to LIF")
            km = dt / _as_vec(n.tau_mem, size)
            decay = 1.0 - km
            gain = _as_vec(n.w_in, size) * ks * _as_vec(n.r, size) * km
            leak = km * _as_vec(n.v_leak, size)
        else:  # LI
            tau = _as_vec(n.tau, size)
            kk = dt / tau
            decay, gain, leak = 1.0 - kk, _as_vec(n.r, size) * kk, kk * _as_vec(n.v_leak, size)
        decay = np.where(np.abs(decay) < 1e-12, 0.0, decay)
        gain = np.where(np.abs(gain - 1.0) < 1e-9, 1.0, gain)
        bias = leak.copy()
        grouped: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for src, W, b in contributions(k):
            if src != inp and src not in neuron_names:
                raise ValueError(f"NIR node {k!r} is fed by {src!r}, which is neither the input nor a neuron")
            W0, b0 = grouped.get(src, (0.0, 0.0))
            grouped[src] = (W0 + W, b0 + b)
        for src, (W, b) in grouped.items():
            if np.shape(W) != (size, size_of(src)):
                raise ValueError(f"NIR: map from {src!r} to {k!r} has shape {np.shape(W)}, expected {(size, size_of(src))}")
            bias = bias + gain * b
            syns.append(SynapseBlock(name=f"{src}->{k}", source=src, target=k, port="in", weights=gain[:, None] * W))
        if isinstance(n, nir.LI) or _is_readout_lif(n):
            if any(not isinstance(nodes[b2], nir.Output) for a, b2 in edges if a == k):
                raise ValueError(f"NIR {type(n).__name__} node {k!r} is a readout but feeds other nodes; a spikernn "
                                 "readout sends no events")
            pops.append(Population(name=k, kind="readout", size=size, params={"bias": bias, "decay": decay}))
        else:
            v_reset = _as_vec(getattr(n, "v_reset", 0.0) if getattr(n, "v_reset", None) is not None else 0.0, size)
            if np.any(v_reset != 0):
                raise ValueError(f"NIR node {k!r} resets to v_reset != 0: spikernn neurons reset to 0 or by subtraction")
            attrs["reset"] = (getattr(n, "metadata", None) or {}).get("spikernn_reset", default_reset) if own else default_reset
            pops.append(Population(name=k, kind="lif", size=size, params={
                "bias": bias, "decay": decay, "threshold": _as_vec(n.v_threshold, size),
                "adapt_decay": np.zeros(size), "adapt_scale": np.zeros(size)}, attrs=attrs))
    if readout_from_affine is not None:
        contrib: dict[str, tuple[Any, Any]] = {}
        for src, W, b in contributions(outp):
            W0, b0 = contrib.get(src, (0.0, 0.0))
            contrib[src] = (W0 + W, b0 + b)
        C = next(iter(contrib.values()))[0].shape[0]
        bias = np.zeros(C)
        for src, (W, b) in contrib.items():
            bias = bias + b
            syns.append(SynapseBlock(name=f"{src}->readout", source=src, target="readout", port="in", weights=W))
        pops.append(Population(name="readout", kind="readout", size=C, params={"bias": bias, "decay": np.zeros(C)}))
    # order populations: input first, then by dependency (feed-forward)
    output = "sequence"
    if gmeta.get("source") == "spikernn" and gmeta.get("output") in ("sequence", "last_step"):
        output = gmeta["output"]  # a spikernn classifier exported with to_nir reads its last valid step
    meta = {"source": "nir", "family": "spiking", "batch_first": bool(batch_first), "output": output,
            "dt": dt, "kind": "rnn", "reset_convention": "as exported by spikernn" if own else default_reset}
    net = Network(populations=pops, synapses=syns, input=inp, outputs=out_names, precision="float", meta=meta)
    return network_to_spikernn(net) if to == "spikernn" else net


# ---------------------------------------------------------------------------------------------- to spikernn
def network_to_spikernn(net: Network) -> Any:
    """A trainable spikernn model with the same dynamics as a float ``net`` of ``lif`` layers in a chain
    (``input -> l0 -> l1 -> ...``, each optionally recurrent, equal sizes) with an optional ``readout`` at the
    end: ``SpikingRNN`` (no readout) or ``SpikingSequenceClassifier("rnn", ...)``. Raises ValueError for
    other shapes (keep using the Network then). Weights: ``weight_ih`` = feed-forward block, ``weight_hh`` =
    recurrent block (zeros if none), ``bias_ih`` = neuron bias, ``bias_hh`` = 0; decay/threshold per neuron."""
    import torch

    from spikernn.layers import SpikingRNN
    from spikernn.models import SpikingSequenceClassifier

    if net.precision != "float":
        raise ValueError("only float networks map to spikernn models")
    pops = {p.name: p for p in net.populations}
    chain, cur = [], net.input
    readout = None
    while True:
        nxt = [s for s in net.synapses if s.source == cur and s.target != cur]
        if not nxt:
            break
        if len(nxt) != 1:
            raise ValueError(f"population {cur!r} feeds {len(nxt)} populations: not a layer chain")
        tgt = pops[nxt[0].target]
        if len([s for s in net.incoming(tgt.name) if s.source != tgt.name]) != 1:
            raise ValueError(f"population {tgt.name!r} has several feed-forward inputs: not a layer chain")
        if tgt.kind == "readout":
            readout = (tgt, nxt[0])
            break
        if tgt.kind != "lif":
            raise ValueError(f"population {tgt.name!r} is {tgt.kind!r}: only lif layers map to SpikingRNN")
        chain.append((tgt, nxt[0]))
        cur = tgt.name
    if not chain:
        raise ValueError("no lif layer reachable from the input")
    if len(chain) + (readout is not None) + 1 != len(net.populations):
        raise ValueError("the network has populations outside the input -> layers -> readout chain")
    H = chain[0][0].size
    if any(p.size != H for p, _ in chain):
        raise ValueError(f"layer sizes {[p.size for p, _ in chain]} differ: SpikingRNN layers share one hidden_size")
    resets = {p.attrs.get("reset", DEFAULT_RESET) for p, _ in chain}
    if len(resets) != 1:
        raise ValueError(f"layers use different resets {sorted(resets)}")
    if any(np.any(np.asarray(p.params.get("adapt_scale", 0)) != 0) for p, _ in chain):
        raise ValueError("adaptive thresholds are not mapped back (spikernn's adaptation is one value per model)")
    kw = dict(num_layers=len(chain), neuron="lif", reset=resets.pop(), learn_threshold=True)
    I = pops[net.input].size
    if readout is not None:
        model = SpikingSequenceClassifier("rnn", I, H, readout[0].size, **kw)
        rnn = model.rnn
    else:
        model = rnn = SpikingRNN(I, H, batch_first=bool(net.meta.get("batch_first", False)), **kw)
    with torch.no_grad():
        for k, (p, blk) in enumerate(chain):
            sfx = f"_l{k}"
            getattr(rnn, "weight_ih" + sfx).copy_(torch.as_tensor(blk.weights))
            rec = [s for s in net.incoming(p.name) if s.source == p.name]
            getattr(rnn, "weight_hh" + sfx).copy_(torch.as_tensor(rec[0].weights) if rec else torch.zeros(H, H))
            getattr(rnn, "bias_ih" + sfx).copy_(torch.as_tensor(p.params["bias"]))
            getattr(rnn, "bias_hh" + sfx).zero_()
            getattr(rnn, "decay" + sfx).copy_(torch.as_tensor(p.params["decay"]))
            getattr(rnn, "threshold" + sfx).copy_(torch.as_tensor(p.params["threshold"]))
        if readout is not None:
            ro, blk = readout
            model.readout.weight.copy_(torch.as_tensor(blk.weights))
            model.readout.bias.copy_(torch.as_tensor(ro.params["bias"]))
            model.readout.decay.copy_(torch.as_tensor(ro.params["decay"]))
    return model.eval()
