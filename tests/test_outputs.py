"""What the tool writes: a failing output (a full disk) is one clean error line and leaves no
half file and no store ahead of its files; no CSV it writes carries a spreadsheet formula."""

from __future__ import annotations

import resource
import signal
import subprocess
import sys

import pandas as pd
import pytest
from typer.testing import CliRunner

from graphscore.cli import app
from graphscore.io.tables import safe_for_spreadsheets, write_table
from graphscore.store.ladybug import LadybugStore
from tests.conftest import POLICIES, ZALA
from tests.small_fs import SMALL_FS, in_small_filesystem

runner = CliRunner()
JOINT = str(POLICIES / "joint-punishment.toml")


@pytest.fixture
def zala_db(tmp_path):
    db = tmp_path / "db"
    assert runner.invoke(app, ["load", str(ZALA), "--db", str(db)]).exit_code == 0
    return db


def scored(db) -> int:
    with LadybugStore(db, read_only=True) as store:
        return int(store.query("MATCH (s:ScoreRecord) RETURN count(s)").iloc[0, 0])


def test_scores_on_a_full_disk_fail_in_one_line_before_the_store_is_written(zala_db, tmp_path):
    """On a full tmpfs where a test may make one, else past a file-size limit (EFBIG)."""
    command = [sys.executable, "-m", "graphscore.cli", "score", "--db", str(zala_db), "--policy", JOINT,
               "--as-of", "2022-06-30", "--quiet", "--out"]
    if SMALL_FS:
        result = in_small_filesystem("1m", None, 'dd if=/dev/zero of="$ROOT/fill" bs=4k 2>/dev/null; '
                                     + " ".join(f'"{a}"' for a in command) + ' "$ROOT/out/scores.csv"; '
                                     'echo "exit $?"; ls -a "$ROOT/out"')
        reason, out = "No space left on device", "/mnt/out/scores.csv"
        listing = result.stdout.split("exit ")[1].split()
        assert listing[0] == "2" and sorted(listing[1:]) == [".", ".."], result.stdout  # no file, no partial one
    else:
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64, 64))
        out = str(tmp_path / "out" / "scores.csv")
        result = subprocess.run(command + [out], capture_output=True, text=True, preexec_fn=limit)
        reason = "File too large"
        assert result.returncode == 2
        assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert errors[0] == f"error: {out}: {reason}"
    assert scored(zala_db) == 0  # the files come first: the store was not written


def test_an_output_in_a_missing_place_is_one_line(zala_db, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = runner.invoke(app, ["score", "--db", str(zala_db), "--policy", JOINT, "--out", str(blocker / "x.csv")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == f"error: {blocker}: File exists"


def test_no_csv_written_carries_a_formula(tmp_path):
    """Names and ids an attacker controls reach scores.csv, changes.csv, ownership tables and
    the data files ``write_tables`` writes, all through :func:`write_table`."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "entities.csv").write_text('id,kind,name\n=cmd|x,company,"=HYPERLINK(""http://x"",""y"")"\n'
                                         "p1,person,@SUM(A1)\np2,person,+1\np3,person,-2\n")
    (folder / "links.csv").write_text("source,target,type,role\np1,=cmd|x,OFFICER_OF,legal_representative\n")
    (folder / "penalties.csv").write_text("id,entity,kind,severity,start\nx1,=cmd|x,sanction,1,2020-01-01\n")
    db, out = tmp_path / "db", tmp_path / "scores.csv"
    assert runner.invoke(app, ["load", str(folder), "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, ["score", "--db", str(db), "--policy", JOINT, "--as-of", "2022-06-30",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    cells = pd.read_csv(out, dtype=str).to_numpy().ravel()
    assert not [c for c in cells if isinstance(c, str) and c.startswith(("=", "+", "-", "@"))]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in cells and "'@SUM(A1)" in cells and "'=cmd|x" in cells


def test_numbers_are_left_alone_and_writes_are_atomic(tmp_path):
    frame = pd.DataFrame({"id": ["-a", "b"], "delta": [-0.25, 0.5]})
    assert safe_for_spreadsheets(frame)["delta"].tolist() == [-0.25, 0.5]
    path = write_table(frame, tmp_path / "t.csv")
    assert path.read_text() == "id,delta\n'-a,-0.25\nb,0.5\n"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]
