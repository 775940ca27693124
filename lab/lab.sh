#!/usr/bin/env bash
# lab.sh — drydock's namespace lab: a real multi-node Docker Swarm on ONE Linux host.
#
# Each node "nodeK" is a network namespace (eth0 = 10.77.0.(10+K)/24 on bridge ddbr0) plus a
# private mount + UTS namespace held by a "holder" process, with its own hostname, /run,
# /var/lib/docker, /etc/docker, root home, host key, boot id and a shim dir over /usr/local/sbin
# (reboot, shutdown, apt-get, systemctl). Each node runs its own sshd and dockerd.
# Everything a node runs lives in the cgroup ddlab/nodeK, which is how `down` and the
# reboot shim find (and kill) exactly the node's processes — never by name.
#
# See lab/README.md for the interface, the safety model and measured figures.
set -euo pipefail

LAB=${DRYDOCK_LAB_DIR:-/tmp/drydock-lab}
HERE=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# Several labs can share one machine (other engineers' checks run beside this one): every
# host-visible name derives from these, so a second lab only needs other values here.
NAME=${DRYDOCK_LAB_NAME:-ddlab}            # netns ${NAME}-nodeK, cgroup $NAME/, iptables chains
BR=${DRYDOCK_LAB_BRIDGE:-ddbr0}
NET=${DRYDOCK_LAB_NET:-10.77.0}            # /24 prefix of the lab subnet
VETH_PREFIX=${DRYDOCK_LAB_VETH_PREFIX:-ddv} # host side veth ddvK
POOL=${DRYDOCK_LAB_POOL:-10.78.0.0/16}     # swarm overlay subnets; only ever inside nodes
HOSTIP=$NET.1
SUBNET=$NET.0/24
IMAGE=local/busybox:1
NS_PREFIX=$NAME-
FWD_CHAIN=${NAME^^}-FWD
IN_CHAIN=${NAME^^}-IN
MAX_NODES=50
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=docker
DEPS=(docker.io containerd runc iptables busybox-static openssh-server openssh-client
      iproute2 util-linux curl ca-certificates)

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { echo "lab.sh: $*" >&2; exit 1; }
usage() {
  cat >&2 <<EOF
usage: lab.sh deps
       lab.sh up [--nodes N] [--managers M] [--reboot-delay S]     (default 3 nodes, 1 manager)
       lab.sh down
       lab.sh status [--json]
       lab.sh env                                                  (shell exports for tests)
       lab.sh exec nodeK [--] CMD...
       lab.sh reboot nodeK                                         (same as 'reboot' on the node)
       lab.sh fault NAME nodeK [ARGS]  |  lab.sh heal NAME nodeK [ARGS]
           NAME: default-route | route DEST | dockerd | sshd | no-return | block-port PORT |
                 unschedulable SERVICE | clock-skew SECONDS | host-key | cut-link |
                 engine-upgrade-fail | freeze-dockerd | freeze-sshd | drop-link
       lab.sh set-upgrade-result nodeK ok|fail
       lab.sh set-reboot-delay nodeK SECONDS
       lab.sh set-patch-reboot nodeK yes|no
EOF
  exit 2
}

node_ip() { echo "$NET.$((10 + $1))"; }
nd() { echo "$LAB/nodes/node$1"; }
ns_of() { echo "${NS_PREFIX}node$1"; }
dk() { "$DOCKER" -H "unix://$(nd "$1")/docker.sock" "${@:2}"; }   # docker CLI against node $1
# alive = exists and is not a zombie (a killed holder lingers as Z until init reaps it)
alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
  local st; st=$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [ "$st" != Z ]
}
# alive AND still that program (see node-agent.sh: a long suite wraps the PID space)
alive_as() { alive "${1:-}" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]; }
holder_pid() { cat "$(nd "$1")/holder.pid" 2>/dev/null || true; }
shape() { cat "$LAB/shape" 2>/dev/null || true; }          # "N M"
node_count() { local s; s=$(shape); echo "${s%% *}"; }
manager_count() { local s; s=$(shape); echo "${s##* }"; }
is_int() { [[ ${1:-} =~ ^[0-9]+$ ]]; }

# cgroup dirs of a leaf below ddlab (v1: pids + memory hierarchies; v2: unified)
cg_dirs() {
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then echo "/sys/fs/cgroup/$NAME/$1"
  else echo "/sys/fs/cgroup/pids/$NAME/$1" "/sys/fs/cgroup/memory/$NAME/$1"; fi
}
cg_pids() {   # all pids below ddlab/$1
  local base; base=$(cg_dirs "$1" | awk '{print $1}')
  [ -d "$base" ] && find "$base" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -un || true
}
node_mem_bytes() {
  local f
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then f=/sys/fs/cgroup/$NAME/node$1/memory.current
  else f=/sys/fs/cgroup/memory/$NAME/node$1/memory.usage_in_bytes; fi
  cat "$f" 2>/dev/null || echo 0
}

# Run the node agent inside node K (nsenter into the holder's namespaces).
agent() {
  local k=$1 hp; shift
  hp=$(holder_pid "$k"); alive "$hp" || die "node$k is not running (no holder process)"
  nsenter -t "$hp" -n -m -u -- env LAB="$LAB" NODE="node$k" IP="$(node_ip "$k")" CG_ROOT="$NAME" \
    "$LAB/bin/node-agent.sh" "$@"
}

