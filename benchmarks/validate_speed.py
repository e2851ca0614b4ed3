"""How long `cztflow validate` takes on the Fig. 1 campaign, against two baselines measured
in the same run: interpreter start-up with `import cztflow`, and reading the same folders
with pymatgen (`Incar`, `Kpoints`, `Poscar` per folder, no checks at all).

    python benchmarks/validate_speed.py [CAMPAIGN_DIR]

Writes the campaign first if no folder is given.  Prints seconds and ratios; no assertion.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def wall(cmd: list[str], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=False, capture_output=True)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    if len(sys.argv) > 1:
        root = Path(sys.argv[1])
    else:
        root = Path(tempfile.mkdtemp()) / "fig1"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "cztflow.cli",
                "campaign",
                "write",
                str(REPO / "workflows" / "fig1.yaml"),
                "-o",
                str(root),
            ],
            check=True,
            capture_output=True,
        )
    py = sys.executable
    startup = wall([py, "-c", "import cztflow"])
    full = wall([py, "-m", "cztflow.cli", "validate", str(root)])
    in_process = wall([py, "-c", f"from cztflow.workflows.validate import validate; validate({str(root)!r})"])
    pmg = wall(
        [
            py,
            "-c",
            (
                "from pathlib import Path\n"
                "from pymatgen.io.vasp.inputs import Incar, Kpoints, Poscar\n"
                f"for inc in Path({str(root)!r}).rglob('INCAR'):\n"
                "    d = inc.parent; Incar.from_file(inc); Kpoints.from_file(d / 'KPOINTS')\n"
                "    for p in sorted(d.glob('*/POSCAR')) or [d / 'POSCAR']: Poscar.from_file(p)\n"
            ),
        ]
    )
    folders = sum(1 for _ in root.rglob("INCAR"))
    print(f"campaign: {root} ({folders} input folders)")
    print(f"python + import cztflow        {startup:6.2f} s")
    print(
        f"validate() in a fresh python   {in_process:6.2f} s  ({in_process - startup:+.2f} s beyond start-up)"
    )
    print(f"cztflow validate (CLI)         {full:6.2f} s  ({full - startup:+.2f} s beyond start-up)")
    print(f"pymatgen: read the same files  {pmg:6.2f} s  (no checks)")
    print(f"ratio pymatgen-read / validate {pmg / in_process:6.2f}x")


if __name__ == "__main__":
    main()
