"""Light, strict readers of VASP input files for the validator (no pymatgen import).

Each reader returns what it could read plus the problems it met, with line numbers, so
the validator can report every mistake in a file at once instead of stopping at the
first.  INCAR tag names and types come from pymatgen's ``incar_parameters.json`` (found
on disk, not imported) plus the VTST tags that file lacks.
"""

from __future__ import annotations

import importlib.util
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "IncarFile",
    "KpointsFile",
    "PoscarFile",
    "incar_tag_types",
    "read_incar",
    "read_kpoints",
    "read_poscar",
    "read_potcar_symbols",
]

#: VTST tags (CI-NEB optimisers) that VASP's own tag list lacks.
VTST_TAGS = {
    "LCLIMB": "bool",
    "IOPT": "int",
    "SPRING": "float",
    "ICHAIN": "int",
    "MAXMOVE": "float",
    "ILBFGSMEM": "int",
    "LGLOBAL": "bool",
    "LAUTOSCALE": "bool",
    "INVCURV": "float",
    "LLINEOPT": "bool",
    "FDSTEP": "float",
    "TIMESTEP": "float",
    "SDALPHA": "float",
    "FTIMEMAX": "float",
    "FTIMEDEC": "float",
    "FTIMEINC": "float",
    "FALPHA": "float",
    "FNMIN": "int",
    "LNEBCELL": "bool",
    "JACOBIAN": "float",
    "LTANGENTOLD": "bool",
    "LDNEB": "bool",
}

_TAG = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TRUE = {".TRUE.", "T", "TRUE", ".T."}
_FALSE = {".FALSE.", "F", "FALSE", ".F."}


@lru_cache(maxsize=1)
def incar_tag_types() -> dict[str, dict[str, Any]]:
    """Known INCAR tags with their type (and allowed values where VASP restricts them)."""
    spec = importlib.util.find_spec("pymatgen")
    tags: dict[str, dict[str, Any]] = {}
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "io" / "vasp" / "incar_parameters.json"
        if path.is_file():
            tags = json.loads(path.read_text(encoding="utf-8"))
            break
    if not tags:
        raise RuntimeError("pymatgen's io/vasp/incar_parameters.json was not found; reinstall pymatgen")
    tags.update({k: {"type": v} for k, v in VTST_TAGS.items()})
    return tags


def _number(text: str) -> float:
    return float(text.lower().replace("d", "e"))


def _expand(text: str) -> list[float]:
    """``3*1.0 2*0`` -> ``[1, 1, 1, 0, 0]``."""
    out: list[float] = []
    for item in text.split():
        if "*" in item:
            count, _, value = item.partition("*")
            out.extend([_number(value)] * int(count))
        else:
            out.append(_number(item))
    return out


