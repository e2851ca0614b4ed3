#!/usr/bin/env bash
# The main job: install what is needed, then regenerate Fig. 1 of the paper with the open
# engines (CHGNet + D3, GPAW): fig1/fig1.md|csv|json|png|pdf, campaign in fig1/campaign/.
# Re-running reuses every finished node.  Extra arguments go to `cztflow fig1`
# (e.g. --quick for the smoke run, --from DIR for finished VASP outputs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export OPENBLAS_NUM_THREADS=1
.venv/bin/cztflow fig1 -o fig1 "$@"
