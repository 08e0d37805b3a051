"""The projection on Spark: links + policy + ``as_of`` -> weighted edges and own weights.

The same rules as :func:`graphscore.engine.matrix.build_projection`, as DataFrame operations:

- a record counts at ``as_of`` when ``start <= as_of < end``; of several active records of one
  relation (source, target, type and the type's ``period_key``) the one ending soonest is in
  force, then the one starting latest, then the first in the input
  (:func:`graphscore.timeline.active_links`);
- each ``[[transmit]]`` rule picks links by type and role, weighs them by a number or the
  ``share`` (``missing_share`` deciding what a missing or ranged share means, bounded by what
  the other owners' recorded stakes leave), runs them ``forward`` (``u = source``,
  ``v = target``), ``backward`` or both, carries a penalty across a pair once per written
  direction at its strongest link, and with ``split`` divides each source's weight evenly;
- the edges of all rules between one ordered pair make one entry of ``W`` under the policy's
  ``parallel`` (:func:`parallel_links`: sum, strongest, or noisy-or), and ``normalize``
  rescales the combined entries;
- a penalty weighs ``severity * 0.5 ** (age / half_life_days)`` inside its window (a missing
  end is ``start + period_days`` where the policy sets one; nothing from ``repair_from`` on with
  ``repair``), an ownership rule counts only the penalties it lists (``seed_kinds``,
  ``regimes``), and an entity's penalties make ``s`` by ``combine``.

Entities are numbered once (``idx``, a 64-bit key that joins faster than the text ids); every
frame the models read is keyed by it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from graphscore.engine.matrix import OWNERSHIP_RULES, resolve_as_of
from graphscore.model import load_model
from graphscore.policy import Combine, Direction, MissingShare, Normalize, Parallel, Policy, Transmit
from graphscore.spark.session import cut_lineage, lazy_module
from graphscore.spark.tables import SparkTables

F = lazy_module("pyspark.sql.functions")
sql = lazy_module("pyspark.sql")

__all__ = ["SparkProjection", "build_projection", "active_links", "penalty_weights", "rule_edges",
           "parallel_links", "normalise", "missing_share_note"]


@dataclass(frozen=True)
class SparkProjection:
    """What the Spark models read.

    Attributes
    ----------
    entities : DataFrame
        ``idx``, ``id``, ``name``, ``kind``: one row per entity.
    edges : DataFrame
        ``u`` (from), ``v`` (to), ``type``, ``weight``: every rule's edges, scaled as their
        pair was by ``normalize`` (ownership rules read the stakes here).
    W : DataFrame
        ``u``, ``v``, ``weight``: the transmission matrix ``W[v, u]``, one row per ordered pair,
        its edges combined under the policy's ``parallel`` and then normalised.
    seeds : DataFrame
        ``idx``, ``value``: own weight ``s`` of the entities where it is above 0.
    penalties : DataFrame
        ``id``, ``idx``, ``kind``, ``weight``: every penalty with its weight at ``as_of``.
    as_of : Timestamp
    combine : Combine
    notes : tuple of str
    """

    entities: object
    edges: object
    W: object
    seeds: object
    penalties: object
    as_of: pd.Timestamp
    combine: Combine
    notes: tuple[str, ...] = ()

def _date(as_of: pd.Timestamp):
    return F.lit(as_of.date())


def _active(frame, as_of: pd.Timestamp):
    """Rows whose ``[start, end)`` window holds ``as_of`` (a missing start or end is open)."""
    day = _date(as_of)
    return (F.col("start").isNull() | (F.col("start") <= day)) & (F.col("end").isNull() | (day < F.col("end")))


def active_links(links, as_of: pd.Timestamp):
    """Links in force at ``as_of``, one record per relation (see the module docstring).

    Examples
    --------
    >>> t = pd.Timestamp  # Zakharov -> LLC CST at 50 %, 48 %, 51 %, all from 2015-11-25
    >>> links = spark.createDataFrame([("z", "cst", "OWNS", None, s, dt.date(2015, 11, 25), e, i)
    ...     for i, (s, e) in enumerate([(0.5, dt.date(2023, 3, 2)), (0.48, dt.date(2023, 12, 21)), (0.51, None)])],
    ...     "source string, target string, type string, role string, share double, start date, end date, _row long")  # doctest: +SKIP
    >>> [active_links(links, t(d)).first()["share"] for d in ("2020-01-01", "2023-06-01", "2024-06-01")]  # doctest: +SKIP
    [0.5, 0.48, 0.51]
    """
    model = load_model()
    now = links.filter(_active(links, as_of))
    # a period_key column is part of the relation's key only for the types that declare it
    keys = []
    for column in sorted({c for spec in model.links.values() for c in spec.period_key}):
        types = [name for name, spec in model.links.items() if column in spec.period_key]
        keys.append(F.when(F.col("type").isin(*types), F.col(column)).alias(f"_key_{column}"))
    now = now.select("*", *keys)
    window = sql.Window.partitionBy("source", "target", "type", *[f"_key_{c}" for c in sorted(
        {c for spec in model.links.values() for c in spec.period_key})]).orderBy(
        F.col("end").asc_nulls_last(), F.col("start").desc_nulls_last(), F.col("_row"))
    first = now.withColumn("_rank", F.row_number().over(window)).filter("_rank = 1")
    return first.drop("_rank", *[c for c in first.columns if c.startswith("_key_")])


def penalty_weights(penalties, as_of: pd.Timestamp, *, half_life_days: float | None = None,
                    repair: bool = False, period_days: float | None = None):
    """Each penalty's ``weight`` at ``as_of`` (as :func:`graphscore.timeline.penalty_weights`)."""
    active = _active(penalties, as_of)
    if period_days is not None:
        # a missing end is start + period_days: as_of and start are whole days, so as_of falls
        # before it exactly when fewer than period_days days have passed
        within = F.datediff(_date(as_of), F.col("start")) < F.lit(float(period_days))
        active = active & (F.col("end").isNotNull() | F.col("start").isNull() | within)
    weight = F.when(active, F.col("severity")).otherwise(F.lit(0.0))
    if repair:
        weight = F.when(F.col("repair_from").isNotNull() & (F.col("repair_from") <= _date(as_of)),
                        F.lit(0.0)).otherwise(weight)
    if half_life_days:
        age = F.greatest(F.datediff(_date(as_of), F.col("start")), F.lit(0)).cast("double")
        weight = weight * F.pow(F.lit(0.5), F.coalesce(age, F.lit(0.0)) / F.lit(float(half_life_days)))
    return penalties.withColumn("weight", weight)


