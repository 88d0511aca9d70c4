"""One rich progress bar style for all long work (feature extraction, training, decoding)."""

import sys

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def make_progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        # Off when stderr is not a terminal (a launcher job's log file): no thousands of redraws; train.log and the
        # stage's own summary line say what was done.
        disable=not sys.stderr.isatty(),
    )


def progress_bar(iterable, total: int, description: str):
    with make_progress() as progress:
        task = progress.add_task(description, total=total, status="")
        for item in iterable:
            yield item
            progress.advance(task)
