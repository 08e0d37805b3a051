"""A catalogue of bad input: each kind is refused with its exact error lines (file, line, field,
value, reason) and the store is left byte for byte as it was (issue 13, part 12).

Every case starts from one small valid register already in the store and changes one file of
it (or gives a FollowTheMoney file instead); the expected lines are the whole of what
``graphscore load`` prints as errors.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from graphscore.cli import app
from graphscore.store.ladybug import LadybugStore

runner = CliRunner()

E = "id,kind,name,jurisdiction\nc1,company,Alpha Ltd,GB\nc2,company,Beta Ltd,GB\np1,person,Pat,\n"
L = "source,target,type,share,role,start,end\np1,c1,OFFICER_OF,,legal_representative,2020-01-01,\nc1,c2,OWNS,0.6,,2020-01-01,\n"
P = "id,entity,kind,severity,start,end\nf1,c1,fine,1,2021-01-01,\n"


def e(rows): return E + rows


def l(rows): return L + rows


def p(rows): return P + rows

CASES = {
 # Parquet (written by pyarrow at run time: see _write)
 "parquet: bytes column": {"entities.csv": None, "entities.parquet": ("bytes",)},
 "parquet: list cell": {"entities.csv": None, "entities.parquet": ("list",)},
 # entities
 "entities: empty file": {"entities.csv": ""},
 "entities: header only": {"entities.csv": "id,kind,name\n"},
 "entities: no header": {"entities.csv": "\n\n"},
 "entities: duplicate column": {"entities.csv": "id,kind,name,name\nc9,company,A,B\n"},
 "entities: missing id column": {"entities.csv": "kind,name\ncompany,A\n"},
 "entities: missing kind column": {"entities.csv": "id,name\nc9,A\n"},
 "entities: unknown column": {"entities.csv": "id,kind,name,colour\nc9,company,A,red\n"},
 "entities: empty id": {"entities.csv": e(",company,Nobody,\n")},
 "entities: duplicate id": {"entities.csv": e("c1,company,Alpha again,GB\n")},
 "entities: unknown kind": {"entities.csv": e("x1,planet,Mars,\n")},
 "entities: empty kind": {"entities.csv": e("x1,,Mars,\n")},
 "entities: empty name": {"entities.csv": e("x1,company,,\n")},
 "entities: too many fields": {"entities.csv": e("x1,company,X,GB,extra\n")},
 "entities: too few fields": {"entities.csv": e("x1,company\n")},
 "entities: latin-1 bytes": {"entities.csv": (E + "x1,company,Caf\xe9,\n").encode("latin-1")},
 "entities: utf-16": {"entities.csv": (E).encode("utf-16")},
 "entities: unclosed quote": {"entities.csv": e('x1,company,"Open quote,\n')},
 "entities: text too long": {"entities.csv": e("x1,company," + "n" * 70000 + ",\n")},
 "entities: reload changes kind": {"entities.csv": E.replace("c2,company", "c2,person")},
 "entities: both csv and parquet": {"entities.parquet": b"PAR1"},
 "entities: not parquet": {"entities.csv": None, "entities.parquet": b"not parquet at all"},
 # links
 "links: unknown source": {"links.csv": l("zz,c1,OWNS,0.1,,2020-01-01,\n")},
 "links: unknown target": {"links.csv": l("c1,zz,OWNS,0.1,,2020-01-01,\n")},
 "links: empty source": {"links.csv": l(",c1,OWNS,0.1,,2020-01-01,\n")},
 "links: empty target": {"links.csv": l("c1,,OWNS,0.1,,2020-01-01,\n")},
 "links: unknown type": {"links.csv": l("c1,c2,OWN,0.1,,2020-01-01,\n")},
 "links: empty type": {"links.csv": l("c1,c2,,0.1,,2020-01-01,\n")},
 "links: lowercase type": {"links.csv": l("c1,c2,owns,0.1,,2020-01-01,\n")},
 "links: share above 1": {"links.csv": l("p1,c2,OWNS,1.7,,2020-01-01,\n")},
 "links: negative share": {"links.csv": l("p1,c2,OWNS,-0.2,,2020-01-01,\n")},
 "links: share not a number": {"links.csv": l("p1,c2,OWNS,half,,2020-01-01,\n")},
 "links: share NaN": {"links.csv": l("p1,c2,OWNS,nan,,2020-01-01,\n")},
 "links: share infinite": {"links.csv": l("p1,c2,OWNS,inf,,2020-01-01,\n")},
 "links: share percent": {"links.csv": l("p1,c2,OWNS,60%,,2020-01-01,\n")},
 "links: share on officer link": {"links.csv": l("p1,c2,OFFICER_OF,0.5,director,2020-01-01,\n")},
 "links: unknown officer role": {"links.csv": l("p1,c2,OFFICER_OF,,ceo,2020-01-01,\n")},
 "links: officer target a person": {"links.csv": l("c1,p1,OFFICER_OF,,director,2020-01-01,\n")},
 "links: owns target a person": {"links.csv": l("c1,p1,OWNS,0.1,,2020-01-01,\n")},
 "links: family between companies": {"links.csv": l("c1,c2,FAMILY,,sibling,2020-01-01,\n")},
 "links: self link": {"links.csv": l("c1,c1,OWNS,0.1,,2020-01-01,\n")},
 "links: bad start date": {"links.csv": l("p1,c2,OWNS,0.1,,2020-13-01,\n")},
 "links: start not iso": {"links.csv": l("p1,c2,OWNS,0.1,,01/02/2020,\n")},
 "links: start feb 30": {"links.csv": l("p1,c2,OWNS,0.1,,2021-02-30,\n")},
 "links: year 0000": {"links.csv": l("p1,c2,OWNS,0.1,,0000-01-01,\n")},
 "links: end before start": {"links.csv": l("p1,c2,OWNS,0.1,,2020-01-01,2019-01-01\n")},
 "links: duplicated record": {"links.csv": l("c1,c2,OWNS,0.5,,2020-01-01,\n")},
 "links: share_low above share_high": {"links.csv": "source,target,type,share_low,share_high\nc1,c2,OWNS,0.6,0.4\n"},
 "links: missing type column": {"links.csv": "source,target\nc1,c2\n"},
 "links: missing target column": {"links.csv": "source,type\nc1,OWNS\n"},
 "links: unknown column": {"links.csv": "source,target,type,weight\nc1,c2,OWNS,2\n"},
 # penalties
 "penalties: unknown entity": {"penalties.csv": p("f2,zz,fine,1,2021-01-01,\n")},
 "penalties: empty entity": {"penalties.csv": p("f2,,fine,1,2021-01-01,\n")},
 "penalties: duplicate id": {"penalties.csv": p("f1,c2,fine,1,2021-01-01,\n")},
 "penalties: empty id": {"penalties.csv": p(",c2,fine,1,2021-01-01,\n")},
 "penalties: zero severity": {"penalties.csv": p("f2,c2,fine,0,2021-01-01,\n")},
 "penalties: negative severity": {"penalties.csv": p("f2,c2,fine,-1,2021-01-01,\n")},
 "penalties: NaN severity": {"penalties.csv": p("f2,c2,fine,NaN,2021-01-01,\n")},
 "penalties: infinite severity": {"penalties.csv": p("f2,c2,fine,inf,2021-01-01,\n")},
 "penalties: severity text": {"penalties.csv": p("f2,c2,fine,high,2021-01-01,\n")},
 "penalties: empty severity": {"penalties.csv": p("f2,c2,fine,,2021-01-01,\n")},
 "penalties: empty start": {"penalties.csv": p("f2,c2,fine,1,,\n")},
 "penalties: bad start": {"penalties.csv": p("f2,c2,fine,1,yesterday,\n")},
 "penalties: end before start": {"penalties.csv": p("f2,c2,fine,1,2021-01-01,2020-01-01\n")},
 "penalties: repair before start": {"penalties.csv": "id,entity,kind,severity,start,repair_from\nf1,c1,fine,1,2021-01-01,2020-01-01\n"},
 "penalties: empty kind": {"penalties.csv": p("f2,c2,,1,2021-01-01,\n")},
 "penalties: year 10000": {"penalties.csv": p("f2,c2,fine,1,10000-01-01,\n")},
 "penalties: moved to another entity": {"penalties.csv": P.replace("f1,c1", "f1,c2")},
 "penalties: missing severity column": {"penalties.csv": "id,entity,kind,start\nf2,c2,fine,2021-01-01\n"},
 # FtM
 "ftm: not json": {"ftm": "not json\n"},
 "ftm: json array": {"ftm": "[1, 2]\n"},
 "ftm: unknown schema": {"ftm": '{"id": "a", "schema": "Spaceship", "properties": {}}\n'},
 "ftm: properties not lists": {"ftm": '{"id": "a", "schema": "Company", "properties": {"name": "Alpha"}}\n'},
 "ftm: empty id": {"ftm": '{"id": "", "schema": "Company", "properties": {"name": ["A"]}}\n'},
 "ftm: lone surrogate": {"ftm": '{"id": "a", "schema": "Company", "properties": {"name": ["A \\udc80"]}}\n'},
 "ftm: not utf-8": {"ftm": b'{"id": "a", "schema": "Company", "properties": {"name": ["Caf\xe9"]}}\n'},
 "ftm: empty file": {"ftm": ""},
}

EXPECTED = {
 'entities: empty file': ['error: entities.csv: file: is empty'],
 'entities: header only': ['error: entities.csv: id: no entity rows'],
 'entities: no header': ['error: entities.csv: header: is missing: the file has no columns'],
 'entities: duplicate column': ['error: entities.csv:1: name: appears twice in the header'],
 'entities: missing id column': ['error: entities.csv: id: required column is missing'],
 'entities: missing kind column': ['error: entities.csv: kind: required column is missing'],
 'entities: unknown column': ['error: entities.csv: colour: unknown column (expected: id, kind, name, jurisdiction, registration_id, address, value, source_ref)'],
 'entities: empty id': ["error: entities.csv:5: id='' is required but empty"],
 'entities: duplicate id': ["error: entities.csv:5: id='c1' is a duplicate id"],
 'entities: unknown kind': ["error: entities.csv:5: kind='planet' is not one of company, person, organization"],
 'entities: empty kind': ["error: entities.csv:5: kind='' is required but empty"],
 'entities: empty name': ["error: entities.csv:5: name='' is required but empty"],
 'entities: too many fields': ['error: entities.csv:5: row: has 5 fields, the header has 4'],
 'entities: too few fields': ['error: entities.csv:5: row: has 2 fields, the header has 4'],
 'entities: latin-1 bytes': ['error: entities.csv: encoding: is not UTF-8 text (byte 0xe9 at offset 102)'],
 'entities: utf-16': ['error: entities.csv: encoding: is not UTF-8 text (byte 0xff at offset 0)'],
 'entities: unclosed quote': ['error: entities.csv:5: row: has 3 fields, the header has 4'],
 'entities: text too long': ["error: entities.csv:5: name='nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn' is longer than 65,536 characters (its start is shown)"],
 'entities: reload changes kind': ["error: links.csv:3: target='c2' is a person, but OWNS targets must be company or organization", "error: entities.csv:3: kind='person' differs from the kind stored for this id (a reload cannot change it)"],
 'entities: both csv and parquet': ['error: {folder}: entities: exists as both CSV and Parquet; keep one'],
 'entities: not parquet': ['error: entities.parquet: file: is not a readable Parquet file (Parquet magic bytes not found in footer. Either the file is corrupted or this is not a parquet file.)'],
 'links: unknown source': ["error: links.csv:4: source='zz' is not a known entity id"],
 'links: unknown target': ["error: links.csv:4: target='zz' is not a known entity id"],
 'links: empty source': ["error: links.csv:4: source='' is required but empty"],
 'links: empty target': ["error: links.csv:4: target='' is required but empty"],
 'links: unknown type': ["error: links.csv:4: type='OWN' is not a link type (OWNS, OFFICER_OF, CONTROLS, FAMILY, ASSOCIATE, AGENT_OF)"],
 'links: empty type': ["error: links.csv:4: type='' is required but empty"],
 'links: lowercase type': ["error: links.csv:4: type='owns' is not a link type (OWNS, OFFICER_OF, CONTROLS, FAMILY, ASSOCIATE, AGENT_OF)"],
 'links: share above 1': ['error: links.csv:4: share=1.7 outside [0, 1] (OWNS)'],
 'links: negative share': ['error: links.csv:4: share=-0.2 outside [0, 1] (OWNS)'],
 'links: share not a number': ["error: links.csv:4: share='half' is not a number"],
 'links: share NaN': ["error: links.csv:4: share='nan' is not a number"],
 'links: share infinite': ['error: links.csv:4: share=inf outside [0, 1] (OWNS)'],
 'links: share percent': ["error: links.csv:4: share='60%' is not a number"],
 'links: share on officer link': ['error: links.csv:4: share=0.5 is only allowed on OWNS links'],
 'links: unknown officer role': ["error: links.csv:4: role='ceo' is not one of legal_representative, director, executive, supervisor, actual_controller, other (OFFICER_OF)"],
 'links: officer target a person': ["error: links.csv:4: target='p1' is a person, but OFFICER_OF targets must be company or organization"],
 'links: owns target a person': ["error: links.csv:4: target='p1' is a person, but OWNS targets must be company or organization"],
 'links: family between companies': ["error: links.csv:4: source='c1' is a company, but FAMILY sources must be person", "error: links.csv:4: target='c2' is a company, but FAMILY targets must be person"],
 'links: self link': ["error: links.csv:4: target='c1' equals source (self-link)"],
 'links: bad start date': ["error: links.csv:4: start='2020-13-01' is not a date (YYYY-MM-DD)"],
 'links: start not iso': ["error: links.csv:4: start='01/02/2020' is not a date (YYYY-MM-DD)"],
 'links: start feb 30': ["error: links.csv:4: start='2021-02-30' is not a date (YYYY-MM-DD)"],
 'links: year 0000': ["error: links.csv:4: start='0000-01-01' is outside the dates a store holds (0001-01-01 to 9999-12-31)"],
 'links: end before start': ["error: links.csv:4: end='2019-01-01' is before start"],
 'links: duplicated record': ["error: links.csv:4: start='2020-01-01' repeats a link record (same type, ends, role, start and source_ref)"],
 'links: share_low above share_high': ['error: links.csv:2: share_low=0.6 is above share_high'],
 'links: missing type column': ['error: links.csv: type: required column is missing'],
 'links: missing target column': ['error: links.csv: target: required column is missing'],
 'links: unknown column': ['error: links.csv: weight: unknown column (expected: source, target, type, share, share_low, share_high, role, start, end, source_ref)'],
 'penalties: unknown entity': ["error: penalties.csv:3: entity='zz' is not a known entity id"],
 'penalties: empty entity': ["error: penalties.csv:3: entity='' is required but empty"],
 'penalties: duplicate id': ["error: penalties.csv:3: id='f1' is a duplicate id", "error: penalties.csv:3: entity='c2' differs from the entity stored for this penalty id (a reload cannot move it)"],
 'penalties: empty id': ["error: penalties.csv:3: id='' is required but empty"],
 'penalties: zero severity': ['error: penalties.csv:3: severity=0.0 must be > 0'],
 'penalties: negative severity': ['error: penalties.csv:3: severity=-1.0 must be > 0'],
 'penalties: NaN severity': ["error: penalties.csv:3: severity='NaN' is not a number"],
 'penalties: infinite severity': ['error: penalties.csv:3: severity=inf must be > 0'],
 'penalties: severity text': ["error: penalties.csv:3: severity='high' is not a number"],
 'penalties: empty severity': ["error: penalties.csv:3: severity='' is required but empty"],
 'penalties: empty start': ["error: penalties.csv:3: start='' is required but empty"],
 'penalties: bad start': ["error: penalties.csv:3: start='yesterday' is not a date (YYYY-MM-DD)"],
 'penalties: end before start': ["error: penalties.csv:3: end='2020-01-01' is before start"],
 'penalties: repair before start': ["error: penalties.csv:2: repair_from='2020-01-01' is before start"],
 'penalties: empty kind': ["error: penalties.csv:3: kind='' is required but empty"],
 'penalties: year 10000': ["error: penalties.csv:3: start='10000-01-01' is not a date (YYYY-MM-DD)"],
 'penalties: moved to another entity': ["error: penalties.csv:2: entity='c2' differs from the entity stored for this penalty id (a reload cannot move it)"],
 'penalties: missing severity column': ['error: penalties.csv: severity: required column is missing'],
 'ftm: not json': ["error: in.json:1: json='not json' is not a JSON object"],
 'ftm: json array': ["error: in.json:1: statement='1' is not a JSON object", "error: in.json:1: statement='2' is not a JSON object"],
 'ftm: unknown schema': ["error: in.json:1: schema='Spaceship' is not a FollowTheMoney schema"],
 'ftm: properties not lists': ['error: in.json:1: properties=\'{"id": "a", "schema": "Company", "properties": {"name": "Alp\' must map property names to lists of strings'],
 'ftm: empty id': ['error: in.json:1: id: is required but empty'],
 'ftm: lone surrogate': ["error: in.json:1: name='A \\\\udc80' holds a lone surrogate: it is not Unicode text"],
 'ftm: not utf-8': ["error: in.json:1: encoding=b'\\xe9' is not UTF-8 (byte offset 61)"],
 'ftm: empty file': ['error: in.json: json: holds no FtM entities (empty file)'],
 'parquet: bytes column': ["error: entities.parquet:2: id=b'c9' is binary data, not text (store it as a UTF-8 string column)"],
 'parquet: list cell': ["error: entities.parquet:2: name=['a', 'b'] is a list; a cell holds one value"],
}


PARQUET = {
    "bytes": pa.table({"id": pa.array([b"c9"], pa.binary()), "kind": ["company"], "name": ["X"]}),
    "list": pa.table({"id": ["c9"], "kind": ["company"], "name": pa.array([["a", "b"]])}),
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("catalogue")
    base = root / "base"
    base.mkdir()
    for name, text in (("entities.csv", E), ("links.csv", L), ("penalties.csv", P)):
        (base / name).write_text(text)
    db = root / "db"
    assert runner.invoke(app, ["load", str(base), "--db", str(db)]).exit_code == 0
    return base, db


def state(db: Path) -> dict[str, str]:
    """What the store holds (its tables' fingerprint and the one its last load recorded), which
    files it has, and the content of its cache. (Not the database file's bytes: LadybugDB
    rewrites its header whenever a writer closes it, with nothing changed.)"""
    with LadybugStore(db, read_only=True) as store:
        held = {"content": store.read_tables().fingerprint(), "recorded": store.data_fingerprint()}
    files = {str(p.relative_to(db)): hashlib.sha256(p.read_bytes()).hexdigest() if "cache" in p.parts[-3:-1]
             or p.parent.name.endswith(".cache") else "" for p in sorted(db.rglob("*")) if p.is_file()}
    return {**held, **files}


def _write(path: Path, data) -> None:
    if isinstance(data, tuple):
        pq.write_table(PARQUET[data[0]], path)
    elif isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)


def test_the_catalogue_holds_sixty_kinds_or_more():
    assert len(CASES) >= 60 and set(CASES) == set(EXPECTED)


@pytest.mark.parametrize("kind", list(CASES))
def test_bad_input_is_refused_in_exact_lines_and_the_store_is_unchanged(tmp_path, store, kind):
    base, db = store
    files = CASES[kind]
    if "ftm" in files:
        source = tmp_path / "in.json"
        _write(source, files["ftm"])
    else:
        source = tmp_path / "in"
        shutil.copytree(base, source)
        for name, data in files.items():
            if data is None:
                (source / name).unlink()
            else:
                _write(source / name, data)
    before = state(db)
    result = runner.invoke(app, ["load", str(source), "--db", str(db)])
    assert result.exit_code == 2
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == [line.replace("{folder}", str(source)) for line in EXPECTED[kind]]
    assert "Traceback" not in result.output
    assert state(db) == before
