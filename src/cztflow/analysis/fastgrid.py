"""Compiled conversion of VASP's fixed-width grid text to numbers (numba, two threads).

Optional: numba comes with the ``cztflow[fast]`` extra, and this module is imported only
by :func:`cztflow.analysis.volumetric._compiled`, for grids of tens of millions of values.
Its numbers are bit-identical to those of the NumPy path (:mod:`.e18`).

VASP writes LOCPOT/CHGCAR grids as lines of equal length (five E18.11 fields and a
newline). When a block has that layout, every line can be converted independently, in
parallel, straight from the file's bytes; a number is read as an integer mantissa times
an exact power of ten (the Clinger fast path, correctly rounded for up to 15 digits and
exponents within ±22, which VASP's 11 digits always meet). Anything else (``*****``, a
ragged line, an exotic exponent) makes :func:`parse_fixed` report failure, and the caller
falls back to the general parser.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from cztflow.analysis.e18 import layout as block_layout

__all__ = ["parse_fixed"]

_POW10 = np.array([10.0**k for k in range(23)])


@njit(cache=True, nogil=True)
def _field(buf, p, end, pow10):  # pragma: no cover - compiled
    while p < end and buf[p] == 32:
        p += 1
    negative = False
    if p < end and (buf[p] == 45 or buf[p] == 43):
        negative = buf[p] == 45
        p += 1
    mantissa = 0
    digits = 0
    scale = 0
    seen_point = False
    while p < end:
        c = buf[p]
        if 48 <= c <= 57:
            if digits < 18:
                mantissa = mantissa * 10 + (c - 48)
                digits += 1
                if seen_point:
                    scale -= 1
            elif not seen_point:
                scale += 1
        elif c == 46 and not seen_point:
            seen_point = True
        else:
            break
        p += 1
    if digits == 0:
        return np.nan, False
    exponent = 0
    if p < end and (buf[p] == 69 or buf[p] == 101):
        p += 1
        exp_negative = False
        if p < end and (buf[p] == 45 or buf[p] == 43):
            exp_negative = buf[p] == 45
            p += 1
        if p >= end or not (48 <= buf[p] <= 57):
            return np.nan, False
        while p < end and 48 <= buf[p] <= 57:
            exponent = exponent * 10 + (buf[p] - 48)
            p += 1
        if exp_negative:
            exponent = -exponent
    while p < end and buf[p] == 32:
        p += 1
    if p != end or digits > 15:
        return np.nan, False
    k = exponent + scale
    if k > 22 or k < -22:
        return np.nan, False
    value = mantissa * pow10[k] if k >= 0 else mantissa / pow10[-k]
    return (-value if negative else value), True


@njit(cache=True, nogil=True)
def _e18_parts(buf, p):  # pragma: no cover - compiled
    """Signed 11-digit mantissa and decimal exponent of a VASP E18.11 field; ok=False otherwise."""
    lead = buf[p + 1]
    if buf[p] != 32 or buf[p + 2] != 46 or buf[p + 14] != 69 or (lead != 48 and lead != 45):
        return 0, 0, False
    mantissa = 0
    bad = False
    for q in range(11):
        d = np.int64(buf[p + 3 + q]) - 48
        bad |= (d < 0) | (d > 9)
        mantissa = mantissa * 10 + d
    e1 = np.int64(buf[p + 16]) - 48
    e2 = np.int64(buf[p + 17]) - 48
    sign = buf[p + 15]
    if bad or e1 < 0 or e1 > 9 or e2 < 0 or e2 > 9 or (sign != 43 and sign != 45):
        return 0, 0, False
    exponent = e1 * 10 + e2
    return (-mantissa if lead == 45 else mantissa), (-exponent if sign == 45 else exponent), True


@njit(cache=True, nogil=True)
def _vasp_e18(buf, p, pow10):  # pragma: no cover - compiled
    """A VASP E18.11 field as a correctly rounded float (see :func:`_e18_parts`)."""
    mantissa, exponent, ok = _e18_parts(buf, p)
    k = exponent - 11
    if not ok or k > 22 or k < -22:
        return np.nan, False
    value = abs(mantissa) * pow10[k] if k >= 0 else abs(mantissa) / pow10[-k]
    return (-value if mantissa < 0 else value), True


@njit(parallel=True, cache=True)
def _parse_lines(buf, start, nvalues, per_line, width, line_len, out, pow10):  # pragma: no cover - compiled
    nlines = (nvalues + per_line - 1) // per_line
    bad = np.zeros(nlines, dtype=np.bool_)
    for i in prange(nlines):
        base = start + i * line_len
        count = per_line if (i + 1) * per_line <= nvalues else nvalues - i * per_line
        stop = base + count * width
        if i < nlines - 1 and buf[base + line_len - 1] != 10:
            bad[i] = True
            continue
        for j in range(count):
            if width == 18:
                value, ok = _vasp_e18(buf, base + j * 18, pow10)
                if not ok:
                    value, ok = _field(buf, base + j * 18, base + (j + 1) * 18, pow10)
            else:
                value, ok = _field(buf, base + j * width, base + (j + 1) * width, pow10)
            if not ok:
                bad[i] = True
                break
            out[i * per_line + j] = value
        if stop < buf.size and buf[stop] != 10 and buf[stop] != 13 and buf[stop] != 32:
            bad[i] = True
    return bad.any()


def parse_fixed(buf: np.ndarray, start: int, nvalues: int, out: np.ndarray) -> int | None:
    """Convert ``nvalues`` numbers of a fixed-width block starting at byte ``start``.

    Parameters
    ----------
    buf
        The file as a uint8 array.
    start
        Offset of the first data line.
    nvalues
        Values in the block.
    out
        Float array of at least ``nvalues`` to fill.

    Returns
    -------
    int or None
        Offset just after the block's last line, or None when the block is not uniformly
        fixed-width (then nothing can be concluded from ``out``).
    """
    layout = block_layout(buf, start, nvalues)
    if layout is None:
        return None
    per_line, width, line_len, end = layout
    if end > buf.size or _parse_lines(buf, start, nvalues, per_line, width, line_len, out, _POW10):
        return None
    return end + 1 if end < buf.size and buf[end] == 10 else end
