"""What-ifs: add or lift a penalty and see every score change (DESIGN §6).

A :class:`Change` is a change to the own-penalty vector ``s``; :func:`apply_change` gives the
scores before and after it, locally by forward push under the spread model. The spillover report
(:mod:`graphscore.analysis.spillover`) is built on the same changes.

Examples
--------
>>> import graphscore as gs
>>> from graphscore.toy import fined_company
>>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
>>> gs.whatif(fined_company(), policy, lift="x", as_of="2024-01-01")[["id", "before", "after", "delta"]]
  id  before  after  delta
0  c     1.0    0.0   -1.0
1  p     0.5    0.0   -0.5
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from graphscore.analysis.scores import entity_frame, rescore_penalties
from graphscore.engine.hop import hop_change
from graphscore.engine.matrix import Projection, own_weights
from graphscore.engine.precision import change_error
from graphscore.engine.push import local_change, work_arrays_of
from graphscore.engine.run import SCORE_TOL, push_contraction_of, push_hubs_of, run_model
from graphscore.engine.spread import spread
from graphscore.model import Tables
from graphscore.policy import Combine, ModelName, Policy
from graphscore.workspace import Workspace, as_workspace

# Default accuracy of a what-if: the change at every entity is within ACCURACY x the changed
# penalty (sum of |change of s|) of the exact change, proven (engine/push.py, Notes): the 4
# significant digits reports print are exact for any change above 1e-2 of the changed penalty.
# Registries are one giant component with cycles: the tighter the accuracy, the more of it a
# push must visit (benchmarks/whatif.py).
ACCURACY = 1e-6
# A push that follows more links than this many sweeps of the solve would reaches most of the
# graph: the solve is then as fast, so the push gives up and the change is solved instead.
_PUSH_BUDGET_SWEEPS = 10
# Nor does a push that has touched this share of the entities stay local: it gives up too. A
# link followed by a push costs many times one streamed by a sweep of the solve (it jumps about
# the graph): on a 10^6-link synthetic registry under joint-punishment, three penalised entities'
# pushes reached 92-96 % of the entities and followed 8 to 13 sweeps' worth of links in 1.2 to
# 2.4 s (two gave up on links), where solving the change took 0.43 to 0.54 s; each had touched
# half of the entities after 0.3 to 0.5 sweeps' worth, 0.03 to 0.13 s (load average 6.8 on 2 cores).
_PUSH_REACH = 0.5

__all__ = ["whatif", "Change", "ChangedScores", "penalize_change", "lift_change", "attribution_change",
           "apply_change", "change_scores", "own_before_after", "prepare_whatif", "ACCURACY"]


@dataclass(frozen=True)
class Change:
    """A change to the own-penalty vector: ``s_after = s_before + delta_s``, and the penalty
    rows it consists of (with their ``weight`` at ``as_of``), so a report can cite them.
    ``as_of`` is the date of the projection the change was made on: :func:`apply_change`
    takes that projection from the workspace."""

    label: str
    seeds: tuple[int, ...]  # indices of the entities whose own penalty changes
    delta_s: np.ndarray  # the change of s at each of seeds (s elsewhere is unchanged)
    penalties: pd.DataFrame = field(default_factory=pd.DataFrame)
    as_of: pd.Timestamp | None = None

    def delta_vector(self, n: int) -> np.ndarray:
        """The change of the whole own-penalty vector, ``s_after - s_before`` (length n)."""
        delta = np.zeros(n)
        delta[list(self.seeds)] = self.delta_s
        return delta


@dataclass(frozen=True)
class _PenaltyIndex:
    """Positions of the projection's penalty rows by id and by entity, each sorted with the
    rows in table order: one what-if finds its rows by binary search, where comparing every
    row's id took milliseconds on a register of 10^7 links (made once, kept with the projection)."""

    ids: np.ndarray  # the ids, sorted
    by_id: np.ndarray  # their positions
    entities: np.ndarray  # the entity rows (idx), sorted
    by_entity: np.ndarray  # their positions
    idx: np.ndarray  # every row's entity row and weight, in table order
    weight: np.ndarray

    @staticmethod
    def of(projection: Projection) -> _PenaltyIndex:
        key = ("penalty index",)
        if key not in projection.derived:
            ids = projection.penalties["id"].to_numpy(dtype=object)
            idx = projection.penalties["idx"].to_numpy(np.int64)
            by_id, by_entity = np.argsort(ids, kind="stable"), np.argsort(idx, kind="stable")
            projection.derived[key] = _PenaltyIndex(ids[by_id], by_id, idx[by_entity], by_entity, idx,
                                                    projection.penalties["weight"].to_numpy(float))
        return projection.derived[key]

    def of_id(self, penalty_id: str) -> np.ndarray:
        probe = np.array([penalty_id], dtype=object)
        lo, hi = np.searchsorted(self.ids, probe, side="left")[0], np.searchsorted(self.ids, probe, side="right")[0]
        return np.sort(self.by_id[lo:hi])

    def of_entities(self, entities: np.ndarray) -> np.ndarray:
        lo, hi = np.searchsorted(self.entities, entities, side="left"), np.searchsorted(self.entities, entities, side="right")
        return np.sort(np.concatenate([self.by_entity[a:b] for a, b in zip(lo.tolist(), hi.tolist())]))


