"""Tests for graphscore.io.bods: the bods-v04-fixtures package, a hand-written BODS 0.4 package
(checked against the BODS 0.4 JSON schema with libcovebods) with share ranges, updates, closed,
indirect and declared-unknown records, and each refusal."""

import copy
import warnings
import json
import tomllib
from pathlib import Path

import bods_fixtures
import libcovebods.config
import libcovebods.data_reader
import libcovebods.jsonschemavalidate
import libcovebods.schema
import pandas as pd
import pytest
from typer.testing import CliRunner

from graphscore.cli import app
from graphscore.errors import InvalidData
import graphscore.io.bods as bods
from graphscore.io import read_path, table_chunks
from graphscore.io.bods import MAPPING_FILE, is_bods, iter_bods, read_bods
from graphscore.model import ChunkPass, GraphscoreWarning, validate
from graphscore.synthetic_bods import bods_statements, write_bods
from graphscore.workspace import open_workspace

PUBLICATION = {"publicationDate": "2024-03-01", "bodsVersion": "0.4",
               "publisher": {"name": "graphscore tests"}}


def sid(name: str) -> str:
    """A statementId of the length BODS 0.4 requires (32 to 64 characters) that still reads as ``name``."""
    return name + "-" + "0" * (31 - len(name))


def statement(name: str, record_id: str, record_type: str, details: dict, *, date: str = "2024-03-01",
              status: str = "new") -> dict:
    return {"statementId": sid(name), "declarationSubject": "rec-acme", "statementDate": date,
            "publicationDetails": PUBLICATION, "recordId": record_id, "recordStatus": status,
            "recordType": record_type, "recordDetails": {"isComponent": False, **details}}


def entity(sid, record_id, name, entity_type="registeredEntity", **details):
    return statement(sid, record_id, "entity", {"entityType": {"type": entity_type}, "name": name, **details})


def person(sid, record_id, name=None, person_type="knownPerson", **details):
    names = {"names": [{"type": "legal", "fullName": name}]} if name else {}
    return statement(sid, record_id, "person", {"personType": person_type, **names, **details})


def relationship(sid, record_id, subject, party, interests, **kwargs):
    details = {"subject": subject, "interestedParty": party, "interests": interests}
    return statement(sid, record_id, "relationship", details, **kwargs)


def shareholding(share: dict, **interest):
    return {"type": "shareholding", "directOrIndirect": "direct", "share": share, **interest}


def package() -> list[dict]:
    """Acme Ltd (GB) and Holdco SA; Ann, Bo and a withheld person; each relationship hand-checked
    in the tests below."""
    return [
        entity("s-acme", "rec-acme", "Acme Ltd", identifiers=[{"scheme": "GB-COH", "id": "01234567"}],
               jurisdiction={"code": "GB", "name": "United Kingdom"}),
        entity("s-holdco", "rec-holdco", "Holdco SA", jurisdiction={"code": "PA", "name": "Panama"}),
        entity("s-trust", "rec-trust", "Family Trust", "arrangement"),
        person("s-ann", "rec-ann", "Ann Lee", nationalities=[{"code": "FR", "name": "France"}]),
        person("s-bo", "rec-bo", "Bo Chan"),
        person("s-anon", "rec-anon", person_type="anonymousPerson"),
        # a range, and an open upper bound
        relationship("s-r1", "rec-r1", "rec-acme", "rec-ann",
                     [shareholding({"minimum": 25, "maximum": 50}, startDate="2019-05-01")]),
        relationship("s-r2", "rec-r2", "rec-acme", "rec-holdco",
                     [shareholding({"exclusiveMinimum": 50, "exclusiveMaximum": 75}),
                      {"type": "votingRights", "directOrIndirect": "direct", "share": {"minimum": 25}}]),
        # a series: the update (a later statementDate) replaces the first statement's 10 %
        relationship("s-r3a", "rec-r3", "rec-holdco", "rec-bo", [shareholding({"exact": 10})],
                     date="2020-01-01"),
        relationship("s-r3b", "rec-r3", "rec-holdco", "rec-bo", [shareholding({"exact": 12.5},
                                                                               startDate="2021-07-01")],
                     date="2021-07-02", status="updated"),
        # closed: ends on its statement date
        relationship("s-r4", "rec-r4", "rec-acme", "rec-bo",
                     [{"type": "seniorManagingOfficial", "directOrIndirect": "direct", "startDate": "2018-01-01"}],
                     date="2023-06-30", status="closed"),
        # indirect, without its chain in the data
        relationship("s-r5", "rec-r5", "rec-acme", "rec-anon",
                     [shareholding({"exact": 30}, directOrIndirect="indirect")]),
        # a trust's settlor; no interests at all
        relationship("s-r6", "rec-r6", "rec-trust", "rec-ann",
                     [{"type": "settlor", "directOrIndirect": "direct"}]),
        relationship("s-r7", "rec-r7", "rec-holdco", "rec-trust", []),
        # a declared-unknown owner
        relationship("s-r8", "rec-r8", "rec-trust",
                     {"reason": "informationUnknownToPublisher", "description": "not known"}, []),
    ]


