"""NeuroBench's metrics, computed by spikernn (NeuroBench 2.3.0 definitions; NeuroBench need not be installed).

Definitions as read in ``neurobench/metrics`` of NeuroBench 2.3.0 (Yik et al., Nature Communications
16:1545, 2025), applied to the view of :mod:`spikernn.neurobench` (spikernn layers as ``ih``/``hh``
synapses plus spikes, whole torch RNNs as their cells, valid time steps only):

* **footprint**: bytes of all parameters and buffers (each tensor once), before the batch runs (snntorch
  neurons' state buffers grow with the batch: NeuroBench also measures before running);
* **connection sparsity**: zero weights / weights over the connection layers' leaves: ``nn.Linear`` and
  ``nn.Conv*`` count ``weight`` only; ``nn.RNNBase``/``nn.RNNCellBase`` count ``weight_ih``, ``weight_hh``
  and, with ``bias``, ``bias_ih``/``bias_hh`` (NeuroBench rounds to 4 decimals; the figure here is exact);
* **activation sparsity**: 1 - nonzero outputs / outputs of the activation layers, over every call;
* **synaptic operations** per sample: each connection call re-run with binarised inputs and weights and
  zero biases, summed; **effective ACs** when the call's input holds only -1, 0, 1 (spikes), **effective MACs**
  otherwise; **dense**: inputs and weights all ones. Cells follow NeuroBench's cell rules, which also count
  the gate products (``f*c + i*g``, ``o*tanh(c)``; GRU's ``r*n`` and the output mix).

What NeuroBench cannot count itself: spikernn layers (not NeuroBench layer types: it reports 0 for them
unless run through :func:`spikernn.neurobench.wrap`) and whole ``nn.LSTM``/``nn.GRU``/``nn.RNN`` layers
(NeuroBench 2.3.0 raises); here they get the figures NeuroBench gives the equivalent cells.

:func:`network_metrics` gives the same metrics for a converted hardware network from its simulated
activity (``ActivityStats``): synapse blocks are the connection layers, events the activations.

>>> m = neurobench_metrics(model, x)                 # doctest: +SKIP
>>> m.activation_sparsity, m.effective_acs            # doctest: +SKIP
(0.84, 21712.5)
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

import numpy as np


@dataclass
class NeuroBenchMetrics:
    """NeuroBench 2.3.0's static and workload metrics of one model on one batch (per sample where it says).

    Attributes:
        footprint_bytes: bytes of parameters + buffers. connection_sparsity: zero / all weights (exact).
        activation_sparsity: 1 - nonzero / all activation outputs (None when the model has no activation layer).
        effective_macs, effective_acs, dense: synaptic operations per sample.
        samples: samples the per-sample figures are over. per_layer: name -> {"effective", "dense", "spiking"}
            per sample. notes: what was counted how (e.g. whole LSTMs through their cells).
    """

    footprint_bytes: int
    connection_sparsity: float | None
    activation_sparsity: float | None
    effective_macs: float
    effective_acs: float
    dense: float
    samples: int
    per_layer: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_neurobench(self) -> dict[str, Any]:
        """The figures keyed as NeuroBench's ``Benchmark.run()`` returns them (sparsity rounded as it does)."""
        return {"footprint": self.footprint_bytes,
                "connection_sparsity": None if self.connection_sparsity is None else round(self.connection_sparsity, 4),
                "activation_sparsity": self.activation_sparsity,
                "synaptic_operations": {"Effective_MACs": self.effective_macs, "Effective_ACs": self.effective_acs,
                                        "Dense": self.dense}}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- NeuroBench's counting rules ---------------------------------------------------------------------------
def _binary(t: Any, ones: bool = False) -> Any:
    t = t.detach().clone()
    t[t != 0] = 1
    if ones:
        t[t == 0] = 1
    return t


def _is_spiking(x: Any) -> bool:
    return bool(((x == 0) | (x == 1) | (x == -1)).all())


def _binary_args(args: Any, total: bool) -> tuple[Any, bool, bool]:
    """(binarised inputs, spiking, in_states) as NeuroBench's ``binary_inputs``: a tuple is (input, states...);
    with ``total`` the input becomes all ones while nested state tuples are only binarised (as NeuroBench)."""
    if isinstance(args, tuple):
        spiking = _is_spiking(args[0])

        def cyc(tup: tuple, ones: bool) -> tuple:
            return tuple(cyc(t, False) if isinstance(t, tuple) else _binary(t, ones) for t in tup if t is not None)

        return cyc(args, total), spiking, True
    return _binary(args, total), _is_spiking(args), False


