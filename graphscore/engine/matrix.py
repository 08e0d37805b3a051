"""Projection of the tables onto sparse matrices: links + policy + ``as_of`` -> W, s and the id map.

``W[v, u]`` is the part of entity u's penalty that reaches entity v in one step; ``s[u]`` is u's
own penalty weight at ``as_of``. This module owns the entity id <-> row index map; engine
functions see only ``W`` and ``s``.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy as sp

from graphscore.engine.timeline import active_links, penalty_weights
from graphscore.policy import Combine, Direction, MissingShare, Normalize, Policy, Transmit

__all__ = ["Projection", "build_projection", "resolve_as_of", "own_weights", "ownership_matrices"]

# What ownership rules read, whatever a policy's [[transmit]] says: stakes flow owner -> asset.
OWNERSHIP_RULES = (Transmit("OWNS", Direction.FORWARD, None), Transmit("CONTROLS", Direction.FORWARD, 1.0))


def resolve_as_of(as_of: dt.date | str | None, policy: Policy | None = None) -> pd.Timestamp:
    """The date a score is computed at: the argument, else the policy's ``as_of``, else today (UTC).

    Resolved once per run and recorded in every report manifest.

    Examples
    --------
    >>> resolve_as_of("2024-06-30")
    Timestamp('2024-06-30 00:00:00')
    """
    chosen = as_of or (policy.as_of if policy else None) or dt.datetime.now(dt.timezone.utc).date()
    if isinstance(chosen, dt.datetime):  # a time of day (and its zone) says nothing about which records hold
        chosen = chosen.date()
    return pd.Timestamp(chosen).normalize()


@dataclass(frozen=True)
class Projection:
    """Everything a model needs, and everything an explanation needs to name what it used.

    Attributes
    ----------
    ids : Index
        Entity id of each row / column of ``W``.
    W : (n, n) csr_array
        Transmission matrix.
    s : (n,) ndarray
        Own penalty weight of each entity at ``as_of``.
    edges : DataFrame
        One row per transmitting edge: ``u`` (from, index), ``v`` (to, index), ``weight`` (as in
        W), the link's ``type``, ``role``, ``share``, its ``source``/``target`` ids as written,
        ``direction`` and ``source_ref``. Several edges between one pair add up in ``W``.
    penalties : DataFrame
        The penalties table with ``weight`` at ``as_of`` and ``idx`` of the penalised entity.
    as_of : Timestamp
    combine : Combine
        How several penalties of one entity make its ``s`` (the policy's ``combine``).
    values : (n,) ndarray or None
        Economic value of each entity (the entities' ``value`` column, 0 where missing), or None
        when no entity has one.
    notes : tuple of str
        What the projection decided that a reader should know (e.g. links skipped for want of a share).
    """

    ids: pd.Index
    W: sp.sparse.csr_array
    s: np.ndarray
    edges: pd.DataFrame
    penalties: pd.DataFrame
    as_of: pd.Timestamp
    combine: Combine = Combine.SUM
    notes: tuple[str, ...] = ()
    values: np.ndarray | None = None  # entities' economic value, where the data gives one

    @property
    def n(self) -> int:
        return len(self.ids)

    @functools.cached_property
    def W_by_source(self) -> sp.sparse.csc_array:
        """``W`` in compressed columns: column u lists whom u's penalty reaches, as forward push reads it."""
        return sp.sparse.csc_array(self.W)

    @functools.cached_property
    def derived(self) -> dict:
        """What engine functions derive from ``W`` once and reuse, by key (e.g. spread's
        convergence certificate per damping: :func:`graphscore.engine.run.contraction_of`)."""
        return {}

    @functools.cached_property
    def strongest_edges(self) -> pd.DataFrame:
        """The strongest edge between each ordered pair, indexed by ``(u, v)``, with ``links``:
        how many edges join the pair. Paths name this edge for each hop."""
        edges = self.edges.assign(links=self.edges.groupby(["u", "v"])["u"].transform("size"))
        strongest = edges.sort_values("weight", ascending=False, kind="stable").drop_duplicates(["u", "v"])
        return strongest.set_index(["u", "v"]).sort_index()

    def index_of(self, entity_id: str) -> int:
        """Row of ``W`` for an entity id; KeyError naming the id if unknown."""
        try:
            return int(self.ids.get_loc(entity_id))
        except KeyError:
            raise KeyError(f"unknown entity id {entity_id!r}") from None


def own_weights(penalties: pd.DataFrame, n: int, combine: Combine) -> np.ndarray:
    """Own weight ``s`` of each entity from penalties carrying ``weight`` and ``idx``.

    Examples
    --------
    >>> p = pd.DataFrame({"idx": [0, 0, 1], "weight": [1.0, 0.5, 0.2]})
    >>> own_weights(p, 3, Combine.SUM).tolist(), own_weights(p, 3, Combine.MAX).tolist()
    ([1.5, 0.2, 0.0], [1.0, 0.2, 0.0])
    """
    idx, weight = penalties["idx"].to_numpy(int), penalties["weight"].to_numpy(float)
    if combine is Combine.SUM:
        return np.bincount(idx, weights=weight, minlength=n).astype(float)
    s = np.zeros(n)
    np.maximum.at(s, idx, weight)
    return s


def _share_weights(links: pd.DataFrame, missing: MissingShare) -> tuple[pd.Series, int]:
    """The stake each OWNS link transmits under the policy's ``missing_share``, and how many lack one."""
    share = links["share"]
    if missing is MissingShare.LOW:
        share = share.fillna(links["share_low"]).fillna(0.0)
    elif missing is MissingShare.HIGH:
        share = share.fillna(links["share_high"]).fillna(1.0)
    return share, int(links["share"].isna().sum())


def _rule_edges(links: pd.DataFrame, rule: Transmit, missing_share: MissingShare, index: pd.Index,
                notes: list[str]) -> pd.DataFrame:
    chosen = links[links["type"] == rule.link]
    if rule.role is not None:
        chosen = chosen[chosen["role"] == rule.role]
    if rule.by_share:
        weight, missing = _share_weights(chosen, missing_share)
        if missing:
            unshared = chosen[chosen["share"].isna()]
            named = ", ".join(f"{s} -> {t}" for s, t in zip(unshared["source"][:5], unshared["target"][:5]))
            notes.append(f"{missing} {rule.link} link(s) active at as_of have no share "
                         f"({named}{', ...' if missing > 5 else ''}): missing_share = {missing_share.value!r} applied")
    else:
        weight = pd.Series(rule.weight, index=chosen.index, dtype=float)
    keep = weight.notna() & (weight > 0)
    chosen, weight = chosen[keep], weight[keep]
    source_idx = index.get_indexer(chosen["source"])
    target_idx = index.get_indexer(chosen["target"])
    parts = []
    if rule.direction in (Direction.FORWARD, Direction.BOTH):
        parts.append((source_idx, target_idx, "forward"))
    if rule.direction in (Direction.BACKWARD, Direction.BOTH):
        parts.append((target_idx, source_idx, "backward"))
    edges = pd.concat([
        pd.DataFrame({"u": u, "v": v, "weight": weight.to_numpy(), "type": chosen["type"].to_numpy(),
                      "role": chosen["role"].to_numpy(), "share": chosen["share"].to_numpy(),
                      "source": chosen["source"].to_numpy(), "target": chosen["target"].to_numpy(),
                      "direction": direction, "source_ref": chosen["source_ref"].to_numpy()})
        for u, v, direction in parts
    ], ignore_index=True)
    # One rule carries a penalty across a pair once, at its strongest link: a person recorded
    # twice as legal representative of one company is still one representative.
    edges = edges.sort_values("weight", ascending=False, kind="stable").drop_duplicates(["u", "v"])
    if rule.split and len(edges):
        edges["weight"] /= edges.groupby("u")["v"].transform("size")
    return edges.sort_index()


def _normalise(edges: pd.DataFrame, how: Normalize) -> pd.DataFrame:
    if how is Normalize.NONE or edges.empty:
        return edges
    by = "u" if how is Normalize.SOURCE else "v"
    total = edges.groupby(by)["weight"].transform("sum")
    return edges.assign(weight=edges["weight"] / total)


def ownership_matrices(projection: Projection) -> tuple[sp.sparse.csr_array, sp.sparse.csr_array]:
    """``D[o, a]``, the direct share of asset a held by owner o, and ``C[c, a] = 1`` where c
    CONTROLS a, from a projection built under an ownership model."""
    n = projection.n
    matrices = []
    for link_type in ("OWNS", "CONTROLS"):
        edges = projection.edges[projection.edges["type"] == link_type]
        matrix = sp.sparse.csr_array((edges["weight"].to_numpy(float),
                                      (edges["u"].to_numpy(int), edges["v"].to_numpy(int))), shape=(n, n))
        matrix.sum_duplicates()
        matrices.append(matrix)
    D, C = matrices
    C.data[:] = 1.0
    return D, C


def build_projection(tables, policy: Policy, as_of: dt.date | str | None = None, *,
                     missing_share: MissingShare | None = None) -> Projection:
    """Build ``W`` and ``s`` from validated tables under a policy at a date.

    Transmission rules add up: a link matched by two ``[[transmit]]`` tables transmits both
    weights. Ownership models read OWNS (by share) and CONTROLS links owner -> asset instead,
    and only penalties of the policy's ``seed_kinds`` list an entity. ``missing_share``
    overrides the policy's (``"bounds"`` is two projections, one ``"low"`` and one ``"high"``:
    see :func:`graphscore.analysis.scores.score`).

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> tables = fined_company()
    >>> policy = gs.parse_policy('name="r"\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"\\nweight=0.5')
    >>> p = build_projection(tables, policy, "2024-01-01")
    >>> p.W.toarray().tolist(), p.s.tolist()
    ([[0.0, 0.0], [0.5, 0.0]], [1.0, 0.0])
    """
    as_of = resolve_as_of(as_of, policy)
    index = pd.Index(tables.entities["id"], name="id")
    notes: list[str] = []
    missing_share = missing_share or policy.missing_share
    if missing_share is MissingShare.BOUNDS:
        notes.append("missing_share = 'bounds': this projection takes the low end")
        missing_share = MissingShare.LOW
    links_now = active_links(tables.links, as_of)
    rules = OWNERSHIP_RULES if policy.model.is_ownership else policy.transmit
    edges = [_rule_edges(links_now, rule, missing_share, index, notes) for rule in rules]
    edges = [e for e in edges if not e.empty]
    edges = _normalise(pd.concat(edges, ignore_index=True), policy.normalize) if edges else pd.DataFrame(
        columns=["u", "v", "weight", "type", "role", "share", "source", "target", "direction", "source_ref"])
    n = len(index)
    # int32 indices while the entities fit (2^31): half the index bytes a solve streams per step
    index_type = np.int32 if n < 2**31 else np.int64
    W = sp.sparse.csr_array((edges["weight"].to_numpy(float), (edges["v"].to_numpy(index_type),
                                                                edges["u"].to_numpy(index_type))), shape=(n, n))
    W.sum_duplicates()

    weight = penalty_weights(tables.penalties, as_of, half_life_days=policy.half_life_days, repair=policy.repair)
    if policy.model.is_ownership:
        weight = weight.where(tables.penalties["kind"].isin(policy.seed_kinds), 0.0)
    penalties = tables.penalties.assign(weight=weight.to_numpy(), idx=index.get_indexer(tables.penalties["entity"]))
    s = own_weights(penalties, n, policy.combine)
    values = tables.entities["value"].to_numpy(float) if "value" in tables.entities else np.full(n, np.nan)
    values = None if np.isnan(values).all() else np.nan_to_num(values)
    return Projection(index, W, s, edges, penalties, as_of, policy.combine, tuple(notes), values)
