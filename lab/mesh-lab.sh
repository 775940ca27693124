#!/usr/bin/env bash
# lab/mesh-lab.sh — drydock's MESH lab: a Docker Swarm of QEMU VMs whose kernel has IPVS, so the
# ingress routing mesh (published ports on every node, ingress-sbox, DOCKER-INGRESS, VIPs) is real.
# The namespace lab (lab/lab.sh) is fast but the host kernel has no IPVS; this one is slow but complete.
#
# Each VM (TCG — /dev/kvm here cannot boot a stock kernel): Debian's own kernel; root fs = the host's /
# read-only over 9p with a tmpfs overlay; /var/lib/docker on a persistent virtio-blk ext4 disk (swarm
# survives reboot); tini PID 1, sshd (own host key), dockerd on unix socket + tcp://IP:2375.
# Network: host bridge $DRYDOCK_MESH_BRIDGE (ddvbr0) = NET.1/24 (NET=$DRYDOCK_MESH_NET, 10.77.1), vmK = NET.(20+K),
# default route via NET.254
# (nobody answers there, so nothing leaves the lab).
#
# Usage: mesh-lab.sh deps | up [--nodes N] [--managers M] | down | status [--json] | exec vmK -- CMD...
#        | fault NAME vmK [ARGS] | heal NAME vmK [ARGS] | reboot vmK | wait vmK [SECS]
#        | apps up|down|status          (the traffic harness's two demo apps: lab/mesh-apps.sh)
#   faults: ingress-rule [PORT] | ipvs-backend [PORT] | mesh-port [PORT] | peer | default-route
#           | dockerd | cut-link | power                                (details: lab/MESH.md)
set -euo pipefail

DIR=${DRYDOCK_MESH_DIR:-/tmp/drydock-mesh}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Bridge, subnet and tap names come from the environment so a scratch mesh lab can run beside the suite's.
BR=${DRYDOCK_MESH_BRIDGE:-ddvbr0}
NET=${DRYDOCK_MESH_NET:-10.77.1}
TAP=${DRYDOCK_MESH_TAP_PREFIX:-ddvt}
DEAD_GW=$NET.254
VM_MEM=${DRYDOCK_MESH_VM_MEM:-1536}
DISK_SIZE=${DRYDOCK_MESH_DISK_SIZE:-4G}
IMAGE=local/busybox:1
WEB_PORT=8080
BOOT_TIMEOUT=${DRYDOCK_MESH_BOOT_TIMEOUT:-400}
FAULTS="ingress-rule ipvs-backend mesh-port peer default-route dockerd cut-link power"

log() { printf '[mesh %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
vm_ip() { echo "$NET.$((20 + $1))"; }
dk() { docker -H "tcp://$(vm_ip "$1"):2375" "${@:2}"; }
node_count() { cat "$DIR/state/nodes" 2>/dev/null || echo 0; }
# vm1..vmM are managers (M: --managers, DRYDOCK_MESH_MANAGERS, default 1); the rest are workers.
manager_count() { cat "$DIR/state/managers" 2>/dev/null || echo 1; }
node_role() { if [ "$1" -le "$(manager_count)" ]; then echo manager; else echo worker; fi; }
engine_answers() { curl -sf -m "${2:-2}" "http://$(vm_ip "$1"):2375/_ping" >/dev/null 2>&1; }
# the first manager whose engine answers (vm1 may be rebooting in a multi-manager lab)
mgr() {
  local k
  for k in $(seq 1 "$(manager_count)"); do
    engine_answers "$k" && { echo "$k"; return 0; }
  done
  echo 1
}
vm_num() { # vm3 -> 3, validated against the lab's size
  [[ ${1:-} =~ ^vm([1-9])$ ]] || die "bad node name '${1:-}' (want vm1..vm$(node_count))"
  local k=${BASH_REMATCH[1]}
  [ "$k" -le "$(node_count)" ] || die "$1 is not part of the lab ($(node_count) nodes)"
  echo "$k"
}
ssh_opts() {
  echo -i "$DIR/ssh/id_ed25519" -o "UserKnownHostsFile=$DIR/ssh/known_hosts" -o StrictHostKeyChecking=yes \
    -o BatchMode=yes -o ConnectTimeout=5 -o LogLevel=ERROR -o ServerAliveInterval=5 -o ServerAliveCountMax=3
}
vssh() { local k=$1; shift; ssh $(ssh_opts) "root@$(vm_ip "$k")" "$@"; }

# qemu is alive AND is ours (PID recorded by us, comm + cmdline checked — never kill by name).
qemu_alive() {
  local f=$DIR/vm$1/qemu.pid p
  [ -f "$f" ] || return 1; p=$(cat "$f")
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = qemu-system-x86 ] || return 1
  tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "mesh.dir=$DIR " || return 1
}

