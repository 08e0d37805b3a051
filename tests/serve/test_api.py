"""The JSON API over HTTP, against real stores, checked against the analysis functions."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.analysis.whatif import whatif
from graphscore.serve.app import create_app
from graphscore.report.render import to_json

from .conftest import RENAMED, ZALA_AS_OF

CST = "NK-abdzbEBkqyT29GyREbiURZ"  # LLC CST, maker of Zala drones
ZAKHAROV = "NK-aU5ybkbRFJucf8YMwsJvDw"  # Alexander Zakharov, its owner
ABASHKIN = "NK-mCEmxFfuhfdjpC8gsxH74o"  # its legal representative, one sanction in force mid-2024


def _ids(served, q, **params):
    response = served.client.get("/api/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["results"]]


def test_openapi_documents_every_route(zala):
    schema = zala.client.get("/openapi.json").json()
    assert set(schema["paths"]) >= {"/api/info", "/api/search", "/api/entity/{entity_id}", "/api/paths/{entity_id}",
                                    "/api/neighbours/{entity_id}", "/api/whatif",
                                    "/api/report/dossier/{entity_id}.html", "/api/report/whatif.html"}
    assert "requestBody" in schema["paths"]["/api/whatif"]["post"]


def test_info_lists_policies_and_data(zala, policies):
    info = zala.client.get("/api/info").json()
    assert [p["name"] for p in info["policies"]] == [p.name for p in policies]
    assert info["data_counts"] == {"entities": 17, "links": 21, "penalties": 61}
    assert info["link_types"] == ["FAMILY", "OFFICER_OF", "OWNS"]


@pytest.mark.parametrize("query", ["llc cst", "LLC CST", "cst", CST, CST.lower()])
def test_search_ignores_case_and_finds_ids(zala, query):
    assert _ids(zala, query)[0] == CST


def test_search_cyrillic_in_any_case(zala):
    assert _ids(zala, "ЗАЛА аеро") == ["NK-cPks3aTbes8k4aCerfBAzN"]
    assert _ids(zala, "абашкін") == [ABASHKIN]


def test_search_words_in_any_order_ranked_by_score(zala, zala_db, policies):
    found = _ids(zala, "zakharov", as_of=ZALA_AS_OF)
    assert found[0] == ZAKHAROV and len(found) == 4  # three Zakharovs and a Zakharova
    rows = zala.client.get("/api/search", params={"q": "zakharov", "as_of": ZALA_AS_OF}).json()["results"]
    totals = [r["total"] for r in rows]
    assert totals == sorted(totals, reverse=True)
    assert _ids(zala, "zakharov alexander") == [ZAKHAROV]
    assert zala.client.get("/api/search", params={"q": "no such name"}).json()["results"] == []


def test_search_chinese_and_accents(registry):
    assert _ids(registry, "华信") == ["C000001"]
    assert _ids(registry, "深圳华信贸易有限公司") == ["C000001"]
    assert "P000001" in _ids(registry, "张伟")
    assert _ids(registry, "zoe muller") == ["C000002"]
    assert _ids(registry, "ZOË MÜLLER-LÜDENSCHEIDT") == ["C000002"]
    row = registry.client.get("/api/search", params={"q": "华信"}).json()["results"][0]
    assert row["name"] == RENAMED["C000001"] and row["kind"] == "company" and row["jurisdiction"]


def test_search_scores_are_the_policys(zala, zala_db, policies):
    expected = gs.score(gs.open(zala_db), policies[1], as_of=ZALA_AS_OF).set_index("id")["total"]
    rows = zala.client.get("/api/search", params={"q": "zakharov", "policy": policies[1].name,
                                                  "as_of": ZALA_AS_OF}).json()["results"]
    assert rows and all(row["total"] == pytest.approx(expected[row["id"]], abs=1e-12) for row in rows)


def test_entity_view_holds_the_dossier(zala, zala_db, policies):
    body = zala.client.get(f"/api/entity/{CST}", params={"as_of": ZALA_AS_OF}).json()
    expected = to_json(dossier(gs.open(zala_db), policies[0], CST, as_of=ZALA_AS_OF, radius=1))
    got = body["dossier"]
    for key in ("entity", "score", "penalties", "exposure", "owners", "ultimate_owners", "officers", "holdings"):
        assert got[key] == expected[key], key
    assert got["manifest"]["policy"]["name"] == policies[0].name and got["manifest"]["as_of"] == ZALA_AS_OF
    assert sorted(o["id"] for o in got["officers"]) == sorted([ZAKHAROV, ABASHKIN])
    graph = body["graph"]
    assert graph["center"] == CST and graph["nodes"][0]["id"] == CST
    assert {n["id"] for n in graph["nodes"]} == {CST, ZAKHAROV, ABASHKIN, "NK-nR5AXM9AVPq4pQaSPSaVam"}
    labels = {(link["source"], link["label"]) for link in graph["links"]}
    assert (ZAKHAROV, "OWNS 51%") in labels and (ABASHKIN, "OFFICER_OF legal_representative") in labels


def test_entity_view_lists_the_largest_exposure_and_pages_through_the_rest(registry, registry_db, policies):
    """The view lists the largest exposure rows and says how many there are; /api/exposure
    gives all of them, page by page, as the dossier has them."""
    ws = gs.open(registry_db)
    policy = policies[1]  # diffusion: penalties reach far, so many sources reach one entity
    scores = gs.score(ws, policy, "2024-06-30")
    entity = scores.loc[scores["inherited"].idxmax(), "id"]
    expected = to_json(dossier(ws, policy, entity, as_of="2024-06-30", radius=1))["exposure"]
    assert len(expected) > 5
    day = {"as_of": "2024-06-30", "policy": policy.name}
    view = registry.client.get(f"/api/entity/{entity}", params={**day, "exposure": 3}).json()
    assert view["dossier"]["exposure"] == expected[:3] and view["dossier"]["exposure_count"] == len(expected)
    rows, offset = [], 0
    while True:
        page = registry.client.get(f"/api/exposure/{entity}", params={**day, "offset": offset, "limit": 2}).json()
        assert page["count"] == len(expected) and page["offset"] == offset
        if not page["rows"]:
            break
        rows += page["rows"]
        offset += 2
    assert rows == expected
    assert registry.client.get("/api/exposure/nobody").status_code == 404


def test_paths_carry_the_score(zala, zala_db, policies):
    paths = zala.client.get(f"/api/paths/{ABASHKIN}", params={"as_of": "2022-06-30"}).json()
    # in mid-2022 only LLC CST was sanctioned: its legal representative's score came from it alone
    assert {n["id"] for n in paths["nodes"]} == {CST, ABASHKIN}
    assert [(link["source"], link["target"], link["label"]) for link in paths["links"]] == [
        (ABASHKIN, CST, "OFFICER_OF legal_representative")]
    ofac = zala.client.get(f"/api/paths/{ABASHKIN}", params={"as_of": "2022-06-30", "policy": "ofac-50"})
    assert ofac.status_code == 200 and ofac.json()["links"] == []


def test_as_of_moves_links_penalties_and_scores(zala):
    def view(day):
        return zala.client.get(f"/api/neighbours/{ZAKHAROV}", params={"as_of": day}).json()
    then, now = view("2018-01-01"), view(ZALA_AS_OF)
    assert "ru-inn-5920040846" in {n["id"] for n in then["nodes"]}  # owned 2013-06-06 to 2019-08-02
    assert "ru-inn-5920040846" not in {n["id"] for n in now["nodes"]}
    assert then["nodes"][0]["total"] == 0 and now["nodes"][0]["total"] > 0  # sanctioned from 2022


def test_neighbours_summarise_a_hub(registry, registry_db):
    ws = gs.open(registry_db)
    links = ws.links_at("2024-06-30")
    ends = np.concatenate([links["source"], links["target"]])
    values, counts = np.unique(ends, return_counts=True)
    hub = values[np.argmax(counts)]
    full = registry.client.get(f"/api/neighbours/{hub}", params={"limit": 5000, "as_of": "2024-06-30"}).json()
    cut = registry.client.get(f"/api/neighbours/{hub}", params={"limit": 5, "as_of": "2024-06-30"}).json()
    assert len(full["nodes"]) - 1 > 5 and full["hidden"]["count"] == 0
    assert len(cut["nodes"]) == 6 and cut["hidden"]["count"] == len(full["nodes"]) - 6
    shown = [n["total"] for n in cut["nodes"][1:]]
    assert min(shown) >= max(n["total"] for n in full["nodes"][1:] if n["id"] not in {c["id"] for c in cut["nodes"]})
    only = registry.client.get(f"/api/neighbours/{hub}", params={"types": "OWNS", "limit": 5000,
                                                                "as_of": "2024-06-30"}).json()
    assert {link["type"] for link in only["links"]} == {"OWNS"}


def _store_bytes(db) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in db.rglob("*") if p.is_file() and "cache" not in p.parts[-2]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def test_whatif_lift_matches_the_analysis_and_writes_nothing(zala, zala_db, policies):
    ws = gs.open(zala_db)
    penalty = ws.tables.penalties.loc[ws.tables.penalties["entity"] == ABASHKIN, "id"].iloc[-1]
    expected = whatif(ws, policies[0], lift=penalty, as_of=ZALA_AS_OF).set_index("id")
    before_bytes = _store_bytes(zala_db)
    body = zala.client.post("/api/whatif", json={"lift": penalty, "as_of": ZALA_AS_OF, "ids": [CST, ABASHKIN]}).json()
    assert body["changed"] == int((expected["delta"] != 0).sum()) >= 2
    for row in body["top"]:
        assert row["after"] == pytest.approx(expected.loc[row["id"], "after"], abs=1e-9)
    assert body["scores"][ABASHKIN]["own_before"] > 0 and body["scores"][ABASHKIN]["own_after"] == 0
    assert body["scores"][CST]["delta"] < 0
    assert _store_bytes(zala_db) == before_bytes
    again = zala.client.get(f"/api/entity/{ABASHKIN}", params={"as_of": ZALA_AS_OF}).json()
    assert again["dossier"]["score"]["own"] > 0  # the what-if left the data as it was


def test_whatif_penalize_and_lift_entity(zala, zala_db, policies):
    ws = gs.open(zala_db)
    expected = whatif(ws, policies[0], penalize="NK-SiYwWfxwLVrVeFswsvAvsm", severity=2, as_of=ZALA_AS_OF)
    body = zala.client.post("/api/whatif", json={"penalize": "NK-SiYwWfxwLVrVeFswsvAvsm", "severity": 2,
                                                 "as_of": ZALA_AS_OF}).json()
    assert body["top"][0]["id"] == "NK-SiYwWfxwLVrVeFswsvAvsm" and body["top"][0]["own_after"] == 2
    assert body["changed"] == int((expected["delta"] != 0).sum())
    lifted = zala.client.post("/api/whatif", json={"lift_entity": CST, "as_of": ZALA_AS_OF, "ids": [CST]}).json()
    assert lifted["scores"][CST]["own_after"] == 0 and lifted["scores"][CST]["delta"] < 0
    assert len(lifted["penalties"]) == 21  # every sanction of LLC CST in force mid-2024
    refused = zala.client.post("/api/whatif", json={"lift": "x", "penalize": CST})
    assert refused.status_code == 400 and "exactly one" in refused.json()["detail"]


def test_whatif_pages_through_every_change_and_says_how_it_was_computed(registry, registry_db, policies):
    """Pages of the largest changes, ``offset`` after ``offset``, hold every changed entity once,
    largest first, with the figures the analysis gives; the answer says how the change was
    computed and its proven bound, as the analysis does."""
    ws = gs.open(registry_db)
    policy = policies[1]  # diffusion: a spread, whose what-if is a push or a solve
    projection = ws.projection(policy, "2024-06-30")
    entity = projection.penalties.loc[projection.penalties["weight"] > 0, "entity"].iloc[0]
    expected = whatif(ws, policy, penalize=entity, severity=3, as_of="2024-06-30").set_index("id")
    request = {"penalize": entity, "severity": 3, "as_of": "2024-06-30", "top": 7, "policy": policy.name}
    pages, offset = [], 0
    while True:
        body = registry.client.post("/api/whatif", json={**request, "offset": offset}).json()
        assert body["offset"] == offset and body["changed"] == int((expected["delta"] != 0).sum()) > 14
        if not body["top"]:
            break
        pages.append(body["top"])
        offset += 7
    assert [len(page) for page in pages[:-1]] == [7] * (len(pages) - 1)
    rows = [row for page in pages for row in page]
    assert len({row["id"] for row in rows}) == len(rows) == body["changed"]
    assert [abs(row["delta"]) for row in rows] == sorted((abs(row["delta"]) for row in rows), reverse=True)
    for row in rows:
        assert row["after"] == pytest.approx(expected.loc[row["id"], "after"], abs=1e-12)
        assert row["delta"] == pytest.approx(expected.loc[row["id"], "delta"], abs=1e-12)
    assert body["method"] in ("push", "solve") and body["error"] == expected.attrs["error"] <= 1e-6 * 3
    assert body["note"] == expected.attrs["notes"][-1] and "within" in body["note"]
    refused = registry.client.post("/api/whatif", json={**request, "offset": -1})
    assert refused.status_code == 422
    # kept for the page's next request, but per what-if: another severity is another change
    heavier = registry.client.post("/api/whatif", json={**request, "severity": 6, "ids": [entity]}).json()
    expected = whatif(ws, policy, penalize=entity, severity=6, as_of="2024-06-30").set_index("id")
    assert heavier["scores"][entity]["delta"] == pytest.approx(expected.loc[entity, "delta"], abs=1e-12)
    assert heavier["scores"][entity]["delta"] > next(row["delta"] for row in rows if row["id"] == entity)


def test_a_prepared_server_answers_as_an_unprepared_one(registry_db, policies):
    """Preparing (what ``graphscore serve`` does before it listens) computes the first policy's
    scores, name index and what every dossier and what-if reads about the register ahead of the
    first request, and changes no answer."""
    from .conftest import Served

    prepared_ws, plain_ws = gs.open(registry_db), gs.open(registry_db)
    prepared, plain = (Served(create_app(ws, policies, prepare=flag)) for ws, flag in ((prepared_ws, True),
                                                                                      (plain_ws, False)))
    try:
        assert "; 0 projection(s) cached" in repr(plain_ws) and "; 0 projection(s)" not in repr(prepared_ws)
        hits = prepared.client.get("/api/search", params={"q": "zoe muller"}).json()["results"]
        assert hits and hits == plain.client.get("/api/search", params={"q": "zoe muller"}).json()["results"]
        scores = gs.score(plain_ws, policies[0])
        penalised = scores[scores["own"] > 0]
        entity = penalised.loc[penalised["inherited"].idxmax(), "id"]  # one of its penalties to lift, exposure too
        views = [served.client.get(f"/api/entity/{entity}").json() for served in (prepared, plain)]
        for view in views:
            view["dossier"]["manifest"].pop("generated_at")
        assert views[0] == views[1] and views[0]["dossier"]["score"]["total"] > 0 and len(views[0]["graph"]["nodes"]) > 1
        changes = [served.client.post("/api/whatif", json={"lift_entity": entity, "ids": [entity]}).json()
                   for served in (prepared, plain)]
        assert changes[0] == changes[1] and changes[0]["changed"] > 0
    finally:
        prepared.stop(), plain.stop()


def test_policy_switch_same_entity(zala, zala_db, policies):
    views = {p.name: zala.client.get(f"/api/entity/{ZAKHAROV}", params={"policy": p.name, "as_of": ZALA_AS_OF}).json()
             for p in policies}
    for policy in policies:
        view = views[policy.name]["dossier"]
        assert view["manifest"]["policy"]["name"] == policy.name
        expected = gs.score(gs.open(zala_db), policy, as_of=ZALA_AS_OF).set_index("id").loc[ZAKHAROV, "total"]
        assert view["score"]["total"] == pytest.approx(expected, abs=1e-12)
    assert len({round(v["dossier"]["score"]["total"], 9) for v in views.values()}) > 1


def test_reports_open(zala):
    page = zala.client.get(f"/api/report/dossier/{CST}.html", params={"as_of": ZALA_AS_OF})
    assert page.status_code == 200 and "LLC CST" in page.text and "<html" in page.text
    report = zala.client.get("/api/report/whatif.html", params={"lift_entity": CST, "as_of": ZALA_AS_OF})
    assert report.status_code == 200 and "lifting every penalty of LLC CST" in report.text


@pytest.mark.parametrize(("path", "status"), [
    (f"/api/entity/nobody?as_of={ZALA_AS_OF}", 404), ("/api/search?q=x&policy=nope", 404),
    ("/api/search?q=x&as_of=2024-13-01", 422), ("/api/neighbours/nobody", 404), ("/api/search", 422)])
def test_bad_requests_say_why(zala, path, status):
    response = zala.client.get(path)
    assert response.status_code == status and response.json()["detail"]


def test_page_and_bundled_library_served_offline(zala):
    page = zala.client.get("/")
    assert page.status_code == 200 and "/static/vendor/cytoscape.min.js" in page.text
    assert "src=\"http" not in page.text and "href=\"http" not in page.text  # nothing from a CDN
    library = zala.client.get("/static/vendor/cytoscape.min.js")
    assert library.status_code == 200 and "Cytoscape Consortium" in library.text[:400]
    assert "MIT" in zala.client.get("/static/vendor/README.md").text
