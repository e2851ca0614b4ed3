"""LOCPOT, CHGCAR and friends: the structure header and the grid blocks.

A plain file is memory-mapped (a compressed one decompressed into memory) and each grid
block is converted straight into a preallocated array: when the block has VASP's E18.11
layout, by NumPy from fixed-offset views of its bytes (:mod:`.e18`), or on grids of
:data:`_FAST_MIN` values and more by numba-compiled code (:mod:`.fastgrid`, the optional
``cztflow[fast]`` extra); any other layout by NumPy's C parser in slices of 16 MB. Both fast
paths give bit-identical numbers. numba is used only when asked for (``CZTFLOW_NUMBA=1`` or
:data:`USE_NUMBA`): on the 2-core development machine it was slower than the NumPy path
(27 against 20 ns a value on a 2 M-value LOCPOT, and 0.5 s to load its cached code).
Peak memory is the grid plus the mapped file pages. Augmentation
occupancies (CHGCAR) are skipped. A spin-polarised file has a second block (the
magnetisation density for CHGCAR); a non-collinear one has four.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cztflow.analysis.e18 import parse_e18
from cztflow.analysis.errors import (
    MalformedFileError,
    OverflowFieldError,
    TruncatedFileError,
)
from cztflow.analysis.poscar import read_poscar_header
from cztflow.analysis.textfile import fix_bare_exponents, load, parse_floats

#: Whether grids of :data:`_FAST_MIN` values and more take numba's compiled path (when numba
#: is installed): off unless the environment sets ``CZTFLOW_NUMBA=1``, because the NumPy path
#: measured faster here; it may pay on machines with many more cores (numba uses them all,
#: :mod:`.e18` at most four threads).
USE_NUMBA = os.environ.get("CZTFLOW_NUMBA", "0") == "1"


def _compiled():
    """The compiled fast path (imported on first use: numba costs ~0.2 s to load), or None.

    None when :data:`USE_NUMBA` is False or numba is not installed (it is the optional
    ``cztflow[fast]`` extra); the NumPy path then serves every size.
    """
    if not USE_NUMBA:
        return None
    try:
        from cztflow.analysis import fastgrid
    except ImportError:  # numba absent: the NumPy path serves every size
        return None
    return fastgrid


__all__ = ["VolumetricData", "planar_average", "read_planar_average", "read_volumetric"]

_SLICE = 16 << 20
_HEAD = 4 << 20  # the structure header of even a 10 000-atom cell fits
#: Grids of at least this many values (a 360 MB file) take numba's compiled path when numba is
#: installed and :data:`USE_NUMBA` is set. Below it, importing numba and loading its cached
#: code (0.5-1.2 s on first use) costs more than it could gain.
_FAST_MIN = 20_000_000


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


def _numbers(text: bytes) -> np.ndarray:
    """NumPy's C parser; only text it refuses is searched for Fortran's bare exponents."""
    if not text.strip():
        return np.empty(0)
    try:
        return parse_floats(text)
    except ValueError:
        return parse_floats(fix_bare_exponents(text))


def _general_block(buf: np.ndarray, offset: int, size: int, path: Path, which: int) -> tuple[np.ndarray, int]:
    """Read ``size`` values of any whitespace-separated layout; return them and the end offset."""
    out = np.empty(size)
    filled, pos, per_line = 0, offset, 0
    while filled < size:
        if pos >= buf.size:
            raise TruncatedFileError(path, f"grid block {which} ends after {filled} of {size} values")
        text = bytes(buf[pos : pos + _SLICE])
        if pos + len(text) < buf.size:
            text = text[: text.rfind(b"\n") + 1] or text
        if not per_line:
            per_line = len(text.lstrip().split(b"\n", 1)[0].split()) or 1
        lines_needed = -(-(size - filled) // per_line)
        newlines = np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == 10)
        if len(newlines) >= lines_needed:
            text = text[: newlines[lines_needed - 1] + 1]
        try:
            values = _numbers(text)
        except ValueError:
            if b"*" in text:
                raise OverflowFieldError(path, f"grid block {which}: a value overflowed (*****)") from None
            raise MalformedFileError(
                path, f"grid block {which}: text that is not a number after value {filled}"
            ) from None
        if values.size > size - filled:
            raise MalformedFileError(path, f"grid block {which}: lines hold more values than the grid {size}")
        if values.size == 0 and pos + len(text) >= buf.size:
            raise TruncatedFileError(path, f"grid block {which} ends after {filled} of {size} values")
        out[filled : filled + values.size] = values
        filled += values.size
        pos += len(text)
    if pos >= buf.size and buf[-1] != 10:
        # VASP ends every line; a last value without one may have lost digits (E+03 -> E+0).
        raise TruncatedFileError(path, f"grid block {which}: the file ends inside its last value")
    return out, pos


def _block(buf: np.ndarray, offset: int, size: int, path: Path, which: int) -> tuple[np.ndarray, int]:
    """One grid block: VASP's E18.11 layout converted by NumPy (:mod:`.e18`; or, on grids of
    :data:`_FAST_MIN` values and more when numba is installed and allowed, by compiled code
    with the same result), any other layout or a damaged block by the general parser."""
    out = np.empty(size)
    fast = _compiled() if size >= _FAST_MIN else None
    end = fast.parse_fixed(buf, offset, size, out) if fast is not None else None
    if end is None:
        end = parse_e18(buf, offset, size, out)
    if end is not None:
        return out, end
    return _general_block(buf, offset, size, path, which)


def _check_finite(values: np.ndarray, path: Path, which: int) -> None:
    """Refuse a block holding NaN or infinity: VASP never writes one into a valid grid."""
    if not np.isfinite(values.sum()):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise MalformedFileError(
            path, f"grid block {which}: value {bad + 1} is {float(values.flat[bad])}, not a finite number"
        )


_AUGMENTATION = re.compile(rb"augmentation occupanc\w*[ \t]*(\d*)[ \t]*(\d*)[^\n]*\n")


def _check_tail(buf: np.ndarray, offset: int, path: Path, nblocks: int, natoms: int) -> None:
    """After the last grid block found, allow only whole augmentation-occupancy tables.

    A spin-polarised CHGCAR cut after its first block would otherwise read as a complete
    unpolarised one. Whatever follows the occupancies (a cut magnetisation header or grid)
    means the file was cut.
    """
    tail = bytes(buf[offset:])
    if not tail.strip():
        return
    where = f"after grid block {nblocks}: the file is cut before grid block {nblocks + 1}"
    if not tail.endswith(b"\n"):
        raise TruncatedFileError(path, f"the last line has no end of line {where}")
    headers = list(_AUGMENTATION.finditer(tail))
    if not headers:
        raise TruncatedFileError(path, f"{len(tail.split())} unexpected values {where}")
    if tail[: headers[0].start()].strip():
        raise TruncatedFileError(path, f"text before the augmentation occupancies {where}")
    numbered = all(h.group(2) for h in headers)
    for index, header in enumerate(headers):
        stop = headers[index + 1].start() if index + 1 < len(headers) else len(tail)
        count = len(tail[header.end() : stop].split())
        if not numbered:
            continue
        expected = int(header.group(2))
        last = index + 1 == len(headers)
        if count < expected or (last and count > expected):
            raise TruncatedFileError(
                path,
                f"augmentation occupancies of atom {header.group(1).decode()} hold {count} of "
                f"{expected} values {where}",
            )
    atoms = {h.group(1) for h in headers if h.group(1)}
    if numbered and natoms and len(atoms) % natoms:
        raise TruncatedFileError(path, f"augmentation occupancies for {len(atoms)} of {natoms} atoms {where}")


def _next_grid(buf: np.ndarray, offset: int, pattern: re.Pattern) -> int | None:
    """Offset after the next grid line (skipping augmentation occupancies and moments), or None."""
    for pos in range(offset, buf.size, _SLICE):
        match = pattern.search(bytes(buf[pos : pos + _SLICE + 200]))
        if match:
            return pos + match.end()
    return None


def _open_buffer(path: Path) -> tuple[np.ndarray, list]:
    """The file's bytes as a uint8 array, and what to close once the array is dropped."""
    content = load(path)
    return np.frombuffer(content, dtype=np.uint8), [content] if isinstance(content, mmap.mmap) else []


