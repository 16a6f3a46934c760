"""The `spikernn` command line: doctor, demo, train, convert, simulate, energy.

This is the one module of the core package that reaches the other parts (hardware, converters, energy);
it imports them inside the commands so `spikernn --help` stays fast.

Every command turns expected failures (missing file, wrong kind of file, bad option value) into one line
``error: ...`` on stderr and exit code 1; set ``SPIKERNN_DEBUG=1`` to see the traceback instead.
`python -m spikernn ...` is the same as `spikernn ...`; under ``torchrun``, `train` trains with
DistributedDataParallel (see :mod:`spikernn.distributed`).
"""
from __future__ import annotations

import functools
import json
import os
import platform
import time
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

try:  # typer >= 0.9
    from typing import Annotated
except ImportError:  # pragma: no cover
    from typing_extensions import Annotated

app = typer.Typer(
    name="spikernn",
    help="Recurrent spiking networks: train, convert to Loihi-style Lava processes, simulate, report energy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()
err_console = Console(stderr=True)


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


@app.command()
def doctor(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    skip_lava: bool = typer.Option(False, "--skip-lava", help="Do not run the Lava smoke test."),
) -> None:
    """Check the installation: versions, whether Lava runs (float and fixed point), energy sources.

    Example: spikernn doctor --json
    """
    report: dict = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {d: _version(d) for d in ("spikernn", "torch", "snntorch", "lava-nc", "codecarbon", "nir", "nvidia-ml-py")},
    }
    if not skip_lava:
        report["lava"] = _lava_checks()
    from spikernn.energy.sources import describe_energy_sources

    report["energy_sources"] = describe_energy_sources()
    if json_output:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        _print_doctor(report)
    lava_ok = skip_lava or all(r.get("ok") for r in report["lava"].values())
    raise typer.Exit(code=0 if lava_ok else 1)


def _lava_checks() -> dict:
    results = {}
    for precision in ("float", "fixed"):
        try:
            from spikernn.hardware.lava_runner import smoke_test

            results[precision] = smoke_test(precision)
        except Exception as exc:  # doctor reports every failure instead of stopping at the first
            results[precision] = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    return results


def _print_doctor(report: dict) -> None:
    table = Table(title="spikernn doctor", show_header=True)
    table.add_column("check")
    table.add_column("result")
    table.add_row("python", f"{report['python']} ({report['platform']})")
    for name, ver in report["versions"].items():
        table.add_row(name, ver or "[red]not installed[/red]")
    for precision, res in report.get("lava", {}).items():
        if res.get("ok"):
            text = f"[green]runs[/green]: {res.get('steps')} steps of a recurrent LIF network in {res.get('seconds', 0):.2f} s, spikes match the numpy reference"
        else:
            text = f"[red]failed[/red]: {res.get('error', 'spikes differ from the reference')}"
        table.add_row(f"lava ({precision})", text)
    src = report["energy_sources"]
    table.add_row("CPU energy", src["cpu"]["summary"])
    table.add_row("GPU energy", src["gpu"]["summary"])
    console.print(table)


# ---------------------------------------------------------------------------------------------------------
# shared plumbing
# ---------------------------------------------------------------------------------------------------------
class CLIError(Exception):
    """An expected failure, reported as one line without a traceback."""


def _one_line(exc: BaseException) -> str:
    if hasattr(exc, "format_message"):  # click/typer usage errors: "Invalid value for --model: ..."
        try:
            return str(exc.format_message()).strip().splitlines()[0]
        except Exception:  # noqa: BLE001
            pass
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in text:
        text = f"{text}: {exc.filename}"
    if isinstance(exc, KeyError):
        text = text.strip("'\"")
    if isinstance(exc, (CLIError, FileNotFoundError, ValueError, KeyError)):
        return text
    return f"{type(exc).__name__}: {text}"


def friendly_errors(fn):
    """Decorator: report exceptions as ``error: <one line>`` on stderr with exit code 1 (2 for usage)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            err_console.print("error: interrupted")
            raise typer.Exit(130)
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            if os.environ.get("SPIKERNN_DEBUG"):
                raise
            err_console.print(f"error: {_one_line(exc)}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(1)

    return wrapper


@contextmanager
def _warnings_as_lines():
    """Show Python warnings raised inside as one line each (``warning: ...`` on stderr)."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            seen = set()
            for w in caught:
                line = str(w.message).strip().splitlines()[0] if str(w.message).strip() else w.category.__name__
                if line not in seen:
                    seen.add(line)
                    err_console.print(f"warning: {line}", markup=False, highlight=False, soft_wrap=True)


