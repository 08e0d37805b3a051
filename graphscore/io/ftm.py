"""Read FollowTheMoney (FtM) JSON-lines files, as OpenSanctions and Aleph export them.

One FtM entity per line. People and organisations become entities; Ownership, Directorship,
Representation, Family and Associate become links; Sanction records (and entity ``topics`` such as
``sanction``) become penalties. How each FtM schema maps is declared in ``schema/ftm.toml``;
FtM schema inheritance is honoured, so a PublicBody maps as the Organization it extends.

Examples
--------
>>> import json, tempfile
>>> from pathlib import Path
>>> from graphscore.model import validate
>>> lines = [
...     {"id": "p", "schema": "Person", "properties": {"name": ["Ann"]}},
...     {"id": "c", "schema": "Company", "properties": {"name": ["Acme"], "topics": ["sanction"]},
...      "first_seen": "2023-04-20T10:50:14"},
...     {"id": "o", "schema": "Ownership",
...      "properties": {"owner": ["p"], "asset": ["c"], "percentage": ["25-50%"], "startDate": ["2019"]}},
... ]
>>> with tempfile.TemporaryDirectory() as folder:
...     path = Path(folder) / "acme.ftm.json"
...     _ = path.write_text("\\n".join(json.dumps(line) for line in lines), encoding="utf-8")
...     tables = read_ftm(path)
...     counts = count_schemata(path)
>>> tables.links[["source", "target", "type", "share", "share_low", "share_high", "start"]].values.tolist()
[['p', 'c', 'OWNS', None, 0.25, 0.5, '2019-01-01']]
>>> tables.penalties[["id", "kind", "start", "authority"]].values.tolist()
[['topic:sanction:c', 'sanction', '2023-04-20', 'OpenSanctions topic']]
>>> tables.links.attrs
{'origin': 'acme.ftm.json', 'lines': [3]}
>>> validate(tables).counts()
{'entities': 2, 'links': 1, 'penalties': 1}
>>> for (schema, outcome), n in sorted(counts.items()):
...     print(schema, outcome, n)
Company entity 1
Company topic penalty 1
Ownership link 1
Person entity 1
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import shutil
import tomllib
import warnings
import weakref
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from followthemoney import model as ftm_model
from followthemoney.exc import FollowTheMoneyException
from followthemoney.proxy import EntityProxy

from graphscore.errors import DataIssue, InvalidData, InvalidModel
from graphscore.model import TABLE_NAMES, ChunkPass, GraphscoreWarning, LineNumbers, Tables, load_model
from graphscore.scratch import scratch_folder

__all__ = ["read_ftm", "iter_ftm", "FtmChunks", "count_schemata", "regime_country"]

MAPPING_FILE = Path(__file__).parent.parent / "schema" / "ftm.toml"
_MAX_ISSUES = 200  # as graphscore.model.validate: enough to fix a file in one pass
_SHOWN = 3  # locations quoted in a warning; count_schemata gives the totals
# Rows of a chunk (FtmChunks): they are Python dicts until the chunk is made a frame, some
# 1 KB each, so fewer than a table file's chunk holds.
CHUNK_ROWS = 1 << 16
_ENTITY, _LINK, _PENALTY, _TOPICAL = 1, 2, 4, 8  # what a line gives, learnt by the first pass

# FtM dates are ISO 8601 prefixes of varying precision: "2015", "2015-11", "2015-11-25T10:00".
_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:[T ].*)?")
# Register percentages as written: "51", "51%", "33,3", "25-50%", "25 - 50", "<25%", ">= 75".
_NUMBER = r"\d+(?:[.,]\d+)?"
_PERCENTAGE = re.compile(rf"(?P<op>[<>≤≥]=?)?\s*(?P<low>{_NUMBER})\s*%?"
                         rf"(?:\s*[-–]\s*(?P<high>{_NUMBER})\s*%?)?")


@dataclass(frozen=True)
class _LinkRule:
    schema: str
    type: str
    source: str
    target: str
    role: str
    officer_role: bool  # map the role text onto the officer_role enum
    share: str | None  # property holding the stake as a percentage


@dataclass(frozen=True)
class _PenaltyRule:
    schema: str
    kind: str
    entity: str
    start: tuple[str, ...]
    end: tuple[str, ...]
    authority: tuple[str, ...]


@dataclass(frozen=True)
class _PenaltyClass:
    match: tuple[str, ...]  # casefolded phrases of the authority / program text
    regime: str
    kind: str | None  # the record's own kind, where the list is no sanction


@dataclass(frozen=True)
class _Mapping:
    entity_columns: dict[str, tuple[str, ...]]
    entity_kinds: tuple[tuple[str, str], ...]  # (FtM schema, graphscore kind), first match wins
    links: tuple[_LinkRule, ...]
    link_start: tuple[str, ...]
    link_end: tuple[str, ...]
    officer_roles: tuple[tuple[tuple[str, ...], str], ...]  # (casefolded phrases, role)
    penalties: tuple[_PenaltyRule, ...]
    topic_penalties: tuple[tuple[str, str], ...]  # (topic, penalty kind)
    severity: dict[str, float]
    topic_authority: str
    penalty_classes: tuple[_PenaltyClass, ...]
    regime_by_country: dict[str, str]
    address_reference: str  # entity property naming Address entities
    address_text: tuple[str, ...]  # Address properties holding its text


@functools.cache
def _load_mapping(path: Path = MAPPING_FILE) -> _Mapping:
    """Read ``schema/ftm.toml`` and check each name in it against FtM and the graphscore model.

    Raises
    ------
    InvalidModel
        If the file names an FtM schema or property, an entity kind or column, a link type, an
        officer role or a penalty kind (one without a severity) that does not exist.
    """
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    model = load_model()

    def check_properties(schema_name: str, *names: str) -> None:
        schema = ftm_model.get(schema_name)
        if schema is None:
            raise InvalidModel(f"{path}: {schema_name!r} is not a FollowTheMoney schema.")
        if missing := [n for n in names if n not in schema.properties]:
            raise InvalidModel(f"{path}: FtM schema {schema_name} has no properties {missing}.")

    def one_of(value: str, allowed, what: str) -> str:
        if value not in allowed:
            raise InvalidModel(f"{path}: {value!r} is not {what} ({', '.join(allowed)}).")
        return value

    kinds = tuple((e["schema"], one_of(e["kind"], model.enums["kind"], "an entity kind"))
                  for e in raw["entity"])
    entity_columns = {}
    for column, props in raw["entity_columns"].items():
        one_of(column, model.tables["entities"].column_names, "an entities column")
        for schema_name, _ in kinds:
            check_properties(schema_name, *props)
        entity_columns[column] = tuple(props)
    address_reference, address_text = raw["entity_address"]["reference"], tuple(raw["entity_address"]["text"])
    for schema_name, _ in kinds:
        check_properties(schema_name, address_reference)
    check_properties("Address", *address_text)
    link_start, link_end = tuple(raw["link_start"]), tuple(raw["link_end"])
    links = []
    for e in raw["link"]:
        share = e.get("share")
        check_properties(e["schema"], e["source"], e["target"], e["role"], *link_start, *link_end,
                         *([share] if share else []))
        links.append(_LinkRule(e["schema"], one_of(e["type"], list(model.links), "a link type"),
                               e["source"], e["target"], e["role"], bool(e.get("officer_role")), share))
    roles = model.enums["officer_role"]
    officer_roles = tuple((tuple(phrase.casefold() for phrase in e["match"]),
                           one_of(e["role"], roles, "an officer role")) for e in raw["officer_role"])
    severity = {kind: float(value) for kind, value in raw["penalty_severity"].items()}
    penalty_kinds = (list(severity), "a kind in [penalty_severity]")
    penalties = []
    for e in raw["penalty"]:
        check_properties(e["schema"], e["entity"], *e["start"], *e["end"], *e["authority"])
        penalties.append(_PenaltyRule(e["schema"], one_of(e["kind"], *penalty_kinds), e["entity"],
                                      tuple(e["start"]), tuple(e["end"]), tuple(e["authority"])))
    topic_penalties = tuple((e["topic"], one_of(e["kind"], *penalty_kinds)) for e in raw["topic_penalty"])
    classes = tuple(_PenaltyClass(tuple(phrase.casefold() for phrase in e["match"]), e["regime"],
                                  one_of(e["kind"], *penalty_kinds) if "kind" in e else None)
                    for e in raw["penalty_class"])
    return _Mapping(entity_columns, kinds, tuple(links), link_start, link_end, officer_roles,
                    tuple(penalties), topic_penalties, severity, raw["topic_authority"], classes,
                    dict(raw["penalty_regime_by_country"]), address_reference, address_text)


def regime_country(regime) -> str | None:
    """The ``country`` a Sanction record is written with so that reading it back gives ``regime``
    again, where the authority text does not: the country the regime was read from (``uk`` is
    written ``gb``), or None for a regime no country stands for (``us-ofac``, ``us-bis``, ...).

    Examples
    --------
    >>> regime_country("uk"), regime_country("nz"), regime_country("us-ofac"), regime_country(None)
    ('gb', 'nz', None, None)
    """
    if not isinstance(regime, str):
        return None
    by_country = _load_mapping().regime_by_country
    back = [country for country, name in by_country.items() if name == regime]
    if back:
        return back[0]
    return regime if len(regime) == 2 and regime.isalpha() and regime not in by_country else None


@dataclass(frozen=True)
class _Record:
    line: int
    proxy: EntityProxy
    caption: str | None  # the export's own pick among the entity's names
    first_seen: str | None


def _read_records(path: Path, wanted: np.ndarray | None = None) -> Iterator[_Record]:
    """Parse each line into an FtM entity proxy, one at a time, collecting every unreadable
    line: they are raised together once the file is read (so a caller must not write what it
    made of the records before the end). ``wanted``: parse only the lines (numbered from 1)
    where it is true, lines an earlier pass over the file read without fault."""
    name = path.name
    records, issues = 0, []
    offset = 0
    with path.open("rb") as lines:  # bytes, so a bad byte can be located in the file
        for number, raw in enumerate(lines, start=1):
            if wanted is not None:
                if number < len(wanted) and wanted[number]:
                    yield _parsed(number, raw)
                continue
            if len(issues) >= _MAX_ISSUES:
                break
            where = f"{name}:{number}"
            line_offset, offset = offset, offset + len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                issues.append(DataIssue(where, "encoding", raw[exc.start:exc.end],
                                        f"is not UTF-8 (byte offset {line_offset + exc.start})"))
                continue
            text = text.removeprefix("\ufeff") if number == 1 else text
            if not text.strip():
                continue  # a blank line, e.g. at the end, holds no entity
            try:
                data = json.loads(text)
            except json.JSONDecodeError:
                data = None
            if not isinstance(data, dict):
                issues.append(DataIssue(where, "json", text.strip()[:60], "is not a JSON object"))
                continue
            if "\\u" in text and (surrogate := _lone_surrogate(data)):
                issues.append(DataIssue(where, *surrogate, "holds a lone surrogate: it is not Unicode text"))
                continue
            properties = data.get("properties", {})
            if not isinstance(properties, dict) or not all(isinstance(v, list) for v in properties.values()):
                # a bare string is iterable: FtM would read "Alpha Inc" as the values "A", "l", ...
                issues.append(DataIssue(where, "properties", text.strip()[:60],
                                        "must map property names to lists of strings"))
                continue
            # cleaned=True takes values as written. Re-cleaning (cleaned=False) would silently drop
            # a date FtM cannot parse, turning a dated stake into one held "since ever"; as written,
            # such text reaches validate(), which names its file and line.
            try:
                proxy = ftm_model.get_proxy(data, cleaned=True)
            except FollowTheMoneyException:
                issues.append(DataIssue(where, "schema", data.get("schema"),
                                        "is not a FollowTheMoney schema"))
                continue
            except (AttributeError, TypeError):
                issues.append(DataIssue(where, "properties", text.strip()[:60],
                                        "must map property names to lists of strings"))
                continue
            if not proxy.id:
                issues.append(DataIssue(where, "id", proxy.id, "is required but empty"))
                continue
            records += 1
            yield _Record(number, proxy, data.get("caption"), data.get("first_seen"))
    if wanted is not None:
        return
    if issues:
        raise InvalidData(issues)
    if not records:
        raise InvalidData(DataIssue(name, "json", None, "holds no FtM entities (empty file)"))


def _parsed(number: int, raw: bytes) -> _Record:
    """A line :func:`_read_records` read without fault before, parsed again."""
    data = json.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    return _Record(number, ftm_model.get_proxy(data, cleaned=True), data.get("caption"), data.get("first_seen"))


def _first(proxy: EntityProxy, props) -> str | None:
    """First value of the first of ``props`` that has one."""
    return next((value for prop in props for value in proxy.get(prop, quiet=True)), None)


def _name(record: _Record) -> str | None:
    if record.caption:
        return record.caption
    # proxy.caption falls back to the schema label ("Company") when the entity has no name.
    if any(record.proxy.has(prop, quiet=True) for prop in record.proxy.schema.caption):
        return record.proxy.caption
    return None  # validate() reports the missing name


def _date(values, pick=min) -> str | None:
    """One ISO date from FtM date values; a partial date ('2019', '2019-05') is its first day.

    Several values give the earliest (``pick=min``) or latest (``pick=max``). Text that is no date
    is returned as is, so that validate() names it with its file and line.

    >>> _date(["2019-05", "2018"]), _date(["2023-12-21T10:00:00"], max), _date([])
    ('2018-01-01', '2023-12-21', None)
    >>> _date(["2018", "31/12/2020"])
    '31/12/2020'
    """
    dates = []
    for text in values:
        match = _PARTIAL_DATE.fullmatch(text.strip())
        if match is None:
            return text
        year, month, day = match.groups()
        dates.append(f"{year}-{month or '01'}-{day or '01'}")
    return pick(dates) if dates else None


def _stake(text: str) -> tuple[float | None, float | None] | None:
    """The (low, high) bounds a percentage states, as fractions; None when unreadable.

    >>> _stake("51"), _stake("25 - 50%"), _stake("<25%"), _stake(">= 75"), _stake("n/a")
    ((0.51, 0.51), (0.25, 0.5), (None, 0.25), (0.75, None), None)
    """
    match = _PERCENTAGE.fullmatch(text.strip())
    if match is None or (match["op"] and match["high"]):
        return None
    low = float(match["low"].replace(",", ".")) / 100
    if match["high"]:
        return low, float(match["high"].replace(",", ".")) / 100
    if match["op"]:
        return (None, low) if match["op"][0] in "<≤" else (low, None)
    return low, low


def _share(values) -> tuple[float | None, float | None, float | None, list[str]]:
    """``share``, ``share_low``, ``share_high`` and the unreadable texts, from percentage values.

    A stake known exactly is a share; otherwise the bounds the values state. Values that disagree
    (two sources, 50 % and 51 %) give the range they span rather than a pick of one.
    Out-of-range numbers pass through for validate() to report.

    >>> _share(["51"]), _share(["50", "51"]), _share(["about half"])
    ((0.51, None, None, []), (None, 0.5, 0.51, []), (None, None, None, ['about half']))
    """
    bounds = [(text, _stake(text)) for text in values]
    unreadable = [text for text, bound in bounds if bound is None]
    known = [bound for _, bound in bounds if bound is not None]
    if not known:
        return None, None, None, unreadable
    lows, highs = [low for low, _ in known], [high for _, high in known]
    low = None if None in lows else min(lows)
    high = None if None in highs else max(highs)
    if low is not None and low == high:
        return low, None, None, unreadable
    return None, low, high, unreadable


def _officer_role(text: str, mapping: _Mapping) -> str:
    """The officer_role a free-text role maps to: the first rule with a phrase in the text."""
    folded = text.casefold()
    matches = (role for phrases, role in mapping.officer_roles if any(p in folded for p in phrases))
    return next(matches, "other")


class _Builder:
    """Rows of the three tables from one file's records, and what became of each record."""

    def __init__(self, name: str, mapping: _Mapping, addresses: dict[str, str] | None = None):
        self.name, self.mapping, self.model = name, mapping, load_model()
        self.addresses = addresses or {}  # Address entity id -> its text
        self.rows = {table: [] for table in TABLE_NAMES}
        self.lines = {table: [] for table in self.rows}
        self.counts: Counter = Counter()
        self.skipped: list[str] = []  # locations of records skipped for their ends
        self.shareless: list[str] = []  # locations of percentages that could not be read
        self.kinds: dict[str, str] = {}  # entity id -> kind, of every entity of the file
        self.explicit: set[tuple[str, str]] = set()  # (entity, kind) named by a penalty record
        self._rules: dict[str, tuple] = {}  # FtM schema name -> what rules() says of it

    def emit(self, table: str, line: int, schema: str, row: dict, outcome: str) -> None:
        self.rows[table].append(row)
        self.lines[table].append(line)
        self.counts[schema, outcome] += 1

    def skip(self, line: int, schema: str, reason: str, detail: str) -> None:
        self.counts[schema, f"skipped: {reason}"] += 1
        self.skipped.append(f"{self.name}:{line} {schema} {detail}")

    def rules(self, schema) -> tuple[str | None, _LinkRule | None, _PenaltyRule | None]:
        """The entity kind, link rule and penalty rule an FtM schema maps by (each None where
        none does), the first that matches; worked out once per schema."""
        if schema.name not in self._rules:
            self._rules[schema.name] = (
                next((k for name, k in self.mapping.entity_kinds if schema.is_a(name)), None),
                next((rule for rule in self.mapping.links if schema.is_a(rule.schema)), None),
                next((rule for rule in self.mapping.penalties if schema.is_a(rule.schema)), None))
        return self._rules[schema.name]

    def entity(self, record: _Record) -> None:
        """The record's entity row; its address, where it names Address entities, the first
        text among them (every Address of the file is known by then: they may come later)."""
        proxy = record.proxy
        columns = {column: _first(proxy, props) for column, props in self.mapping.entity_columns.items()}
        if columns.get("address") is None and (named := proxy.get(self.mapping.address_reference, quiet=True)):
            columns["address"] = next((text for text in map(self.addresses.get, named) if text), None)
        self.emit("entities", record.line, proxy.schema.name,
                  {"id": proxy.id, "kind": self.kinds[proxy.id], "name": _name(record), **columns,
                   "source_ref": f"ftm:{proxy.id}"}, "entity")

    def link_rows(self, record: _Record, rule: _LinkRule) -> list[dict]:
        """One row per (source, target) pair the record names, its ends not yet checked
        (:meth:`link`: they may be entities of lines further on), with its line and schema."""
        proxy = record.proxy
        role_text = "; ".join(proxy.get(rule.role)) or None
        role, source_ref = role_text, f"ftm:{proxy.id}"
        if rule.officer_role and role_text:
            role, source_ref = _officer_role(role_text, self.mapping), f"ftm:{proxy.id} ({role_text})"
        share, share_low, share_high, unreadable = _share(proxy.get(rule.share) if rule.share else [])
        self.shareless += [f"{self.name}:{record.line} {rule.share}={text!r}" for text in unreadable]
        start = _date([v for p in self.mapping.link_start for v in proxy.get(p)])
        end = _date([v for p in self.mapping.link_end for v in proxy.get(p)], max)
        return [{"source": source, "target": target, "type": rule.type, "share": share, "share_low": share_low,
                 "share_high": share_high, "role": role, "start": start, "end": end, "source_ref": source_ref,
                 "_line": record.line, "_schema": proxy.schema.name}
                for source, target in itertools.product(proxy.get(rule.source) or [None],
                                                        proxy.get(rule.target) or [None])]

    def link(self, row: dict) -> None:
        """A row of :meth:`link_rows` emitted, or counted and noted as skipped for its ends."""
        line, schema = row.pop("_line"), row.pop("_schema")
        rule = self._rules[schema][1]
        link_type, source, target = self.model.links[rule.type], row["source"], row["target"]
        ends = (("source", rule.source, source, link_type.source_kinds),
                ("target", rule.target, target, link_type.target_kinds))
        missing = [f"{prop}={value!r}" for _, prop, value, _ in ends if value not in self.kinds]
        misfit = [f"{prop} {value!r} is a {self.kinds[value]}, but {rule.type} {end}s must be "
                  f"{' or '.join(allowed)}" for end, prop, value, allowed in ends
                  if value in self.kinds and self.kinds[value] not in allowed]
        if missing:
            self.skip(line, schema, "end not among the entities", ", ".join(missing))
        elif misfit:
            self.skip(line, schema, "end kind not allowed", "; ".join(misfit))
        elif source == target:  # the model has no self-links (e.g. a company's own shares)
            self.skip(line, schema, "self-link", f"{rule.source} and {rule.target} are both {source!r}")
        else:
            self.emit("links", line, schema, row, "link")

    def penalties(self, record: _Record, rule: _PenaltyRule) -> None:
        proxy = record.proxy
        start_prop = next((p for p in rule.start if proxy.has(p)), None)
        end_prop = next((p for p in rule.end if proxy.has(p)), None)
        start = _date(proxy.get(start_prop)) if start_prop else None
        targets = proxy.get(rule.entity)
        for entity in targets or [None]:
            if entity not in self.kinds:
                self.skip(record.line, proxy.schema.name, "end not among the entities", f"{rule.entity}={entity!r}")
                continue
            kind, regime = self.classify(proxy, rule)
            self.explicit.add((entity, kind))
            self.emit("penalties", record.line, proxy.schema.name, {
                # A record naming several entities gives one penalty each, with distinct ids.
                "id": proxy.id if len(targets) == 1 else f"{proxy.id}:{entity}",
                "entity": entity, "kind": kind, "severity": self.mapping.severity[kind],
                "start": start or _date([record.first_seen] if record.first_seen else []),
                "end": _date(proxy.get(end_prop), max) if end_prop else None,
                "repair_from": None, "authority": _first(proxy, rule.authority), "regime": regime,
                "source_ref": f"ftm:{proxy.id}"}, "penalty")

    def classify(self, proxy: EntityProxy, rule: _PenaltyRule) -> tuple[str, str | None]:
        """The record's kind and regime, from its authority and program text (``[[penalty_class]]``),
        else its country; the rule's kind where no class names another."""
        text = " ".join(value for prop in rule.authority for value in proxy.get(prop, quiet=True)).casefold()
        for rule_class in self.mapping.penalty_classes:
            if any(phrase in text for phrase in rule_class.match):
                return rule_class.kind or rule.kind, rule_class.regime
        country = next(iter(proxy.get("country", quiet=True)), None)
        return rule.kind, None if country is None else self.mapping.regime_by_country.get(country, country)

    def topic_penalties(self, record: _Record) -> None:
        """Penalties an entity's topics imply, for kinds no penalty record states for it."""
        entity, topics = record.proxy.id, record.proxy.get("topics", quiet=True)
        for topic, kind in self.mapping.topic_penalties:
            if topic in topics and (entity, kind) not in self.explicit:
                self.emit("penalties", record.line, record.proxy.schema.name, {
                    "id": f"topic:{topic}:{entity}", "entity": entity, "kind": kind,
                    "severity": self.mapping.severity[kind],
                    "start": _date([record.first_seen] if record.first_seen else []),
                    "end": None, "repair_from": None, "authority": self.mapping.topic_authority,
                    "regime": None, "source_ref": f"ftm:{entity} topics"}, "topic penalty")

    def frame(self, table: str) -> pd.DataFrame:
        """The rows of ``table`` emitted since the last call, as a raw chunk (they are let go)."""
        # object dtype keeps None as None: pandas 3 would store missing text as NaN.
        frame = pd.DataFrame(self.rows[table], columns=list(self.model.tables[table].column_names), dtype=object)
        frame.attrs.update(origin=self.name, lines=LineNumbers(self.lines[table]))
        self.rows[table], self.lines[table] = [], []
        return frame


