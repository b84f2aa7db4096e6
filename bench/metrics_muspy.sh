#!/usr/bin/env bash
# `midigpt metrics` against MusPy's metric functions on the same files.
#
#   bench/metrics_muspy.sh PATH...       e.g. bench/metrics_muspy.sh ../shared/data/midi/nottingham
#
# midigpt measures every MIDI file below PATH... (`midigpt metrics --json`); MusPy (PyPI, in a
# venv made on first use under ${MIDIGPT_MUSPY_VENV:-/tmp/midigpt-muspy-venv}) measures the
# same files (bench/metrics_muspy.py). Prints the agreement table per metric and exits 1 when
# any value differs by more than the tolerance (TOLERANCE, default 1e-6).
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${MIDIGPT_MUSPY_VENV:-/tmp/midigpt-muspy-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import muspy" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q muspy==0.5.0
fi
exe=$("$root/bench/midigpt.sh")  # PROFILE=dev builds faster
json=$(mktemp /tmp/midigpt-metrics.XXXXXX.json)
trap 'rm -f "$json"' EXIT
"$exe" metrics "$@" --json >"$json"
"$venv/bin/python" "$root/bench/metrics_muspy.py" "$json" --tolerance "${TOLERANCE:-1e-6}"
