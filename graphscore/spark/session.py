"""pyspark, imported when first used, and a SparkSession with settings that work offline.

pyspark is an optional dependency (``pip install "graphscore[spark]"``): importing
:mod:`graphscore.spark` never imports it, so the package, its docstrings and ``--help`` work
without it, and a missing pyspark fails only when a Spark function runs, with the install line.

Examples
--------
>>> F = lazy_module("pyspark.sql.functions")   # nothing imported yet
>>> missing = lazy_module("pyspark_that_is_not_installed")
>>> missing.col
Traceback (most recent call last):
...
ImportError: the spark engine needs pyspark: pip install "graphscore[spark]" (No module named 'pyspark_that_is_not_installed')
"""

from __future__ import annotations

import importlib
import types

__all__ = ["lazy_module", "local_session", "LOCAL_SETTINGS", "cut_lineage"]

# Settings that make a local session start on a machine with no network name and no free UI
# port: everything on loopback, no web UI, and few shuffle partitions (Spark's default of 200
# is sized for clusters; on 2 cores each of them is a task to schedule, per iteration).
LOCAL_SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",  # dates are calendar dates: no zone may shift them
}


class _LazyModule(types.ModuleType):
    """A module object that imports the real module on first attribute access."""

    def __init__(self, name: str):
        super().__init__(name)
        self._real = None

    def __getattr__(self, attribute: str):
        if attribute.startswith("__"):  # doctest and pickle probe dunders: never import for them
            raise AttributeError(attribute)
        real = self.__dict__.get("_real")
        if real is None:
            try:
                real = importlib.import_module(self.__name__)
            except ImportError as exc:
                raise ImportError(f'the spark engine needs pyspark: pip install "graphscore[spark]" ({exc})') from None
            self.__dict__["_real"] = real
        return getattr(real, attribute)


def lazy_module(name: str) -> types.ModuleType:
    """``name`` as a module that is imported when one of its attributes is first read."""
    return _LazyModule(name)


def local_session(master: str = "local[2]", *, shuffle_partitions: int = 4, app_name: str = "graphscore",
                  config: dict[str, str] | None = None):
    """A SparkSession on ``master`` with :data:`LOCAL_SETTINGS` (loopback, no UI, few partitions).

    On a cluster, pass its master URL (``spark://host:7077``, ``yarn``) and ``config`` to
    override the loopback addresses; under spark-submit or Databricks use the session they give
    (``SparkSession.builder.getOrCreate()``) and call :func:`graphscore.spark.score` directly.

    Examples
    --------
    >>> spark = local_session()  # doctest: +SKIP
    """
    SparkSession = lazy_module("pyspark.sql").SparkSession
    settings = {**LOCAL_SETTINGS, "spark.sql.shuffle.partitions": str(shuffle_partitions)}
    if not master.startswith("local"):  # a cluster reaches the driver by its real address
        settings = {k: v for k, v in settings.items() if k not in ("spark.driver.host", "spark.driver.bindAddress")}
    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in {**settings, **(config or {})}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def cut_lineage(frame):
    """``frame`` computed now and cut from its plan, so iterated plans stay short.

    A checkpoint directory set on the SparkContext (``sc.setCheckpointDir``: HDFS, S3, DBFS)
    gives a reliable checkpoint that survives the loss of an executor; without one the
    blocks stay on the executors (``localCheckpoint``), which is what a single machine wants.
    """
    try:
        reliable = bool(frame.sparkSession.sparkContext.getCheckpointDir())
    except Exception:  # Spark Connect has no SparkContext on the client: the server decides
        reliable = False
    return frame.checkpoint(eager=True) if reliable else frame.localCheckpoint(eager=True)
