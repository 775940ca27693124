#!/usr/bin/env bash
# node-agent.sh — runs INSIDE one lab node (its net + mount + UTS namespaces), either started by
# lab.sh through nsenter or by the node's shims (reboot, apt-get, systemctl) over SSH.
# It is the single place that knows how to start/stop a node's sshd and dockerd, so "reboot",
# "engine upgrade" and lab.sh's own up/fault/heal all keep the PID files in $D consistent.
#
# Environment (from /usr/local/sbin/.ddlab.env inside the node, or passed by lab.sh):
#   LAB   lab dir on the host (visible in the node: nodes share the host's filesystem)
#   NODE  node name (nodeK)
#   IP    node address
#   CG_ROOT  cgroup dir of the lab (default ddlab)
set -euo pipefail

: "${LAB:?}" "${NODE:?}" "${IP:?}"
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
D=$LAB/nodes/$NODE
CG_ROOT=${CG_ROOT:-ddlab}
CURL=(curl -s --max-time 2 --unix-socket "$D/docker.sock")

log() { printf '[%(%H:%M:%S)T] %s: %s\n' -1 "$NODE" "$*" >>"$D/agent.log"; }

# --- cgroups: every process of a node lives under ddlab/$NODE (so "kill the node" and
# "memory of the node" are exact); the reboot worker steps out into ddlab/$NODE-reboot.
cg_dirs() {   # $1 = leaf below ddlab, e.g. node1/sys
  local leaf=$1
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo "/sys/fs/cgroup/$CG_ROOT/$leaf"
  else local c; for c in pids memory; do echo "/sys/fs/cgroup/$c/$CG_ROOT/$leaf"; done; fi
}
cg_join() {   # move the calling shell ($$) into a cgroup leaf
  local c
  for c in $(cg_dirs "$1"); do mkdir -p "$c"; echo $$ >"$c/cgroup.procs"; done
}
# All PIDs in a node's cgroup subtree (daemons, ssh sessions, containers).
node_pids() {
  local base
  base=$(cg_dirs "$NODE" | head -1)
  [ -d "$base" ] && find "$base" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -un || true
}

# alive = exists and is not a zombie (a killed holder lingers as Z until init reaps it)
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local st; st=$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$st" != Z ]
}
# alive AND still the program we started: a long suite wraps the PID space (pid_max is often
# 32768), so a recorded PID may name another process by now. Trusting it skipped starting the
# node's sshd after a reboot (and could signal a stranger).
alive_as() {   # $1 = pid, $2 = comm
  alive "${1:-}" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}
pidof_file() { cat "$D/$1.pid" 2>/dev/null || true; }
wait_gone() { local i=0; while alive "$1"; do i=$((i+1)); [ $i -gt "$2" ] && return 1; sleep 0.1; done; }

dockerd_running() { alive_as "$(pidof_file dockerd)" dockerd; }
sshd_running() { alive_as "$(pidof_file sshd)" sshd; }

start_dockerd() {
  dockerd_running && return 0
  cg_join "$NODE/sys"
  rm -f /run/docker.pid
  # A test may add listeners (e.g. tcp with --tlsverify) through $D/dockerd.extra-args, one per line.
  local extra=()
  [ -f "$D/dockerd.extra-args" ] && mapfile -t extra <"$D/dockerd.extra-args"
  # PREFER_OFFLINE_IMAGE: swarm tasks never try a registry; --shutdown-timeout 2: fast restarts.
  DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 setsid /usr/sbin/dockerd \
    -H unix:///var/run/docker.sock -H "unix://$D/docker.sock" "${extra[@]}" \
    --pidfile /run/docker.pid --cgroup-parent "/$CG_ROOT/$NODE" --shutdown-timeout 2 \
    >>"$D/dockerd.log" 2>&1 </dev/null &
  echo $! >"$D/dockerd.pid"
  local i=0
  until [ "$("${CURL[@]}" http://d/_ping 2>/dev/null)" = OK ]; do
    i=$((i+1))
    # plain alive: for a moment after the fork the PID still runs setsid, not dockerd
    if [ $i -gt 300 ] || ! alive "$(pidof_file dockerd)"; then log "dockerd did not come up"; echo "dockerd did not come up, see $D/dockerd.log" >&2; return 1; fi
    sleep 0.1
  done
  log "dockerd up pid $(pidof_file dockerd)"
}

stop_dockerd() {
  local p; p=$(pidof_file dockerd)
  if dockerd_running; then
    kill -TERM "$p"
    wait_gone "$p" 200 || { kill -KILL "$p" 2>/dev/null || true; wait_gone "$p" 30 || true; }
  fi
  rm -f /run/docker.pid "$D/dockerd.pid"
  log "dockerd stopped"
}

