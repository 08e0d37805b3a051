"""A digest of a load's input as bytes on disk: what tells a store, before any row is read,
that it is offered the very files it last loaded (:meth:`graphscore.store.ladybug.LadybugStore.load_chunks`)."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["input_digest", "READ_SUFFIXES"]

# what the readers of graphscore.io take: tables, FollowTheMoney, BODS (not a store kept beside them)
READ_SUFFIXES = (".csv", ".parquet", ".json", ".jsonl", ".ftm")


def input_digest(paths) -> str:
    """SHA-256 of every input file under ``paths`` (each path a file, or a folder whose files
    of the suffixes readers take, ``READ_SUFFIXES``, are taken at any depth, in the order of
    their names), with their names relative to the path they were given by, and of what reads
    them: graphscore's version and its data model (``schema/model.toml``), since another
    reading of the same bytes may give other rows.

    Such a file added to a folder changes the digest even when no reader opens it: a digest
    that differs only costs the load its shortcut, one that matched wrongly would skip a load.

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "entities.csv").write_text("id,kind,name\\na,person,A\\n")
    >>> first = input_digest([folder])
    >>> first == input_digest([folder]), len(first)
    (True, 64)
    >>> _ = (folder / "entities.csv").write_text("id,kind,name\\na,person,B\\n")
    >>> first == input_digest([folder])
    False
    """
    import graphscore
    from graphscore.schema import SCHEMA_FILE

    digest = hashlib.sha256(f"graphscore {graphscore.__version__}\0".encode())
    digest.update(SCHEMA_FILE.read_bytes())
    for path in map(Path, paths):
        files = sorted(p for p in path.rglob("*") if p.suffix in READ_SUFFIXES and p.is_file()) \
            if path.is_dir() else [path]
        digest.update(f"\0input {len(files)}\0".encode())
        for file in files:
            digest.update(f"\0{file.relative_to(path) if file != path else file.name}\0{file.stat().st_size}\0".encode())
            with file.open("rb") as handle:
                digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()
