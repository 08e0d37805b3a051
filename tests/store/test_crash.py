"""A write killed at any phase, or a disk that fills, never leaves a store that cannot be opened.

A real process runs a load or a score write-back on a copy of a store and is SIGKILLed at one
phase of its transaction: inside it, just before COMMIT, while the write-ahead log is written,
while LadybugDB checkpoints (frozen log, shadow pages), and just after COMMIT returned. The
store must then open, hold exactly the content before or after the write (never a part), with
the data fingerprint recorded in the same transaction; a log cut mid-write is rolled back with
a warning saying so.
"""

from __future__ import annotations

import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

import graphscore as gs
from graphscore.cli import app
from graphscore.io import iter_tables, read_paths, write_tables
from graphscore.store.ladybug import LadybugStore
from graphscore.synthetic import generate_network
from tests.conftest import ZALA
from tests.small_fs import SMALL_FS, in_small_filesystem
from tests.store.test_stream_reload import revised

pytestmark = pytest.mark.filterwarnings("ignore::graphscore.GraphscoreWarning")

TOP_SCORES = (Path(__file__).parents[2] / "cypher" / "queries" / "top_scores.cypher").read_text()
POLICY = gs.parse_policy('name = "crash"\n[[transmit]]\nlink = "OWNS"\ndirection = "backward"\nweight = "share"')

# The process under test. It stops itself with SIGKILL (nothing runs after it: no handler,
# no flush, no close) at the phase named on its command line.
CHILD = textwrap.dedent("""
    import datetime as dt, os, signal, sys, threading
    from pathlib import Path
    import ladybug
    import pandas as pd
    import graphscore as gs
    from graphscore.io import read_paths
    from graphscore.store.ladybug import LadybugStore
    import graphscore.store.ladybug as ladybug_store

    db, mode, phase = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    if phase == "disk":  # let the write start whatever the free space, so the disk fills during it
        ladybug_store.SPACE_FACTOR = ladybug_store.SPACE_MARGIN = 0
    ladybug_store.LOAD_CHUNK_ROWS = ladybug_store.STREAM_ROWS = 1_000  # a load in many transactions on its copy, as at 10^7 links
    ladybug_store.SCORE_COPY_ROWS = 1_000  # a first run's records in several COPYs, as at 10^8 links
    if mode in ("bigscores", "bigrescores"):  # a write-back in many transactions, as at 10^7 links: a first
        ladybug_store.SCORE_ROWS = 1_000    # run's on the store itself, its run last; a rewrite's on a copy
    def kill():
        os.kill(os.getpid(), signal.SIGKILL)
    state = {"begun": False, "run": False, "copied": False}
    execute = ladybug.Connection.execute  # every connection: the store's, and a load's on its copy
    def watched(self, query, *args, **kwargs):
        if phase == "statement" and state["begun"]:
            execute(self, query, *args, **kwargs)
            kill()  # after the transaction's first statement ran
        state["begun"] |= query == "BEGIN TRANSACTION"
        state["copied"] |= query.startswith("COPY")
        if query.startswith("MERGE (r:ScoreRun"):  # the write-back's run: its last transaction
            state["run"] = True
            if phase == "run":
                kill()
        if query == "COMMIT":
            if phase == "commit":
                kill()
        result = execute(self, query, *args, **kwargs)
        if query == "COMMIT" and (phase == "committed" or phase == "ran" and state["run"]
                                  or phase == "copied" and state["copied"]):
            kill()
        return result
    ladybug.Connection.execute = watched
    replace = os.replace
    def switch(source, target):  # a load's copy renamed over the store
        if phase == "switch":
            kill()
        replace(source, target)
        if phase == "switched":
            kill()
    ladybug_store.os.replace = switch
    store = LadybugStore(db)
    if mode in ("scores", "rescores", "bigscores", "bigrescores"):  # as score_rows() below
        ids = store.query("MATCH (e:Entity) RETURN e.id AS id ORDER BY id")["id"]
        scores = pd.DataFrame({"id": ids, "own": 1.0, "echo": 0.0, "inherited": 0.5, "total": 1.5})
        if mode in ("rescores", "bigrescores"):
            scores.loc[::2, ["own", "inherited", "total"]] = 0.0
            scores.loc[1::4, ["own", "total"]] = [2.0, 2.5]
        policy = gs.parse_policy('name = "crash"\\n[[transmit]]\\nlink = "OWNS"\\ndirection = "backward"\\nweight = "share"')
        store.write_scores(scores, policy=policy, as_of=dt.date(2024, 6, 30))
    elif mode in ("stream", "restream"):  # validated and written as read, in chunks of 64 KiB of CSV
        import graphscore.io.tables as tables
        tables._CSV_BLOCK = 1 << 16
        assert store.load_chunks(tables.iter_tables(Path(sys.argv[4]))) is not None
    else:
        store.load(read_paths([Path(sys.argv[4])]))
    store.close()  # which checkpoints what the log still holds
    print("finished", flush=True)
""")


