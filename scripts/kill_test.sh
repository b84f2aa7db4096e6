#!/usr/bin/env bash
# Kill test: SIGKILLs `midigpt train` and `midigpt prepare` at random moments (and during
# checkpoint writes), resumes, and checks that nothing is lost (see scripts/kill_test.py).
#
#   scripts/kill_test.sh [BINARY] [--kills N] [--prepare-kills N] [--seed S] [--keep]
#
# BINARY defaults to target/release/midigpt, built first if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=target/release/midigpt
if [[ $# -gt 0 && $1 != -* ]]; then
    binary=$1
    shift
fi
if [[ ! -x $binary ]]; then
    cargo build --release -p midigpt
    binary=${CARGO_TARGET_DIR:-target}/release/midigpt
fi
exec python3 scripts/kill_test.py "$binary" "$@"
