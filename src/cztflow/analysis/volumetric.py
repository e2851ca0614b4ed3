"""LOCPOT, CHGCAR and friends: the structure header and the grid blocks.

The file is streamed in slices of a few MB, each converted by NumPy's C parser straight
into a preallocated array, so the peak memory is the grid itself plus one slice, whatever
the file size. Augmentation occupancies (CHGCAR) are skipped. A spin-polarised file has a
second block (the magnetisation density for CHGCAR); a non-collinear one has four.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from cztflow.analysis.errors import MalformedFileError, OverflowFieldError, TruncatedFileError
from cztflow.analysis.poscar import read_poscar_header
from cztflow.analysis.textfile import open_binary

__all__ = ["VolumetricData", "planar_average", "read_volumetric"]

_SLICE = 16 << 20


@dataclass
class VolumetricData:
    """A volumetric file: its structure and its grid blocks.

    Attributes
    ----------
    path
        The file read.
    lattice
        Cell (rows, Å), with the scale factor applied.
    species, frac
        Element of each atom (None entries if the file is VASP 4 format without symbols)
        and fractional coordinates.
    grid
        (NGX, NGY, NGZ).
    blocks
        The grids, each of shape (NGX, NGY, NGZ) (views of x-fastest Fortran order).
        ``blocks[0]`` is the total (charge × volume for CHGCAR, potential in eV for
        LOCPOT), ``blocks[1]`` the magnetisation for a spin-polarised CHGCAR.
    """

    path: Path
    lattice: np.ndarray
    species: list[str | None]
    frac: np.ndarray
    grid: tuple[int, int, int]
    blocks: list[np.ndarray]

    @property
    def data(self) -> np.ndarray:
        """The first (total) block."""
        return self.blocks[0]

    @property
    def volume(self) -> float:
        """Cell volume (Å³)."""
        return float(abs(np.linalg.det(self.lattice)))


def _parse_grid(grid_line: bytes, path: Path) -> tuple[int, int, int]:
    try:
        nx, ny, nz = (int(t) for t in grid_line.split())
    except ValueError:
        raise MalformedFileError(
            path, f"expected the grid line 'NGX NGY NGZ', found {grid_line.strip()!r}"
        ) from None
    return nx, ny, nz


def _read_block(
    stream: IO[bytes], carry: bytes, size: int, path: Path, which: int
) -> tuple[np.ndarray, bytes]:
    """Read ``size`` values; return them and the bytes after the block's last line."""
    out = np.empty(size)
    filled = 0
    buffer = carry
    per_line = 0
    while filled < size:
        more = stream.read(_SLICE)
        buffer += more
        if not buffer.strip() and not more:
            raise TruncatedFileError(path, f"grid block {which} ends after {filled} of {size} values")
        cut = buffer.rfind(b"\n") + 1 if more else len(buffer)
        if cut == 0:
            continue
        text, buffer = buffer[:cut], buffer[cut:]
        if not per_line:
            first = text.lstrip().split(b"\n", 1)[0]
            per_line = len(first.split())
        remaining = size - filled
        lines_needed = -(-remaining // per_line)
        newlines = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == 10)
        if len(newlines) >= lines_needed and lines_needed:
            end = newlines[lines_needed - 1] + 1
            text, buffer = text[:end], text[end:] + buffer
        try:
            values = np.fromstring(text, sep=" ")
        except ValueError:
            if b"*" in text:
                raise OverflowFieldError(path, f"grid block {which}: a value overflowed (*****)") from None
            raise MalformedFileError(
                path, f"grid block {which}: text that is not a number after value {filled}"
            ) from None
        if values.size > remaining:
            raise MalformedFileError(path, f"grid block {which}: lines hold more values than the grid {size}")
        out[filled : filled + values.size] = values
        filled += values.size
        if not more and filled < size:
            raise TruncatedFileError(path, f"grid block {which} ends after {filled} of {size} values")
    return out, buffer


def _next_grid(stream: IO[bytes], buffer: bytes, pattern: re.Pattern) -> bytes | None:
    """Skip augmentation occupancies and moments up to the next grid line; None at the end."""
    while True:
        match = pattern.search(buffer)
        if match:
            return buffer[match.end() :]
        more = stream.read(_SLICE)
        if not more:
            return None
        buffer = buffer[-200:] + more


def read_volumetric(path: str | Path, *, max_blocks: int = 4) -> VolumetricData:
    """Read a LOCPOT, CHGCAR, CHG, PARCHG or ELFCAR (plain, .gz, .bz2 or .xz).

    Parameters
    ----------
    path
        The file.
    max_blocks
        Read at most this many grid blocks (1 reads only the total).

    Raises
    ------
    TruncatedFileError
        If the file ends inside the header or a grid block.
    MalformedFileError, OverflowFieldError
        If the header is not POSCAR format or a value is not a number.
    """
    path = Path(path)
    with open_binary(path) as stream:
        lattice, species, frac = read_poscar_header(stream, path)
        grid_line = stream.readline()
        while grid_line and not grid_line.strip():
            grid_line = stream.readline()
        grid = _parse_grid(grid_line, path)
        size = grid[0] * grid[1] * grid[2]
        pattern = re.compile(rb"(?m)^\s*" + rb"\s+".join(str(n).encode() for n in grid) + rb"\s*\n")
        blocks = []
        buffer = b""
        while len(blocks) < max_blocks:
            values, buffer = _read_block(stream, buffer, size, path, len(blocks) + 1)
            blocks.append(values.reshape(grid[::-1]).transpose())
            if len(blocks) == max_blocks:
                break
            buffer = _next_grid(stream, buffer, pattern)
            if buffer is None:
                break
    return VolumetricData(path=path, lattice=lattice, species=species, frac=frac, grid=grid, blocks=blocks)


def planar_average(data: np.ndarray, axis: int = 2) -> np.ndarray:
    """Average of a grid over the planes normal to lattice vector ``axis``."""
    others = tuple(i for i in range(3) if i != axis)
    return np.asarray(data).mean(axis=others)
