"""Shared fixtures: small named graphs from real data and hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import graphscore as gs
from graphscore.toy import shared_representative

DATA = Path(__file__).resolve().parent.parent / "data"
ZALA = DATA / "zala" / "entities.ftm.json"
POLICIES = DATA / "policies"
# A spread policy whose W the norms cannot bound (tests/policies/spread-split.toml says why)
SPREAD_SPLIT = Path(__file__).resolve().parent / "policies" / "spread-split.toml"


def read_padgett(relation: str = "Marital") -> tuple[list[str], list[tuple[str, str]]]:
    """Families and the undirected ties of one relation from Padgett.paj (Pajek, CRLF)."""
    names, ties, section = {}, set(), None
    for line in (DATA / "padgett-florentine" / "Padgett.paj").read_text().splitlines():
        line = line.strip()
        if line.startswith("*"):
            section = line
            continue
        if section and section.startswith("*Vertices") and '"' in line:  # vector sections have bare numbers
            number, name = line.split('"')[0].strip(), line.split('"')[1]
            names[number] = name
        elif section and f'"{relation}"' in section and line:
            a, b, _ = line.split()
            ties.add(tuple(sorted((names[a], names[b]))))
    return list(names.values()), sorted(ties)


@pytest.fixture
def padgett_tables() -> gs.Tables:
    """Padgett's 16 Florentine families (organizations) with marital ties as ASSOCIATE links;
    the Medici (severity 1) and the Strozzi (0.5) carry a penalty."""
    families, ties = read_padgett("Marital")
    entities = pd.DataFrame({"id": families, "kind": "organization", "name": families})
    links = pd.DataFrame({"source": [a for a, _ in ties], "target": [b for _, b in ties],
                          "type": "ASSOCIATE", "role": "marriage"})
    penalties = pd.DataFrame({"id": ["p1", "p2"], "entity": ["Medici", "Strozzi"], "kind": "sanction",
                              "severity": [1.0, 0.5], "start": "1430-01-01"})
    return gs.validate(gs.Tables(entities, links, penalties))


@pytest.fixture
def hand_tables() -> gs.Tables:
    """The hand-worked case of tests/engine/test_spread.py::test_hand_worked_example."""
    return shared_representative()


HAND_POLICY = """
name = "hand"
model = "spread"
damping = 0.5
[[transmit]]
link = "OFFICER_OF"
role = "legal_representative"
direction = "backward"
weight = 1.0
[[transmit]]
link = "OFFICER_OF"
role = "legal_representative"
direction = "forward"
weight = 0.5
[[transmit]]
link = "OWNS"
direction = "backward"
weight = "share"
"""


@pytest.fixture
def hand_policy() -> gs.Policy:
    return gs.parse_policy(HAND_POLICY)


# -- a live Neo4j (tests/neo4j/start.sh; .ci/run starts one) -------------------------------------
NEO4J_URI_VARIABLE = "GRAPHSCORE_NEO4J_URI"


@pytest.fixture(scope="session")
def neo4j_uri() -> str:
    """The URI of a Neo4j 5 these tests may wipe. Without one the Neo4j tests are skipped,
    except in CI, where :func:`pytest_runtest_makereport` turns that skip into a failure."""
    import os

    uri = os.environ.get(NEO4J_URI_VARIABLE)
    if not uri:
        pytest.skip(f"no live Neo4j: set {NEO4J_URI_VARIABLE} (tests/neo4j/start.sh starts one)")
    return uri


@pytest.fixture
def neo4j_store(neo4j_uri):
    """An emptied Neo4j store (credentials from GRAPHSCORE_NEO4J_USER / _PASSWORD)."""
    from graphscore.store import open_store

    with open_store(neo4j_uri) as store:
        store.query("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")
        yield store


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (``CI`` set), a skipped Neo4j test fails: the suite must run there, live."""
    import os

    outcome = yield
    report = outcome.get_result()
    if report.skipped and os.environ.get("CI") and item.get_closest_marker("neo4j") is not None:
        report.outcome = "failed"
        report.longrepr = f"Neo4j test skipped in CI ({NEO4J_URI_VARIABLE} unset?): {report.longrepr}"


def pytest_collection_modifyitems(config, items):
    """The docstring examples of ``graphscore.spark`` that need a SparkSession are marked
    ``+SKIP`` for the package's doctest run and run in ``tests/spark/test_examples.py`` on the
    Spark tests' session: their doctest items are deselected here, not reported as skipped."""
    import doctest

    from _pytest.doctest import DoctestItem

    def run_on_spark(item) -> bool:
        examples = item.dtest.examples if isinstance(item, DoctestItem) else []
        return (item.path.parent.parts[-2:] == ("graphscore", "spark") and bool(examples)
                and all(example.options.get(doctest.SKIP) for example in examples))

    elsewhere = [item for item in items if run_on_spark(item)]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if not run_on_spark(item)]
