"""The web application: a JSON API over one store's workspace, and the page that uses it.

Read-only towards the store: the workspace is read once at start (:func:`graphscore.open`) and
every answer, what-ifs included, is computed in memory from it; nothing is written back. The
API is described by its OpenAPI schema at ``/openapi.json`` (and browsable at ``/docs``).

Routes (each takes ``policy`` by name and ``as_of`` as ``YYYY-MM-DD``; defaults: the first
policy, and its ``as_of`` or today):

- ``GET /api/info``: data counts and fingerprint, the policies, link types and entity kinds;
- ``GET /api/search?q=``: entities whose name or id matches, with kind, jurisdiction, score;
- ``GET /api/entity/{id}``: the dossier (:func:`graphscore.analysis.dossier.dossier`, laid out
  as its JSON report, its exposure cut to the largest ``exposure`` rows with
  ``exposure_count`` saying how many there are) and its neighbourhood;
- ``GET /api/exposure/{id}``: the entity's exposure rows page by page (``offset``, ``limit``);
- ``GET /api/paths/{id}``: the entities and links on the paths that carry its score;
- ``GET /api/neighbours/{id}``: one entity's neighbours, for expanding a node;
- ``POST /api/whatif``: lift a penalty, lift all of an entity's, or add one: how many scores
  change, a page of the largest changes (``top`` from ``offset``: every change, page by page),
  the scores of the entities asked about, and how the change was computed (``method``, its
  proven ``error`` bound and a ``note``: local push, or a solve where it reaches most of the
  graph); nothing is written;
- ``GET /api/report/dossier/{id}.html`` and ``GET /api/report/whatif.html``: the matching
  report files (:mod:`graphscore.report.render`).
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

import graphscore
from graphscore.analysis.dossier import dossier, exposure_table, prepare_dossier
from graphscore.analysis.explain import Explanation, explain
from graphscore.analysis.scores import score
from graphscore.analysis.spillover import spillover, spillover_report
from graphscore.analysis.whatif import (Change, ChangedScores, attribution_change, change_scores, lift_change,
                                        own_before_after, penalize_change, prepare_whatif)
from graphscore.engine.matrix import resolve_as_of
from graphscore.errors import GraphscoreError
from graphscore.policy import Policy
from graphscore.report.markup import records
from graphscore.report.render import to_html, to_json
from graphscore.serve.search import NameIndex
from graphscore.serve.views import clean, entity_rows, neighbourhood, path_links
from graphscore.workspace import Workspace

__all__ = ["create_app", "TOKEN_COOKIE"]

STATIC = Path(__file__).resolve().parent / "static"
# the network library is the reports' too (graphscore.report.interactive): one bundled copy
VENDOR = Path(__file__).resolve().parent.parent / "report" / "vendor"
TOKEN_COOKIE = "graphscore_token"
PATHS_PER_CONTRIBUTION = 2  # the dossier's and the paths view's: one explanation serves both
EXPLANATIONS_KEPT = 32  # entities whose explanation is kept (a few hundred kB each)
# Exposure rows an entity view lists, largest first (the rest by /api/exposure): at 10^6 links
# thousands of penalties reach one entity, a megabyte of JSON and a table no one reads.
EXPOSURE_SHOWN = 50
# What-ifs whose scores are kept (one score vector each): the page asks for the same what-if
# again whenever the entities on screen change (a node expanded, one opened).
CHANGES_KEPT = 8


def _kept(cache: dict, key, limit: int, compute):
    """``cache[key]``, computed on first use and kept among the ``limit`` last computed."""
    if key not in cache:
        if len(cache) >= limit:
            del cache[next(iter(cache))]
        cache[key] = compute()
    return cache[key]


@dataclass
class _State:
    """The workspace, the policies by name, and what is computed once per policy and date."""

    ws: Workspace
    policies: dict[str, Policy]
    lock: threading.Lock = field(default_factory=threading.Lock)
    scores: dict[tuple, pd.DataFrame] = field(default_factory=dict)
    index: NameIndex | None = None
    explained: dict[tuple, Explanation] = field(default_factory=dict)
    changes: dict[tuple, tuple[Change, ChangedScores, np.ndarray, np.ndarray]] = field(default_factory=dict)

    def policy(self, name: str | None) -> Policy:
        if name is None:
            return next(iter(self.policies.values()))
        if name not in self.policies:
            raise KeyError(f"unknown policy {name!r}; loaded: {', '.join(self.policies)}")
        return self.policies[name]

    def scores_at(self, policy: Policy, as_of) -> pd.DataFrame:
        """Every entity's score, indexed by id (computed once per policy and date)."""
        key = (policy.hash, resolve_as_of(as_of, policy))
        if key not in self.scores:
            self.scores[key] = score(self.ws, policy, key[1]).set_index("id")
        return self.scores[key]

    def explanation(self, policy: Policy, day: pd.Timestamp, entity_id: str, top_paths: int) -> Explanation:
        """The entity's explanation, kept for the few entities last opened: the page asks for
        the dossier and then for the paths, and both rest on the same explanation."""
        return _kept(self.explained, (policy.hash, day, entity_id, top_paths), EXPLANATIONS_KEPT,
                     lambda: explain(self.ws, policy, entity_id, as_of=day, top_paths=top_paths))

    def changed(self, policy: Policy, request: WhatIf) -> tuple[Change, ChangedScores, np.ndarray, np.ndarray]:
        """A what-if's change, the scores before and after it, the entities it moves and by how
        much: computed once for the few what-ifs last asked."""
        def compute():
            change = _change(self, policy, request)
            result = change_scores(self.ws, policy, change)
            delta = result.after - result.before
            moved = np.flatnonzero(delta)
            return change, result, moved, np.abs(delta[moved])
        key = (policy.hash, resolve_as_of(request.as_of, policy), request.lift, request.lift_entity, request.penalize,
               request.severity if request.penalize is not None else None)
        return _kept(self.changes, key, CHANGES_KEPT, compute)

    def prepare(self, policy: Policy, as_of=None) -> None:
        """Work out what the first search, entity view and what-if under ``policy`` at
        ``as_of`` would otherwise wait for: the scores, the name index and what every dossier
        and what-if reads about the whole register."""
        day = resolve_as_of(as_of, policy)
        self.scores_at(policy, day)
        self.names()
        prepare_dossier(self.ws, policy, as_of=day)
        prepare_whatif(self.ws, policy, day)

    def names(self) -> NameIndex:
        if self.index is None:
            self.index = NameIndex(self.ws.entities)
        return self.index


