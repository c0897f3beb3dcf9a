"""The progress bar of a long batch: jobs done, their rate, and the time left from bytes read.

Only the CLI creates one, and only for a terminal, so rich is imported here and
nowhere on the way to a pipe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, Progress, ProgressColumn, Task, TimeRemainingColumn
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console


class _JobsColumn(ProgressColumn):
    """Jobs answered so far and how many per second: what a person watching a batch wants."""

    def render(self, task: Task) -> Text:
        jobs = task.fields.get("jobs", 0)
        elapsed = task.elapsed or 0.0
        rate = f"{jobs / elapsed:,.0f} jobs/s" if elapsed > 0.5 else "…"
        return Text(f"{jobs:,} jobs  {rate}", style="green")


class BatchProgress:
    """A bar over the bytes of the input, labelled with jobs done; a context manager."""

    def __init__(self, total_bytes: int, redirect_stdout: bool, console: Console) -> None:
        self.progress = Progress(
            BarColumn(),
            _JobsColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            redirect_stdout=redirect_stdout,
            redirect_stderr=False,
        )
        self.task = self.progress.add_task("batch", total=max(total_bytes, 1), jobs=0)
        self.jobs = 0

    def read(self, nbytes: int) -> None:
        self.progress.advance(self.task, nbytes)

    def answered(self) -> None:
        self.jobs += 1
        self.progress.update(self.task, jobs=self.jobs)

    def __enter__(self) -> BatchProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()
