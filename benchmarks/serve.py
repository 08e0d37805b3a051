"""Benchmark: how long `graphscore serve` takes to answer, on stored synthetic registries.

    python benchmarks/serve.py [--sizes 20000 200000] [--entities 3] [--policy FILE]

Per registry size (companies; about five links each) it writes the registry, loads it into a
fresh embedded store with ``graphscore load``, starts ``graphscore serve --port 0`` on loopback
under one policy (default ``data/policies/joint-punishment.toml``) set to the date the requests ask about (it
prepares that policy at its date before it listens: projection, baseline, scores, and what
dossiers and what-ifs read about the whole register), and times over HTTP, for a few penalised entities (median of three calls each): a search by name, opening the
entity (its dossier and neighbourhood), the paths carrying its score, expanding it (its
neighbours), and the what-ifs lifting all of its penalties and adding one. It prints one line
per request with the median of the first calls (an entity opened, or a what-if asked, for the
first time: what the server keeps between requests does not help it), the median of all calls
and the largest time, and the load average beside them: the machine these numbers come from
is shared, so say which load they were taken under. Beside each wall time, the CPU time the
server process spent on the call (user and system, from ``/proc``), which other jobs on the
machine do not inflate.
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
POLICY = Path(__file__).resolve().parent.parent / "data" / "policies" / "joint-punishment.toml"


def _cpu(pid: int) -> float:
    """CPU seconds (user and system) process ``pid`` has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(call, pid: int, repeat: int = 3) -> list[tuple[float, float]]:
    """Wall and server CPU seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        cpu, started = _cpu(pid), time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started, _cpu(pid) - cpu))
        response.raise_for_status()
    return times


def run(size: int, entities: int, policy_path: Path) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        tables = generate_network(size, seed=3, as_of=AS_OF)
        gs.io.write_tables(tables, folder / "tables", format="parquet")
        db = folder / "db"
        # run from the registry's folder: `python -m` looks in the working directory first, and a
        # checkout there would be served instead of the graphscore PYTHONPATH names
        subprocess.run([sys.executable, "-m", "graphscore", "load", str(folder / "tables"), "--db", str(db), "-q"],
                       check=True, stdout=subprocess.DEVNULL, cwd=folder)
        # the policy at the requests' date: what the server prepares before it listens is what they ask for
        policy_file = folder / policy_path.name
        policy_file.write_text(f'as_of = "{AS_OF}"\n' + policy_path.read_text(encoding="utf-8"), encoding="utf-8")
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "graphscore", "serve", "--db", str(db), "--port", "0", "-q",
                                   "--policy", str(policy_file)],
                                  stdout=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"}, cwd=folder)
        try:
            address = server.stdout.readline().split()[2]
            ready = time.perf_counter() - started
            client = httpx.Client(base_url=address, timeout=1800)
            policy = gs.load_policy(policy_file)
            projection = gs.Workspace(tables).projection(policy, AS_OF)
            counted = projection.penalties[projection.penalties["weight"] > 0]["entity"].value_counts()
            chosen = counted[counted == 1].index[:entities].tolist()
            rows: dict[str, list[list[tuple[float, float]]]] = {}
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
                    rows.setdefault(label, []).append(_timed(call, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=60)
        load = os.getloadavg()[0]
        print(f"\n{size:,} companies, {len(tables.links):,} links, policy {policy.name} ({policy.model.value}; "
              f"load average {load:.1f} on {os.cpu_count()} cores); serve ready after {ready:.1f} s")
        print(f"{'request':32} {'first s':>9} {'(cpu)':>7} {'median s':>9} {'(cpu)':>7} {'max s':>9}")
        for label, calls in rows.items():
            first = [times[0] for times in calls]
            every = [t for times in calls for t in times]
            print(f"{label:32} {statistics.median(w for w, _ in first):9.3f} {statistics.median(c for _, c in first):7.2f} "
                  f"{statistics.median(w for w, _ in every):9.3f} {statistics.median(c for _, c in every):7.2f} "
                  f"{max(w for w, _ in every):9.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20000])
    parser.add_argument("--entities", type=int, default=3)
    parser.add_argument("--policy", type=Path, default=POLICY, help="Policy TOML (without as_of: the benchmark sets it).")
    arguments = parser.parse_args()
    for companies in arguments.sizes:
        run(companies, arguments.entities, arguments.policy)