class WhatIf(BaseModel):
    """One change to the penalties: exactly one of ``lift``, ``lift_entity`` or ``penalize``."""

    policy: str | None = None
    as_of: dt.date | None = None
    lift: str | None = Field(None, description="Penalty id to lift.")
    lift_entity: str | None = Field(None, description="Entity whose active penalties are all lifted.")
    penalize: str | None = Field(None, description="Entity id that gets a new penalty.")
    severity: float = Field(1.0, gt=0, description="Severity of the new penalty.")
    ids: list[str] = Field(default_factory=list, description="Entities whose scores to return in any case "
                                                             "(those on screen).")
    top: int = Field(50, ge=0, le=10_000, description="Largest changes listed (a page of them).")
    offset: int = Field(0, ge=0, description="Changes skipped before the page, largest first: pages through "
                                             "every change.")


def _largest_first(items: np.ndarray, size: np.ndarray, offset: int, count: int) -> np.ndarray:
    """``items[offset:offset + count]`` once ordered by ``size``, largest first, ties in their
    order: as a stable sort of all of them gives them, from a partition and a sort of the few
    that can be among the first ``offset + count`` (a page of a what-if that moves 300,000
    scores, where sorting them all took a tenth of a second).

    Examples
    --------
    >>> _largest_first(np.array([10, 11, 12, 13, 14]), np.array([1.0, 5.0, 2.0, 5.0, 3.0]), 1, 2).tolist()
    [13, 14]
    """
    wanted = offset + count
    if count == 0:
        return items[:0]
    if wanted < items.size:
        least = np.partition(size, items.size - wanted)[items.size - wanted]  # the wanted-th largest
        chosen = size >= least
        items, size = items[chosen], size[chosen]
    return items[np.argsort(-size, kind="stable")][offset:wanted]


