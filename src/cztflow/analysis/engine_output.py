"""Reading ``cztflow-result.json``, the output of cztflow's open engines (CHGNet, SevenNet, GPAW).

The file holds what an OUTCAR/vasprun.xml would give the analyses: energy, forces, Fermi
level, convergence, and for electronic-structure runs the eigenvalues, occupations,
k-points and DOS.  It is read into the same :class:`~.vasprun.Vasprun` (a
:class:`~.run.RunSummary`) as VASP's files, with ``engine`` saying who produced it, so
every analysis works on either.  The reader is as strict as the VASP ones: a file of
another schema, a run that did not finish, or a field of the wrong shape is an error that
names the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from cztflow.analysis.errors import MalformedFileError, TruncatedFileError, UnfinishedRunError
from cztflow.analysis.vasprun import Vasprun
from cztflow.result_format import RESULT_FILE, RESULT_FORMAT

__all__ = ["RESULT_FILE", "read_engine_result"]

_REQUIRED = ("engine", "status", "energy", "species", "lattice", "positions", "ionic_steps")


def _array(doc: dict[str, Any], key: str, path: Path, ndim: int) -> np.ndarray | None:
    value = doc.get(key)
    if value is None:
        return None
    arr = np.asarray(value, dtype=float)
    if arr.ndim != ndim:
        raise MalformedFileError(path, f"'{key}' should have {ndim} axes, found shape {arr.shape}")
    return arr


def read_engine_result(path: str | Path) -> Vasprun:
    """Read one open-engine result file.

    Raises
    ------
    TruncatedFileError
        If the JSON is cut or unreadable.
    MalformedFileError
        If it is not a ``cztflow-result/1`` file or a field has the wrong shape.
    UnfinishedRunError
        If the engine recorded that the run did not finish.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TruncatedFileError(path, f"not complete JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict) or doc.get("format") != RESULT_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise MalformedFileError(path, f"not a {RESULT_FORMAT} file (format: {found!r})")
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        raise MalformedFileError(path, f"missing field(s) {', '.join(missing)}")
    if doc["status"] != "finished":
        raise UnfinishedRunError(path, f"the engine recorded status {doc['status']!r}")
    species = list(doc["species"])
    positions = _array(doc, "positions", path, 2)
    forces = _array(doc, "forces", path, 2)
    if positions is None or positions.shape != (len(species), 3):
        raise MalformedFileError(path, f"'positions' should be {len(species)} × 3")
    if forces is not None and forces.shape != positions.shape:
        raise MalformedFileError(path, f"'forces' has shape {forces.shape}, positions {positions.shape}")
    engine = doc["engine"] if isinstance(doc["engine"], dict) else {"engine": str(doc["engine"])}
    label = f"{engine.get('engine', '?')} {engine.get('version', '')}".strip()
    energy = float(doc["energy"])
    eig = _array(doc, "eigenvalues", path, 3)
    occ = _array(doc, "occupations", path, 3)
    if eig is not None and occ is not None and eig.shape != occ.shape:
        raise MalformedFileError(path, f"eigenvalues {eig.shape} and occupations {occ.shape} differ in shape")
    parameters = dict(doc.get("parameters") or {})
    parameters["engine"] = engine
    return Vasprun(
        path=path,
        vasp_version=label,
        final_energy=energy,
        free_energy=float(doc.get("free_energy", energy)),
        energy_without_entropy=float(doc.get("energy_without_entropy", energy)),
        efermi=None if doc.get("efermi") is None else float(doc["efermi"]),
        ionic_steps=int(doc["ionic_steps"]),
        electronic_steps=int(doc.get("electronic_steps", 0)),
        electronic_converged=bool(doc.get("electronic_converged", True)),
        ionic_converged=bool(doc.get("ionic_converged", True)),
        finished=True,
        species=species,
        lattice=np.asarray(doc["lattice"], dtype=float),
        positions=positions,
        forces=forces,
        parameters=parameters,
        magnetization=None if doc.get("magnetization") is None else float(doc["magnetization"]),
        tangent_force=None if doc.get("tangent_force") is None else float(doc["tangent_force"]),
        issues=list(doc.get("issues") or []),
        kpoints=_array(doc, "kpoints", path, 2),
        kpoint_weights=_array(doc, "kpoint_weights", path, 1),
        eigenvalues=eig,
        occupations=occ,
        dos_energies=_array(doc, "dos_energies", path, 1),
        dos_total=_array(doc, "dos_total", path, 2),
    )