def write(folder: Path, statements: list, name: str = "package.json", lines: bool = False) -> Path:
    path = folder / name
    if lines:
        path.write_text("".join(json.dumps(s) + "\n" for s in statements), encoding="utf-8")
    else:
        path.write_text(json.dumps(statements, indent=2), encoding="utf-8")
    return path


def schema_errors(path: Path) -> list[dict]:
    """The BODS 0.4 JSON-schema errors libcovebods reports for a file (offline: the schema ships with it)."""
    reader = libcovebods.data_reader.DataReader(str(path))
    schema = libcovebods.schema.SchemaBODS(reader, libcovebods.config.LibCoveBODSConfig())
    assert schema.schema_version == "0.4"
    return [error.json() for error in libcovebods.jsonschemavalidate.JSONSchemaValidator(schema).validate(reader)]


@pytest.fixture
def package_path(tmp_path) -> Path:
    return write(tmp_path, package())


@pytest.fixture
def tables(package_path):
    with pytest.warns(GraphscoreWarning, match=r"1 relationship statements name no one to link to: package.json:\d+ "
                                               r"\(statement s-r8-0+\) interestedParty unspecified "
                                               r"\(informationUnknownToPublisher\)"):
        return read_bods(package_path)


def link(tables, source, target, link_type):
    links = tables.links
    found = links[(links["source"] == source) & (links["target"] == target) & (links["type"] == link_type)]
    assert len(found) == 1, found
    return found.iloc[0]


# ---- the hand-written package ---------------------------------------------------------------

def test_package_is_valid_bods_04(package_path):
    assert schema_errors(package_path) == []


def test_schema_check_can_fail(tmp_path):
    # the check above is no formality: libcovebods refuses a share above 100 %
    bad = package()
    bad[6]["recordDetails"]["interests"][0]["share"] = {"exact": 150}
    assert [e["validator"] for e in schema_errors(write(tmp_path, bad))] == ["maximum"]


def test_entities(tables):
    entities = tables.entities.set_index("id")
    assert entities.loc["rec-acme", ["kind", "name", "jurisdiction", "registration_id", "source_ref"]].tolist() == [
        "company", "Acme Ltd", "GB", "GB-COH-01234567", f"bods:{sid('s-acme')}"]
    assert entities.loc["rec-trust", "kind"] == "organization"
    assert entities.loc["rec-ann", ["kind", "name", "jurisdiction"]].tolist() == ["person", "Ann Lee", "FR"]
    assert entities.loc["rec-anon", "name"] == "anonymousPerson rec-anon"  # withheld, not invented
    assert len(entities) == 6


def test_share_range_kept_as_range(tables):
    row = link(tables, "rec-ann", "rec-acme", "OWNS")
    assert (row["share"], row["share_low"], row["share_high"], row["start"]) == (None, 0.25, 0.5, "2019-05-01")
    assert row["source_ref"] == f"bods:{sid('s-r1')}#interests/0"


def test_exclusive_bounds_and_voting_rights(tables):
    row = link(tables, "rec-holdco", "rec-acme", "OWNS")
    assert (row["share"], row["share_low"], row["share_high"]) == (None, 0.5, 0.75)
    control = link(tables, "rec-holdco", "rec-acme", "CONTROLS")
    assert (control["role"], control["share"]) == ("votingRights >=25%", None)


