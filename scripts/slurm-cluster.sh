#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for procpool's Slurm tests and for trying the Slurm
# launcher by hand.
#
#   scripts/slurm-cluster.sh up       install (Debian packages, if missing), configure, start; waits until
#                                     the node takes jobs. Idempotent: a running cluster is left as it is.
#   scripts/slurm-cluster.sh down     cancel every job, stop the daemons
#   scripts/slurm-cluster.sh status   daemons, node state, jobs
#
# What it sets up: munged, slurmctld and slurmd started by hand (no systemd needed), the node at 127.0.0.1
# under this machine's short host name, one partition "debug", ProctrackType=proctrack/linuxproc,
# TaskPlugin=task/none, SlurmUser=root, no accounting. The node declares SLURM_NODE_CPUS CPUs (default 16,
# whatever the machine has) so that several single-CPU workers fit at once on a small machine: it is a
# test cluster, not a benchmark. Needs root (apt-get, daemons, /etc/slurm). Logs: /var/log/slurm.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
LOG_DIR=/var/log/slurm
SPOOL=/var/spool/slurm
NODE_CPUS="${SLURM_NODE_CPUS:-16}"
NODE="$(hostname -s)"

log() { echo "slurm-cluster: $*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    log "must run as root (it installs packages and starts daemons)"
    exit 1
  fi
}

install_packages() {
  local missing=()
  for cmd in slurmctld slurmd srun sbatch munged; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing slurmctld slurmd slurm-client munge (missing: ${missing[*]})"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q slurmctld slurmd slurm-client munge >/tmp/slurm-cluster-apt.log 2>&1; then
      apt-get update -q >>/tmp/slurm-cluster-apt.log 2>&1
      apt-get install -y -q slurmctld slurmd slurm-client munge >>/tmp/slurm-cluster-apt.log 2>&1 || {
        tail -20 /tmp/slurm-cluster-apt.log >&2
        log "apt-get install failed (full log: /tmp/slurm-cluster-apt.log)"
        exit 1
      }
    fi
  fi
}

write_config() {
  mkdir -p "$CONF_DIR" "$LOG_DIR" "$SPOOL/ctld" "$SPOOL/d"
  local mem
  mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  cat >"$CONF.tmp" <<EOF
# Written by procpool's scripts/slurm-cluster.sh: a single-node test cluster.
ClusterName=procpool
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
InactiveLimit=0
KillWait=5
MinJobAge=30
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${NODE_CPUS} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  if ! cmp -s "$CONF.tmp" "$CONF" 2>/dev/null; then
    mv "$CONF.tmp" "$CONF"
    return 0
  fi
  rm -f "$CONF.tmp"
  return 1
}

running() {
  pgrep -x "$1" >/dev/null 2>&1
}

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    log "creating a munge key"
    if command -v mungekey >/dev/null 2>&1; then
      mungekey --create --keyfile=/etc/munge/munge.key --force
    else
      dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 0400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  chmod 0755 /run/munge
  if ! running munged; then
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged
  fi
  for _ in $(seq 1 50); do
    if munge -n </dev/null | unmunge >/dev/null 2>&1; then
      return
    fi
    sleep 0.1
  done
  log "munged does not answer"
  exit 1
}

start_slurm() {
  local changed=$1
  if $changed && { running slurmctld || running slurmd; }; then
    log "configuration changed: restarting the daemons"
    stop_daemons
  fi
  if ! running slurmctld; then
    log "starting slurmctld"
    /usr/sbin/slurmctld
  fi
  if ! running slurmd; then
    log "starting slurmd"
    /usr/sbin/slurmd
  fi
}

wait_for_node() {
  local state=""
  for _ in $(seq 1 120); do
    state=$(sinfo -h -n "$NODE" -o %t 2>/dev/null | head -1 || true)
    case "$state" in
      idle|mix|alloc)
        # The controller may report a saved state before slurmd has registered: run a job to be sure.
        if timeout 60 srun --job-name=slurm-cluster-probe --ntasks=1 true >/dev/null 2>&1; then
          log "node $NODE is $state and runs jobs"
          return 0
        fi ;;
      down*|drain*|drng*)
        scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
    esac
    sleep 0.5
  done
  log "node $NODE did not become idle (last state: '${state:-none}'); see $LOG_DIR"
  tail -20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
  exit 1
}

stop_daemons() {
  for d in slurmd slurmctld; do
    if running "$d"; then
      pkill -x "$d" || true
      for _ in $(seq 1 50); do
        running "$d" || break
        sleep 0.1
      done
      pkill -9 -x "$d" 2>/dev/null || true
    fi
  done
}

up() {
  need_root
  install_packages
  local changed=false
  if write_config; then
    changed=true
  fi
  start_munge
  start_slurm "$changed"
  wait_for_node
}

down() {
  need_root
  if running slurmctld; then
    scancel --full --user=root >/dev/null 2>&1 || true
    scancel --full >/dev/null 2>&1 || true
  fi
  stop_daemons
  log "stopped"
}

status() {
  for d in munged slurmctld slurmd; do
    if running "$d"; then echo "$d: running"; else echo "$d: stopped"; fi
  done
  sinfo 2>/dev/null || true
  squeue 2>/dev/null || true
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