def registry(companies: int, seed: int, *, renamed: bool = False) -> gs.Tables:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", gs.GraphscoreWarning)
        tables = generate_network(companies, seed=seed)
    if renamed:  # every entity changed: a load of updates, not of new rows
        tables.entities["name"] = tables.entities["name"] + " (renamed)"
    return tables


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Stores the writes start from, their inputs, and the content each write leaves when it
    runs to the end: {mode: (store, input folder, fingerprint before, fingerprint after)}."""
    root = tmp_path_factory.mktemp("crash")
    write_tables(registry(1_500, 1), root / "registry")
    write_tables(registry(1_500, 1, renamed=True), root / "renamed")
    write_tables(revised(registry(1_500, 1)), root / "revised")  # new, changed, unchanged and left-out rows
    plain = root / "zala"
    with LadybugStore(plain) as store:
        store.load(read_paths([ZALA]))
    empty = root / "empty"  # what a first load starts from: the schema alone
    LadybugStore(empty).close()
    loaded = root / "loaded"
    shutil.copytree(plain, loaded)
    with LadybugStore(loaded) as store:
        store.load(read_paths([root / "registry"]))
    cases = {}
    # "rescores": the scores of "scores" written again with half of them zero and a quarter
    # changed: properties cleared and rewritten, records deleted and updated
    for mode, start, source in (("load", plain, root / "registry"), ("reload", loaded, root / "renamed"),
                                ("stream", empty, root / "registry"), ("restream", loaded, root / "revised"),
                                ("scores", loaded, None), ("rescores", root / "scores-finished", None),
                                ("bigscores", loaded, None), ("bigrescores", root / "scores-finished", None)):
        finished = root / f"{mode}-finished"
        shutil.copytree(start, finished)
        with LadybugStore(finished) as store:
            if source is None:
                store.write_scores(score_rows(store, mode), policy=POLICY, as_of=__import__("datetime").date(2024, 6, 30))
            elif mode in ("stream", "restream"):
                assert store.load_chunks(iter_tables(source)) is not None
            else:
                store.load(read_paths([source]))
        cases[mode] = (start, source, content(start), content(finished))
        assert cases[mode][2] != cases[mode][3], mode  # each write changes the store: a kill has two outcomes
    return cases


def score_rows(store: LadybugStore, mode: str = "scores"):
    """The scores the child writes in ``mode``."""
    import pandas as pd

    ids = store.query("MATCH (e:Entity) RETURN e.id AS id ORDER BY id")["id"]
    scores = pd.DataFrame({"id": ids, "own": 1.0, "echo": 0.0, "inherited": 0.5, "total": 1.5})
    if mode in ("rescores", "bigrescores"):
        scores.loc[::2, ["own", "inherited", "total"]] = 0.0
        scores.loc[1::4, ["own", "total"]] = [2.0, 2.5]
    return scores


def content(db: Path, *, read_only: bool = True) -> tuple[str, str | None, tuple, tuple, tuple]:
    """What a store holds for its readers: its tables' fingerprint, the fingerprint its last load
    recorded, the scores of the run written last (top_scores: id, policy, total) and its score
    history (the records of each run: its key, the entity, total; runs: key, policy hash, entities
    scored; a record's own key holds the run's number, which a killed write-back may have taken), as
    sorted rows: compared by their repr across processes too (CHECK), where a set's order is
    not the same."""
    with LadybugStore(db, read_only=read_only) as store:
        def rows(query: str) -> tuple:
            return tuple(sorted(store.query(query).itertuples(index=False, name=None)))
        scores = rows(TOP_SCORES.replace("$limit", "1000000"))
        history = rows("MATCH (r:ScoreRun) MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord) WHERE s.score_policy = "
                       "r.score_policy AND s.score_as_of = r.score_as_of RETURN r.key, e.id, s.total")
        runs = rows("MATCH (r:ScoreRun) RETURN r.key, r.score_policy_hash, r.entities")
        tables = store.read_tables().fingerprint() if store.counts()["entities"] else "empty"
        return tables, store.data_fingerprint(), scores, history, runs


def _sizes(db: Path, pattern: str) -> list[int]:
    """Sizes of the store's files matching ``pattern`` (and of a load's copy of it)."""
    sizes = []
    for path in db.glob(pattern):
        try:
            sizes.append(path.stat().st_size)
        except FileNotFoundError:  # gone between listing and looking
            pass
    return sizes


# Phases seen from outside, in the files: this process watches them and kills the child (the
# child itself may hold Python's lock while LadybugDB works, so a thread of its own could not).
SEEN = {
    "log": lambda db: any(_sizes(db, "*.wal")),  # the write-ahead log is being written
    "checkpoint": lambda db: bool(_sizes(db, "*.wal.checkpoint") or _sizes(db, "*.shadow")),
    "shadow": lambda db: any(_sizes(db, "*.shadow")),  # checkpointed pages being written
}


def run_child(db: Path, mode: str, phase: str, source: Path | None, **popen) -> subprocess.CompletedProcess:
    args = [sys.executable, "-c", CHILD, str(db), mode, phase] + ([str(source)] if source else [])
    if phase not in SEEN:
        return subprocess.run(args, capture_output=True, text=True, timeout=120, **popen)
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while child.poll() is None and not SEEN[phase](db):
        pass
    child.kill()
    out, err = child.communicate(timeout=60)
    return subprocess.CompletedProcess(args, child.returncode, out, err)


# "either": phases seen in the files from outside, where the kill may land a moment later than
# seen; what is asserted then is what matters, the whole write or none of it.
@pytest.mark.parametrize("mode, phase, outcome", [
    ("load", "statement", "before"),
    ("load", "commit", "before"),
    ("load", "committed", "before"),  # its first transaction, of many, committed in the copy
    ("load", "checkpoint", "either"),
    ("load", "shadow", "either"),
    ("load", "switch", "before"),
    ("load", "switched", "after"),
    ("stream", "statement", "before"),  # its first chunk copied into the store's copy
    ("stream", "committed", "before"),  # its first transaction, of many, committed in the copy
    ("stream", "checkpoint", "either"),
    ("stream", "switch", "before"),
    ("stream", "switched", "after"),
    ("restream", "statement", "before"),  # its first chunk's changes written into the store's copy
    ("restream", "committed", "before"),  # its first transaction, of many, committed in the copy
    ("restream", "checkpoint", "either"),
    ("restream", "switch", "before"),
    ("restream", "switched", "after"),
    ("reload", "log", "either"),
    ("reload", "checkpoint", "either"),
    ("reload", "switched", "after"),
    ("scores", "statement", "before"),
    ("scores", "log", "either"),
    ("scores", "checkpoint", "either"),
    ("scores", "shadow", "either"),
    ("scores", "committed", "after"),
    ("rescores", "statement", "before"),
    ("rescores", "log", "either"),
    ("rescores", "checkpoint", "either"),
    ("rescores", "committed", "after"),
    ("bigscores", "statement", "before"),  # the first COPY of its records run in the store
    ("bigscores", "committed", "before"),  # its first transaction (the run's number claimed), of many, committed
    ("bigscores", "copied", "before"),  # its first COPY of records committed
    ("bigscores", "checkpoint", "either"),
    ("bigscores", "run", "before"),  # every record and link copied in, the run not written
    ("bigscores", "ran", "after"),
    ("bigrescores", "statement", "before"),
    ("bigrescores", "committed", "before"),  # its first transaction, of many, committed in the copy
    ("bigrescores", "checkpoint", "either"),
    ("bigrescores", "switch", "before"),
    ("bigrescores", "switched", "after"),
])
def test_a_write_killed_at_any_phase_leaves_the_store_before_or_after_it(tmp_path, stores, mode, phase, outcome):
    start, source, before, after = stores[mode]
    db = tmp_path / "db"
    shutil.copytree(start, db)
    child = run_child(db, mode, phase, source)
    assert child.returncode == -signal.SIGKILL, f"not killed at {phase}: {child.stdout}{child.stderr}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found = content(db, read_only=False)
    assert found in (before, after)
    rolled_back = [str(w.message) for w in caught if "was rolled back" in str(w.message)]
    if outcome == "before":
        assert found == before
    elif outcome == "after":
        assert found == after
    if rolled_back:  # the kill cut the log: what it held never committed
        assert found == before
    assert content(db) == found  # and it stays so: the next opening finds the same
    assert not list(db.glob("graph.lbug.next*"))  # a killed load's copy is gone


@pytest.mark.parametrize("phase", ["copied", "run"])
def test_the_records_of_a_killed_first_run_are_never_read_and_the_next_write_back_removes_them(tmp_path, stores, phase,
                                                                                             monkeypatch):
    """A first run past one transaction copies its records and links in, each COPY committed on
    its own, before its run: killed after the first COPY, or after all of them, the records are
    in the store with no run, which no reader counts (content() reads as top_scores and the
    history do); the next write-back of that policy and date removes them and writes the run
    whole."""
    start, _, before, after = stores["bigscores"]
    db = tmp_path / "db"
    shutil.copytree(start, db)
    child = run_child(db, "bigscores", phase, None)
    assert child.returncode == -signal.SIGKILL, f"not killed at {phase}: {child.stdout}{child.stderr}"
    assert content(db, read_only=False) == before
    with LadybugStore(db) as store:
        count = "MATCH (s:ScoreRecord) RETURN count(s) AS n"
        left = store.query(count)["n"].tolist()[0]
        assert left >= 1_000  # a COPY of SCORE_COPY_ROWS records at least: what the readers did not count
        monkeypatch.setattr("graphscore.store.ladybug.SCORE_ROWS", 1_000)  # the same way as the killed write-back
        store.write_scores(score_rows(store), policy=POLICY, as_of=__import__("datetime").date(2024, 6, 30))
        written = store.query(count)["n"].tolist()[0]
        # keyed by the number after the killed write-back's, which it claimed before its first COPY
        keys = store.query("MATCH (r:ScoreRun) MATCH (e:Entity)-[:HAS_SCORE]->(s:ScoreRecord) WHERE s.score_policy = "
                           "r.score_policy AND s.score_as_of = r.score_as_of RETURN r.number AS number, e.id AS id, "
                           "s.key AS key")
        assert set(keys["number"]) == {2} and (keys["key"] == "2:" + keys["id"]).all()
    assert content(db) == after
    with LadybugStore(stores["bigscores"][0].parent / "bigscores-finished", read_only=True) as finished:
        assert written == finished.query(count)["n"].tolist()[0]  # no record of the killed write-back is left


def tear_the_log(db: Path) -> subprocess.CompletedProcess:
    """A score write-back whose log cannot be written past 256 KiB (a file-size limit: writes past
    it fail with EFBIG, as they would with ENOSPC on a full disk): LadybugDB 0.22 aborts the
    process in the middle of its log, every time, which leaves the log cut."""
    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 18, 1 << 18))

    child = run_child(db, "scores", "disk", None, preexec_fn=limit_file_size)
    assert child.returncode == -signal.SIGABRT and "finished" not in child.stdout, child.stderr
    assert (db / "graph.lbug.wal").stat().st_size > 0
    return child


def test_a_cut_log_is_rolled_back_by_the_next_writer_with_a_warning(tmp_path, stores):
    start, _, before, _ = stores["scores"]
    db = tmp_path / "db"
    shutil.copytree(start, db)
    tear_the_log(db)
    assert content(db) == before  # a reader sees the committed content and leaves the log alone
    assert (db / "graph.lbug.wal").stat().st_size > 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert content(db, read_only=False) == before
    assert [str(w.message) for w in caught if "rolled back" in str(w.message)] == [
        f"the last write to the store at {db} was interrupted before it committed (its process was killed, or "
        "the disk filled): it was rolled back; the log as it was is kept in graph.lbug.wal.rolled-back"]
    assert (db / "graph.lbug.wal.rolled-back").stat().st_size > 0


def test_a_store_reopened_after_a_rollback_takes_writes_again(tmp_path, stores):
    start, _, before, after = stores["scores"]
    db = tmp_path / "db"
    shutil.copytree(start, db)
    tear_the_log(db)
    result = CliRunner().invoke(app, ["load", str(ZALA), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "warning: the last write to the store at" in result.output
    assert content(db) == before  # the same input again writes nothing
    with LadybugStore(db) as store:
        store.write_scores(score_rows(store), policy=POLICY, as_of=__import__("datetime").date(2024, 6, 30))
    assert content(db) == after


CHECK = (f'"{sys.executable}" -c "from tests.store.test_crash import content; '
         'print(content(\'/mnt/db\', read_only=False))"')


def test_a_full_disk_is_refused_before_anything_is_written(tmp_path, stores, monkeypatch):
    """On a small file system when the machine lets a test make one, else with the free
    space the store sees reduced to 10 MiB."""
    start, source, before, _ = stores["load"]
    command = ["load", str(source), "--db"]
    if SMALL_FS:
        result = in_small_filesystem("12m", start, f'"{sys.executable}" -m graphscore.cli {" ".join(command)} "$DB"; '
                                     'echo "exit $?"; '
                                     + CHECK)
        lines = result.stdout.strip().splitlines()
        assert lines[-2] == "exit 2", result.stdout + result.stderr
        assert lines[-1] == repr(before)
        message = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    else:
        db = tmp_path / "db"
        shutil.copytree(start, db)
        import graphscore.store.ladybug as ladybug_store

        real = shutil.disk_usage
        monkeypatch.setattr(ladybug_store.shutil, "disk_usage",
                            lambda path: real(path)._replace(free=10 << 20))
        result = CliRunner().invoke(app, command + [str(db)])
        assert result.exit_code == 2
        assert content(db) == before
        message = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(message) == 1
    assert message[0].startswith("error: not enough free space at ")
    assert message[0].endswith(" MiB are free; free space or use another --db")


def test_a_disk_that_fills_while_the_log_is_written_leaves_a_store_that_opens(tmp_path, stores):
    """The free-space check cannot see another process filling the disk: LadybugDB 0.22 then
    aborts natively (SIGABRT) in the middle of its log. The next writer rolls that back. On a
    small file system when possible, else with a file-size limit (EFBIG instead of ENOSPC)."""
    start, _, before, _ = stores["scores"]
    if SMALL_FS:
        script = tmp_path / "child.py"  # the child script, run inside the namespace
        script.write_text(CHILD)
        size = f"{(start / 'graph.lbug').stat().st_size // 1024 + 600}k"  # the store and 600 KiB more
        result = in_small_filesystem(size, start, f'"{sys.executable}" {script} "$DB" scores disk; '
                                     f'echo "exit $?"; ' + CHECK + '; ls "$DB"')
        out = result.stdout.strip().splitlines()
        assert "finished" not in out, result.stderr
        assert any(line.startswith("exit ") and line != "exit 0" for line in out)
        assert repr(before) in out, result.stdout + result.stderr
        assert "graph.lbug.wal.rolled-back" in out or "graph.lbug.wal" not in out
    else:
        db = tmp_path / "db"
        shutil.copytree(start, db)
        tear_the_log(db)
        assert content(db, read_only=False) == before
