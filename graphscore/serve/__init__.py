"""``graphscore serve``: a local web application for investigators over one store.

Search entities by name in any script, open one (its dossier and its network), expand the
network node by node, move the as-of date, switch policies, lift or add a penalty and watch the
scores and colours change, export the view. The JSON API is in :mod:`graphscore.serve.app`,
the page in ``static/`` (with the bundled Cytoscape.js, see ``../report/vendor/README.md``).

Built on FastAPI and uvicorn; read-only towards the store.
"""

from __future__ import annotations

import ipaddress

__all__ = ["is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (then no token is asked for).

    Examples
    --------
    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("::1"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost may resolve anywhere
        return False
