"""The main job end to end (what ``spikernn demo`` runs), importable and independent of the command line.

    from spikernn.app import run_demo
    result = run_demo(out="spikernn-demo", epochs=30, hidden_size=64, seed=0)
    print(result.summary())

Steps: load JapaneseVowels (packaged in sktime, no download) -> train a spiking LSTM and the dense LSTM
baseline -> convert both to fixed-point hardware networks -> run a few test sequences on Lava and check they
agree bit for bit with the fast simulator (skipped, saying so, where Lava is not installed) -> for each model
one ``energy.compare`` over the test split: measured CPU/GPU energy with torch's accuracy, and the Loihi
estimate from the fast simulator's activity with the simulated hardware's accuracy and the hops of a Loihi 2
placement -> write report.html/.md/.json and demo.json.

Files (names as ``spikernn train`` / ``convert`` / ``energy`` write them, :mod:`spikernn.app.records`):
``OUT/<spiking|dense>-<model>/model.safetensors``, ``train.json``, ``model-<precision>.net.safetensors``,
``model-<precision>.json``; ``OUT/report.{html,md,json}``; ``OUT/demo.json`` (:meth:`DemoResult.to_dict`).
"""
from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from spikernn.app.data import Dataset, load_dataset
from spikernn.app.models import build_model
from spikernn.app.progress import StepSkipped, Steps
from spikernn.app.records import network_path, save_network, save_trained
from spikernn.app.reports import energy_report, energy_row, loihi_activity, row_accuracy, save_report
from spikernn.app.simulation import net_input


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
    lava_sequences: Optional[int] = None    # test sequences run on Lava (default 8, quick 1; 0 = no Lava check)
    train_limit: Optional[int] = None       # training sequences (default all, quick 90)
    test_limit: Optional[int] = None        # test sequences measured, simulated and scored (default all, quick 32)
    precision: str = "fixed"
    device: str = "auto"                    # training device, as `spikernn train` (auto: cuda when available)
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
        return self


@dataclass
class ModelResult:
    """What the demo found for one model (spiking or dense). Accuracies are on the same test sequences."""

    label: str
    kind: str
    dense: bool
    parameters: int = 0
    train_seconds: float = 0.0
    torch_accuracy: Optional[float] = None
    hardware_accuracy: Optional[float] = None          # the converted network on the fast simulator
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
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    dataset: str = ""

    @property
    def ok(self) -> bool:
        """No step failed (a skipped step is not a failure)."""
        return not self.problems

    def model(self, label: str) -> ModelResult:
        """The result of the model labelled ``label``."""
        for m in self.models:
            if m.label == label:
                return m
        raise KeyError(f"no model {label!r}; models: {[m.label for m in self.models]}")

    def to_dict(self) -> dict[str, Any]:
        cfg = asdict(self.config)
        cfg["out"] = str(self.config.out)
        return {"config": cfg, "dataset": self.dataset, "models": [asdict(m) for m in self.models],
                "energy": self.energy, "report": [str(p) for p in self.report_paths], "timings_s": self.timings,
                "problems": self.problems, "skipped": self.skipped, "notes": self.notes, "seconds": self.seconds}

    def table(self):
        """The closing summary (rich renderable): accuracy per model, energy per platform, where the report is."""
        from rich.console import Group
        from rich.table import Table

        from spikernn.energy.render import fmt_j

        acc = Table(title=f"accuracy on {self.dataset}", title_justify="left")
        for col, just in (("model", "left"), ("torch", "right"), ("simulated hardware", "right"),
                          ("Lava = fast sim.", "left"), ("events / inference", "right"), ("Loihi 2 cores", "right")):
            acc.add_column(col, justify=just)
        for m in self.models:
            if m.lava_max_abs_diff is None:
                lava = "not run" if any(k.startswith("Lava") for k in self.skipped) else "n/a"
            else:
                lava = ("yes, bit-exact" if m.lava_max_abs_diff == 0 else f"max |diff| {m.lava_max_abs_diff:.2g}")
                lava += f" ({m.lava_sequences} seq.)"
            ev = m.activity_per_inference.get("events")
            acc.add_row(m.label, _pct(m.torch_accuracy), _pct(m.hardware_accuracy), lava,
                        "n/a" if ev is None else f"{ev:,.0f}", "n/a" if m.cores is None else str(m.cores))
        en = Table(title="energy per inference", title_justify="left")
        for col, just in (("platform", "left"), ("model", "left"), ("energy", "right"), ("counts", "left"),
                          ("kind", "left"), ("method", "left")):
            en.add_column(col, justify=just, overflow="fold")
        for r in self.energy:
            method = r["method"] if r["kind"] != "unavailable" else (r.get("caveat") or r["method"])
            en.add_row(r["platform"], r["model"], fmt_j(r.get("joules")), r.get("basis", ""), r["kind"], method)
        parts: list[Any] = [acc, en]
        for name, reason in self.skipped.items():
            parts.append(f"skipped: {name}: {reason}")
        if self.report_paths:
            folder = Path(self.report_paths[0]).parent
            parts.append(f"report: {folder}/ ({', '.join(Path(p).name for p in self.report_paths)})")
        return Group(*parts)

    def summary(self) -> str:
        """The closing table as plain text."""
        import io

        from rich.console import Console

        c = Console(width=120, record=True, file=io.StringIO())
        c.print(self.table())
        return c.export_text()


