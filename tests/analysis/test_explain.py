"""Explanations: contributions add up to the score, and paths carry what they say they carry."""

from __future__ import annotations

import dataclasses
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy as sp

import graphscore as gs
from graphscore.analysis.explain import explain
from graphscore.engine.paths import hop_lengths
from graphscore.io import read_paths
from graphscore.synthetic import generate_network
from graphscore.workspace import Workspace
from tests.conftest import HAND_POLICY, POLICIES, ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


def test_hand_worked_contributions_and_paths(hand_tables, hand_policy):
    """x_O = 0.35 comes wholly from F1 on C1. Its one path C1 -> O carries 0.5 x 0.6 x s_C1 = 0.3;
    the rest (0.05) returns to C1 around the cycle C1 -> P -> C1 first, so the path's share is 6/7."""
    why = explain(hand_tables, hand_policy, "O", as_of="2024-01-01")
    assert why.total == pytest.approx(0.35) and why.exact
    (only,) = why.contributions
    assert (only["penalty"], only["source"], only["authority"]) == ("F1", "C1", "Market regulator")
    assert only["contribution"] == pytest.approx(0.35)
    assert only["paths"][0]["text"] == "Alpha Ltd <-[OWNS 60%]- Olga"
    assert only["paths"][0]["value"] == pytest.approx(0.3)
    assert only["paths_share"] == pytest.approx(6 / 7)


def test_the_penalised_entity_explains_its_own_weight(hand_tables, hand_policy):
    why = explain(hand_tables, hand_policy, "C1", as_of="2024-01-01")
    (own,) = why.contributions
    assert own["contribution"] == pytest.approx(7 / 6)
    assert own["paths"][0]["text"] == "own penalty" and own["paths_share"] == pytest.approx(6 / 7)


@pytest.mark.parametrize("policy_file, as_of", [("diffusion.toml", "2024-06-30"), ("joint-punishment.toml", "2024-06-30")])
def test_contributions_sum_to_the_score_on_a_registry(policy_file, as_of):
    tables = gs.validate(generate_network(1500, seed=2))
    policy = gs.load_policy(POLICIES / policy_file)
    workspace = Workspace(tables)
    scores = gs.score(workspace, policy, as_of).set_index("id")
    rng = np.random.default_rng(0)
    reached = scores.index[scores["inherited"] > 0]
    for entity in rng.choice(reached, size=5, replace=False):
        why = explain(workspace, policy, entity, as_of=as_of, top_paths=2)
        assert sum(c["contribution"] for c in why.contributions) == pytest.approx(scores.loc[entity, "total"], abs=1e-9)
        for contribution in why.contributions:
            if contribution["paths_share"] is None:  # beyond the traced largest contributions
                continue
            assert 0 < contribution["paths_share"] <= 1 + 1e-9
            assert sum(p["value"] for p in contribution["paths"]) <= contribution["contribution"] * (1 + 1e-9)


def test_distances_to_the_entity_are_searched_only_as_far_as_its_paths_read_them(monkeypatch):
    """The distances to the explained entity are the whole search's, bit for bit, out to the
    largest cutoff of its traced sources' path searches (where the register has entities
    beyond), so the explanations are those of the whole search."""

    from graphscore.analysis import explain as module

    tables = gs.validate(generate_network(1500, seed=2))
    policy = gs.load_policy(POLICIES / "diffusion.toml")  # a spread: hop models grow their paths from the entity
    workspace = Workspace(tables)
    scores = gs.score(workspace, policy, "2024-06-30").set_index("id")
    projection = workspace.projection(policy, "2024-06-30")
    searched = module._path_lengths(projection, policy.damping)
    assert searched.damping == policy.damping  # no hop gains: the lengths are worked out from W where read
    reverse = searched.backward.copy()
    reverse.data = hop_lengths(reverse.data, searched.damping)
    chosen = np.random.default_rng(1).choice(scores.index[scores["inherited"] > 0], size=4, replace=False)
    for entity in chosen:
        v = projection.index_of(entity)
        whole = sp.sparse.csgraph.dijkstra(reverse, indices=v)
        sources = [int(u) for u in np.argsort(whole, kind="stable")[1:4]]  # the nearest: most lie beyond
        found = module._distances_to(searched, v, sources)
        cutoff = module._search_bounds(whole[sources].max())[1]
        within = whole <= cutoff
        np.testing.assert_array_equal(found[within], whole[within])
        assert ((found == whole) | np.isinf(found)).all() and (np.isfinite(whole) & ~within).any()
    limited = [explain(workspace, policy, entity, as_of="2024-06-30", top_paths=3).to_json() for entity in chosen]
    monkeypatch.setattr(module, "_distances_to",
                        lambda searched, target, sources: sp.sparse.csgraph.dijkstra(reverse, indices=target))
    unlimited = [explain(workspace, policy, entity, as_of="2024-06-30", top_paths=3).to_json() for entity in chosen]
    for one, other in zip(limited, unlimited):
        one["manifest"].pop("generated_at"), other["manifest"].pop("generated_at")
        assert one == other


