#!/usr/bin/env bash
# Start a throwaway Neo4j 5.26 (with open GDS) on 127.0.0.1 for the tests, and print its URI.
#
#   export GRAPHSCORE_NEO4J_PASSWORD=...        # 8 characters or more; user is neo4j
#   export GRAPHSCORE_NEO4J_URI="$(tests/neo4j/start.sh)"
#   pytest ...; tests/neo4j/stop.sh
#
# Builds on first use (Maven fetches the jars named in pom.xml, javac compiles Launcher.java),
# starts a fresh, empty database under $GRAPHSCORE_NEO4J_STATE (default tests/neo4j/target/run),
# waits until Bolt accepts connections, and prints bolt://127.0.0.1:PORT on stdout, nothing else.
# GRAPHSCORE_NEO4J_HEAP sets the JVM heap (default 1g); the page cache is 256 MB.
# GRAPHSCORE_NEO4J_TX_MAX_MB bounds one transaction's memory (default 192, 0: no bound beyond
# Neo4j's own 70 % of the heap); a test meets that bound on purpose. Benchmarks set it to 0.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${GRAPHSCORE_NEO4J_STATE:-$here/target/run}"
heap="${GRAPHSCORE_NEO4J_HEAP:-1g}"
timeout="${GRAPHSCORE_NEO4J_START_TIMEOUT:-300}"

password="${GRAPHSCORE_NEO4J_PASSWORD:-}"
if [ "${#password}" -lt 8 ]; then
    echo "start.sh: set GRAPHSCORE_NEO4J_PASSWORD (8 characters or more) first" >&2
    exit 2
fi
if [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
    echo "start.sh: a test Neo4j is already running (PID $(cat "$state/pid")); stop it with $here/stop.sh" >&2
    exit 1
fi

# Build when the pom or the launcher changed since the last build.
stamp="$here/target/built"
if [ ! -f "$stamp" ] || [ "$here/pom.xml" -nt "$stamp" ] || [ "$here/Launcher.java" -nt "$stamp" ]; then
    echo "start.sh: fetching Neo4j and GDS from Maven Central and compiling the launcher" >&2
    rm -rf "$here/target/lib" "$here/target/plugins" "$here/target/classes"
    mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$here/target/lib" >&2
    # GDS registers its procedures from a plugin folder, as in a server install
    mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$here/target/plugins" \
        -DincludeGroupIds=org.neo4j.gds >&2
    mkdir -p "$here/target/classes"
    javac -d "$here/target/classes" -cp "$here/target/lib/*" "$here/Launcher.java" >&2
    touch "$stamp"
fi

rm -rf "$state"
mkdir -p "$state"
started=$(date +%s%N)
# setsid: the server outlives this script, and stop.sh ends exactly the process it records
setsid java -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -cp "$here/target/lib/*:$here/target/classes" \
    Launcher "$state/home" "$here/target/plugins" "$state/uri" >"$state/neo4j.log" 2>&1 < /dev/null &
echo $! >"$state/pid"

for _ in $(seq 1 "$timeout"); do
    if [ -f "$state/uri" ]; then
        uri="$(cat "$state/uri")"
        port="${uri##*:}"
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            took=$(( ($(date +%s%N) - started) / 100000000 ))
            echo "start.sh: Neo4j up at $uri in $((took / 10)).$((took % 10)) s (log: $state/neo4j.log)" >&2
            echo "$uri"
            exit 0
        fi
    fi
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then
        echo "start.sh: Neo4j exited before it listened; the end of its log:" >&2
        tail -n 20 "$state/neo4j.log" >&2
        exit 1
    fi
    sleep 1
done
echo "start.sh: Neo4j did not listen within $timeout s; see $state/neo4j.log" >&2
kill "$(cat "$state/pid")" 2>/dev/null || true
exit 1
