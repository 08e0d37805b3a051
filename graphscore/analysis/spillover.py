"""Spillover report: who one penalty (or one entity's penalties, or a what-if) affects, by how
much, and through which paths (DESIGN §7).

The report is data first (:class:`SpilloverReport`, DataFrames and a manifest); rendering to
HTML, Markdown, JSON and SVG lives in :mod:`graphscore.report.render`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy as sp

from graphscore.analysis.display import Networked
from graphscore.analysis.manifest import build_manifest
from graphscore.analysis.whatif import (ACCURACY, Change, ChangedScores, attribution_change, change_scores, lift_change,
                                        own_before_after, penalize_change)
from graphscore.engine.matrix import Projection
from graphscore.engine.paths import describe_paths, format_path, last_hop_types, strongest_paths
from graphscore.model import Tables
from graphscore.policy import Combine, Policy
from graphscore.workspace import Workspace, as_workspace

__all__ = ["SpilloverReport", "spillover", "spillover_report", "whatif_spillover"]


@dataclass
class SpilloverReport(Networked):
    """Everything a spillover report shows.

    Attributes
    ----------
    title, scenario : str
        What is reported on ("penalties of LLC CST") and the change behind it.
    affected : DataFrame
        One row per entity whose score changes, largest change first: ``id, name, kind,
        own_penalised`` (has an own penalty before or after the change), ``before, after,
        change``, ``hops`` (fewest links from a source), ``path_strength`` and ``path`` (text)
        of the *strongest* path, which may take more hops than the shortest, ``reached_by``
        (link type of its last hop) and ``path_hops`` (list of hop dicts, see ``describe_path``;
        an empty tuple past the ``top_paths`` described).
    by_kind, by_link_type, by_hop : DataFrame
        Counts of affected entities and their summed change: by entity kind, by the link type
        of the last hop on their strongest path (how the penalty reached them), by hop distance.
    collateral : DataFrame
        Entities with no own penalty that the change moves across ``threshold``.
    penalties : DataFrame
        The penalties the change consists of: ``id, entity, name, kind, severity, weight``
        (at ``as_of``, after decay), ``counted`` (whether it makes its entity's own weight:
        under ``combine = "max"`` only the heaviest does), ``start, end, authority, source_ref``.
    manifest : dict
        graphscore version, policy and its hash, data fingerprint, as-of date, time of writing.
    """

    _principal = "affected"  # to_pandas() and the notebook view (graphscore.analysis.display)

    title: str
    scenario: str
    threshold: float
    affected: pd.DataFrame
    by_kind: pd.DataFrame
    by_link_type: pd.DataFrame
    by_hop: pd.DataFrame
    collateral: pd.DataFrame
    manifest: dict
    penalties: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    def listing(self, top: int) -> tuple[pd.DataFrame, dict]:
        """The rows a written report lists, and what the others add up to.

        The first ``top`` rows of :attr:`affected` (the largest changes) and every source
        beyond them; the others, all reached (``hops > 0``), summed up as ``entities`` (how
        many), ``total_change`` (their summed change) and ``largest_change`` (the largest
        absolute change among them, None when there are none). A change that reaches 3 x 10^5
        entities wrote 120 MB of JSON in 40 s; the table itself keeps every row.

        Examples
        --------
        >>> import graphscore as gs
        >>> from graphscore.toy import fined_company
        >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
        >>> shown, rest = spillover(fined_company(), policy, penalty="x", as_of="2024-01-01").listing(0)
        >>> shown["id"].tolist(), rest
        (['c'], {'entities': 1, 'total_change': 0.5, 'largest_change': 0.5})
        """
        affected = self.affected
        keep = (np.arange(len(affected)) < top) | (affected["hops"].to_numpy() == 0)
        # the column's values summed, not a Series of 3 x 10^5 rows made to sum them (as pandas
        # sums: missing values count zero)
        rest = affected["change"].to_numpy()[~keep]
        return affected[keep], {"entities": int(rest.size), "total_change": float(np.nansum(rest)),
                                "largest_change": float(np.nanmax(np.abs(rest))) if rest.size else None}

    def summary(self) -> dict:
        """Headline figures."""
        # from the two columns read, not a copy of every column of the rows reached (each
        # format asks: three copies of 3 x 10^5 rows)
        hops = self.affected["hops"].to_numpy()
        reached = hops > 0
        return {
            "entities_affected": int(reached.sum()),
            "total_change": float(np.nansum(self.affected["change"].to_numpy()[reached])),
            "max_hops": int(hops[reached].max()) if reached.any() else 0,
            "collateral": int(len(self.collateral)),
        }


_PENALTY_COLUMNS = ["id", "entity", "name", "kind", "severity", "weight", "counted", "start", "end",
                    "authority", "source_ref"]


def _penalty_table(rows: pd.DataFrame, projection: Projection, names: pd.Series) -> pd.DataFrame:
    """The change's penalty rows as a report shows them: heaviest first, with entity names,
    and whether each counts in its entity's own weight (under ``combine = "max"`` only the
    heaviest of an entity's penalties does)."""
    if rows.empty:
        return pd.DataFrame(columns=_PENALTY_COLUMNS)
    if projection.combine is Combine.SUM:
        counted = rows["weight"] > 0
    else:
        # a what-if's own penalty is not in the projection: it competes with the entity's others
        # (those of the change's entities only: the heaviest of each is all that is asked)
        others = projection.penalties[projection.penalties["entity"].isin(rows["entity"])]
        active = pd.concat([others, rows[~rows["id"].isin(others["id"])]])
        active = active[active["weight"] > 0]
        heaviest = active.sort_values(["weight", "id"], ascending=[False, True]).drop_duplicates("entity")["id"]
        counted = rows["id"].isin(heaviest)
    table = rows.assign(name=rows["entity"].map(names), counted=counted.to_numpy())
    table = table.reindex(columns=_PENALTY_COLUMNS)
    return table.sort_values(["weight", "id"], ascending=[False, True], ignore_index=True)


