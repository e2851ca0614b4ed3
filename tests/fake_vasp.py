"""A stand-in for the ``vasp`` executable, for tests of the custodian engine (never for results).

Run in a calculation folder, it reads POSCAR and INCAR and behaves as the scenario in
``$FAKE_VASP_SCENARIO`` says for this attempt (a comma-separated list, one word per
attempt; the attempt number is kept in ``fake_vasp_attempts``):

* ``ok``: write OUTCAR, OSZICAR, CONTCAR and vasprun.xml in VASP's formats and exit 0;
* any key of ``ERRORS``: print that VASP error message to standard output and exit 1.

With ``$FAKE_VASP_STEPS`` set, a relaxation (``IBRION`` 1-3 with ``NSW`` > 0) takes that
many ionic steps (otherwise one step that moves nothing), sleeping ``$FAKE_VASP_SLEEP``
seconds before each (default 0) so that a test can stop it mid-run.  Each step moves the
first atom by ``STEP_SHIFT`` along a (fractional) and rewrites OSZICAR and CONTCAR at once,
as VASP does, so a run stopped after ``m`` steps leaves a CONTCAR ``m`` shifts from its
POSCAR and ``m`` lines ``F=`` in OSZICAR.

The files it writes are format-exact, so cztflow's parsers and pymatgen read them.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from fakes import outcar_text, vasprun_text

#: How far (fractional, along a) each ionic step moves the first atom.
STEP_SHIFT = 0.001

ERRORS = {
    "edddav": "Error EDDDAV: Call to ZHEGV failed. Returncode = 7 1 16",
    "zbrent": "ZBRENT: fatal error in bracketing\n please rerun with smaller EDIFF, or copy CONTCAR\n"
    " to POSCAR and continue",
    "ibzkpt": "VERY BAD NEWS! internal error in subroutine IBZKPT: not all point group operations",
}


def _poscar(path: Path) -> tuple[list[str], list[int], np.ndarray, np.ndarray, list[str]]:
    lines = path.read_text().splitlines()
    lattice = np.array([[float(x) for x in lines[i].split()[:3]] for i in (2, 3, 4)])
    species, counts = lines[5].split(), [int(x) for x in lines[6].split()]
    row = 8 if lines[7].strip()[:1].lower() == "s" else 7
    body = lines[row + 1 : row + 1 + sum(counts)]
    frac = np.array([[float(x) for x in ln.split()[:3]] for ln in body])
    return species, counts, lattice, frac, lines


def _incar(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].split("!")[0]
        if "=" in line:
            key, value = line.split("=", 1)
            out[key.strip().upper()] = value.strip()
    return out


def _contcar(lines: list[str], frac: np.ndarray, natoms: int) -> str:
    """POSCAR ``lines`` with the positions replaced by ``frac`` (flags kept); Cartesian ones as read."""
    out = list(lines)
    row = 8 if lines[7].strip()[:1].lower() == "s" else 7
    if lines[row].strip()[:1].lower() not in ("c", "k"):
        for i in range(natoms):
            rest = lines[row + 1 + i].split()[3:]
            out[row + 1 + i] = " ".join([*(f"{x:.10f}" for x in frac[i]), *rest])
    return "\n".join(out) + "\n"


def main() -> int:
    here = Path.cwd()
    counter = here / "fake_vasp_attempts"
    attempt = int(counter.read_text()) + 1 if counter.is_file() else 1
    counter.write_text(str(attempt))
    scenario = os.environ.get("FAKE_VASP_SCENARIO", "ok").split(",")
    action = scenario[min(attempt, len(scenario)) - 1].strip()
    print(" running on    1 total cores\n vasp.5.4.4.18Apr17-6-g9f103f2a35 (build Apr 17 2017) complex")
    if action in ERRORS:
        print(ERRORS[action], flush=True)
        return 1
    species, counts, lattice, frac, lines = _poscar(here / "POSCAR")
    incar = _incar(here / "INCAR")
    relax = incar.get("IBRION", "-1").strip() in ("1", "2", "3") and int(incar.get("NSW", "0")) > 0
    relax = relax and "FAKE_VASP_STEPS" in os.environ  # unset: one step, CONTCAR = POSCAR, as before
    steps = int(os.environ["FAKE_VASP_STEPS"]) if relax else 1
    pause = float(os.environ.get("FAKE_VASP_SLEEP", "0"))
    base = -3.5 * sum(counts)
    energies: list[float] = []
    oszicar = "       N       E                     dE             d eps       ncg     rms          rms(c)\n"
    for step in range(1, steps + 1):
        time.sleep(pause)
        if relax:
            frac[0, 0] += STEP_SHIFT
        energy = base - 0.001 * (step - 1) if relax else base
        energies.append(energy)
        oszicar += (
            f"DAV:   1    {energy:.8E}   {energy:.5E}   -0.1E+00   100   0.1E+00\n"
            f"{step:4d} F= {energy:.8E} E0= {energy:.8E}  d E =-.1E+00\n"
        )
        (here / "OSZICAR").write_text(oszicar)
        (here / "CONTCAR").write_text(_contcar(lines, frac, sum(counts)))
        print(f"{step:4d} F= {energy:.8E} E0= {energy:.8E}  d E =-.1E+00", flush=True)
    nelm = int(incar.get("NELM", 60))
    (here / "OUTCAR").write_text(
        outcar_text(
            species=dict(zip(species, counts, strict=False)),
            lattice=lattice,
            frac=frac,
            energies=energies,
            nelm=nelm,
            nsw=int(incar.get("NSW", "0")) if relax else 0,
            ibrion=int(incar["IBRION"]) if relax else -1,
        )
    )
    atoms = [el for el, n in zip(species, counts, strict=True) for _ in range(n)]
    tags = {k: incar[k] for k in ("ENCUT", "EDIFF", "EDIFFG", "SIGMA") if k in incar}
    (here / "vasprun.xml").write_text(
        vasprun_text(species=atoms, lattice=lattice, frac=frac, energy=energies[-1], incar=tags)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
