"""Small named graphs for docstrings and tests, as scikit-network keeps its toy graphs.

Each returns validated :class:`graphscore.model.Tables`; the hand-worked numbers they lead to are
derived in ``tests/engine/test_spread.py``.
"""

from __future__ import annotations

import pandas as pd

from graphscore.model import Tables, validate

__all__ = ["fined_company", "shared_representative"]


def fined_company() -> Tables:
    """Company ``c`` ("Co", fine ``x`` of severity 1 since 2020-01-01) and person ``p`` ("Pat"),
    its legal representative.

    Examples
    --------
    >>> fined_company().counts()
    {'entities': 2, 'links': 1, 'penalties': 1}
    """
    return validate(Tables(
        pd.DataFrame({"id": ["c", "p"], "kind": ["company", "person"], "name": ["Co", "Pat"]}),
        pd.DataFrame({"source": ["p"], "target": ["c"], "type": ["OFFICER_OF"], "role": ["legal_representative"]}),
        pd.DataFrame({"id": ["x"], "entity": ["c"], "kind": ["fine"], "severity": [1.0], "start": ["2020-01-01"],
                      "authority": ["Market regulator"]})))


def shared_representative() -> Tables:
    """Companies C1 ("Alpha Ltd", fine F1 of severity 1) and C2 ("Beta Ltd") share their legal
    representative P ("Pat"); O ("Olga") owns 60 % of C1.

    Examples
    --------
    >>> shared_representative().links[["source", "target", "type", "share"]]
      source target        type  share
    0      P     C1  OFFICER_OF    NaN
    1      P     C2  OFFICER_OF    NaN
    2      O     C1        OWNS    0.6
    """
    return validate(Tables(
        pd.DataFrame({"id": ["C1", "C2", "P", "O"], "kind": ["company", "company", "person", "person"],
                      "name": ["Alpha Ltd", "Beta Ltd", "Pat", "Olga"]}),
        pd.DataFrame({"source": ["P", "P", "O"], "target": ["C1", "C2", "C1"],
                      "type": ["OFFICER_OF", "OFFICER_OF", "OWNS"],
                      "role": ["legal_representative", "legal_representative", None], "share": [None, None, 0.6]}),
        pd.DataFrame({"id": ["F1"], "entity": ["C1"], "kind": ["fine"], "severity": [1.0], "start": ["2020-01-01"],
                      "authority": ["Market regulator"]})))
