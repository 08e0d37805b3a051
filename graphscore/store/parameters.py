"""The ``$parameters`` a Cypher query names, so a missing one is an error and not an empty result.

Both stores bind a parameter that was never given as null (LadybugDB silently), and
``MATCH (e:Entity {id: $id})`` then matches nothing: an investigator would read "no rows" as
"no such companies". Queries are checked before they run.
"""

from __future__ import annotations

import re

__all__ = ["query_parameters", "check_parameters"]

# What can hide a `$name` that is not a parameter: string literals, quoted names and comments.
_SKIPPED = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|//[^\n]*|/\*.*?\*/"""
_TOKENS = re.compile(rf"{_SKIPPED}|\$(?:(\w+)|`([^`]+)`)", re.DOTALL)


def query_parameters(cypher: str) -> set[str]:
    """Names of the ``$parameters`` in a Cypher query, outside strings and comments.

    Examples
    --------
    >>> sorted(query_parameters("MATCH (e {id: $id}) WHERE e.name <> '$x' // $y\\nRETURN $`as of`"))
    ['as of', 'id']
    """
    return {match.group(1) or match.group(2) for match in _TOKENS.finditer(cypher)
            if match.group(1) or match.group(2)}


def check_parameters(cypher: str, given: dict) -> None:
    """Raise ValueError naming each parameter the query uses and ``given`` lacks.

    Examples
    --------
    >>> check_parameters("RETURN $a, $b", {"a": 1})
    Traceback (most recent call last):
    ...
    ValueError: the query needs parameter $b, which was not given
    """
    missing = sorted(query_parameters(cypher) - set(given))
    if missing:
        named = ", ".join(f"${name}" for name in missing)
        raise ValueError(f"the query needs parameter{'s' if len(missing) > 1 else ''} {named}, "
                         f"which {'were' if len(missing) > 1 else 'was'} not given")