def _path_projection(projection: Projection, change: Change) -> Projection:
    """The links a change's paths run over: the projection's own, or under ``link_time =
    "at_penalty"`` those in force when the change's penalties started (the layers holding them;
    a new penalty starts at ``as_of``, over the projection's own links)."""
    ids = set(change.penalties["id"])
    layers = [layer for layer in projection.layers if layer.penalties["id"].isin(ids).any()]
    if not layers:
        return projection
    if len(layers) == 1:
        return layers[0]
    W = layers[0].W
    for layer in layers[1:]:
        W = W.maximum(layer.W)
    source = layers[0].source.at(*(layer.source.dates[0] for layer in layers))  # the union of their links
    return dataclasses.replace(layers[0], W=sp.sparse.csr_array(W), source=source, links_at=None)


# The dtype pandas gives a column of Python strings: its Arrow-backed "str" since pandas 3
_TEXT = pd.Series(np.array(["text"], dtype=object)).dtype


def _text(values) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """Strings (None for none) as the column pandas makes of them, made by pyarrow at once
    where that column is Arrow's: pandas checks each string in Python first (for the names of
    the 3.2 x 10^5 entities a change reaches at 10^6 links 0.12 s, against 0.08), the same
    column. As they are where pandas keeps strings as objects.

    Examples
    --------
    >>> pd.Series(_text(np.array(["a", None], dtype=object))).equals(pd.Series(np.array(["a", None], dtype=object)))
    True
    """
    if not (isinstance(_TEXT, pd.StringDtype) and _TEXT.storage == "pyarrow"):
        return values
    return pd.arrays.ArrowStringArray(pa.array(values, type=pa.large_string(), from_pandas=True), dtype=_TEXT)


def _group(affected: pd.DataFrame, by: str) -> pd.DataFrame:
    if affected.empty:
        return pd.DataFrame({by: [], "entities": [], "total_change": []})
    grouped = affected.groupby(by, dropna=False)["change"].agg(entities="size", total_change="sum")
    return grouped.reset_index().sort_values("entities", ascending=False, kind="stable", ignore_index=True)


