"""Projection: several links between one pair (issue 9.1) and cross-holdings under
``direction = "both"`` (issue 9.3), each with the hand-worked answer."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

import graphscore as gs
from graphscore.engine.matrix import build_projection, combine_parallel, ownership_matrices
from graphscore.errors import InvalidPolicy
from graphscore.policy import LinkTime, MissingShare, Parallel
from graphscore.synthetic import generate_network
from tests.conftest import POLICIES

TEST_POLICIES = POLICIES.parent.parent / "tests" / "policies"

AS_OF = "2024-01-01"


def representative_and_owner() -> gs.Tables:
    """Person P is both the legal representative of company C and its 100 % owner; P carries a
    penalty of severity 1 starting on the scoring date (so no decay)."""
    return gs.validate(gs.Tables(
        pd.DataFrame({"id": ["P", "C"], "kind": ["person", "company"], "name": ["Pat", "Co"]}),
        pd.DataFrame({"source": ["P", "P"], "target": ["C", "C"], "type": ["OFFICER_OF", "OWNS"],
                      "role": ["legal_representative", None], "share": [None, 1.0]}),
        pd.DataFrame({"id": ["x"], "entity": ["P"], "kind": ["dishonest_debtor"], "severity": [1.0],
                      "start": [AS_OF]})))


def cross_holding() -> gs.Tables:
    """A owns 30 % of B and B owns 60 % of A; A carries a penalty of 1."""
    return gs.validate(gs.Tables(
        pd.DataFrame({"id": ["A", "B"], "kind": ["company", "company"], "name": ["Alpha", "Beta"]}),
        pd.DataFrame({"source": ["A", "B"], "target": ["B", "A"], "type": ["OWNS", "OWNS"], "share": [0.3, 0.6]}),
        pd.DataFrame({"id": ["x"], "entity": ["A"], "kind": ["fine"], "severity": [1.0], "start": ["2020-01-01"]})))


# The reading of joint punishment the issue tried (hop, max, damping 0.9, two hops, the owner's
# stake standing in for control), which the shipped joint-punishment-categorical policy had
# before it followed the law's one step in full (data/policies/joint-punishment-categorical.toml).
CATEGORICAL = """
name = "joint-punishment-categorical-as-in-the-issue"
model = "hop"
max_hops = 2
aggregate = "max"
damping = 0.9
[[transmit]]
link = "OFFICER_OF"
role = "legal_representative"
direction = "both"
weight = 1.0
[[transmit]]
link = "OWNS"
direction = "forward"
weight = "share"
"""


def _categorical(parallel: str | None = None) -> gs.Policy:
    # top-level keys go before the first [[transmit]] table
    return gs.parse_policy(CATEGORICAL.replace('model = "hop"', f'model = "hop"\nparallel = "{parallel}"')
                           if parallel else CATEGORICAL)


def test_strongest_link_is_the_default_under_hop_max():
    """Issue 9.1: joint punishment read as hop, max, damping 0.9, two hops. Pat reaches Co
    by two links of weight 1 (legal representative, 100 % stake). The strongest link alone:
    Co = 0.9 x 1 = 0.9, and Pat = max(1, 0.9 x 1 x 0.9 x 1 = 0.81) = 1."""
    policy = _categorical()
    assert policy.parallel is Parallel.MAX
    scores = gs.score(representative_and_owner(), policy, as_of=AS_OF).set_index("id")
    assert scores.loc["C", "total"] == pytest.approx(0.9) and scores.loc["P", "total"] == pytest.approx(1.0)
    assert scores.loc["P", "echo"] == 0.0


def test_summed_links_are_what_the_old_projection_gave():
    """parallel = "sum" reproduces the numbers the issue found: W[C, P] = 2, so Co = 0.9 x 2 = 1.8
    and Pat = max(1, 0.9 x 2 x 0.9 x 1) = 1.62, all of Pat's 0.62 beyond its own being its own
    penalty returning (echo), none inherited."""
    scores = gs.score(representative_and_owner(), _categorical("sum"), as_of=AS_OF).set_index("id")
    assert scores.loc["C", "total"] == pytest.approx(1.8) and scores.loc["P", "total"] == pytest.approx(1.62)
    assert scores.loc["P", "echo"] == pytest.approx(0.62) and scores.loc["P", "inherited"] == 0.0


def test_independent_coins_per_link_under_the_cascade():
    """Issue 9.1: a 0.8 link and a 0.6 link from A to B are one chance of 1 - 0.2 x 0.4 = 0.92
    (Kempe, Kleinberg & Tardos 2003: one independent activation attempt per link), not 1.4."""
    policy = gs.parse_policy('name="c"\nmodel="cascade"\nruns=20000\nseed=1\n'
                             '[[transmit]]\nlink="OFFICER_OF"\nrole="legal_representative"\ndirection="forward"\nweight=0.8\n'
                             '[[transmit]]\nlink="OWNS"\ndirection="forward"\nweight=0.6\n')
    assert policy.parallel is Parallel.NOISY_OR
    tables = representative_and_owner()
    projection = build_projection(tables, policy, AS_OF)
    assert projection.W[projection.index_of("C"), projection.index_of("P")] == pytest.approx(0.92, abs=1e-15)
    scores = gs.score(tables, policy, as_of=AS_OF).set_index("id")
    assert scores.loc["C", "total_low"] <= 0.92 <= scores.loc["C", "total_high"]


@pytest.mark.parametrize("parallel, expected", [("sum", 0.9), ("max", 0.6), ("noisy_or", 1 - 0.7 * 0.4)])
def test_a_cross_holding_keeps_both_stakes(parallel, expected):
    """Issue 9.3: under OWNS both ways, A reaches B through its own 30 % of B (forward) and through
    B's 60 % of A (backward): two links, and likewise from B to A. Both stay in the edges and
    combine under ``parallel``: 0.9 summed, 0.6 the strongest, 0.72 as independent coins."""
    policy = gs.parse_policy(f'name="x"\nparallel="{parallel}"\ndamping=0.5\n'
                             '[[transmit]]\nlink="OWNS"\ndirection="both"\nweight="share"\n')
    projection = build_projection(cross_holding(), policy, AS_OF)
    assert projection.W.toarray().tolist() == [[0.0, pytest.approx(expected)], [pytest.approx(expected), 0.0]]
    edges = projection.edges_touching().sort_values(["u", "v", "direction"])
    assert edges[["u", "v", "direction", "weight"]].values.tolist() == [
        [0, 1, "backward", 0.6], [0, 1, "forward", 0.3], [1, 0, "backward", 0.3], [1, 0, "forward", 0.6]]
    assert edges["pair_weight"].tolist() == [pytest.approx(expected)] * 4


def test_cross_holding_spread_by_hand():
    """Summed, W = [[0, 0.9], [0.9, 0]] at damping 0.5: x_A = 1 + 0.45 x_B, x_B = 0.45 x_A, so
    x_A = 1 / (1 - 0.2025) and x_B = 0.45 x_A; all of A's score beyond 1 is its echo."""
    policy = gs.parse_policy('name="x"\ndamping=0.5\n[[transmit]]\nlink="OWNS"\ndirection="both"\nweight="share"\n')
    scores = gs.score(cross_holding(), policy, as_of=AS_OF).set_index("id")
    x_a = 1 / (1 - 0.2025)
    assert scores.loc["A", "total"] == pytest.approx(x_a, rel=1e-10)
    assert scores.loc["B", "total"] == pytest.approx(0.45 * x_a, rel=1e-10)
    assert scores.loc["A", "echo"] == pytest.approx(x_a - 1, rel=1e-10) and scores.loc["A", "inherited"] == 0.0


