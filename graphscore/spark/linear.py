"""Spread and hop on Spark: one hop is a join of the frontier with the edges and a groupBy.

The iteration carries one frame, the *state*: per entity (and key, e.g. ``origin`` when one
run per entity of a set goes at once) ``idx``, ``value`` (the last term of the series, null
where nothing arrived), ``acc`` (the terms so far, added up or, for ``hop`` with ``aggregate =
"max"``, their largest) and ``dropped`` (what pruning took). One step (:func:`advance`) sends
each value along the edges leaving its entity, ``u -> v`` with ``weight``, and adds (or keeps
the largest of) what arrives at each ``v``: the sparse product ``damping * W @ x`` of
:mod:`graphscore.engine.spread`, and its max-product form in :mod:`graphscore.engine.hop`;
what arrives and what was held are grouped in the same shuffle. Each step reads the step before
it once, so ``checkpoint_every`` steps make one plain query, computed as one Spark job at the
end of the batch, where the state is cut from its plan (:func:`graphscore.spark.session.cut_lineage`)
and convergence checked (:func:`batches`).

No step is cached on its own, and each reads the step before it once: Spark writes a cached
plan out inside every plan that reads it (twice under adaptive execution: its initial and final
plan), and a plan that reads its previous step twice is a tree doubling with each step. On
three entities, ten steps took 69 s when each step read the previous state twice, 5.5 s as
here; with every step cached (an earlier version), the six-entity test of capped group stakes
ran the driver out of memory writing out the plan (tests/spark/test_ownership.py).
"""

from __future__ import annotations

from graphscore.errors import ConvergenceError
from graphscore.spark.session import cut_lineage, lazy_module

F = lazy_module("pyspark.sql.functions")

# ||A^m 1|| growing this many times past ||A 1|| is taken as divergence: a converging series can
# grow for a while, but not by nine orders of magnitude on a register's weights (at most 1 each).
_GROWTH_LIMIT = 1e9

__all__ = ["step", "fold", "start", "routes", "advance", "batches", "spread", "hop", "certify_convergence", "norm_bound",
           "cyclic_core", "echo"]


def step(frontier, W, *, damping: float):
    """One hop of ``frontier`` (``idx, value``) along ``W`` (``u, v, weight``):
    ``value[v] = damping * sum_u W[v, u] value[u]``, where something arrives."""
    joined = frontier.join(W, frontier["idx"] == W["u"])
    value = F.sum(F.col("value") * F.col("weight")) * F.lit(damping)
    return joined.groupBy(F.col("v").alias("idx")).agg(value.alias("value"))


def fold(parts: list):
    """Frames ``idx, value`` added up into one."""
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    return union.groupBy("idx").agg(F.sum("value").alias("value"))


def _largest(frame, column: str = "value") -> float:
    largest = frame.agg(F.max(F.abs(column))).first()[0]
    return 0.0 if largest is None else float(largest)


def start(seeds, *, keys: tuple[str, ...] = ()):
    """The state of a run from ``seeds`` (``idx, value`` and ``keys``): the seeds as the first
    term and as the terms so far, nothing dropped."""
    return seeds.select(*keys, "idx", F.col("value").cast("double").alias("value"),
                        F.col("value").cast("double").alias("acc"), F.lit(0.0).alias("dropped"))


def routes(W):
    """``W`` (``u, v, weight``) and a row ``u = v = idx`` with a null weight for each entity it
    touches: the way the state's own row takes to the next step (:func:`advance`)."""
    touched = W.select(F.col("u").alias("idx")).unionByName(W.select(F.col("v").alias("idx"))).distinct()
    return W.select("u", "v", "weight").unionByName(
        touched.select(F.col("idx").alias("u"), F.col("idx").alias("v"), F.lit(None).cast("double").alias("weight")))


