#!/usr/bin/env bash
# A real one-node Slurm on this machine, for the Slurm tests (tests/slurm/) and for trying
# `nladc mc --slurm` without a cluster. Run as root on Debian 12:
#
#   scripts/slurm-local.sh start    install slurm-wlm + munge, configure, start, wait until idle
#   scripts/slurm-local.sh stop     stop the daemons (jobs still running are killed)
#   scripts/slurm-local.sh status   sinfo, and the daemons' pids
#
# start installs Debian's slurm-wlm and munge when they are missing, writes
# /etc/slurm/slurm.conf for one node (this machine's CPUs and memory from `slurmd -C`,
# every daemon on 127.0.0.1, no accounting, no cgroups: process tracking by /proc, so it
# also works in a container), starts munged, slurmctld and slurmd as plain background
# daemons (no systemd) and waits up to 60 s for `sinfo` to show the node idle. On failure
# it prints the daemons' logs and exits non-zero. It refuses to overwrite a slurm.conf
# it did not write. State, logs and pid files live under /var/lib/nladc-slurm,
# /var/log/nladc-slurm and /run/nladc-slurm.
set -euo pipefail

conf=/etc/slurm/slurm.conf
marker="# written by nladc scripts/slurm-local.sh"
state=/var/lib/nladc-slurm
logs=/var/log/nladc-slurm
run=/run/nladc-slurm
node=nladc-node

say() { echo "slurm-local: $*" >&2; }

show_logs() {
    for file in /var/log/munge/nladc-munged.log "$logs/slurmctld.log" "$logs/slurmd.log"; do
        [ -f "$file" ] || continue
        echo "----- $file (last 40 lines)" >&2
        tail -n 40 "$file" >&2
    done
}

fail() {
    say "$*"
    show_logs
    exit 1
}

running() {  # running PIDFILE: the daemon whose pid the file holds is alive
    [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

install_packages() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null &&
        command -v munged >/dev/null; then
        return
    fi
    say "installing slurm-wlm and munge"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
    if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
        fail "$conf exists and was not written by this script; not touching a real Slurm configuration"
    fi
    # This machine's CPUs, sockets, cores, threads and memory, as slurmd itself detects them.
    local hardware
    hardware=$(slurmd -C | head -n 1 | sed -e 's/^NodeName=[^ ]* //')
    [ -n "$hardware" ] || fail "slurmd -C printed nothing"
    mkdir -p /etc/slurm "$state/ctld" "$state/d" "$logs" "$run"
    cat >"$conf.tmp" <<EOF
$marker: a one-node Slurm on 127.0.0.1 for tests
ClusterName=nladc-local
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$run/slurmctld.pid
SlurmdPidFile=$run/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=3600
KillWait=10
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) $hardware State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    mv "$conf.tmp" "$conf"
}

start_munge() {
    if running "$run/munged.pid"; then return; fi
    if [ ! -s /etc/munge/munge.key ]; then
        say "creating /etc/munge/munge.key"
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge
    # munged runs as the munge user, so its pid file and log live in munge's directories.
    runuser -u munge -- munged --pid-file=/run/munge/nladc-munged.pid --log-file=/var/log/munge/nladc-munged.log ||
        fail "munged did not start"
    for _ in $(seq 50); do [ -s /run/munge/nladc-munged.pid ] && break; sleep 0.1; done
    cp /run/munge/nladc-munged.pid "$run/munged.pid"
    munge -n | unmunge >/dev/null || fail "munge cannot encode and decode a credential"
}

start() {
    [ "$(id -u)" = 0 ] || { say "run as root (it installs packages and starts daemons)"; exit 1; }
    install_packages
    mkdir -p "$logs" "$run"
    write_config
    start_munge
    if ! running "$run/slurmctld.pid"; then
        slurmctld || fail "slurmctld did not start"
    fi
    if ! running "$run/slurmd.pid"; then
        slurmd -N "$node" || fail "slurmd did not start"
    fi
    for _ in $(seq 120); do
        if [ "$(sinfo -h -n "$node" -o %t 2>/dev/null)" = idle ]; then
            say "node $node idle"
            sinfo
            return
        fi
        # A node left down or drained by an earlier run is returned to service.
        case "$(sinfo -h -n "$node" -o %t 2>/dev/null)" in
            down* | drain* | drng*) scontrol update NodeName="$node" State=RESUME 2>/dev/null || true ;;
        esac
        sleep 0.5
    done
    sinfo >&2 || true
    fail "node $node not idle after 60 s"
}

stop_daemon() {  # stop_daemon NAME PIDFILE
    local pidfile=$2
    running "$pidfile" || { rm -f "$pidfile"; return 0; }
    local pid
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }; sleep 0.1; done
    say "$1 (pid $pid) ignored SIGTERM for 10 s; killing it"
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
}

stop() {
    stop_daemon slurmd "$run/slurmd.pid"
    stop_daemon slurmctld "$run/slurmctld.pid"
    stop_daemon munged "$run/munged.pid"
    rm -f /run/munge/nladc-munged.pid
    say "stopped"
}

status() {
    sinfo || true
    for daemon in munged slurmctld slurmd; do
        if running "$run/$daemon.pid"; then echo "$daemon: pid $(cat "$run/$daemon.pid")"; else echo "$daemon: not running"; fi
    done
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    logs) show_logs ;;
    *) echo "usage: scripts/slurm-local.sh start|stop|status|logs" >&2; exit 2 ;;
esac
