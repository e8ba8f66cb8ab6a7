#!/bin/sh
# cdk8s-runtimeclass node installer.
#
# Shipped in the node setup's ConfigMap next to `setup.env` and the rendered configuration
# fragments, and run by the node-setup DaemonSet (one pod per node) with the host's `/` mounted
# at HOST_ROOT. POSIX sh: runs under dash and busybox sh and passes `shellcheck -s sh`.
#
# It reaches the host only through these (DESIGN.md, "The installer (node setup) contract"):
#   HOST_ROOT          where the host's / is mounted (default /host)
#   ACTION             install | uninstall (default install)
#   HOST_SYSTEMCTL     command that restarts a host unit (default: chroot $HOST_ROOT systemctl)
#   HOST_CONTAINERD    command that runs the host's containerd (version, `config dump`); default:
#                      chroot $HOST_ROOT <the distribution's containerd binary>
#   KUBECTL            command that labels this node (default kubectl)
#   NODE_NAME          this node (downward API)
# Pod-local:
#   POD_NAMESPACE      namespace of the DaemonSet (downward API)
#   STATE_DIR          readiness files (default /run/runtimeclass-setup): `ready` once installed, or
#                      `not-ready` holding the reason; the readiness probe is `cat $STATE_DIR/ready`
#   ARTIFACTS_DIR      where init containers copied image artifacts (default /artifacts)
# Optional knobs:
#   ONESHOT=1          exit once installed instead of waiting for SIGTERM (tests, one-off Jobs)
#   CONTAINERD_CONFIG  host path of containerd's main config (default /etc/containerd/config.toml)
#   RESTART_UNIT       host unit to restart instead of the detected one
#   VERIFY_TIMEOUT     seconds to wait for the runtime to come back after a restart (default 120)
#   LOCK_TIMEOUT       seconds to wait for another installer on this node (default 600)
#   LOCK_METHOD        flock | mkdir (default: flock when the command exists, else mkdir)
#
# Exit status: 0 done; 1 refused or failed (the reason is logged and written to
# $STATE_DIR/not-ready; nothing is left half-changed); 2 (ONESHOT only) this node cannot run these
# runtimes (no /dev/kvm, no artifact for its CPU architecture).
#
# Paths: `$HOST_ROOT/...` to reach a host file from this pod; host-absolute paths (without
# HOST_ROOT) inside configuration files and in arguments to HOST_CONTAINERD (it chroots).

set -eu
# No globbing anywhere: every unquoted expansion below is a command string or a word list.
set -f

SCRIPT_DIR=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
if [ ! -r "$SCRIPT_DIR/setup.env" ]; then
  echo "cdk8s-runtimeclass: $SCRIPT_DIR/setup.env is missing: mount the node setup's ConfigMap next to install.sh" >&2
  exit 1
fi
# shellcheck source=/dev/null
. "$SCRIPT_DIR/setup.env"

SETUP_NAME=${SETUP_NAME:-}
if [ -z "$SETUP_NAME" ]; then
  echo "cdk8s-runtimeclass: setup.env does not set SETUP_NAME" >&2
  exit 1
fi
HANDLERS=${HANDLERS:-}
READY_LABELS=${READY_LABELS:-}
DISTRIBUTION=${DISTRIBUTION:-auto}
KVM_HANDLERS=${KVM_HANDLERS:-}
NODE_SELECTOR=${NODE_SELECTOR:-}
DAEMONSET_NAME=${DAEMONSET_NAME:-}

HOST_ROOT=${HOST_ROOT:-/host}
HOST_ROOT=${HOST_ROOT%/}
ACTION=${ACTION:-install}
HOST_SYSTEMCTL=${HOST_SYSTEMCTL:-chroot $HOST_ROOT systemctl}
KUBECTL=${KUBECTL:-kubectl}
NODE_NAME=${NODE_NAME:-}
POD_NAMESPACE=${POD_NAMESPACE:-}
STATE_DIR=${STATE_DIR:-/run/runtimeclass-setup}
ARTIFACTS_DIR=${ARTIFACTS_DIR:-/artifacts}
ONESHOT=${ONESHOT:-0}
CONTAINERD_CONFIG=${CONTAINERD_CONFIG:-/etc/containerd/config.toml}
RESTART_UNIT=${RESTART_UNIT:-}
VERIFY_TIMEOUT=${VERIFY_TIMEOUT:-120}
LOCK_TIMEOUT=${LOCK_TIMEOUT:-600}
LOCK_METHOD=${LOCK_METHOD:-}

TAB=$(printf '\t')
NL='
'
SQ="'"
MARK_BEGIN="# BEGIN cdk8s-runtimeclass $SETUP_NAME"
MARK_END="# END cdk8s-runtimeclass $SETUP_NAME"
# Persistent, host-side record of what this setup changed (survives pod restarts).
STATE_HOST=/var/lib/cdk8s-runtimeclass/$SETUP_NAME
STATE=$HOST_ROOT$STATE_HOST
JOURNAL=$STATE/journal
# One lock for every node setup on the node: they edit the same runtime configuration.
LOCK_FILE=$HOST_ROOT/run/cdk8s-runtimeclass.lock

WORK=''
HOST_TEMPS=''
LOCK_HELD=''
TERM_PENDING=0
SLEEP_PID=''
CONFIG_CHANGED=0
RUN_UNDO=''
DIST=''
UNIT=''
CTR_CMD=''
CTR_OK=0
CTR_VERSION=''
CTR_MAJOR=''
SYSTEMD_CGROUP=false
OLD_HANDLERS=''
POST_VERIFY=''

# ---------------------------------------------------------------------------------------------
# Logging, readiness, failure

log() {
  printf '[%s] %s\n' "$SETUP_NAME" "$*" >&2
}

set_not_ready() {
  mkdir -p "$STATE_DIR"
  rm -f "$STATE_DIR/ready"
  printf '%s\n' "$1" > "$STATE_DIR/not-ready"
}

set_ready() {
  mkdir -p "$STATE_DIR"
  rm -f "$STATE_DIR/not-ready"
  printf 'ready: %s\n' "$HANDLERS" > "$STATE_DIR/ready"
}

# fail REASON: log it, make the pod not ready with it, exit 1 (the EXIT trap cleans up).
fail() {
  log "ERROR: $1"
  set_not_ready "$1"
  exit 1
}

# The node cannot run these runtimes: never label it, say why, and (unless ONESHOT) stay up so
# that the reason shows in the pod's readiness instead of a crash loop.
not_applicable() {
  log "NOT READY: $1"
  set_not_ready "$1"
  release_lock
  remove_ready_labels quiet || :
  if [ "$ONESHOT" = 1 ]; then
    exit 2
  fi
  wait_for_term
}

cleanup() {
  if [ -n "$HOST_TEMPS" ]; then
    _c_old_ifs=$IFS
    IFS=$NL
    for _c_f in $HOST_TEMPS; do
      rm -rf "$_c_f"
    done
    IFS=$_c_old_ifs
  fi
  if [ -n "$WORK" ]; then
    rm -rf "$WORK"
  fi
  release_lock
}

# A temp file on the host (next to the file it replaces, so `mv` is atomic): removed on exit.
host_temp() {
  HOST_TEMPS="$HOST_TEMPS$NL$1"
}

# The host commands of the contract: each variable is a command line, split on purpose.
host_systemctl() {
  # shellcheck disable=SC2086
  $HOST_SYSTEMCTL "$@"
}

kubectl_() {
  # shellcheck disable=SC2086
  $KUBECTL "$@"
}

host_containerd() {
  # shellcheck disable=SC2086
  $CTR_CMD "$@"
}

# ---------------------------------------------------------------------------------------------
# Lock: serialize every installer on this node (flock on a host file; mkdir where flock is absent)

acquire_lock() {
  mkdir -p "$HOST_ROOT/run"
  if [ -z "$LOCK_METHOD" ]; then
    if command -v flock >/dev/null 2>&1; then LOCK_METHOD='flock'; else LOCK_METHOD='mkdir'; fi
  fi
  log "waiting for the node lock ($LOCK_METHOD on ${LOCK_FILE#"$HOST_ROOT"})"
  if [ "$LOCK_METHOD" = flock ]; then
    exec 9>"$LOCK_FILE"
    if ! flock -w "$LOCK_TIMEOUT" 9; then
      exec 9>&-
      fail "another cdk8s-runtimeclass installer has held ${LOCK_FILE#"$HOST_ROOT"} for more than ${LOCK_TIMEOUT}s; it may be stuck: check the other node-setup pods on this node"
    fi
    LOCK_HELD='flock'
  else
    _l_waited=0
    until mkdir "$LOCK_FILE.d" 2>/dev/null; do
      # A lock directory older than the timeout belongs to an installer that died holding it.
      if [ -n "$(find "$LOCK_FILE.d" -maxdepth 0 -mmin +$((LOCK_TIMEOUT / 60 + 1)) 2>/dev/null)" ]; then
        log "removing a stale lock ${LOCK_FILE#"$HOST_ROOT"}.d"
        rmdir "$LOCK_FILE.d" 2>/dev/null || :
        continue
      fi
      _l_waited=$((_l_waited + 1))
      if [ "$_l_waited" -ge "$LOCK_TIMEOUT" ]; then
        fail "another cdk8s-runtimeclass installer has held ${LOCK_FILE#"$HOST_ROOT"}.d for more than ${LOCK_TIMEOUT}s; if no installer runs on this node, remove that directory"
      fi
      sleep 1
    done
    LOCK_HELD='mkdir'
  fi
}

release_lock() {
  case "$LOCK_HELD" in
    flock) exec 9>&- ;;
    mkdir) rmdir "$LOCK_FILE.d" 2>/dev/null || : ;;
  esac
  LOCK_HELD=''
}