def advance(state, routes, *, damping: float, aggregate: str = "sum", keys: tuple[str, ...] = (),
            prune_below: float | None = None):
    """The state one step on along ``routes`` (:func:`routes` of ``W``): each term sent along
    its entity's edges (``damping * W @ value``, or its max-product form under ``aggregate =
    "max"``) and each row's ``acc`` and ``dropped`` kept, grouped by entity in one shuffle. ``prune_below``: an arriving value below it is not a term but is added to
    ``dropped`` (graphscore.spark.ownership.listed_stakes).

    The state is read once (one join, a left one: an entity ``W`` does not touch keeps its row):
    a plan reading its previous step twice doubles with every step.
    """
    sends = F.col("value").isNotNull() | F.col("weight").isNull()  # a term's edges, and the row itself
    joined = state.join(routes, (state["idx"] == routes["u"]) & sends, "left")
    own = F.col("weight").isNull()
    rows = joined.select(*keys, F.coalesce(F.col("v"), F.col("idx")).alias("idx"),
                         (F.col("value") * F.col("weight")).alias("sent"),
                         F.when(own, F.col("acc")).alias("acc"), F.when(own, F.col("dropped")).alias("dropped"))
    combine = F.sum if aggregate == "sum" else F.max
    grouped = rows.groupBy(*keys, "idx").agg((combine("sent") * F.lit(damping)).alias("arrived"),
                                             combine("acc").alias("acc"), F.sum("dropped").alias("dropped"))
    kept = F.col("arrived").isNotNull() if prune_below is None else F.col("arrived") >= prune_below
    value = F.when(kept, F.col("arrived"))
    if aggregate == "sum":
        acc = F.coalesce(F.col("acc"), F.lit(0.0)) + F.coalesce(value, F.lit(0.0))
    else:
        acc = F.greatest(F.col("acc"), value)  # greatest skips nulls
    dropped = F.coalesce(F.col("dropped"), F.lit(0.0)) + F.when(~kept, F.col("arrived")).otherwise(F.lit(0.0))
    return grouped.select(*keys, "idx", value.alias("value"), acc.alias("acc"), dropped.alias("dropped"))


def batches(state, W, *, damping: float, max_steps: int, every: int, aggregate: str = "sum",
            keys: tuple[str, ...] = (), prune_below: float | None = None):
    """Advance ``state`` along ``W`` up to ``max_steps`` times, yielding every ``every`` steps
    (and after the last) ``(steps in this batch, state)``, the state computed and cut from its
    plan: one Spark job per batch."""
    paths = cut_lineage(routes(W)) if max_steps > 0 else None
    done = 0
    while done < max_steps:
        size = min(every, max_steps - done)
        for _ in range(size):
            state = advance(state, paths, damping=damping, aggregate=aggregate, keys=keys, prune_below=prune_below)
        state = cut_lineage(state)
        done += size
        yield size, state


def norm_bound(W, damping: float) -> float:
    """``damping * min(largest column sum, largest row sum)`` of ``|W|``: below 1 the spread converges.

    Examples
    --------
    >>> W = spark.createDataFrame([(0, 1, 1.0), (0, 2, 1.0)], "u long, v long, weight double")  # doctest: +SKIP
    >>> norm_bound(W, 0.5)  # doctest: +SKIP
    0.5
    """
    column = W.groupBy("u").agg(F.sum(F.abs("weight")).alias("t")).agg(F.max("t")).first()[0] or 0.0
    row = W.groupBy("v").agg(F.sum(F.abs("weight")).alias("t")).agg(F.max("t")).first()[0] or 0.0
    return damping * min(column, row)


def certify_convergence(W, damping: float, *, max_steps: int = 500, checkpoint_every: int = 10) -> float:
    """An upper bound below 1 on ``damping * rho(W)``, or ConvergenceError.

    For a non-negative matrix ``A``, ``rho(A) <= ||A^m||_inf ** (1/m)`` for every ``m`` (Gelfand),
    and ``||A^m||_inf`` is the largest entry of ``A^m 1``: ``A = damping * W`` is pushed from the
    all-ones vector until that entry falls below 1, which proves ``rho(A) < 1``. When the cheap
    norm test (:func:`norm_bound`) fails, this takes the place of the in-memory engine's
    eigenvalue solve, which would need all of ``W`` on one machine.

    Raises
    ------
    ConvergenceError
        If ``A^m 1`` has an entry of 1 or more after ``max_steps`` steps (then ``rho(A) >= 1``
        or lies too close to 1 to tell), or its largest entry has grown a billion-fold past
        that of ``A 1`` (taken as divergence: a heuristic, not a proof), with the growth rate
        last seen.

    References
    ----------
    .. [1] Horn, Johnson, *Matrix Analysis*, 2nd ed., Cambridge 2013, Cor. 5.6.14 (Gelfand's
       formula) and Thm. 8.1.22 (row sums of non-negative matrices).
    """
    bound = norm_bound(W, damping)
    if bound < 1:
        return bound
    term = cut_lineage(W.groupBy(F.col("v").alias("idx")).agg((F.sum("weight") * F.lit(damping)).alias("value")))
    first = previous = largest = _largest(term)
    m = 1
    for steps, state in batches(start(term), W, damping=damping, max_steps=max_steps - 1, every=checkpoint_every):
        m, largest = m + steps, _largest(state)
        if largest < 1:
            return largest ** (1 / m)
        rate, previous = (largest / previous) ** (1 / steps), largest
        if largest > _GROWTH_LIMIT * first:
            break
    raise ConvergenceError(
        f"spread diverges: ||(damping W)^m|| grew to {largest:.3g} in {m} steps ({rate:.3g} per step, "
        f"damping = {damping:g}), where a converging series falls below 1; lower damping, lower the "
        "transmit weights, or set normalize = \"source\".")


