"""Links in time (issue 9.14): under ``link_time = "at_penalty"`` a link carries a penalty only if
it was in force when the penalty started.

The register: company Co with three directors, Dan (since 2019), Dora (joined 2021-06-01, after
the first listing) and Dirk (2018 to 2021-01-01, in office at the first listing, gone since).
Co is listed twice: P1 from 2020-01-01 and P2 from 2021-07-01, severity 1 each, no decay.
Scored on 2022-01-01 under a spread at damping 0.5, a director's share being 1:

- ``as_of``: the directors in office on 2022-01-01, Dan and Dora, carry both listings:
  0.5 x 2 = 1.0 each; Dirk nothing.
- ``at_penalty``: P1 reaches Dan and Dirk (in office on 2020-01-01), P2 Dan and Dora (in
  office on 2021-07-01): Dan 1.0, Dora 0.5, Dirk 0.5.
"""

from __future__ import annotations

import pandas as pd
import pytest

import graphscore as gs
from graphscore.analysis.explain import explain
from graphscore.analysis.spillover import spillover
from graphscore.analysis.whatif import whatif
from graphscore.cache import DiskCache
from graphscore.engine.echo import ECHO_TOL
from graphscore.errors import InvalidPolicy
from graphscore.workspace import Workspace

AS_OF = "2022-01-01"
POLICY = """
name = "directors"
damping = 0.5
link_time = "{link_time}"
[[transmit]]
link = "OFFICER_OF"
role = "director"
direction = "backward"
weight = 1.0
"""


@pytest.fixture
def register() -> gs.Tables:
    return gs.validate(gs.Tables(
        pd.DataFrame({"id": ["C", "D1", "D2", "D3"], "kind": ["company", "person", "person", "person"],
                      "name": ["Co", "Dan", "Dora", "Dirk"]}),
        pd.DataFrame({"source": ["D1", "D2", "D3"], "target": ["C"] * 3, "type": "OFFICER_OF", "role": "director",
                      "start": ["2019-01-01", "2021-06-01", "2018-01-01"], "end": [None, None, "2021-01-01"]}),
        pd.DataFrame({"id": ["P1", "P2"], "entity": ["C", "C"], "kind": "dishonest_debtor", "severity": [1.0, 1.0],
                      "start": ["2020-01-01", "2021-07-01"]})))


def policy(link_time: str, **extra: str) -> gs.Policy:
    text = POLICY.format(link_time=link_time)
    for key, value in extra.items():
        text = text.replace("damping = 0.5", f"damping = 0.5\n{key} = {value}")
    return gs.parse_policy(text)


def totals(tables, chosen) -> dict[str, float]:
    return gs.score(tables, chosen, as_of=AS_OF).set_index("id")["total"].to_dict()


def test_a_director_who_joined_after_the_listing_is_not_tainted(register):
    assert totals(register, policy("as_of")) == pytest.approx({"C": 2.0, "D1": 1.0, "D2": 1.0, "D3": 0.0})
    assert totals(register, policy("at_penalty")) == pytest.approx({"C": 2.0, "D1": 1.0, "D2": 0.5, "D3": 0.5})


def test_hop_max_takes_the_strongest_penalty_over_its_own_links(register):
    """Hop max, one hop: each director is reached once, at 0.5, by any listing whose links hold him."""
    chosen = policy("at_penalty", model='"hop"', max_hops="1", aggregate='"max"')
    assert totals(register, chosen) == pytest.approx({"C": 2.0, "D1": 0.5, "D2": 0.5, "D3": 0.5})
    lifted = gs.validate(gs.Tables(register.entities, register.links, register.penalties.iloc[:1]))
    assert totals(lifted, chosen) == pytest.approx({"C": 1.0, "D1": 0.5, "D2": 0.0, "D3": 0.5})


def test_combine_max_sends_only_the_heaviest_penalty(register):
    """Under combine = "max" Co's own weight is one listing: the heavier P2 (severity 2 here),
    which only Dan and Dora were in office for."""
    heavier = register.penalties.assign(severity=[1.0, 2.0])
    tables = gs.validate(gs.Tables(register.entities, register.links, heavier))
    chosen = policy("at_penalty", combine='"max"')
    assert totals(tables, chosen) == pytest.approx({"C": 2.0, "D1": 1.0, "D2": 1.0, "D3": 0.0})


