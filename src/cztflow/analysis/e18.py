"""VASP's fixed-width grid text (E18.11) converted to numbers with NumPy alone.

LOCPOT and CHGCAR grids are lines of equal length: five fields like ``' 0.12345678901E+01'``
or ``' -.12345678901E+01'`` and a newline. Viewed as a 2-D array of bytes, every field can
be checked and converted column by column: an 11-digit integer mantissa times an exact
power of ten, one correctly rounded division or multiplication (the same value NumPy's and
Python's parsers give). Fields whose exponent lies outside ±22 are converted one by one by
Python's ``float``. Anything else (``*****``, ``NaN``, a ragged or cut line) makes these
functions return None, and the caller falls back to the general parser, whose errors say
what is wrong.

This path needs no compiler, so a one-off call pays no start-up cost; the compiled path of
:mod:`.fastgrid` (numba, optional) only pays on grids of tens of millions of values.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["layout", "parse_e18"]

_WIDTH = 18
_POW10 = 10.0 ** np.arange(23)
_CHUNK_LINES = 1 << 14  # 81 920 values per step: the temporaries stay in the CPU's cache
_THREADED_MIN = 1 << 20  # values from which the chunks are shared among threads (NumPy drops the GIL)


def layout(buf: np.ndarray, start: int, nvalues: int) -> tuple[int, int, int, int] | None:
    """Values per line, field width, line length and end offset of a fixed-width block.

    Returns None when the first line's length is not a whole number of equal fields, or
    when the block would run past the end of ``buf``.
    """
    newlines = np.flatnonzero(buf[start : start + 4096] == 10)
    if not nvalues or not newlines.size:
        return None
    first_end = int(newlines[0])
    per_line = len(bytes(buf[start : start + first_end]).split())
    if per_line == 0 or first_end % per_line:
        return None
    width = first_end // per_line
    nlines = -(-nvalues // per_line)
    end = start + (nlines - 1) * (first_end + 1) + (nvalues - (nlines - 1) * per_line) * width
    if end > buf.size:
        return None
    return per_line, width, first_end + 1, end


def _fields(fields: np.ndarray, out: np.ndarray) -> bool:
    """Convert E18.11 fields (rows of 18 bytes) into ``out``; False if one is not E18.11."""
    lead, sign = fields[:, 1], fields[:, 15]
    if not (
        (fields[:, 0] == 32).all()
        and (fields[:, 2] == 46).all()
        and (fields[:, 14] == 69).all()
        and ((lead == 48) | (lead == 45)).all()
        and ((sign == 43) | (sign == 45)).all()
        and ((fields[:, 3:14] - np.uint8(48)) <= 9).all()  # a non-digit wraps round to >= 208
        and ((fields[:, 16:18] - np.uint8(48)) <= 9).all()
    ):
        return False
    mantissa = np.zeros(len(fields), dtype=np.int64)
    for column in range(3, 14):  # exact: 11 digits stay far below 2**63
        mantissa *= 10
        mantissa += fields[:, column]
    mantissa -= 48 * 11_111_111_111
    power = fields[:, 16].astype(np.int64) * 10 + fields[:, 17] - 528
    np.negative(power, out=power, where=sign == 45)
    power -= 11
    if (power <= 0).all() and (power >= -22).all():  # every value below 1E+11: one division
        np.divide(mantissa, _POW10[-power], out=out)
    else:
        scale = _POW10[np.minimum(np.abs(power), 22)]
        np.copyto(out, np.where(power >= 0, mantissa * scale, mantissa / scale))
        for index in np.flatnonzero(np.abs(power) > 22):  # e.g. 1E-99 in a CHGCAR
            out[index] = abs(float(fields[index].tobytes()))
    np.negative(out, out=out, where=lead == 45)
    return True


def parse_e18(buf: np.ndarray, start: int, nvalues: int, out: np.ndarray) -> int | None:
    """Convert the ``nvalues`` numbers of an E18.11 block starting at byte ``start``.

    Parameters
    ----------
    buf
        The file as a uint8 array.
    start
        Offset of the block's first line.
    nvalues
        Values in the block.
    out
        Float array of at least ``nvalues`` to fill.

    Returns
    -------
    int or None
        Offset just after the block's last line, or None when the block is not E18.11
        throughout, or its last line has no end (nothing can then be concluded from ``out``).
    """
    shape = layout(buf, start, nvalues)
    if shape is None:
        return None
    per_line, width, line_len, end = shape
    if width != _WIDTH or line_len != per_line * _WIDTH + 1:
        return None
    while end < buf.size and buf[end] == 32:  # a short last line may be padded with spaces
        end += 1
    if end >= buf.size or buf[end] != 10:
        return None
    full = nvalues // per_line

    def chunk(first: int) -> bool:
        lines = min(_CHUNK_LINES, full - first)
        rows = buf[start + first * line_len : start + (first + lines) * line_len].reshape(lines, line_len)
        if not (rows[:, -1] == 10).all():
            return False
        return _fields(rows[:, :-1].reshape(-1, _WIDTH), out[first * per_line : (first + lines) * per_line])

    firsts = range(0, full, _CHUNK_LINES)
    workers = min(4, os.cpu_count() or 1) if nvalues >= _THREADED_MIN else 1
    if workers > 1:
        with ThreadPoolExecutor(workers) as pool:
            done = all(pool.map(chunk, firsts))
    else:
        done = all(chunk(first) for first in firsts)
    if not done:
        return None
    rest = nvalues - full * per_line
    if rest:
        at = start + full * line_len
        fields = buf[at : at + rest * _WIDTH].reshape(rest, _WIDTH)
        if not _fields(fields, out[full * per_line : nvalues]):
            return None
    return end + 1
