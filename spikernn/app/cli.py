"""The ``spikernn`` command line: doctor, demo, train, convert, simulate, energy (``python -m spikernn`` is the
same). Under ``torchrun``, ``train`` trains with DistributedDataParallel (see :mod:`spikernn.distributed`).

Conventions, the same for every command:

* results go to stdout (tables, or with ``--json`` one JSON object and nothing else); progress, warnings
  and errors go to stderr. ``--json`` never names a file: files have their own options (``--out``).
* progress: every step is shown with its time (live in a terminal, one line per step in a log);
* exit codes: 0 success, 1 failure (a missing or wrong file, a failed check), 2 usage (an unknown option,
  a bad option value); both kinds of error are one line, ``error: ...``, on stderr (``SPIKERNN_DEBUG=1``
  shows the traceback instead);
* ``spikernn --version`` prints the version; ``--device`` defaults to ``auto`` (cuda when available).

>>> from typer.testing import CliRunner
>>> CliRunner().invoke(app, ["--version"]).output.split()[0]
'spikernn'
"""
from __future__ import annotations

import json
import math
import os
import platform
import sys
import warnings
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from spikernn.app.progress import Steps, one_line

console = Console()                 # results (stdout)
err_console = Console(stderr=True)  # progress, warnings, errors (stderr)


class CLIError(Exception):
    """An expected failure (exit code 1), reported as one line without a traceback."""


# click's exception classes as typer uses them (recent typer vendors its own copy of click)
_ClickException = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_UsageError = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


