"""The main job end to end (what `spikernn demo` runs), importable and independent of the command line.

    from spikernn.demo import run_demo
    result = run_demo(out="spikernn-demo", epochs=30, hidden_size=64, seed=0)
    print(result.summary())

Steps: load JapaneseVowels (packaged in sktime, no download) -> train a spiking LSTM and the dense LSTM
baseline -> convert both to fixed-point hardware networks -> run a few test sequences on Lava and check they
agree with the fast simulator -> run the whole test set on the fast simulator -> place the spiking network on
Loihi 2 cores -> measure and estimate energy (``energy.compare``) -> write report.html/.md/.json.

The data helpers (:func:`load_dataset`, :func:`build_model`) are shared with the CLI.
"""
from __future__ import annotations

import json
import os
import time
import warnings
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import torch

from spikernn.datasets import SequenceData

DATASETS = ("japanese_vowels", "synthetic")
MODEL_KINDS = ("lstm", "gru", "rnn")


# ---------------------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------------------
@dataclass
class Dataset:
    """Train and test splits plus what a model needs to know about them."""

    name: str
    train: SequenceData
    test: SequenceData
    num_classes: int
    input_size: int
    description: str = ""
    class_names: list[str] = field(default_factory=list)

    def split(self, which: str) -> SequenceData:
        """The "train" or "test" split."""
        if which not in ("train", "test"):
            raise ValueError(f"unknown split {which!r}; use 'train' or 'test'")
        return self.train if which == "train" else self.test


def load_dataset(name: str = "japanese_vowels", seed: int = 0, **options: Any) -> Dataset:
    """Load a data set by name: ``japanese_vowels`` (packaged in sktime) or ``synthetic`` (generated).

    Synthetic options: ``n_train`` (default 96), ``n_test`` (48), ``input_size`` (4), ``num_classes`` (3),
    ``min_len`` (6), ``max_len`` (12).
    """
    key = name.lower().replace("-", "_")
    if key in ("japanese_vowels", "japanesevowels", "jv"):
        return _japanese_vowels()
    if key == "synthetic":
        return synthetic_dataset(seed=seed, **options)
    raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")


def _japanese_vowels() -> Dataset:
    """JapaneseVowels through :func:`spikernn.datasets.japanese_vowels` (standardised with the training split's
    statistics)."""
    from spikernn.datasets import japanese_vowels

    tr, te = japanese_vowels()
    nc = tr.num_classes
    return Dataset("japanese_vowels", tr, te, nc,
                   int(tr.x.shape[2]), "JapaneseVowels (sktime): 12 LPC cepstra, 9 speakers, standardised",
                   [str(i + 1) for i in range(nc)])


def synthetic_dataset(seed: int = 0, n_train: int = 96, n_test: int = 48, input_size: int = 4, num_classes: int = 3,
                      min_len: int = 6, max_len: int = 12) -> Dataset:
    """:func:`spikernn.datasets.synthetic` (class prototype x slow sine + noise, varying lengths, zero
    padding) drawn once with ``n_train + n_test`` sequences and split, so both splits share the prototypes."""
    from spikernn.datasets import synthetic

    both = synthetic(n_train + n_test, num_classes=num_classes, features=input_size, min_len=min_len,
                     max_len=max_len, seed=seed)
    train, test = both.rows(slice(0, n_train)), both.rows(slice(n_train, n_train + n_test))
    return Dataset("synthetic", train, test, num_classes, input_size,
                   f"synthetic: {num_classes} classes, {input_size} features, lengths {min_len}-{max_len}",
                   [str(i) for i in range(num_classes)])


