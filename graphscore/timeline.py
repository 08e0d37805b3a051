"""What counts at a date: links and penalties active at ``as_of``, and a penalty's weight then.

A record counts at ``as_of`` when ``start <= as_of < end`` (a missing start is "since ever", a
missing end is "still open"), as DESIGN §3 states.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
import pandas as pd

from graphscore.schema import load_model

__all__ = ["active", "active_links", "active_rows", "LinkCodes", "LinkTimeline", "stake_bounds", "stake_ends",
           "penalty_weights"]


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
    return links.iloc[active_rows(links, as_of)]


def _small(code: np.ndarray) -> np.ndarray:
    """Codes in the smallest signed integer type that holds them: a register has millions of
    links and a handful of types and roles."""
    top = int(code.max()) if code.size else 0
    return code.astype(np.int8 if top < 2**7 else np.int16 if top < 2**15 else np.int32, copy=False)


class LinkCodes(NamedTuple):
    """The columns of a links table that decide which records are in force and which rules
    apply, as integers, one entry per row: ``source`` and ``target`` (rows of the entities
    table), ``type`` and ``role`` (codes into ``types`` and ``roles``; -1 for no role)."""

    source: np.ndarray
    target: np.ndarray
    type: np.ndarray
    types: pd.Index
    role: np.ndarray
    roles: pd.Index

    @staticmethod
    def of(links: pd.DataFrame, ends: tuple[np.ndarray, np.ndarray] | None = None) -> LinkCodes:
        """Codes of ``links``; ``ends`` gives the source and target codes when already known."""
        if ends is None:
            ends = (pd.factorize(links["source"].to_numpy())[0], pd.factorize(links["target"].to_numpy())[0])
        type_code, types = pd.factorize(links["type"].to_numpy())
        role_code, roles = pd.factorize(links["role"].to_numpy())
        return LinkCodes(ends[0], ends[1], _small(type_code), pd.Index(types), _small(role_code), pd.Index(roles))

    @staticmethod
    def from_codes(ends: tuple[np.ndarray, np.ndarray], type_code: np.ndarray, types, role_code: np.ndarray,
                   roles) -> LinkCodes:
        """Codes found elsewhere (e.g. the indices of Arrow dictionary columns, -1 for no role), in
        the types :meth:`of` gives them: the table's text never becomes Python objects."""
        return LinkCodes(ends[0], ends[1], _small(type_code), pd.Index(types, dtype=object), _small(role_code),
                         pd.Index(roles, dtype=object))

    def is_type(self, name: str) -> np.ndarray:
        """Mask of the links of type ``name`` (none where no link has it)."""
        return self.type == (self.types.get_loc(name) if name in self.types else -2)


