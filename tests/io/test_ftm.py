"""Tests for graphscore.io.ftm: the OpenSanctions Zala Aero sample end to end, then each mapping
rule and each refusal on small hand-written files."""

import json
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from graphscore.timeline import active_links
from graphscore.errors import InvalidData, InvalidModel
from graphscore.io.ftm import MAPPING_FILE, _load_mapping, count_schemata, read_ftm
from graphscore.model import GraphscoreWarning, load_model, validate

ZALA = Path(__file__).parents[2] / "data" / "zala" / "entities.ftm.json"
ZAKHAROV = "NK-aU5ybkbRFJucf8YMwsJvDw"
LLC_CST = "NK-abdzbEBkqyT29GyREbiURZ"


@pytest.fixture(scope="module")
def zala_raw() -> list[dict]:
    return [json.loads(line) for line in ZALA.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def zala():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every record of the sample maps: nothing to warn about
        return read_ftm(ZALA)


@pytest.fixture(scope="module")
def zala_valid(zala):
    # Zakharov 50 % + Kalashnikov 49 % + TransKomplektHolding 2 % of LLC CST from 2019-05-24:
    # the EGRUL records overlap, and validate() says so without refusing them.
    with pytest.warns(GraphscoreWarning, match=f"stakes in {LLC_CST} sum to 101% at 2019-05-24"):
        return validate(zala)


def write_ftm(folder: Path, records: list[dict], name: str = "test.ftm.json") -> Path:
    path = folder / name
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def person(entity_id: str, **properties) -> dict:
    return {"id": entity_id, "schema": "Person", "properties": {"name": [entity_id], **properties}}


def company(entity_id: str, **properties) -> dict:
    return {"id": entity_id, "schema": "Company", "properties": {"name": [entity_id], **properties}}


def ownership(owner: str = "p", asset: str = "c", **properties) -> dict:
    return {"id": f"own-{owner}-{asset}", "schema": "Ownership",
            "properties": {"owner": [owner], "asset": [asset], **properties}}


# ---- the OpenSanctions Zala Aero sample (data/zala/SOURCE.md) --------------------------------

def test_zala_entities_by_kind(zala):
    assert Counter(zala.entities["kind"]) == {"company": 11, "person": 6}


def test_zala_links_by_type(zala):
    assert Counter(zala.links["type"]) == {"OWNS": 14, "OFFICER_OF": 3, "FAMILY": 4}


def test_zala_penalties_are_sanctions_plus_topics(zala, zala_raw):
    # Independently of the reader: one penalty per Sanction record, plus one per entity topic
    # "sanction" without a Sanction record, plus one per topic "debarment" (the file holds no
    # debarment records: OpenSanctions files them all under the Sanction schema).
    sanctioned = {e for r in zala_raw if r["schema"] == "Sanction" for e in r["properties"]["entity"]}
    entities = [r for r in zala_raw if r["schema"] in ("Person", "Company")]
    topics = [(r["id"], set(r["properties"].get("topics", []))) for r in entities]
    expected = (sum(r["schema"] == "Sanction" for r in zala_raw)
                + sum("sanction" in t and i not in sanctioned for i, t in topics)
                + sum("debarment" in t for _, t in topics))
    assert len(zala.penalties) == expected
    # The one BIS Entity List record is an export control and the Insolvency Service's two are
    # director disqualifications, not sanctions.
    def by(authority):
        return sum(authority in " ".join(r["properties"].get("authority", []))
                   for r in zala_raw if r["schema"] == "Sanction")
    bis, insolvency = by("Bureau of Industry and Security"), by("The Insolvency Service")
    assert (bis, insolvency) == (1, 2)
    assert Counter(zala.penalties["kind"]) == {
        "sanction": expected - sum("debarment" in t for _, t in topics) - bis - insolvency,
        "debarment": sum("debarment" in t for _, t in topics), "export_control": bis,
        "disqualification": insolvency}


def test_zala_regimes_from_authority_program_and_country(zala):
    """Counted by hand from the sample's 40 Sanction records (authority, program, country):
    OFAC 5 + 3, the EU: the Council 1, DG FISMA 2 and the French Treasury's 3 listings under
    EU Regulation 269/2014; the UK: the FCDO's 2 (the Insolvency Service's 2 disqualifications
    are a register of their own); the rest by country."""
    regimes = Counter(zala.penalties["regime"].dropna())
    assert regimes["us-ofac"] == 8 and regimes["us-bis"] == 1
    assert regimes["eu"] == 6 and regimes["uk"] == 2 and regimes["uk-insolvency"] == 2
    assert regimes["ch"] == 4 and regimes["ua"] == 5 and regimes["jp"] == 2
    assert zala.penalties.loc[zala.penalties["regime"] == "us-bis", "kind"].tolist() == ["export_control"]
    assert zala.penalties.loc[zala.penalties["id"].str.startswith("topic:"), "regime"].isna().all()


@pytest.mark.parametrize("authority, program, country, kind, regime", [
    ("Office of Foreign Assets Control", "RUSSIA-EO14024", "us", "sanction", "us-ofac"),
    ("Entity List (EL) - Bureau of Industry and Security", "", "us", "export_control", "us-bis"),
    ("General Services Administration", "SAM exclusions", "us", "exclusion", "us-gsa"),
    ("Council of the European Union", "", "eu", "sanction", "eu"),
    ("Foreign, Commonwealth & Development Office", "The Russia (Sanctions) (EU Exit) Regulations 2019", "gb",
     "sanction", "uk"),
    ("United Nations Security Council", "", "", "sanction", "un"),
    ("Ministry of Foreign Affairs and Trade", "", "nz", "sanction", "nz"),
    ("Somebody", "", "", "sanction", None),
])
def test_penalty_kind_and_regime(tmp_path, authority, program, country, kind, regime):
    properties = {"entity": ["c"], "authority": [authority]}
    if program:
        properties["program"] = [program]
    if country:
        properties["country"] = [country]
    record = {"id": "s1", "schema": "Sanction", "first_seen": "2024-02-01T00:00:00", "properties": properties}
    penalties = read_ftm(write_ftm(tmp_path, [company("c"), record])).penalties
    assert penalties[["kind", "regime"]].values.tolist() == [[kind, regime]]


def test_zala_validates(zala_valid):
    assert zala_valid.counts() == {"entities": 17, "links": 21, "penalties": 61}


def test_zala_columns_are_the_model_columns(zala):
    model = load_model()
    for name, df in zala.items():
        assert tuple(df.columns) == model.tables[name].column_names
        assert df.attrs["origin"] == "entities.ftm.json"
        assert len(df.attrs["lines"]) == len(df)


def test_zala_dates_are_iso_strings_or_none(zala):
    for df in (zala.links, zala.penalties):
        for value in pd.concat([df["start"], df["end"]]):
            assert value is None or (isinstance(value, str) and len(value) == 10 and value[4] == "-")


def test_zala_lines_name_the_source_record(zala, zala_raw):
    for name, df in zala.items():
        for line, ref in zip(df.attrs["lines"], df["source_ref"]):
            record_id = ref.removeprefix("ftm:").split(" ")[0]
            assert zala_raw[line - 1]["id"] == record_id, (name, line, ref)


@pytest.mark.parametrize(("as_of", "share"),
                         [("2020-01-01", 0.50), ("2023-06-01", 0.48), ("2024-06-01", 0.51)])
def test_zala_zakharov_stake_in_cst_over_time(zala_valid, as_of, share):
    # EGRUL keeps three records from 2015-11-25: 50 % to 2023-03-02, 48 % to 2023-12-21, 51 % open.
    links = active_links(zala_valid.links, pd.Timestamp(as_of))
    stake = links[(links["source"] == ZAKHAROV) & (links["target"] == LLC_CST) & (links["type"] == "OWNS")]
    assert stake["share"].tolist() == pytest.approx([share])


def test_zala_keeps_each_record_of_one_stake(zala):
    owns = zala.links[(zala.links["source"] == ZAKHAROV) & (zala.links["target"] == LLC_CST)
                      & (zala.links["type"] == "OWNS")]
    assert sorted(owns["share"]) == pytest.approx([0.48, 0.50, 0.51])


@pytest.mark.parametrize(("text", "role"), [
    ("ГЕНЕРАЛЬНЫЙ ДИРЕКТОР", "legal_representative"),
    ("Исполнительный директор", "executive"),
    ("Leader or official of", "executive"),
])
def test_zala_directorship_roles(zala, text, role):
    officers = zala.links[zala.links["source_ref"].str.endswith(f"({text})")]
    assert officers["role"].tolist() == [role]
    assert officers["type"].tolist() == ["OFFICER_OF"]


def test_zala_entity_columns(zala):
    cst = zala.entities.set_index("id").loc[LLC_CST]
    assert (cst["name"], cst["jurisdiction"], cst["source_ref"]) == ("LLC CST", "ru", f"ftm:{LLC_CST}")
    assert cst["registration_id"] == "1091841000624"  # first registrationNumber as exported
    assert cst["address"] == "118 40 Let Pobedy Street, Izhevsk, 426072"  # first address as exported


def test_representation_is_an_agent_link(tmp_path):
    lines = [{"id": "c", "schema": "Company", "properties": {"name": ["Acme"]}},
             {"id": "k", "schema": "Company", "properties": {"name": ["Trident Trust"]}},
             {"id": "r", "schema": "Representation",
              "properties": {"agent": ["k"], "client": ["c"], "role": ["registered agent"], "startDate": ["2015"]}}]
    path = tmp_path / "agent.ftm.json"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    links = read_ftm(path).links
    assert links[["source", "target", "type", "role", "start", "source_ref"]].values.tolist() == [
        ["k", "c", "AGENT_OF", "registered agent", "2015-01-01", "ftm:r"]]


def test_address_from_a_referenced_address_entity(tmp_path):
    lines = [{"id": "c", "schema": "Company", "properties": {"name": ["Acme"], "addressEntity": ["a0", "a1"]}},
             {"id": "d", "schema": "Company", "properties": {"name": ["Beta"], "address": ["9 Side St"],
                                                             "addressEntity": ["a1"]}},
             {"id": "a0", "schema": "Address", "properties": {"city": ["Springfield"]}},  # no text: the next
             {"id": "a1", "schema": "Address", "properties": {"full": ["1 Main St, Springfield", "1 Main Street"]}}]
    path = tmp_path / "addresses.ftm.json"
    path.write_text("\n".join(json.dumps(line) for line in lines), encoding="utf-8")
    addresses = read_ftm(path).entities.set_index("id")["address"]
    # the entity's own address text first; else the first referenced Address that has a full text
    assert addresses.to_dict() == {"c": "1 Main St, Springfield", "d": "9 Side St"}


def test_zala_sanction_dates_fall_back(zala):
    penalties = zala.penalties.set_index("id")
    # startDate when stated; the earliest of several.
    assert penalties.loc["ch-seco-c14ce2961b2453e0bf9d925ecb9e05883596cb9c", "start"] == "2023-12-21"
    # No startDate: listingDate (the earliest of 2025-03-15 and 2023-12-18).
    assert penalties.loc["be-fod-6b5e9e949f3a7b1e9f5e62ecec79478ca6a28a0b", "start"] == "2023-12-18"
    # Neither: the record's first_seen, 2023-11-02T16:38:16.
    assert penalties.loc["ofac-780cd5691cab9c1219d921e42857cc300fef150e", "start"] == "2023-11-02"
    assert penalties.loc["ua-nsdc-6c8c31da8d3db74b085a9217f3322ba118141a63", "end"] == "2024-10-30"


def test_zala_count_schemata(zala_raw):
    counts = count_schemata(ZALA)
    assert counts["Address", "skipped: schema not mapped"] == 11
    assert counts["Passport", "skipped: schema not mapped"] == 1
    assert counts["Sanction", "penalty"] == 41
    per_record = Counter()
    for (schema, outcome), n in counts.items():
        if outcome != "topic penalty":
            per_record[schema] += n
    assert per_record == Counter(r["schema"] for r in zala_raw)


# ---- mapping rules, on small files ------------------------------------------------------------

@pytest.mark.parametrize(("percentage", "expected"), [
    (["51"], (0.51, None, None)),
    (["51%"], (0.51, None, None)),
    (["33,5"], (0.335, None, None)),
    (["25-50%"], (None, 0.25, 0.5)),
    (["25 - 50"], (None, 0.25, 0.5)),
    (["<25%"], (None, None, 0.25)),
    ([">50%"], (None, 0.5, None)),
    (["50", "51"], (None, 0.5, 0.51)),  # two sources disagree: the range they span
    ([], (None, None, None)),
])
def test_percentage(tmp_path, percentage, expected):
    path = write_ftm(tmp_path, [person("p"), company("c"), ownership(percentage=percentage)])
    links = read_ftm(path).links
    assert tuple(links.loc[0, ["share", "share_low", "share_high"]]) == pytest.approx(expected)


def test_unreadable_percentage_keeps_the_link_and_warns(tmp_path):
    path = write_ftm(tmp_path, [person("p"), company("c"), ownership(percentage=["about half"])])
    with pytest.warns(GraphscoreWarning, match=r"test.ftm.json:3 percentage='about half'"):
        links = read_ftm(path).links
    assert links[["source", "target", "share", "share_low", "share_high"]].values.tolist() == [
        ["p", "c", None, None, None]]


def test_ownership_role_is_kept_as_written(tmp_path):
    path = write_ftm(tmp_path, [company("p"), company("c"), ownership(role=["subsidiary of"])])
    assert read_ftm(path).links["role"].tolist() == ["subsidiary of"]


def test_partial_dates_take_the_first_day(tmp_path):
    path = write_ftm(tmp_path, [person("p"), company("c"),
                                ownership(startDate=["2019"], endDate=["2020-05"])])
    tables = read_ftm(path)
    assert tables.links.loc[0, ["start", "end"]].tolist() == ["2019-01-01", "2020-05-01"]
    validate(tables)


def test_a_date_that_is_no_date_reaches_validate(tmp_path):
    path = write_ftm(tmp_path, [person("p"), company("c"), ownership(startDate=["31/12/2020"])])
    with pytest.raises(InvalidData, match=r"test.ftm.json:3: start='31/12/2020' is not a date"):
        validate(read_ftm(path))


@pytest.mark.parametrize(("text", "role"), [
    ("ГЕНЕРАЛЬНЫЙ ДИРЕКТОР", "legal_representative"),
    ("General Director", "legal_representative"),
    ("CEO", "legal_representative"),
    ("法定代表人", "legal_representative"),
    ("Deputy General Director", "executive"),
    ("Исполнительный директор", "executive"),
    ("Executive Director", "executive"),
    ("Director", "director"),
    ("Non-Executive Director", "director"),
    ("Member of the Board", "director"),
    ("Member of the Supervisory Board", "supervisor"),
    ("Ревизор", "supervisor"),
    ("Beneficial owner", "actual_controller"),
    ("实际控制人", "actual_controller"),
    ("Secretary", "other"),
])
def test_officer_roles(tmp_path, text, role):
    directorship = {"id": "d", "schema": "Directorship",
                    "properties": {"director": ["p"], "organization": ["c"], "role": [text]}}
    links = read_ftm(write_ftm(tmp_path, [person("p"), company("c"), directorship])).links
    assert links[["type", "role", "source_ref"]].values.tolist() == [["OFFICER_OF", role, f"ftm:d ({text})"]]


@pytest.mark.parametrize(("schema", "kind"), [
    ("Person", "person"), ("Company", "company"), ("Organization", "organization"),
    ("PublicBody", "organization"), ("LegalEntity", "organization"),
])
def test_entity_kinds_follow_schema_inheritance(tmp_path, schema, kind):
    path = write_ftm(tmp_path, [{"id": "e", "schema": schema, "properties": {"name": ["E"]}}])
    assert read_ftm(path).entities["kind"].tolist() == [kind]


def test_family_and_associate(tmp_path):
    records = [person("a"), person("b"),
               {"id": "f", "schema": "Family",
                "properties": {"person": ["a"], "relative": ["b"], "relationship": ["sister"]}},
               {"id": "s", "schema": "Associate",
                "properties": {"person": ["b"], "associate": ["a"], "relationship": ["partner"]}}]
    links = validate(read_ftm(write_ftm(tmp_path, records))).links
    assert links[["source", "target", "type", "role"]].values.tolist() == [
        ["a", "b", "FAMILY", "sister"], ["b", "a", "ASSOCIATE", "partner"]]


def test_links_the_model_cannot_hold_are_skipped_counted_and_named(tmp_path):
    records = [person("p"), company("c"),
               {"id": "f", "schema": "Family", "properties": {"person": ["p"], "relative": ["c"]}},
               ownership("p", "elsewhere"),
               ownership("c", "c"),
               {"id": "s", "schema": "Sanction", "properties": {"entity": ["nobody"]}}]
    path = write_ftm(tmp_path, records)
    expected = r"skipped 4 FtM records.*test.ftm.json:3 Family relative 'c' is a company, but FAMILY targets"
    with pytest.warns(GraphscoreWarning, match=expected):
        tables = read_ftm(path)
    assert tables.counts() == {"entities": 2, "links": 0, "penalties": 0}
    counts = count_schemata(path)
    assert counts["Family", "skipped: end kind not allowed"] == 1
    assert counts["Ownership", "skipped: end not among the entities"] == 1
    assert counts["Ownership", "skipped: self-link"] == 1
    assert counts["Sanction", "skipped: end not among the entities"] == 1


def test_sanction_record_penalty(tmp_path):
    sanction = {"id": "s1", "schema": "Sanction", "first_seen": "2024-02-01T00:00:00",
                "properties": {"entity": ["c"], "program": ["EO 14024"], "endDate": ["2025", "2026-06-30"]}}
    tables = read_ftm(write_ftm(tmp_path, [company("c"), sanction]))
    assert tables.penalties.values.tolist() == [
        ["s1", "c", "sanction", 1.0, "2024-02-01", "2026-06-30", None, "EO 14024", None, "ftm:s1"]]
    assert tables.penalties.attrs["lines"] == [2]


def test_topic_penalties_only_without_a_record_of_their_kind(tmp_path):
    records = [
        {**company("listed", topics=["sanction", "debarment"]), "first_seen": "2023-04-20T10:50:14"},
        {**company("topic-only", topics=["sanction", "sanction.linked"]), "first_seen": "2024-01-05"},
        {"id": "s1", "schema": "Sanction", "properties": {"entity": ["listed"], "startDate": ["2022-03-01"]}},
    ]
    penalties = validate(read_ftm(write_ftm(tmp_path, records))).penalties
    assert sorted(penalties["id"]) == ["s1", "topic:debarment:listed", "topic:sanction:topic-only"]
    seeded = penalties.set_index("id").loc["topic:sanction:topic-only"]
    assert seeded[["kind", "severity", "start", "authority", "source_ref"]].tolist() == [
        "sanction", 1.0, pd.Timestamp("2024-01-05"), "OpenSanctions topic", "ftm:topic-only topics"]
    assert penalties.set_index("id").loc["topic:debarment:listed", "severity"] == 0.5


# ---- refusals ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("declared", "typo", "message"), [
    ('schema = "Ownership"', 'schema = "Ownershp"', "'Ownershp' is not a FollowTheMoney schema"),
    ('target = "relative"', 'target = "relatve"', r"FtM schema Family has no properties \['relatve'\]"),
    ('kind = "company"', 'kind = "compnay"', "'compnay' is not an entity kind"),
    ('type = "OWNS"', 'type = "OWN"', "'OWN' is not a link type"),
    ('role = "supervisor"', 'role = "supervisory"', "'supervisory' is not an officer role"),
    ('kind = "debarment"', 'kind = "debarred"', r"'debarred' is not a kind in \[penalty_severity\]"),
])
def test_mapping_typos_fail_on_load(tmp_path, declared, typo, message):
    text = MAPPING_FILE.read_text(encoding="utf-8")
    assert declared in text
    path = tmp_path / "ftm.toml"
    path.write_text(text.replace(declared, typo, 1), encoding="utf-8")
    with pytest.raises(InvalidModel, match=message):
        _load_mapping(path)