def _change_without(projection: Projection, rows: np.ndarray) -> tuple[tuple[int, ...], np.ndarray]:
    """The entities of the given penalty rows (positions in the table), and how their ``s``
    changes when the rows are added to a world without them: their ``s`` made again from their
    other penalties alone (the rows of the whole table at those entities, in table order, so the
    sums are own_weights')."""
    index = _PenaltyIndex.of(projection)
    seeds = np.unique(index.idx[rows])
    at = index.of_entities(seeds)
    others = at[~np.isin(at, rows)]
    slot = np.searchsorted(seeds, index.idx[others])
    rest = own_weights(pd.DataFrame({"idx": slot, "weight": index.weight[others]}), seeds.size, projection.combine)
    return tuple(seeds.tolist()), projection.s[seeds] - rest


def penalize_change(projection: Projection, entity_id: str, severity: float = 1.0, *,
                    label: str | None = None) -> Change:
    """A new penalty of ``severity`` on ``entity_id``, starting at ``as_of``."""
    if not severity > 0:
        raise ValueError(f"severity must be > 0, got {severity}.")
    idx = projection.index_of(entity_id)
    new = pd.DataFrame({"id": ["what-if"], "entity": [entity_id], "kind": ["what_if"],
                        "severity": [float(severity)], "start": [projection.as_of],
                        "idx": [idx], "weight": [float(severity)]})
    # the new row comes last in the table: own_weights would add it last (or take the larger)
    now = float(projection.s[idx])
    after = now + float(severity) if projection.combine is Combine.SUM else max(now, float(severity))
    return Change(label or f"penalise {entity_id} (severity {severity:g})", (idx,), np.array([after - now]), new,
                  projection.as_of)


def _penalty_rows(projection: Projection, entity_id: str | None, penalty_id: str | None) -> np.ndarray:
    """The positions in the penalties table of the active rows of one penalty id or one
    entity; a ValueError naming the dates when there are none, so an empty report never passes
    for "no spillover"."""
    index = _PenaltyIndex.of(projection)
    day = projection.as_of.date()
    if penalty_id is not None:
        rows = index.of_id(penalty_id)
        if not rows.size:
            raise KeyError(f"unknown penalty id {penalty_id!r}")
        if not (index.weight[rows] > 0).any():
            row = projection.penalties.iloc[rows[0]]
            window = f"{row['start'].date()} to {'open' if pd.isna(row['end']) else row['end'].date()}"
            raise ValueError(f"penalty {penalty_id!r} does not count at {day} (window {window}, "
                             "or lifted by credit repair, or not a kind this policy reads)")
    else:
        rows = index.of_entities(np.array([projection.index_of(entity_id)]))
        if not (index.weight[rows] > 0).any():
            raise ValueError(f"entity {entity_id!r} has no penalty that counts at {day}")
    return rows[index.weight[rows] > 0]


