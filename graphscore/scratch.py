"""Scratch folders in the system's temporary folder that a killed process does not leave for good.

A reader that keeps rows on disk while it streams (a FollowTheMoney file's link rows,
:mod:`graphscore.io.ftm`; a stream's keys, :class:`graphscore.model.ValidatedStream`) removes its
folder when done, or when the process exits; a process killed with SIGKILL cannot. So each
folder is named after its process, and making one removes those of the same kind whose process
is gone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["scratch_folder"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, and not ours to judge
        return True
    return True


def scratch_folder(prefix: str, *, parent: str | Path | None = None) -> Path:
    """A new folder ``<prefix><pid>-<random>`` in ``parent`` (default: the system's temporary
    folder), after removing the folders ``<prefix><pid>-*`` there whose process no longer runs.

    A process id used again by a later process keeps its dead predecessor's folder until that
    one ends too: a folder is never removed while its process may still be using it.

    Examples
    --------
    >>> parent = tempfile.mkdtemp()
    >>> stale = Path(parent) / "demo-999999999-x"  # no process has this id
    >>> stale.mkdir()
    >>> made = scratch_folder("demo-", parent=parent)
    >>> stale.exists(), made.name.startswith(f"demo-{os.getpid()}-")
    (False, True)
    """
    parent = Path(tempfile.gettempdir() if parent is None else parent)
    for folder in parent.glob(f"{prefix}*-*"):
        pid = folder.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
