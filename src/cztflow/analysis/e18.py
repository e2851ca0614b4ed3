"""VASP's fixed-width grid text (E18.11) converted to numbers with NumPy alone.

LOCPOT and CHGCAR grids are lines of equal length: five fields like ``' 0.12345678901E+01'``
or ``' -.12345678901E+01'`` and a newline. A chunk of whole lines is checked at once against
a byte template (every byte in its allowed range), then each field is converted from a few
fixed-offset integer views of the same bytes: the 11-digit mantissa with SWAR arithmetic on
a 64-bit and a 32-bit word (pairs, then quads of digits combined by one multiply each), the
exponent from its two digits. The value is the mantissa divided by an exact power of ten:
one correctly rounded operation, the same value NumPy's and Python's parsers give. A chunk
with an exponent outside the range of a single division (values of 1E+11 and more, or below
1E-11) is converted column by column instead (:func:`_fields`), and fields whose exponent
lies outside ±22 one by one by Python's ``float``. Anything else (``*****``, ``NaN``, a
ragged or cut line) makes these functions return None, and the caller falls back to the
general parser, whose errors say what is wrong.

This path needs no compiler, so a one-off call pays no start-up cost; the compiled path of
:mod:`.fastgrid` (numba, optional) only pays on grids of tens of millions of values.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np

__all__ = ["layout", "parse_e18"]

_WIDTH = 18
_POW10 = 10.0 ** np.arange(23)
_CHUNK_LINES = 1 << 13  # 40 960 values per step: the temporaries stay in the CPU's cache
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


_FIELD_LOW = np.frombuffer(b" -.00000000000E+00", dtype=np.uint8).copy()
_FIELD_LOW[15] = ord("+")  # the exponent's sign: '+' or '-'
#: Allowed bytes of a field, ``low`` to ``low + span``: the lead '0' or '-' and the exponent's
#: sign are checked exactly afterwards ('.' and '/', ',' also lie in these ranges).
_FIELD_SPAN = np.array([0, 3, 0] + [9] * 11 + [0, 2, 9, 9], dtype=np.uint8)
_U8, _U4 = np.uint64, np.uint32


@lru_cache(maxsize=8)
def _template(per_line: int) -> tuple[np.ndarray, np.ndarray]:
    """Lowest byte and allowed span for each byte of :data:`_CHUNK_LINES` lines of ``per_line`` fields."""
    low = np.concatenate([np.tile(_FIELD_LOW, per_line), [10]]).astype(np.uint8)
    span = np.concatenate([np.tile(_FIELD_SPAN, per_line), [0]]).astype(np.uint8)
    return np.tile(low, _CHUNK_LINES), np.tile(span, _CHUNK_LINES)


def _view(buf: np.ndarray, at: int, lines: int, per_line: int, dtype: str) -> np.ndarray:
    """The bytes ``at`` + (18 × field) of each line as one ``dtype`` word, a (lines, per_line) array."""
    return np.ndarray(
        (lines, per_line), dtype=dtype, buffer=buf, offset=at, strides=(per_line * _WIDTH + 1, _WIDTH)
    )


def _lines(buf: np.ndarray, at: int, lines: int, per_line: int, out: np.ndarray) -> bool | None:
    """Convert ``lines`` whole E18.11 lines starting at byte ``at`` into ``out``.

    Returns False when a byte is not what E18.11 allows (nothing can then be concluded from
    ``out``), None when an exponent needs more than one division (the caller converts the
    chunk column by column), True when done.
    """
    nbytes = lines * (per_line * _WIDTH + 1)
    low, span = _template(per_line)
    if not np.less_equal(np.subtract(buf[at : at + nbytes], low[:nbytes]), span[:nbytes]).all():
        return False
    lead = np.ascontiguousarray(_view(buf, at + 1, lines, per_line, "u1"))
    sign = np.ascontiguousarray(_view(buf, at + 15, lines, per_line, "u1"))
    negative = lead == 45
    if not ((negative | (lead == 48)).all() and (sign != 44).all()):
        return False
    # the ten-power index 11 - exponent, from the exponent's two digits (and its sign)
    digits = np.ascontiguousarray(_view(buf, at + 16, lines, per_line, "<u2"))
    power = (digits & np.uint16(15)).astype(np.int16)
    power *= 10
    digits >>= np.uint16(8)
    digits &= np.uint16(15)
    power += digits.view(np.int16)
    np.negative(power, out=power, where=sign != 45)
    power += 11
    if not ((power >= 0).all() and (power <= 22).all()):
        return None
    # mantissa digits 1-8 (bytes 3-10), little-endian: the first digit is the lowest byte
    high = np.ascontiguousarray(_view(buf, at + 3, lines, per_line, "<u8"))
    spare = np.empty_like(high)
    high -= _U8(0x3030303030303030)
    for shift, scale, mask in (
        (8, 10, 0x00FF00FF00FF00FF),
        (16, 100, 0x0000FFFF0000FFFF),
        (32, 10000, 0xFFFFFFFF),
    ):
        np.right_shift(high, _U8(shift), out=spare)
        high *= _U8(scale)
        high += spare
        high &= _U8(mask)
    # digits 9-11 (bytes 11-13) as a four-digit number with a leading zero
    low3 = np.ascontiguousarray(_view(buf, at + 10, lines, per_line, "<u4"))
    spare3 = np.empty_like(low3)
    low3 &= _U4(0xFFFFFF00)
    low3 -= _U4(0x30303000)
    for shift, scale, mask in ((8, 10, 0x00FF00FF), (16, 100, 0xFFFF)):
        np.right_shift(low3, _U4(shift), out=spare3)
        low3 *= _U4(scale)
        low3 += spare3
        low3 &= _U4(mask)
    high *= _U8(1000)
    high += low3
    values = out.reshape(lines, per_line)
    np.divide(high, _POW10[power], out=values)
    np.negative(values, out=values, where=negative)
    return True


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
        at = start + first * line_len
        target = out[first * per_line : (first + lines) * per_line]
        done = _lines(buf, at, lines, per_line, target)
        if done is not None:
            return done
        rows = buf[at : at + lines * line_len].reshape(lines, line_len)
        return _fields(rows[:, :-1].reshape(-1, _WIDTH), target)

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