def test_one_rule_crosses_a_pair_once_per_written_direction():
    """A person holding two offices in one company under a role-less rule is one officer: the
    rule keeps the stronger of the two links, whatever ``parallel`` says across links."""
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["P", "C"], "kind": ["person", "company"], "name": ["Pat", "Co"]}),
        pd.DataFrame({"source": ["P", "P"], "target": ["C", "C"], "type": "OFFICER_OF",
                      "role": ["director", "executive"]}),
        pd.DataFrame({"id": ["x"], "entity": ["C"], "kind": ["fine"], "severity": [1.0], "start": ["2020-01-01"]})))
    policy = gs.parse_policy('name="x"\n[[transmit]]\nlink="OFFICER_OF"\ndirection="backward"\nweight=0.5\n')
    projection = build_projection(tables, policy, AS_OF)
    assert projection.W.toarray().tolist() == [[0.0, 0.5], [0.0, 0.0]] and len(projection.edges_touching()) == 1  # W[P, C]


def test_normalisation_applies_to_the_combined_pairs():
    """Under normalize = "source" A's penalty is split among those it reaches: B (links 0.3 and
    0.6 combined) is the only one, so W[B, A] = 1 under every rule for parallel links."""
    for parallel in Parallel:
        policy = gs.parse_policy(f'name="x"\nparallel="{parallel.value}"\nnormalize="source"\n'
                                 '[[transmit]]\nlink="OWNS"\ndirection="both"\nweight="share"\n')
        W = build_projection(cross_holding(), policy, AS_OF).W
        assert W.toarray().tolist() == [[0.0, pytest.approx(1.0)], [pytest.approx(1.0), 0.0]], parallel


