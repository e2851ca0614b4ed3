"""How much DFT work MLIP pre-relaxation saves: GPAW ionic steps and force calls, with and without.

The campaign in ``prerelax_gpaw.yaml`` (K on ZnTe(110), 3 layers, 2x1) is written twice and
run with GPAW for every node (``cztflow run -e relax=gpaw -e neb=gpaw``):

* ``prerelaxed``: ``--prerelax chgnet``.  Each relaxation starts from the CHGNet+D3 minimum,
  and the CI-NEB starts from the band CHGNet+D3 converged between the GPAW end points.
* ``unrelaxed``: each relaxation starts from the builder output (the K site on the
  GPAW-relaxed substrate), and the CI-NEB from the IDPP band between the same kind of end points.

Both runs stop at the protocol's force criterion (0.03 eV/Å).  The numbers are read back
from each node's ``cztflow-run.json``: DFT ionic steps and force calls (a NEB step costs one
call per moving image), the MLIP's own steps, and wall seconds.  No timing is asserted.

    python benchmarks/prerelax_gpaw.py [--workdir DIR] [--json results.json] [--serial]

The two runs go side by side (one core each) unless ``--serial``.  In plane waves at 250 eV a
GPAW relaxation step of this 13-atom cell took 15-25 s per run with both runs on 2 cores and a
CI-NEB step (five images) about 100 s; the K relaxations from the builder took 70-118 steps
and the bands 35 (IDPP) and 52 (CHGNet) steps, so the whole benchmark took 2 h 55 min on
2 cores, run in three parts.  Re-running with the same ``--workdir`` reuses
finished nodes and continues an interrupted relaxation or band from its last complete step
(the counts add the steps of every interrupted attempt), so it can be run in parts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPEC = HERE / "prerelax_gpaw.yaml"
MODES = {"prerelaxed": ["--prerelax", "chgnet"], "unrelaxed": []}
#: The quantities compared, by campaign node.
NODES = {
    "K adsorption relaxation (hop start)": "relax/znte110-3l-2x1-K-hollow-1",
    "K-hop end point relaxation": "relax/znte110-3l-2x1-K-hollow-1-hop",
    "K-hop CI-NEB (5 images)": "neb/znte110-3l-2x1",
    "substrate relaxation": "relax/znte110-3l-2x1",
}


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "cztflow.cli", *args]


def write(root: Path) -> None:
    subprocess.run(_cli("campaign", "write", str(SPEC), "-o", str(root), "--potcar-spec"), check=True)


def start(root: Path, extra: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    cmd = _cli("run", str(root), "-e", "relax=gpaw", "-e", "neb=gpaw", *extra)
    return subprocess.Popen(cmd, env=env)


def counts(root: Path, node: str) -> dict[str, Any]:
    """DFT and MLIP step counts of one finished node, from its marker file."""
    marker = root / node / "cztflow-run.json"
    record = json.loads(marker.read_text())
    if record.get("status") != "finished":
        raise SystemExit(f"{marker}: status {record.get('status')}: {record.get('error')}")
    summary = record["summary"]
    pre = (record.get("prerelax") or {}).get("summary") or {}
    # a node continued after an interruption counts the steps of the killed attempt too
    before = int((summary.get("resumed") or {}).get("steps_before", 0))
    calls_per_step = len(summary["energies"]) - 2 if "energies" in summary else 1
    return {
        "dft_ionic_steps": int(summary["ionic_steps"]) + before,
        "dft_force_calls": int(summary["force_calls"]) + before * calls_per_step,
        "dft_converged": bool(summary["converged"]),
        "dft_wall_s": float(record["wall_seconds"]),
        "mlip_ionic_steps": pre.get("ionic_steps"),
        "mlip_force_calls": pre.get("force_calls"),
    }


def table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = [
        "| calculation | GPAW steps unrelaxed | GPAW steps prerelaxed | step ratio "
        "| force calls unrelaxed | force calls prerelaxed | call ratio | CHGNet steps |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label in NODES:
        u, p = results["unrelaxed"][label], results["prerelaxed"][label]
        step_ratio = u["dft_ionic_steps"] / max(p["dft_ionic_steps"], 1)
        call_ratio = u["dft_force_calls"] / max(p["dft_force_calls"], 1)
        lines.append(
            f"| {label} | {u['dft_ionic_steps']} | {p['dft_ionic_steps']} | {step_ratio:.1f} "
            f"| {u['dft_force_calls']} | {p['dft_force_calls']} | {call_ratio:.1f} "
            f"| {p['mlip_ionic_steps']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--serial", action="store_true", help="run the two modes one after the other")
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="prerelax-gpaw-"))
    roots = {mode: work / mode for mode in MODES}
    for root in roots.values():
        write(root)
    procs = []
    for mode, extra in MODES.items():
        proc = start(roots[mode], extra)
        if args.serial:
            proc.wait()
        procs.append(proc)
    if any(proc.wait() for proc in procs):
        raise SystemExit(f"a run failed; see the node folders under {work}")
    results = {mode: {label: counts(roots[mode], node) for label, node in NODES.items()} for mode in MODES}
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps({"workdir": str(work), "results": results}, indent=1))


if __name__ == "__main__":
    main()
