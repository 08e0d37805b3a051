"""graphscore: relationship-aware penalty scoring over entity graphs.

DataFrames in, DataFrames out::

    import graphscore as gs
    tables = gs.validate(gs.read_path("data/zala/entities.ftm.json"))
    policy = gs.load_policy("data/policies/joint-punishment.toml")
    scores = gs.score(tables, policy, as_of="2024-06-30")

or on a store, whose workspace keeps projections and baseline runs on disk between sessions::

    ws = gs.open("graphscore.db")
    scores = gs.score(ws, policy, as_of="2024-06-30")

Nothing is read or connected at import.
"""

import importlib
import importlib.util

# Where each public name lives, imported on first use (PEP 562): ``import graphscore`` costs
# nothing, so ``graphscore --help`` and a command that needs no model load no numeric library
# (pandas, scipy and numba took 1 s of every command to import).
_PUBLIC = {
    "score": "graphscore.analysis.scores",
    "whatif": "graphscore.analysis.whatif",
    "Projection": "graphscore.engine.matrix",
    "build_projection": "graphscore.engine.matrix",
    **dict.fromkeys(["ConvergenceError", "DataIssue", "GraphscoreError", "InvalidData", "InvalidModel",
                     "InvalidPolicy", "StoreError"], "graphscore.errors"),
    "read_path": "graphscore.io",
    **dict.fromkeys(["GraphscoreWarning", "Tables", "load_model", "validate"], "graphscore.model"),
    **dict.fromkeys(["Policy", "load_policy", "parse_policy"], "graphscore.policy"),
    "Workspace": "graphscore.workspace",
    "open": "graphscore.workspace",  # gs.open(db), like io.open: graphscore.workspace.open_workspace
}


def __getattr__(name: str):
    if name not in _PUBLIC:
        # a submodule, as ``import graphscore`` made them attributes when it imported them all (gs.io)
        if name.startswith("_") or importlib.util.find_spec(f"graphscore.{name}") is None:
            raise AttributeError(f"module 'graphscore' has no attribute {name!r}")
        return importlib.import_module(f"graphscore.{name}")
    value = getattr(importlib.import_module(_PUBLIC[name]), "open_workspace" if name == "open" else name)
    globals()[name] = value  # found once: the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


__version__ = "0.1.0"

__all__ = [
    "ConvergenceError",
    "DataIssue",
    "GraphscoreError",
    "GraphscoreWarning",
    "InvalidData",
    "InvalidModel",
    "InvalidPolicy",
    "Policy",
    "Projection",
    "StoreError",
    "Tables",
    "Workspace",
    "build_projection",
    "load_model",
    "load_policy",
    "open",
    "parse_policy",
    "read_path",
    "score",
    "validate",
    "whatif",
]