def spread(W, seeds, *, damping: float = 0.6, tol: float = 1e-12, max_iter: int = 10_000,
           checkpoint_every: int = 10, check: bool = True, keys: tuple[str, ...] = ()):
    """Linear penalty spread on Spark: ``x = s + damping W x``, as ``sum_k (damping W)^k s``.

    Parameters
    ----------
    W : DataFrame
        ``u``, ``v``, ``weight``: ``W[v, u]``, the part of u's penalty reaching v in one step.
    seeds : DataFrame
        ``idx``, ``value`` (and ``keys``): own weights ``s``, only where above 0.
    damping, tol, max_iter
        As :func:`graphscore.engine.spread.spread`: stop when a term's largest entry is below
        ``tol`` times the largest seed (or 1), a criterion at least as strict as the
        in-memory one, whose scale is the largest entry of ``x``.
    checkpoint_every : int
        Compute the state (:func:`batches`) and cut its lineage every so many steps.
    check : bool
        Certify convergence first (:func:`certify_convergence`).

    Returns
    -------
    DataFrame
        ``idx``, ``value`` (and ``keys``): ``x`` on every entity the seeds reach, seeds included.

    Examples
    --------
    >>> W = spark.createDataFrame([(0, 1, 1.0)], "u long, v long, weight double")  # doctest: +SKIP
    >>> s = spark.createDataFrame([(0, 1.0)], "idx long, value double")  # doctest: +SKIP
    >>> sorted(tuple(r) for r in spread(W, s, damping=0.5).collect())  # doctest: +SKIP
    [(0, 1.0), (1, 0.5)]

    References
    ----------
    .. [1] Page, Brin, Motwani, Winograd, "The PageRank citation ranking: bringing order to
       the web", Stanford InfoLab, 1999.
    """
    if not 0 <= damping < 1:
        raise ValueError(f"damping must be in [0, 1), got {damping}.")
    if check:
        certify_convergence(W, damping)
    scale = max(_largest(seeds), 1.0)
    for _, state in batches(start(seeds, keys=keys), W, damping=damping, max_steps=max_iter, every=checkpoint_every,
                            keys=keys):
        change = _largest(state)
        if change <= tol * scale or change == 0:
            return state.select(*keys, "idx", F.col("acc").alias("value"))
    raise ConvergenceError(f"spread did not converge in {max_iter} iterations; raise max_iter or lower damping.")


def hop(W, seeds, *, damping: float = 0.6, max_hops: int = 2, aggregate: str = "sum",
        checkpoint_every: int = 10, keys: tuple[str, ...] = ()):
    """Hop-limited spillover on Spark: the spread series cut at ``max_hops`` terms, summed over
    paths or (``aggregate="max"``) keeping the strongest walk, as :func:`graphscore.engine.hop.hop`.

    Examples
    --------
    Two parallel paths 0 -> 1 -> 3 and 0 -> 2 -> 3:

    >>> W = spark.createDataFrame([(0, 1, 1.0), (0, 2, 1.0), (1, 3, 1.0), (2, 3, 1.0)],  # doctest: +SKIP
    ...                           "u long, v long, weight double")
    >>> s = spark.createDataFrame([(0, 1.0)], "idx long, value double")  # doctest: +SKIP
    >>> sorted(tuple(r) for r in hop(W, s, damping=0.5, aggregate="max").collect())  # doctest: +SKIP
    [(0, 1.0), (1, 0.5), (2, 0.5), (3, 0.25)]

    References
    ----------
    .. [1] Katz, "A new status index derived from sociometric analysis", Psychometrika 18, 1953.
    """
    if not 0 <= damping <= 1:
        raise ValueError(f"damping must be in [0, 1], got {damping}.")
    if isinstance(max_hops, bool) or not isinstance(max_hops, int) or max_hops < 0:
        raise ValueError(f"max_hops must be a whole number >= 0, got {max_hops!r}.")
    if aggregate not in ("sum", "max"):
        raise ValueError(f"aggregate must be 'sum' or 'max', got {aggregate!r}.")
    state = start(seeds, keys=keys)
    for _, state in batches(state, W, damping=damping, max_steps=max_hops, every=checkpoint_every,
                            aggregate=aggregate, keys=keys):
        pass
    return state.select(*keys, "idx", F.col("acc").alias("value"))


