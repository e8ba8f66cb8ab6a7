#!/bin/sh
# Stand-in for a containerd 2.x binary (tests only; no containerd 2 on these machines).
# `--version` reports 2.1.4; `--config FILE config dump` prints FILE and then each file its
# one-line root `imports` array names (globs expanded), after checking every one of them with
# a TOML 1.0 parser (Python's tomllib), as containerd 2's parser would. Paths are host paths
# under $FAKE_ROOT. It does not merge: the installer only looks for table headers in the dump.
set -eu
root=${FAKE_ROOT:?}
if [ "${1:-}" = --version ]; then
  echo 'containerd github.com/containerd/containerd/v2 v2.1.4 75cb2b7193e4e490e9fbdc236c0e811ccaba3376'
  exit 0
fi
[ "${1:-}" = --config ] || { echo "fake containerd: unsupported arguments: $*" >&2; exit 2; }
cfg=$2
check() {
  if ! err=$(python3 -c 'import sys, tomllib; tomllib.load(open(sys.argv[1], "rb"))' "$1" 2>&1); then
    printf '%s\n' "$err" | tail -n 1 >&2
    return 1
  fi
}
if [ ! -f "$root$cfg" ]; then
  echo "containerd: failed to load TOML from $cfg: open $cfg: no such file or directory" >&2
  exit 1
fi
check "$root$cfg" || { echo "containerd: failed to load TOML from $cfg" >&2; exit 1; }
cat "$root$cfg"
imports=$(awk -v q="'" '/^[ \t]*\[/ { exit } /^[ \t]*imports[ \t]*=/ { sub(/^[^[]*\[/, ""); sub(/\][^]]*$/, ""); gsub("[\"" q ",]", " "); print; exit }' "$root$cfg")
for pattern in $imports; do
  for match in $root$pattern; do
    [ -f "$match" ] || continue
    check "$match" || { echo "containerd: failed to load TOML from ${match#"$root"}" >&2; exit 1; }
    echo
    cat "$match"
  done
done