def _header(buf: np.ndarray, path: Path) -> tuple[np.ndarray, list, np.ndarray, tuple[int, int, int], int]:
    """Structure, grid and the offset of the first grid value."""
    head = io.BytesIO(bytes(buf[:_HEAD]))
    lattice, species, frac = read_poscar_header(head, path)
    grid_line = head.readline()
    while grid_line and not grid_line.strip():
        grid_line = head.readline()
    return lattice, species, frac, _parse_grid(grid_line, path), head.tell()


def _release(buf: np.ndarray, resources: list) -> None:
    """Unmap and close; a traceback may still hold a view, then garbage collection unmaps."""
    del buf
    for resource in resources:
        with contextlib.suppress(BufferError):
            resource.close()


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
    buf, resources = _open_buffer(path)
    try:
        lattice, species, frac, grid, offset = _header(buf, path)
        size = grid[0] * grid[1] * grid[2]
        pattern = re.compile(rb"(?m)^\s*" + rb"\s+".join(str(n).encode() for n in grid) + rb"[ \t]*\r?\n")
        blocks = []
        while len(blocks) < max_blocks:
            values, offset = _block(buf, offset, size, path, len(blocks) + 1)
            _check_finite(values, path, len(blocks) + 1)
            blocks.append(values.reshape(grid[::-1]).transpose())
            if len(blocks) == max_blocks:
                break
            found = _next_grid(buf, offset, pattern)
            if found is None:
                _check_tail(buf, offset, path, len(blocks), len(species))
                break
            offset = found
    finally:
        _release(buf, resources)
        del buf
    return VolumetricData(path=path, lattice=lattice, species=species, frac=frac, grid=grid, blocks=blocks)


def read_planar_average(path: str | Path) -> tuple[VolumetricData, np.ndarray]:
    """The structure of a volumetric file and the planar average of its first block along c.

    The first block is converted once from the file's bytes, as by :func:`read_volumetric`
    (so the numba and NumPy paths give the same bits), and averaged plane by plane;
    ``blocks`` of the returned data is empty.

    Raises
    ------
    VaspOutputError
        As :func:`read_volumetric`.
    """
    path = Path(path)
    buf, resources = _open_buffer(path)
    try:
        lattice, species, frac, grid, offset = _header(buf, path)
        per_plane = grid[0] * grid[1]
        values, _ = _block(buf, offset, per_plane * grid[2], path, 1)
        _check_finite(values, path, 1)
        means = values.reshape(grid[2], per_plane).mean(axis=1)
    finally:
        _release(buf, resources)
        del buf
    _check_finite(means, path, 1)
    return VolumetricData(path, lattice, species, frac, grid, []), means


def planar_average(data: np.ndarray, axis: int = 2) -> np.ndarray:
    """Average of a grid over the planes normal to lattice vector ``axis``."""
    others = tuple(i for i in range(3) if i != axis)
    return np.asarray(data).mean(axis=others)