def _pct(v: Optional[float]) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _first_line(w: warnings.WarningMessage) -> str:
    return str(w.message).strip().splitlines()[0]


def run_demo(config: Optional[DemoConfig] = None, console: Any = None, **overrides: Any) -> DemoResult:
    """Run the main job (see the module docstring) and return what it found.

    A failing step is recorded in :attr:`DemoResult.problems` and the steps that do not need its result
    still run; the Lava check is skipped (:attr:`DemoResult.skipped` says why) where lava-nc is not installed.

    Args:
        config: settings (defaults: :class:`DemoConfig`); keyword ``overrides`` set its fields.
        console: a ``rich.console.Console`` for progress output; None runs silently.
    """
    cfg = config or DemoConfig()
    for k, v in overrides.items():
        if not hasattr(cfg, k):
            raise TypeError(f"unknown demo setting {k!r}")
        setattr(cfg, k, v)
    cfg.finalize()
    t_start = time.perf_counter()
    result = DemoResult(config=cfg)
    cfg.out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    if console is not None:
        console.print(f"spikernn demo: spiking {cfg.kind.upper()} and dense {cfg.kind.upper()} baseline on {cfg.data}, "
                      f"hidden {cfg.hidden_size}, {cfg.epochs} epochs, {cfg.precision} point"
                      f"{' (quick)' if cfg.quick else ''} -> {cfg.out}/", markup=False, highlight=False)
    with Steps(console, keep_going=True) as steps:
        _pipeline(cfg, result, steps)
    result.timings, result.skipped = steps.timings, steps.skipped
    result.problems.extend(steps.problems)
    result.seconds = time.perf_counter() - t_start
    (cfg.out / "demo.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    return result


def _pipeline(cfg: DemoConfig, result: DemoResult, steps: Steps) -> None:
    from spikernn import distributed as D
    from spikernn.training import evaluate, history_record, train as train_model

    labels = {"spiking": f"spiking {cfg.kind.upper()}", "dense": f"dense {cfg.kind.upper()}"}
    models: dict[str, torch.nn.Module] = {}
    nets: dict[str, Any] = {}

    # 1. data ---------------------------------------------------------------------------------------------
    ds: Optional[Dataset] = None
    with steps.step("load data") as adv:
        ds = load_dataset(cfg.data, seed=cfg.seed)
        adv(1, info=f"{ds.name} ({len(ds.train)} train / {len(ds.test)} test sequences)")
    if ds is None:
        return
    test, train = ds.test.subset(cfg.test_limit), ds.train.subset(cfg.train_limit)
    result.dataset = (f"{ds.name} ({len(train)} of {len(ds.train)} train / {len(test)} of {len(ds.test)} test "
                      "sequences)" if len(train) < len(ds.train) or len(test) < len(ds.test) else
                      f"{ds.name} ({len(ds.train)} train / {len(ds.test)} test sequences)")
    device = D.resolve_device(cfg.device)

    # 2. train --------------------------------------------------------------------------------------------
    for which, dense in (("spiking", False), ("dense", True)):
        epochs = cfg.dense_epochs if dense else cfg.epochs
        mres = ModelResult(label=labels[which], kind=cfg.kind, dense=dense)
        result.models.append(mres)
        with steps.step(f"train {labels[which]}", total=epochs) as adv:
            model = build_model(cfg.kind, dense, input_size=ds.input_size, hidden_size=cfg.hidden_size,
                                num_classes=ds.num_classes, seed=cfg.seed,
                                **({} if dense else {"readout_decay": cfg.readout_decay}))
            mres.parameters = sum(p.numel() for p in model.parameters())
            tr = train_model(model, train, epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed,
                             device=device, progress=False,
                             on_epoch=lambda e, loss, acc: adv(1, info=f"loss {loss:.3f}, train acc {acc:.3f}"))
            mres.train_seconds = tr["seconds"]
            model = model.to("cpu").eval()
            mres.torch_accuracy = evaluate(model, test)["accuracy"]
            adv(0, info=f"test accuracy {_pct(mres.torch_accuracy)}")
            record = {"data": ds.name, "model": cfg.kind, "dense": dense, "hidden_size": cfg.hidden_size,
                      "num_layers": 1, "readout_decay": None if dense else cfg.readout_decay, "epochs": epochs,
                      "batch_size": cfg.batch_size, "lr": cfg.lr, "seed": cfg.seed, "device": str(device),
                      "test_accuracy": mres.torch_accuracy, "training": history_record(tr)}
            mres.checkpoint = str(save_trained(model, cfg.out / f"{which}-{cfg.kind}", record))
            models[which] = model

    # 3. convert ------------------------------------------------------------------------------------------
    for which, model in models.items():
        mres = result.model(labels[which])
        with steps.step(f"convert {labels[which]}") as adv:
            from spikernn import converters

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                # the training inputs set the fixed-point input range (standardised data exceed |x| <= 1)
                qopts = {"calibration_x": train.x} if cfg.precision == "fixed" else {}
                net = converters.to_lava(model, precision=cfg.precision, **qopts)
            for w in caught:  # quantisation warnings (saturated weights) go into the report's notes
                result.notes.append(f"{labels[which]} conversion: {_first_line(w)}")
            path = network_path(Path(mres.checkpoint), cfg.precision)
            mres.network = str(save_network(net, path, Path(mres.checkpoint), precision=cfg.precision, threshold=0.0))
            nets[which] = net
            adv(1, info=f"{len(net.populations)} populations, {len(net.synapses)} synapse blocks")

    # 4. Lava vs fast simulator on a few test sequences -----------------------------------------------------
    for which, net in nets.items():
        if not cfg.lava_sequences:
            break
        _lava_check(steps, net, test.subset(cfg.lava_sequences), result.model(labels[which]), cfg.precision)

    # 5. per model: one energy.compare over the test split (measured CPU/GPU, simulated + placed Loihi) ------
    report = None
    title = (f"spikernn demo: {' vs '.join(labels[w] for w in models)} on {ds.name} "
             f"({len(test)} test sequences, one measured batch)")
    for which, model in models.items():
        mres = result.model(labels[which])
        with steps.step(f"energy and simulated hardware: {labels[which]}") as adv:
            rep = _compare(cfg, model, nets.get(which), test, train, title, labels[which], result)
            mres.hardware_accuracy = row_accuracy(rep, "loihi")
            mres.activity_per_inference = loihi_activity(rep)
            if which in nets:
                from spikernn.hardware.placement import place

                pl = place(nets[which])  # cores and chips for the summary (compare placed it for the hops)
                mres.cores, mres.chips = int(pl.cores), int(pl.chips)
            for row in rep.rows:  # one report for both models: every row names its model
                result.energy.append({"model": labels[which], **energy_row(row)})
                row.platform = f"{row.platform} ({labels[which]})"
            report = _merge_reports(report, rep, labels[which], cfg)
            adv(1, info=f"simulated hardware accuracy {_pct(mres.hardware_accuracy)}")
    if report is not None:
        for m in result.models:
            report.notes.append(_accuracy_note(m, cfg, len(test)))
        report.notes.extend(result.notes)
        result.report_paths = save_report(report, cfg.out)


def _lava_check(steps: Steps, net: Any, few: Any, mres: ModelResult, precision: str) -> None:
    """Run ``few`` sequences on Lava and on the fast simulator; fixed point must agree bit for bit, float to
    rounding of the summation order (1e-6)."""
    import importlib.util

    with steps.step(f"Lava vs fast sim: {mres.label}", total=len(few)) as adv:
        if importlib.util.find_spec("lava") is None:
            from spikernn.hardware.lava_compat import INSTALL_HINT

            raise StepSkipped(f"lava-nc is not installed ({INSTALL_HINT})")
        diffs, same = [], 0
        for i in range(len(few)):
            L = int(few.lengths[i])
            x = net_input(net, few.x[i:i + 1, :L])
            lens = few.lengths[i:i + 1]
            y_lava = torch.as_tensor(net.simulate(x, backend="lava", lengths=lens)[0]).double()
            y_fast = torch.as_tensor(net.simulate(x, backend="fast", lengths=lens)[0]).double()
            diffs.append(float((y_lava - y_fast).abs().max()))
            last = lambda y: y.reshape(-1, y.shape[-1]).argmax(-1)[-1]  # noqa: E731
            same += int(last(y_lava) == last(y_fast))
            mres.lava_sequences, mres.lava_max_abs_diff, mres.lava_same_predictions = i + 1, max(diffs), same
            adv(1, info=f"max |lava - fast| = {max(diffs):.3g}")
        if diffs and max(diffs) > (0.0 if precision == "fixed" else 1e-6):
            raise RuntimeError(f"Lava and the fast simulator disagree for the {mres.label}: max |diff| {max(diffs):.3g}")


def _compare(cfg: DemoConfig, model: torch.nn.Module, net: Any, test: Any, train: Any, title: str, label: str,
             result: DemoResult) -> Any:
    """energy.compare of one model over the test split; its warnings become report notes."""
    extra: dict[str, Any] = {}
    if label.startswith("dense") and cfg.sweep_thresholds:
        extra["sweep_thresholds"] = list(cfg.sweep_thresholds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rep, _ = energy_report(model, test, network=net, precision=cfg.precision, quick=cfg.quick, title=title,
                               calibration_x=train.x, **extra)
    for w in caught:
        note = f"{label} energy: {_first_line(w)}"
        if note not in result.notes:
            result.notes.append(note)
    return rep


def _merge_reports(report: Any, rep: Any, label: str, cfg: DemoConfig) -> Any:
    """The first model's report takes the second's rows, NeuroBench metrics (named by model) and threshold
    sweep."""
    if report is None:
        rep.notes.append(f"Activity, Loihi breakdown and measurement details without a model name refer to the {label}.")
        return rep
    report.rows.extend(rep.rows)
    if rep.neurobench:
        report.neurobench = {**(report.neurobench or {}), **rep.neurobench}
    if rep.threshold_sweep:
        report.threshold_sweep = rep.threshold_sweep
        report.notes.append(f"The threshold sweep is the {label}'s sigma-delta threshold ({cfg.precision} point): "
                            "accuracy vs estimated Loihi energy.")
    return report


def _accuracy_note(m: ModelResult, cfg: DemoConfig, n_test: int) -> str:
    return (f"{m.label} ({m.parameters:,} parameters): test accuracy on {n_test} sequences {_pct(m.torch_accuracy)} "
            f"in PyTorch, {_pct(m.hardware_accuracy)} on the simulated hardware ({cfg.precision} point)"
            + (f", Loihi 2 placement {m.cores} cores" if m.cores is not None else ""))
