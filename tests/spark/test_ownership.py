"""Group stakes on Spark where the series of chains has no sum: two companies holding each other
with no recorded share (issue 9 part 4), capped at 100 % as the in-memory engine caps them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import graphscore as gs
from graphscore.spark import from_tables, score

pytestmark = pytest.mark.spark


def test_unknown_mutual_holdings_capped_as_in_memory(spark):
    """X (sanctioned) holds 40 % of C; C holds A, A holds B and B holds A, none with a recorded
    share; A holds 30 % of E beside F's 70 %. Read at their upper bounds (``missing_share =
    "high"``: 100 % less what other owners record, and nobody else records a stake in A or B),
    the three unknown stakes are 100 % each. The group's stake: C 0.4 (direct); A = min(1, C +
    B), B = min(1, A): from 0 the capped map climbs 0.4, 0.8, 1 and stays, where the uncapped
    series 0.4 + 0.4 + ... has no sum; E = 0.3 x A = 0.3; F, an owner, 0. At the integrated
    rule's 25 % all but F are flagged."""
    entities = pd.DataFrame({"id": list("XCABEF"), "kind": ["person"] + ["company"] * 5, "name": list("XCABEF")})
    links = pd.DataFrame({"source": list("XCABAF"), "target": list("CABAEE"), "type": "OWNS",
                          "share": [0.4, None, None, None, 0.3, 0.7]})
    penalties = pd.DataFrame({"id": ["s1"], "entity": ["X"], "kind": "sanction", "severity": 1.0,
                              "start": "2020-01-01"})
    tables = gs.validate(gs.Tables(entities, links, penalties))
    policy = gs.parse_policy('name="group"\nmodel="ownership-integrated"\nmissing_share="high"')
    result = score(policy, from_tables(spark, tables), as_of="2024-06-30")
    actual = result.to_pandas().set_index("id")
    np.testing.assert_allclose(actual.loc[list("XCABEF"), "stake"], [0, 0.4, 1, 1, 0.3, 0], rtol=0, atol=1e-12)
    assert actual.loc[list("XCABEF"), "total"].tolist() == [1, 1, 1, 1, 1, 0]
    expected = gs.score(tables, policy, as_of="2024-06-30").set_index("id").loc[actual.index]
    for column in ("own", "echo", "inherited", "total", "stake"):
        np.testing.assert_allclose(actual[column], expected[column], rtol=0, atol=1e-9, err_msg=column)
    assert result.figures == {"pruned": 0.0, "error_bound": None}  # no bound follows for a capped answer