parse_node() {   # "nodeK" -> K, validated against the running lab
  [[ ${1:-} =~ ^node([0-9]+)$ ]] || { echo "lab.sh: expected a node name like node1, got '${1:-}'" >&2; usage; }
  local k=${BASH_REMATCH[1]}
  [ -d "$(nd "$k")" ] || die "no such node in the lab: $1"
  echo "$k"
}

# ---------------------------------------------------------------- deps
cmd_deps() {
  local missing=() p
  for p in "${DEPS[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then echo "deps: all installed"; return 0; fi
  log "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Services are not started by the package scripts we rely on: the lab starts its own daemons.
  apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${DEPS[@]}" >/dev/null
}

# ---------------------------------------------------------------- up
lab_is_up() {   # every recorded holder alive and the bridge present
  [ -f "$LAB/shape" ] && ip link show "$BR" >/dev/null 2>&1 || return 1
  local k n; n=$(node_count)
  for k in $(seq 1 "$n"); do alive "$(holder_pid "$k")" || return 1; done
}

leftovers_exist() {
  [ -e "$LAB" ] || ip link show "$BR" >/dev/null 2>&1 || ip netns list | grep -q "^$NS_PREFIX" ||
    [ -d "/sys/fs/cgroup/pids/$NAME" ] || [ -d "/sys/fs/cgroup/$NAME" ]
}

check_subnet_free() {   # refuse to run over another lab using the same subnet (e.g. the recipe)
  local other
  other=$(ip -o -4 addr show | awk -v br="$BR" -v net="$NET." '$2 != br && index($4, net) == 1 {print $2}' | head -1)
  [ -z "$other" ] || die "interface $other already uses $SUBNET (another lab running?) — stop it first"
}

setup_host_network() {
  ip link add "$BR" type bridge
  ip addr add "$HOSTIP/24" dev "$BR"
  ip link set "$BR" up
  # The lab's ONLY FORWARD rule: jump to our chain. Bridged node<->node traffic (incl. VXLAN,
  # it traverses FORWARD because of br_netfilter) is accepted; anything from the lab to elsewhere,
  # or from elsewhere into the lab, is dropped — so the nodes' default route via 10.77.0.1
  # can never carry a packet off the lab, even if the host has ip_forward=1.
  iptables -N "$FWD_CHAIN" 2>/dev/null || iptables -F "$FWD_CHAIN"
  iptables -A "$FWD_CHAIN" -i "$BR" -o "$BR" -j ACCEPT
  iptables -A "$FWD_CHAIN" -i "$BR" -j DROP
  iptables -A "$FWD_CHAIN" -o "$BR" -j DROP
  iptables -C FORWARD -j "$FWD_CHAIN" 2>/dev/null || iptables -I FORWARD 1 -j "$FWD_CHAIN"
  # Nodes may not open connections to the host's own services either (only replies + ping).
  iptables -N "$IN_CHAIN" 2>/dev/null || iptables -F "$IN_CHAIN"
  iptables -A "$IN_CHAIN" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  iptables -A "$IN_CHAIN" -p icmp -j ACCEPT
  iptables -A "$IN_CHAIN" -j REJECT
  iptables -C INPUT -i "$BR" -j "$IN_CHAIN" 2>/dev/null || iptables -I INPUT 1 -i "$BR" -j "$IN_CHAIN"
}

# Mount points the nodes need; create missing ones on the host and remember them for `down`.
ensure_mountpoints() {
  local p
  for p in /var/lib/docker /var/lib/drydock-lab /etc/docker; do
    [ -d "$p" ] || { mkdir -p "$p"; echo "$p" >>"$LAB/created-dirs"; }
  done
}

write_node_files() {   # $1 = K, $2 = N (for /etc/hosts)
  local k=$1 n=$2 d ip j
  d=$(nd "$k"); ip=$(node_ip "$k")
  mkdir -p "$d"/{docker,etc-docker,state,sbin,cgmnt,faults}
  cat /proc/sys/kernel/random/uuid >"$d/boot_id"
  cat "$LAB/reboot-delay" >"$d/reboot-delay"
  echo ok >"$d/upgrade-result"
  echo yes >"$d/patch-needs-reboot"
  echo "node$k" >"$d/hostname"
  { echo "127.0.0.1 localhost"; echo "127.0.1.1 node$k"
    for j in $(seq 1 "$n"); do echo "$(node_ip "$j") node$j"; done; } >"$d/hosts"
  # No nameserver: lookups fail at once (127.0.0.1 refuses) instead of timing out.
  printf '# drydock lab: no DNS inside the lab\noptions timeout:1 attempts:1\n' >"$d/resolv.conf"
  ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key" -C "node$k"
  cp "$d/ssh_host_ed25519_key" "$d/ssh_host_ed25519_key.orig"
  cp "$d/ssh_host_ed25519_key.pub" "$d/ssh_host_ed25519_key.pub.orig"
  cat >"$d/sshd_config" <<EOF
ListenAddress $ip
Port 22
HostKey $d/ssh_host_ed25519_key
PidFile /run/sshd.pid
AuthorizedKeysFile $LAB/ssh/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 100:30:200
MaxSessions 50
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  write_root_home "$d/root"
  local s
  for s in reboot shutdown apt-get systemctl; do cp "$HERE/lib/shim.sh" "$d/sbin/$s"; done
  printf 'LAB=%s\nNODE=node%s\nIP=%s\nCG_ROOT=%s\n' "$LAB" "$k" "$ip" "$NAME" >"$d/sbin/.ddlab.env"
}

