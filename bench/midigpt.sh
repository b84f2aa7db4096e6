#!/usr/bin/env bash
# Builds midigpt and prints the binary's path, for the other scripts here:
#   exe=$("$root/bench/midigpt.sh")
# PROFILE (default release) picks the cargo profile; PROFILE=dev builds faster (dependencies
# and midigpt's crates are optimised in it too).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
profile=${PROFILE:-release}
(cd "$root" && cargo build -q --profile "$profile" -p midigpt) >&2
echo "$root/target/$([ "$profile" = dev ] && echo debug || echo "$profile")/midigpt"
