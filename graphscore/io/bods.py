"""Read Beneficial Ownership Data Standard (BODS) 0.4 statements into graphscore's tables.

BODS 0.4 publishes *records* (an entity, a person, a relationship) as a series of *statements*
sharing a ``recordId``; a relationship names its ``subject`` and ``interestedParty`` by
``recordId`` and lists the ``interests`` held. How entity types and interest types map is
declared in ``schema/bods.toml``.

- entity statements -> entities, kind from ``entityType.type`` (a registered entity is a
  ``company``, the rest ``organization``); person statements -> ``person``.
  ``name`` is the entity's name, or the person's legal (else first) full name;
  ``jurisdiction`` the entity's jurisdiction code or the person's first nationality;
  ``registration_id`` the first identifier as ``scheme-id`` (the org-id.guide form, e.g.
  ``GB-COH-10000001``); ``address`` the first address of the most preferred type
  (``address_types``: registered, business, service, ...) with its postcode; ``source_ref``
  ``bods:<statementId>``.
- each interest of a relationship -> one link interested party -> subject: a shareholding is
  ``OWNS`` with its percentage as a fraction: ``share`` when exact, else ``share_low`` /
  ``share_high`` from ``minimum`` (or ``exclusiveMinimum``) and ``maximum`` (or
  ``exclusiveMaximum``), a range kept as a range (an exclusive bound becomes the closed range's
  end: "more than 50 %" gives ``share_low`` 0.5, which a rule testing "more than 50 %" on the
  low end does not count). ``startDate`` / ``endDate`` give the link's
  dates; ``source_ref`` is ``bods:<statementId>#interests/<i>``.
- an entity or person is its latest statement (by ``statementDate``, then order in the input).
  A relationship is its whole series of statements, each holding for its part of the record's
  history (:func:`_series_periods`), so that a stake raised from 50 % to 100 % is 50 % until the
  change and 100 % after it; a ``closed`` relationship ends on its statement date where its
  interests give no end. An interest without a ``type`` (the schema allows it) is an
  ``unknownInterest``.

The result holds every declared column and passes :func:`graphscore.model.validate`; BODS has
no penalties, so that table is empty. The input is read in passes, chunk by chunk
(:class:`BodsChunks`, :func:`iter_bods`): memory holds a chunk and the keys that resolve a
reference, never the file; :func:`read_bods` joins the chunks.

References
----------
.. [1] Open Ownership, *Beneficial Ownership Data Standard 0.4.0*: schema (``statement.json``,
   ``entity-record.json``, ``person-record.json``, ``relationship-record.json``) and codelists
   ``entityType``, ``interestType``, ``recordStatus``, ``unspecifiedReason``.
   https://standard.openownership.org/en/0.4.0/

Examples
--------
>>> import json, tempfile
>>> from pathlib import Path
>>> from graphscore.model import validate
>>> statements = [
...     {"statementId": "s1", "recordId": "acme", "recordType": "entity", "statementDate": "2024-01-01",
...      "recordDetails": {"isComponent": False, "entityType": {"type": "registeredEntity"},
...                        "name": "Acme Ltd"}},
...     {"statementId": "s2", "recordId": "ann", "recordType": "person", "statementDate": "2024-01-01",
...      "recordDetails": {"isComponent": False, "personType": "knownPerson",
...                        "names": [{"type": "legal", "fullName": "Ann Lee"}]}},
...     {"statementId": "s3", "recordId": "r1", "recordType": "relationship", "statementDate": "2024-01-01",
...      "recordDetails": {"isComponent": False, "subject": "acme", "interestedParty": "ann",
...                        "interests": [{"type": "shareholding", "directOrIndirect": "direct",
...                                       "share": {"minimum": 25, "maximum": 50},
...                                       "startDate": "2019-05-01"}]}},
... ]
>>> with tempfile.TemporaryDirectory() as folder:
...     path = Path(folder) / "acme.json"
...     _ = path.write_text(json.dumps(statements), encoding="utf-8")
...     tables = read_bods(path)
>>> tables.links[["source", "target", "type", "share", "share_low", "share_high", "start"]].values.tolist()
[['ann', 'acme', 'OWNS', None, 0.25, 0.5, '2019-05-01']]
>>> validate(tables).counts()
{'entities': 2, 'links': 1, 'penalties': 0}
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import json
import re
import tomllib
import warnings
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from graphscore.errors import DataIssue, InvalidData, InvalidModel
from graphscore.model import TABLE_NAMES, ChunkPass, GraphscoreWarning, LineNumbers, Tables, load_model

__all__ = ["read_bods", "iter_bods", "BodsChunks", "is_bods", "SUFFIXES"]

MAPPING_FILE = Path(__file__).parent.parent / "schema" / "bods.toml"
SUFFIXES = (".json", ".jsonl")
_MAX_ISSUES = 200  # as graphscore.model.validate: enough to fix a file in one pass
_RECORD_TYPES = ("entity", "person", "relationship")  # a record's type is its index here in a BodsChunks
_PARTIES, _RELATIONSHIP = (0, 1), 2  # entity and person; relationship
# Rows of a chunk (BodsChunks): Python dicts until the chunk is made a frame, as FtM's.
CHUNK_ROWS = 1 << 16
_BLOCK = 1 << 20  # characters of a JSON array decoded at a time
_LONGEST = 1 << 26  # characters a statement may take: past that, the text is no JSON the reader waits for
_SPACE = re.compile(r"[ \t\r\n]*")  # JSON's whitespace


@dataclass(frozen=True)
class _Mapping:
    entity_kinds: dict[str, str]
    interests: dict[str, tuple[str, str | None]]  # interest type -> (link type, role or None)
    indirect_link: str
    no_interest: tuple[str, str]
    address_types: tuple[str, ...]  # recordDetails.addresses[].type, preferred first


@functools.cache
def _load_mapping(path: Path = MAPPING_FILE) -> _Mapping:
    """Read ``schema/bods.toml``, checking each graphscore name in it against the model.

    Raises
    ------
    InvalidModel
        If it names an entity kind, link type or officer role the model does not declare, or
        gives a role to an OWNS link (the role of a stake is its share).
    """
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    model = load_model()

    def check(value: str, allowed, what: str) -> str:
        if value not in allowed:
            raise InvalidModel(f"{path}: {value!r} is not {what} ({', '.join(allowed)}).")
        return value

    kinds = {code: check(kind, model.enums["kind"], "an entity kind") for code, kind in raw["entity_type"].items()}
    interests = {}
    for code, rule in raw["interest"].items():
        link = model.links[check(rule["link"], list(model.links), "a link type")]
        role = rule.get("role")
        if role is not None and link.role_enum:
            check(role, model.enums[link.role_enum], f"a {link.role_enum}")
        elif link.role_enum and role is None:
            raise InvalidModel(f"{path}: interest {code!r} maps to {link.name}, which needs a role.")
        interests[code] = (link.name, role)
    indirect = check(raw["indirect_link"], list(model.links), "a link type")
    no_interest = (check(raw["no_interest_link"], list(model.links), "a link type"), raw["no_interest_role"])
    return _Mapping(kinds, interests, indirect, no_interest, tuple(raw["address_types"]))


def _sniff(path: Path) -> str:
    """The first non-blank characters of a file (BOM skipped), enough to tell its format."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    return head.decode("utf-8", errors="replace").lstrip("\ufeff \t\r\n")


