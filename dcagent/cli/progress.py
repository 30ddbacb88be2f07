"""Rich progress bars for long CLI work that stay silent with -q and when stderr is not a terminal."""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dcagent.cli.console import Console


@contextlib.contextmanager
def progress_bar(console: Console, description: str) -> Iterator[Callable[[int, int], None]]:
    """Yield `update(done, total)` that drives one progress bar on stderr (a no-op with -q)."""
    if console.quiet:
        yield lambda done, total: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console.err, transient=True) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


# What each stage of the compressor's search does, as the progress bar shows it.
STAGE_TITLES = {
    "reference": "running the model as given",
    "quantize": "quantizing to int8",
    "units": "pruning hidden units",
    "lowrank": "factorizing layers (low rank)",
    "statistics": "collecting layer statistics",
    "options": "building per-layer options",
    "sensitivity": "measuring layer sensitivity",
    "search": "searching the size/accuracy trade-off",
    "verify": "verifying on all samples",
}


@contextlib.contextmanager
def stage_progress(console: Console) -> Iterator[Callable[[Any], None]]:
    """Yield `report(progress)` for host.passes' `Progress(stage, done, total, message)` events:
    a bar for the running stage, and a line per finished stage with its last message (stderr;
    silent with -q)."""
    if console.quiet:
        yield lambda event: None
        return
    columns = (TextColumn("{task.description:<38}"), BarColumn(bar_width=24), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.fields[message]}"))
    with Progress(*columns, console=console.err, transient=True) as progress:
        current: dict[str, Any] = {}

        def finish() -> None:
            if current:
                progress.remove_task(current["task"])
                title = STAGE_TITLES.get(current["stage"], current["stage"])
                message = f": {current['message']}" if current["message"] and current["message"] != title else ""
                progress.console.print(f"  done  {STAGE_TITLES.get(current['stage'], current['stage'])}{message}",
                                       markup=False, highlight=False)
                current.clear()

        def report(event: Any) -> None:
            stage = str(event.stage)
            if current.get("stage") != stage:
                finish()
                current.update(stage=stage, message="",
                               task=progress.add_task(STAGE_TITLES.get(stage, stage), total=None, message=""))
            total = max(int(event.total), 1)
            current["message"] = str(event.message)
            progress.update(current["task"], completed=min(int(event.done), total), total=total,
                            message=current["message"][:48])

        yield report
        finish()
