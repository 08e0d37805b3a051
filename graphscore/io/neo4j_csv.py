"""Write validated tables as CSV for ``neo4j-admin database import`` (Neo4j 5).

The graph is the one graphscore's Neo4j store holds (``cypher/schema.neo4j.cypher``):
``(:Entity)`` nodes, ``(:Penalty)`` nodes with ``(:Entity)-[:HAS_PENALTY]->(:Penalty)``, and one
relationship per link record typed by its link type, carrying the record ``key`` the store
merges on. A database imported from these files can therefore be opened with
``graphscore ... --db bolt://...`` and loaded into incrementally.

Each node or relationship file has a separate header file, as the import tool accepts
(``--nodes=header.csv,data.csv``). Header fields follow the tool's ``<name>:<field_type>`` format:

- ``id:ID(Entity)`` / ``id:ID(Penalty)``: the id, kept as the property ``id``, in its own ID
  space so an entity and a penalty may share an id; ``:LABEL`` gives the node label.
- ``:START_ID(Entity)``, ``:END_ID(Entity)`` (or ``:END_ID(Penalty)``) and ``:TYPE``.
- typed properties: numbers as ``double`` (the tool's ``float`` is a 32-bit float, which would
  turn a share of 0.51 into 0.5099999904632568), dates as ``date`` (ISO ``YYYY-MM-DD``), text as
  ``string`` (the default type, left unmarked). Property names are the store's
  (``start_date``, ``end_date``: ``end`` is a Cypher keyword).

An empty field sets no property, as the tool reads it; text is quoted where it holds the
delimiter, a quote (doubled inside quotes) or a line break, in which case the script asks for
``--multiline-fields=true``.

References
----------
.. [1] Neo4j Operations Manual 5, "Import" (``neo4j-admin database import``) and "CSV header
   format": https://neo4j.com/docs/operations-manual/current/import/ and
   https://neo4j.com/docs/operations-manual/current/import/header-format/

Examples
--------
>>> import tempfile, pandas as pd
>>> from graphscore.model import validate
>>> tables = validate(Tables(
...     pd.DataFrame({"id": ["p", "c"], "kind": ["person", "company"], "name": ["Ann", "Acme"]}),
...     pd.DataFrame({"source": ["p"], "target": ["c"], "type": ["OWNS"], "share": [0.51],
...                   "start": ["2019-05-01"]})))
>>> with tempfile.TemporaryDirectory() as folder:
...     files = write_neo4j_csv(tables, folder)
...     print(files["links_header"].read_text().strip())
...     print(files["links"].read_text().strip())
:START_ID(Entity),:END_ID(Entity),:TYPE,key,share:double,share_low:double,share_high:double,role,start_date:date,end_date:date,source_ref
p,c,OWNS,4:OWNS1:p1:c-10:2019-05-01-,0.51,,,,2019-05-01,,
"""

from __future__ import annotations

import csv
import shlex
from pathlib import Path

import pandas as pd

from graphscore.model import Column, Tables, link_keys, load_model

__all__ = ["write_neo4j_csv", "header_fields", "NEO4J_TYPES"]

# graphscore column types -> the import tool's property types
NEO4J_TYPES = {"string": "string", "number": "double", "fraction": "double", "positive": "double", "date": "date"}
_STRUCTURE = ("ref", "link_type")  # the graph's shape (ends, relationship type), not properties


def _properties(table: str, skip: tuple[str, ...] = ()) -> list[Column]:
    return [c for c in load_model().tables[table].columns if c.type not in _STRUCTURE and c.name not in skip]


def _field(column: Column) -> str:
    kind = "string" if column.type.startswith("enum:") else NEO4J_TYPES[column.type]
    return column.store_name if kind == "string" else f"{column.store_name}:{kind}"


def header_fields() -> dict[str, list[str]]:
    """The header of each file, derived from ``schema/model.toml``.

    >>> header_fields()["penalties"][:5]
    ['id:ID(Penalty)', 'kind', 'severity:double', 'start_date:date', 'end_date:date']
    >>> header_fields()["has_penalty"]
    [':START_ID(Entity)', ':END_ID(Penalty)', ':TYPE']
    """
    return {
        "entities": ["id:ID(Entity)", *(_field(c) for c in _properties("entities", ("id",))), ":LABEL"],
        "penalties": ["id:ID(Penalty)", *(_field(c) for c in _properties("penalties", ("id",))), ":LABEL"],
        "has_penalty": [":START_ID(Entity)", ":END_ID(Penalty)", ":TYPE"],
        "links": [":START_ID(Entity)", ":END_ID(Entity)", ":TYPE", "key",
                  *(_field(c) for c in _properties("links"))],
    }


