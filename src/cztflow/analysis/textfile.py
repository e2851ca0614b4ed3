"""Reading VASP text outputs, plain or compressed, and turning Fortran text into numbers.

VASP prints numbers with fixed-width Fortran formats. Two things go wrong with them: a
value too wide for its field is printed as ``*****`` (an *overflow*), and two negative
numbers can touch (``-1.234-5.678``, a *fused* pair); and a three-digit exponent loses its E
(``0.12345678901-100``). :func:`floats` reads all three correctly: it splits fused
numbers, restores bare exponents and refuses overflowed fields.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import mmap
import os
import re
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np

from cztflow.analysis.errors import (
    MalformedFileError,
    MissingOutputError,
    OverflowFieldError,
    TruncatedFileError,
)

__all__ = [
    "COMPRESSIONS",
    "find_output",
    "fix_bare_exponents",
    "floats",
    "load",
    "open_binary",
    "parse_floats",
    "read_bytes",
    "row_floats",
]

#: File suffixes read transparently, with their openers.
COMPRESSIONS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}

#: A Fortran real: a sign, digits with a decimal point, an optional exponent. Because every
#: real has a decimal point, fused numbers such as ``-1.5-2.5`` split correctly.
_REAL = re.compile(rb"[-+]?(?:\d+\.\d*|\.\d+)(?:[EeDd][-+]?\d+|[-+]\d{3}(?![\d.]))?|[-+]?\d+")
#: Fortran drops the E of a three-digit exponent: 0.12345678901-100 is 0.12345678901E-100.
_BARE_EXPONENT = re.compile(rb"(\d)([-+]\d{3})(?![\d.])")
_OVERFLOW = re.compile(rb"\*{3,}")


def open_binary(path: str | Path) -> IO[bytes]:
    """Open ``path`` for binary reading, decompressing ``.gz``, ``.bz2`` and ``.xz``."""
    path = Path(path)
    opener = COMPRESSIONS.get(path.suffix)
    try:
        return opener(path, "rb") if opener else open(path, "rb")
    except FileNotFoundError:
        raise MissingOutputError(path, "no such file") from None
    except IsADirectoryError:
        raise MissingOutputError(path, "is a folder, not a file") from None


def read_bytes(path: str | Path) -> bytes:
    """The whole (decompressed) content of ``path``.

    Raises
    ------
    TruncatedFileError
        If a compressed file ends before its compressed stream does.
    """
    path = Path(path)
    if path.suffix == ".gz":  # one call: a quarter faster than reading through gzip.open
        try:
            compressed = path.read_bytes()
        except FileNotFoundError:
            raise MissingOutputError(path, "no such file") from None
        except IsADirectoryError:
            raise MissingOutputError(path, "is a folder, not a file") from None
        try:
            return gzip.decompress(compressed)
        except (EOFError, OSError, zlib.error) as exc:
            raise TruncatedFileError(path, f"compressed stream is damaged or cut off ({exc})") from None
    with open_binary(path) as handle:
        try:
            return handle.read()
        except (EOFError, lzma.LZMAError, OSError, ValueError) as exc:
            raise TruncatedFileError(path, f"compressed stream is damaged or cut off ({exc})") from None


def load(path: str | Path) -> bytes | mmap.mmap:
    """The content of ``path`` without a copy when possible: a plain file memory-mapped
    (read-only; close it when done), a compressed one decompressed into bytes.

    Raises
    ------
    MissingOutputError, TruncatedFileError
        If the file is absent, empty, or a cut compressed stream.
    """
    path = Path(path)
    if path.suffix in COMPRESSIONS:
        return read_bytes(path)
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                raise TruncatedFileError(path, "file is empty")
            return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise MissingOutputError(path, "no such file") from None
    except IsADirectoryError:
        raise MissingOutputError(path, "is a folder, not a file") from None


def _candidates(folder: Path, name: str) -> Iterator[Path]:
    for path in folder.iterdir():
        stem = path.name
        for suffix in COMPRESSIONS:
            stem = stem.removesuffix(suffix)
        if stem == name or re.fullmatch(re.escape(name) + r"\.relax\d+", stem):
            yield path


def find_output(folder: str | Path, name: str) -> Path:
    """The file ``name`` in ``folder``, plain or compressed.

    Where a double relaxation left ``OUTCAR.relax1`` and ``OUTCAR.relax2`` (custodian,
    atomate), the last one wins; a plain ``OUTCAR`` beats both.

    Raises
    ------
    MissingOutputError
        If ``folder`` holds no such file, or holds two versions of it (``OUTCAR`` and
        ``OUTCAR.gz``) so that it is unclear which one is current.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingOutputError(folder, "no such folder")
    found = sorted(_candidates(folder, name), key=lambda p: p.name)
    if not found:
        raise MissingOutputError(folder, f"no {name} (plain, .gz, .bz2 or .xz) in this folder")
    plain = [p for p in found if ".relax" not in p.name]
    if len(plain) > 1:
        names = ", ".join(p.name for p in plain)
        raise MissingOutputError(folder, f"several copies of {name} ({names}); keep one")
    if plain:
        return plain[0]

    def relax_number(path: Path) -> int:
        return int(re.search(r"\.relax(\d+)", path.name).group(1))

    return max(found, key=relax_number)


def fix_bare_exponents(text: bytes) -> bytes:
    """Restore the E that Fortran drops from three-digit exponents (``0.1-100`` → ``0.1E-100``)."""
    return _BARE_EXPONENT.sub(rb"\1E\2", text)


def parse_floats(text: bytes) -> np.ndarray:
    """Whitespace-separated numbers with NumPy's C parser, the same in every NumPy version.

    Raises
    ------
    ValueError
        If the text holds anything that is not a number. NumPy 1.26 (and, by its
        deprecation, versions before the change) only warns and returns the numbers before
        the bad text; that warning is turned into this error, so a ``*****`` or a bare
        exponent is never read as a shorter array.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        try:
            return np.fromstring(text, sep=" ")
        except DeprecationWarning as exc:
            raise ValueError(str(exc)) from None


def floats(text: bytes, path: str | Path, what: str) -> np.ndarray:
    """Every real number in ``text``, fused pairs split.

    Parameters
    ----------
    text
        A slice of the file.
    path, what
        The file and the name of the block, for the error message.

    Raises
    ------
    OverflowFieldError
        If a field in ``text`` overflowed (``*****``).
    """
    if _OVERFLOW.search(text):
        raise OverflowFieldError(path, f"{what}: a field overflowed (*****), its value is lost")
    return np.array(
        [
            float(_BARE_EXPONENT.sub(rb"\1E\2", m.replace(b"D", b"E").replace(b"d", b"e")))
            for m in _REAL.findall(text)
        ]
    )


def row_floats(text: bytes, ncols: int, path: str | Path, what: str) -> np.ndarray:
    """The numbers of a table of ``ncols`` columns, one row per line, as an array.

    Raises
    ------
    MalformedFileError
        If a line has a different number of values.
    OverflowFieldError
        If a field overflowed.
    """
    rows = []
    for lineno, line in enumerate(text.strip().splitlines(), start=1):
        values = floats(line, path, what)
        if values.size != ncols:
            shown = line.decode(errors="replace").strip()
            raise MalformedFileError(
                path, f"{what}: row {lineno} has {values.size} numbers, expected {ncols}: {shown!r}"
            )
        rows.append(values)
    return np.array(rows).reshape(-1, ncols)
