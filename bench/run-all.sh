#!/usr/bin/env bash
# `npm run bench`: builds, then runs every benchmark in bench/ in turn and prints its numbers.
# Exits non-zero when any benchmark fails; one whose tool is missing (ansible-playbook) is
# reported as SKIPPED.
#
# Benchmarks that need a cluster bring up a namespace lab of their own (root needed) and this
# script takes it down at the end. The lab names default to a bench lab that never collides
# with the test suite's (/tmp/drydock-lab, ddlab, 10.77.0.0/24); on a shared machine set all of
# DRYDOCK_LAB_DIR NAME BRIDGE NET VETH_PREFIX POOL to names of your own. A lab that is already
# up under those names is refused (it belongs to someone's tests), never taken down.
#
#   BENCH_CHECK_SIZES   lab sizes for checks-catalogue.mjs (default 3; the README's table: 3,10)
#   BENCH_CHECK_ROUNDS  rounds per size (default 7)
#   BENCH_RUN_SIZES     lab sizes for run-vs-ansible.mjs (default 3)
#   BENCH_TRAFFIC=1     also the traffic window (bench/traffic, ~25 min): a mesh lab of its own
#                       (DRYDOCK_MESH_* default to bench names: /tmp/drydock-mesh-bench, ddvbrb,
#                       10.77.9) with three managers, drydock's window behind HAProxy and the naive
#                       baseline under load, each table printed; outputs in /tmp/drydock-traffic-*
#   BENCH_TRAFFIC_NOISE seconds of load before and after each procedure (default 60)
set -uo pipefail
cd "$(dirname "$0")/.."

export DRYDOCK_LAB_DIR=${DRYDOCK_LAB_DIR:-/tmp/drydock-lab-bench}
export DRYDOCK_LAB_NAME=${DRYDOCK_LAB_NAME:-ddbench}
export DRYDOCK_LAB_BRIDGE=${DRYDOCK_LAB_BRIDGE:-ddbrbench}
export DRYDOCK_LAB_NET=${DRYDOCK_LAB_NET:-10.87.0}
export DRYDOCK_LAB_VETH_PREFIX=${DRYDOCK_LAB_VETH_PREFIX:-dvbench}
export DRYDOCK_LAB_POOL=${DRYDOCK_LAB_POOL:-10.88.0.0/16}

npm run --silent build || exit 1

lab_up_before() {   # $1 = lab.sh or mesh-lab.sh: is a lab up under the current names?
  bash "lab/$1" status --json 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      try { process.exit(JSON.parse(s).up ? 0 : 1); } catch { process.exit(1); }
    });'
}

lab_used=0
take_lab_down() {
  if [ "$lab_used" = 1 ]; then
    echo "--- taking the bench lab down ($DRYDOCK_LAB_NAME)"
    bash lab/lab.sh down >/dev/null || echo "bench: lab.sh down failed; run it by hand" >&2
    lab_used=0
  fi
}
mesh_used=0
take_mesh_down() {
  if [ "$mesh_used" = 1 ]; then
    echo "--- taking the bench mesh lab down ($DRYDOCK_MESH_DIR)"
    bash lab/mesh-haproxy.sh down >/dev/null 2>&1
    bash lab/mesh-lab.sh down >/dev/null || echo "bench: mesh-lab.sh down failed; run it by hand" >&2
    mesh_used=0
  fi
}
trap 'take_mesh_down; take_lab_down' EXIT

failed=()
skipped=()
run() {   # $1 = name, rest = command
  local name=$1
  shift
  echo "=== $name: $*"
  local t0=$SECONDS
  if "$@"; then
    echo "--- $name: ok ($((SECONDS - t0)) s)"
  else
    echo "--- $name: FAILED (exit $?)"
    failed+=("$name")
    return 1
  fi
}

need_lab() {   # refuses a lab it did not bring up itself
  if [ "$lab_used" = 0 ] && lab_up_before lab.sh; then
    echo "bench: a lab is already up at $DRYDOCK_LAB_DIR ($DRYDOCK_LAB_NAME); set DRYDOCK_LAB_* to other names" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "bench: the lab benchmarks need root" >&2
    return 1
  fi
  bash lab/lab.sh deps >/dev/null || return 1
  lab_used=1
}

run help-startup node bench/help-startup.mjs
run plan-1000 node bench/plan-1000.mjs

if need_lab; then
  run checks-catalogue node bench/checks-catalogue.mjs "${BENCH_CHECK_SIZES:-3}" "${BENCH_CHECK_ROUNDS:-7}"
  if command -v ansible-playbook >/dev/null; then
    # shellcheck disable=SC2086 # one argument per size
    run run-vs-ansible node bench/run-vs-ansible.mjs ${BENCH_RUN_SIZES:-3}
  else
    echo "=== run-vs-ansible: SKIPPED (ansible-playbook not installed)"
    skipped+=(run-vs-ansible)
  fi
else
  failed+=(checks-catalogue run-vs-ansible)
fi

if [ "${BENCH_TRAFFIC:-0}" = 1 ]; then
  take_lab_down # the namespace lab's engines would take CPU from the VMs during the window
  export DRYDOCK_MESH_DIR=${DRYDOCK_MESH_DIR:-/tmp/drydock-mesh-bench}
  export DRYDOCK_MESH_BRIDGE=${DRYDOCK_MESH_BRIDGE:-ddvbrb}
  export DRYDOCK_MESH_NET=${DRYDOCK_MESH_NET:-10.77.9}
  export DRYDOCK_MESH_TAP_PREFIX=${DRYDOCK_MESH_TAP_PREFIX:-ddvbt}
  export DRYDOCK_HAPROXY_SOCKET=$DRYDOCK_MESH_DIR/haproxy/admin.sock
  stamp=$(date +%Y%m%d-%H%M%S)
  if lab_up_before mesh-lab.sh; then # a lab under these names belongs to someone else
    echo "bench: a mesh lab is already up at $DRYDOCK_MESH_DIR; set DRYDOCK_MESH_* to other names" >&2
    failed+=(traffic)
  else
    mesh_used=1
    if run mesh-lab-up bash -c 'bash lab/mesh-lab.sh deps && bash lab/mesh-lab.sh up --nodes 3 --managers 3'; then
      noise=${BENCH_TRAFFIC_NOISE:-60}
      run traffic-drydock node bench/traffic/run-window.mjs --procedure drydock \
        --runbook runbooks/behind-haproxy.yaml --noise "$noise" --out "/tmp/drydock-traffic-drydock-$stamp"
      run traffic-naive node bench/traffic/run-window.mjs --procedure naive \
        --noise "$noise" --out "/tmp/drydock-traffic-naive-$stamp"
    fi
  fi
fi

echo
echo "bench: ${#failed[@]} failed${failed[*]:+ (${failed[*]})}, ${#skipped[@]} skipped${skipped[*]:+ (${skipped[*]})}"
[ ${#failed[@]} -eq 0 ]
