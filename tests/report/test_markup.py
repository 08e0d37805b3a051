"""The Jinja environment's cache of compiled templates (graphscore.report.markup.template_cache),
and tables as JSON-ready rows (records)."""

import datetime as dt
import json

import jinja2
import numpy as np
import pandas as pd
import pytest

from graphscore.report.markup import environment, plain, records, template_cache

PAGE = "{% for name in names %}<li>{{ name }}</li>{% endfor %}"
NAMES = ["<script>alert(1)</script>", "Acme & Sons"]


def _render(cache) -> str:
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": PAGE}), autoescape=True, bytecode_cache=cache)
    return env.get_template("page.html").render(names=NAMES)


def test_a_cached_template_renders_as_one_compiled_from_source(tmp_path):
    fresh = _render(None)
    assert _render(template_cache(str(tmp_path))) == fresh  # compiled, then written to the cache
    assert len(list(tmp_path.iterdir())) == 1
    assert _render(template_cache(str(tmp_path))) == fresh  # read from the cache
    assert "&lt;script&gt;" in fresh and "<script>" not in fresh


def test_a_changed_template_is_compiled_again(tmp_path):
    _render(template_cache(str(tmp_path)))
    env = jinja2.Environment(loader=jinja2.DictLoader({"page.html": PAGE.replace("li", "p")}), autoescape=True,
                             bytecode_cache=template_cache(str(tmp_path)))
    assert env.get_template("page.html").render(names=NAMES).startswith("<p>&lt;script")


def test_a_cache_that_cannot_be_written_compiles_as_before(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert _render(template_cache(str(not_a_folder))) == _render(None)


def test_the_report_environment_caches_its_templates():
    assert isinstance(environment().bytecode_cache, jinja2.FileSystemBytecodeCache)


@pytest.mark.filterwarnings("ignore:DataFrame columns are not unique")  # pandas', on the frame with two "a"
def test_records_are_pandas_rows_made_plain():
    """records reads a column at a time what ``plain(frame.to_dict(orient="records"))`` gives:
    every kind of column a report holds, missing values of each, and odd frames."""
    frame = pd.DataFrame({
        "id": pd.array(["a", None, "c"], dtype="str"), "text": pd.array(["x", "y", None], dtype=object),
        "share": [0.5, np.nan, np.inf], "n": pd.array([1, None, 3], dtype="Int64"), "count": np.arange(3),
        "flag": [True, False, True], "day": pd.to_datetime(["2024-01-01", None, "2024-06-30"]),
        "date": [dt.date(2024, 1, 1), None, dt.date(2024, 1, 3)], "hops": [[{"from": "a", "w": np.float64(0.5)}], [], None],
        3: ["three", "four", "five"]})
    expected = plain(frame.to_dict(orient="records"))
    assert records(frame) == expected
    assert json.dumps(records(frame)) == json.dumps(expected)
    for odd in (frame.head(0), frame[[]], pd.DataFrame({"a": [1, 2], "b": [3, 4]}).set_axis(["a", "a"], axis=1)):
        assert records(odd) == plain(odd.to_dict(orient="records"))
