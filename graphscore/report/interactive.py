"""What makes an HTML report more than a page to read: tables sorted by a click on a header and
filtered by typing, and a network to explore (zoom, drag, click an entity to see its links,
filter by link type, save as PNG).

All of it is inlined, the bundled Cytoscape.js included (``vendor/``, MIT), so a report stays
one file that opens offline and fetches nothing. :func:`add_interactivity` is applied by
:func:`graphscore.report.render.to_html` to every report.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

from graphscore.analysis.compare import CompareReport
from graphscore.analysis.dossier import Dossier
from graphscore.analysis.spillover import SpilloverReport
from graphscore.report.charts import summarise_neighbourhood
from graphscore.report.markup import shown

__all__ = ["network_data", "add_interactivity"]

_HERE = Path(__file__).resolve().parent
# Entities drawn in a spillover report's network, largest changes first: past a few hundred a
# network stops being read and becomes a texture; the tables list every entity.
NODES_DRAWN = 300


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else float(value)


def _links(links) -> list[dict]:
    return [{"source": u, "target": v, "type": d.get("type"), "role": d.get("role"), "share": _number(d.get("share")),
             **({"count": d["count"]} if d.get("count") else {})} for u, v, d in links]


def network_data(report) -> dict | None:
    """Nodes and links of the report's network view, or None for a report without one (compare).

    A dossier draws its neighbourhood as its picture does (``category`` ``"own"`` for entities
    penalised at the date; see :func:`~graphscore.report.charts.summarise_neighbourhood`); a
    spillover report the :data:`NODES_DRAWN` entities it changes most and the strongest paths to
    them (``"own"`` for the entities whose own penalty changes, ``"inherited"`` for
    the others; ``value`` is the size of the change).

    Examples
    --------
    >>> import graphscore as gs
    >>> from graphscore.analysis.spillover import spillover
    >>> from graphscore.toy import fined_company
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> data = network_data(spillover(fined_company(), policy, penalty="x", as_of="2024-01-01"))
    >>> [(n["id"], n["category"], n["value"]) for n in data["nodes"]], len(data["links"])
    ([('c', 'own', 1.0), ('p', 'inherited', 0.5)], 1)
    """
    if isinstance(report, CompareReport):
        return None
    if isinstance(report, Dossier):
        center = report.entity["id"]
        graph, summary = summarise_neighbourhood(report.neighbourhood, center)  # as the picture draws it
        nodes = [{"id": n, "name": shown(d.get("name") or n), "kind": d.get("kind"),
                  "category": "own" if d.get("penalised") else "none", "value": 1.0}
                 for n, d in graph.nodes(data=True)]
        return {"center": center, "nodes": nodes, "links": _links(graph.edges(data=True)),
                "total": report.neighbourhood.number_of_nodes(),
                "caption": f"Links in force at {report.manifest['as_of']}; red: penalised at that date."
                           + (f" {summary[0].upper()}{summary[1:]}." if summary else "")}
    if isinstance(report, SpilloverReport):
        affected = report.affected
        # the rows drawn taken alone (all 3 x 10^5 of a large report reordered took 0.1 s)
        top = affected.loc[affected["change"].abs().sort_values(ascending=False).index[:NODES_DRAWN]]
        keep = set(top["id"])
        for hops in top["path_hops"]:
            keep.update(e for hop in hops or [] for e in (hop["from"], hop["to"]))
        caption = "Entities the change reaches and the strongest paths to them; size: the change."
        if not keep:  # a change reaching no entity draws nothing: no graph built (nor networkx imported)
            return {"center": None, "nodes": [], "links": [], "total": 0, "caption": caption}
        # the graph as data: networkx (0.1 s to import) is not needed to list it; the rows
        # drawn found once (a search of the 3 x 10^5 ids took 0.05-0.1 s), for the graph and for
        # whose own penalty changes (the entities drawn are among them)
        chosen = affected[report._among(keep)]
        entities, links = report._network_of(chosen, keep)
        own = dict(zip(chosen["id"], chosen["own_penalised"]))
        sources = affected.loc[affected["hops"] == 0, "id"]
        nodes = [{"id": n, "name": shown(d.get("name") or n), "kind": d.get("kind"),
                  "category": "own" if own.get(n) else ("inherited" if d.get("change") else "none"),
                  "value": abs(_number(d.get("change")) or 0.0), "change": _number(d.get("change")),
                  "before": _number(d.get("before")), "after": _number(d.get("after"))}
                 for n, d in entities.items()]
        return {"center": sources.iloc[0] if len(sources) else None, "nodes": nodes, "links": _links(links),
                "total": len(affected), "caption": caption}
    raise TypeError(f"no network for a {type(report).__name__}")


@functools.cache
def _scripts() -> str:
    library = (_HERE / "vendor" / "cytoscape.min.js").read_text(encoding="utf-8")
    own = (_HERE / "interactive.js").read_text(encoding="utf-8")
    return f"<script>{library}</script>\n<script>{own}</script>"


def add_interactivity(html: str, report) -> str:
    """``html`` (a rendered report) with its network section and the scripts inlined."""
    data = network_data(report)
    section = ""
    if data is not None and data["links"]:
        shown = len(data["nodes"])
        count = f"{shown} entities" + (f" of {data['total']}" if data["total"] > shown else "")
        # no "<" inside the script: a name holding "</script>" or "<!--" cannot end or bend it;
        # ASCII only, so no control character reaches the page raw (an id, a role)
        payload = json.dumps(data, ensure_ascii=True, allow_nan=False).replace("<", "\\u003c")
        section = (f'<h2>Network <span class="muted">({count}, {len(data["links"])} links)</span></h2>\n'
                   f'<section aria-label="Network" class="gs-network"><div class="gs-controls"></div>'
                   f'<div id="gs-network" style="height:560px;border:1px solid var(--line)"></div>'
                   f'<p class="muted">{data["caption"]} Click an entity to show its links; drag to move; '
                   f'scroll to zoom.</p></section>\n'
                   f'<script>window.GS_NETWORK = {payload};</script>\n')
    html = html.replace("<footer>", section + "<footer>", 1)
    return html.replace("</body>", _scripts() + "\n</body>", 1)
