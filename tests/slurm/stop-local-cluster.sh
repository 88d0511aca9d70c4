#!/usr/bin/env bash
# Stops the daemons start-local-cluster.sh started (slurmd, slurmctld, munged). Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "${here}/cluster.env"

stop() {  # pidfile name
  local pidfile=$1 name=$2 pid
  [ -s "${pidfile}" ] || return 0
  pid=$(cat "${pidfile}")
  if kill -0 "${pid}" 2>/dev/null; then
    echo "stop-local-cluster.sh: stopping ${name} (${pid})" >&2
    kill "${pid}"
    for _ in $(seq 100); do kill -0 "${pid}" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "${pid}" 2>/dev/null || true
  fi
}

stop "${SLURM_STATE}/slurmd.pid" slurmd
stop "${SLURM_STATE}/slurmctld.pid" slurmctld
stop /run/munge/munged.pid munged
