"""The page in a real headless Chromium (Debian's ``chromium``, driven by Playwright): search,
open an entity, expand a node, lift its penalties, and see the scores and colours change.

Skipped only where Chromium or Playwright is absent, and never in CI (``CI=true``): there
``.ci/run`` installs Chromium and a missing browser fails the run.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from tests.chromium import browser  # noqa: F401 (the fixture)

from .test_api import ABASHKIN, CST, ZAKHAROV

ZALA_AS_OF = "2024-06-30"


@pytest.fixture
def page(browser, zala):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(zala.url + "/")
    page.wait_for_selector("body[data-ready=yes]")
    page.fill("#asof", ZALA_AS_OF)
    yield page
    context.close()
    assert not errors, errors


def _nodes(page) -> dict:
    return page.evaluate("() => Object.fromEntries(cy.nodes().not('.more').map("
                         "n => [n.id(), {colour: n.data('colour'), score: n.data('score'), border: n.data('border')}]))")


def _drawn_pixels(page) -> tuple[float, int]:
    """Share of the network's pixels that are not background, and how many distinct colours."""
    image = np.asarray(Image.open(io.BytesIO(page.locator("#graph").screenshot())).convert("RGB")).astype(int)
    drawn = np.abs(image - 255).sum(axis=2) > 30
    colours = {tuple(c // 32) for c in image[drawn][::7]}
    return float(drawn.mean()), len(colours)


def _open_cst(page) -> None:
    page.fill("#q", "llc cst")
    page.wait_for_selector("#results li[data-id]")
    assert "LLC CST" in page.inner_text("#results")
    page.click(f"#results li[data-id='{CST}']")
    page.wait_for_function("document.getElementById('entity-name')?.textContent === 'LLC CST'")
    page.wait_for_selector("#status[data-paths]")  # the paths carrying the score, drawn second


def test_search_open_expand_lift(page, tmp_path):
    _open_cst(page)
    assert page.inner_text("#score-total") != "0"
    status = page.locator("#status")
    before = int(status.get_attribute("data-nodes"))
    assert before == 4 and int(status.get_attribute("data-links")) >= 3
    # LLC CST's score comes from its owners' and officers' sanctions: those links are highlighted
    highlighted = page.evaluate("() => cy.edges('.path').map(e => e.source().id()).sort()")
    assert set(highlighted) == {ZAKHAROV, ABASHKIN, "NK-nR5AXM9AVPq4pQaSPSaVam"}
    share, colours = _drawn_pixels(page)
    assert share > 0.01 and colours >= 3, (share, colours)

    # expand Zakharov by clicking his node: his family and companies appear
    box = page.locator("#graph").bounding_box()
    at = page.evaluate(f"() => cy.getElementById('{ZAKHAROV}').renderedPosition()")
    page.mouse.click(box["x"] + at["x"], box["y"] + at["y"])
    page.wait_for_function(f"Number(document.getElementById('status').dataset.nodes) > {before}")
    expanded = _nodes(page)
    assert {"NK-JseaPJctnK9o8wrmz8xmoT", "NK-SiYwWfxwLVrVeFswsvAvsm"} <= set(expanded)
    assert expanded[CST]["colour"] == expanded[ABASHKIN]["colour"] == "#d62728"  # own penalties

    # lift every penalty of LLC CST: its own colour goes, its score and its officers' drop
    total = float(page.inner_text("#score-total"))
    page.click("#lift-all")
    page.wait_for_selector("#status[data-whatif=on]")
    page.wait_for_selector("#score-whatif")
    assert float(page.inner_text("#score-whatif")) < total
    after = _nodes(page)
    assert after[CST]["colour"] == "#ff9f1c" and after[CST]["border"] > 0  # inherited only, changed
    assert after[ABASHKIN]["score"] < expanded[ABASHKIN]["score"]
    assert after["NK-JseaPJctnK9o8wrmz8xmoT"]["border"] == 0  # Nikita Zakharov: untouched
    assert "lifting every penalty of LLC CST" in page.inner_text("#whatif-bar")
    page.locator("#graph").screenshot(path=tmp_path / "whatif.png")

    # switching the what-if off restores the colours
    page.uncheck("#whatif-show")
    page.wait_for_selector("#status[data-whatif=off]")
    assert _nodes(page)[CST]["colour"] == "#d62728"


def test_link_filter_as_of_and_exports(page, tmp_path):
    _open_cst(page)
    page.uncheck("input[data-type=OFFICER_OF]")
    page.wait_for_function("Number(document.getElementById('status').dataset.nodes) === 3")
    page.check("input[data-type=OFFICER_OF]")
    page.wait_for_function("Number(document.getElementById('status').dataset.nodes) === 4")

    page.fill("#asof", "2023-01-01")  # before the sanctions of 2023: fewer penalties count
    page.locator("#asof").dispatch_event("change")
    page.wait_for_function("document.getElementById('status').textContent.includes('2023-01-01')")
    drawn = int(page.locator("#status").get_attribute("data-nodes"))
    assert drawn == 6  # in 2023 two more owners held stakes (2 % and 1 %, both ended that year)

    with page.expect_download() as png:
        page.click("#export-png")
    assert png.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download() as svg:
        page.click("#export-svg")
    text = svg.value.path().read_text(encoding="utf-8")
    assert text.startswith("<svg") and "LLC CST" in text and text.count("<circle") == drawn
    with page.expect_download() as view:
        page.click("#export-json")
    exported = json.loads(view.value.path().read_text(encoding="utf-8"))
    assert exported["entity"] == CST and exported["as_of"] == "2023-01-01" and len(exported["nodes"]) == drawn
