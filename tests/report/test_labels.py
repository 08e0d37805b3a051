"""Labels in the pictures do not sit on each other (issue 11.3): a crowded neighbourhood, drawn
as the dossier draws it, measured in the SVG written. The boxes are sized from DejaVu Sans's
widths (graphscore.report.fontmetrics): tests/report/test_fontmetrics.py checks those against
the font as matplotlib lays it out."""

from __future__ import annotations

import itertools

import pandas as pd

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.report.charts import neighbourhood_map
from graphscore.report.fontmetrics import text_width
from tests.report import svgread

OWNERS, OFFICERS = 14, 5


def crowded_report():
    """A company with 14 corporate owners (each also owning the next, long names, shares) and 5
    directors: 20 entities and 32 links, all named and labelled, drawn in one 10 x 7 inch figure."""
    owners = [f"o{k}" for k in range(OWNERS)]
    officers = [f"p{k}" for k in range(OFFICERS)]
    entities = pd.DataFrame({
        "id": ["h", *owners, *officers], "kind": ["company", *["company"] * OWNERS, *["person"] * OFFICERS],
        "name": ["Holding Group International Limited", *[f"Overseas Investment Vehicle Number {k} Ltd" for k in range(OWNERS)],
                 *[f"Director Alexandra Konstantinopoulou {k}" for k in range(OFFICERS)]]})
    links = pd.DataFrame({
        "source": [*owners, *owners[:-1], *officers], "target": [*["h"] * OWNERS, *owners[1:], *["h"] * OFFICERS],
        "type": [*["OWNS"] * (2 * OWNERS - 1), *["OFFICER_OF"] * OFFICERS],
        "role": [*[None] * (2 * OWNERS - 1), *["director"] * OFFICERS],
        "share": [*[0.05] * OWNERS, *[0.33] * (OWNERS - 1), *[None] * OFFICERS]})
    penalties = pd.DataFrame({"id": ["x"], "entity": ["o3"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})
    policy = gs.parse_policy('name="r"\ndamping=0.5\n[[transmit]]\nlink="OWNS"\ndirection="backward"\nweight="share"')
    return dossier(gs.validate(gs.Tables(entities, links, penalties)), policy, "h", as_of="2024-01-01")


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def test_no_two_labels_of_a_crowded_neighbourhood_overlap():
    svg = neighbourhood_map(crowded_report()).to_svg()
    texts, boxes = svgread.texts(svg, "label"), svgread.label_boxes(svg)
    assert len(texts) == len(boxes)
    overlapping = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(zip(texts, boxes), 2)
                   if _overlap(box_a, box_b)]
    assert not overlapping, overlapping[:5]
    assert "Holding Group\nInternational Limited" in texts  # the entity itself is always named
    # each white box covers its text as the font measures it
    for text, box in zip(texts, boxes):
        size = 10.0 if text.startswith("Holding") else 7.5 if text.startswith(("OWNS", "OFFICER")) else 8.5
        widest = max(text_width(line, size, bold=text.startswith("Holding")) for line in text.split("\n"))
        assert box[2] - box[0] >= widest, text
    left_out = 20 + 32 - len(texts)
    note = svgread.texts(svg, "note")
    assert left_out == 0 or (note and "Labels thinned" in note[0]), (left_out, note)
    assert len(texts) >= 30, texts


def test_the_check_finds_labels_that_overlap():
    """The overlap test above can fail: two labels given one spot are caught."""
    from graphscore.report.charts import _NODE_SPOTS, Label, place_labels

    first, second = Label("Alpha Holding", 100, 100, 8.5, _NODE_SPOTS[:1]), Label("Beta Holding", 100, 100, 8.5,
                                                                                     _NODE_SPOTS[:1])
    assert place_labels([first, second], (0, 0, 300, 300)) == [first]  # the second has no free spot
    assert _overlap(first.box, second.box_at(*_NODE_SPOTS[0]))


def test_label_placement_is_deterministic():
    first, second = (svgread.label_boxes(neighbourhood_map(crowded_report()).to_svg()) for _ in range(2))
    assert first == second


def test_every_label_lies_inside_the_figure():
    """LLC CST (OpenSanctions sample) at 2022-06-30: two of its neighbours sit at the left edge,
    and their names, under their markers, ran off the picture (cut in the file) before a spot
    outside the figure stopped counting as free."""
    from graphscore.io import read_paths
    from tests.conftest import POLICIES, ZALA

    report = dossier(read_paths([ZALA]), gs.load_policy(POLICIES / "joint-punishment.toml"),
                     "NK-abdzbEBkqyT29GyREbiURZ", as_of="2022-06-30")
    svg = neighbourhood_map(report).to_svg()
    width, height = svgread.size(svg)
    texts, boxes = svgread.texts(svg, "label"), svgread.label_boxes(svg)
    outside = [text for text, box in zip(texts, boxes)
               if not (0 <= box[0] and box[2] <= width and 0 <= box[1] and box[3] <= height)]
    assert not outside, outside
    assert 'ОБЩЕСТВО С ОГРАНИЧЕННОЙ\nОТВЕТСТВЕННОСТЬЮ "СПС"' in texts  # named, not left out
