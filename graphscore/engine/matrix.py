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

from graphscore.engine.timeline import active_links, penalty_weights, stake_bounds
from graphscore.policy import Combine, Direction, LinkTime, MissingShare, Normalize, Parallel, Policy, Transmit

__all__ = ["Projection", "build_projection", "resolve_as_of", "own_weights", "ownership_matrices", "combine_parallel"]

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
        One row per transmitting edge: ``u`` (from, index), ``v`` (to, index), ``weight`` (the
        link's own, after normalisation), ``pair_weight`` (the entry of ``W`` its pair makes: the
        links between one ordered pair combined under the policy's ``parallel``), the link's
        ``type``, ``role``, ``share``, its ``source``/``target`` ids as written, ``direction``
        and ``source_ref``.
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
    links_at : Timestamp or None
        The date the links were read at, where that is not ``as_of`` (a layer, below).
    layers : tuple of Projection
        Under ``link_time = "at_penalty"``: one projection per set of links that counted
        penalties started under, each with the links in force on ``links_at`` (the earliest
        start among its penalties; the others started before the links next changed) and ``s``
        made of those penalties only (the heaviest of an entity's under ``combine = "max"``).
        A model runs on each layer and the runs are added (max-aggregated under hop max):
        one solve per layer instead of one. Empty otherwise.
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
    links_at: pd.Timestamp | None = None  # the date its links are read at, when not as_of
    layers: tuple[Projection, ...] = ()

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
    if missing in (MissingShare.LOW, MissingShare.HIGH):
        low, high = stake_bounds(links)
        share = low if missing is MissingShare.LOW else high
    return share, int(links["share"].isna().sum())


_EDGE_COLUMNS = ["u", "v", "weight", "type", "role", "share", "source", "target", "direction", "source_ref"]


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
    # One rule carries a penalty across a pair once per written direction, at its strongest link:
    # a person holding two offices in one company under a role-less rule is still one officer.
    # The written direction stays in the key: under direction = "both" the two stakes of a
    # cross-holding (A owns 30 % of B, B owns 60 % of A) are two links from A to B (issue 9.3),
    # combined with the other links between the pair under the policy's ``parallel``.
    edges = edges.sort_values("weight", ascending=False, kind="stable").drop_duplicates(["u", "v", "direction"])
    if rule.split and len(edges):
        edges["weight"] /= edges.groupby("u")["v"].transform("nunique")
    return edges.sort_index()


def combine_parallel(u: np.ndarray, v: np.ndarray, weight: np.ndarray, n: int,
                     parallel: Parallel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One weight per ordered pair ``(u, v)`` from the weights of the links joining it.

    ``sum`` adds them; ``max`` keeps the strongest; ``noisy_or`` gives ``1 - prod(1 - w)``, the
    chance that at least one of several independent coins succeeds (each weight, capped at 1,
    read as a probability).

    Returns
    -------
    pair_u, pair_v, pair_weight : ndarray
        The distinct pairs, ordered by ``(v, u)``, and their combined weight.
    pair_of : ndarray
        For each input link, the position of its pair.

    Examples
    --------
    Two links from 0 to 1, of 0.8 and 0.6:

    >>> u, v, w = np.array([0, 0]), np.array([1, 1]), np.array([0.8, 0.6])
    >>> [round(float(combine_parallel(u, v, w, 2, rule)[2][0]), 6) for rule in Parallel]
    [1.4, 0.8, 0.92]

    References
    ----------
    .. [1] Kempe, Kleinberg, Tardos, "Maximizing the spread of influence through a social
       network", KDD 2003, section 2 (one independent activation attempt per link).
    """
    key = v.astype(np.int64) * max(n, 1) + u.astype(np.int64)
    order = np.argsort(key, kind="stable")
    pairs, first, pair_of_sorted = np.unique(key[order], return_index=True, return_inverse=True)
    w = weight[order].astype(float)
    if parallel is Parallel.SUM:
        combined = np.add.reduceat(w, first) if w.size else w
    elif parallel is Parallel.MAX:
        combined = np.maximum.reduceat(w, first) if w.size else w
    else:
        # log1p keeps 1 - prod(1 - w) exact for weak links; a certain link (w = 1) gives -inf, i.e. 1
        with np.errstate(divide="ignore"):
            combined = -np.expm1(np.add.reduceat(np.log1p(-np.minimum(w, 1.0)), first)) if w.size else w
    pair_of = np.empty_like(pair_of_sorted)
    pair_of[order] = pair_of_sorted
    return pairs % max(n, 1), pairs // max(n, 1), combined, pair_of


def _matrix(edges: pd.DataFrame, n: int, parallel: Parallel, normalize: Normalize) -> tuple[sp.sparse.csr_array, pd.DataFrame]:
    """``W`` from the edges: links between one pair combined under ``parallel``, then
    normalised. Each edge keeps its own weight (scaled as its pair was by the normalisation)
    and gets ``pair_weight``, its pair's entry of ``W``."""
    u, v = edges["u"].to_numpy(np.int64), edges["v"].to_numpy(np.int64)
    pair_u, pair_v, pair_weight, pair_of = combine_parallel(u, v, edges["weight"].to_numpy(float), n, parallel)
    if normalize is not Normalize.NONE and pair_weight.size:
        # normalised after combining: under max or noisy_or the links of a pair are one channel
        by = pair_u if normalize is Normalize.SOURCE else pair_v
        scale = 1.0 / np.bincount(by, weights=pair_weight, minlength=n)[by]
        pair_weight = pair_weight * scale
        edges = edges.assign(weight=edges["weight"].to_numpy(float) * scale[pair_of])
    edges = edges.assign(pair_weight=pair_weight[pair_of])
    # int32 indices while the entities fit (2^31): half the index bytes a solve streams per step
    index_type = np.int32 if n < 2**31 else np.int64
    W = sp.sparse.csr_array((pair_weight, (pair_v.astype(index_type), pair_u.astype(index_type))), shape=(n, n))
    W.sum_duplicates()  # the pairs are distinct already: this only sorts the indices
    return W, edges


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


def _edges(links_now: pd.DataFrame, policy: Policy, missing_share: MissingShare, index: pd.Index,
           notes: list[str]) -> pd.DataFrame:
    rules = OWNERSHIP_RULES if policy.model.is_ownership else policy.transmit
    edges = [_rule_edges(links_now, rule, missing_share, index, notes) for rule in rules]
    edges = [e for e in edges if not e.empty]
    return pd.concat(edges, ignore_index=True) if edges else pd.DataFrame(columns=_EDGE_COLUMNS)


def _layers(tables, policy: Policy, missing_share: MissingShare, index: pd.Index, penalties: pd.DataFrame,
            as_of: pd.Timestamp, notes: list[str]) -> tuple[Projection, ...]:
    """Under ``link_time = "at_penalty"``: one projection per set of links that some counted
    penalty started under, with ``s`` made of those penalties only (issue 9.14).

    The links in force change only on the dates links start or end, so penalties that started
    between two such dates read the same links and share one layer (and one solve).
    """
    counted = penalties[penalties["weight"] > 0]
    if policy.combine is Combine.MAX:  # only an entity's heaviest penalty makes its s: it alone travels
        counted = counted.sort_values(["weight", "id"], ascending=[False, True]).drop_duplicates("idx")
    links = tables.links
    changes = np.unique(pd.concat([links["start"], links["end"]]).dropna().to_numpy("datetime64[ns]"))
    epoch = np.searchsorted(changes, counted["start"].to_numpy("datetime64[ns]"), side="right")
    layers = []
    for _, group in counted.groupby(epoch, sort=True):
        links_at = group["start"].min()
        layer_notes: list[str] = []
        edges = _edges(active_links(links, links_at), policy, missing_share, index, layer_notes)
        W, edges = _matrix(edges, len(index), policy.parallel, policy.normalize)
        notes.extend(f"links as of {links_at.date()}: {note}" for note in layer_notes)
        layers.append(Projection(index, W, own_weights(group, len(index), policy.combine), edges, group, as_of,
                                 policy.combine, tuple(layer_notes), None, links_at))
    return tuple(layers)


def build_projection(tables, policy: Policy, as_of: dt.date | str | None = None, *,
                     missing_share: MissingShare | None = None) -> Projection:
    """Build ``W`` and ``s`` from validated tables under a policy at a date.

    Transmission rules add up: a link matched by two ``[[transmit]]`` tables is two links.
    Several links between one ordered pair make one entry of ``W`` under the policy's
    ``parallel`` (sum, strongest, or noisy-or: :func:`combine_parallel`), and ``normalize``
    applies to the combined entries. Ownership models read OWNS (by share) and CONTROLS links
    owner -> asset instead, and only penalties of the policy's ``seed_kinds`` list an entity.
    ``missing_share`` overrides the policy's (``"bounds"`` is two projections, one ``"low"`` and
    one ``"high"``: see :func:`graphscore.analysis.scores.score`).

    Under ``link_time = "at_penalty"`` the projection also carries ``layers`` (see
    :class:`Projection`): each penalty travels over the links in force when it started, not at
    ``as_of``; ``W`` itself stays the network at ``as_of``, for the views of it reports draw.

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
    n = len(index)
    # ownership rules read the stakes themselves (ownership_matrices), never W
    parallel = policy.parallel or Parallel.SUM
    W, edges = _matrix(_edges(active_links(tables.links, as_of), policy, missing_share, index, notes), n,
                       parallel, policy.normalize)

    weight = penalty_weights(tables.penalties, as_of, half_life_days=policy.half_life_days, repair=policy.repair,
                             period_days=policy.period_days)
    if policy.model.is_ownership:
        weight = weight.where(policy.lists(tables.penalties), 0.0)
    penalties = tables.penalties.assign(weight=weight.to_numpy(), idx=index.get_indexer(tables.penalties["entity"]))
    s = own_weights(penalties, n, policy.combine)
    values = tables.entities["value"].to_numpy(float) if "value" in tables.entities else np.full(n, np.nan)
    values = None if np.isnan(values).all() else np.nan_to_num(values)
    layers = ()
    if policy.link_time is LinkTime.AT_PENALTY and not policy.model.is_ownership:
        layers = _layers(tables, policy, missing_share, index, penalties, as_of, notes)
    return Projection(index, W, s, edges, penalties, as_of, policy.combine, tuple(notes), values, None, layers)
