#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the tests that submit real jobs (issue 17).
#
#   scripts/slurm-local.sh start    install slurm-wlm + munge if missing (apt, as root), write
#                                   /etc/slurm/slurm.conf for this host, start munged, slurmctld
#                                   and slurmd, and wait until `sinfo` shows the node idle
#   scripts/slurm-local.sh stop     cancel every job, then SIGTERM the daemons by their pid files
#   scripts/slurm-local.sh status   exit 0 when the node answers and is idle or busy, else 1
#
# Environment: SLURM_LOCAL_CPUS=N declares N CPUs on the node (default: what `slurmd -C` finds);
# more than the hardware works through SlurmdParameters=config_overrides (oversubscription,
# for tests only).  SLURM_LOCAL_WAIT=S bounds every wait (default 60 s).
# Exit codes: 0 ok, 1 failed (the message says where), 3 cannot install (not root / no apt-get).
# Measured facts behind each step: ../shared/notes/local-slurm.md.  Never kills by name.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
PIDS=(/run/slurm/slurmd.pid /run/slurm/slurmctld.pid /run/munge/munged.pid)
WAIT="${SLURM_LOCAL_WAIT:-60}"
HOST="$(hostname -s)"

say() { echo "slurm-local: $*" >&2; }

alive() {  # alive PIDFILE: the daemon of that pid file runs
    [[ -s "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

node_state() { sinfo -h -n "$HOST" -o '%T' 2>/dev/null | head -n1; }

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null \
        && command -v sbatch >/dev/null; then
        return 0
    fi
    if [[ "$(id -u)" != 0 ]]; then
        say "slurm-wlm and munge are not installed and installing them needs root"; exit 3
    fi
    if ! command -v apt-get >/dev/null; then
        say "slurm-wlm and munge are not installed and there is no apt-get to install them"; exit 3
    fi
    say "installing slurm-wlm and munge (about 20 s)"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null; }; then
        say "apt-get could not install slurm-wlm and munge"; exit 3
    fi
}

write_conf() {
    local node cpus
    node="$(slurmd -C | grep '^NodeName=')"
    [[ -n "$node" ]] || { say "slurmd -C printed no NodeName line"; exit 1; }
    node="${node%% UpTime=*}"
    if [[ -n "${SLURM_LOCAL_CPUS:-}" ]]; then
        cpus="$SLURM_LOCAL_CPUS"
        # CPUs=N with one socket of N cores, one thread each
        node="$(sed -E "s/CPUs=[0-9]+/CPUs=$cpus/; s/Boards=[0-9]+/Boards=1/; s/SocketsPerBoard=[0-9]+/SocketsPerBoard=1/; s/CoresPerSocket=[0-9]+/CoresPerSocket=$cpus/; s/ThreadsPerCore=[0-9]+/ThreadsPerCore=1/" <<<"$node")"
    fi
    install -d "$CONF_DIR"
    cat >"$CONF.tmp" <<EOF
# written by cztflow scripts/slurm-local.sh for host $HOST
ClusterName=cztflow-local
SlurmctldHost=$HOST
SlurmUser=slurm
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=300
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$node State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$CONF.tmp" "$CONF"
}

start() {
    install_packages
    if alive /run/slurm/slurmctld.pid && alive /run/slurm/slurmd.pid && status >/dev/null 2>&1; then
        say "already running: node $HOST $(node_state)"; return 0
    fi
    [[ "$(id -u)" == 0 ]] || { say "starting the daemons needs root"; exit 3; }
    install -d -o munge -g munge -m 0755 /run/munge
    if ! alive /run/munge/munged.pid; then
        su -s /bin/sh munge -c /usr/sbin/munged || { say "munged did not start"; exit 1; }
    fi
    munge -n | unmunge >/dev/null || { say "munge -n | unmunge failed: munged does not answer"; exit 1; }
    install -d -o slurm -g slurm /run/slurm /var/spool/slurmctld /var/log/slurm
    install -d /var/spool/slurmd
    write_conf
    alive /run/slurm/slurmctld.pid || /usr/sbin/slurmctld || { say "slurmctld did not start; see /var/log/slurm/slurmctld.log"; exit 1; }
    alive /run/slurm/slurmd.pid || /usr/sbin/slurmd || { say "slurmd did not start; see /var/log/slurm/slurmd.log"; exit 1; }
    local waited=0 state=""
    while (( waited < WAIT * 2 )); do
        state="$(node_state || true)"
        if [[ "$state" == idle* || "$state" == mixed* || "$state" == allocated* ]]; then
            say "node $HOST $state ($(sinfo -h -n "$HOST" -o '%c') CPUs) after $((waited / 2)) s"
            return 0
        fi
        sleep 0.5; waited=$((waited + 1))
    done
    say "node $HOST not idle after $WAIT s (state '${state:-none}'); see /var/log/slurm/slurmd.log and slurmctld.log"
    exit 1
}

stop() {
    if command -v scancel >/dev/null && alive /run/slurm/slurmctld.pid; then
        scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
        [[ "$(id -u)" == 0 ]] && scancel --full --quiet $(squeue -h -o '%i' 2>/dev/null) 2>/dev/null || true
    fi
    local pidfile pid waited
    for pidfile in "${PIDS[@]}"; do
        alive "$pidfile" || continue
        pid="$(cat "$pidfile")"
        kill -TERM "$pid"
        waited=0
        while kill -0 "$pid" 2>/dev/null && (( waited < WAIT * 10 )); do sleep 0.1; waited=$((waited + 1)); done
        if kill -0 "$pid" 2>/dev/null; then say "$pidfile: pid $pid still runs after SIGTERM and $WAIT s"; exit 1; fi
    done
    say "stopped"
}

status() {
    local state
    alive /run/slurm/slurmctld.pid || { echo "slurmctld not running"; return 1; }
    alive /run/slurm/slurmd.pid || { echo "slurmd not running"; return 1; }
    state="$(node_state || true)"
    echo "node $HOST ${state:-unknown}"
    [[ "$state" == idle* || "$state" == mixed* || "$state" == allocated* ]]
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
