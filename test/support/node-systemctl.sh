#!/bin/sh
# Stand-in for a node's `systemctl` that drives a real containerd (or, with NODE_RUNTIME=crio, a
# real CRI-O) inside a fake host root (tests only). Used as `HOST_SYSTEMCTL="sh node-systemctl.sh"`;
# `node-containerd.ts` and `node-crio.ts` use it too, so a daemon started either way is the same
# daemon.
#
#   systemctl start|stop|restart <unit>    start, stop (the daemon only: shims and containers keep
#                                          running, as with containerd.service's KillMode=process)
#   systemctl is-active [--quiet] <unit>   exit 0 iff the daemon runs, else 3 as systemctl does
#                                          (prints active/inactive unless --quiet)
#   anything else                          recorded, exit 0
#
# The unit name is not checked: one daemon per root, whatever the caller calls it.
# `restart` and `start` return once the node's own `ctr version` (on the daemon's PATH) answers on
# the daemon's socket, or exit 1 with the end of the daemon's log if it exits or does not answer
# within NODE_CONTAINERD_TIMEOUT.
#
# The node has its own mount namespace whose root is $NODE_ROOT (entered with pivot_root, not
# chroot: runsc cannot create its sandbox's user namespace from a chroot) and its own network
# namespace, both made on the first start and kept in $NODE_STATE_DIR (`mnt`, `net`) across
# restarts, as a node's are. The daemon runs there, in its own session:
#   nsenter --mount=$NODE_STATE_DIR/mnt --net=$NODE_STATE_DIR/net -- containerd [--config ...]
#     --root ... --state ... --address ...
# Mounts made by containerd and its shims stay inside the node's mount namespace.
#
# With NODE_RUNTIME=crio the daemon is `crio` (NODE_CRIO_BINARY, default /usr/local/bin/crio: it
# reads /etc/crio/crio.conf and /etc/crio/crio.conf.d in the root) with `_CRIO_ROOTLESS=1` in its
# environment (this machine refuses negative oom_score_adj to root; CRI-O then leaves it, and
# cgroup paths, out of the specs), and it is up once its socket answers `GET /info`. With
# NODE_CRIO_REGISTRY_LAYOUT set, a read-only registry (oci-registry.js) serving that OCI layout
# listens on 127.0.0.1:5000 in the node's network namespace (where CRI-O pulls its pause image
# from), started with the daemon and left running across restarts (its pid in registry.pid).
#
# Environment:
#   NODE_RUNTIME              containerd (default) | crio
#   NODE_CRIO_BINARY          crio's path inside the root (default /usr/local/bin/crio)
#   NODE_CRIO_SOCKET          its socket inside the root (default /run/crio/crio.sock)
#   NODE_CRIO_REGISTRY_LAYOUT an OCI image layout directory, outside the root (optional)
#   NODE_ROOT                 the fake host root (required)
#   NODE_STATE_DIR            the node's namespaces, the daemon's pid file and log (required;
#                             outside the root; it becomes a private mount of itself)
#   NODE_CONTAINERD_CONFIG    --config, inside the root (default /etc/containerd/config.toml; left
#                             out while that default file is missing, as containerd.service runs it)
#   NODE_CONTAINERD_ROOT      --root, inside the root (default /var/lib/containerd)
#   NODE_CONTAINERD_STATE     --state, inside the root (default /run/containerd)
#   NODE_CONTAINERD_ADDRESS   --address, inside the root (default /run/containerd/containerd.sock)
#   NODE_CONTAINERD_LOG_LEVEL --log-level (default: containerd's)
#   NODE_CONTAINERD_TIMEOUT   seconds to wait for the socket (default 30)
#   NODE_CONTAINERD_PATH      PATH of the daemon, where it finds shims (default: /usr/local first)
#   STANDIN_LOG               when set, each call is appended to it as one line "systemctl <args>"
#   STANDIN_ACTIVE            yes | no: is-active answers this instead of looking at the daemon
#   STANDIN_ON_RESTART        a sh command run on `restart` before the daemon restarts (its exit
#                             status is ignored); it sees INSTALLER_PID, the PID of the caller
set -u

