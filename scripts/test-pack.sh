#!/usr/bin/env bash
# Installability: `npm pack` gives a tarball, and `npm install -g` of it into a fresh, empty
# prefix gives a working `drydock` on PATH: --version, validate, plan, and report on a journal.
# Run by scripts/test-all.sh (CI); needs the npm registry (or a warm npm cache) for the
# runtime dependencies. Nothing outside a temporary directory is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

npm pack --silent --pack-destination "$work" >/dev/null
tarball=$(ls "$work"/drydock-*.tgz)
# Only what is published: no tests, labs or sources in the tarball.
if tar -tzf "$tarball" | grep -E '^package/(test|lab|src|bench)/'; then
  echo "test-pack: the tarball ships development files" >&2; exit 1
fi
prefix="$work/prefix"
npm install -g --prefix "$prefix" --no-audit --no-fund --prefer-offline "$tarball" >/dev/null
export PATH="$prefix/bin:$PATH"
cd "$work"   # away from the repository: only the installed package may answer

version=$(drydock --version)
[ "$version" = "$(node -p 'require(process.argv[1]).version' "$OLDPWD/package.json")" ] || {
  echo "test-pack: drydock --version said '$version'" >&2; exit 1; }

cp "$OLDPWD/runbooks/rolling-patch.yaml" "$OLDPWD/fixtures/inventory/example.yaml" .
drydock validate rolling-patch.yaml >/dev/null
drydock plan rolling-patch.yaml --inventory example.yaml | grep -q '^order:'

# A journal of a run refused at start: enough for every report format.
mkdir runs
cat > runs/20240501-120000-pack.jsonl <<'JOURNAL'
{"seq":0,"type":"journal-header","formatVersion":1,"runId":"20240501-120000-pack","runbookFile":"rolling-patch.yaml","runbookHash":"abc","startedAt":"2024-05-01T12:00:00.000Z","connection":{},"user":"ci@runner","host":"runner"}
{"seq":1,"type":"warning","source":"notify","message":"required webhook at chat.example: run-start not delivered after 1 attempts (HTTP 500): run refused","at":"2024-05-01T12:00:01.000Z"}
{"seq":2,"type":"run-end","runId":"20240501-120000-pack","outcome":"refused","durationMs":0,"at":"2024-05-01T12:00:01.000Z"}
JOURNAL
drydock report 20240501-120000-pack --journal-dir runs --out report.html
grep -q '<svg' report.html
drydock report 20240501-120000-pack --journal-dir runs --format md | grep -q '^# Refused'
drydock report 20240501-120000-pack --journal-dir runs --format json | node -e 'JSON.parse(require("fs").readFileSync(0, "utf8"))'
echo "test-pack: ok ($(basename "$tarball") installs and runs from $prefix)"
