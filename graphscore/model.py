"""The data model: declarations read from ``schema/model.toml`` and validation of tables against them.

Everything that knows about entity kinds, link types or table columns derives from
:func:`load_model`; nothing restates them.

Examples
--------
>>> import pandas as pd
>>> model = load_model()
>>> sorted(model.links)
['ASSOCIATE', 'CONTROLS', 'FAMILY', 'OFFICER_OF', 'OWNS']
>>> entities = pd.DataFrame({"id": ["a", "b"], "kind": ["person", "company"], "name": ["A", "B"]})
>>> links = pd.DataFrame({"source": ["a"], "target": ["b"], "type": ["OWNS"], "share": [1.7]})
>>> validate(Tables(entities, links, pd.DataFrame()))
Traceback (most recent call last):
...
graphscore.errors.InvalidData: links[0]: share=1.7 outside [0, 1] (OWNS)
"""

from __future__ import annotations

import functools
import hashlib
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from graphscore.errors import DataIssue, InvalidData, InvalidModel

__all__ = [
    "Column",
    "TableSpec",
    "LinkType",
    "Model",
    "Tables",
    "GraphscoreWarning",
    "load_model",
    "validate",
    "empty_table",
    "link_keys",
]

SCHEMA_FILE = Path(__file__).parent / "schema" / "model.toml"
TABLE_NAMES = ("entities", "links", "penalties")
_COLUMN_TYPES = {"string", "number", "fraction", "positive", "date", "ref", "link_type"}
_MAX_ISSUES = 200  # enough to fix a file in one pass without flooding a terminal


class GraphscoreWarning(UserWarning):
    """Data that is accepted but worth a look (e.g. owners of one asset summing past 100 %)."""


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
    scores: TableSpec  # score properties written back to Entity nodes


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


def empty_table(name: str, model: Model | None = None) -> pd.DataFrame:
    """An empty table with the declared columns and dtypes."""
    spec = (model or load_model()).tables[name]
    return pd.DataFrame({c.name: pd.Series(dtype=c.dtype) for c in spec.columns})


@dataclass
class Tables:
    """The three input tables. Build them with a reader (``graphscore.io``) or by hand, then
    :func:`validate` them; validated tables have every declared column, coerced."""

    entities: pd.DataFrame
    links: pd.DataFrame = field(default_factory=pd.DataFrame)
    penalties: pd.DataFrame = field(default_factory=pd.DataFrame)
    validated: bool = False  # set by validate(): its warnings were given once already

    def items(self):
        return ((name, getattr(self, name)) for name in TABLE_NAMES)

    def counts(self) -> dict[str, int]:
        return {name: len(df) for name, df in self.items()}

    def fingerprint(self) -> str:
        """SHA-256 over the tables' content, independent of row order: names the data a score used."""
        digest = hashlib.sha256()
        for name, df in self.items():
            columns = sorted(c for c in df.columns if not c.startswith("_"))
            rows = df[columns].to_csv(index=False, header=False, date_format="%Y-%m-%d").splitlines()
            digest.update(name.encode())
            digest.update("\x1e".join(columns).encode())
            for row in sorted(rows):
                digest.update(row.encode() + b"\n")
        return digest.hexdigest()