# ---------------------------------------------------------------- deps
KPKGS="qemu-system-x86 kmod busybox-static docker.io tini iptables ipvsadm openssh-server openssh-client iproute2 e2fsprogs util-linux curl haproxy socat"
cmd_deps() {
  local t0=$SECONDS missing=() p
  for p in $KPKGS; do dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  mkdir -p "$DIR/kernel"
  if [ ! -s "$DIR/kernel/kver" ]; then
    # Debian's kernel has IPVS/vxlan/9p as modules; fetch the package only (never installed on the host).
    local pkg tmp
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    [ -n "$pkg" ] || die "cannot resolve linux-image-amd64"
    log "fetching kernel $pkg"
    tmp=$(mktemp -d "$DIR/kernel/dl.XXXX")
    (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>&1) || { rm -rf "$tmp"; die "apt-get download $pkg failed"; }
    rm -rf "$DIR/kernel/x"; dpkg-deb -x "$tmp"/*.deb "$DIR/kernel/x"; rm -rf "$tmp"
    local kver; kver=$(ls "$DIR/kernel/x/lib/modules")
    depmod -b "$DIR/kernel/x" "$kver"
    echo "$kver" > "$DIR/kernel/kver"
  fi
  if [ ! -s "$DIR/kernel/initrd.gz" ] || [ "$HERE/mesh/initrd-init" -nt "$DIR/kernel/initrd.gz" ]; then build_initrd; fi
  log "deps ok in $((SECONDS - t0))s (kernel $(cat "$DIR/kernel/kver"))"
}

build_initrd() {
  local kver x d m
  kver=$(cat "$DIR/kernel/kver"); x=$DIR/kernel/x; d=$DIR/kernel/ird
  rm -rf "$d"; mkdir -p "$d"/{bin,mods,proc,sys,dev}
  cp /bin/busybox "$d/bin/"
  for m in sh mount umount mkdir insmod switch_root sed; do ln -s busybox "$d/bin/$m"; done
  # modules for 9p root + overlay, in dependency order straight from the guest kernel's modules.dep
  : > "$d/mods/order"
  modprobe -d "$x" -S "$kver" -a --show-depends virtio_pci 9pnet_virtio 9p overlay | awk '$1 == "insmod" {print $2}' |
    while read -r m; do
      grep -qx "$(basename "$m")" "$d/mods/order" && continue
      cp "$m" "$d/mods/"; basename "$m" >> "$d/mods/order"
    done
  install -m 0755 "$HERE/mesh/initrd-init" "$d/init"
  (cd "$d" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$DIR/kernel/initrd.gz"
  log "initrd built ($(wc -l < "$d/mods/order") modules)"
}

# ---------------------------------------------------------------- up
prepare_files() {
  local n=$1 k
  mkdir -p "$DIR/state" "$DIR/ssh" "$DIR/guest" "$DIR/faults" "$DIR/cache"
  # guest scripts are copied so a running lab does not depend on the work tree
  cp "$HERE"/mesh/guest/* "$DIR/guest/"
  [ -f "$DIR/ssh/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$DIR/ssh/id_ed25519" -C drydock-mesh-client
  cp "$DIR/ssh/id_ed25519.pub" "$DIR/ssh/authorized_keys"
  : > "$DIR/ssh/known_hosts.new"
  for k in $(seq 1 "$n"); do
    mkdir -p "$DIR/vm$k"
    # each VM gets its own host key; known_hosts lists exactly that key for the VM's IP
    [ -f "$DIR/vm$k/ssh_host_ed25519_key" ] ||
      ssh-keygen -q -t ed25519 -N '' -f "$DIR/vm$k/ssh_host_ed25519_key" -C "vm$k"
    echo "$(vm_ip "$k") $(cut -d' ' -f1,2 "$DIR/vm$k/ssh_host_ed25519_key.pub")" >> "$DIR/ssh/known_hosts.new"
    if [ ! -f "$DIR/vm$k/disk.img" ]; then
      truncate -s "$DISK_SIZE" "$DIR/vm$k/disk.img"
      # init inode tables/journal here (fast) rather than in the TCG guest (slow)
      mkfs.ext4 -q -F -L "vm$k-docker" -E lazy_itable_init=0,lazy_journal_init=0 "$DIR/vm$k/disk.img"
    fi
  done
  mv "$DIR/ssh/known_hosts.new" "$DIR/ssh/known_hosts"
  echo "$n" > "$DIR/state/nodes"
}

net_up() {
  local n=$1 k
  if ! ip link show "$BR" >/dev/null 2>&1; then
    ip link add "$BR" type bridge; ip addr add "$NET.1/24" dev "$BR"; ip link set "$BR" up
  fi
  # the one host firewall rule: let bridged lab frames pass FORWARD (br_netfilter is loaded here)
  iptables -C FORWARD -i "$BR" -o "$BR" -j ACCEPT 2>/dev/null || iptables -I FORWARD -i "$BR" -o "$BR" -j ACCEPT
  for k in $(seq 1 "$n"); do
    ip link show "$TAP$k" >/dev/null 2>&1 || ip tuntap add "$TAP$k" mode tap
    ip link set "$TAP$k" master "$BR" up
  done
}

boot_vm() {
  local k=$1 d=$DIR/vm$1 kver
  kver=$(cat "$DIR/kernel/kver")
  qemu_alive "$k" && return 0
  rm -f "$d/qemu.pid" "$d/console.log"
  # no -no-reboot: a guest reset (the VM's `reboot`) boots again inside the same qemu process/PID
  qemu-system-x86_64 -name "mesh-vm$k" -accel tcg,thread=multi -cpu max -smp 1 -m "$VM_MEM" \
    -nodefaults -no-user-config -display none -monitor none -serial "file:$d/console.log" \
    -kernel "$DIR/kernel/x/boot/vmlinuz-$kver" -initrd "$DIR/kernel/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 mitigations=off random.trust_cpu=on mesh.stage2=$DIR/guest/stage2 mesh.ip=$(vm_ip "$k") mesh.gw=$DEAD_GW mesh.name=vm$k mesh.dir=$DIR " \
    -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
    -drive "file=$d/disk.img,format=raw,if=virtio,cache=unsafe" \
    -netdev "tap,id=n0,ifname=$TAP$k,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=n0,mac=52:54:00:77:01:$(printf %02x $((20 + k)))" \
    -device virtio-rng-pci \
    -pidfile "$d/qemu.pid.tmp" -daemonize
  # qemu deletes its own pidfile on exit; keep our copy
  mv "$d/qemu.pid.tmp" "$d/qemu.pid" 2>/dev/null || cp "$d/qemu.pid.tmp" "$d/qemu.pid"
  cpu_group_join "$k" "$(cat "$d/qemu.pid")"
}

# One CPU group per VM, equal weights: the host's cores are shared per VM, not per thread. A VM
# that boots or starts an engine runs many host threads at once (its vCPU, and the 9p and I/O
# workers serving its root fs); shared per thread, they took most of the 2 cores here and the
# other VMs' vCPUs starved, so requests to healthy VMs timed out. Real VMs have their own CPUs.
# The group's name carries the bridge, so a scratch lab beside the suite's has its own.
cpu_group() { echo "drydock-mesh-$BR-vm$1"; }
cpu_group_join() {
  local k=$1 pid=$2 g; g=$(cpu_group "$k")
  if [ -w /sys/fs/cgroup/cpu ] && [ -f /sys/fs/cgroup/cpu/cpu.shares ]; then # cgroup v1
    mkdir -p "/sys/fs/cgroup/cpu/$g" && echo 1024 >"/sys/fs/cgroup/cpu/$g/cpu.shares" &&
      echo "$pid" >"/sys/fs/cgroup/cpu/$g/cgroup.procs" && return 0
  elif grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then # cgroup v2
    mkdir -p "/sys/fs/cgroup/$g" && echo "$pid" >"/sys/fs/cgroup/$g/cgroup.procs" && return 0
  fi
  log "vm$k: no CPU cgroup here; the VMs share the host's CPUs per thread"
}
cpu_group_remove() {
  local g; g=$(cpu_group "$1")
  rmdir "/sys/fs/cgroup/cpu/$g" 2>/dev/null || rmdir "/sys/fs/cgroup/$g" 2>/dev/null || true
}

# A VM is "ready" when dockerd answers on tcp and sshd accepts our key with strict host checking.
vm_ready() {
  engine_answers "$1" 3 && vssh "$1" true >/dev/null 2>&1
}
wait_vm() {
  local k=$1 t0=$SECONDS limit=${2:-$BOOT_TIMEOUT}
  until vm_ready "$k"; do
    qemu_alive "$k" || die "vm$k: qemu is not running (see $DIR/vm$k/console.log)"
    # fail fast on a broken boot instead of waiting out the timeout
    if grep -aq -E 'MESH_DOCKERD_FAILED|MESH_DISK_FAILED|Kernel panic' "$DIR/vm$k/console.log" 2>/dev/null; then
      die "vm$k boot failed: $(grep -a -E 'MESH_|panic' "$DIR/vm$k/console.log" | tail -3 | tr '\n' ' ')"
    fi
    [ $((SECONDS - t0)) -lt "$limit" ] || die "vm$k not ready after ${limit}s (see $DIR/vm$k/console.log)"
    sleep 2
  done
}

# busybox rootfs -> `docker import` once on vm1 -> saved tar cached (kept by down) -> `docker load` elsewhere
ensure_image() {
  local k=$1 tarf=$DIR/cache/busybox-image.tar
  dk "$k" image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  if [ ! -s "$tarf" ]; then
    local r=$DIR/cache/bbroot
    rm -rf "$r"; mkdir -p "$r"/{bin,etc,tmp,proc,sys,dev,www/cgi-bin}
    cp /bin/busybox "$r/bin/"
    for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' > "$r/etc/passwd"
    echo ok > "$r/www/index.html"
    printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\nhostname\n' > "$r/www/cgi-bin/host"
    chmod +x "$r/www/cgi-bin/host"
    tar -C "$r" -c . | dk "$k" import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
    dk "$k" save "$IMAGE" > "$tarf.tmp" && mv "$tarf.tmp" "$tarf"
    return 0
  fi
  dk "$k" load -q -i "$tarf" >/dev/null
}

swarm_state() { dk "$1" info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unreachable; }

ensure_joined() { # wait for vmK, load the image, join the swarm (as a manager when K <= managers)
  local k=$1 tok
  wait_vm "$k"; ensure_image "$k"
  if [ "$(swarm_state "$k")" != active ]; then
    tok=$(dk 1 swarm join-token -q "$(node_role "$k")")
    dk "$k" swarm join --token "$tok" --advertise-addr "$(vm_ip "$k")" --listen-addr "$(vm_ip "$k"):2377" \
      "$(vm_ip 1):2377" >/dev/null
  fi
  log "vm$k joined as $(node_role "$k") ($((SECONDS - T0))s)"
}

node_status() { dk "$(mgr)" node ls --format '{{.Hostname}} {{.Status}}' 2>/dev/null | awk -v h="vm$1" '$1 == h { print $2 }'; }

# vmK fully back in the mesh: engine + ssh up, Ready in the swarm, and the web port answering on it
# (after an engine restart the ingress DNAT/IPVS state takes a while to be re-programmed).
converge_node() {
  local k=$1 limit=${2:-$BOOT_TIMEOUT} t0=$SECONDS
  wait_vm "$k" "$limit"
  until [ "$(node_status "$k")" = Ready ] && web_answers "$k"; do
    [ $((SECONDS - t0)) -lt "$limit" ] || die "vm$k not Ready/serving :$WEB_PORT after ${limit}s"
    sleep 2
  done
}

ingress_peers() { dk "$1" network inspect --verbose ingress --format '{{range .Peers}}{{.IP}} {{end}}' 2>/dev/null; }

# peer fault/heal return only once the effect is visible, so checks can run right after them
wait_peer_gone() {
  local k=$1 j t0=$SECONDS ip; ip=$(vm_ip "$k")
  for j in $(seq 1 "$(node_count)"); do
    [ "$j" = "$k" ] && continue
    until ! ingress_peers "$j" | grep -qw -- "$ip"; do
      [ $((SECONDS - t0)) -lt 180 ] || die "vm$k still in vm$j's ingress peers after 180s"; sleep 2
    done
  done
}
wait_peers_full() {
  local j t0=$SECONDS n; n=$(node_count)
  for j in $(seq 1 "$n"); do
    until [ "$(ingress_peers "$j" | wc -w)" -eq "$n" ]; do
      [ $((SECONDS - t0)) -lt 240 ] || die "vm$j's ingress peer list not complete after 240s"; sleep 2
    done
  done
}

web_answers() { [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "http://$(vm_ip "$1"):$WEB_PORT/")" = 200 ]; }

cmd_up() {
  local n=3 m=${DRYDOCK_MESH_MANAGERS:-1}
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) n=$2; shift 2 ;; --nodes=*) n=${1#*=}; shift ;;
      --managers) m=$2; shift 2 ;; --managers=*) m=${1#*=}; shift ;;
      *) die "up: unknown arg $1" ;;
    esac
  done
  [[ $n =~ ^[1-9]$ ]] || die "--nodes must be 1..9"
  [[ $m =~ ^[1-9]$ ]] && [ "$m" -le "$n" ] || die "--managers must be 1..$n (the nodes)"
  # a running lab keeps the roles it was built with: joining again would not change them
  if [ "$(node_count)" -gt 0 ] && [ "$(manager_count)" != "$m" ]; then
    die "the lab in $DIR runs with $(manager_count) manager(s); 'down' first to change that"
  fi
  [ -s "$DIR/kernel/initrd.gz" ] || die "run '$0 deps' first"
  T0=$SECONDS
  prepare_files "$n"; echo "$m" > "$DIR/state/managers"; net_up "$n"
  local k
  for k in $(seq 1 "$n"); do boot_vm "$k"; done
  log "qemu started for $n VMs; waiting for vm1"
  wait_vm 1; log "vm1 ready ($((SECONDS - T0))s)"
  ensure_image 1
  if [ "$(swarm_state 1)" != active ]; then
    dk 1 swarm init --advertise-addr "$(vm_ip 1)" --listen-addr "$(vm_ip 1):2377" \
      --default-addr-pool 10.78.0.0/16 >/dev/null
  fi
  # demo stack now; workers join meanwhile (its task may land anywhere). `mesh` is a user overlay so
  # service-name DNS (the VIP) works inside containers; the published port goes through the ingress mesh.
  dk 1 network inspect mesh >/dev/null 2>&1 || dk 1 network create -d overlay --attachable mesh >/dev/null
  if ! dk 1 service inspect web >/dev/null 2>&1; then
    dk 1 service create --detach --name web --replicas 1 --network mesh --publish "published=$WEB_PORT,target=8080" \
      --init --stop-grace-period 1s --no-resolve-image "$IMAGE" httpd -f -p 8080 -h /www >/dev/null
  fi
  local pids=()
  for k in $(seq 2 "$n"); do ensure_joined "$k" & pids+=($!); done
  for k in "${pids[@]}"; do wait "$k" || die "a VM failed to join"; done
  local t=$SECONDS
  until [ "$(dk 1 node ls --format '{{.Status}}' | grep -c Ready)" -ge "$n" ]; do
    [ $((SECONDS - t)) -lt 300 ] || die "swarm nodes not Ready after 300s"; sleep 2
  done
  log "swarm of $n Ready ($((SECONDS - T0))s)"
  for k in $(seq 1 "$n"); do
    t=$SECONDS
    until web_answers "$k"; do
      [ $((SECONDS - t)) -lt 300 ] || die "port $WEB_PORT not answering on vm$k"; sleep 2
    done
  done
  log "up: $n VMs, swarm + web on :$WEB_PORT through the mesh on every VM in $((SECONDS - T0))s"
}

# ---------------------------------------------------------------- down
cmd_down() {
  local k p d
  # the traffic harness's HAProxy listens on the bridge address: it goes first
  bash "$HERE/mesh-haproxy.sh" down 2>/dev/null || true
  for d in "$DIR"/vm[0-9]*; do
    [ -d "$d" ] || continue; k=${d##*/vm}
    if qemu_alive "$k"; then
      p=$(cat "$d/qemu.pid"); kill "$p"
      for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$p" 2>/dev/null && kill -9 "$p"
    fi
    cpu_group_remove "$k"
    ip link del "$TAP$k" 2>/dev/null || true
  done
  iptables -D FORWARD -i "$BR" -o "$BR" -j ACCEPT 2>/dev/null || true
  ip link del "$BR" 2>/dev/null || true
  # state goes; the kernel and image caches stay
  rm -rf "$DIR"/vm[0-9]* "$DIR/state" "$DIR/ssh" "$DIR/guest" "$DIR/faults" "$DIR/haproxy"
  log "down (kept $DIR/kernel and $DIR/cache)"
}

