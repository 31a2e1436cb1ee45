#!/usr/bin/env bash
# Fuzzes the three vendors' error-body parsers (fuzz/fuzz_targets): each target runs for
# SECONDS (default 20) under libFuzzer, coverage-guided, on the stable toolchain (no sanitizer:
# the code under test is safe Rust, so a panic or an abort is the failure being looked for).
# A crash stops the script with libFuzzer's report; its input is kept in fuzz/artifacts/.
#
#   scripts/fuzz-error-parsers.sh [SECONDS]
#
# Installs cargo-fuzz from crates.io when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-20}"
targets=(lago_error_body killbill_error_body billabear_error_body)

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi

cargo fuzz build --sanitizer none --release
mkdir -p target
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    log="target/$target.log"
    echo "fuzzing $target for ${seconds}s (log: fuzz/$log)"
    if ! cargo fuzz run --sanitizer none --release "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -n 60 "$log"
        echo "$target failed; the input is in fuzz/artifacts/$target/"
        exit 1
    fi
    grep -E "^stat::(number_of_executed_units|new_units_added)" "$log" | sed 's/^/  /'
done
