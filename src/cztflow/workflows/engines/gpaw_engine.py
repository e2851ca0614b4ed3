"""GPAW (PAW, PBE) for work functions, band structures, DOS, charge densities and small-cell energies.

Settings come from the node's INCAR, so GPAW follows the same protocol as VASP would:
plane waves at ENCUT, Gaussian smearing of SIGMA (Methfessel–Paxton order 0), the
KPOINTS mesh, spin polarisation and initial moments from ISPIN/MAGMOM, the SCF energy
criterion EDIFF (total energy per cell, as in VASP, not GPAW's per-electron default), and,
for slabs with LDIPOL, open boundaries along z with GPAW's dipole layer correction.
D3 (zero damping) from ``dftd3`` is added to energies and forces.
Cells above ``gpaw.lcao_above_atoms`` atoms (configuration) run in LCAO mode with the
``gpaw.basis`` basis instead of plane waves; the choice is recorded with the result.

Outputs by kind: ``workfunction`` writes LOCPOT (the electrostatic potential, eV, as
VASP's LVHAR), ``chgdiff`` writes CHGCAR (pseudo valence density × cell volume, as VASP),
``static`` saves ``gpaw.gpw`` for the bands and DOS runs that follow, and ``bands``/``dos``
store eigenvalues, occupations, k-points and the DOS in ``cztflow-result.json``.
"""

from __future__ import annotations

import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from cztflow.workflows.engines.ase_runs import run_neb, run_record, run_single
from cztflow.workflows.engines.base import Engine, EngineError, NodeTask, missing_extra
from cztflow.workflows.engines.folder_io import (
    atoms_from_poscar,
    incar_values,
    kpoint_mesh,
    write_contcar,
    write_result,
    write_volumetric,
)
from cztflow.workflows.engines.mlip import d3_calculator
from cztflow.workflows.vaspfiles import read_kpoints

__all__ = ["GpawEngine"]

GPW = "gpaw.gpw"


def _gpaw_version() -> str:
    try:
        return version("gpaw")
    except PackageNotFoundError:
        return "not installed"


def _truthy(value: Any) -> bool:
    return str(value).strip(".").upper().startswith("T") if not isinstance(value, bool) else value


def _line_kpoints(path: Path) -> np.ndarray:
    """Explicit fractional k-points of a line-mode KPOINTS (pairs of ends, N points each)."""
    kpts = read_kpoints(path)
    if kpts.mode != "line" or kpts.coord != "reciprocal":
        raise EngineError(f"{path}: GPAW bands need a line-mode KPOINTS in reciprocal coordinates")
    ends = np.asarray(kpts.points, dtype=float)
    if len(ends) % 2:
        raise EngineError(f"{path}: line mode needs pairs of end points, found {len(ends)} points")
    segments = [np.linspace(ends[i], ends[i + 1], kpts.divisions) for i in range(0, len(ends), 2)]
    return np.vstack(segments)


