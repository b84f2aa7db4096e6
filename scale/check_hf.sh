#!/usr/bin/env bash
# Checks that Hugging Face `transformers` and midigpt compute the same model, both ways.
# Not run by `cargo test` (it needs Python and a PyPI download): run it by hand or in CI.
#   scale/check_hf.sh            # venv in /tmp/midigpt-hf-venv
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${VENV:-/tmp/midigpt-hf-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q -r "$root/scale/requirements.txt"
fi
cargo build -q --manifest-path "$root/Cargo.toml" -p midigpt-compose --example logits
exec "$venv/bin/python" "$root/scale/check_hf.py" \
    --tool "$root/target/debug/examples/logits" \
    --midi "$root/crates/compose/tests/data/POP909_008.mid"