# ---------------------------------------------------------------- status
cmd_status() {
  local json=0 n k; [ "${1:-}" = --json ] && json=1
  n=$(node_count)
  if [ "$json" = 1 ]; then
    local nodes=() faults=() f
    for k in $(seq 1 "$n"); do
      local role running=false pid=null
      role=$(node_role "$k")
      qemu_alive "$k" && { running=true; pid=$(cat "$DIR/vm$k/qemu.pid"); }
      nodes+=("{\"name\":\"vm$k\",\"ip\":\"$(vm_ip "$k")\",\"role\":\"$role\",\"dockerHost\":\"tcp://$(vm_ip "$k"):2375\",\"sshPort\":22,\"pid\":$pid,\"running\":$running}")
    done
    for f in "$DIR"/faults/*; do [ -f "$f" ] && faults+=("\"$(cat "$f")\""); done
    local IFS=,
    printf '{"dir":"%s","nodeCount":'"$n"',"up":%s,"bridge":"%s","subnet":"%s.0/24","user":"root","sshKey":"%s","knownHosts":"%s","image":"%s","webPort":%s,"nodes":[%s],"faults":[%s]}\n' \
      "$DIR" "$([ "$n" -gt 0 ] && echo true || echo false)" "$BR" "$NET" "$DIR/ssh/id_ed25519" "$DIR/ssh/known_hosts" \
      "$IMAGE" "$WEB_PORT" "${nodes[*]}" "${faults[*]}"
    return 0
  fi
  [ "$n" -gt 0 ] || { echo "mesh lab is down ($DIR)"; return 0; }
  for k in $(seq 1 "$n"); do
    local st=stopped; qemu_alive "$k" && st="qemu pid $(cat "$DIR/vm$k/qemu.pid")"
    printf 'vm%s  %-12s %-8s %s  docker=%s\n' "$k" "$(vm_ip "$k")" "$(node_role "$k")" "$st" \
      "$(curl -sf -m 2 "http://$(vm_ip "$k"):2375/_ping" 2>/dev/null || echo down)"
  done
  cat "$DIR"/faults/* 2>/dev/null | sed 's/^/fault: /' || true
  timeout 10 docker -H "tcp://$(vm_ip "$(mgr)"):2375" node ls 2>/dev/null || true
}

# ---------------------------------------------------------------- exec
cmd_exec() {
  local k; k=$(vm_num "${1:-}"); shift
  [ "${1:-}" = -- ] && shift
  [ $# -gt 0 ] || die "exec vmK -- CMD"
  vssh "$k" "$@"
}

# wait until vmK is back in the mesh (after a reboot, say): ssh + engine + Ready + web port answering
cmd_wait() { local k; k=$(vm_num "${1:-}"); converge_node "$k" "${2:-$BOOT_TIMEOUT}"; }

# ---------------------------------------------------------------- faults
# Every fault is one command and reversible with `heal` (same NAME, node, args). VM-side faults keep
# what they removed under /run/mesh-lab in the VM so heal restores exactly that.
fault_script() { # NAME ACTION(fault|heal) ARGS... -> bash script run inside the VM
  local name=$1 action=$2 port=${3:-$WEB_PORT}
  cat <<EOF
set -euo pipefail
PORT=$port; GW=$DEAD_GW; SB=/var/run/docker/netns/ingress_sbox; S=/run/mesh-lab
EOF
  case "$name.$action" in
    ingress-rule.fault) cat <<'EOF'
rule=$(iptables -t nat -S DOCKER-INGRESS | grep -E -- "--dport $PORT .*-j DNAT" | head -1 || true)
[ -n "$rule" ] || { echo "no nat DOCKER-INGRESS DNAT rule for port $PORT" >&2; exit 1; }
echo "$rule" > "$S/ingress-rule.$PORT"
iptables -t nat ${rule/-A /-D }
EOF
    ;;
    ingress-rule.heal) cat <<'EOF'
[ -f "$S/ingress-rule.$PORT" ] || exit 0
rule=$(cat "$S/ingress-rule.$PORT")
iptables -t nat ${rule/-A /-C } 2>/dev/null || iptables -t nat ${rule/-A DOCKER-INGRESS/-I DOCKER-INGRESS 1}
rm -f "$S/ingress-rule.$PORT"
EOF
    ;;
    ipvs-backend.fault) cat <<'EOF'
[ -e "$SB" ] || { echo "no ingress_sbox on this node" >&2; exit 1; }
# the port's firewall mark (set in ingress_sbox mangle PREROUTING) names its IPVS virtual service
mark=$(nsenter --net="$SB" iptables -t mangle -S PREROUTING | sed -n "s/.*--dport $PORT .*--set-xmark \(0x[0-9a-f]*\)\/.*/\1/p" | head -1)
[ -n "$mark" ] || { echo "no ingress fwmark for port $PORT" >&2; exit 1; }
mark=$((mark))
rs=$(nsenter --net="$SB" ipvsadm -Ln | awk -v m="$mark" '$1 == "FWM" { on = ($2 == m) } on && $1 == "->" && $2 ~ /:/ { print $2; exit }')
[ -n "$rs" ] || { echo "no IPVS backend for fwmark $mark" >&2; exit 1; }
echo "$mark $rs" > "$S/ipvs-backend.$PORT"
nsenter --net="$SB" ipvsadm -d -f "$mark" -r "$rs"
echo "removed IPVS real server $rs from FWM $mark"
EOF
    ;;
    ipvs-backend.heal) cat <<'EOF'
