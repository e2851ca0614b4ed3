"""The record of a finished VASP node, read from its outputs by cztflow's strict readers.

custodian ending without an error says only that no handler gave up; whether the run
converged, and to what energy, is in its files.  This module reads them (vasprun.xml, else
OUTCAR; each image's OUTCAR for a NEB) so the node's record says what VASP did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cztflow.analysis import read_run
from cztflow.analysis.errors import VaspOutputError

__all__ = ["vasp_summary"]


def _one(folder: Path) -> dict[str, Any]:
    try:
        run = read_run(folder)
    except VaspOutputError as exc:
        return {"energy": None, "converged": False, "issues": [str(exc)]}
    return {
        "energy": run.final_energy,
        "converged": run.converged,
        "electronic_converged": run.electronic_converged,
        "ionic_converged": run.ionic_converged,
        "finished": run.finished,
        "ionic_steps": run.ionic_steps,
        "max_force": run.max_force,
        "file": run.path.name,
        "issues": list(run.issues),
    }


def vasp_summary(folder: Path, neb: bool = False) -> dict[str, Any]:
    """Energy, convergence, forces and issues of a finished VASP run in ``folder``.

    For a NEB every image folder (``00`` … ``0N``) is read: ``energies`` lists the band
    (None where an image cannot be read), ``barrier`` is its highest energy minus the first
    (as the open engines record it; only when every image was read: the end points hold the
    OUTCARs of their relaxations), ``converged`` needs every intermediate image, and
    ``issues`` names the image.  A run whose files cannot be read is recorded as not
    converged with the reader's message, never as a number.
    """
    if not neb:
        return _one(folder)
    images = sorted(p for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    band = [_one(p) for p in images]
    inner = band[1:-1]
    issues = [
        f"image {p.name}: {issue}"
        for p, one in zip(images[1:-1], inner, strict=True)
        for issue in one["issues"]
    ]
    energies = [one["energy"] for one in band]
    forces = [one.get("max_force") for one in inner if one.get("max_force") is not None]
    complete = len(energies) > 2 and None not in energies
    return {
        "energies": energies,
        "barrier": max(energies) - energies[0] if complete else None,
        "converged": bool(inner) and all(one["converged"] for one in inner),
        "ionic_steps": max((one.get("ionic_steps") or 0 for one in inner), default=0),
        "max_force": max(forces) if forces else None,
        "issues": issues or ([] if inner else ["no intermediate image folders"]),
    }
