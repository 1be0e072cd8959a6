#!/usr/bin/env bash
# A real one-node SLURM cluster for tests and trials: munged, slurmctld and slurmd from Debian's
# packages, every file under $TANDEM_SLURM_BASE (default /tmp/tandem_slurm), no systemd, no
# cgroups; `down` stops exactly the daemons it started (by their PID files).
#
#   local_slurm.sh up       install packages if missing (root), write the config, start, wait
#   local_slurm.sh down     cancel jobs, stop the daemons
#   local_slurm.sh env      print "export SLURM_CONF=..." (eval it to use sbatch/squeue/scontrol)
#
# Settings that matter for tandem: MpiDefault=pmix (Debian's Open MPI speaks PMIx only),
# JobRequeue=1, cred_expire=10 (a requeued job restarts after ~11 s, not 121 s).
set -euo pipefail
base=${TANDEM_SLURM_BASE:-/tmp/tandem_slurm}
conf=$base/etc/slurm.conf
socket=$base/munge/munge.sock
node=$(hostname -s 2>/dev/null || echo localhost)
cpus=${TANDEM_SLURM_CPUS:-$(nproc)}

say() { echo "[local_slurm] $*" >&2; }

# The PID in a pid file, if that process is still ours (its command line mentions $2).
our_pid() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(tr -dc '0-9' < "$1")
  [ -n "$pid" ] && tr '\0' ' ' < "/proc/$pid/cmdline" 2> /dev/null | grep -qF -- "$2" && echo "$pid"
}

stop() {  # stop NAME PIDFILE MARKER
  local pid
  if pid=$(our_pid "$2" "$3"); then
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 1 100); do [ -d "/proc/$pid" ] || break; sleep 0.1; done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2> /dev/null || true
    say "stopped $1"
  fi
  rm -f "$2"
}

up() {
  [ "$(id -u)" -eq 0 ] || { say "needs root"; exit 1; }
  local missing=()
  command -v slurmctld > /dev/null || missing+=(slurmctld)
  command -v slurmd > /dev/null || missing+=(slurmd)
  command -v sbatch > /dev/null || missing+=(slurm-client)
  command -v munged > /dev/null || missing+=(munge)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends \
      slurm-wlm "${missing[@]}" > /dev/null
  fi
  mkdir -p "$base/etc" "$base/state" "$base/spool" "$base/run" "$base/log" "$base/munge"
  chmod 755 "$base" "$base/munge"  # munged wants o+x on its socket directory
  [ -s "$base/munge/munge.key" ] || (umask 077; dd if=/dev/urandom of="$base/munge/munge.key" bs=1024 count=1 status=none)
  local memory
  memory=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
  cat > "$conf" <<CONF
ClusterName=tandem
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
MailProg=/bin/true
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket,cred_expire=10
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/run/slurmctld.pid
SlurmdPidFile=$base/run/slurmd.pid
SlurmctldLogFile=$base/log/slurmctld.log
SlurmdLogFile=$base/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=pmix
PropagateResourceLimits=NONE
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
ReturnToService=2
SchedulerParameters=sched_interval=2,bf_interval=2
JobRequeue=1
KillWait=10
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
CONF
  if ! our_pid "$base/run/munged.pid" "$socket" > /dev/null; then
    rm -f "$socket" "$socket.lock"
    munged --key-file="$base/munge/munge.key" --socket="$socket" --pid-file="$base/run/munged.pid" \
      --log-file="$base/log/munged.log" --seed-file="$base/munge/seed"
  fi
  our_pid "$base/run/slurmctld.pid" "$conf" > /dev/null || SLURM_CONF=$conf slurmctld -f "$conf" -i
  our_pid "$base/run/slurmd.pid" "$conf" > /dev/null || SLURM_CONF=$conf slurmd -f "$conf" -N "$node"
  for _ in $(seq 1 200); do
    case "$(SLURM_CONF=$conf sinfo -h -n "$node" -o %T 2> /dev/null | head -1)" in
      idle | mixed | allocated) say "up: node $node ready"; return 0 ;;
      drain* | down*) SLURM_CONF=$conf scontrol update NodeName="$node" State=RESUME > /dev/null 2>&1 || true ;;
    esac
    sleep 0.25
  done
  say "node did not become ready"; tail -n 20 "$base/log/slurmctld.log" "$base/log/slurmd.log" >&2; exit 1
}

down() {
  if our_pid "$base/run/slurmctld.pid" "$conf" > /dev/null; then
    local jobs
    jobs=$(SLURM_CONF=$conf squeue -h -o %A 2> /dev/null || true)
    [ -n "$jobs" ] && SLURM_CONF=$conf scancel --full $jobs 2> /dev/null || true
    for _ in $(seq 1 60); do
      [ -z "$(SLURM_CONF=$conf squeue -h -t running,completing -o %A 2> /dev/null)" ] && break
      sleep 0.5
    done
  fi
  stop slurmd "$base/run/slurmd.pid" "$conf"
  stop slurmctld "$base/run/slurmctld.pid" "$conf"
  stop munged "$base/run/munged.pid" "$socket"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) echo "export SLURM_CONF=$conf" ;;
  *) sed -n '2,12p' "$0"; exit 2 ;;
esac