def linear_ops(layer: Any, x: Any, total: bool = False) -> int:
    """Synaptic ops of one call of an ``nn.Linear`` (or ``nn.Conv*``) on ``x``: binarised input x binarised
    weight, bias zeroed, summed (``total``: all ones)."""
    import torch
    from torch import nn

    if isinstance(layer, nn.Linear):
        xs = x.reshape(-1, x.shape[-1])
        if total:
            return int(xs.shape[0] * layer.weight.numel())
        return int((xs != 0).to(torch.float64).sum(0) @ (layer.weight != 0).to(torch.float64).sum(0))
    lb = copy.deepcopy(layer)
    with torch.no_grad():
        lb.weight.data = _binary(lb.weight.data, total)
        if lb.bias is not None:
            lb.bias.data = torch.zeros_like(lb.bias.data)
        return int(lb(_binary(x, total)).sum())


def cell_ops(cell: Any, args: tuple, total: bool = False) -> tuple[int, bool]:
    """(synaptic ops, spiking) of one call of an ``nn.RNNCell``/``LSTMCell``/``GRUCell`` by NeuroBench's cell
    rules (``recurrent_cell_macs``), ``args`` as the cell was called: ``(x, h)`` or ``(x, (h, c))``. A cell
    called without its state (``(x,)``) is counted as called with the zero state torch uses (NeuroBench
    2.3.0 itself fails on such a batched call)."""
    import torch
    from torch import nn

    if len(args) == 1 or args[1] is None:
        x = args[0]
        z = torch.zeros(*x.shape[:-1], cell.hidden_size, dtype=x.dtype, device=x.device)
        args = (x, (z, z)) if isinstance(cell, nn.LSTMCell) else (x, z)
    inputs, spiking, in_states = _binary_args(args, total)
    w_ih, w_hh = _binary(cell.weight_ih.data, total), _binary(cell.weight_hh.data, total)
    x0 = inputs[0]
    out_ih = w_ih @ x0.transpose(0, -1)
    out_hh = torch.zeros_like(out_ih)
    biases: Any = 0
    b_ih: Any = 0
    b_hh: Any = 0
    if cell.bias:
        b_ih = _binary(cell.bias_ih.data, total).unsqueeze(0).transpose(0, -1)
        b_hh = _binary(cell.bias_hh.data, total).unsqueeze(0).transpose(0, -1)
        biases = b_ih + b_hh
    if isinstance(cell, nn.LSTMCell):
        if in_states:
            out_hh = w_hh @ inputs[1][0].transpose(0, -1)
        out = out_ih + out_hh
        ops = out.sum()
        out = out + biases
        out[out != 0] = 1
        ifgo = out.reshape(4, out.shape[0] // 4, -1)
        c1 = (ifgo[1] * inputs[1][1].transpose(0, -1) + ifgo[0] * ifgo[2]) if in_states else ifgo[0] * ifgo[2]
        ops = ops + c1.sum()
        c1[c1 != 0] = 1
        o = ifgo[3] * c1
        o[o != 0] = 1
        return int(o.sum() + ops), spiking
    if isinstance(cell, nn.GRUCell):
        if not cell.bias:  # NeuroBench 2.3.0 fails here (it reshapes the integer 0): zero biases instead
            b_ih = b_hh = torch.zeros(out_ih.shape[0], 1, dtype=out_ih.dtype, device=out_ih.device)
        if in_states:
            out_hh = w_hh @ inputs[1].transpose(0, -1)
        rzn = out_ih + out_hh
        ops = rzn.sum()
        rzn = rzn + biases
        h3 = rzn.shape[0] // 3
        rzn = rzn.reshape(3, h3, -1)
        ohh = out_hh.reshape(3, h3, -1)
        bhh = b_hh.reshape(3, h3, -1)
        n_hh = ohh[2] + bhh[2]
        r, z = rzn[0], rzn[1]
        r[r != 0] = 1
        n_hh[n_hh != 0] = 1
        rn = r * n_hh
        rn[rn != 0] = 1
        ops = ops + rn.sum()
        n = ohh[2] + b_ih[2] + rn  # NeuroBench 2.3.0 uses out_hh and bias_ih[2] here, kept as it is
        n[n != 0] = 1
        za = 1 - z
        z[z != 0] = 1
        za[za != 0] = 1
        t1, t2 = za * n, z * inputs[1].transpose(0, -1)
        t1[t1 != 0] = 1
        t2[t2 != 0] = 1
        return int(ops + (t1 + t2).sum()), spiking
    if in_states:
        out_hh = w_hh @ inputs[1].transpose(0, -1)
    return int((out_ih + out_hh).sum()), spiking


def connection_sparsity(view: Any) -> float | None:
    """Zero weights / weights over the leaves of ``view`` (NeuroBench's ``ConnectionSparsity``, unrounded);
    None when there is no connection layer."""
    from torch import nn

    from spikernn.neurobench import STATELESS

    zeros = count = 0

    def visit(m: Any) -> None:
        nonlocal zeros, count
        kids = list(m.children())
        if kids:
            for k in kids:
                visit(k)
            return
        if isinstance(m, STATELESS):
            zeros += int((m.weight == 0).sum())
            count += m.weight.numel()
        elif isinstance(m, (nn.RNNBase, nn.RNNCellBase)):
            names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if m.bias else [])
            if isinstance(m, nn.RNNBase):
                names = [f"{n}_l{k}{s}" for k in range(m.num_layers) for s in ([""] + (["_reverse"] if m.bidirectional else []))
                         for n in names]
            for n in names:
                t = getattr(m, n)
                zeros += int((t == 0).sum())
                count += t.numel()

    for child in view.children():
        visit(child)
    return zeros / count if count else None