def test_normalisation_of_a_subnormal_stake_is_whole():
    """A stake of 5e-324 (the smallest float, found by tests/test_properties.py) is still the one
    link of its source: normalised, it carries the whole penalty, where 1 / 5e-324 overflowed to
    inf."""
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["A", "B"], "kind": ["company", "company"], "name": ["Alpha", "Beta"]}),
        pd.DataFrame({"source": ["A"], "target": ["B"], "type": ["OWNS"], "share": [5e-324]}),
        pd.DataFrame(columns=["id", "entity", "kind", "severity", "start"])))
    W = build_projection(tables, gs.load_policy(POLICIES / "diffusion.toml"), AS_OF).W
    assert W.toarray().tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_combine_parallel_against_a_loop():
    rng = np.random.default_rng(3)
    u, v, w = rng.integers(0, 5, 60), rng.integers(0, 5, 60), rng.uniform(0, 1, 60)
    for parallel in Parallel:
        pair_u, pair_v, combined, pair_of = combine_parallel(u, v, w, 5, parallel)
        for a, b, value in zip(pair_u, pair_v, combined):
            chosen = w[(u == a) & (v == b)]
            expected = {Parallel.SUM: chosen.sum(), Parallel.MAX: chosen.max(),
                        Parallel.NOISY_OR: 1 - np.prod(1 - chosen)}[parallel]
            assert value == pytest.approx(expected, rel=1e-12)
        assert (pair_u[pair_of] == u).all() and (pair_v[pair_of] == v).all()


def test_parallel_defaults_and_errors():
    assert gs.parse_policy('name="x"\n[[transmit]]\nlink="OWNS"\ndirection="both"').parallel is Parallel.SUM
    assert gs.load_policy(POLICIES / "cascade.toml").parallel is Parallel.NOISY_OR
    assert gs.load_policy(POLICIES / "ofac-50.toml").parallel is None
    with pytest.raises(InvalidPolicy, match=r"transmit\[0\].weight=2.0 is above 1, but parallel = 'noisy_or'"):
        gs.parse_policy('name="x"\nparallel="noisy_or"\n[[transmit]]\nlink="OWNS"\ndirection="both"\nweight=2.0')
    with pytest.raises(InvalidPolicy, match="parallel applies to model = "):
        gs.parse_policy('name="x"\nmodel="ownership-ofac"\nparallel="max"')
    with pytest.raises(InvalidPolicy, match="parallel='all' is not one of sum, max, noisy_or"):
        gs.parse_policy('name="x"\nparallel="all"\n[[transmit]]\nlink="OWNS"\ndirection="both"')


SPLIT_AND_BOUNDS = ('name="x"\nnormalize="target"\nmissing_share="high"\n'
                    '[[transmit]]\nlink="OWNS"\ndirection="backward"\nweight="share"\n'
                    '[[transmit]]\nlink="OFFICER_OF"\ndirection="both"\nweight=0.5\nsplit=true\n')


@pytest.fixture(scope="module")
def small_registry():
    return gs.validate(generate_network(600, seed=3))


