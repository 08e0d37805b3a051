"""Tests for graphscore.io.ftm_out: OpenSanctions FtM in -> graphscore -> FtM out keeps ids,
properties and dates (checked against the raw input records), the output is valid FtM (checked
with the followthemoney library and its `ftm validate` command), and reads back as the same tables."""

import hashlib
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from followthemoney import model as ftm_model
from followthemoney.cli.cli import cli as ftm_cli

from graphscore.io.ftm import _date, count_schemata, read_ftm
from graphscore.io.ftm_out import ftm_entities, write_ftm
from graphscore.model import GraphscoreWarning, Tables, validate
from graphscore.synthetic import generate_network

ZALA = Path(__file__).parents[2] / "data" / "zala" / "entities.ftm.json"


def quiet_validate(tables: Tables) -> Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the sample's overlapping stakes: tested in test_ftm.py
        return validate(tables)


@pytest.fixture(scope="module")
def zala_in() -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, ZALA.read_text(encoding="utf-8").splitlines())}


@pytest.fixture(scope="module")
def zala() -> Tables:
    return quiet_validate(read_ftm(ZALA))


@pytest.fixture(scope="module")
def zala_out(zala, tmp_path_factory) -> Path:
    return write_ftm(zala, tmp_path_factory.mktemp("ftm") / "zala.out.ftm.json")


@pytest.fixture(scope="module")
def out_records(zala_out) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, zala_out.read_text(encoding="utf-8").splitlines())}


def assert_same(original: Tables, back: Tables, skip=()) -> None:
    for name, frame in original.items():
        key = ["id"] if "id" in frame.columns else ["source", "target", "type", "start", "role"]
        columns = [c for c in frame.columns if c not in skip]
        expected = frame[columns].sort_values(key, na_position="first").reset_index(drop=True)
        got = getattr(back, name)[columns].sort_values(key, na_position="first").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, obj=name)


# ---- FtM in -> graphscore -> FtM out, against the raw input ----------------------------------

def test_tables_come_back_exactly(zala, zala_out):
    assert_same(zala, quiet_validate(read_ftm(zala_out)))


def test_entity_ids_schemata_and_properties(zala_in, out_records):
    entities = [r for r in zala_in.values() if r["schema"] in ("Person", "Company")]
    assert len(entities) == 17
    for record in entities:
        out = out_records[record["id"]]
        props, got = record["properties"], out["properties"]
        assert out["schema"] == record["schema"]
        assert got["name"] == [record["caption"]] and record["caption"] in props["name"]
        if "jurisdiction" in got:
            assert got["jurisdiction"][0] in props.get("jurisdiction", []) + props.get("country", [])
        if "registrationNumber" in got:
            numbers = props.get("registrationNumber", []) + props.get("innCode", []) + props.get("ogrnCode", [])
            assert got["registrationNumber"][0] in numbers
        assert set(got.get("topics", [])) <= set(props.get("topics", [])) & {"sanction", "debarment"}


def test_link_ids_ends_shares_roles_and_dates(zala_in, out_records):
    ends = {"Ownership": ("owner", "asset", "role"), "Directorship": ("director", "organization", "role"),
            "Family": ("person", "relative", "relationship")}
    links = [r for r in zala_in.values() if r["schema"] in ends]
    assert len(links) == 21
    for record in links:
        out = out_records[record["id"]]
        props, got = record["properties"], out["properties"]
        source, target, role = ends[record["schema"]]
        assert (out["schema"], got[source], got[target]) == (record["schema"], props[source], props[target])
        assert got.get(role) == props.get(role)  # the register's own words, e.g. "ГЕНЕРАЛЬНЫЙ ДИРЕКТОР"
        for date, pick in (("startDate", min), ("endDate", max)):
            assert got.get(date, [None])[0] == _date(props.get(date, []), pick)
        if "percentage" in props:
            assert [float(p) for p in got["percentage"]] == [float(p) for p in props["percentage"]]


def test_a_hand_checked_stake(out_records):
    # Zakharov's 51 % of LLC CST from 2015-11-25 (EGRUL, data/zala/entities.ftm.json)
    assert out_records["ru-dfe0a021cb69f99e198bb8cbbcb93e81130b32a7"] == {
        "id": "ru-dfe0a021cb69f99e198bb8cbbcb93e81130b32a7", "schema": "Ownership",
        "properties": {"owner": ["NK-aU5ybkbRFJucf8YMwsJvDw"], "asset": ["NK-abdzbEBkqyT29GyREbiURZ"],
                       "startDate": ["2015-11-25"], "percentage": ["51"]}}


def test_sanction_ids_entities_authorities_and_dates(zala_in, out_records):
    sanctions = [r for r in zala_in.values() if r["schema"] == "Sanction"]
    assert len(sanctions) == 41
    for record in sanctions:
        out = out_records[record["id"]]
        props, got = record["properties"], out["properties"]
        assert (out["schema"], got["entity"]) == ("Sanction", props["entity"])
        assert got.get("authority", [None])[0] == (props.get("authority") or props.get("program") or [None])[0]
        start = _date(props.get("startDate") or props.get("listingDate") or [record["first_seen"]])
        assert got["startDate"] == [start]
        assert got.get("endDate", [None])[0] == _date(props.get("endDate", []), max)


