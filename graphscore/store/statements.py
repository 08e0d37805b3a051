"""Cypher statements derived from the data model: schema (per backend), loading and reading back.

Labels and relationship types cannot be query parameters in Cypher, so the only names spliced
into these statements come from the validated model (``schema/model.toml``); every value
travels as a parameter (``$rows``). The rendered statements are kept in ``cypher/`` for Cypher
users; ``python -m graphscore.store.statements cypher/`` rewrites them, and a test checks the
files agree with the model.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from graphscore.model import Column, Model, TableSpec, load_model

__all__ = [
    "ladybug_schema",
    "neo4j_schema",
    "copy_columns",
    "copy_entities",
    "copy_penalties",
    "copy_links",
    "delete_links",
    "update_nodes",
    "create_entities",
    "merge_entities",
    "create_penalties",
    "merge_penalties",
    "create_links",
    "merge_links",
    "read_entities",
    "read_penalties",
    "read_links",
    "ArrowRead",
    "arrow_reads",
    "ladybug_type",
    "score_record_columns",
    "score_run_columns",
    "read_score_records",
    "count_score_records",
    "read_score_run",
    "create_score_records",
    "copy_score_records",
    "update_score_records",
    "delete_score_records",
    "write_score_run",
    "delete_zero_score_records",
    "render_files",
]

_LADYBUG_TYPES = {"string": "STRING", "number": "DOUBLE", "fraction": "DOUBLE", "positive": "DOUBLE",
                  "date": "DATE", "count": "INT64"}


def ladybug_type(column: Column) -> str:
    """A column's LadybugDB type."""
    return "STRING" if column.type.startswith("enum:") else _LADYBUG_TYPES[column.type]


def _properties(spec: TableSpec, *, skip: tuple[str, ...] = ()) -> list[Column]:
    """Columns stored as properties: references and the link type are the graph's structure."""
    return [c for c in spec.columns if c.type not in ("ref", "link_type") and c.name not in skip]


def _set_clause(variable: str, columns: list[Column]) -> str:
    # Parameter maps use store names too: ``row.end`` would not parse.
    return ", ".join(f"{variable}.{c.store_name} = row.{c.store_name}" for c in columns)


def _return_clause(variable: str, columns: list[Column], dialect: str) -> str:
    # Dates travel back as ISO text: drivers turn them into nanosecond timestamps otherwise,
    # which cannot hold a register's "open" date 9999-12-31.
    def value(c: Column) -> str:
        bare = f"{variable}.{c.store_name}"
        if c.type != "date":
            return bare
        return f"CAST({bare} AS STRING)" if dialect == "ladybug" else f"toString({bare})"
    return ", ".join(f"{value(c)} AS `{c.name}`" for c in columns)


def ladybug_schema(model: Model | None = None) -> list[str]:
    """DDL for LadybugDB, which needs every table and property declared up front."""
    model = model or load_model()
    entity_props = _properties(model.tables["entities"], skip=("id",))
    penalty_props = _properties(model.tables["penalties"], skip=("id",))
    link_props = _properties(model.tables["links"])
    declare = lambda columns: "".join(f", {c.store_name} {ladybug_type(c)}" for c in columns)  # noqa: E731
    statements = [
        f"CREATE NODE TABLE IF NOT EXISTS Entity(id STRING PRIMARY KEY{declare(entity_props)});",
        f"CREATE NODE TABLE IF NOT EXISTS Penalty(id STRING PRIMARY KEY{declare(penalty_props)});",
        "CREATE REL TABLE IF NOT EXISTS HAS_PENALTY(FROM Entity TO Penalty);",
    ]
    statements += [f"CREATE REL TABLE IF NOT EXISTS {name}(FROM Entity TO Entity, key STRING{declare(link_props)});"
                   for name in model.links]
    statements += [f"CREATE NODE TABLE IF NOT EXISTS ScoreRecord(key STRING PRIMARY KEY"
                   f"{declare(score_record_columns(model)[1:])});",
                   "CREATE REL TABLE IF NOT EXISTS HAS_SCORE(FROM Entity TO ScoreRecord);",
                   f"CREATE NODE TABLE IF NOT EXISTS ScoreRun(key STRING PRIMARY KEY{declare(score_run_columns(model)[1:])});"]
    return statements