def test_a_path_search_stopped_at_its_bound_traces_the_sources_it_covers_as_the_whole_search(monkeypatch):
    """With the search for distances to the entity bounded to a few entities, the sources whose
    paths lie within it are explained as by the unbounded search, bit for bit, and the others
    are listed without paths and counted in a note."""
    from graphscore.analysis import explain as module

    tables = gs.validate(generate_network(1500, seed=2))
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    workspace = Workspace(tables)
    scores = gs.score(workspace, policy, "2024-06-30").set_index("id")
    chosen = scores.sort_values("inherited").index[-3:]  # many sources each
    whole = [explain(workspace, policy, entity, as_of="2024-06-30").to_json() for entity in chosen]
    monkeypatch.setattr(module, "_SEARCHED", 60)
    bounded = [explain(workspace, policy, entity, as_of="2024-06-30").to_json() for entity in chosen]
    left_out = 0
    for one, other in zip(bounded, whole):
        assert [c["contribution"] for c in one["contributions"]] == [c["contribution"] for c in other["contributions"]]
        for mine, theirs in zip(one["contributions"], other["contributions"]):
            if mine["paths_share"] is not None or theirs["paths_share"] is None:
                assert mine == theirs
            else:  # a source the bounded search did not cover: listed, not traced
                assert mine["paths"] == [] and mine["source"] != one["entity"]
                left_out += 1
        if left_out:
            assert any("beyond the 60 entities nearest" in note for note in one["notes"])
    assert left_out  # the bound took effect


def test_a_reverse_push_stopped_at_its_cap_keeps_its_contributions_and_states_the_rest(monkeypatch):
    """On a register larger than the push's cap the contributions found are kept: each at most
    the exact one (the row by a transposed float64 solve), and with the part stated unattributed
    they add up to the score."""
    from graphscore.analysis import explain as module
    from graphscore.analysis.explain import influence_row

    tables = gs.validate(generate_network(1500, seed=2))
    policy = gs.load_policy(POLICIES / "diffusion.toml")
    workspace = Workspace(tables)
    projection = workspace.projection(policy, "2024-06-30")
    scores = workspace.baseline(policy, "2024-06-30").total
    monkeypatch.setattr(module, "_PUSH_LINKS", 2_000)
    stopped = 0
    for v in np.argsort(-scores)[[0, 5, 50]]:
        why = explain(workspace, policy, projection.ids[int(v)], as_of="2024-06-30", top_paths=1)
        exact = influence_row(projection, policy, int(v)) * projection.s
        found = pd.Series({c["source"]: 0.0 for c in why.contributions})
        for c in why.contributions:
            found[c["source"]] += c["contribution"]
        expected = pd.Series(exact, index=projection.ids)[found.index]
        assert (found <= expected * (1 + 1e-12) + 1e-15).all()
        if not why.exact:
            stopped += 1
            unattributed = scores[v] - found.sum()
            assert unattributed > 0 and f"stopped after 2,000 links: {unattributed:.2g}" in " ".join(why.notes)
    assert stopped >= 2


def test_zala_contributions_name_penalties_and_sum_exactly():
    tables = read_paths([ZALA])
    why = explain(tables, gs.load_policy(POLICIES / "joint-punishment.toml"), "NK-mCEmxFfuhfdjpC8gsxH74o",
                  as_of="2024-06-30")
    assert sum(c["contribution"] for c in why.contributions) == pytest.approx(why.total, abs=1e-9)
    cst = next(c for c in why.contributions if c["source"] == "NK-abdzbEBkqyT29GyREbiURZ")
    assert cst["paths"][0]["hops"][0]["role"] == "legal_representative"
    data = json.loads(json.dumps(why.to_json()))
    assert {"penalty", "source", "contribution", "paths"} <= set(data["contributions"][0])


