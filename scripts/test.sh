#!/usr/bin/env bash
# Runs every test of ChaosOps: the Rust workspace, then the Python package's tests against a
# fresh build of the extension in a virtual environment (.venv, or $CHAOSOPS_VENV), which is
# created and filled from python/requirements-test.txt when needed, and a second one
# (.venv-openenv-core) holding the previous OpenEnv client for one compatibility test.
# The web interface's tests drive Debian's Chromium through its ChromeDriver: when they are
# missing, they are installed with apt-get (as root, or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

chromium="${CHAOSOPS_CHROMIUM:-/usr/bin/chromium}"
chromedriver="${CHAOSOPS_CHROMEDRIVER:-/usr/bin/chromedriver}"
if [ ! -x "$chromium" ] || [ ! -x "$chromedriver" ]; then
    echo "== installing Chromium and ChromeDriver (Debian's chromium, chromium-driver) for the web tests"
    if [ "$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        echo "test.sh: $chromium or $chromedriver is missing; install Debian's chromium and chromium-driver" >&2
        exit 1
    fi
    $sudo apt-get update -q >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null
fi

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

# The previous OpenEnv client (openenv-core 0.3) cannot share a venv with the current one.
core_venv="${CHAOSOPS_OPENENV_CORE_VENV:-.venv-openenv-core}"
if [ ! -x "$core_venv/bin/python" ]; then
    echo "== creating $core_venv (openenv-core, the previous OpenEnv client)"
    "$python" -m venv "$core_venv"
fi
"$core_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-openenv-core.txt

echo "== maturin develop --release (the chaosops package, editable)"
VIRTUAL_ENV="$(cd "$venv" && pwd)" "$venv/bin/maturin" develop --release --quiet

echo "== pytest"
CHAOSOPS_BIN="$PWD/target/debug/chaosops" OPENENV_CORE_PYTHON="$PWD/$core_venv/bin/python" \
    "$venv/bin/python" -m pytest python/tests