def test_a_series_holds_each_statement_for_its_part(tables):
    # 10 % stated on 2020-01-01, then 12.5 % from 2021-07-01 (stated the day after): each in its time
    links = tables.links
    rows = links[(links["source"] == "rec-bo") & (links["target"] == "rec-holdco")]
    assert rows[["share", "start", "end", "source_ref"]].values.tolist() == [
        [0.1, None, "2021-07-01", f"bods:{sid('s-r3a')}#interests/0"],
        [0.125, "2021-07-01", None, f"bods:{sid('s-r3b')}#interests/0"]]


def test_a_restated_stake_changes_on_its_statement_date(tmp_path):
    # a register that restates the first start date (as BODS' fermcat example does): 50 % from
    # 2019-09-11, restated as 100 % from 2019-09-11 on 2022-01-21; the change is dated by the statement
    statements = package()[:6] + [
        relationship("s-a", "rec-a", "rec-acme", "rec-ann", [shareholding({"exact": 50}, startDate="2019-09-11")],
                     date="2019-09-11"),
        relationship("s-b", "rec-a", "rec-acme", "rec-ann", [shareholding({"exact": 100}, startDate="2019-09-11")],
                     date="2022-01-21", status="updated"),
        relationship("s-c", "rec-a", "rec-acme", "rec-ann", [shareholding({"exact": 100}, startDate="2019-09-11",
                                                                          endDate="2023-05-01")],
                     date="2023-05-02", status="closed"),
    ]
    path = write(tmp_path, statements)
    assert schema_errors(path) == []
    links = validate(read_bods(path)).links
    assert [(r.share, str(r.start.date()), None if pd.isna(r.end) else str(r.end.date()))
            for r in links.itertuples()] == [(0.5, "2019-09-11", "2022-01-21"), (1.0, "2022-01-21", "2023-05-01")]


def test_closed_record_ends_on_its_statement_date(tables):
    row = link(tables, "rec-bo", "rec-acme", "OFFICER_OF")
    assert (row["role"], row["start"], row["end"]) == ("executive", "2018-01-01", "2023-06-30")


def test_indirect_interest_without_chain_is_control(tables):
    row = link(tables, "rec-anon", "rec-acme", "CONTROLS")
    assert (row["role"], row["share"]) == ("indirect shareholding 30%", None)


def test_settlor_and_relationship_without_interests(tables):
    assert link(tables, "rec-ann", "rec-trust", "CONTROLS")["role"] == "settlor"
    assert link(tables, "rec-trust", "rec-holdco", "CONTROLS")["role"] == "unknownInterest"
    assert len(tables.links) == 9


def test_result_validates(tables):
    checked = validate(tables)
    assert checked.counts() == {"entities": 6, "links": 9, "penalties": 0}
    owns = checked.links[checked.links["type"] == "OWNS"].set_index("source")
    assert owns.loc["rec-ann", "share_low"] == 0.25 and pd.isna(owns.loc["rec-ann", "share"])


def test_indirect_interest_with_components_adds_no_link(tmp_path):
    statements = package()[:6] + [
        relationship("s-c1", "rec-c1", "rec-holdco", "rec-bo", [shareholding({"exact": 60})]),
        relationship("s-c2", "rec-c2", "rec-acme", "rec-holdco", [shareholding({"exact": 80})]),
        relationship("s-p", "rec-p", "rec-acme", "rec-bo",
                     [shareholding({"exact": 48}, directOrIndirect="indirect")]),
    ]
    statements[-1]["recordDetails"]["componentRecords"] = ["rec-c1", "rec-c2"]
    path = write(tmp_path, statements)
    assert schema_errors(path) == []
    links = read_bods(path).links
    assert sorted(zip(links["source"], links["target"], links["share"])) == [
        ("rec-bo", "rec-holdco", 0.6), ("rec-holdco", "rec-acme", 0.8)]


def test_json_lines_and_folder_package(tmp_path, package_path):
    jsonl = write(tmp_path, package(), "package.jsonl", lines=True)
    with pytest.warns(GraphscoreWarning):
        by_line = read_bods(jsonl)
        from_array = read_bods(package_path)
    pd.testing.assert_frame_equal(by_line.links, from_array.links)
    assert list(by_line.links.attrs["lines"])[0] == 7  # the seventh line holds s-r1
    folder = tmp_path / "split"
    folder.mkdir()
    write(folder, package()[6:], "b-relationships.json")  # read after a-parties.json: name order
    write(folder, package()[:6], "a-parties.json")
    with pytest.warns(GraphscoreWarning):
        split = read_path(folder)
    pd.testing.assert_frame_equal(split.links.reset_index(drop=True), from_array.links, check_like=False)


