#!/usr/bin/env bash
# Speed and size of `scalelab report` on the 100,000-VM day (issue #17's target: under
# 5 s and under 20 MB of HTML). Runs the day once to make its record (about 400 MB, kept
# in $CARGO_TARGET_DIR), then times the report three times with /usr/bin/time.
# Usage: bash benches/report-fleet.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/scalelab/target}"
cargo build --release --locked -q
bin="$CARGO_TARGET_DIR/release/scalelab"
rec="$CARGO_TARGET_DIR/fleet-100k-day.run.json"
if [ ! -f "$rec" ] || [ benches/scenarios/fleet-100k-day.toml -nt "$rec" ] || [ "$bin" -nt "$rec" ]; then
    "$bin" --db "$CARGO_TARGET_DIR/bench.db" run benches/scenarios/fleet-100k-day.toml \
        --no-store -o "$rec" >/dev/null
fi
echo "record: $(du -m "$rec" | cut -f1) MB"
for i in 1 2 3; do
    /usr/bin/time -f "report: %e s wall, %M KB peak RSS" \
        "$bin" report "$rec" --out "$CARGO_TARGET_DIR/fleet-100k-day.html"
done
echo "html: $(du -k "$CARGO_TARGET_DIR/fleet-100k-day.html" | cut -f1) KB"