def footprint(module: Any) -> int:
    """Bytes of the parameters and buffers of ``module`` (each tensor once), as NeuroBench's ``Footprint``."""
    return int(sum(p.numel() * p.element_size() for p in module.parameters())
               + sum(b.numel() * b.element_size() for b in module.buffers()))


# -- the function -------------------------------------------------------------------------------------------
def neurobench_metrics(model: Any, x: Any, *, lengths: Any = None, samples: Optional[int] = None,
                       forward: Optional[Callable[..., Any]] = None, batch_size: Optional[int] = None) -> NeuroBenchMetrics:
    """NeuroBench 2.3.0's footprint, connection sparsity, activation sparsity and synaptic operations of
    ``model`` on ``x`` (see the module docstring), for spikernn's layers, torch RNN layers and cells,
    Linear/Conv layers and snntorch/ReLU/Sigmoid activations.

    Args:
        model: a torch module. x: the inputs. lengths: optional (B,) valid lengths (padding excluded).
        samples: samples in ``x`` (default: the batch dimension: ``x.shape[0]`` for batch-first models and
            anything 2-D, ``x.shape[1]`` for time-first spikernn/torch recurrent layers).
        forward: ``forward(model, x, lengths) -> output`` (default: ``model(x, lengths)`` or ``model(x)``),
            e.g. a loop over time steps for an snntorch network.
        batch_size: run ``x`` in batches of this size (batch-first inputs) as a NeuroBench data loader would:
            synaptic operations add up either way, but NeuroBench's activation sparsity over a data set is the
            batch-size-weighted mean of each batch's sparsity, not the pooled ratio (None: one batch, pooled).
    """
    from spikernn.neurobench import NeuroBenchView, trace
    from spikernn.protocol import batch_first_of

    view = NeuroBenchView(model)
    static = footprint(view), connection_sparsity(view)  # before running: state buffers grow with the batch
    bf = batch_first_of(model)
    if samples is None:
        samples = int(x.shape[1]) if (x.dim() == 3 and bf is False) else int(x.shape[0])
    if batch_size:
        chunks = [(x[i:i + batch_size], None if lengths is None else lengths[i:i + batch_size])
                  for i in range(0, int(x.shape[0]), int(batch_size))]
    else:
        chunks = [(x, lengths)]
    mac = ac = dense = 0
    per: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    sparsities: list[tuple[float, int]] = []
    for xb, lb in chunks:
        tr = trace(model, xb, lengths=lb, view=view, forward=forward)
        notes += tr.notes
        for c in tr.connections:
            eff, spk, tot = _call_ops(c)
            if spk:
                ac += eff
            else:
                mac += eff
            dense += tot
            d = per.setdefault(c.name, {"effective": 0.0, "dense": 0.0, "spiking": spk})
            d["effective"] += eff / samples
            d["dense"] += tot / samples
            d["spiking"] = d["spiking"] and spk
        nz = sum(int((a.output != 0).sum()) for a in tr.activations)
        n = sum(a.output.numel() for a in tr.activations)
        if n:
            sparsities.append(((n - nz) / n, int(xb.shape[0])))
    notes = list(dict.fromkeys(notes))
    if not sparsities:
        notes.append("no activation layer (ReLU, Sigmoid, spiking) in the model: activation sparsity undefined "
                     "(NeuroBench reports 0.0)")
    act = sum(v * w for v, w in sparsities) / sum(w for _, w in sparsities) if sparsities else None
    return NeuroBenchMetrics(footprint_bytes=static[0], connection_sparsity=static[1], activation_sparsity=act,
                             effective_macs=mac / samples, effective_acs=ac / samples, dense=dense / samples,
                             samples=samples, per_layer=per, notes=notes)


