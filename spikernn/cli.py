"""The `spikernn` command line: doctor, demo, train, convert, simulate, energy.

This is the one module of the core package that reaches the other parts (hardware, converters, energy);
it imports them inside the commands so `spikernn --help` stays fast.
"""
from __future__ import annotations

import json
import platform
import sys
from importlib.metadata import PackageNotFoundError, version

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="spikernn",
    help="Recurrent spiking networks: train, convert to Loihi-style Lava processes, simulate, report energy.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()


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


def main() -> None:
    """Entry point of `python -m spikernn`."""
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