def _text(frame: pd.DataFrame, columns: list[Column]) -> pd.DataFrame:
    """Columns as the text the tool parses: ISO dates, shortest round-tripping numbers, None as empty."""
    out = {}
    for c in columns:
        values = frame[c.name]
        if c.type == "date":
            out[c.store_name] = values.dt.strftime("%Y-%m-%d").astype(object).where(values.notna(), None)
        elif c.type in ("number", "fraction", "positive"):
            out[c.store_name] = [None if pd.isna(v) else repr(float(v)) for v in values]
        else:
            out[c.store_name] = values.astype(object).where(values.notna(), None)
    return pd.DataFrame(out, index=frame.index)


def _write(path: Path, header: list[str], rows: pd.DataFrame) -> bool:
    """One header file and one data file; whether any field spans lines."""
    with path.with_name(path.stem + "_header.csv").open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(header)
    multiline = False
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")  # quotes where needed, doubling quotes
        for row in rows.itertuples(index=False, name=None):
            cells = ["" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else v for v in row]
            multiline = multiline or any(isinstance(v, str) and ("\n" in v or "\r" in v) for v in cells)
            writer.writerow(cells)
    return multiline


def write_neo4j_csv(tables: Tables, folder: str | Path) -> dict[str, Path]:
    """Write ``tables`` (validated) as node and relationship files for ``neo4j-admin database import``.

    Parameters
    ----------
    tables : Tables
        Validated tables, e.g. a workspace's.
    folder : str or Path
        Created if missing. Receives ``entities``, ``penalties``, ``has_penalty`` and ``links``
        (each ``<name>.csv`` with ``<name>_header.csv``) and ``import.sh``, the import command
        for these files (run it from the Neo4j home, with the database stopped or absent).

    Returns
    -------
    dict
        Path of each file, keyed ``entities``, ``entities_header``, ..., ``script``.
    """
    if not tables.validated:
        raise ValueError("write_neo4j_csv takes validated tables: call graphscore.validate first.")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    headers = header_fields()
    entities = _text(tables.entities, [c for c in _properties("entities")])
    entities[":LABEL"] = "Entity"
    penalties = _text(tables.penalties, _properties("penalties"))
    penalties[":LABEL"] = "Penalty"
    has_penalty = pd.DataFrame({"start": tables.penalties["entity"], "end": tables.penalties["id"],
                                "type": "HAS_PENALTY"})
    links = tables.links
    link_rows = pd.concat([pd.DataFrame({"source": links["source"], "target": links["target"],
                                         "type": links["type"], "key": link_keys(links)}),
                           _text(links, _properties("links"))], axis=1)
    paths, multiline = {}, False
    for name, rows in (("entities", entities), ("penalties", penalties), ("has_penalty", has_penalty),
                       ("links", link_rows)):
        path = folder / f"{name}.csv"
        multiline |= _write(path, headers[name], rows)
        paths[name], paths[f"{name}_header"] = path, path.with_name(f"{name}_header.csv")
    options = [f"--nodes={paths['entities_header'].name},{paths['entities'].name}",
               f"--nodes={paths['penalties_header'].name},{paths['penalties'].name}",
               f"--relationships={paths['has_penalty_header'].name},{paths['has_penalty'].name}",
               f"--relationships={paths['links_header'].name},{paths['links'].name}"]
    if multiline:
        options.append("--multiline-fields=true")
    script = folder / "import.sh"
    script.write_text(
        "#!/bin/sh\n"
        "# Import these files into a new Neo4j 5 database (default: neo4j), from NEO4J_HOME, database stopped.\n"
        "# Written by graphscore export --format neo4j-csv. Then run cypher/schema.neo4j.cypher for the\n"
        "# constraints and indexes graphscore's Neo4j store uses.\n"
        # the database before the file options: they take several values, and would take it as a file
        f'cd "$(dirname "$0")" && exec "${{NEO4J_HOME:?set NEO4J_HOME}}/bin/neo4j-admin" database import full '
        '"${1:-neo4j}" ' + " ".join(shlex.quote(o) for o in options) + "\n", encoding="utf-8")
    script.chmod(0o755)
    paths["script"] = script
    return paths
