#!/usr/bin/env bash
# Re-fetch the bundled network library from the npm registry with npm itself (never a CDN):
#   bash graphscore/report/vendor/fetch.sh [VERSION]
# It replaces cytoscape.min.js and LICENSE.cytoscape here and prints the tarball's integrity.
set -euo pipefail
version="${1:-3.34.4}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "cytoscape@$version" --json > pack.json && tar xzf "cytoscape-$version.tgz")
cp "$work/package/dist/cytoscape.min.js" "$here/cytoscape.min.js"
cp "$work/package/LICENSE" "$here/LICENSE.cytoscape"
python3 -c "import json,sys; p=json.load(open(sys.argv[1]))[0]; print(p['id'], p['integrity'])" "$work/pack.json"
