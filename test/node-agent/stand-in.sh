#!/bin/sh
# Recording stand-in for the agent's KUBECTL and HOST_SYSTEMCTL (tests only).
#
# Used as `KUBECTL="sh stand-in.sh kubectl"` and `HOST_SYSTEMCTL="sh stand-in.sh systemctl"`:
# appends "<tool> <args...>" as one line to $STANDIN_LOG, then:
#   kubectl: answers from canned settings
#     STANDIN_DS            present (default) | notfound | deleting | error  (kubectl get daemonset)
#     STANDIN_NODE_SELECTED yes (default) | no | error                      (kubectl get node NAME: its labels)
#     STANDIN_LABEL         ok (default) | fail                              (kubectl label)
#   systemctl: plays the node's service manager for a real container runtime
#     restart UNIT   runs STANDIN_ON_RESTART (a sh command, e.g. rendering a k3s template; it sees
#                    INSTALLER_PID, the agent's PID), then stops the runtime and starts it again:
#                    STANDIN_RUNTIME=containerd (default): Debian's real containerd on the merged
#                    config of host file $STANDIN_CONFIG (default /etc/containerd/config.toml) in
#                    the host root $STANDIN_ROOT, serving CRI on $STANDIN_ROOT$STANDIN_SOCKET
#                    (default /run/containerd/containerd.sock), in its own network and mount
#                    namespaces. It plays a node that can run pod sandboxes on this machine: the
#                    node's /usr/local/bin holds runc-test (runc itself, the binary the tests'
#                    RUNC_TEST handler names); CNI uses the root's /etc/cni/net.d and Debian's
#                    plugins; and, as this machine needs, restrict_oom_score_adj is on, runc uses
#                    cgroupfs (there is no systemd to create scopes), and the
#                    sandbox image is $STANDIN_PAUSE_IMAGE, imported from $STANDIN_PAUSE_TAR on the
#                    first start (these rewrite the merged copy only, never the node's files);
#                    STANDIN_RUNTIME=fake-cri: a fake CRI server (fake-cri.js) for runtimes that
#                    cannot run here (containerd 2.x, CRI-O), serving the handlers that the sh
#                    command $STANDIN_HANDLERS prints; STANDIN_RUNTIME=none: nothing starts.
#                    Exits 1 (like systemctl) when the runtime does not come up.
#     is-active      STANDIN_ACTIVE=no: inactive; else active while the runtime runs.
# State (pid, logs, the runtime's root) lives in $STANDIN_DIR.
# The host's own tools, whatever PATH the agent runs with.
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
tool=$1
shift
printf '%s %s\n' "$tool" "$*" >> "${STANDIN_LOG:?STANDIN_LOG must name the log file}"
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)

