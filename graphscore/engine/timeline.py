"""What counts at a date: links and penalties active at ``as_of``, and a penalty's weight then.

A record counts at ``as_of`` when ``start <= as_of < end`` (a missing start is "since ever", a
missing end is "still open"), as DESIGN §3 states.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphscore.model import load_model

__all__ = ["active", "active_links", "stake_bounds", "penalty_weights"]


def active(table: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    """Boolean mask of the rows whose ``[start, end)`` window contains ``as_of``."""
    started = table["start"].isna() | (table["start"] <= as_of)
    not_ended = table["end"].isna() | (as_of < table["end"])
    return (started & not_ended).to_numpy()


def active_links(links: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Links in force at ``as_of``, one record per relation.

    Registers often keep every historical record of one relation with the original start
    date, closing each when it is superseded (OpenSanctions' EGRUL data has Zakharov -> LLC CST
    at 50 % until 2023-03-02, 48 % until 2023-12-21, then 51 % open, all starting 2015-11-25).
    Such records must never be summed at one date: among the active records of one relation
    (source, target, type and the type's ``period_key``), the one ending soonest is the one in
    force, then the one starting latest.

    Examples
    --------
    >>> t = pd.Timestamp
    >>> links = pd.DataFrame({"source": ["z"] * 3, "target": ["cst"] * 3, "type": ["OWNS"] * 3,
    ...     "role": [None] * 3, "share": [0.50, 0.48, 0.51],
    ...     "start": [t("2015-11-25")] * 3, "end": [t("2023-03-02"), t("2023-12-21"), pd.NaT]})
    >>> [float(active_links(links, t(d))["share"].iloc[0]) for d in ("2020-01-01", "2023-06-01", "2024-06-01")]
    [0.5, 0.48, 0.51]
    """
    model = load_model()
    rows = np.flatnonzero(active(links, as_of))
    if rows.size == 0:
        return links.iloc[rows]
    # Only the columns that decide are taken here; the whole rows once, at the end. One integer
    # per relation (type, both ends, and the type's period_key where it has one), not the
    # strings: a register has millions of rows.
    now = links[["type", "source", "target", "role", "start", "end"]].iloc[rows]
    type_code, types = pd.factorize(now["type"])
    keyed_by_role = np.isin(type_code, [k for k, name in enumerate(types) if "role" in model.links[name].period_key])
    relation = _combine(type_code, pd.factorize(now["source"])[0], pd.factorize(now["target"])[0],
                        np.where(keyed_by_role, pd.factorize(now["role"])[0], -1))
    # among the records of one relation: the one ending soonest, then the one starting latest
    end = now["end"].to_numpy("datetime64[ns]").astype(np.int64)
    end[now["end"].isna().to_numpy()] = np.iinfo(np.int64).max
    start = now["start"].to_numpy("datetime64[ns]").astype(np.int64)
    start[now["start"].isna().to_numpy()] = np.iinfo(np.int64).min + 1  # negated below
    order = np.lexsort((-start, end, relation))  # stable: ties keep table order
    first = np.ones(order.size, dtype=bool)
    first[1:] = relation[order][1:] != relation[order][:-1]
    return links.iloc[rows[np.sort(order[first])]]


def _combine(*codes: np.ndarray) -> np.ndarray:
    """One int64 code per distinct tuple of the given integer codes (-1 allowed)."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for code in codes:
        code = np.asarray(code, dtype=np.int64) + 1
        key = pd.factorize(key * (int(code.max()) + 1) + code)[0].astype(np.int64)
    return key


def stake_bounds(owns: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Low and high end of each stake among the ``OWNS`` links in force at one date.

    A recorded ``share`` is both ends. A range gives ``share_low`` and ``share_high``; a stake
    with no share is at least 0 and at most what the other owners' recorded stakes leave:
    ``min(1, 1 - sum of the others' low ends in that asset)``, never 1 beside a recorded 80 %
    holder. A range is cut to that room as well (never below its own low end).

    Examples
    --------
    >>> owns = pd.DataFrame({"target": ["c", "c", "c", "d"], "share": [0.8, None, None, None],
    ...                      "share_low": [None, None, 0.05, 0.5], "share_high": [None, None, 0.4, 0.75]})
    >>> [b.round(2).tolist() for b in stake_bounds(owns)]
    [[0.8, 0.0, 0.05, 0.5], [0.8, 0.15, 0.2, 0.75]]
    """
    low = owns["share"].fillna(owns["share_low"]).fillna(0.0).astype(float)
    others = low.groupby(owns["target"]).transform("sum") - low
    room = (1.0 - others).clip(lower=0.0, upper=1.0)
    upper = owns["share_high"].fillna(1.0).astype(float).clip(upper=room).clip(lower=low)
    return low, owns["share"].fillna(upper).astype(float)


def penalty_weights(penalties: pd.DataFrame, as_of: pd.Timestamp, *,
                    half_life_days: float | None = None, repair: bool = False,
                    period_days: float | None = None) -> pd.Series:
    """Weight of each penalty at ``as_of``: ``severity * 0.5 ** (age / half_life_days)``.

    Zero outside the penalty's window, and from ``repair_from`` on when ``repair`` is set
    (credit repair, or removal from a list on performance: the penalty is lifted early).
    ``period_days`` gives a penalty with no recorded ``end`` a fixed term from its ``start``
    (a listing that lasts two years unless extended: an extension is a recorded ``end``).

    Examples
    --------
    >>> p = pd.DataFrame({"severity": [2.0, 1.0], "start": pd.to_datetime(["2020-01-01", "2024-01-01"]),
    ...                   "end": [pd.NaT, pd.NaT], "repair_from": [pd.NaT, pd.NaT]})
    >>> penalty_weights(p, pd.Timestamp("2022-01-01"), half_life_days=731).tolist()
    [1.0, 0.0]
    >>> penalty_weights(p, pd.Timestamp("2022-01-01"), period_days=730).tolist()  # on/off: over after two years
    [0.0, 0.0]
    >>> penalty_weights(p, pd.Timestamp("2021-12-30"), period_days=730).tolist()
    [2.0, 0.0]

    References
    ----------
    .. [1] Supreme People's Court of the PRC, Several Provisions on Publishing the List of
       Dishonest Judgment Debtors (Fa Shi [2017] No. 7), art. 2 (a listing lasts two years,
       extendable by one to three) and art. 10 (deletion once the debtor performs): the fixed
       term ``period_days`` and ``repair_from``.
    """
    window = penalties
    if period_days is not None:
        window = penalties.assign(end=penalties["end"].fillna(penalties["start"] + pd.Timedelta(days=period_days)))
    weight = penalties["severity"].astype(float).where(active(window, as_of), 0.0)
    if repair:
        repaired = penalties["repair_from"].notna() & (penalties["repair_from"] <= as_of)
        weight = weight.where(~repaired, 0.0)
    if half_life_days:
        age_days = (as_of - penalties["start"]).dt.days.clip(lower=0).fillna(0).astype(float)
        weight = weight * 0.5 ** (age_days / half_life_days)
    return weight