def spillover_report(source: Tables | Workspace, policy: Policy, change: Change, *,
                     baseline: str = "current", title: str | None = None,
                     threshold: float | None = None, top_paths: int = 500,
                     scores: ChangedScores | None = None) -> SpilloverReport:
    """Build the spillover report of one change to the penalties.

    Parameters
    ----------
    source : Tables or Workspace
        Validated tables, or the workspace holding them (names, kinds, fingerprint, and the
        projection and baseline run under ``policy`` at the change's ``as_of``).
    policy : Policy
    change : Change
        From :func:`graphscore.analysis.whatif.attribution_change` (an existing penalty's spillover,
        with ``baseline="without"``), ``penalize_change`` or ``lift_change``, made on the
        workspace's projection under ``policy``.
    threshold : float, optional
        Collateral threshold; the policy's ``threshold`` by default.
    top_paths : int
        Paths are described for this many of the most affected entities (path search is cheap;
        describing each hop is not, on very large reports).
    scores : ChangedScores, optional
        The change's scores (:func:`~graphscore.analysis.whatif.change_scores` with this
        ``baseline``), where the caller has them already; computed here otherwise.
    """
    ws = as_workspace(source)
    projection = ws.projection(policy, change.as_of)
    scored = projection  # the projection whose s the report reads
    projection = _path_projection(projection, change)
    threshold = policy.threshold if threshold is None else threshold
    scores = scores or change_scores(ws, policy, change, baseline=baseline)
    before, after = scores.before, scores.after
    delta = after - before
    scale = max(np.abs(delta).max(initial=0.0), 1e-300)
    changed = np.flatnonzero(np.abs(delta) > 1e-12 * scale)
    # the paths the report shows lead to the entities the change reaches: search no further
    # W by source, as the change's push read it: no conversion of W for the search
    tree = strongest_paths(projection.W_by_source, change.seeds, damping=policy.path_damping, targets=changed)

    # largest change first (stable): the rows put in that order once, before the table is made
    # (a table of 3 x 10^5 rows reordered afterwards took 0.25 s, its text columns most of it)
    rows = changed[np.argsort(-np.abs(delta[changed]), kind="stable")]
    s_before, s_after = own_before_after(scored, change, baseline=baseline)
    hops = tree.hops[rows]
    reached_by = last_hop_types(projection, tree, rows)
    reached_by[hops == 0] = "source"
    paths = [tree.path_to(int(row)) for row in rows[:top_paths]]
    described = describe_paths(projection, paths)
    # names by row, for the entities on the paths alone (a lookup by id per hop took 0.8 ms: 1.6 s
    # of a report at 10^6 links)
    named = np.unique(np.concatenate([np.asarray(path, dtype=np.int64) for path in paths] or [np.empty(0, np.int64)]))
    names_of = dict(zip(projection.ids[named].tolist(), ws.names.iloc[named].tolist()))
    rest = len(rows) - len(described)
    # the projection's rows are the entities' in table order (Workspace.ids): taken by position,
    # not looked up by id (0.08-0.12 s for the 320,000 entities a change reaches at 10^6 links),
    # from the two columns shown
    # (the text columns made by pyarrow: _text)
    affected = pd.DataFrame({
        "id": projection.ids[rows], "name": _text(ws.entities["name"].to_numpy()[rows]),
        "kind": _text(ws.entities["kind"].to_numpy()[rows]),
        "own_penalised": (s_before[rows] > 0) | (s_after[rows] > 0),
        "before": before[rows], "after": after[rows], "change": delta[rows],
        "hops": hops, "path_strength": tree.strength[rows], "reached_by": _text(reached_by),
        # one shared empty tuple for the rest: 10^5 new lists cost more than the report's paths
        "path_hops": described + [()] * rest,
        "path": _text([format_path(names_of, hops) for hops in described] + [""] * rest),
    })
    affected["hops"] = affected["hops"].astype(int)

    crosses = (((affected["before"] < threshold) & (affected["after"] >= threshold))
               | ((affected["after"] < threshold) & (affected["before"] >= threshold)))
    collateral = affected[crosses & ~affected["own_penalised"] & (affected["hops"] > 0)].reset_index(drop=True)
    # the columns grouped alone: a copy of every column of 3 x 10^5 rows took 0.1 s
    reached = affected.loc[affected["hops"] > 0, ["kind", "reached_by", "hops", "change"]]
    return SpilloverReport(
        title=title or f"Spillover: {change.label}",
        scenario=change.label,
        threshold=threshold,
        affected=affected,
        by_kind=_group(reached, "kind"),
        by_link_type=_group(reached, "reached_by").rename(columns={"reached_by": "link_type"}),
        by_hop=_group(reached, "hops").sort_values("hops", ignore_index=True),
        collateral=collateral,
        manifest=build_manifest(ws, policy, scored.as_of),
        penalties=_penalty_table(change.penalties, scored, ws.names),
        notes=list(scored.notes) + [scores.note],
    )


