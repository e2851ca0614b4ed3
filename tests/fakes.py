"""Small VASP output files written by the tests themselves (synthetic, format-exact)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def outcar_text(
    *,
    species: dict[str, int],
    lattice: np.ndarray,
    frac: np.ndarray,
    energies: list[float],
    forces: np.ndarray | None = None,
    efermi: float | None = -2.0,
    nelm: int = 60,
    nsw: int = 50,
    ibrion: int = 2,
    scf_steps: int = 5,
    tangent: float | None = None,
    reached: bool = True,
    finished: bool = True,
    version: str = "5.4.4",
) -> str:
    """An OUTCAR with the blocks cztflow reads: one ionic step per energy in ``energies``."""
    natoms = sum(species.values())
    forces = np.zeros((natoms, 3)) if forces is None else np.asarray(forces)
    cart = np.asarray(frac) @ np.asarray(lattice)
    head = [f" vasp.{version}.18Apr17-6-g9f103f2a35 (build Mar 30 2021 17:29:28) complex", ""]
    head += [f"   TITEL  = PAW_PBE {el} 06Sep2000" for el in species]
    head += [
        f"   ions per type =  {'  '.join(str(n) for n in species.values())}",
        f"   NIONS =  {natoms}",
        f"   NELM   =  {nelm:4d};   NELMIN=  2; NELMDL= -5     # of ELM steps",
        "   EDIFF  = 0.1E-05   stopping-criterion for ELM",
        "   EDIFFG = -.3E-01   stopping-criterion for IOM",
        f"   NSW    =  {nsw:4d}    number of steps for IOM",
        f"   IBRION =  {ibrion:4d}    ionic relax: 0-MD 1-quasi-New 2-CG",
        "   ISPIN  =      1    spin polarized calculation?",
        "   ISMEAR =      0;   SIGMA  =   0.05  broadening in eV -4-tet -1-fermi 0-gaus",
        "",
    ]
    body = []
    for step, energy in enumerate(energies, start=1):
        body.append("      direct lattice vectors                 reciprocal lattice vectors")
        inv = np.linalg.inv(lattice).T
        for row, rec in zip(lattice, inv, strict=True):
            body.append(
                "   " + "".join(f"{x:13.9f}" for x in row) + "   " + "".join(f"{x:13.9f}" for x in rec)
            )
        for it in range(1, scf_steps + 1):
            body.append(
                f"--------------------------------------- Iteration {step:6d}({it:4d})  -----------------"
            )
            body.append(f"  total energy-change (2. order) :{10.0**-it:14.7E}  ({-(10.0**-it):14.7E})")
        if efermi is not None:
            body.append(f" E-fermi : {efermi:8.4f}     XC(G=0):  -1.7157     alpha+bet : -0.5051")
        body.append(" POSITION                                       TOTAL-FORCE (eV/Angst)")
        body.append(" " + "-" * 83)
        for r, f in zip(cart, forces, strict=True):
            body.append("  " + "".join(f"{x:13.5f}" for x in r) + "   " + "".join(f"{x:14.6f}" for x in f))
        body.append(" " + "-" * 83)
        body += [
            "  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)",
            "  ---------------------------------------------------",
            f"  free  energy   TOTEN  =  {energy - 0.001:18.8f} eV",
            "",
            f"  energy  without entropy=  {energy + 0.001:18.8f}  energy(sigma->0) =  {energy:18.8f}",
        ]
        if tangent is not None:
            body.append(f"  NEB: projections on to tangent (spring, REAL)    0.000011 {tangent:11.6f}")
    if reached:
        body.append(" reached required accuracy - stopping structural energy minimisation")
    if finished:
        body.append(" General timing and accounting informations for this job:")
    return "\n".join(head + body) + "\n"


def poscar_text(species: dict[str, int], lattice: np.ndarray, frac: np.ndarray) -> str:
    """A VASP 5 POSCAR in direct coordinates."""
    lines = ["fake", "1.0"] + ["  " + " ".join(f"{x:.10f}" for x in row) for row in lattice]
    lines += ["  " + " ".join(species), "  " + " ".join(str(n) for n in species.values()), "Direct"]
    lines += ["  " + " ".join(f"{x:.10f}" for x in row) for row in frac]
    return "\n".join(lines) + "\n"


def volumetric_text(species: dict[str, int], lattice: np.ndarray, frac: np.ndarray, grid: np.ndarray) -> str:
    """A LOCPOT/CHGCAR body in VASP's 5-per-line E18.11 format (x fastest)."""
    values = np.asarray(grid).transpose().ravel()

    def vasp(x: float) -> str:
        mantissa, exponent = f"{abs(x):.10E}".split("E")
        return (
            (" 0." if x >= 0 else " -.") + mantissa.replace(".", "") + f"E{int(exponent) + 1:+03d}"
            if x
            else " 0.00000000000E+00"
        )

    lines = [poscar_text(species, lattice, frac), " ".join(str(n) for n in np.shape(grid))]
    for start in range(0, values.size, 5):
        lines.append("".join(vasp(x) for x in values[start : start + 5]))
    return "\n".join(lines) + "\n"


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path``, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def neb_tree(root: Path, energies: list[float], tangents: list[float], *, reached: bool = True) -> Path:
    """A VTST CI-NEB folder 00 … N: one K atom moving 0.3 of an 8 Å cell past a Zn atom.

    Each image has a POSCAR and an OUTCAR with the given energy (sigma → 0) and, for the
    intermediate images, the given tangential force.
    """
    lattice = np.diag([8.0, 8.0, 20.0])
    n = len(energies)
    for i, (energy, tangent) in enumerate(zip(energies, tangents, strict=True)):
        frac = np.array([[0.5, 0.5, 0.5], [0.1 + 0.3 * i / (n - 1), 0.2, 0.6]])
        folder = root / f"{i:02d}"
        write(folder / "POSCAR", poscar_text({"Zn": 1, "K": 1}, lattice, frac))
        text = outcar_text(
            species={"Zn": 1, "K": 1},
            lattice=lattice,
            frac=frac,
            energies=[energy],
            ibrion=3,
            tangent=None if i in (0, n - 1) else tangent,
            reached=reached,
        )
        write(folder / "OUTCAR", text)
    return root