# ---------------------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------------------
def build_model(kind: str = "lstm", dense: bool = False, *, input_size: int, hidden_size: int, num_classes: int,
                num_layers: int = 1, bidirectional: bool = False, seed: int = 0, **neuron_options: Any) -> torch.nn.Module:
    """A spikernn sequence classifier: ``SpikingSequenceClassifier`` or, with ``dense``, the
    ``DenseSequenceClassifier`` baseline (torch.nn.RNN/LSTM/GRU + Linear head)."""
    if kind not in MODEL_KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {', '.join(MODEL_KINDS)}")
    import spikernn as snr

    torch.manual_seed(seed)
    cls_name = "DenseSequenceClassifier" if dense else "SpikingSequenceClassifier"
    cls = getattr(snr, cls_name, None)
    if cls is None:
        raise RuntimeError(f"spikernn.{cls_name} is not available in this installation")
    kwargs = dict(input_size=input_size, hidden_size=hidden_size, num_classes=num_classes, num_layers=num_layers,
                  bidirectional=bidirectional)
    if not dense:
        kwargs.update(neuron_options)
    return cls(kind, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# hardware simulation over a data set
# ---------------------------------------------------------------------------------------------------------
def net_input(net: Any, x_btf: torch.Tensor) -> torch.Tensor:
    """Data are (B, T, I); a network converted from a non-batch-first model wants (T, B, I)."""
    return x_btf if net.meta.get("batch_first", False) else x_btf.transpose(0, 1).contiguous()


def merge_stats(parts: list) -> Any:
    """Sum several :class:`~spikernn.hardware.ActivityStats` (batches of one data set) into one: per-step
    arrays are zero-padded to the longest run and added, batch sizes add up."""
    from spikernn.hardware.stats import ActivityStats

    parts = [p for p in parts if p is not None]
    if not parts:
        return None
    steps = max(p.steps for p in parts)

    def add(maps: list[dict]) -> dict:
        out: dict[str, np.ndarray] = {}
        for m in maps:
            for k, v in m.items():
                v = np.asarray(v, dtype=np.int64)
                acc = out.setdefault(k, np.zeros(steps, dtype=np.int64))
                acc[: v.shape[0]] += v
        return out

    nu: dict[str, int] = {}
    for p in parts:
        for k, v in p.neuron_updates.items():
            nu[k] = nu.get(k, 0) + int(v)
    bits: dict[str, int] = {}
    for p in parts:
        bits.update(p.message_bits)
    return ActivityStats(steps=steps, batch=sum(p.batch for p in parts), events=add([p.events for p in parts]),
                         synaptic_ops=add([p.synaptic_ops for p in parts]), neuron_updates=nu, message_bits=bits,
                         core_hops=add([p.core_hops for p in parts]))


def simulate_dataset(net: Any, data: SequenceData, backend: str = "fast", batch_size: int = 128,
                     on_batch: Optional[Any] = None, **options: Any) -> dict[str, Any]:
    """Run ``net`` on every sequence of ``data``: sequences are batched by length (little padding), each batch
    trimmed to its longest sequence. Returns accuracy (when the network ends in one logit per class read at
    the last valid step), predictions, outputs, merged activity statistics and activity per inference."""
    n = len(data)
    order = torch.argsort(data.lengths, stable=True)
    outputs: list[Optional[torch.Tensor]] = [None] * n
    stats_parts = []
    t0 = time.perf_counter()
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        T = int(data.lengths[idx].max())
        x = data.x[idx, :T]
        y, st = net.simulate(net_input(net, x), backend=backend, lengths=data.lengths[idx], **options)
        y = torch.as_tensor(y)
        if y.dim() == 3:  # sequence output: take the last valid step of each item
            y = (y if net.meta.get("batch_first", False) else y.transpose(0, 1))
            y = y[torch.arange(len(idx)), data.lengths[idx] - 1]
        for j, k in enumerate(idx.tolist()):
            outputs[k] = y[j]
        stats_parts.append(st)
        if on_batch is not None:
            on_batch(len(idx))
    seconds = time.perf_counter() - t0
    out = torch.stack(outputs).float()
    stats = merge_stats(stats_parts)
    pred = out.argmax(-1)
    is_classifier = net.meta.get("output") == "last_step" and out.shape[-1] > int(data.y.max())
    acc = float((pred == data.y).double().mean()) if is_classifier else None
    per_inf = stats.per_inference() if stats is not None else {}
    return {"accuracy": acc, "predictions": pred, "outputs": out, "stats": stats, "per_inference": per_inf,
            "steps_per_inference": float(data.lengths.float().mean()), "seconds": seconds, "sequences": n,
            "backend": backend}


# ---------------------------------------------------------------------------------------------------------
# energy
# ---------------------------------------------------------------------------------------------------------
def energy_report(model: torch.nn.Module, data: SequenceData, *, out: Optional[Path] = None,
                  platforms: tuple[str, ...] = ("cpu", "gpu", "loihi"), network: Any = None, precision: str = "fixed",
                  threshold: float = 0.0, calibration_x: Optional[torch.Tensor] = None, quick: bool = False, title: Optional[str] = None, notes: Optional[list[str]] = None,
                  **options: Any) -> tuple[Any, list[Path]]:
    """``energy.compare`` on ``model`` and the sequences of ``data`` (one batch); saves report.html/.md/.json
    in ``out`` when given. ``network``: the converted network for the Loihi row; without one compare converts
    the model (``threshold``: sigma-delta threshold of dense models). The conversions compare makes (the Loihi
    row without ``network``, the threshold sweep) use ``precision``, fixed point calibrated on
    ``calibration_x`` (default: the measured inputs).
    ``quick`` asks for short measurement windows. Returns the report and the written paths."""
    from spikernn import energy

    opts: dict[str, Any] = {"targets": data.y, "lengths": data.lengths, "platforms": tuple(platforms),
                            "precision": precision, "threshold": threshold}
    if precision == "fixed":
        opts["convert_options"] = {"calibration_x": calibration_x if calibration_x is not None else data.x}
    if network is not None:
        opts["network"] = network
    if title:
        opts["title"] = title
    if quick:
        opts.update({"min_window_s": 0.25, "repeats": 2})
    opts.update(options)
    T = int(data.lengths.max())
    x = data.x[:, :T] if _batch_first(model) else data.x[:, :T].transpose(0, 1).contiguous()
    report = energy.compare(model, x, **opts)
    report.notes.extend(notes or [])
    paths: list[Path] = []
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for ext in ("html", "md", "json"):
            paths.append(report.save(out / f"report.{ext}"))
    return report, paths


def _batch_first(model: Any) -> bool:
    """Whether ``model`` takes (B, T, I) input (:func:`spikernn.protocol.batch_first_of`)."""
    from spikernn.protocol import batch_first_of

    return batch_first_of(model)


def energy_rows(report: Any) -> list[dict[str, Any]]:
    """Rows of a report as plain dicts: platform, joules, seconds, kind, method, accuracy, notes, device and
    basis (what the joules count: :attr:`EnergyFigure.basis`, "" when unavailable)."""
    rows = []
    for r in getattr(report, "rows", []):
        rows.append({"platform": r.platform, "joules": r.energy_per_inference_j, "seconds": r.seconds_per_inference,
                     "kind": r.kind, "method": r.method, "caveat": r.caveat, "accuracy": r.accuracy, "notes": r.notes,
                     "device": getattr(r, "device", ""),
                     "basis": r.figure.basis if getattr(r, "figure", None) is not None and r.kind != "unavailable" else ""})
    return rows


# ---------------------------------------------------------------------------------------------------------
# the demo pipeline
# ---------------------------------------------------------------------------------------------------------
@dataclass
class DemoConfig:
    """Settings of :func:`run_demo`. ``None`` fields get defaults from ``quick`` in :meth:`finalize`."""

    out: Path = Path("spikernn-demo")
    data: str = "japanese_vowels"
    kind: str = "lstm"
    hidden_size: int = 64
    readout_decay: float = 0.9              # spiking model: leaky-integrator readout decay (0 = linear)
    seed: int = 0
    quick: bool = False
    epochs: Optional[int] = None            # spiking model (default 30, quick 2)
    dense_epochs: Optional[int] = None      # dense baseline (default: same as epochs)
    batch_size: int = 32
    lr: float = 1e-2
    lava_sequences: Optional[int] = None    # test sequences run on Lava (default 8, quick 1)
    train_limit: Optional[int] = None       # training sequences (default all, quick 90)
    test_limit: Optional[int] = None        # test sequences on the fast simulator (default all, quick 32)
    energy_inferences: Optional[int] = None  # sequences measured for energy (default 64, quick 16)
    precision: str = "fixed"
    device: str = "cpu"
    sweep_thresholds: tuple[float, ...] = (0.0, 0.03, 0.1, 0.3, 0.5, 1.0)  # dense model: sigma-delta threshold

    def finalize(self) -> "DemoConfig":
        """Fill the ``None`` fields with their defaults (smaller ones with ``quick``); returns self."""
        self.out = Path(self.out)
        if self.epochs is None:
            self.epochs = 2 if self.quick else 30
        if self.dense_epochs is None:
            self.dense_epochs = self.epochs
        if self.lava_sequences is None:
            self.lava_sequences = 1 if self.quick else 8
        if self.test_limit is None and self.quick:
            self.test_limit = 32
        if self.train_limit is None and self.quick:
            self.train_limit = 90
        if self.quick:
            self.sweep_thresholds = ()
        if self.energy_inferences is None:
            self.energy_inferences = 16 if self.quick else 64
        return self


@dataclass
class ModelResult:
    """What the demo found for one model (spiking or dense)."""

    label: str
    kind: str
    dense: bool
    parameters: int = 0
    train_seconds: float = 0.0
    torch_accuracy: Optional[float] = None
    hardware_accuracy: Optional[float] = None
    hardware_torch_agreement: Optional[float] = None   # fraction of test predictions equal to torch's
    lava_sequences: int = 0
    lava_max_abs_diff: Optional[float] = None          # Lava vs fast simulator, same outputs
    lava_same_predictions: Optional[int] = None
    activity_per_inference: dict[str, float] = field(default_factory=dict)
    cores: Optional[int] = None
    chips: Optional[int] = None
    checkpoint: Optional[str] = None
    network: Optional[str] = None


@dataclass
class DemoResult:
    """Everything the demo measured; :meth:`table` is the closing summary, :meth:`to_dict` the JSON form."""

    config: DemoConfig
    models: list[ModelResult] = field(default_factory=list)
    energy: list[dict[str, Any]] = field(default_factory=list)
    report_paths: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    dataset: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        cfg = asdict(self.config)
        cfg["out"] = str(self.config.out)
        return {"config": cfg, "dataset": self.dataset, "models": [asdict(m) for m in self.models],
                "energy": self.energy, "report": [str(p) for p in self.report_paths], "timings_s": self.timings,
                "problems": self.problems, "notes": self.notes, "seconds": self.seconds}

    def table(self):
        """The closing summary (rich renderable): accuracy per model, energy per platform, where the report is."""
        from rich.console import Group
        from rich.table import Table

        acc = Table(title=f"accuracy on {self.dataset}", title_justify="left")
        for col, just in (("model", "left"), ("torch", "right"), ("simulated hardware", "right"),
                          ("Lava = fast sim.", "left"), ("events / inference", "right"), ("Loihi 2 cores", "right")):
            acc.add_column(col, justify=just)
        for m in self.models:
            if m.lava_max_abs_diff is None:
                lava = "n/a"
            else:
                lava = ("yes, bit-exact" if m.lava_max_abs_diff == 0 else f"max |diff| {m.lava_max_abs_diff:.2g}")
                lava += f" ({m.lava_sequences} seq.)"
            ev = m.activity_per_inference.get("events")
            acc.add_row(m.label, _pct(m.torch_accuracy), _pct(m.hardware_accuracy), lava,
                        "n/a" if ev is None else f"{ev:,.0f}", "n/a" if m.cores is None else str(m.cores))
        from spikernn.energy.render import fmt_j

        en = Table(title="energy per inference", title_justify="left")
        for col, just in (("platform", "left"), ("model", "left"), ("energy", "right"), ("counts", "left"),
                          ("kind", "left"), ("method", "left")):
            en.add_column(col, justify=just, overflow="fold")
        for r in self.energy:
            method = r["method"] if r["kind"] != "unavailable" else (r.get("caveat") or r["method"])
            en.add_row(r["platform"], r["model"], fmt_j(r.get("joules")), r.get("basis", ""), r["kind"], method)
        parts: list[Any] = [acc, en]
        if self.report_paths:
            folder = Path(self.report_paths[0]).parent
            parts.append(f"report: {folder}/ ({', '.join(Path(p).name for p in self.report_paths)})")
        return Group(*parts)

    def summary(self) -> str:
        """The closing table as plain text."""
        from rich.console import Console

        c = Console(width=120, record=True, file=open(os.devnull, "w"))
        c.print(self.table())
        return c.export_text()


def _pct(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


class _Steps:
    """Progress display and timing of the demo's steps (rich Progress; silent without a console)."""

    def __init__(self, console: Any, result: DemoResult):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
        from rich.table import Column

        class _Mark(SpinnerColumn):  # spinner while running, then a check mark or a cross
            def render(self, task):
                if "mark" in task.fields and task.fields["mark"]:
                    return task.fields["mark"]
                return super().render(task)

        self.result = result
        self.progress = Progress(
            _Mark(), TextColumn("{task.description}", table_column=Column(no_wrap=True, min_width=30)),
            BarColumn(bar_width=16), MofNCompleteColumn(table_column=Column(min_width=7, no_wrap=True)),
            TimeElapsedColumn(table_column=Column(min_width=7, no_wrap=True)),
            TextColumn("{task.fields[info]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            console=console, disable=console is None, expand=True)

    def __enter__(self) -> "_Steps":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    @contextmanager
    def step(self, name: str, total: Optional[float] = None) -> Iterator[Any]:
        """A progress task; yields ``advance(n=1, info=None)``. Exceptions are recorded as problems."""
        task = self.progress.add_task(name, total=total, info="", mark="")
        t0 = time.perf_counter()

        def advance(n: float = 1, info: Optional[str] = None) -> None:
            kw = {"info": info} if info is not None else {}
            self.progress.update(task, advance=n, **kw)

        ok = True
        failure = ""
        try:
            yield advance
        except Exception as exc:  # noqa: BLE001 - the demo reports a failed step and goes on where it can
            ok = False
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            failure = f"{type(exc).__name__}: {msg}"
            self.result.problems.append(f"{name}: {failure}")
            if os.environ.get("SPIKERNN_DEBUG"):
                raise
        finally:
            self.result.timings[name] = round(time.perf_counter() - t0, 2)
            t = next(tt for tt in self.progress.tasks if tt.id == task)
            total = t.total if t.total is not None else 1
            if ok:
                self.progress.update(task, total=total, completed=total, mark="[green]✓[/green]")
            else:
                self.progress.update(task, total=total, mark="[red]✗[/red]",
                                     info=f"[red]failed[/red]: {failure}")
            self.progress.stop_task(task)


def run_demo(config: Optional[DemoConfig] = None, console: Any = None, **overrides: Any) -> DemoResult:
    """Run the main job (see the module docstring) and return what it found.

    Args:
        config: settings (defaults: :class:`DemoConfig`); keyword ``overrides`` set its fields.
        console: a ``rich.console.Console`` for progress output; None runs silently.
    """
    from spikernn import distributed as D
    from spikernn.training import evaluate, model_forward, train as train_model

    cfg = config or DemoConfig()
    for k, v in overrides.items():
        if not hasattr(cfg, k):
            raise TypeError(f"unknown demo setting {k!r}")
        setattr(cfg, k, v)
    cfg.finalize()
    t_start = time.perf_counter()
    result = DemoResult(config=cfg)
    out = cfg.out
    out.mkdir(parents=True, exist_ok=True)
    dev = D.resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    models: dict[str, torch.nn.Module] = {}
    nets: dict[str, Any] = {}
    labels = {"spiking": f"spiking {cfg.kind.upper()}", "dense": f"dense {cfg.kind.upper()}"}

    if console is not None:
        console.print(f"[bold]spikernn demo[/bold]: spiking {cfg.kind.upper()} and dense {cfg.kind.upper()} baseline "
                      f"on {cfg.data}, hidden {cfg.hidden_size}, {cfg.epochs} epochs, {cfg.precision} point"
                      f"{' (quick)' if cfg.quick else ''} -> {out}/")
    with _Steps(console, result) as steps:
        # 1. data -------------------------------------------------------------------------------------------
        ds = None
        with steps.step("load data") as adv:
            ds = load_dataset(cfg.data, seed=cfg.seed)
            result.dataset = f"{ds.name} ({len(ds.train)} train / {len(ds.test)} test sequences)"
            adv(1, info=result.dataset)
        if ds is None:
            result.seconds = time.perf_counter() - t_start
            return result
        test = ds.test.subset(cfg.test_limit)
        train = ds.train.subset(cfg.train_limit)
        if len(train) < len(ds.train) or len(test) < len(ds.test):
            result.dataset = (f"{ds.name} ({len(train)} of {len(ds.train)} train / "
                              f"{len(test)} of {len(ds.test)} test sequences)")

        # 2. train ------------------------------------------------------------------------------------------
        for which, dense in (("spiking", False), ("dense", True)):
            epochs = cfg.dense_epochs if dense else cfg.epochs
            mres = ModelResult(label=labels[which], kind=cfg.kind, dense=dense)
            with steps.step(f"train {labels[which]}", total=epochs) as adv:
                model = build_model(cfg.kind, dense, input_size=ds.input_size, hidden_size=cfg.hidden_size,
                                    num_classes=ds.num_classes, seed=cfg.seed,
                                    **({} if dense else {"readout_decay": cfg.readout_decay}))
                mres.parameters = sum(p.numel() for p in model.parameters())
                tr = train_model(model, train, epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                                 device=dev, progress=False,
                                 on_epoch=lambda e, loss, acc: adv(1, info=f"loss {loss:.3f}, train acc {acc:.3f}"))
                mres.train_seconds = tr["seconds"]
                model = model.to("cpu").eval()
                mres.torch_accuracy = evaluate(model, test)["accuracy"]
                adv(0, info=f"test accuracy {_pct(mres.torch_accuracy)}")
                models[which] = model
                _save_checkpoint(model, out / f"{which}-{cfg.kind}", mres, cfg, ds, epochs, tr)
            result.models.append(mres)

        # 3. convert ----------------------------------------------------------------------------------------
        for which, model in models.items():
            mres = _model_result(result, labels[which])
            with steps.step(f"convert {labels[which]}", total=1) as adv:
                from spikernn import converters

                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    # the training inputs set the fixed-point input range (standardised data exceed |x| <= 1)
                    qopts = {"calibration_x": train.x} if cfg.precision == "fixed" else {}
                    net = converters.to_lava(model, precision=cfg.precision, **qopts)
                for w in caught:  # quantisation warnings (saturated weights) go into the report's notes
                    result.notes.append(f"{labels[which]} conversion: {str(w.message).strip().splitlines()[0]}")
                path = out / f"{which}-{cfg.kind}" / f"network-{cfg.precision}.safetensors"
                path.parent.mkdir(parents=True, exist_ok=True)
                net.save(path)
                mres.network = str(path)
                nets[which] = net
                adv(1, info=f"{len(net.populations)} populations, {len(net.synapses)} synapse blocks")

        # 4. Lava vs fast simulator on a few test sequences ------------------------------------------------
        for which, net in nets.items():
            mres = _model_result(result, labels[which])
            few = test.subset(cfg.lava_sequences)  # spread over the classes
            with steps.step(f"Lava vs fast sim: {labels[which]}", total=len(few)) as adv:
                diffs, same = [], 0
                for i in range(len(few)):
                    L = int(few.lengths[i])
                    x = few.x[i:i + 1, :L]
                    lens = few.lengths[i:i + 1]
                    y_lava, _ = net.simulate(net_input(net, x), backend="lava", lengths=lens)
                    y_fast, _ = net.simulate(net_input(net, x), backend="fast", lengths=lens)
                    y_lava, y_fast = torch.as_tensor(y_lava).double(), torch.as_tensor(y_fast).double()
                    diffs.append(float((y_lava - y_fast).abs().max()))
                    same += int(y_lava.reshape(-1, y_lava.shape[-1]).argmax(-1)[-1] == y_fast.reshape(-1, y_fast.shape[-1]).argmax(-1)[-1])
                    mres.lava_sequences = i + 1
                    mres.lava_max_abs_diff = max(diffs)
                    mres.lava_same_predictions = same
                    adv(1, info=f"max |lava - fast| = {max(diffs):.3g}")
                # fixed point must be bit-exact; float may differ by rounding of the summation order
                if diffs and max(diffs) > (0.0 if cfg.precision == "fixed" else 1e-6):
                    raise RuntimeError(f"Lava and the fast simulator disagree for the {labels[which]}: max |diff| {max(diffs):.3g}")

        # 5. whole test set on the fast simulator ------------------------------------------------------------
        sims: dict[str, dict] = {}
        for which, net in nets.items():
            mres = _model_result(result, labels[which])
            with steps.step(f"fast sim, test set: {labels[which]}", total=len(test)) as adv:
                sim = simulate_dataset(net, test, backend="fast", batch_size=128, on_batch=lambda n: adv(n))
                sims[which] = sim
                mres.hardware_accuracy = sim["accuracy"]
                mres.activity_per_inference = {k: float(v) for k, v in sim["per_inference"].items()}
                with torch.no_grad():
                    logits = model_forward(models[which], test.x, test.lengths)
                mres.hardware_torch_agreement = float((sim["predictions"] == logits.argmax(-1)).double().mean())
                adv(0, info=f"accuracy {_pct(sim['accuracy'])}, {sim['seconds']:.1f} s")

        # 6. placement on Loihi 2 cores ---------------------------------------------------------------------
        for which, net in nets.items():
            mres = _model_result(result, labels[which])
            with steps.step(f"place on Loihi 2: {labels[which]}", total=1) as adv:
                from spikernn.hardware.placement import place

                pl = place(net)
                mres.cores, mres.chips = int(pl.cores), int(pl.chips)
                if which in sims and sims[which]["stats"] is not None:
                    from spikernn.hardware.placement import annotate_hops

                    annotate_hops(sims[which]["stats"], net, pl)
                    mres.activity_per_inference = {k: float(v) for k, v in sims[which]["stats"].per_inference().items()}
                adv(1, info=f"{pl.cores} cores on {pl.chips} chip(s)")

        # 7. energy: measured CPU/GPU vs estimated Loihi ------------------------------------------------------
        with steps.step("energy (measure CPU/GPU, estimate Loihi)", total=len(models)) as adv:
            e_data = test.subset(cfg.energy_inferences)
            title = (f"spikernn demo: {' vs '.join(labels[w] for w in models)} on {ds.name} "
                     f"({len(e_data)} test sequences per measured batch)")
            report = None
            for which, model in models.items():
                extra: dict[str, Any] = {}
                if which == "dense" and cfg.sweep_thresholds:
                    extra["sweep_thresholds"] = list(cfg.sweep_thresholds)

                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    rep, _ = energy_report(model, e_data, out=None, network=nets.get(which), precision=cfg.precision,
                                           quick=cfg.quick, title=title, calibration_x=train.x, **extra)
                for w in caught:
                    note = f"{labels[which]} energy: {str(w.message).strip().splitlines()[0]}"
                    if note not in result.notes:
                        result.notes.append(note)
                for row in rep.rows:  # one report for both models: every row names its model
                    row.platform = f"{row.platform} ({labels[which]})"
                for r in energy_rows(rep):
                    result.energy.append({"model": labels[which], **r, "platform": r["platform"].split(" (")[0]})
                if report is None:
                    report = rep
                    report.notes.append(f"Activity, Loihi breakdown and measurement details without a model name "
                                        f"refer to the {labels[which]}.")
                else:
                    report.rows.extend(rep.rows)
                    if rep.threshold_sweep:
                        report.threshold_sweep = rep.threshold_sweep
                        report.notes.append(f"The threshold sweep is the {labels[which]}'s sigma-delta threshold "
                                            f"({cfg.precision} point): accuracy vs estimated Loihi energy.")
                adv(1, info=labels[which])
            if report is not None:
                for n in [_accuracy_note(m, cfg) for m in result.models] + result.notes:
                    report.notes.append(n)
                for ext in ("html", "md", "json"):
                    result.report_paths.append(report.save(out / f"report.{ext}"))

    result.seconds = time.perf_counter() - t_start
    (out / "demo.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    return result


def _model_result(result: DemoResult, label: str) -> ModelResult:
    for m in result.models:
        if m.label == label:
            return m
    raise KeyError(label)


def _accuracy_note(m: ModelResult, cfg: DemoConfig) -> str:
    return (f"{m.label} ({m.parameters:,} parameters): test accuracy {_pct(m.torch_accuracy)} in PyTorch, "
            f"{_pct(m.hardware_accuracy)} on the simulated hardware ({cfg.precision} point)"
            + (f", Loihi 2 placement {m.cores} cores" if m.cores is not None else ""))


def _save_checkpoint(model: torch.nn.Module, folder: Path, mres: ModelResult, cfg: DemoConfig, ds: Dataset,
                     epochs: int, tr: Any) -> None:
    """snr.save the model plus a train.json record (as `spikernn train` writes), so the CLI can reuse it."""
    import spikernn as snr
    from spikernn.training import history_record

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.safetensors"
    snr.save(model, path)
    mres.checkpoint = str(path)
    record = {"data": cfg.data, "model": cfg.kind, "dense": mres.dense, "hidden_size": cfg.hidden_size,
              "num_layers": 1, "epochs": epochs, "seed": cfg.seed, "checkpoint": path.name,
              "test_accuracy": mres.torch_accuracy, "training": history_record(tr)}
    (folder / "train.json").write_text(json.dumps(record, indent=2))
