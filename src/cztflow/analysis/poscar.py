"""POSCAR/CONTCAR structures, and the POSCAR header of volumetric files."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np

from cztflow.analysis.errors import MalformedFileError, TruncatedFileError
from cztflow.analysis.textfile import open_binary

__all__ = ["read_poscar", "read_poscar_header"]


def read_poscar_header(stream: IO[bytes], path: Path) -> tuple[np.ndarray, list[str | None], np.ndarray]:
    """Read a POSCAR-format structure from ``stream``: lattice (Å), species, fractional coordinates.

    The stream is left just after the last coordinate line, where a volumetric file's grid
    starts. Species are None for a VASP 4 file without an element line.
    """

    def line() -> bytes:
        text = stream.readline()
        if not text:
            raise TruncatedFileError(path, "file ends inside the structure header")
        return text

    try:
        line()  # comment
        scale = float(line().split()[0])
        lattice = np.array([[float(x) for x in line().split()[:3]] for _ in range(3)])
        tokens = line().split()
        if all(t.isdigit() for t in tokens):
            symbols, counts = [None] * len(tokens), [int(t) for t in tokens]
        else:
            symbols = [t.decode().split("_")[0].split("/")[0] for t in tokens]
            counts = [int(t) for t in line().split()]
        mode = line().strip()[:1].lower()
        if mode == b"s":
            mode = line().strip()[:1].lower()
        natoms = sum(counts)
        coords = np.array([[float(x) for x in line().split()[:3]] for _ in range(natoms)]).reshape(natoms, 3)
    except (ValueError, IndexError) as exc:
        raise MalformedFileError(path, f"structure header is not POSCAR format ({exc})") from None
    if scale < 0:
        lattice *= (-scale / abs(np.linalg.det(lattice))) ** (1 / 3)
    else:
        lattice *= scale
    if mode in (b"c", b"k"):
        coords = np.linalg.solve(lattice.T, (coords * (scale if scale > 0 else 1)).T).T
    species = [s for s, n in zip(symbols, counts, strict=True) for _ in range(n)]
    return lattice, species, coords


def read_poscar(path: str | Path) -> tuple[np.ndarray, list[str | None], np.ndarray]:
    """Lattice (rows, Å), species and fractional coordinates of a POSCAR or CONTCAR.

    Raises
    ------
    MalformedFileError, TruncatedFileError
        If the file is not POSCAR format or ends inside it.
    """
    path = Path(path)
    with open_binary(path) as stream:
        return read_poscar_header(stream, path)