[ -f "$S/ipvs-backend.$PORT" ] || exit 0
read -r mark rs < "$S/ipvs-backend.$PORT"
nsenter --net="$SB" ipvsadm -Ln -f "$mark" | grep -q -- " $rs " || nsenter --net="$SB" ipvsadm -a -f "$mark" -r "$rs" -m -w 1
rm -f "$S/ipvs-backend.$PORT"
EOF
    ;;
    # published-port traffic is DNATed and FORWARDed into ingress-sbox, so block it in DOCKER-USER
    mesh-port.fault) cat <<'EOF'
iptables -C DOCKER-USER -p tcp --dport "$PORT" -m comment --comment mesh-lab-mesh-port -j REJECT --reject-with tcp-reset 2>/dev/null ||
  iptables -I DOCKER-USER -p tcp --dport "$PORT" -m comment --comment mesh-lab-mesh-port -j REJECT --reject-with tcp-reset
EOF
    ;;
    mesh-port.heal) cat <<'EOF'
while iptables -D DOCKER-USER -p tcp --dport "$PORT" -m comment --comment mesh-lab-mesh-port -j REJECT --reject-with tcp-reset 2>/dev/null; do :; done
EOF
    ;;
    # networkdb gossip (memberlist) runs on 7946 tcp+udp: without it the others declare this node dead and
    # drop it from every network's peer list, while swarm (2377) still reports it Ready.
    peer.fault) cat <<'EOF'
