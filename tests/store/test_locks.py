"""One writer at a time: a second writer waits (``--wait``) and then proceeds, or fails saying
who holds the store; readers run beside the writer."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

import graphscore as gs
from graphscore.cli import app
from graphscore.store.ladybug import LadybugStore
from tests.conftest import ZALA

HOLD = """
import sys, time
from graphscore.store.ladybug import LadybugStore
store = LadybugStore(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
store.close()
"""


@pytest.fixture
def zala_db(tmp_path):
    db = tmp_path / "db"
    assert CliRunner().invoke(app, ["load", str(ZALA), "--db", str(db)]).exit_code == 0
    return db


def hold(db, seconds: float) -> subprocess.Popen:
    """Another process holding the store for writing, for ``seconds``."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "holding"
    return holder


def test_a_second_writer_fails_naming_the_lock_after_waiting(zala_db):
    holder = hold(zala_db, 30)
    try:
        started = time.monotonic()
        with pytest.raises(gs.StoreError, match=rf"locked by another process writing to it \(PID {holder.pid}\); "
                                                r"waited 1 s"):
            LadybugStore(zala_db, wait=1)
        assert time.monotonic() - started >= 1
        result = CliRunner().invoke(app, ["load", str(ZALA), "--db", str(zala_db), "--wait", "0"])
        assert result.exit_code == 2
        assert result.output.strip().splitlines()[-1].startswith("error: the store at ")
    finally:
        holder.kill()
        holder.wait()


def test_a_waiting_writer_proceeds_when_the_lock_is_released(zala_db):
    holder = hold(zala_db, 2)
    with LadybugStore(zala_db, wait=60) as store:
        assert store.counts()["entities"] == 17
    holder.wait()


def test_readers_run_beside_a_writer(zala_db):
    holder = hold(zala_db, 30)
    try:
        with LadybugStore(zala_db, read_only=True) as store:
            assert store.read_tables().counts() == {"entities": 17, "links": 21, "penalties": 61}
    finally:
        holder.kill()
        holder.wait()


def test_a_store_with_a_log_to_replay_is_read_with_the_default_buffer_pool(tmp_path, monkeypatch):
    import graphscore.store.ladybug as ladybug_module
    from graphscore.toy import fined_company

    db = tmp_path / "db"
    writer = LadybugStore(db)
    writer.load(gs.validate(fined_company()))
    writer._conn.execute("CREATE (:GraphscoreMeta {key: 'note', value: 'not checkpointed'})")
    assert (db / "graph.lbug.wal").exists()  # the writer's log, not yet checkpointed into the store
    pools = []
    database = ladybug_module.ladybug.Database

    def recording(*args, **kwargs):
        pools.append(kwargs.get("buffer_pool_size", 0))
        return database(*args, **kwargs)
    monkeypatch.setattr(ladybug_module.ladybug, "Database", recording)
    with LadybugStore(db, read_only=True, buffer_pool=256 << 20) as reader:
        assert reader.data_fingerprint() == gs.validate(fined_company()).fingerprint()
    writer.close()
    with LadybugStore(db, read_only=True, buffer_pool=256 << 20) as reader:  # checkpointed at close: no log
        assert reader.data_fingerprint() == gs.validate(fined_company()).fingerprint()
    assert pools == [0, 256 << 20]
