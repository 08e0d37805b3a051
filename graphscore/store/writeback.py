"""What a score write-back changes: a run's scores against what the store holds of them.

The store keeps scores as a history: one ScoreRun per (policy name, as-of date) and one
ScoreRecord per entity that scored anything in it (:mod:`graphscore.store.statements` declares
them); the run written last is named in the store (``statements.LAST_SCORE_RUN``). A score of
zero (own, echo, inherited and total all 0) is stored as nothing: no record. So records are
compared, keyed, with what is stored, and only what differs is written: a first write-back
writes the entities that scored something (about a tenth of a synthetic registry), writing the
same scores again writes nothing at all, and a new date writes its non-zero records. Records of
a (policy, date) without its run are a killed write-back's, never read: they are removed.

A record's key is its run's number, a colon, then its entity's id (:func:`record_keys`): unique
per run and entity, as the run's key followed by the id was, in 9 or 10 characters of the synthetic
registries where that took 34 or 35; LadybugDB keeps a string of up to 12 bytes inline, and the
first write-back's ``COPY``s cost less (benchmarks/score_keys.py, benchmarks/JOURNAL.md). Each
new run takes the number after the last one the store gave (``statements.SCORE_RUN_NUMBER``),
even one whose write-back was killed: its records, left without a run, keep their keys until the
next write-back of their policy and date removes them.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphscore.policy import Policy
from graphscore.store.statements import score_record_columns

__all__ = ["ScorePlan", "plan_scores", "record_keys", "run_key"]

VALUES = ["own", "echo", "inherited", "total"]  # a score is zero when all four are


def run_key(policy_name: str, as_of: dt.date) -> str:
    """The key of a policy's run for one as-of date. A JSON list, so no two (policy, date) give
    one key.

    Examples
    --------
    >>> run_key("p", dt.date(2024, 6, 30))
    '["p", "2024-06-30"]'
    """
    return json.dumps([policy_name, as_of.isoformat()], ensure_ascii=False)


def record_keys(number: int, ids: pd.Series) -> pd.Series:
    """The keys of the records of run ``number`` for the entities ``ids``: the number, a colon,
    the id. The number holds no colon, so no two (run, id) give one key whatever the ids hold.

    Examples
    --------
    >>> record_keys(7, pd.Series(["C000123", "a:b"])).tolist()
    ['7:C000123', '7:a:b']
    """
    return f"{number}:" + ids.astype(str)


@dataclass(frozen=True)
class ScorePlan:
    """The rows a write-back writes, each frame in the columns its statement takes (dates as
    ``datetime64``); all empty and ``run`` None when the store holds these scores already."""

    orphans: pd.DataFrame  # key: records of this policy and date stored without their run (a killed write-back's)
    removed: pd.DataFrame  # key: records whose entity now scores zero
    changed: pd.DataFrame  # key + values: stored records whose values differ
    new: pd.DataFrame  # id + the record's columns: records not stored yet
    run: dict | None  # the ScoreRun's properties, by store name
    first: bool  # no run of this policy and date is stored: no record of it counts until the run is written
    number: int  # the run's number, which starts its records' keys: a first run's is new (the store records it)

    @property
    def rows(self) -> int:
        """Rows written, the run's included."""
        return len(self.orphans) + len(self.removed) + len(self.changed) + len(self.new) + (self.run is not None)

    @property
    def entities(self) -> int:
        """Entities whose stored score (as a reader sees it: a run's records) changes: a record
        key per entity, and the three sets of keys disjoint (stored and no longer scored, stored
        and scored, scored and not stored), so counted without the keys (a set of the ids took
        32 s of a first write-back at 10^7 links under cProfile)."""
        return len(self.removed) + len(self.changed) + len(self.new)


def _isin(values: pd.Series, others: pd.Series) -> np.ndarray:
    """Per value: whether it is among ``others``; by Arrow's hash join, where pandas' ``isin``
    on Arrow-backed strings goes row by row in Python (12 s for 3 x 320,000 keys)."""
    if values.empty or others.empty:  # a first write-back: no hash table of 3.2x10^6 keys for nothing (4 s)
        return np.zeros(len(values), dtype=bool)

    def arrow(series: pd.Series) -> pa.Array:
        # straight from the series: text read back from the store is Arrow already (0.8 s for
        # 3 x 10^6 keys through Python strings, a few milliseconds without)
        array = pa.array(series, type=pa.string(), from_pandas=True)
        return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    return pc.is_in(arrow(values), value_set=arrow(others)).to_numpy(zero_copy_only=False)


