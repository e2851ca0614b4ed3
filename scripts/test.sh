#!/usr/bin/env bash
# Install what is needed, then run the whole test suite (slow tests included) and ruff.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check src tests benchmarks docs/hooks
.venv/bin/python -m pytest "$@"