def parallel_links(edges, parallel: Parallel):
    """One weight per ordered pair ``(u, v)`` from the edges joining it, under the policy's
    ``parallel``: ``sum`` adds them, ``max`` keeps the strongest, ``noisy_or`` gives
    ``1 - prod(1 - w)`` (each weight, capped at 1, the chance of one independent coin), as
    :func:`graphscore.engine.matrix.combine_parallel`.

    Examples
    --------
    >>> edges = spark.createDataFrame([(0, 1, 0.8), (0, 1, 0.6)], "u long, v long, weight double")  # doctest: +SKIP
    >>> [round(parallel_links(edges, rule).first().weight, 6) for rule in Parallel]  # doctest: +SKIP
    [1.4, 0.8, 0.92]

    References
    ----------
    .. [1] Kempe, Kleinberg, Tardos, "Maximizing the spread of influence through a social
       network", KDD 2003, section 2 (one independent activation attempt per link).
    """
    if parallel is Parallel.SUM:
        combined = F.sum("weight")
    elif parallel is Parallel.MAX:
        combined = F.max("weight")
    else:
        # log1p keeps 1 - prod(1 - w) exact for weak links; a certain link makes the pair certain
        # (log1p(-1) would be null in Spark, not -inf)
        combined = F.when(F.max("weight") >= 1, F.lit(1.0)).otherwise(
            -F.expm1(F.sum(F.log1p(-F.col("weight")))))
    return edges.groupBy("u", "v").agg(combined.alias("weight"))