def is_bods(path: str | Path) -> bool:
    """Whether a ``.json`` / ``.jsonl`` file (or a folder of them) holds BODS statements.

    A JSON array (BODS' packaging; FollowTheMoney files are JSON lines of objects) or JSON lines
    whose first object carries a ``statementId`` (BODS' serialisation as JSON lines) is BODS.
    """
    path = Path(path)
    if path.is_dir():
        files = _files(path)
        return bool(files) and is_bods(files[0])
    if path.suffix not in SUFFIXES or not path.is_file():
        return False
    head = _sniff(path)
    if head.startswith("["):
        return True
    first = head.split("\n", 1)[0]
    try:
        return isinstance(record := json.loads(first), dict) and "statementId" in record
    except json.JSONDecodeError:
        return False


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def _text(path: Path) -> Iterator[str]:
    """The file's text a block at a time: UTF-8, a byte-order mark dropped."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    with path.open("rb") as handle:
        while True:
            block = handle.read(_BLOCK)
            pending = len(decoder.getstate()[0])  # bytes of a character the last block cut
            try:
                text = decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                raise InvalidData(DataIssue(path.name, "encoding", None,
                                            f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                                            f"at offset {offset - pending + exc.start})")) from None
            offset += len(block)
            if text:
                yield text
            if not block:
                return


def _statements(path: Path, wanted: bytes | None = None) -> Iterator[tuple[int, int, object]]:
    """Each statement of a file with its position (its line in JSON lines, its index in a JSON
    array) and the line it starts on. ``wanted``: the positions to parse (non-zero bytes);
    the other lines of a JSON lines file are skipped unparsed, while an array's statements
    are all parsed (their ends are only known so), and all are yielded.

    Read as a stream: a JSON lines file a line at a time, a JSON array a block of text at a
    time, each statement parsed by the standard library's decoder (``raw_decode``, so numbers
    and text read exactly as :func:`json.loads` reads them) as soon as the text holds it
    whole; the line of each is counted as the parse moves on. Memory holds a block and one
    statement; a statement that does not parse within ``_LONGEST`` characters is an error,
    not a reason to read the rest of the file into memory.
    """
    blocks = _text(path)
    text = ""
    for block in blocks:
        text += block
        if text.strip():
            break
    if not text.strip():
        raise InvalidData(DataIssue(path.name, "file", None, "is empty"))
    if text.lstrip()[0] != "[":
        blocks.close()
        yield from ((line, line, data) for line, data in _json_lines(path, wanted))
        return
    yield from ((index, line, data) for index, (line, data) in enumerate(_json_array(path.name, text, blocks)))


def _json_lines(path: Path, wanted: bytes | None = None) -> Iterator[tuple[int, object]]:
    offset = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if wanted is not None and (number >= len(wanted) or not wanted[number]):
                continue  # a line an earlier pass read, of no use to this one
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidData(DataIssue(f"{path.name}:{number}", "encoding", None,
                                            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                                            f"at offset {offset + exc.start})")) from None
            offset += len(raw)
            line = line.removeprefix("\ufeff") if number == 1 else line
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidData(DataIssue(f"{path.name}:{number}", "json", line.strip()[:60],
                                                f"is not JSON ({exc.msg})")) from None


def _json_array(name: str, text: str, blocks: Iterator[str]) -> Iterator[tuple[int, object]]:
    """The statements of a JSON array whose text starts with ``text`` and goes on in ``blocks``."""
    decoder = json.JSONDecoder()
    first = 1  # the line text[0] is on
    line, counted = 1, 0  # the line text[counted] is on
    done = False

    def more() -> bool:
        nonlocal text, done
        block = next(blocks, None)
        done = block is None
        text += block or ""
        return not done

    def line_at(offset: int) -> int:  # counting newlines once, as the parse moves forward
        nonlocal line, counted
        line += text.count("\n", counted, offset)
        counted = offset
        return line

    def skip(offset: int) -> int:
        while (offset := _SPACE.match(text, offset).end()) == len(text) and more():
            pass
        return offset

    position = skip(_SPACE.match(text).end() + 1)
    while position < len(text) and text[position] != "]":
        if position > _BLOCK:  # let go of the text parsed
            first = line_at(position)
            text, line, counted, position = text[position:], first, 0, 0
        while True:
            try:
                statement, end = decoder.raw_decode(text, position)
                if end < len(text) or done:  # a number at the end of the text may go on
                    break
            except json.JSONDecodeError as exc:
                if done or len(text) - position > _LONGEST:
                    raise InvalidData(DataIssue(f"{name}:{first + exc.lineno - 1}", "json", None,
                                                f"cannot be parsed: {exc.msg}")) from None
            more()  # the statement may go on in the next block
        yield line_at(position), statement
        position = skip(end)
        if position < len(text) and text[position] == ",":
            position = skip(position + 1)
        elif position >= len(text) or text[position] != "]":
            raise InvalidData(DataIssue(f"{name}:{line_at(position)}", "json", None,
                                        "expected ',' or ']' after a statement"))


@dataclass
class _Statement:
    origin: str  # the file's name
    line: int
    order: int  # its position in the input: statements later in it have higher orders
    data: dict

    @property
    def where(self) -> str:
        """``file.json:12 (statement s1)``"""
        return f"{self.origin}:{self.line} (statement {self.data['statementId']})"

    @property
    def details(self) -> dict:
        return self.data["recordDetails"]


class _Issues(list):
    def add(self, statement: _Statement | str, field: str, value, reason: str) -> None:
        if len(self) < _MAX_ISSUES:
            where = statement if isinstance(statement, str) else statement.where
            self.append(DataIssue(where, field, value, reason))


def _check_statement(where: str, data, issues: _Issues) -> bool:
    """The envelope every statement needs: a statementId, a recordId, a known recordType and
    recordDetails (BODS 0.4 ``statement.json``)."""
    if not isinstance(data, dict):
        issues.add(where, "statement", str(data)[:60], "is not a JSON object")
        return False
    ok = True
    for field in ("statementId", "recordId"):
        if not isinstance(data.get(field), str) or not data[field].strip():
            issues.add(where, field, data.get(field), "is required and must be a non-empty string")
            ok = False
    if data.get("recordType") not in _RECORD_TYPES:
        issues.add(where, "recordType", data.get("recordType"), f"is not one of {', '.join(_RECORD_TYPES)}")
        ok = False
    if not isinstance(data.get("recordDetails"), dict):
        issues.add(where, "recordDetails", None, "is required and must be an object")
        ok = False
    return ok


def _date(statement: _Statement, field: str, value, issues: _Issues) -> str | None:
    """An ISO date (BODS dates are ``YYYY-MM-DD``; a statementDate may carry a time)."""
    if value is None:
        return None
    text = str(value)[:10]
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        issues.add(statement, field, value, "is not a date YYYY-MM-DD")
        return None
    return text


def _entity_row(s: _Statement, mapping: _Mapping, issues: _Issues) -> dict | None:
    details = s.details
    if s.data["recordType"] == "entity":
        entity_type = (details.get("entityType") or {}).get("type")
        kind = mapping.entity_kinds.get(entity_type)
        if kind is None:
            issues.add(s, "recordDetails.entityType.type", entity_type,
                       f"is not one of {', '.join(mapping.entity_kinds)}")
            return None
        name = details.get("name")
        jurisdiction = (details.get("jurisdiction") or {}).get("code")
        identifiers = [i for i in details.get("identifiers") or [] if isinstance(i, dict) and i.get("id")]
        registration = None
        if identifiers:  # org-id.guide's form: the register's scheme, then its id
            first = identifiers[0]
            registration = f"{first['scheme']}-{first['id']}" if first.get("scheme") else first["id"]
    else:
        kind = "person"
        names = [n for n in details.get("names") or [] if isinstance(n, dict)]
        names.sort(key=lambda n: n.get("type") != "legal")  # the legal name first, others in order
        name = next((n["fullName"] for n in names if n.get("fullName")), None) or next(
            (" ".join(filter(None, (n.get("givenName"), n.get("familyName")))) for n in names
             if n.get("givenName") or n.get("familyName")), None)
        nationalities = [n for n in details.get("nationalities") or [] if isinstance(n, dict)]
        jurisdiction = nationalities[0].get("code") if nationalities else None
        registration = None
    if not name:
        # A person or entity whose identity is withheld or unknown is still a node of the
        # network: it is named by what the statement says it is, never given an invented name.
        withheld = details.get("personType") or (details.get("entityType") or {}).get("type")
        if withheld in ("anonymousPerson", "unknownPerson", "anonymousEntity", "unknownEntity"):
            name = f"{withheld} {s.data['recordId']}"
        else:
            issues.add(s, "recordDetails.name" if kind != "person" else "recordDetails.names", None,
                       "is required: the record has no name")
            return None
    return {"id": s.data["recordId"], "kind": kind, "name": name, "jurisdiction": jurisdiction,
            "registration_id": registration, "address": _address(details, mapping), "value": None,
            "source_ref": f"bods:{s.data['statementId']}"}


def _address(details: dict, mapping: _Mapping) -> str | None:
    """The record's address of the most preferred type (``address_types``): its text, with the
    postcode added where the text lacks it.

    >>> mapping = _load_mapping()
    >>> _address({"addresses": [{"type": "service", "address": "52 Front St, London", "postCode": "SE16 2WN"},
    ...                         {"type": "registered", "address": "Aston House, London, N3 1LF", "postCode": "N3 1LF"}]},
    ...          mapping)
    'Aston House, London, N3 1LF'
    >>> _address({"addresses": [{"type": "service", "address": "52 Front St, London", "postCode": "SE16 2WN"}]}, mapping)
    '52 Front St, London, SE16 2WN'
    >>> _address({"addresses": [{"type": "placeOfBirth", "address": "Leeds"}]}, mapping) is None
    True
    """
    given = [a for a in details.get("addresses") or [] if isinstance(a, dict) and (a.get("address") or "").strip()]
    for wanted in mapping.address_types:
        for address in given:
            if address.get("type") == wanted:
                text, code = address["address"].strip(), (address.get("postCode") or "").strip()
                return f"{text}, {code}" if code and code not in text else text
    return None


def _percent(s: _Statement, field: str, value, issues: _Issues) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        issues.add(s, field, value, "is not a percentage in [0, 100]")
        return None
    return value / 100


def _share(s: _Statement, where: str, share, issues: _Issues) -> tuple[float | None, float | None, float | None]:
    """``share``, ``share_low``, ``share_high`` from a BODS share object.

    Exclusive bounds are kept as the closed range's ends: graphscore's ranges are closed, so
    "more than 50 %" (``exclusiveMinimum`` 50) gives ``share_low`` 0.5."""
    if not isinstance(share, dict):
        return None, None, None
    exact = _percent(s, f"{where}.exact", share.get("exact"), issues)
    if exact is not None:
        return exact, None, None
    low = share.get("minimum", share.get("exclusiveMinimum"))
    high = share.get("maximum", share.get("exclusiveMaximum"))
    low = _percent(s, f"{where}.minimum", low, issues)
    high = _percent(s, f"{where}.maximum", high, issues)
    if low is not None and high is not None and low > high:
        issues.add(s, f"{where}.minimum", share.get("minimum", share.get("exclusiveMinimum")),
                   "is above the maximum")
        return None, None, None
    if low is not None and low == high:
        return low, None, None
    return None, low, high


def _percent_text(low: float | None, high: float | None) -> str:
    """A stake as role text, e.g. ``75%`` or ``25-50%`` or ``>=25%``."""
    def pc(x: float) -> str:
        return f"{x * 100:g}%"
    if low is not None and high is not None:
        return pc(low) if low == high else f"{low * 100:g}-{pc(high)}"
    return f">={pc(low)}" if low is not None else f"<={pc(high)}"


def _link_rows(s: _Statement, mapping: _Mapping, resolve: Callable[[str], tuple[str | None, bool]],
               issues: _Issues, unspecified: list[str], period: tuple[str | None, str | None]) -> list[dict]:
    """The links of one relationship statement, each held within ``period`` (from, until): the
    part of the record's series this statement speaks for (see :func:`_series_periods`).
    ``resolve`` gives, for a recordId, the recordType of the record's latest statement (None
    for no record of the input) and whether that statement gave an entity row."""
    details, model = s.details, load_model()
    ends = {}
    for field, allowed in (("subject", ("entity",)), ("interestedParty", ("entity", "person"))):
        value = details.get(field)
        if isinstance(value, dict):  # an Unspecified Record: BODS' way to say who is unknown, and why
            unspecified.append(f"{s.where} {field} unspecified ({value.get('reason', 'no reason given')})")
            return []
        record_type, mapped = resolve(value) if isinstance(value, str) else (None, False)
        if record_type is None:
            issues.add(s, f"recordDetails.{field}", value,
                       "is not the recordId of any entity or person statement in the input")
            return []
        if record_type not in allowed:
            issues.add(s, f"recordDetails.{field}", value,
                       f"is a {record_type} record, but a {field} must be {' or '.join(allowed)}")
            return []
        ends[field] = value, mapped
    refused = [value for value, mapped in ends.values() if not mapped]  # their statements said why
    ends = {field: value for field, (value, _) in ends.items()}
    if ends["subject"] == ends["interestedParty"]:
        issues.add(s, "recordDetails.interestedParty", ends["subject"], "is the subject itself")
        return []
    if details.get("componentRecords") and any(
            (i or {}).get("directOrIndirect") == "indirect" for i in details.get("interests") or []):
        return []  # its components carry the chain: an indirect record on top would count it twice
    closed = s.data.get("recordStatus") == "closed"
    closed_on = _date(s, "statementDate", s.data.get("statementDate"), issues) if closed else None
    interests = details.get("interests")
    rows = []
    base = {"source": ends["interestedParty"], "target": ends["subject"], "share": None,
            "share_low": None, "share_high": None, "start": None, "end": closed_on}
    if not interests:
        link, role = mapping.no_interest
        rows = [{**base, "type": link, "role": role, "source_ref": f"bods:{s.data['statementId']}"}]
    for i, interest in enumerate(interests or []):
        where = f"recordDetails.interests[{i}]"
        if not isinstance(interest, dict):
            issues.add(s, where, None, "is not an object")
            continue
        # the schema leaves an interest's type optional: one without is an interest of unknown type
        code = interest.get("type", mapping.no_interest[1])
        if code not in mapping.interests:
            issues.add(s, f"{where}.type", code, "is not a BODS 0.4 interest type (codelist interestType)")
            continue
        link, role = mapping.interests[code]
        share, low, high = _share(s, f"{where}.share", interest.get("share"), issues)
        if interest.get("directOrIndirect") == "indirect":
            link, role = mapping.indirect_link, f"indirect {code}"
        elif role is None:
            role = None if link == "OWNS" else code
        if link != "OWNS":
            stake = (share, share) if share is not None else (low, high)
            if stake != (None, None) and not model.links[link].role_enum:  # an enum role stays bare
                role = f"{role} {_percent_text(*stake)}"
            share = low = high = None
        start = _date(s, f"{where}.startDate", interest.get("startDate"), issues)
        end = _date(s, f"{where}.endDate", interest.get("endDate"), issues) or closed_on
        if start and end and end < start:
            issues.add(s, f"{where}.endDate", end, f"is before the startDate {start}")
        rows.append({**base, "type": link, "share": share, "share_low": low, "share_high": high,
                     "role": role, "start": start, "end": end,
                     "source_ref": f"bods:{s.data['statementId']}#interests/{i}"})
    since, until = period
    for row in rows:
        if since and (row["start"] is None or row["start"] < since):
            row["start"] = since
        if until and (row["end"] is None or row["end"] > until):
            row["end"] = until
    # a row whose interest ended before this statement's part of the series holds nothing
    return [] if refused else [row for row in rows if not (row["start"] and row["end"] and row["end"] <= row["start"])]



def _stated(statement: _Statement) -> tuple[str, ...]:
    """The start and end dates a relationship statement's interests give (for :func:`_series_periods`)."""
    return tuple(i.get(field) for i in statement.details.get("interests") or [] for field in ("startDate", "endDate")
                 if isinstance(i, dict) and isinstance(i.get(field), str))


