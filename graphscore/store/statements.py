"""Cypher statements derived from the data model: schema (per backend), loading and reading back.

Labels and relationship types cannot be query parameters in Cypher, so the only names spliced
into these statements come from the validated model (``schema/model.toml``); every value
travels as a parameter (``$rows``). The rendered statements are kept in ``cypher/`` for Cypher
users; ``python -m graphscore.store.statements cypher/`` rewrites them, and a test checks the
files agree with the model.
"""

from __future__ import annotations

import sys
from pathlib import Path

from graphscore.model import Column, Model, TableSpec, load_model

__all__ = [
    "ladybug_schema",
    "neo4j_schema",
    "merge_entities",
    "merge_penalties",
    "merge_links",
    "read_entities",
    "read_penalties",
    "read_links",
    "write_scores",
    "render_files",
]

_LADYBUG_TYPES = {"string": "STRING", "number": "DOUBLE", "fraction": "DOUBLE", "positive": "DOUBLE",
                  "date": "DATE"}


def _ladybug_type(column: Column) -> str:
    return "STRING" if column.type.startswith("enum:") else _LADYBUG_TYPES[column.type]


def _properties(spec: TableSpec, *, skip: tuple[str, ...] = ()) -> list[Column]:
    """Columns stored as properties: references and the link type are the graph's structure."""
    return [c for c in spec.columns if c.type not in ("ref", "link_type") and c.name not in skip]


def _set_clause(variable: str, columns: list[Column], dialect: str) -> str:
    # Parameter maps use store names too: ``row.end`` would not parse. LadybugDB types a
    # parameter column from its values, so a batch where a column is all null arrives as
    # STRING: the cast states the declared type. Neo4j is schema-free and needs none.
    def value(c: Column) -> str:
        bare = f"row.{c.store_name}"
        return f"CAST({bare} AS {_ladybug_type(c)})" if dialect == "ladybug" else bare
    return ", ".join(f"{variable}.{c.store_name} = {value(c)}" for c in columns)


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
    entity_props = _properties(model.tables["entities"], skip=("id",)) + list(model.scores.columns)
    penalty_props = _properties(model.tables["penalties"], skip=("id",))
    link_props = _properties(model.tables["links"])
    declare = lambda columns: "".join(f", {c.store_name} {_ladybug_type(c)}" for c in columns)  # noqa: E731
    statements = [
        f"CREATE NODE TABLE IF NOT EXISTS Entity(id STRING PRIMARY KEY{declare(entity_props)});",
        f"CREATE NODE TABLE IF NOT EXISTS Penalty(id STRING PRIMARY KEY{declare(penalty_props)});",
        "CREATE REL TABLE IF NOT EXISTS HAS_PENALTY(FROM Entity TO Penalty);",
    ]
    statements += [f"CREATE REL TABLE IF NOT EXISTS {name}(FROM Entity TO Entity, key STRING{declare(link_props)});"
                   for name in model.links]
    return statements


def neo4j_schema(model: Model | None = None) -> list[str]:
    """Constraints and indexes for Neo4j (schema-free otherwise)."""
    model = model or load_model()
    statements = [
        "CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE;",
        "CREATE CONSTRAINT penalty_id IF NOT EXISTS FOR (p:Penalty) REQUIRE p.id IS UNIQUE;",
    ]
    statements += [f"CREATE INDEX {name.lower()}_key IF NOT EXISTS FOR ()-[r:{name}]-() ON (r.key);"
                   for name in model.links]
    return statements


def merge_entities(model: Model | None = None, dialect: str = "ladybug") -> str:
    props = _properties((model or load_model()).tables["entities"], skip=("id",))
    return f"UNWIND $rows AS row MERGE (e:Entity {{id: row.id}}) SET {_set_clause('e', props, dialect)};"