def _share_weight(chosen, missing: MissingShare):
    """The stake each OWNS link transmits under ``missing_share`` (null: the link does not
    transmit), as :func:`graphscore.timeline.stake_bounds`: a missing stake is at least 0
    and at most what the other owners' recorded (low) stakes in the asset leave; a range is cut
    to that room too, never below its own low end."""
    if missing is MissingShare.SKIP:
        return F.col("share")
    low = F.coalesce(F.col("share"), F.col("share_low"), F.lit(0.0))
    if missing is MissingShare.LOW:
        return low
    others = F.sum(low).over(sql.Window.partitionBy("target")) - low
    room = F.least(F.greatest(F.lit(1.0) - others, F.lit(0.0)), F.lit(1.0))
    upper = F.greatest(F.least(F.coalesce(F.col("share_high"), F.lit(1.0)), room), low)
    return F.coalesce(F.col("share"), upper)


def missing_share_note(link: str, count: int, named: list[tuple[str, str]], missing: MissingShare) -> str:
    """The note a projection records for links of a by-share rule that have no share.

    Examples
    --------
    >>> missing_share_note("OWNS", 7, [("a", "b"), ("c", "d")], MissingShare.SKIP)
    "7 OWNS link(s) active at as_of have no share (a -> b, c -> d, ...): missing_share = 'skip' applied"
    """
    shown = ", ".join(f"{s} -> {t}" for s, t in named[:5])
    return (f"{count} {link} link(s) active at as_of have no share "
            f"({shown}{', ...' if count > 5 else ''}): missing_share = {missing.value!r} applied")


def rule_edges(links, rule: Transmit, missing_share: MissingShare, notes: list[str]):
    """Edges ``u, v, type, weight`` one transmission rule makes of links carrying ``u_source``
    and ``u_target`` (the entity keys of each end); a note for links lacking a share."""
    chosen = links.filter(F.col("type") == rule.link)
    if rule.role is not None:
        chosen = chosen.filter(F.col("role") == rule.role)
    if rule.by_share:
        unshared = chosen.filter(F.col("share").isNull())
        named = unshared.orderBy("_row").select("source", "target").limit(5).collect()
        if named:
            count = unshared.count()
            notes.append(missing_share_note(rule.link, count, [tuple(r) for r in named], missing_share))
        weight = _share_weight(chosen, missing_share)
    else:
        weight = F.lit(float(rule.weight))
    chosen = chosen.select("u_source", "u_target", "type", weight.alias("weight")).filter(
        F.col("weight").isNotNull() & (F.col("weight") > 0))
    parts = []
    if rule.direction in (Direction.FORWARD, Direction.BOTH):
        parts.append(chosen.select(F.col("u_source").alias("u"), F.col("u_target").alias("v"), "type", "weight",
                                   F.lit("forward").alias("direction")))
    if rule.direction in (Direction.BACKWARD, Direction.BOTH):
        parts.append(chosen.select(F.col("u_target").alias("u"), F.col("u_source").alias("v"), "type", "weight",
                                   F.lit("backward").alias("direction")))
    edges = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    # One rule carries a penalty across a pair once per written direction, at its strongest link
    # (a person holding two offices in one company is one officer); the two stakes of a
    # cross-holding under direction = "both" stay two links, as in graphscore.engine.matrix.
    edges = edges.groupBy("u", "v", "type", "direction").agg(F.max("weight").alias("weight"))
    if rule.split:
        reached = F.size(F.collect_set("v").over(sql.Window.partitionBy("u")))
        edges = edges.withColumn("weight", F.col("weight") / reached)
    return edges.drop("direction")


def normalise(W, edges, how: Normalize):
    """``W`` rescaled so each source's (``"source"``) or each target's (``"target"``) entries sum
    to 1, and the edges scaled as their pair was: normalised after combining, since under
    ``max`` or ``noisy_or`` the links of a pair are one channel."""
    if how is Normalize.NONE:
        return W, edges
    by = "u" if how is Normalize.SOURCE else "v"
    scale = W.groupBy(by).agg((F.lit(1.0) / F.sum("weight")).alias("_scale"))
    return tuple(frame.join(scale, by).withColumn("weight", F.col("weight") * F.col("_scale")).drop("_scale")
                 for frame in (W, edges))


