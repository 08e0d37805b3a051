"""Calls run one after the other in a thread of their own while the caller goes on: a streamed
load's writes to its copy of the store beside the reading and validating of its next chunk.

Why: a streamed load did its work in turn, in one thread: read and validate a chunk, copy it in
(LadybugDB's ``COPY``, and every so often a commit), then the next. LadybugDB releases the GIL
while it copies and commits, so on a machine of two cores or more the store's work and the
input's (Python, pandas, Arrow) can run at the same time; at 10^7 links the store's part is
some 200 s of CPU and the input's some 55 s. The calls keep their order and run one at a time
(one LadybugDB connection, one transaction after another), so a load writes what it wrote
before, in the same transactions; only their time moves.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

__all__ = ["Background"]


class Background:
    """A thread that makes the calls given to it (``background(function, *args)``), in order,
    at most ``waiting`` of them queued behind the one it is making: the caller waits beyond that,
    so the arguments held (a chunk's Arrow tables) stay bounded.

    Used as a context manager: leaving the block normally waits for the last call and raises the
    first error a call raised (those after it are not made); leaving it by an exception waits
    for the call under way (a ``COPY`` cannot be interrupted), makes no more and lets the
    exception go on, the calls' own errors dropped (the caller's error, e.g. every invalid row
    of the input, is the one to report). A call's error is also raised to the caller at its
    next submission, so a failed write stops the reading early.

    Examples
    --------
    >>> done = []
    >>> with Background() as later:
    ...     for n in range(3):
    ...         later(done.append, n)
    >>> done
    [0, 1, 2]
    >>> with Background() as later:
    ...     later(int, "x")
    Traceback (most recent call last):
    ...
    ValueError: invalid literal for int() with base 10: 'x'
    """

    def __init__(self, waiting: int = 1):
        self._calls: queue.Queue = queue.Queue(maxsize=waiting)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="graphscore-writer", daemon=True)

    def __enter__(self) -> "Background":
        self._thread.start()
        return self

    def __call__(self, function: Callable, *args, **kwargs) -> None:
        self._raise()
        self._calls.put((function, args, kwargs))

    def _work(self) -> None:
        while (call := self._calls.get()) is not None:
            if self._error is None:  # after an error the rest are taken off the queue, not made
                function, args, kwargs = call
                try:
                    function(*args, **kwargs)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                    self._error = exc
            del call  # its arguments go now, not when the next call comes

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def __exit__(self, kind, exc, traceback) -> None:
        self._calls.put(None)
        self._thread.join()
        if kind is None:
            self._raise()
