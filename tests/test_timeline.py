"""What counts at a date: windows, superseded records, decay and credit repair."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from graphscore.timeline import LinkTimeline, active, active_links, penalty_weights

t = pd.Timestamp


def penalties(**columns) -> pd.DataFrame:
    base = {"severity": [1.0], "start": [t("2020-01-01")], "end": [pd.NaT], "repair_from": [pd.NaT]}
    return pd.DataFrame({**base, **columns})


@pytest.mark.parametrize("as_of, expected", [("2019-12-31", 0.0), ("2020-01-01", 1.0), ("2022-12-31", 1.0),
                                             ("2023-01-01", 0.0)])
def test_a_penalty_counts_from_start_until_before_end(as_of, expected):
    assert penalty_weights(penalties(end=[t("2023-01-01")]), t(as_of)).tolist() == [expected]


def test_credit_repair_lifts_a_penalty_early_only_when_the_policy_says_so():
    """A serious violation published 2020-01-01, repairable after the six-month minimum."""
    rows = penalties(repair_from=[t("2020-07-01")])
    assert penalty_weights(rows, t("2020-06-30"), repair=True).tolist() == [1.0]
    assert penalty_weights(rows, t("2020-07-01"), repair=True).tolist() == [0.0]
    assert penalty_weights(rows, t("2020-07-01"), repair=False).tolist() == [1.0]


def test_half_life_halves_the_weight_every_period():
    rows = penalties(severity=[0.8])
    assert penalty_weights(rows, t("2020-01-01"), half_life_days=365).tolist() == [pytest.approx(0.8)]
    assert penalty_weights(rows, t("2021-12-31"), half_life_days=365).tolist() == [pytest.approx(0.2)]


def test_records_without_dates_hold_since_ever_and_for_ever():
    rows = pd.DataFrame({"start": [pd.NaT], "end": [pd.NaT]})
    assert active(rows, t("1900-01-01")).tolist() == [True]


def test_overlapping_records_of_one_relation_never_add_up_but_distinct_relations_do():
    links = pd.DataFrame({
        "source": ["z", "z", "k", "p", "p"], "target": ["c", "c", "c", "c", "c"],
        "type": ["OWNS", "OWNS", "OWNS", "OFFICER_OF", "OFFICER_OF"],
        "role": [None, None, None, "director", "legal_representative"],
        "share": [0.5, 0.48, 0.49, None, None],
        "start": [t("2015-11-25"), t("2015-11-25"), t("2016-03-29"), t("2015-01-01"), t("2015-01-01")],
        "end": [t("2023-03-02"), t("2023-12-21"), pd.NaT, pd.NaT, pd.NaT]})
    now = active_links(links, t("2020-01-01"))
    assert now.loc[now["type"] == "OWNS", "share"].tolist() == [0.5, 0.49]
    assert now.loc[now["type"] == "OFFICER_OF", "role"].tolist() == ["director", "legal_representative"]


@pytest.mark.parametrize("seed", range(4))
def test_active_links_keeps_one_record_per_relation_as_a_plain_loop_does(seed):
    """Many records of few relations, dates and roles drawn at random, against a loop over the
    relations that picks, among the records in force, the one ending soonest, then starting
    latest, then first in the table."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = 400
    days = pd.to_datetime(["2010-01-01", "2015-01-01", "2020-01-01", "2025-01-01"])
    pick = lambda values: [values[i] for i in rng.integers(0, len(values), n)]  # noqa: E731
    links = pd.DataFrame({"source": pick(["a", "b", "c"]), "target": pick(["x", "y"]),
                          "type": pick(["OWNS", "OFFICER_OF", "FAMILY"]), "role": pick([None, "director", "spouse"]),
                          "start": pick([pd.NaT, *days[:2]]), "end": pick([pd.NaT, *days[2:]])})
    as_of = pd.Timestamp("2019-06-30")
    expected = []
    for (link_type, source, target), group in links.groupby(["type", "source", "target"], sort=False):
        by_role = group.groupby(group["role"].fillna("\0"), sort=False) if link_type != "OWNS" else [(None, group)]
        for _, records in by_role:
            live = records[(records["start"].isna() | (records["start"] <= as_of))
                           & (records["end"].isna() | (as_of < records["end"]))]
            if len(live):
                rank = [(e if pd.notna(e) else pd.Timestamp.max, -(s.value if pd.notna(s) else -2**62), i)
                        for i, s, e in zip(live.index, live["start"], live["end"])]
                expected.append(min(rank)[2])
    assert active_links(links, as_of).index.tolist() == sorted(expected)


def test_no_link_in_force_is_an_empty_table_with_the_columns():
    links = pd.DataFrame({"source": ["a"], "target": ["x"], "type": ["OWNS"], "role": [None],
                          "start": [pd.Timestamp("2030-01-01")], "end": [pd.NaT]})
    assert active_links(links, pd.Timestamp("2020-01-01")).columns.tolist() == links.columns.tolist()
    assert active_links(links.iloc[:0], pd.Timestamp("2020-01-01")).empty


