#!/usr/bin/env bash
# End-to-end test of the Slurm recipe on a real, single-node Slurm cluster started here
# (munged, slurmctld and slurmd on this host, as root): deploy/slurm/sweep-array.sh is
# submitted unchanged as a 4-task job array over a shipped sweep with `sbatch --wait`,
# the shards are merged, and the result must be byte-identical to the unsharded sweep.
# The daemons it started are stopped by their pids on exit. Run by .ci/run (not by
# cargo test, which must not need Slurm).
#
#   deploy/slurm/test.sh                 # uses target/release/scalelab (builds it)
#   SCALELAB_BIN=path deploy/slurm/test.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
repo="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scalelab/target}"

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "slurm-test: installing $2"
        apt-get update -qq >/dev/null || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $2 >/dev/null
    fi
}
need slurmctld "slurm-wlm munge"
need munged munge

if [ -z "${SCALELAB_BIN:-}" ]; then
    cargo build --release --locked -q
    SCALELAB_BIN="$CARGO_TARGET_DIR/release/scalelab"
fi

work="$(mktemp -d /tmp/scalelab-slurm.XXXXXX)"
chmod 755 "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    if [ "${keep:-0}" = 1 ]; then
        echo "slurm-test: logs kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
fail() {
    keep=1
    echo "slurm-test: $*" >&2
    for f in "$work"/*.log "$work"/job/*.out; do
        [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; } >&2
    done
    exit 1
}

# munge: a key of our own and a socket in the work directory, so nothing of the
# machine's is touched.
dd if=/dev/urandom of="$work/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge.key"
mkdir -p "$work/munge"
chmod 700 "$work/munge"
munged --force --socket="$work/munge/munge.socket" --key-file="$work/munge.key" \
    --pid-file="$work/munged.pid" --log-file="$work/munged.log" \
    --seed-file="$work/munge/munged.seed" || fail "munged did not start"
pids+=("$(cat "$work/munged.pid")")

host="$(hostname -s)"
cpus="$(nproc)"
mem_mb="$(awk '/MemTotal/ { print int($2 / 1024) - 512 }' /proc/meminfo)"
mkdir -p "$work/state" "$work/spool" "$work/job"
cat >"$work/slurm.conf" <<CONF
ClusterName=scalelab-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
ReturnToService=2
SlurmctldPort=16817
SlurmdPort=16818
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmdSpoolDir=$work/spool
StateSaveLocation=$work/state
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"

started=$(date +%s.%N)
slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
for _ in $(seq 50); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmctld.pid")")
slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
for _ in $(seq 50); do [ -s "$work/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmd.pid")")
for _ in $(seq 100); do
    state="$(sinfo -h -n "$host" -o %T 2>/dev/null || true)"
    [ "$state" = idle ] && break
    sleep 0.2
done
[ "$state" = idle ] || fail "the node did not become idle (state: ${state:-none})"
up=$(date +%s.%N)

# The shipped example sweep, with its scenarios' paths made absolute.
spec="$work/sweep.toml"
sed "s|\"\.\./scenarios/|\"$repo/scenarios/|g" examples/sweep.toml >"$spec"

# The README's script, unchanged: only the array size and the paths are given.
cd "$work/job"
sbatch --wait --array=1-4 --cpus-per-task=1 --output="$work/job/%A_%a.out" \
    --export="ALL,SPEC=$spec,RESULTS=$work/results,SCALELAB=$SCALELAB_BIN" \
    "$repo/deploy/slurm/sweep-array.sh" >"$work/sbatch.log" 2>&1 || fail "the job array failed"
done_at=$(date +%s.%N)
for k in 1 2 3 4; do
    [ -f "$work/results/runs-shard-$k-of-4.parquet" ] || fail "shard $k/4 was not written"
done

"$SCALELAB_BIN" merge "$spec" "$work"/results/runs-shard-*-of-4.parquet --out "$work/merged" \
    >"$work/merge.log" 2>&1 || fail "merge failed"
"$SCALELAB_BIN" --db "$work/full.db" sweep "$spec" --out "$work/full" \
    >"$work/full.log" 2>&1 || fail "the unsharded sweep failed"
for f in runs configs scenarios; do
    for ext in csv parquet; do
        cmp -s "$work/full/$f.$ext" "$work/merged/$f.$ext" ||
            fail "$f.$ext of the merged shards differs from the unsharded sweep"
    done
done
runs=$(grep -o '[0-9]* runs' "$work/merge.log" | head -1)
awk -v r="$runs" -v a="$started" -v b="$up" -v c="$done_at" 'BEGIN {
    printf "slurm-test: 4-task job array over examples/sweep.toml (%s) merged byte-identical to the unsharded sweep; cluster up in %.1f s, array done in %.1f s\n", r, b - a, c - b
}'