root=${NODE_ROOT:?NODE_ROOT must name the fake host root}
state_dir=${NODE_STATE_DIR:?NODE_STATE_DIR must name a state directory}
config=${NODE_CONTAINERD_CONFIG:-/etc/containerd/config.toml}
data_root=${NODE_CONTAINERD_ROOT:-/var/lib/containerd}
data_state=${NODE_CONTAINERD_STATE:-/run/containerd}
address=${NODE_CONTAINERD_ADDRESS:-/run/containerd/containerd.sock}
timeout=${NODE_CONTAINERD_TIMEOUT:-30}
daemon_path=${NODE_CONTAINERD_PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}
runtime=${NODE_RUNTIME:-containerd}
case "$runtime" in
  containerd) daemon_name=containerd ;;
  crio) daemon_name=crio; address=${NODE_CRIO_SOCKET:-/run/crio/crio.sock} ;;
  *) echo "NODE_RUNTIME must be containerd or crio, not $runtime" >&2; exit 2 ;;
esac
pid_file=$state_dir/$daemon_name.pid
log_file=$state_dir/$daemon_name.log

if [ -n "${STANDIN_LOG:-}" ]; then
  printf 'systemctl %s\n' "$*" >> "$STANDIN_LOG"
fi

root=$(cd "$root" && pwd -P) || exit 1
mkdir -p "$state_dir"

mnt_ns=$state_dir/mnt
net_ns=$state_dir/net

# The node's mount and network namespaces, made once.
ensure_namespaces() {
  # nsfs files can only be bind-mounted onto a private mount.
  if ! mountpoint -q "$state_dir"; then
    mount --bind "$state_dir" "$state_dir" && mount --make-private "$state_dir" || return 1
  fi
  if ! mountpoint -q "$mnt_ns"; then
    touch "$mnt_ns"
    # pivot_root needs a mount point: bind the root onto itself (with what is mounted below it).
    # shellcheck disable=SC2016 # $1 expands in the inner shell
    unshare --mount="$mnt_ns" --propagation private -- sh -c \
      'mountpoint -q "$1" || mount --rbind "$1" "$1"; cd "$1" && pivot_root . . && umount -l .' sh "$root" || return 1
  fi
  if ! mountpoint -q "$net_ns"; then
    touch "$net_ns"
    # A node's loopback is up (the CRI stream server listens on 127.0.0.1; pod networks need it).
    unshare --net="$net_ns" true || return 1
    nsenter --net="$net_ns" ip link set lo up || return 1
  fi
}

# The registry CRI-O pulls its pause image from, if asked for and not running yet.
ensure_registry() {
  [ -n "${NODE_CRIO_REGISTRY_LAYOUT:-}" ] || return 0
  registry_pid_file=$state_dir/registry.pid
  if [ -f "$registry_pid_file" ] && alive "$(cat "$registry_pid_file")"; then return 0; fi
  rm -f "$state_dir/registry.ready"
  setsid nsenter --net="$net_ns" -- node "$(dirname "$0")/oci-registry.js" "$NODE_CRIO_REGISTRY_LAYOUT" 127.0.0.1:5000 \
    "$state_dir/registry.ready" >> "$state_dir/registry.log" 2>&1 < /dev/null &
  echo $! > "$registry_pid_file"
  i=0
  while [ ! -s "$state_dir/registry.ready" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  [ -s "$state_dir/registry.ready" ] || { echo "the registry for $root did not start" >&2; cat "$state_dir/registry.log" >&2; return 1; }
}

# Whether the daemon answers on its socket (ctr runs in the node: the socket path is short there;
# node, the test's own, from outside).
answers() {
  if [ "$runtime" = crio ]; then
    node -e '
      const r = require("http").get({ socketPath: process.argv[1], path: "/info", timeout: 1000 }, (res) => process.exit(res.statusCode === 200 ? 0 : 1));
      r.on("error", () => process.exit(1)); r.on("timeout", () => process.exit(1));' "$root$address" >/dev/null 2>&1
  else
    # The node's own ctr (on the daemon's PATH: containerd 2.x's where the root has it in
    # /usr/local/bin) runs in the node: the socket path is short there whatever the root's path.
    nsenter --mount="$mnt_ns" env PATH="$daemon_path" ctr --connect-timeout 1s --address "$address" version >/dev/null 2>&1
  fi
}

# Whether process $1 is alive (not a zombie).
alive() {
  proc_state=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null) && [ -n "$proc_state" ] && [ "$proc_state" != Z ]
}

