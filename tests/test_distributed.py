"""DDP training through torchrun: 2 processes (gloo on CPU), one checkpoint written by rank 0."""
import json
import os
import subprocess
import sys

import pytest
import torch

from spikernn.distributed import DistInfo, dist_info, launched_by_torchrun, resolve_device


def test_single_process_defaults(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    assert not launched_by_torchrun()
    info = dist_info()
    assert info.world_size == 1 and info.is_main and not info.enabled
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cpu", "cuda")


def test_cuda_device_resolves_or_is_a_clear_error():
    if torch.cuda.is_available():  # a GPU machine: "cuda" and "auto" take it
        assert resolve_device("cuda", DistInfo()).type == "cuda" and resolve_device("auto").type == "cuda"
    else:
        with pytest.raises(ValueError, match="no CUDA"):
            resolve_device("cuda", DistInfo())


@pytest.mark.timeout(120)
def test_torchrun_two_processes_writes_one_loadable_checkpoint(tmp_path):
    import spikernn as snr

    out = tmp_path / "ddp"
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "spikernn", "train",
           "--data", "synthetic", "--model", "lstm", "--hidden-size", "8", "--epochs", "1", "--batch-size", "16",
           "--device", "cpu", "--out", str(out)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=110, env=env)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert (out / "model.safetensors").exists()
    record = json.loads((out / "train.json").read_text())
    assert record["world_size"] == 2 and record["backend"] == "gloo"
    # each rank trained on half of the 96 synthetic training sequences
    assert record["training"]["samples_per_rank"] == 48
    model = snr.load(out / "model.safetensors")
    x = torch.randn(3, 10, 4)
    logits = model(x if getattr(model, "batch_first", True) else x.transpose(0, 1), torch.tensor([10, 7, 5]))
    assert logits.shape == (3, 3)
    # only rank 0 wrote: one checkpoint, one record
    assert sorted(p.name for p in out.iterdir()) == ["model.safetensors", "train.json"]


def test_exit_worker_flushes_output_and_keeps_the_exit_code():
    # torchrun workers end through os._exit (see exit_worker): buffered output must still reach the pipe
    code = "from spikernn.distributed import exit_worker; print('saved', end=''); exit_worker(3)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 3 and res.stdout == "saved"
