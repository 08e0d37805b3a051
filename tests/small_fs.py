"""A small file system for tests of a full disk: a tmpfs in a private user and mount namespace
(``unshare -rm``), which needs no root where the kernel allows unprivileged namespaces."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _small_filesystem_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


SMALL_FS = _small_filesystem_works()


def in_small_filesystem(size: str, start: Path | None, steps: str) -> subprocess.CompletedProcess:
    """Run shell ``steps`` with ``$DB``, a copy of the store ``start`` on a tmpfs of ``size``,
    in a private user and mount namespace (no root needed; it vanishes with the process)."""
    copy = 'cp -r "$START" "$DB" && ' if start is not None else ""
    script = f'mkdir -p "$ROOT" && mount -t tmpfs -o size={size} tmpfs "$ROOT" && ' + copy + steps
    env = {**os.environ, "ROOT": "/mnt", "DB": "/mnt/db", "START": str(start or "")}
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=180)


