"""The docstring examples of graphscore.spark that need a SparkSession (marked ``+SKIP`` so the
package's doctest run never starts Spark) run here, on the one session of the Spark tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

pytestmark = pytest.mark.spark

MODULES = ["session", "tables", "projection", "linear", "ownership", "run", "parquet"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_on_spark(spark, name):
    module = importlib.import_module(f"graphscore.spark.{name}")
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    ran = 0
    for test in finder.find(module, globs={**vars(module), "spark": spark}):
        for example in test.examples:
            if "local_session()" in example.source:  # the one example that would start a second session
                continue
            example.options.pop(doctest.SKIP, None)
        test.examples = [e for e in test.examples if "local_session()" not in e.source]
        ran += runner.run(test, clear_globs=False).attempted
    assert runner.failures == 0
    assert ran > 0 or name in ("session", "parquet")
