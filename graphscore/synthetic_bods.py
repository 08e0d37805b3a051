"""Synthetic Beneficial Ownership Data Standard (BODS) 0.4 statements, for tests and benchmarks
of the BODS reader (:mod:`graphscore.io.bods`).

The statements come in the order a register's bulk file has them, which is no order a reader
can rely on: a relationship may come before or after the entity and person records it names,
an entity may be restated later under a new name (its latest statement counts), and a
relationship record may be a series of statements (a stake changed, then closed) spread over
the file. The same arguments give the same statements.

Examples
--------
>>> statements = list(bods_statements(12, seed=1))
>>> len(statements), sorted({s["recordType"] for s in statements})
(12, ['entity', 'person', 'relationship'])
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from pathlib import Path

__all__ = ["bods_statements", "write_bods"]

_PUBLICATION = {"publicationDate": "2024-06-30", "bodsVersion": "0.4", "publisher": {"name": "graphscore synthetic"}}
_FIRST_DAY = dt.date(2015, 1, 1).toordinal()
_DAYS = 9 * 365
_SHARES = ({"exact": 100}, {"exact": 50}, {"exact": 25}, {"minimum": 25, "maximum": 50},
           {"exclusiveMinimum": 50, "maximum": 75}, {"minimum": 75, "maximum": 100})
_CONTROL = ("votingRights", "appointmentOfBoard", "seniorManagingOfficial", "boardMember")


def _day(offset: int) -> str:
    return dt.date.fromordinal(_FIRST_DAY + offset).isoformat()


def _top(share: dict) -> float:
    """The most a BODS share object allows."""
    return share.get("exact", share.get("maximum", share.get("exclusiveMaximum", 100)))


def bods_statements(n_statements: int, *, seed: int = 0) -> Iterator[dict]:
    """About ``n_statements`` BODS 0.4 statements (exactly that many), one at a time.

    A third of the statements are entities (most registered companies), a fifth people, the
    rest relationships: a shareholding (exact or a range, the stakes in an entity never
    summing past 100 %) or a form of control, held by a person or an entity in an entity. A relationship names parties drawn from the whole file,
    so about half of them come later in it. One relationship in five is updated (a new stake
    from a later date) and one in twenty of those closed, the later statements a few thousand
    statements on; one entity in twenty is renamed further on.

    Parameters
    ----------
    n_statements : int
        How many statements, at least 10.
    seed : int
        Seed of the generator.
    """
    if n_statements < 10:
        raise ValueError(f"n_statements must be at least 10, got {n_statements}.")
    rng = random.Random(seed)
    n_entities, n_people = n_statements // 3, n_statements // 5
    pending: list[tuple[int, dict]] = []  # (position due, statement): updates and renames to come
    made = {"entity": 0, "person": 0, "relationship": 0}
    relationships = n_statements - n_entities - n_people
    free = [100] * n_entities  # per entity: the percentage its recorded stakes leave

    def statement(number: int, record: str, kind: str, day: int, details: dict, status: str = "new") -> dict:
        return {"statementId": f"st-{seed}-{number:026d}", "declarationSubject": record,
                "statementDate": _day(day), "publicationDetails": _PUBLICATION, "recordId": record,
                "recordStatus": status, "recordType": kind, "recordDetails": {"isComponent": False, **details}}

    for number in range(n_statements):
        left = {kind: total - made[kind] for kind, total in
                (("entity", n_entities), ("person", n_people), ("relationship", relationships))}
        if pending and (pending[0][0] <= number or not any(v > 0 for v in left.values())):
            _, due = pending.pop(0)
            due["statementId"] = f"st-{seed}-{number:026d}"
            yield due
            continue
        kind = rng.choices(list(left), weights=list(left.values()))[0]
        index, day = made[kind], rng.randrange(_DAYS // 2)
        made[kind] += 1
        if kind == "entity":
            details = {"entityType": {"type": "registeredEntity" if rng.random() < 0.9 else "legalEntity"},
                       "name": f"Company {index} Ltd", "jurisdiction": {"code": "GB", "name": "United Kingdom"},
                       "identifiers": [{"scheme": "GB-COH", "id": f"{index:08d}"}]}
            yield statement(number, f"ent-{index}", kind, day, details)
            if rng.random() < 0.05 and made["relationship"] < relationships:
                renamed = statement(0, f"ent-{index}", kind, day + 400,
                                    {**details, "name": f"Company {index} Holdings Ltd"}, "updated")
                pending.append((number + rng.randrange(1, 5000), renamed))
                made["relationship"] += 1  # taken from the relationships' count: the total stays exact
        elif kind == "person":
            yield statement(number, f"per-{index}", kind, day, {
                "personType": "knownPerson", "names": [{"type": "legal", "fullName": f"Person {index}"}],
                "nationalities": [{"code": "GB", "name": "United Kingdom"}]})
        else:
            subject = f"ent-{rng.randrange(n_entities)}"
            party = f"per-{rng.randrange(n_people)}" if rng.random() < 0.7 else f"ent-{rng.randrange(n_entities)}"
            if party == subject:
                party = f"per-{rng.randrange(n_people)}"
            subject_index = int(subject[4:])
            fitting = [share for share in _SHARES if _top(share) <= free[subject_index]]
            if fitting and rng.random() < 0.7:
                share = rng.choice(fitting)
                free[subject_index] -= _top(share)
                interest = {"type": "shareholding", "directOrIndirect": "direct", "share": share}
            else:
                interest = {"type": rng.choice(_CONTROL), "directOrIndirect": "direct"}
            record = f"rel-{index}"
            first = {**interest, "startDate": _day(day)}
            yield statement(number, record, kind, day, {"subject": subject, "interestedParty": party,
                                                        "interests": [first]})
            if rng.random() < 0.2 and made["relationship"] < relationships:
                changed = day + rng.randrange(30, 1500)
                later = {**interest, "startDate": _day(changed)}
                if "share" in interest:  # a stake lowered or kept: the subject's stakes stay within 100 %
                    later["share"] = rng.choice([share for share in _SHARES if _top(share) <= _top(interest["share"])])
                closed = rng.random() < 0.05
                if closed:
                    later["endDate"] = _day(changed + 200)
                update = statement(0, record, kind, changed + (200 if closed else 1),
                                   {"subject": subject, "interestedParty": party, "interests": [later]},
                                   "closed" if closed else "updated")
                pending.append((number + rng.randrange(1, 5000), update))
                made["relationship"] += 1
        pending.sort(key=lambda item: item[0])


def write_bods(path: str | Path, n_statements: int, *, seed: int = 0, lines: bool = False) -> Path:
    """:func:`bods_statements` written to ``path``: a JSON array (BODS' packaging), or JSON lines."""
    path = Path(path)
    with path.open("w", encoding="utf-8") as out:
        if lines:
            for s in bods_statements(n_statements, seed=seed):
                out.write(json.dumps(s) + "\n")
        else:
            out.write("[\n")
            for i, s in enumerate(bods_statements(n_statements, seed=seed)):
                out.write(("" if i == 0 else ",\n") + json.dumps(s, indent=1))
            out.write("\n]\n")
    return path