class LinkTimeline:
    """Which records of one links table are in force at a date (:func:`active_rows`), with
    what does not depend on the date worked out once: the table's :class:`LinkCodes`, and the
    few relations recorded more than once (only their records need choosing among at a date;
    every other record is in force exactly when its window holds the date).

    The answer at each date is kept (a mask, one byte a link) for the last few dates asked:
    every policy projected at one date reads the same links.

    Examples
    --------
    >>> t = pd.Timestamp
    >>> links = pd.DataFrame({"source": ["z", "z", "y"], "target": ["c", "c", "c"], "type": ["OWNS"] * 3,
    ...     "role": [None] * 3, "start": [t("2015-11-25")] * 3, "end": [t("2023-03-02"), pd.NaT, pd.NaT]})
    >>> LinkTimeline(links).in_force(t("2020-01-01")).tolist()
    [True, False, True]
    """

    DATES_KEPT = 4

    def __init__(self, links: pd.DataFrame, codes: LinkCodes | None = None):
        self._hold(codes if codes is not None else LinkCodes.of(links), _dates(links["start"]), _dates(links["end"]))

    @classmethod
    def of_columns(cls, codes: LinkCodes, start: np.ndarray, end: np.ndarray) -> LinkTimeline:
        """The timeline of a links table given as its codes and its ``start`` and ``end`` dates
        (datetime64 arrays, NaT where missing): no table of the links is made (at 10^7 links
        the links as a pandas frame held about 1 GB of a command's peak)."""
        timeline = cls.__new__(cls)
        timeline._hold(codes, start, end)
        return timeline

    def _hold(self, codes: LinkCodes, start: np.ndarray, end: np.ndarray) -> None:
        self.codes = codes
        self._start, self._end = start, end
        model = load_model()
        # A relation is its type, both ends, and the type's period_key where it has one.
        by_role = np.array(["role" in model.links[name].period_key for name in self.codes.types], dtype=bool)
        shared = shared_records(self.codes.type, self.codes.source, self.codes.target, self.codes.role, by_role)
        # positions of records, kept for the table's life: int32 while they fit (half of int64's 8 bytes)
        self._shared = shared.astype(np.int32) if self.codes.type.size < 2**31 else shared
        # the relation of each of those few records, to choose among each relation's records at a date
        code = self.codes.type[self._shared]
        role = np.where(by_role[np.maximum(code, 0)] & (code >= 0), self.codes.role[self._shared], -1)
        self._shared_relation = _one_key(code, self.codes.source[self._shared], self.codes.target[self._shared], role)
        self._masks: dict[np.datetime64, np.ndarray] = {}

    @property
    def dates(self) -> tuple[np.ndarray, np.ndarray]:
        """Each record's ``start`` and ``end`` (datetime64, NaT where missing)."""
        return self._start, self._end

    def in_force(self, as_of: pd.Timestamp) -> np.ndarray:
        """Boolean mask of the records in force at ``as_of`` (shared: not to be modified)."""
        day = np.datetime64(pd.Timestamp(as_of).to_datetime64(), "ns")
        if day not in self._masks:
            mask = _within(self._start, self._end, day)
            if self._shared.size:
                self._choose(mask)
            mask.flags.writeable = False
            while len(self._masks) >= self.DATES_KEPT:
                self._masks.pop(next(iter(self._masks)))
            self._masks[day] = mask
        return self._masks[day]

    def _choose(self, mask: np.ndarray) -> None:
        """Among the records in force of each relation recorded more than once, keep in
        ``mask`` the one ending soonest, then the one starting latest, then the first."""
        live = mask[self._shared]
        rows, relation = self._shared[live], self._shared_relation[live]
        mask[self._shared] = False
        end = _nanos(self._end[rows], np.iinfo(np.int64).max)
        start = _nanos(self._start[rows], np.iinfo(np.int64).min + 1)  # negated below
        order = np.lexsort((-start, end, relation))  # stable: ties keep table order
        first = np.ones(order.size, dtype=bool)
        first[1:] = relation[order][1:] != relation[order][:-1]
        mask[rows[order[first]]] = True


def _dates(column: pd.Series) -> np.ndarray:
    """A column of dates as a numpy datetime64 array (a view where it already is one)."""
    values = column.to_numpy()
    return values if values.dtype.kind == "M" else pd.to_datetime(column).to_numpy()


def _within(start: np.ndarray, end: np.ndarray, day: np.datetime64) -> np.ndarray:
    """``start <= day < end`` per record, a missing start or end holding for ever."""
    started = np.isnat(start)
    started |= start <= _in_unit(day, start)
    not_ended = np.isnat(end)
    not_ended |= _in_unit(day, end) < end
    return started & not_ended


def _in_unit(day: np.datetime64, values: np.ndarray) -> np.datetime64:
    """``day`` in the unit of ``values`` where it is exact in it: compared in another unit, the
    whole column would be converted first."""
    exact = day.astype(values.dtype)
    return exact if exact.astype(day.dtype) == day else day


def _nanos(values: np.ndarray, missing: int) -> np.ndarray:
    """Dates as int64 nanoseconds, ``missing`` where there is none."""
    nanos = values.astype("datetime64[ns]").astype(np.int64)
    nanos[np.isnat(values)] = missing
    return nanos


def active_rows(links: pd.DataFrame, as_of: pd.Timestamp, codes: LinkCodes | None = None) -> np.ndarray:
    """Positions (ascending) of the rows :func:`active_links` keeps.

    ``codes`` (:class:`LinkCodes` of ``links``), when given, tell relations apart by integers
    already found instead of hashing the id strings again.

    Examples
    --------
    >>> t = pd.Timestamp
    >>> links = pd.DataFrame({"source": ["z", "z", "y"], "target": ["c", "c", "c"], "type": ["OWNS"] * 3,
    ...     "role": [None] * 3, "start": [t("2015-11-25")] * 3, "end": [t("2023-03-02"), pd.NaT, pd.NaT]})
    >>> active_rows(links, t("2020-01-01")).tolist(), active_rows(links, t("2024-01-01")).tolist()
    ([0, 2], [1, 2])
    """
    return np.flatnonzero(LinkTimeline(links, codes).in_force(as_of))


