"""What a first write-back's ``COPY``s cost by the kind of key a score record has, in LadybugDB alone.

``python benchmarks/score_keys.py [--rows 3220000] [--rounds 2] [--tmp DIR]`` makes, per round and
per kind of key, a new database with an entity table of ``--rows`` ids (``C000000``...) and a record
table shaped as ``ScoreRecord`` (``cypher/schema.cypher``: four scores, the policy's name, the as-of
date), then times the two ``COPY`` statements of a first write-back
(:func:`graphscore.store.statements.copy_score_records`), each in a transaction of its own as
:meth:`graphscore.store.ladybug.LadybugStore._copy_alone` runs them: the records, then the links
from their entities. The kinds of key:

- ``run + id``: the key the store writes today, the run's key (``["diffusion", "2024-06-30"]``)
  followed by the entity's id (:func:`graphscore.store.writeback.plan_scores`);
- ``id``: the entity's id alone (what a key one run table per run could use);
- ``int64``: an integer primary key;
- ``int64 + entity``: an integer primary key, the entity's id a property of the record beside it;
- ``serial``: LadybugDB's ``SERIAL`` primary key, which the ``COPY`` of the records leaves out
  (the store numbers them from 0 in a new table, so the links name them by 0, 1, ...);
- ``run no + id``: a number of the run (``17``), a colon, then the entity's id.

It prints wall and CPU seconds of each ``COPY``: a run's figures compare with each other, not
with another machine's. The ids, scores and keys are made here; no graphscore store is read.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time

import ladybug
import numpy as np
import pyarrow as pa

RUN_KEY = '["diffusion", "2024-06-30"]'  # as graphscore.store.writeback.run_key spells a run


def copy_both(folder: str, key_type: str, keys: pa.Array, ids: pa.Array,
              extra: dict[str, pa.Array]) -> tuple[float, float, float, float]:
    """Wall and CPU seconds of the records' ``COPY`` and of their links' in a new database;
    ``extra``: further STRING columns of a record (the key is left out of the ``COPY`` when SERIAL)."""
    n = len(ids)
    db = ladybug.Database(f"{folder}/db")
    conn = ladybug.Connection(db)
    declared = "".join(f", {name} STRING" for name in extra)
    conn.execute(f"CREATE NODE TABLE ScoreRecord(key {key_type} PRIMARY KEY, own DOUBLE, echo DOUBLE, "
                 f"inherited DOUBLE, total DOUBLE, score_policy STRING, score_as_of DATE{declared})")
    conn.execute("CREATE NODE TABLE Entity(id STRING PRIMARY KEY)")
    conn.execute("CREATE REL TABLE HAS_SCORE(FROM Entity TO ScoreRecord)")
    conn.execute("COPY Entity FROM $t", {"t": pa.table({"id": ids})})
    rng = np.random.default_rng(7)
    supplied = {} if key_type == "SERIAL" else {"key": keys}
    records = pa.table({**supplied, **extra, **{c: pa.array(rng.random(n)) for c in ("own", "echo", "inherited", "total")},
                        "score_policy": pa.array(np.full(n, "diffusion")),
                        "score_as_of": pa.array(np.full(n, np.datetime64("2024-06-30", "D")))})
    times = []
    listed = ", ".join(records.column_names)
    for query, table in ((f"COPY ScoreRecord({listed}) FROM $t", records),
                         ("COPY HAS_SCORE FROM $t", pa.table({"from": ids, "to": keys}))):
        wall, cpu = time.perf_counter(), time.process_time()
        conn.execute("BEGIN TRANSACTION")
        conn.execute(query, {"t": table})
        conn.execute("COMMIT")
        times += [time.perf_counter() - wall, time.process_time() - cpu]
    conn.close()
    db.close()
    return tuple(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_220_000, help="records (entities): 3,220,000 at 10^7 links")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tmp", default=None, help="folder for the databases (default: the system's)")
    args = parser.parse_args()
    ids = np.char.add("C", np.char.zfill(np.arange(args.rows).astype(str), 6))
    kinds = {"run + id": ("STRING", pa.array(np.char.add(RUN_KEY, ids)), {}),
             "id": ("STRING", pa.array(ids), {}),
             "int64": ("INT64", pa.array(np.arange(args.rows, dtype=np.int64)), {}),
             "int64 + entity": ("INT64", pa.array(np.arange(args.rows, dtype=np.int64)), {"entity": pa.array(ids)}),
             "serial": ("SERIAL", pa.array(np.arange(args.rows, dtype=np.int64)), {}),
             "run no + id": ("STRING", pa.array(np.char.add("17:", ids)), {})}
    print(f"{'round':>5} | {'key':>14} | records wall | records CPU | links wall | links CPU")
    for round_ in range(1, args.rounds + 1):
        for label, (key_type, keys, extra) in kinds.items():
            folder = tempfile.mkdtemp(dir=args.tmp)
            try:
                times = copy_both(folder, key_type, keys, pa.array(ids), extra)
            finally:
                shutil.rmtree(folder)
            print(f"{round_:>5} | {label:>14} | " + " | ".join(f"{t:9.2f} s" for t in times), flush=True)


if __name__ == "__main__":
    main()
