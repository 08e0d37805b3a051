"""The declared model and the validation of tables: every bad input names file, line and field."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

import graphscore as gs
from graphscore.io import read_tables
from graphscore.model import link_keys, load_model
from graphscore.store import statements
from tests.conftest import DATA

ENTITIES = "id,kind,name\nc1,company,Alpha Ltd\nc2,company,Beta Ltd\np1,person,Pat\n"
LINKS = "source,target,type,share,role,start,end\np1,c1,OWNS,0.6,,2020-01-01,\np1,c2,OFFICER_OF,,legal_representative,,\n"
PENALTIES = "id,entity,kind,severity,start,end\nf1,c1,fine,1.0,2021-01-01,\n"


def write_folder(tmp_path, entities=ENTITIES, links=LINKS, penalties=PENALTIES):
    tmp_path.mkdir(parents=True, exist_ok=True)
    for name, text in (("entities", entities), ("links", links), ("penalties", penalties)):
        if text is not None:
            (tmp_path / f"{name}.csv").write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return tmp_path


def test_model_file_loads_and_cypher_files_agree_with_it():
    model = load_model()
    assert set(model.links) == {"OWNS", "OFFICER_OF", "CONTROLS", "FAMILY", "ASSOCIATE", "AGENT_OF"}
    assert "legal_representative" in model.enums["officer_role"]
    for name, text in statements.render_files(model).items():
        assert (DATA.parent / "cypher" / name).read_text(encoding="utf-8") == text, (
            f"cypher/{name} is stale: run python -m graphscore.store.statements cypher")


def test_a_good_folder_validates(tmp_path):
    tables = gs.validate(read_tables(write_folder(tmp_path)))
    assert tables.counts() == {"entities": 3, "links": 2, "penalties": 1}
    assert tables.links["share"].dtype == "float64"
    assert str(tables.penalties["start"].iloc[0].date()) == "2021-01-01"


@pytest.mark.parametrize("entities, links, penalties, message", [
    (None, LINKS, PENALTIES, r"has no entities\.csv or entities\.parquet"),
    (ENTITIES, LINKS.replace("p1,c2,OFFICER_OF", "p9,c2,OFFICER_OF"), PENALTIES,
     r"^links\.csv:3: source='p9' is not a known entity id$"),
    (ENTITIES + "c1,company,Again Ltd\n", LINKS, PENALTIES, r"^entities\.csv:5: id='c1' is a duplicate id$"),
    (ENTITIES, LINKS.replace("0.6", "1.7"), PENALTIES, r"^links\.csv:2: share=1\.7 outside \[0, 1\] \(OWNS\)$"),
    (ENTITIES, LINKS.replace("0.6", "-0.1"), PENALTIES, r"^links\.csv:2: share=-0\.1 outside \[0, 1\]"),
    (ENTITIES, LINKS, PENALTIES.replace("2021-01-01", "2021-02-30"), r"^penalties\.csv:2: start='2021-02-30' is not a date"),
    (ENTITIES, LINKS, PENALTIES.replace("2021-01-01,", "2021-01-01,2020-01-01"), r"^penalties\.csv:2: end='2020-01-01' is before start"),
    (ENTITIES, LINKS, PENALTIES.replace("1.0", "nan"), r"^penalties\.csv:2: severity='nan' is not a number"),
    (ENTITIES, LINKS, PENALTIES.replace("1.0", "0"), r"^penalties\.csv:2: severity=0\.0 must be > 0"),
    ("", LINKS, PENALTIES, r"^entities\.csv: file: is empty$"),
    ("id,kind,name\n", LINKS, PENALTIES, r"^entities\.csv: id: no entity rows"),
    ("id,name\nc1,Alpha\n", None, None, r"^entities\.csv: kind: required column is missing"),
    (ENTITIES, LINKS.replace("type,", "kind_of_link,"), PENALTIES, r"^links\.csv: type: required column is missing"),
    (ENTITIES.replace("company,Beta", "firm,Beta"), LINKS, PENALTIES, r"^entities\.csv:3: kind='firm' is not one of"),
    (ENTITIES, LINKS.replace("OFFICER_OF,,legal_representative", "OFFICER_OF,,boss"), PENALTIES,
     r"^links\.csv:3: role='boss' is not one of .* \(OFFICER_OF\)"),
    (ENTITIES, LINKS.replace("p1,c1,OWNS", "c1,p1,OWNS"), PENALTIES,
     r"^links\.csv:2: target='p1' is a person, but OWNS targets must be company or organization"),
    (ENTITIES, LINKS + LINKS.splitlines()[1] + "\n", PENALTIES, r"^links\.csv:4: start='2020-01-01' repeats a link record"),
    (ENTITIES, LINKS.replace("p1,c1,OWNS", "c1,c1,OWNS"), PENALTIES, r"^links\.csv:2: target='c1' equals source"),
    (ENTITIES.encode("utf-8").replace(b"Pat", b"P\xe9t"), LINKS, PENALTIES,
     r"^entities\.csv: encoding: is not UTF-8 text \(byte 0xe9 at offset \d+\)$"),
    ("id,kind,name,colour\nc1,company,Alpha Ltd,red\n", None, None, r"^entities\.csv: colour: unknown column"),
    (ENTITIES + "c3,company,Gamma,extra\n", LINKS, PENALTIES, r"^entities\.csv:5: row: has 4 fields, the header has 3$"),
    ("id,kind,name,kind\nc1,company,A,company\n", None, None, r"^entities\.csv:1: kind: appears twice in the header$"),
    ("\n", None, None, r"^entities\.csv: header: is missing"),
    (ENTITIES, LINKS, PENALTIES.replace("2021-01-01", "2021-1-5"), r"^penalties\.csv:2: start='2021-1-5' is not a date"),
])
def test_bad_input_is_named_by_file_line_and_field(tmp_path, entities, links, penalties, message):
    with pytest.raises(gs.InvalidData, match=message):
        gs.validate(read_tables(write_folder(tmp_path, entities, links, penalties)))


def test_every_issue_is_collected_not_only_the_first(tmp_path):
    bad = LINKS.replace("0.6", "1.7").replace("p1,c2,OFFICER_OF", "p9,c2,OFFICER_OF")
    with pytest.raises(gs.InvalidData, match=r"\(and 1 more issue\)") as caught:
        gs.validate(read_tables(write_folder(tmp_path, links=bad)))
    assert [issue.where for issue in caught.value.issues] == ["links.csv:2", "links.csv:3"]


def test_stakes_over_100_percent_warn_but_load(tmp_path):
    links = LINKS + "c2,c1,OWNS,0.5,,2020-01-01,\n"
    with pytest.warns(gs.GraphscoreWarning, match=r"stakes in c1 sum to 110% at 2020-01-01"):
        gs.validate(read_tables(write_folder(tmp_path, links=links)))


def test_validation_is_idempotent(tmp_path):
    once = gs.validate(read_tables(write_folder(tmp_path)))
    twice = gs.validate(once)
    for name, df in once.items():
        pd.testing.assert_frame_equal(df, getattr(twice, name))
    assert once.fingerprint() == twice.fingerprint()


def test_parquet_reads_like_csv(tmp_path):
    csv = gs.validate(read_tables(write_folder(tmp_path / "csv")))
    folder = tmp_path / "parquet"
    gs.io.write_tables(csv, folder, format="parquet")
    parquet = gs.validate(read_tables(folder))
    assert parquet.fingerprint() == csv.fingerprint()


def test_line_numbers_survive_blank_lines_and_multiline_fields(tmp_path):
    entities = 'id,kind,name\n\nc1,company,"Alpha\nHoldings"\n\nc2,company,Beta\np1,person,Pat\n'
    links = "source,target,type,share\n\n\np1,c1,OWNS,1.5\n"
    with pytest.raises(gs.InvalidData, match=r"^links\.csv:4: share=1\.5"):
        gs.validate(read_tables(write_folder(tmp_path, entities=entities, links=links, penalties=None)))
    bad = entities.replace("c2,company,Beta", "c2,firm,Beta")
    with pytest.raises(gs.InvalidData, match=r"^entities\.csv:6: kind='firm'"):
        gs.validate(read_tables(write_folder(tmp_path, entities=bad, links=None, penalties=None)))


def test_dates_far_from_today_keep_their_value(tmp_path):
    penalties = "id,entity,kind,severity,start,end\nf1,c1,fine,1.0,0001-01-01,9999-12-31\n"
    tables = gs.validate(read_tables(write_folder(tmp_path, penalties=penalties)))
    assert [str(d.date()) for d in tables.penalties.loc[0, ["start", "end"]]] == ["0001-01-01", "9999-12-31"]


def test_line_numbers_follow_rows_through_a_filter(tmp_path):
    links = "source,target,type,share\n\np1,c1,OWNS,0.5\n\np1,c2,OWNS,1.5\n"
    raw = read_tables(write_folder(tmp_path, links=links, penalties=None))
    assert list(raw.links.attrs["lines"]) == [3, 5]
    copied = raw.links.copy(deep=True)
    assert copied.attrs["lines"] is raw.links.attrs["lines"]  # shared, not deep-copied
    raw.links = raw.links[raw.links["target"] == "c2"]
    with pytest.raises(gs.InvalidData, match=r"^links\.csv:5: share=1\.5 outside"):
        gs.validate(raw)


def test_a_frame_whose_index_was_reset_is_named_by_row_not_a_wrong_line(tmp_path):
    links = "source,target,type,share\n\np1,c1,OWNS,0.5\n\np1,c2,OWNS,1.5\n"
    raw = read_tables(write_folder(tmp_path, links=links, penalties=None))
    raw.links = raw.links[raw.links["target"] == "c2"].reset_index(drop=True)
    with pytest.raises(gs.InvalidData, match=r"^links\.csv\[0\]: share=1\.5 outside"):
        gs.validate(raw)


def test_link_keys_cannot_be_forged_by_a_separator_in_a_field():
    # Fields joined with "|" made these one key: role "sibling|2020-01-01" with no start, and
    # role "sibling" from 2020-01-01 with source_ref "|".
    links = pd.DataFrame({"type": ["FAMILY", "FAMILY"], "source": ["p1", "p1"], "target": ["p2", "p2"],
                          "role": ["sibling|2020-01-01", "sibling"],
                          "start": pd.to_datetime([None, "2020-01-01"]).astype("datetime64[s]"),
                          "source_ref": [None, "|"]})
    keys = link_keys(links)
    assert keys.tolist() == ["6:FAMILY2:p12:p218:sibling|2020-01-01--", "6:FAMILY2:p12:p27:sibling10:2020-01-011:|"]
    assert keys.is_unique


def test_link_keys_read_blank_text_as_missing_as_validation_does():
    links = pd.DataFrame({"type": ["OWNS"] * 2, "source": ["a"] * 2, "target": ["b"] * 2, "role": [None, ""],
                          "start": pd.to_datetime([None, None]), "source_ref": [None] * 2})
    assert link_keys(links).tolist() == ["4:OWNS1:a1:b---", "4:OWNS1:a1:b---"]


def test_links_differing_only_across_a_separator_are_two_records(tmp_path):
    entities = "id,kind,name\np1,person,Pat\np2,person,Sam\n"
    links = ("source,target,type,role,start,source_ref\n"
             "p1,p2,FAMILY,sibling|2020-01-01,,\np1,p2,FAMILY,sibling,2020-01-01,|\n")
    tables = gs.validate(read_tables(write_folder(tmp_path, entities=entities, links=links, penalties=None)))
    assert tables.counts()["links"] == 2


@pytest.mark.parametrize("dates", [
    ["2020-01-01", None, "9999-12-31"],  # text, as in a CSV file
    [dt.date(2020, 1, 1), None, dt.date(9999, 12, 31)],  # Python dates, as a store's Arrow result gives them
    pd.Series(pd.to_datetime(["2020-01-01", None, "9999-12-31"]).astype("datetime64[s]")),  # Parquet, Neo4j
    pd.Series(pa.array([dt.date(2020, 1, 1), None, dt.date(9999, 12, 31)]), dtype=pd.ArrowDtype(pa.date32())),
])
def test_dates_validate_alike_whatever_their_type(dates):
    entities = pd.DataFrame({"id": ["a", "b", "c", "d"], "kind": ["person"] * 4, "name": list("ABCD")})
    links = pd.DataFrame({"source": ["a", "a", "b"], "target": ["b", "c", "d"], "type": ["ASSOCIATE"] * 3,
                          "start": dates})
    tables = gs.validate(gs.Tables(entities, links))
    assert tables.links["start"].to_numpy().astype("datetime64[D]").astype(str).tolist() == ["2020-01-01", "NaT",
                                                                                               "9999-12-31"]
    assert link_keys(tables.links).tolist()[0] == "9:ASSOCIATE1:a1:b-10:2020-01-01-"
