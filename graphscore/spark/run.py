"""Scores and per-source contributions on Spark: the public entry points of the Spark engine.

``score`` gives the columns of the in-memory :func:`graphscore.score` (``id, name, kind, own,
echo, inherited, total`` and the model's own) for the models the Spark engine runs; any other
model, or a policy switch it does not implement, is refused with a message saying so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from graphscore.engine.ownership import _SHARE_TOL
from graphscore.policy import Aggregate, Combine, LinkTime, MissingShare, ModelName, Policy
from graphscore.spark import linear, ownership
from graphscore.spark.projection import SparkProjection, build_projection
from graphscore.spark.session import lazy_module
from graphscore.spark.tables import SparkTables, spark_tables

F = lazy_module("pyspark.sql.functions")
sql = lazy_module("pyspark.sql")

__all__ = ["SUPPORTED_MODELS", "SparkScores", "check_supported", "run_model", "score", "contributions"]

SUPPORTED_MODELS = (ModelName.SPREAD, ModelName.HOP, ModelName.OWNERSHIP_OFAC, ModelName.OWNERSHIP_EU,
                    ModelName.OWNERSHIP_INTEGRATED)
# Terms of the integrated stakes below this are dropped (graphscore.spark.ownership.listed_stakes);
# the error it admits is reported with the scores.
DEFAULT_EPSILON = 1e-13


def check_supported(policy: Policy) -> None:
    """ValueError naming the models the Spark engine runs, for any other, and for
    ``link_time = "at_penalty"`` (each penalty over the links of its own start date: one
    projection per such date, which the Spark engine does not build).

    Examples
    --------
    >>> import graphscore as gs
    >>> check_supported(gs.parse_policy('name="d"\\nmodel="debtrank"\\n[[transmit]]\\nlink="OWNS"\\ndirection="backward"'))
    Traceback (most recent call last):
    ...
    ValueError: the spark engine does not run model 'debtrank' (policy 'd'); it runs spread, hop, ownership-ofac, ownership-eu, ownership-integrated: use the in-memory engine for this one
    """
    if policy.model not in SUPPORTED_MODELS:
        runs = ", ".join(m.value for m in SUPPORTED_MODELS)
        raise ValueError(f"the spark engine does not run model {policy.model.value!r} (policy {policy.name!r}); "
                         f"it runs {runs}: use the in-memory engine for this one")
    if policy.link_time is LinkTime.AT_PENALTY:
        raise ValueError(f"the spark engine does not run link_time = 'at_penalty' (policy {policy.name!r}): it reads "
                         "the links in force at as_of only; use the in-memory engine for this one")


@dataclass(frozen=True)
class SparkScores:
    """Scores as a Spark DataFrame with what the in-memory engine keeps in ``attrs``.

    Attributes
    ----------
    frame : DataFrame
        ``id, name, kind, own, echo, inherited, total`` and the model's columns, one row per entity.
    as_of : str
        The date scored at, ISO.
    notes : list of str
        What the projection decided that a reader should know.
    figures : dict
        Model-wide figures: for ``ownership-integrated``, ``pruned`` (the largest stake an entity
        lost to pruning) and ``error_bound`` (None where no bound follows); for ``ownership-eu``,
        ``eu_inclusive`` (whether exactly the threshold counted as owned), as in memory.
    """

    frame: object
    as_of: str
    notes: list[str]
    figures: dict = field(default_factory=dict)

    def to_pandas(self):
        """The scores as pandas, sorted by id, ``as_of`` and ``notes`` in ``attrs``."""
        # through Arrow: pyspark's own pandas converter warns about pandas 3
        frame = self.frame.toArrow().to_pandas().sort_values("id", ignore_index=True)
        frame.attrs.update({"as_of": self.as_of, "notes": list(self.notes), **self.figures})
        return frame


def _per_entity(projection: SparkProjection, **columns):
    """One row per entity: ``idx, id, name, kind`` and each ``name=(frame, column, default)``."""
    frame = projection.entities
    for name, (values, column, default) in columns.items():
        frame = frame.join(values.select("idx", F.col(column).alias(name)), "idx", "left")
        frame = frame.withColumn(name, F.coalesce(F.col(name), F.lit(default)))
    return frame


def _flags(frame):
    return frame.withColumn("flag", F.lit(True))


def run_model(projection: SparkProjection, policy: Policy, *, epsilon: float = DEFAULT_EPSILON,
              with_echo: bool = True):
    """Run the policy's model: a frame ``idx, id, name, kind, own, echo, total`` (+ the model's
    columns) and the model-wide figures. ``echo`` is the own penalty returning around cycles
    (:func:`graphscore.spark.linear.echo`) under spread and hop; the ownership rules score a
    listed entity 1, its own, so nothing returns and it is 0, as in memory. ``with_echo=False``
    leaves the spread and hop frames without ``echo``: the model alone, as
    :func:`graphscore.engine.run.run_model` runs it (benchmarks/spark.py times the two)."""
    check_supported(policy)
    model, seeds = policy.model, projection.seeds
    if model in (ModelName.SPREAD, ModelName.HOP):
        options = {"damping": policy.damping}
        if model is ModelName.HOP:
            options.update(max_hops=policy.max_hops, aggregate=policy.aggregate.value)
        x = (linear.spread if model is ModelName.SPREAD else linear.hop)(projection.W, seeds, **options)
        columns = {"own": (seeds, "value", 0.0), "total": (x, "value", 0.0)}
        if with_echo:
            columns["echo"] = (linear.echo(projection.W, seeds, **options), "value", 0.0)
        return _per_entity(projection, **columns), {}
    listed = seeds.select("idx")
    own = listed.withColumn("flag", F.lit(1.0))
    nothing = listed.limit(0).withColumn("flag", F.lit(0.0))
    limit = policy.stake_limit
    if model is ModelName.OWNERSHIP_OFAC:
        blocked, stake = ownership.ofac_blocked(projection.edges, listed, threshold=limit)
        review = ownership.ofac_review(projection.edges, listed, blocked, threshold=limit)
        return _per_entity(projection, own=(own, "flag", 0.0), echo=(nothing, "flag", 0.0),
                           total=(blocked.withColumn("flag", F.lit(1.0)), "flag", 0.0),
                           stake=(stake, "stake", 0.0), review=(_flags(review), "flag", False)), {}
    if model is ModelName.OWNERSHIP_EU:
        inclusive = policy.eu_inclusive_at(projection.as_of.date())
        frozen, stake, controlled = ownership.eu_frozen(projection.edges, listed, threshold=limit, inclusive=inclusive)
        review = ownership.eu_review(projection.edges, listed, frozen, threshold=limit, inclusive=inclusive)
        return _per_entity(projection, own=(own, "flag", 0.0), echo=(nothing, "flag", 0.0),
                           total=(frozen.withColumn("flag", F.lit(1.0)), "flag", 0.0), stake=(stake, "stake", 0.0),
                           controlled=(_flags(controlled), "flag", False),
                           review=(_flags(review), "flag", False)), {"eu_inclusive": inclusive}
    stakes = ownership.listed_stakes(projection.edges, listed, epsilon=epsilon)
    # the rounding slack every rule uses (graphscore.engine.ownership.reaches)
    flagged = stakes.stake.filter(F.col("stake") >= limit - _SHARE_TOL).select("idx").unionByName(listed).distinct()
    frame = _per_entity(projection, own=(own, "flag", 0.0), echo=(nothing, "flag", 0.0),
                        total=(flagged.withColumn("flag", F.lit(1.0)), "flag", 0.0), stake=(stakes.stake, "stake", 0.0))
    return frame, {"pruned": stakes.pruned, "error_bound": stakes.error_bound}


def _score_columns(frame, *extra: str):
    """``own, echo, inherited, total`` adding up exactly, as
    :func:`graphscore.analysis.scores.split_score`: an inherited a tolerance below 0 is 0, and
    the echo all of the rest."""
    inherited = F.greatest(F.col("total") - F.col("own") - F.col("echo"), F.lit(0.0))
    return frame.select("id", "name", "kind", "own", (F.col("total") - F.col("own") - inherited).alias("echo"),
                        inherited.alias("inherited"), "total", *extra)


def score(policy: Policy, entities, links=None, penalties=None, *, as_of: dt.date | str | None = None,
          epsilon: float = DEFAULT_EPSILON, check: bool = True) -> SparkScores:
    """Score every entity under the policy's model on Spark: DataFrames in, a DataFrame out.

    Parameters
    ----------
    policy : Policy
        Its model must be one of :data:`SUPPORTED_MODELS`.
    entities, links, penalties : DataFrame
        Spark DataFrames with the model's columns (``graphscore/schema/model.toml``), or
        ``entities`` a :class:`~graphscore.spark.tables.SparkTables` (then links and penalties
        are taken from it). Dates may be ISO text.
    as_of : date or str, optional
        Default: the policy's, else today (UTC).
    epsilon : float
        Pruning of integrated stakes (``ownership-integrated`` only); the error admitted is in
        ``figures["error_bound"]``.
    check : bool
        Check the tables first (:func:`graphscore.spark.tables.spark_tables`).

    Returns
    -------
    SparkScores
        ``frame`` with the columns of :func:`graphscore.score`: ``id, name, kind, own, echo,
        inherited, total`` then the model's (``stake``; ``controlled`` under the EU test;
        ``review`` under the OFAC and EU tests; ``total_low``, ``total_high`` with
        ``missing_share = "bounds"``).

    Raises
    ------
    ValueError
        For a model the Spark engine does not run, or ``link_time = "at_penalty"``.
    InvalidData
        For tables that break the data model.
    ConvergenceError
        If the spread cannot be shown to converge.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.spark.tables import from_tables
    >>> from graphscore.toy import fined_company
    >>> tables = from_tables(spark, gs.validate(fined_company()))  # doctest: +SKIP
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> scores = score(policy, tables, as_of="2024-01-01")  # doctest: +SKIP
    >>> scores.to_pandas()[["id", "own", "echo", "inherited", "total"]]  # doctest: +SKIP
      id  own  echo  inherited  total
    0  c  1.0   0.0        0.0    1.0
    1  p  0.0   0.0        0.5    0.5
    """
    check_supported(policy)
    tables = entities if isinstance(entities, SparkTables) else spark_tables(entities, links, penalties, check=check)
    extra = {ModelName.OWNERSHIP_EU: ("stake", "controlled", "review"), ModelName.OWNERSHIP_OFAC: ("stake", "review"),
             ModelName.OWNERSHIP_INTEGRATED: ("stake",)}.get(policy.model, ())
    if policy.missing_share is MissingShare.BOUNDS:
        low = build_projection(tables, policy, as_of, missing_share=MissingShare.LOW)
        high = build_projection(tables, policy, as_of, missing_share=MissingShare.HIGH, entities=low.entities)
        (run_low, figures), (run_high, _) = run_model(low, policy, epsilon=epsilon), run_model(high, policy, epsilon=epsilon)
        frame = run_low.join(run_high.select("idx", F.col("total").alias("total_high")), "idx")
        frame = _score_columns(frame.withColumn("total_low", F.col("total")), *extra, "total_low", "total_high")
        return SparkScores(frame, low.as_of.date().isoformat(), list(low.notes), figures)
    projection = build_projection(tables, policy, as_of)
    frame, figures = run_model(projection, policy, epsilon=epsilon)
    return SparkScores(_score_columns(frame, *extra), projection.as_of.date().isoformat(), list(projection.notes),
                       figures)


def contributions(policy: Policy, entities, links=None, penalties=None, *, entity_ids,
                  as_of: dt.date | str | None = None, check: bool = True):
    """Each penalty's contribution to the scores of ``entity_ids``: what explain lists, at scale.

    Under a linear model (``spread``; ``hop`` with ``aggregate = "sum"``) an entity's score
    ``x[v] = sum_u G[v, u] s[u]`` splits exactly by source; ``G[v, :]`` is one run of the model
    with ``W`` transposed from the unit vector at ``v``, and all of ``entity_ids`` run at once,
    keyed by ``entity``. A source's part splits among its penalties by weight under
    ``combine = "sum"``, and goes to its heaviest under ``"max"``, as
    :func:`graphscore.analysis.explain.explain` does.

    Returns
    -------
    DataFrame
        ``entity, penalty, source, contribution, share``: ``share`` of the entity's score; the
        contributions of one entity sum to its score.

    Raises
    ------
    ValueError
        For a model whose scores do not split by source.
    KeyError
        For an id that is not an entity.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.spark.tables import from_tables
    >>> from graphscore.toy import shared_representative
    >>> tables = from_tables(spark, gs.validate(shared_representative()))  # doctest: +SKIP
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="both"')
    >>> why = contributions(policy, tables, entity_ids=["C2"], as_of="2024-01-01")  # doctest: +SKIP
    >>> [(r.penalty, r.source, round(r.contribution, 12)) for r in why.collect()]  # doctest: +SKIP
    [('F1', 'C1', 0.5)]
    """
    linear_model = policy.model is ModelName.SPREAD or (policy.model is ModelName.HOP and policy.aggregate is Aggregate.SUM)
    if not linear_model:
        raise ValueError(f"per-source contributions need a linear model (spread, or hop with aggregate = 'sum'); "
                         f"model {policy.model.value!r} does not split by source.")
    check_supported(policy)
    tables = entities if isinstance(entities, SparkTables) else spark_tables(entities, links, penalties, check=check)
    projection = build_projection(tables, policy, as_of)
    wanted = list(dict.fromkeys(entity_ids))
    targets = projection.entities.filter(F.col("id").isin(*wanted)).select(
        F.col("idx").alias("target"), "idx", F.lit(1.0).alias("value"))
    found = {r.id for r in projection.entities.filter(F.col("id").isin(*wanted)).select("id").collect()}
    if missing := [i for i in wanted if i not in found]:
        raise KeyError(f"unknown entity id {missing[0]!r}")
    transposed = projection.W.select(F.col("v").alias("u"), F.col("u").alias("v"), "weight")
    if policy.model is ModelName.SPREAD:
        gain = linear.spread(transposed, targets, damping=policy.damping, tol=1e-14, keys=("target",))
    else:
        gain = linear.hop(transposed, targets, damping=policy.damping, max_hops=policy.max_hops, keys=("target",))
    by_source = gain.join(projection.seeds.withColumnRenamed("value", "s"), "idx").select(
        "target", "idx", (F.col("value") * F.col("s")).alias("by_source"))
    penalties = projection.penalties.filter(F.col("weight") > 0)
    if projection.combine is Combine.MAX:
        first = sql.Window.partitionBy("idx").orderBy(F.col("weight").desc(), F.col("id"))
        parts = penalties.withColumn("part", F.when(F.row_number().over(first) == 1, F.lit(1.0))).filter("part = 1")
    else:
        parts = penalties.withColumn("part", F.col("weight") / F.sum("weight").over(sql.Window.partitionBy("idx")))
    rows = by_source.join(parts.select(F.col("id").alias("penalty"), "idx", "part"), "idx").select(
        "target", "idx", "penalty", (F.col("by_source") * F.col("part")).alias("contribution"))
    names = projection.entities.select("idx", "id")
    rows = (rows.join(names.withColumnRenamed("idx", "target").withColumnRenamed("id", "entity"), "target")
            .join(names.withColumnRenamed("id", "source"), "idx"))
    total = F.sum("contribution").over(sql.Window.partitionBy("entity"))
    return rows.select("entity", "penalty", "source", "contribution", (F.col("contribution") / total).alias("share"))