class FtmChunks:
    """An FtM file's tables as chunks of raw rows (:func:`iter_ftm`), made in passes over
    the file so that no pass holds more than a chunk of rows.

    The first pass parses every line, reports every unreadable one (before any row is handed
    on) and learns what later passes need from the whole file: each entity's kind (a link or
    penalty may come before its ends), each Address's text (an entity may name one found
    later), which entities a penalty record names (a topic penalty is only for a kind no
    record states), and which lines give entities, penalties and topic penalties. Link records,
    most of a register, are turned into rows there and then, their ends unchecked, and kept
    on disk (Arrow IPC, in a temporary folder removed with this object) rather than parsed
    again. Each table's pass then makes its chunks: entities and penalties from their lines
    parsed again, links from the rows kept, each end checked against the kinds, all in file
    order. The warnings (records skipped, unreadable percentages) are given once the
    penalties' pass is done.
    """

    def __init__(self, path: str | Path, *, chunk_rows: int | None = None):
        self.path = Path(path)
        self.chunk_rows = chunk_rows or CHUNK_ROWS
        self._builder: _Builder | None = None
        self._lines: np.ndarray | None = None  # per line: the tables it gives rows (_ENTITY, ...)
        self._folder: Path | None = None  # the link rows kept by the first pass
        self._skipped: Counter = Counter()  # records of schemata the mapping ignores
        self._link_skips: list[str] = []  # the links' pass's skipped records, warned of after the penalties'
        self.counts: Counter = Counter()  # what became of each record, over the passes done

    def __getitem__(self, table: str) -> ChunkPass:
        return ChunkPass(functools.partial(self._pass, table))

    def tables(self) -> dict:
        """Table name -> its chunks, as :func:`graphscore.model.validate_chunks` takes them."""
        return {table: self[table] for table in TABLE_NAMES}

    def _scan(self) -> _Builder:
        """The first pass (once): every line parsed and checked, what the others need kept."""
        if self._builder is not None:
            return self._builder
        mapping = _load_mapping()
        builder = _Builder(self.path.name, mapping)
        topics = {topic for topic, _ in mapping.topic_penalties}
        marks = bytearray()
        skipped: Counter = Counter()
        folder = scratch_folder("graphscore-ftm-")  # a killed load's is removed by the next
        weakref.finalize(self, shutil.rmtree, folder, True)
        rows, writer = [], None
        try:
            for record in _read_records(self.path):
                proxy, schema = record.proxy, record.proxy.schema
                if record.line >= len(marks):
                    marks.extend(bytes(record.line + 1 - len(marks)))
                if schema.is_a("Address"):
                    builder.addresses[proxy.id] = _first(proxy, mapping.address_text)
                kind, link, penalty = builder.rules(schema)
                if kind is not None:
                    builder.kinds[proxy.id] = kind
                    marks[record.line] = _ENTITY | (_TOPICAL if topics.intersection(proxy.get("topics", quiet=True))
                                                    else 0)
                elif link is not None:
                    rows += builder.link_rows(record, link)
                    if len(rows) >= self.chunk_rows:
                        writer = _write_link_rows(rows, writer, folder)
                        rows = []
                elif penalty is not None:
                    marks[record.line] = _PENALTY
                    kind, _ = builder.classify(proxy, penalty)
                    builder.explicit.update((entity, kind) for entity in proxy.get(penalty.entity))
                else:
                    skipped[schema.name, "skipped: schema not mapped"] += 1
            writer = _write_link_rows(rows, writer, folder)
        finally:
            if writer is not None:
                writer.close()
        self._builder, self._lines, self._skipped = builder, np.frombuffer(bytes(marks), np.uint8), skipped
        self._folder = folder
        return builder

    def _records(self, mark: int) -> Iterator[_Record]:
        return _read_records(self.path, (self._lines & mark) > 0)

    def _link_rows(self) -> Iterator[dict]:
        with pa.OSFile(str(self._folder / _LINK_ROWS)) as source:
            for batch in pa.ipc.open_stream(source):
                yield from batch.to_pylist()

    def _pass(self, table: str) -> Iterator[pd.DataFrame]:
        builder = self._scan()
        builder.counts = Counter()
        if table == "entities":
            steps = ((record, builder.entity) for record in self._records(_ENTITY))
            builder.counts.update(self._skipped)
        elif table == "links":
            steps = ((row, builder.link) for row in self._link_rows())
        else:  # the penalty records first: what topics add depends on them
            steps = itertools.chain(
                ((record, functools.partial(builder.penalties, rule=builder.rules(record.proxy.schema)[2]))
                 for record in self._records(_PENALTY)),
                ((record, builder.topic_penalties) for record in self._records(_TOPICAL)))
        skipped, handed = len(builder.skipped), False
        for item, step in steps:
            step(item)
            if len(builder.rows[table]) >= self.chunk_rows:
                handed = True
                yield builder.frame(table)
        if builder.rows[table] or not handed:
            yield builder.frame(table)
        self.counts.update(builder.counts)
        if table == "links":
            self._link_skips = builder.skipped[skipped:]
        if table == "penalties":
            self._warn(builder, [*self._link_skips, *builder.skipped[skipped:]])
        del builder.skipped[skipped:]

    def _warn(self, builder: _Builder, skipped: list[str]) -> None:
        if skipped:
            warnings.warn(f"{builder.name}: skipped {len(skipped)} FtM records the model cannot hold: "
                          f"{_some(skipped)}", GraphscoreWarning, stacklevel=2)
        if builder.shareless:
            warnings.warn(f"{builder.name}: {len(builder.shareless)} percentages are no number or range; "
                          f"their links are kept without a share: {_some(builder.shareless)}",
                          GraphscoreWarning, stacklevel=2)


