"""The stepped loop of a float dense model (compiled engine), split: per-step GEMM (torch.mm into the scratch),
the add of its result into E's port columns, the interpreter call, and the rest (Python); ms per run."""
import sys, os, time, collections
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from setup_model import make
import numpy as np
import torch

name = sys.argv[1] if len(sys.argv) > 1 else "dense_gru"
n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
if os.environ.get("F14F_MALLOPT"):
    from spikernn.fused import _tune_malloc
    print("mallopt", _tune_malloc())
model, x, xn, net, plan, run0 = make(name, "float")
run = lambda: run0("numba")  # noqa: E731
run(); run()
from spikernn.hardware.compiled import blas, engine as EN, kernels as K
acc = collections.Counter()
real_mm, real_add, real_copyto = torch.mm, np.add, np.copyto
clock = time.process_time


class TorchProxy:
    def __getattr__(self, a):
        return getattr(torch, a)

    @staticmethod
    def mm(*a, **k):
        t = clock(); r = real_mm(*a, **k); acc["torch.mm"] += clock() - t; return r


def add(*a, **k):
    t = clock(); r = real_add(*a, **k); acc["np.add (blas.product)"] += clock() - t; return r


blas._torch = lambda: TorchProxy()
real_into = blas._gemm_into


def gemm_into(*a):
    t = clock(); r = real_into(*a); acc["dgemm_ into E (_gemm_into)"] += clock() - t; return r


blas._gemm_into = gemm_into
blas.np = type("npproxy", (), {"__getattr__": lambda s, a: add if a == "add" else getattr(np, a)})()
orig_interp = EN._interpret


def interp(*a):
    t = clock(); r = orig_interp(*a); acc["interpreter"] += clock() - t; return r


EN._interpret = interp
orig_stepped = EN._run_stepped


def stepped(*a):
    t = clock(); r = orig_stepped(*a); acc["_run_stepped total"] += clock() - t; return r


EN._run_stepped = stepped
orig_pre = EN.pre_inputs


def pre(*a, **k):
    t = clock(); r = orig_pre(*a, **k); acc["pre_inputs"] += clock() - t; return r


EN.pre_inputs = pre
tot = tt = 0.0
for _ in range(n):
    t = clock(); run(); tot += clock() - t
    t = clock()
    with torch.no_grad():
        model(x)
    tt += clock() - t
print(f"{name} float compiled: whole {tot / n * 1e3:.1f} ms, torch {tt / n * 1e3:.1f} ms; load {os.getloadavg()[0]:.2f}")
g = acc["torch.mm"] + acc["dgemm_ into E (_gemm_into)"]
print(f"  GEMMs (torch.mm + dgemm_) {g / n * 1e3:.1f} ms/run = {g / tt:.2f} x torch's forward")
for k, v in sorted(acc.items(), key=lambda kv: -kv[1]):
    print(f"  {k:26s} {v / n * 1e3:8.2f} ms/run")