def _numbered_entities(entities):
    """Entities with ``idx``, computed once and kept: ``monotonically_increasing_id`` could number
    the rows differently if it were evaluated again under another partitioning."""
    return cut_lineage(entities.select(F.monotonically_increasing_id().alias("idx"), "id", "name", "kind"))


def build_projection(tables: SparkTables, policy: Policy, as_of: dt.date | str | None = None, *,
                     missing_share: MissingShare | None = None, entities=None) -> SparkProjection:
    """Build the edges and own weights from Spark tables under a policy at a date.

    Mirrors :func:`graphscore.engine.matrix.build_projection`: rules add up, the links of one
    ordered pair combine under ``parallel``, ownership models read OWNS (by share) and CONTROLS
    links owner -> asset and count only the penalties the policy lists; ``missing_share`` overrides the policy's (``"bounds"`` takes the
    low end here, as there). ``entities``: numbered entities of an earlier projection of the
    same tables, to reuse their ``idx``.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.spark.tables import from_tables
    >>> from graphscore.toy import fined_company
    >>> policy = gs.parse_policy('name="r"\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"\\nweight=0.5')
    >>> p = build_projection(from_tables(spark, gs.validate(fined_company())), policy, "2024-01-01")  # doctest: +SKIP
    >>> [tuple(r) for r in p.W.join(p.entities.withColumnRenamed("idx", "v"), "v")  # doctest: +SKIP
    ...  .select("id", "weight").collect()]
    [('p', 0.5)]
    """
    as_of = resolve_as_of(as_of, policy)
    notes: list[str] = []
    missing_share = missing_share or policy.missing_share
    if missing_share is MissingShare.BOUNDS:
        notes.append("missing_share = 'bounds': this projection takes the low end")
        missing_share = MissingShare.LOW
    entities = entities if entities is not None else _numbered_entities(tables.entities)
    keys = entities.select("idx", "id")
    links = active_links(tables.links, as_of)
    links = (links.join(keys.withColumnRenamed("idx", "u_source"), links["source"] == F.col("id")).drop("id")
             .join(keys.withColumnRenamed("idx", "u_target"), F.col("target") == F.col("id")).drop("id"))
    links = cut_lineage(links)  # every rule scans the active links: compute them once
    rules = OWNERSHIP_RULES if policy.model.is_ownership else policy.transmit
    parts = [rule_edges(links, rule, missing_share, notes) for rule in rules]
    edges = parts[0]
    for part in parts[1:]:
        edges = edges.unionByName(part)
    edges = cut_lineage(edges)
    # ownership rules read the stakes themselves (graphscore.spark.ownership), never W
    W, edges = normalise(parallel_links(edges, policy.parallel or Parallel.SUM), edges, policy.normalize)
    W, edges = cut_lineage(W), cut_lineage(edges)

    penalties = penalty_weights(tables.penalties, as_of, half_life_days=policy.half_life_days, repair=policy.repair,
                                period_days=policy.period_days)
    if policy.model.is_ownership:
        # Policy.lists: a penalty with no recorded regime counts under every rule
        lists = F.col("kind").isin(*policy.seed_kinds)
        if policy.regimes is not None:
            lists = lists & (F.col("regime").isin(*policy.regimes) | F.col("regime").isNull())
        penalties = penalties.withColumn("weight", F.when(lists, F.col("weight")).otherwise(F.lit(0.0)))
    penalties = penalties.join(keys, penalties["entity"] == keys["id"]).select(
        penalties["id"], "idx", "kind", "authority", "weight")
    combine = F.sum if policy.combine is Combine.SUM else F.max
    seeds = penalties.groupBy("idx").agg(combine("weight").alias("value")).filter(F.col("value") > 0)
    return SparkProjection(entities, edges, W, cut_lineage(seeds), penalties, as_of, policy.combine, tuple(notes))