def _series_periods(series: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str | None, str | None]]:
    """The part of a relationship record's history each of its statements speaks for.

    ``series`` holds, for each statement of one record ordered by ``statementDate`` (ties by
    order in the input), its ``statementDate`` and the dates its interests give
    (:func:`_stated`). A later statement takes over
    from the one before on the earliest ``startDate`` or ``endDate`` it gives that is after the
    earlier statement's date (registers that date the change, e.g. 40 % from 2021-09-24 stated
    on 2021-09-25, or a stake ended on 2023-05-01 and closed the next day), else on its own
    ``statementDate`` (registers that keep the stake's first start and restate it, e.g. 100 %
    from 2019-09-11 stated on 2022-01-21). The first statement speaks from its interests'
    starts, the last until their ends.

    >>> _series_periods([("2020-01-01", ("2019-05-01",)), ("2021-07-02T10:00:00", ("2021-07-01",)),
    ...                  ("2022-01-21", ("2019-05-01",))])
    [(None, '2021-07-01'), ('2021-07-01', '2022-01-21'), ('2022-01-21', None)]
    """
    changes = []
    for (before, _), (after, stated) in zip(series, series[1:]):
        later = [date for date in stated if date > before[:10]]
        changes.append(min(later) if later else after[:10] or None)
    return list(zip([None, *changes], [*changes, None]))