# Root's home inside a node, bind-mounted over /root. Nodes share the host's filesystem, so
# without it every SSH session on a node ran the HOST's root dotfiles: e.g. a pyenv init whose
# `pyenv rehash` takes a lock in /root/.pyenv, which a session killed mid-login (a reboot, the
# sshd fault, a timeout) left behind, stalling every later login on the machine for 60 s.
# A node gets what a fresh server has: a minimal .profile and .bashrc.
write_root_home() {   # $1 = dir
  local h=$1
  mkdir -p "$h/.ssh"
  chmod 700 "$h" "$h/.ssh"
  printf '%s\n' "# drydock lab node: root's own home (lab/README.md), not the host's" \
    'if [ "$BASH" ] && [ -f ~/.bashrc ]; then . ~/.bashrc; fi' >"$h/.profile"
  printf '%s\n' "# drydock lab node: root's own home (lab/README.md), not the host's" >"$h/.bashrc"
}

start_holder() {   # $1 = K
  local k=$1 d ns ip cgs c
  d=$(nd "$k"); ns=$(ns_of "$k"); ip=$(node_ip "$k")
  ip netns add "$ns"
  ip link add "$VETH_PREFIX$k" type veth peer name eth0 netns "$ns"
  ip link set "$VETH_PREFIX$k" master "$BR" up
  ip -n "$ns" addr add "$ip/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
  # A default route via the host makes "default route deleted" a meaningful fault; the host
  # drops everything leaving the lab (see setup_host_network), and the node itself rejects
  # off-lab destinations so nothing waits on timeouts.
  ip -n "$ns" route add default via "$HOSTIP"
  ip netns exec "$ns" iptables -A OUTPUT -o eth0 ! -d "$SUBNET" -j REJECT --reject-with icmp-net-unreachable
  cgs=$(cg_dirs "node$k/sys")
  for c in $cgs; do mkdir -p "$c"; done
  rm -f "$d/holder.ready"
  # Holder: private mount + UTS namespace; everything the node runs is entered through it.
  setsid nsenter --net="/run/netns/$ns" unshare --mount --uts --propagation slave /bin/sh -c "
    set -e
    for c in $cgs; do echo \$\$ > \$c/cgroup.procs; done
    mount --rbind /sys/fs/cgroup '$d/cgmnt'
    mount -t sysfs sysfs /sys                 # sysfs showing this netns' interfaces
    mount --move '$d/cgmnt' /sys/fs/cgroup    # dockerd needs the cgroup hierarchies back
    mount -t tmpfs -o mode=755 ddlab-run /run
    mkdir -p /run/sshd /run/lock
    mount --bind '$d/docker' /var/lib/docker
    mount --bind '$d/etc-docker' /etc/docker
    mount --bind '$d/state' /var/lib/drydock-lab
    mount --bind '$d/sbin' /usr/local/sbin
    mount --bind '$d/boot_id' /proc/sys/kernel/random/boot_id
    mount --bind '$d/hosts' /etc/hosts
    mount --bind '$d/hostname' /etc/hostname
    mount --bind '$d/resolv.conf' /etc/resolv.conf
    mount --bind '$d/root' /root              # own home: no host dotfiles in node sessions
    hostname node$k
    touch '$d/holder.ready'
    exec sleep infinity" >"$d/holder.log" 2>&1 </dev/null &
  echo $! >"$d/holder.pid"
  local i=0
  until [ -f "$d/holder.ready" ]; do
    i=$((i+1)); alive "$(holder_pid "$k")" && [ $i -lt 200 ] || { cat "$d/holder.log" >&2; return 1; }
    sleep 0.05
  done
}

start_node() {   # $1 = K
  start_holder "$1"
  agent "$1" start >/dev/null
}

build_image() {
  local R=$LAB/bbroot a
  rm -rf "$R"; mkdir -p "$R"/{bin,etc,tmp,proc,sys,dev,www/cgi-bin}
  cp /bin/busybox "$R/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$R/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"; echo 'root:x:0:' >"$R/etc/group"
  echo ok >"$R/www/index.html"
  # /cgi-bin/host prints the container hostname (= the node name, see --hostname below)
  printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\nhostname\n' >"$R/www/cgi-bin/host"
  chmod +x "$R/www/cgi-bin/host"
  tar -C "$R" -c . | dk 1 import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
  dk 1 save "$IMAGE" >"$LAB/image.tar"
}

load_image() { dk "$1" load -q -i "$LAB/image.tar" >/dev/null; }

init_swarm() {   # $1 = N, $2 = M
  local n=$1 m=$2 k wt mt pids=()
  dk 1 swarm init --advertise-addr "$(node_ip 1)" --listen-addr "$(node_ip 1):2377" \
    --default-addr-pool "$POOL" >/dev/null
  wt=$(dk 1 swarm join-token -q worker); mt=$(dk 1 swarm join-token -q manager)
  for k in $(seq 2 "$m"); do   # managers one by one: raft membership changes are serial
    dk "$k" swarm join --token "$mt" --advertise-addr "$(node_ip "$k")" \
      --listen-addr "$(node_ip "$k"):2377" "$(node_ip 1):2377" >/dev/null
  done
  for k in $(seq $((m + 1)) "$n"); do
    dk "$k" swarm join --token "$wt" --advertise-addr "$(node_ip "$k")" \
      --listen-addr "$(node_ip "$k"):2377" "$(node_ip 1):2377" >/dev/null & pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k"; done
  local i=0
  until [ "$(dk 1 node ls --format '{{.Status}}' | grep -c '^Ready$')" -eq "$n" ]; do
    i=$((i+1)); [ $i -gt 300 ] && { dk 1 node ls >&2; die "swarm nodes not Ready"; }; sleep 0.2
  done
}

