"""Ownership rules on Spark: the OFAC and EU fixpoints and the listed group's integrated stake.

They read the projection's edges owner -> asset: ``type = "OWNS"`` with ``weight`` the direct
share ``D[o, a]``, and ``type = "CONTROLS"`` (``C[c, a] = 1``); ``listed`` is a frame of ``idx``
(entities with an active penalty of the policy's ``seed_kinds``). The rules are those of
:mod:`graphscore.engine.ownership`, with its tolerance on thresholds.

Other rules (e.g. the UK's OFSI test, which does not aggregate the stakes of different
designated persons) are refused by :func:`graphscore.spark.run.check_supported`.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphscore.engine.ownership import _MAX_CAPPED_ROUNDS, _SHARE_TOL
from graphscore.errors import ConvergenceError
from graphscore.spark.linear import _largest, batches, fold, start, step
from graphscore.spark.session import cut_lineage, lazy_module

F = lazy_module("pyspark.sql.functions")

__all__ = ["ofac_blocked", "eu_frozen", "listed_stakes", "capped_stakes", "Stakes", "pruning_error_bound", "review",
           "ofac_review", "eu_review"]


def _owned(edges, link_type: str):
    return edges.filter(F.col("type") == link_type).select("u", "v", "weight")


def _stake(flagged, D):
    """``idx, stake``: the summed direct stake that flagged owners hold in each entity."""
    return (flagged.join(D, flagged["idx"] == D["u"]).groupBy(F.col("v").alias("idx"))
            .agg(F.sum("weight").alias("stake")))


def _check_threshold(threshold: float) -> None:
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}.")


def ofac_blocked(edges, listed, *, threshold: float = 0.5, max_rounds: int = 10_000):
    """The OFAC 50 % rule to its fixpoint: entities whose direct stakes held by blocked owners
    sum to ``threshold`` or more are blocked, and bring their own stakes into the count.

    Returns
    -------
    blocked : DataFrame
        ``idx`` of the listed and blocked entities.
    stake : DataFrame
        ``idx, stake``: blocked owners' summed direct stake at the fixpoint (where above 0).

    Examples
    --------
    >>> edges = spark.createDataFrame([(0, 1, "OWNS", 0.5), (1, 2, "OWNS", 0.5)],  # doctest: +SKIP
    ...                               "u long, v long, type string, weight double")
    >>> listed = spark.createDataFrame([(0,)], "idx long")  # doctest: +SKIP
    >>> sorted(r.idx for r in ofac_blocked(edges, listed)[0].collect())  # doctest: +SKIP
    [0, 1, 2]

    References
    ----------
    .. [1] U.S. Department of the Treasury, OFAC, "Revised Guidance on Entities Owned by Persons
       Whose Property and Interests in Property Are Blocked", 13 August 2014.
    """
    _check_threshold(threshold)
    D = cut_lineage(_owned(edges, "OWNS"))
    blocked, size = listed, listed.count()
    for _ in range(max_rounds):
        # OFAC aggregates direct stakes of blocked owners only: a stake held through an
        # unblocked company counts zero, even when blocked owners hold 49 % of that company.
        stake = _stake(blocked, D)
        grown = cut_lineage(listed.unionByName(
            stake.filter(F.col("stake") >= threshold - _SHARE_TOL).select("idx")).distinct())
        # the blocked set only grows from the seeds, so an unchanged size is an unchanged set
        grown_size = grown.count()
        if grown_size == size:
            return blocked, cut_lineage(stake)
        blocked, size = grown, grown_size
    raise ConvergenceError(f"the OFAC rule did not settle in {max_rounds} rounds.")


def eu_frozen(edges, listed, *, threshold: float = 0.5, inclusive: bool = False, max_rounds: int = 10_000):
    """The EU "owned or controlled" test to its fixpoint, as :func:`graphscore.engine.ownership.eu_frozen`.

    Returns
    -------
    frozen : DataFrame
        ``idx`` of the listed and frozen entities.
    stake : DataFrame
        ``idx, stake``: frozen owners' summed direct stake (where above 0).
    controlled : DataFrame
        ``idx`` of entities, other than listed ones, controlled by a frozen party.

    Examples
    --------
    >>> edges = spark.createDataFrame([(0, 1, "OWNS", 0.5), (0, 2, "CONTROLS", 1.0)],  # doctest: +SKIP
    ...                               "u long, v long, type string, weight double")
    >>> listed = spark.createDataFrame([(0,)], "idx long")  # doctest: +SKIP
    >>> sorted(r.idx for r in eu_frozen(edges, listed)[0].collect())  # doctest: +SKIP
    [0, 2]

    References
    ----------
    .. [1] Council of the EU, Update of the EU Best Practices for the effective implementation
       of restrictive measures, doc. 10572/22 (2022), paras 61-66; update of 3 July 2024.
    """
    _check_threshold(threshold)
    D = cut_lineage(_owned(edges, "OWNS"))
    C = cut_lineage(_owned(edges, "CONTROLS").select("u", "v").distinct())
    frozen, size = listed, listed.count()
    for _ in range(max_rounds):
        stake = _stake(frozen, D)
        owned = F.col("stake") >= threshold - _SHARE_TOL if inclusive else F.col("stake") > threshold + _SHARE_TOL
        controlled = (frozen.join(C, frozen["idx"] == C["u"]).select(F.col("v").alias("idx")).distinct()
                      .join(listed, "idx", "left_anti"))
        grown = cut_lineage(listed.unionByName(stake.filter(owned).select("idx")).unionByName(controlled).distinct())
        grown_size = grown.count()
        if grown_size == size:
            return frozen, cut_lineage(stake), cut_lineage(controlled)
        frozen, size = grown, grown_size
    raise ConvergenceError(f"the EU test did not settle in {max_rounds} rounds.")


@dataclass(frozen=True)
class Stakes:
    """The listed group's integrated stakes, and what pruning left out.

    Attributes
    ----------
    stake : DataFrame
        ``idx, stake``, where above 0: a lower bound on the exact stake.
    pruned : float
        The largest total an entity lost to pruning (terms below ``epsilon`` dropped there).
    error_bound : float or None
        Exact stake minus computed stake is at most this, everywhere; None when the contraction
        of unlisted owners' stakes is 1 or more and no bound follows (see :func:`pruning_error_bound`),
        and where the stakes are the least solution capped at 100 % (:func:`capped_stakes`).
    """

    stake: object
    pruned: float
    error_bound: float | None


def pruning_error_bound(pruned: float, contraction: float) -> float | None:
    """Bound on what pruning takes from any stake: ``pruned / (1 - contraction)``.

    The computed stakes solve ``y = d + B y - r`` for the dropped terms ``r >= 0`` (summed per
    entity, at most ``pruned`` each), ``B[a, o] = D[o, a]`` for unlisted owners o. So the error is
    ``(I - B)^-1 r``, and ``||(I - B)^-1||_inf <= 1 / (1 - ||B||_inf)`` when ``||B||_inf``, the
    largest stake unlisted owners hold together in one entity, is below 1.

    Examples
    --------
    >>> round(pruning_error_bound(1e-13, 0.9), 20)
    1e-12
    >>> pruning_error_bound(0.0, 1.0), pruning_error_bound(1e-13, 1.0) is None
    (0.0, True)
    """
    if pruned == 0:
        return 0.0
    return pruned / (1 - contraction) if contraction < 1 else None


def listed_stakes(edges, listed, *, epsilon: float = 1e-13, max_iter: int = 10_000,
                  checkpoint_every: int = 10) -> Stakes:
    """The listed group's integrated stake in each entity, the least solution of
    ``y = min(1, D_L^T 1 + D_U^T y)``, as :func:`graphscore.engine.ownership.listed_stakes`.

    Each chain counts once, from the last listed owner on it (see
    :func:`graphscore.engine.ownership.listed_stakes`). Stakes are pushed down ownership chains:
    a term is a stake arriving at an entity through chains of one length, and terms below
    ``epsilon`` are dropped, so the frontier dies out even around ownership cycles, and the
    error this admits is bounded by :func:`pruning_error_bound` and reported. Where the sum
    passes 100 % somewhere (stakes read at upper bounds that sum past it, or a cycle of whole
    stakes: two companies holding each other with no recorded share), the series is not the
    answer: the least solution capped at 100 % is (:func:`capped_stakes`), as in memory.

    Parameters
    ----------
    edges : DataFrame
        The projection's edges (OWNS rows read).
    listed : DataFrame
        ``idx`` of the listed entities.
    epsilon : float
        Terms below this are dropped, >= 0 (0: nothing pruned; then a cycle never dies out
        and ``max_iter`` stops it).

    Raises
    ------
    ConvergenceError
        If terms still arrive after ``max_iter`` steps with every sum below 100 % (a cycle
        among unlisted owners multiplying to within a hair of 100 %).

    Examples
    --------
    >>> edges = spark.createDataFrame([(0, 1, "OWNS", 0.4), (1, 2, "OWNS", 0.75)],  # doctest: +SKIP
    ...                               "u long, v long, type string, weight double")
    >>> listed = spark.createDataFrame([(0,)], "idx long")  # doctest: +SKIP
    >>> result = listed_stakes(edges, listed)  # doctest: +SKIP
    >>> sorted((r.idx, round(r.stake, 12)) for r in result.stake.collect()), result.error_bound  # doctest: +SKIP
    ([(1, 0.4), (2, 0.3)], 0.0)

    References
    ----------
    .. [1] Brioschi, Buzzacchi, Colombo, "Risk capital financing and the separation of ownership
       and control in business groups", J. Banking & Finance 13, 1989.
    .. [2] Vitali, Glattfelder, Battiston, "The network of global corporate control",
       PLoS ONE 6(10): e25995 (2011).
    """
    if epsilon < 0:
        raise ValueError(f"epsilon must be >= 0, got {epsilon}.")
    D = _owned(edges, "OWNS")
    through = cut_lineage(D.join(listed.withColumnRenamed("idx", "u"), "u", "left_anti"))  # unlisted owners
    contraction = through.groupBy("v").agg(F.sum("weight").alias("t")).agg(F.max("t")).first()[0] or 0.0
    direct = cut_lineage(_stake(listed, D).withColumnRenamed("stake", "value"))
    state = start(direct)
    for _, state in batches(state, through, damping=1.0, max_steps=max_iter, every=checkpoint_every,
                            prune_below=epsilon):
        # the partial sums only grow: once one passes 100 % (beyond rounding), so does the sum,
        # if there is one, and the in-memory engine takes the capped least solution instead
        if _largest(state, "acc") > 1 + _SHARE_TOL:
            return Stakes(capped_stakes(through, direct, checkpoint_every=checkpoint_every), 0.0, None)
        if _largest(state) == 0:  # no term left
            break
    else:
        raise ConvergenceError(f"integrated stakes still arrive after {max_iter} steps: a cycle among unlisted "
                               "owners multiplies to within a hair of 100 %; check its stakes.")
    pruned = _largest(state, "dropped")
    # a sum up to rounding above 100 % is 100 %, as in memory
    stake = state.select("idx", F.least(F.col("acc"), F.lit(1.0)).alias("stake")).filter(F.col("stake") > 0)
    return Stakes(stake, pruned, pruning_error_bound(pruned, float(contraction)))


# The capped iteration stops once no stake moves by more than this: a few units in the last
# place of 1, where sums added in another order on Spark may still differ.
_CAPPED_TOL = 1e-14


def capped_stakes(through, direct, *, max_rounds: int = _MAX_CAPPED_ROUNDS, checkpoint_every: int = 10):
    """``idx, stake``: the least solution of ``y = min(1, direct + M^T y)``, ``M`` the stakes of
    unlisted owners (``through``: ``u`` owner, ``v`` asset, ``weight``), by iterating the capped
    map from 0, as the in-memory engine does where the series has no sum below 100 %
    (``_least_stakes`` in :mod:`graphscore.engine.ownership`).

    The map is monotone and bounded, so its iterates climb to the least fixpoint. Around a
    cycle of whole stakes the caps bind after a few rounds; elsewhere the iterates gain a factor
    of the cycle's product per round, as in memory.

    Raises
    ------
    ConvergenceError
        If stakes still move after ``max_rounds`` rounds.

    Examples
    --------
    A and B hold each other wholly (no recorded share, each read at 100 %); X, listed, holds
    40 % of A: whatever reaches A comes back to it in full, so the series has no sum, and the
    least capped answer is 100 % for both.

    >>> through = spark.createDataFrame([(1, 2, 1.0), (2, 1, 1.0)], "u long, v long, weight double")  # doctest: +SKIP
    >>> direct = spark.createDataFrame([(1, 0.4)], "idx long, value double")  # doctest: +SKIP
    >>> sorted((r.idx, r.stake) for r in capped_stakes(through, direct).collect())  # doctest: +SKIP
    [(1, 1.0), (2, 1.0)]
    """

    def capped(y):
        arrived = step(y, through, damping=1.0)
        return fold([direct, arrived]).select("idx", F.least(F.col("value"), F.lit(1.0)).alias("value"))

    y = cut_lineage(direct.select("idx", F.least(F.col("value"), F.lit(1.0)).alias("value")))  # the map at 0
    for _ in range(0, max_rounds, checkpoint_every):
        for _ in range(max(checkpoint_every - 2, 0)):
            y = capped(y)
        before = cut_lineage(capped(y))
        y = cut_lineage(capped(before))
        moved = y.join(before.withColumnRenamed("value", "before"), "idx", "full").select(
            (F.coalesce("value", F.lit(0.0)) - F.coalesce("before", F.lit(0.0))).alias("value"))
        if _largest(moved) <= _CAPPED_TOL:
            return y.withColumnRenamed("value", "stake")
    raise ConvergenceError(f"group stakes did not settle in {max_rounds} rounds: an ownership cycle multiplies "
                           "to within rounding of 100 %; check its stakes.")


def _reached(M, start, *, max_rounds: int = 10_000):
    """``idx`` of the entities ``M`` (``u -> v``) leads to from ``start`` in one or more steps:
    breadth first, one join per level."""
    reached = start.sparkSession.createDataFrame([], "idx long")
    frontier, size = start, 0
    for _ in range(max_rounds):
        frontier = cut_lineage(frontier.join(M, frontier["idx"] == M["u"]).select(F.col("v").alias("idx"))
                               .distinct().join(reached, "idx", "left_anti"))
        if frontier.isEmpty():
            return reached
        reached = cut_lineage(reached.unionByName(frontier))
    raise ConvergenceError(f"the owners' reach did not settle in {max_rounds} rounds.")


def review(step, listed, top, least, *, max_rounds: int = 10_000):
    """``idx`` of the entities a cycle leaves open: in the greatest self-consistent answer of a
    monotone rule but not in the least (``least``), as :func:`graphscore.engine.ownership.ofac_review`.

    The greatest answer is found from ``top`` (every entity the rule could reach from the
    listed ones) downwards: an entity stays while ``step`` (a frame of ``idx`` -> the ``idx``
    the rule flags given them) still flags it (Knaster-Tarski, as ``_fixpoints`` in memory).
    """
    greatest = cut_lineage(listed.unionByName(top).distinct())
    size = greatest.count()
    for _ in range(max_rounds):
        shrunk = cut_lineage(listed.unionByName(step(greatest).join(top, "idx", "left_semi")).distinct())
        shrunk_size = shrunk.count()
        if shrunk_size == size:  # the set only shrinks towards the least answer: same size, same set
            return shrunk.join(least, "idx", "left_anti")
        greatest, size = shrunk, shrunk_size
    raise ConvergenceError(f"the greatest answer of the rule did not settle in {max_rounds} rounds.")


def ofac_review(edges, listed, blocked, *, threshold: float = 0.5):
    """``idx`` of the entities whose OFAC status a cycle leaves open, given the least answer
    ``blocked`` of :func:`ofac_blocked` (see :func:`graphscore.engine.ownership.ofac_review`).

    Examples
    --------
    X owns 40 % of A, A 100 % of B, B 10 % of A: blocking A and B is consistent too.

    >>> edges = spark.createDataFrame([(0, 1, "OWNS", 0.4), (1, 2, "OWNS", 1.0), (2, 1, "OWNS", 0.1)],  # doctest: +SKIP
    ...                               "u long, v long, type string, weight double")
    >>> listed = spark.createDataFrame([(0,)], "idx long")  # doctest: +SKIP
    >>> sorted(r.idx for r in ofac_review(edges, listed, ofac_blocked(edges, listed)[0]).collect())  # doctest: +SKIP
    [1, 2]

    References
    ----------
    .. [1] Tarski, "A lattice-theoretical fixpoint theorem and its applications", Pacific J.
       Math. 5 (1955) 285-309.
    """
    _check_threshold(threshold)
    D = cut_lineage(_owned(edges, "OWNS"))

    def step(flagged):
        return _stake(flagged, D).filter(F.col("stake") >= threshold - _SHARE_TOL).select("idx")

    return review(step, listed, _reached(D, listed), blocked)


def eu_review(edges, listed, frozen, *, threshold: float = 0.5, inclusive: bool = False):
    """``idx`` of the entities whose EU status a cycle leaves open, given the least answer
    ``frozen`` of :func:`eu_frozen` (see :func:`graphscore.engine.ownership.eu_review`)."""
    _check_threshold(threshold)
    D = cut_lineage(_owned(edges, "OWNS"))
    C = cut_lineage(_owned(edges, "CONTROLS").select("u", "v").distinct())

    def step(flagged):
        owned = F.col("stake") >= threshold - _SHARE_TOL if inclusive else F.col("stake") > threshold + _SHARE_TOL
        return (_stake(flagged, D).filter(owned).select("idx")
                .unionByName(flagged.join(C, flagged["idx"] == C["u"]).select(F.col("v").alias("idx"))))

    top = _reached(D.select("u", "v").unionByName(C).distinct(), listed)
    return review(step, listed, top, frozen)