# ---------------------------------------------------------------------------------------------
# Journal: what this setup changed on the host, so uninstall can undo it after a pod restart.
# Lines: KIND<TAB>HOST_PATH<TAB>BACKUP (BACKUP names a copy under $STATE/backups, or `-`).
#   file-created / file-saved            artifacts and host files (no restart needed)
#   runtimecfg-created / runtimecfg-saved whole files of ours read by the runtime (drop-ins)
#   config-created / config-saved         files we edit (marker block, one `imports` entry)
#   dir-created                           directories we made

journal_has() {
  [ -f "$JOURNAL" ] && awk -F "$TAB" -v p="$1" '$2 == p { found = 1 } END { exit found ? 0 : 1 }' "$JOURNAL"
}

# journal_record KIND HOST_PATH [SKELETON]: before the first change to HOST_PATH, keep its
# original bytes (or, for a file we create, the SKELETON we create it from).
journal_record() {
  if journal_has "$2"; then
    return 0
  fi
  mkdir -p "$STATE/backups"
  if [ ! -f "$STATE/restart-unit" ] && [ -n "$UNIT" ]; then
    printf '%s\n' "$UNIT" > "$STATE/restart-unit"
  fi
  _j_n=1
  if [ -f "$JOURNAL" ]; then
    _j_n=$(($(wc -l < "$JOURNAL") + 1))
  fi
  if [ -e "$HOST_ROOT$2" ] || [ -L "$HOST_ROOT$2" ]; then
    rm -rf "$STATE/backups/$_j_n"
    cp -a "$HOST_ROOT$2" "$STATE/backups/$_j_n"
    printf '%s\t%s\t%s\n' "$1-saved" "$2" "$_j_n" >> "$JOURNAL"
  elif [ -n "${3:-}" ]; then
    cp "$3" "$STATE/backups/$_j_n"
    printf '%s\t%s\t%s\n' "$1-created" "$2" "$_j_n" >> "$JOURNAL"
  else
    printf '%s\t%s\t-\n' "$1-created" "$2" >> "$JOURNAL"
  fi
}

# ensure_host_dir HOST_DIR: mkdir -p, recording each directory we create.
ensure_host_dir() {
  _e_p=$1
  _e_missing=''
  while [ ! -d "$HOST_ROOT$_e_p" ]; do
    _e_missing="$_e_p$NL$_e_missing"
    _e_p=$(dirname "$_e_p")
  done
  _e_old_ifs=$IFS
  IFS=$NL
  for _e_d in $_e_missing; do
    journal_record dir "$_e_d"
    mkdir "$HOST_ROOT$_e_d"
    if [ -n "$RUN_UNDO" ]; then
      printf '%s\tdir\n' "$_e_d" >> "$RUN_UNDO"
    fi
  done
  IFS=$_e_old_ifs
}

# Remember a runtime-config file's bytes before this run changes it, to roll back this run.
run_undo_add() {
  _u_id=$(wc -l < "$RUN_UNDO")
  if [ -e "$HOST_ROOT$1" ]; then
    cp -p "$HOST_ROOT$1" "$WORK/undo.$_u_id"
    printf '%s\t%s\n' "$1" "$WORK/undo.$_u_id" >> "$RUN_UNDO"
  else
    printf '%s\t-\n' "$1" >> "$RUN_UNDO"
  fi
}

# Put back every runtime-config file this run changed (newest first).
rollback_run() {
  awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }' "$RUN_UNDO" > "$WORK/undo.rev"
  while IFS="$TAB" read -r _r_path _r_copy <&3; do
    if [ "$_r_copy" = dir ]; then
      rmdir "$HOST_ROOT$_r_path" 2>/dev/null || :
      continue
    elif [ "$_r_copy" = - ]; then
      rm -f "$HOST_ROOT$_r_path"
    else
      cp -p "$_r_copy" "$HOST_ROOT$_r_path.cdk8s-restore"
      mv -f "$HOST_ROOT$_r_path.cdk8s-restore" "$HOST_ROOT$_r_path"
    fi
    log "rolled back $_r_path"
  done 3< "$WORK/undo.rev"
  : > "$RUN_UNDO"
  if [ "${RUN_MARKED_RESTART:-0}" = 1 ]; then
    rm -f "$STATE/restart-pending"
    RUN_MARKED_RESTART=0
  fi
}

# replace_host_file SRC HOST_PATH: atomic replacement (copy next to it, then rename over it).
replace_host_file() {
  if [ -e "$HOST_ROOT$2" ]; then
    cp -p "$HOST_ROOT$2" "$HOST_ROOT$2.cdk8s-new"
    cat "$1" > "$HOST_ROOT$2.cdk8s-new"
  else
    cp "$1" "$HOST_ROOT$2.cdk8s-new"
    chmod 0644 "$HOST_ROOT$2.cdk8s-new"
  fi
  mv -f "$HOST_ROOT$2.cdk8s-new" "$HOST_ROOT$2"
}

mark_restart_pending() {
  mkdir -p "$STATE"
  # Remember whether this run set it: a rollback of this run's changes takes it back, while a
  # marker left by an earlier run that crashed before its restart stays.
  if [ ! -f "$STATE/restart-pending" ]; then RUN_MARKED_RESTART=1; fi
  printf '%s\n' "$UNIT" > "$STATE/restart-pending"
}

# ---------------------------------------------------------------------------------------------
# Text helpers (awk: byte-exact outside the lines they drop)

# Our marker block removed. Exit 3 when the markers do not pair up.
strip_block() {
  awk -v b="$MARK_BEGIN" -v e="$MARK_END" '
    $0 == b { if (inb) bad = 1; inb = 1; next }
    $0 == e { if (!inb) bad = 1; inb = 0; next }
    !inb { print }
    END { if (inb || bad) exit 3 }' "$1"
}

# Every cdk8s-runtimeclass marker block removed (ours and other setups').
strip_all_blocks() {
  awk '
    index($0, "# BEGIN cdk8s-runtimeclass ") == 1 { inb = 1; next }
    index($0, "# END cdk8s-runtimeclass ") == 1 { inb = 0; next }
    !inb { print }' "$1"
}

# Only our marker block, markers included.
extract_block() {
  awk -v b="$MARK_BEGIN" -v e="$MARK_END" '
    $0 == b { inb = 1 }
    inb { print }
    $0 == e { inb = 0 }' "$1"
}

