"""Relaxations, single points and CI-NEB with ASE, shared by the open engines.

An engine supplies a calculator factory and its settings; these functions read the node
folder, run, and write CONTCAR, the ASE trajectory and ``cztflow-result.json``.  Forces
are the constrained ones (fixed atoms report zero), as VASP reports them with selective
dynamics.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from cztflow.result_format import RESULT_FILE
from cztflow.workflows.engines.base import EngineError, NodeTask
from cztflow.workflows.engines.folder_io import (
    atoms_from_poscar,
    incar_values,
    write_atomic,
    write_contcar,
    write_result,
)

__all__ = ["last_complete_step", "optimizer", "pseudo_hydrogen_issues", "run_neb", "run_record", "run_single"]

#: Extra numbers an engine reports for a finished calculator (efermi, magnetization, ...).
Extras = Callable[[Atoms], dict[str, Any]]


def optimizer(name: str, target: Any, folder: Path, stem: str, source: Any = None) -> Any:
    """ASE optimiser ``name`` on ``target``, logging to ``folder/stem.log`` and ``stem.traj``."""
    import ase.optimize

    cls = getattr(ase.optimize, name, None)
    if cls is None:
        raise EngineError(f"{source or 'configuration'}: ASE has no optimiser {name!r}")
    return cls(target, trajectory=str(folder / f"{stem}.traj"), logfile=str(folder / f"{stem}.log"))


def last_complete_step(
    task: NodeTask, stem: str, symbols: list[str], per_step: int = 1
) -> tuple[list[Atoms], int] | None:
    """The geometry of the last complete step in an interrupted attempt's ``stem.traj``.

    Parameters
    ----------
    task
        The node; its ``resume_from`` names the archived attempt (``None``: nothing to resume).
    stem
        ``relax`` or ``neb``.
    symbols
        The node's atoms, in order: the attempt's frames must hold the same.
    per_step
        Frames the optimiser writes per step: 1, or every image of a band.

    Returns
    -------
    tuple or None
        The frames of that step and the number of optimiser steps made before it: the
        attempt's own, plus those of the attempts it had itself resumed (``stem.resumed.json``
        in its folder), so a node interrupted twice counts all three.  ``None`` when the
        attempt left no complete step (a frame cut short by the kill is not used).

    Raises
    ------
    EngineError
        If the trajectory holds other atoms than the node (it is not this node's attempt).
    """
    from ase.io import Trajectory

    if task.resume_from is None or not (task.resume_from / f"{stem}.traj").is_file():
        return None
    frames: list[Atoms] = []
    try:
        with Trajectory(str(task.resume_from / f"{stem}.traj")) as traj:
            for i in range(len(traj)):
                frames.append(traj[i])
    except (OSError, ValueError, EOFError, IndexError):  # a file cut short by the kill: what was read
        pass
    complete = len(frames) // per_step
    if complete == 0:
        return None
    if frames[0].get_chemical_symbols() != symbols:
        raise EngineError(
            f"{task.resume_from / f'{stem}.traj'}: holds {frames[0].get_chemical_formula()}, not this "
            f"node's atoms; move that attempt out of the way to start from the inputs"
        )
    earlier = 0
    chain = task.resume_from / f"{stem}.resumed.json"
    if chain.is_file():
        try:
            earlier = int(json.loads(chain.read_text(encoding="utf-8"))["steps_before"])
        except (ValueError, KeyError, TypeError) as exc:
            raise EngineError(f"{chain}: unreadable record of the steps before that attempt ({exc})") from exc
    return frames[(complete - 1) * per_step : complete * per_step], earlier + complete - 1


def _resumed(task: NodeTask, stem: str, steps_before: int) -> dict[str, Any]:
    """Record (in ``stem.resumed.json``, which is archived with the attempt) where this run resumed."""
    assert task.resume_from is not None
    record = {"from": task.resume_from.relative_to(task.folder).as_posix(), "steps_before": steps_before}
    write_atomic(task.folder / f"{stem}.resumed.json", json.dumps(record))
    return record


def pseudo_hydrogen_issues(folder: Path) -> list[str]:
    """A note for each fractional-charge pseudo-hydrogen (H1.5, H.5), which open engines run as H."""
    spec = folder / "POTCAR.spec"
    if not spec.is_file():
        return []
    odd = sorted(
        {s.strip() for s in spec.read_text().splitlines() if s.strip().startswith("H") and s.strip() != "H"}
    )
    return [f"pseudo-hydrogen {s} run as ordinary H (no fractional-charge H in this engine)" for s in odd]


def run_record(
    task: NodeTask,
    settings: dict[str, Any],
    energy: float,
    forces: np.ndarray,
    steps: int,
    converged: bool,
    issues: list[str],
    start: float,
) -> dict[str, Any]:
    """The common fields of ``cztflow-result.json``."""
    return {
        "engine": settings,
        "node": task.node["id"],
        "kind": task.kind,
        "status": "finished",
        "energy": energy,
        "free_energy": energy,
        "efermi": None,
        "forces": forces,
        "ionic_steps": steps,
        "force_calls": steps + 1,
        "electronic_converged": True,
        "ionic_converged": converged,
        "issues": issues + pseudo_hydrogen_issues(task.folder),
        "magnetization": None,
        "parameters": {"NSW": settings["max_steps"], "EDIFFG": -settings["fmax"]},
        "wall_seconds": round(time.perf_counter() - start, 3),
    }


def run_single(
    task: NodeTask,
    calc: Any,
    settings: dict[str, Any],
    optimizer_name: str,
    *,
    pbc: tuple[bool, bool, bool] = (True, True, True),
    extras: Extras | None = None,
) -> tuple[Atoms, dict[str, Any]]:
    """Relax (relax nodes with NSW > 0 and IBRION ≥ 0) or evaluate the POSCAR, and write results."""
    folder = task.folder
    incar = incar_values(folder)
    atoms, template = atoms_from_poscar(folder / "POSCAR", settings.get("magmoms"))
    atoms.pbc = pbc
    atoms.calc = calc
    start = time.perf_counter()
    relax = task.kind == "relax" and settings["max_steps"] > 0 and int(incar.get("IBRION", -1)) >= 0
    steps, converged = 0, True
    resumed = last_complete_step(task, "relax", atoms.get_chemical_symbols()) if relax else None
    if resumed is not None:
        (last,), steps_before = resumed
        atoms.set_cell(last.cell, scale_atoms=False)
        atoms.positions = last.positions
        resumed_from = _resumed(task, "relax", steps_before)
    if relax:
        target: Any = atoms
        if settings.get("cell_relax"):
            from ase.filters import FrechetCellFilter

            target = FrechetCellFilter(atoms)
        opt = optimizer(optimizer_name, target, folder, "relax")
        converged = bool(opt.run(fmax=settings["fmax"], steps=settings["max_steps"]))
        steps = int(opt.nsteps)
    energy = float(atoms.get_potential_energy())
    forces = atoms.get_forces()
    issues = (
        []
        if converged
        else [
            f"relaxation stopped after {steps} of {settings['max_steps']} steps "
            f"above fmax = {settings['fmax']} eV/Å"
        ]
    )
    record = run_record(task, settings, energy, forces, steps, converged, issues, start)
    summary: dict[str, Any] = {
        "energy": energy,
        "ionic_steps": steps,
        "force_calls": steps + 1,
        "converged": converged,
    }
    if resumed is not None:
        record["resumed"] = summary["resumed"] = resumed_from
    if extras is not None:
        record.update(extras(atoms))
    write_contcar(folder, atoms, template)
    write_result(folder, atoms, record)
    return atoms, summary


def run_neb(
    task: NodeTask,
    make_calc: Callable[[], Any],
    settings: dict[str, Any],
    optimizer_name: str,
    *,
    pbc: tuple[bool, bool, bool] = (True, True, True),
) -> dict[str, Any]:
    """CI-NEB over the image folders 00…N with one calculator per image; write each image's result.

    End points whose folder already holds a result (their relaxation's, copied in by the
    seed) keep it; the others get a single point.
    """
    from ase.mep import NEB

    folder = task.folder
    dirs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    if len(dirs) < 3:
        raise EngineError(f"{folder}: a NEB folder needs image folders 00, 01, …; found {len(dirs)}")
    loaded = [atoms_from_poscar(d / "POSCAR") for d in dirs]
    images = [a for a, _ in loaded]
    resumed = last_complete_step(task, "neb", images[0].get_chemical_symbols(), per_step=len(images))
    if resumed is not None:
        for atoms, last in zip(images[1:-1], resumed[0][1:-1], strict=True):
            atoms.positions = last.positions
        resumed_from = _resumed(task, "neb", resumed[1])
    for atoms in images:
        atoms.pbc = pbc
        atoms.calc = make_calc()
    start = time.perf_counter()
    spring = abs(float(incar_values(folder).get("SPRING", -5.0)))
    neb = NEB(images, k=spring, climb=True, method="improvedtangent")
    opt = optimizer(optimizer_name, neb, folder, "neb")
    converged = bool(opt.run(fmax=settings["fmax"], steps=settings["max_steps"]))
    steps = int(opt.nsteps)
    energies = [float(a.get_potential_energy()) for a in images]
    tangents = tangent_forces(images)
    issues = [] if converged else [f"CI-NEB stopped after {steps} steps above fmax = {settings['fmax']} eV/Å"]
    for i, (atoms, template) in enumerate(loaded):
        end = i in (0, len(images) - 1)
        if end and (dirs[i] / RESULT_FILE).is_file():
            continue
        record = run_record(task, settings, energies[i], atoms.get_forces(), steps, converged, issues, start)
        record.update(tangent_force=None if end else tangents[i], image=i)
        write_contcar(dirs[i], atoms, template)
        write_result(dirs[i], atoms, record)
    summary = {
        "energies": energies,
        "barrier": max(energies) - energies[0],
        "ionic_steps": steps,
        "force_calls": steps * (len(images) - 2),
        "converged": converged,
    }
    if resumed is not None:
        summary["resumed"] = resumed_from
    return summary


def tangent_forces(images: list[Atoms]) -> list[float]:
    """True force on each inner image projected on the band tangent (central difference, eV/Å)."""
    out = [0.0]
    for i in range(1, len(images) - 1):
        tangent = images[i + 1].positions - images[i - 1].positions
        norm = np.linalg.norm(tangent)
        out.append(float(np.vdot(images[i].get_forces(), tangent) / norm) if norm > 0 else 0.0)
    return [*out, 0.0]
