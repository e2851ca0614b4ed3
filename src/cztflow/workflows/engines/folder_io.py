"""Reading a node folder into ASE atoms and writing an open engine's outputs back.

Outputs follow what :mod:`cztflow.analysis` reads: ``cztflow-result.json`` (the run's
numbers, schema ``cztflow-result/1``), a CONTCAR in the input POSCAR's species order with
its selective dynamics, and volumetric data (LOCPOT, CHGCAR) in VASP's layout.  Every
file is written to a temporary name unique to the process and renamed, so an interrupted run
never leaves a half-written result that looks finished.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.constraints import FixAtoms, FixScaled

from cztflow.atomic_files import write_text_atomic
from cztflow.result_format import RESULT_FILE, RESULT_FORMAT
from cztflow.workflows.engines.base import EngineError
from cztflow.workflows.vaspfiles import PoscarFile, read_incar, read_kpoints, read_poscar

__all__ = [
    "RESULT_FILE",
    "RESULT_FORMAT",
    "atoms_from_poscar",
    "incar_values",
    "kpoint_mesh",
    "write_atomic",
    "write_contcar",
    "write_result",
    "write_volumetric",
]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    The temporary name is unique to the process (:func:`cztflow.atomic_files.temp_path`), so
    two processes writing one file never write into each other's temporary.
    """
    write_text_atomic(path, text)


def incar_values(folder: Path) -> dict[str, Any]:
    """INCAR tags of ``folder`` with their types.

    Raises
    ------
    EngineError
        If the INCAR is missing or has a problem (the message names the line).
    """
    path = folder / "INCAR"
    if not path.is_file():
        raise EngineError(f"{path}: missing; write the campaign first (cztflow campaign write)")
    incar = read_incar(path)
    if incar.problems:
        line, _check, what, *_ = incar.problems[0]
        raise EngineError(f"{path}: {line}: {what}")
    return dict(incar.values)


def kpoint_mesh(folder: Path) -> tuple[tuple[int, int, int], bool]:
    """Mesh and whether it is Γ-centred, from ``folder/KPOINTS`` (automatic meshes only)."""
    path = folder / "KPOINTS"
    try:
        kpts = read_kpoints(path)
    except (OSError, ValueError) as exc:
        raise EngineError(f"{path}: {exc}") from None
    if kpts.mode not in ("gamma", "monkhorst"):
        raise EngineError(f"{path}: a {kpts.mode} KPOINTS file where an automatic mesh was expected")
    return tuple(int(n) for n in kpts.mesh), kpts.mode == "gamma"  # type: ignore[return-value]


def atoms_from_poscar(path: Path, magmoms: list[float] | None = None) -> tuple[Atoms, PoscarFile]:
    """ASE atoms from a POSCAR, selective dynamics as FixAtoms/FixScaled constraints.

    Raises
    ------
    EngineError
        If the POSCAR is unreadable (the message names the file and line).
    """
    try:
        pos = read_poscar(path)
    except (OSError, ValueError) as exc:
        raise EngineError(str(exc)) from None
    atoms = Atoms(pos.symbols, cell=pos.matrix, scaled_positions=pos.frac, pbc=True)
    if pos.selective:
        full = np.where(pos.fixed.all(axis=1))[0]
        partial = np.where(pos.fixed.any(axis=1) & ~pos.fixed.all(axis=1))[0]
        constraints: list[Any] = [FixAtoms(indices=full)] if len(full) else []
        constraints += [FixScaled(int(i), pos.fixed[i], atoms.cell) for i in partial]
        atoms.set_constraint(constraints)
    if magmoms is not None:
        if len(magmoms) != len(atoms):
            raise EngineError(f"{path}: MAGMOM has {len(magmoms)} values for {len(atoms)} atoms")
        atoms.set_initial_magnetic_moments(magmoms)
    return atoms, pos


def _poscar_text(atoms: Atoms, template: PoscarFile, comment: str, *, flags: bool = True) -> str:
    if atoms.get_chemical_symbols() != template.symbols:
        raise EngineError(f"{template.path}: the atoms no longer match the POSCAR's species order")
    lines = [comment, "1.0"]
    lines += ["  " + " ".join(f"{x:20.12f}" for x in row) for row in atoms.cell[:]]
    lines += [" ".join(template.species), " ".join(str(n) for n in template.counts)]
    flags = flags and template.selective
    if flags:
        lines.append("Selective dynamics")
    lines.append("Direct")
    frac = atoms.get_scaled_positions(wrap=False)
    for i, row in enumerate(frac):
        line = " ".join(f"{x:18.12f}" for x in row)
        if flags:
            line += " " + " ".join("F" if f else "T" for f in template.fixed[i])
        lines.append(line)
    return "\n".join(lines) + "\n"


def write_contcar(folder: Path, atoms: Atoms, template: PoscarFile, name: str = "CONTCAR") -> None:
    """Write ``atoms`` as ``folder/name`` in the template POSCAR's layout (blocks, flags)."""
    write_atomic(folder / name, _poscar_text(atoms, template, f"{template.comment} | relaxed by cztflow"))


def write_volumetric(path: Path, atoms: Atoms, template: PoscarFile, grid: np.ndarray) -> None:
    """Write a LOCPOT/CHGCAR-style file: the structure, the grid shape, values x-fastest, 5 a line."""
    if grid.ndim != 3:
        raise ValueError(f"{path}: a volumetric grid needs three axes, got shape {grid.shape}")
    head = _poscar_text(atoms, template, template.comment, flags=False)
    flat = np.asarray(grid, dtype=float).ravel(order="F")
    body = []
    for start in range(0, flat.size, 5):
        body.append("".join(f" {v:17.11E}" for v in flat[start : start + 5]))
    shape = " ".join(f"{n:5d}" for n in grid.shape)
    write_atomic(path, head + "\n" + shape + "\n" + "\n".join(body) + "\n")


def _clean(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_result(folder: Path, atoms: Atoms, record: dict[str, Any]) -> Path:
    """Write ``cztflow-result.json``: the record plus the final structure of ``atoms``.

    ``record`` holds engine, kind, energy, free_energy, forces, efermi, ionic_steps,
    force_calls, converged flags, issues and kind-specific arrays (eigenvalues, DOS).
    """
    doc = {
        "format": RESULT_FORMAT,
        "species": atoms.get_chemical_symbols(),
        "lattice": atoms.cell[:],
        "positions": atoms.positions,
        **record,
    }
    path = folder / RESULT_FILE
    write_atomic(path, json.dumps(_clean(doc), indent=1) + "\n")
    return path