def spillover(source: Tables | Workspace, policy: Policy, *, entity: str | None = None,
              penalty: str | None = None, penalize: str | None = None, severity: float = 1.0,
              lift: str | None = None, as_of: dt.date | str | None = None,
              threshold: float | None = None) -> SpilloverReport:
    """The spillover report of exactly one of: an entity's active penalties (``entity``), one
    penalty (``penalty``), a new penalty (``penalize`` with ``severity``) or a lifted one (``lift``).
    ``source`` is validated tables or a :class:`~graphscore.workspace.Workspace`, whose
    projection and baseline run under the policy at ``as_of`` are reused.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> tables = fined_company()
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> report = spillover(tables, policy, penalty="x", as_of="2024-01-01")
    >>> report.title, report.affected[["name", "change", "hops", "path"]].to_dict("records")[1]
    ('Spillover of penalty x on Co', {'name': 'Pat', 'change': 0.5, 'hops': 1, 'path': 'Co <-[OFFICER_OF legal_representative]- Pat'})
    """
    chosen = [k for k, v in {"entity": entity, "penalty": penalty, "penalize": penalize, "lift": lift}.items()
              if v is not None]
    if len(chosen) != 1:
        raise ValueError("give exactly one of entity, penalty, penalize or lift.")
    ws = as_workspace(source)
    change, baseline = _scenario(ws, ws.projection(policy, as_of), entity, penalty, penalize, severity, lift)
    return spillover_report(ws, policy, change, baseline=baseline, threshold=threshold,
                            title=f"Spillover of {change.label}")


def _scenario(ws: Workspace, projection: Projection, entity: str | None, penalty: str | None, penalize: str | None,
              severity: float, lift: str | None) -> tuple[Change, str]:
    """The change :func:`spillover` reports on, and the baseline it is measured against."""
    names = ws.names

    def penalised(penalty_id: str) -> str:
        rows = projection.penalties.loc[projection.penalties["id"] == penalty_id, "entity"]
        return names.get(rows.iloc[0], "") if len(rows) else ""

    if entity is not None:
        change = attribution_change(projection, entity_id=entity,
                                    label=f"penalties of {names.get(entity, entity)} ({entity})")
    elif penalty is not None:
        change = attribution_change(projection, penalty_id=penalty, label=f"penalty {penalty} on {penalised(penalty)}")
    elif penalize is not None:
        change = penalize_change(projection, penalize, severity,
                                 label=f"a new penalty (severity {severity:g}) on {names.get(penalize, penalize)}")
    else:
        change = lift_change(projection, lift, label=f"lifting penalty {lift} on {penalised(lift)}")
    return change, "without" if entity is not None or penalty is not None else "current"


def whatif_spillover(source: Tables | Workspace, policy: Policy, *, penalize: str | None = None,
                     severity: float = 1.0, lift: str | None = None, as_of: dt.date | str | None = None,
                     threshold: float | None = None, accuracy: float = ACCURACY) -> tuple[pd.DataFrame, SpilloverReport]:
    """A what-if's changed scores and its spillover report, the change computed once (what
    ``graphscore whatif`` writes). The scores are :func:`~graphscore.analysis.whatif.whatif`'s
    rows whose ``delta`` is not zero, labelled by their row there, with its ``attrs`` (notes and
    the proven ``error``); the report is :func:`spillover`'s of the same change. ``accuracy``
    is :func:`~graphscore.analysis.whatif.change_scores`'s: under spread the change at every
    entity is within it times the changed penalty, proven.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> changes, report = whatif_spillover(fined_company(), policy, lift="x", as_of="2024-01-01")
    >>> changes[["id", "before", "after", "delta"]].to_dict("records")
    [{'id': 'c', 'before': 1.0, 'after': 0.0, 'delta': -1.0}, {'id': 'p', 'before': 0.5, 'after': 0.0, 'delta': -0.5}]
    >>> report.title
    'Spillover of lifting penalty x on Co'
    """
    if (penalize is None) == (lift is None):
        raise ValueError("give exactly one of penalize or lift.")
    ws = as_workspace(source)
    projection = ws.projection(policy, as_of)
    change, baseline = _scenario(ws, projection, None, None, penalize, severity, lift)
    scores = change_scores(ws, policy, change, baseline=baseline, accuracy=accuracy)
    report = spillover_report(ws, policy, change, baseline=baseline, threshold=threshold,
                              title=f"Spillover of {change.label}", scores=scores)
    delta = scores.after - scores.before
    rows = np.flatnonzero(delta != 0)
    # only the entities that change are named, by position as above, from the two columns shown
    # (the changed rows of every column of the entities table: 0.2 GB more at 10^7 links)
    changes = pd.DataFrame({"id": projection.ids[rows], "name": ws.entities["name"].to_numpy()[rows],
                            "kind": ws.entities["kind"].to_numpy()[rows], "before": scores.before[rows],
                            "after": scores.after[rows], "delta": delta[rows]}, index=rows)
    changes.attrs.update(as_of=projection.as_of.date().isoformat(), notes=list(projection.notes) + [scores.note],
                         change=change.label, error=scores.error)
    return changes, report
