"""LadybugDB 0.22.0 (Kuzu fork): in a UNION ALL whose first branch returns one expression under
two names, a later branch's column gets the value of another of its columns.

Schema: E nodes; OWNS (E -> E) with share DOUBLE. Data: a -0.5-> b -0.4-> c.
Query:
    MATCH (o:E {id: 'a'})-[r1:OWNS]->(x:E)
    RETURN 1 AS level, r1.share AS step1, r1.share AS product
    UNION ALL
    MATCH (o:E {id: 'a'})-[r1:OWNS]->(m:E)-[r2:OWNS]->(x:E)
    RETURN 2 AS level, r1.share AS step1, r1.share * r2.share AS product
Expected: (1, 0.5, 0.5) and (2, 0.5, 0.2). Observed (0.22.0): (2, 0.2, 0.2): step1 of the
second branch is its product. Also with `r1.share * 1.0 AS product` in the first branch; not
with `r1.share + 0.0 AS product` (graphscore's cypher/queries/owners_up.cypher and
holdings_down.cypher do that), nor with the branches swapped.
Exit status: 1 when the second branch's step1 is wrong, 0 otherwise.
"""
import shutil
import tempfile

import ladybug

QUERY = ("MATCH (o:E {id: 'a'})-[r1:OWNS]->(x:E) RETURN 1 AS level, r1.share AS step1, r1.share AS product "
         "UNION ALL MATCH (o:E {id: 'a'})-[r1:OWNS]->(m:E)-[r2:OWNS]->(x:E) "
         "RETURN 2 AS level, r1.share AS step1, r1.share * r2.share AS product")


def main() -> int:
    folder = tempfile.mkdtemp()
    try:
        conn = ladybug.Connection(ladybug.Database(f"{folder}/g.lbug"))
        conn.execute("CREATE NODE TABLE E(id STRING PRIMARY KEY)")
        conn.execute("CREATE REL TABLE OWNS(FROM E TO E, share DOUBLE)")
        conn.execute("CREATE (:E {id: 'a'}), (:E {id: 'b'}), (:E {id: 'c'})")
        conn.execute("MATCH (a:E {id: 'a'}), (b:E {id: 'b'}) CREATE (a)-[:OWNS {share: 0.5}]->(b)")
        conn.execute("MATCH (b:E {id: 'b'}), (c:E {id: 'c'}) CREATE (b)-[:OWNS {share: 0.4}]->(c)")
        rows = sorted(tuple(row) for row in conn.execute(QUERY).get_all())
        print(f"ladybug {ladybug.__version__}: {rows} (expected [(1, 0.5, 0.5), (2, 0.5, 0.2)])")
        return 0 if rows[1][1] == 0.5 else 1
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