def test_explain_names_each_penalty_with_the_links_it_travelled(register):
    why = explain(register, policy("at_penalty"), "D3", as_of=AS_OF)
    (only,) = why.contributions
    assert (only["penalty"], only["contribution"], only["links_at"]) == ("P1", pytest.approx(0.5), "2020-01-01")
    assert only["paths"][0]["text"] == "Co <-[OFFICER_OF director]- Dirk"
    dan = explain(register, policy("at_penalty"), "D1", as_of=AS_OF)
    assert sorted((c["penalty"], c["links_at"]) for c in dan.contributions) == [("P1", "2020-01-01"),
                                                                               ("P2", "2021-07-01")]
    assert sum(c["contribution"] for c in dan.contributions) == pytest.approx(dan.total)


def test_whatif_and_spillover_follow_each_penalty_over_its_own_links(register):
    chosen = policy("at_penalty")
    lifted = whatif(register, chosen, lift="P2", as_of=AS_OF).set_index("id")
    assert lifted["delta"].to_dict() == pytest.approx({"C": -1.0, "D1": -0.5, "D2": -0.5, "D3": 0.0})
    added = whatif(register, chosen, penalize="C", severity=1.0, as_of=AS_OF).set_index("id")
    assert added["delta"].to_dict() == pytest.approx({"C": 1.0, "D1": 0.5, "D2": 0.5, "D3": 0.0})
    report = spillover(register, chosen, penalty="P1", as_of=AS_OF)
    assert report.affected.set_index("id")["change"].to_dict() == pytest.approx({"C": 1.0, "D1": 0.5, "D3": 0.5})
    # Dirk's office ended before as_of: his path is drawn over the links of P1's start
    assert report.affected.set_index("id").loc["D3", "path"] == "Co <-[OFFICER_OF director]- Dirk"


def test_layers_survive_the_disk_cache(register, tmp_path):
    chosen = policy("at_penalty")
    cache = DiskCache(tmp_path, "fingerprint")
    Workspace(register, cache=cache).projection(chosen, AS_OF)
    cached = cache.load_projection(chosen, pd.Timestamp(AS_OF), None, register)
    assert [layer.links_at for layer in cached.layers] == [pd.Timestamp("2020-01-01"), pd.Timestamp("2021-07-01")]
    # each layer finds its edges among the links of its own date, as when it was built
    built = gs.build_projection(register, chosen, AS_OF)
    for layer, fresh_layer in zip(cached.layers, built.layers):
        pd.testing.assert_frame_equal(layer.edges_touching(), fresh_layer.edges_touching())
    fresh = Workspace(register, cache=cache)
    assert fresh.baseline(chosen, AS_OF).total.tolist() == pytest.approx([2.0, 1.0, 0.5, 0.5])


def test_models_that_propagate_all_penalties_together_refuse_it():
    with pytest.raises(InvalidPolicy, match="link_time applies to model = 'hop' or 'spread' only, not 'cascade'"):
        gs.parse_policy('name="x"\nmodel="cascade"\nlink_time="at_penalty"\n'
                        '[[transmit]]\nlink="OWNS"\ndirection="both"')
    with pytest.raises(InvalidPolicy, match="link_time='then' is not one of as_of, at_penalty"):
        gs.parse_policy('name="x"\nlink_time="then"\n[[transmit]]\nlink="OWNS"\ndirection="both"')


def test_the_echo_is_kept_beside_the_projection(tmp_path):
    """The score table's echo costs a push from each penalised entity on a cycle: a workspace on a
    store computes it once and keeps it. Co (fine of 1) and Pat reach each other at weight 1,
    damping 0.5: Co's echo is 0.25 / (1 - 0.25) = 1/3, within ECHO_TOL."""
    from graphscore.toy import fined_company

    chosen = gs.parse_policy('name="r"\ndamping=0.5\n[[transmit]]\nlink="OFFICER_OF"\ndirection="both"')
    cache = DiskCache(tmp_path, "fingerprint")
    first = Workspace(fined_company(), cache=cache)
    first.projection(chosen, AS_OF)
    assert first.echo(chosen, AS_OF).tolist() == pytest.approx([1 / 3, 0.0], abs=ECHO_TOL)
    assert cache.load_echo(chosen, pd.Timestamp(AS_OF), None).tolist() == pytest.approx([1 / 3, 0.0], abs=ECHO_TOL)
