#!/usr/bin/env bash
# The full test suite, as the README gives it and CI runs it:
#   1. installs what the labs need from apt (root; idempotent and quick when present),
#   2. builds, type-checks and lints, and installs the packed tarball into a fresh prefix,
#   3. runs the unit tests and the namespace-lab integration suite (real dockerd, sshd,
#      routing tables per node), then the mesh suite on QEMU VMs (real ingress mesh).
# The suites run one after the other: the lab tests inject faults at moments of a run, and a
# second lab beside them (tried) loads the two cores enough to move those moments.
# Set DRYDOCK_SKIP_MESH=1 to leave the (slow) mesh suite out locally.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "test-all: the labs need root (network namespaces, dockerd, iptables); run as root" >&2
  exit 2
fi
[ -d node_modules ] || npm ci --no-audit --no-fund
bash lab/lab.sh deps
# The terminal tests drive tmux; the transport tests use pgrep and ss, and csh as a non-POSIX
# login shell; the report test renders in chromium; the mesh traffic harness runs haproxy and socat.
missing=$(for p in tmux procps iproute2 csh chromium haproxy socat; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"; done)
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
[ "${DRYDOCK_SKIP_MESH:-0}" = 1 ] || bash lab/mesh-lab.sh deps

npm run build
npm run typecheck
npm run lint
npm run check:layers
bash scripts/test-pack.sh

results=$(mktemp -d)
status=0
run_suite() {   # $1 = vitest project
  npx vitest run --project "$1" --reporter=default --reporter=json --outputFile.json="$results/$1.json" || status=1
}
run_suite unit
run_suite integration
[ "${DRYDOCK_SKIP_MESH:-0}" = 1 ] || run_suite mesh

# One closing line over every suite.
node -e '
  const fs = require("fs"); let p = 0, f = 0, s = 0;
  for (const file of fs.readdirSync(process.argv[1]).filter((f) => f.endsWith(".json"))) {
    const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + file, "utf8"));
    p += r.numPassedTests; f += r.numFailedTests; s += r.numPendingTests + (r.numTodoTests || 0);
  }
  console.log(`all suites: ${p} passed, ${f} failed, ${s} skipped`);
' "$results"
exit $status
