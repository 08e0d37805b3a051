"""The report charts' SVG read back as a viewer reads it: the tests look at what the file holds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """The document's root element; fails on anything that is not well-formed XML."""
    root = ET.fromstring(svg.encode("utf-8"))
    assert root.tag == f"{SVG}svg", root.tag
    return root


def texts(svg: str, css_class: str | None = None) -> list[str]:
    """Each ``<text>`` element's text, its lines (``<tspan>``) joined by newlines; only those of
    ``css_class`` when given."""
    found = []
    for element in parse(svg).iter(f"{SVG}text"):
        if css_class is not None and element.get("class") != css_class:
            continue
        spans = element.findall(f"{SVG}tspan")
        found.append("\n".join(span.text or "" for span in spans) if spans else element.text or "")
    return found


def label_boxes(svg: str) -> list[tuple[float, float, float, float]]:
    """The white boxes under the picture's labels, (x0, y0, x1, y1) in points."""
    return [(float(r.get("x")), float(r.get("y")), float(r.get("x")) + float(r.get("width")),
             float(r.get("y")) + float(r.get("height")))
            for r in parse(svg).iter(f"{SVG}rect") if r.get("class") == "label"]


def size(svg: str) -> tuple[float, float]:
    """Width and height of the picture in points (its viewBox)."""
    _, _, width, height = map(float, parse(svg).get("viewBox").split())
    return width, height
