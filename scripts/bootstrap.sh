#!/usr/bin/env bash
# Create or refresh the project venv (.venv) with cztflow and its test/docs tools.
# Idempotent: it reinstalls only when pyproject.toml changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
    echo "cztflow needs Python >= 3.10; $PY is $("$PY" --version 2>&1)" >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    if ! "$PY" -m venv .venv 2>/dev/null; then
        # stock Debian/Ubuntu Pythons ship venv without ensurepip: install it, then retry
        rm -rf .venv
        if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
            apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
        else
            echo "python3 -m venv failed; install python3-venv (apt) and rerun" >&2
            exit 1
        fi
        "$PY" -m venv .venv
    fi
fi
stamp=.venv/.cztflow-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".[test,docs]"
    echo "$want" > "$stamp"
fi