def test_line_of_each_statement_in_an_array(tables, package_path):
    text = package_path.read_text().splitlines()
    first_link_line = list(tables.links.attrs["lines"])[0]
    assert f'"statementId": "{sid("s-r1")}"' in text[first_link_line]  # the line after the one opening "{"
    assert text[first_link_line - 1].strip() == "{"


def test_read_path_detects_bods_and_ftm(package_path):
    zala = Path(__file__).parents[2] / "data" / "zala" / "entities.ftm.json"
    assert is_bods(package_path) and not is_bods(zala)
    with pytest.warns(GraphscoreWarning):
        assert read_path(package_path).counts()["links"] == 9


# ---- the bods-v04-fixtures package ----------------------------------------------------------

FIXTURES = Path(bods_fixtures.__file__).parent / "data"


def test_fixture_direct_ownership():
    tables = validate(read_bods(FIXTURES / "core" / "01-direct-ownership.json"))
    owns = tables.links[tables.links["type"] == "OWNS"]
    assert owns[["source", "target", "share"]].values.tolist() == [
        ["rec-jane-smith-1975", "rec-acme-holdings-ltd", 0.75]]
    assert tables.links[tables.links["type"] == "CONTROLS"]["role"].tolist() == ["votingRights 75%"]
    assert tables.entities.set_index("id").loc["rec-acme-holdings-ltd", "registration_id"] == "GB-COH-10000001"


def test_addresses_of_the_preferred_type():
    entities = validate(read_bods(EXAMPLES / "joint-ownership.json")).entities.set_index("id")
    assert entities.loc["31c55e425764", "address"] == "Aston House, Cornwall Avenue, London, N3 1LF"  # has its postcode
    people = validate(read_bods(EXAMPLES / "nomination.json")).entities.set_index("id")
    assert people.loc["101AB1984F", "address"] == "Gta. Mirador, Las Brisas, Acapulco de Juarez, Guerrero, 39888"


def test_fixture_circular_ownership_keeps_both_edges():
    links = validate(read_bods(FIXTURES / "edge-cases" / "10-circular-ownership.json")).links
    assert sorted(zip(links["source"], links["target"], links["share"])) == [
        ("rec-alpha-corp", "rec-beta-corp", 1.0), ("rec-beta-corp", "rec-alpha-corp", 1.0)]


def test_fixture_declared_unknown_owner_is_reported_not_invented():
    with pytest.warns(GraphscoreWarning, match="subjectUnableToConfirmOrIdentifyBeneficialOwner"):
        tables = validate(read_bods(FIXTURES / "edge-cases" / "11-anonymous-person.json"))
    assert tables.counts() == {"entities": 1, "links": 0, "penalties": 0}


def test_fixtures_are_schema_valid():
    for name in bods_fixtures.list_cases():
        assert schema_errors(FIXTURES / f"{name}.json") == [], name


# ---- the mapping ----------------------------------------------------------------------------

def test_mapping_covers_the_bods_codelists():
    schema = Path(libcovebods.__file__).parent / "data" / "schema-0-4-0"
    relationship_schema = json.loads((schema / "relationship-record.json").read_text())
    entity_schema = json.loads((schema / "entity-record.json").read_text())
    mapping = tomllib.loads(MAPPING_FILE.read_text())
    assert sorted(mapping["interest"]) == sorted(relationship_schema["$defs"]["Interest"]["properties"]["type"]["enum"])
    entity_types = entity_schema["properties"]["entityType"]["properties"]["type"]["enum"]
    assert sorted(mapping["entity_type"]) == sorted(entity_types)


# ---- refusals: one line each, naming file, line, statement and field ------------------------

def refused(tmp_path, statements) -> list[str]:
    with pytest.raises(InvalidData) as caught:
        read_bods(write(tmp_path, statements, "bad.json", lines=True))
    return [str(issue) for issue in caught.value.issues]


