"""Files the commands and the demo write, under one naming scheme, and the training records beside them.

A training run's folder (``spikernn train --out DIR``, or ``<demo out>/<spiking|dense>-<model>``) holds

* ``model.safetensors`` - the checkpoint (:func:`spikernn.save`; its metadata keeps the training record);
* ``train.json`` - the training record: data set, model options, seed, loss per epoch, test accuracy;
* ``model-<precision>.net.safetensors`` - the converted network (``spikernn convert``'s default name);
* ``model-<precision>.json`` - the training record again, with what the conversion used, so that
  ``spikernn simulate`` finds the data set (``--data auto``) from the network alone;
* ``report.html`` / ``report.md`` / ``report.json`` - ``spikernn energy``'s report (its default ``--out``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CHECKPOINT = "model.safetensors"
TRAIN_RECORD = "train.json"


def network_path(model_path: Path, precision: str) -> Path:
    """Where a model's converted network goes by default: ``<stem>-<precision>.net.safetensors`` beside it.

    >>> network_path(Path("runs/a/model.safetensors"), "fixed").as_posix()
    'runs/a/model-fixed.net.safetensors'
    """
    model_path = Path(model_path)
    return model_path.with_name(f"{model_path.name.split('.')[0]}-{precision}.net.safetensors")


def record_path(path: Path) -> Path:
    """The record beside a checkpoint or network file: ``<first part of the name>.json``."""
    path = Path(path)
    return path.with_name(path.name.split(".")[0] + ".json")


def save_trained(model: Any, folder: Path, record: dict[str, Any]) -> Path:
    """Save ``model`` as ``folder/model.safetensors`` (the record, less its per-epoch history, in the
    checkpoint's metadata) and ``record`` as ``folder/train.json``; returns the checkpoint path."""
    import spikernn as snr

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / CHECKPOINT
    record = {**record, "checkpoint": path.name}
    snr.save(model, path, extra={"train": {k: v for k, v in record.items() if k != "training"}})
    (folder / TRAIN_RECORD).write_text(json.dumps(record, indent=2))
    return path


def save_network(net: Any, path: Path, model_path: Path, **conversion: Any) -> Path:
    """``net.save(path)`` and, when the model has a training record, that record with ``converted_from`` and
    the ``conversion`` options beside it (:func:`record_path`); returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net.save(path)
    write_network_record(path, model_path, **conversion)
    return path


def write_network_record(path: Path, model_path: Path, **conversion: Any) -> None:
    """Keep the model's training record beside its converted network (nothing when it has none)."""
    info = run_info(model_path)
    if info:
        record_path(path).write_text(json.dumps({**info, "converted_from": str(model_path), **conversion}, indent=2))


def run_info(path: Path) -> dict[str, Any]:
    """The training record of a checkpoint or converted network: ``<stem>.json`` or ``train.json`` beside it,
    or the record kept in the checkpoint's metadata. Empty when there is none."""
    path = Path(path)
    for cand in (record_path(path), path.parent / TRAIN_RECORD):
        try:
            if cand.exists() and cand != path:
                data = json.loads(cand.read_text())
                if isinstance(data, dict) and "data" in data:
                    return data
        except (OSError, ValueError):
            pass
    try:
        from spikernn.io import read_metadata

        rec = read_metadata(path).get("extra", {}).get("train")
        if isinstance(rec, dict):
            return rec
    except Exception:  # noqa: BLE001 - not a spikernn model file: no record
        pass
    return {}
