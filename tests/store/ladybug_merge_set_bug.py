"""LadybugDB 0.22.0 (Kuzu fork): re-running MERGE ... SET on existing relationships corrupts the
forward adjacency of a REL table once the update is checkpointed.

Statement, run twice over the same 8,000 rows, each run followed by CHECKPOINT:
    UNWIND $rows AS row MATCH (a:N {id: row.a}), (b:N {id: row.b})
    MERGE (a)-[r:R {key: row.key}]->(b) SET r.v = row.v
Expected: run 2 only matches the existing relationships, so R still holds exactly the 8,000 input
(a, b, key) triples. Observed (0.22.0): 8,000 relationships, 7,932 distinct, 5,076 match no input
row: read forwards (a)-[r]->(b) they have the wrong end node or key NULL, e.g. (3072, 0, None);
read backwards (b)<-[r]-(a) all 8,000 are right. A third run adds 5,076 duplicates (13,076 stored).
Data shape: 3,000 "company" nodes (offsets 0..2999), then 1,635 "person" nodes; each row is a
person -> company edge, companies taken in turn, so each company gets 2-3 incoming edges (other
shapes, e.g. 5,000 companies with one edge each, do not show it).
Flags, each checked:
  --no-set         MERGE alone, no SET: no corruption.
  --no-checkpoint  no CHECKPOINT: no corruption visible (auto_checkpoint is off here).
  --reopen         default settings, no CHECKPOINT statement, close + reopen the database between
                   runs instead (checkpoint on close): corrupted, same counts.
  --transaction    each run in BEGIN TRANSACTION ... COMMIT: corrupted, same counts.
  --batch N        UNWIND batches of N rows instead of one batch of 8,000: corrupted, same counts.
  --runs 1         one run only: no corruption. The first run must be checkpointed before run 2.
Exit status: 1 when corruption is found, 0 otherwise.
"""
import argparse, random, shutil, tempfile
import ladybug


def main() -> int:
    ap = argparse.ArgumentParser()
    for flag in ("--no-set", "--no-checkpoint", "--reopen", "--transaction"):
        ap.add_argument(flag, action="store_true")
    ap.add_argument("--batch", type=int, default=0); ap.add_argument("--runs", type=int, default=2)
    args = ap.parse_args()
    COMPANIES, PERSONS, RELS = 3000, 1635, 8000
    rnd = random.Random(1)
    rows = [{"a": COMPANIES + rnd.randrange(PERSONS), "b": i % COMPANIES, "key": f"k{i}", "v": 1.0}
            for i in range(RELS)]
    query = ("UNWIND $rows AS row MATCH (a:N {id: row.a}), (b:N {id: row.b}) "
             "MERGE (a)-[r:R {key: row.key}]->(b)" + ("" if args.no_set else " SET r.v = row.v"))

    folder = tempfile.mkdtemp()
    def connect():
        db = ladybug.Database(f"{folder}/db.lbug"); conn = ladybug.Connection(db)
        if not args.reopen:
            conn.execute("CALL auto_checkpoint=false")  # checkpoint only where this script says
        return db, conn
    db, conn = connect()
    conn.execute("CREATE NODE TABLE N(id INT64 PRIMARY KEY)")
    conn.execute("CREATE REL TABLE R(FROM N TO N, key STRING, v DOUBLE)")
    conn.execute("UNWIND range(0, $n - 1) AS i CREATE (:N {id: i})", {"n": COMPANIES + PERSONS})
    size = args.batch or len(rows)
    for run in range(args.runs):
        if args.transaction: conn.execute("BEGIN TRANSACTION")
        for start in range(0, len(rows), size):
            conn.execute(query, {"rows": rows[start:start + size]})
        if args.transaction: conn.execute("COMMIT")
        if args.reopen:
            conn.close(); db.close(); db, conn = connect()
        elif not args.no_checkpoint:
            conn.execute("CHECKPOINT")

    expected = {(r["a"], r["b"], r["key"]) for r in rows}
    def read(q): return [tuple(t) for t in conn.execute(q).get_all()]
    forward = read("MATCH (a:N)-[r:R]->(b:N) RETURN a.id, b.id, r.key")
    backward = read("MATCH (b:N)<-[r:R]-(a:N) RETURN a.id, b.id, r.key")
    for name, stored in (("forward ", forward), ("backward", backward)):
        wrong = [t for t in stored if t not in expected]
        print(f"ladybug {ladybug.__version__}, {name}: {len(rows)} input rows, {len(stored)} stored, "
              f"{len(set(stored))} distinct, {len(wrong)} match no input row {wrong[:2]}")
    conn.close(); db.close(); shutil.rmtree(folder)
    bad = any(len(stored) != len(expected) or set(stored) != expected for stored in (forward, backward))
    print("CORRUPTED" if bad else "OK")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