def lift_change(projection: Projection, penalty_id: str, *, label: str | None = None) -> Change:
    """Lifting one penalty at ``as_of``."""
    rows = _penalty_rows(projection, None, penalty_id)
    seeds, delta = _change_without(projection, rows)
    return Change(label or f"lift {penalty_id}", seeds, -delta, projection.penalties.iloc[rows], projection.as_of)


def attribution_change(projection: Projection, *, entity_id: str | None = None,
                       penalty_id: str | None = None, label: str | None = None) -> Change:
    """The active penalties of one entity (or one penalty) added to a world without them.

    Used with ``baseline="without"``: ``before`` is then the world without them and ``after``
    the world as it is, so the change is exactly their spillover.
    """
    if (entity_id is None) == (penalty_id is None):
        raise ValueError("give exactly one of entity_id or penalty_id.")
    rows = _penalty_rows(projection, entity_id, penalty_id)
    seeds, delta = _change_without(projection, rows)
    label = label or (f"penalties of {entity_id}" if entity_id else f"penalty {penalty_id}")
    return Change(label, seeds, delta, projection.penalties.iloc[rows], projection.as_of)


def own_before_after(projection: Projection, change: Change, *,
                     baseline: str = "current") -> tuple[np.ndarray, np.ndarray]:
    """Own-penalty vectors ``(s_before, s_after)`` of a change (see :func:`apply_change`)."""
    seeds, s_other = _other_side(projection, change, baseline)
    s_now = projection.s
    s_changed = s_now.copy()
    s_changed[seeds] = s_other
    return (s_changed, s_now) if baseline == "without" else (s_now, s_changed)


def _other_side(projection: Projection, change: Change, baseline: str) -> tuple[np.ndarray, np.ndarray]:
    """The seeds and their own penalties on the side of the change that is not the data as it
    is: after it (``baseline="current"``) or before it (``"without"``)."""
    if baseline not in ("current", "without"):
        raise ValueError(f"baseline must be 'current' or 'without', got {baseline!r}.")
    seeds = np.asarray(change.seeds, dtype=np.int64)
    sign = -1.0 if baseline == "without" else 1.0
    # clip float dust left by subtracting one sum from another
    return seeds, np.clip(projection.s[seeds] + sign * np.asarray(change.delta_s, dtype=float), 0, None)


@dataclass(frozen=True)
class ChangedScores:
    """Scores before and after a change, and how the change was computed: the scores of the
    data as it is (``base``, the workspace's baseline run, not copied) and, at the entities the
    change moves, the scores on the other side of it, so that the answer costs what the change
    reaches, not the register; ``before`` and ``after`` spell out all n scores when asked.

    Attributes
    ----------
    base : (n,) ndarray
        The scores of the data as it is: ``before`` when ``baseline`` is ``"current"``, else ``after``.
    indices : (k,) ndarray of int
        Sorted; the entities whose score the change moves (every other keeps its ``base`` score).
    other : (k,) ndarray
        Their scores on the other side of the change (``after``, or ``before`` under ``"without"``).
    baseline : str
        ``"current"`` (the change applied to the data) or ``"without"`` (the data is the world with it).
    method : str
        ``"push"`` (local, :func:`graphscore.engine.push.local_change`), ``"solve"`` (the
        change solved over the whole graph), ``"local"`` (the hop model run where the change
        can reach, :func:`graphscore.engine.hop.hop_change`) or ``"recompute"`` (the model run
        with and without it).
    error : float
        Proven bound on the error of ``after - before`` at any entity (0 for ``local`` and
        ``recompute``, which carry the model's own accuracy).
    reached : int
        Entities whose score the change moves (``len(indices)``).
    note : str
        One sentence for a report: method, accuracy, reach.
    """

    base: np.ndarray
    indices: np.ndarray
    other: np.ndarray
    baseline: str
    method: str
    error: float
    reached: int
    note: str

    @property
    def delta(self) -> np.ndarray:
        """``after - before`` at ``indices``."""
        moved = self.other - self.base[self.indices]
        return -moved if self.baseline == "without" else moved

    def _changed(self) -> np.ndarray:
        scores = self.base.copy()
        scores[self.indices] = self.other
        return scores

    @property
    def before(self) -> np.ndarray:
        """All n scores before the change."""
        return self._changed() if self.baseline == "without" else self.base

    @property
    def after(self) -> np.ndarray:
        """All n scores after the change."""
        return self.base if self.baseline == "without" else self._changed()


