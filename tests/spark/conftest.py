"""One SparkSession for every Spark test (starting one takes seconds), on local[2] with the
settings that work offline (graphscore.spark.session.LOCAL_SETTINGS)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from graphscore.spark.session import local_session

    # 2 GB, not Spark's default 1 GB: in local mode the driver is the executors too, and the
    # spread echo's keyed runs, one per penalised entity, ran out of 1 GB after the other
    # spread cases in the same session (AGGREGATE_OUT_OF_MEMORY)
    session = local_session("local[2]", shuffle_partitions=2, config={"spark.driver.memory": "2g"})
    yield session
    session.stop()
