"""The web application: a JSON API over one store's workspace, and the page that uses it.

Read-only towards the store: the workspace is read once at start (:func:`graphscore.open`) and
every answer, what-ifs included, is computed in memory from it; nothing is written back. The
API is described by its OpenAPI schema at ``/openapi.json`` (and browsable at ``/docs``).

Routes (each takes ``policy`` by name and ``as_of`` as ``YYYY-MM-DD``; defaults: the first
policy, and its ``as_of`` or today):

- ``GET /api/info``: data counts and fingerprint, the policies, link types and entity kinds;
- ``GET /api/search?q=``: entities whose name or id matches, with kind, jurisdiction, score;
- ``GET /api/entity/{id}``: the dossier (:func:`graphscore.analysis.dossier.dossier`, laid out
  as its JSON report) and its neighbourhood;
- ``GET /api/paths/{id}``: the entities and links on the paths that carry its score;
- ``GET /api/neighbours/{id}``: one entity's neighbours, for expanding a node;
- ``POST /api/whatif``: lift a penalty, lift all of an entity's, or add one, and the scores
  before and after (nothing is written);
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
from graphscore.analysis.dossier import dossier
from graphscore.analysis.explain import Explanation, explain
from graphscore.analysis.scores import score
from graphscore.analysis.spillover import spillover, spillover_report
from graphscore.analysis.whatif import (Change, apply_change, attribution_change, lift_change, own_before_after,
                                        penalize_change)
from graphscore.engine.matrix import resolve_as_of
from graphscore.errors import GraphscoreError
from graphscore.policy import Policy
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


@dataclass
class _State:
    """The workspace, the policies by name, and what is computed once per policy and date."""

    ws: Workspace
    policies: dict[str, Policy]
    lock: threading.Lock = field(default_factory=threading.Lock)
    scores: dict[tuple, pd.DataFrame] = field(default_factory=dict)
    index: NameIndex | None = None
    explained: dict[tuple, Explanation] = field(default_factory=dict)

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
        key = (policy.hash, day, entity_id, top_paths)
        if key not in self.explained:
            if len(self.explained) >= EXPLANATIONS_KEPT:
                del self.explained[next(iter(self.explained))]
            self.explained[key] = explain(self.ws, policy, entity_id, as_of=day, top_paths=top_paths)
        return self.explained[key]

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
    top: int = Field(50, ge=0, le=10_000, description="Largest changes listed.")


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


def create_app(ws: Workspace, policies: list[Policy], *, token: str | None = None) -> FastAPI:
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
    def entity(entity_id: str, policy: str | None = PolicyQuery, as_of: dt.date | None = AsOfQuery) -> dict:
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
            report = to_json(dossier(ws, rules, entity_id, as_of=day, radius=1, top_paths=PATHS_PER_CONTRIBUTION,
                                     explanation=why))
            report.pop("neighbourhood")  # drawn from "graph" below, summarised around hubs
            return {"dossier": report, "graph": neighbourhood(ws, scores, entity_id, day)}

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
            change = _change(state, rules, request)
            projection = ws.projection(rules, change.as_of)
            before, after = apply_change(ws, rules, change)
            own_before, own_after = own_before_after(projection, change)
        delta = after - before

        def figures(k: int) -> dict:
            return clean({"before": before[k], "after": after[k], "delta": delta[k],
                          "own_before": own_before[k], "own_after": own_after[k]})

        changed = np.flatnonzero(delta)
        top = changed[np.argsort(-np.abs(delta[changed]), kind="stable")[:request.top]]
        rows = entity_rows(ws, pd.DataFrame(index=projection.ids[top], columns=["own", "inherited", "total"]),
                           projection.ids[top].tolist())
        for row, k in zip(rows, top):
            row.update(figures(k))
            for key in ("own", "inherited", "total"):
                row.pop(key)
        asked = projection.ids.get_indexer(request.ids)
        return {"label": change.label, "policy": rules.name, "as_of": change.as_of.date().isoformat(),
                "changed": int(len(changed)), "top": rows,
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