_LINK_ROWS = "links.arrows"
_TEXT_COLUMNS = ("source", "target", "type", "role", "start", "end", "source_ref")
_LINK_ROW_SCHEMA = pa.schema([*((name, pa.string()) for name in _TEXT_COLUMNS),
                              *((name, pa.float64()) for name in ("share", "share_low", "share_high")),
                              ("_line", pa.int64()), ("_schema", pa.string())])


def _write_link_rows(rows: list[dict], writer, folder: Path):
    """Rows of :meth:`_Builder.link_rows` appended to the first pass's file (opened by the
    first call, which may have no rows: the file then holds none)."""
    if writer is None:
        writer = pa.ipc.new_stream(str(folder / _LINK_ROWS), _LINK_ROW_SCHEMA)
    if rows:
        writer.write_batch(pa.RecordBatch.from_pylist(rows, schema=_LINK_ROW_SCHEMA))
    return writer



def iter_ftm(path: str | Path) -> dict:
    """An FtM JSON-lines file as chunks of raw rows per table, as
    :func:`graphscore.io.tables.iter_tables` gives a folder's: what
    :class:`~graphscore.model.ValidatedStream` validates and a store writes as they are read
    (:class:`FtmChunks`). The rows, lines and warnings are those of :func:`read_ftm`.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "two.ftm.json"
    ...     _ = path.write_text('{"id": "o", "schema": "Ownership", "properties": {"owner": ["p"], "asset": ["c"]}}\\n'
    ...                         '{"id": "p", "schema": "Person", "properties": {"name": ["Ann"]}}\\n'
    ...                         '{"id": "c", "schema": "Company", "properties": {"name": ["Acme"]}}\\n')
    ...     chunks = iter_ftm(path)
    ...     [(name, [(len(c), list(c.attrs["lines"])) for c in chunks[name]]) for name in chunks]
    [('entities', [(2, [2, 3])]), ('links', [(1, [1])]), ('penalties', [(0, [])])]
    """
    return FtmChunks(path).tables()


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(value, field: str = "json") -> tuple[str, str] | None:
    """The first field holding a lone surrogate (a JSON escape such as ``\\ud800`` that no
    UTF-8 text can hold), and its value with the surrogate escaped; None if there is none."""
    if isinstance(value, str):
        if _SURROGATE.search(value):
            return field, value.encode("utf-8", "backslashreplace").decode("utf-8")[:60]
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        name = field if isinstance(key, int) else (key if field in ("json", "properties") else f"{field}.{key}")
        if isinstance(key, str) and _SURROGATE.search(key):
            return "json", key.encode("utf-8", "backslashreplace").decode("utf-8")[:60]
        if found := _lone_surrogate(item, name):
            return found
    return None


