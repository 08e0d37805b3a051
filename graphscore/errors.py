"""Named failures: the model is wrong, the data is wrong, the policy is wrong, or a solver gave up."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GraphscoreError",
    "InvalidModel",
    "InvalidData",
    "InvalidPolicy",
    "ConvergenceError",
    "StoreError",
    "TooMuchWork",
    "DataIssue",
]


class GraphscoreError(Exception):
    """Base of every error graphscore raises on purpose."""


class InvalidModel(GraphscoreError):
    """The declared data model (``schema/model.toml``) is inconsistent."""


@dataclass(frozen=True)
class DataIssue:
    """One bad cell: where it is, which field, what value, and why it is refused."""

    where: str  # "links.csv:42" (file and line) or "links[3]" for in-memory tables
    field: str
    value: object
    reason: str

    def __str__(self) -> str:
        if self.value is None:  # a whole column or file, or an empty cell
            return f"{self.where}: {self.field}: {self.reason}"
        return f"{self.where}: {self.field}={self.value!r} {self.reason}"


class InvalidData(GraphscoreError):
    """Input tables break the data model; carries every issue found, not just the first.

    ``str(error)`` is one line naming the first issue and how many more there are, so a CLI
    can print it as is; ``error.issues`` lists them, up to a limit per table past which
    ``error.unlisted`` counts the rest.
    """

    def __init__(self, issues: list[DataIssue] | DataIssue, *, unlisted: int = 0):
        self.issues = [issues] if isinstance(issues, DataIssue) else list(issues)
        self.unlisted = unlisted
        first = str(self.issues[0]) if self.issues else "invalid data"
        more = len(self.issues) - 1 + unlisted
        super().__init__(first + (f" (and {more} more issue{'s' * (more > 1)})" if more else ""))


class InvalidPolicy(GraphscoreError):
    """A policy file names an unknown link type, model or value."""


class ConvergenceError(GraphscoreError):
    """An iterative model did not converge (or provably cannot)."""


class StoreError(GraphscoreError):
    """The graph store refused an operation; the store is left as it was."""


class TooMuchWork(GraphscoreError, ValueError):
    """A model run estimated to take more than an hour on the graph at hand, refused before it
    starts (:mod:`graphscore.engine.budget`)."""