class BodsChunks:
    """BODS statements (a file, or a folder of them) as chunks of raw rows per table
    (:func:`iter_bods`), made in passes over the input so that no pass holds more than a
    chunk of rows and a statement.

    The first pass parses every statement and checks its envelope, and learns what the others
    need from the whole input, keyed by ``recordId`` (a relationship may name records that
    come later, and an entity is its latest statement wherever it is): per record, the type
    and order of its latest statement and whether that statement maps to an entity (its
    refusals, if any, kept to be reported), and how many relationship statements it has; per
    statement, a 64-bit hash of its ``statementId`` (a repeated hash is confirmed on the ids
    themselves in a pass of its own). Where relationship records are series of several
    statements, a pass collects their dates and works out each statement's part of the
    record's history (:func:`_series_periods`). Then the entities' pass makes the rows of
    each record's latest statement, the links' pass the rows of every relationship statement,
    each in input order; the penalties table is empty. The first pass marks each position's
    record type, so that the later passes over a JSON lines file (the form registers' bulk
    files take) parse only the lines they use.

    Memory so holds, beside a chunk, one dictionary entry and a few bytes per record (the
    keys that resolve a reference), 9 bytes per statement (its id's hash and its mark), and
    the dates of the statements of records that have more than one; never the statements
    themselves.

    Every refusal is reported at once, naming file, line, statement and field, as
    :class:`~graphscore.errors.InvalidData`: those of the first pass (envelopes, repeated
    statementIds, entity and person records), with every link refusal (a pass over the
    relationships made for it), before any row is handed on; otherwise the link refusals at
    the end of the links' pass (a load writes to a copy of the store: what it wrote goes).
    """

    def __init__(self, path: str | Path, *, chunk_rows: int | None = None):
        self.path = Path(path)
        self.files = _files(self.path) if self.path.is_dir() else [self.path]
        if not self.files:
            raise InvalidData(DataIssue(str(self.path), "path", None, "holds no .json or .jsonl BODS files"))
        self.chunk_rows = chunk_rows or CHUNK_ROWS
        self._mapping = _load_mapping()
        self._records: dict[str, int] | None = None  # recordId -> its number, by first appearance
        self._types = bytearray()  # per record: the index in _RECORD_TYPES of its latest statement's type
        self._mapped = bytearray()  # per record: 1 where its latest statement gives an entity row
        self._latest = array("q")  # per record: the order of its latest statement
        self._periods: dict[int, tuple[str | None, str | None]] = {}  # order -> its part of a series
        self._marks: list[bytearray] = []  # per file, per position: 1 + the type of a well-formed statement
        self._spans: list[int] = []  # per file: its positions (the orders of its statements follow the file's before)
        self._faulty = False  # whether a statement's envelope was refused
        self._refused: InvalidData | None = None  # what the first pass found wrong

    def tables(self) -> dict:
        """Table name -> its chunks, as :func:`graphscore.model.validate_chunks` takes them."""
        return {table: ChunkPass(functools.partial(self._pass, table)) for table in TABLE_NAMES}

    def _read(self, issues: _Issues | None = None, types: tuple[int, ...] | None = None) -> Iterator[_Statement]:
        """Every statement with a well-formed envelope, numbered by its position in the input.
        The first pass gives ``issues`` for the others' faults, and marks the type of each
        statement; a later pass may ask for ``types`` (indices in ``_RECORD_TYPES``) only,
        the other lines of a JSON lines file then skipped unparsed."""
        base = 0
        for i, file in enumerate(self.files):
            name, span = file.name, 0
            if issues is not None:
                self._marks.append(bytearray())
            marks, wanted = self._marks[i], None
            if types is not None:
                table = bytearray(256)
                for code in types:
                    table[code + 1] = 1
                wanted = marks.translate(table)
            for position, line, data in _statements(file, wanted):
                span = position + 1
                if wanted is not None and not (position < len(wanted) and wanted[position]):
                    continue
                if issues is not None:
                    if not _check_statement(f"{name}:{line}", data, issues):
                        continue
                    if position >= len(marks):
                        marks.extend(bytes(position + 1 - len(marks)))
                    marks[position] = _RECORD_TYPES.index(data["recordType"]) + 1
                elif self._faulty and not _check_statement(f"{name}:{line}", data, _Issues()):
                    continue
                yield _Statement(name, line, base + position, data)
            if issues is not None:
                self._spans.append(span)
            base += self._spans[i]

    def _scan(self) -> None:
        """The first pass, once (see the class), and the passes it needs for repeated
        statementIds and series; raises every refusal found so far with the links' (again
        each time a pass is asked for)."""
        if self._refused is not None:
            raise self._refused
        if self._records is not None:
            return
        issues, records, dates, interned = _Issues(), {}, [], {}
        relationships = array("l")  # per record: its relationship statements
        refusals: dict[int, _Issues] = {}  # record -> the refusals of its latest statement
        hashes = array("q")
        for s in self._read(issues):
            hashes.append(hash(s.data["statementId"]))
            date = str(s.data.get("statementDate") or "")
            date = interned.setdefault(date, date)  # a register has few distinct dates
            code = _RECORD_TYPES.index(s.data["recordType"])
            r = records.get(s.data["recordId"])
            if r is None:
                r = records[s.data["recordId"]] = len(dates)
                dates.append(date)
                self._types.append(code)
                self._mapped.append(0)
                self._latest.append(s.order)
                relationships.append(0)
            relationships[r] += code == _RELATIONSHIP
            if date < dates[r]:  # an earlier statement of the record: the latest holds
                continue
            dates[r], self._types[r], self._latest[r] = date, code, s.order
            found = _Issues()
            self._mapped[r] = code != _RELATIONSHIP and _entity_row(s, self._mapping, found) is not None
            if found:
                refusals[r] = found
            else:
                refusals.pop(r, None)
        if not hashes and not issues:
            raise InvalidData(DataIssue(str(self.path), "statements", None, "holds no BODS statements"))
        self._faulty = bool(issues)
        del dates, interned
        self._records = records
        repeated = np.sort(np.frombuffer(hashes, np.int64))
        repeated = set(repeated[1:][repeated[1:] == repeated[:-1]].tolist())
        del hashes
        if repeated:  # the ids of those hashes, compared (a hash may be shared by two ids)
            seen: dict[str, str] = {}
            for s in self._read():
                if hash(statement_id := s.data["statementId"]) in repeated:
                    if (first := seen.setdefault(statement_id, s.where)) != s.where:
                        issues.add(s, "statementId", statement_id, f"repeats the statement at {first}")
        for r in sorted(refusals):  # in the order records first appear, as they are listed
            issues.extend(refusals[r][:_MAX_ISSUES - len(issues)])
        if any(n > 1 for n in relationships):
            self._series(relationships)
        if issues:
            for _ in self._link_rows(issues):  # every refusal in one report
                pass
            self._refused = InvalidData(issues)
            raise self._refused

    def _series(self, relationships: array) -> None:
        """Each statement's part of the history of a relationship record of several statements."""
        series: dict[int, list[tuple[str, int, tuple[str, ...]]]] = {}
        for s in self._read(types=(_RELATIONSHIP,)):
            if relationships[r := self._records[s.data["recordId"]]] > 1:
                series.setdefault(r, []).append((str(s.data.get("statementDate") or ""), s.order, _stated(s)))
        for statements in series.values():
            statements.sort(key=lambda item: item[:2])
            periods = _series_periods([(date, stated) for date, _, stated in statements])
            self._periods.update((order, period) for (_, order, _), period in zip(statements, periods))

    def _resolve(self, record_id: str) -> tuple[str | None, bool]:
        r = self._records.get(record_id)
        return (None, False) if r is None else (_RECORD_TYPES[self._types[r]], bool(self._mapped[r]))

    def _entity_rows(self) -> Iterator[tuple[_Statement, dict]]:
        for s in self._read(types=_PARTIES):
            if self._latest[self._records[s.data["recordId"]]] == s.order:
                yield s, _entity_row(s, self._mapping, _Issues())

    def _link_rows(self, issues: _Issues | None = None) -> Iterator[tuple[_Statement, dict]]:
        """Every relationship statement's rows; raises the refusals at the end, unless given
        ``issues`` to add them to, and warns of those naming no one."""
        found, unspecified = _Issues() if issues is None else issues, []
        for s in self._read(types=(_RELATIONSHIP,)):
            period = self._periods.get(s.order, (None, None))
            for row in _link_rows(s, self._mapping, self._resolve, found, unspecified, period):
                yield s, row
        if issues is not None:
            return
        if found:
            raise InvalidData(found)
        if unspecified:
            warnings.warn(f"{self.path.name}: {len(unspecified)} relationship statements name no one to link to: "
                          + "; ".join(unspecified[:3]) + (" ..." if len(unspecified) > 3 else ""),
                          GraphscoreWarning, stacklevel=2)

    def _pass(self, table: str) -> Iterator[pd.DataFrame]:
        self._scan()
        rows = self._entity_rows() if table == "entities" else self._link_rows() if table == "links" else iter(())
        columns = list(load_model().tables[table].column_names)
        kept, lines, origin, handed = [], [], self.files[0].name, False
        for s, row in rows:
            if kept and (len(kept) >= self.chunk_rows or s.origin != origin):  # a chunk names one file
                yield _frame(kept, columns, origin, lines)
                kept, lines, handed = [], [], True
            origin = s.origin
            kept.append(row)
            lines.append(s.line)
        if kept or not handed:
            yield _frame(kept, columns, origin, lines)


