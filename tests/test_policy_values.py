"""Policy values that would run without bound, score NaN or crash the parser are refused at
load, each with one line naming the key (issue 13, part 5)."""

from __future__ import annotations

import json

import pytest

import graphscore as gs

RULE = '[[transmit]]\nlink = "OWNS"\ndirection = "forward"\n'


@pytest.mark.parametrize("text, message", [
    (RULE + "weight = nan", "transmit[0].weight=nan is not a finite number"),
    (RULE + "weight = inf", "transmit[0].weight=inf is not a finite number"),
    ("damping = nan\n" + RULE, "damping=nan is not a finite number"),
    ("half_life_days = nan\n" + RULE, "half_life_days=nan is not a finite number"),
    ("half_life_days = inf\n" + RULE, "half_life_days=inf is not a finite number"),
    ("threshold = -inf\n" + RULE, "threshold=-inf is not a finite number"),
    ('model = "cascade"\nconfidence = nan\n' + RULE, "confidence=nan is not a finite number"),
    ('model = "ownership-ofac"\nstake_threshold = nan', "stake_threshold=nan is not a finite number"),
    ('model = "hop"\nmax_hops = 100000000\n' + RULE,
     'max_hops=100,000,000 is more than 1,000: paths that long carry nothing measurable; '
     'use model = "spread" for the whole series'),
    ('model = "cascade"\nruns = 1000000000000\n' + RULE,
     "runs=1,000,000,000,000 is more than 1,000,000: more runs would take hours and narrow the 95 % "
     "interval below +-0.001"),
    ("transmit = [1, 2]", "transmit[0]=1 is not a table: write each rule as [[transmit]] followed by "
                          "link = ..., direction = ..., weight = ..."),
    ('transmit = "OWNS"', "transmit='OWNS' is not a list of tables: write each rule as [[transmit]] followed by "
                          "link = ..., direction = ..., weight = ..."),
    ('[transmit]\nlink = "OWNS"', "transmit={'link': 'OWNS'} is not a list of tables: write each rule as "
                                  "[[transmit]] followed by link = ..., direction = ..., weight = ..."),
    ('[[transmit]]\nlink = ["OWNS"]\ndirection = "forward"',
     "transmit[0].link=['OWNS'] is not a link type (OWNS, OFFICER_OF, CONTROLS, FAMILY, ASSOCIATE, AGENT_OF)"),
    ('[[transmit]]\nlink = "OWNS"\ndirection = ["forward"]',
     "transmit[0].direction=['forward'] is not one of forward, backward, both"),
    ('[[transmit]]\nlink = "OFFICER_OF"\nrole = 1\ndirection = "forward"', "transmit[0].role=1 is not a role name"),
])
def test_bad_policy_values_are_refused_with_one_line(text, message):
    with pytest.raises(gs.InvalidPolicy) as caught:
        gs.parse_policy('name = "x"\n' + text)
    assert str(caught.value) == f"<policy>: {message}"


def test_largest_accepted_values_make_a_json_manifest():
    policy = gs.parse_policy('name = "x"\nmodel = "hop"\nmax_hops = 1000\nhalf_life_days = 1e300\n' + RULE)
    assert json.loads(json.dumps(policy.to_dict(), allow_nan=False))["max_hops"] == 1000
