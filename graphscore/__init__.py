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

from graphscore.analysis.scores import score
from graphscore.analysis.whatif import whatif
from graphscore.engine.matrix import Projection, build_projection
from graphscore.errors import (ConvergenceError, DataIssue, GraphscoreError, InvalidData,
                               InvalidModel, InvalidPolicy, StoreError)
from graphscore.io import read_path
from graphscore.model import GraphscoreWarning, Tables, load_model, validate
from graphscore.policy import Policy, load_policy, parse_policy
from graphscore.workspace import Workspace, open_workspace as open  # noqa: A004 (gs.open(db), like io.open)

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