def link_keys(links: pd.DataFrame) -> pd.Series:
    """Identity of each link record: type, ends, role, start and source reference.

    A store merges on it, so loading the same file twice adds nothing, and a corrected share
    or end date updates the record instead of adding a second one. Two records of one relation
    that start the same day (registers that keep each superseded stake with its original start)
    are told apart by their ``source_ref``."""
    def text(column: str) -> pd.Series:
        values = links[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            values = values.dt.strftime("%Y-%m-%d")
        return values.astype(object).where(values.notna(), "").astype(str)

    key = text("type")
    for column in ("source", "target", "role", "start", "source_ref"):
        key = key + "|" + text(column)
    return key.astype(object)


def _where(df: pd.DataFrame, table: str, positions) -> list[str]:
    """File and line of each row, as readers recorded them in ``df.attrs``."""
    origin = df.attrs.get("origin")
    lines = df.attrs.get("lines")
    if origin is None:
        return [f"{table}[{i}]" for i in positions]
    if lines is None:
        return [f"{origin}:{i + 2}" for i in positions]  # line 1 is the header
    return [f"{origin}:{lines[i]}" for i in positions]


class _Issues:
    """Collects issues for one table; each call flags the rows where ``bad`` is true."""

    def __init__(self, df: pd.DataFrame, table: str):
        self.df, self.table, self.found = df, table, []

    def flag(self, bad, column: str, reason: str, values=None) -> None:
        bad = np.asarray(bad, dtype=bool)
        positions = np.flatnonzero(bad)[: _MAX_ISSUES - len(self.found)]
        if not len(positions):
            return
        values = np.asarray(self.df[column] if values is None else values, dtype=object)
        for where, i in zip(_where(self.df, self.table, positions), positions):
            value = values[i]
            if isinstance(value, pd.Timestamp):
                value = value.date().isoformat()
            self.found.append(DataIssue(where, column, value, reason))

    def whole_table(self, column: str, reason: str) -> None:
        origin = self.df.attrs.get("origin", self.table)
        self.found.append(DataIssue(origin, column, None, reason))


def _member(values: pd.Series, allowed) -> np.ndarray:
    """``values.isin(allowed)`` as a hash lookup on plain objects (pandas' Arrow-string isin
    loops in Python, which costs seconds on a million links)."""
    return pd.Index(list(allowed) if not isinstance(allowed, pd.Index) else allowed, dtype=object) \
        .get_indexer(values.astype(object).to_numpy()) >= 0


def _blank(series: pd.Series) -> np.ndarray:
    as_text = series.astype(str).str.strip()
    return (series.isna() | as_text.eq("")).to_numpy()


def _coerce(df: pd.DataFrame, spec: TableSpec, model: Model, issues: _Issues) -> pd.DataFrame:
    out = {}
    for col in spec.columns:
        raw = df[col.name] if col.name in df.columns else pd.Series([None] * len(df), dtype=object)
        blank = _blank(raw)
        if col.required:
            issues.flag(blank, col.name, "is required but empty", raw)
        if col.type in ("fraction", "positive"):
            values = pd.to_numeric(raw.where(~blank), errors="coerce").astype("float64")
            issues.flag(~blank & values.isna().to_numpy(), col.name, "is not a number", raw)
            out[col.name] = values
        elif col.type == "date":
            if pd.api.types.is_datetime64_any_dtype(raw):
                raw = raw.dt.strftime("%Y-%m-%d").astype(object)
            text = raw.astype(str).str.strip().where(~blank).astype(object)
            # ISO dates only: pandas would also take "2024-1-5"; second resolution spans years 1 to 9999
            iso = text.str.fullmatch(r"\d{4}-\d{2}-\d{2}", na=False).to_numpy(bool)
            parsed = pd.to_datetime(text.where(iso), format="%Y-%m-%d", errors="coerce")
            issues.flag(~blank & parsed.isna().to_numpy(), col.name, "is not a date (YYYY-MM-DD)", raw)
            out[col.name] = parsed.astype("datetime64[s]")
        else:
            # str + strip run vectorised (Arrow); blanks go back to None, as plain objects
            values = raw.astype(str).str.strip().astype(object)
            values[blank] = None
            out[col.name] = values
            if col.type.startswith("enum:"):
                allowed = model.enums[col.type.removeprefix("enum:")]
                issues.flag(~blank & ~_member(out[col.name], allowed), col.name,
                            f"is not one of {', '.join(allowed)}", raw)
            elif col.type == "link_type":
                issues.flag(~blank & ~_member(out[col.name], model.links), col.name,
                            f"is not a link type ({', '.join(model.links)})", raw)
    coerced = pd.DataFrame(out, index=range(len(df)))
    coerced.attrs.update(df.attrs)
    return coerced


def _check_ranges(df: pd.DataFrame, spec: TableSpec, issues: _Issues) -> None:
    for col in spec.columns:
        values = df[col.name]
        if col.type == "fraction":
            bad = ((values < 0) | (values > 1)).to_numpy()
            suffix = f" ({', '.join(sorted(set(df['type'][bad].dropna())))})" if "type" in df else ""
            issues.flag(bad, col.name, f"outside [0, 1]{suffix}", values)
        elif col.type == "positive":
            issues.flag((values <= 0).to_numpy() | ~np.isfinite(values.fillna(1.0).to_numpy()),
                        col.name, "must be > 0", values)
    if spec.key:
        keys = df[spec.key]
        issues.flag((keys.notna() & keys.duplicated(keep="first")).to_numpy(), spec.key, "is a duplicate id")
    if "start" in df and "end" in df:
        issues.flag((df["end"] < df["start"]).to_numpy(), "end", "is before start")
    if "repair_from" in df:
        issues.flag((df["repair_from"] < df["start"]).to_numpy(), "repair_from", "is before start")


def _check_links(links: pd.DataFrame, kinds: pd.Series, model: Model, issues: _Issues) -> None:
    for end in ("source", "target"):
        unknown = links[end].notna().to_numpy() & ~_member(links[end], kinds.index)
        issues.flag(unknown, end, "is not a known entity id")
    issues.flag((links["source"] == links["target"]).to_numpy() & links["source"].notna().to_numpy(),
                "target", "equals source (self-link)")
    source_kind = links["source"].map(kinds)
    target_kind = links["target"].map(kinds)
    for link in model.links.values():
        of_type = (links["type"] == link.name).to_numpy()
        for end, kind, allowed in (("source", source_kind, link.source_kinds),
                                   ("target", target_kind, link.target_kinds)):
            bad = of_type & kind.notna().to_numpy() & ~_member(kind, allowed)
            issues.flag(bad, end, f"is a {'/'.join(sorted(set(kind[bad])))}, "
                        f"but {link.name} {end}s must be {' or '.join(allowed)}")
        if link.role_enum:
            allowed = model.enums[link.role_enum]
            bad = of_type & links["role"].notna().to_numpy() & ~_member(links["role"], allowed)
            issues.flag(bad, "role", f"is not one of {', '.join(allowed)} ({link.name})")
    not_owns = (links["type"] != "OWNS").to_numpy()
    for column in ("share", "share_low", "share_high"):
        issues.flag(not_owns & links[column].notna().to_numpy(), column, "is only allowed on OWNS links")
    issues.flag((links["share_low"] > links["share_high"]).to_numpy(), "share_low", "is above share_high")
    issues.flag(link_keys(links).duplicated().to_numpy(), "start",
                "repeats a link record (same type, ends, role, start and source_ref)")


def _warn_overfull_assets(links: pd.DataFrame) -> None:
    """Warn where the stakes recorded in one asset add up past 100 % at some date."""
    from graphscore.engine.timeline import active_links  # timeline depends on this module

    owns = links[(links["type"] == "OWNS") & links["share"].notna()]
    # Only an asset whose relations' largest stakes sum past 1 can be over-full at some date;
    # the exact check, at every date a record starts or ends, runs on those few alone.
    bound = owns.groupby(["target", "source"])["share"].max().groupby(level="target").sum()
    over = []
    for asset in bound.index[bound > 1 + 1e-9]:
        records = owns[owns["target"] == asset]
        dates = pd.concat([records["start"], records["end"]]).dropna().unique().tolist()
        for date in sorted([pd.Timestamp.min.ceil("D"), *dates]):
            total = active_links(records, pd.Timestamp(date))["share"].sum()
            if total > 1 + 1e-9:
                over.append(f"stakes in {asset} sum to {total:.0%} at {pd.Timestamp(date).date()}")
                break
    if over:
        more = f" (and {len(over) - 1} more assets)" if len(over) > 1 else ""
        warnings.warn(f"{links.attrs.get('origin', 'links')}: {over[0]}{more}", GraphscoreWarning, stacklevel=3)


def _check_against_store(checked: dict, known_entities: pd.DataFrame | None,
                         known_penalties: pd.DataFrame | None) -> list[DataIssue]:
    """A reload may update names and dates, not what a record is: an entity's kind, a
    penalty's entity. Changing those would leave stored links or edges that break the model."""
    issues = []
    if known_entities is not None and len(known_entities):
        kinds = _Issues(checked["entities"], "entities")
        stored = checked["entities"]["id"].map(known_entities.set_index("id")["kind"])
        kinds.flag((stored.notna() & (stored != checked["entities"]["kind"])).to_numpy(), "kind",
                   "differs from the kind stored for this id (a reload cannot change it)")
        issues += kinds.found
    if known_penalties is not None and len(known_penalties):
        owners = _Issues(checked["penalties"], "penalties")
        stored = checked["penalties"]["id"].map(known_penalties.set_index("id")["entity"])
        owners.flag((stored.notna() & (stored != checked["penalties"]["entity"])).to_numpy(), "entity",
                    "differs from the entity stored for this penalty id (a reload cannot move it)")
        issues += owners.found
    return issues


def validate(tables: Tables, model: Model | None = None, *,
             known_entities: pd.DataFrame | None = None,
             known_penalties: pd.DataFrame | None = None) -> Tables:
    """Check tables against the model and return them with every declared column, coerced.

    Parameters
    ----------
    tables : Tables
        Raw tables, e.g. from :func:`graphscore.io.read_tables`.
    model : Model, optional
        Defaults to :func:`load_model`.
    known_entities : DataFrame, optional
        Entities already in a store (``id``, ``kind``): links and penalties may refer to them,
        and a row may not change a stored entity's kind.
    known_penalties : DataFrame, optional
        Penalties already in a store (``id``, ``entity``): a row may not move one to another entity.

    Raises
    ------
    InvalidData
        Listing every bad cell: file, line, field, value and reason.
    """
    model = model or load_model()
    checked, all_issues = {}, []
    for name, df in tables.items():
        spec = model.tables[name]
        issues = _Issues(df, name)
        if df is None or (len(df.columns) == 0 and name != "entities"):
            checked[name] = empty_table(name, model)
            continue
        if len(df) == 0 and name == "entities":
            issues.whole_table("id", "no entity rows")
        for col in spec.columns:
            if col.required and col.name not in df.columns:
                issues.whole_table(col.name, "required column is missing")
        for col in df.columns:
            if col not in spec.column_names and not str(col).startswith("_"):
                issues.whole_table(str(col), f"unknown column (expected: {', '.join(spec.column_names)})")
        if issues.found:
            all_issues += issues.found
            checked[name] = empty_table(name, model)
            continue
        coerced = _coerce(df.reset_index(drop=True), spec, model, issues)
        _check_ranges(coerced, spec, issues)
        checked[name] = coerced
        all_issues += issues.found

    kinds = checked["entities"].dropna(subset=["id"]).drop_duplicates("id").set_index("id")["kind"]
    if known_entities is not None and len(known_entities):
        known = known_entities.set_index("id")["kind"]
        kinds = pd.concat([known[~known.index.isin(kinds.index)], kinds])
    links_issues = _Issues(checked["links"], "links")
    _check_links(checked["links"], kinds, model, links_issues)
    penalty_issues = _Issues(checked["penalties"], "penalties")
    penalty_issues.flag((checked["penalties"]["entity"].notna()
                         & ~_member(checked["penalties"]["entity"], kinds.index)),
                        "entity", "is not a known entity id")
    all_issues += links_issues.found + penalty_issues.found
    all_issues += _check_against_store(checked, known_entities, known_penalties)
    if all_issues:
        raise InvalidData(all_issues)
    if not tables.validated:
        _warn_overfull_assets(checked["links"])
    return Tables(**checked, validated=True)