def test_stake_bands_on_coded_assets_match_the_table_formula_to_the_bit():
    """stake_ends (assets as integer codes, what a projection reads) against the bands written
    out on the table, grouped by the asset ids, on a synthetic register's OWNS links: the same
    floats, so that ownership answers do not move by a rounding when the code path changes."""
    import warnings

    import numpy as np

    import graphscore as gs
    from graphscore.timeline import stake_ends
    from graphscore.synthetic import generate_network

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        links = gs.validate(generate_network(20_000, seed=3)).links
    owns = active_links(links[links["type"] == "OWNS"], t("2024-06-30")).reset_index(drop=True)
    assert owns["share"].isna().any()
    low = owns["share"].fillna(owns["share_low"]).fillna(0.0).astype(float)
    others = low.groupby(owns["target"]).transform("sum") - low
    room = (1.0 - others).clip(lower=0.0, upper=1.0)
    upper = owns["share_high"].fillna(1.0).astype(float).clip(upper=room).clip(lower=low)
    high = owns["share"].fillna(upper).astype(float)
    coded = stake_ends(*(owns[name].to_numpy(float) for name in ("share", "share_low", "share_high")),
                       pd.factorize(owns["target"])[0])
    assert np.array_equal(coded[0], low.to_numpy()) and np.array_equal(coded[1], high.to_numpy())


def test_a_timeline_keeps_a_few_bytes_a_link_beyond_its_table():
    """What a timeline keeps while its table lives: type and role codes (a byte each), a mask
    a date asked (a byte), and for each record of a relation recorded more than once its
    position (int32) and relation key (int64)."""
    import warnings

    import graphscore as gs
    from graphscore.synthetic import generate_network

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        links = gs.validate(generate_network(2000, seed=0)).links
    timeline = LinkTimeline(links)
    timeline.in_force(pd.Timestamp("2024-06-30"))
    shared = timeline._shared.size
    assert shared > 0 and timeline._shared.dtype == np.int32
    kept = (timeline.codes.type.nbytes + timeline.codes.role.nbytes + timeline._shared.nbytes
            + timeline._shared_relation.nbytes + sum(mask.nbytes for mask in timeline._masks.values()))
    assert kept == 3 * len(links) + 12 * shared


def _shared_by_pandas(kind, source, target, role, by_role):
    """The reference: the relations' keys hashed by pandas, as the timeline found them before."""
    from graphscore.timeline import _one_key

    chosen = np.where(by_role[np.maximum(kind, 0)] & (kind >= 0), role, -1)
    key = _one_key(kind, source, target, chosen)
    return np.flatnonzero(pd.Series(key).duplicated(keep=False).to_numpy())


@pytest.mark.parametrize("seed, n", [(0, 5_000), (1, 5_000), (4, 20_000), (2, 200_000), (3, 200_000)])
def test_shared_records_are_those_pandas_finds_repeated(seed, n):
    """Small inputs (found by pandas), one partition of the compiled hash (20,000 records) and
    several (on both cores); and the compiled hash itself on the small ones."""
    from graphscore.timeline import _PARTITION, _repeated, shared_records

    rng = np.random.default_rng(seed)
    kind = rng.integers(-1, 4, n).astype(np.int8)  # -1: a type code no name has
    source, target = (rng.integers(-1, int(n ** 0.5), n).astype(np.int32) for _ in range(2))
    role = rng.integers(-1, 3, n).astype(np.int8)
    by_role = np.array([True, False, True, False])
    expected = _shared_by_pandas(kind, source, target, role, by_role)
    assert 0 < expected.size < n  # some relations repeat, not all
    np.testing.assert_array_equal(shared_records(kind, source, target, role, by_role), expected)
    if n < _PARTITION:
        codes = [np.asarray(code) for code in (source, target, role)]
        compiled = _repeated(kind, *codes, by_role, *(int(code.max()) + 2 for code in codes))
        np.testing.assert_array_equal(np.flatnonzero(compiled), expected)


def test_shared_records_edge_cases():
    from graphscore.timeline import shared_records

    empty = np.array([], dtype=np.int32)
    assert shared_records(empty, empty, empty, empty, np.array([], dtype=bool)).tolist() == []
    one = np.array([0])
    assert shared_records(one, one, one, one, np.array([True])).tolist() == []
    # a self link recorded twice, and one relation under two roles counted once where the type has no role key
    kind, ends, role = np.array([0, 0, 0, 0]), np.array([3, 3, 4, 4]), np.array([0, 0, 1, 2])
    assert shared_records(kind, ends, ends, role, np.array([True])).tolist() == [0, 1]
    assert shared_records(kind, ends, ends, role, np.array([False])).tolist() == [0, 1, 2, 3]


def test_shared_records_past_63_bits_take_the_sorted_path():
    """Codes whose mixed-radix numbers overflow 63 bits: pandas' hash of the tuples' ranks."""
    from graphscore.timeline import shared_records

    big = np.array([2**40, 5, 2**40, 7, 2**40], dtype=np.int64)
    kind, role = np.zeros(5, dtype=np.int8), np.array([0, 1, 0, 1, 1])
    for by_role in (np.array([True]), np.array([False])):
        np.testing.assert_array_equal(shared_records(kind, big, big, role, by_role),
                                      _shared_by_pandas(kind, big, big, role, by_role))