def test_dangling_references(tmp_path):
    statements = package()
    statements[6]["recordDetails"]["interestedParty"] = "rec-nobody"
    statements[7]["recordDetails"]["subject"] = "rec-ann"  # a person cannot be a subject
    assert refused(tmp_path, statements) == [
        f"bad.json:7 (statement {sid('s-r1')}): recordDetails.interestedParty='rec-nobody' is not the recordId of "
        "any entity or person statement in the input",
        f"bad.json:8 (statement {sid('s-r2')}): recordDetails.subject='rec-ann' is a person record, but a subject "
        "must be entity",
    ]


def test_bad_values(tmp_path):
    statements = package()
    statements[6]["recordDetails"]["interests"][0]["share"] = {"exact": 150}
    statements[7]["recordDetails"]["interests"][1]["type"] = "friendship"
    statements[10]["recordDetails"]["interests"][0]["startDate"] = "01/02/2018"
    statements[0]["recordDetails"]["entityType"]["type"] = "company"
    del statements[4]["recordDetails"]["names"]
    assert refused(tmp_path, statements) == [
        f"bad.json:1 (statement {sid('s-acme')}): recordDetails.entityType.type='company' is not one of "
        "registeredEntity, legalEntity, arrangement, anonymousEntity, unknownEntity, state, stateBody",
        f"bad.json:5 (statement {sid('s-bo')}): recordDetails.names: is required: the record has no name",
        f"bad.json:7 (statement {sid('s-r1')}): recordDetails.interests[0].share.exact=150 is not a percentage in [0, 100]",
        f"bad.json:8 (statement {sid('s-r2')}): recordDetails.interests[1].type='friendship' is not a BODS 0.4 interest "
        "type (codelist interestType)",
        f"bad.json:11 (statement {sid('s-r4')}): recordDetails.interests[0].startDate='01/02/2018' is not a date YYYY-MM-DD",
    ]


def test_bad_envelope_and_json(tmp_path):
    statements = copy.deepcopy(package()[:2])
    del statements[1]["recordId"]
    statements[0]["recordType"] = "company"
    assert refused(tmp_path, statements) == [
        "bad.json:1: recordType='company' is not one of entity, person, relationship",
        "bad.json:2: recordId: is required and must be a non-empty string",
    ]
    path = tmp_path / "broken.json"
    path.write_text('[\n  {"statementId": "a"},\n  {"statementId": \n', encoding="utf-8")
    with pytest.raises(InvalidData, match=r"broken.json:4: json: cannot be parsed"):
        read_bods(path)


# ---- the command ----------------------------------------------------------------------------

def test_load_command_reads_bods(tmp_path, package_path):
    result = CliRunner().invoke(app, ["load", str(package_path), "--db", str(tmp_path / "db"), "-q"])
    assert result.exit_code == 0, result.output
    assert "links 9 new" in result.output
    stored = open_workspace(tmp_path / "db").tables.links.set_index("source_ref")  # the range, as stored
    assert stored.loc[f"bods:{sid('s-r1')}#interests/0", ["share_low", "share_high"]].tolist() == [0.25, 0.5]
    bad = write(tmp_path, [package()[6]], "dangling.json")
    result = CliRunner().invoke(app, ["load", str(bad), "--db", str(tmp_path / "db"), "-q"])
    assert result.exit_code == 2
    assert f"error: dangling.json:2 (statement {sid('s-r1')}): recordDetails.subject='rec-acme' is not the recordId" in result.output


def test_load_command_reads_a_bods_folder(tmp_path):
    folder = tmp_path / "package"
    folder.mkdir()
    write(folder, package()[:6], "a-parties.json")
    write(folder, package()[6:], "b-relationships.jsonl", lines=True)
    result = CliRunner().invoke(app, ["load", str(folder), "--db", str(tmp_path / "db"), "-q"])
    assert result.exit_code == 0, result.output
    assert "entities 6 new" in result.output and "links 9 new" in result.output
    assert "warning: package: 1 relationship statements name no one to link to" in result.output


# ---- the standard's own examples (tests/io/bods_examples/SOURCE.md) ---------------------------

EXAMPLES = Path(__file__).parent / "bods_examples"