def _frame(rows: list[dict], columns: list[str], origin: str, lines: list[int]) -> pd.DataFrame:
    # object dtype keeps None as None: pandas 3 would store missing text as NaN.
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    frame.attrs.update(origin=origin, lines=LineNumbers(lines))
    return frame



def iter_bods(path: str | Path, *, chunk_rows: int | None = None) -> dict:
    """BODS statements (a file, or a folder of them) as chunks of raw rows per table, as
    :func:`graphscore.io.tables.iter_tables` gives a folder's: what
    :class:`~graphscore.model.ValidatedStream` validates and a store writes as they are read
    (:class:`BodsChunks`). The rows, lines, refusals and warnings are those of :func:`read_bods`;
    each chunk names one file (``origin``) and the line each row's statement starts on.

    Examples
    --------
    >>> import tempfile
    >>> statements = [
    ...     {"statementId": "r", "recordId": "r1", "recordType": "relationship",
    ...      "recordDetails": {"subject": "acme", "interestedParty": "ann", "interests": []}},
    ...     {"statementId": "a", "recordId": "acme", "recordType": "entity",
    ...      "recordDetails": {"entityType": {"type": "registeredEntity"}, "name": "Acme Ltd"}},
    ...     {"statementId": "p", "recordId": "ann", "recordType": "person",
    ...      "recordDetails": {"personType": "knownPerson", "names": [{"fullName": "Ann Lee"}]}}]
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "forward.jsonl"
    ...     _ = path.write_text("".join(json.dumps(s) + "\\n" for s in statements), encoding="utf-8")
    ...     chunks = iter_bods(path, chunk_rows=1)
    ...     [(name, [(c["source_ref"].tolist(), list(c.attrs["lines"])) for c in chunks[name]]) for name in chunks]
    [('entities', [(['bods:a'], [2]), (['bods:p'], [3])]), ('links', [(['bods:r'], [1])]), ('penalties', [([], [])])]
    """
    return BodsChunks(path, chunk_rows=chunk_rows).tables()


