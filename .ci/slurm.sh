#!/usr/bin/env bash
# A single-node Slurm cluster on this machine (slurmctld + slurmd + munged on 127.0.0.1),
# for the tests and for trying the Slurm executor by hand. Idempotent: installs Debian's
# slurm-wlm and munge when missing, writes its config, starts what is not running and
# waits until the node takes jobs. Needs root. Prints the partition's name.
set -euo pipefail

if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

node=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
state=/var/lib/runs-tui-slurm
mkdir -p "$state/ctld" "$state/d" /var/log/slurm /run/munge /etc/slurm

if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key

cat > /etc/slurm/slurm.conf <<CONF
# Written by runs-tui's .ci/slurm.sh: one node, everything on 127.0.0.1.
ClusterName=runs-tui
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/cgroup
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
GresTypes=gpu
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
# Two stand-in GPUs (character devices like /dev/null), so that `--gres=gpu:N` is
# accepted and scheduled as on a real cluster.
for i in 0 1; do [ -e "$state/gpu$i" ] || mknod "$state/gpu$i" c 1 3; done
# Every process of a job in its cgroup: cancelling a job stops all of them, however
# they detached (linuxproc lost track of children here).
cat > /etc/slurm/cgroup.conf <<CONF
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=no
ConstrainRAMSpace=no
ConstrainDevices=no
CONF
cat > /etc/slurm/gres.conf <<CONF
AutoDetect=off
NodeName=$node Name=gpu File=$state/gpu[0-1]
CONF

# A munged killed hard (a machine handed over, a CI run's end) leaves its socket, lock
# and pid file behind: --force takes them over instead of refusing to start.
pgrep -x munged >/dev/null ||
    start-stop-daemon --start --quiet --chuid munge --exec /usr/sbin/munged -- --force
for _ in $(seq 1 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done
if pgrep -x slurmctld >/dev/null; then
    timeout 10 scontrol reconfigure >/dev/null 2>&1 || true  # running already: this config
else
    /usr/sbin/slurmctld
fi
pgrep -x slurmd >/dev/null || /usr/sbin/slurmd

# A controller killed hard may take a while to take its port back: wait up to 4 minutes,
# each question bounded so that an unreachable controller cannot stretch the wait.
deadline=$((SECONDS + 240))
while [ "$SECONDS" -lt "$deadline" ]; do
    if timeout 5 sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        echo debug
        exit 0
    fi
    timeout 5 scontrol update nodename="$node" state=resume >/dev/null 2>&1 || true
    sleep 1
done
echo "slurm did not come up: $(timeout 5 sinfo 2>&1 | tail -n 2)" >&2
tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