for c in INPUT OUTPUT; do for p in tcp udp; do
  iptables -C $c -p $p -m multiport --ports 7946 -m comment --comment mesh-lab-peer -j DROP 2>/dev/null ||
    iptables -I $c -p $p -m multiport --ports 7946 -m comment --comment mesh-lab-peer -j DROP
done; done
EOF
    ;;
    peer.heal) cat <<'EOF'
for c in INPUT OUTPUT; do for p in tcp udp; do
  while iptables -D $c -p $p -m multiport --ports 7946 -m comment --comment mesh-lab-peer -j DROP 2>/dev/null; do :; done
done; done
EOF
    ;;
    default-route.fault) echo 'ip route del default 2>/dev/null || true' ;;
    default-route.heal) echo 'ip route replace default via "$GW" dev eth0' ;;
    dockerd.fault) echo 'mesh-engine stop' ;;
    dockerd.heal) echo 'mesh-engine start' ;;
    *) die "unknown fault '$name' (faults: $FAULTS)" ;;
  esac
}

cmd_fault() {
  local action=$1 name=${2:-} node=${3:-} k key
  [ -n "$name" ] && [ -n "$node" ] || die "$action NAME vmK [ARGS]   (faults: $FAULTS)"
  k=$(vm_num "$node"); shift 3
  # port faults default to the web port; normalise so `heal` matches the recorded fault
  case "$name" in ingress-rule|ipvs-backend|mesh-port) set -- "${1:-$WEB_PORT}" "${@:2}" ;; esac
  key=$name.vm$k${1:+.$1}
  case "$name" in
    cut-link) # host side: the VM's tap leaves service, like a pulled cable at the switch
      if [ "$action" = fault ]; then ip link set "$TAP$k" down; else ip link set "$TAP$k" up; fi ;;
    power) # host side: pull the plug (SIGKILL the recorded qemu PID); heal boots it again from its disk
      if [ "$action" = fault ]; then
        if qemu_alive "$k"; then
          local p; p=$(cat "$DIR/vm$k/qemu.pid"); kill -9 "$p"
          while kill -0 "$p" 2>/dev/null; do sleep 0.2; done
        fi
      else
        boot_vm "$k"
      fi ;;
    *)
      case " $FAULTS " in *" $name "*) ;; *) die "unknown fault '$name' (faults: $FAULTS)" ;; esac
      fault_script "$name" "$action" "$@" | vssh "$k" bash -s ;;
  esac
  case "$name.$action" in
    peer.fault) wait_peer_gone "$k" ;;
    peer.heal) wait_peers_full ;;
    dockerd.heal|cut-link.heal|power.heal) converge_node "$k" ;;
  esac
  mkdir -p "$DIR/faults"
  local rec="$name vm$k${*:+ $*}"
  if [ "$action" = fault ]; then echo "$rec" > "$DIR/faults/$key"; else rm -f "$DIR/faults/$key"; fi
  log "$action $rec"
}

usage() {
  sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2
  exit 2
}

case "${1:-}" in
  deps) cmd_deps ;;
  up) shift; cmd_up "$@" ;;
  down) cmd_down ;;
  status) shift; cmd_status "$@" ;;
  exec) shift; cmd_exec "$@" ;;
  wait) shift; cmd_wait "$@" ;;
  reboot) shift; cmd_exec "${1:-}" -- reboot ;;
  apps) shift; exec bash "$HERE/mesh-apps.sh" "$@" ;;
  fault) shift; cmd_fault fault "$@" ;;
  heal) shift; cmd_fault heal "$@" ;;
  *) usage ;;
esac
