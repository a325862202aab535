#!/usr/bin/env bash
# Golden run records: every shipped scenario (and the fleet bench scenario) is run with
# its own seed and the SHA-256 of its run record is compared with
# checks/record-hashes.txt. A refactoring must leave every hash as it is; a change that
# means to alter behaviour refreshes the file with --update and says why in its commit.
#
#   checks/record-hashes.sh            # compare (CI runs this)
#   checks/record-hashes.sh --update   # rewrite checks/record-hashes.txt
#
# Scenarios that replay real traces need the trace data directory (SCALELAB_TRACE_DIR,
# else ../shared/traces beside the clone); without it they are skipped and said so.
set -euo pipefail
cd "$(dirname "$0")/.."

update=0
[ "${1:-}" = "--update" ] && update=1
golden=checks/record-hashes.txt

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scalelab/target}"
cargo build --release --locked -q
bin="$CARGO_TARGET_DIR/release/scalelab"

if [ -z "${SCALELAB_TRACE_DIR:-}" ] && [ -d ../shared/traces ]; then
    export SCALELAB_TRACE_DIR="$(cd ../shared/traces && pwd)"
fi
# An empty value would be taken as a missing --trace-dir argument.
[ -n "${SCALELAB_TRACE_DIR:-}" ] || unset SCALELAB_TRACE_DIR

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out="$work/hashes.txt"
: >"$out"
skipped=0
for sc in scenarios/*.toml scenarios/validation/*.toml benches/scenarios/*.toml; do
    # The million-VM day takes minutes and gigabytes: measured by hand, not in CI.
    [ "$sc" = benches/scenarios/fleet-1m-day.toml ] && continue
    rec="$work/$(basename "$sc" .toml).run.json"
    if ! "$bin" --db "$work/runs.db" run "$sc" --out "$rec" >"$work/log" 2>&1; then
        if grep -qi "trace data" "$work/log"; then
            echo "skipped (no trace data): $sc"
            # Keep the golden line so an update without the data does not drop it.
            grep -F "  $sc" "$golden" >>"$out" 2>/dev/null || true
            skipped=$((skipped + 1))
            continue
        fi
        cat "$work/log" >&2
        echo "record-hashes: $sc failed to run" >&2
        exit 1
    fi
    echo "$(sha256sum "$rec" | cut -d' ' -f1)  $sc" >>"$out"
done

if [ "$update" = 1 ]; then
    cp "$out" "$golden"
    echo "record-hashes: wrote $golden ($(wc -l <"$golden") records)"
    exit 0
fi
if ! diff -u "$golden" "$out"; then
    echo "record-hashes: run records differ from $golden (lines with - are the golden ones)" >&2
    exit 1
fi
echo "record-hashes: $(wc -l <"$out") records identical to $golden ($skipped skipped)"