create_demo_stack() {   # $1 = N
  local n=$1 reps
  # 2 replicas (1 per node: host-mode ports) so draining one node of 3 still converges.
  reps=2; [ "$n" -le 2 ] && reps=1
  local common=(--detach --init --stop-grace-period 1s --no-resolve-image --endpoint-mode dnsrr
                --hostname '{{.Node.Hostname}}')
  dk 1 service create "${common[@]}" --name web --replicas "$reps" --replicas-max-per-node 1 \
    --publish mode=host,target=8080,published=8080 "$IMAGE" httpd -f -p 8080 -h /www >/dev/null
  dk 1 service create "${common[@]}" --name api --replicas "$reps" --replicas-max-per-node 1 \
    --publish mode=host,target=8081,published=8081 "$IMAGE" httpd -f -p 8081 -h /www >/dev/null
  dk 1 service create "${common[@]}" --name agent --mode global "$IMAGE" sleep 2147483647 >/dev/null
}

wait_converged() {   # every service: running == desired (and desired > 0)
  local i=0 out
  while :; do
    out=$(dk 1 service ls --format '{{.Replicas}}' 2>/dev/null | awk '{split($1,a,"/"); if (a[1]!=a[2] || a[2]==0) bad=1} END {print bad ? "no" : "yes"}')
    [ "$out" = yes ] && return 0
    i=$((i+1)); [ $i -gt 600 ] && { dk 1 service ls >&2; die "demo stack did not converge"; }
    sleep 0.2
  done
}

cmd_up() {
  local n=3 m=1 delay=2
  while [ $# -gt 0 ]; do
    case $1 in
      --nodes) is_int "${2:-}" || usage; n=$2; shift 2 ;;
      --managers) is_int "${2:-}" || usage; m=$2; shift 2 ;;
      --reboot-delay) [[ ${2:-} =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage; delay=$2; shift 2 ;;
      *) usage ;;
    esac
  done
  [ "$n" -ge 1 ] && [ "$n" -le $MAX_NODES ] || { echo "lab.sh: --nodes must be 1..$MAX_NODES" >&2; exit 2; }
  [ "$m" -ge 1 ] && [ "$m" -le "$n" ] || { echo "lab.sh: --managers must be 1..nodes" >&2; exit 2; }
  if lab_is_up; then
    if [ "$(shape)" = "$n $m" ]; then
      echo "$delay" >"$LAB/reboot-delay"
      log "lab already up ($n nodes, $m managers)"; cmd_status; return 0
    fi
    log "lab is up as '$(shape)' (nodes managers); reshaping to '$n $m'"
    cmd_down
  elif leftovers_exist; then
    log "cleaning state of a previous (crashed?) lab"
    cmd_down
  fi
  check_subnet_free
  local t0=$SECONDS k pids=()
  mkdir -p "$LAB"/{nodes,ssh,bin}
  touch "$LAB/.drydock-lab"                           # marker: `down` only deletes a lab dir
  echo "$delay" >"$LAB/reboot-delay"
  cp "$HERE/lib/node-agent.sh" "$LAB/bin/node-agent.sh"; chmod +x "$LAB/bin/node-agent.sh"
  ensure_mountpoints
  ssh-keygen -q -t ed25519 -N '' -f "$LAB/ssh/id_ed25519" -C drydock-lab-client
  cp "$LAB/ssh/id_ed25519.pub" "$LAB/ssh/authorized_keys"
  for k in $(seq 1 "$n"); do write_node_files "$k" "$n"; done
  write_ssh_client_files "$n"
  setup_host_network
  for k in $(seq 1 "$n"); do start_node "$k" & pids+=($!); done
  for k in "${pids[@]}"; do wait "$k" || die "a node failed to start (see $LAB/nodes/*/dockerd.log)"; done
  echo "$n $m" >"$LAB/shape"
  log "$n nodes started after $((SECONDS - t0))s"
  build_image
  pids=(); for k in $(seq 2 "$n"); do load_image "$k" & pids+=($!); done
  for k in "${pids[@]}"; do wait "$k"; done
  init_swarm "$n" "$m"
  log "swarm of $n nodes ($m managers) ready after $((SECONDS - t0))s"
  create_demo_stack "$n"
  wait_converged
  echo $((SECONDS - t0)) >"$LAB/up-seconds"
  log "demo stack converged; lab up in $((SECONDS - t0))s"
  cmd_status
}