def read_bods(path: str | Path) -> Tables:
    """Read BODS 0.4 statements (a JSON array or JSON lines file, or a folder of them) into raw
    tables: :func:`iter_bods`'s chunks, each table made one frame.

    A folder is one package: its files are read in name order, and a relationship may name a
    record of any of them.

    Parameters
    ----------
    path : str or Path
        The file or folder, UTF-8.

    Returns
    -------
    Tables
        Columns exactly as ``schema/model.toml`` declares them, dates as ISO text; each table's
        ``attrs`` hold ``origin`` and ``lines`` (the line each row's statement starts on), so that
        :func:`graphscore.model.validate` names file and line. For a folder of several files,
        ``origin`` is the folder's name and rows are numbered as in one table (:func:`iter_bods`
        names each chunk's file and lines); the reader names file and line itself for
        everything it checks (all that validate checks of a BODS input but a clash with a
        store's records).

    Raises
    ------
    InvalidData
        Each bad statement on its own line naming file, line, statement and field: a dangling
        ``subject`` or ``interestedParty`` (no record in the input has that ``recordId``), an
        unknown entity or interest type, a percentage outside [0, 100], a date that is not
        ``YYYY-MM-DD``, a record without a name, or a file that is not JSON.

    Warns
    -----
    GraphscoreWarning
        Naming the relationship statements whose subject or interested party is an Unspecified Record
        (a declared-unknown owner): they hold no link, since there is no one to link to.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "bad.json"
    ...     _ = path.write_text(json.dumps([{"statementId": "s9", "recordId": "r9",
    ...         "recordType": "relationship", "recordDetails": {"isComponent": False,
    ...         "subject": "nobody", "interestedParty": "noone", "interests": []}}]), encoding="utf-8")
    ...     read_bods(path)
    Traceback (most recent call last):
    ...
    graphscore.errors.InvalidData: bad.json:1 (statement s9): recordDetails.subject='nobody' is not the recordId of any entity or person statement in the input
    """
    frames = {}
    for table, chunks in iter_bods(path).items():
        chunks = list(chunks)
        frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
        origins = {chunk.attrs["origin"] for chunk in chunks}
        if len(origins) > 1:
            frame.attrs = {"origin": Path(path).name}
        elif len(chunks) > 1:
            frame.attrs = {"origin": origins.pop(),
                           "lines": LineNumbers(np.concatenate([list(c.attrs["lines"]) for c in chunks]))}
        frames[table] = frame
    return Tables(**frames)
