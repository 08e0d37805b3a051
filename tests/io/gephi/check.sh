#!/usr/bin/env bash
# Open a GraphML file with Gephi's own importer (gephi-toolkit 0.10.1 from Maven Central) and print
# what Gephi holds. A manual check, not run by the tests (Gephi is no dependency of graphscore):
#
#   graphscore export --db DIR --format graphml --out g.graphml
#   tests/io/gephi/check.sh g.graphml            # Gephi's default: parallel edges of one type merged
#   tests/io/gephi/check.sh g.graphml NO_MERGE   # "Don't merge" in Gephi's import dialog
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -f "$here/target/built" ] || [ "$here/pom.xml" -nt "$here/target/built" ] \
        || [ "$here/GephiCheck.java" -nt "$here/target/built" ]; then
    rm -rf "$here/target"
    mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$here/target/lib" >&2
    mkdir -p "$here/target/classes"
    javac -d "$here/target/classes" -cp "$here/target/lib/*" "$here/GephiCheck.java" >&2
    touch "$here/target/built"
fi
java -Djava.awt.headless=true -Xmx512m -cp "$here/target/lib/*:$here/target/classes" GephiCheck "$@" 2>/dev/null