def test_hop_sum_splits_exactly_and_hop_max_names_the_deciding_path(hand_tables):
    base = HAND_POLICY.replace('model = "spread"', 'model = "hop"\nmax_hops = 2')
    summed = explain(hand_tables, gs.parse_policy(base), "C2", as_of="2024-01-01")
    assert summed.exact and sum(c["contribution"] for c in summed.contributions) == pytest.approx(summed.total)
    maxed = explain(hand_tables, gs.parse_policy(base.replace("max_hops = 2", 'max_hops = 2\naggregate = "max"')),
                    "C2", as_of="2024-01-01")
    (decider,) = maxed.contributions
    assert not maxed.exact and decider["contribution"] == pytest.approx(maxed.total) == pytest.approx(0.125)
    assert decider["paths"][0]["text"].startswith("Alpha Ltd <-[OFFICER_OF legal_representative]- Pat")


def test_models_that_do_not_split_are_refused(hand_tables):
    policy = gs.load_policy(POLICIES / "debtrank.toml")
    with pytest.raises(ValueError, match="model 'debtrank' does not split by source"):
        explain(hand_tables, policy, "C1", as_of="2024-01-01")


def test_ownership_rules_give_the_deciding_chain():
    """On 2023-09-30 OFAC blocks LLC CST through JSC Kalashnikov Concern's 49 % and
    TransKomplektHolding's 2 % (sanctions with no recorded regime count under every rule).
    Zakharov, listed from 2023-07-01 by Ukraine only, held 100 % of RTC: the integrated
    reading, which takes any regime's listing, flags RTC through him (OFAC does not)."""
    tables = read_paths([ZALA])
    why = explain(tables, gs.load_policy(POLICIES / "ofac-50.toml"), "NK-abdzbEBkqyT29GyREbiURZ", as_of="2023-09-30")
    (decider,) = why.contributions
    assert why.total == 1.0 and decider["stake"] == pytest.approx(0.51)
    assert decider["paths"][0]["text"] == 'JSC Kalashnikov Concern 49% + Акціонерне товариство "ТрансКомплектХолдинг" 2%'
    why = explain(tables, gs.load_policy(POLICIES / "beneficial-owners.toml"), "NK-ERScv7cLkkvZ3ejz7xiToj",
                  as_of="2023-09-30")
    (decider,) = why.contributions
    assert why.total == 1.0 and decider["stake"] == 1.0
    assert decider["paths"][0]["text"] == ('Alexander Vyacheslavovich ZAKHAROV -> [100%] '
                                           'Товариство з обмеженою відповідальністю "РТЦ" (100%)')


def chain_and_shortcut() -> gs.Tables:
    """S -> Q -> R -> V, associates at weight 1, and S's 10 % stake in V; S penalised with 1."""
    return gs.validate(gs.Tables(
        pd.DataFrame({"id": ["S", "Q", "R", "V"], "kind": "company", "name": ["Src", "Que", "Ren", "Vic"]}),
        pd.DataFrame({"source": ["S", "Q", "R", "S"], "target": ["Q", "R", "V", "V"],
                      "type": ["ASSOCIATE", "ASSOCIATE", "ASSOCIATE", "OWNS"], "share": [None, None, None, 0.1]}),
        pd.DataFrame({"id": ["x"], "entity": ["S"], "kind": ["fine"], "severity": [1.0], "start": ["2020-01-01"]})))


CHAIN = """
name = "chain"
model = "hop"
aggregate = "max"
max_hops = 2
damping = 0.9
[[transmit]]
link = "ASSOCIATE"
direction = "forward"
weight = 1.0
[[transmit]]
link = "OWNS"
direction = "forward"
weight = "share"
"""


