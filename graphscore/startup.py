"""What the ``graphscore`` command's own process leaves unloaded: library modules other
libraries import only to register or list them, which no command uses; what it does once
that libraries would do again (:data:`AFTER_IMPORT`); and its parallel loops' idle threads
asleep (:func:`wait_for_work_asleep`).

:func:`skip_unused_modules` and :func:`wait_for_work_asleep` are called by
:func:`graphscore.cli.main` alone, before any library is imported; a program using graphscore as
a library (a notebook, a server, a test) keeps its imports and threads as they are.
"""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
import types

__all__ = ["LAZY_MODULES", "LAZY_PACKAGES", "AFTER_IMPORT", "skip_unused_modules", "wait_for_work_asleep"]

# Importing scipy.sparse lists every name of numpy (scipy._lib.array_api_compat copies numpy's
# namespace), and that imports numpy's lazily loaded submodules, numpy.testing and numpy.f2py
# among them (0.06 s of CPU of every command); numba imports PyYAML (0.03 s) to read a
# .numba_config.yaml that is not there; LadybugDB imports asyncio (0.02-0.05 s) for its
# asynchronous connection, which no command opens. These are loaded on first use of one of
# their names.
LAZY_MODULES = ("numpy.testing", "numpy.f2py", "yaml", "asyncio")
# Packages whose own code runs on first use of one of its names, while their submodules import
# without it, with the names other libraries take from them at import, found in the submodule
# defining them. numba's first compiled function (loaded from its cache) checks that a BLAS is
# there by importing scipy.linalg.cython_blas, and scipy.sparse.csgraph takes LinearOperator from
# scipy.sparse.linalg: the two packages (0.1-0.2 s of CPU of every command that runs a compiled
# loop or a graph search) are used by no command but through sparse solvers. Those are the
# sparse LU of scipy.sparse.linalg._dsolve (a dossier's ultimate owners), found in their
# submodule too, with the LinAlgError it takes from scipy.linalg (numpy's): the two packages'
# code, scipy.sparse.linalg's iterative solvers and scipy.linalg's dense decompositions, then
# never runs (0.13 s of CPU of a dossier).
LAZY_PACKAGES = {"scipy.linalg": {"LinAlgError": "numpy.linalg"},
                 "scipy.sparse.linalg": {"LinearOperator": "scipy.sparse.linalg._interface",
                                         "splu": "scipy.sparse.linalg._dsolve",
                                         "spsolve": "scipy.sparse.linalg._dsolve"}}


def _load_overload(self, sig, target_context):
    """What :data:`AFTER_IMPORT` puts in place of numba's ``Cache.load_overload``: its body
    without ``target_context.refresh()``, the runtime (NRT) set up instead."""
    from numba.core.runtime import nrt

    nrt.rtsys.initialize(target_context)
    with self._guard_against_spurious_io_errors():
        return self._load_overload(sig, target_context)


# The names numba's own ``Cache.load_overload`` uses (numba 0.60-0.68): a numba whose method
# reads anything else has changed it, and keeps its own.
_NUMBA_LOAD_NAMES = ("refresh", "_guard_against_spurious_io_errors", "_load_overload")


def _loads_without_refresh(module: types.ModuleType) -> None:
    if module.Cache.load_overload.__code__.co_names == _NUMBA_LOAD_NAMES:
        module.Cache.load_overload = _load_overload


def _entry_points_read_once(module: types.ModuleType) -> None:
    """``module.entry_points`` (importlib.metadata's) reading the installed packages' entry
    points on its first call only, each call then selecting from them as it did."""
    read = module.entry_points
    found = []

    @functools.wraps(read)
    def entry_points(**params):
        if not found:  # two threads asking at once both read: the same answer
            found.append(read())
        return found[0].select(**params)

    module.entry_points = entry_points


