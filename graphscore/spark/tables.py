"""The three tables as Spark DataFrames: read from Parquet (as :mod:`graphscore.io` writes
them) or converted from validated pandas tables, with the types the projection reads.

Every table gets ``_row``, its position in the input (increasing in file order): the
projection breaks ties between records of one relation by it, as the in-memory engine breaks
them by row order, and an error names the row.

Examples
--------
>>> column_types("links")["share"], column_types("penalties")["start"]
('double', 'date')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from graphscore.errors import DataIssue, InvalidData
from graphscore.model import TABLE_NAMES, Tables, load_model
from graphscore.spark.session import lazy_module

F = lazy_module("pyspark.sql.functions")

__all__ = ["SparkTables", "column_types", "from_tables", "spark_tables", "read_parquet_tables"]

# model column type -> Spark SQL type
_SPARK_TYPES = {"fraction": "double", "positive": "double", "number": "double", "date": "date"}


@dataclass(frozen=True)
class SparkTables:
    """Entities, links and penalties as Spark DataFrames, every declared column present and typed."""

    entities: object
    links: object
    penalties: object


def column_types(name: str) -> dict[str, str]:
    """Spark SQL type of each declared column of table ``name`` (text unless the model says otherwise)."""
    return {c.name: _SPARK_TYPES.get(c.type, "string") for c in load_model().tables[name].columns}


def _typed(frame, name: str):
    """Every declared column, cast to its type (absent optional columns as nulls), then ``_row``."""
    types = column_types(name)
    present = set(frame.columns)
    columns = [(F.col(f"`{c}`") if c in present else F.lit(None)).cast(t).alias(c) for c, t in types.items()]
    return frame.select(*columns, "_row")


def from_tables(spark, tables: Tables) -> SparkTables:
    """Validated pandas tables (:func:`graphscore.validate`) as Spark DataFrames.

    Goes through Arrow, dates as ``date32``, so no time zone can move a date and pandas'
    own types never reach pyspark's converters.

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.toy import fined_company
    >>> from_tables(spark, gs.validate(fined_company())).links.count()  # doctest: +SKIP
    1
    """
    frames = {}
    for name in TABLE_NAMES:
        df = getattr(tables, name)
        arrays, names = [], []
        for column, spark_type in column_types(name).items():
            values = df[column] if column in df else pd.Series([None] * len(df), dtype=object)
            if spark_type == "date":
                arrays.append(pa.array(pd.to_datetime(values).dt.date.astype(object).where(values.notna(), None),
                                       type=pa.date32()))
            elif spark_type == "double":
                arrays.append(pa.array(values.to_numpy(dtype=float, na_value=float("nan")), type=pa.float64(),
                                       from_pandas=True))
            else:
                arrays.append(pa.array(values.astype(object).where(values.notna(), None).tolist(), type=pa.string()))
            names.append(column)
        arrays.append(pa.array(range(len(df)), type=pa.int64()))
        names.append("_row")
        frames[name] = spark.createDataFrame(pa.Table.from_arrays(arrays, names=names))
    return SparkTables(**frames)


def _numbered(frame):
    """``frame`` with ``_row``, each row's position in the scan (file order within a file).

    ``monotonically_increasing_id`` puts the partition in the upper bits and the row within it in
    the lower 33; one count per partition turns that into a position without a sort or a
    shuffle."""
    frame = frame.withColumn("_id", F.monotonically_increasing_id())
    counts = dict(frame.groupBy(F.shiftright("_id", 33).alias("part")).count().collect())
    offsets, total = [], 0
    for part in range(max(counts, default=-1) + 1):
        offsets.append(total)
        total += counts.get(part, 0)
    offset = F.element_at(F.array(*[F.lit(o) for o in offsets or [0]]), (F.shiftright("_id", 33) + 1).cast("int"))
    return frame.withColumn("_row", offset + F.col("_id").bitwiseAND((1 << 33) - 1)).drop("_id")


def _first_bad_row(frame, bad) -> int:
    """Position of the first row where ``bad`` holds (only called once a check has failed)."""
    return frame.filter(bad).agg(F.min("_row")).first()[0]


def _parse_dates(frame, name: str, origin: str, issues: list[DataIssue]):
    """Date columns written as ISO text (``graphscore.io.write_tables``) parsed; a text that is
    not a date is an issue naming its row."""
    types = column_types(name)
    for column in [c for c, t in types.items() if t == "date" and c in frame.columns]:
        kind = dict(frame.dtypes)[column]
        if kind not in ("string", "date", "timestamp", "timestamp_ntz") and frame.filter(
                F.col(f"`{column}`").isNotNull()).limit(1).count() == 0:
            # a column with no value at all is written untyped (Parquet's null type), which
            # Spark reads as integers that no cast turns into dates
            frame = frame.withColumn(column, F.lit(None).cast("date"))
        if kind != "string":
            continue
        parsed = F.try_to_date(F.col(f"`{column}`"), "yyyy-MM-dd")
        bad = F.col(f"`{column}`").isNotNull() & (F.trim(F.col(f"`{column}`")) != "") & parsed.isNull()
        if frame.filter(bad).limit(1).count():
            row = _first_bad_row(frame, bad)
            value = frame.filter(F.col("_row") == row).first()[column]
            issues.append(DataIssue(f"{origin}:{row + 2}", column, value, "is not a date (YYYY-MM-DD)"))
        frame = frame.withColumn(column, parsed)
    return frame


def _checks(name: str, frame) -> list[tuple[str, object, str]]:
    """(field, condition of a bad row, reason) for the rules the projection relies on."""
    model = load_model()
    spec = model.tables[name]
    checks = [(c.name, F.col(c.name).isNull(), "is required") for c in spec.columns if c.required]
    for column_spec in spec.columns:
        column = column_spec.name
        if column_spec.type == "fraction":
            checks.append((column, F.isnan(column) | (F.col(column) < 0) | (F.col(column) > 1), "outside [0, 1]"))
        elif column_spec.type == "positive":
            checks.append((column, F.isnan(column) | (F.col(column) <= 0), "is not a number > 0"))
        elif column_spec.type.startswith("enum:"):
            allowed = model.enums[column_spec.type.removeprefix("enum:")]
            checks.append((column, ~F.col(column).isin(*allowed), f"is not one of {', '.join(allowed)}"))
        elif column_spec.type == "link_type":
            checks.append((column, ~F.col(column).isin(*model.links), f"is not a link type ({', '.join(model.links)})"))
    if {"start", "end"} <= set(spec.column_names):
        checks.append(("end", F.col("end") <= F.col("start"), "is not after start"))
    return checks


def _check(frame, name: str, origin: str, issues: list[DataIssue]) -> None:
    """One pass over the table counting each rule's bad rows; the first bad row of each named."""
    checks = _checks(name, frame)
    counts = frame.agg(*[F.sum(F.coalesce(bad, F.lit(False)).cast("long")) for _, bad, _ in checks]).first()
    for (field, bad, reason), count in zip(checks, counts):
        if count:
            bad = F.coalesce(bad, F.lit(False))
            row = _first_bad_row(frame, bad)
            value = frame.filter(F.col("_row") == row).first()[field]
            more = f" ({count - 1} more rows)" if count > 1 else ""
            issues.append(DataIssue(f"{origin}:{row + 2}", field, value, reason + more))