# The root `version = N` of a containerd TOML file (1 when missing, as containerd reads it).
root_version() {
  awk '
    /^[ \t]*\[/ { exit }
    /^[ \t]*version[ \t]*=/ {
      v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*(#.*)?\r?$/, "", v); print v; found = 1; exit
    }
    END { if (!found) print 1 }' "$1"
}

# A fragment from the ConfigMap with the node's SystemdCgroup value in place of the placeholder
# (runc-based handlers follow the node's runc; see SYSTEMD_CGROUP_PLACEHOLDER in src/containerd).
render_fragment() {
  awk -v v="$SYSTEMD_CGROUP" '{ gsub(/@SYSTEMD_CGROUP@/, v); print }' "$SCRIPT_DIR/$1"
}

# write_block FRAGMENT OUT: our marker block around the fragment's tables.
write_block() {
  {
    printf '%s\n' "$MARK_BEGIN"
    printf '%s\n' "# Managed by the cdk8s-runtimeclass node setup '$SETUP_NAME' (runtime handlers: $HANDLERS)."
    printf '%s\n' "# Rewritten on every install and removed on uninstall: do not edit between these markers."
    render_fragment "$1"
    printf '%s\n' "$MARK_END"
  } > "$2"
}

# Runtime handler names under PLUGIN's `containerd.runtimes` in a containerd TOML file or dump.
# Headers only (containerd's dump writes every table as a header); quotes of either kind ignored.
table_handlers() {
  awk -v plugin="$1" -v q="$SQ" '
    {
      l = $0
      gsub(/[ \t\r]/, "", l)
      if (substr(l, 1, 1) != "[" || substr(l, 1, 2) == "[[") next
      gsub("[\"" q "]", "", l)
      prefix = "[plugins." plugin ".containerd.runtimes."
      if (index(l, prefix) != 1) next
      rest = substr(l, length(prefix) + 1)
      sub(/\].*$/, "", rest)
      if (rest != "" && index(rest, ".") == 0) print rest
    }' "$2" | sort -u
}

# The node's runc `SystemdCgroup` (runc's options table, else the default runtime's): true|false.
systemd_cgroup_of() {
  awk -v plugin="$1" -v q="$SQ" '
    function norm(s) { gsub(/[ \t\r]/, "", s); gsub("[\"" q "]", "", s); return s }
    {
      l = norm($0)
      if (substr(l, 1, 1) == "#") next
      if (substr(l, 1, 1) == "[") { t = l; sub(/\].*$/, "", t); table = substr(t, 2); next }
      if (table == "plugins." plugin ".containerd" && index(l, "default_runtime_name=") == 1) {
        def = substr(l, 22); sub(/#.*$/, "", def)
      }
      if (index(l, "SystemdCgroup=") == 1) { v = substr(l, 15); sub(/#.*$/, "", v); sg[table] = v }
    }
    END {
      base = "plugins." plugin ".containerd.runtimes."
      if ((base "runc.options") in sg) v = sg[base "runc.options"]
      else if (def != "" && (base def ".options") in sg) v = sg[base def ".options"]
      else v = "false"
      print (v == "true") ? "true" : "false"
    }' "$2"
}

# First line (N:text) of FILE that defines the runtime table of HANDLER, comments excluded.
table_line() {
  grep -nE "runtimes\\.(\"$2\"|'$2'|$2)([] .=]|\$)" "$1" 2>/dev/null | grep -vE '^[0-9]+:[[:space:]]*#' | head -n 1 || :
}

# word_in WORD LIST
word_in() {
  case " $2 " in
    *" $1 "*) return 0 ;;
  esac
  return 1
}

# True if A equals B, or equals B plus the final newline B lacked (awk adds one when it rewrites).
same_content() {
  if cmp -s "$1" "$2"; then
    return 0
  fi
  if [ -s "$2" ] && [ -n "$(tail -c 1 "$2")" ]; then
    { cat "$2"; printf '\n'; } > "$WORK/same.b"
    cmp -s "$1" "$WORK/same.b"
    return
  fi
  return 1
}

# ---------------------------------------------------------------------------------------------
# `imports` of a containerd 2.x main file (edited only to add our drop-in; undone on uninstall)

# add_import FILE PATH: PATH added first to the root `imports` array, or a new `imports` line
# after the root `version` line.
add_import() {
  if awk '/^[ \t]*\[/ { exit 1 } /^[ \t]*imports[ \t]*=/ { found = 1; exit 0 } END { exit found ? 0 : 1 }' "$1"; then
    awk -v p="$2" '
      !done && /^[ \t]*imports[ \t]*=/ {
        i = index($0, "[")
        rest = substr($0, i + 1)
        probe = rest; sub(/^[ \t]*/, "", probe)
        if (substr(probe, 1, 1) == "]") print substr($0, 1, i) "\"" p "\"" rest
        else print substr($0, 1, i) "\"" p "\", " rest
        done = 1; next
      }
      { print }' "$1"
  elif awk '/^[ \t]*\[/ { exit 1 } /^[ \t]*version[ \t]*=/ { found = 1; exit 0 } END { exit found ? 0 : 1 }' "$1"; then
    awk -v p="$2" '
      { print }
      !done && /^[ \t]*version[ \t]*=/ { print "imports = [\"" p "\"]"; done = 1 }' "$1"
  else
    printf 'imports = ["%s"]\n' "$2"
    cat "$1"
  fi
}

# remove_import FILE PATH: the inverse of add_import.
remove_import() {
  awk -v p="$2" '
    BEGIN { whole = "imports = [\"" p "\"]"; first = "\"" p "\", "; only = "\"" p "\"" }
    !done && $0 == whole { done = 1; next }
    !done && /^[ \t]*imports[ \t]*=/ {
      i = index($0, first)
      if (i > 0) { $0 = substr($0, 1, i - 1) substr($0, i + length(first)); done = 1 }
      else {
        i = index($0, only)
        if (i > 0) { $0 = substr($0, 1, i - 1) substr($0, i + length(only)); done = 1 }
      }
    }
    { print }' "$1"
}

# undo_edits FILE [IMPORT]: FILE without our marker block and without our import entry.
undo_edits() {
  if ! strip_block "$1" > "$WORK/undo.1"; then
    log "WARNING: unpaired cdk8s-runtimeclass markers in $1: removing from '$MARK_BEGIN' to the end of the block as far as it goes"
  fi
  if [ -n "${2:-}" ]; then
    remove_import "$WORK/undo.1" "$2"
  else
    cat "$WORK/undo.1"
  fi
}

# ---------------------------------------------------------------------------------------------
# Host containerd

# ctr_dump HOST_PATH OUT: containerd's merged view of HOST_PATH (errors in $WORK/dump.err).
# Without a runnable containerd (k3s/rke2/k0s/microk8s only), the file itself stands in.
ctr_dump() {
  if [ "$CTR_OK" = 1 ]; then
    host_containerd --config "$1" config dump > "$2" 2> "$WORK/dump.err"
  else
    : > "$WORK/dump.err"
    cp "$HOST_ROOT$1" "$2"
  fi
}

dump_error() {
  grep -v 'level=warning' "$WORK/dump.err" | grep -v '^[[:space:]]*$' | tail -n 3 | tr '\n' ' ' | sed 's/ *$//'
}

resolve_containerd() {
  if [ -n "${HOST_CONTAINERD:-}" ]; then
    CTR_CMD=$HOST_CONTAINERD
  else
    case "$DIST" in
      # Binaries the distributions ship: k3s data/current/bin, rke2 bin, k0s bin, the snap.
      k3s) _r_bin=/var/lib/rancher/k3s/data/current/bin/containerd ;;
      rke2) _r_bin=/var/lib/rancher/rke2/bin/containerd ;;
      k0s) _r_bin=/var/lib/k0s/bin/containerd ;;
      microk8s) _r_bin=/snap/microk8s/current/bin/containerd ;;
      *) _r_bin=containerd ;;
    esac
    CTR_CMD="chroot $HOST_ROOT $_r_bin"
  fi
  CTR_VERSION=$(host_containerd --version 2>/dev/null | awk '{ v = $3; sub(/^v/, "", v); print v; exit }') || CTR_VERSION=''
  CTR_MAJOR=${CTR_VERSION%%.*}
  case "$CTR_MAJOR" in
    '' | *[!0-9]*)
      CTR_OK=0
      CTR_MAJOR=''
      ;;
    *) CTR_OK=1 ;;
  esac
  if [ "$CTR_OK" = 1 ]; then
    log "host containerd $CTR_VERSION ($CTR_CMD)"
  else
    log "cannot run the host's containerd ('$CTR_CMD --version' failed)"
  fi
}

# The CRI plugin id that holds runtimes in `config dump` on this node.
cri_plugin_for() {
  # $1: the file's schema (1, 2, 3+)
  if [ -n "$CTR_MAJOR" ]; then
    if [ "$CTR_MAJOR" -ge 2 ]; then echo io.containerd.cri.v1.runtime; else echo io.containerd.grpc.v1.cri; fi
  elif [ "$CTR_OK" = 0 ] && [ "$1" = 1 ]; then
    echo cri
  elif [ "$1" -ge 3 ]; then
    echo io.containerd.cri.v1.runtime
  else
    echo io.containerd.grpc.v1.cri
  fi
}

# check_handlers DUMP PLUGIN FILE-NAMED-IN-MESSAGES: every old and new handler is in DUMP.
check_handlers() {
  _h_have=$(table_handlers "$2" "$1" | tr '\n' ' ')
  _h_missing=''
  for _h in $OLD_HANDLERS $HANDLERS; do
    if ! word_in "$_h" "$_h_have"; then
      _h_missing="$_h_missing $_h"
    fi
  done
  if [ -n "$_h_missing" ]; then
    _h_hint=''
    if [ "$2" = io.containerd.grpc.v1.cri ] && [ -n "$CTR_MAJOR" ] && [ "$CTR_MAJOR" -lt 2 ]; then
      _h_hint=" (containerd $CTR_VERSION silently ignores io.containerd.cri.v1.* tables and version 3 or 4 files, and a file it imports that sets the CRI plugin replaces the plugin's whole table)"
    fi
    CHECK_MESSAGE="with the change, containerd's merged configuration for $3 would not list runtime handler(s)$_h_missing under plugins.\"$2\".containerd.runtimes$_h_hint"
    return 1
  fi
  check_snapshotters "$1" "$3"
}

# check_snapshotters DUMP FILE-NAMED-IN-MESSAGES: a handler's own snapshotter (Kata Firecracker:
# devmapper) must be set up in containerd, or its pods fail at sandbox creation on a ready node.
check_snapshotters() {
  [ "$CTR_OK" = 1 ] || return 0
  sed -n 's/^snapshotter = "\([^"]*\)".*/\1/p' "$SCRIPT_DIR/containerd-v2.toml" | sort -u > "$WORK/snapshotters"
  while IFS= read -r _s <&3; do
    _s_pool=$(awk -v h="[plugins.\"io.containerd.snapshotter.v1.$_s\"]" '
      $0 == h { inside = 1; found = 1; next }
      /^[[:space:]]*\[/ { inside = 0 }
      inside && /^[[:space:]]*pool_name[[:space:]]*=/ { sub(/^[^=]*=[[:space:]]*/, ""); gsub(/"/, ""); pool = $0 }
      END { if (!found) print "missing"; else print "pool:" pool }' "$1")
    if [ "$_s_pool" = missing ] || { [ "$_s" = devmapper ] && [ "$_s_pool" = "pool:" ]; }; then
      CHECK_MESSAGE="runtime handler(s) $HANDLERS need the $_s snapshotter, which containerd's merged configuration for $2 does not set up (plugins.\"io.containerd.snapshotter.v1.$_s\"$([ "$_s" = devmapper ] && printf ' has no pool_name')): their pods would fail at sandbox creation. Fix: configure the $_s snapshotter on this node (for devmapper: a thin pool and its pool_name), or keep this runtime off it with a nodeSelector"
      return 1
    fi
  done 3< "$WORK/snapshotters"
  return 0
}

# ---------------------------------------------------------------------------------------------
# Distribution and unit

detect_distribution() {
  DIST=$DISTRIBUTION
  if [ "$DIST" = auto ]; then
    if [ -d "$HOST_ROOT/var/lib/rancher/k3s/agent/etc/containerd" ]; then
      DIST=k3s
    elif [ -d "$HOST_ROOT/var/lib/rancher/rke2/agent/etc/containerd" ]; then
      DIST=rke2
    elif [ -d "$HOST_ROOT/etc/k0s" ] || [ -e "$HOST_ROOT/var/lib/k0s/bin/containerd" ]; then
      DIST=k0s
    elif [ -e "$HOST_ROOT/var/snap/microk8s/current/args/containerd-template.toml" ]; then
      DIST=microk8s
    elif { [ -S "$HOST_ROOT/run/crio/crio.sock" ] || [ -S "$HOST_ROOT/var/run/crio/crio.sock" ]; } \
      && [ ! -S "$HOST_ROOT/run/containerd/containerd.sock" ]; then
      DIST=crio
    else
      DIST=containerd
    fi
    log "distribution: $DIST (detected)"
  else
    log "distribution: $DIST"
  fi
  case "$DIST" in
    containerd | k3s | rke2 | k0s | microk8s | crio) ;;
    *) fail "unknown distribution '$DIST' in setup.env: expected auto, containerd, k3s, rke2, k0s, microk8s or crio" ;;
  esac
}

unit_file_exists() {
  for _f_dir in /etc/systemd/system /usr/local/lib/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    if [ -e "$HOST_ROOT$_f_dir/$1.service" ]; then
      return 0
    fi
  done
  return 1
}

# pick_unit SERVER AGENT: the one installed (unit file), else the one active, else SERVER.
pick_unit() {
  if unit_file_exists "$1" && ! unit_file_exists "$2"; then
    echo "$1"
  elif unit_file_exists "$2" && ! unit_file_exists "$1"; then
    echo "$2"
  elif host_systemctl is-active --quiet "$2" >/dev/null 2>&1 && ! host_systemctl is-active --quiet "$1" >/dev/null 2>&1; then
    echo "$2"
  else
    echo "$1"
  fi
}

detect_unit() {
  if [ -n "$RESTART_UNIT" ]; then
    UNIT=$RESTART_UNIT
    return
  fi
  case "$DIST" in
    containerd) UNIT=containerd ;;
    k3s) UNIT=$(pick_unit k3s k3s-agent) ;;
    rke2) UNIT=$(pick_unit rke2-server rke2-agent) ;;
    # `k0s install worker|controller` creates k0sworker.service / k0scontroller.service.
    k0s) UNIT=$(pick_unit k0scontroller k0sworker) ;;
    microk8s) UNIT=snap.microk8s.daemon-containerd ;;
    crio) UNIT=crio ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Preflight checks (nothing is changed before they pass)