def test_hop_max_explains_the_walk_within_max_hops():
    """Issue 9.2: within two links only the 10 % stake reaches V: 0.9 x 0.1 = 0.09. The chain
    carries 0.9^3 = 0.729 but takes three links; it decides nothing under max_hops = 2."""
    tables, policy = chain_and_shortcut(), gs.parse_policy(CHAIN)
    why = explain(tables, policy, "V", as_of="2024-01-01")
    (decider,) = why.contributions
    assert why.total == pytest.approx(0.09) and decider["contribution"] == pytest.approx(0.09)
    assert decider["paths"][0]["value"] == pytest.approx(0.09)
    assert decider["paths"][0]["text"] == "Src -[OWNS 10%]-> Vic"
    longer = explain(tables, gs.parse_policy(CHAIN.replace("max_hops = 2", "max_hops = 3")), "V", as_of="2024-01-01")
    assert longer.total == pytest.approx(0.729) and len(longer.contributions[0]["paths"][0]["hops"]) == 3


def two_links_each_way() -> gs.Tables:
    """Pat is legal representative of Co and owns 60 % of it; Co holds 40 % of Pat's firm F.
    Co (fine of 1) and F (fine of 0.5) are penalised."""
    return gs.validate(gs.Tables(
        pd.DataFrame({"id": ["P", "C", "F"], "kind": ["person", "company", "company"], "name": ["Pat", "Co", "Firm"]}),
        pd.DataFrame({"source": ["P", "P", "C", "P"], "target": ["C", "C", "F", "F"],
                      "type": ["OFFICER_OF", "OWNS", "OWNS", "OFFICER_OF"],
                      "role": ["legal_representative", None, None, "legal_representative"],
                      "share": [None, 0.6, 0.4, None]}),
        pd.DataFrame({"id": ["x", "y"], "entity": ["C", "F"], "kind": ["fine", "fine"], "severity": [1.0, 0.5],
                      "start": ["2020-01-01", "2020-01-01"]})))


TWO_LINKS = """
name = "two-links"
model = "{model}"
parallel = "{parallel}"
damping = 0.5
[[transmit]]
link = "OFFICER_OF"
role = "legal_representative"
direction = "both"
weight = 0.9
[[transmit]]
link = "OWNS"
direction = "both"
weight = "share"
"""


@pytest.mark.parametrize("parallel", ["sum", "max", "noisy_or"])
@pytest.mark.parametrize("model", ["spread", "hop-sum", "hop-max"])
def test_explain_agrees_with_the_score_in_every_mode(model, parallel):
    """Issue 9.1: whatever rule combines parallel links, each contribution is what the model
    scores for its source, and each path's value the product of damping x W (the combined
    entries) along it times its penalty's weight; under hop max the deciding walk is the score."""
    name, aggregate = (model.split("-") + ["sum"])[:2]
    text = TWO_LINKS.format(model=name, parallel=parallel)
    if name == "hop":
        text = text.replace("damping = 0.5", f'damping = 0.5\nmax_hops = 3\naggregate = "{aggregate}"')
    policy, tables = gs.parse_policy(text), two_links_each_way()
    scores = gs.score(tables, policy, as_of="2024-01-01").set_index("id")
    projection = gs.build_projection(tables, policy, "2024-01-01")
    A = 0.5 * projection.W.toarray()
    for entity in ("P", "C", "F"):
        why = explain(tables, policy, entity, as_of="2024-01-01")
        assert why.total == pytest.approx(scores.loc[entity, "total"], rel=1e-12)
        found = [c["contribution"] for c in why.contributions]
        if aggregate == "max":
            assert max(found) == pytest.approx(why.total, rel=1e-12)
        else:
            assert sum(found) == pytest.approx(why.total, rel=1e-10)
        for contribution in why.contributions:
            weight = projection.penalties.set_index("id").loc[contribution["penalty"], "weight"]
            for path in contribution["paths"]:
                ids = [hop["from"] for hop in path["hops"]] + [path["hops"][-1]["to"]] if path["hops"] else []
                steps = [A[projection.index_of(b), projection.index_of(a)] for a, b in zip(ids, ids[1:])]
                assert path["value"] == pytest.approx(weight * np.prod(steps), rel=1e-12)
                assert all(hop["pair_weight"] == pytest.approx(2 * step) for hop, step in zip(path["hops"], steps))