write_ssh_client_files() {   # known_hosts with every node's REAL host key, by IP and by name
  local n=$1 k
  : >"$LAB/ssh/known_hosts"
  : >"$LAB/ssh/config"
  for k in $(seq 1 "$n"); do
    echo "$(node_ip "$k"),node$k $(cut -d' ' -f1,2 "$(nd "$k")/ssh_host_ed25519_key.pub.orig")" >>"$LAB/ssh/known_hosts"
    cat >>"$LAB/ssh/config" <<EOF
Host node$k $(node_ip "$k")
  HostName $(node_ip "$k")
  User root
  IdentityFile $LAB/ssh/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $LAB/ssh/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
  ConnectTimeout 5
EOF
  done
}

# ---------------------------------------------------------------- down
kill_pids() {   # signal, pids...
  local sig=$1 p; shift
  for p in "$@"; do kill -"$sig" "$p" 2>/dev/null || true; done
}

down_node() {   # $1 = K
  local k=$1 d hp mntns p pids i
  d=$(nd "$k")
  hp=$(holder_pid "$k")
  # the reboot worker first, so it cannot bring daemons back while we tear down
  alive_as "$(cat "$d/reboot.pid" 2>/dev/null || true)" node-agent.sh && kill -KILL "$(cat "$d/reboot.pid")" 2>/dev/null || true
  kill_pids KILL $(cg_pids "node$k-reboot")
  mntns=""
  if alive "$hp"; then
    mntns=$(readlink "/proc/$hp/ns/mnt" || true)
    # never the host's own: a holder PID reused by a host process would name every process
    [ "$mntns" = "$(readlink /proc/$$/ns/mnt)" ] && mntns=""
  fi
  # No graceful engine stop: the node's data dir is deleted anyway. TERM, then KILL.
  for i in 1 2 3 4 5 6 7 8 9 10; do
    pids=$(cg_pids "node$k")
    # plus anything in the node's mount namespace that escaped the cgroup (e.g. plain nsenter)
    if [ -n "$mntns" ]; then   # one find, not one readlink per process (hosts run thousands)
      local pat=${mntns//[/\\[}; pat=${pat//]/\\]}
      pids="$pids $({ find /proc/[0-9]*/ns/mnt -maxdepth 0 -lname "$pat" 2>/dev/null || true; } | cut -d/ -f3 | tr '\n' ' ')"
    fi
    pids=$(echo $pids)
    [ -z "$pids" ] && break
    if [ $i -lt 3 ]; then kill_pids TERM $pids; else kill_pids KILL $pids; fi
    sleep 0.3
  done
  ip netns del "$(ns_of "$k")" 2>/dev/null || true
  ip link del "$VETH_PREFIX$k" 2>/dev/null || true
}

remove_cgroups() {
  local c
  for c in /sys/fs/cgroup/*/"$NAME" "/sys/fs/cgroup/$NAME"; do
    [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

cmd_down() {
  local d k pids=() ns
  if [ -e "$LAB" ] && [ ! -e "$LAB/.drydock-lab" ] && [ -n "$(ls -A "$LAB" 2>/dev/null)" ]; then
    die "$LAB exists but is not a drydock lab dir (no .drydock-lab marker); refusing to touch it"
  fi
  # every PID the lab recorded, to prove afterwards that none survived
  # (as pid:program of those alive now: a stale file may name a PID reused by a stranger)
  local recorded="" f p
  for f in "$LAB"/nodes/node*/{holder,sshd,dockerd,reboot}.pid; do
    p=$(cat "$f" 2>/dev/null || true)
    alive "$p" && recorded+=" $p:$(cat "/proc/$p/comm" 2>/dev/null)"
  done
  for d in "$LAB"/nodes/node*; do
    [ -d "$d" ] || continue
    k=${d##*node}; down_node "$k" & pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k" || true; done
  # namespaces/veths of a run whose state dir is gone (crash between steps)
  for ns in $(ip netns list | awk '{print $1}' | grep "^${NS_PREFIX}node" || true); do
    k=${ns#"${NS_PREFIX}node"}; down_node "$k"
  done
  remove_cgroups
  while iptables -D FORWARD -j "$FWD_CHAIN" 2>/dev/null; do :; done
  iptables -F "$FWD_CHAIN" 2>/dev/null && iptables -X "$FWD_CHAIN" 2>/dev/null || true
  while iptables -D INPUT -i "$BR" -j "$IN_CHAIN" 2>/dev/null; do :; done
  iptables -F "$IN_CHAIN" 2>/dev/null && iptables -X "$IN_CHAIN" 2>/dev/null || true
  ip link del "$BR" 2>/dev/null || true
  # Mount points the lab created on the host (and its own /var/lib/drydock-lab, even if that
  # record was lost in a crash) — but only while no other lab's nodes exist: removing a
  # directory that is a mount point in another mount namespace would detach it there.
  if ! ip netns list | grep -q -- '-node[0-9]'; then
    if [ -f "$LAB/created-dirs" ]; then
      while read -r d; do rmdir "$d" 2>/dev/null || true; done <"$LAB/created-dirs"
    fi
    rmdir /var/lib/drydock-lab 2>/dev/null || true
  fi
  [ -e "$LAB" ] && rm -rf --one-file-system "$LAB"
  local left; left=$(ip netns list | grep -c "^$NS_PREFIX" || true)
  [ "$left" -eq 0 ] || die "down: $left lab namespaces remain"
  for p in $recorded; do   # zombies (state Z) are dead, only waiting for init to reap them
    alive_as "${p%%:*}" "${p#*:}" && die "down: recorded lab process ${p%%:*} (${p#*:}) is still running"
  done
  log "lab removed"
}

# ---------------------------------------------------------------- status / env
json_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
pid_or_null() {   # $1 = pid, $2 = its program (comm), if it must be checked
  if [ -n "${2:-}" ]; then alive_as "${1:-}" "$2"; else alive "${1:-}"; fi && echo "$1" || echo null
}

node_json() {   # $1 = K, $2 = M
  local k=$1 m=$2 d role f faults="" sep=""
  d=$(nd "$k"); role=worker; [ "$k" -le "$m" ] && role=manager
  for f in "$d"/faults/*; do
    [ -e "$f" ] || continue
    faults+="$sep{\"name\":$(json_str "${f##*/}"),\"args\":$(json_str "$(cat "$f")")}"; sep=,
  done
  printf '{"name":"node%s","ip":"%s","role":"%s","netns":"%s","dockerSocket":%s,"holderPid":%s,' \
    "$k" "$(node_ip "$k")" "$role" "$(ns_of "$k")" "$(json_str "$d/docker.sock")" "$(pid_or_null "$(holder_pid "$k")")"
  printf '"sshdPid":%s,"dockerdPid":%s,"rebootPid":%s,"power":%s,"bootId":%s,' \
    "$(pid_or_null "$(cat "$d/sshd.pid" 2>/dev/null)" sshd)" "$(pid_or_null "$(cat "$d/dockerd.pid" 2>/dev/null)" dockerd)" \
    "$(pid_or_null "$(cat "$d/reboot.pid" 2>/dev/null)" node-agent.sh)" "$(json_str "$(cat "$d/power" 2>/dev/null || echo unknown)")" \
    "$(json_str "$(cat "$d/boot_id" 2>/dev/null)")"
  printf '"rebootDelay":%s,"upgradeResult":%s,"patchNeedsReboot":%s,"memoryBytes":%s,"faults":[%s]}' \
    "$(cat "$d/reboot-delay" 2>/dev/null || echo 2)" "$(json_str "$(cat "$d/upgrade-result" 2>/dev/null)")" \
    "$(json_str "$(cat "$d/patch-needs-reboot" 2>/dev/null)")" "$(node_mem_bytes "$k")" "$faults"
}

cmd_status() {
  local json=0 up=false n m k
  case "${1:-}" in --json) json=1 ;; "") ;; *) usage ;; esac
  lab_is_up && up=true
  n=$(node_count); m=$(manager_count)
  if [ $json = 1 ]; then
    printf '{"labDir":%s,"up":%s,"nodeCount":%s,"managers":%s,"user":"root",' \
      "$(json_str "$LAB")" "$up" "${n:-0}" "${m:-0}"
    printf '"sshKey":%s,"knownHosts":%s,"sshConfig":%s,"bridge":"%s","hostIp":"%s","subnet":"%s",' \
      "$(json_str "$LAB/ssh/id_ed25519")" "$(json_str "$LAB/ssh/known_hosts")" "$(json_str "$LAB/ssh/config")" \
      "$BR" "$HOSTIP" "$SUBNET"
    # the real engine: the apt-get shim only records a "target" version (see README)
    printf '"image":"%s","engineVersion":%s,"upSeconds":%s,"nodes":[' "$IMAGE" \
      "$(json_str "$(/usr/sbin/dockerd --version 2>/dev/null | sed -E 's/^Docker version ([^,]+),.*/\1/')")" \
      "$(cat "$LAB/up-seconds" 2>/dev/null || echo null)"
    local sep=""
    if [ -n "$n" ]; then for k in $(seq 1 "$n"); do printf '%s' "$sep"; node_json "$k" "$m"; sep=,; done; fi
    printf ']}\n'
    return 0
  fi
  if [ -z "$n" ]; then echo "lab: down ($LAB)"; return 0; fi
  echo "lab: $([ $up = true ] && echo up || echo BROKEN) — $n nodes, $m managers, dir $LAB, up in $(cat "$LAB/up-seconds" 2>/dev/null || echo ?)s"
  printf '%-7s %-11s %-8s %-8s %-8s %-8s %-7s %s\n' NODE IP ROLE HOLDER SSHD DOCKERD MEM_MB FAULTS
  for k in $(seq 1 "$n"); do
    local d; d=$(nd "$k")
    printf '%-7s %-11s %-8s %-8s %-8s %-8s %-7s %s\n' "node$k" "$(node_ip "$k")" \
      "$([ "$k" -le "$m" ] && echo manager || echo worker)" \
      "$(pid_or_null "$(holder_pid "$k")" | sed s/null/-/)" \
      "$(pid_or_null "$(cat "$d/sshd.pid" 2>/dev/null)" sshd | sed s/null/down/)" \
      "$(pid_or_null "$(cat "$d/dockerd.pid" 2>/dev/null)" dockerd | sed s/null/down/)" \
      "$(( $(node_mem_bytes "$k") / 1048576 ))" \
      "$(ls "$d/faults" 2>/dev/null | tr '\n' ' ')"
  done
  echo "ssh:    ssh -F $LAB/ssh/config node1"
  echo "docker: docker -H unix://$(nd 1)/docker.sock node ls"
}