def _change(state: _State, policy: Policy, request: WhatIf) -> Change:
    chosen = [v for v in (request.lift, request.lift_entity, request.penalize) if v is not None]
    if len(chosen) != 1:
        raise ValueError("give exactly one of lift, lift_entity or penalize.")
    projection = state.ws.projection(policy, request.as_of)
    names = state.ws.names
    if request.lift is not None:
        return lift_change(projection, request.lift)
    if request.penalize is not None:
        return penalize_change(projection, request.penalize, request.severity,
                               label=f"a new penalty (severity {request.severity:g}) on "
                                     f"{names.get(request.penalize, request.penalize)}")
    # lifting all of them is adding them to a world without them, backwards
    added = attribution_change(projection, entity_id=request.lift_entity)
    return Change(f"lifting every penalty of {names.get(request.lift_entity, request.lift_entity)}",
                  added.seeds, -added.delta_s, added.penalties, added.as_of)


def _check_token(expected: str):
    async def middleware(request: Request, call_next):
        given = (request.query_params.get("token") or request.headers.get("x-graphscore-token")
                 or request.cookies.get(TOKEN_COOKIE) or "")
        if not secrets.compare_digest(given.encode(), expected.encode()):
            return JSONResponse({"detail": "a token is required: open the address `graphscore serve` printed"},
                                status_code=401)
        response = await call_next(request)
        if request.query_params.get("token"):  # the page's own requests then carry it as a cookie
            response.set_cookie(TOKEN_COOKIE, expected, httponly=True, samesite="strict")
        return response
    return middleware


