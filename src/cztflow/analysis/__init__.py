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

__all__ = ["RunSummary", "VaspOutputError", "read_run"]


def read_run(path: str | Path) -> RunSummary:
    """Summary of a run from a file (OUTCAR or vasprun.xml, any compression) or a folder.

    A folder is read through its vasprun.xml when it has one, else its OUTCAR.

    Raises
    ------
    VaspOutputError
        If the file is unreadable, truncated, or not a VASP output (the message says which).
    """
    from cztflow.analysis.outcar import read_outcar
    from cztflow.analysis.textfile import find_output
    from cztflow.analysis.vasprun import read_vasprun

    path = Path(path)
    if path.is_dir():
        try:
            path = find_output(path, "vasprun.xml")
        except MissingOutputError:
            path = find_output(path, "OUTCAR")
    if not path.exists():
        raise MissingOutputError(path, "no such file or folder")
    if "vasprun" in path.name or path.name.endswith((".xml", ".xml.gz", ".xml.bz2", ".xml.xz")):
        return read_vasprun(path, electronic=False)
    if "OUTCAR" in path.name:
        return read_outcar(path)
    raise VaspOutputError(path, "not an OUTCAR or vasprun.xml (name it so, or give its folder)")