def read_ftm(path: str | Path) -> Tables:
    """Read an FtM JSON-lines file into raw (not yet validated) tables.

    Mapping, as declared in ``schema/ftm.toml``:

    - Person -> ``person``; Company -> ``company``; Organization, PublicBody and plain
      LegalEntity -> ``organization``. ``name`` is the export's caption, ``jurisdiction`` the first
      jurisdiction or country, ``registration_id`` the first registration number, INN or OGRN,
      ``address`` the first ``address`` text, else the ``full`` text of the first Address
      entity its ``addressEntity`` names.
    - Ownership -> ``OWNS`` owner -> asset. ``percentage`` "51" is share 0.51; a range
      "25-50%" gives ``share_low`` / ``share_high``, "<25%" only ``share_high``; unreadable text
      leaves the link without a share (with a warning). Several records of one owner and asset
      stay separate rows: :func:`graphscore.timeline.active_links` picks the one in force.
    - Directorship -> ``OFFICER_OF`` director -> organization, its free-text role mapped onto
      the officer_role enum; the original text is kept in ``source_ref``.
    - Representation -> ``AGENT_OF`` agent -> client (a registered agent, an intermediary).
    - Family -> ``FAMILY`` person -> relative, Associate -> ``ASSOCIATE`` person -> associate,
      ``role`` = relationship.
    - Sanction -> penalty of kind ``sanction``. ``start`` is the earliest startDate, else
      listingDate, else the record's ``first_seen``; ``end`` the latest endDate. ``regime``
      comes from the authority and program text (OFAC -> ``us-ofac``, the Council of the EU or
      a member state's list under an EU regulation -> ``eu``, FCDO / OFSI -> ``uk``, the
      Security Council -> ``un``, ...; ``[[penalty_class]]`` in ``schema/ftm.toml``), else from
      the record's country. Lists that are no sanctions keep their own kind: the BIS Entity
      List is ``export_control`` (regime ``us-bis``), GSA / SAM exclusions ``exclusion``
      (``us-gsa``).
    - An entity whose ``topics`` include "sanction" or "debarment" gets a penalty of that kind,
      starting at its ``first_seen``, unless a penalty record of that kind names it.

    FtM dates may be partial ("2019", "2019-05"): each is taken as its first day (2019-01-01),
    so a stake recorded as ending in "2023" ends on 2023-01-01. Other schemata (Address,
    Passport, ...) are skipped, as are links whose ends are not entities of a kind the link
    type allows; :func:`count_schemata` counts them.

    Parameters
    ----------
    path : str or Path
        The file, UTF-8, one JSON object per line.

    Returns
    -------
    Tables
        Columns exactly as ``schema/model.toml`` declares them; dates as ISO strings or None.
        Each table's ``attrs`` hold ``origin`` (the file name) and ``lines`` (the line of each
        row's FtM record), so that :func:`graphscore.model.validate` names file and line.

    Raises
    ------
    InvalidData
        If the file is empty, not UTF-8 (naming the byte offset), or has a line that is not a
        JSON object of a known FtM schema with an id.

    Warns
    -----
    GraphscoreWarning
        Naming records skipped for their ends, and percentages that could not be read.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "bad.json"
    ...     _ = path.write_text('{"id": "a", "schema": "Person"}\\nnot json\\n', encoding="utf-8")
    ...     read_ftm(path)
    Traceback (most recent call last):
    ...
    graphscore.errors.InvalidData: bad.json:2: json='not json' is not a JSON object
    """
    frames = {}
    for table, chunks in iter_ftm(path).items():
        chunks = list(chunks)
        frame = chunks[0] if len(chunks) == 1 else pd.concat(chunks, ignore_index=True)
        if len(chunks) > 1:
            frame.attrs = {"origin": chunks[0].attrs["origin"],
                           "lines": LineNumbers(np.concatenate([list(c.attrs["lines"]) for c in chunks]))}
        frames[table] = frame
    return Tables(**frames)