def test_line_that_is_not_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(person("p")) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(InvalidData, match=r"bad.json:2: json='\{not json' is not a JSON object"):
        read_ftm(path)


def test_every_bad_line_is_reported(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[1]\n"text"\n{"id": "x", "schema": "Nope"}\n{"schema": "Person"}\n', encoding="utf-8")
    with pytest.raises(InvalidData) as caught:
        read_ftm(path)
    assert [(i.where, i.field) for i in caught.value.issues] == [
        ("bad.json:1", "json"), ("bad.json:2", "json"), ("bad.json:3", "schema"), ("bad.json:4", "id")]


@pytest.mark.parametrize("content", ["", "\n\n"])
def test_empty_file(tmp_path, content):
    path = tmp_path / "empty.ftm.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidData, match=r"^empty.ftm.json: .*holds no FtM entities \(empty file\)"):
        read_ftm(path)


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.ftm.json"
    first = (json.dumps(person("p")) + "\n").encode("utf-8")
    second = '{"id": "c", "schema": "Company", "properties": {"name": ["Café"]}}\n'
    path.write_bytes(first + second.encode("latin-1"))
    offset = len(first) + second.index("é")
    expected = rf"latin1.ftm.json:2: encoding=b'\\xe9' is not UTF-8 \(byte offset {offset}\)"
    with pytest.raises(InvalidData, match=expected):
        read_ftm(path)


def test_a_property_given_as_a_bare_string_is_refused(tmp_path):
    path = tmp_path / "bare.json"
    path.write_text('{"id": "a", "schema": "Company", "properties": {"name": "Alpha Inc"}}\n')
    with pytest.raises(InvalidData, match=r"bare\.json:1: properties=.* must map property names to lists"):
        read_ftm(path)
