"""Engines that run one campaign node in its folder: open ones (CHGNet, SevenNet, GPAW) and VASP.

Every engine reads the node's VASP input folder (INCAR, KPOINTS, POSCAR or NEB images),
runs it, and leaves outputs that :mod:`cztflow.analysis` reads the way it reads VASP's:
VASP writes OUTCAR/vasprun.xml; the open engines write ``cztflow-result.json`` (energies,
forces, Fermi level, eigenvalues), a CONTCAR, an ASE trajectory and, where the kind needs
them, LOCPOT/CHGCAR in VASP's volumetric format.
"""

from __future__ import annotations

from cztflow.workflows.engines.base import (
    ENGINE_EXTRAS,
    ENGINE_NAMES,
    Engine,
    EngineError,
    NodeTask,
    make_engine,
    missing_extra,
    require_engine,
)

__all__ = [
    "ENGINE_EXTRAS",
    "ENGINE_NAMES",
    "Engine",
    "EngineError",
    "NodeTask",
    "make_engine",
    "missing_extra",
    "require_engine",
]