def test_topics_come_back_as_topics(zala, out_records):
    seeded = zala.penalties[zala.penalties["id"].str.startswith("topic:")]
    for row in seeded.itertuples():
        topic = row.id.split(":")[1]
        out = out_records[row.entity]
        assert topic in out["properties"]["topics"]
        assert out["first_seen"] == row.start.strftime("%Y-%m-%d")


# ---- the output is valid FtM ------------------------------------------------------------------

def assert_valid_ftm(path: Path) -> None:
    """Each line is an FtM entity whose values FtM's own cleaning keeps as written, with its
    schema's required properties, and whose references name entities of the file."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    ids = {r["id"] for r in records}
    assert len(ids) == len(records), "ids repeat"
    for record in records:
        proxy = ftm_model.get_proxy(record, cleaned=False)  # cleans every value as it goes
        assert proxy.id == record["id"]
        assert proxy.to_dict()["properties"] == record["properties"], record["id"]
        assert all(proxy.has(prop) for prop in proxy.schema.required), record["id"]
        for prop, values in proxy.properties.items():
            if proxy.schema.properties[prop].type.name == "entity":
                assert set(values) <= ids, f"{record['id']}.{prop} names an entity not in the file"
    # FtM's own command cleans each entity as above and writes it back: nothing may change
    out = path.with_suffix(".validated.json")
    result = CliRunner().invoke(ftm_cli, ["validate", "-i", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    cleaned = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["schema"], r["properties"]) for r in cleaned] == [
        (r["id"], r["schema"], r["properties"]) for r in records]


def test_zala_output_is_valid_ftm(zala_out):
    assert_valid_ftm(zala_out)


# ---- tables not read from FtM ----------------------------------------------------------------

def test_synthetic_round_trip(tmp_path):
    tables = validate(generate_network(300, seed=4, as_of="2024-06-30", registered_agents=True))
    path = write_ftm(tables, tmp_path / "synthetic.ftm.json")
    assert_valid_ftm(path)
    back = validate(read_ftm(path))
    # officer roles come back from their words ("legal representative"); source_ref now names the FtM record
    assert_same(Tables(tables.entities, tables.links, tables.penalties.iloc[:0]),
                Tables(back.entities, back.links, back.penalties.iloc[:0]),
                skip=("source_ref", "value", "jurisdiction"))
    # FtM writes country codes in lower case
    assert (back.entities["jurisdiction"].tolist()
            == tables.entities["jurisdiction"].str.lower().tolist())
    # a penalty keeps its id, entity, dates and authority; its kind is in the Sanction's provisions
    penalties = back.penalties.set_index("id")
    records = {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}
    for row in tables.penalties.itertuples():
        assert (penalties.loc[row.id, "entity"], penalties.loc[row.id, "start"]) == (row.entity, row.start)
        assert records[row.id]["properties"]["provisions"] == [row.kind]


def test_controls_and_ids_ftm_cannot_hold(tmp_path):
    entities = pd.DataFrame({"id": ["ann lee", "acme"], "kind": ["person", "company"], "name": ["Ann", "Acme"]})
    links = pd.DataFrame({"source": ["ann lee"], "target": ["acme"], "type": ["CONTROLS"], "role": ["golden share"]})
    entities["jurisdiction"] = ["Atlantis", None]
    tables = validate(Tables(entities, links, pd.DataFrame()))
    records = ftm_entities(tables)
    hashed = "gs-" + hashlib.sha1(b"ann lee").hexdigest()
    assert [r["id"] for r in records[:2]] == [hashed, "acme"]
    assert records[2]["schema"] == "UnknownLink"
    assert records[2]["properties"] == {"subject": [hashed], "object": ["acme"], "role": ["controls: golden share"]}
    with pytest.warns(GraphscoreWarning, match=rf"controls.ftm.json: 1 values are not valid FtM and were "
                                               rf"left out: {hashed}.jurisdiction=\['Atlantis'\]"):
        path = write_ftm(tables, tmp_path / "controls.ftm.json")
    assert_valid_ftm(path)
    assert count_schemata(path)[("UnknownLink", "skipped: schema not mapped")] == 1


def test_penalty_id_equal_to_an_entity_id(tmp_path):
    # graphscore keeps penalty ids apart from entity ids; FtM has one space of ids
    entities = pd.DataFrame({"id": ["acme"], "kind": ["company"], "name": ["Acme"]})
    penalties = pd.DataFrame({"id": ["acme"], "entity": ["acme"], "kind": ["fine"], "severity": [2.0],
                              "start": ["2020-01-01"]})
    path = write_ftm(validate(Tables(entities, pd.DataFrame(), penalties)), tmp_path / "acme.ftm.json")
    assert_valid_ftm(path)
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(r["id"], r["schema"]) for r in records] == [
        ("acme", "Company"), ("gs-" + hashlib.sha1(b"Sanction:acme").hexdigest(), "Sanction")]
    assert records[1]["properties"] == {"entity": ["acme"], "startDate": ["2020-01-01"], "provisions": ["fine"]}
