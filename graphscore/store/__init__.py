"""Graph stores: the embedded LadybugDB (default) and Neo4j, behind one interface."""

from __future__ import annotations

import os
from pathlib import Path

from graphscore.store.base import CypherStore, GraphStore, LoadSummary

__all__ = ["open_store", "GraphStore", "CypherStore", "LoadSummary"]

NEO4J_SCHEMES = ("bolt://", "bolt+s://", "neo4j://", "neo4j+s://", "neo4j+ssc://", "bolt+ssc://")


def open_store(target: str | Path, *, read_only: bool = False, create: bool = True,
               wait: float = 0.0) -> CypherStore:
    """Open a store: a Neo4j URI (credentials from ``GRAPHSCORE_NEO4J_USER`` /
    ``GRAPHSCORE_NEO4J_PASSWORD``), else an embedded LadybugDB at that path (see
    :class:`~graphscore.store.ladybug.LadybugStore` for ``read_only``, ``create`` and ``wait``)."""
    if str(target).startswith(NEO4J_SCHEMES):
        from graphscore.store.neo4j import Neo4jStore

        # Credentials come from the environment here, at the edge, never from deeper code.
        return Neo4jStore(str(target), user=os.environ.get("GRAPHSCORE_NEO4J_USER", "neo4j"),
                          password=os.environ.get("GRAPHSCORE_NEO4J_PASSWORD", ""), read_only=read_only)
    from graphscore.store.ladybug import LadybugStore

    return LadybugStore(target, read_only=read_only, create=create, wait=wait)
