#!/usr/bin/env bash
# A one-node Slurm cluster on this machine for the slurm tests (and for trying cmd_backend=slurm by hand):
# installs Debian's slurm-wlm + munge when missing, writes the config, starts munged, slurmctld and slurmd without
# systemd and waits until `sinfo` shows the node up (idle). Idempotent: a cluster that already answers is left alone.
# Needs root (the daemons run as root; munged as user munge). Stop it with stop-local-cluster.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "${here}/cluster.env"
timeout_s=${SLURM_START_TIMEOUT:-60}

log() { echo "start-local-cluster.sh: $*" >&2; }

node_state() { sinfo -h -n localhost -o %T 2>/dev/null | head -n1; }
node_up() { case "$(node_state)" in idle | mixed | allocated) true ;; *) false ;; esac; }

if command -v sinfo >/dev/null && [ -f "${SLURM_CONF}" ] && node_up; then
  log "already up ($(sinfo -h -o '%P %D %T' | head -n1))"
  exit 0
fi

marker="# Written by tests/slurm/start-local-cluster.sh"
if [ -s "${SLURM_CONF}" ] && [ "$(head -n1 "${SLURM_CONF}")" != "${marker}" ]; then
  log "${SLURM_CONF} is someone else's Slurm config: not overwriting it (set SLURM_CONF to use another path)"
  exit 1
fi

bash "${here}/../../bin/install_system_deps.sh" slurmctld slurmd slurm-client munge

# One node with this machine's cores and most of its memory; small per-CPU memory default so that jobs share
# the node (without DefMemPerCPU each job takes all of it), over-sized requests rejected at submission
# (EnforcePartLimits), finished jobs kept 10 min so the launcher can read their exit codes (MinJobAge).
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 3 / 4 ))
mkdir -p "$(dirname "${SLURM_CONF}")" "${SLURM_STATE}"/{ctld,d,log} /run/munge
cat > "${SLURM_CONF}.tmp" <<CONF
${marker}
ClusterName=asrkit
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=${SLURM_STATE}/ctld
SlurmdSpoolDir=${SLURM_STATE}/d
SlurmctldPidFile=${SLURM_STATE}/slurmctld.pid
SlurmdPidFile=${SLURM_STATE}/slurmd.pid
SlurmctldLogFile=${SLURM_STATE}/log/slurmctld.log
SlurmdLogFile=${SLURM_STATE}/log/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
ReturnToService=2
MinJobAge=600
EnforcePartLimits=ALL
DefMemPerCPU=256
MaxArraySize=10001
SchedulerParameters=sched_interval=2
NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=${SLURM_PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
mv "${SLURM_CONF}.tmp" "${SLURM_CONF}"

# munge: a key once, then the daemon as its own user.
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
chmod 755 /run/munge
if ! munge -n >/dev/null 2>&1; then
  log "starting munged"
  runuser -u munge -- munged
fi

# The daemons: restarted so that they read the config just written.
for daemon in slurmctld slurmd; do
  pidfile="${SLURM_STATE}/${daemon}.pid"
  if [ -s "${pidfile}" ] && kill -0 "$(cat "${pidfile}")" 2>/dev/null; then
    kill "$(cat "${pidfile}")"
    for _ in $(seq 50); do kill -0 "$(cat "${pidfile}")" 2>/dev/null || break; sleep 0.1; done
  fi
done
log "starting slurmctld and slurmd"
slurmctld -i
slurmd -N localhost

deadline=$(( SECONDS + timeout_s ))
until node_up; do
  if [ ${SECONDS} -ge ${deadline} ]; then
    log "node not up after ${timeout_s} s (state '$(node_state)'); logs in ${SLURM_STATE}/log"
    exit 1
  fi
  sleep 0.5
done
log "up: $(sinfo -h -o '%P %D %T %c CPUs %m MB' | head -n1)"
