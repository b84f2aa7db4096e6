#!/usr/bin/env bash
# Runs fuzz targets with libFuzzer, one at a time.
#
#   fuzz/run.sh TARGET|all SECONDS [extra libFuzzer flags...]
#
# Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Seeds the corpus
# first if it is empty (fuzz/seed.py, from $MIDI_DIR, default ../shared/data/midi beside
# the repository).
# Each target runs SECONDS seconds under `nice`, at most 2 GB of memory, 10 s and 8 KiB per
# input (a later flag overrides, e.g. -max_len=65536);
# a crash, hang or out-of-memory input is saved under fuzz/artifacts/TARGET/ and stops the
# script with a non-zero status. The last line of each run gives its executions and execs/s.
set -euo pipefail
cd "$(dirname "$0")"

if [[ $# -lt 2 ]]; then
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
target=$1
seconds=$2
shift 2

all=(midi_read)
for kind in encode decode; do
    for tokenizer in remi remi_plus midi_like triplet bpe; do
        all+=("${kind}_${tokenizer}")
    done
done
if [[ $target == all ]]; then
    targets=("${all[@]}")
else
    targets=("$target")
fi

if [[ ! -d corpus/midi_read ]]; then
    # seed.py's own default (../shared/data/midi beside the repository) unless MIDI_DIR is set.
    python3 seed.py ${MIDI_DIR:+"$MIDI_DIR"}
fi

# `cargo fuzz` builds in release mode with debug assertions: an overflow is a finding too.
# No sanitizer: the code is safe Rust, so AddressSanitizer would only divide the speed by ~3.
# FUZZ_BUILD_ARGS adds cargo-fuzz build options, e.g. "--no-trace-compares --target-dir
# target-notc": comparison tracing inside the `tokenizers` crate takes ~60% of encode_bpe's time.
read -r -a build_args <<<"${FUZZ_BUILD_ARGS:-}"
fuzz=(nice -n 10 cargo +nightly fuzz)
if [[ $target == all ]]; then
    "${fuzz[@]}" build --sanitizer none "${build_args[@]}"
fi

mkdir -p logs
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t: $seconds s"
    status=0
    # One job, one worker: the machine is shared.
    "${fuzz[@]}" run --sanitizer none "${build_args[@]}" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len=8192 \
        -print_final_stats=1 \
        "$@" >"logs/$t.log" 2>&1 || status=$?
    grep -E '^#[0-9]+.*DONE|SUMMARY|stat::number_of_executed_units|stat::average_exec_per_sec' \
        "logs/$t.log" || true
    if [[ $status -ne 0 ]]; then
        grep -E -A2 'panicked at|ERROR: libFuzzer|^(Failing input|SUMMARY)' "logs/$t.log" | cut -c1-300 >&2
        echo "$t: libFuzzer stopped with a finding (status $status); see fuzz/logs/$t.log" \
            "and fuzz/artifacts/$t/" >&2
        exit 1
    fi
done
