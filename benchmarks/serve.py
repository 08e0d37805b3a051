"""Benchmark: how long `graphscore serve` takes to answer, on stored synthetic registries.

    python benchmarks/serve.py [--sizes 20000 200000] [--entities 3]

Per registry size (companies; about five links each) it writes the registry, loads it into a
fresh embedded store with ``graphscore load``, starts ``graphscore serve --port 0`` on loopback
(which builds the default policy's projection and baseline before it listens), and times over
HTTP, for a few penalised entities (median of three calls each): a search by name, opening the
entity (its dossier and neighbourhood), the paths carrying its score, expanding it (its
neighbours), and the what-ifs lifting all of its penalties and adding one. It prints one line
per request with the median and the largest time, and the load average beside them: the
machine these numbers come from is shared, so say which load they were taken under.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

import graphscore as gs
from graphscore.synthetic import generate_network

AS_OF = "2024-06-30"


def _timed(call, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    return statistics.median(times)


def run(size: int, entities: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        tables = generate_network(size, seed=3, as_of=AS_OF)
        gs.io.write_tables(tables, folder / "tables", format="parquet")
        db = folder / "db"
        subprocess.run([sys.executable, "-m", "graphscore", "load", str(folder / "tables"), "--db", str(db), "-q"],
                       check=True, stdout=subprocess.DEVNULL)
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "graphscore", "serve", "--db", str(db), "--port", "0", "-q"],
                                  stdout=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"})
        try:
            address = server.stdout.readline().split()[2]
            ready = time.perf_counter() - started
            client = httpx.Client(base_url=address, timeout=1800)
            policy = gs.load_policy(Path(__file__).resolve().parent.parent / "data" / "policies" / "joint-punishment.toml")
            projection = gs.Workspace(tables).projection(policy, AS_OF)
            counted = projection.penalties[projection.penalties["weight"] > 0]["entity"].value_counts()
            chosen = counted[counted == 1].index[:entities].tolist()
            rows: dict[str, list[float]] = {}
            for entity in chosen:
                name = tables.entities.set_index("id").loc[entity, "name"]
                day = {"as_of": AS_OF}
                for label, call in [
                    ("search by name", lambda: client.get("/api/search", params={"q": name, **day})),
                    ("open entity", lambda: client.get(f"/api/entity/{entity}", params=day)),
                    ("paths", lambda: client.get(f"/api/paths/{entity}", params=day)),
                    ("expand (neighbours)", lambda: client.get(f"/api/neighbours/{entity}", params=day)),
                    ("what-if: lift its penalties", lambda: client.post(
                        "/api/whatif", json={"lift_entity": entity, "ids": [entity], **day})),
                    ("what-if: add a penalty", lambda: client.post(
                        "/api/whatif", json={"penalize": entity, "severity": 5, "ids": [entity], **day})),
                ]:
                    rows.setdefault(label, []).append(_timed(call))
        finally:
            server.terminate()
            server.wait(timeout=60)
        load = os.getloadavg()[0]
        print(f"\n{size:,} companies, {len(tables.links):,} links (load average {load:.1f} on {os.cpu_count()} cores); "
              f"serve ready after {ready:.1f} s")
        print(f"{'request':32} {'median s':>9} {'max s':>9}")
        for label, times in rows.items():
            print(f"{label:32} {statistics.median(times):9.3f} {max(times):9.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000])
    parser.add_argument("--entities", type=int, default=3)
    arguments = parser.parse_args()
    for companies in arguments.sizes:
        run(companies, arguments.entities)
