"""A fast, strict OUTCAR reader.

The file is read once as bytes; every quantity is found by searching backwards from the
end (the last ionic step is what matters), so the cost grows with the size of the last
step, not of the whole run. pymatgen's ``Outcar`` parses every line with regular
expressions and is much slower (see ``benchmarks/parse_speed.py``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from cztflow.analysis.errors import (
    MalformedFileError,
    NoEnergyError,
    TruncatedFileError,
    UnfinishedRunError,
)
from cztflow.analysis.run import MANY_BODY_ALGOS, RunSummary, convergence_issues
from cztflow.analysis.textfile import floats, read_bytes, row_floats

__all__ = ["read_outcar"]

_IONIC_HEADING = b"FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)"
#: Each value must be followed by the rest of its line: a file cut inside the digits of
#: the last value gives no match rather than a shortened number.
_TOTEN = re.compile(rb"free  energy   TOTEN\s*=\s*(\S+)[ \t]+eV[ \t]*\r?\n")
_SIGMA0 = re.compile(rb"energy  without entropy\s*=\s*(\S+)\s+energy\(sigma->0\)\s*=\s*(\S+)[ \t]*\r?\n")
_PARAMS = {
    "NELM": (rb"\bNELM\s*=\s*(-?\d+)", int),
    "NSW": (rb"\bNSW\s*=\s*(-?\d+)", int),
    "IBRION": (rb"\bIBRION\s*=\s*(-?\d+)", int),
    "ISPIN": (rb"\bISPIN\s*=\s*(\d+)", int),
    "ISMEAR": (rb"\bISMEAR\s*=\s*(-?\d+)", int),
    "SIGMA": (rb"\bSIGMA\s*=\s*(\S+?)[;\s]", float),
    "EDIFF": (rb"\bEDIFF\s*=\s*(\S+)", float),
    "EDIFFG": (rb"\bEDIFFG\s*=\s*(\S+)", float),
    "ENCUT": (rb"\bENCUT\s*=\s*(\S+)", float),
    "NIONS": (rb"\bNIONS\s*=\s*(\d+)", int),
    "IMAGES": (rb"\bIMAGES\s*=\s*(\d+)", int),
    "LCLIMB": (rb"\bLCLIMB\s*=\s*(\S+)", str),
}


def _number(raw: bytes, path: Path, what: str) -> float:
    values = floats(raw, path, what)
    if values.size != 1 or raw.strip().strip(b"+-.0123456789EeDd"):
        raise MalformedFileError(path, f"{what}: expected one number, found {raw.decode(errors='replace')!r}")
    return float(values[0])


def _parameters(head: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, (pattern, kind) in _PARAMS.items():
        match = re.search(pattern, head)
        if match:
            raw = match.group(1).decode()
            params[key] = raw if kind is str else kind(float(raw.replace("D", "E")) if kind is float else raw)
    return params


def _species(data: bytes, path: Path, nions: int) -> list[str]:
    """Element of each atom, from the POTCAR titles and ``ions per type``.

    The titles come from the ``TITEL`` lines, or, in an OUTCAR written with NWRITE = 0 or 1
    (which has none), from the ``POTCAR:`` lines: VASP prints one per type, then the same
    list again, so the first ``len(ions per type)`` of them are the types in order.
    """
    head = data[:2_000_000]
    counts = re.search(rb"ions per type\s*=\s*([\d\s]+)\n", head)
    titles = re.findall(rb"TITEL\s*=\s*\S+\s+(\S+)", head)
    if not titles and counts:
        titles = re.findall(rb"(?m)^\s*POTCAR:\s*\S+\s+(\S+)", head)[: len(counts.group(1).split())]
    if not titles or not counts:
        raise MalformedFileError(
            path, "no POTCAR lines (TITEL or POTCAR:) or no 'ions per type' line: not an OUTCAR"
        )
    numbers = [int(n) for n in counts.group(1).split()]
    if len(numbers) != len(titles):
        raise MalformedFileError(path, f"{len(titles)} POTCARs but {len(numbers)} counts in 'ions per type'")
    elements = [t.decode().split("_")[0] for t in titles]
    species = [el for el, n in zip(elements, numbers, strict=True) for _ in range(n)]
    if nions and len(species) != nions:
        raise MalformedFileError(path, f"'ions per type' adds up to {len(species)}, NIONS = {nions}")
    return species


def _forces_block(
    data: bytes, start: int, nions: int, path: Path, step: int
) -> tuple[np.ndarray, np.ndarray]:
    """Positions and forces of the TOTAL-FORCE table that starts at ``start``."""
    lines = data[start:].split(b"\n", nions + 3)
    if len(lines) < nions + 3:
        raise TruncatedFileError(path, f"TOTAL-FORCE table of ionic step {step} is cut off")
    table = row_floats(b"\n".join(lines[2 : 2 + nions]), 6, path, f"TOTAL-FORCE table of ionic step {step}")
    return table[:, :3], table[:, 3:]


def _lattice(data: bytes, end: int, path: Path) -> np.ndarray:
    start = data.rfind(b"direct lattice vectors", 0, end)
    if start < 0:
        raise MalformedFileError(path, "no 'direct lattice vectors' block")
    lines = data[start:].split(b"\n", 4)[1:4]
    return row_floats(b"\n".join(lines), 6, path, "direct lattice vectors")[:, :3]


def _many_body_algo(head: bytes) -> str | None:
    """The ALGO of a GW/RPA/BSE run (the INCAR's, else the one VASP selected), or None."""
    for match in re.finditer(rb"(?m)^\s*ALGO\s*=\s*(\S+)", head):
        if match.group(1).decode().upper() in MANY_BODY_ALGOS:
            return match.group(1).decode()
    return None


def _last_scf(data: bytes, start: int, end: int, path: Path) -> tuple[int, float | None]:
    """SCF iterations of the ionic step whose text lies in [start, end), and the last dE."""
    iterations = re.findall(rb"Iteration\s*(\d+)\(\s*(\d+)\)", data[start:end])
    count = int(iterations[-1][1]) if iterations else 0
    change = None
    at = data.rfind(b"total energy-change (2. order) :", start, end)
    if at >= 0:
        line = data[at + 32 : data.find(b"\n", at)]
        values = floats(line, path, "total energy-change")
        change = float(values[0]) if values.size else None
    return count, change


def read_outcar(path: str | Path) -> RunSummary:
    """Read the result of the last ionic step of an OUTCAR (plain, .gz, .bz2 or .xz).

    Returns
    -------
    RunSummary
        With ``finished`` False when the timing block is missing, and the convergence
        flags and ``issues`` filled in.

    Raises
    ------
    UnfinishedRunError
        If not one ionic step completed (a run killed in its first SCF).
    TruncatedFileError, MalformedFileError, OverflowFieldError
        If the file is cut inside a block, is not an OUTCAR, or a needed field overflowed.
    """
    path = Path(path)
    data = read_bytes(path)
    version = re.match(rb"\s*vasp\.(\d+\.\d+\.\d+)", data[:200])
    if not version:
        raise MalformedFileError(path, "does not start with a 'vasp.X.Y.Z' version line: not an OUTCAR")
    head_end = data.find(b"POSITION    ")
    head = data[: head_end if head_end > 0 else 400_000]
    params = _parameters(head)
    nions = int(params.get("NIONS", 0))
    species = _species(data, path, nions)
    nions = len(species)

    steps = data.count(_IONIC_HEADING)
    last = data.rfind(_IONIC_HEADING)
    if last < 0:
        algo = _many_body_algo(head)
        if algo:
            # A GW/RPA/BSE run starts from converged orbitals and writes no ionic energy block.
            done = (
                ""
                if b"General timing and accounting" in data
                else "; the run did not finish (no timing block)"
            )
            raise NoEnergyError(path, f"no total energy in a GW run (ALGO = {algo}){done}")
        raise UnfinishedRunError(
            path, "no ionic step completed (no 'FREE ENERGIE OF THE ION-ELECTRON SYSTEM' block)"
        )
    summary_text = data[last : last + 2000]
    toten = _TOTEN.search(summary_text)
    sigma0 = _SIGMA0.search(summary_text)
    if not toten or not sigma0:
        raise TruncatedFileError(path, f"energy block of ionic step {steps} is cut off")
    free_energy = _number(toten.group(1), path, f"TOTEN of ionic step {steps}")
    e_wo = _number(sigma0.group(1), path, f"energy without entropy of ionic step {steps}")
    e_0 = _number(sigma0.group(2), path, f"energy(sigma->0) of ionic step {steps}")

    # VASP 5 and 6 print a step's lattice and TOTAL-FORCE table before its energy block;
    # VASP 4 prints them after it, so there the tables before it are the previous step's.
    vasp4 = version.group(1).startswith(b"4.")
    if vasp4:
        force_at = data.find(b"TOTAL-FORCE (eV/Angst)", last)
        lattice_end = force_at if force_at >= 0 else len(data)
        if data.rfind(b"direct lattice vectors", last, lattice_end) < 0:
            lattice_end = last  # cut before this step's lattice: the one it started from
    else:
        force_at = data.rfind(b"TOTAL-FORCE (eV/Angst)", 0, last)
        lattice_end = last
    positions = forces = None
    if force_at >= 0:
        positions, forces = _forces_block(data, data.rfind(b"\n", 0, force_at) + 1, nions, path, steps)
    lattice = _lattice(data, lattice_end, path)
    if positions is None:
        positions = np.zeros((nions, 3))

    previous = data.rfind(_IONIC_HEADING, 0, last)
    electronic_steps, change = _last_scf(data, max(previous, 0), last, path)
    efermi_at = data.rfind(b" E-fermi :", 0, last + 2000)
    efermi = None
    if efermi_at >= 0:
        line_end = data.find(b"\n", efermi_at)
        if line_end < 0:
            raise TruncatedFileError(path, "the last E-fermi line is cut off")
        efermi = _number(data[efermi_at + 10 : line_end].split(b"X")[0], path, "E-fermi")
    mag_at = data.rfind(b"number of electron", 0, last)
    magnetization = None
    if params.get("ISPIN") == 2 and mag_at >= 0:
        line = data[mag_at : data.find(b"\n", mag_at)]
        match = re.search(rb"magnetization\s+(\S+)", line)
        if match:
            magnetization = _number(match.group(1), path, "magnetization")

    finished = data.find(b"General timing and accounting", last) >= 0
    reached = b"reached required accuracy" in data[last:]
    electronic, ionic, issues = convergence_issues(
        params,
        electronic_steps=electronic_steps,
        last_energy_change=change,
        ionic_steps=steps,
        reached_accuracy=reached,
        max_force=None,
    )
    if not finished:
        issues.insert(0, f"run did not finish (no timing block); {steps} ionic steps completed")
    elif not data.endswith(b"\n"):
        finished = False
        issues.insert(0, "file is cut off inside its timing block (its last line has no end)")
    return RunSummary(
        path=path,
        vasp_version=version.group(1).decode(),
        final_energy=e_0,
        free_energy=free_energy,
        energy_without_entropy=e_wo,
        efermi=efermi,
        ionic_steps=steps,
        electronic_steps=electronic_steps,
        electronic_converged=electronic,
        ionic_converged=ionic,
        finished=finished,
        species=species,
        lattice=lattice,
        positions=positions,
        forces=forces,
        parameters=params,
        magnetization=magnetization,
        tangent_force=_tangent_force(data, path),
        issues=issues,
    )


def _tangent_force(data: bytes, path: Path) -> float | None:
    """REAL value of the last ``NEB: projections on to tangent (spring, REAL)`` line, or None.

    It is the true force projected on the band tangent (eV/Å), written by VTST for each
    intermediate image; the energy gradient along the band is its negative.
    """
    at = data.rfind(b"NEB: projections on to tangent (spring, REAL)")
    if at < 0:
        return None
    values = floats(data[at + 46 : data.find(b"\n", at)], path, "NEB tangent projections")
    if values.size != 2:
        raise MalformedFileError(path, f"NEB tangent line has {values.size} numbers, expected 2")
    return float(values[1])