@pytest.mark.parametrize("policy_text", [*(path.name for path in sorted(POLICIES.glob("*.toml"))), SPLIT_AND_BOUNDS])
def test_edges_found_from_a_few_entities_are_the_projections_own(small_registry, policy_text):
    """The projection keeps no edge table: the edges of some entities are made again from their
    links alone. They must be exactly the whole projection's edges with an end among them
    (weights after split, normalisation and missing-share bounds included, in the same order),
    and their pairs must make W's entries."""
    policy = gs.load_policy(POLICIES / policy_text) if policy_text.endswith(".toml") else gs.parse_policy(policy_text)
    projection = build_projection(small_registry, policy, "2024-06-30")
    whole = projection.edges_touching()
    assert len(whole) >= projection.W.nnz > 100
    if not policy.model.is_ownership:  # ownership rules read the stakes, W is only their union
        W = projection.W.tocoo()
        pairs = whole.drop_duplicates(["u", "v"])
        assert sorted(zip(pairs["v"], pairs["u"], pairs["pair_weight"])) == sorted(zip(W.row, W.col, W.data))
    rng = np.random.default_rng(0)
    for size in (1, 5, 40):
        entities = rng.choice(projection.n, size, replace=False)
        local = projection.edges_touching(entities)
        expected = whole[whole["u"].isin(entities) | whole["v"].isin(entities)].reset_index(drop=True)
        pd.testing.assert_frame_equal(local, expected)
    # the strongest edge of pairs asked a few at a time, as paths ask, against the whole table's
    counted = whole.assign(links=whole.groupby(["u", "v"])["u"].transform("size"))
    strongest = counted.sort_values("weight", ascending=False, kind="stable").drop_duplicates(["u", "v"])
    for chunk in np.array_split(rng.permutation(len(strongest))[:60], 6):
        asked = strongest.iloc[chunk]
        found = projection.strongest_edges(asked["u"].to_numpy(), asked["v"].to_numpy())
        assert found["found"].all()
        for name in ("weight", "pair_weight", "links", "row", "direction", "type"):
            assert found[name].tolist() == asked[name].tolist(), name
    assert not projection.strongest_edges(np.array([-9999, 0]), np.array([0, 0]))["found"].any()


@pytest.mark.parametrize("policy_name", ["ofac-50.toml", "eu-owned-controlled.toml", "beneficial-owners.toml"])
@pytest.mark.parametrize("missing_share", [None, "high"])
def test_ownership_matrices_are_the_edge_tables_stakes_and_controls(small_registry, policy_name, missing_share):
    """D and C are made from the edges as arrays, not as a table: they must hold exactly the
    stakes and control links of the projection's edge table (its OWNS and CONTROLS rows)."""
    policy = gs.load_policy(POLICIES / policy_name)
    links = small_registry.links
    controls = links[links["type"] == "OWNS"].head(30).assign(type="CONTROLS", share=np.nan)
    small_registry = gs.validate(gs.Tables(small_registry.entities, pd.concat([links, controls], ignore_index=True),
                                           small_registry.penalties))
    missing = None if missing_share is None else MissingShare(missing_share)
    projection = build_projection(small_registry, policy, "2024-06-30", missing_share=missing)
    D, C = ownership_matrices(projection)
    whole = projection.edges_touching()
    for matrix, link_type in ((D, "OWNS"), (C, "CONTROLS")):
        rows = whole[(whole["type"] == link_type) & (whole["weight"] != 0)]
        expected = {(u, v): (w if link_type == "OWNS" else 1.0) for u, v, w in zip(rows["u"], rows["v"], rows["weight"])}
        coo = matrix.tocoo()
        assert dict(zip(zip(coo.row.tolist(), coo.col.tolist()), coo.data.tolist())) == expected
    assert D.nnz > 100 and C.nnz == 30
    # made with the projection, or later for a projection without them (one read from the disk cache)
    again = ownership_matrices(dataclasses.replace(projection))
    assert again[0] is not D and all((found != made).nnz == 0 for found, made in zip(again, (D, C)))


def test_a_link_to_an_unknown_entity_is_refused_in_one_line():
    """Unvalidated tables whose link names no entity: a plain error, not a matrix built from it."""
    from graphscore.model import Tables

    tables = Tables(pd.DataFrame({"id": ["a", "b"], "kind": ["company"] * 2, "name": ["A", "B"]}),
                    pd.DataFrame({"source": ["a", "zz"], "target": ["b", "a"], "type": ["OWNS"] * 2,
                                  "share": [0.5, 0.5], "share_low": [None] * 2, "share_high": [None] * 2,
                                  "role": [None] * 2, "start": [pd.NaT] * 2, "end": [pd.NaT] * 2}),
                    pd.DataFrame({"id": ["p"], "entity": ["a"], "kind": ["sanction"], "severity": [1.0],
                                  "start": [pd.Timestamp("2020-01-01")], "end": [pd.NaT], "repair_from": [pd.NaT]}))
    with pytest.raises(ValueError, match="a link's source or target is not among the entities"):
        build_projection(tables, gs.load_policy(POLICIES / "ofac-50.toml"), "2024-01-01")