# Modules changed right after their code ran. numba, loading a compiled function from its disk cache, first refreshes its target context:
# it imports and installs every registry of typing and lowering rules it has (unicode strings,
# typed containers, random generators, polynomials, ...: 0.1-0.2 s of CPU of the first kernel
# of every command), which only compiling reads. A cached function is machine code linked
# against symbols registered elsewhere: the C helpers and math functions when the context is
# made, the hashing secrets when numba is imported, a parallel kernel's thread pool by the
# function's own reload hooks, and the runtime's, set up here as the refresh did. Compiling
# still refreshes (numba's compiler does it before each compilation, and a lowering rule not
# found refreshes once too), so a kernel whose cache is missing or stale compiles as before.
# importlib.metadata lists entry points by reading every installed package's metadata again at
# each call: numba's first compiled function asks for its extensions' (0.03 s), networkx at
# import for its backends' twice (0.06 s); the packages installed do not change while a command
# runs, so they are read once.
AFTER_IMPORT = {"numba.core.caching": _loads_without_refresh, "importlib.metadata": _entry_points_read_once}


class _LazyFinder(importlib.abc.MetaPathFinder):
    """Finds :data:`LAZY_MODULES` as the path finder does, their loader wrapped in
    :class:`importlib.util.LazyLoader` (the recipe of the importlib documentation),
    :data:`LAZY_PACKAGES`, made as :class:`_LazyPackage`, and :data:`AFTER_IMPORT`'s modules,
    their loader followed by the change."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in LAZY_MODULES and fullname not in LAZY_PACKAGES and fullname not in AFTER_IMPORT:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        if fullname in AFTER_IMPORT:
            spec.loader = _ChangedLoader(spec.loader, AFTER_IMPORT[fullname])
        elif fullname in LAZY_PACKAGES:
            if spec.submodule_search_locations is None:  # not a package: nothing to import past it
                return None
            spec.loader = _LazyPackageLoader(spec.loader)
        else:
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


_SET_ON_IMPORT = frozenset({"__loader__", "__package__", "__spec__", "__path__", "__file__", "__cached__"})


class _LazyPackage(types.ModuleType):
    """A package whose own code has not run yet. Its ``__path__`` and ``__spec__`` are set, so
    its submodules import as usual; reading any name not set yet runs the package's code first
    (:class:`importlib.util.LazyLoader` runs it on any attribute, ``__path__`` included, so a
    submodule's import would run it)."""

    def __getattr__(self, name):
        if name in _SET_ON_IMPORT:  # asked by the import system before it sets them
            raise AttributeError(name)
        if name in LAZY_PACKAGES[self.__name__]:  # the object the package's code would bind
            value = getattr(importlib.import_module(LAZY_PACKAGES[self.__name__][name]), name)
            setattr(self, name, value)
            return value
        # one thread runs the code (a server's threads may ask at once); the others wait for it
        with _RUNNING_LOCK:
            if self.__name__ in _RUNNING:  # the package's own code asks for a name not bound yet
                raise AttributeError(name)
            if type(self) is _LazyPackage:
                loader = self.__spec__.loader.loader
                _RUNNING.add(self.__name__)
                try:
                    loader.exec_module(self)
                finally:
                    _RUNNING.discard(self.__name__)
                self.__spec__.loader = self.__loader__ = loader
                self.__class__ = types.ModuleType
        return getattr(self, name)


_RUNNING_LOCK = threading.RLock()
_RUNNING: set[str] = set()  # lazy packages whose code is running


class _LazyPackageLoader(importlib.abc.Loader):
    """Makes a :class:`_LazyPackage`; ``loader`` runs its code on first use."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return _LazyPackage(spec.name)

    def exec_module(self, module):
        pass  # deferred to _LazyPackage.__getattr__


class _ChangedLoader(importlib.abc.Loader):
    """Runs a module's code with ``loader``, then ``change`` on the module."""

    def __init__(self, loader, change):
        self.loader, self.change = loader, change

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.change(module)


def wait_for_work_asleep() -> None:
    """Let the threads of numba's parallel loops (its OpenMP layer) sleep between loops instead
    of spinning, unless the environment says otherwise (``OMP_WAIT_POLICY``). Read when the
    layer starts, at a command's first parallel loop. A command runs a few parallel loops on
    small inputs (one entity's links, its paths) between stretches of other work: spinning, the
    idle thread took a core from the one with work, and on a machine busy with other programs each
    such loop on a few hundred records took 0.04 s of CPU and 0.09 s of wall, asleep 0.2 ms
    (load average 7.6); a large loop pays a thread's wake-up, microseconds."""
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")


def skip_unused_modules() -> None:
    """Leave unloaded, in this process, what no command uses (see the module docstring).
    Idempotent."""
    if not any(isinstance(finder, _LazyFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _LazyFinder())
