"""The data model's declarations, read from ``model.toml`` beside this file: the tables and
their columns, the entity kinds and the link types (their ends' kinds, roles and the columns that
tell one relation's records apart). Validation against them is :mod:`graphscore.model`.

Examples
--------
>>> model = load_model()
>>> sorted(model.links)
['AGENT_OF', 'ASSOCIATE', 'CONTROLS', 'FAMILY', 'OFFICER_OF', 'OWNS']
>>> model.links["OFFICER_OF"].period_key
('role',)
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from graphscore.errors import InvalidModel

__all__ = ["SCHEMA_FILE", "TABLE_NAMES", "Column", "TableSpec", "LinkType", "Model", "load_model"]

SCHEMA_FILE = Path(__file__).parent / "model.toml"
TABLE_NAMES = ("entities", "links", "penalties")
_COLUMN_TYPES = {"string", "number", "fraction", "positive", "date", "ref", "link_type"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of _COLUMN_TYPES or "enum:NAME"
    required: bool = False
    store: str = ""  # property name in the graph store, when it differs (``end`` is a Cypher keyword)

    @property
    def store_name(self) -> str:
        return self.store or self.name

    @property
    def dtype(self) -> str:
        """The pandas dtype the column is coerced to."""
        if self.type in ("fraction", "positive", "number"):
            return "float64"
        if self.type == "date":
            return "datetime64[s]"
        return "object"


@dataclass(frozen=True)
class TableSpec:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: str | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class LinkType:
    name: str
    description: str
    source_kinds: tuple[str, ...]
    target_kinds: tuple[str, ...]
    role_enum: str | None
    period_key: tuple[str, ...]


@dataclass(frozen=True)
class Model:
    enums: dict[str, tuple[str, ...]]
    tables: dict[str, TableSpec]
    links: dict[str, LinkType]
    scores: TableSpec  # score columns, written back as the score history (ScoreRecord, ScoreRun)


@functools.cache
def load_model(path: Path = SCHEMA_FILE) -> Model:
    """Read the model declarations and check every cross-reference.

    Raises
    ------
    InvalidModel
        If a column type, enum or entity kind named in the file is not declared.
    """
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    enums = {name: tuple(values) for name, values in raw["enums"].items()}
    if "kind" not in enums:
        raise InvalidModel(f"{path}: [enums] must declare 'kind'.")

    def table_spec(name: str, spec: dict) -> TableSpec:
        columns = []
        for col_name, col in spec["columns"].items():
            col_type = col["type"]
            enum = col_type.removeprefix("enum:")
            if col_type not in _COLUMN_TYPES and (enum == col_type or enum not in enums):
                raise InvalidModel(f"{path}: {name}.{col_name} has unknown type {col_type!r}.")
            columns.append(Column(col_name, col_type, bool(col.get("required", False)), col.get("store", "")))
        return TableSpec(name, spec.get("description", ""), tuple(columns), spec.get("key"))

    tables = {name: table_spec(name, raw["tables"][name]) for name in TABLE_NAMES}

    links = {}
    for name, spec in raw["links"].items():
        for end in ("source", "target"):
            unknown = set(spec[end]) - set(enums["kind"])
            if unknown:
                raise InvalidModel(f"{path}: links.{name}.{end} names unknown kinds {sorted(unknown)}.")
        role_enum = spec.get("role")
        if role_enum is not None and role_enum not in enums:
            raise InvalidModel(f"{path}: links.{name}.role names unknown enum {role_enum!r}.")
        period_key = tuple(spec.get("period_key", ()))
        if unknown := set(period_key) - set(tables["links"].column_names):
            raise InvalidModel(f"{path}: links.{name}.period_key names unknown columns {sorted(unknown)}.")
        links[name] = LinkType(name, spec.get("description", ""), tuple(spec["source"]),
                               tuple(spec["target"]), role_enum, period_key)
    return Model(enums, tables, links, table_spec("scores", raw["scores"]))
