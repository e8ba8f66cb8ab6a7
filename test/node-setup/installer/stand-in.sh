#!/bin/sh
# Recording stand-in for the installer's KUBECTL and HOST_SYSTEMCTL (tests only).
#
# Used as `KUBECTL="sh stand-in.sh kubectl"` and `HOST_SYSTEMCTL="sh stand-in.sh systemctl"`:
# appends "<tool> <args...>" as one line to $STANDIN_LOG, then answers from canned settings:
#   STANDIN_DS            present (default) | notfound | deleting | error  (kubectl get daemonset)
#   STANDIN_NODE_SELECTED yes (default) | no | error                      (kubectl get node NAME: its labels)
#   STANDIN_LABEL         ok (default) | fail                              (kubectl label)
#   STANDIN_ACTIVE        yes (default) | no                               (systemctl is-active)
#   STANDIN_ON_RESTART    a sh command run on `systemctl restart` (e.g. to render a k3s template);
#                         it sees INSTALLER_PID, the PID of the installer that called the stand-in
tool=$1
shift
printf '%s %s\n' "$tool" "$*" >> "${STANDIN_LOG:?STANDIN_LOG must name the log file}"
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
        # The node's labels as "key=value" lines, as the installer's go-template prints them.
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
    [ "${STANDIN_ACTIVE:-yes}" = yes ]
    exit
    ;;
  'systemctl restart')
    if [ -n "${STANDIN_ON_RESTART:-}" ]; then
      INSTALLER_PID=$PPID sh -c "$STANDIN_ON_RESTART"
    fi
    ;;
esac
exit 0