cmd_env() {
  local n k
  n=$(node_count)
  echo "export DRYDOCK_LAB_DIR=$LAB"
  echo "export DRYDOCK_LAB_SSH_KEY=$LAB/ssh/id_ed25519"
  echo "export DRYDOCK_LAB_KNOWN_HOSTS=$LAB/ssh/known_hosts"
  echo "export DRYDOCK_LAB_SSH_CONFIG=$LAB/ssh/config"
  echo "export DRYDOCK_LAB_NODES='$(for k in $(seq 1 "${n:-0}"); do printf '%s ' "node$k=$(node_ip "$k")"; done)'"
}

# ---------------------------------------------------------------- exec / reboot
cmd_exec() {
  [ $# -ge 2 ] || usage
  local k; k=$(parse_node "$1"); shift
  [ "${1:-}" = -- ] && shift
  [ $# -ge 1 ] || usage
  agent "$k" exec "$@"
}

# ---------------------------------------------------------------- faults
first_manager_up() {   # a manager whose engine answers, preferring $1
  local k m; m=$(manager_count)
  for k in "$1" $(seq 1 "$m"); do
    [ "$k" -le "$m" ] && dk "$k" info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null | grep -q true && { echo "$k"; return 0; }
  done
  die "no reachable manager"
}

# The sshd listener and its session processes (comm sshd), not the shells and commands they
# started: what freezes when sshd itself hangs. Sessions opened later are frozen by the listener.
sshd_tree() {
  local c
  for c in $(cg_pids "node$1"); do
    [ "$(cat "/proc/$c/comm" 2>/dev/null)" = sshd ] && echo "$c"
  done
  return 0
}

sshd_reload() {   # SIGHUP: sshd re-executes itself and re-reads its host key (same PID)
  local p; p=$(cat "$(nd "$1")/sshd.pid" 2>/dev/null || true)
  alive_as "$p" sshd && kill -HUP "$p"
  sleep 0.3
}

cmd_fault() {   # $1 = fault|heal, $2 = NAME, $3 = nodeK, ARGS
  local action=$1 name=${2:-} k d ns arg=${4:-}
  [ -n "$name" ] && [ -n "${3:-}" ] || usage
  case $name in
    default-route|route|dockerd|sshd|no-return|block-port|unschedulable|clock-skew|host-key|cut-link|engine-upgrade-fail|\
      freeze-dockerd|freeze-sshd|drop-link) ;;
    *) echo "lab.sh: unknown fault '$name'" >&2; usage ;;
  esac
  k=$(parse_node "$3"); d=$(nd "$k"); ns=$(ns_of "$k")
  local mark="$d/faults/$name"
  case "$action:$name" in
    fault:default-route) ip -n "$ns" route del default ;;
    heal:default-route) ip -n "$ns" route replace default via "$HOSTIP" ;;
    fault:route)
      [ -n "$arg" ] || usage
      local line; line=$(ip -n "$ns" route show "$arg" | head -1)
      [ -n "$line" ] || die "node$k has no route $arg"
      echo "$line" >"$d/faults/.route-$(echo "$arg" | tr '/' '_')"
      ip -n "$ns" route del $line
      mark="$d/faults/route-$(echo "$arg" | tr '/' '_')" ;;
    heal:route)
      [ -n "$arg" ] || usage
      local saved="$d/faults/.route-$(echo "$arg" | tr '/' '_')"
      [ -f "$saved" ] || die "no saved route $arg for node$k"
      ip -n "$ns" route replace $(cat "$saved")
      rm -f "$saved"; mark="$d/faults/route-$(echo "$arg" | tr '/' '_')" ;;
    fault:dockerd) agent "$k" stop-dockerd ;;
    heal:dockerd) agent "$k" start-dockerd ;;
    fault:sshd) agent "$k" stop-sshd ;;
    heal:sshd) agent "$k" start-sshd ;;
    fault:no-return) touch "$d/no-return" ;;
    heal:no-return)
      rm -f "$d/no-return"
      # a node that already stayed down is "powered on" again
      if [ "$(cat "$d/power" 2>/dev/null)" = down ]; then agent "$k" start >/dev/null; fi ;;
    fault:block-port|heal:block-port)
      is_int "$arg" || usage
      # raw PREROUTING: host-mode published ports are DNATed to the container, so INPUT alone
      # would not see them.
      local spec=(-i eth0 -p tcp --dport "$arg" -m comment --comment "$NAME-block-$arg" -j DROP)
      if [ "$action" = fault ]; then
        ip netns exec "$ns" iptables -t raw -C PREROUTING "${spec[@]}" 2>/dev/null ||
          ip netns exec "$ns" iptables -t raw -I PREROUTING "${spec[@]}"
      else
        while ip netns exec "$ns" iptables -t raw -D PREROUTING "${spec[@]}" 2>/dev/null; do :; done
      fi
      mark="$d/faults/block-port-$arg" ;;
    fault:unschedulable|heal:unschedulable)
      [ -n "$arg" ] || usage
      local mgr flag=--constraint-add
      mgr=$(first_manager_up "$k"); [ "$action" = heal ] && flag=--constraint-rm
      dk "$mgr" service update --detach --no-resolve-image "$flag" 'node.labels.ddlab-unschedulable==true' "$arg" >/dev/null
      mark="$d/faults/unschedulable-$arg" ;;
    fault:clock-skew)
      [[ $arg =~ ^-?[0-9]+$ ]] || usage
      # SIMULATED: see README. Only `date` run inside the node is skewed.
      cat >"$d/sbin/date" <<EOF