def _differs(target: pd.DataFrame, stored: pd.DataFrame, key: str, columns: list[str]) -> np.ndarray:
    """Per row of ``target``: not stored under its key, or stored with another value in a
    column (missing values equal each other; numbers compared exactly: the store keeps
    float64 as it was given)."""
    if stored.empty:  # a first write-back: no merge of every row with nothing (0.3 GB at 10^7 links)
        return np.ones(len(target), dtype=bool)
    merged = target[[key, *columns]].merge(stored[[key, *columns]], on=key, how="left", suffixes=("", "_stored"),
                                           indicator=True)
    same = (merged["_merge"] == "both").to_numpy().copy()
    for column in columns:
        new, old = merged[column], merged[column + "_stored"]
        same &= ((new == old) | (new.isna() & old.isna())).to_numpy()
    return ~same


def plan_scores(scores: pd.DataFrame, *, policy: Policy, as_of: dt.date, stored_records: pd.DataFrame,
                stored_run: dict | None, last_run: str | None = None, last_number: int = 0,
                written_at: dt.datetime | None = None) -> ScorePlan:
    """What writing ``scores`` (``id``, own, echo, inherited, total) for ``policy`` and
    ``as_of`` changes in a store holding ``stored_records`` (``key`` and values, of this policy
    and date), ``stored_run`` (its properties, ``number`` among them, or None), ``last_run``
    (the key of the run written last, or None) and ``last_number`` (the last run number the
    store gave, 0 for none). Without a stored run, the stored records are a killed write-back's
    (``orphans``): all removed, every record new, keyed by the number after ``last_number``.

    The run is written whenever anything else is, with ``written_at`` (default now, UTC),
    and when its policy hash or entity count changed, or another run was written after it (the
    run written last is the one ``top_scores`` reads). An entity the scores leave out counts as
    scoring zero.

    Examples
    --------
    >>> from graphscore.policy import parse_policy
    >>> policy = parse_policy('name = "p"\\n[[transmit]]\\nlink = "OWNS"\\ndirection = "backward"\\nweight = 1.0')
    >>> scores = pd.DataFrame({"id": ["a", "b"], "own": [1.0, 0.0], "echo": 0.0, "inherited": [0.5, 0.0],
    ...                        "total": [1.5, 0.0]})
    >>> nothing = pd.DataFrame(columns=["key"])
    >>> plan = plan_scores(scores, policy=policy, as_of=dt.date(2024, 6, 30), stored_records=nothing,
    ...                    stored_run=None, last_number=4, written_at=dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    >>> plan.new["key"].tolist(), plan.run["number"], plan.run["written_at"]  # b scored zero: nothing
    (['5:a'], 5, '2026-11-27T12:00:00Z')
    """
    key = run_key(policy.name, as_of)
    number = int(stored_run["number"]) if stored_run is not None else last_number + 1
    scored = scores[["id", *VALUES]]
    # NaN != 0: a score that is not a number is kept, never taken for a zero
    nonzero = scored[(scored[VALUES].to_numpy() != 0).any(axis=1)]
    records = nonzero.assign(key=record_keys(number, nonzero["id"]))
    stored_records = stored_records.reindex(columns=["key", *VALUES])
    orphans = stored_records.iloc[:0] if stored_run is not None else stored_records
    if stored_run is None:  # none of them counts: each record is new
        stored_records = stored_records.iloc[:0]
    stored = _isin(records["key"], stored_records["key"])
    differ = _differs(records, stored_records, "key", VALUES)
    record_columns = [c.store_name for c in score_record_columns()]
    new = (records[~stored] if stored.any() else records).assign(score_policy=policy.name, score_as_of=pd.Timestamp(as_of))
    plan = dict(orphans=orphans[["key"]], removed=stored_records.loc[~_isin(stored_records["key"], records["key"]), ["key"]],
                changed=records.loc[stored & differ, ["key", *VALUES]], new=new[["id", *record_columns]])
    run = {"key": key, "number": number, "score_policy": policy.name, "score_policy_hash": policy.hash,
           "score_as_of": as_of,
           "written_at": (written_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "entities": len(scored)}
    same_run = stored_run is not None and last_run == key and all(
        stored_run.get(k) == run[k] for k in ("score_policy_hash", "entities"))
    if same_run and not any(len(frame) for frame in plan.values()):
        run = None
    return ScorePlan(**plan, run=run, first=stored_run is None, number=number)
