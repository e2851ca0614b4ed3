"""OSZICAR: the energy of every ionic step and the SCF iterations that led to it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cztflow.analysis.errors import MalformedFileError, UnfinishedRunError
from cztflow.analysis.textfile import floats, read_bytes

__all__ = ["Oszicar", "read_oszicar"]

#: The line closing an ionic step: ``N F= … E0= … d E = …`` for relaxations and static runs,
#: ``N T= … E= … F= … E0= … EK= … SP= … SK= …`` for molecular dynamics. It must end with a
#: newline: a line cut inside a number is not a step.
_IONIC = re.compile(rb"^[ \t]*(\d+)[ \t]+((?:T=[^\n]*?)?F=[^\n]*)\n", re.MULTILINE)
_SCF = re.compile(rb"^\s*(?:DAV|RMM|CG|SDA|DIA|EDDAV|EDDIA|EDRMM|ALG|DMP)\S*:\s*(\d+)\s", re.MULTILINE)
_FIELD = re.compile(rb"(?<![A-Za-z])(T|F|E0|d E|mag)\s*=\s*(\S+)")


@dataclass
class Oszicar:
    """Per-ionic-step energies from an OSZICAR.

    Attributes
    ----------
    free_energies, final_energies
        ``F`` (free energy, eV) and ``E0`` (sigma → 0, eV) of each ionic step.
    energy_changes
        ``d E`` of each step (eV).
    magnetizations
        ``mag`` of each step (μB), or None when the run is not spin-polarised.
    temperatures
        ``T`` of each step (K) for a molecular-dynamics run, else None.
    electronic_steps
        SCF iterations of each ionic step.
    incomplete_step
        True when the file ends inside an SCF loop that never reached its ``F=`` line.
    """

    path: Path
    free_energies: np.ndarray
    final_energies: np.ndarray
    energy_changes: np.ndarray
    electronic_steps: list[int]
    magnetizations: np.ndarray | None = None
    temperatures: np.ndarray | None = None
    incomplete_step: bool = False
    issues: list[str] = field(default_factory=list)

    @property
    def final_energy(self) -> float:
        """E0 of the last complete ionic step (eV)."""
        return float(self.final_energies[-1])


def _value(raw: bytes, path: Path, what: str) -> float:
    """The one number of a field, or an error naming the field (NaN, text, overflow)."""
    values = floats(raw, path, what)
    if values.size != 1 or raw.strip(b"+-.0123456789EeDd") or not np.isfinite(values[0]):
        raise MalformedFileError(path, f"{what}: {raw.decode(errors='replace')!r} is not a number")
    return float(values[0])


def read_oszicar(path: str | Path) -> Oszicar:
    """Read an OSZICAR (plain or compressed).

    Raises
    ------
    UnfinishedRunError
        If no ionic step has an ``F=`` line.
    MalformedFileError, OverflowFieldError
        If an ``F=`` line lacks E0 or a value overflowed.
    """
    path = Path(path)
    data = read_bytes(path)
    steps = list(_IONIC.finditer(data))
    if not steps:
        raise UnfinishedRunError(path, "no ionic step completed (no 'F=' line)")
    free, final, change, mags, temps, counts = [], [], [], [], [], []
    previous_end = 0
    for number, match in enumerate(steps, start=1):
        fields = {key.decode(): value for key, value in _FIELD.findall(match.group(2))}
        what = f"ionic step {number}"
        if "F" not in fields or "E0" not in fields:
            raise MalformedFileError(
                path, f"{what}: the 'F=' line lacks F or E0: {match.group(0).decode().strip()!r}"
            )
        free.append(_value(fields["F"], path, f"F of {what}"))
        final.append(_value(fields["E0"], path, f"E0 of {what}"))
        change.append(_value(fields["d E"], path, f"dE of {what}") if "d E" in fields else np.nan)
        if "mag" in fields:
            mags.append(_value(fields["mag"], path, f"mag of {what}"))
        if "T" in fields:
            temps.append(_value(fields["T"], path, f"T of {what}"))
        scf = _SCF.findall(data, previous_end, match.start())
        counts.append(int(scf[-1]) if scf else 0)
        previous_end = match.end()
    incomplete = bool(_SCF.search(data, previous_end)) or bool(data[previous_end:].strip())
    issues = ["file ends inside an SCF loop: the last ionic step never completed"] if incomplete else []
    return Oszicar(
        path=path,
        free_energies=np.array(free),
        final_energies=np.array(final),
        energy_changes=np.array(change),
        electronic_steps=counts,
        magnetizations=np.array(mags) if len(mags) == len(steps) else None,
        temperatures=np.array(temps) if len(temps) == len(steps) else None,
        incomplete_step=incomplete,
        issues=issues,
    )
