"""Parsing finished VASP runs and computing the Fig. 1 quantities.

Readers (:mod:`.outcar`, :mod:`.vasprun`, :mod:`.oszicar`, :mod:`.volumetric`,
:mod:`.neb`) turn files into numbers or raise a :class:`~.errors.VaspOutputError` that
names the file and the cause. Analyses (:mod:`.adsorption`, :mod:`.neb`,
:mod:`.workfunction`, :mod:`.electronic`, :mod:`.chgdiff`) are pure functions over parsed
data. Nothing here imports the input-writing side of cztflow.
"""

from __future__ import annotations

from pathlib import Path

from cztflow.analysis.errors import MissingOutputError, VaspOutputError
from cztflow.analysis.run import RunSummary
from cztflow.analysis.vasprun import Vasprun

__all__ = ["RunSummary", "VaspOutputError", "read_electronic", "read_run"]


def read_run(path: str | Path) -> RunSummary:
    """Summary of a run from a file (OUTCAR or vasprun.xml, any compression) or a folder.

    A folder is read through its vasprun.xml when it has one, else its OUTCAR, else the
    ``cztflow-result.json`` of an open engine (CHGNet, SevenNet, GPAW).

    Raises
    ------
    VaspOutputError
        If the file is unreadable, truncated, or not a VASP output (the message says which).
    """
    from cztflow.analysis.engine_output import RESULT_FILE, read_engine_result
    from cztflow.analysis.outcar import read_outcar
    from cztflow.analysis.textfile import find_output
    from cztflow.analysis.vasprun import read_vasprun

    path = Path(path)
    if path.is_dir():
        folder = path
        for name in ("vasprun.xml", "OUTCAR"):
            try:
                path = find_output(folder, name)
                break
            except MissingOutputError:
                continue
        else:
            if not (folder / RESULT_FILE).is_file():
                raise MissingOutputError(folder, f"no vasprun.xml, OUTCAR or {RESULT_FILE} in this folder")
            path = folder / RESULT_FILE
    if not path.exists():
        raise MissingOutputError(path, "no such file or folder")
    if "vasprun" in path.name or path.name.endswith((".xml", ".xml.gz", ".xml.bz2", ".xml.xz")):
        return read_vasprun(path, electronic=False)
    if "OUTCAR" in path.name:
        return read_outcar(path)
    if path.name == RESULT_FILE:
        return read_engine_result(path)
    raise VaspOutputError(path, f"not an OUTCAR, vasprun.xml or {RESULT_FILE} (or give its folder)")


def read_electronic(path: str | Path) -> Vasprun:
    """Eigenvalues, occupations and DOS of a run: vasprun.xml, or an open engine's result file.

    ``path`` is a file or a folder holding either.

    Raises
    ------
    VaspOutputError
        If neither file is there or the one found is unreadable (the message names it).
    """
    from cztflow.analysis.engine_output import RESULT_FILE, read_engine_result
    from cztflow.analysis.textfile import find_output
    from cztflow.analysis.vasprun import read_vasprun

    path = Path(path)
    if path.is_dir():
        try:
            path = find_output(path, "vasprun.xml")
        except MissingOutputError:
            if not (path / RESULT_FILE).is_file():
                raise MissingOutputError(path, f"no vasprun.xml or {RESULT_FILE} in this folder") from None
            path = path / RESULT_FILE
    if path.name == RESULT_FILE:
        return read_engine_result(path)
    return read_vasprun(path)
