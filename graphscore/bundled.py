"""Files shipped beside the package: sample data, policies and Cypher.

In a source checkout (``pip install -e .``) they are the repository's ``data/`` and ``cypher/``
folders; a built wheel carries copies under ``graphscore/_bundled/`` (see pyproject.toml).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_path", "ZALA_FTM", "POLICIES"]

_PACKAGE = Path(__file__).resolve().parent


def bundled_path(*parts: str) -> Path:
    """Path of a shipped file, e.g. ``bundled_path("data", "policies", "diffusion.toml")``."""
    for root in (_PACKAGE / "_bundled", _PACKAGE.parent):
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"{'/'.join(parts)} is not shipped with this installation of graphscore")


ZALA_FTM = ("data", "zala", "entities.ftm.json")
POLICIES = ("data", "policies")
