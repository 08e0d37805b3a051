"""Progress of long steps: library code reports to a :class:`Progress`, the CLI draws it.

Library functions take ``progress=SILENT`` and wrap each step that can take seconds::

    with progress.step("loading links", "loaded links", total=len(links)) as advance:
        for batch in batches:
            ...
            advance(len(batch))

:class:`TerminalProgress` shows a bar with the count, rate and time left while a step runs
(on a terminal only), then one line saying what was done, how much and how fast (unless
quiet). Labels: the first in the present ("loading links"), the second in the past.

Examples
--------
>>> with SILENT.step("counting", "counted", total=3) as advance:
...     advance(3)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RichProgress, ProgressColumn, SpinnerColumn,
                           Task, TextColumn, TimeElapsedColumn, TimeRemainingColumn)
from rich.text import Text

__all__ = ["Progress", "SILENT", "TerminalProgress"]

Advance = Callable[[int], None]


class Progress:
    """Progress that shows nothing: the default of every library function."""

    @contextlib.contextmanager
    def step(self, doing: str, done: str | None = None, *, total: int | None = None,
             unit: str = "rows") -> Iterator[Advance]:
        yield lambda n=1: None


SILENT = Progress()


class _Rate(ProgressColumn):
    """Rows (or another unit) per second, once rich has measured a speed."""

    def __init__(self, unit: str):
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed:,.0f} {self.unit}/s" if task.speed else "", style="progress.data.speed")


class TerminalProgress(Progress):
    """Rich bars on stderr while steps run; one line per finished step.

    Parameters
    ----------
    console : Console
        Where to draw (the CLI's stderr console).
    quiet : bool
        Show nothing at all (``--quiet``).
    """

    def __init__(self, console: Console, *, quiet: bool = False):
        self.console = console
        self.quiet = quiet

    @contextlib.contextmanager
    def step(self, doing: str, done: str | None = None, *, total: int | None = None,
             unit: str = "rows") -> Iterator[Advance]:
        count = [0]
        started = time.perf_counter()
        if self.quiet:
            yield lambda n=1: None
            return
        if not self.console.is_terminal:  # a log, not an animation
            yield lambda n=1: count.__setitem__(0, count[0] + n)
        else:
            columns = [SpinnerColumn(), TextColumn("{task.description}")]
            if total:
                columns += [BarColumn(), MofNCompleteColumn(), _Rate(unit), TimeRemainingColumn()]
            columns.append(TimeElapsedColumn())
            with RichProgress(*columns, console=self.console, transient=True) as bars:
                task = bars.add_task(doing, total=total)

                def advance(n: int = 1) -> None:
                    count[0] += n
                    bars.advance(task, n)
                yield advance
        seconds = time.perf_counter() - started
        amount = f"{count[0]:,} {unit}, " if count[0] else ""
        rate = f", {count[0] / seconds:,.0f} {unit}/s" if count[0] and seconds > 0 else ""
        self.console.print(f"[green]✓[/green] {done or doing} ({amount}{seconds:.2f} s{rate})", highlight=False)
