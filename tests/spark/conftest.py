"""One SparkSession for every Spark test (starting one takes seconds), on local[2] with the
settings that work offline (graphscore.spark.session.LOCAL_SETTINGS)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def spark():
    from graphscore.spark.session import local_session

    session = local_session("local[2]", shuffle_partitions=2)
    yield session
    session.stop()
