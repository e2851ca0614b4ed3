#!/usr/bin/env bash
# Create or refresh the project venv (.venv) with cztflow and its test/docs tools.
# Idempotent: it reinstalls only when pyproject.toml or the GPAW build settings changed.
# Installs torch (CPU) before chgnet/sevenn, and builds GPAW against Debian's libxc/FFTW/OpenBLAS
# (as root; without root and without those libraries it skips GPAW with a note and installs the rest).
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
# GPAW builds against libxc, FFTW and OpenBLAS: Debian packages, which only root can install
# (without dpkg we cannot tell: the build is tried, and a failed one is skipped with a note)
gpaw_libs() { ! command -v dpkg >/dev/null || dpkg -s libxc-dev libopenblas-dev libfftw3-dev >/dev/null 2>&1; }
as_root() { command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; }
stamp=.venv/.cztflow-installed
# the stamp also records whether GPAW could be built, so a later run with the libraries retries it
gpaw_state=$( (.venv/bin/python -c 'import gpaw' 2>/dev/null || gpaw_libs || as_root) && echo gpaw || echo no-gpaw)
want=$( (cat pyproject.toml scripts/gpaw-siteconfig.py; echo "$gpaw_state") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    # the CPU build of torch first: otherwise chgnet/sevenn pull a multi-GB CUDA build
    .venv/bin/python -c 'import torch' 2>/dev/null || .venv/bin/python -m pip install --quiet torch==2.13.0
    extras=test,docs,mlip,sevenn,fast
    if ! .venv/bin/python -c 'import gpaw' 2>/dev/null; then
        if ! gpaw_libs && as_root; then
            apt-get update -qq && apt-get install -y -qq libxc-dev libopenblas-dev libfftw3-dev >/dev/null
        fi
        if ! gpaw_libs; then
            echo "note: GPAW skipped: its libraries (libxc-dev libopenblas-dev libfftw3-dev) are missing and" \
                "installing them needs root; get GPAW from conda-forge (conda install -c conda-forge gpaw) or" \
                "your cluster's module, or rerun this as root. Everything else is installed; GPAW tests skip." >&2
        elif ! GPAW_CONFIG="$PWD/scripts/gpaw-siteconfig.py" .venv/bin/python -m pip install --quiet \
            --no-cache-dir "gpaw>=24.1" gpaw-data; then
            echo "note: GPAW skipped: its build failed (see above); everything else is installed." >&2
        fi
    fi
    .venv/bin/python -c 'import gpaw' 2>/dev/null && extras=$extras,gpaw
    .venv/bin/python -m pip install --quiet -e ".[$extras]"
    echo "$want" > "$stamp"
fi