def _call_ops(c: Any) -> tuple[int, bool, int]:
    """(effective ops, spiking, dense ops) of one recorded connection call."""
    from torch import nn

    if isinstance(c.module, nn.RNNCellBase):
        eff, spk = cell_ops(c.module, c.args, False)
        return eff, spk, cell_ops(c.module, c.args, True)[0]
    xin = c.args[0]
    return linear_ops(c.module, xin), _is_spiking(xin), linear_ops(c.module, xin, True)


def network_metrics(network: Any, stats: Any) -> NeuroBenchMetrics:
    """NeuroBench's metrics of a converted hardware network from its simulated activity.

    Connection layers are the synapse blocks: effective ops = ``stats.synaptic_ops`` (each event x the
    nonzero weights it drives: NeuroBench's binarised count), ACs when the source sends binary spikes
    (``message_bits`` 1), MACs when it sends graded values; dense = every weight at every valid step.
    Activations are the events of every spiking/sigma-delta population (not the input, not a readout) over
    its neuron updates. Footprint: weights at
    their stored width (fixed point: 1 byte, the 8-bit mantissa; float: 4 bytes) plus the neuron parameters
    at 4 bytes each. Per sample = per inference (``stats.batch``).
    """
    b = max(int(stats.batch), 1)
    sizes = {p.name: int(p.size) for p in network.populations}
    kinds = {p.name: p.kind for p in network.populations}
    wbytes = 1 if getattr(network, "precision", "float") == "fixed" else 4
    fp = sum(int(np.asarray(blk.weights).size) * wbytes for blk in network.synapses)
    fp += sum(int(np.asarray(v).size) * 4 for p in network.populations for v in p.params.values())
    zeros = sum(int((np.asarray(blk.weights) == 0).sum()) for blk in network.synapses)
    count = sum(int(np.asarray(blk.weights).size) for blk in network.synapses)
    mac = ac = dense = 0.0
    per: dict[str, dict[str, Any]] = {}
    for blk in network.synapses:
        eff = float(np.asarray(stats.synaptic_ops.get(blk.name, [0])).sum()) / b
        bits = int(stats.message_bits.get(blk.source, 1 if kinds.get(blk.source) != "input" else 24))
        spiking = bits <= 1
        tgt = blk.target
        steps = stats.neuron_updates.get(tgt, 0) / max(sizes.get(tgt, 1), 1) / b if tgt in stats.neuron_updates \
            else float(stats.steps)
        tot = float(np.asarray(blk.weights).size) * steps
        if spiking:
            ac += eff
        else:
            mac += eff
        dense += tot
        per[blk.name] = {"effective": eff, "dense": tot, "spiking": spiking}
    # activations: populations that send events (a readout integrates and sends nothing: not an activation,
    # as the torch view does not count a readout either)
    pops = [p for p in stats.neuron_updates if kinds.get(p) not in ("input", "readout")]
    ev = sum(float(np.asarray(stats.events.get(p, [0])).sum()) for p in pops)
    upd = sum(float(stats.neuron_updates[p]) for p in pops)
    return NeuroBenchMetrics(footprint_bytes=int(fp), connection_sparsity=zeros / count if count else None,
                             activation_sparsity=(upd - ev) / upd if upd else None, effective_macs=mac,
                             effective_acs=ac, dense=dense, samples=b, per_layer=per,
                             notes=["converted network: synapse blocks as connection layers, events as activations"])