class GpawEngine(Engine):
    """GPAW plus D3 for every node kind (NEB only for small cells)."""

    name = "gpaw"
    kinds = ("relax", "static", "workfunction", "chgdiff", "bands", "dos", "neb")

    def check(self, task: NodeTask) -> None:
        super().check(task)
        problem = missing_extra("gpaw")
        if problem:
            # GPAW compiles against libxc, FFTW and BLAS: the docs page "Installing on a cluster"
            # says where those come from (scripts/bootstrap.sh, conda-forge, the cluster's module)
            raise EngineError(problem)

    def _natoms(self, folder: Path) -> int:
        first = folder / "POSCAR" if (folder / "POSCAR").is_file() else folder / "00" / "POSCAR"
        atoms, _ = atoms_from_poscar(first)
        return len(atoms)

    def _mode_atoms(self, task: NodeTask) -> int:
        """Atoms that decide PW or LCAO: a charge-difference part counts its whole's atoms,
        so the three densities of Δρ = ρ(AB) − ρ(A) − ρ(B) come from one basis."""
        parent = (task.node.get("seed") or {}).get("from")
        if task.kind == "chgdiff" and parent:
            return self._natoms(task.root / parent)
        return self._natoms(task.folder)

    def settings(self, task: NodeTask) -> dict[str, Any]:
        folder = task.folder
        incar = incar_values(folder)
        lcao = self._mode_atoms(task) > int(self.config.gpaw["lcao_above_atoms"])
        dipole = _truthy(incar.get("LDIPOL", False))
        if task.kind in ("bands", "dos"):
            mesh, gamma = (0, 0, 0), True
        else:
            mesh, gamma = kpoint_mesh(folder)
        magmom = incar.get("MAGMOM")
        return {
            "engine": "gpaw",
            "version": _gpaw_version(),
            "mode": f"lcao ({self.config.gpaw['basis']}, h = {float(self.config.gpaw['grid_spacing']):g} Å)"
            if lcao
            else f"pw ({float(incar['ENCUT']):g} eV)",
            "xc": "PBE",
            "encut": float(incar["ENCUT"]),
            "smearing": {"name": "methfessel-paxton", "order": 0, "width": float(incar["SIGMA"])},
            "kpts": {"size": list(mesh), "gamma": gamma},
            "spinpol": int(incar.get("ISPIN", 1)) == 2,
            "magmoms": [float(m) for m in magmom]
            if isinstance(magmom, list) and int(incar.get("ISPIN", 1)) == 2
            else None,
            "scf_energy_per_cell": float(incar["EDIFF"]),
            "dipole_layer": "xy" if dipole else None,
            "dispersion": "DFT-D3 zero damping (dftd3)" if int(incar.get("IVDW", 0)) == 11 else None,
            "grid_spacing": float(self.config.gpaw["grid_spacing"]) if lcao else None,
            "fmax": abs(float(incar.get("EDIFFG", -task.protocol.force_tolerance))),
            "max_steps": int(incar.get("NSW", 0)),
            "cell_relax": int(incar.get("ISIF", 2)) >= 3,
            "lcao": lcao,
            # the ASE optimisers of both open engines are one choice (the mlip section)
            "optimizer": str(self.config.mlip["neb_optimizer" if task.kind == "neb" else "optimizer"]),
        }

    def _calculator(self, task: NodeTask, settings: dict[str, Any], txt: Path) -> Any:
        from gpaw import GPAW, PW

        params: dict[str, Any] = {
            "xc": "PBE",
            "kpts": settings["kpts"],
            "occupations": settings["smearing"],
            # EDIFF is a change of the cell's total energy, as in VASP; GPAW's default reads
            # its tolerance per valence electron (100+ times looser for these cells)
            "convergence": {
                "energy": {"name": "energy", "tol": settings["scf_energy_per_cell"], "relative": False}
            },
            "spinpol": settings["spinpol"],
            "txt": str(txt),
        }
        if settings["lcao"]:
            params.update(mode="lcao", basis=self.config.gpaw["basis"], h=settings["grid_spacing"])
        else:
            params["mode"] = PW(settings["encut"])
        if settings["dipole_layer"]:
            params["poissonsolver"] = {"dipolelayer": "xy"}
        if task.kind in ("relax", "neb"):
            # moving atoms: an optimiser's step or a band's forces need not keep the starting
            # symmetry, and GPAW raises SymmetryBrokenError when they break it (VASP: ISYM = 0)
            params["symmetry"] = "off"
        return GPAW(**params)

    def _pbc(self, settings: dict[str, Any]) -> tuple[bool, bool, bool]:
        return (True, True, not settings["dipole_layer"])

    def run(self, task: NodeTask) -> dict[str, Any]:
        settings = self.settings(task)
        folder = task.folder
        if task.kind in ("bands", "dos"):
            return self._non_self_consistent(task, settings)
        if task.kind == "neb":
            return run_neb(
                task,
                lambda: self._with_d3(task, settings, None),
                settings,
                settings["optimizer"],
                pbc=self._pbc(settings),
            )
        dft = self._calculator(task, settings, folder / "gpaw.txt")
        calc = self._with_d3(task, settings, dft)

        def extras(atoms: Any) -> dict[str, Any]:
            out: dict[str, Any] = {
                "efermi": float(dft.get_fermi_level()),
                "electronic_steps": int(dft.get_number_of_iterations()),
            }
            if settings["spinpol"]:
                out["magnetization"] = float(dft.get_magnetic_moment())
            return out

        atoms, summary = run_single(
            task, calc, settings, settings["optimizer"], pbc=self._pbc(settings), extras=extras
        )
        _, template = atoms_from_poscar(folder / "POSCAR")
        if task.kind == "workfunction":
            write_volumetric(folder / "LOCPOT", atoms, template, dft.get_electrostatic_potential())
        elif task.kind == "chgdiff":
            density = dft.get_pseudo_density() * atoms.get_volume()
            write_volumetric(folder / "CHGCAR", atoms, template, density)
        elif task.kind == "static":
            dft.write(str(folder / GPW))
        summary["efermi"] = float(dft.get_fermi_level())
        return summary

    def _with_d3(self, task: NodeTask, settings: dict[str, Any], dft: Any) -> Any:
        from ase.calculators.mixing import SumCalculator

        if dft is None:
            dft = self._calculator(task, settings, Path("/dev/null"))
        if settings["dispersion"] is None:
            return dft
        return SumCalculator([dft, d3_calculator(task.protocol)])

    def _non_self_consistent(self, task: NodeTask, settings: dict[str, Any]) -> dict[str, Any]:
        from gpaw import GPAW

        folder = task.folder
        gpw = task.parent_folder() / GPW
        if not gpw.is_file():
            raise EngineError(
                f"{gpw}: missing; the static run must use GPAW too (it saves its density there)"
            )
        start = time.perf_counter()
        parent = GPAW(str(gpw), txt=None)
        if task.kind == "bands":
            kpts: Any = _line_kpoints(folder / "KPOINTS")
            settings["kpts"] = {"path": "explicit", "count": len(kpts)}
        else:
            mesh, gamma = kpoint_mesh(folder)
            kpts = {"size": mesh, "gamma": gamma}
            settings["kpts"] = {"size": list(mesh), "gamma": gamma}
        # a band path is not a symmetric mesh; a DOS mesh keeps the symmetry-reduced k-points
        symmetry = "off" if task.kind == "bands" else {}
        calc = parent.fixed_density(kpts=kpts, symmetry=symmetry, txt=str(folder / "gpaw.txt"))
        atoms, template = atoms_from_poscar(folder / "POSCAR")
        atoms.pbc = self._pbc(settings)
        efermi = float(parent.get_fermi_level())
        nspin = calc.get_number_of_spins()
        ibz = calc.get_ibz_k_points()
        eig = np.array([[calc.get_eigenvalues(kpt=k, spin=s) for k in range(len(ibz))] for s in range(nspin)])
        occ = np.array(
            [
                [calc.get_occupation_numbers(kpt=k, spin=s, raw=True) for k in range(len(ibz))]
                for s in range(nspin)
            ]
        )
        if nspin == 1:
            occ = occ / 2.0 if occ.max() > 1.0 + 1e-9 else occ
        record = run_record(
            task,
            settings,
            float(parent.get_potential_energy()),
            np.zeros((len(atoms), 3)),
            0,
            True,
            [],
            start,
        )
        record.update(
            efermi=efermi,
            kpoints=ibz,
            kpoint_weights=calc.get_k_point_weights(),
            eigenvalues=eig,
            occupations=occ,
        )
        if task.kind == "dos":
            npts = int(incar_values(folder).get("NEDOS", 3001))
            energies = np.linspace(eig.min() - 1.0, eig.max() + 1.0, npts)
            dos = calc.dos(shift_fermi_level=False)
            width = float(settings["smearing"]["width"])
            spins = [None] if nspin == 1 else [0, 1]  # None: both spin channels of an unpolarised run
            record.update(
                dos_energies=energies,
                dos_total=np.array([dos.raw_dos(energies, spin=s, width=width) for s in spins]),
            )
        write_contcar(folder, atoms, template)
        write_result(folder, atoms, record)
        return {"efermi": efermi, "nkpts": len(ibz), "nbands": int(eig.shape[-1]), "converged": True}
