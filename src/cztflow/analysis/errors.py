"""Exceptions raised when a VASP output file cannot give a trustworthy number.

Every exception names the file and the cause. They all derive from
:class:`VaspOutputError`, itself a :class:`ValueError`, so one ``except`` clause catches
them all.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "AnalysisError",
    "MalformedFileError",
    "MissingOutputError",
    "NoEnergyError",
    "OverflowFieldError",
    "TruncatedFileError",
    "UnfinishedRunError",
    "VaspOutputError",
]


class VaspOutputError(ValueError):
    """A VASP output file that cannot be read into trustworthy numbers.

    Attributes
    ----------
    path : pathlib.Path
        The offending file (or folder).
    cause : str
        What is wrong with it, in words.
    """

    kind = "unreadable"

    def __init__(self, path: str | Path, cause: str) -> None:
        self.path = Path(path)
        self.cause = cause
        super().__init__(f"{self.path}: {cause}")


class TruncatedFileError(VaspOutputError):
    """The file stops in the middle of a block (cut copy, full disk, killed job)."""

    kind = "truncated"


class UnfinishedRunError(VaspOutputError):
    """The run stopped before it completed a single ionic step, so there is no result."""

    kind = "unfinished"


class NoEnergyError(VaspOutputError):
    """A finished run of a kind that writes no total energy (GW, RPA, BSE).

    Its eigenvalues may still be usable; only the energy is refused.
    """

    kind = "no-energy"


class MalformedFileError(VaspOutputError):
    """The file is not the format it claims to be, or a block has the wrong shape."""

    kind = "malformed"


class OverflowFieldError(VaspOutputError):
    """A Fortran field overflowed (printed as ``*****``), so its value is lost."""

    kind = "overflow"


class MissingOutputError(VaspOutputError):
    """A folder lacks the output file an analysis needs."""

    kind = "missing"


class AnalysisError(VaspOutputError):
    """Parsed data that cannot give the requested quantity (mismatched grids, compositions)."""

    kind = "analysis"