def test_paths_within_max_hops_when_the_strongest_path_is_longer():
    """Under hop with max_hops, the paths shown are the strongest of at most max_hops links, even
    when a longer path is stronger (Yen's search in order of length enumerated every longer simple
    path first: minutes on a 400-company registry under max_hops = 3)."""

    from graphscore.analysis.explain import _HopLengths, _nonnegative_lengths, _strongest_simple_paths
    from graphscore.engine.paths import simple_paths_to

    # 0 -> 1 -> 2 -> 3 -> 4 at weight 1 (4 links), 0 -> 5 -> 4 at 0.5 each, 0 -> 4 at 0.1
    edges = {(0, 1): 1.0, (1, 2): 1.0, (2, 3): 1.0, (3, 4): 1.0, (0, 5): 0.5, (5, 4): 0.5, (0, 4): 0.1}
    rows, cols = zip(*edges)
    A = sp.sparse.csr_array((list(edges.values()), (rows, cols)), shape=(6, 6))
    found = simple_paths_to(sp.sparse.csr_array(A.T), 4, [0], damping=0.9, max_hops=2, top=3)[0]
    assert [path for path, _ in found] == [[0, 5, 4], [0, 4]]
    assert [round(value, 12) for _, value in found] == [0.2025, 0.09]
    lengths = _nonnegative_lengths(A, 0.9)
    to_target = sp.sparse.csgraph.dijkstra(sp.sparse.csr_array(lengths.T), indices=4)
    unbounded = _strongest_simple_paths(_HopLengths(A, lengths, sp.sparse.csr_array(lengths.T), None), 0, 4, 0.9, 1,
                                        to_target)
    assert unbounded[0][0] == [0, 1, 2, 3, 4] and round(unbounded[0][1], 12) == round(0.9 ** 4, 12)