start_sshd() {
  sshd_running && return 0
  cg_join "$NODE/sys"
  setsid /usr/sbin/sshd -D -e -f "$D/sshd_config" >>"$D/sshd.log" 2>&1 </dev/null &
  echo $! >"$D/sshd.pid"
  local i=0
  until (exec 3<>"/dev/tcp/$IP/22") 2>/dev/null; do
    i=$((i+1))
    if [ $i -gt 400 ] || ! alive "$(pidof_file sshd)"; then
      log "sshd did not come up: $(tail -n 3 "$D/sshd.log" 2>/dev/null | tr '\n' ' ')"
      echo "sshd did not come up, see $D/sshd.log" >&2; return 1
    fi
    sleep 0.05
  done
  log "sshd up pid $(pidof_file sshd)"
}

descendants() {   # $1 = pid; prints all descendant pids (one pass over /proc/*/stat)
  # A process may exit between the glob and the read; with pipefail that must not fail us.
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
    { line = $0; sub(/^[0-9]+ \(.*\) /, "", line); split(line, a, " "); kids[a[2]] = kids[a[2]] " " $1 }
    END { q[1] = root; n = 1; i = 1
          while (i <= n) { m = split(kids[q[i]], c, " "); for (j = 1; j <= m; j++) { q[++n] = c[j]; print c[j] } i++ } }'
}

# Stop sshd like a crash/stop of the service: the listener AND every session it spawned, so
# established connections drop mid-command.
stop_sshd() {
  local p d; p=$(pidof_file sshd)
  if sshd_running; then
    d=$(descendants "$p" | tr '\n' ' ')
    kill -KILL "$p" $d 2>/dev/null || true
    wait_gone "$p" 50 || true
  fi
  rm -f /run/sshd.pid "$D/sshd.pid"
  log "sshd stopped"
}

new_boot_id() { cat /proc/sys/kernel/random/uuid >"$D/boot_id"; }   # written in place: it is bind-mounted

# Kill every process of the node except the holder (what a power cycle does).
kill_node_procs() {
  local holder sig p i
  holder=$(pidof_file holder)
  for sig in TERM KILL; do
    for p in $(node_pids); do
      [ "$p" = "$holder" ] || [ "$p" = $$ ] || kill -"$sig" "$p" 2>/dev/null || true
    done
    i=0
    while [ $i -lt 20 ]; do
      local left=0
      for p in $(node_pids); do [ "$p" = "$holder" ] || [ "$p" = $$ ] || left=1; done
      [ $left = 0 ] && return 0
      i=$((i+1)); sleep 0.1
    done
  done
}

reboot_worker() {
  cg_join "$NODE-reboot"       # step out of the node's cgroup so the power cycle spares us
  echo $$ >"$D/reboot.pid"
  log "reboot: going down"
  sleep 0.3                     # let the caller's "reboot" command return its output first
  stop_dockerd
  kill_node_procs
  rm -f /run/sshd.pid /run/docker.pid /run/reboot-required /run/reboot-required.pkgs "$D/sshd.pid" "$D/dockerd.pid"
  new_boot_id
  if [ -e "$D/no-return" ]; then
    log "reboot: no-return fault set — node stays down"
    echo down >"$D/power"
    rm -f "$D/reboot.pid"
    return 0
  fi
  local delay; delay=$(cat "$D/reboot-delay" 2>/dev/null || echo 2)
  sleep "$delay"
  start_dockerd || true
  start_sshd || true
  echo up >"$D/power"
  log "reboot: back up (boot id $(cat "$D/boot_id"))"
  rm -f "$D/reboot.pid"
}

# Called by the reboot/shutdown shims: detach a worker (double fork + setsid, so it is no
# longer a descendant of the caller's ssh session) and let the session be dropped.
reboot_detached() {
  echo rebooting >"$D/power"
  ( setsid "$0" reboot-worker </dev/null >>"$D/agent.log" 2>&1 & )
  echo "Rebooting $NODE (lab)."
  # Like a real reboot, the command usually does not return before the connection drops.
  sleep 10
}

