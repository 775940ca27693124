#!/usr/bin/env bash
# lab/mesh-apps.sh — the two demo apps the traffic harness measures (also `lab/mesh-lab.sh apps ...`).
#
# Usage: mesh-apps.sh up | down | status
#
#   web           busybox httpd on :8080; dies at once on SIGTERM (the worst case). `up` sets it to
#                 2 replicas, at most 1 per node; `down` puts it back to the lab's default (1 replica).
#   web-graceful  busybox httpd on :8090 behind a shell that traps SIGTERM and keeps serving for 4 s
#                 before it exits; a Docker HEALTHCHECK (an HTTP GET through busybox nc, every 10 s, 30 s
#                 timeout: each probe is a runc exec, and on the emulated VMs a busy moment (an SSH login,
#                 an engine starting elsewhere) made 10 s probes time out three times in a row, so Swarm
#                 stopped healthy tasks);
#                 --stop-grace-period 10s; 2 replicas, at most 1 per node.
# Both are published in ingress mode, so every VM answers on both ports. `up` returns when both
# services have converged and both ports answer on every VM.
set -euo pipefail

DIR=${DRYDOCK_MESH_DIR:-/tmp/drydock-mesh}
NET=${DRYDOCK_MESH_NET:-10.77.1}
IMAGE=local/busybox:1
GRACE_SECONDS=4

log() { printf '[mesh-apps %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
node_count() { cat "$DIR/state/nodes" 2>/dev/null || echo 0; }
dk() { docker -H "tcp://$NET.21:2375" "$@"; }
answers() { [ "$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://$1:$2/")" = 200 ]; }

# running tasks of a service = its desired replica count
converged() {
  local want have
  want=$(dk service inspect "$1" --format '{{.Spec.Mode.Replicated.Replicas}}' 2>/dev/null) || return 1
  have=$(dk service ps "$1" --filter desired-state=running --format '{{.CurrentState}}' 2>/dev/null | grep -c '^Running' || true)
  [ "$have" = "$want" ]
}

wait_ready() {
  local t0=$SECONDS k s
  for s in web web-graceful; do
    until converged "$s"; do
      [ $((SECONDS - t0)) -lt 400 ] || die "$s did not converge in 400s"; sleep 2
    done
  done
  for k in $(seq 1 "$(node_count)"); do
    for p in 8080 8090; do
      until answers "$NET.$((20 + k))" "$p"; do
        [ $((SECONDS - t0)) -lt 400 ] || die "port $p does not answer on vm$k"; sleep 2
      done
    done
  done
}

# sh is PID 2 under --init's tini: on TERM it stops reporting healthy, keeps httpd serving for
# GRACE_SECONDS (other nodes' IPVS may still send traffic here), then stops httpd and exits.
GRACEFUL_CMD='httpd -f -p 8090 -h /www & p=$!; trap "rm -f /tmp/healthy; sleep '$GRACE_SECONDS'; kill \$p; exit 0" TERM; touch /tmp/healthy; wait $p'
HEALTH_CMD='test -f /tmp/healthy && printf "GET / HTTP/1.0\r\n\r\n" | nc 127.0.0.1 8090 | grep -q "200 OK"'

cmd_up() {
  [ "$(node_count)" -gt 0 ] || die "the mesh lab in $DIR is down"
  local n=2
  [ "$(node_count)" -ge 2 ] || n=1
  dk service update --detach --replicas "$n" --replicas-max-per-node 1 web >/dev/null
  if ! dk service inspect web-graceful >/dev/null 2>&1; then
    dk service create --detach --name web-graceful --replicas "$n" --replicas-max-per-node 1 --network mesh \
      --publish published=8090,target=8090 --init --stop-grace-period 10s --no-resolve-image \
      --health-cmd "$HEALTH_CMD" --health-interval 10s --health-timeout 30s --health-retries 3 --health-start-period 30s \
      "$IMAGE" sh -c "$GRACEFUL_CMD" >/dev/null
  fi
  wait_ready
  log "up: web (:8080) and web-graceful (:8090), $n replicas each, at most 1 per node"
}

cmd_down() {
  dk service rm web-graceful >/dev/null 2>&1 || true
  dk service update --detach --replicas 1 --replicas-max-per-node 0 web >/dev/null 2>&1 || true
  log "down: web-graceful removed, web back to 1 replica"
}

cmd_status() {
  dk service ls --format '{{.Name}} {{.Replicas}} {{.Ports}}' 2>/dev/null || echo "mesh lab unreachable"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) sed -n '/^# Usage:/p' "$0" | sed 's/^# //' >&2; exit 2 ;;
esac