# The daemon's PID if it runs: alive, not a zombie, containerd (crio), in this node's mount namespace
# (so a reused PID is never taken for it).
daemon_pid() {
  [ -f "$pid_file" ] && mountpoint -q "$mnt_ns" || return 1
  pid=$(cat "$pid_file")
  [ -n "$pid" ] && alive "$pid" || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$daemon_name" ] || return 1
  [ "$(readlink "/proc/$pid/ns/mnt")" = "mnt:[$(stat -L -c %i "$mnt_ns")]" ] || return 1
  echo "$pid"
}

log_tail() {
  echo "--- last lines of $log_file ---" >&2
  tail -n 25 "$log_file" >&2
}

stop_daemon() {
  pid=$(daemon_pid) || { rm -f "$pid_file"; return 0; }
  kill -TERM "$pid" 2>/dev/null
  i=0
  while daemon_pid >/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
  if pid=$(daemon_pid); then
    kill -KILL "$pid" 2>/dev/null
    while daemon_pid >/dev/null; do sleep 0.1; done
  fi
  rm -f "$pid_file"
}

start_daemon() {
  daemon_pid >/dev/null && return 0
  ensure_namespaces || { echo "cannot make the node's namespaces for $root" >&2; return 1; }
  if [ "$runtime" = crio ]; then
    ensure_registry || return 1
    set -- env _CRIO_ROOTLESS=1 PATH="$daemon_path" "${NODE_CRIO_BINARY:-/usr/local/bin/crio}"
  else
    set -- --root "$data_root" --state "$data_state" --address "$address"
    # Without --config (as containerd.service runs it) containerd reads its default path, and starts
    # on its defaults when that file is missing; 2.x refuses a --config that names a missing file.
    if [ "$config" != /etc/containerd/config.toml ] || [ -e "$root$config" ]; then
      set -- --config "$config" "$@"
    fi
    [ -n "${NODE_CONTAINERD_LOG_LEVEL:-}" ] && set -- "$@" --log-level "$NODE_CONTAINERD_LOG_LEVEL"
    set -- env PATH="$daemon_path" containerd "$@"
  fi
  echo "=== node-systemctl: starting $* ===" >> "$log_file"
  # setsid, nsenter and env each exec the next: $! is the daemon's PID.
  setsid nsenter --mount="$mnt_ns" --net="$net_ns" -- "$@" >> "$log_file" 2>&1 < /dev/null &
  started=$!
  echo $started > "$pid_file"
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    # Until the daemon answers, $started may still be setsid, nsenter or env about to exec it.
    if ! alive $started; then
      echo "$daemon_name in $root exited during startup" >&2
      log_tail
      rm -f "$pid_file"
      return 1
    fi
    if answers; then
      return 0
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "$daemon_name in $root did not answer on $address within $timeout s" >&2
      log_tail
      kill -KILL $started 2>/dev/null
      while alive $started; do sleep 0.1; done
      rm -f "$pid_file"
      return 1
    fi
    sleep 0.1
  done
}

verb=${1:-}
[ $# -gt 0 ] && shift
case "$verb" in
  start) start_daemon ;;
  stop) stop_daemon ;;
  restart)
    if [ -n "${STANDIN_ON_RESTART:-}" ]; then
      INSTALLER_PID=$PPID sh -c "$STANDIN_ON_RESTART"
    fi
    stop_daemon
    start_daemon
    ;;
  is-active)
    quiet=no
    [ "${1:-}" = --quiet ] && quiet=yes
    if [ -n "${STANDIN_ACTIVE:-}" ]; then
      [ "$STANDIN_ACTIVE" = yes ] && answer=active || answer=inactive
    elif daemon_pid >/dev/null; then
      answer=active
    else
      answer=inactive
    fi
    [ "$quiet" = yes ] || echo "$answer"
    [ "$answer" = active ] || exit 3
    ;;
  *) exit 0 ;;
esac