runtime_pid() {
  pid=$(cat "$STANDIN_DIR/runtime.pid" 2>/dev/null) || return 1
  kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

stop_runtime() {
  pid=$(runtime_pid) || return 0
  # SIGKILL, not systemd's SIGTERM: containerd's graceful stop takes a second or more, and like
  # systemd's KillMode=process it leaves the shims (and so the pods) running either way.
  kill -9 "$pid" 2>/dev/null
  i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.02; i=$((i + 1)); done
  rm -f "$STANDIN_DIR/runtime.pid"
}

start_runtime() {
  socket=$STANDIN_ROOT${STANDIN_SOCKET:-/run/containerd/containerd.sock}
  mkdir -p "$(dirname "$socket")"
  rm -f "$socket"
  printf '%s' "$socket" > "$STANDIN_DIR/runtime.socket"
  case "${STANDIN_RUNTIME:-containerd}" in
    none) return 0 ;;
    fake-cri)
      sh -c "$STANDIN_HANDLERS" > "$STANDIN_DIR/handlers" || return 1
      setsid node "$here/fake-cri.js" "$socket" "$STANDIN_DIR/handlers" >> "$STANDIN_DIR/runtime.log" 2>&1 9>&- &
      ;;
    containerd)
      # What the node's containerd would load (imports applied inside the host root); the dump's
      # own imports line is dropped, as its paths would resolve against the machine's real /.
      if ! chroot "$STANDIN_ROOT" containerd --config "${STANDIN_CONFIG:-/etc/containerd/config.toml}" config dump \
        2>> "$STANDIN_DIR/runtime.log" | awk 'BEGIN { root = 1 } /^[ \t]*\[/ { root = 0 } !(root && /^[ \t]*imports[ \t]*=/)' > "$STANDIN_DIR/merged.toml"; then
        echo "containerd cannot load its configuration" >> "$STANDIN_DIR/runtime.log"
        return 1
      fi
      if [ -n "${STANDIN_PAUSE_IMAGE:-}" ]; then
        sed -i -e "s#^\( *\)sandbox_image = .*#\1sandbox_image = \"$STANDIN_PAUSE_IMAGE\"#" "$STANDIN_DIR/merged.toml"
      fi
      sed -i -e 's#^\( *\)restrict_oom_score_adj = false#\1restrict_oom_score_adj = true#' \
        -e 's#^\( *\)SystemdCgroup = true#\1SystemdCgroup = false#' \
        -e 's#^\( *\)bin_dir = .*#\1bin_dir = "/usr/lib/cni"#' \
        -e "s#^\( *\)conf_dir = .*#\1conf_dir = \"$STANDIN_ROOT/etc/cni/net.d\"#" "$STANDIN_DIR/merged.toml"
      mkdir -p "$STANDIN_DIR/root" "$STANDIN_DIR/state" "$STANDIN_DIR/local-bin"
      ln -sf "$(command -v runc)" "$STANDIN_DIR/local-bin/runc-test"
      # shellcheck disable=SC2016 # $0 and $@ expand in the inner shell
      setsid unshare --net --mount --propagation private -- sh -c 'mount --bind "$0" /usr/local/bin && exec "$@"' \
        "$STANDIN_DIR/local-bin" containerd --config "$STANDIN_DIR/merged.toml" --root "$STANDIN_DIR/root" \
        --state "$STANDIN_DIR/state" --address "$socket" >> "$STANDIN_DIR/runtime.log" 2>&1 9>&- &
      ;;
  esac
  echo $! > "$STANDIN_DIR/runtime.pid"
  i=0
  until [ -S "$socket" ] && { [ "${STANDIN_RUNTIME:-containerd}" != containerd ] || ctr --address "$socket" version > /dev/null 2>&1; }; do
    runtime_pid > /dev/null || return 1
    [ $i -lt 400 ] || return 1
    sleep 0.05
    i=$((i + 1))
  done
  if [ "${STANDIN_RUNTIME:-containerd}" = containerd ] && [ -n "${STANDIN_PAUSE_TAR:-}" ] \
    && ! ctr --address "$socket" -n k8s.io images ls -q 2>/dev/null | grep -qxF "$STANDIN_PAUSE_IMAGE"; then
    snapshotter=$(awk '/^ *\[/ { cri = ($0 ~ /^ *\[plugins\."io\.containerd\.grpc\.v1\.cri"\.containerd\]/) } cri && /^ *snapshotter = / { gsub(/.*= *"|"/, ""); print; exit }' "$STANDIN_DIR/merged.toml")
    ctr --address "$socket" -n k8s.io images import ${snapshotter:+--snapshotter "$snapshotter"} "$STANDIN_PAUSE_TAR" > /dev/null 2>> "$STANDIN_DIR/runtime.log" || return 1
  fi
}

case "$tool $1" in
  'kubectl get')
    case "$2" in
      daemonset)
        case "${STANDIN_DS:-present}" in
          present) exit 0 ;;
          deleting) printf '2025-01-01T00:00:00Z'; exit 0 ;;
          notfound) echo "Error from server (NotFound): daemonsets.apps \"$3\" not found" >&2; exit 1 ;;
          *) echo 'The connection to the server 10.0.0.1:6443 was refused - did you specify the right host or port?' >&2; exit 1 ;;
        esac
        ;;
      node)
        # The node's labels as "key=value" lines, as the agent's go-template prints them.
        case "${STANDIN_NODE_SELECTED:-yes}" in
          yes) printf 'kubernetes.io/arch=amd64\nkubernetes.io/os=linux\n'; exit 0 ;;
          no) printf 'kubernetes.io/arch=amd64\nkubernetes.io/os=windows\n'; exit 0 ;;
          *) echo 'error: You must be logged in to the server (Unauthorized)' >&2; exit 1 ;;
        esac
        ;;
    esac
    ;;
  'kubectl label')
    if [ "${STANDIN_LABEL:-ok}" = fail ]; then
      echo 'Error from server (Forbidden): nodes "node-1" is forbidden' >&2
      exit 1
    fi
    echo 'node/node-1 labeled'
    ;;
  'systemctl is-active')
    [ "${STANDIN_ACTIVE:-yes}" = yes ] || exit 3
    [ "${STANDIN_RUNTIME:-containerd}" = none ] && exit 0
    runtime_pid > /dev/null || exit 3
    ;;
  'systemctl restart')
    # One job at a time, as systemd queues them: a restart whose caller was killed still finishes
    # before the next one starts.
    exec 9> "$STANDIN_DIR/systemd.lock"
    flock 9
    started=$(date +%s%N)
    if [ -n "${STANDIN_ON_RESTART:-}" ]; then
      INSTALLER_PID=$PPID sh -c "$STANDIN_ON_RESTART"
    fi
    stop_runtime
    start_runtime || { tail -n 5 "$STANDIN_DIR/runtime.log" >&2; exit 1; }
    # How long the restart took, in ms (the benchmark subtracts it from the agent's time).
    echo $((($(date +%s%N) - started) / 1000000)) >> "$STANDIN_DIR/restart-ms"
    ;;
  'systemctl stop')
    exec 9> "$STANDIN_DIR/systemd.lock"
    flock 9
    stop_runtime
    ;;
esac
exit 0
