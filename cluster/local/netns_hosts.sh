#!/usr/bin/env bash
# Simulated hosts for multi-host tests: N network namespaces (nodeA, nodeB, ...) joined by a
# bridge, real TCP between them, Open MPI launched across them with an rsh look-alike.
# Nothing is changed in the root namespace. Needs root and iproute2.
#
#   netns_hosts.sh up N           create nodeA.. (N <= 8), each with mpi0 = 10.201.0.(11+i)/24
#   netns_hosts.sh down           remove everything this script created
#   netns_hosts.sh mpirun-args    the mpirun flags for these hosts (one line)
#   netns_hosts.sh exec NODE CMD  run CMD "on" NODE (its namespace and hostname)
#   netns_hosts.sh cut NODE       silently cut NODE off the network (its switch port goes down)
#   netns_hosts.sh heal NODE      reconnect it
# State: $TANDEM_NETNS_STATE (default /tmp/tandem_netns).
set -euo pipefail
prefix=tdmns
net=10.201.0
state=${TANDEM_NETNS_STATE:-/tmp/tandem_netns}
switch=${prefix}_sw
letters=ABCDEFGH

node() { echo "node${letters:$1:1}"; }
exists() { ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$1"; }

up() {
  local count=$1 i name
  [ "$(id -u)" -eq 0 ] || { echo "netns_hosts: needs root" >&2; exit 1; }
  [ "$count" -ge 1 ] && [ "$count" -le 8 ] || { echo "netns_hosts: 1..8 hosts" >&2; exit 2; }
  mkdir -p "$state"
  exists "$switch" || ip netns add "$switch"
  ip -n "$switch" link set lo up
  ip -n "$switch" link show br0 > /dev/null 2>&1 || ip -n "$switch" link add br0 type bridge stp_state 0 forward_delay 0
  ip -n "$switch" link set br0 up
  : > "$state/hostfile"
  for i in $(seq 0 $((count - 1))); do
    name=$(node "$i")
    exists "${prefix}_$name" || ip netns add "${prefix}_$name"
    ip -n "${prefix}_$name" link set lo up
    if ! ip -n "${prefix}_$name" link show mpi0 > /dev/null 2>&1; then
      ip -n "$switch" link add "p_$name" type veth peer name mpi0 netns "${prefix}_$name"
    fi
    ip -n "$switch" link set "p_$name" master br0 up
    ip -n "${prefix}_$name" addr replace "$net.$((11 + i))/24" dev mpi0
    ip -n "${prefix}_$name" link set mpi0 up
    # Keepalives only probe idle connections; one with unacknowledged data to a lost host would
    # retransmit for about 15 minutes (tcp_retries2=15) and hold mpirun's abort. 5 -> about 12 s.
    ip netns exec "${prefix}_$name" sysctl -qw net.ipv4.tcp_retries2=5
    echo "$name slots=1" >> "$state/hostfile"
  done
  # The rsh agent Open MPI calls as "rsh [options] HOST WORDS...": run WORDS in HOST's namespace.
  cat > "$state/rsh" <<RSH
#!/bin/bash
while [ \$# -gt 0 ]; do case "\$1" in -o|-p|-l|-i|-F) shift 2;; -*) shift;; *) break;; esac; done
host=\$1; shift
exec ip netns exec "${prefix}_\$host" unshare --uts /bin/sh -c 'hostname "\$0"; exec /bin/sh -c "\$1"' "\$host" "\$*"
RSH
  chmod 755 "$state/rsh"
  sleep 0.5  # bridge ports forwarding (no STP)
  echo "netns_hosts: up: $(cut -d' ' -f1 "$state/hostfile" | tr '\n' ' ')"
}

down() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${prefix}_"); do ip netns del "$ns"; done
  rm -rf "$state"
}

# TCP only (the namespaces share /dev/shm, so shared memory would bypass the network); yield
# when idle (each host has one slot on a 2-core machine); short OOB keepalives (about 11 s) so
# the runtime also ends the job when a host is lost (tandem names it first if
# --collective-timeout is shorter).
mpirun_args() {
  echo "--hostfile $state/hostfile --mca plm rsh --mca plm_rsh_agent $state/rsh --mca plm_rsh_no_tree_spawn 1" \
       "--mca mpi_yield_when_idle 1 --mca pml ob1 --mca btl tcp,self --mca btl_tcp_if_include $net.0/24" \
       "--mca oob_tcp_if_include $net.0/24 --mca oob_tcp_keepalive_time 5 --mca oob_tcp_keepalive_intvl 2" \
       "--mca oob_tcp_keepalive_probes 3 --allow-run-as-root"
}

case "${1:-}" in
  up) up "${2:-3}" ;;
  down) down ;;
  mpirun-args) mpirun_args ;;
  exec) host=$2; shift 2; exec ip netns exec "${prefix}_$host" unshare --uts /bin/sh -c 'hostname "$0"; exec "$@"' "$host" "$@" ;;
  cut) ip -n "$switch" link set "p_$2" down ;;
  heal) ip -n "$switch" link set "p_$2" up ;;
  *) sed -n '2,13p' "$0"; exit 2 ;;
esac
