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
no penalties, so that table is empty.

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

import datetime as dt
import functools
import json
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pandas as pd

from graphscore.errors import DataIssue, InvalidData, InvalidModel
from graphscore.model import TABLE_NAMES, GraphscoreWarning, LineNumbers, Tables, load_model

__all__ = ["read_bods", "is_bods", "SUFFIXES"]

MAPPING_FILE = Path(__file__).parent.parent / "schema" / "bods.toml"
SUFFIXES = (".json", ".jsonl")
_MAX_ISSUES = 200  # as graphscore.model.validate: enough to fix a file in one pass
_RECORD_TYPES = ("entity", "person", "relationship")


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


def _statements(path: Path) -> Iterator[tuple[int, object]]:
    """Each statement of a file with the line it starts on: a JSON array, or JSON lines."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidData(DataIssue(path.name, "encoding", None,
                                    f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} "
                                    f"at offset {exc.start})")) from None
    start = len(text) - len(text.lstrip())
    if not text.strip():
        raise InvalidData(DataIssue(path.name, "file", None, "is empty"))
    if text[start] != "[":
        for number, line in enumerate(text.split("\n"), start=1):
            if line.strip():
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidData(DataIssue(f"{path.name}:{number}", "json", line.strip()[:60],
                                                f"is not JSON ({exc.msg})")) from None
        return
    decoder, position, line, counted = json.JSONDecoder(), start + 1, 1, 0

    def line_at(offset: int) -> int:  # counting newlines once, as the parse moves forward
        nonlocal line, counted
        line += text.count("\n", counted, offset)
        counted = offset
        return line

    def skip(offset: int) -> int:
        while offset < len(text) and text[offset] in " \t\r\n":
            offset += 1
        return offset

    position = skip(position)
    while position < len(text) and text[position] != "]":
        try:
            statement, end = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise InvalidData(DataIssue(f"{path.name}:{exc.lineno}", "json", None,
                                        f"cannot be parsed: {exc.msg}")) from None
        yield line_at(position), statement
        position = skip(end)
        if position < len(text) and text[position] == ",":
            position = skip(position + 1)
        elif position >= len(text) or text[position] != "]":
            raise InvalidData(DataIssue(f"{path.name}:{line_at(position)}", "json", None,
                                        "expected ',' or ']' after a statement"))


@dataclass
class _Statement:
    where: str  # "file.json:12 (statement s1)"
    origin: str
    line: int
    order: int
    data: dict

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


def _latest(statements: list[_Statement]) -> dict[str, _Statement]:
    """The latest statement of each record: by statementDate, ties by order in the input."""
    latest: dict[str, _Statement] = {}
    for s in statements:
        key = (str(s.data.get("statementDate") or ""), s.order)
        held = latest.get(s.data["recordId"])
        if held is None or key >= (str(held.data.get("statementDate") or ""), held.order):
            latest[s.data["recordId"]] = s
    return latest


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


def _link_rows(s: _Statement, mapping: _Mapping, records: dict[str, _Statement], kinds: dict[str, str],
               issues: _Issues, unspecified: list[str], period: tuple[str | None, str | None]) -> list[dict]:
    """The links of one relationship statement, each held within ``period`` (from, until): the
    part of the record's series this statement speaks for (see :func:`_series_periods`)."""
    details, model = s.details, load_model()
    ends = {}
    for field, allowed in (("subject", ("entity",)), ("interestedParty", ("entity", "person"))):
        value = details.get(field)
        if isinstance(value, dict):  # an Unspecified Record: BODS' way to say who is unknown, and why
            unspecified.append(f"{s.where} {field} unspecified ({value.get('reason', 'no reason given')})")
            return []
        target = records.get(value) if isinstance(value, str) else None
        if target is None:
            issues.add(s, f"recordDetails.{field}", value,
                       "is not the recordId of any entity or person statement in the input")
            return []
        if target.data["recordType"] not in allowed:
            issues.add(s, f"recordDetails.{field}", value,
                       f"is a {target.data['recordType']} record, but a {field} must be "
                       f"{' or '.join(allowed)}")
            return []
        ends[field] = value
    refused = [value for value in ends.values() if value not in kinds]  # their statements said why
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


