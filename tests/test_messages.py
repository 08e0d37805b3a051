"""Each failure says what it is, in one line: a read-only file system, a held lock, text that is
not Unicode, a cell too long for any format, a list of issues cut short (issue 13, part 9)."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from graphscore.cli import app
from graphscore.model import MAX_TEXT
from tests.conftest import POLICIES, ZALA
from tests.small_fs import SMALL_FS, in_small_filesystem

runner = CliRunner()
JOINT = str(POLICIES / "joint-punishment.toml")
CST = "NK-abdzbEBkqyT29GyREbiURZ"


@pytest.fixture(scope="module")
def zala_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("messages") / "db"
    assert runner.invoke(app, ["load", str(ZALA), "--db", str(db)]).exit_code == 0
    return db


def errors(result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


@pytest.mark.skipif(not SMALL_FS, reason="needs a private mount namespace to make a read-only file system")
def test_a_read_only_file_system_is_named_and_reading_commands_work_on_it(zala_db):
    gs = f'"{sys.executable}" -m graphscore.cli'
    steps = (f'mount -o remount,ro "$ROOT" && cd /tmp && '
             f'{gs} load "{ZALA}" --db "$DB" --quiet; echo "load exit $?"; '
             f'{gs} ubo {CST} --db "$DB" --quiet; echo "ubo exit $?"; '
             f'{gs} explain {CST} --db "$DB" --policy "{JOINT}" --as-of 2022-06-30 --quiet --json > /dev/null; '
             'echo "explain exit $?"; '
             f'{gs} cypher --db "$DB" "MATCH (e:Entity) RETURN count(e) AS n"; echo "cypher exit $?"')
    result = in_small_filesystem("64m", zala_db, steps)
    out = result.stdout
    assert "load exit 2" in out and "ubo exit 0" in out and "explain exit 0" in out and "cypher exit 0" in out, (
        out + result.stderr)
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: cannot write to the store at /mnt/db: its file system is read-only (reading commands such as "
        "report, explain and ubo work on it)"]


def test_lone_surrogates_in_ftm_are_named_with_line_and_field(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"id": "a", "schema": "Company", "properties": {"name": ["Bad \\ud800 name"]}}\n'
                    '{"id": "b\\udfff", "schema": "Person", "properties": {"name": ["B"]}}\n', encoding="utf-8")
    result = runner.invoke(app, ["load", str(path), "--db", str(tmp_path / "db")])
    assert result.exit_code == 2
    assert errors(result) == [
        "error: bad.json:1: name='Bad \\\\ud800 name' holds a lone surrogate: it is not Unicode text",
        "error: bad.json:2: id='b\\\\udfff' holds a lone surrogate: it is not Unicode text"]
    assert not (tmp_path / "db").exists()  # a failed first load leaves no store


def test_one_text_limit_for_every_format(tmp_path):
    csv_folder = tmp_path / "csv"
    csv_folder.mkdir()
    long = "x" * (MAX_TEXT + 1)
    (csv_folder / "entities.csv").write_text(f'id,kind,name\na,company,"{long}\n"\n')  # the exact reader
    ftm = tmp_path / "e.json"
    ftm.write_text(json.dumps({"id": "a", "schema": "Company", "properties": {"name": [long]}}) + "\n")
    for source, where in ((csv_folder, "entities.csv:2"), (ftm, "e.json:1")):
        result = runner.invoke(app, ["load", str(source), "--db", str(tmp_path / "db")])
        assert result.exit_code == 2
        assert errors(result) == [f"error: {where}: name='{'x' * 40}' is longer than 65,536 characters "
                                  "(its start is shown)"]


def test_a_cut_list_of_issues_says_how_many_more(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    rows = "".join(f"e{i},planet,E{i}\n" for i in range(250))
    (folder / "entities.csv").write_text("id,kind,name\n" + rows)
    result = runner.invoke(app, ["load", str(folder), "--db", str(tmp_path / "db")])
    assert result.exit_code == 2
    lines = errors(result)
    assert len(lines) == 201
    assert lines[0] == "error: entities.csv:2: kind='planet' is not one of company, person, organization"
    assert lines[-1] == "error: 50 more issues of the same kinds not listed"
