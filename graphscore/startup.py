"""What the ``graphscore`` command's own process leaves unloaded: library modules other
libraries import only to register or list them, which no command uses.

:func:`skip_unused_modules` is called by :func:`graphscore.cli.main` alone, before any library
is imported; a program using graphscore as a library (a notebook, a server, a test) keeps its
imports as they are.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

__all__ = ["LAZY_MODULES", "skip_unused_modules"]

# Importing scipy.sparse lists every name of numpy (scipy._lib.array_api_compat copies numpy's
# namespace), and that imports numpy's lazily loaded submodules, numpy.testing and numpy.f2py
# among them (0.06 s of CPU of every command); numba imports PyYAML (0.03 s) to read a
# .numba_config.yaml that is not there. These are loaded on first use of one of their names.
LAZY_MODULES = ("numpy.testing", "numpy.f2py", "yaml")


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds :data:`LAZY_MODULES` as the path finder does, their loader wrapped in
    :class:`importlib.util.LazyLoader` (the recipe of the importlib documentation)."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in LAZY_MODULES:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


def skip_unused_modules() -> None:
    """Leave unloaded, in this process, what no command uses (see the module docstring).

    No command draws in 3D: ``matplotlib.figure`` imports its 3D toolkit only to register it
    (0.1 s of CPU of each report), and finds a stand-in without ``Axes3D`` instead. Idempotent.
    """
    sys.modules.setdefault("mpl_toolkits.mplot3d", types.SimpleNamespace(Axes3D=None))
    if not any(isinstance(finder, _LazyFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LazyFinder())