engine_upgrade() {   # $1 = package spec, e.g. docker.io=20.10.24+dfsg1-1
  local spec=$1 ver=${1#*=}
  [ "$ver" = "$spec" ] && ver=latest
  echo "Unpacking ${spec%%=*} ($ver) ..."
  stop_dockerd
  printf '%s\n' "$ver" >/var/lib/drydock-lab/engine-version
  record_pkg "${spec%%=*}" "$ver"
  if [ "$(cat "$D/upgrade-result" 2>/dev/null || echo ok)" = fail ]; then
    echo "Setting up ${spec%%=*} ($ver) ..."
    echo "Job for docker.service failed because the control process exited with error code." >&2
    echo "dpkg: error processing package ${spec%%=*} (--configure):" >&2
    echo "E: Sub-process /usr/bin/dpkg returned an error code (1)" >&2
    log "engine upgrade to $ver: FAILED (upgrade-result=fail), dockerd left stopped"
    return 100
  fi
  start_dockerd
  echo "Setting up ${spec%%=*} ($ver) ..."
  log "engine upgrade to $ver: ok"
}

record_pkg() {   # name version — node-local package "database"
  local f=/var/lib/drydock-lab/packages
  touch "$f"
  grep -v "^$1 " "$f" >"$f.new" || true
  printf '%s %s\n' "$1" "$2" >>"$f.new"
  mv "$f.new" "$f"
}

apt_get() {
  local args=() a skip=0 simulate=0
  for a in "$@"; do
    if [ $skip = 1 ]; then skip=0; continue; fi
    case $a in
      -o|-t|-c) skip=1 ;;
      -s|--simulate|--dry-run|--just-print|--no-act|--recon) simulate=1 ;;
      -*) ;;
      *) args+=("$a") ;;
    esac
  done
  if [ $simulate = 1 ]; then apt_get_simulate "${args[0]:-}"; return; fi
  case "${args[0]:-}" in
    update)
      echo "Hit:1 lab://drydock-lab bookworm InRelease"
      echo "Reading package lists... Done" ;;
    upgrade|dist-upgrade|full-upgrade)
      local lvl
      lvl=$(awk '$1=="lab-patchlevel"{print $2}' /var/lib/drydock-lab/packages 2>/dev/null || true)
      lvl=$(( ${lvl:-0} + 1 ))
      echo "Reading package lists... Done"
      echo "The following packages will be upgraded:"
      echo "  lab-patchlevel linux-image-lab"
      record_pkg lab-patchlevel "$lvl"
      record_pkg linux-image-lab "6.1.0-lab$lvl"
      echo "2 upgraded, 0 newly installed, 0 to remove and 0 not upgraded."
      if [ "$(cat "$D/patch-needs-reboot" 2>/dev/null || echo yes)" = yes ]; then
        echo "*** System restart required ***" >/run/reboot-required
        echo linux-image-lab >/run/reboot-required.pkgs
      fi
      log "apt-get ${args[0]}: patchlevel $lvl" ;;
    install)
      local p rc=0
      echo "Reading package lists... Done"
      for p in "${args[@]:1}"; do
        case $p in
          docker.io|docker.io=*|docker-ce|docker-ce=*) engine_upgrade "$p" || rc=$? ;;
          *=*) record_pkg "${p%%=*}" "${p#*=}" ;;
          *) record_pkg "$p" latest ;;
        esac
      done
      return $rc ;;
    *) echo "E: drydock lab apt-get shim: unsupported command '${args[0]:-}'" >&2; return 100 ;;
  esac
}

# `apt-get -s upgrade`: read-only. A node never upgraded has two upgradable packages; after its
# first `apt-get upgrade` (lab-patchlevel recorded) it has none.
apt_get_simulate() {
  case "$1" in
    upgrade|dist-upgrade|full-upgrade)
      echo "Reading package lists... Done"
      if grep -q '^lab-patchlevel ' /var/lib/drydock-lab/packages 2>/dev/null; then
        echo "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded."
      else
        echo "Inst lab-patchlevel [0] (1 lab:bookworm [all])"
        echo "Inst linux-image-lab [6.1.0-lab0] (6.1.0-lab1 lab:bookworm [amd64])"
        echo "Conf lab-patchlevel (1 lab:bookworm [all])"
        echo "2 upgraded, 0 newly installed, 0 to remove and 0 not upgraded."
      fi ;;
    *) echo "E: drydock lab apt-get shim: unsupported simulated command '$1'" >&2; return 100 ;;
  esac
}

systemctl_shim() {
  local verb=${1:-} unit=${2:-}; unit=${unit%.service}
  case "$verb:$unit" in
    reboot:*) reboot_detached ;;
    start:docker) start_dockerd ;;
    stop:docker) stop_dockerd ;;
    restart:docker) stop_dockerd; start_dockerd ;;
    is-active:docker) if dockerd_running; then echo active; else echo inactive; return 3; fi ;;
    is-active:ssh|is-active:sshd) if sshd_running; then echo active; else echo inactive; return 3; fi ;;
    *) echo "drydock lab systemctl shim: unsupported: systemctl $*" >&2; return 1 ;;
  esac
}

cmd=${1:-}; shift || true
case $cmd in
  start-dockerd) start_dockerd ;;
  stop-dockerd) stop_dockerd ;;
  start-sshd) start_sshd ;;
  stop-sshd) stop_sshd ;;
  start) start_dockerd; start_sshd; echo up >"$D/power" ;;
  reboot) reboot_detached ;;
  reboot-async) echo rebooting >"$D/power"; ( setsid "$0" reboot-worker </dev/null >>"$D/agent.log" 2>&1 & ) ;;
  reboot-worker) reboot_worker ;;
  apt-get) apt_get "$@" ;;
  systemctl) systemctl_shim "$@" ;;
  exec) cg_join "$NODE/sys"; exec "$@" ;;
  *) echo "usage: node-agent.sh start|start-dockerd|stop-dockerd|start-sshd|stop-sshd|reboot|apt-get ...|systemctl ...|exec CMD" >&2; exit 2 ;;
esac