def test_every_example_of_the_standard_reads_and_validates():
    files = sorted(EXAMPLES.glob("*.json"))
    assert len(files) == 19
    for path in files:
        assert schema_errors(path) == [], path.name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # checked one by one below
            validate(read_bods(path))


def test_example_indirect_ownership():
    # Person 1 holds 30 % of Company A indirectly, through Company B (60 % of A), whose tie to
    # Person 1 has no interest type: the chain is in the components, the indirect 30 % adds nothing
    links = validate(read_bods(EXAMPLES / "indirect-ownership.json")).links
    assert sorted(zip(links["source"], links["target"], links["type"], links["share"].fillna(-1), links["role"])) == [
        ("c25d4d612c2c", "d4ab89ea169a", "CONTROLS", -1, "unknownInterest"),
        ("d4ab89ea169a", "ad3f6c2fcc9e", "OWNS", 0.6, None)]


def test_example_series_of_a_restated_stake():
    # fermcat.json: per-41c0bb0cef246f7c holds 50 % of ent-93c75c87ab28f889 from 2019-09-11, restated
    # as 100 % (same start) on 2022-01-21; the others' stakes end on 2021-04-03 and 2022-01-21
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the series never adds up past 100 %
        links = validate(read_bods(EXAMPLES / "fermcat.json")).links
    owns = links[(links["type"] == "OWNS") & (links["source"] == "per-41c0bb0cef246f7c")]
    assert [(r.share, str(r.start.date()), None if pd.isna(r.end) else str(r.end.date())) for r in owns.itertuples()] == [
        (0.5, "2019-09-11", "2020-09-11"), (0.5, "2020-09-11", "2021-09-11"), (0.5, "2021-09-11", "2022-01-21"),
        (1.0, "2022-01-21", None)]


def test_example_overlap_the_data_holds_is_reported():
    # tecido.json closes 022EBEB66B's 30 % on 2023-03-03 without an end date, while 033E84672B's
    # 80 % starts on 2023-03-01: two days at 110 %, said, not hidden
    with pytest.warns(GraphscoreWarning, match="stakes in 01B68D7633 sum to 110% at 2023-03-01"):
        validate(read_bods(EXAMPLES / "tecido.json"))


# ---- read in chunks (BodsChunks): the same rows as the whole-file reader ------------------------

# The tables the whole-file reader (graphscore/io/bods.py at commit a8b678d, which read the whole
# input, then mapped it) gave for each example of the standard, each bods-v04-fixtures case and
# two synthetic files: rows with the line of their statement, sorted by id (entities) or
# source_ref (links), as `canonical` sorts them.
WHOLE_FILE_READER = Path(__file__).parent / "bods_reader_a8b678d.json"


def snapshot_inputs(folder: Path) -> dict[str, Path]:
    inputs = {f"examples/{p.name}": p for p in sorted(EXAMPLES.glob("*.json"))}
    inputs |= {f"fixtures/{name}.json": FIXTURES / f"{name}.json" for name in bods_fixtures.list_cases()}
    inputs["synthetic/array-500-seed-5.json"] = write_bods(folder / "array-500-seed-5.json", 500, seed=5)
    inputs["synthetic/lines-500-seed-6.jsonl"] = write_bods(folder / "lines-500-seed-6.jsonl", 500, seed=6, lines=True)
    return inputs


def canonical(chunks: list[pd.DataFrame], key: str) -> list[list]:
    """The rows of a table's chunks, each led by its line, sorted by ``key`` then line."""
    rows = [[int(line), *(None if isinstance(v, float) and pd.isna(v) else v for v in row)]
            for chunk in chunks for line, row in zip(chunk.attrs["lines"], chunk.itertuples(index=False))]
    position = 1 + list(chunks[0].columns).index(key)
    return sorted(rows, key=lambda row: (row[position], row[0]))


def test_the_synthetic_inputs_split_references_and_series(tmp_path):
    # what makes the comparison below worth making: relationships before the records they name,
    # records restated further on, series whose statements lie far apart
    statements = list(bods_statements(500, seed=5))
    position = {}
    for i, s in enumerate(statements):
        position.setdefault(s["recordId"], i)
    relationships = [(i, s) for i, s in enumerate(statements) if s["recordType"] == "relationship"]
    forward = [i for i, s in relationships if position[s["recordDetails"]["subject"]] > i]
    assert len(forward) > 30
    restated = [i for i, s in enumerate(statements) if position[s["recordId"]] < i - 7]
    assert len({statements[i]["recordType"] for i in restated}) == 2  # entities renamed, relationships updated


