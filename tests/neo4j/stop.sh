#!/usr/bin/env bash
# Stop the test Neo4j that start.sh started (the one process it recorded), and wait for it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${GRAPHSCORE_NEO4J_STATE:-$here/target/run}"
[ -f "$state/pid" ] || exit 0
pid="$(cat "$state/pid")"
if kill "$pid" 2>/dev/null; then  # SIGTERM: the launcher's shutdown hook stops the DBMS cleanly
    for _ in $(seq 1 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
fi
rm -f "$state/pid" "$state/uri"