def cyclic_core(W):
    """The edges of ``W`` that can lie on a closed walk as far as trimming tells: edges are
    dropped, round by round, while their start has no edge in or their end no edge out.

    What is left holds every closed walk (an edge on one has an edge in at its start and out at
    its end, inside the walk), so :func:`echo` reads the same sums off it; it keeps the links
    between strongly connected components too, which only cost work. One round per level of the
    longest chain leading into or out of the cycles.

    Examples
    --------
    >>> W = spark.createDataFrame([(0, 1, 1.0), (1, 0, 1.0), (1, 2, 1.0)], "u long, v long, weight double")  # doctest: +SKIP
    >>> sorted((r.u, r.v) for r in cyclic_core(W).collect())  # doctest: +SKIP
    [(0, 1), (1, 0)]
    """
    core = cut_lineage(W.filter(F.col("weight") > 0))
    size = core.count()
    while size:
        entered = core.select(F.col("v").alias("u")).distinct()
        left = core.select(F.col("u").alias("v")).distinct()
        trimmed = cut_lineage(core.join(entered, "u", "left_semi").join(left, "v", "left_semi"))
        trimmed_size = trimmed.count()
        if trimmed_size == size:
            break
        core, size = trimmed, trimmed_size
    return core


def echo(W, seeds, *, damping: float, max_hops: int | None = None, aggregate: str = "sum",
         checkpoint_every: int = 10):
    """Each penalised entity's own penalty returning to it around cycles, as
    :func:`graphscore.engine.echo.echo` defines it: ``s[v] (G[v, v] - 1)`` under spread (``max_hops``
    None), the same series cut at ``max_hops`` links under hop with ``aggregate = "sum"``, and
    ``s[v] max(0, c[v] - 1)``, ``c[v]`` the strongest closed walk, under ``aggregate = "max"``.

    One run of the model per penalised entity on the cyclic core (:func:`cyclic_core`), all at
    once keyed by ``origin``: the value a run leaves at its own origin is 1 (the empty walk)
    plus the closed walks (or the larger of 1 and the strongest). Under spread the series is
    summed until a step adds at most 1e-12 per unit of penalty, where the in-memory engine
    gives an upper bound within ``ECHO_TOL`` (1e-6) of it; under hop both are exact. This costs
    one run of the model per penalised entity on a cycle, all at once.

    Returns
    -------
    DataFrame
        ``idx``, ``value``: the echo, where above 0.

    Examples
    --------
    A company and its representative reaching each other with weight 1, damping 0.5: closed
    walks of 2, 4, ... links weigh 0.25, 0.0625, ..., so the echo of a penalty of 1 is 1/3.

    >>> W = spark.createDataFrame([(0, 1, 1.0), (1, 0, 1.0)], "u long, v long, weight double")  # doctest: +SKIP
    >>> s = spark.createDataFrame([(0, 1.0)], "idx long, value double")  # doctest: +SKIP
    >>> [(r.idx, round(r.value, 12)) for r in echo(W, s, damping=0.5).collect()]  # doctest: +SKIP
    [(0, 0.333333333333)]

    References
    ----------
    .. [1] Katz, "A new status index derived from sociometric analysis", Psychometrika 18, 1953
       (the closed walks counted by the diagonal of the resolvent).
    """
    core = cyclic_core(W)
    starts = seeds.join(core.select(F.col("u").alias("idx")).distinct(), "idx", "left_semi").select(
        F.col("idx").alias("origin"), "idx", F.lit(1.0).alias("value"))
    if max_hops is None:
        # the series of closed walks stops, as graphscore.engine.echo does, once a step adds at
        # most 1e-12 per unit of penalty anywhere; convergence is the spread's own, checked there
        runs = spread(core, starts, damping=damping, tol=1e-12, check=False, keys=("origin",),
                      checkpoint_every=checkpoint_every)
    else:
        runs = hop(core, starts, damping=damping, max_hops=max_hops, aggregate=aggregate, keys=("origin",),
                   checkpoint_every=checkpoint_every)
    returned = runs.filter(F.col("origin") == F.col("idx")).select("idx", (F.col("value") - F.lit(1.0)).alias("back"))
    return (returned.join(seeds, "idx").select("idx", (F.col("value") * F.col("back")).alias("value"))
            .filter(F.col("value") > 0))