class _Commands(TyperGroup):
    """The command group: every error becomes one ``error: ...`` line on stderr, with exit code 2 for usage
    errors (click's UsageError: unknown option, bad value, missing argument) and 1 for failures."""

    def main(self, args: Any = None, prog_name: Optional[str] = None, complete_var: Optional[str] = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        try:
            rv = super().main(args, prog_name or "spikernn", complete_var, standalone_mode=False, **extra)
            code = rv if isinstance(rv, int) else 0
            if code == 130:  # typer turns KeyboardInterrupt into exit code 130
                _error("interrupted")
        except _UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `spikernn`: the help, as a usage error
                typer.echo(exc.ctx.get_help() if exc.ctx is not None else exc.format_message(), err=True)
            else:
                hint = f" (see: {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
                _error(f"{exc.format_message()}{hint}")
            code = 2
        except _ClickException as exc:
            _error(exc.format_message())
            code = exc.exit_code
        except (KeyboardInterrupt, typer.Abort):
            _error("interrupted")
            code = 130
        except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
            if os.environ.get("SPIKERNN_DEBUG"):
                raise
            _error(one_line(exc))
            code = 1
        if standalone_mode:
            sys.exit(code)
        return code


def _error(text: str) -> None:
    err_console.print(f"error: {text}", markup=False, highlight=False, soft_wrap=True)


app = typer.Typer(
    name="spikernn",
    cls=_Commands,
    help="Recurrent spiking networks: train, convert to Loihi-style Lava processes, simulate, report energy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _show_version(value: bool) -> None:
    if value:
        import spikernn

        typer.echo(f"spikernn {spikernn.__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version_: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                           help="Print the version and exit.")] = False,
) -> None:
    """Recurrent spiking networks: train, convert to Loihi-style Lava processes, simulate, report energy."""


def main(args: Optional[list[str]] = None) -> int:
    """Entry point of ``spikernn`` and ``python -m spikernn``: runs the command line on ``args`` (default:
    ``sys.argv[1:]``) and returns the exit code (0 success, 1 failure, 2 usage)."""
    return typer.main.get_command(app).main(args, prog_name="spikernn", standalone_mode=False)


# ---------------------------------------------------------------------------------------------------------
# shared plumbing
# ---------------------------------------------------------------------------------------------------------
def _jsonable(obj: Any) -> Any:
    """Plain JSON values: paths and numpy/torch scalars become str/float/int, NaN and inf become null."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):  # numpy / torch values
        return _jsonable(obj.tolist())
    return str(obj)


def _print_json(obj: Any) -> None:
    """The results of a ``--json`` run: one JSON object on stdout."""
    typer.echo(json.dumps(_jsonable(obj), indent=2, allow_nan=False))


def _steps() -> Steps:
    """Progress of a command's steps, on stderr."""
    return Steps(err_console)


@contextmanager
def _warnings_as_lines() -> Iterator[None]:
    """Show Python warnings raised inside as one line each (``warning: ...`` on stderr)."""
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


def _resolve_data(data: str, path: Optional[Path] = None) -> str:
    """``auto`` -> the data set recorded when the model was trained (train.json), else japanese_vowels."""
    from spikernn.app.data import classification_sets
    from spikernn.app.records import run_info

    if data == "auto":
        data = (run_info(path).get("data") if path is not None else None) or "japanese_vowels"
    return _choice(data, classification_sets(), "--data")


def _load_data(data: str, path: Path):
    """The data set of ``--data`` for the model/network at ``path``; a generated (synthetic) set is made with
    the seed recorded at training, so its splits are the ones the model was trained and tested on."""
    from spikernn.app.data import load_dataset
    from spikernn.app.records import run_info

    name = _resolve_data(data, path)
    info = run_info(path)
    seed = info.get("seed", 0) if info.get("data") == name and isinstance(info.get("seed"), int) else 0
    return load_dataset(name, seed=seed)


def _load_model(path: Path):
    """spikernn.load, or the dense safetensors form the converters read (never unpickles)."""
    path = _existing_file(path, "model checkpoint")
    try:
        from spikernn.converters.files import load_model

        return load_model(path)
    except Exception as exc:  # noqa: BLE001
        raise CLIError(f"{path} is not a spikernn model checkpoint ({one_line(exc)})") from exc


def _load_network(path: Path):
    from spikernn.hardware.network import Network

    path = _existing_file(path, "network file")
    try:
        return Network.load(path)
    except Exception as exc:  # noqa: BLE001
        hint = " (a model checkpoint? convert it first: spikernn convert MODEL)" if "spikernn_network" in str(exc) else ""
        raise CLIError(f"{path} is not a converted spikernn network{hint}: {one_line(exc)}") from exc


# option types shared by the commands
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the results as one JSON object on stdout (progress and warnings go to stderr).")]
DataOpt = Annotated[str, typer.Option("--data", help="Data set: a classification set of spikernn.datasets: japanese_vowels (packaged in sktime), synthetic (tiny, generated), basic_motions, gun_point, ...")]
DataAutoOpt = Annotated[str, typer.Option("--data", help="Data set: a classification set of spikernn.datasets, or auto (the one recorded when the model was trained).")]
ModelOpt = Annotated[str, typer.Option("--model", help="Recurrent cell: lstm, gru or rnn.")]
DenseOpt = Annotated[bool, typer.Option("--dense", help="Train the dense (non-spiking) torch baseline instead of the spiking model.")]
HiddenOpt = Annotated[int, typer.Option("--hidden-size", min=1, help="Hidden units per layer and direction.")]
LayersOpt = Annotated[int, typer.Option("--num-layers", min=1, help="Stacked recurrent layers.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (data order, initial weights, synthetic data).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="Torch device for training: auto (cuda when available, else cpu), cpu, cuda, cuda:N.")]
SplitOpt = Annotated[str, typer.Option("--split", help="Data split: train or test.")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", min=1, help="Use only N sequences, spread evenly over the split.")]
PrecisionOpt = Annotated[str, typer.Option("--precision", help="float, or fixed (bit-accurate Loihi fixed point).")]


# ---------------------------------------------------------------------------------------------------------
# doctor
# ---------------------------------------------------------------------------------------------------------
def _version(dist: str) -> Optional[str]:
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


@app.command()
def doctor(
    json_output: JsonOpt = False,
    skip_lava: Annotated[bool, typer.Option("--skip-lava", help="Do not run the Lava smoke test.")] = False,
) -> None:
    """Check the installation: versions, the fast simulator's kernels (compiled with numba, or the numpy
    fallback and why), the spiking layers' training kernels (numba, or the torch loop and why), whether Lava runs (float and fixed point), energy sources.

    Lava is optional (the `lava` extra): without it doctor says how to install it and still succeeds;
    installed but failing, it exits with 1.

    Example: spikernn doctor --json
    """
    report: dict = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {d: _version(d) for d in ("spikernn", "torch", "numpy", "snntorch", "lava-nc", "codecarbon",
                                              "nir", "nvidia-ml-py", "numba")},
    }
    with _steps() as steps:
        with steps.step("fast simulator kernels") as adv:
            from spikernn.hardware import compiled

            report["fast_kernels"] = compiled.info()
            adv(1)
        with steps.step("training kernels (fused spiking layers)") as adv:
            from spikernn.fused import kernels_info

            report["training_kernels"] = kernels_info()
            adv(1)
        if not skip_lava:
            with steps.step("Lava smoke test (float and fixed point)") as adv:
                report["lava"] = _lava_checks()
                adv(1)
        with steps.step("energy sources") as adv:
            from spikernn.energy.sources import describe_energy_sources

            report["energy_sources"] = describe_energy_sources()
            adv(1)
    if json_output:
        _print_json(report)
    else:
        _print_doctor(report)
    lava = report.get("lava", {})
    lava_ok = skip_lava or not lava.get("installed", True) or all(lava[p].get("ok") for p in ("float", "fixed"))
    raise typer.Exit(code=0 if lava_ok else 1)


def _lava_checks() -> dict:
    import importlib.util

    if importlib.util.find_spec("lava") is None:
        from spikernn.hardware.lava_compat import INSTALL_HINT

        return {"installed": False, "install": INSTALL_HINT}
    results: dict[str, Any] = {"installed": True}
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
        table.add_row(name, ver or ("not installed (optional: the lava extra)" if name == "lava-nc" else "[red]not installed[/red]"))
    fk = report["fast_kernels"]
    table.add_row("fast simulator", f"[green]compiled[/green] (numba {fk['numba']}; cache: {fk['cache']})"
                  if fk["engine"] == "numba" else f"[yellow]numpy fallback[/yellow]: {fk['reason']}")
    tk = report.get("training_kernels")
    if tk:
        table.add_row("training kernels", f"[green]compiled[/green] ({tk['covers']})" if tk["engine"] == "numba"
                      else f"[yellow]torch loop[/yellow]: {tk['reason']}")
    lava = report.get("lava", {})
    if lava and not lava.get("installed", True):
        table.add_row("lava", f"not installed: backend='lava' needs it ({lava['install']})")
    for precision in ("float", "fixed"):
        res = lava.get(precision)
        if res is None:
            continue
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
# train
# ---------------------------------------------------------------------------------------------------------
@app.command()
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
    json_output: JsonOpt = False,
) -> None:
    """Train a sequence classifier and save it (safetensors + JSON, loadable with spikernn.load).

    Writes OUT/model.safetensors and OUT/train.json (options, loss per epoch, test accuracy).
    Under torchrun it trains with DistributedDataParallel (gloo on CPU, nccl on GPU), each process on its
    share of the samples; rank 0 writes the checkpoint and prints the results.

    Examples:

    \b
      spikernn train --data japanese_vowels --model lstm --epochs 30 --out runs/slstm
      spikernn train --data japanese_vowels --model lstm --dense --out runs/lstm
      spikernn train --data synthetic --model gru --hidden-size 16 --epochs 2 --out /tmp/tiny --json
      torchrun --standalone --nproc_per_node=2 -m spikernn train --data japanese_vowels --model lstm --epochs 1 --out runs/ddp
    """
    from spikernn import distributed as D
    from spikernn.app.data import load_dataset
    from spikernn.app.models import MODEL_KINDS, build_model
    from spikernn.app.records import save_trained
    from spikernn.training import evaluate, history_record

    model = _choice(model, MODEL_KINDS, "--model")
    from spikernn.app.data import classification_sets

    data = _choice(data, classification_sets(), "--data")
    info, dev = D.setup(device)
    try:
        out = Path(out) if out is not None else Path("runs") / f"{data}-{'dense' if dense else 'spiking'}-{model}"
        with Steps(err_console if info.is_main else None) as steps:
            with steps.step("load data") as adv:
                ds = load_dataset(data, seed=seed)
                adv(1, info=f"{ds.name}: {len(ds.train)} train / {len(ds.test)} test")
            net = build_model(model, dense, input_size=ds.input_size, hidden_size=hidden_size,
                              num_classes=ds.num_classes, num_layers=num_layers, bidirectional=bidirectional,
                              seed=seed, **({} if dense else {"readout_decay": readout_decay}))
            where = f"{info.world_size} processes ({info.backend})" if info.world_size > 1 else str(dev)
            with steps.step(f"train {type(net).__name__}({model}, hidden {hidden_size}) on {where}", total=epochs) as adv:
                res = D.train(net, ds.train, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=dev,
                              info=info, progress=False,
                              on_epoch=lambda e, loss, acc: adv(1, info=f"loss {loss:.3f} acc {acc:.3f}"))
            with steps.step("test") as adv:
                test_acc = evaluate(net, ds.test, device=dev)["accuracy"]  # summed over the ranks under torchrun
                adv(1, info=f"accuracy {test_acc:.3f}")
        if info.is_main:
            record = {"data": data, "model": model, "dense": dense, "hidden_size": hidden_size, "num_layers": num_layers,
                      "bidirectional": bidirectional, "readout_decay": None if dense else readout_decay,
                      "epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed, "device": str(dev),
                      "world_size": info.world_size, "backend": info.backend, "test_accuracy": test_acc,
                      "training": history_record(res)}
            ckpt = save_trained(net.to("cpu"), out, record)
            if json_output:
                _print_json({**record, "checkpoint": str(ckpt), "train_record": str(out / "train.json")})
            else:
                console.print(f"test accuracy {test_acc:.3f} (train {res['train_accuracy'][-1]:.3f}) after {res['seconds']:.1f} s")
                console.print(f"saved {ckpt}", markup=False, highlight=False)
        D.barrier(info)
    finally:
        D.finish(info)
    if info.world_size > 1:
        D.exit_worker(0)  # skip interpreter teardown of the gloo threads DDP leaves alive (see exit_worker)


# ---------------------------------------------------------------------------------------------------------
# convert
# ---------------------------------------------------------------------------------------------------------
@app.command()
def convert(
    model_path: Annotated[Path, typer.Argument(help="A checkpoint written by `spikernn train` / spikernn.save.")],
    out: Annotated[Optional[Path], typer.Option("--out", help="Network file to write (default: next to the model, <stem>-<precision>.net.safetensors, as the demo names it).")] = None,
    precision: PrecisionOpt = "fixed",
    threshold: Annotated[float, typer.Option("--threshold", min=0.0, help="Sigma-delta threshold for dense models (0 = exact).")] = 0.0,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Compare the network with the torch model on a few test sequences.")] = True,
    data: DataAutoOpt = "auto",
    limit: Annotated[int, typer.Option("--limit", min=1, help="Sequences used by --verify.")] = 16,
    input_range: Annotated[Optional[float], typer.Option("--input-range", min=0.0, help="Largest |x| the fixed-point network must represent (default: max |x| of the training split of --data).")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Convert a trained model into a hardware network (Loihi-style Lava processes) and save it.

    Writes the network and, beside it, <stem>-<precision>.json (the model's training record, so that
    `spikernn simulate` finds the data set).

    Examples:

    \b
      spikernn convert runs/slstm/model.safetensors --precision fixed
      spikernn convert runs/lstm/model.safetensors --precision float --threshold 0.01 --out runs/lstm/net.safetensors
      spikernn convert runs/slstm/model.safetensors --json
    """
    from spikernn import converters
    from spikernn.app.records import network_path, run_info, write_network_record
    from spikernn.app.simulation import net_input

    precision = _choice(precision, ("float", "fixed"), "--precision")
    model_path = _existing_file(model_path, "model checkpoint")
    out = Path(out) if out is not None else network_path(model_path, precision)
    result: dict[str, Any] = {}
    with _steps() as steps, _warnings_as_lines():
        kwargs: dict[str, Any] = {}
        known = data != "auto" or bool(run_info(model_path).get("data"))  # the data set the model was trained on
        ds = None
        if verify or (precision == "fixed" and input_range is None and known):
            with steps.step("load data") as adv:
                ds = _load_data(data, model_path)
                adv(1, info=ds.name)
        if precision == "fixed":
            if input_range is None and known:
                input_range = float(ds.train.x.abs().max())  # the training inputs set the fixed-point input range
            if input_range is not None:
                kwargs["input_range"] = input_range
        with steps.step(f"convert ({precision} point)") as adv:
            try:
                summary = converters.convert_file(model_path, out, precision=precision, threshold=threshold, **kwargs)
            except FileNotFoundError:
                raise
            except Exception as exc:  # noqa: BLE001
                raise CLIError(f"cannot convert {model_path}: {one_line(exc)}") from exc
            write_network_record(out, model_path, precision=precision, threshold=threshold)
            adv(1, info=f"{summary['populations']} populations, {summary['synapse_blocks']} synapse blocks")
        net = _load_network(out)
        result = {**summary, "network": str(out)}
        if verify and ds is not None:
            if ds.input_size != net.input_size:
                err_console.print(f"verify skipped: the network takes {net.input_size} features, {ds.name} has "
                                  f"{ds.input_size} (use --data)", markup=False)
            else:
                sub = ds.test.subset(limit)
                with steps.step(f"verify on {len(sub)} {ds.name} test sequences (fast simulator vs PyTorch)") as adv:
                    rep = converters.verify(_load_model(model_path), net, net_input(net, sub.x), lengths=sub.lengths,
                                            backend="fast")
                    result["verification"] = {"data": ds.name, "sequences": len(sub), **rep.to_dict()}
                    adv(1)
    if json_output:
        _print_json(result)
        return
    console.print(f"converted {summary['model']} {model_path} -> {out} ({precision} point)", markup=False, highlight=False)
    _print_network(net)
    if result.get("verification"):
        console.print(f"verify on {result['verification']['sequences']} {ds.name} test sequences (fast simulator vs PyTorch):")
        console.print(rep.summary(), markup=False, highlight=False)


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
def simulate(
    net_path: Annotated[Path, typer.Argument(help="A network written by `spikernn convert` (Network.save).")],
    data: DataAutoOpt = "auto",
    split: SplitOpt = "test",
    backend: Annotated[str, typer.Option("--backend", help="fast (batched simulator) or lava (Lava processes, Loihi2SimCfg; needs the lava extra).")] = "fast",
    limit: LimitOpt = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Sequences per simulator call.")] = 128,
    place: Annotated[bool, typer.Option("--place/--no-place", help="Also place the network on Loihi 2 cores.")] = True,
    stall_timeout: Annotated[Optional[float], typer.Option("--stall-timeout", min=0.001, help="lava backend: stop a run that makes no progress for this many seconds (default: no limit).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the results to this JSON file.")] = None,
    json_output: JsonOpt = False,
) -> None:
    """Run a converted network on a data split and print accuracy and activity.

    The lava backend runs real Lava processes and is slow: without --limit it takes 8 sequences. SIGINT,
    SIGTERM and SIGHUP stop it cleanly (its Lava processes ended, /dev/shm cleaned) before the command ends.

    Examples:

    \b
      spikernn simulate runs/slstm/model-fixed.net.safetensors --data japanese_vowels --backend fast
      spikernn simulate runs/slstm/model-fixed.net.safetensors --backend lava --limit 4
      spikernn simulate runs/slstm/model-fixed.net.safetensors --json --out sim.json
    """
    from spikernn.app.simulation import simulate_dataset

    backend = _choice(backend, ("fast", "lava"), "--backend")
    split = _choice(split, ("train", "test"), "--split")
    net = _load_network(net_path)
    with _steps() as steps:
        with steps.step("load data") as adv:
            ds = _load_data(data, Path(net_path))
            adv(1, info=ds.name)
        if ds.input_size != net.input_size:
            raise CLIError(f"the network takes {net.input_size} input features but {ds.name} has {ds.input_size} (use --data)")
        if limit is None and backend == "lava":
            limit = 8
        sub = ds.split(split).subset(limit)
        with steps.step(f"{backend} simulator, {len(sub)} sequences", total=len(sub)) as adv:
            opts = {"stall_timeout": stall_timeout} if backend == "lava" and stall_timeout is not None else {}
            res = simulate_dataset(net, sub, backend=backend, batch_size=batch_size if backend == "fast" else max(1, min(batch_size, 8)),
                                   on_batch=lambda n: adv(n), **opts)
        placement = None
        if place:
            with steps.step("place on Loihi 2 cores") as adv:
                from spikernn.hardware.placement import annotate_hops, place as _place

                placement = _place(net)
                res["placement"] = {"cores": int(placement.cores), "chips": int(placement.chips)}
                if res.get("stats") is not None:  # events x hops between the cores they cross
                    annotate_hops(res["stats"], net, placement)
                    res["per_inference"] = res["stats"].per_inference()
                adv(1, info=f"{placement.cores} cores on {placement.chips} chip(s)")
    keep = ("accuracy", "per_inference", "steps_per_inference", "seconds", "sequences", "backend", "placement")
    record = {"network": str(net_path), "data": ds.name, "split": split, **{k: res[k] for k in keep if k in res}}
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(_jsonable(record), indent=2))
    if json_output:
        _print_json(record)
        return
    table = Table(title=f"{Path(net_path).name} on {ds.name} {split} ({len(sub)} sequences, {backend})")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("accuracy", f"{res['accuracy']:.4f}" if res["accuracy"] is not None
                  else "n/a (not a classifier: the network outputs a sequence)")
    for k, v in res["per_inference"].items():
        table.add_row(f"{k.replace('_', ' ')} / inference", f"{v:,.1f}")
    table.add_row("time steps / inference", f"{res['steps_per_inference']:.1f}")
    table.add_row("wall time", f"{res['seconds']:.2f} s")
    if placement is not None:
        table.add_row("Loihi 2 cores / chips", f"{placement.cores} / {placement.chips}")
    console.print(table)


# ---------------------------------------------------------------------------------------------------------
# energy
# ---------------------------------------------------------------------------------------------------------
@app.command()
def energy(
    model_path: Annotated[Path, typer.Argument(help="A checkpoint written by `spikernn train` / spikernn.save.")],
    data: DataAutoOpt = "auto",
    split: SplitOpt = "test",
    limit: Annotated[Optional[int], typer.Option("--limit", min=1, help="Sequences to measure and simulate (default: the whole split).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Folder for report.html, report.md and report.json (default: the model's folder).")] = None,
    platforms: Annotated[str, typer.Option("--platforms", help="Comma-separated rows: cpu, gpu (measured), loihi (estimated from simulated activity).")] = "cpu,gpu,loihi",
    precision: Annotated[str, typer.Option("--precision", help="Conversion behind the Loihi row: float or fixed.")] = "fixed",
    threshold: Annotated[float, typer.Option("--threshold", min=0.0, help="Sigma-delta threshold of dense models for the Loihi row (0 = exact).")] = 0.0,
    sweep: Annotated[Optional[str], typer.Option("--sweep", help="Dense models: comma-separated sigma-delta thresholds for an accuracy vs estimated Loihi energy sweep, e.g. 0,0.03,0.1,0.3.")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Short measurement windows (less precise, for a first look).")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the report (as in report.json) on stdout (progress and warnings go to stderr).")] = False,
) -> None:
    """Energy report for a saved model: measured CPU/GPU energy per inference next to the estimated energy
    on Loihi-class hardware, every figure labelled measured or estimated with its method.

    Writes OUT/report.html, OUT/report.md and OUT/report.json.

    Examples:

    \b
      spikernn energy runs/slstm/model.safetensors
      spikernn energy runs/lstm/model.safetensors --data japanese_vowels --limit 32 --quick --out reports/lstm
      spikernn energy runs/lstm/model.safetensors --sweep 0,0.03,0.1,0.3 --json
    """
    from spikernn.app.reports import energy_report

    split = _choice(split, ("train", "test"), "--split")
    precision = _choice(precision, ("float", "fixed"), "--precision")
    plats = tuple(_choice(p.strip(), ("cpu", "gpu", "loihi"), "--platforms") for p in platforms.split(",") if p.strip())
    if not plats:
        raise typer.BadParameter("name at least one platform", param_hint="'--platforms'")
    try:
        sweep_values = [float(v) for v in sweep.split(",") if v.strip()] if sweep else []
    except ValueError:
        raise typer.BadParameter(f"{sweep!r} is not a comma-separated list of numbers", param_hint="'--sweep'")
    model_path = _existing_file(model_path, "model checkpoint")
    out = Path(out) if out is not None else model_path.parent
    m = _load_model(model_path)
    from spikernn.converters.api import model_family

    if (sweep_values or threshold) and model_family(m) == "spiking":
        raise CLIError(f"--sweep and --threshold set sigma-delta thresholds of dense models; {model_path} is a "
                       "spiking model (its firing threshold is a neuron parameter)")
    with _steps() as steps, _warnings_as_lines():
        with steps.step("load data") as adv:
            ds = _load_data(data, model_path)
            sub = ds.split(split).subset(limit)
            adv(1, info=f"{ds.name} {split}, {len(sub)} sequences")
        net = None
        if "loihi" in plats:
            with steps.step(f"convert for the Loihi row ({precision} point)") as adv:
                from spikernn import converters

                calib = {"calibration_x": ds.train.x} if precision == "fixed" else {}
                net = converters.to_lava(m, precision=precision, threshold=threshold, **calib)
                adv(1)
        measured = [p for p in plats if p != "loihi"]
        what = ([f"measure {'/'.join(measured)}"] if measured else []) + (["simulate and estimate Loihi"] if net else []) \
            + ([f"sweep {len(sweep_values)} thresholds"] if sweep_values else [])
        with steps.step(" + ".join(what)) as adv:
            report, paths = energy_report(m, sub, out=out, platforms=plats, network=net, precision=precision,
                                          quick=quick, threshold=threshold, calibration_x=ds.train.x,
                                          title=f"spikernn energy report: {model_path} on {ds.name} {split}",
                                          **({"sweep_thresholds": sweep_values} if sweep_values else {}))
            adv(1, info="report: " + ", ".join(p.name for p in paths))
    if json_output:
        _print_json(report.to_dict())
        return
    _print_energy_rows(report)
    console.print("report: " + ", ".join(str(p) for p in paths), markup=False, highlight=False)


def _print_energy_rows(report) -> None:
    from spikernn.app.reports import energy_rows
    from spikernn.energy.render import fmt_j

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
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the report (report.html/.md/.json), demo.json, checkpoints and networks.")] = Path("spikernn-demo"),
    epochs: Annotated[Optional[int], typer.Option("--epochs", min=1, help="Training epochs (default 30; 2 with --quick).")] = None,
    hidden_size: HiddenOpt = 64,
    model: Annotated[str, typer.Option("--model", help="Recurrent cell of both models: lstm, gru or rnn.")] = "lstm",
    seed: SeedOpt = 0,
    quick: Annotated[bool, typer.Option("--quick", help="A very small run (for tests): 2 epochs, few sequences, short energy windows.")] = False,
    lava_sequences: Annotated[Optional[int], typer.Option("--lava-sequences", min=0, help="Test sequences run on Lava and compared with the fast simulator (default 8; 1 with --quick; 0: no Lava check).")] = None,
    device: DeviceOpt = "auto",
    json_output: Annotated[bool, typer.Option("--json", help="Print the results (as in demo.json) on stdout (progress goes to stderr).")] = False,
) -> None:
    """The main job: train a spiking LSTM (and the dense LSTM baseline) on JapaneseVowels, convert both to
    fixed point, check Lava against the fast simulator, run the test set on simulated hardware, place the
    networks on Loihi 2 cores, measure and estimate energy, and write the report.

    Without Lava installed (the lava extra) the Lava check is skipped, saying so; everything else runs.

    Examples:

    \b
      spikernn demo
      spikernn demo --out /tmp/demo --epochs 10 --hidden-size 32
      spikernn demo --quick --out /tmp/quick --json
    """
    from spikernn.app.demo import DemoConfig, run_demo
    from spikernn.app.models import MODEL_KINDS

    cfg = DemoConfig(out=Path(out), hidden_size=hidden_size, seed=seed, quick=quick, device=device,
                     kind=_choice(model, MODEL_KINDS, "--model"), epochs=epochs, lava_sequences=lava_sequences)
    result = run_demo(cfg.finalize(), console=err_console)
    if json_output:
        _print_json(result.to_dict())
    else:
        console.print(result.table())
        console.print(f"done in {result.seconds:.0f} s")
    if not result.ok:
        for problem in result.problems:
            _error(problem)
        raise typer.Exit(1)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