def _ranged(tables):
    """Tables with stakes of every kind: some OWNS shares missing, some given as a range."""
    links = tables.links.copy()
    owns = np.flatnonzero((links["type"] == "OWNS").to_numpy())
    links.loc[links.index[owns[::5]], "share"] = np.nan
    ranged = links.index[owns[1::7]]
    links.loc[ranged, "share"] = np.nan
    links.loc[ranged, "share_low"], links.loc[ranged, "share_high"] = 0.1, 0.4
    return gs.Tables(tables.entities, links, tables.penalties)


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.toml")) + [TEST_POLICIES / "spread-split.toml"],
                         ids=lambda path: path.stem)
@pytest.mark.parametrize("missing_share", [None, MissingShare.HIGH])
@pytest.mark.parametrize("link_time", ["as_of", "at_penalty"])
def test_a_projection_of_cached_tables_reads_no_links_table_and_equals_the_one_in_memory(
        tmp_path, path, missing_share, link_time):
    """Tables read back from a store's disk cache are projected from their Arrow columns (codes,
    dates, stakes), the links never made a pandas table: the same W, s, notes, layers, stake
    matrices and strongest links as from the same tables in memory, to the last bit."""
    from graphscore.cache import DiskCache

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(_ranged(generate_network(300, seed=4)))
    cache = DiskCache(tmp_path, "f" * 64)
    cache.save_tables(tables)
    stored = cache.load_tables()
    policy = gs.load_policy(path)
    if link_time == "at_penalty" and not policy.model.is_ownership:
        policy = dataclasses.replace(policy, link_time=LinkTime.AT_PENALTY)
    expected = build_projection(tables, policy, "2021-06-30", missing_share=missing_share)
    found = build_projection(stored, policy, "2021-06-30", missing_share=missing_share)
    for mine, theirs in [(found, expected), *zip(found.layers, expected.layers)]:
        for name in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(mine.W, name), getattr(theirs.W, name))
        np.testing.assert_array_equal(mine.s, theirs.s)
        assert mine.notes == theirs.notes and mine.links_at == theirs.links_at
    assert len(found.layers) == len(expected.layers)
    if policy.model.is_ownership:
        for mine, theirs in zip(ownership_matrices(found), ownership_matrices(expected)):
            assert (mine != theirs).nnz == 0
    for mine, theirs in zip(found.strongest_links(), expected.strongest_links()):
        np.testing.assert_array_equal(mine, theirs)
    assert "links" not in stored.loaded()


@pytest.mark.parametrize("policy_name", ["diffusion", "joint-punishment", "spread-split"])
def test_w_by_source_is_w_in_columns_sharing_its_index_arrays_where_the_pattern_is_symmetric(policy_name):
    """W's columns equal scipy's conversion, values and order; under a policy carrying every tie
    both ways (diffusion) they keep no index arrays of their own."""
    import scipy as sp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = gs.validate(generate_network(1500, seed=3))
    path = POLICIES / f"{policy_name}.toml"
    policy = gs.load_policy(path if path.exists() else TEST_POLICIES / f"{policy_name}.toml")
    projection = build_projection(tables, policy, "2024-06-30")
    W, columns = projection.W, projection.W_by_source
    expected = sp.sparse.csc_array(W)
    for part in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(columns, part), getattr(expected, part))
    pattern = (W != 0).astype(np.int8)
    symmetric = (pattern != pattern.T).nnz == 0
    assert symmetric == (policy_name == "diffusion")
    assert np.shares_memory(columns.indices, W.indices) == symmetric
    assert np.shares_memory(columns.indptr, W.indptr) == symmetric