def _series_periods(series: list[_Statement]) -> list[tuple[str | None, str | None]]:
    """The part of a relationship record's history each of its statements speaks for.

    Statements of one record are ordered by ``statementDate``. A later statement takes over
    from the one before on the earliest ``startDate`` or ``endDate`` it gives that is after the
    earlier statement's date (registers that date the change, e.g. 40 % from 2021-09-24 stated
    on 2021-09-25, or a stake ended on 2023-05-01 and closed the next day), else on its own
    ``statementDate`` (registers that keep the stake's first start and restate it, e.g. 100 %
    from 2019-09-11 stated on 2022-01-21). The first statement speaks from its interests'
    starts, the last until their ends.
    """
    def day(statement: _Statement) -> str:
        return str(statement.data.get("statementDate") or "")[:10]

    changes = []
    for before, after in zip(series, series[1:]):
        stated = [i.get(field) for i in after.details.get("interests") or [] for field in ("startDate", "endDate")
                  if isinstance(i, dict) and isinstance(i.get(field), str)]
        later = [start for start in stated if start > day(before)]
        changes.append(min(later) if later else day(after) or None)
    return list(zip([None, *changes], [*changes, None]))


def read_bods(path: str | Path) -> Tables:
    """Read BODS 0.4 statements (a JSON array or JSON lines file, or a folder of them) into raw tables.

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
        :func:`graphscore.model.validate` names file and line. For a folder, ``origin`` is the
        folder's name and rows are numbered as in one table; the reader names file and line
        itself for everything it checks (all that validate checks of a BODS input but a clash
        with a store's records).

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
    path = Path(path)
    files = _files(path) if path.is_dir() else [path]
    if not files:
        raise InvalidData(DataIssue(str(path), "path", None, "holds no .json or .jsonl BODS files"))
    mapping, issues = _load_mapping(), _Issues()
    statements = []
    for file in files:
        for line, data in _statements(file):
            where = f"{file.name}:{line}"
            if _check_statement(where, data, issues):
                statements.append(_Statement(f"{where} (statement {data['statementId']})", file.name,
                                             line, len(statements), data))
    if not statements and not issues:
        raise InvalidData(DataIssue(str(path), "statements", None, "holds no BODS statements"))
    seen: dict[str, str] = {}
    for s in statements:
        if (first := seen.setdefault(s.data["statementId"], s.where)) != s.where:
            issues.add(s, "statementId", s.data["statementId"], f"repeats the statement at {first}")
    records = _latest(statements)
    rows = {name: [] for name in TABLE_NAMES}
    lines = {name: [] for name in TABLE_NAMES}
    kinds = {}
    for s in records.values():
        if s.data["recordType"] != "relationship" and (row := _entity_row(s, mapping, issues)):
            kinds[row["id"]] = row["kind"]
            rows["entities"].append(row)
            lines["entities"].append(s.line)
    unspecified: list[str] = []
    series: dict[str, list[_Statement]] = {}
    for s in statements:
        if s.data["recordType"] == "relationship":
            series.setdefault(s.data["recordId"], []).append(s)
    for record in series.values():
        record.sort(key=lambda s: (str(s.data.get("statementDate") or ""), s.order))
        for s, period in zip(record, _series_periods(record)):
            for row in _link_rows(s, mapping, records, kinds, issues, unspecified, period):
                rows["links"].append(row)
                lines["links"].append(s.line)
    if issues:
        raise InvalidData(issues)
    if unspecified:
        warnings.warn(f"{path.name}: {len(unspecified)} relationship statements name no one to link to: "
                      + "; ".join(unspecified[:3]) + (" ..." if len(unspecified) > 3 else ""),
                      GraphscoreWarning, stacklevel=2)
    model = load_model()
    frames = {}
    for name in TABLE_NAMES:
        # object dtype keeps None as None: pandas 3 would store missing text as NaN.
        frame = pd.DataFrame(rows[name], columns=list(model.tables[name].column_names), dtype=object)
        frame.attrs["origin"] = files[0].name if len(files) == 1 else path.name
        if len(files) == 1:
            frame.attrs["lines"] = LineNumbers(lines[name])
        frames[name] = frame
    return Tables(**frames)