def _some(locations: list[str]) -> str:
    return "; ".join(locations[:_SHOWN]) + (" ..." if len(locations) > _SHOWN else "")


def count_schemata(path: str | Path) -> Counter:
    """What became of each FtM record of a file, as :func:`read_ftm` reads it.

    Returns
    -------
    Counter
        Keyed by (FtM schema, outcome); outcome is "entity", "link", "penalty", "topic penalty"
        (penalties seeded from the entities' topics) or "skipped: <reason>". Apart from topic
        penalties, the counts add up to the file's records (one per link or penalty row where a
        record names several ends).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = Path(folder) / "family.ftm.json"
    ...     _ = path.write_text(
    ...         '{"id": "c", "schema": "Company", "properties": {"name": ["Acme"]}}\\n'
    ...         '{"id": "p", "schema": "Person", "properties": {"name": ["Ann"]}}\\n'
    ...         '{"id": "a", "schema": "Address", "properties": {"full": ["1 Main St"]}}\\n'
    ...         '{"id": "f", "schema": "Family", "properties": {"person": ["p"], "relative": ["c"]}}\\n',
    ...         encoding="utf-8")
    ...     counts = count_schemata(path)
    >>> for (schema, outcome), n in sorted(counts.items()):
    ...     print(schema, outcome, n)
    Address skipped: schema not mapped 1
    Company entity 1
    Family skipped: end kind not allowed 1
    Person entity 1
    """
    chunks = FtmChunks(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphscoreWarning)  # the counts say it
        for table in TABLE_NAMES:
            for _ in chunks[table]:
                pass
    return chunks.counts
