#!/usr/bin/env bash
# The main job: install what is needed, then build every structure of the study.
# Output: out/structures/*.vasp and out/structures/index.json, plus a summary table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/cztflow build --all -o out/structures "$@"
