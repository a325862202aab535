#!/usr/bin/env bash
# Fill fuzz/corpus/<target> with seed inputs from the repository (shipped scenarios,
# examples, trace fixtures, a run record), so libFuzzer starts from valid documents.
# Run from anywhere; then e.g.: RUSTC_BOOTSTRAP=1 cargo fuzz run -O scenario
set -euo pipefail
cd "$(dirname "$0")/.."
for t in scenario policy decide sweep run_record trace; do mkdir -p "fuzz/corpus/$t"; done
cp scenarios/*.toml fuzz/corpus/scenario/
cp examples/sweep.toml fuzz/corpus/sweep/
cp examples/decide-input.json fuzz/corpus/decide/
cargo run -q --release -- policy > fuzz/corpus/policy/default.toml
find crates/traces/tests/fixtures -type f -exec cp {} fuzz/corpus/trace/ \;
cargo run -q --release -- run scenarios/target-spike-rollback.toml --no-store \
    -o fuzz/corpus/run_record/target-spike-rollback.json > /dev/null
echo "seeded: $(find fuzz/corpus -type f | wc -l) files under fuzz/corpus"
