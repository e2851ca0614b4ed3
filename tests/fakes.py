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
    efermi: float = -2.0,
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