@pytest.mark.parametrize("edges, n", [(0, 0), (0, 4), (1, 1), (50, 3), (5_000, 40), (250_000, 90_000), (250_000, 3)])
def test_pair_order_is_numpys_stable_argsort_of_the_pair_keys(edges, n):
    """The compiled counting sort against ``np.argsort(v * n + u, kind="stable")``: self links
    (u == v), parallel links (equal keys keep their order), rows of W past the insertion sort's
    32 entries (few entities, many edges), and inputs large enough to share the work between threads."""
    from graphscore.engine.matrix import _pair_order

    rng = np.random.default_rng(edges + n)
    u, v = (rng.integers(0, max(n, 1), edges).astype(np.int32) for _ in range(2))
    if edges:
        u[: edges // 10] = v[: edges // 10]  # self links
    expected = np.argsort(v.astype(np.int64) * n + u, kind="stable")
    found = _pair_order(u, v, n)
    assert found.dtype == np.int32
    np.testing.assert_array_equal(found, expected)


@pytest.mark.parametrize("edges", [1, 7, 5_000])
@pytest.mark.parametrize("kept", [0.0, 0.5, 0.97])
def test_dropped_edges_squeezed_out_in_place_are_the_kept_edges_copied_out(edges, kept):
    """``_drop`` (the edges one rule makes twice in one direction between one pair, dropped in
    place) against what the projection did before, copying out the kept: every column, the
    rules and the order by pair, value for value and in the given types, none kept, half, most."""
    from graphscore.engine.matrix import _drop, _Edges, _pair_order

    rng = np.random.default_rng(edges)
    u, v = (rng.integers(0, 30, edges).astype(np.int32) for _ in range(2))
    columns = (u, v, rng.random(edges), rng.permutation(edges).astype(np.int32), rng.random(edges) < 0.5)
    rule = rng.integers(0, 3, edges).astype(np.int8)
    order = _pair_order(u, v, 30)
    keep = rng.random(edges) < kept
    position = np.cumsum(keep, dtype=order.dtype) - 1
    expected = [column[keep] for column in columns], rule[keep], position[order[keep[order]]]
    found, found_rule, found_order = _drop(_Edges(*(c.copy() for c in columns)), rule.copy(), order.copy(), keep)
    for mine, theirs in zip([found.u, found.v, found.weight, found.row, found.forward], expected[0]):
        assert mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)
    for mine, theirs in ((found_rule, expected[1]), (found_order, expected[2])):
        assert mine.dtype == theirs.dtype
        np.testing.assert_array_equal(mine, theirs)
    # the kept edges' order is still theirs by pair, ties in their order
    np.testing.assert_array_equal(found_order, _pair_order(found.u, found.v, 30))


@pytest.mark.parametrize("path", sorted(POLICIES.glob("*.toml")) + [TEST_POLICIES / "spread-split.toml"],
                         ids=lambda path: path.stem)
@pytest.mark.parametrize("missing_share", [None, MissingShare.HIGH])
def test_edge_weights_scaled_by_entity_totals_are_the_pairs_own_to_the_last_bit(small_registry, path, missing_share):
    """Each edge's normalised weight as the strongest links, the stake matrices and the edge
    table read it (the pairs' totals per entity, looked up by the edge's own end) equals the one
    the projection made before through each edge's pair (its pair's total, looked up by pair),
    bit for bit, under every shipped policy; normalising ones among them."""
    from graphscore.engine.matrix import _edge_weights, _edges_at, _pairs, link_source
    from graphscore.policy import Normalize

    policy = gs.load_policy(path)
    date = pd.Timestamp("2024-06-30")
    source = link_source(small_registry, policy, date, missing_share)
    n = len(small_registry.entities)
    edges, _, order = _edges_at(source, date, n, [])
    assert edges.u.size > 100
    expected = edges.weight
    if source.normalize is not Normalize.NONE:
        pair_u, pair_v, pair_weight, pair_of = combine_parallel(edges.u, edges.v, edges.weight, n, source.parallel,
                                                                order)
        by = pair_u if source.normalize is Normalize.SOURCE else pair_v
        expected = edges.weight / np.bincount(by, weights=pair_weight, minlength=n)[by][pair_of]
        assert not np.array_equal(expected, edges.weight)  # a scaling to check
    for found in (_edge_weights(edges, order, n, source.parallel, source.normalize),
                  _pairs(edges, order, n, source.parallel, source.normalize)[3]):
        assert found.dtype == expected.dtype and found.tobytes() == expected.tobytes()
