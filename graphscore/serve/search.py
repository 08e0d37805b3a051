"""Finding entities by what an investigator types: part of a name or an id, in any script.

Names and queries are folded the same way (:func:`fold`): Unicode compatibility forms unified
(full-width Ａ is A), accents dropped, case folded (Cyrillic and Greek included). Chinese has no
case or accents, so a Chinese name is found by any run of its characters. A query of several
words finds the names holding every word, in any order ("zakharov alexander").
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

__all__ = ["fold", "NameIndex"]

_MARKS = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """``text`` as it is compared: compatibility-decomposed, combining marks dropped, case folded.

    Examples
    --------
    >>> fold("Zoë ZAKHAROV")
    'zoe zakharov'
    >>> fold("ОБЩЕСТВО Зала")
    'общество зала'
    >>> fold("深圳华信贸易有限公司")
    '深圳华信贸易有限公司'
    >>> fold("ＡＢＣ")
    'abc'
    """
    return _MARKS.sub("", unicodedata.normalize("NFKD", text)).casefold()


class NameIndex:
    """Folded names and ids of every entity, searched by substring.

    Parameters
    ----------
    entities : DataFrame
        Indexed by id, with a ``name`` column (the workspace's ``entities``).

    Examples
    --------
    >>> entities = pd.DataFrame({"name": ["Zoë Petrova", "深圳华信贸易有限公司", "Petro Ltd"]},
    ...                         index=pd.Index(["p1", "c1", "c2"], name="id"))
    >>> index = NameIndex(entities)
    >>> index.search("PETRO")
    ['c2', 'p1']
    >>> index.search("华信")
    ['c1']
    >>> index.search("zoe petrova"), index.search("C1")
    (['p1'], ['c1'])
    """

    def __init__(self, entities: pd.DataFrame):
        self.ids = entities.index.to_numpy(dtype=object)
        names = entities["name"].fillna("").astype(str)
        # one vectorised pass: NFKD, strip the marks, casefold (the same steps as fold)
        self.names = (names.str.normalize("NFKD").str.replace(_MARKS, "", regex=True).str.casefold()
                      .to_numpy(dtype=object))
        self.folded_ids = pd.Series(self.ids).astype(str).str.casefold().to_numpy(dtype=object)

    def search(self, query: str, limit: int = 20, *, scores: pd.Series | None = None) -> list[str]:
        """Ids matching ``query``, best first: the id itself, then names that are the query,
        that start with it, that have a word starting with it, then the rest; ties by higher
        ``scores`` (by id) when given, then in id order."""
        words = fold(query).split()
        if not words:
            return []
        phrase = " ".join(words)
        names = pd.Series(self.names)
        hit = np.ones(len(names), dtype=bool)
        for word in words:
            hit &= names.str.contains(word, regex=False).to_numpy()
        hit |= self.folded_ids == phrase
        rows = np.flatnonzero(hit)
        found = names.iloc[rows]
        rank = np.select(
            [self.folded_ids[rows] == phrase, (found == phrase).to_numpy(), found.str.startswith(phrase).to_numpy(),
             found.str.contains(r"(?:^|\W)" + re.escape(words[0]), regex=True).to_numpy()],
            [0, 1, 2, 3], default=4)
        score = (-scores.reindex(self.ids[rows]).fillna(0).to_numpy(float) if scores is not None
                 else np.zeros(len(rows)))
        order = np.lexsort((self.ids[rows].astype(str), score, rank))
        return self.ids[rows[order[:limit]]].tolist()
