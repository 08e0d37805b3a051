"""LadybugDB behaviours graphscore works around, each as a minimal script for an upstream report.

pyproject pins the ladybug version these were found in. Each test asserts the faulty
behaviour, so that when an upgrade fixes it the test fails and says which workaround to drop.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ladybug
import pyarrow as pa

HERE = Path(__file__).parent


def test_query_as_arrow_returns_nulls_as_zero_empty_and_epoch(tmp_path):
    """``Connection.query_as_arrow`` fills null DOUBLE, STRING and DATE values with 0, "" and
    1970-01-01; ``execute(...).get_as_arrow()`` keeps them null. graphscore reads with the
    latter (``LadybugStore._read_raw``)."""
    conn = ladybug.Connection(ladybug.Database(str(tmp_path / "g.lbug")))
    conn.execute("CREATE NODE TABLE E(id STRING PRIMARY KEY, x DOUBLE, s STRING, d DATE)")
    conn.execute("COPY E(id) FROM $rows", {"rows": pa.table({"id": ["a"]})})
    query = "MATCH (e:E) RETURN e.x AS x, e.s AS s, e.d AS d"
    kept = conn.execute(query).get_as_arrow().to_pylist()
    lost = conn.query_as_arrow(query, 1_000).get_as_arrow().to_pylist()
    assert kept == [{"x": None, "s": None, "d": None}]
    assert lost[0]["x"] == 0 and lost[0]["s"] == "" and str(lost[0]["d"]) == "1970-01-01", (
        f"ladybug {ladybug.__version__} keeps nulls in query_as_arrow now: it may replace execute().get_as_arrow()")


def test_query_as_arrow_returns_no_row_for_node_offsets_alone(tmp_path):
    """``Connection.query_as_arrow`` of a relationship pattern returning only node offsets gives
    no row (with a property beside them, every row). The read-back reads a link type without
    its keys only when a property comes back with the offsets (``LadybugStore._read_arrow``)."""
    conn = ladybug.Connection(ladybug.Database(str(tmp_path / "g.lbug")))
    conn.execute("CREATE NODE TABLE E(id STRING PRIMARY KEY)")
    conn.execute("CREATE REL TABLE R(FROM E TO E, k STRING)")
    conn.execute("CREATE (:E {id: 'a'}), (:E {id: 'b'})")
    conn.execute("MATCH (a:E {id: 'a'}), (b:E {id: 'b'}) CREATE (a)-[:R {k: 'x'}]->(b)")
    offsets = "MATCH (a:E)-[r:R]->(b:E) RETURN offset(id(a)) AS s, offset(id(b)) AS t"
    assert conn.query_as_arrow(offsets + ", r.k AS k", 1_000).get_as_arrow().num_rows == 1
    assert conn.query_as_arrow(offsets, 1_000).get_as_arrow().num_rows == 0, (
        f"ladybug {ladybug.__version__} returns offsets alone now: the read-back may leave every link's key out")


def test_merge_then_set_on_checkpointed_relationships_corrupts_them():
    """The script an upstream report carries (its docstring says what each flag shows):
    re-running ``MERGE (a)-[r:R {key: ...}]->(b) SET r.v = ...`` over checkpointed relationships
    scrambles them. graphscore's loads never run it on LadybugDB: new links are copied in,
    changed ones deleted by key and copied again (``tests/store/test_bulk_load.py``)."""
    script = str(HERE / "ladybug_merge_set_bug.py")
    corrupted = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300)
    assert corrupted.returncode == 1, (
        f"ladybug {ladybug.__version__} no longer corrupts re-merged relationships:\n{corrupted.stdout}")
    merge_only = subprocess.run([sys.executable, script, "--no-set"], capture_output=True, text=True, timeout=300)
    assert merge_only.returncode == 0, merge_only.stdout


def test_where_over_two_matches_lets_excluded_relationships_through():
    """The script an upstream report carries: a WHERE filtering a node of one MATCH and a
    relationship of a later two-hop MATCH returns relationships it excludes.
    ``cypher/queries/near_active_penalty.cypher`` filters the penalty first, in its own WITH."""
    script = str(HERE / "ladybug_where_bug.py")
    found = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300)
    assert found.returncode == 1, (
        f"ladybug {ladybug.__version__} filters two-hop relationships right now:\n{found.stdout}")


def test_a_union_gives_a_later_branch_the_value_of_another_column():
    """The script an upstream report carries: a UNION ALL whose first branch returns one
    expression under two names gives a later branch's ``step1`` the value of its ``product``.
    ``cypher/queries/owners_up.cypher`` and ``holdings_down.cypher`` write ``r1.share + 0.0``."""
    script = str(HERE / "ladybug_union_bug.py")
    found = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300)
    assert found.returncode == 1, f"ladybug {ladybug.__version__} keeps UNION columns apart now:\n{found.stdout}"


def test_a_kill_while_a_copy_is_checkpointed_keeps_half_the_transaction():
    """The script of an upstream report: a transaction holding a bulk ``COPY`` and a logged
    ``CREATE``, killed while its commit is checkpointed, reopens with the CREATE and without
    the copied rows. graphscore loads into a copy of the store and renames it over the store
    (``LadybugStore._on_a_copy``; ``tests/store/test_crash.py`` kills a load at each phase)."""
    script = str(HERE / "ladybug_copy_crash_bug.py")
    half = subprocess.run([sys.executable, script], capture_output=True, text=True, timeout=300)
    assert half.returncode == 1, (
        f"ladybug {ladybug.__version__} no longer loses copied rows of a committed transaction:\n{half.stdout}")