@pytest.mark.parametrize("chunk_rows", [1, 2, 7, 64, None])
def test_chunks_hold_the_rows_of_the_whole_file_reader(tmp_path, chunk_rows):
    expected = json.loads(WHOLE_FILE_READER.read_text(encoding="utf-8"))
    inputs = snapshot_inputs(tmp_path)
    assert sorted(inputs) == sorted(expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphscoreWarning)  # declared-unknown owners, as before
        for name, path in inputs.items():
            chunks = iter_bods(path, chunk_rows=chunk_rows)
            for table, key in (("entities", "id"), ("links", "source_ref")):
                got = list(chunks[table])
                rows = len(expected[name][table]["rows"])
                if chunk_rows is None or rows == 0:
                    assert [len(c) for c in got] == [rows]
                else:
                    full, rest = divmod(rows, chunk_rows)
                    assert [len(c) for c in got] == [chunk_rows] * full + ([rest] if rest else [])
                assert ["line", *got[0].columns] == expected[name][table]["columns"]
                assert canonical(got, key) == expected[name][table]["rows"], (name, table)
            assert [len(c) for c in chunks["penalties"]] == [0]


@pytest.mark.parametrize("chunk_rows", [1, 3, 50])
def test_chunks_of_a_folder_name_their_file_and_make_read_bods(tmp_path, chunk_rows):
    statements = list(bods_statements(300, seed=9))
    folder = tmp_path / "package"
    folder.mkdir()
    write(folder, statements[:100], "a.json")
    write(folder, statements[100:210], "b.jsonl", lines=True)
    write(folder, statements[210:], "c.json")
    whole = read_bods(folder)
    for table in ("entities", "links"):
        chunks = list(iter_bods(folder, chunk_rows=chunk_rows)[table])
        assert all(len(c) <= chunk_rows for c in chunks)
        together = pd.concat(chunks, ignore_index=True)
        pd.testing.assert_frame_equal(together, getattr(whole, table))
        # each chunk names one file, and each row's line in it holds the row's statement
        for chunk in chunks:
            path = folder / chunk.attrs["origin"]
            text = path.read_text().splitlines()
            for line, ref in zip(chunk.attrs["lines"], chunk["source_ref"]):
                statement_id = ref.removeprefix("bods:").split("#")[0]
                assert statement_id in text[line - 1] or statement_id in text[line], (path.name, line)
    assert whole.links.attrs == {"origin": "package"}  # rows of three files: no single line numbering


@pytest.mark.parametrize("block", [1, 5, 64, 4096])
def test_a_json_array_parsed_block_by_block(tmp_path, block, monkeypatch):
    # the array's text is decoded and parsed a block at a time, the text parsed let go: every
    # statement and its line as the whole text gives them, whatever the block size
    path = write_bods(tmp_path / "synthetic.json", 120, seed=3)
    text = path.read_text(encoding="utf-8")
    starts = [number for number, line in enumerate(text.splitlines(), start=1) if line == "{"]
    monkeypatch.setattr(bods, "_BLOCK", block)
    parsed = list(bods._statements(path))
    assert [data for _, _, data in parsed] == json.loads(text)
    assert [(position, line) for position, line, _ in parsed] == list(enumerate(starts))


def test_a_broken_statement_far_into_an_array_is_named_by_its_line(tmp_path, monkeypatch):
    statements = list(bods_statements(60, seed=3))
    path = write(tmp_path, statements, "broken.json")
    text = path.read_text(encoding="utf-8").splitlines()
    bad = max(i for i, line in enumerate(text) if '"recordType"' in line)  # in the last statement
    text[bad] = text[bad].replace('"recordType":', '"recordType"')
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    monkeypatch.setattr(bods, "_BLOCK", 256)  # the text before the fault let go many times
    with pytest.raises(InvalidData, match=rf"^broken.json:{bad + 1}: json: cannot be parsed: Expecting ':' delimiter$"):
        list(bods._statements(path))


