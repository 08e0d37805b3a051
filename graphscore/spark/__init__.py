"""The Spark engine: the same models as :mod:`graphscore.engine` on Apache Spark DataFrames,
with the same numbers, for registers beyond one machine (``pip install "graphscore[spark]"``).

It runs ``spread``, ``hop``, ``ownership-ofac``, ``ownership-eu`` and ``ownership-integrated``
(:data:`SUPPORTED_MODELS`) and refuses the others. Importing this package does not import
pyspark; a Spark function without pyspark installed fails with the line to install it.

- :func:`score`: DataFrames in (Spark), a DataFrame out, with the in-memory columns;
- :func:`contributions`: each penalty's part in the scores of a set of entities;
- :func:`read_parquet_tables`, :func:`score_parquet`: Parquet folders in and out;
- :func:`local_session`: a SparkSession with settings that work offline.

Examples
--------
>>> import graphscore.spark as gss
>>> [m.value for m in gss.SUPPORTED_MODELS][:2]
['spread', 'hop']
"""

from graphscore.spark.parquet import score_parquet, write_scores
from graphscore.spark.projection import SparkProjection, build_projection
from graphscore.spark.run import SUPPORTED_MODELS, SparkScores, check_supported, contributions, score
from graphscore.spark.session import local_session
from graphscore.spark.tables import SparkTables, from_tables, read_parquet_tables, spark_tables

__all__ = ["SUPPORTED_MODELS", "SparkProjection", "SparkScores", "SparkTables", "build_projection",
           "check_supported", "contributions", "from_tables", "local_session", "read_parquet_tables",
           "score", "score_parquet", "spark_tables", "write_scores"]