def _moved(base: np.ndarray, entities: np.ndarray, scores: np.ndarray, *,
           base_at: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Of ``entities`` (sorted) and their ``scores`` on the other side of a change, those that
    moved (``base_at``: ``base[entities]``, where the caller has it)."""
    moved = scores != (base[entities] if base_at is None else base_at)
    return entities[moved], scores[moved]


def _from_runs(before: np.ndarray, after: np.ndarray, baseline: str, method: str, error: float, note: str) -> ChangedScores:
    """A :class:`ChangedScores` from two whole runs of the model."""
    base, other = (after, before) if baseline == "without" else (before, after)
    indices = np.flatnonzero(other != base)
    return ChangedScores(base, indices, other[indices], baseline, method, error, int(indices.size), note)


def change_scores(source: Tables | Workspace, policy: Policy, change: Change, *, baseline: str = "current",
                  method: str = "auto", accuracy: float = ACCURACY) -> ChangedScores:
    """Scores before and after a change, with the method and a proven error bound.

    The change applies to the workspace's projection under ``policy`` at ``change.as_of`` (the
    one it was made on); ``baseline="without"`` takes the change as already present
    (attribution: before = without it, after = as is). Under the spread model it is local: one
    column of ``(I - damping W)^-1`` per changed entity by forward push
    (:mod:`graphscore.engine.push`, Andersen, Chung & Lang 2006), at a cost that follows the
    region it reaches, added to the workspace's baseline run (solved once per policy and date,
    and cached with the store). The change at every entity is within ``accuracy`` times the
    changed penalty of the exact one. Where the change reaches most of the graph the push gives
    up and the change is solved over the whole graph to the same accuracy, and the note says so.
    Under the hop model only the entities within ``max_hops`` links downstream of the change can
    move, and the model is run there alone (exact). Under the other models the model runs on the
    changed penalties, and the unchanged side is the workspace's baseline run. ``method="solve"``
    runs the spread on both penalty vectors instead.

    Under spread (push) and hop the answer is read and made at the entities the change reaches
    alone: nothing over all n entities is copied or scanned (:class:`ChangedScores`).
    """
    if method not in ("auto", "solve"):
        raise ValueError(f"method must be 'auto' or 'solve', got {method!r}.")
    if not 0 < accuracy < 1:
        raise ValueError(f"accuracy must be in (0, 1), got {accuracy!r}.")
    ws = as_workspace(source)
    projection = ws.projection(policy, change.as_of)
    if projection.layers:  # link_time = "at_penalty": the penalties, not s, say which links carry them
        before, after = _layered_before_after(ws, policy, change, baseline)
        moved = int(np.count_nonzero(after != before))
        return _from_runs(before, after, baseline, "recompute", 0.0,
                          f"the model was run with and without the change, each penalty over the links in force "
                          f"when it started ({moved:,} entities move)")
    seeds, s_other = _other_side(projection, change, baseline)
    if policy.model is ModelName.SPREAD and method == "auto":
        # the data as it is (s) is always one side: its scores are the workspace's baseline run
        base = ws.baseline(policy, change.as_of).total
        delta_s = s_other - projection.s[seeds]  # other side minus the data, at the seeds
        changed = np.flatnonzero(delta_s)
        scale = float(np.abs(delta_s[changed]).sum())
        certificate = push_contraction_of(projection, policy.damping)
        local = local_change(projection.W_by_source, {int(seeds[i]): float(delta_s[i]) for i in changed},
                             damping=policy.damping, tol=accuracy, certificate=certificate,
                             hubs=push_hubs_of(projection, policy.damping),
                             budget=_PUSH_BUDGET_SWEEPS * max(projection.W.nnz, projection.n),
                             reach=int(_PUSH_REACH * projection.n), work=work_arrays_of(projection))
        if local.complete:
            base_at = base[local.indices]
            indices, other = _moved(base, local.indices, base_at + local.values, base_at=base_at)
            how, error = "push", local.error
            delta_x, at = local.values, local.indices
            note = (f"the change was computed locally by forward push, {local.pushes:,} pushes reaching "
                    f"{indices.size:,} entities ({indices.size / max(projection.n, 1):.1%})")
        else:
            # split by sign: spread takes non-negative penalties; each half to half the accuracy
            halves = np.zeros((projection.n, 2))
            halves[seeds, 0], halves[seeds, 1] = np.clip(delta_s, 0, None), np.clip(-delta_s, 0, None)
            solved = spread(projection.W, halves, damping=policy.damping, tol=0.0, atol=accuracy * scale / 2,
                            certificate=certificate)
            delta_x = solved[:, 0] - solved[:, 1]
            indices, other = _moved(base, np.arange(projection.n), base + delta_x)
            how, error, at = "solve", accuracy * scale, slice(None)
            note = (f"the change reaches most of the graph (the push touched {local.indices.size:,} entities and "
                    f"followed {local.links:,} links before it gave up), so it was solved over all {projection.n:,} entities")
        baseline_accuracy = f"{SCORE_TOL:g} x the largest"
        if projection.W.dtype == np.float32:
            # W's values in float32: the change solved is W~'s; how far it may lie from W's
            # (engine/precision.py), from its v-norm, the one computed plus its own error
            error += change_error(float(np.abs(delta_x / certificate.weights[at]).max(initial=0.0)) + error, certificate)
            baseline_accuracy = f"{ws.baseline(policy, change.as_of).attrs['error_bound']:.2g}, W's values in float32"
        note += (f"; the change at every entity is within {error:.2g} of exact (proven bound; the baseline "
                 f"scores within {baseline_accuracy})")
        return ChangedScores(base, indices, other, baseline, how, float(error), int(indices.size), note)
    if policy.model is ModelName.HOP and method == "auto":
        # a hop score reads penalties at most max_hops links upstream, so only entities that
        # close downstream of the change move: worked out there, exactly, beside the baseline
        base = ws.baseline(policy, change.as_of).total
        entities, scores = hop_change(projection.W, projection.s, base, seeds, s_other, damping=policy.damping,
                                      max_hops=policy.max_hops, aggregate=policy.aggregate.value,
                                      by_source=projection.W_by_source)
        indices, other = _moved(base, entities, scores)
        return ChangedScores(base, indices, other, baseline, "local", 0.0, int(indices.size),
                             f"the model was run on the entities within {policy.max_hops} links downstream of the "
                             f"change, the only ones it can move ({indices.size:,} do); exact")
    s_before, s_after = own_before_after(projection, change, baseline=baseline)
    if policy.model.is_linear:  # one solve for both columns
        both = run_model(projection, policy, np.column_stack([s_before, s_after])).total
        before, after = both[:, 0], both[:, 1]
    else:
        before, after = (_totals(ws, projection, policy, change.as_of, s) for s in (s_before, s_after))
    moved = int(np.count_nonzero(after != before))
    return _from_runs(before, after, baseline, "recompute", 0.0,
                      f"the model was run with and without the change ({moved:,} entities move)")


def prepare_whatif(source: Tables | Workspace, policy: Policy, as_of: dt.date | str | None = None) -> None:
    """Work out once what every what-if under ``policy`` at ``as_of`` reads about the whole
    register: the baseline run, where each penalty's rows are, and, under spread and hop, ``W`` by source; under spread also its
    convergence certificate and the bound on a push's error at the hubs (a few solves with
    ``W.T``, :func:`graphscore.engine.push.hub_bound`; both kept with the workspace's projection) and the compiled push and
    solve loaded, so that the first what-if costs what the next ones do. A server does this before it listens.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> ws = gs.Workspace(fined_company())
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> prepare_whatif(ws, policy, "2024-01-01")
    >>> ("contraction", 0.5, False) in ws.projection(policy, "2024-01-01").derived
    True
    """
    ws = as_workspace(source)
    projection = ws.projection(policy, as_of)
    ws.baseline(policy, as_of)
    _PenaltyIndex.of(projection)
    if policy.model is ModelName.SPREAD and not projection.layers and projection.n:
        certificate = push_contraction_of(projection, policy.damping)
        # The push's and the solve's compiled loops load on their first call in a process (a few
        # tenths of a second): a push that stops at once, and a solve to a loose tolerance.
        local_change(projection.W_by_source, {0: 1.0}, damping=policy.damping, tol=ACCURACY, certificate=certificate,
                     hubs=push_hubs_of(projection, policy.damping), budget=0, work=work_arrays_of(projection))
        spread(projection.W, np.eye(1, projection.n).ravel(), damping=policy.damping, tol=0.5, certificate=certificate)
    elif policy.model is ModelName.HOP and not projection.layers:
        projection.W_by_source  # noqa: B018 (the compressed columns a local hop what-if follows, made once)


def _totals(ws: Workspace, projection: Projection, policy: Policy, as_of, s: np.ndarray) -> np.ndarray:
    """Total scores for own penalties ``s``: the workspace's baseline run when ``s`` is the data
    as it is (run once already), else a run of the model (e.g. where clipping float dust moved s)."""
    return (ws.baseline(policy, as_of) if np.array_equal(s, projection.s) else run_model(projection, policy, s)).total


def apply_change(source: Tables | Workspace, policy: Policy, change: Change, *, baseline: str = "current",
                 method: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """Scores ``(before, after)`` for a change: :func:`change_scores` without the account of
    how they were computed."""
    result = change_scores(source, policy, change, baseline=baseline, method=method)
    return result.before, result.after


def _layered_before_after(ws: Workspace, policy: Policy, change: Change, baseline: str) -> tuple[np.ndarray, np.ndarray]:
    """Scores before and after a change under ``link_time = "at_penalty"``, recomputed from the
    penalties table with the change's rows taken out (a lift, or the world without them) or
    added (a new penalty, starting at ``as_of``)."""
    current = ws.tables.penalties
    existing = current["id"].isin(change.penalties["id"])
    now = ws.baseline(policy, change.as_of).total
    if baseline == "without" or existing.any():
        without = rescore_penalties(ws, policy, change.as_of, current[~existing])
        return (without, now) if baseline == "without" else (now, without)
    added = change.penalties.reindex(columns=current.columns).astype(current.dtypes.to_dict(), errors="ignore")
    return now, rescore_penalties(ws, policy, change.as_of, pd.concat([current, added], ignore_index=True))


def whatif(source: Tables | Workspace, policy: Policy, *, penalize: str | None = None, severity: float = 1.0,
           lift: str | None = None, as_of: dt.date | str | None = None, accuracy: float = ACCURACY) -> pd.DataFrame:
    """Every entity's score before and after penalising one entity or lifting one penalty.

    Returns columns ``id, name, kind, before, after, delta``; ``attrs["notes"]`` says how the
    change was computed and its proven error bound (``attrs["error"]``; ``accuracy`` as in
    :func:`change_scores`). Under
    ``missing_share = "bounds"`` it uses the low end. ``source`` is validated tables or a
    :class:`~graphscore.workspace.Workspace`, whose projection and baseline run are reused.
    """
    if (penalize is None) == (lift is None):
        raise ValueError("give exactly one of penalize or lift.")
    ws = as_workspace(source)
    projection = ws.projection(policy, as_of)
    change = penalize_change(projection, penalize, severity) if penalize else lift_change(projection, lift)
    result = change_scores(ws, policy, change, accuracy=accuracy)
    frame = entity_frame(ws, projection, before=result.before, after=result.after, delta=result.after - result.before)
    frame.attrs["change"] = change.label
    frame.attrs["notes"] = frame.attrs["notes"] + [result.note]
    frame.attrs["error"] = result.error
    return frame