# A load too large for one Neo4j transaction writes its new nodes under these labels, which no
# reading statement names, and relabels them when it publishes (graphscore.store.neo4j).
STAGED = {"Entity": "GraphscoreStagedEntity", "Penalty": "GraphscoreStagedPenalty"}


def _checked_label(label: str, kind: str) -> str:
    if label not in (kind, STAGED[kind]):  # spliced into Cypher: only the model's label or its staged form
        raise KeyError(f"unknown {kind} label {label!r}")
    return label


def neo4j_schema(model: Model | None = None) -> list[str]:
    """Uniqueness constraints for Neo4j (schema-free otherwise), created before any row is
    written: every CREATE, MERGE and MATCH of a load finds its entities and penalties by id
    through them. Links get no index on their key: a changed link is merged from its two ends,
    and an index would only add work to every commit of a load. A staged load (too large for one
    transaction) claims the one ``staging`` record and indexes its staged entities' ids."""
    return [
        "CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE;",
        "CREATE CONSTRAINT penalty_id IF NOT EXISTS FOR (p:Penalty) REQUIRE p.id IS UNIQUE;",
        # one record per key: two staged loads cannot both claim the 'staging' record
        "CREATE CONSTRAINT meta_key IF NOT EXISTS FOR (m:GraphscoreMeta) REQUIRE m.key IS UNIQUE;",
        # a staged load (graphscore.store.neo4j) finds the ends of its links among its staged entities
        f"CREATE INDEX staged_entity_id IF NOT EXISTS FOR (e:{STAGED['Entity']}) ON (e.id);",
        "CREATE CONSTRAINT score_record_key IF NOT EXISTS FOR (s:ScoreRecord) REQUIRE s.key IS UNIQUE;",
        "CREATE CONSTRAINT score_run_key IF NOT EXISTS FOR (r:ScoreRun) REQUIRE r.key IS UNIQUE;",
    ]


# Neo4j loads rows with batched UNWIND: CREATE for rows the load's keyed diff found new, MERGE
# by key then SET for changed ones. Each returns how many rows it wrote, so a row whose entity
# is missing cannot vanish silently. LadybugDB takes the bulk statements below instead: its
# MERGE of a keyed relationship followed by SET corrupts relationships when repeated
# (tests/store/ladybug_merge_set_bug.py).
WRITTEN = " RETURN count(*) AS written;"


def _create_map(columns: list[Column]) -> str:
    # a null in a CREATE map stores no property, as a missing value should
    return ", ".join(f"{c.store_name}: row.{c.store_name}" for c in columns)


def _checked_link_type(link_type: str, model: Model) -> str:
    if link_type not in model.links:  # the one name spliced into Cypher: only model names pass
        raise KeyError(f"unknown link type {link_type!r}")
    return link_type


def create_entities(model: Model | None = None, *, label: str = "Entity") -> str:
    props = _properties((model or load_model()).tables["entities"])
    return f"UNWIND $rows AS row CREATE (e:{_checked_label(label, 'Entity')} {{{_create_map(props)}}})" + WRITTEN


def merge_entities(model: Model | None = None) -> str:
    props = _properties((model or load_model()).tables["entities"], skip=("id",))
    return f"UNWIND $rows AS row MERGE (e:Entity {{id: row.id}}) SET {_set_clause('e', props)}" + WRITTEN


def create_penalties(model: Model | None = None, *, label: str = "Penalty", entity_label: str = "Entity") -> str:
    props = _properties((model or load_model()).tables["penalties"])
    return (f"UNWIND $rows AS row MATCH (e:{_checked_label(entity_label, 'Entity')} {{id: row.entity}}) "
            f"CREATE (e)-[:HAS_PENALTY]->(p:{_checked_label(label, 'Penalty')} {{{_create_map(props)}}})" + WRITTEN)