def shared_records(type_code: np.ndarray, source: np.ndarray, target: np.ndarray, role: np.ndarray,
                   by_role: np.ndarray) -> np.ndarray:
    """Positions (ascending, int64) of the records whose relation is recorded more than once:
    a relation is the record's type, source and target (integer codes, -1 allowed), and its role
    where ``by_role[type]`` says the type's ``period_key`` has one (-1 otherwise).

    What ``pd.Series(_one_key(type, source, target, role)).duplicated(keep=False)`` finds, by a
    compiled, partitioned hash of each relation's mixed-radix number (:func:`_repeated`): at
    10^7 links the keys (four int64 copies of the codes and the key, 0.4 GB) and pandas' hash
    took 3.6 s of a projection's 16 s under cProfile; on 10^7 made-up records the compiled hash
    took a quarter of pandas' time, measured side by side on a loaded machine (18 bytes a
    record). Falls back to pandas where the relations' numbers do not fit in 63 bits, and for
    fewer records than a partition holds.

    Examples
    --------
    >>> kind, end = np.array([0, 0, 1, 0]), np.array([5, 5, 5, 6])
    >>> role, by_role = np.array([2, 3, -1, 2]), np.array([False, True])
    >>> shared_records(kind, end, end, role, by_role).tolist()  # records 0 and 1: one relation, whatever their role
    [0, 1]
    >>> shared_records(kind, end, end, role, np.array([True, True])).tolist()  # keyed by role: none repeats
    []
    """
    codes = [np.asarray(code) for code in (type_code, source, target, role)]
    radices = [int(code.max()) + 2 if code.size else 1 for code in codes]
    if not codes[0].size:
        return np.array([], dtype=np.int64)
    # pandas too where the records fit the compiled hash's one partition: it would run on one
    # core anyway, and each call of a parallel loop waits for numba's threads (on a loaded
    # machine 0.03 s of CPU and 0.1 s of wall a call, for the few hundred links of one entity,
    # against 0.2 ms by pandas)
    if float(np.prod([float(r) for r in radices])) >= 2.0**62 or codes[0].size < _PARTITION:
        role = np.where(by_role[np.maximum(codes[0], 0)] & (codes[0] >= 0), codes[3], -1)
        relation = _one_key(codes[0], codes[1], codes[2], role)
        return np.flatnonzero(pd.Series(relation, copy=False).duplicated(keep=False).to_numpy())
    return np.flatnonzero(_repeated(*codes, np.asarray(by_role, dtype=np.bool_), radices[1], radices[2], radices[3]))


@numba.njit(cache=True, nogil=True)
def _relation(type_code, source, target, role, by_role, i, source_radix, target_radix, role_radix
              ):  # pragma: no cover - compiled
    """The mixed-radix number of record ``i``'s relation (each code shifted by one: -1 allowed)."""
    kind = type_code[i]
    chosen = role[i] if kind >= 0 and by_role[kind] else -1
    return (((np.int64(kind) + 1) * source_radix + source[i] + 1) * target_radix + target[i] + 1) * role_radix \
        + chosen + 1


_PARTITION = 16_384  # records a partition of _repeated's hash holds, about


