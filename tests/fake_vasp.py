"""A stand-in for the ``vasp`` executable, for tests of the custodian engine (never for results).

Run in a calculation folder, it reads POSCAR and INCAR and behaves as the scenario in
``$FAKE_VASP_SCENARIO`` says for this attempt (a comma-separated list, one word per
attempt; the attempt number is kept in ``fake_vasp_attempts``):

* ``ok``: write OUTCAR, OSZICAR, CONTCAR and vasprun.xml in VASP's formats and exit 0;
* any key of ``ERRORS``: print that VASP error message to standard output and exit 1.

The files it writes are format-exact, so cztflow's parsers and pymatgen read them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np
from fakes import outcar_text

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


def _vasprun(
    species: list[str],
    counts: list[int],
    lattice: np.ndarray,
    frac: np.ndarray,
    energy: float,
    incar: dict[str, str],
) -> str:
    atoms = [s for s, n in zip(species, counts, strict=False) for _ in range(n)]
    vec = "\n".join(f"    <v> {a[0]:.8f} {a[1]:.8f} {a[2]:.8f} </v>" for a in lattice)
    pos = "\n".join(f"    <v> {p[0]:.8f} {p[1]:.8f} {p[2]:.8f} </v>" for p in frac)
    zeros = "\n".join("    <v> 0.0 0.0 0.0 </v>" for _ in atoms)
    structure = f"""  <crystal>
   <varray name="basis" >
{vec}
   </varray>
   <i name="volume">{abs(np.linalg.det(lattice)):.8f}</i>
   <varray name="rec_basis" >
{chr(10).join(f"    <v> {r[0]:.8f} {r[1]:.8f} {r[2]:.8f} </v>" for r in np.linalg.inv(lattice).T)}
   </varray>
  </crystal>
  <varray name="positions" >
{pos}
  </varray>"""
    rc = "\n".join(f"    <rc><c>{a}</c><c>{species.index(a) + 1}</c></rc>" for a in atoms)
    types = "\n".join(
        f"    <rc><c>{n}</c><c>{s}</c><c>1.0</c><c>1.0</c><c>  PAW_PBE {s} 01Jan2000</c></rc>"
        for s, n in zip(species, counts, strict=False)
    )
    tags = "\n".join(
        f'  <i name="{k}">{incar[k]}</i>' for k in ("ENCUT", "EDIFF", "EDIFFG", "SIGMA") if k in incar
    )
    energy_block = f"""   <energy>
    <i name="e_fr_energy">{energy:.8f}</i>
    <i name="e_wo_entrp">{energy:.8f}</i>
    <i name="e_0_energy">{energy:.8f}</i>
   </energy>"""
    return f"""<?xml version="1.0" encoding="ISO-8859-1"?>
<modeling>
 <generator>
  <i name="program" type="string">vasp </i>
  <i name="version" type="string">5.4.4.18Apr17-6-g9f103f2a35  </i>
  <i name="subversion" type="string">(build Apr 17 2017) complex parallel </i>
  <i name="platform" type="string">LinuxIFC </i>
  <i name="date" type="string">2026 11 25 </i>
  <i name="time" type="string">00:00:00 </i>
 </generator>
 <incar>
{tags}
 </incar>
 <kpoints>
  <generation param="Gamma">
   <v type="int" name="divisions">       1        1        1 </v>
  </generation>
  <varray name="kpointlist" >
   <v>       0.00000000       0.00000000       0.00000000 </v>
  </varray>
  <varray name="weights" >
   <v>       1.00000000 </v>
  </varray>
 </kpoints>
 <parameters>
  <separator name="electronic" >
   <i name="ENCUT">    450.00000000</i>
   <i name="EDIFF">      0.00000100</i>
   <i type="int" name="NELM">    200</i>
   <i type="int" name="ISPIN">      1</i>
  </separator>
  <separator name="ionic" >
   <i type="int" name="NSW">      0</i>
   <i type="int" name="IBRION">     -1</i>
   <i name="EDIFFG">     -0.03000000</i>
  </separator>
 </parameters>
 <atominfo>
  <atoms>{len(atoms)}</atoms>
  <types>{len(species)}</types>
  <array name="atoms" >
   <dimension dim="1">ion</dimension>
   <field type="string">element</field>
   <field type="int">atomtype</field>
   <set>
{rc}
   </set>
  </array>
  <array name="atomtypes" >
   <dimension dim="1">type</dimension>
   <field type="int">atomspertype</field>
   <field type="string">element</field>
   <field>mass</field>
   <field>valence</field>
   <field type="string">pseudopotential</field>
   <set>
{types}
   </set>
  </array>
 </atominfo>
 <structure name="initialpos" >
{structure}
 </structure>
 <calculation>
  <scstep>
{energy_block}
  </scstep>
  <structure>
{structure}
  </structure>
  <varray name="forces" >
{zeros}
  </varray>
  <varray name="stress" >
    <v> 0.0 0.0 0.0 </v>
    <v> 0.0 0.0 0.0 </v>
    <v> 0.0 0.0 0.0 </v>
  </varray>
{energy_block.replace("   ", "  ", 1)}
 </calculation>
 <structure name="finalpos" >
{structure}
 </structure>
</modeling>
"""


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
    energy = -3.5 * sum(counts)
    nelm = int(incar.get("NELM", 60))
    (here / "OUTCAR").write_text(
        outcar_text(
            species=dict(zip(species, counts, strict=False)),
            lattice=lattice,
            frac=frac,
            energies=[energy],
            nelm=nelm,
            nsw=0,
            ibrion=-1,
        )
    )
    (here / "OSZICAR").write_text(
        f"       N       E                     dE             d eps       ncg     rms          rms(c)\n"
        f"DAV:   1    {energy:.8E}   {energy:.5E}   -0.1E+00   100   0.1E+00\n"
        f"   1 F= {energy:.8E} E0= {energy:.8E}  d E =-.1E+00\n"
    )
    (here / "CONTCAR").write_text("\n".join(lines) + "\n")
    (here / "vasprun.xml").write_text(_vasprun(species, counts, lattice, frac, energy, incar))
    print(f"   1 F= {energy:.8E} E0= {energy:.8E}  d E =-.1E+00")
    return 0


if __name__ == "__main__":
    sys.exit(main())
