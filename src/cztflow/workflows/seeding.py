"""Start a node from its parents' results, as ``campaign.json``'s ``seed`` says.

* ``{"from": parent, "how": "CONTCAR"}``: the parent's relaxed geometry replaces the POSCAR
  (species order checked; this node's own selective dynamics kept).
* ``"... block X only ..."`` (charge-difference parts): the part's atoms are found in the
  parent's starting POSCAR by species and position, and take their relaxed positions.
* ``"POSCAR and CHGCAR ..."`` (bands, DOS): the static run's geometry, and its CHGCAR for
  VASP (ICHARG = 11); open engines read the parent's saved state themselves.
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


def _block_geometry(poscar: Path, parent: Path) -> None:
    """Relaxed positions for a part whose atoms are a subset of the parent's."""
    _keep_original(poscar)
    part, template = atoms_from_poscar(poscar.with_name("POSCAR.orig"))
    start, _ = atoms_from_poscar(
        parent / "POSCAR.orig" if (parent / "POSCAR.orig").is_file() else parent / "POSCAR"
    )
    relaxed, _ = atoms_from_poscar(relaxed_geometry(parent))
    if not np.allclose(part.cell[:], start.cell[:], atol=1e-6):
        raise EngineError(f"{poscar}: its cell differs from the parent's ({parent}); not a part of it")
    index = []
    symbols = start.get_chemical_symbols()
    for atom in part:
        d = start.get_scaled_positions() - part.cell.scaled_positions(atom.position[None, :])[0]
        d -= np.round(d)
        dist = np.linalg.norm(d @ start.cell[:], axis=1)
        dist[[s != atom.symbol for s in symbols]] = np.inf
        j = int(np.argmin(dist))
        if dist[j] > 1e-3:
            raise EngineError(
                f"{poscar}: atom {atom.symbol}{atom.index} is not among the parent's atoms ({parent})"
            )
        index.append(j)
    part.set_cell(relaxed.cell)
    part.set_scaled_positions(relaxed.get_scaled_positions(wrap=False)[index])
    write_contcar(poscar.parent, part, template, name="POSCAR")


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
        _block_geometry(folder / "POSCAR", parent)
    else:
        replace_geometry(folder / "POSCAR", relaxed_geometry(parent))
    if "CHGCAR" in how and copy_charge:
        if not (parent / "CHGCAR").is_file():
            raise EngineError(f"{parent / 'CHGCAR'}: missing; the static run must write it (LCHARG)")
        shutil.copy2(parent / "CHGCAR", folder / "CHGCAR")
    return f"{how} of {seed['from']}"
