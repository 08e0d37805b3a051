"""LadybugDB 0.22.0 (Kuzu fork): a process killed while the commit of a transaction holding a
bulk COPY is checkpointed leaves half the transaction: the logged statements replay, the copied
rows are gone.

One transaction on a database that already holds one row of N and one of M:
    BEGIN TRANSACTION
    COPY N FROM $rows            -- 200,000 rows from a pandas DataFrame
    CREATE (:M {id: 'marker'})   -- an ordinary, logged statement
    COMMIT                       -- the process is SIGKILLed once the frozen log
                                 -- (db.wal.checkpoint) or shadow file appears
Expected on reopening: all of the transaction (200,001 N, marker present) or none of it
(1 N, no marker). Observed (0.22.0): 1 N and the marker present. The COMMIT record had reached
the log, so recovery replays the CREATE; the COPY's rows were written straight to the data file
outside the log and are lost with the interrupted checkpoint. graphscore works around it by
loading into a copy of the database and renaming it over the original
(graphscore/store/ladybug.py, LadybugStore._on_a_copy).

Run: python tests/store/ladybug_copy_crash_bug.py [--rows N]. Exit status 1 when half a
transaction is found, 0 when the reopened database holds all of it or none, 2 when the kill
came after the commit finished (try more rows).
"""
import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import sys
import ladybug, pandas as pd
db = ladybug.Database(sys.argv[1]); conn = ladybug.Connection(db)
rows = pd.DataFrame({"id": [f"n{i}" for i in range(int(sys.argv[2]))], "v": 1.0})
conn.execute("BEGIN TRANSACTION")
conn.execute("COPY N FROM $rows", {"rows": rows})
conn.execute("CREATE (:M {id: 'marker'})")
conn.execute("COMMIT")
print("committed", flush=True)
"""


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    rows = parser.parse_args().rows
    import ladybug

    folder = Path(tempfile.mkdtemp())
    path = folder / "db"
    try:
        db = ladybug.Database(str(path))
        conn = ladybug.Connection(db)
        conn.execute("CREATE NODE TABLE N(id STRING PRIMARY KEY, v DOUBLE)")
        conn.execute("CREATE NODE TABLE M(id STRING PRIMARY KEY)")
        conn.execute("CREATE (:N {id: 'first', v: 0.0})")
        conn.close()
        db.close()
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(rows)], stdout=subprocess.PIPE)
        checkpointing = (folder / "db.wal.checkpoint", folder / "db.shadow")
        while child.poll() is None and not any(p.exists() for p in checkpointing):
            pass
        child.send_signal(signal.SIGKILL)
        child.wait()
        db = ladybug.Database(str(path))
        conn = ladybug.Connection(db)
        n = conn.execute("MATCH (n:N) RETURN count(n)").get_as_df().iloc[0, 0]
        marker = conn.execute("MATCH (m:M) RETURN count(m)").get_as_df().iloc[0, 0]
        print(f"after the kill: {n:,} N rows (expected 1 or {rows + 1:,}), marker rows: {marker}")
        if child.returncode != -signal.SIGKILL:
            return 2
        return int((n == 1) != (marker == 0))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
