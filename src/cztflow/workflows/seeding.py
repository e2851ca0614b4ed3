"""Start a node from its parents' results, as ``campaign.json``'s ``seed`` says.

* ``{"from": parent, "how": "CONTCAR"}``: the parent's relaxed geometry replaces the POSCAR
  (species order checked; this node's own selective dynamics kept).
* ``"... block X only ..."`` (charge-difference parts): the part's atoms are found in the
  parent's starting POSCAR by species and position, and take their relaxed positions.
* ``"POSCAR and CHGCAR ..."`` (bands, DOS): the static run's geometry, and its CHGCAR for
  VASP (ICHARG = 11); open engines read the parent's saved state themselves.
* ``"... adsorbate ..."`` (K on a substrate): the substrate's atoms take its relaxed
  positions; the K moves with its three nearest substrate atoms.
* ``{"initial": ..., "final": ...}`` (CI-NEB): both relaxed ends, images re-interpolated
  with IDPP, and the ends' results (OUTCAR or cztflow-result.json) copied into 00 and N.

The builder's POSCAR is kept once as ``POSCAR.orig``; nothing a parent produced is moved.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from cztflow.result_format import RESULT_FILE
from cztflow.workflows.engines.base import EngineError
from cztflow.workflows.engines.folder_io import atoms_from_poscar, write_contcar

__all__ = ["apply_seed", "relaxed_geometry", "replace_geometry"]


def relaxed_geometry(folder: Path) -> Path:
    """The CONTCAR of a finished parent.

    Raises
    ------
    EngineError
        If the parent left no non-empty CONTCAR.
    """
    contcar = folder / "CONTCAR"
    if not contcar.is_file() or contcar.stat().st_size == 0:
        raise EngineError(f"{contcar}: missing or empty; the parent node must finish first")
    return contcar


def _keep_original(poscar: Path) -> None:
    orig = poscar.with_name("POSCAR.orig")
    if not orig.exists():
        shutil.copy2(poscar, orig)


def replace_geometry(poscar: Path, source: Path) -> None:
    """Write ``source``'s cell and positions into ``poscar``, keeping its layout and flags."""
    _keep_original(poscar)
    atoms, template = atoms_from_poscar(poscar.with_name("POSCAR.orig"))
    relaxed, _ = atoms_from_poscar(source)
    if relaxed.get_chemical_symbols() != atoms.get_chemical_symbols():
        raise EngineError(f"{source}: its atoms differ from {poscar}'s; cannot seed from it")
    atoms.set_cell(relaxed.cell)
    atoms.set_scaled_positions(relaxed.get_scaled_positions(wrap=False))
    write_contcar(poscar.parent, atoms, template, name="POSCAR")


def _parent_start(parent: Path) -> Atoms:
    start, _ = atoms_from_poscar(
        parent / "POSCAR.orig" if (parent / "POSCAR.orig").is_file() else parent / "POSCAR"
    )
    return start


def _match(atoms: Atoms, start: Atoms) -> list[int | None]:
    """For each atom, the parent atom at the same Cartesian place and species, or None."""
    symbols = np.array(start.get_chemical_symbols())
    index: list[int | None] = []
    for atom in atoms:
        d = start.cell.scaled_positions(start.positions - atom.position)
        d -= np.round(d)
        dist = np.linalg.norm(d @ start.cell[:], axis=1)
        dist[symbols != atom.symbol] = np.inf
        j = int(np.argmin(dist))
        index.append(j if dist[j] <= 1e-3 else None)
    return index


def _match_lifted_block(
    atoms: Atoms, start: Atoms, index: list[int | None]
) -> tuple[list[int | None], np.ndarray]:
    """Match atoms that an intercalated K pushed up as a rigid block (one z offset).

    Returns the completed index and each atom's offset from its parent atom (zero where
    none); when no single offset matches every missing parent atom, the index is returned
    unchanged and the caller reports the mismatch.
    """
    taken = {j for j in index if j is not None}
    loose = [i for i, j in enumerate(index) if j is None]
    missing = [j for j in range(len(start)) if j not in taken]
    offsets = np.zeros((len(atoms), 3))
    if not loose or not missing:
        return index, offsets
    probe = next((i for i in loose if atoms[i].symbol != "K"), loose[0])
    for j in missing:
        if start[j].symbol != atoms[probe].symbol:
            continue
        dz = atoms.positions[probe, 2] - start.positions[j, 2]
        shifted = atoms.copy()
        shifted.positions[:, 2] -= dz
        trial = _match(shifted[loose], start)
        new = dict(zip(loose, trial, strict=True))
        if {m for m in new.values() if m is not None} == set(missing):
            out = [index[i] if index[i] is not None else new[i] for i in range(len(atoms))]
            for i, m in new.items():
                if m is not None:
                    offsets[i, 2] = dz
            return out, offsets
    return index, offsets


