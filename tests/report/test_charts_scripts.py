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