#!/bin/sh
# drydock lab clock-skew shim (simulated): shifts what 'date' prints by $arg s
exec /bin/date -d "@\$(( \$(/bin/date +%s) + $arg ))" "\$@"
EOF
      chmod +x "$d/sbin/date" ;;
    heal:clock-skew) rm -f "$d/sbin/date" ;;
    fault:host-key)
      [ -f "$d/ssh_host_ed25519_key.alt" ] || ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key.alt" -C "node$k-changed"
      cp "$d/ssh_host_ed25519_key.alt" "$d/ssh_host_ed25519_key"
      cp "$d/ssh_host_ed25519_key.alt.pub" "$d/ssh_host_ed25519_key.pub"
      sshd_reload "$k" ;;
    heal:host-key)
      cp "$d/ssh_host_ed25519_key.orig" "$d/ssh_host_ed25519_key"
      cp "$d/ssh_host_ed25519_key.pub.orig" "$d/ssh_host_ed25519_key.pub"
      sshd_reload "$k" ;;
    fault:cut-link) ip link set "$VETH_PREFIX$k" down ;;
    heal:cut-link) ip link set "$VETH_PREFIX$k" up ;;
    fault:freeze-dockerd|heal:freeze-dockerd)
      local dp; dp=$(cat "$d/dockerd.pid" 2>/dev/null || true)
      alive_as "$dp" dockerd || die "node$k has no running dockerd"
      if [ "$action" = fault ]; then kill -STOP "$dp"; else kill -CONT "$dp"; fi ;;
    fault:freeze-sshd|heal:freeze-sshd)
      local sp; sp=$(sshd_tree "$k")
      [ -n "$sp" ] || die "node$k has no running sshd"
      # shellcheck disable=SC2086 # a list of PIDs
      if [ "$action" = fault ]; then kill -STOP $sp; else kill -CONT $sp; fi ;;
    fault:drop-link|heal:drop-link)
      # Every packet in and out of the node's eth0, forwarded (containers) included. Dropped in
      # the node: from outside that is silence (no RST, no ICMP); the node's own senders may see
      # EPERM, as under any local DROP rule. (This kernel has no netem or tc drop action.)
      local rule
      for rule in "INPUT -i eth0" "OUTPUT -o eth0" "FORWARD -i eth0" "FORWARD -o eth0"; do
        # shellcheck disable=SC2086 # chain and match words
        if [ "$action" = fault ]; then
          ip netns exec "$ns" iptables -C $rule -m comment --comment "$NAME-drop-link" -j DROP 2>/dev/null ||
            ip netns exec "$ns" iptables -I $rule -m comment --comment "$NAME-drop-link" -j DROP
        else
          while ip netns exec "$ns" iptables -D $rule -m comment --comment "$NAME-drop-link" -j DROP 2>/dev/null; do :; done
        fi
      done ;;
    fault:engine-upgrade-fail) echo fail >"$d/upgrade-result" ;;
    heal:engine-upgrade-fail) echo ok >"$d/upgrade-result" ;;
    *) echo "lab.sh: unknown fault '$name'" >&2; usage ;;
  esac
  if [ "$action" = fault ]; then echo "${*:4}" >"$mark"; else rm -f "$mark"; fi
  echo "$action $name node$k ${*:4}"
}