def _seed_from_parent(poscar: Path, parent: Path, *, added: bool) -> None:
    """Relaxed positions for atoms found in the parent's start; ``added`` atoms move along.

    ``added=False`` (a charge-difference part, same cell): every atom must be one of the
    parent's.  ``added=True`` (an adsorbate on a relaxed substrate; its cell may be taller
    to keep the vacuum above the K, and an intercalated K lifts the block above it): atoms
    not in the parent, the K, move by the mean displacement of their three nearest parent
    atoms; a lifted block keeps its lift on top of the relaxed positions.
    """
    _keep_original(poscar)
    atoms, template = atoms_from_poscar(poscar.with_name("POSCAR.orig"))
    start = _parent_start(parent)
    relaxed, _ = atoms_from_poscar(relaxed_geometry(parent))
    same_cell = np.allclose(atoms.cell[:], start.cell[:], atol=1e-6)
    if not (same_cell or (added and np.allclose(atoms.cell[:2], start.cell[:2], atol=1e-6))):
        raise EngineError(f"{poscar}: its cell differs from the parent's ({parent}); cannot seed from it")
    index = _match(atoms, start)
    offset = np.zeros((len(atoms), 3))
    if added and len({j for j in index if j is not None}) != len(start):
        index, offset = _match_lifted_block(atoms, start, index)
    found = [j for j in index if j is not None]
    if not added and len(found) < len(atoms):
        k = index.index(None)
        raise EngineError(f"{poscar}: atom {atoms[k].symbol}{k} is not among the parent's atoms ({parent})")
    if added and len(set(found)) != len(start):
        raise EngineError(f"{poscar}: does not hold every atom of the parent ({parent}); not its adsorbate")
    moved = relaxed.get_scaled_positions(wrap=False) @ relaxed.cell[:]
    shift = moved - start.positions
    positions = atoms.positions.copy()
    for i, j in enumerate(index):
        if j is not None:
            positions[i] = moved[j] + offset[i]
            continue
        d = start.cell.scaled_positions(start.positions - atoms.positions[i])
        d -= np.round(d)
        near = np.argsort(np.linalg.norm(d @ start.cell[:], axis=1))[:3]
        positions[i] = atoms.positions[i] + shift[near].mean(axis=0)
    cell = relaxed.cell[:].copy() if same_cell else np.vstack([relaxed.cell[:2], atoms.cell[2]])
    atoms.set_cell(cell, scale_atoms=False)
    atoms.positions = positions
    write_contcar(poscar.parent, atoms, template, name="POSCAR")


def _neb_images(folder: Path, initial: Path, final: Path) -> None:
    from ase.mep import NEB

    dirs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    if len(dirs) < 3:
        raise EngineError(f"{folder}: a NEB folder needs image folders 00, 01, …; found {len(dirs)}")
    for d in dirs:
        _keep_original(d / "POSCAR")
    loaded = [atoms_from_poscar(d / "POSCAR.orig") for d in dirs]
    first, _ = atoms_from_poscar(relaxed_geometry(initial))
    last, _ = atoms_from_poscar(relaxed_geometry(final))
    if first.get_chemical_symbols() != loaded[0][0].get_chemical_symbols():
        raise EngineError(f"{initial}: its atoms differ from {dirs[0] / 'POSCAR'}'s")
    last.set_cell(first.cell, scale_atoms=False)
    images: list[Atoms] = [first] + [first.copy() for _ in dirs[1:-1]] + [last]
    NEB(images, method="improvedtangent").interpolate(method="idpp", mic=True, apply_constraint=False)
    for d, atoms, (_, template) in zip(dirs, images, loaded, strict=True):
        write_contcar(d, atoms, template, name="POSCAR")
    for end, d in ((initial, dirs[0]), (final, dirs[-1])):
        for name in ("OUTCAR", RESULT_FILE):
            if (end / name).is_file():
                shutil.copy2(end / name, d / name)


def apply_seed(root: Path, node: dict[str, Any], *, copy_charge: bool = False) -> str | None:
    """Prepare ``node``'s folder from its parents; return what was done, or None for no seed.

    Parameters
    ----------
    root
        The campaign folder.
    node
        The node's record in ``campaign.json``.
    copy_charge
        Copy the parent's CHGCAR (VASP non-self-consistent runs).

    Raises
    ------
    EngineError
        If a parent's result is missing or does not fit (the message names the file).
    """
    seed = node.get("seed") or {}
    folder = root / node["folder"]
    if "initial" in seed and "final" in seed:
        _neb_images(folder, root / seed["initial"], root / seed["final"])
        return f"ends from {seed['initial']} and {seed['final']}, IDPP images"
    if "from" not in seed:
        return None
    parent = root / seed["from"]
    how = str(seed.get("how", ""))
    if "block" in how:
        _seed_from_parent(folder / "POSCAR", parent, added=False)
    elif "adsorbate" in how:
        _seed_from_parent(folder / "POSCAR", parent, added=True)
    else:
        replace_geometry(folder / "POSCAR", relaxed_geometry(parent))
    if "CHGCAR" in how and copy_charge:
        if not (parent / "CHGCAR").is_file():
            raise EngineError(f"{parent / 'CHGCAR'}: missing; the static run must write it (LCHARG)")
        shutil.copy2(parent / "CHGCAR", folder / "CHGCAR")
    return f"{how} of {seed['from']}"
