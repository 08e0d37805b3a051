"""Graph stores: the embedded LadybugDB (default) and Neo4j, behind one interface."""

from __future__ import annotations

import os
import re
from pathlib import Path

from graphscore.errors import StoreError
from graphscore.store.base import CypherStore, GraphStore, LoadSummary

__all__ = ["open_store", "is_neo4j_uri", "GraphStore", "CypherStore", "LoadSummary"]

NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
USER_VARIABLE, PASSWORD_VARIABLE = "GRAPHSCORE_NEO4J_USER", "GRAPHSCORE_NEO4J_PASSWORD"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):(//)?")


def is_neo4j_uri(target: str | Path) -> bool:
    """Whether ``target`` names a Neo4j server rather than an embedded store's path.

    Raises
    ------
    StoreError
        For a URI of any other scheme (``http://...``), or a Neo4j URI whose ``//`` was lost
        on the way (``Path("bolt://h")`` is ``bolt:/h``): neither may become a folder name.

    Examples
    --------
    >>> is_neo4j_uri("bolt://127.0.0.1:7687"), is_neo4j_uri("stores/registry")
    (True, False)
    """
    found = _SCHEME.match(str(target))
    # "C:" is a Windows drive, not a scheme
    if found is None or (len(found.group(1)) == 1 and not found.group(2)):
        return False
    scheme = found.group(1).lower()
    if scheme in NEO4J_SCHEMES and found.group(2):
        return True
    if scheme in NEO4J_SCHEMES:
        raise StoreError(f"--db {scheme}:... is a Neo4j URI without its '//' (a path would drop it): "
                         f"give it as text, e.g. {scheme}://HOST:7687")
    if found.group(2):
        raise StoreError(f"--db: {scheme}:// is not a store; give a folder for the embedded store or a Neo4j "
                         f"URI ({', '.join(s + '://' for s in NEO4J_SCHEMES)})")
    return False


def open_store(target: str | Path, *, read_only: bool = False, create: bool = True,
               wait: float = 0.0, buffer_pool: int = 0) -> CypherStore:
    """Open a store: a Neo4j URI, else an embedded LadybugDB at that path (see
    :class:`~graphscore.store.ladybug.LadybugStore` for ``read_only``, ``create``, ``wait`` and
    ``buffer_pool``, which a Neo4j server, with its own memory, leaves aside).

    A Neo4j URI carries no credentials: the user name and password come from the environment,
    ``GRAPHSCORE_NEO4J_USER`` (default ``neo4j``) and ``GRAPHSCORE_NEO4J_PASSWORD``, so they
    never appear in a command line, a path, a message or a log.
    """
    if is_neo4j_uri(target):
        from graphscore.store.neo4j import Neo4jStore

        # Credentials are read here, at the edge, never deeper in the code.
        password = os.environ.get(PASSWORD_VARIABLE)
        auth = (os.environ.get(USER_VARIABLE, "neo4j"), password) if password is not None else None
        return Neo4jStore(str(target), auth=auth, read_only=read_only, create=create)
    from graphscore.store.ladybug import LadybugStore

    return LadybugStore(target, read_only=read_only, create=create, wait=wait, buffer_pool=buffer_pool)