cmd_set() {   # $1 = setting, $2 = nodeK, $3 = value
  local k d; [ $# -eq 3 ] || usage
  case "$1:$3" in
    set-upgrade-result:ok|set-upgrade-result:fail|set-patch-reboot:yes|set-patch-reboot:no) ;;
    set-reboot-delay:*) [[ $3 =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage ;;
    *) usage ;;
  esac
  k=$(parse_node "$2"); d=$(nd "$k")
  case "$1:$3" in
    set-upgrade-result:ok|set-upgrade-result:fail) echo "$3" >"$d/upgrade-result" ;;
    set-patch-reboot:yes|set-patch-reboot:no) echo "$3" >"$d/patch-needs-reboot" ;;
    set-reboot-delay:*) [[ $3 =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage; echo "$3" >"$d/reboot-delay" ;;
    *) usage ;;
  esac
}

[ "$(id -u)" = 0 ] || die "must run as root"
cmd=${1:-}; shift || true
# up/down of concurrent callers (two test runs) are serialised on this script file (no lock
# file left behind); -o: the daemons that `up` starts must not inherit the lock.
if [ "$cmd" = up ] || [ "$cmd" = down ]; then
  if [ -z "${DDLAB_LOCKED:-}" ]; then
    DDLAB_LOCKED=1 exec flock -o "$HERE/lab.sh" bash "$HERE/lab.sh" "$cmd" "$@"
  fi
fi
case $cmd in
  deps) [ $# -eq 0 ] || usage; cmd_deps ;;
  up) cmd_up "$@" ;;
  down) [ $# -eq 0 ] || usage; cmd_down ;;
  status) cmd_status "$@" ;;
  env) cmd_env ;;
  exec) cmd_exec "$@" ;;
  reboot) [ $# -eq 1 ] || usage; k=$(parse_node "$1"); agent "$k" reboot-async ;;
  fault|heal) cmd_fault "$cmd" "$@" ;;
  set-upgrade-result|set-reboot-delay|set-patch-reboot) cmd_set "$cmd" "$@" ;;
  -h|--help|help) usage ;;
  *) usage ;;
esac