def merge_penalties(model: Model | None = None) -> str:
    props = _properties((model or load_model()).tables["penalties"], skip=("id",))
    return ("UNWIND $rows AS row MATCH (e:Entity {id: row.entity}) "
            f"MERGE (p:Penalty {{id: row.id}}) SET {_set_clause('p', props)} "
            "MERGE (e)-[:HAS_PENALTY]->(p)" + WRITTEN)


def create_links(link_type: str, model: Model | None = None, *, source_label: str = "Entity",
                 target_label: str = "Entity") -> str:
    model = model or load_model()
    props = [LINK_KEY, *_properties(model.tables["links"])]
    return (f"UNWIND $rows AS row MATCH (a:{_checked_label(source_label, 'Entity')} {{id: row.source}}) "
            f"MATCH (b:{_checked_label(target_label, 'Entity')} {{id: row.target}}) "
            f"CREATE (a)-[r:{_checked_link_type(link_type, model)} {{{_create_map(props)}}}]->(b)" + WRITTEN)


def merge_links(link_type: str, model: Model | None = None) -> str:
    model = model or load_model()
    props = _properties(model.tables["links"])
    return ("UNWIND $rows AS row MATCH (a:Entity {id: row.source}) MATCH (b:Entity {id: row.target}) "
            f"MERGE (a)-[r:{_checked_link_type(link_type, model)} {{key: row.key}}]->(b) "
            f"SET {_set_clause('r', props)}" + WRITTEN)


LINK_KEY = Column("key", "string")  # stored on every link: the record key it is merged on


def copy_columns(table: str, model: Model | None = None) -> list[Column]:
    """The columns a bulk copy of ``table`` lists, in order: the key (``id``, or a link's
    ``key`` after its two ends), then the stored properties."""
    spec = (model or load_model()).tables[table]
    first = LINK_KEY if table == "links" else next(c for c in spec.columns if c.name == "id")
    return [first, *_properties(spec, skip=("id",))]


def _listed(columns: list[Column]) -> str:
    return ", ".join(c.store_name for c in columns)


def copy_entities(model: Model | None = None) -> str:
    """LadybugDB bulk insert of new entities from an Arrow table ``$rows`` (columns as :func:`copy_columns`)."""
    return f"COPY Entity({_listed(copy_columns('entities', model))}) FROM $rows;"


def copy_penalties(model: Model | None = None) -> list[str]:
    """LadybugDB bulk insert of new penalties, then of the edges from their entities
    (``$edges``: entity id, penalty id)."""
    return [f"COPY Penalty({_listed(copy_columns('penalties', model))}) FROM $rows;",
            "COPY HAS_PENALTY FROM $edges;"]


def copy_links(link_type: str, model: Model | None = None) -> str:
    """LadybugDB bulk insert of links of one type: ``$rows`` holds source id, target id, then
    the columns of :func:`copy_columns`."""
    model = model or load_model()
    if link_type not in model.links:
        raise KeyError(f"unknown link type {link_type!r}")
    return f"COPY {link_type}({_listed(copy_columns('links', model))}) FROM $rows;"


def delete_links(link_type: str, model: Model | None = None) -> str:
    """LadybugDB: remove the link records whose stored key is in ``$keys`` (before their
    corrected rows are copied in: an update without ``MERGE ... SET`` on relationships)."""
    model = model or load_model()
    if link_type not in model.links:
        raise KeyError(f"unknown link type {link_type!r}")
    return f"UNWIND $keys AS k MATCH ()-[r:{link_type}]->() WHERE r.key = k DELETE r;"


def update_nodes(label: str, columns: list[Column]) -> str:
    """LadybugDB bulk update from an Arrow table ``$rows``: ``id`` then ``columns``, each
    column named ``v_<store name>`` (bare names such as ``value`` would read as keywords)."""
    if label not in ("Entity", "Penalty"):  # labels are spliced: only the model's two node labels pass
        raise KeyError(f"unknown node label {label!r}")
    assignments = ", ".join(f"n.{c.store_name} = v_{c.store_name}" for c in columns)
    return f"LOAD FROM $rows MATCH (n:{label} {{id: v_id}}) SET {assignments};"


