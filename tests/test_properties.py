"""Property-based tests (hypothesis) over random registers (issue 13, part 12).

- readers: a valid register written as CSV and read back validates to the same tables;
- models: under every shipped policy, a random valid register scores without an unexpected
  error, every score finite and non-negative with total = own + inherited, all zero when
  nothing is penalised, and (spread, hop) no score falls when a penalty grows;
- validation and loading: a valid register with one random bad cell is refused, naming that
  cell, and a store it is loaded into is left exactly as it was.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphscore as gs
from graphscore.io import read_tables, write_tables
from graphscore.store.ladybug import LadybugStore
from tests.conftest import POLICIES

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ROLES = ["legal_representative", "director", "executive", "supervisor", "actual_controller", "other"]
DAYS = pd.date_range("2019-01-01", "2023-12-31", freq="MS").strftime("%Y-%m-%d").tolist()
AS_OF = "2024-06-30"
SHIPPED = {path.stem: gs.load_policy(path) for path in sorted(POLICIES.glob("*.toml"))}
NAME = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=12)


@st.composite
def registers(draw) -> gs.Tables:
    """A valid register: companies, people, their links of every type and dated penalties."""
    companies = [f"c{i}" for i in range(draw(st.integers(1, 7)))]
    people = [f"p{i}" for i in range(draw(st.integers(1, 5)))]
    names = draw(st.lists(NAME.filter(lambda s: s.strip() == s and not s.startswith(("=", "+", "-", "@"))),
                          min_size=len(companies) + len(people), max_size=len(companies) + len(people)))
    entities = pd.DataFrame({"id": companies + people, "kind": ["company"] * len(companies) + ["person"] * len(people),
                             "name": names})
    links, seen = [], set()
    for _ in range(draw(st.integers(0, 14))):
        kind = draw(st.sampled_from(["OWNS", "OFFICER_OF", "FAMILY", "ASSOCIATE"]))
        if kind == "FAMILY":
            source, target = draw(st.sampled_from(people)), draw(st.sampled_from(people))
        elif kind == "ASSOCIATE":
            source, target = draw(st.sampled_from(companies + people)), draw(st.sampled_from(companies + people))
        else:
            source = draw(st.sampled_from(companies + people) if kind == "OWNS" else st.sampled_from(people))
            target = draw(st.sampled_from(companies))
        start = draw(st.sampled_from(DAYS))
        if source == target or (kind, source, target, start) in seen:
            continue
        seen.add((kind, source, target, start))
        links.append({"source": source, "target": target, "type": kind, "start": start,
                      "share": draw(st.floats(0.0, 0.5)) if kind == "OWNS" else None,
                      "role": draw(st.sampled_from(ROLES)) if kind == "OFFICER_OF" else
                      ("sibling" if kind == "FAMILY" else None)})
    penalties = [{"id": f"f{i}", "entity": draw(st.sampled_from(companies + people)),
                  "kind": draw(st.sampled_from(["sanction", "fine", "dishonest_debtor"])),
                  "severity": draw(st.floats(0.01, 10.0)), "start": draw(st.sampled_from(DAYS))}
                 for i in range(draw(st.integers(0, 5)))]
    columns = {"links": ["source", "target", "type", "start", "share", "role"],
               "penalties": ["id", "entity", "kind", "severity", "start"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        return gs.validate(gs.Tables(entities, pd.DataFrame(links, columns=columns["links"]),
                                     pd.DataFrame(penalties, columns=columns["penalties"])))


def scores_or_refusal(tables: gs.Tables, policy: gs.Policy) -> pd.DataFrame | None:
    """The scores, or None when the model refuses the register with a named error (e.g. a
    spread that would diverge): a refusal is an answer, a traceback is not."""
    try:
        return gs.score(tables, policy, as_of=AS_OF)
    except gs.GraphscoreError:
        return None


@SETTINGS
@given(registers())
def test_a_register_written_and_read_back_is_the_same(tmp_path_factory, tables):
    folder = tmp_path_factory.mktemp("roundtrip")
    write_tables(tables, folder)
    back = gs.validate(read_tables(folder))
    for name, frame in tables.items():
        pd.testing.assert_frame_equal(getattr(back, name).reset_index(drop=True), frame.reset_index(drop=True),
                                      check_dtype=False, obj=name)


@SETTINGS
@given(registers(), st.sampled_from(sorted(SHIPPED)))
def test_every_shipped_policy_scores_a_random_register_within_bounds(tables, policy_name):
    scores = scores_or_refusal(tables, SHIPPED[policy_name])
    if scores is None:
        return
    assert len(scores) == len(tables.entities)
    values = scores[["own", "inherited", "total"]].to_numpy(dtype=float)
    assert np.isfinite(values).all() and (values >= -1e-12).all()
    np.testing.assert_allclose(scores["total"], scores["own"] + scores["echo"] + scores["inherited"], atol=1e-9)


@SETTINGS
@given(registers(), st.sampled_from(sorted(SHIPPED)))
def test_nothing_penalised_scores_zero_everywhere(tables, policy_name):
    quiet = gs.Tables(tables.entities, tables.links, tables.penalties.iloc[0:0], validated=True)
    scores = scores_or_refusal(quiet, SHIPPED[policy_name])
    if scores is not None:
        assert (scores[["own", "inherited", "total"]].to_numpy(dtype=float) == 0).all()


@SETTINGS
@given(registers(), st.sampled_from(["joint-punishment", "diffusion", "joint-punishment-categorical"]),
       st.data())
def test_no_score_falls_when_a_penalty_grows(tables, policy_name, data):
    if tables.penalties.empty:
        return
    policy = SHIPPED[policy_name]
    before = scores_or_refusal(tables, policy)
    if before is None:
        return
    grown = tables.penalties.copy()
    row = data.draw(st.integers(0, len(grown) - 1))
    grown.loc[grown.index[row], "severity"] *= data.draw(st.floats(1.0, 5.0))
    after = gs.score(gs.Tables(tables.entities, tables.links, grown, validated=True), policy, as_of=AS_OF)
    assert (after["total"].to_numpy() >= before["total"].to_numpy() - 1e-9).all()


BAD_CELLS = {  # table, column, a value that breaks the model, the reason given
    "entities": [("kind", "planet", "is not one of company, person, organization"),
                 ("id", "", "is required but empty")],
    "links": [("share", 1.5, "outside [0, 1] (OWNS)"), ("target", "nobody", "is not a known entity id"),
              ("start", "2021-02-30", "is not a date (YYYY-MM-DD)"), ("type", "OWN", "is not a link type")],
    "penalties": [("severity", -1.0, "must be > 0"), ("entity", "nobody", "is not a known entity id"),
                  ("start", "0000-01-01", "is outside the dates a store holds")],
}


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("invalid") / "db"
    with LadybugStore(db) as store:
        store.load(gs.validate(gs.Tables(pd.DataFrame({"id": ["z"], "kind": ["company"], "name": ["Zeta"]}),
                                         pd.DataFrame(), pd.DataFrame())))
    return db


@SETTINGS
@given(registers(), st.data())
def test_one_bad_cell_is_refused_by_name_and_nothing_is_written(loaded_store, tables, data):
    table = data.draw(st.sampled_from([name for name in BAD_CELLS if len(getattr(tables, name))]))
    column, value, reason = data.draw(st.sampled_from(BAD_CELLS[table]))
    frame = getattr(tables, table).astype(object)
    if table == "links":
        frame = frame[frame["type"] == "OWNS"] if column == "share" else frame
        if frame.empty:
            return
    row = data.draw(st.integers(0, len(frame) - 1))
    frame.iloc[row, frame.columns.get_loc(column)] = value
    raw = {name: getattr(tables, name).astype(object) for name in ("entities", "links", "penalties")}
    raw[table] = frame if table != "links" else pd.concat([frame, raw["links"].drop(frame.index)])
    with LadybugStore(loaded_store) as store:
        before = store.read_tables().fingerprint(), store.data_fingerprint()
        with pytest.raises(gs.InvalidData) as refused:
            store.load(gs.Tables(**raw))
        assert (store.read_tables().fingerprint(), store.data_fingerprint()) == before
    assert any(issue.field == column and reason in issue.reason for issue in refused.value.issues), refused.value