def merge_penalties(model: Model | None = None, dialect: str = "ladybug") -> str:
    props = _properties((model or load_model()).tables["penalties"], skip=("id",))
    return ("UNWIND $rows AS row MATCH (e:Entity {id: row.entity}) "
            f"MERGE (p:Penalty {{id: row.id}}) SET {_set_clause('p', props, dialect)} "
            "MERGE (e)-[:HAS_PENALTY]->(p);")


def merge_links(link_type: str, model: Model | None = None, dialect: str = "ladybug") -> str:
    model = model or load_model()
    if link_type not in model.links:  # the one name spliced into Cypher: only model names pass
        raise KeyError(f"unknown link type {link_type!r}")
    props = _properties(model.tables["links"])
    return ("UNWIND $rows AS row MATCH (a:Entity {id: row.source}), (b:Entity {id: row.target}) "
            f"MERGE (a)-[r:{link_type} {{key: row.key}}]->(b) SET {_set_clause('r', props, dialect)};")


def read_entities(model: Model | None = None, dialect: str = "ladybug") -> str:
    props = _properties((model or load_model()).tables["entities"])
    return f"MATCH (e:Entity) RETURN {_return_clause('e', props, dialect)} ORDER BY e.id;"


def read_penalties(model: Model | None = None, dialect: str = "ladybug") -> str:
    props = _properties((model or load_model()).tables["penalties"])
    return (f"MATCH (e:Entity)-[:HAS_PENALTY]->(p:Penalty) RETURN p.id AS id, e.id AS entity, "
            f"{_return_clause('p', [c for c in props if c.name != 'id'], dialect)} ORDER BY p.id;")


def read_links(link_type: str, model: Model | None = None, dialect: str = "ladybug") -> str:
    model = model or load_model()
    if link_type not in model.links:
        raise KeyError(f"unknown link type {link_type!r}")
    props = _properties(model.tables["links"])
    return (f"MATCH (a:Entity)-[r:{link_type}]->(b:Entity) RETURN a.id AS source, b.id AS target, "
            f"'{link_type}' AS type, {_return_clause('r', props, dialect)} ORDER BY r.key;")


def write_scores(model: Model | None = None, dialect: str = "ladybug") -> str:
    columns = list((model or load_model()).scores.columns)
    return f"UNWIND $rows AS row MATCH (e:Entity {{id: row.id}}) SET {_set_clause('e', columns, dialect)};"


def render_files(model: Model | None = None) -> dict[str, str]:
    """The text of each generated file in ``cypher/``, by file name."""
    model = model or load_model()
    header = "// Generated from graphscore/schema/model.toml by graphscore.store.statements: do not edit.\n"
    def loading(dialect: str) -> str:
        statements = [merge_entities(model, dialect), merge_penalties(model, dialect)]
        return "\n".join(statements + [merge_links(t, model, dialect) for t in model.links])
    def reading(dialect: str) -> str:
        statements = [read_entities(model, dialect), read_penalties(model, dialect)]
        return "\n".join(statements + [read_links(t, model, dialect) for t in model.links])
    return {
        "schema.cypher": header + "// LadybugDB DDL.\n" + "\n".join(ladybug_schema(model)) + "\n",
        "schema.neo4j.cypher": header + "// Neo4j constraints and indexes.\n" + "\n".join(neo4j_schema(model)) + "\n",
        "load.cypher": header + "// LadybugDB batched loads: $rows is a list of maps, one per table row.\n"
                       + loading("ladybug") + "\n",
        "load.neo4j.cypher": header + "// Neo4j batched loads: $rows is a list of maps, one per table row.\n"
                             + loading("neo4j") + "\n",
        "read.cypher": header + "// LadybugDB: reading the tables back.\n" + reading("ladybug") + "\n",
        "read.neo4j.cypher": header + "// Neo4j: reading the tables back.\n" + reading("neo4j") + "\n",
        "write_scores.cypher": header + write_scores(model) + "\n",
        "write_scores.neo4j.cypher": header + write_scores(model, "neo4j") + "\n",
    }


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "cypher")
    for name, text in render_files().items():
        (folder / name).write_text(text, encoding="utf-8")
        print(folder / name)
