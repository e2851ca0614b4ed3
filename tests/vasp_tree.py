"""A finished open-engine campaign rewritten as the tree a VASP campaign leaves behind.

Each node's ``cztflow-result.json`` becomes an OUTCAR (relaxations, single points, NEB
images, with the VTST tangent line) or, where the run holds eigenvalues, a vasprun.xml with
``<eigenvalues>`` and ``<dos>``; the LOCPOT and CHGCAR files the engines write are already
in VASP's format and stay.  Markers, trajectories and engine logs go, so that nothing but
VASP-format files is left for ``cztflow fig1 --from`` to read.  The numbers are the engine's,
so the report on this tree must repeat the open-engine report row for row.
"""

from __future__ import annotations

import shutil
from itertools import groupby
from pathlib import Path

import numpy as np
from fakes import outcar_text, vasprun_text

from cztflow.analysis.engine_output import RESULT_FILE, read_engine_result

#: Files of an open-engine run that a VASP run does not leave.
ENGINE_ONLY = (
    "cztflow-result.json",
    "cztflow-run.json",
    "*.traj",
    "*.log",
    "gpaw.txt",
    "*.gpw",
    "results.db",
)


def _grouped(species: list[str], where: Path) -> dict[str, int]:
    runs = [(el, len(list(group))) for el, group in groupby(species)]
    if len({el for el, _ in runs}) != len(runs):
        raise ValueError(f"{where}: species are not in contiguous blocks: {runs}")
    return dict(runs)


def as_vasp_tree(source: Path, target: Path) -> Path:
    """Copy the campaign ``source`` to ``target`` with VASP output files in place of the engine's."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(*ENGINE_ONLY))
    for result in sorted(source.rglob(RESULT_FILE)):
        run = read_engine_result(result)
        folder = target / result.parent.relative_to(source)
        frac = run.positions @ np.linalg.inv(run.lattice)
        if run.eigenvalues is not None:
            (folder / "vasprun.xml").write_text(
                vasprun_text(
                    species=list(run.species),
                    lattice=run.lattice,
                    frac=frac,
                    energy=run.final_energy,
                    forces=run.forces,
                    efermi=run.efermi,
                    kpoints=run.kpoints,
                    weights=run.kpoint_weights,
                    eigenvalues=run.eigenvalues,
                    occupations=run.occupations,
                    dos_energies=run.dos_energies,
                    dos_total=run.dos_total,
                )
            )
            continue
        kind = result.relative_to(source).parts[0]
        moves = kind in ("relax", "neb")
        (folder / "OUTCAR").write_text(
            outcar_text(
                species=_grouped(list(run.species), result),
                lattice=run.lattice,
                frac=frac,
                energies=[run.final_energy],
                forces=run.forces,
                efermi=run.efermi,
                nsw=100 if moves else 0,
                ibrion={"relax": 2, "neb": 3}.get(kind, -1),
                tangent=run.tangent_force,
                reached=moves and run.ionic_converged,
            )
        )
    return target
