#!/usr/bin/env bash
# Runs every test of ChaosOps: the Rust workspace, then the Python package's tests against a
# fresh build of the extension in a virtual environment (.venv, or $CHAOSOPS_VENV), which is
# created and filled from python/requirements-test.txt when needed.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test --workspace"
cargo test --workspace

venv="${CHAOSOPS_VENV:-.venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    echo "== creating $venv with $("$python" --version)"
    "$python" -m venv "$venv"
fi
echo "== Python test requirements"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt

echo "== maturin develop --release (the chaosops package, editable)"
VIRTUAL_ENV="$(cd "$venv" && pwd)" "$venv/bin/maturin" develop --release --quiet

echo "== pytest"
CHAOSOPS_BIN="$PWD/target/debug/chaosops" "$venv/bin/python" -m pytest python/tests