def create_app(ws: Workspace, policies: list[Policy], *, token: str | None = None, prepare: bool = False) -> FastAPI:
    """The application over ``ws`` with the given policies (the first is the default).

    Parameters
    ----------
    ws : Workspace
        The store's workspace (:func:`graphscore.open`); only read.
    policies : list of Policy
        Selectable by name; names must differ.
    token : str, optional
        When given, every request must carry it (``?token=``, the ``X-Graphscore-Token`` header
        or the cookie the first ``?token=`` request sets).
    prepare : bool
        Work out, before returning, what the first requests under the first policy at its
        date would wait for (its scores and name index, what every dossier and what-if reads
        about the whole register), so that they answer as fast as the next ones.

    Examples
    --------
    >>> import graphscore as gs
    >>> from fastapi.testclient import TestClient
    >>> from graphscore.toy import fined_company
    >>> policy = gs.parse_policy('name="r"\\ndamping=0.5\\n[[transmit]]\\nlink="OFFICER_OF"\\ndirection="backward"')
    >>> client = TestClient(create_app(gs.Workspace(fined_company()), [policy]))
    >>> [(e["id"], e["total"]) for e in client.get("/api/search", params={"q": "pat", "as_of": "2024-01-01"}).json()["results"]]
    [('p', 0.5)]
    """
    if not policies:
        raise ValueError("give at least one policy.")
    by_name = {}
    for policy in policies:
        if policy.name in by_name:
            raise ValueError(f"two policies are named {policy.name!r}; names select them, so they must differ.")
        by_name[policy.name] = policy
    state = _State(ws, by_name)
    if prepare:
        state.prepare(policies[0])
    app = FastAPI(title="graphscore", version=graphscore.__version__,
                  description="Penalty spillover over entity graphs: search, dossiers, neighbourhoods, "
                              "what-ifs. Read-only: nothing is written to the store.")
    if token is not None:
        app.middleware("http")(_check_token(token))

    @app.exception_handler(KeyError)
    async def not_found(request: Request, exc: KeyError):
        return JSONResponse({"detail": str(exc.args[0]) if exc.args else "not found"}, status_code=404)

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError):
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(GraphscoreError)
    async def bad_input(request: Request, exc: GraphscoreError):
        return JSONResponse({"detail": str(exc)}, status_code=400)

    PolicyQuery = Query(None, description="Policy name (default: the first loaded).")
    AsOfQuery = Query(None, description="Date the links, penalties and scores hold at (YYYY-MM-DD).")

    @app.get("/", include_in_schema=False)
    def page():
        return FileResponse(STATIC / "index.html")

    app.mount("/static/vendor", StaticFiles(directory=VENDOR), name="vendor")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/info", summary="Data, policies, link types and entity kinds")
    def info() -> dict:
        tables = ws.tables
        return clean({
            "graphscore_version": graphscore.__version__, "data_fingerprint": ws.fingerprint,
            "data_counts": tables.counts(),
            "policies": [{"name": p.name, "model": p.model.value, "description": p.description,
                          "as_of": resolve_as_of(None, p).date().isoformat(), "threshold": p.threshold}
                         for p in by_name.values()],
            "link_types": sorted(tables.links["type"].dropna().unique().tolist()),
            "kinds": sorted(tables.entities["kind"].dropna().unique().tolist()),
        })

    @app.get("/api/search", summary="Entities whose name or id matches (case, accents and width ignored)")
    def search(q: str = Query(..., min_length=1, description="Part of a name, several words, or an id."),
               policy: str | None = PolicyQuery, as_of: dt.date | None = AsOfQuery,
               limit: int = Query(20, ge=1, le=500)) -> dict:
        rules = state.policy(policy)
        with state.lock:
            scores = state.scores_at(rules, as_of)
            ids = state.names().search(q, limit, scores=scores["total"])
            return {"query": q, "policy": rules.name, "as_of": resolve_as_of(as_of, rules).date().isoformat(),
                    "results": entity_rows(ws, scores, ids)}

    @app.get("/api/entity/{entity_id}", summary="An entity's dossier and neighbourhood")
    def entity(entity_id: str, policy: str | None = PolicyQuery, as_of: dt.date | None = AsOfQuery,
               exposure: int = Query(EXPOSURE_SHOWN, ge=0, description="Exposure rows listed, largest first "
                                                                       "(all of them: /api/exposure).")) -> dict:
        rules = state.policy(policy)
        day = resolve_as_of(as_of, rules)
        with state.lock:
            if entity_id not in ws.entities.index:
                raise KeyError(f"unknown entity id {entity_id!r}")
            scores = state.scores_at(rules, day)
            try:
                why = state.explanation(rules, day, entity_id, PATHS_PER_CONTRIBUTION)
            except ValueError:  # models whose scores do not split by source: the dossier notes it
                why = None
            found = dossier(ws, rules, entity_id, as_of=day, radius=1, top_paths=PATHS_PER_CONTRIBUTION,
                            explanation=why)
            count = len(found.exposure)
            found.exposure = found.exposure.head(exposure)
            report = to_json(found)
            report.pop("neighbourhood")  # drawn from "graph" below, summarised around hubs
            report["exposure_count"] = count
            return {"dossier": report, "graph": neighbourhood(ws, scores, entity_id, day)}

    @app.get("/api/exposure/{entity_id}", summary="An entity's inherited exposure by source, page by page")
    def exposure(entity_id: str, policy: str | None = PolicyQuery, as_of: dt.date | None = AsOfQuery,
                 offset: int = Query(0, ge=0), limit: int = Query(200, ge=1, le=10_000)) -> dict:
        rules = state.policy(policy)
        day = resolve_as_of(as_of, rules)
        with state.lock:
            if entity_id not in ws.entities.index:
                raise KeyError(f"unknown entity id {entity_id!r}")
            table = exposure_table(state.explanation(rules, day, entity_id, PATHS_PER_CONTRIBUTION))
            return {"entity": entity_id, "count": len(table), "offset": offset,
                    "rows": records(table.iloc[offset:offset + limit])}

    # Apart from the dossier, so the page draws the entity first: tracing paths costs as much again.
    @app.get("/api/paths/{entity_id}", summary="The entities and links on the paths that carry an entity's score")
    def paths(entity_id: str, policy: str | None = PolicyQuery, as_of: dt.date | None = AsOfQuery,
              top_paths: int = Query(PATHS_PER_CONTRIBUTION, ge=1, le=10, description="Paths per contribution.")) -> dict:
        rules = state.policy(policy)
        day = resolve_as_of(as_of, rules)
        with state.lock:
            scores = state.scores_at(rules, day)
            try:
                contributions = state.explanation(rules, day, entity_id, top_paths).contributions
            except ValueError:  # models whose scores do not split by source: the dossier notes it
                contributions = []
            on_path, links = path_links(ws, contributions, day)
            return {"nodes": entity_rows(ws, scores, on_path), "links": links}

    @app.get("/api/neighbours/{entity_id}", summary="An entity's neighbours at a date, for expanding a node")
    def neighbours(entity_id: str, policy: str | None = PolicyQuery, as_of: dt.date | None = AsOfQuery,
                   limit: int = Query(60, ge=1, le=5_000),
                   types: list[str] | None = Query(None, description="Only links of these types.")) -> dict:
        rules = state.policy(policy)
        day = resolve_as_of(as_of, rules)
        with state.lock:
            return neighbourhood(ws, state.scores_at(rules, day), entity_id, day, limit=limit, types=types)

    @app.post("/api/whatif", summary="Scores before and after lifting or adding a penalty (nothing is written)")
    def whatif(request: WhatIf) -> dict:
        rules = state.policy(request.policy)
        with state.lock:
            change, result, moved, size = state.changed(rules, request)
            projection = ws.projection(rules, change.as_of)
            own_before, own_after = own_before_after(projection, change)
        before, after = result.before, result.after
        delta = after - before

        def figures(k: int) -> dict:
            return clean({"before": before[k], "after": after[k], "delta": delta[k],
                          "own_before": own_before[k], "own_after": own_after[k]})

        top = _largest_first(moved, size, request.offset, request.top)
        rows = entity_rows(ws, pd.DataFrame(index=projection.ids[top], columns=["own", "inherited", "total"]),
                           projection.ids[top].tolist())
        for row, k in zip(rows, top):
            row.update(figures(k))
            for key in ("own", "inherited", "total"):
                row.pop(key)
        asked = projection.ids.get_indexer(request.ids)
        return {"label": change.label, "policy": rules.name, "as_of": change.as_of.date().isoformat(),
                "method": result.method, "error": result.error, "note": result.note,
                "changed": int(len(moved)), "offset": request.offset, "top": rows,
                "penalties": clean(change.penalties[["id", "entity", "kind", "severity"]].to_dict("records")),
                "scores": {i: figures(k) for i, k in zip(request.ids, asked) if k >= 0}}

    @app.get("/api/report/dossier/{entity_id}.html", response_class=HTMLResponse,
             summary="The entity's dossier report (self-contained HTML)")
    def dossier_report(entity_id: str, policy: str | None = PolicyQuery, as_of: dt.date | None = AsOfQuery):
        rules = state.policy(policy)
        with state.lock:
            return HTMLResponse(to_html(dossier(ws, rules, entity_id, as_of=as_of)))

    @app.get("/api/report/whatif.html", response_class=HTMLResponse,
             summary="The spillover report of a what-if (self-contained HTML)")
    def whatif_report(policy: str | None = PolicyQuery, as_of: dt.date | None = AsOfQuery,
                      lift: str | None = None, lift_entity: str | None = None, penalize: str | None = None,
                      severity: float = Query(1.0, gt=0)):
        request = WhatIf(policy=policy, as_of=as_of, lift=lift, lift_entity=lift_entity, penalize=penalize,
                         severity=severity)
        rules = state.policy(policy)
        with state.lock:
            if penalize is not None or lift is not None:
                report = spillover(ws, rules, penalize=penalize, severity=severity, lift=lift, as_of=as_of)
            else:
                change = _change(state, rules, request)
                report = spillover_report(ws, rules, change, title=f"Spillover of {change.label}")
            return HTMLResponse(to_html(report))

    return app
