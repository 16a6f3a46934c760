"""Host reads inside ``forward`` of the spiking layers, counted with ``torch.profiler`` (CPU) and shown on ``meta``.

On a GPU every read of a tensor's value on the host (``.item()``, ``bool()``, ``int()``, ``.tolist()``: the op
``aten::_local_scalar_dense``; a device-to-host copy) makes the host wait for the device. This profiles
forward + backward of each spiking layer (B=32, T=100, I=40, H=128, 2 layers, bidirectional) on the CPU and
counts those ops: with the default finite checks ("cpu": the NaN/inf input check runs on CPU tensors only)
and with them off ("never": what runs on an accelerator). It also runs the same forward + backward on the
``meta`` device, where any host read raises, so finishing there shows the default path has none.

    .venv/bin/python benchmarks/bench_forward_host_sync.py
"""
from __future__ import annotations

import torch
from torch.profiler import ProfilerActivity, profile

import spikernn as snr

# the leaf op of every host read of a value (item/bool/int/tolist: is_nonzero and item call it), and copies
HOST_READS = ("aten::_local_scalar_dense", "aten::_to_copy", "aten::copy_")


def host_reads(m: torch.nn.Module, x: torch.Tensor) -> int:
    """Host reads of values in one forward + backward of ``m`` on CPU tensor ``x`` (``_local_scalar_dense``;
    on CPU no device-to-host copy exists, the ``meta`` run covers those)."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        out, _ = m(x)
        out.sum().backward()
    return sum(e.name == HOST_READS[0] for e in prof.events())


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(100, 32, 40)
    cases = [("SpikingRNN", snr.SpikingRNN, {}), ("SpikingRNN adLIF", snr.SpikingRNN, {"neuron": "adlif"}),
             ("SpikingLSTM", snr.SpikingLSTM, {}), ("SpikingGRU", snr.SpikingGRU, {}),
             ("SpikingLSTM step path", snr.SpikingLSTM, {"fused": False})]
    rows = []
    for name, cls, opts in cases:
        m = cls(40, 128, num_layers=2, bidirectional=True, threshold=0.1, **opts)
        host_reads(m, x)  # warm-up (oneDNN probe, first-call allocations)
        n_cpu = host_reads(m, x)
        old = snr.set_finite_checks("never")
        try:
            n_never = host_reads(m, x)
        finally:
            snr.set_finite_checks(old)
        mm = cls(40, 128, num_layers=2, bidirectional=True, device="meta", **opts)
        xm = torch.empty(100, 32, 40, device="meta")
        try:
            out, _ = mm(xm)
            out.sum().backward()
            meta = "ran"
        except Exception as e:  # noqa: BLE001 - reported
            meta = f"failed: {type(e).__name__}"
        rows.append((name, n_cpu, n_never, meta))
    print(f"host reads (aten::_local_scalar_dense) in forward+backward, B=32 T=100 I=40 H=128, 2 layers "
          f"bidirectional, torch {torch.__version__}")
    print(f"  {'layer':<24}{'finite checks cpu':>20}{'finite checks never':>22}{'meta device':>14}")
    for name, n_cpu, n_never, meta in rows:
        print(f"  {name:<24}{n_cpu:>20}{n_never:>22}{meta:>14}")
    print("(the one read with finite checks 'cpu' is the NaN/inf check of the input: sum + bool, CPU tensors only)")


if __name__ == "__main__":
    main()