def _existing_file(path: Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise CLIError(f"{what} not found: {path}")
    if path.is_dir():
        raise CLIError(f"{what} must be a file, got the folder {path}")
    return path


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    v = value.lower().replace("-", "_")
    if v not in choices:
        raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}", param_hint=f"'{option}'")
    return v


def _run_info(path: Path) -> dict:
    """The training record of a checkpoint or converted network: train.json / <stem>.json next to it, or
    the record `spikernn train` keeps in the checkpoint's metadata. Empty when there is none."""
    path = Path(path)
    for cand in (path.with_name(path.name.split(".")[0] + ".json"), path.parent / "train.json"):
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


def _resolve_data(data: str, path: Optional[Path] = None) -> str:
    """``auto`` -> the data set recorded when the model was trained (train.json), else japanese_vowels."""
    from spikernn.demo import DATASETS

    if data == "auto":
        data = (_run_info(path).get("data") if path is not None else None) or "japanese_vowels"
    return _choice(data, DATASETS, "--data")


def _load_data(data: str, path: Path):
    """The data set of ``--data`` for the model/network at ``path``; a generated (synthetic) set is made with
    the seed recorded at training, so its splits are the ones the model was trained and tested on."""
    from spikernn.demo import load_dataset

    name = _resolve_data(data, path)
    info = _run_info(path)
    seed = info.get("seed", 0) if info.get("data") == name and isinstance(info.get("seed"), int) else 0
    return load_dataset(name, seed=seed)


def _load_model(path: Path):
    """spikernn.load, or the dense safetensors form the converters read (never unpickles)."""
    path = _existing_file(path, "model checkpoint")
    try:
        from spikernn.converters.files import load_model

        return load_model(path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise CLIError(f"{path} is not a spikernn model checkpoint ({_one_line(exc)})") from exc


def _load_network(path: Path):
    from spikernn.hardware.network import Network

    path = _existing_file(path, "network file")
    try:
        return Network.load(path)
    except Exception as exc:  # noqa: BLE001
        hint = " (a model checkpoint? convert it first: spikernn convert MODEL)" if "spikernn_network" in str(exc) else ""
        raise CLIError(f"{path} is not a converted spikernn network{hint}: {_one_line(exc)}") from exc


def _progress(transient: bool = False):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("{task.fields[info]}"), console=console, transient=transient)


