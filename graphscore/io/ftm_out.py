"""Write validated tables as FollowTheMoney (FtM) JSON lines, the inverse of :mod:`graphscore.io.ftm`.

The mapping is the one ``schema/ftm.toml`` declares for reading, taken backwards, so that reading
the written file with :func:`graphscore.io.ftm.read_ftm` gives the same tables back:

- an entity becomes the first FtM schema declared for its kind (``person`` -> Person, ``company``
  -> Company, ``organization`` -> Organization); ``name`` -> ``name`` (and the record's
  ``caption``), each further column -> the first FtM property declared for it (``jurisdiction``
  -> ``jurisdiction``, ``registration_id`` -> ``registrationNumber``, ``address`` -> ``address``,
  which FtM cleans: a run of spaces becomes one, a line break ", ").
- a link becomes its type's FtM schema (OWNS -> Ownership, OFFICER_OF -> Directorship, FAMILY ->
  Family, ASSOCIATE -> Associate, AGENT_OF -> Representation) with ``startDate`` / ``endDate``. A share is written as the
  ``percentage`` it was read from: ``51``, a range ``25-50``, or one bound ``>=25`` / ``<=50``.
  An officer's role is the register's own text where the record came from FtM (kept in its
  ``source_ref``), else the role's words (``legal representative``). CONTROLS, which FtM has no
  schema for, becomes an ``UnknownLink`` (``subject`` -> ``object``, role ``controls``), which
  the reader does not map back.
- a penalty read from an FtM Sanction becomes that Sanction again (one record naming all the
  entities it named), with ``startDate``, ``endDate`` and ``authority``, and what the reader
  needs to give it its kind and regime again: the regime's phrase as ``program`` (``ofac``)
  where the authority does not name it, else the regime as ``country`` (``ch``); a penalty seeded from an
  entity's ``topics`` becomes that topic again, with the entity's ``first_seen`` its start; any
  other penalty becomes a Sanction whose ``provisions`` name the penalty kind.

Ids are kept: FtM-read records keep their FtM ids, and any other id that is a valid FtM entity id
(letters, digits, ``.`` and ``-``) is used as is; other ids are replaced by ``gs-`` and the SHA-1
of the id, as FtM's own ``make_id`` hashes keys, and so is the id of a link or penalty that an
entity already holds (graphscore keeps their ids apart, FtM has one space). Dates are ISO days (a partial FtM date, read as
its first day, is written as that day). Not kept, as FtM has no property for them: penalty
``severity`` and ``repair_from``, entity ``value``, and the FtM schema of an organisation read
from a PublicBody or LegalEntity (written as Organization).

References
----------
.. [1] FollowTheMoney data model: schemata ``Person``, ``Company``, ``Organization``,
   ``Ownership``, ``Directorship``, ``Family``, ``Associate``, ``UnknownLink``, ``Sanction``
   (``followthemoney/schema/*.yaml``), https://followthemoney.tech/explorer/

Examples
--------
>>> import tempfile, pandas as pd
>>> from graphscore.model import validate
>>> tables = validate(Tables(
...     pd.DataFrame({"id": ["p", "c"], "kind": ["person", "company"], "name": ["Ann", "Acme"]}),
...     pd.DataFrame({"source": ["p"], "target": ["c"], "type": ["OWNS"], "share_low": [0.25],
...                   "share_high": [0.5], "start": ["2019-05-01"]})))
>>> [e["schema"] for e in ftm_entities(tables)]
['Person', 'Company', 'Ownership']
>>> ftm_entities(tables)[2]["properties"]
{'owner': ['p'], 'asset': ['c'], 'startDate': ['2019-05-01'], 'percentage': ['25-50']}
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import warnings

import pandas as pd
from followthemoney import model as ftm_model
from followthemoney.types import registry

from graphscore.io.ftm import _Builder, _load_mapping
from graphscore.model import GraphscoreWarning, Tables, link_keys

__all__ = ["ftm_entities", "write_ftm"]

# FtM has no schema for control without ownership: the generic link, which the reader skips
CONTROLS_SCHEMA = ("UnknownLink", "subject", "object", "role", "controls")
_FTM_REF = re.compile(r"ftm:(?P<id>\S+)(?: \((?P<text>.*)\))?", re.DOTALL)


def _ftm_id(value: str) -> str:
    """``value`` where FtM accepts it as an entity id, else ``gs-`` and its SHA-1."""
    if registry.entity.validate(value):
        return value
    return "gs-" + hashlib.sha1(value.encode("utf-8")).hexdigest()


def _percent(share: float) -> str:
    """The shortest percentage text that reads back as exactly ``share`` (51 for 0.51).

    >>> _percent(0.51), _percent(1 / 3), _percent(0.125), _percent(1.0)
    ('51', '33.33333333333333', '12.5', '100')
    """
    for digits in range(17):
        text = f"{share * 100:.{digits}f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
        if float(text) / 100 == share:
            return text
    return repr(share * 100)


def _percentage(share, low, high) -> str | None:
    if not pd.isna(share):
        return _percent(share)
    low, high = (None if pd.isna(v) else v for v in (low, high))
    if low is not None and high is not None:
        return f"{_percent(low)}-{_percent(high)}"
    if low is not None:
        return f">={_percent(low)}"
    return f"<={_percent(high)}" if high is not None else None


def _day(value) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d")


def _properties(**values) -> dict[str, list[str]]:
    return {name: [value] if isinstance(value, str) else value for name, value in values.items()
            if value is not None and not (isinstance(value, float) and pd.isna(value)) and value != []}


def _unique_ids(refs: pd.Series, fallback: pd.Series) -> list[str]:
    """FtM ids of records read from FtM (``ftm:<id>`` in ``source_ref``), where each names one row;
    the FtM id of ``fallback`` (e.g. the link key) otherwise."""
    ids = [m["id"] if isinstance(r, str) and (m := _FTM_REF.fullmatch(r)) else None for r in refs]
    counts = pd.Series(ids, dtype=object).value_counts()
    return [i if i is not None and counts[i] == 1 and registry.entity.validate(i) else _ftm_id(str(f))
            for i, f in zip(ids, fallback)]


def _classified(properties: dict, row: dict, mapping) -> dict:
    """A Sanction's properties, with what the reader needs to give the penalty its kind and
    regime again (``[[penalty_class]]`` in ``schema/ftm.toml``): the regime's own phrase as the
    ``program`` where the authority text does not name it, else the regime as the ``country``.
    A kind and regime no FtM text can give (a penalty kind of graphscore's own with a regime)
    keep the kind in ``provisions`` only."""
    sanction = mapping.penalties[0]
    wanted = (row["kind"], row.get("regime"))

    def reads_as(candidate: dict) -> tuple[str, str | None]:
        proxy = ftm_model.get_proxy({"id": "x", "schema": sanction.schema, "properties": candidate}, cleaned=False)
        return _Builder("", mapping).classify(proxy, sanction)

    if reads_as(properties) == wanted or wanted[1] is None:
        return properties
    for rule in mapping.penalty_classes:
        if (rule.regime, rule.kind or sanction.kind) == (wanted[1], wanted[0]):
            candidate = {**properties, "program": [rule.match[0]]}
            if reads_as(candidate) == wanted:
                return candidate
    countries = {regime: country for country, regime in mapping.regime_by_country.items()}
    candidate = {**properties, "country": [countries.get(wanted[1], wanted[1])]}
    return candidate if reads_as(candidate) == wanted else properties


def ftm_entities(tables: Tables) -> list[dict]:
    """The FtM entities (as JSON-ready dicts) of validated ``tables``; see the module docstring."""
    if not tables.validated:
        raise ValueError("FtM export takes validated tables: call graphscore.validate first.")
    mapping = _load_mapping()
    schema_of = {}
    for schema, kind in mapping.entity_kinds:
        schema_of.setdefault(kind, schema)
    entity_id = {e: _ftm_id(e) for e in tables.entities["id"]}
    penalties = tables.penalties
    topic = penalties["source_ref"] == ("ftm:" + penalties["entity"] + " topics")
    topics: dict[str, list[str]] = {}
    first_seen: dict[str, str] = {}
    for row in penalties[topic].itertuples(index=False):
        topics.setdefault(row.entity, []).append(row.id.split(":")[1])
        first_seen[row.entity] = min(first_seen.get(row.entity, "9999"), _day(row.start))
    records = []
    for row in tables.entities.to_dict("records"):
        extra = {prop[0]: row[column] for column, prop in mapping.entity_columns.items()}
        record = {"id": entity_id[row["id"]], "schema": schema_of[row["kind"]], "caption": row["name"],
                  "properties": _properties(name=row["name"], **extra, topics=topics.get(row["id"], []))}
        if row["id"] in first_seen:
            record["first_seen"] = first_seen[row["id"]]
        records.append(record)

    rules = {rule.type: rule for rule in mapping.links}
    links = tables.links
    link_ids = _unique_ids(links["source_ref"], link_keys(links))
    for link_id, row in zip(link_ids, links.to_dict("records")):
        rule = rules.get(row["type"])
        schema, source, target, role_prop = ((rule.schema, rule.source, rule.target, rule.role) if rule
                                             else CONTROLS_SCHEMA[:4])
        role = row["role"] if isinstance(row["role"], str) else None
        if rule is None:
            role = CONTROLS_SCHEMA[4] + (f": {role}" if role else "")
        elif rule.officer_role and role:
            ref = _FTM_REF.fullmatch(row["source_ref"] or "")
            role = ref["text"] if ref and ref["text"] else role.replace("_", " ")  # the register's own words
        share = _percentage(row["share"], row["share_low"], row["share_high"]) if rule and rule.share else None
        props = {source: [entity_id[row["source"]]], target: [entity_id[row["target"]]], role_prop: role,
                 mapping.link_start[0]: _day(row["start"]), mapping.link_end[0]: _day(row["end"])}
        if share is not None:
            props[rule.share] = share
        records.append({"id": link_id, "schema": schema, "properties": _properties(**props)})

    sanction = mapping.penalties[0]  # the one penalty schema FtM has
    listed = penalties[~topic]
    refs = [m["id"] if isinstance(r, str) and (m := _FTM_REF.fullmatch(r)) else None for r in listed["source_ref"]]
    # a Sanction naming several entities was read as one penalty each: written as one record again
    groups: dict[str, dict] = {}
    for ref, row in zip(refs, listed.to_dict("records")):
        from_ftm = ref is not None and row["id"] in (ref, f"{ref}:{row['entity']}")
        record_id = ref if from_ftm and registry.entity.validate(ref) else _ftm_id(row["id"])
        properties = _properties(**{
            sanction.entity: [], sanction.start[0]: _day(row["start"]), sanction.end[0]: _day(row["end"]),
            sanction.authority[0]: row["authority"], "provisions": None if row["kind"] == sanction.kind else row["kind"]})
        group = groups.setdefault(record_id, {"id": record_id, "schema": sanction.schema,
                                              "properties": _classified(properties, row, mapping)})
        group["properties"].setdefault(sanction.entity, []).append(entity_id[row["entity"]])
    records += groups.values()
    # graphscore keeps entity, link and penalty ids apart, FtM has one space: a link or penalty
    # whose id an earlier record holds gets one of its own (only entities are referred to, and
    # they come first, so no reference changes)
    seen: set[str] = set()
    for record in records:
        if record["id"] in seen:
            record["id"] = _ftm_id(f"{record['schema']}:{record['id']}")
        seen.add(record["id"])
    return records


def _cleaned(record: dict, refused: list[str]) -> dict:
    """The record with each value as FtM cleans it (a country code in lower case, ...); values FtM
    refuses (an unknown country) are left out and listed in ``refused``."""
    proxy = ftm_model.get_proxy(record, cleaned=False)
    properties = proxy.to_dict()["properties"]
    for prop, values in record["properties"].items():
        if len(properties.get(prop, [])) < len(values):
            refused.append(f"{record['id']}.{prop}={values!r}")
    return {**record, "properties": properties}


def write_ftm(tables: Tables, path: str | Path) -> Path:
    """Write validated ``tables`` as FtM JSON lines (UTF-8, one entity a line); return the path.

    Every value is written as FtM cleans it, so that the file holds valid FtM entities: a
    jurisdiction ``VG`` is written ``vg``.

    Warns
    -----
    GraphscoreWarning
        Naming values FtM refuses (e.g. a jurisdiction that is no country code), left out.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    refused: list[str] = []
    with path.open("w", encoding="utf-8") as handle:
        for record in ftm_entities(tables):
            handle.write(json.dumps(_cleaned(record, refused), ensure_ascii=False) + "\n")
    if refused:
        warnings.warn(f"{path.name}: {len(refused)} values are not valid FtM and were left out: "
                      + "; ".join(refused[:3]) + (" ..." if len(refused) > 3 else ""),
                      GraphscoreWarning, stacklevel=2)
    return path