# Facts about the store itself (GraphscoreMeta nodes: key, value), e.g. the data fingerprint.
READ_META = "MATCH (m:GraphscoreMeta {key: $key}) RETURN m.value AS value;"
DELETE_META = "MATCH (m:GraphscoreMeta {key: $key}) DELETE m;"
CREATE_META = "CREATE (:GraphscoreMeta {key: $key, value: $value});"
# Whether a Neo4j database holds anything graphscore wrote (it has no schema to ask).
ANY_GRAPHSCORE_NODE = "MATCH (n) WHERE n:Entity OR n:GraphscoreMeta RETURN 1 AS found LIMIT 1;"


def read_entities(model: Model | None = None, dialect: str = "ladybug") -> str:
    props = _properties((model or load_model()).tables["entities"])
    return f"MATCH (e:Entity) RETURN {_return_clause('e', props, dialect)};"


def read_penalties(model: Model | None = None, dialect: str = "ladybug") -> str:
    props = _properties((model or load_model()).tables["penalties"])
    return (f"MATCH (e:Entity)-[:HAS_PENALTY]->(p:Penalty) RETURN p.id AS id, e.id AS entity, "
            f"{_return_clause('p', [c for c in props if c.name != 'id'], dialect)};")


def read_links(link_type: str, model: Model | None = None, dialect: str = "ladybug") -> str:
    model = model or load_model()
    if link_type not in model.links:
        raise KeyError(f"unknown link type {link_type!r}")
    props = _properties(model.tables["links"])
    return (f"MATCH (a:Entity)-[r:{link_type}]->(b:Entity) RETURN a.id AS source, b.id AS target, "
            f"'{link_type}' AS type, {_return_clause('r', props, dialect)}, r.key AS key;")


ENTITY_ROW, TARGET_ROW = "_row", "_target"  # node offsets, the entity columns of ArrowRead's rows
KEY = "key"  # a link's key among ArrowRead's rows
NULLS = "_null_"  # prefix of ArrowRead's flags of nulls


@dataclass(frozen=True)
class ArrowRead:
    """How LadybugDB's Arrow read-back (``LadybugStore.read_content``) reads one table, or one
    link type: in two queries, one counting each property's values, then one returning the
    rows, and of the properties only those with values, each with a flag of its nulls where
    it has some (LadybugDB 0.22's native Arrow path returns a null as 0, "" or 1970-01-01,
    tests/store/test_ladybug_upstream.py; its other path costs 1.5-2.5x the CPU).

    An entity is named by its node offset, ``offset(id(e))``, wherever it appears (the rows of
    the entities, the ends of links and penalties): ids repeated as text at each of 10^7 link
    ends cost more than all the other columns together.
    """

    match: str
    structure: tuple[str, ...]  # "expression AS name", never null: node offsets, a link's key
    properties: tuple[tuple[Column, str], ...]  # each declared column stored as a property, and its expression

    def count_query(self) -> str:
        counts = "".join(f", count({expression}) AS `{column.name}`" for column, expression in self.properties)
        return f"{self.match} RETURN count(*) AS `_rows`{counts};"

    def row_query(self, counts: dict[str, int]) -> str:
        """The rows, with the properties ``counts`` (of :meth:`count_query`) finds values of,
        and flags of nulls (``_null_<name>``) where only some rows have one."""
        returned = list(self.structure)
        for column, expression in self.properties:
            if counts[column.name]:
                returned.append(f"{expression} AS `{column.name}`")
            if 0 < counts[column.name] < counts["_rows"]:
                returned.append(f"{expression} IS NULL AS `{NULLS}{column.name}`")
        return f"{self.match} RETURN {', '.join(returned)};"