node_arch() {
  _a=$(uname -m)
  case "$_a" in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) echo "$_a" ;;
  esac
}

check_kvm() {
  # KVM_HANDLERS: the handlers that run virtual machines.
  _k_need=$KVM_HANDLERS
  [ -n "$_k_need" ] || return 0
  [ -c "$HOST_ROOT/dev/kvm" ] && return 0
  _k_labels=''
  for _k_pair in $READY_LABELS; do
    case " $_k_need " in
      *" ${_k_pair%%=*} "*) ;;
      *) _k_labels="$_k_labels $_k_pair" ;;
    esac
  done
  if [ -z "$_k_labels" ]; then
    not_applicable "this node has no /dev/kvm: the runtime handler(s) $_k_need run virtual machines and need hardware virtualization. The node is not labelled ready and nothing was installed. Fix: run these pods on nodes with KVM (bare metal, or VMs with nested virtualization enabled), e.g. select nodes labelled feature.node.kubernetes.io/cpu-cpuid.VMX or .SVM by node-feature-discovery"
  fi
  # The other handlers still install and are labelled; the VM handlers are not labelled here.
  READY_LABELS=${_k_labels# }
  mkdir -p "$STATE_DIR"
  printf '%s\n' "this node has no /dev/kvm: runtime handler(s) $_k_need are installed but not labelled ready here (they run virtual machines)" > "$STATE_DIR/unavailable"
  log "WARNING: this node has no /dev/kvm: runtime handler(s) $_k_need will not be labelled ready here"
}