def _rows(values: np.ndarray, indent: str, fmt: str = "{:.8f}") -> str:
    return "\n".join(f"{indent}<r> " + " ".join(fmt.format(x) for x in row) + " </r>" for row in values)


def vasprun_text(
    *,
    species: list[str],
    lattice: np.ndarray,
    frac: np.ndarray,
    energy: float,
    forces: np.ndarray | None = None,
    incar: dict[str, object] | None = None,
    parameters: dict[str, object] | None = None,
    efermi: float | None = None,
    kpoints: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    eigenvalues: np.ndarray | None = None,
    occupations: np.ndarray | None = None,
    dos_energies: np.ndarray | None = None,
    dos_total: np.ndarray | None = None,
) -> str:
    """A finished single-step vasprun.xml with the blocks cztflow reads.

    ``species`` has one element per atom (repeats allowed, types in order of first
    appearance).  ``eigenvalues``/``occupations`` are (nspin, nk, nbands) with ``kpoints``
    fractional; ``dos_total`` is (nspin, nedos).  Without them the file has no
    ``<eigenvalues>``/``<dos>`` block, as with LORBIT unset on a relaxation.
    """
    lattice, frac = np.asarray(lattice, dtype=float), np.asarray(frac, dtype=float)
    types = list(dict.fromkeys(species))
    forces = np.zeros((len(species), 3)) if forces is None else np.asarray(forces)

    def varray(name: str, rows: np.ndarray, indent: str = "   ") -> str:
        body = "\n".join(f"{indent} <v> " + " ".join(f"{x:.8f}" for x in r) + " </v>" for r in rows)
        return f'{indent}<varray name="{name}" >\n{body}\n{indent}</varray>'

    structure = "\n".join(
        [
            "  <crystal>",
            varray("basis", lattice),
            f'   <i name="volume">{abs(np.linalg.det(lattice)):.8f}</i>',
            varray("rec_basis", np.linalg.inv(lattice).T),
            "  </crystal>",
            varray("positions", frac, "  "),
        ]
    )
    energy_block = "\n".join(
        [
            "   <energy>",
            f'    <i name="e_fr_energy">{energy:.8f}</i>',
            f'    <i name="e_wo_entrp">{energy:.8f}</i>',
            f'    <i name="e_0_energy">{energy:.8f}</i>',
            "   </energy>",
        ]
    )
    params = {"ENCUT": 450.0, "EDIFF": 1e-6, "NELM": 200, "ISPIN": 1, "NSW": 0, "IBRION": -1, "EDIFFG": -0.03}
    if eigenvalues is not None:
        params["ISPIN"] = int(np.shape(eigenvalues)[0])
    params.update(parameters or {})
    kpts = np.zeros((1, 3)) if kpoints is None else np.asarray(kpoints, dtype=float)
    wts = np.full(len(kpts), 1.0 / len(kpts)) if weights is None else np.asarray(weights, dtype=float)
    electronic = []
    if eigenvalues is not None:
        eig = np.asarray(eigenvalues, dtype=float)
        occ = np.zeros_like(eig) if occupations is None else np.asarray(occupations, dtype=float)
        sets = []
        for s in range(eig.shape[0]):
            ks = [
                f'     <set comment="kpoint {k + 1}">\n'
                + _rows(np.column_stack([eig[s, k], occ[s, k]]), "      ", "{:.4f}")
                + "\n     </set>"
                for k in range(eig.shape[1])
            ]
            sets.append(f'    <set comment="spin {s + 1}">\n' + "\n".join(ks) + "\n    </set>")
        electronic.append(
            "  <eigenvalues>\n   <array>\n"
            '    <dimension dim="1">band</dimension>\n    <dimension dim="2">kpoint</dimension>\n'
            '    <dimension dim="3">spin</dimension>\n    <field>eigene</field>\n    <field>occ</field>\n'
            "    <set>\n" + "\n".join(sets) + "\n    </set>\n   </array>\n  </eigenvalues>"
        )
    if efermi is not None or dos_total is not None:
        dos = [f'  <dos>\n   <i name="efermi">{0.0 if efermi is None else efermi:14.8f} </i>']
        if dos_total is not None:
            total = np.asarray(dos_total, dtype=float)
            energies = np.asarray(dos_energies, dtype=float)
            de = float(energies[1] - energies[0]) if energies.size > 1 else 0.0
            sets = [
                f'     <set comment="spin {s + 1}">\n'
                + _rows(np.column_stack([energies, total[s], np.cumsum(total[s]) * de]), "      ", "{:.4f}")
                + "\n     </set>"
                for s in range(total.shape[0])
            ]
            dos.append(
                "   <total>\n    <array>\n"
                '     <dimension dim="1">gridpoints</dimension>\n     <dimension dim="2">spin</dimension>\n'
                "     <field>energy</field>\n     <field>total</field>\n     <field>integrated</field>\n"
                "     <set>\n" + "\n".join(sets) + "\n     </set>\n    </array>\n   </total>"
            )
        electronic.append("\n".join(dos) + "\n  </dos>")
    rc = "\n".join(f"    <rc><c>{a}</c><c>{types.index(a) + 1}</c></rc>" for a in species)
    atomtypes = "\n".join(
        f"    <rc><c>{species.count(t)}</c><c>{t}</c><c>1.0</c><c>1.0</c><c>  PAW_PBE {t} 01Jan2000</c></rc>"
        for t in types
    )
    tags = "\n".join(f'  <i name="{k}">{v}</i>' for k, v in (incar or {}).items())
    items = "\n".join(
        f'   <i type="int" name="{k}">{v}</i>' if isinstance(v, int) else f'   <i name="{k}">{v:.8f}</i>'
        for k, v in params.items()
    )
    kgen = (
        '  <generation param="Gamma">\n'
        '   <v type="int" name="divisions">       1        1        1 </v>\n  </generation>'
    )
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
{kgen}
{varray("kpointlist", kpts, "  ")}
  <varray name="weights" >
{chr(10).join(f"   <v> {w:.8f} </v>" for w in wts)}
  </varray>
 </kpoints>
 <parameters>
  <separator name="general" >
{items}
  </separator>
 </parameters>
 <atominfo>
  <atoms>{len(species)}</atoms>
  <types>{len(types)}</types>
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
{atomtypes}
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
{varray("forces", forces, "  ")}
  <varray name="stress" >
    <v> 0.0 0.0 0.0 </v>
    <v> 0.0 0.0 0.0 </v>
    <v> 0.0 0.0 0.0 </v>
  </varray>
{energy_block.replace("   ", "  ", 1)}
{chr(10).join(electronic)}
 </calculation>
 <structure name="finalpos" >
{structure}
 </structure>
</modeling>
"""
