"""Compare report: how two or more spillover policies, or one policy under a parameter sweep,
rank the same entities differently, and how much collateral each produces (DESIGN §7).

The report is data first (:class:`CompareReport`, DataFrames and manifests); rendering to HTML,
Markdown, JSON and SVG lives in :mod:`graphscore.report.render`, as for the spillover report.

Every variant is scored on the same tables at the same ``as_of`` with :func:`graphscore.score`;
what differs between variants is the policy alone, and each variant's manifest names it by hash.

Examples
--------
>>> import dataclasses
>>> import graphscore as gs
>>> from graphscore.toy import shared_representative
>>> policy = gs.parse_policy('name="reps"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\n'
...                          'role="legal_representative"\\ndirection="both"')
>>> report = sweep(shared_representative(), policy, "damping", [0.2, 0.5], as_of="2024-01-01")
>>> report.variants[["label", "status", "total_inherited", "collateral"]]
         label status  total_inherited  collateral
0  damping=0.2     ok          0.26087           1
1  damping=0.5     ok          1.50000           2
>>> report.wide().round(4).reset_index()
variant  id  damping=0.2  damping=0.5
0        C1       1.0435          1.5
1        C2       0.0435          0.5
2         P       0.2174          1.0
3         O       0.0000          0.0
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

import numpy as np
import pandas as pd
import scipy as sp

from graphscore.analysis.display import Tabular
from graphscore.analysis.manifest import build_manifest
from graphscore.analysis.scores import score
from graphscore.engine.matrix import resolve_as_of
from graphscore.errors import GraphscoreError
from graphscore.model import Tables
from graphscore.policy import Policy
from graphscore.workspace import Workspace, as_workspace

__all__ = ["CompareReport", "compare_policies", "sweep", "parse_sweep", "link_graph", "hop_distances"]

OK, FAILED = "ok", "failed"
SCOPES = ("all", "nonzero")

# Fields a sweep cannot vary: they name or describe the policy, or (as_of) are shared by every
# variant of a report, so that only the rule changes between them.
_UNSWEEPABLE = {"name", "description", "transmit", "as_of"}
# Ranks are taken on scores rounded to this many decimals of the largest score: two entities whose
# scores differ only by float dust from different summation orders tie instead of swapping places.
_RANK_DECIMALS = 12

_VARIANT_COLUMNS = ["label", "policy", "hash", "model", "value", "status", "error", "threshold",
                    "penalised", "reached", "total_own", "total_inherited", "mean_inherited", "collateral"]
_SCORE_COLUMNS = ["variant", "id", "name", "kind", "own", "echo", "inherited", "total", "rank", "hops"]
_CORRELATION_COLUMNS = ["a", "b", "scope", "entities", "spearman", "kendall_tau_b"]
_MOVER_COLUMNS = ["baseline", "variant", "id", "name", "kind", "baseline_score", "variant_score", "change",
                  "baseline_rank", "variant_rank", "rank_change"]
_COLLATERAL_COLUMNS = ["variant", "id", "name", "kind", "own", "inherited", "total", "hops"]


@dataclass
class CompareReport(Tabular):
    """Everything a compare report shows; every table is a DataFrame.

    Variants are the policies compared, in the order given (for a sweep: one per value). The
    first variant that scores is the *baseline* movers are measured against.

    Attributes
    ----------
    title : str
    parameter : str or None
        The policy field a sweep varies; None when policies are compared.
    threshold : float or None
        The collateral threshold given; None when each variant uses its policy's ``threshold``
        (``variants["threshold"]`` holds the one used).
    variants : DataFrame
        One row per variant: ``label``, ``policy`` (name), ``hash``, ``model``, ``value`` (of the
        swept parameter, None when comparing policies), ``status`` (``"ok"`` or ``"failed"``),
        ``error`` (the failure's message, e.g. a diverging spread, else None), ``threshold``,
        ``penalised`` (entities with ``own > 0``), ``reached`` (entities with no own penalty and
        ``inherited > 0``), ``total_own``, ``total_inherited`` (summed over all entities; an
        entity's own penalty returning to it around cycles is its ``echo``, not inherited),
        ``mean_inherited`` (over all entities) and ``collateral`` (count, see below). The
        figures are NaN for a failed variant.
    scores : DataFrame
        Long form, one row per scored variant and entity: ``variant, id, name, kind, own,
        echo, inherited, total`` as :func:`graphscore.score` gives them (model-specific columns are not
        carried), ``rank`` of ``total`` (1 = highest; ties share the best rank) and ``hops``
        (see below). :meth:`wide` pivots one column to one column per variant.
    correlations : DataFrame
        One row per pair of scored variants and scope: ``a, b, scope, entities, spearman,
        kendall_tau_b``. Scope ``"all"`` correlates ``total`` over every entity, ``"nonzero"``
        over the entities with a non-zero ``total`` under ``a`` or ``b`` (most entities of a
        large register are zero under every rule, and their ties inflate agreement). Computed by
        :func:`scipy.stats.spearmanr` and :func:`scipy.stats.kendalltau` (tau-b, which corrects
        for ties); NaN when fewer than two entities or a constant column leave it undefined.
        No p-values: entities of one graph are not independent samples, so they would mislead.
    rank_movers, score_movers : DataFrame
        For each scored variant after the baseline, the ``top`` entities whose rank (resp.
        ``total``) changes most against the baseline: ``baseline, variant, id, name, kind,
        baseline_score, variant_score, change`` (variant minus baseline), ``baseline_rank,
        variant_rank, rank_change`` (baseline rank minus variant rank: positive when the entity
        climbs towards rank 1 under the variant). Entities that do not move are left out, so
        identical policies have no movers.
    collateral : DataFrame
        Per scored variant, the entities with no own penalty (``own == 0``) whose ``total`` is at
        least the threshold: ``variant, id, name, kind, own, inherited, total, hops``, highest
        ``total`` first.
    collateral_by_kind, collateral_by_hop : DataFrame
        Counts of ``collateral`` per variant: ``variant, kind, entities`` over every entity kind in
        the data, and ``variant, hops, entities`` over every hop distance any variant's collateral
        has (zeros included, so variants line up).
    manifest : dict
        What every variant shares: ``graphscore_version``, ``data_fingerprint``, ``data_counts``,
        ``as_of``, ``generated_at``, and ``policies``: ``label, name, hash, model`` of each variant.
    manifests : list of dict
        One :func:`~graphscore.analysis.manifest.build_manifest` per variant, in the order of
        ``variants`` (failed variants too): the full policy definition and its hash.
    notes : list of str
        What the projections decided that a reader should know, and which variants it concerns.

    Notes
    -----
    ``hops`` is an entity's distance, in links, from the nearest entity with ``own > 0`` under
    that variant: breadth-first search over the union of *all* links active at ``as_of`` (every
    type and role, taken undirected, whatever the policy transmits), see :func:`hop_distances`.
    It places collateral in the register (how far from a penalised entity it sits), not along
    the rule's own paths, so variants are measured on one ruler. ``<NA>`` when unreachable.
    """

    _principal = "variants"  # to_pandas() and the notebook view (graphscore.analysis.display)

    title: str
    parameter: str | None
    threshold: float | None
    variants: pd.DataFrame
    scores: pd.DataFrame
    correlations: pd.DataFrame
    rank_movers: pd.DataFrame
    score_movers: pd.DataFrame
    collateral: pd.DataFrame
    collateral_by_kind: pd.DataFrame
    collateral_by_hop: pd.DataFrame
    manifest: dict
    manifests: list[dict]
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        """Every variant's label, in order."""
        return self.variants["label"].tolist()

    @property
    def scored(self) -> list[str]:
        """Labels of the variants that scored, in order."""
        return self.variants.loc[self.variants["status"] == OK, "label"].tolist()

    @property
    def baseline(self) -> str | None:
        """The variant movers are measured against: the first one that scored."""
        return next(iter(self.scored), None)

    def wide(self, column: str = "total") -> pd.DataFrame:
        """One column of :attr:`scores` per scored variant, indexed by entity id (in data order)."""
        if column not in ("own", "inherited", "total", "rank", "hops"):
            raise ValueError(f"column must be one of own, inherited, total, rank, hops, got {column!r}.")
        table = self.scores.pivot(index="id", columns="variant", values=column)
        order = pd.unique(self.scores["id"])
        return table.reindex(index=order, columns=self.scored)

    def summary(self) -> dict:
        """Headline figures: variant and entity counts, the lowest rank correlations over all
        entities (None without a scored pair), and the range of collateral counts."""
        overall = self.correlations[self.correlations["scope"] == "all"]
        collateral = self.variants.loc[self.variants["status"] == OK, "collateral"]

        def lowest(values: pd.Series) -> float | None:
            values = values.dropna()
            return float(values.min()) if len(values) else None

        return {
            "variants": int(len(self.variants)),
            "failed": int((self.variants["status"] == FAILED).sum()),
            "entities": int(self.manifest["data_counts"].get("entities", 0)),
            "spearman_min": lowest(overall["spearman"]),
            "kendall_min": lowest(overall["kendall_tau_b"]),
            "collateral_min": int(collateral.min()) if len(collateral) else None,
            "collateral_max": int(collateral.max()) if len(collateral) else None,
        }


# ---- structure ----------------------------------------------------------------------------------

def link_graph(source: Tables | Workspace, as_of: dt.date | str | pd.Timestamp) -> sp.sparse.csr_array:
    """Adjacency of the register at ``as_of``: ``A[i, j] = 1`` where a link of any type joins
    entities ``i`` and ``j`` (rows in ``tables.entities`` order), whichever way it is written.
    ``source`` is validated tables or a :class:`~graphscore.workspace.Workspace` (whose links
    in force at ``as_of`` are reused).

    Examples
    --------
    >>> from graphscore.toy import shared_representative
    >>> link_graph(shared_representative(), "2024-01-01").toarray().astype(int).tolist()
    [[0, 0, 1, 1], [0, 0, 1, 0], [1, 1, 0, 0], [1, 0, 0, 0]]
    """
    ws = as_workspace(source)
    links = ws.links_at(resolve_as_of(as_of))
    index = ws.entities.index
    n = len(index)
    source, target = index.get_indexer(links["source"]), index.get_indexer(links["target"])
    rows, cols = np.concatenate([source, target]), np.concatenate([target, source])
    adjacency = sp.sparse.csr_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    adjacency.sum_duplicates()
    adjacency.data[:] = 1.0
    return adjacency


def hop_distances(adjacency: sp.sparse.sparray, sources: np.ndarray) -> np.ndarray:
    """Links from each entity to the nearest source, by breadth-first search.

    Parameters
    ----------
    adjacency : (n, n) sparse array
        From :func:`link_graph`; taken undirected.
    sources : (n,) bool ndarray
        The entities counted at distance 0 (in a compare report: those with ``own > 0``).

    Returns
    -------
    (n,) float ndarray
        Whole numbers of links; ``inf`` where no source is reachable (everywhere when there is
        no source).

    Notes
    -----
    One multi-source search: :func:`scipy.sparse.csgraph.dijkstra` with ``unweighted=True``
    (every link counts 1, so it visits entities in breadth-first order) and ``min_only=True``
    (the distance to the nearest of all sources), in O((n + links) log n).

    Examples
    --------
    >>> from graphscore.toy import shared_representative
    >>> A = link_graph(shared_representative(), "2024-01-01")  # C1, C2, P, O
    >>> hop_distances(A, np.array([True, False, False, False])).tolist()
    [0.0, 2.0, 1.0, 1.0]
    """
    sources = np.asarray(sources, dtype=bool)
    if not sources.any():
        return np.full(sources.size, np.inf)
    return sp.sparse.csgraph.dijkstra(adjacency, directed=False, indices=np.flatnonzero(sources),
                                      unweighted=True, min_only=True)


# ---- the report ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Variant:
    label: str
    policy: Policy
    value: object = None  # of the swept parameter


def _ranks(total: np.ndarray) -> np.ndarray:
    scale = np.abs(total).max(initial=0.0)
    rounded = np.round(total / scale, _RANK_DECIMALS) if scale > 0 else total
    return pd.Series(rounded).rank(ascending=False, method="min").to_numpy(int)


def _correlate(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    if a.size < 2:
        return math.nan, math.nan
    with warnings.catch_warnings():
        # A constant column (e.g. a rule that reaches nobody) has no ranking: NaN says so.
        warnings.simplefilter("ignore", sp.stats.ConstantInputWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        spearman = sp.stats.spearmanr(a, b).statistic
        kendall = sp.stats.kendalltau(a, b, variant="b").statistic
    return float(spearman), float(kendall)


def _correlations(wide: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for a, b in itertools.combinations(wide.columns, 2):
        x, y = wide[a].to_numpy(float), wide[b].to_numpy(float)
        for scope in SCOPES:
            keep = np.ones(x.size, bool) if scope == "all" else (x != 0) | (y != 0)
            spearman, kendall = _correlate(x[keep], y[keep])
            rows.append({"a": a, "b": b, "scope": scope, "entities": int(keep.sum()),
                         "spearman": spearman, "kendall_tau_b": kendall})
    return pd.DataFrame(rows, columns=_CORRELATION_COLUMNS)


def _movers(scores: pd.DataFrame, baseline: str, others: list[str], top: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = scores[scores["variant"] == baseline].set_index("id")
    by_rank, by_score = [], []
    for label in others:
        other = scores[scores["variant"] == label].set_index("id").reindex(base.index)
        table = pd.DataFrame({
            "baseline": baseline, "variant": label, "id": base.index, "name": base["name"].to_numpy(),
            "kind": base["kind"].to_numpy(), "baseline_score": base["total"].to_numpy(),
            "variant_score": other["total"].to_numpy(),
            "change": other["total"].to_numpy() - base["total"].to_numpy(),
            "baseline_rank": base["rank"].to_numpy(), "variant_rank": other["rank"].to_numpy(),
            "rank_change": base["rank"].to_numpy() - other["rank"].to_numpy()})
        size = np.abs(table["change"].to_numpy())
        scale = max(np.abs(table[["baseline_score", "variant_score"]].to_numpy()).max(initial=0.0), 1e-300)
        moved = table[size > 1e-12 * scale].assign(_size=size[size > 1e-12 * scale])
        ranked = moved[moved["rank_change"] != 0].assign(_steps=lambda t: t["rank_change"].abs())
        by_rank.append(ranked.sort_values(["_steps", "_size", "id"], ascending=[False, False, True]).head(top))
        by_score.append(moved.sort_values(["_size", "id"], ascending=[False, True]).head(top))

    def stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
        parts = [part[_MOVER_COLUMNS] for part in parts if len(part)]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=_MOVER_COLUMNS)

    return stack(by_rank), stack(by_score)


def _counts(collateral: pd.DataFrame, labels: list[str], column: str, values: list) -> pd.DataFrame:
    rows = []
    for label in labels:
        chosen = collateral.loc[collateral["variant"] == label, column]
        for value in values:
            count = chosen.isna().sum() if pd.isna(value) else (chosen == value).sum()
            rows.append({"variant": label, column: value, "entities": int(count)})
    table = pd.DataFrame(rows, columns=["variant", column, "entities"])
    return table.astype({column: "Int64"}) if column == "hops" else table


def _notes(by_note: dict[str, list[str]], scored: list[str]) -> list[str]:
    """A note every variant shares once as it is; one the others lack, with the labels it concerns."""
    return [note if labels == scored else f"{', '.join(labels)}: {note}" for note, labels in by_note.items()]


def _compare(ws: Workspace, variants: list[_Variant], *, as_of, threshold: float | None, parameter: str | None,
             title: str, top: int, notes: list[str]) -> CompareReport:
    if len(variants) < 2:
        raise ValueError(f"a comparison needs at least two variants, got {len(variants)}.")
    labels = [variant.label for variant in variants]
    if repeated := sorted({label for label in labels if labels.count(label) > 1}):
        raise ValueError(f"variant labels must be unique; repeated: {', '.join(map(repr, repeated))}.")
    if threshold is not None and not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}.")
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}.")

    # One date for all: a comparison of rules must not also be a comparison of dates.
    as_of = resolve_as_of(as_of, variants[0].policy)
    for variant in variants:
        if variant.policy.as_of is not None and pd.Timestamp(variant.policy.as_of) != as_of:
            notes.append(f"{variant.label}: the policy's as_of {variant.policy.as_of.isoformat()} is not used; "
                         f"every variant is scored as of {as_of.date().isoformat()}")
    generated_at = dt.datetime.now(dt.timezone.utc)
    manifests = [build_manifest(ws, variant.policy, as_of, generated_at=generated_at) for variant in variants]
    adjacency = link_graph(ws, as_of)

    rows, frames, by_note = [], [], {}
    for variant in variants:
        policy = variant.policy
        used = policy.threshold if threshold is None else threshold
        row = {"label": variant.label, "policy": policy.name, "hash": policy.hash, "model": policy.model.value,
               "value": variant.value.value if isinstance(variant.value, Enum) else variant.value,
               "threshold": used}
        try:
            frame = score(ws, policy, as_of)
        except (GraphscoreError, ValueError) as exc:  # e.g. a spread that diverges at this damping
            rows.append({**row, "status": FAILED, "error": str(exc)})
            continue
        own, total = frame["own"].to_numpy(float), frame["total"].to_numpy(float)
        hops = pd.array(hop_distances(adjacency, own > 0), dtype="Float64")
        hops[np.isinf(hops.to_numpy(float, na_value=np.inf))] = pd.NA
        frame = frame[["id", "name", "kind", "own", "echo", "inherited", "total"]].assign(
            rank=_ranks(total), hops=hops.astype("Int64"))
        frame.insert(0, "variant", variant.label)
        frames.append(frame)
        for note in frame.attrs.get("notes", []):
            by_note.setdefault(note, []).append(variant.label)
        collateral = (own == 0) & (total >= used)
        rows.append({**row, "status": OK, "error": None, "penalised": int((own > 0).sum()),
                     "reached": int(((own == 0) & (frame["inherited"].to_numpy(float) > 0)).sum()),
                     "total_own": float(own.sum()), "total_inherited": float(frame["inherited"].sum()),
                     "mean_inherited": float(frame["inherited"].mean()) if len(frame) else math.nan,
                     "collateral": int(collateral.sum())})

    # Counts stay whole numbers beside a failed variant's missing ones.
    variants_table = pd.DataFrame(rows, columns=_VARIANT_COLUMNS).astype(
        {"penalised": "Int64", "reached": "Int64", "collateral": "Int64"})
    scored = variants_table.loc[variants_table["status"] == OK, "label"].tolist()
    scores = pd.concat(frames, ignore_index=True)[_SCORE_COLUMNS] if frames else pd.DataFrame(columns=_SCORE_COLUMNS)
    scores.attrs.clear()
    wide = scores.pivot(index="id", columns="variant", values="total").reindex(columns=scored)
    if scored and scored[0] != labels[0]:
        notes.append(f"{labels[0]} failed: movers are measured against {scored[0]}")
    rank_movers, score_movers = (_movers(scores, scored[0], scored[1:], top) if scored
                                 else (pd.DataFrame(columns=_MOVER_COLUMNS),) * 2)

    is_collateral = (scores["own"] == 0) & (scores["total"] >= scores["variant"].map(
        variants_table.set_index("label")["threshold"]))
    collateral = (scores.loc[is_collateral, _COLLATERAL_COLUMNS]
                  .sort_values(["total", "id"], ascending=[False, True], kind="stable")
                  .sort_values("variant", key=lambda column: column.map(labels.index), kind="stable")
                  .reset_index(drop=True))
    kinds = sorted(ws.tables.entities["kind"].dropna().unique())
    hop_values = sorted(collateral["hops"].dropna().unique().tolist())
    if collateral["hops"].isna().any():
        hop_values.append(pd.NA)

    manifest = {key: manifests[0][key] for key in ("graphscore_version", "data_fingerprint", "data_counts",
                                                   "as_of", "generated_at")}
    manifest["policies"] = [{"label": variant.label, "name": variant.policy.name, "hash": variant.policy.hash,
                             "model": variant.policy.model.value} for variant in variants]
    return CompareReport(
        title=title, parameter=parameter, threshold=threshold, variants=variants_table, scores=scores,
        correlations=_correlations(wide), rank_movers=rank_movers, score_movers=score_movers,
        collateral=collateral,
        collateral_by_kind=_counts(collateral, scored, "kind", kinds),
        collateral_by_hop=_counts(collateral, scored, "hops", hop_values),
        manifest=manifest, manifests=manifests, notes=notes + _notes(by_note, scored))


def compare_policies(source: Tables | Workspace, policies: Sequence[Policy], *,
                     as_of: dt.date | str | None = None, threshold: float | None = None,
                     labels: Sequence[str] | None = None, top: int = 10) -> CompareReport:
    """Score the same tables under two or more policies and compare the results.

    Parameters
    ----------
    source : Tables or Workspace
        Validated tables, or a workspace over them (whose projections and baseline runs are
        reused, and keep those of every variant afterwards).
    policies : sequence of Policy
        At least two; the first is the baseline movers are measured against.
    as_of : date or str, optional
        One date for every variant: this, else the first policy's ``as_of``, else today (UTC).
        Another policy's own ``as_of`` is then ignored, with a note.
    threshold : float, optional
        Collateral threshold for every variant; by default each policy's ``threshold``.
    labels : sequence of str, optional
        A unique name per policy; by default the policy names, numbered ``#1``, ``#2``... where
        two policies share one.
    top : int
        Movers listed per variant, by rank and by score.

    Returns
    -------
    CompareReport

    Raises
    ------
    ValueError
        With fewer than two policies, labels not one per policy or repeated, or a negative
        ``threshold`` or ``top``. A policy whose model fails on the data (say a spread that
        diverges) does not raise: its variant is recorded as failed, with the message.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import shared_representative
    >>> reps = gs.parse_policy('name="reps"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="both"')
    >>> owners = gs.parse_policy('name="owners"\\ndamping=0.5\\n[[transmit]]\\nlink="OWNS"\\n'
    ...                          'direction="backward"\\nweight="share"')
    >>> report = compare_policies(shared_representative(), [reps, owners], as_of="2024-01-01")
    >>> report.collateral[["variant", "name", "total", "hops"]]
      variant      name  total  hops
    0    reps       Pat    1.0     1
    1    reps  Beta Ltd    0.5     2
    2  owners      Olga    0.3     1
    """
    policies = list(policies)
    if labels is None:
        names = [policy.name for policy in policies]
        seen: dict[str, int] = {}
        labels = []
        for name in names:
            seen[name] = seen.get(name, 0) + 1
            labels.append(f"{name} #{seen[name]}" if names.count(name) > 1 else name)
    elif len(labels) != len(policies):
        raise ValueError(f"give one label per policy: {len(labels)} label(s) for {len(policies)} policies.")
    variants = [_Variant(str(label), policy) for label, policy in zip(labels, policies)]
    return _compare(as_workspace(source), variants, as_of=as_of, threshold=threshold, parameter=None,
                    title="Compare " + " vs ".join(variant.label for variant in variants), top=top, notes=[])


def parse_sweep(text: str) -> tuple[str, list[str]]:
    """Read ``PARAMETER=VALUE,VALUE,...`` (as a command line gives a sweep) into the parameter
    and its values as text; :func:`sweep` reads them as the parameter's type.

    Examples
    --------
    >>> parse_sweep("damping=0.1, 0.3,0.5")
    ('damping', ['0.1', '0.3', '0.5'])
    >>> parse_sweep("damping")
    Traceback (most recent call last):
    ...
    ValueError: a sweep reads PARAMETER=VALUE,VALUE,... (e.g. damping=0.2,0.4,0.6), got 'damping'.
    """
    parameter, equals, values = text.partition("=")
    values = [value.strip() for value in values.split(",") if value.strip()]
    if not equals or not parameter.strip() or not values:
        raise ValueError(f"a sweep reads PARAMETER=VALUE,VALUE,... (e.g. damping=0.2,0.4,0.6), got {text!r}.")
    return parameter.strip(), values


def _sweepable(policy: Policy, parameter: str) -> None:
    names = [f.name for f in dataclasses.fields(policy)]
    if parameter not in names or parameter in _UNSWEEPABLE:
        allowed = ", ".join(name for name in names if name not in _UNSWEEPABLE)
        raise ValueError(f"cannot sweep {parameter!r}: choose a policy parameter ({allowed}).")


def _coerce(policy: Policy, parameter: str, value):
    """``value`` as the type of the policy's current ``parameter``: text from a command line, or
    an enum's value, becomes what :func:`dataclasses.replace` must be given."""
    current = getattr(policy, parameter)
    try:
        if isinstance(current, Enum):
            return value if isinstance(value, type(current)) else type(current)(value)
        if isinstance(value, str):
            text = value.strip()
            if isinstance(current, bool):
                return {"true": True, "false": False}[text.lower()]
            if text.lower() == "none" and current is None:
                return None
            if isinstance(current, int):
                return int(text)
            if isinstance(current, tuple):
                return tuple(part.strip() for part in text.split("|") if part.strip())
            return float(text)
        if isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    except (KeyError, ValueError):
        expected = (", ".join(member.value for member in type(current)) if isinstance(current, Enum)
                    else type(current).__name__ if current is not None else "a number")
        raise ValueError(f"cannot read {value!r} as a value of {parameter} (expected {expected}).") from None


def _show(value) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return "|".join(map(str, value))
    return str(value)


def sweep(source: Tables | Workspace, policy: Policy, parameter: str, values: Sequence, *,
          as_of: dt.date | str | None = None, threshold: float | None = None, top: int = 10) -> CompareReport:
    """Score the tables under variants of one policy that differ in one parameter.

    Each variant is ``dataclasses.replace(policy, **{parameter: value})``, labelled
    ``parameter=value``; the first value is the baseline movers are measured against.

    Parameters
    ----------
    source : Tables or Workspace
        As for :func:`compare_policies`.
    policy : Policy
    parameter : str
        A field of :class:`~graphscore.policy.Policy` (``damping``, ``max_hops``,
        ``half_life_days``, ``normalize``...), not ``name``, ``description``, ``transmit`` or
        ``as_of``.
    values : sequence
        At least two, all different. Text (as :func:`parse_sweep` returns it) is read as the
        parameter's type: numbers, ``true`` / ``false``, an enum's value, ``none`` where the
        policy leaves it unset, ``a|b`` for a list of penalty kinds.
    as_of, threshold, top
        As for :func:`compare_policies`.

    Returns
    -------
    CompareReport
        With ``parameter`` set and each variant's ``value``. A value the model refuses or cannot
        converge at (say a damping at which spread diverges) is a failed variant, with the
        message, not an exception: the rest of the sweep still runs.

    Raises
    ------
    ValueError
        If ``parameter`` is not a policy field one can sweep, a value cannot be read as its type,
        values repeat or are fewer than two.
    """
    _sweepable(policy, parameter)
    values = [_coerce(policy, parameter, value) for value in values]
    variants = [_Variant(f"{parameter}={_show(value)}", dataclasses.replace(policy, **{parameter: value}), value)
                for value in values]
    return _compare(as_workspace(source), variants, as_of=as_of, threshold=threshold, parameter=parameter,
                    title=f"Sweep of {parameter} under {policy.name}", top=top, notes=[])