@numba.njit(cache=True, nogil=True, parallel=True)
def _repeated(type_code, source, target, role, by_role, source_radix, target_radix, role_radix
              ):  # pragma: no cover - compiled
    """Which records' relations (:func:`_relation`) occur more than once, by a partitioned hash:
    the records are dealt into 2^bits partitions by the top bits of their relation's hash (two
    sequential passes), then each partition's own open-addressing table (linear probing),
    small enough to stay in the core's cache, finds its repeats; the partitions are shared
    between the cores. One table over all records missed the cache at nearly every probe."""
    n = type_code.shape[0]
    bits = 0
    while (1 << bits) < n // _PARTITION and bits < 12:  # some 16,000 records a partition
        bits += 1
    parts = 1 << bits
    part = np.zeros(n, dtype=np.uint16)
    counts = np.zeros(parts + 1, dtype=np.int64)
    for i in range(n):
        if bits:  # the top bits of a multiplicative (Fibonacci) hash
            key = _relation(type_code, source, target, role, by_role, i, source_radix, target_radix, role_radix)
            part[i] = (np.uint64(key) * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)
        counts[part[i]] += 1
    starts = np.zeros(parts + 1, dtype=np.int64)
    for p in range(parts):
        starts[p + 1] = starts[p] + counts[p]
        counts[p] = starts[p]
    keys = np.empty(n, dtype=np.int64)
    rows = np.empty(n, dtype=np.int64)
    for i in range(n):
        p = part[i]
        keys[counts[p]] = _relation(type_code, source, target, role, by_role, i, source_radix, target_radix,
                                    role_radix)
        rows[counts[p]] = i
        counts[p] += 1
    repeated = np.zeros(n, dtype=np.bool_)
    for p in numba.prange(parts):
        first, last = starts[p], starts[p + 1]
        size = 1
        while size < 2 * (last - first):  # at most half full
            size *= 2
        slots = np.full(size, -1, dtype=np.int64)  # relation numbers are non-negative
        twice = np.zeros(size, dtype=np.bool_)
        for k in range(first, last):
            slot = _slot(slots, keys[k], size - 1)
            if slots[slot] == keys[k]:
                twice[slot] = True
            else:
                slots[slot] = keys[k]
        for k in range(first, last):
            if twice[_slot(slots, keys[k], size - 1)]:
                repeated[rows[k]] = True
    return repeated


@numba.njit(cache=True, nogil=True)
def _slot(slots, key, mask):  # pragma: no cover - compiled
    """The slot holding ``key`` in ``slots`` (of ``mask + 1``, a power of two), or the empty one
    where it would go. The low bits of a second multiplicative hash: the partition took the top ones."""
    slot = (np.uint64(key) * np.uint64(0xC2B2AE3D27D4EB4F)) >> np.uint64(29)
    slot &= np.uint64(mask)
    while slots[slot] != -1 and slots[slot] != key:
        slot = (slot + np.uint64(1)) & np.uint64(mask)
    return slot


def _one_key(*codes: np.ndarray) -> np.ndarray:
    """One int64 per row that orders and groups the rows as the tuples of the given codes
    (integers, -1 allowed) do: a mixed-radix number where it fits in 63 bits, else the
    tuples' rank.

    Examples
    --------
    >>> a, b = np.array([1, 0, 1, -1]), np.array([2**40, 5, 2**40, 0])
    >>> _one_key(a, b).argsort(kind="stable").tolist(), _one_key(a, b, b, b).argsort(kind="stable").tolist()
    ([3, 1, 0, 2], [3, 1, 0, 2])
    >>> bool(_one_key(a, b)[0] == _one_key(a, b)[2])
    True
    """
    codes = [np.asarray(code, dtype=np.int64) + 1 for code in codes]
    radices = [int(code.max()) + 1 if code.size else 1 for code in codes]
    if float(np.prod([float(r) for r in radices])) < 2.0**62:
        key = np.zeros(codes[0].size, dtype=np.int64)
        for code, radix in zip(codes, radices):
            key = key * radix + code
        return key
    order = np.lexsort(codes[::-1])
    change = np.zeros(order.size, dtype=np.int64)
    change[1:] = np.any([code[order][1:] != code[order][:-1] for code in codes], axis=0)
    key = np.empty(order.size, dtype=np.int64)
    key[order] = np.cumsum(change)
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
    target = pd.factorize(owns["target"].to_numpy())[0]
    low, high = stake_ends(*(owns[name].to_numpy(float) for name in ("share", "share_low", "share_high")), target)
    return pd.Series(low, index=owns.index, name="share"), pd.Series(high, index=owns.index, name="share")


def stake_ends(share: np.ndarray, share_low: np.ndarray, share_high: np.ndarray, target: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """:func:`stake_bounds` on arrays, the assets as integer codes (non-negative): what a
    projection reads, with the links' ends already coded, so no id is hashed again."""
    low = np.where(np.isnan(share), share_low, share)
    low[np.isnan(low)] = 0.0
    # pandas' grouped sum on the integer codes: the sums (and so the room) to the last bit as
    # grouping by the asset ids gave, without hashing them
    others = pd.Series(low, copy=False).groupby(target).transform("sum").to_numpy() - low
    room = np.clip(1.0 - others, 0.0, 1.0)
    upper = np.maximum(np.minimum(np.where(np.isnan(share_high), 1.0, share_high), room), low)
    return low, np.where(np.isnan(share), upper, share)


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
