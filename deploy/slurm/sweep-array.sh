#!/bin/sh
# A scalelab sweep as a Slurm job array: array task K of N runs shard K/N.
#
#   scalelab sweep sweep.toml --plan-shards 8         # choose N and the time limit
#   sbatch --array=1-8 --time=00:30:00 deploy/slurm/sweep-array.sh
#   scalelab merge sweep.toml results/runs-shard-*-of-8.parquet --out results
#
# N is the array's size (SLURM_ARRAY_TASK_COUNT), so --array=1-N is all there is to
# change. Each task keeps its SQLite database on node-local disk ($TMPDIR, never on
# NFS) and writes only its Parquet shard (atomically) and a progress journal to the
# shared RESULTS directory. A task killed at its time limit, or requeued, resumes from
# its journal when resubmitted; a finished one does nothing.
#
# Environment (sbatch passes the submitter's): SPEC (default sweep.toml), RESULTS
# (default results), SCALELAB (default scalelab on PATH).
#SBATCH --job-name=scalelab-sweep
#SBATCH --array=1-8
#SBATCH --cpus-per-task=2
#SBATCH --time=01:00:00
#SBATCH --output=scalelab-sweep-%A_%a.out
set -eu

SPEC="${SPEC:-sweep.toml}"
RESULTS="${RESULTS:-results}"
SCALELAB="${SCALELAB:-scalelab}"
: "${SLURM_ARRAY_TASK_ID:?run this with sbatch --array=1-N}"
N="${SLURM_ARRAY_TASK_COUNT:?run this with sbatch --array=1-N}"

DB="${TMPDIR:-/tmp}/scalelab-${SLURM_ARRAY_JOB_ID:-0}-$SLURM_ARRAY_TASK_ID.db"
trap 'rm -f "$DB" "$DB-wal" "$DB-shm"' EXIT

"$SCALELAB" --db "$DB" sweep "$SPEC" --out "$RESULTS" \
    --threads "${SLURM_CPUS_PER_TASK:-0}" --shard "$SLURM_ARRAY_TASK_ID/$N"
