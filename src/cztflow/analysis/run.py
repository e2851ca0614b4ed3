"""The summary of one finished (or failed) VASP run, whichever file it was read from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MANY_BODY_ALGOS", "RunSummary"]

#: ALGO values of many-body runs (GW, RPA/ACFDT, BSE), which write eigenvalues but no total
#: energy: an OUTCAR of such a run has no ``FREE ENERGIE`` block, a vasprun.xml no ``<energy>``.
#: The ``R`` variants are the low-scaling (real-space, imaginary-time) algorithms of VASP 6.
MANY_BODY_ALGOS = frozenset(
    {"GW", "GW0", "EVGW", "EVGW0", "QPGW", "QPGW0", "SCGW", "SCGW0", "G0W0"}
    | {"G0W0R", "GWR", "GW0R", "EVGW0R", "QPGWR", "QPGW0R"}
    | {"RPA", "ACFDT", "RPAR", "ACFDTR", "BSE", "TDHF"}
)


@dataclass
class RunSummary:
    """What a VASP run produced, with flags saying how far to trust it.

    Attributes
    ----------
    path
        The file read.
    vasp_version
        For example ``"5.4.4"``.
    final_energy
        Energy extrapolated to zero smearing, ``energy(sigma->0)``, of the last ionic step
        (eV). This is the energy cztflow uses everywhere. None only for the eigenvalues of a
        GW/RPA run read with ``read_electronic`` (such a run has no total energy; ``read_run``
        refuses it).
    free_energy
        The free energy ``TOTEN`` of the last ionic step (eV).
    energy_without_entropy
        ``energy without entropy`` of the last ionic step (eV).
    efermi
        The last Fermi level printed (eV), or None.
    ionic_steps
        Ionic steps completed.
    electronic_steps
        SCF iterations of the last ionic step.
    electronic_converged, ionic_converged, finished
        Whether the last SCF reached EDIFF, the relaxation reached EDIFFG (True for runs
        that do not relax), and the run ended normally.
    issues
        Why a flag is False, in words.
    species
        Element of each atom, in file order.
    lattice, positions
        Last cell (rows, Å) and Cartesian positions (Å).
    forces
        Forces of the last ionic step (eV/Å), or None.
    parameters
        NELM, NSW, IBRION, EDIFF, EDIFFG, ISPIN, ISMEAR, SIGMA and others as the run used them.
    magnetization
        Total magnetic moment (μB) for spin-polarised runs, else None.
    tangent_force
        For a VTST NEB image (OUTCAR): the true force projected on the band tangent in the
        last step (eV/Å), else None.
    """

    path: Path
    vasp_version: str
    final_energy: float | None
    free_energy: float | None
    energy_without_entropy: float | None
    efermi: float | None
    ionic_steps: int
    electronic_steps: int
    electronic_converged: bool
    ionic_converged: bool
    finished: bool
    species: list[str]
    lattice: np.ndarray
    positions: np.ndarray
    forces: np.ndarray | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    magnetization: float | None = None
    tangent_force: float | None = None
    issues: list[str] = field(default_factory=list)

    @property
    def converged(self) -> bool:
        """True when the run finished and both loops converged."""
        return self.finished and self.electronic_converged and self.ionic_converged

    @property
    def natoms(self) -> int:
        """Number of atoms."""
        return len(self.species)

    @property
    def composition(self) -> dict[str, int]:
        """Atoms of each element."""
        counts: dict[str, int] = {}
        for symbol in self.species:
            counts[symbol] = counts.get(symbol, 0) + 1
        return counts

    @property
    def max_force(self) -> float | None:
        """Largest force on an atom that may move (eV/Å), or None without forces."""
        if self.forces is None or not len(self.forces):
            return None
        return float(np.linalg.norm(self.forces, axis=1).max())

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (the ``cztflow parse --json`` output)."""
        return {
            "file": str(self.path),
            "vasp_version": self.vasp_version,
            "final_energy": self.final_energy,
            "free_energy": self.free_energy,
            "energy_without_entropy": self.energy_without_entropy,
            "efermi": self.efermi,
            "converged": self.converged,
            "electronic_converged": self.electronic_converged,
            "ionic_converged": self.ionic_converged,
            "finished": self.finished,
            "ionic_steps": self.ionic_steps,
            "electronic_steps": self.electronic_steps,
            "natoms": self.natoms,
            "composition": self.composition,
            "max_force": self.max_force,
            "magnetization": self.magnetization,
            "issues": list(self.issues),
        }


def convergence_issues(
    summary_params: dict[str, Any],
    *,
    electronic_steps: int,
    last_energy_change: float | None,
    ionic_steps: int,
    reached_accuracy: bool | None,
    max_force: float | None,
    last_ionic_change: float | None = None,
) -> tuple[bool, bool, list[str]]:
    """Decide electronic and ionic convergence the way VASP does.

    The SCF converged when it stopped before NELM iterations, or at NELM with the energy
    change below EDIFF. (VASP 5.4 prints "aborting loop because EDIFF is reached" even when
    it stops at NELM, so that line proves nothing.) A relaxation (IBRION 1, 2 or 3 with
    NSW > 0) converged when VASP printed "reached required accuracy", or, when the file
    cannot say (vasprun.xml), when it stopped before NSW steps, or its forces are below
    |EDIFFG| (EDIFFG < 0), or its last energy change is below EDIFFG (EDIFFG > 0). Runs
    that do not relax are ionically converged by definition.
    """
    issues: list[str] = []
    nelm = int(summary_params.get("NELM", 60))
    ediff = float(summary_params.get("EDIFF", 1e-4))
    electronic = electronic_steps < nelm or (
        last_energy_change is not None and abs(last_energy_change) < ediff
    )
    if not electronic:
        change = "" if last_energy_change is None else f"; last energy change {last_energy_change:.2e} eV"
        issues.append(
            f"SCF of ionic step {ionic_steps} stopped at NELM = {nelm} iterations without reaching "
            f"EDIFF = {ediff:g} eV{change}"
        )
    ibrion = int(summary_params.get("IBRION", -1))
    nsw = int(summary_params.get("NSW", 0))
    ionic = True
    if ibrion in (1, 2, 3) and nsw > 0:
        ediffg = float(summary_params.get("EDIFFG", ediff * 10))
        if reached_accuracy is not None:
            ionic = reached_accuracy
        else:
            if ediffg < 0:
                below = max_force is not None and max_force <= abs(ediffg)
            else:
                below = last_ionic_change is not None and abs(last_ionic_change) < ediffg
            ionic = ionic_steps < nsw or below
        if not ionic:
            issues.append(
                f"relaxation stopped after {ionic_steps} of NSW = {nsw} ionic steps without reaching "
                f"EDIFFG = {ediffg:g}"
            )
    return electronic, ionic, issues
