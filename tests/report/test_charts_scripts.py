"""Chinese, Cyrillic and accented names draw as letters in the PNG charts, not as empty boxes.

Needs a CJK font (Debian's fonts-noto-cjk or fonts-wqy-microhei, which .ci/run installs): skipped
where none is installed, except under CI=true, where that fails.
"""

from __future__ import annotations

import os
import warnings

import pandas as pd
import pytest

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.report.charts import _font_families, chart_pngs

NAMES = {"c": "深圳华信贸易有限公司", "p": "张伟", "o": "ОБЩЕСТВО «ЦСТ»", "z": "Zoë Müller"}


def test_every_script_draws():
    if len(_font_families()) == 1:
        if os.environ.get("CI") == "true":
            pytest.fail("no CJK font installed: .ci/run installs fonts-wqy-microhei")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk or fonts-wqy-microhei)")
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": list(NAMES), "kind": ["company", "person", "company", "person"], "name": list(NAMES.values())}),
        pd.DataFrame({"source": ["p", "o", "z"], "target": ["c", "c", "c"], "type": ["OFFICER_OF", "OWNS", "OWNS"],
                      "role": ["legal_representative", None, None], "share": [None, 0.5, 0.3]}),
        pd.DataFrame({"id": ["x"], "entity": ["c"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    policy = gs.parse_policy('name="r"\ndamping=0.5\n[[transmit]]\nlink="OFFICER_OF"\ndirection="backward"')
    report = dossier(tables, policy, "c", as_of="2024-01-01")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pngs = chart_pngs(report)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert pngs["dossier_neighbourhood"][:4] == b"\x89PNG" and not missing, missing


def test_a_holdings_hairball_is_drawn_as_groups():
    """A holding owning 30 unpenalised companies and run by a fined representative: its 30
    subsidiaries become one "+30 company" node; the representative and the entity stay."""
    from matplotlib.patches import FancyArrowPatch

    from graphscore.report.charts import neighbourhood_map

    subsidiaries = [f"s{i}" for i in range(30)]
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["h", "p", *subsidiaries], "kind": ["company", "person", *["company"] * 30],
                      "name": ["Holding", "Pat", *subsidiaries]}),
        pd.DataFrame({"source": ["p", *["h"] * 30], "target": ["h", *subsidiaries],
                      "type": ["OFFICER_OF", *["OWNS"] * 30], "role": ["legal_representative", *[None] * 30],
                      "share": [None, *[1.0] * 30]}),
        pd.DataFrame({"id": ["x"], "entity": ["p"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    policy = gs.parse_policy('name="r"\ndamping=0.5\n[[transmit]]\nlink="OFFICER_OF"\ndirection="both"')
    report = dossier(tables, policy, "h", as_of="2024-01-01")
    (ax,) = neighbourhood_map(report).axes
    assert sum(isinstance(patch, FancyArrowPatch) for patch in ax.patches) == 2
    texts = [text.get_text() for text in ax.texts]
    assert "+30 company" in texts and "OWNS ×30" in texts and "Pat" in texts
    assert ax.get_title().endswith("32 entities, 31 links, 1 penalised at 2024-01-01")
    assert report.neighbourhood.number_of_nodes() == 32  # the report's data keeps every entity


def test_a_large_neighbourhood_is_summarised_by_paths_and_groups():
    """150 subsidiaries, each run by its own director, one of whom is fined: 302 entities within
    two links. Drawn: the holding, the path to the fined director, and "+149 company"."""
    from matplotlib.patches import FancyArrowPatch

    from graphscore.report.charts import neighbourhood_map

    n = 150
    subsidiaries, directors = [f"s{i}" for i in range(n)], [f"d{i}" for i in range(n)]
    tables = gs.validate(gs.Tables(
        pd.DataFrame({"id": ["h", *subsidiaries, *directors], "kind": ["company", *["company"] * n, *["person"] * n],
                      "name": ["Holding", *subsidiaries, *directors]}),
        pd.DataFrame({"source": [*["h"] * n, *directors], "target": subsidiaries * 2,
                      "type": [*["OWNS"] * n, *["OFFICER_OF"] * n], "role": [*[None] * n, *["director"] * n],
                      "share": [*[1.0] * n, *[None] * n]}),
        pd.DataFrame({"id": ["x"], "entity": ["d7"], "kind": "fine", "severity": [1.0], "start": ["2020-01-01"]})))
    policy = gs.parse_policy('name="r"\ndamping=0.5\n[[transmit]]\nlink="OFFICER_OF"\ndirection="both"')
    report = dossier(tables, policy, "h", as_of="2024-01-01")
    assert report.neighbourhood.number_of_nodes() == 2 * n + 1
    (ax,) = neighbourhood_map(report).axes
    texts = [text.get_text() for text in ax.texts]
    assert {"Holding", "s7", "d7", "+149 company"} <= set(texts)
    assert sum(isinstance(patch, FancyArrowPatch) for patch in ax.patches) == 3
    assert any(text.startswith("Summarised: the paths to the 1 nearest penalised entities, 149 direct neighbours")
               for text in texts)
