"""The dossier of LLC CST (OpenSanctions sample) as of 2023-01-31, checked against the FtM records."""

from __future__ import annotations

import pytest

import graphscore as gs
from graphscore.analysis.dossier import dossier
from graphscore.io import read_paths
from tests.conftest import POLICIES, ZALA

CST = "NK-abdzbEBkqyT29GyREbiURZ"
pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")


@pytest.fixture(scope="module")
def cst():
    return dossier(read_paths([ZALA]), gs.load_policy(POLICIES / "joint-punishment.toml"), CST, as_of="2023-01-31")


def test_owners_as_of_the_date(cst):
    """Records in force on 2023-01-31: Zakharov 50 % (until 2023-03-02; his 48 % and 51 % records
    supersede it later), Kalashnikov 49 %, TransKomplektHolding 2 %, Svetlana Zakharova 1 %."""
    shares = dict(zip(cst.owners["name"], cst.owners["share"]))
    assert shares == {"Alexander Vyacheslavovich ZAKHAROV": 0.5, "JSC Kalashnikov Concern": 0.49,
                      'Акціонерне товариство "ТрансКомплектХолдинг"': 0.02, "Svetlana Nikolaevna Zakharova": 0.01}
    assert cst.ultimate_owners["name"].tolist() == ["Alexander Vyacheslavovich ZAKHAROV", "JSC Kalashnikov Concern"]


def test_officers_and_linked_enterprises(cst):
    officers = cst.officers.set_index("name")
    assert officers.loc["Абашкін Костянтин Ігорьович", "role"] == "legal_representative"
    assert "АССОЦИАЦИЯ БЕСПИЛОТНЫХ СИСТЕМ" in officers.loc["Alexander Vyacheslavovich ZAKHAROV", "other_companies"]


def test_penalties_with_windows_and_authorities(cst):
    assert len(cst.penalties) == 29
    active = cst.penalties[cst.penalties["active"]]
    assert len(active) == 2 and active["authority"].notna().all()
    assert cst.score["total"] == pytest.approx(cst.score["own"] + cst.score["echo"] + cst.score["inherited"])


def test_neighbourhood_within_two_links(cst):
    assert CST in cst.neighbourhood and cst.neighbourhood.number_of_nodes() == 11
