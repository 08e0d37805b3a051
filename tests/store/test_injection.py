"""Hostile text in ids, names and free-text fields is data, never Cypher: it loads and reads
back verbatim on both stores, and nothing else in the database changes (values always travel
as query parameters; the only names spliced into statements come from the data model)."""

from __future__ import annotations

import pandas as pd
import pytest

import graphscore as gs
from graphscore.io import read_paths
from tests.conftest import ZALA

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")

HOSTILE = [
    "x'}) DETACH DELETE n //",
    'y"}) DETACH DELETE n //',
    "}) MATCH (n) DETACH DELETE n //",
    "`Entity`) DETACH DELETE n; //",
    "{id: $id} RETURN 1 UNION MATCH (n) DELETE n",
    "back\\slash ' \" ` { } [ ] ( ) ; -- /* */ $rows row.id",
    "O'Brien & \"Sons\" `Ltd` {Holdings}",
    "';DROP TABLE Entity;--",
]


def hostile_tables() -> gs.Tables:
    """Hostile ids and names on companies and people, linked by ownership, office and family
    ties with hostile roles and references, each with a penalty of a hostile kind and id."""
    companies = [f"C {text}" for text in HOSTILE]
    people = [f"P {text}" for text in HOSTILE]
    entities = pd.DataFrame({"id": companies + people, "kind": ["company"] * len(HOSTILE) + ["person"] * len(HOSTILE),
                             "name": HOSTILE + [text[::-1] for text in HOSTILE],
                             "source_ref": HOSTILE * 2})
    links = pd.DataFrame({
        "source": people + people + people[:-1],
        "target": companies + companies + people[1:],
        "type": ["OWNS"] * len(HOSTILE) + ["OFFICER_OF"] * len(HOSTILE) + ["FAMILY"] * (len(HOSTILE) - 1),
        "share": [0.5] * len(HOSTILE) + [None] * (2 * len(HOSTILE) - 1),
        "role": [None] * len(HOSTILE) + ["director"] * len(HOSTILE) + HOSTILE[:-1],
        "source_ref": HOSTILE * 2 + HOSTILE[:-1]})
    penalties = pd.DataFrame({"id": [f"F {text}" for text in HOSTILE], "entity": companies, "kind": HOSTILE,
                              "severity": 1.0, "start": "2020-01-01", "authority": HOSTILE})
    return gs.Tables(entities, links, penalties)


def test_hostile_text_loads_and_reads_back_verbatim_changing_nothing_else(store):
    zala = read_paths([ZALA])
    store.load(zala)
    before = store.read_tables()
    hostile = gs.validate(hostile_tables())
    store.load(hostile)

    back = store.read_tables()
    added = back.entities[~back.entities["id"].isin(before.entities["id"])]
    assert sorted(added["id"]) == sorted(hostile.entities["id"])
    assert dict(zip(added["id"], added["name"])) == dict(zip(hostile.entities["id"], hostile.entities["name"]))
    assert dict(zip(added["id"], added["source_ref"])) == dict(zip(hostile.entities["id"], hostile.entities["source_ref"]))
    new_links = back.links[back.links["source"].isin(hostile.entities["id"])]
    as_set = lambda df: set(map(tuple, df[["source", "target", "type", "role", "source_ref"]]  # noqa: E731
                                .astype(object).where(df[["source", "target", "type", "role", "source_ref"]].notna(), None)
                                .itertuples(index=False)))
    assert as_set(new_links) == as_set(hostile.links)
    new_penalties = back.penalties[back.penalties["id"].str.startswith("F ")].sort_values("id")
    expected = hostile.penalties.sort_values("id")
    assert new_penalties[["id", "entity", "kind", "authority"]].values.tolist() == \
        expected[["id", "entity", "kind", "authority"]].values.tolist()

    # nothing else changed: the sample is there, record for record
    old = gs.Tables(back.entities[back.entities["id"].isin(before.entities["id"])],
                    back.links[back.links["source"].isin(before.entities["id"])],
                    back.penalties[back.penalties["id"].isin(before.penalties["id"])])
    assert old.fingerprint() == before.fingerprint()
    assert store.counts() == {name: before.counts()[name] + n for name, n in hostile.counts().items()}

    # and hostile values as query parameters match exactly themselves
    for text in HOSTILE:
        found = store.query("MATCH (e:Entity) WHERE e.name = $name RETURN e.id AS id", {"name": text})
        assert found["id"].tolist() == [f"C {text}"]
    # loading the same hostile input again writes nothing
    again = store.load(hostile)
    assert all(w["new"] == w["changed"] == 0 for w in again.written.values())
    assert store.read_tables().fingerprint() == back.fingerprint()