def parse_value(raw: str, kind: str) -> Any:
    """Convert an INCAR value to ``kind`` (bool, int, float, list, str, ``bool | str``).

    Raises
    ------
    ValueError
        If ``raw`` is not a value of that type.
    """
    text = raw.strip()
    up = text.upper()
    if kind in ("bool", "bool | str"):
        if up in _TRUE:
            return True
        if up in _FALSE:
            return False
        if kind == "bool":
            raise ValueError(f"{text!r} is not a logical (.TRUE. or .FALSE.)")
        return text
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not an integer") from None
    if kind == "float":
        try:
            return _number(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a number") from None
    if kind == "list":
        try:
            return _expand(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a list of numbers") from None
    return text


@dataclass
class IncarFile:
    """A parsed INCAR: typed values, the line of each tag, header comments, problems."""

    path: Path
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    problems: list[tuple[str, str, str, str]] = field(default_factory=list)  # (check, what, expected, found)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """Lines as VASP reads them: a trailing backslash or an open double quote continues a line.

    Each logical line keeps the number of its first physical line; quotes are dropped.
    """
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if pending is not None:
            number, line = pending[0], pending[1] + " " + line
            pending = None
        body = re.split(r"[#!]", line, maxsplit=1)[0]
        if body.rstrip().endswith("\\"):
            pending = (number, body.rstrip()[:-1])
            continue
        if body.count('"') % 2 == 1:
            pending = (number, line)
            continue
        out.append((number, line.replace('"', " ")))
    if pending is not None:
        out.append((pending[0], pending[1].replace('"', " ")))
    return out


def read_incar(path: Path) -> IncarFile:
    """Read an INCAR; malformed lines, unknown tags, repeats and bad types become problems."""
    import difflib

    out = IncarFile(path)
    known = incar_tag_types()
    for number, line in _logical_lines(path.read_text(encoding="utf-8", errors="replace")):
        stripped = line.strip()
        if stripped.startswith(("#", "!")):
            out.header.append(stripped)
            continue
        body = re.split(r"[#!]", line, maxsplit=1)[0]
        for statement in body.split(";"):
            if not statement.strip():
                continue
            tag, eq, raw = statement.partition("=")
            tag = tag.strip().upper()
            if not eq or not _TAG.match(tag) or not raw.strip():
                out.problems.append(("syntax", f"line {number}", "TAG = value", statement.strip()))
                continue
            if tag in out.lines:
                out.problems.append(
                    ("repeated", tag, f"once (first on line {out.lines[tag]})", f"again on line {number}")
                )
                continue
            out.lines[tag] = number
            if tag not in known:
                close = difflib.get_close_matches(tag, list(known), n=1, cutoff=0.75)
                hint = f"a known tag (did you mean {close[0]}?)" if close else "a known VASP or VTST tag"
                out.problems.append(("unknown-tag", tag, hint, tag))
                continue
            info = known[tag]
            try:
                value = parse_value(raw, info.get("type", "str"))
            except ValueError as exc:
                out.problems.append(("type", tag, info.get("type", "str"), str(exc)))
                continue
            allowed = info.get("values")
            if allowed and info.get("type") in ("int",) and value not in allowed:
                out.problems.append(("value", tag, f"one of {allowed}", str(value)))
            out.values[tag] = value
    return out


@dataclass
class KpointsFile:
    """A parsed KPOINTS: ``mode`` is gamma, monkhorst, line, explicit or auto."""

    path: Path
    mode: str
    mesh: tuple[int, int, int] | None = None
    shift: tuple[float, float, float] = (0.0, 0.0, 0.0)
    points: list[tuple[float, float, float]] = field(default_factory=list)
    divisions: int = 0
    coord: str = "reciprocal"


def read_kpoints(path: Path) -> KpointsFile:
    """Read a KPOINTS file.

    Raises
    ------
    ValueError
        Naming the file and line, for a truncated file or an unreadable number.
    """
    lines = [
        ln.split("!")[0].strip() for ln in path.read_text(encoding="utf-8", errors="replace").splitlines()
    ]
    if len(lines) < 3:
        raise ValueError(f"{path}: truncated: {len(lines)} line(s), a KPOINTS needs at least 3")
    try:
        count = int(lines[1].split()[0])
    except (ValueError, IndexError):
        raise ValueError(f"{path}: line 2: expected the number of k-points, found {lines[1]!r}") from None
    style = lines[2][:1].lower()
    try:
        if count == 0 and style in ("g", "m"):
            mesh = tuple(int(x) for x in lines[3].split()[:3])
            shift = (
                tuple(float(x) for x in lines[4].split()[:3]) if len(lines) > 4 and lines[4] else (0.0,) * 3
            )
            if len(mesh) != 3:
                raise ValueError
            return KpointsFile(path, "gamma" if style == "g" else "monkhorst", mesh, shift)  # type: ignore[arg-type]
        if count == 0 and style == "a":
            return KpointsFile(path, "auto")
        if style == "l":
            coord = lines[3][:1].lower()
            points = [tuple(float(x) for x in ln.split()[:3]) for ln in lines[4:] if ln]
            return KpointsFile(
                path,
                "line",
                points=points,
                divisions=count,  # type: ignore[arg-type]
                coord="cartesian" if coord in ("c", "k") else "reciprocal",
            )
        points = [tuple(float(x) for x in ln.split()[:3]) for ln in lines[3 : 3 + count] if ln]
        return KpointsFile(path, "explicit", points=points)  # type: ignore[arg-type]
    except (ValueError, IndexError):
        raise ValueError(f"{path}: malformed k-point lines after line 3") from None


@dataclass
class PoscarFile:
    """A parsed POSCAR (VASP 5 format)."""

    path: Path
    comment: str
    matrix: np.ndarray
    species: list[str]
    counts: list[int]
    frac: np.ndarray
    selective: bool
    fixed: np.ndarray  # (natoms, 3) True where a coordinate is fixed

    @property
    def symbols(self) -> list[str]:
        """Element of every site, in file order."""
        return [s for s, n in zip(self.species, self.counts, strict=True) for _ in range(n)]


def read_poscar(path: Path) -> PoscarFile:
    """Read a POSCAR/CONTCAR with a species line.

    Raises
    ------
    ValueError
        Naming the file and line: no species line (VASP 4 format), a bad lattice line,
        counts that do not match the species, or fewer coordinate lines than atoms.
    """
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    if len(lines) < 8:
        raise ValueError(f"{path}: truncated: {len(lines)} line(s)")
    try:
        scale = float(lines[1].split()[0])
        matrix = np.array([[float(x) for x in lines[i].split()[:3]] for i in (2, 3, 4)])
    except (ValueError, IndexError):
        raise ValueError(f"{path}: lines 2-5: expected a scale factor and three lattice vectors") from None
    if matrix.shape != (3, 3):
        raise ValueError(f"{path}: lines 3-5: each lattice vector needs three numbers")
    if scale < 0:  # a negative scale is the cell volume
        scale = (-scale / abs(np.linalg.det(matrix))) ** (1.0 / 3.0)
    matrix = matrix * scale
    species = lines[5].split()
    if not species or any(not s[0].isalpha() for s in species):
        raise ValueError(f"{path}: line 6: expected element symbols (VASP 5 format), found {lines[5]!r}")
    try:
        counts = [int(x) for x in lines[6].split()]
    except ValueError:
        raise ValueError(f"{path}: line 7: expected atom counts, found {lines[6]!r}") from None
    if len(counts) != len(species):
        raise ValueError(f"{path}: line 7: {len(counts)} counts for {len(species)} species")
    row = 7
    selective = lines[row].strip()[:1].lower() == "s"
    row += 1 if selective else 0
    cartesian = lines[row].strip()[:1].lower() in ("c", "k")
    natoms = sum(counts)
    body = lines[row + 1 : row + 1 + natoms]
    if len(body) < natoms:
        raise ValueError(f"{path}: truncated: {natoms} atoms declared, {len(body)} coordinate lines")
    coords = np.empty((natoms, 3))
    fixed = np.zeros((natoms, 3), dtype=bool)
    for i, line in enumerate(body):
        parts = line.split()
        try:
            coords[i] = [float(x) for x in parts[:3]]
        except (ValueError, IndexError):
            raise ValueError(
                f"{path}: line {row + 2 + i}: expected three coordinates, found {line!r}"
            ) from None
        if selective:
            flags = parts[3:6]
            if len(flags) != 3 or any(f.upper() not in ("T", "F") for f in flags):
                raise ValueError(f"{path}: line {row + 2 + i}: expected three T/F selective-dynamics flags")
            fixed[i] = [f.upper() == "F" for f in flags]
    frac = np.linalg.solve(matrix.T, (coords * scale).T).T if cartesian else coords
    return PoscarFile(path, lines[0].strip(), matrix, species, counts, frac, selective, fixed)


def read_potcar_symbols(folder: Path) -> tuple[list[str], str] | None:
    """POTCAR symbols from ``POTCAR`` (TITEL lines) or ``POTCAR.spec``, and which file; None if neither."""
    potcar = folder / "POTCAR"
    if potcar.is_file():
        titles = re.findall(r"TITEL\s*=\s*\S+\s+(\S+)", potcar.read_text(encoding="utf-8", errors="replace"))
        return titles, "POTCAR"
    spec = folder / "POTCAR.spec"
    if spec.is_file():
        return [
            ln.strip() for ln in spec.read_text(encoding="utf-8").splitlines() if ln.strip()
        ], "POTCAR.spec"
    return None