def _check_references(tables: SparkTables, origins: dict[str, str], issues: list[DataIssue]) -> None:
    ids = tables.entities.select(F.col("id").alias("_ref"))
    duplicated = tables.entities.groupBy("id").agg(F.count("*").alias("n"), F.max("_row").alias("_row")).filter("n > 1")
    first = duplicated.orderBy("_row").first()
    if first is not None:
        issues.append(DataIssue(f"{origins['entities']}:{first['_row'] + 2}", "id", first["id"], "is a duplicate id"))
    for name, columns in (("links", ("source", "target")), ("penalties", ("entity",))):
        frame = getattr(tables, name)
        for column in columns:
            unknown = frame.join(ids, frame[column] == ids["_ref"], "left_anti").filter(F.col(column).isNotNull())
            first = unknown.orderBy("_row").first()
            if first is not None:
                issues.append(DataIssue(f"{origins[name]}:{first['_row'] + 2}", column, first[column],
                                        "is not an entity id"))


def spark_tables(entities, links=None, penalties=None, *, origins: dict[str, str] | None = None,
                 check: bool = True) -> SparkTables:
    """Spark DataFrames with the model's columns (dates as ISO text or dates) as typed
    :class:`SparkTables`, checked for what the projection relies on.

    Checked: required columns and values, enums and link types, shares in [0, 1], severities
    above 0, dates, ``end`` after ``start``, duplicate entity ids and references to unknown
    entities. The in-memory validator (:func:`graphscore.validate`) checks more (kinds at each
    end of a link, stakes summing past 100 %): run it on a sample when a source is new.
    ``links`` or ``penalties`` None: there are none.

    Raises
    ------
    InvalidData
        Listing every failed rule, each with the table (``origins`` names its file), the first
        bad row (``row + 2``, as the in-memory reader numbers Parquet rows), field and value.
    """
    origins = {name: name for name in TABLE_NAMES} | (origins or {})
    spark = entities.sparkSession
    issues: list[DataIssue] = []
    frames = {}
    for name, raw in zip(TABLE_NAMES, (entities, links, penalties)):
        if raw is None:
            schema = ", ".join(f"`{c}` {t}" for c, t in column_types(name).items())
            frames[name] = spark.createDataFrame([], f"{schema}, _row long")
            continue
        missing = [c.name for c in load_model().tables[name].columns if c.required and c.name not in raw.columns]
        if missing:
            issues.extend(DataIssue(origins[name], c, None, "column is missing") for c in missing)
            continue
        if "_row" not in raw.columns:
            raw = _numbered(raw)
        frame = _typed(_parse_dates(raw, name, origins[name], issues), name)
        if check:
            _check(frame, name, origins[name], issues)
        frames[name] = frame
    if issues:
        raise InvalidData(issues)
    tables = SparkTables(**frames)
    if check:
        _check_references(tables, origins, issues)
    if issues:
        raise InvalidData(issues)
    return tables


def read_parquet_tables(spark, folder: str | Path) -> SparkTables:
    """Read ``entities``, ``links`` and ``penalties`` Parquet (each a file or a folder of parts)
    from ``folder`` as :func:`spark_tables` (``entities`` required, the others optional).

    Raises
    ------
    InvalidData
        As :func:`spark_tables`, naming the files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidData(DataIssue(str(folder), "path", None, "is not a folder of Parquet tables"))
    frames = {}
    for name in TABLE_NAMES:
        path = folder / f"{name}.parquet"
        if path.exists():
            frames[name] = spark.read.parquet(str(path))
        elif name == "entities":
            raise InvalidData(DataIssue(str(folder), "entities", None, "has no entities.parquet"))
    return spark_tables(frames["entities"], frames.get("links"), frames.get("penalties"),
                        origins={name: f"{name}.parquet" for name in TABLE_NAMES})