def test_a_statement_that_never_closes_is_not_read_to_the_end(tmp_path, monkeypatch):
    # an unclosed string swallows the rest of the file: the parse gives up after _LONGEST
    # characters instead of holding the whole file
    path = tmp_path / "open.json"
    path.write_text('[\n{"statementId": "a\n' + '{"statementId": "b"},\n' * 2000 + "]\n", encoding="utf-8")
    monkeypatch.setattr(bods, "_BLOCK", 100)
    monkeypatch.setattr(bods, "_LONGEST", 1000)
    read = []
    monkeypatch.setattr(bods, "_text", lambda path, text=bods._text: (read.append(len(b)) or b for b in text(path)))
    with pytest.raises(InvalidData, match=r"^open.json:2: json: cannot be parsed: Invalid control character"):
        list(bods._statements(path))
    assert sum(read) < 1200  # of some 44,000 characters


def test_bad_utf8_in_an_array_names_its_byte(tmp_path):
    path = tmp_path / "latin1.json"
    good = json.dumps(package()[:3], indent=2).encode("utf-8")
    at = good.index(b"Holdco")
    path.write_bytes(good[:at] + "Hölding".encode("latin-1") + good[at + 6:])
    with pytest.raises(InvalidData, match=rf"^latin1.json: encoding: is not UTF-8 text \(byte 0xf6 at offset {at + 1}\)$"):
        read_bods(path)


def test_refusals_come_before_any_row_with_the_links_refusals(tmp_path):
    statements = package()
    statements[0]["recordDetails"]["entityType"]["type"] = "company"  # the first pass finds it
    statements[6]["recordDetails"]["interestedParty"] = "rec-nobody"  # the links' pass finds it
    chunks = iter_bods(write(tmp_path, statements, "bad.jsonl", lines=True), chunk_rows=1)
    with pytest.raises(InvalidData) as caught:
        next(iter(chunks["entities"]))
    assert [issue.where for issue in caught.value.issues] == [
        f"bad.jsonl:1 (statement {sid('s-acme')})", f"bad.jsonl:7 (statement {sid('s-r1')})"]
    with pytest.raises(InvalidData):  # asked again, the same answer, never rows
        list(chunks["links"])


def test_of_two_statements_on_one_day_the_later_in_the_input_holds(tmp_path):
    renamed = entity("s-acme2", "rec-acme", "Acme Holdings Ltd")  # the same statementDate
    statements = [package()[0], *package()[1:6], renamed, *package()[6:]]
    chunks = iter_bods(write(tmp_path, statements, "same-day.jsonl", lines=True), chunk_rows=1)
    with pytest.warns(GraphscoreWarning):
        rows = [(c["id"].iloc[0], c["name"].iloc[0], c.attrs["lines"][0]) for c in chunks["entities"]]
        assert len(list(chunks["links"])) == 9
    assert ("rec-acme", "Acme Holdings Ltd", 7) in rows and len(rows) == 6


def test_a_repeated_statement_id_across_files(tmp_path):
    folder = tmp_path / "package"
    folder.mkdir()
    write(folder, package()[:6], "a.json")
    write(folder, [package()[3]] + package()[6:], "b.jsonl", lines=True)
    with pytest.raises(InvalidData, match=rf"^b.jsonl:1 \(statement {sid('s-ann')}\): statementId='{sid('s-ann')}' "
                                          rf"repeats the statement at a.json:\d+ \(statement {sid('s-ann')}\)$"):
        read_bods(folder)


def test_the_load_command_streams_bods(tmp_path, monkeypatch):
    # `graphscore load` of a BODS file goes the chunked way: here in chunks of 5 rows
    monkeypatch.setattr(bods, "CHUNK_ROWS", 5)
    path = write_bods(tmp_path / "synthetic.jsonl", 200, seed=4, lines=True)
    chunks = table_chunks([path])
    assert all(isinstance(chunks[name], ChunkPass) for name in chunks)
    assert [len(c) for c in chunks["links"]][:3] == [5, 5, 5]
    result = CliRunner().invoke(app, ["load", str(path), "--db", str(tmp_path / "db"), "-q"])
    assert result.exit_code == 0, result.output
    stored = open_workspace(tmp_path / "db").tables
    whole = validate(read_bods(path))
    assert stored.counts() == whole.counts()
    assert sorted(stored.links["source_ref"]) == sorted(whole.links["source_ref"])