# option types shared by the commands
DataOpt = Annotated[str, typer.Option("--data", help="Data set: japanese_vowels (packaged in sktime) or synthetic (tiny, generated).")]
DataAutoOpt = Annotated[str, typer.Option("--data", help="Data set: japanese_vowels, synthetic, or auto (the one recorded in train.json next to the file).")]
ModelOpt = Annotated[str, typer.Option("--model", help="Recurrent cell: lstm, gru or rnn.")]
DenseOpt = Annotated[bool, typer.Option("--dense", help="Train the dense (non-spiking) torch baseline instead of the spiking model.")]
HiddenOpt = Annotated[int, typer.Option("--hidden-size", min=1, help="Hidden units per layer and direction.")]
LayersOpt = Annotated[int, typer.Option("--num-layers", min=1, help="Stacked recurrent layers.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (data order, initial weights, synthetic data).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="Torch device: auto, cpu, cuda, cuda:N.")]
SplitOpt = Annotated[str, typer.Option("--split", help="Data split: train or test.")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", min=1, help="Use only N sequences, spread evenly over the split.")]


# ---------------------------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------------------------
@app.command()
@friendly_errors
def train(
    data: DataOpt = "japanese_vowels",
    model: ModelOpt = "lstm",
    dense: DenseOpt = False,
    hidden_size: HiddenOpt = 64,
    num_layers: LayersOpt = 1,
    bidirectional: Annotated[bool, typer.Option("--bidirectional", help="Bidirectional recurrent layers.")] = False,
    readout_decay: Annotated[float, typer.Option("--readout-decay", min=0.0, max=1.0, help="Spiking model: decay of the leaky-integrator readout (0 = linear readout).")] = 0.9,
    epochs: Annotated[int, typer.Option("--epochs", min=1, help="Passes over the training split.")] = 30,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Mini-batch size (per process under torchrun).")] = 32,
    lr: Annotated[float, typer.Option("--lr", min=0.0, help="Adam learning rate (cosine schedule to 0).")] = 1e-2,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    out: Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: runs/<data>-<spiking|dense>-<model>).")] = None,
) -> None:
    """Train a sequence classifier and save it (safetensors + JSON, loadable with spikernn.load).

    Writes OUT/model.safetensors and OUT/train.json (options, loss per epoch, test accuracy).
    Under torchrun it trains with DistributedDataParallel (gloo on CPU, nccl on GPU), each process on its
    share of the samples; rank 0 writes the checkpoint.

    Examples:

    \b
      spikernn train --data japanese_vowels --model lstm --epochs 30 --out runs/slstm
      spikernn train --data japanese_vowels --model lstm --dense --out runs/lstm
      spikernn train --data synthetic --model gru --hidden-size 16 --epochs 2 --out /tmp/tiny
      torchrun --standalone --nproc_per_node=2 -m spikernn train --data japanese_vowels --model lstm --epochs 1 --out runs/ddp
    """
    from spikernn import distributed as D
    from spikernn.demo import MODEL_KINDS, build_model, load_dataset
    from spikernn.training import evaluate, history_record

    model = _choice(model, MODEL_KINDS, "--model")
    data = _choice(data, ("japanese_vowels", "synthetic"), "--data")
    info, dev = D.setup(device)
    try:
        out = Path(out) if out is not None else Path("runs") / f"{data}-{'dense' if dense else 'spiking'}-{model}"
        ds = load_dataset(data, seed=seed)
        net = build_model(model, dense, input_size=ds.input_size, hidden_size=hidden_size, num_classes=ds.num_classes,
                          num_layers=num_layers, bidirectional=bidirectional, seed=seed,
                          **({} if dense else {"readout_decay": readout_decay}))
        quiet = not info.is_main
        if not quiet:
            where = f"{info.world_size} processes ({info.backend})" if info.world_size > 1 else str(dev)
            console.print(f"training {type(net).__name__}({model}, hidden {hidden_size}) on {ds.name} "
                          f"({len(ds.train)} train / {len(ds.test)} test) for {epochs} epochs on {where}")
        with _progress() as progress:
            task = progress.add_task("train", total=epochs, info="", visible=not quiet)
            res = D.train(
                net, ds.train, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=dev, info=info,
                progress=False,
                on_epoch=lambda e, loss, acc: progress.update(task, advance=1, info=f"loss {loss:.3f} acc {acc:.3f}"))
        test_acc = evaluate(net, ds.test, device=dev)["accuracy"]  # summed over the ranks under torchrun
        if info.is_main:
            import spikernn as snr

            out.mkdir(parents=True, exist_ok=True)
            ckpt = out / "model.safetensors"
            net_cpu = net.to("cpu")
            record = {"data": data, "model": model, "dense": dense, "hidden_size": hidden_size, "num_layers": num_layers,
                      "bidirectional": bidirectional, "readout_decay": None if dense else readout_decay, "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
                      "device": str(dev), "world_size": info.world_size, "backend": info.backend,
                      "checkpoint": ckpt.name, "test_accuracy": test_acc, "training": history_record(res)}
            snr.save(net_cpu, ckpt, extra={"train": {k: v for k, v in record.items() if k != "training"}})
            (out / "train.json").write_text(json.dumps(record, indent=2))
            console.print(f"test accuracy {test_acc:.3f} (train {res['train_accuracy'][-1]:.3f}) after {res['seconds']:.1f} s")
            console.print(f"saved {ckpt}")
        D.barrier(info)
    finally:
        D.finish(info)
    if info.world_size > 1:
        D.exit_worker(0)  # skip interpreter teardown of the gloo threads DDP leaves alive (see exit_worker)


# ---------------------------------------------------------------------------------------------------------
# convert
# ---------------------------------------------------------------------------------------------------------
@app.command()
@friendly_errors
def convert(
    model_path: Annotated[Path, typer.Argument(help="A checkpoint written by `spikernn train` / spikernn.save.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Network file to write (default: next to the model, <stem>-<precision>.net.safetensors).")] = None,
    precision: Annotated[str, typer.Option("--precision", help="float or fixed (bit-accurate Loihi fixed point).")] = "fixed",
    threshold: Annotated[float, typer.Option("--threshold", min=0.0, help="Sigma-delta threshold for dense models (0 = exact).")] = 0.0,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Compare the network with the torch model on a few sequences.")] = True,
    data: DataAutoOpt = "auto",
    limit: Annotated[int, typer.Option("--limit", min=1, help="Sequences used by --verify.")] = 16,
    input_range: Annotated[Optional[float], typer.Option("--input-range", min=0.0, help="Largest |x| the fixed-point network must represent (default: max |x| of the training split of --data).")] = None,
) -> None:
    """Convert a trained model into a hardware network (Loihi-style Lava processes) and save it.

    Examples:

    \b
      spikernn convert runs/slstm/model.safetensors --precision fixed
      spikernn convert runs/lstm/model.safetensors --precision float --threshold 0.01 --out runs/lstm/net.safetensors
    """
    from spikernn import converters

    precision = _choice(precision, ("float", "fixed"), "--precision")
    model_path = _existing_file(model_path, "model checkpoint")
    out = Path(out) if out is not None else model_path.with_name(f"{model_path.name.split('.')[0]}-{precision}.net.safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with _warnings_as_lines():
        kwargs: dict[str, Any] = {}
        if precision == "fixed":
            if input_range is None:  # the training inputs set the fixed-point input range
                input_range = _data_input_range(data, model_path)
            if input_range is not None:
                kwargs["input_range"] = input_range
        try:
            summary = converters.convert_file(model_path, out, precision=precision, threshold=threshold, **kwargs)
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise CLIError(f"cannot convert {model_path}: {_one_line(exc)}") from exc
    net = _load_network(out)
    console.print(f"converted {summary.get('model', 'model') if isinstance(summary, dict) else 'model'} {model_path} -> {out} "
                  f"({precision} point, {time.perf_counter() - t0:.1f} s)")
    _print_network(net)
    info = _run_info(model_path)
    if info:  # keep the training record with the network so simulate/energy find the data set
        rec = out.with_name(out.name.split(".")[0] + ".json")
        rec.write_text(json.dumps({**info, "converted_from": str(model_path), "precision": precision, "threshold": threshold}, indent=2))
    if verify:
        from spikernn.demo import net_input

        ds = _load_data(data, model_path)
        if ds.input_size != net.input_size:
            console.print(f"verify skipped: the network takes {net.input_size} features, {ds.name} has {ds.input_size} (use --data)")
            return
        sub = ds.test.subset(limit)
        m = _load_model(model_path)
        rep = converters.verify(m, net, net_input(net, sub.x), lengths=sub.lengths, backend="fast")
        console.print(f"verify on {len(sub)} {ds.name} test sequences (fast simulator vs PyTorch):")
        console.print(rep.summary(), markup=False, highlight=False)


def _data_input_range(data: str, model_path: Path) -> Optional[float]:
    """max |x| over the training split of the data set the model was trained on (None when unknown)."""
    if data == "auto" and not _run_info(model_path).get("data"):
        return None
    return float(_load_data(data, model_path).train.x.abs().max())


def _print_network(net) -> None:
    table = Table(title=f"network ({net.precision}, output {net.meta.get('output', 'sequence')})")
    for col in ("population", "kind", "size", "stage"):
        table.add_column(col)
    for p in net.populations:
        table.add_row(p.name, p.kind, str(p.size), str(p.stage) + (" reversed" if p.reverse else ""))
    console.print(table)
    n_syn = sum(int((s.weights != 0).sum()) for s in net.synapses)
    console.print(f"{len(net.synapses)} synapse blocks, {n_syn:,} nonzero synapses")


# ---------------------------------------------------------------------------------------------------------
# simulate
# ---------------------------------------------------------------------------------------------------------
@app.command()
@friendly_errors
def simulate(
    net_path: Annotated[Path, typer.Argument(help="A network written by `spikernn convert` (Network.save).")],
    data: DataAutoOpt = "auto",
    split: SplitOpt = "test",
    backend: Annotated[str, typer.Option("--backend", help="fast (batched simulator) or lava (Lava processes, Loihi2SimCfg).")] = "fast",
    limit: LimitOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Sequences per simulator call.")] = 128,
    place: Annotated[bool, typer.Option("--place/--no-place", help="Also place the network on Loihi 2 cores.")] = True,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the results to this JSON file.")] = None,
) -> None:
    """Run a converted network on a data split and print accuracy and activity.

    The lava backend runs real Lava processes and is slow: without --limit it takes the first 8 sequences.

    Examples:

    \b
      spikernn simulate runs/slstm/model-fixed.net.safetensors --data japanese_vowels --backend fast
      spikernn simulate runs/slstm/model-fixed.net.safetensors --backend lava --limit 4
    """
    from spikernn.demo import simulate_dataset

    backend = _choice(backend, ("fast", "lava"), "--backend")
    split = _choice(split, ("train", "test"), "--split")
    net = _load_network(net_path)
    ds = _load_data(data, Path(net_path))
    if ds.input_size != net.input_size:
        raise CLIError(f"the network takes {net.input_size} input features but {ds.name} has {ds.input_size} (use --data)")
    if limit is None and backend == "lava":
        limit = 8
    sub = ds.split(split).subset(limit)
    with _progress() as progress:
        task = progress.add_task(f"{backend} simulator", total=len(sub), info="")
        res = simulate_dataset(net, sub, backend=backend, batch_size=batch_size if backend == "fast" else max(1, min(batch_size, 8)),
                               on_batch=lambda n: progress.update(task, advance=n))
    placement = None
    if place:
        try:
            from spikernn.hardware.placement import annotate_hops, place as _place

            placement = _place(net)
            res["placement"] = {"cores": int(placement.cores), "chips": int(placement.chips)}
            if res.get("stats") is not None:  # events x hops between the cores they cross
                annotate_hops(res["stats"], net, placement)
                res["per_inference"] = res["stats"].per_inference()
        except ImportError:
            placement = None
    table = Table(title=f"{Path(net_path).name} on {ds.name} {split} ({len(sub)} sequences, {backend})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    if res["accuracy"] is not None:
        table.add_row("accuracy", f"{res['accuracy']:.4f}")
    else:
        table.add_row("accuracy", "n/a (not a classifier: the network outputs a sequence)")
    for k, v in res["per_inference"].items():
        table.add_row(f"{k.replace('_', ' ')} / inference", f"{v:,.1f}")
    table.add_row("time steps / inference", f"{res['steps_per_inference']:.1f}")
    table.add_row("wall time", f"{res['seconds']:.2f} s")
    if place:
        table.add_row("Loihi 2 cores / chips", f"{placement.cores} / {placement.chips}" if placement is not None
                      else "placement not available")
    console.print(table)
    if json_out is not None:
        keep = ("accuracy", "per_inference", "steps_per_inference", "seconds", "sequences", "backend", "placement")
        record = {"network": str(net_path), "data": ds.name, "split": split, **{k: res[k] for k in keep if k in res}}
        Path(json_out).write_text(json.dumps(record, indent=2))


# ---------------------------------------------------------------------------------------------------------
# energy
# ---------------------------------------------------------------------------------------------------------
@app.command()
@friendly_errors
def energy(
    model_path: Annotated[Path, typer.Argument(help="A checkpoint written by `spikernn train` / spikernn.save.")],
    data: DataAutoOpt = "auto",
    split: SplitOpt = "test",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Sequences to measure and simulate (default 64).")] = 64,
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html, report.md and report.json.")] = Path("."),
    platforms: Annotated[str, typer.Option("--platforms", help="Comma-separated rows: cpu, gpu (measured), loihi (estimated from simulated activity).")] = "cpu,gpu,loihi",
    precision: Annotated[str, typer.Option("--precision", help="Conversion behind the Loihi row: float or fixed.")] = "fixed",
    threshold: Annotated[float, typer.Option("--threshold", min=0.0, help="Sigma-delta threshold of dense models for the Loihi row (0 = exact).")] = 0.0,
    sweep: Annotated[Optional[str], typer.Option("--sweep", help="Dense models: comma-separated sigma-delta thresholds for an accuracy vs estimated Loihi energy sweep, e.g. 0,0.03,0.1,0.3.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Short measurement windows (less precise, for a first look).")] = False,
) -> None:
    """Energy report for a saved model: measured CPU/GPU energy per inference next to the estimated energy
    on Loihi-class hardware, every figure labelled measured or estimated with its method.

    Writes OUT/report.html, OUT/report.md and OUT/report.json.

    Examples:

    \b
      spikernn energy runs/slstm/model.safetensors --out reports/slstm
      spikernn energy runs/lstm/model.safetensors --data japanese_vowels --limit 32 --quick
      spikernn energy runs/lstm/model.safetensors --sweep 0,0.03,0.1,0.3 --out reports/lstm
    """
    from spikernn.demo import energy_report

    split = _choice(split, ("train", "test"), "--split")
    precision = _choice(precision, ("float", "fixed"), "--precision")
    plats = tuple(_choice(p.strip(), ("cpu", "gpu", "loihi"), "--platforms") for p in platforms.split(",") if p.strip())
    if not plats:
        raise typer.BadParameter("name at least one platform", param_hint="--platforms")
    try:
        sweep_values = [float(v) for v in sweep.split(",") if v.strip()] if sweep else []
    except ValueError:
        raise typer.BadParameter(f"{sweep!r} is not a comma-separated list of numbers", param_hint="'--sweep'")
    m = _load_model(model_path)
    from spikernn.converters.api import model_family

    if model_family(m) == "spiking" and (sweep_values or threshold):
        raise CLIError(f"--sweep and --threshold set sigma-delta thresholds of dense models; {model_path} is a spiking "
                       "model (its firing threshold is a neuron parameter)")
    ds = _load_data(data, Path(model_path))
    sub = ds.split(split).subset(limit)
    with console.status("measuring and estimating energy ..."), _warnings_as_lines():
        extra: dict[str, Any] = {}
        if sweep_values:
            extra["sweep_thresholds"] = sweep_values
        report, paths = energy_report(m, sub, out=Path(out), platforms=plats, precision=precision, quick=quick,
                                      threshold=threshold, calibration_x=ds.train.x, **extra,
                                      title=f"spikernn energy report: {Path(model_path)} on {ds.name}")
    _print_energy_rows(report)
    console.print("report: " + ", ".join(str(p) for p in paths))


def _print_energy_rows(report) -> None:
    from spikernn.energy.render import fmt_j

    from spikernn.demo import energy_rows

    table = Table(title="energy per inference")
    for col in ("platform", "energy", "counts", "kind", "method", "accuracy"):
        table.add_column(col, justify="right" if col in ("energy", "accuracy") else "left", overflow="fold")
    for row in energy_rows(report):
        method = row["method"] if row["kind"] != "unavailable" else (row.get("caveat") or row["method"])
        acc = "" if row.get("accuracy") is None else f"{100 * row['accuracy']:.1f}%"
        table.add_row(row["platform"], fmt_j(row["joules"]), row["basis"], row["kind"], method, acc)
    console.print(table)


# ---------------------------------------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------------------------------------
@app.command()
@friendly_errors
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the report (report.html/.md/.json), checkpoints and networks.")] = Path("spikernn-demo"),
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Training epochs (default 30; 2 with --quick).")] = None,
    hidden_size: HiddenOpt = 64,
    model: Annotated[str, typer.Option("--model", help="Recurrent cell of both models: lstm, gru or rnn.")] = "lstm",
    seed: SeedOpt = 0,
    quick: Annotated[bool, typer.Option("--quick", help="A very small run (for tests): 2 epochs, few sequences, short energy windows.")] = False,
    lava_sequences: Annotated[Optional[int], typer.Option("--lava-sequences", min=1, help="Test sequences run on Lava and compared with the fast simulator (default 8; 1 with --quick).")] = None,
    device: DeviceOpt = "cpu",
) -> None:
    """The main job: train a spiking LSTM (and the dense LSTM baseline) on JapaneseVowels, convert both to
    fixed point, check Lava against the fast simulator, run the test set on simulated hardware, place the
    spiking network on Loihi 2 cores, measure and estimate energy, and write the report.

    Examples:

    \b
      spikernn demo
      spikernn demo --out /tmp/demo --epochs 10 --hidden-size 32
      spikernn demo --quick --out /tmp/quick
    """
    from spikernn.demo import DemoConfig, run_demo

    from spikernn.demo import MODEL_KINDS

    cfg = DemoConfig(out=Path(out), hidden_size=hidden_size, seed=seed, quick=quick, device=device,
                     kind=_choice(model, MODEL_KINDS, "--model"))
    if epochs is not None:
        cfg.epochs = epochs
    if lava_sequences is not None:
        cfg.lava_sequences = lava_sequences
    cfg.finalize()
    result = run_demo(cfg, console=console)
    console.print(result.table())
    console.print(f"done in {result.seconds:.0f} s")
    if not result.ok:
        for problem in result.problems:
            err_console.print(f"error: {problem}", markup=False)
        raise typer.Exit(1)


def main() -> None:
    """Entry point of `python -m spikernn`."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
