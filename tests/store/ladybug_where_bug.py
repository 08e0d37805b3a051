"""LadybugDB 0.22.0 (Kuzu fork): a WHERE that filters a node of one MATCH and a relationship of a
later two-hop MATCH returns relationships the WHERE excludes.

Schema: E nodes; P nodes with end_date; HAS (E -> P); A and B (E -> E) with end_date.
Data: 200 E, 40 P (each on a random E), 600 A/B edges between random E; every end_date is NULL,
2030-01-01 or 2020-01-01 (seeded, so the counts below repeat).
Query:
    MATCH (e:E)-[:HAS]->(p:P) MATCH (e)-[r1]-(m:E)-[r2]-(n:E)
    WHERE (p.end_date IS NULL OR $d < p.end_date) AND (r1.end_date IS NULL OR $d < r1.end_date)
    RETURN r1.end_date
with $d = 2024-01-01. Expected: no row has r1.end_date on or before $d.
Observed (0.22.0): 505 rows, 60 of them with r1.end_date = 2020-01-01.
Not seen with one hop (e)-[r1]-(m), nor when the P filter runs first in its own
`MATCH ... WHERE ... WITH e, p` (graphscore's cypher/queries/near_active_penalty.cypher does that).
Exit status: 1 when rows violating the WHERE come back, 0 otherwise.
"""
import datetime as dt
import random
import shutil
import tempfile

import ladybug

QUERY = ("MATCH (e:E)-[:HAS]->(p:P) MATCH (e)-[r1]-(m:E)-[r2]-(n:E) "
         "WHERE (p.end_date IS NULL OR $d < p.end_date) AND (r1.end_date IS NULL OR $d < r1.end_date) "
         "RETURN r1.end_date AS r1_end")


def main() -> int:
    rng = random.Random(1)
    ends = [None, dt.date(2030, 1, 1), dt.date(2020, 1, 1)]
    folder = tempfile.mkdtemp()
    try:
        conn = ladybug.Connection(ladybug.Database(f"{folder}/g.lbug"))
        conn.execute("CREATE NODE TABLE E(id STRING PRIMARY KEY)")
        conn.execute("CREATE NODE TABLE P(id STRING PRIMARY KEY, end_date DATE)")
        conn.execute("CREATE REL TABLE HAS(FROM E TO P)")
        for table in ("A", "B"):
            conn.execute(f"CREATE REL TABLE {table}(FROM E TO E, end_date DATE)")
        n = 200
        conn.execute("UNWIND range(0, $n - 1) AS i CREATE (:E {id: 'e' + CAST(i AS STRING)})", {"n": n})
        for i in range(40):
            conn.execute("MATCH (e:E {id: $e}) CREATE (e)-[:HAS]->(:P {id: $p, end_date: $stop})",
                         {"e": f"e{rng.randrange(n)}", "p": f"p{i}", "stop": rng.choice(ends)})
        for _ in range(600):
            table = rng.choice("AB")
            conn.execute(f"MATCH (a:E {{id: $a}}), (b:E {{id: $b}}) CREATE (a)-[:{table} {{end_date: $stop}}]->(b)",
                         {"a": f"e{rng.randrange(n)}", "b": f"e{rng.randrange(n)}", "stop": rng.choice(ends)})
        cutoff = dt.date(2024, 1, 1)
        found = [row[0] for row in conn.execute(QUERY, {"d": cutoff}).get_all()]
        wrong = [end for end in found if end is not None and end <= cutoff]
        print(f"ladybug {ladybug.__version__}: {len(found)} rows, {len(wrong)} with r1.end_date on or before "
              f"{cutoff} despite the WHERE")
        return 1 if wrong else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