def arrow_reads(model: Model | None = None) -> dict[str, list[ArrowRead]]:
    """Per table, the reads of :class:`ArrowRead` (links: one per type, in model order)."""
    model = model or load_model()
    columns = lambda table, variable: tuple((c, f"{variable}.{c.store_name}")  # noqa: E731
                                            for c in _properties(model.tables[table]))
    return {
        "entities": [ArrowRead("MATCH (e:Entity)", (f"offset(id(e)) AS {ENTITY_ROW}",), columns("entities", "e"))],
        "penalties": [ArrowRead("MATCH (e:Entity)-[:HAS_PENALTY]->(p:Penalty)", (f"offset(id(e)) AS {ENTITY_ROW}",),
                                columns("penalties", "p"))],
        "links": [ArrowRead(f"MATCH (a:Entity)-[r:{_checked_link_type(link_type, model)}]->(b:Entity)",
                            (f"offset(id(a)) AS {ENTITY_ROW}", f"offset(id(b)) AS {TARGET_ROW}", f"r.key AS {KEY}"),
                            columns("links", "r"))
                  for link_type in model.links],
    }


# The score history: one ScoreRun per (policy name, as-of date) holding what the run shares (the
# policy's hash, when it was written, how many entities it scored), and one ScoreRecord per
# entity that scored anything in that run, linked from its entity by HAS_SCORE, so a query can
# compare an entity's scores over time (cypher/queries/score_rose_since.cypher). An entity with no
# record in a run scored zero in it (own, echo, inherited and total): most entities of a registry
# do, and writing nothing for them is what keeps a write-back of 10^6 entities short. Writing a
# policy's scores for the same date again replaces that date's run, whatever the policy's hash
# (graphscore.store.writeback keys both: a run by its policy and date, a record by its run's number
# and its entity's id, unique in both stores). A run's records count only once its ScoreRun exists:
# a large write-back copies the records in first and creates the run last, so the records of a
# (policy, date) without a run are those of a write-back that was killed, which no query reads
# and the next write-back of that policy and date removes. The run written last is named by the
# GraphscoreMeta row LAST_SCORE_RUN (cypher/queries/top_scores.cypher reads its records): the
# store keeps no score on the Entity nodes (a copy of the last run's records, which cost 0.9 s a
# column per 320,000 rows to write and bounded the write-back's transactions).
LAST_SCORE_RUN = "last_score_run"
# The GraphscoreMeta row of the last run number given (graphscore.store.writeback.record_keys): a
# new run takes the next, claimed before its records are written, so a killed write-back's
# records keep a number no later run takes.
SCORE_RUN_NUMBER = "score_run_number"
RUN_NUMBER = Column("number", "count")  # a run's number: its records' keys start with it
WRITTEN_AT = Column("written_at", "string")  # ISO 8601 UTC (YYYY-MM-DDTHH:MM:SSZ): sorts in time order
SCORED = Column("entities", "count")  # entities the run scored, those without a record included
_RUN_ONLY = ("score_policy_hash",)  # the same for every record of a run: kept once, on the run


def score_record_columns(model: Model | None = None) -> list[Column]:
    """The properties of a ScoreRecord, in order: its key, the score values, the policy's name
    and the as-of date (kept on each record so queries filter records without their run)."""
    return [LINK_KEY, *(c for c in (model or load_model()).scores.columns if c.name not in _RUN_ONLY)]


def score_run_columns(model: Model | None = None) -> list[Column]:
    """The properties of a ScoreRun, in order: its key, its number, the policy's name and hash,
    the as-of date, ``written_at`` and the number of entities scored."""
    run = [c for c in (model or load_model()).scores.columns if c.name.startswith("score_")]
    return [LINK_KEY, RUN_NUMBER, *run, WRITTEN_AT, SCORED]


def _score_values(model: Model | None) -> list[Column]:
    return [c for c in (model or load_model()).scores.columns if not c.name.startswith("score_")]


def read_score_records(model: Model | None = None, dialect: str = "ladybug") -> str:
    """The records of one run (``$policy``, ``$as_of``), keyed, with their values."""
    return ("MATCH (s:ScoreRecord) WHERE s.score_policy = $policy AND s.score_as_of = $as_of "
            f"RETURN s.key AS key, {_return_clause('s', _score_values(model), dialect)};")