check_arch() {
  [ -s "$SCRIPT_DIR/artifacts.list" ] || return 0
  ARCH=$(node_arch)
  _a_missing=$(awk -F "$TAB" -v a="$ARCH" '
    NF >= 5 && substr($1, 1, 1) != "#" {
      k = ($5 == "-") ? $3 : $5
      if (!(k in keys)) { keys[k] = 1; order[++n] = k }
      if ($1 == a || $1 == "any") ok[k] = 1
    }
    END { for (i = 1; i <= n; i++) if (!(order[i] in ok)) printf "%s ", order[i] }' "$SCRIPT_DIR/artifacts.list")
  if [ -n "$_a_missing" ]; then
    not_applicable "no artifact for this node's CPU architecture ($ARCH, uname -m: $(uname -m)) for: ${_a_missing% }. The node is not labelled ready and nothing was installed. Fix: add an artifact for $ARCH to the runtime, or keep the node setup off $ARCH nodes (nodeSelector kubernetes.io/arch)"
  fi
}

# ---------------------------------------------------------------------------------------------
# Artifacts and host files

sha512_of() {
  sha512sum "$1" | awk '{ print $1 }'
}

# fetch URL OUT: download (wget or curl), or copy for file:// and local paths (tests, air gaps).
fetch() {
  case "$1" in
    file://*) cp "${1#file://}" "$2" ;;
    /*) cp "$1" "$2" ;;
    *)
      if command -v wget >/dev/null 2>&1; then
        wget -q -O "$2" "$1"
      elif command -v curl >/dev/null 2>&1; then
        curl -fsSL -o "$2" "$1"
      else
        echo "neither wget nor curl is in the installer image" >&2
        return 1
      fi
      ;;
  esac
}

# install_file SRC HOST_PATH MODE: replace HOST_PATH with SRC unless identical. A new file is
# written next to the old one and renamed over it: the old inode stays intact for running
# processes (no `Text file busy`, no half-copied binary), and rename(2) unlinks the old name.
install_file() {
  _i_dst=$HOST_ROOT$2
  if [ -f "$_i_dst" ] && [ ! -L "$_i_dst" ] && cmp -s "$1" "$_i_dst"; then
    if [ -n "$3" ]; then chmod "$3" "$_i_dst"; fi
    return 0
  fi
  if [ -d "$_i_dst" ] && [ ! -L "$_i_dst" ]; then
    fail "cannot install $2: it is a directory on the node"
  fi
  ensure_host_dir "$(dirname "$2")"
  journal_record file "$2"
  host_temp "$_i_dst.cdk8s-new"
  rm -f "$_i_dst.cdk8s-new"
  cp -p "$1" "$_i_dst.cdk8s-new"
  if [ -n "$3" ]; then chmod "$3" "$_i_dst.cdk8s-new"; fi
  mv -f "$_i_dst.cdk8s-new" "$_i_dst"
  log "installed $2"
}

# install_tree SRC_DIR HOST_DIR: every file of SRC_DIR, each replaced atomically.
install_tree() {
  ensure_host_dir "$(dirname "$2")"
  journal_record file "$2"
  (cd "$1" && find . ! -type d) > "$WORK/tree.list"
  (cd "$1" && find . -type d) > "$WORK/tree.dirs"
  while IFS= read -r _t_d <&4; do
    mkdir -p "$HOST_ROOT$2/${_t_d#./}"
  done 4< "$WORK/tree.dirs"
  while IFS= read -r _t_f <&4; do
    _t_rel=${_t_f#./}
    if [ -L "$1/$_t_rel" ]; then
      rm -rf "${HOST_ROOT:?}$2/$_t_rel"
      cp -P "$1/$_t_rel" "$HOST_ROOT$2/$_t_rel"
    elif ! cmp -s "$1/$_t_rel" "$HOST_ROOT$2/$_t_rel" 2>/dev/null; then
      rm -f "$HOST_ROOT$2/$_t_rel.cdk8s-new"
      cp -p "$1/$_t_rel" "$HOST_ROOT$2/$_t_rel.cdk8s-new"
      mv -f "$HOST_ROOT$2/$_t_rel.cdk8s-new" "$HOST_ROOT$2/$_t_rel"
    fi
  done 4< "$WORK/tree.list"
  log "installed $2/"
}

install_artifacts() {
  [ -s "$SCRIPT_DIR/artifacts.list" ] || return 0
  ARCH=$(node_arch)
  while IFS="$TAB" read -r _a_arch _a_source _a_location _a_sha _a_dest <&3; do
    case "$_a_arch" in '' | '#'*) continue ;; esac
    if [ "$_a_arch" != "$ARCH" ] && [ "$_a_arch" != any ]; then
      continue
    fi
    case "$_a_source" in
      image)
        _a_src=$ARTIFACTS_DIR/${_a_location#/}
        if [ -d "$_a_src" ]; then
          install_tree "$_a_src" "$_a_dest"
        elif [ -f "$_a_src" ]; then
          install_file "$_a_src" "$_a_dest" ''
        else
          fail "artifact $_a_location is missing from $ARTIFACTS_DIR: the init container that copies it out of its image did not put it there (check the artifact's path in RuntimeArtifacts.fromImage)"
        fi
        ;;
      url)
        _a_tmp=$WORK/download
        rm -f "$_a_tmp"
        log "downloading $_a_location"
        if ! fetch "$_a_location" "$_a_tmp"; then
          fail "could not download $_a_location (for $_a_dest): check the URL and that the node can reach it (proxy, egress rules)"
        fi
        _a_got=$(sha512_of "$_a_tmp")
        _a_want=$(printf '%s' "$_a_sha" | tr 'A-F' 'a-f')
        if [ "$_a_got" != "$_a_want" ]; then
          rm -f "$_a_tmp"
          fail "sha512 mismatch for $_a_location: expected $_a_want, got $_a_got. Nothing was installed from it. Fix: correct the URL or the sha512 given to RuntimeArtifacts.fromUrl"
        fi
        install_file "$_a_tmp" "$_a_dest" 0755
        ;;
      preinstalled)
        if [ ! -e "$HOST_ROOT$_a_location" ]; then
          fail "preinstalled artifact $_a_location is missing on this node: install it on the node (or use RuntimeArtifacts.fromImage / fromUrl)"
        fi
        ;;
      *) fail "artifacts.list: unknown artifact source '$_a_source'" ;;
    esac
  done 3< "$SCRIPT_DIR/artifacts.list"
}

install_host_files() {
  [ -s "$SCRIPT_DIR/host-files.list" ] || return 0
  while IFS="$TAB" read -r _f_n _f_path <&3; do
    case "$_f_n" in '' | '#'*) continue ;; esac
    install_file "$SCRIPT_DIR/host-file-$_f_n" "$_f_path" 0644
  done 3< "$SCRIPT_DIR/host-files.list"
}

# ---------------------------------------------------------------------------------------------
# Runtime configuration

# refuse_conflict FILE-IN-MESSAGE HANDLER LINE
refuse_conflict() {
  _c_hint=''
  case "$DIST" in
    k3s | rke2) _c_hint=" ($DIST adds runtimes it finds installed, e.g. crun, nvidia and wasm shims, to the config it renders)" ;;
  esac
  fail "refusing to change anything: $1 already defines the runtime handler '$2'${3:+ (line $3)} and it was not written by the cdk8s-runtimeclass node setup '$SETUP_NAME'$_c_hint. Fix: remove or rename that table on the node, or give the RuntimeClass another handler name; then restart this pod"
}

# conflicts_in FILE NAME-IN-MESSAGE: refuse if FILE defines one of our handler tables.
conflicts_in() {
  [ -f "$1" ] || return 0
  for _k_h in $HANDLERS; do
    _k_line=$(table_line "$1" "$_k_h")
    if [ -n "$_k_line" ]; then
      refuse_conflict "$2" "$_k_h" "$_k_line"
    fi
  done
}

# render_check MODE IN OUT: the file containerd would read, for the edited file IN.
#   direct: IN itself; microk8s: the template with the snap's paths filled in;
#   k3s/rke2: the config the distribution rendered last, with our block as in IN.
render_check() {
  case "$1" in
    direct) cat "$2" > "$3" ;;
    microk8s)
      # shellcheck disable=SC2016 # the snap's placeholders, literally
      sed -e 's|${SNAP_DATA}|/var/snap/microk8s/current|g' -e 's|${SNAP}|/snap/microk8s/current|g' "$2" > "$3"
      ;;
    rendered)
      if ! strip_block "$HOST_ROOT$RENDERED" > "$3"; then
        fail "$RENDERED has unpaired '$MARK_BEGIN' / '$MARK_END' lines: remove them by hand"
      fi
      extract_block "$2" >> "$3"
      ;;
  esac
}

# edit_in_place TARGET FRAGMENT MODE SCHEMA SKELETON: containerd 1.x-style edit of TARGET (a
# config or template): our tables appended between marker comments, nothing outside them
# touched. SKELETON (a pod-local file, or '') is what TARGET starts from when it does not exist.
edit_in_place() {
  _p_target=$1
  _p_fragment=$2
  _p_mode=$3
  _p_schema=$4
  _p_skeleton=$5
  _p_real=$HOST_ROOT$_p_target
  _p_dir=$(dirname "$_p_target")
  if [ "$_p_mode" = rendered ]; then
    _p_checkdir=$(dirname "$RENDERED")
  else
    _p_checkdir=$_p_dir
  fi
  _p_base=$WORK/base
  _p_cand=$WORK/candidate
  _p_check=$_p_checkdir/.cdk8s-runtimeclass-$SETUP_NAME.check.toml
  host_temp "$HOST_ROOT$_p_check"
  [ -f "$SCRIPT_DIR/$_p_fragment" ] || fail "the ConfigMap has no $_p_fragment: re-synthesize the node setup with this library version"
  _p_plugin=$(cri_plugin_for "$_p_schema")

  if [ -e "$_p_real" ]; then
    if ! strip_block "$_p_real" > "$_p_base"; then
      fail "refusing to change anything: $_p_target has a '$MARK_BEGIN' line without its '$MARK_END' line (or the other way round). Fix: delete the broken block by hand, then restart this pod"
    fi
  else
    cp "$_p_skeleton" "$_p_base"
  fi

  # 1. The node as it is, without our block: must parse, must not define our handlers.
  ensure_host_dir "$_p_checkdir"
  render_check "$_p_mode" "$_p_base" "$HOST_ROOT$_p_check"
  if ! ctr_dump "$_p_check" "$WORK/dump.before"; then
    fail "refusing to change anything: containerd cannot read $_p_target as it is now: $(dump_error). Fix the file on the node, then restart this pod"
  fi
  OLD_HANDLERS=$(table_handlers "$_p_plugin" "$WORK/dump.before" | tr '\n' ' ')
  for _p_h in $HANDLERS; do
    if word_in "$_p_h" "$OLD_HANDLERS"; then
      _p_where=$_p_target
      _p_line=$(table_line "$_p_base" "$_p_h")
      if [ -z "$_p_line" ] && [ "$_p_mode" = rendered ]; then
        _p_where=$RENDERED
        _p_line=$(table_line "$HOST_ROOT$_p_check" "$_p_h")
      fi
      refuse_conflict "$_p_where" "$_p_h" "$_p_line"
    fi
  done
  conflicts_in "$_p_base" "$_p_target"
  SYSTEMD_CGROUP=$(systemd_cgroup_of "$_p_plugin" "$WORK/dump.before")

  # 2. The candidate: the same bytes, then our block.
  write_block "$_p_fragment" "$WORK/block"
  cat "$_p_base" "$WORK/block" > "$_p_cand"
  render_check "$_p_mode" "$_p_cand" "$HOST_ROOT$_p_check"
  if ! ctr_dump "$_p_check" "$WORK/dump.after"; then
    fail "containerd rejects the configuration with our runtimes added: $(dump_error). $_p_target was not changed"
  fi
  if ! check_handlers "$WORK/dump.after" "$_p_plugin" "$_p_target"; then
    fail "$CHECK_MESSAGE. $_p_target was not changed"
  fi
  if [ -e "$_p_real" ] && cmp -s "$_p_cand" "$_p_real"; then
    log "$_p_target already has runtime handler(s) $HANDLERS (SystemdCgroup = $SYSTEMD_CGROUP)"
    return 0
  fi

  # 3. Record, then replace atomically.
  journal_record config "$_p_target" "$_p_skeleton"
  run_undo_add "$_p_target"
  mark_restart_pending
  ensure_host_dir "$_p_dir"
  replace_host_file "$_p_cand" "$_p_target"
  CONFIG_CHANGED=1
  log "added runtime handler(s) $HANDLERS to $_p_target (SystemdCgroup = $SYSTEMD_CGROUP)"
}

# write_runtime_file SRC HOST_PATH: a whole file of ours that the runtime reads (a drop-in).
write_runtime_file() {
  if [ -f "$HOST_ROOT$2" ] && cmp -s "$1" "$HOST_ROOT$2"; then
    return 1
  fi
  ensure_host_dir "$(dirname "$2")"
  journal_record runtimecfg "$2"
  run_undo_add "$2"
  mark_restart_pending
  replace_host_file "$1" "$2"
  CONFIG_CHANGED=1
  log "wrote $2"
  return 0
}

dropin_header() {
  printf '%s\n' "# Written by the cdk8s-runtimeclass node setup '$SETUP_NAME' (runtime handlers: $HANDLERS)."
  printf '%s\n' "# Rewritten on every install and removed on uninstall: do not edit."
}

# containerd 2.x (or a main file of version 3/4): our drop-in, imported by the main file.
configure_containerd_v3() {
  _v_main=$CONTAINERD_CONFIG
  _v_dir=$(dirname "$_v_main")
  # containerd 2.2+ imports /etc/containerd/conf.d/*.toml by default (containerd PR #12323);
  # older 2.x need the main file to import it, which this function makes sure of.
  _v_dropin=$_v_dir/conf.d/$SETUP_NAME.toml
  _v_plugin=io.containerd.cri.v1.runtime
  _v_check=$_v_dir/.cdk8s-runtimeclass-$SETUP_NAME.check.toml
  host_temp "$HOST_ROOT$_v_check"
  [ -f "$SCRIPT_DIR/containerd-v3.toml" ] || fail "the ConfigMap has no containerd-v3.toml: re-synthesize the node setup with this library version"

  # 1. The node as it is.
  OLD_HANDLERS=''
  if [ -e "$HOST_ROOT$_v_main" ]; then
    if ! ctr_dump "$_v_main" "$WORK/dump.before"; then
      fail "refusing to change anything: containerd cannot read $_v_main as it is now: $(dump_error). Fix the file on the node, then restart this pod"
    fi
    for _v_h in $(table_handlers "$_v_plugin" "$WORK/dump.before"); do
      if word_in "$_v_h" "$HANDLERS"; then
        if [ ! -e "$HOST_ROOT$_v_dropin" ]; then
          refuse_conflict "$_v_main (or a file it imports)" "$_v_h" ''
        fi
      else
        OLD_HANDLERS="$OLD_HANDLERS $_v_h"
      fi
    done
    SYSTEMD_CGROUP=$(systemd_cgroup_of "$_v_plugin" "$WORK/dump.before")
  fi
  conflicts_in "$HOST_ROOT$_v_main" "$_v_main"
  if [ -d "$HOST_ROOT$_v_dir/conf.d" ]; then
    find "$HOST_ROOT$_v_dir/conf.d" -maxdepth 1 -type f -name '*.toml' > "$WORK/dropins"
    while IFS= read -r _v_f <&4; do
      if [ "$_v_f" != "$HOST_ROOT$_v_dropin" ]; then
        conflicts_in "$_v_f" "${_v_f#"$HOST_ROOT"}"
      fi
    done 4< "$WORK/dropins"
  fi

  # 2. Our drop-in in place (rolled back below if containerd does not take it).
  { dropin_header; render_fragment containerd-v3.toml; } > "$WORK/dropin"
  write_runtime_file "$WORK/dropin" "$_v_dropin" || :

  # 3. The main file: unchanged if it already imports the drop-in, else one `imports` entry more.
  if [ -e "$HOST_ROOT$_v_main" ]; then
    cat "$HOST_ROOT$_v_main" > "$WORK/main"
    _v_skeleton=''
  else
    {
      printf '%s\n' "# Written by the cdk8s-runtimeclass node setup '$SETUP_NAME': $_v_main did not exist. Removed on uninstall."
      printf '%s\n' "version = 3"
    } > "$WORK/main.skeleton"
    cat "$WORK/main.skeleton" > "$WORK/main"
    _v_skeleton=$WORK/main.skeleton
  fi
  cat "$WORK/main" > "$HOST_ROOT$_v_check"
  if ctr_dump "$_v_check" "$WORK/dump.after" && check_handlers "$WORK/dump.after" "$_v_plugin" "$_v_main"; then
    cp "$WORK/main" "$WORK/main.new"
  else
    add_import "$WORK/main" "$_v_dropin" > "$WORK/main.new"
    cat "$WORK/main.new" > "$HOST_ROOT$_v_check"
    if ! ctr_dump "$_v_check" "$WORK/dump.after"; then
      _v_err=$(dump_error)
      rollback_run
      fail "containerd rejects the configuration with our drop-in imported: $_v_err. Nothing was changed"
    fi
    if ! check_handlers "$WORK/dump.after" "$_v_plugin" "$_v_main"; then
      rollback_run
      fail "$CHECK_MESSAGE. Nothing was changed"
    fi
  fi
  if [ -e "$HOST_ROOT$_v_main" ] && cmp -s "$WORK/main.new" "$HOST_ROOT$_v_main"; then
    :
  else
    journal_record config "$_v_main" "$_v_skeleton"
    printf '%s\n' "$_v_dropin" > "$STATE/import-path"
    run_undo_add "$_v_main"
    mark_restart_pending
    ensure_host_dir "$_v_dir"
    replace_host_file "$WORK/main.new" "$_v_main"
    CONFIG_CHANGED=1
    log "added $_v_dropin to the imports of $_v_main"
  fi
  if [ "$CONFIG_CHANGED" = 0 ]; then
    log "$_v_dropin already has runtime handler(s) $HANDLERS and is imported"
  fi
}

configure_containerd() {
  if [ "$CTR_OK" = 0 ]; then
    fail "cannot run the host's containerd ('$CTR_CMD --version' failed); every change is validated with it. Fix: make sure containerd is installed on the node, or set HOST_CONTAINERD to a command that runs it"
  fi
  # A per-handler snapshotter (Kata Firecracker: devmapper) arrived in containerd 1.7; 1.6
  # accepts the key and silently drops it, so the handler would run on the wrong snapshotter.
  if [ "$CTR_MAJOR" = 1 ] && grep -q '^snapshotter = ' "$SCRIPT_DIR/containerd-v2.toml"; then
    _d_minor=$(printf '%s' "$CTR_VERSION" | cut -d. -f2)
    case "$_d_minor" in
      [0-6])
        fail "refusing to change anything: runtime handler(s) $HANDLERS need a per-handler snapshotter, which containerd $CTR_VERSION ignores (it arrived in 1.7). Fix: upgrade containerd to 1.7 or later on this node, or keep this runtime off it with a nodeSelector"
        ;;
    esac
  fi
  if [ -e "$HOST_ROOT$CONTAINERD_CONFIG" ]; then
    _d_schema=$(root_version "$HOST_ROOT$CONTAINERD_CONFIG")
    case "$_d_schema" in
      '' | *[!0-9]*) fail "refusing to change anything: $CONTAINERD_CONFIG has an unreadable root 'version' line ('$_d_schema')" ;;
    esac
    log "$CONTAINERD_CONFIG: config version $_d_schema"
    if [ "$_d_schema" -ge 3 ]; then
      if [ "$CTR_MAJOR" -lt 2 ]; then
        fail "refusing to change anything: $CONTAINERD_CONFIG is config version $_d_schema, but this node runs containerd $CTR_VERSION, which loads such a file and silently ignores every io.containerd.cri.v1.* setting in it. Fix: use a version 2 config with containerd 1.x (containerd config default), or upgrade containerd to 2.x"
      fi
      configure_containerd_v3
    else
      # Versions 1 and 2: tables appended between markers (containerd 1.x imports replace a
      # plugin's whole table, so a drop-in holding only our runtimes would drop runc).
      edit_in_place "$CONTAINERD_CONFIG" "containerd-v$_d_schema.toml" direct "$_d_schema" ''
    fi
  elif [ "$CTR_MAJOR" -ge 2 ]; then
    log "$CONTAINERD_CONFIG does not exist: creating it (config version 3) to import our drop-in"
    configure_containerd_v3
  else
    log "$CONTAINERD_CONFIG does not exist: creating a version 2 config that keeps containerd's runc default"
    {
      printf '%s\n' "# Written by the cdk8s-runtimeclass node setup '$SETUP_NAME': $CONTAINERD_CONFIG did not exist."
      printf '%s\n' "# containerd's defaults (runc as the default runtime) plus the runtimes between the markers below."
      printf '%s\n' "# Removed on uninstall."
      printf '%s\n' 'version = 2' ''
      printf '%s\n' '[plugins."io.containerd.grpc.v1.cri".containerd]' '  default_runtime_name = "runc"' ''
      printf '%s\n' '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]' '  runtime_type = "io.containerd.runc.v2"' ''
    } > "$WORK/skeleton"
    edit_in_place "$CONTAINERD_CONFIG" containerd-v2.toml direct 2 "$WORK/skeleton"
  fi
}

# k3s / rke2: their containerd config template, which they render into config.toml on start
# (k3s pkg/agent/containerd/config.go: config-v3.toml.tmpl, else config.toml.tmpl; both may start
# with `{{ template "base" . }}` to extend the built-in template).
configure_rancher() {
  _k_dir=/var/lib/rancher/$DIST/agent/etc/containerd
  RENDERED=$_k_dir/config.toml
  if [ ! -f "$HOST_ROOT$RENDERED" ]; then
    fail "$RENDERED does not exist: $DIST has not configured containerd on this node yet (is $UNIT running?). This pod retries when restarted"
  fi
  _k_rendered_version=$(root_version "$HOST_ROOT$RENDERED")
  if [ -e "$HOST_ROOT$_k_dir/config-v3.toml.tmpl" ]; then
    _k_tmpl=$_k_dir/config-v3.toml.tmpl
    _k_schema=3
  elif [ -e "$HOST_ROOT$_k_dir/config.toml.tmpl" ]; then
    _k_tmpl=$_k_dir/config.toml.tmpl
    _k_schema=$(root_version "$HOST_ROOT$RENDERED")
  elif [ "$_k_rendered_version" -ge 3 ]; then
    _k_tmpl=$_k_dir/config-v3.toml.tmpl
    _k_schema=3
  else
    _k_tmpl=$_k_dir/config.toml.tmpl
    _k_schema=2
  fi
  case "$_k_schema" in
    3 | 4) _k_fragment=containerd-v3-tables.toml ;;
    *) _k_fragment=containerd-v$_k_schema.toml ;;
  esac
  if grep -q '{{' "$SCRIPT_DIR/$_k_fragment"; then
    fail "the runtime tables contain '{{', which $DIST's template engine would interpret"
  fi
  printf '%s\n' '{{ template "base" . }}' > "$WORK/skeleton"
  if [ "$CTR_OK" = 0 ]; then
    log "WARNING: cannot run $DIST's containerd: checking $RENDERED as text only"
  fi
  edit_in_place "$_k_tmpl" "$_k_fragment" rendered "$_k_schema" "$WORK/skeleton"
  POST_VERIFY=rendered
}

# microk8s: args/containerd-template.toml, which the snap renders into args/containerd.toml
# (filling in ${SNAP}, ${SNAP_DATA}, ${RUNTIME}) each time snap.microk8s.daemon-containerd starts
# (microk8s wrappers/run-containerd-with-args).
configure_microk8s() {
  _m_tmpl=/var/snap/microk8s/current/args/containerd-template.toml
  RENDERED=/var/snap/microk8s/current/args/containerd.toml
  _m_schema=$(root_version "$HOST_ROOT$_m_tmpl")
  if [ "$_m_schema" -ge 3 ]; then
    _m_fragment=containerd-v3-tables.toml
  else
    _m_fragment=containerd-v$_m_schema.toml
  fi
  if [ "$CTR_OK" = 0 ]; then
    log "WARNING: cannot run microk8s' containerd: checking $_m_tmpl as text only"
  fi
  edit_in_place "$_m_tmpl" "$_m_fragment" microk8s "$_m_schema" ''
  POST_VERIFY=rendered
}

# k0s: a drop-in in /etc/k0s/containerd.d, which k0s merges into the CRI config it generates
# (/run/k0s/containerd-cri.toml) as long as /etc/k0s/containerd.toml is k0s-managed (k0s docs, runtime.md).
configure_k0s() {
  _0_main=/etc/k0s/containerd.toml
  _0_dropin=/etc/k0s/containerd.d/$SETUP_NAME.toml
  RENDERED=/run/k0s/containerd-cri.toml
  if [ -f "$HOST_ROOT$_0_main" ] && [ "$(head -n 1 "$HOST_ROOT$_0_main")" != '# k0s_managed=true' ]; then
    fail "refusing to change anything: $_0_main is not managed by k0s (its first line is not '# k0s_managed=true'), so k0s ignores /etc/k0s/containerd.d. Fix: restore the k0s-managed file, or set the node setup's distribution to containerd with CONTAINERD_CONFIG=$_0_main"
  fi
  if [ -d "$HOST_ROOT/etc/k0s/containerd.d" ]; then
    find "$HOST_ROOT/etc/k0s/containerd.d" -maxdepth 1 -type f -name '*.toml' > "$WORK/dropins"
    while IFS= read -r _0_f <&4; do
      if [ "$_0_f" != "$HOST_ROOT$_0_dropin" ]; then
        conflicts_in "$_0_f" "${_0_f#"$HOST_ROOT"}"
      fi
    done 4< "$WORK/dropins"
  fi
  # The drop-in's schema follows k0s' containerd: 1.x reads version 2, 2.x version 3.
  if [ -n "$CTR_MAJOR" ] && [ "$CTR_MAJOR" -ge 2 ]; then
    _0_plugin=io.containerd.cri.v1.runtime
  else
    _0_plugin=io.containerd.grpc.v1.cri
  fi
  if [ -f "$HOST_ROOT$RENDERED" ]; then
    SYSTEMD_CGROUP=$(systemd_cgroup_of "$_0_plugin" "$HOST_ROOT$RENDERED")
  fi
  if [ "$_0_plugin" = io.containerd.cri.v1.runtime ]; then
    { dropin_header; render_fragment containerd-v3.toml; } > "$WORK/dropin"
  else
    { dropin_header; printf '%s\n' 'version = 2' ''; render_fragment containerd-v2.toml; } > "$WORK/dropin"
  fi
  if [ "$CTR_OK" = 1 ]; then
    _0_check=/etc/k0s/.cdk8s-runtimeclass-$SETUP_NAME.check.toml
    ensure_host_dir /etc/k0s
    host_temp "$HOST_ROOT$_0_check"
    cat "$WORK/dropin" > "$HOST_ROOT$_0_check"
    if ! ctr_dump "$_0_check" "$WORK/dump.after"; then
      fail "containerd rejects our drop-in: $(dump_error). Nothing was changed"
    fi
    OLD_HANDLERS=''
    if ! check_handlers "$WORK/dump.after" "$_0_plugin" "$_0_dropin"; then
      fail "$CHECK_MESSAGE. Nothing was changed"
    fi
  fi
  if write_runtime_file "$WORK/dropin" "$_0_dropin"; then
    POST_VERIFY=k0s
  else
    log "$_0_dropin already has runtime handler(s) $HANDLERS"
  fi
}

# CRI-O: a drop-in in /etc/crio/crio.conf.d (crio.conf(5)); CRI-O reads it on restart.
configure_crio() {
  _o_dropin=/etc/crio/crio.conf.d/50-cdk8s-runtimeclass-$SETUP_NAME.conf
  if [ ! -s "$SCRIPT_DIR/crio.conf" ]; then
    fail "this node runs CRI-O, but none of the runtime handler(s) $HANDLERS of node setup '$SETUP_NAME' has a CRI-O configuration. Fix: keep this node setup off CRI-O nodes, or use runtimes that support CRI-O"
  fi
  _o_missing=''
  for _o_h in $HANDLERS; do
    if ! grep -qE "^[[:space:]]*\\[crio\\.runtime\\.runtimes\\.(\"$_o_h\"|$_o_h)\\]" "$SCRIPT_DIR/crio.conf"; then
      _o_missing="$_o_missing $_o_h"
    fi
  done
  if [ -n "$_o_missing" ]; then
    fail "this node runs CRI-O, but runtime handler(s)$_o_missing of node setup '$SETUP_NAME' have no CRI-O configuration (containerd only). Nothing was changed. Fix: keep this node setup off CRI-O nodes, or move those runtimes to their own node setup"
  fi
  conflicts_in "$HOST_ROOT/etc/crio/crio.conf" /etc/crio/crio.conf
  if [ -d "$HOST_ROOT/etc/crio/crio.conf.d" ]; then
    find "$HOST_ROOT/etc/crio/crio.conf.d" -maxdepth 1 -type f > "$WORK/dropins"
    while IFS= read -r _o_f <&4; do
      if [ "$_o_f" != "$HOST_ROOT$_o_dropin" ]; then
        conflicts_in "$_o_f" "${_o_f#"$HOST_ROOT"}"
      fi
    done 4< "$WORK/dropins"
  fi
  { dropin_header; cat "$SCRIPT_DIR/crio.conf"; } > "$WORK/dropin"
  write_runtime_file "$WORK/dropin" "$_o_dropin" || log "$_o_dropin already has runtime handler(s) $HANDLERS"
}

configure_runtime() {
  if [ -z "$HANDLERS" ]; then
    log "no runtime handlers to configure"
    return 0
  fi
  case "$DIST" in
    containerd) configure_containerd ;;
    k3s | rke2) configure_rancher ;;
    microk8s) configure_microk8s ;;
    k0s) configure_k0s ;;
    crio) configure_crio ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Restart and verification

wait_active() {
  _w_i=0
  until host_systemctl is-active --quiet "$UNIT" >/dev/null 2>&1; do
    _w_i=$((_w_i + 1))
    if [ "$_w_i" -ge "$VERIFY_TIMEOUT" ]; then
      return 1
    fi
    sleep 1
  done
  return 0
}

# After the restart: the runtime is up, and (for distributions that render their own config)
# the rendered config carries our handlers.
post_verify() {
  case "$POST_VERIFY" in
    rendered)
      if [ ! -e "$HOST_ROOT$RENDERED" ]; then
        log "WARNING: $RENDERED does not exist after the restart: not checked"
        return 0
      fi
      _v_i=0
      until grep -qxF "$MARK_BEGIN" "$HOST_ROOT$RENDERED"; do
        _v_i=$((_v_i + 1))
        if [ "$_v_i" -ge "$VERIFY_TIMEOUT" ]; then
          VERIFY_MESSAGE="$UNIT did not render our runtime tables into $RENDERED within ${VERIFY_TIMEOUT}s"
          return 1
        fi
        sleep 1
      done
      ;;
    k0s)
      if [ ! -e "$HOST_ROOT$RENDERED" ]; then
        log "WARNING: $RENDERED does not exist after the restart: not checked"
        return 0
      fi
      _v_i=0
      while :; do
        _v_have=$(table_handlers io.containerd.grpc.v1.cri "$HOST_ROOT$RENDERED"; table_handlers io.containerd.cri.v1.runtime "$HOST_ROOT$RENDERED")
        _v_ok=1
        for _v_h in $HANDLERS; do
          word_in "$_v_h" "$(echo "$_v_have" | tr '\n' ' ')" || _v_ok=0
        done
        [ "$_v_ok" = 1 ] && break
        _v_i=$((_v_i + 1))
        if [ "$_v_i" -ge "$VERIFY_TIMEOUT" ]; then
          VERIFY_MESSAGE="k0s did not merge our drop-in into $RENDERED within ${VERIFY_TIMEOUT}s"
          return 1
        fi
        sleep 1
      done
      ;;
  esac
  return 0
}

restart_runtime() {
  if [ "$CONFIG_CHANGED" = 0 ]; then
    if [ -f "$STATE/restart-pending" ]; then
      log "a previous run changed the configuration but did not finish its restart: restarting now"
    else
      log "nothing changed: no restart"
      return 0
    fi
  fi
  log "restarting $UNIT (once, to load the new configuration)"
  if host_systemctl restart "$UNIT" && wait_active && post_verify; then
    rm -f "$STATE/restart-pending"
    return 0
  fi
  _x_reason=${VERIFY_MESSAGE:-$UNIT did not come back active within ${VERIFY_TIMEOUT}s after the restart}
  log "ERROR: $_x_reason: rolling back"
  rollback_run
  host_systemctl restart "$UNIT" || :
  rm -f "$STATE/restart-pending"
  fail "$_x_reason; the previous configuration was restored and $UNIT restarted again. Check '$UNIT' logs on the node (journalctl -u $UNIT)"
}

# ---------------------------------------------------------------------------------------------
# Labels

label_ready() {
  [ -n "$READY_LABELS" ] || return 0
  [ -n "$NODE_NAME" ] || fail "NODE_NAME is not set: the DaemonSet passes it from the downward API (spec.nodeName)"
  for _l_pair in $READY_LABELS; do
    _l_key=${_l_pair#*=}
    if ! kubectl_ label node "$NODE_NAME" "$_l_key=ready" --overwrite > /dev/null 2> "$WORK/kubectl.err"; then
      fail "could not label node $NODE_NAME with $_l_key=ready: $(tr '\n' ' ' < "$WORK/kubectl.err")(check the node setup's RBAC: nodes get/patch)"
    fi
    log "labelled node $NODE_NAME $_l_key=ready"
  done
  # Labels of handlers this setup no longer has.
  if [ -f "$STATE/labels" ]; then
    while IFS= read -r _l_old <&3; do
      _l_keep=0
      for _l_pair in $READY_LABELS; do
        [ "${_l_pair#*=}" = "$_l_old" ] && _l_keep=1
      done
      if [ "$_l_keep" = 0 ]; then
        kubectl_ label node "$NODE_NAME" "$_l_old-" > /dev/null 2>&1 || :
        log "removed label $_l_old (its handler left this node setup)"
      fi
    done 3< "$STATE/labels"
  fi
  mkdir -p "$STATE"
  : > "$STATE/labels.new"
  for _l_pair in $READY_LABELS; do
    printf '%s\n' "${_l_pair#*=}" >> "$STATE/labels.new"
  done
  mv -f "$STATE/labels.new" "$STATE/labels"
}

# remove_ready_labels [quiet]: every ready label of this setup removed (first step of uninstall).
remove_ready_labels() {
  [ -n "$READY_LABELS" ] || [ -f "$STATE/labels" ] || return 0
  if [ -z "$NODE_NAME" ]; then
    [ "${1:-}" = quiet ] && return 0
    fail "NODE_NAME is not set: the DaemonSet passes it from the downward API (spec.nodeName)"
  fi
  _n_keys=''
  for _n_pair in $READY_LABELS; do
    _n_keys="$_n_keys ${_n_pair#*=}"
  done
  if [ -f "$STATE/labels" ]; then
    _n_keys="$_n_keys $(tr '\n' ' ' < "$STATE/labels")"
  fi
  _n_done=' '
  for _n_key in $_n_keys; do
    word_in "$_n_key" "$_n_done" && continue
    _n_done="$_n_done$_n_key "
    if ! kubectl_ label node "$NODE_NAME" "$_n_key-" > /dev/null 2> "$WORK/kubectl.err"; then
      if grep -q 'not found' "$WORK/kubectl.err" && ! grep -q 'NotFound' "$WORK/kubectl.err"; then
        continue
      fi
      [ "${1:-}" = quiet ] && return 1
      fail "could not remove label $_n_key from node $NODE_NAME: $(tr '\n' ' ' < "$WORK/kubectl.err")- not uninstalling, so that no pod lands on a node being unconfigured. Retry with ACTION=uninstall"
    fi
    [ "${1:-}" = quiet ] || log "removed label $_n_key from node $NODE_NAME"
  done
  return 0
}

# ---------------------------------------------------------------------------------------------
# Install

install() {
  set_not_ready "installing"
  check_kvm
  check_arch
  acquire_lock
  detect_distribution
  detect_unit
  if [ "$DIST" != crio ]; then
    resolve_containerd
  fi
  install_artifacts
  install_host_files
  configure_runtime
  restart_runtime
  release_lock
  label_ready
  set_ready
  log "ready: runtime handler(s) ${HANDLERS:-none} installed on ${NODE_NAME:-this node}"
}

# ---------------------------------------------------------------------------------------------
# Uninstall

# restore_config KIND HOST_PATH BACKUP: undo our edits; the original bytes come back when nothing
# else changed the file since (other setups' blocks aside).
restore_config() {
  _s_real=$HOST_ROOT$2
  _s_backup=$STATE/backups/$3
  _s_import=''
  if [ -f "$STATE/import-path" ]; then
    _s_import=$(cat "$STATE/import-path")
  fi
  if [ ! -e "$_s_real" ]; then
    if [ "$1" = config-saved ]; then
      cp -p "$_s_backup" "$_s_real"
      log "restored $2 (it had been removed)"
      CONFIG_CHANGED=1
    fi
    return 0
  fi
  undo_edits "$_s_real" "$_s_import" > "$WORK/undone"
  if same_content "$WORK/undone" "$_s_backup"; then
    if [ "$1" = config-created ]; then
      rm -f "$_s_real"
      log "removed $2 (created by this node setup)"
      CONFIG_CHANGED=1
    elif ! cmp -s "$_s_real" "$_s_backup"; then
      replace_host_file "$_s_backup" "$2"
      log "restored $2 byte for byte"
      CONFIG_CHANGED=1
    fi
    return 0
  fi
  strip_all_blocks "$WORK/undone" > "$WORK/undone.others"
  strip_all_blocks "$_s_backup" > "$WORK/backup.others"
  if ! same_content "$WORK/undone.others" "$WORK/backup.others"; then
    log "WARNING: $2 changed since this node setup edited it: removing only our block and import (the original is kept in $STATE_HOST/backups/$3)"
  fi
  if ! cmp -s "$WORK/undone" "$_s_real"; then
    replace_host_file "$WORK/undone" "$2"
    log "removed our runtime tables from $2"
    CONFIG_CHANGED=1
  fi
}

restore_file() {
  _s_real=$HOST_ROOT$2
  case "$1" in
    *-created)
      if [ -e "$_s_real" ] || [ -L "$_s_real" ]; then
        rm -rf "$_s_real"
        log "removed $2"
        return 0
      fi
      ;;
    *-saved)
      if [ -d "$STATE/backups/$3" ] && [ ! -L "$STATE/backups/$3" ]; then
        rm -rf "$_s_real"
        cp -a "$STATE/backups/$3" "$_s_real"
      else
        if [ -e "$_s_real" ] && cmp -s "$STATE/backups/$3" "$_s_real"; then
          return 1
        fi
        rm -f "$_s_real.cdk8s-new"
        cp -a "$STATE/backups/$3" "$_s_real.cdk8s-new"
        mv -f "$_s_real.cdk8s-new" "$_s_real"
      fi
      log "restored $2"
      return 0
      ;;
  esac
  return 1
}

uninstall() {
  set_not_ready "uninstalling"
  log "uninstalling: removing the ready labels first"
  remove_ready_labels
  acquire_lock
  if [ ! -f "$JOURNAL" ]; then
    log "nothing recorded in $STATE_HOST: nothing to undo"
    rm -rf "$STATE"
    release_lock
    set_not_ready "uninstalled"
    return 0
  fi
  detect_distribution
  UNIT=''
  if [ -f "$STATE/restart-unit" ]; then
    UNIT=$(cat "$STATE/restart-unit")
  fi
  [ -n "$UNIT" ] || detect_unit
  awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }' "$JOURNAL" > "$WORK/journal.rev"
  while IFS="$TAB" read -r _u_kind _u_path _u_backup <&3; do
    case "$_u_kind" in
      config-*) restore_config "$_u_kind" "$_u_path" "$_u_backup" ;;
      runtimecfg-*) if restore_file "$_u_kind" "$_u_path" "$_u_backup"; then CONFIG_CHANGED=1; fi ;;
      file-*) restore_file "$_u_kind" "$_u_path" "$_u_backup" || : ;;
      dir-created) rmdir "$HOST_ROOT$_u_path" 2>/dev/null || log "kept $_u_path (not empty)" ;;
    esac
  done 3< "$WORK/journal.rev"
  if [ "$CONFIG_CHANGED" = 1 ] || [ -f "$STATE/restart-pending" ]; then
    log "restarting $UNIT (last step of the uninstall)"
    if ! host_systemctl restart "$UNIT" || ! wait_active; then
      rm -rf "$STATE"
      fail "the configuration was restored, but $UNIT did not come back after the restart: check 'journalctl -u $UNIT' on the node"
    fi
  else
    log "no runtime configuration changed: no restart"
  fi
  rm -rf "$STATE"
  rmdir "$HOST_ROOT/var/lib/cdk8s-runtimeclass" 2>/dev/null || :
  release_lock
  set_not_ready "uninstalled"
  log "uninstalled"
}

# ---------------------------------------------------------------------------------------------
# After install: wait; on SIGTERM uninstall only if the DaemonSet no longer wants this node

# Exit 0 (uninstall) only on evidence; any error or doubt keeps the runtimes installed.
daemonset_gone() {
  if [ -z "$DAEMONSET_NAME" ] || [ -z "$POD_NAMESPACE" ]; then
    log "DAEMONSET_NAME or POD_NAMESPACE unknown: cannot tell whether the DaemonSet still wants this node"
    return 1
  fi
  if _g_out=$(kubectl_ get daemonset "$DAEMONSET_NAME" -n "$POD_NAMESPACE" -o 'jsonpath={.metadata.deletionTimestamp}' 2> "$WORK/kubectl.err"); then
    case "$_g_out" in
      [0-9][0-9][0-9][0-9]-*)
        log "DaemonSet $POD_NAMESPACE/$DAEMONSET_NAME is being deleted ($_g_out)"
        return 0
        ;;
    esac
  elif grep -q 'NotFound' "$WORK/kubectl.err"; then
    log "DaemonSet $POD_NAMESPACE/$DAEMONSET_NAME no longer exists"
    return 0
  else
    log "cannot read DaemonSet $POD_NAMESPACE/$DAEMONSET_NAME ($(tr '\n' ' ' < "$WORK/kubectl.err")): keeping the runtimes installed"
    return 1
  fi
  if [ -n "$NODE_SELECTOR" ] && [ -n "$NODE_NAME" ]; then
    # Read this node's labels ("key=value" per line) with a plain get: the node setup's RBAC
    # grants get and patch on nodes, not list. The $k and $v belong to kubectl's go-template.
    # shellcheck disable=SC2016
    if _g_out=$(kubectl_ get node "$NODE_NAME" -o 'go-template={{range $k, $v := .metadata.labels}}{{$k}}={{$v}}{{"\n"}}{{end}}' 2> "$WORK/kubectl.err"); then
      _g_rest=$NODE_SELECTOR
      while [ -n "$_g_rest" ]; do
        _g_pair=${_g_rest%%,*}
        case "$_g_rest" in *,*) _g_rest=${_g_rest#*,} ;; *) _g_rest= ;; esac
        if ! printf '%s\n' "$_g_out" | grep -Fqx -- "$_g_pair"; then
          log "node $NODE_NAME no longer matches the DaemonSet's node selector $NODE_SELECTOR (no label $_g_pair)"
          return 0
        fi
      done
    else
      log "cannot read node $NODE_NAME ($(tr '\n' ' ' < "$WORK/kubectl.err")): keeping the runtimes installed"
      return 1
    fi
  fi
  return 1
}

on_term() {
  trap '' TERM INT
  if [ -n "$SLEEP_PID" ]; then
    kill "$SLEEP_PID" 2>/dev/null || :
  fi
  log "SIGTERM"
  if daemonset_gone; then
    uninstall
  else
    log "the DaemonSet still wants this node (pod restart or rollout): leaving the runtimes installed"
  fi
  exit 0
}

wait_for_term() {
  trap on_term TERM INT
  if [ "$TERM_PENDING" = 1 ]; then
    on_term
  fi
  while :; do
    # Its own stdio: a TERM handled between these two lines leaves an orphan that must not hold
    # the pod's log pipes open.
    sleep 86400 > /dev/null 2>&1 &
    SLEEP_PID=$!
    wait "$SLEEP_PID" || :
  done
}

# ---------------------------------------------------------------------------------------------

main() {
  trap cleanup EXIT
  # SIGTERM during a change waits until the change is complete (then wait_for_term handles it).
  trap 'TERM_PENDING=1' TERM INT
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/cdk8s-runtimeclass.XXXXXX")
  RUN_UNDO=$WORK/run-undo
  : > "$RUN_UNDO"
  case "$ACTION" in
    install)
      install
      if [ "$ONESHOT" = 1 ]; then
        exit 0
      fi
      log "installed; waiting for SIGTERM"
      wait_for_term
      ;;
    uninstall)
      uninstall
      ;;
    *)
      fail "ACTION must be install or uninstall, got '$ACTION'"
      ;;
  esac
}

main "$@"