def test_entries_among_a_region_are_scipys_in_its_order():
    """``_among`` lists the entries of ``M[region][:, region]`` as scipy does, in the same order
    (Yen's search meets its edges in that order, so ties break the same way)."""
    from graphscore.analysis.explain import _among

    rng = np.random.default_rng(3)
    for n, density in ((50, 0.1), (400, 0.01)):
        M = sp.sparse.random_array((n, n), density=density, format="csr", rng=rng)
        for size in (1, 7, n // 2):
            region = rng.choice(n, size=size, replace=False)
            expected = M[region][:, region].tocoo()
            rows, columns, values = _among(M, region)
            np.testing.assert_array_equal(rows, expected.row)
            np.testing.assert_array_equal(columns, expected.col)
            np.testing.assert_array_equal(values, expected.data)


def _path_lengths_reference(W: sp.sparse.csr_array, damping: float) -> tuple[sp.sparse.csr_array, ...]:
    """The hop lengths as three matrices of their own (how explanations made them before they
    shared W's index arrays): the reference they must equal bit for bit."""
    from graphscore.engine.paths import johnson_potentials

    A = sp.sparse.csr_array(W.T, dtype=float)
    A.eliminate_zeros()
    lengths = A.copy()
    lengths.data = -np.log(damping * lengths.data)
    if (lengths.data < 0).any():
        try:
            potential = johnson_potentials(lengths)
            coo = lengths.tocoo()
            lengths = sp.sparse.csr_array((np.maximum(coo.data + potential[coo.row] - potential[coo.col], 0.0),
                                           (coo.row, coo.col)), shape=lengths.shape)
        except sp.sparse.csgraph.NegativeCycleError:
            lengths.data = np.maximum(lengths.data, 0.0)
    lengths.data[lengths.data == 0] = 1e-300
    return A, lengths, sp.sparse.csr_array(lengths.T)


@pytest.mark.parametrize("policy_file, damping", [(POLICIES / "diffusion.toml", None),
                                                  (Path(__file__).parents[1] / "policies" / "spread-split.toml", 0.35)])
def test_path_lengths_share_the_index_arrays_of_w_and_equal_three_matrices_of_their_own(policy_file, damping):
    """An explanation's hop lengths read the index arrays of W and of W by source, and are the
    matrices made on their own: under diffusion, where no hop gains, worked out from W's values
    where read and nothing kept (within rounding of the C library's log against numpy's, equal on
    this project's machine); under a spread whose hops gain (damping x weight above 1 at 0.35:
    Johnson's reweighting) two value arrays kept (16 bytes a non-zero of W), bit for bit. A W
    with a stored zero is read without it."""
    import dataclasses

    from graphscore.analysis import explain as module

    tables = gs.validate(generate_network(1500, seed=2))
    policy = gs.load_policy(policy_file)
    policy = dataclasses.replace(policy, damping=damping) if damping else policy
    projection = Workspace(tables).projection(policy, "2024-06-30")
    W = projection.W
    zeroed = W.copy()
    zeroed.data[::97] = 0.0  # stored zeros: no hop
    for matrix in (W, zeroed):
        chosen = dataclasses.replace(projection, W=matrix)
        found = module._path_lengths(chosen, policy.damping)
        A, lengths, by_target = _path_lengths_reference(matrix, policy.damping)
        assert (found.damping is None) == bool(damping)
        for made, expected, weights in ((found.A, A, True), (found.forward, lengths, False),
                                        (found.backward, by_target, False)):
            for part in ("indices", "indptr"):
                np.testing.assert_array_equal(getattr(made, part), getattr(expected, part))
                assert getattr(made, part).dtype == getattr(expected, part).dtype
            if weights or found.damping is None:
                np.testing.assert_array_equal(made.data, expected.data)
            else:
                np.testing.assert_allclose(hop_lengths(made.data, found.damping), expected.data, rtol=1e-15, atol=0)
        kept = chosen.derived.get((module.PATH_LENGTHS, policy.damping, "values"))
        assert (sum(array.nbytes for array in kept) == 16 * found.A.nnz) if damping else kept is None
    found = module._path_lengths(projection, policy.damping)
    assert (np.shares_memory(found.A.data, projection.W_by_source.data)
            and np.shares_memory(found.forward.indices, projection.W_by_source.indices)
            and np.shares_memory(found.backward.indices, W.indices) and np.shares_memory(found.backward.indptr, W.indptr))
    if damping:
        assert (found.forward.data == 1e-300).any()  # the reweighting was taken (a gain, made zero)

def _penalty_rows_one_by_one(projection, sources: np.ndarray) -> list[tuple]:
    """The construction `_penalty_rows` replaced (one dict per penalty, each source's sorted by
    weight then id, shares worked out source by source): the reference its columns must equal."""
    rows_of = {}
    chosen = projection.penalties[projection.penalties["idx"].isin(sources) & (projection.penalties["weight"] > 0)]
    for row in chosen[["idx", "id", "kind", "authority", "weight"]].to_dict("records"):
        rows_of.setdefault(row["idx"], []).append(row)
    found = []
    for u in sorted(rows_of):
        rows = sorted(rows_of[u], key=lambda row: (-row["weight"], row["id"]))
        if projection.combine is gs.policy.Combine.MAX:
            shares = [(rows[0], 1.0)]
        else:
            total = rows[0]["weight"] if len(rows) == 1 else np.array([row["weight"] for row in rows]).sum()
            shares = [(row, row["weight"] / total) for row in rows]
        found += [(u, row["id"], row["kind"], row["authority"] if isinstance(row["authority"], str) else None, part)
                  for row, part in shares]
    return found


@pytest.mark.parametrize("combine", ["sum", "max"])
def test_penalty_rows_as_columns_equal_the_construction_one_by_one(combine):
    """Sources with several penalties, some of equal weight listed out of id order (the tie goes
    to the smaller id), and penalties without authority: the columns and parts equal, bit for bit,
    those of the dicts made one by one."""
    from graphscore.analysis.explain import _penalty_rows

    tables = generate_network(1500, seed=2)
    penalties = tables.penalties
    # each of the first ten penalties again under an id sorting before its own, and listed after it
    again = penalties.iloc[:10].assign(id=lambda frame: "A" + frame["id"], authority=None)
    tables = gs.validate(dataclasses.replace(tables, penalties=pd.concat([penalties, again], ignore_index=True)))
    text = (POLICIES / "diffusion.toml").read_text().replace('combine = "max"', f'combine = "{combine}"')
    projection = gs.build_projection(tables, gs.parse_policy(text), "2024-06-30")
    sources = np.flatnonzero(projection.s > 0)
    several = projection.penalties.groupby("idx").size()
    assert (several > 1).sum() >= 5  # the sample has sources of several penalties, ties among them
    rows, ids, kinds, authorities, parts = _penalty_rows(projection, sources)
    expected = _penalty_rows_one_by_one(projection, sources)
    assert list(zip(rows.tolist(), ids, kinds, authorities, parts.tolist())) == expected
    assert any(part != 1.0 for *_, part in expected) == (combine == "sum")