def count_score_records(dialect: str = "ladybug") -> list[str]:
    """How many records of one run (``$policy``, ``$as_of``) there are (``records``), and how
    many links from an entity to them (``links``): a large write-back checks its copied rows
    before it creates the run. Two statements: one with an ``OPTIONAL MATCH`` of each record's
    link took 10.7 s on LadybugDB for 3.2x10^6 records, these two 0.4-0.8 s."""
    run = "WHERE s.score_policy = $policy AND s.score_as_of = $as_of"
    return [f"MATCH (s:ScoreRecord) {run} RETURN count(s) AS records;",
            f"MATCH (:Entity)-[:HAS_SCORE]->(s:ScoreRecord) {run} RETURN count(*) AS links;"]


def read_score_run(model: Model | None = None, dialect: str = "ladybug") -> str:
    """The run of key ``$key``, without its key (none: not written yet)."""
    return f"MATCH (r:ScoreRun {{key: $key}}) RETURN {_return_clause('r', score_run_columns(model)[1:], dialect)};"


def _unwind(dialect: str) -> tuple[str, str]:
    """How a statement over ``$rows`` starts, and how it names a row's column: LadybugDB scans
    an Arrow table (columns prefixed ``v_``: bare names such as ``value`` read as keywords),
    Neo4j unwinds a list of maps."""
    return ("LOAD FROM $rows", "v_") if dialect == "ladybug" else ("UNWIND $rows AS row", "row.")


def create_score_records(model: Model | None = None, dialect: str = "ladybug") -> str:
    """New records from their entities (``$rows``: ``id``, then :func:`score_record_columns`).

    Entity, link and record in one CREATE: no ``MERGE ... SET``, which corrupts relationships
    on LadybugDB (tests/store/ladybug_merge_set_bug.py), and no MATCH of the entity and the
    new record by its key, which LadybugDB 0.22 plans as a cross product of all entities and
    all records (16 s and 7 GB for 3,220 entities). The write-back creates only records whose
    key is not stored (graphscore.store.writeback)."""
    scan, row = _unwind(dialect)
    values = ", ".join(f"{c.store_name}: {row}{c.store_name}" for c in score_record_columns(model))
    return f"{scan} MATCH (e:Entity {{id: {row}id}}) CREATE (e)-[:HAS_SCORE]->(s:ScoreRecord {{{values}}});"


def copy_score_records(model: Model | None = None) -> list[str]:
    """LadybugDB bulk insert of new records (``$rows``: :func:`score_record_columns`), then of
    the links from their entities (``$edges``: entity id, record key): what
    :func:`create_score_records` writes, by ``COPY``. Some 10 times faster (320,000 records:
    3.3 s with the commit where the ``CREATE`` took 24 s), but a ``COPY`` bypasses the log: the
    embedded store runs each in a transaction of its own, holding nothing else, before the run
    that makes the records count exists (graphscore.store.ladybug)."""
    return [f"COPY ScoreRecord({_listed(score_record_columns(model))}) FROM $rows;", "COPY HAS_SCORE FROM $edges;"]


def update_score_records(model: Model | None = None, dialect: str = "ladybug") -> str:
    """New values for stored records (``$rows``: ``key`` and the score values), found by key."""
    scan, row = _unwind(dialect)
    values = ", ".join(f"s.{c.store_name} = {row}{c.store_name}" for c in _score_values(model))
    return f"{scan} MATCH (s:ScoreRecord {{key: {row}key}}) SET {values};"


def delete_score_records(dialect: str = "ladybug") -> str:
    """Remove the records of keys ``$rows.key`` (their entity now scores zero), with their link."""
    scan, row = _unwind(dialect)
    return f"{scan} MATCH (s:ScoreRecord {{key: {row}key}}) DETACH DELETE s;"


def write_score_run(model: Model | None = None) -> str:
    """Create or replace the run of key ``$key`` (each column of :func:`score_run_columns` a
    parameter). A node, so ``MERGE ... SET`` is safe on LadybugDB too."""
    columns = score_run_columns(model)
    return (f"MERGE (r:ScoreRun {{key: $key}}) "
            f"SET {', '.join(f'r.{c.store_name} = ${c.store_name}' for c in columns[1:])};")


