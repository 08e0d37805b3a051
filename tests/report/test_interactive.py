"""The HTML reports' tables sort and filter and their network can be explored, in one file that
fetches nothing; checked in the page source and in headless Chromium."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

import graphscore as gs
from graphscore.analysis.compare import compare_policies
from graphscore.analysis.dossier import dossier
from graphscore.analysis.spillover import spillover
from graphscore.report.interactive import NODES_DRAWN, network_data
from graphscore.report.render import to_html
from tests.chromium import browser  # noqa: F401 (the fixture)
from tests.conftest import POLICIES, ZALA

CST = "NK-abdzbEBkqyT29GyREbiURZ"
AS_OF = "2024-06-30"


def without_inline_scripts(html: str) -> str:
    """The page without its inline scripts, after checking none of them loads a file."""
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, flags=re.IGNORECASE)
    return re.sub(r"<script>.*?</script>", "", html, flags=re.DOTALL)


@pytest.fixture(scope="module")
def zala():
    return gs.Workspace(gs.validate(gs.read_path(ZALA)))


@pytest.fixture(scope="module")
def joint():
    return gs.load_policy(POLICIES / "joint-punishment.toml")


def _payload(html: str) -> dict:
    found = re.search(r"<script>window\.GS_NETWORK = (.*?);</script>", html, flags=re.DOTALL)
    return json.loads(found.group(1))


def test_dossier_network_is_its_neighbourhood(zala, joint):
    report = dossier(zala, joint, CST, as_of=AS_OF)
    html = to_html(report)
    data = _payload(html)
    assert data == json.loads(json.dumps(network_data(report)))
    assert {n["id"] for n in data["nodes"]} == set(report.neighbourhood.nodes)
    assert len(data["links"]) == report.neighbourhood.number_of_edges()
    assert data["center"] == CST and "Cytoscape Consortium" in html


def test_spillover_network_draws_the_largest_changes_and_their_paths(zala, joint):
    report = spillover(zala, joint, entity=CST, as_of="2022-06-30")
    data = network_data(report)
    assert {n["id"] for n in data["nodes"]} == set(report.affected["id"])
    changes = {n["id"]: n["change"] for n in data["nodes"]}
    assert changes == pytest.approx(dict(zip(report.affected["id"], report.affected["change"])))
    assert next(n for n in data["nodes"] if n["id"] == CST)["category"] == "own"


def test_big_spillover_is_cut_to_the_largest():
    from graphscore.synthetic import generate_network

    diffusion = gs.load_policy(POLICIES / "diffusion.toml")  # a spread: a change reaches every tie
    ws = gs.Workspace(generate_network(3000, seed=5, as_of=AS_OF))
    penalties = ws.projection(diffusion, AS_OF).penalties
    source = penalties.loc[penalties["weight"] > 0, "entity"].value_counts().index[0]
    report = spillover(ws, diffusion, entity=source, as_of=AS_OF)
    data = network_data(report)
    assert len(report.affected) > NODES_DRAWN  # seeded: the hub's change reaches thousands
    largest = report.affected.reindex(report.affected["change"].abs().sort_values(ascending=False).index)
    drawn = {n["id"] for n in data["nodes"]}
    assert set(largest["id"].head(NODES_DRAWN)) <= drawn and len(drawn) < len(report.affected)
    assert data["total"] == len(report.affected)


def test_names_cannot_break_out_of_the_script(joint):
    hostile = "</script><script>alert('x')</script><!--"
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["c", "p"], "kind": ["company", "person"], "name": [hostile, "Pat"]}),
        pd.DataFrame({"source": ["p"], "target": ["c"], "type": ["OFFICER_OF"], "role": ["legal_representative"]}),
        pd.DataFrame({"id": ["x"], "entity": ["c"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    html = to_html(dossier(tables, joint, "c", as_of=AS_OF))
    script = re.search(r"<script>window\.GS_NETWORK = (.*?);</script>", html, flags=re.DOTALL).group(1)
    assert "<" not in script and json.loads(script)["nodes"][0]["name"] == hostile


def test_compare_has_sortable_tables_and_no_network(zala, joint):
    html = to_html(compare_policies(zala, [joint, gs.load_policy(POLICIES / "diffusion.toml")], as_of=AS_OF))
    assert "window.GS_NETWORK =" not in html and "gs-filter" in html  # the script that makes the tables sortable


def _drawn_share(page) -> float:
    from PIL import Image
    import io

    image = np.asarray(Image.open(io.BytesIO(page.locator("#gs-network").screenshot())).convert("RGB")).astype(int)
    return float((np.abs(image - 255).sum(axis=2) > 30).mean())


def test_report_in_a_browser(browser, zala, joint, tmp_path):
    report = dossier(zala, joint, CST, as_of=AS_OF)
    path = tmp_path / "dossier.html"
    path.write_text(to_html(report), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    page.wait_for_selector("#gs-network[data-nodes]")
    page.locator("#gs-network").scroll_into_view_if_needed()
    total = report.neighbourhood.number_of_nodes()
    assert int(page.get_attribute("#gs-network", "data-nodes")) == total
    assert _drawn_share(page) > 0.01

    # a link type switched off takes the entities it alone joined
    page.uncheck(".gs-controls input[data-type=FAMILY]")
    assert int(page.get_attribute("#gs-network", "data-nodes")) == total - 4  # the four Zakharov relatives

    # the penalties table: sorted by a click, filtered by typing
    table = page.locator("main table").first
    column = [h.strip().lower() for h in table.locator("thead th").all_inner_texts()].index("authority")
    header = table.locator("thead th").nth(column)
    header.click()
    values = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
    assert values == sorted(values, key=str.lower, reverse=True)
    header.click()
    values = table.locator(f"tbody tr td:nth-child({column + 1})").all_inner_texts()
    assert values == sorted(values, key=str.lower)
    rows = table.locator("tbody tr")
    before = rows.count()
    page.locator(".gs-filter").first.fill("ofac")
    visible = [row for row in rows.all() if row.is_visible()]
    assert 0 < len(visible) < before and all("ofac" in row.inner_text().lower() for row in visible)
    assert not errors and all(url.startswith("file:") or url.startswith("data:") or url.startswith("blob:")
                              for url in requests), (errors, requests)
    page.close()


def test_the_network_of_a_few_entities_is_the_whole_graph_cut_to_them():
    # network_data builds only the entities it draws; the graph must be the whole one's subgraph,
    # nodes, links and their order alike (the report's bytes depend on it)
    from graphscore.report.charts import ordered_subgraph

    from graphscore.synthetic import generate_network

    diffusion = gs.load_policy(POLICIES / "diffusion.toml")
    ws = gs.Workspace(generate_network(600, seed=5, as_of=AS_OF))
    penalties = ws.projection(diffusion, AS_OF).penalties
    report = spillover(ws, diffusion, entity=penalties.loc[penalties["weight"] > 0, "entity"].iloc[0], as_of=AS_OF)
    whole = report.to_networkx()
    on_paths = {e for hops in report.affected["path_hops"].head(40) for hop in hops for e in (hop["from"], hop["to"])}
    assert whole.number_of_edges() > 20 and len(on_paths) > 20  # paths to cut
    rng = np.random.default_rng(0)
    for keep in (set(report.affected["id"].head(30)) | on_paths, set(rng.choice(list(whole.nodes), 50)),
                 set(report.affected["id"].iloc[::2]), set()):
        cut, expected = report.to_networkx(among=keep), ordered_subgraph(whole, keep)
        assert list(cut.nodes(data=True)) == list(expected.nodes(data=True))
        assert list(cut.edges(keys=True, data=True)) == list(expected.edges(keys=True, data=True))
