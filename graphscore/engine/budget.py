"""How long a model run would take, estimated before it starts: a policy that would run for hours
on the graph at hand (a million cascade runs over a national register) is refused with the
estimate, unless the caller allows long runs (``graphscore ... --force``).

The policy parser bounds each key on its own (``runs`` at most 10^6, ``max_hops`` 1,000); only
with the graph does the work follow. Spread needs no estimate: its sweeps are bounded by the
certified contraction rate, and a rate too close to 1 is refused as divergence.

The rates are measured on this project's 2-core machines and taken low, so the estimate errs
long: the compiled cascade did 1.2 M links x 1,024 runs at 11.1 ms of CPU per run (about 1.1e8
link-runs a second on one core, ``python benchmarks/cascade.py --companies 200000 --runs 1024``),
and since its coins are drawn bit-sliced and its search sweeps in order at about 2 ms (6e8); the
rate is left where the first kernel put it. A hop step is one sparse product over the links.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from graphscore.errors import TooMuchWork
from graphscore.policy import ModelName, Policy

__all__ = ["LIMIT_SECONDS", "estimated_seconds", "check_work", "allow_long_runs"]

LIMIT_SECONDS = 3_600.0
LINK_RUNS_PER_SECOND = 5e7  # cascade: links x runs
LINK_HOPS_PER_SECOND = 5e7  # hop: links x max_hops

_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar("graphscore_long_runs", default=False)


def estimated_seconds(policy: Policy, links: int) -> float:
    """Seconds the policy's model would take on a projection with ``links`` non-zeros in W
    (0 where the model's work is bounded otherwise).

    Examples
    --------
    >>> import graphscore as gs
    >>> policy = gs.parse_policy('name="c"\\nmodel="cascade"\\nruns=1000000\\n[[transmit]]\\nlink="OWNS"\\n'
    ...                          'direction="forward"\\nweight=0.5')
    >>> round(estimated_seconds(policy, 10_000_000) / 3600)
    56
    """
    if policy.model is ModelName.CASCADE:
        return links * policy.runs / LINK_RUNS_PER_SECOND
    if policy.model is ModelName.HOP:
        return links * policy.max_hops / LINK_HOPS_PER_SECOND
    return 0.0


def check_work(policy: Policy, links: int) -> None:
    """Refuse, with the estimate, a run that would take longer than an hour, unless long runs
    are allowed (:func:`allow_long_runs`)."""
    seconds = estimated_seconds(policy, links)
    if seconds > LIMIT_SECONDS and not _allowed.get():
        what = (f"{policy.runs:,} runs" if policy.model is ModelName.CASCADE else f"max_hops = {policy.max_hops:,}")
        raise TooMuchWork(f"{policy.name}: {policy.model.value} with {what} over {links:,} links would take about "
                          f"{seconds / 3600:,.1f} hours here; lower it in the policy, or pass --force to run it anyway")


@contextlib.contextmanager
def allow_long_runs(allowed: bool = True) -> Iterator[None]:
    """Within the block, :func:`check_work` lets long runs through (``--force``)."""
    token = _allowed.set(allowed)
    try:
        yield
    finally:
        _allowed.reset(token)