# The history as graphscore wrote it up to commit e3e045c: a ScoreRecord per entity and run,
# zeros included, each with the policy's hash and written_at, and no runs. Stores holding such
# records are upgraded (graphscore.store.base.CypherStore._upgrade_score_history).
EARLIER_SCORE_RUNS = ("MATCH (s:ScoreRecord) WHERE s.written_at IS NOT NULL RETURN s.score_policy AS policy, "
                      "s.score_as_of AS as_of, max(s.score_policy_hash) AS hash, max(s.written_at) AS written_at, "
                      "count(*) AS entities;")


def _all_zero(variable: str, model: Model | None) -> str:
    return " AND ".join(f"{variable}.{c.store_name} = 0" for c in _score_values(model))


def delete_zero_score_records(model: Model | None = None) -> str:
    """Remove the records of zero scores an earlier graphscore wrote (none reads as zero now)."""
    return f"MATCH (s:ScoreRecord) WHERE {_all_zero('s', model)} DETACH DELETE s;"


def render_files(model: Model | None = None) -> dict[str, str]:
    """The text of each generated file in ``cypher/``, by file name."""
    model = model or load_model()
    header = "// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.\n"
    def bulk_loading() -> str:
        statements = [copy_entities(model), *copy_penalties(model),
                      update_nodes("Entity", copy_columns("entities", model)[1:]),
                      update_nodes("Penalty", copy_columns("penalties", model)[1:])]
        statements += [s for t in model.links for s in (delete_links(t, model), copy_links(t, model))]
        return "\n".join(statements)
    def batched() -> str:
        statements = [create_entities(model), merge_entities(model), create_penalties(model), merge_penalties(model)]
        return "\n".join(statements + [s for t in model.links for s in (create_links(t, model), merge_links(t, model))])
    def write_back(dialect: str) -> str:
        # in the order graphscore.store.writeback runs them, each only when it has rows
        return "\n".join([read_score_records(model, dialect), read_score_run(model, dialect),
                          READ_META, delete_score_records(dialect), update_score_records(model, dialect),
                          create_score_records(model, dialect),
                          *(copy_score_records(model) if dialect == "ladybug" else []), *count_score_records(dialect),
                          write_score_run(model), DELETE_META, CREATE_META])
    def reading(dialect: str) -> str:
        statements = [read_entities(model, dialect), read_penalties(model, dialect)]
        return "\n".join(statements + [read_links(t, model, dialect) for t in model.links])
    return {
        "schema.cypher": header + "// LadybugDB DDL.\n" + "\n".join(ladybug_schema(model)) + "\n",
        "schema.neo4j.cypher": header + "// Neo4j uniqueness constraints.\n" + "\n".join(neo4j_schema()) + "\n",
        "load.cypher": header + "// LadybugDB bulk loads: $rows is an Arrow table; changed links are deleted by key,\n"
                       "// then copied in again with the new rows.\n" + bulk_loading() + "\n",
        "load.neo4j.cypher": header + "// Neo4j batched loads: $rows is a list of maps, one per table row; CREATE for rows\n"
                             "// known to be new, MERGE by key for changed ones, in one transaction; a staged load\n"
                             "// (graphscore/store/neo4j.py) creates new nodes under GraphscoreStaged* labels first.\n"
                             + batched() + "\n",
        "read.cypher": header + "// LadybugDB: reading the tables back.\n" + reading("ladybug") + "\n",
        "read.neo4j.cypher": header + "// Neo4j: reading the tables back.\n" + reading("neo4j") + "\n",
        "write_scores.cypher": header + write_back("ladybug") + "\n",
        "write_scores.neo4j.cypher": header + write_back("neo4j") + "\n",
    }


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "cypher")
    for name, text in render_files().items():
        (folder / name).write_text(text, encoding="utf-8")
        print(folder / name)
