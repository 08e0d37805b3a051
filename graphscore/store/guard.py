"""What a read-only Cypher query may do: read the graph, and nothing else.

A store opened read-only refuses writes to its data, but LadybugDB still runs statements that
write files (``COPY ... TO``, ``EXPORT DATABASE``), read them or fetch URLs (``LOAD FROM``,
``COPY ... FROM``), download and load extensions (``INSTALL``, ``LOAD EXTENSION``), open other
databases (``ATTACH``) or change settings (``CALL threads = 1``). A read-only query is checked
word by word (outside string literals, comments, quoted names, properties, labels, map keys and
parameters) before it runs; ``graphscore cypher --write`` lifts the check.

Examples
--------
>>> check_read_only("MATCH (e:Entity {name: 'COPY'}) RETURN e.id AS copy_id")
>>> check_read_only("COPY (MATCH (e:Entity) RETURN e.id) TO '/tmp/x.csv'")
Traceback (most recent call last):
...
graphscore.errors.StoreError: read-only query refused: COPY reads or writes files; use --write to allow it
"""

from __future__ import annotations

import re

from graphscore.errors import StoreError

__all__ = ["check_read_only", "READ_ONLY_PROCEDURES"]

_REFUSED = {
    "COPY": "reads or writes files",
    "EXPORT": "writes files",
    "IMPORT": "reads files and changes the store",
    "LOAD": "reads files or URLs, or loads an extension",
    "INSTALL": "downloads an extension",
    "UNINSTALL": "removes an extension",
    "ATTACH": "opens another database",
    "DETACH": "opens or closes another database, or deletes",
    "USE": "switches to another database",
    **{word: "changes the store" for word in ("CREATE", "MERGE", "SET", "DELETE", "REMOVE", "DROP", "ALTER",
                                              "CHECKPOINT", "BEGIN", "COMMIT", "ROLLBACK")},
}
# Procedures that only describe the database (LadybugDB 0.22's built-in catalogue calls).
READ_ONLY_PROCEDURES = frozenset({
    "show_tables", "table_info", "show_connection", "db_version", "current_setting", "show_functions",
    "show_indexes", "show_warnings", "show_macros", "show_sequences", "show_loaded_extensions",
    "show_attached_databases", "show_official_extensions", "show_projected_graphs",
})
# What carries no statement words: string literals, comments, `quoted names`.
_INERT = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|//[^\n]*|/\*.*?\*/", re.DOTALL)
_WORD = re.compile(r"([.$:]\s*)?\b([A-Za-z_][A-Za-z0-9_]*)\b(\s*:)?")


def check_read_only(query: str) -> None:
    """Raise StoreError naming the first word of ``query`` that does more than read the graph."""
    text = _INERT.sub(" ", query)
    words = list(_WORD.finditer(text))
    for i, match in enumerate(words):
        before, word, after = match.groups()
        if before or after:  # a property, parameter, label or map key, not a statement word
            continue
        upper = word.upper()
        if upper in _REFUSED:
            raise StoreError(f"read-only query refused: {upper} {_REFUSED[upper]}; use --write to allow it")
        if upper == "CALL":
            rest = text[match.end():].lstrip()
            if rest.startswith("{"):
                continue  # a subquery: its own words are checked in turn
            name = words[i + 1].group(2) if i + 1 < len(words) else ""
            if name.lower() not in READ_ONLY_PROCEDURES:
                raise StoreError(f"read-only query refused: CALL {name} is not one of the procedures that only "
                                 f"describe the store ({', '.join(sorted(READ_ONLY_PROCEDURES))}); "
                                 "use --write to allow it")
