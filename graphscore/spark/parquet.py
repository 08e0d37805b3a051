"""Parquet in, Parquet out: what ``graphscore score --engine spark`` does.

Scores are written as a folder of Parquet files range-partitioned by ``id``: each file holds a
contiguous, sorted range of ids, so a reader looking up entities skips the files whose id
range (in the footer statistics) cannot hold them, and files stay near ``rows_per_file`` rows
whatever the register's size.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import graphscore
from graphscore.policy import Policy
from graphscore.spark.run import SparkScores, score
from graphscore.spark.session import lazy_module, local_session
from graphscore.spark.tables import read_parquet_tables

F = lazy_module("pyspark.sql.functions")

__all__ = ["write_scores", "score_parquet", "file_count"]

ROWS_PER_FILE = 2_000_000  # ~50-100 MB of scores per file: large enough to read fast, small enough to skip


def file_count(rows: int, rows_per_file: int = ROWS_PER_FILE) -> int:
    """How many files ``rows`` scores are written to.

    Examples
    --------
    >>> file_count(17), file_count(10_000_000), file_count(0)
    (1, 5, 1)
    """
    return max(1, math.ceil(rows / rows_per_file))


def _fingerprint(tables) -> dict:
    """An order-independent content hash of each table (sum of 64-bit row hashes), from one pass.

    Not the in-memory engine's SHA-256 (``Tables.fingerprint``): the two never compare."""
    out = {}
    for name in ("entities", "links", "penalties"):
        frame = getattr(tables, name).drop("_row")
        row = frame.agg(F.count("*").alias("n"), F.sum(F.xxhash64(*frame.columns).cast("decimal(38,0)")).alias("h")).first()
        out[name] = {"rows": row["n"], "xxhash64_sum": str(row["h"] or 0)}
    return out


def write_scores(scores: SparkScores, out: str | Path, policy: Policy, *, source: str, tables=None,
                 rows_per_file: int = ROWS_PER_FILE) -> Path:
    """Write the scores to the folder ``out`` (Parquet, range-partitioned by id) and
    ``<out stem>.manifest.json`` beside it; return the manifest's path."""
    out = Path(out)
    frame = scores.frame
    rows = frame.count()
    (frame.repartitionByRange(file_count(rows, rows_per_file), "id").sortWithinPartitions("id")
     .write.mode("overwrite").parquet(str(out)))
    spark = frame.sparkSession
    manifest = {
        "graphscore_version": graphscore.__version__,
        "engine": {"name": "spark", "spark_version": spark.version},
        "policy": {"name": policy.name, "hash": policy.hash, "model": policy.model.value,
                   "definition": policy.to_dict()},
        "input": source,
        "data": _fingerprint(tables) if tables is not None else None,
        "as_of": scores.as_of,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "rows": rows,
        "notes": scores.notes,
        "model_figures": scores.figures,
    }
    path = out.with_name(out.stem + ".manifest.json")
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def score_parquet(source: str | Path, policy: Policy, out: str | Path, *, master: str = "local[2]",
                  as_of: dt.date | str | None = None, spark=None) -> SparkScores:
    """Read Parquet tables from the folder ``source``, score them on Spark and write the scores
    to ``out``: the whole of ``graphscore score --engine spark``. ``spark``: a session to use
    (default: one on ``master`` with :func:`graphscore.spark.session.local_session`)."""
    if Path(out).suffix not in ("", ".parquet"):
        raise ValueError(f"--out {out}: the spark engine writes a folder of Parquet files; name it "
                         "e.g. scores.parquet")
    spark = spark or local_session(master)
    tables = read_parquet_tables(spark, source)
    result = score(policy, tables, as_of=as_of)
    write_scores(result, out, policy, source=str(source), tables=tables)
    return result
