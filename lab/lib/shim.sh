#!/bin/sh
# Lab shim, installed inside every node at /usr/local/sbin/{reboot,shutdown,apt-get,systemctl}
# (a per-node bind mount; /usr/local/sbin precedes /usr/sbin and /usr/bin in root's PATH).
# It never touches the host's real packages or power state: it calls the node agent.
. /usr/local/sbin/.ddlab.env
export LAB NODE IP CG_ROOT
agent="$LAB/bin/node-agent.sh"
case "$(basename "$0")" in
  reboot)
    case "${1:-}" in ""|now|-f|--force) exec "$agent" reboot ;; esac
    echo "reboot (drydock lab): unsupported arguments: $*" >&2; exit 1 ;;
  shutdown)
    case "$*" in "-r"|"-r now"|"-r +0"|"--reboot"|"--reboot now") exec "$agent" reboot ;; esac
    echo "shutdown (drydock lab): only 'shutdown -r now' is supported" >&2; exit 1 ;;
  apt-get) exec "$agent" apt-get "$@" ;;
  systemctl) exec "$agent" systemctl "$@" ;;
  *) echo "drydock lab shim: unknown name $0" >&2; exit 1 ;;
esac
