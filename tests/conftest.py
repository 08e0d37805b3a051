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
