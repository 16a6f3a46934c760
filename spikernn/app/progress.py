"""Progress of named steps, for every command and the demo: a live rich display in a terminal, and one line
per step (plus a line every few seconds on long steps) when the output is a log or a pipe, so that a
step's progress is visible either way. Progress goes to the console it is given (the CLI gives stderr, so
stdout keeps only results).

>>> steps = Steps(None)          # no console: silent, still timed
>>> with steps, steps.step("load") as advance:
...     advance(1, info="done")
>>> list(steps.timings)
['load']
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

LOG_EVERY_S = 5.0  # a log line at most this often while a long step advances (non-terminal output)


class StepSkipped(Exception):
    """Raised inside a step that cannot run here (e.g. Lava not installed): the step is shown as skipped
    with this reason; it is not a failure."""


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (just the message for the errors users cause); a first line that
    ends with a colon is followed by the other lines, joined with "; "."""
    lines = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
    text = lines[0] if lines else type(exc).__name__
    if text.endswith(":") and len(lines) > 1:  # e.g. torch's "Error(s) in loading state_dict for X:" + details
        text = " ".join([text] + ["; ".join(lines[1:])])
    if isinstance(exc, FileNotFoundError) and exc.filename and str(exc.filename) not in text:
        text = f"{text}: {exc.filename}"
    if isinstance(exc, KeyError):
        text = text.strip("'\"")
    if type(exc).__name__ == "CLIError" or isinstance(exc, (FileNotFoundError, ValueError, KeyError, StepSkipped)):
        return text
    return f"{type(exc).__name__}: {text}"


class Steps:
    """Runs named steps with progress and timing.

    Args:
        console: a ``rich.console.Console`` to show progress on, or None (silent).
        keep_going: record a failing step's exception in :attr:`problems` and go on (the demo), instead of
            re-raising it after marking the step failed (the commands).

    Attributes:
        timings: step name -> seconds. problems: "step: error" for failed steps (``keep_going``).
        skipped: step name -> reason, for steps that raised :class:`StepSkipped`.
    """

    def __init__(self, console: Any = None, *, keep_going: bool = False):
        self.console = console
        self.keep_going = keep_going
        self.live = console is not None and bool(getattr(console, "is_terminal", False))
        self.timings: dict[str, float] = {}
        self.problems: list[str] = []
        self.skipped: dict[str, str] = {}
        self.progress = self._live_progress() if self.live else None

    def _live_progress(self) -> Any:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                                   TimeElapsedColumn)
        from rich.table import Column

        class _Mark(SpinnerColumn):  # spinner while running, then a check mark, a cross or a dash
            def render(self, task):
                return task.fields.get("mark") or super().render(task)

        return Progress(
            _Mark(), TextColumn("{task.description}", table_column=Column(no_wrap=True, min_width=30)),
            BarColumn(bar_width=16), MofNCompleteColumn(table_column=Column(min_width=7, no_wrap=True)),
            TimeElapsedColumn(table_column=Column(min_width=7, no_wrap=True)),
            TextColumn("{task.fields[info]}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            console=self.console, expand=True)

    def __enter__(self) -> "Steps":
        if self.progress is not None:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def _print(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    @contextmanager
    def step(self, name: str, total: Optional[float] = None) -> Iterator[Callable[..., None]]:
        """A step; yields ``advance(n=1, info=None)``. ``total``: units of work (None: one unit, shown
        as a spinner with the time elapsed)."""
        t0 = time.perf_counter()
        state = {"done": 0.0, "info": "", "logged": t0}
        task = None
        if self.progress is not None:
            task = self.progress.add_task(name, total=total, info="", mark="")
        else:
            self._print(f"- {name} ...")

        def advance(n: float = 1, info: Optional[str] = None) -> None:
            state["done"] += n
            if info is not None:
                state["info"] = info
            if task is not None:
                self.progress.update(task, advance=n, **({"info": info} if info is not None else {}))
            elif time.perf_counter() - state["logged"] >= LOG_EVERY_S:
                state["logged"] = time.perf_counter()
                of = f"/{total:g}" if total else ""
                self._print(f"  {name}: {state['done']:g}{of}, {time.perf_counter() - t0:.0f} s"
                            + (f", {state['info']}" if state["info"] else ""))

        outcome, detail = "ok", ""
        try:
            yield advance
        except StepSkipped as exc:
            outcome, detail = "skipped", one_line(exc)
            self.skipped[name] = detail
        except Exception as exc:  # noqa: BLE001 - marked failed, then re-raised or recorded (keep_going)
            outcome, detail = "failed", one_line(exc)
            if not self.keep_going or os.environ.get("SPIKERNN_DEBUG"):
                self._finish(task, name, t0, outcome, "", state)  # the caller reports the error itself
                raise
            self.problems.append(f"{name}: {detail}")
        self._finish(task, name, t0, outcome, detail, state)

    def _finish(self, task: Any, name: str, t0: float, outcome: str, detail: str, state: dict) -> None:
        seconds = time.perf_counter() - t0
        self.timings[name] = round(seconds, 2)
        info = state["info"]
        if task is not None:
            from rich.markup import escape

            t = next(tt for tt in self.progress.tasks if tt.id == task)
            total = t.total if t.total is not None else 1
            detail = escape(detail)
            mark, text = {"ok": ("[green]✓[/green]", escape(info)),
                          "skipped": ("[yellow]-[/yellow]", f"skipped: {detail}"),
                          "failed": ("[red]✗[/red]", "[red]failed[/red]" + (f": {detail}" if detail else ""))}[outcome]
            self.progress.update(task, total=total, completed=total if outcome == "ok" else t.completed,
                                 mark=mark, info=text)
            self.progress.stop_task(task)
        else:
            mark = {"ok": "done", "skipped": "skipped", "failed": "failed"}[outcome]
            extra = detail if outcome != "ok" else info
            self._print(f"  {name}: {mark} ({seconds:.1f} s)" + (f": {extra}" if extra else ""))
