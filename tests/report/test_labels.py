"""Labels in the pictures do not sit on each other (issue 11.3): a crowded neighbourhood, drawn
as the dossier draws it, measured in the rendered figure."""

from __future__ import annotations

import itertools

import pandas as pd

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.report.charts import _LINK_SPOTS, _NODE_SPOTS, neighbourhood_map

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


def drawn_labels(fig):
    """The names and link labels in the figure as drawn (the note under the picture aside), with
    their boxes in pixels."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    (ax,) = fig.axes
    labels = [text for text in ax.texts if text.get_transform() is not ax.transAxes]
    return labels, [text.get_window_extent(renderer) for text in labels]


def test_no_two_labels_of_a_crowded_neighbourhood_overlap():
    report = crowded_report()
    fig = neighbourhood_map(report)
    labels, boxes = drawn_labels(fig)
    overlapping = [(a.get_text(), b.get_text()) for (a, box_a), (b, box_b) in itertools.combinations(zip(labels, boxes), 2)
                   if box_a.overlaps(box_b)]
    assert not overlapping, overlapping[:5]
    texts = [label.get_text() for label in labels]
    assert "Holding Group\nInternational Limited" in texts  # the entity itself is always named
    # crowded indeed: the first spot of every label would not do (some moved, and the note says
    # that those with no free spot were left out)
    firsts = {(spot[0], spot[1]) for spot in (_NODE_SPOTS[0], _LINK_SPOTS[0])}
    assert sum(tuple(label.xyann) not in firsts for label in labels) >= 5
    left_out = 20 + 32 - len(labels)
    (ax,) = fig.axes
    note = [text.get_text() for text in ax.texts if text.get_transform() is ax.transAxes]
    assert left_out == 0 or (note and "Labels thinned" in note[0]), (left_out, note)
    assert len(labels) >= 30, texts


def test_label_placement_is_deterministic():
    first, second = (drawn_labels(neighbourhood_map(crowded_report()))[1] for _ in range(2))
    assert [tuple(box.bounds) for box in first] == [tuple(box.bounds) for box in second]


def test_every_label_lies_inside_the_figure():
    """LLC CST (OpenSanctions sample) at 2022-06-30: two of its neighbours sit at the left edge,
    and their names, under their markers, ran off the picture (cut in the file) before a spot
    outside the figure stopped counting as free."""
    from graphscore.io import read_paths
    from tests.conftest import POLICIES, ZALA

    report = dossier(read_paths([ZALA]), gs.load_policy(POLICIES / "joint-punishment.toml"),
                     "NK-abdzbEBkqyT29GyREbiURZ", as_of="2022-06-30")
    fig = neighbourhood_map(report)
    labels, boxes = drawn_labels(fig)
    outside = [label.get_text() for label, box in zip(labels, boxes)
               if not (fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1)]
    assert not outside, outside
    names = {label.get_text() for label in labels}
    assert 'ОБЩЕСТВО С ОГРАНИЧЕННОЙ\nОТВЕТСТВЕННОСТЬЮ "СПС"' in names  # named, not left out


def test_spot_extents_are_the_boxes_matplotlib_measures_at_each_spot():
    """Labels are placed from each alignment's layout measured once and moved to each spot
    (:func:`spot_extents`): at every spot of every label of a crowded picture (names on two
    lines, link labels with a role, a name in Chinese drawn with a fallback font) the box equals,
    bit for bit, the one ``get_window_extent`` gives with the label moved there."""
    from graphscore.report.charts import _settle, spot_extents

    fig = neighbourhood_map(crowded_report())
    (ax,) = fig.axes
    extra = ax.annotate("北京某某投资有限公司\nOWNS 50%", (0.0, 0.0), xytext=(0, 0), textcoords="offset points",
                        fontsize=8.5)
    renderer = _settle(fig)
    labels = [text for text in ax.texts if text.get_transform() is not ax.transAxes]
    assert extra in labels and len(labels) >= 31
    for label in labels:
        extent = spot_extents(label, renderer)
        for dx, dy, ha, va in _NODE_SPOTS + _LINK_SPOTS:
            found = extent(dx, dy, ha, va).bounds
            label.xyann = (dx, dy)
            label.set_horizontalalignment(ha)
            label.set_verticalalignment(va)
            assert found == label.get_window_extent(renderer).bounds, (label.get_text(), dx, dy, ha, va)
