"""A fast, strict vasprun.xml reader.

vasprun.xml is mostly large tables of ``<r>`` rows (eigenvalues, DOS). Instead of building
an XML tree, the file is read once as bytes, the blocks are located by their tags, and
each table is converted to numbers in a few large slices with NumPy's C parser. Only what
is asked for is converted: ``electronic=False`` skips eigenvalues and DOS altogether.

The VASP 5.4 quirk: in VASP ≤ 5.4.4 the ``e_0_energy`` of the ionic step's ``<energy>``
block is wrong (it is not extrapolated from the step's own free energy; see the VASP forum
thread 16942, and pymatgen's ``Vasprun.final_energy``). The correct value is the step's
``e_fr_energy`` plus the ``e_0_energy − e_fr_energy`` of its last SCF iteration, which is
what OUTCAR prints as ``energy(sigma->0)``; :func:`read_vasprun` always uses that and
records whether the stored value differed.
"""

from __future__ import annotations

import mmap
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cztflow.analysis.errors import (
    MalformedFileError,
    NoEnergyError,
    OverflowFieldError,
    TruncatedFileError,
    UnfinishedRunError,
)
from cztflow.analysis.run import MANY_BODY_ALGOS, RunSummary, convergence_issues
from cztflow.analysis.textfile import load, parse_floats

__all__ = ["Vasprun", "read_vasprun"]

_ITEM = re.compile(rb"<i\s+([^>]*)>([^<]*)</i>")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')
_TAG = re.compile(rb"<[^>]*>")
_EFERMI = re.compile(rb'<i name="efermi">\s*(\S+)\s*</i>')
_CHUNK = 8 << 20


@dataclass
class Vasprun(RunSummary):
    """A :class:`RunSummary` plus the electronic structure of the last ionic step.

    Attributes
    ----------
    kpoints, kpoint_weights
        Fractional k-points (nk × 3) and their weights.
    reciprocal_lattice
        Reciprocal lattice (rows, 1/Å, without 2π).
    eigenvalues, occupations
        Arrays of shape (nspin, nk, nbands); occupations run from 0 to 1 for every ISPIN.
    dos_energies, dos_total, dos_integrated
        Total DOS: energies (eV, absolute) and arrays of shape (nspin, nedos).
    pdos, pdos_orbitals
        Projected DOS of shape (nions, nspin, nedos, norbitals) and the orbital names, or
        None when the run wrote none (LORBIT unset).
    e0_quirk
        True when the stored ``e_0_energy`` of the last step was wrong (VASP ≤ 5.4) and
        was recomputed.
    dos_error
        Why the DOS is None although the file has a ``<dos>`` block (an overflowed field),
        else None. Eigenvalues and occupations are still read.
    """

    kpoints: np.ndarray | None = None
    kpoint_weights: np.ndarray | None = None
    reciprocal_lattice: np.ndarray | None = None
    eigenvalues: np.ndarray | None = None
    occupations: np.ndarray | None = None
    dos_energies: np.ndarray | None = None
    dos_total: np.ndarray | None = None
    dos_integrated: np.ndarray | None = None
    pdos: np.ndarray | None = None
    pdos_orbitals: list[str] = field(default_factory=list)
    e0_quirk: bool = False
    dos_error: str | None = None


def _span(data: bytes, tag: bytes, start: int, end: int, path: Path) -> tuple[int, int] | None:
    """Inner span of the first ``<tag ...>...</tag>`` in [start, end), or None."""
    at = data.find(b"<" + tag, start, end)
    while at >= 0 and data[at + 1 + len(tag) : at + 2 + len(tag)] not in (b">", b" ", b"\n"):
        at = data.find(b"<" + tag, at + 1, end)
    if at < 0:
        return None
    inner = data.find(b">", at, end) + 1
    close = data.find(b"</" + tag + b">", inner, end)
    if close < 0:
        raise TruncatedFileError(path, f"<{tag.decode()}> at byte {at} is never closed")
    return inner, close


def _numbers(data: bytes, start: int, end: int, path: Path, what: str) -> np.ndarray:
    """All numbers of the ``<r>``/``<v>`` rows in [start, end), converted in large slices."""
    parts = []
    pos = start
    while pos < end:
        stop = end
        if end - pos > _CHUNK:
            stop = data.rfind(b"\n", pos, pos + _CHUNK) + 1 or end
        text = data[pos:stop]
        if b"<" in text:
            text = _TAG.sub(b" ", text)
        try:
            parts.append(parse_floats(text))
        except ValueError:
            if b"*" in text:
                raise OverflowFieldError(
                    path, f"{what}: a field overflowed (*****), its value is lost"
                ) from None
            bad = next(t for t in text.split() if not _is_number(t))
            raise MalformedFileError(
                path, f"{what}: {bad.decode(errors='replace')!r} is not a number"
            ) from None
        if not np.isfinite(parts[-1].sum()):
            raise MalformedFileError(path, f"{what}: a value is NaN or infinite, not a number VASP writes")
        pos = stop
    return np.concatenate(parts) if parts else np.empty(0)


def _finite(raw: bytes, path: Path, what: str) -> float:
    """One number of an ``<i>`` item; an overflow, NaN or text is refused, naming the item."""
    if b"*" in raw:
        raise OverflowFieldError(path, f"{what}: a field overflowed ({raw.decode(errors='replace')})")
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not np.isfinite(value):
        raise MalformedFileError(path, f"{what}: {raw.decode(errors='replace')!r} is not a finite number")
    return value


def _count(data, sub: bytes, start: int, end: int) -> int:
    """``bytes.count`` that also works on a memory map."""
    return data[start:end].count(sub)


def _is_number(token: bytes) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _table(data: bytes, start: int, end: int, ncols: int, path: Path, what: str) -> np.ndarray:
    first_set = data.find(b"<set", start, end)
    if first_set >= 0:  # skip the <dimension> and <field> header of an <array>
        start = first_set
    nrows = _count(data, b"<r>", start, end) or _count(data, b"<v", start, end)
    values = _numbers(data, start, end, path, what)
    if values.size != nrows * ncols:
        raise MalformedFileError(path, f"{what}: {values.size} numbers in {nrows} rows of {ncols} columns")
    return values.reshape(nrows, ncols)


def _varray(data: bytes, name: bytes, start: int, end: int, path: Path) -> np.ndarray | None:
    at = data.find(b'<varray name="' + name + b'"', start, end)
    if at < 0:
        return None
    inner = data.find(b">", at) + 1
    close = data.find(b"</varray>", inner, end)
    if close < 0:
        raise TruncatedFileError(path, f"varray {name.decode()!r} at byte {at} is never closed")
    return _table(data, inner, close, 3, path, f"varray {name.decode()!r}")


def _items(block: bytes) -> dict[str, str]:
    items: dict[str, str] = {}
    for attrs, value in _ITEM.findall(block):
        names = dict(_ATTR.findall(attrs))
        key = names.get(b"name", b"").decode()
        if key and key not in items:
            items[key] = value.decode(errors="replace").strip()
    return items


def _typed(params: dict[str, str], path: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for keys, kind in (
        (("NELM", "NSW", "IBRION", "ISPIN", "ISMEAR", "NBANDS", "NEDOS", "IMAGES"), int),
        (("EDIFF", "EDIFFG", "SIGMA", "ENCUT", "NELECT"), float),
    ):
        for key in keys:
            if "*" in params.get(key, ""):
                raise OverflowFieldError(path, f"parameter {key} overflowed ({params[key]})")
            try:
                out[key] = kind(float(params[key]))
            except (KeyError, ValueError):
                continue
    return out


def _energies(data: bytes, start: int, end: int, path: Path, what: str) -> dict[str, float]:
    out = {}
    for key, value in _items(data[start:end]).items():
        if key.startswith("e_"):
            if "*" in value:
                raise OverflowFieldError(path, f"{what}: {key} overflowed ({value})")
            try:
                out[key] = float(value)
            except ValueError:
                raise MalformedFileError(path, f"{what}: {key} is {value!r}, not a number") from None
            if not np.isfinite(out[key]):
                raise MalformedFileError(path, f"{what}: {key} is {value!r}, not a finite number")
    return out


def _species(data: bytes, path: Path) -> list[str]:
    span = _span(data, b"atominfo", 0, len(data), path)
    if span is None:
        raise MalformedFileError(path, "no <atominfo> block: not a vasprun.xml")
    block = data[span[0] : span[1]]
    atoms = block.find(b'<array name="atoms"')
    rows = re.findall(
        rb"<rc><c>\s*([A-Za-z]+)\s*</c><c>\s*\d+\s*</c></rc>", block[atoms : block.find(b"</array>", atoms)]
    )
    if not rows:
        raise MalformedFileError(path, "<atominfo> lists no atoms")
    return [r.decode() for r in rows]


def _calculation_tags(data) -> tuple[int, int, bool]:
    """Counts of ``<calculation>`` and ``</calculation>`` in one pass, and whether they alternate."""
    opened = closed = 0
    alternate = True
    at = data.find(b"calculation>")
    while at >= 0:
        if data[at - 2 : at] == b"</":
            closed += 1
            alternate &= opened == closed
        elif data[at - 1 : at] == b"<":
            opened += 1
            alternate &= opened == closed + 1
        at = data.find(b"calculation>", at + 12)
    return opened, closed, alternate


def _check_balance(path: Path, finished: bool, opened: int, closed: int, alternate: bool) -> None:
    """Refuse a file whose ionic steps do not nest (interleaved writes, e.g. NEB images)."""
    if alternate and (opened == closed or (not finished and opened == closed + 1)):
        return
    raise MalformedFileError(
        path,
        f"{opened} <calculation> but {closed} </calculation>, not nested in turn: the XML is corrupted, "
        "as when several processes (NEB images) write into one vasprun.xml; read each image's OUTCAR",
    )


#: Elements whose opening and closing tags must balance inside the last ionic step. A lost
#: closing tag (a damaged copy) would let a block run into the next one.
_NESTED_TAGS = (
    b"scstep",
    b"structure",
    b"varray",
    b"energy",
    b"eigenvalues",
    b"dos",
    b"total",
    b"partial",
    b"projected",
    b"array",
    b"set",
)


def _check_step(data: bytes, start: int, end: int, path: Path, step: str) -> None:
    for tag in _NESTED_TAGS:
        block = data[start:end]
        opened = block.count(b"<" + tag + b">") + block.count(b"<" + tag + b" ")
        closed = block.count(b"</" + tag + b">")
        if opened != closed:
            raise MalformedFileError(
                path,
                f"{step}: {opened} <{tag.decode()}> but {closed} </{tag.decode()}>: the XML is corrupted",
            )


def _inside(data: bytes, at: int, start: int, tag: bytes) -> bool:
    """Whether offset ``at`` lies inside an element whose name starts with ``tag``."""
    return data.rfind(b"<" + tag, start, at) > data.rfind(b"</" + tag, start, at)


def _ionic_energy(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    """Inner span of the ionic step's own ``<energy>``: the last one not inside an ``<scstep>``."""
    at = data.rfind(b"<energy>", start, end)
    while at >= 0 and _inside(data, at, start, b"scstep>"):
        at = data.rfind(b"<energy>", start, data.rfind(b"<scstep>", start, at))
    if at < 0:
        return None
    close = data.find(b"</energy>", at, end)
    return None if close < 0 else (at + len(b"<energy>"), close)


#: Containers whose ``<eigenvalues>`` are not the step's own (KPOINTS_OPT, projections).
_SIDE_BLOCKS = (b"eigenvalues_kpoints_opt", b"projected")


def _main_eigenvalues(data: bytes, start: int, end: int, path: Path) -> tuple[int, int] | None:
    """The step's own ``<eigenvalues>`` block, skipping those of KPOINTS_OPT and PROCAR-like blocks."""
    at = data.find(b"<eigenvalues>", start, end)
    while at >= 0 and any(_inside(data, at, start, tag) for tag in _SIDE_BLOCKS):
        at = data.find(b"<eigenvalues>", at + 1, end)
    if at < 0:
        return None
    return _span(data, b"eigenvalues", at, end, path)


def _last_dos(data: bytes, start: int, end: int, path: Path) -> tuple[int, int] | None:
    """The step's main ``<dos>``: the last one, after ``<eigenvalues>`` (VASP 6 writes a
    ``<dos comment="kpoints_opt">`` before it, and some builds write several)."""
    at = data.rfind(b"<dos", start, end)
    while at >= 0 and data[at + 4 : at + 5] not in (b">", b" ", b"\n"):
        at = data.rfind(b"<dos", start, at)
    if at < 0:
        return None
    return _span(data, b"dos", at, end, path)


def _dos_efermi(data: bytes, dos: tuple[int, int], path: Path) -> float | None:
    """E-fermi of a ``<dos>``; None when it has no efermi item, refused when the item is
    there but is not one number closed by ``</i>`` (a damaged copy gives no number)."""
    fermi = _EFERMI.search(data, dos[0], dos[1])
    if fermi:
        return _finite(fermi.group(1), path, "E-fermi of the DOS")
    at = data.find(b'<i name="efermi">', dos[0], dos[1])
    if at >= 0:
        line = bytes(data[at : data.find(b"\n", at, dos[1])]).decode(errors="replace")
        raise MalformedFileError(
            path, f"E-fermi of the DOS: {line.strip()!r} is not one number closed by </i>"
        )
    return None


def _gw_label(data: bytes) -> str:
    match = re.search(rb'name="ALGO">\s*([^<\s]*)', data[: data.find(b"</incar>")])
    return f"ALGO = {match.group(1).decode()}" if match else "ALGO unknown"


def _is_gw(data: bytes) -> bool:
    """Whether the INCAR asks for a GW/RPA/BSE run, which writes no total energy."""
    match = re.search(rb'name="ALGO">\s*([^<\s]*)', data[: data.find(b"</incar>")])
    return bool(match) and match.group(1).decode().upper() in MANY_BODY_ALGOS


def _where_cut(data: bytes) -> str:
    tail = data[-4000:]
    opened = re.findall(rb"<(calculation|scstep|eigenvalues|dos|projected|structure)\b", tail)
    return f"inside <{opened[-1].decode()}>" if opened else "before its end"


def read_vasprun(path: str | Path, *, electronic: bool = True, partial: bool = False) -> Vasprun:
    """Read a vasprun.xml (plain, .gz, .bz2 or .xz).

    Parameters
    ----------
    path
        The file.
    electronic
        Also read eigenvalues, occupations and the total and projected DOS.
    partial
        Accept a file cut off before ``</modeling>`` and return its last complete ionic
        step, flagged ``finished=False``. Off by default: a cut file raises.

    Raises
    ------
    TruncatedFileError
        If the file does not end with ``</modeling>`` (and ``partial`` is False).
    UnfinishedRunError
        If no ionic step is complete.
    MalformedFileError, OverflowFieldError
        If a block has the wrong shape or a field overflowed.
    """
    path = Path(path)
    data = load(path)
    try:
        return _read(data, path, electronic=electronic, partial=partial)
    finally:
        if isinstance(data, mmap.mmap):
            data.close()


def _read(data, path: Path, *, electronic: bool, partial: bool) -> Vasprun:
    if b"<modeling>" not in data[:2000]:
        raise MalformedFileError(path, "no <modeling> root element: not a vasprun.xml")
    opened, complete_calcs, alternate = _calculation_tags(data)
    finished = data[-1000:].rstrip().endswith(b"</modeling>")
    if not finished and not partial:
        raise TruncatedFileError(
            path,
            f"file is cut off {_where_cut(data)} after {complete_calcs} complete ionic steps "
            f"(no closing </modeling>): the run was killed or the copy is incomplete",
        )
    if complete_calcs == 0:
        raise UnfinishedRunError(path, "no ionic step completed (no closing </calculation>)")

    _check_balance(path, finished, opened, complete_calcs, alternate)
    generator = _items(data[: data.find(b"</generator>")])
    version_match = re.search(r"\d+\.\d+\.\d+", generator.get("version", ""))
    version = version_match.group(0) if version_match else "unknown"
    params_span = _span(data, b"parameters", 0, len(data), path)
    params = _typed(_items(data[params_span[0] : params_span[1]]), path) if params_span else {}
    species = _species(data, path)

    calc_end = data.rfind(b"</calculation>")
    calc_start = data.rfind(b"<calculation>", 0, calc_end)
    step = f"ionic step {complete_calcs}"
    if _is_gw(data):
        no_energy = NoEnergyError(path, f"no total energy in a GW run ({_gw_label(data)})")
        if not electronic:
            raise no_energy
        return _gw_result(data, path, version, species, params, (calc_start, calc_end), no_energy.cause)
    ionic_span = _ionic_energy(data, calc_start, calc_end)
    if ionic_span is None:
        if data.find(b"</scstep>", calc_start, calc_end) < 0:
            raise UnfinishedRunError(path, f"{step} has no SCF iteration")
        raise MalformedFileError(path, f"{step} has no <energy> block after its SCF iterations")
    # The ground-state SCF is what precedes the step's own <energy>; linear-response runs
    # (LEPSILON, IBRION 7/8) append further <scstep>s after it, which are not the energy.
    last_sc = data.rfind(b"</scstep>", calc_start, ionic_span[0])
    if last_sc < 0:
        raise UnfinishedRunError(path, f"{step} has no SCF iteration before its <energy> block")
    sc_start = data.rfind(b"<scstep>", calc_start, last_sc)
    scf = _energies(data, sc_start, last_sc, path, f"last SCF iteration of {step}")
    _check_step(data, calc_start, calc_end, path, step)
    ionic = _energies(data, *ionic_span, path, step)
    try:
        e_fr = ionic["e_fr_energy"]
        # VASP <= 5.4 shifts the fields of the step's <energy> block (e_wo_entrp holds
        # sigma->0, e_0_energy garbage); the last SCF iteration holds all three correctly.
        e_0 = round(e_fr + scf["e_0_energy"] - scf["e_fr_energy"], 8)
        e_wo = round(e_fr + scf["e_wo_entrp"] - scf["e_fr_energy"], 8)
    except KeyError as exc:
        raise MalformedFileError(path, f"{step}: energy block lacks {exc.args[0]}") from None
    quirk = abs(e_0 - ionic.get("e_0_energy", e_0)) > 1e-6

    n_sc = _count(data, b"<scstep>", calc_start, last_sc)
    previous = data.rfind(b"</scstep>", calc_start, sc_start)
    change = None
    if previous >= 0:
        prev = _energies(data, data.rfind(b"<scstep>", calc_start, previous), previous, path, step)
        change = scf["e_fr_energy"] - prev["e_fr_energy"]

    struct = _span(data, b"structure", calc_start, calc_end, path) or (calc_start, calc_start)
    basis = _varray(data, b"basis", *struct, path)
    frac = _varray(data, b"positions", *struct, path)
    forces = _varray(data, b"forces", struct[1], calc_end, path)
    if basis is None or frac is None:
        raise MalformedFileError(path, f"{step} has no structure")
    if len(frac) != len(species):
        raise MalformedFileError(path, f"{len(frac)} positions but {len(species)} atoms in <atominfo>")

    ionic_change = None
    if complete_calcs > 1:
        prev_end = data.rfind(b"</calculation>", 0, calc_start)
        prev_sc = data.rfind(b"</scstep>", 0, prev_end)
        prev_span = _span(data, b"energy", prev_sc, prev_end, path)
        if prev_span:
            ionic_change = e_fr - _energies(data, *prev_span, path, step).get("e_fr_energy", e_fr)
    elec_ok, ionic_ok, issues = convergence_issues(
        params,
        electronic_steps=n_sc,
        last_energy_change=change,
        ionic_steps=complete_calcs,
        reached_accuracy=None,
        max_force=None if forces is None else float(np.linalg.norm(forces, axis=1).max()),
        last_ionic_change=ionic_change,
    )
    if not finished:
        issues.insert(0, f"file is cut off {_where_cut(data)}; read up to ionic step {complete_calcs}")

    result = Vasprun(
        path=path,
        vasp_version=version,
        final_energy=e_0,
        free_energy=e_fr,
        energy_without_entropy=e_wo,
        efermi=None,
        ionic_steps=complete_calcs,
        electronic_steps=n_sc,
        electronic_converged=elec_ok,
        ionic_converged=ionic_ok,
        finished=finished,
        species=species,
        lattice=basis,
        positions=frac @ basis,
        forces=forces,
        parameters=params,
        issues=issues,
        e0_quirk=quirk,
    )
    dos_span = _last_dos(data, ionic_span[1], calc_end, path)
    if dos_span:
        result.efermi = _dos_efermi(data, dos_span, path)
    if electronic:
        _read_electronic(data, result, ionic_span[1], calc_end, dos_span, path)
    return result


def _gw_result(
    data: bytes,
    path: Path,
    version: str,
    species: list[str],
    params: dict[str, Any],
    calc: tuple[int, int],
    cause: str,
) -> Vasprun:
    """A GW/RPA run: its eigenvalues (quasiparticle energies) and structure, no energy."""
    struct = _span(data, b"structure", *calc, path) or _final_structure(data, path)
    basis = _varray(data, b"basis", *struct, path)
    frac = _varray(data, b"positions", *struct, path)
    if basis is None or frac is None:
        raise MalformedFileError(path, "GW run: no structure")
    result = Vasprun(
        path=path,
        vasp_version=version,
        final_energy=None,
        free_energy=None,
        energy_without_entropy=None,
        efermi=None,
        ionic_steps=0,
        electronic_steps=0,
        electronic_converged=True,
        ionic_converged=True,
        finished=True,
        species=species,
        lattice=basis,
        positions=frac @ basis,
        parameters=params,
        issues=[cause],
    )
    dos_span = _last_dos(data, *calc, path)
    if dos_span:
        result.efermi = _dos_efermi(data, dos_span, path)
    _read_electronic(data, result, calc[0], calc[1], dos_span, path)
    return result


def _final_structure(data: bytes, path: Path) -> tuple[int, int]:
    at = data.rfind(b'<structure name="finalpos"')
    span = _span(data, b"structure", at, len(data), path) if at >= 0 else None
    if span is None:
        raise MalformedFileError(path, "GW run: no final structure")
    return span


def _read_electronic(
    data: bytes, result: Vasprun, start: int, end: int, dos_span: tuple[int, int] | None, path: Path
) -> None:
    kspan = _span(data, b"kpoints", 0, len(data), path)
    if kspan:
        result.kpoints = _varray(data, b"kpointlist", *kspan, path)
        weights = data.find(b'<varray name="weights"', *kspan)
        if weights >= 0:
            close = data.find(b"</varray>", weights)
            result.kpoint_weights = _numbers(
                data, data.find(b">", weights) + 1, close, path, "k-point weights"
            )
    result.reciprocal_lattice = np.linalg.inv(result.lattice).T
    eig = _main_eigenvalues(data, start, end, path)
    nk = 0 if result.kpoints is None else len(result.kpoints)
    if eig and nk:
        nspin = _count(data, b'comment="spin', *eig)
        table = _table(data, *eig, 2, path, "eigenvalues")
        if nspin == 0 or table.shape[0] % (nspin * nk):
            raise MalformedFileError(
                path, f"eigenvalues: {table.shape[0]} rows do not fit {nspin} spins × {nk} k-points"
            )
        table = table.reshape(nspin, nk, -1, 2)
        result.eigenvalues, result.occupations = table[..., 0].copy(), table[..., 1].copy()
    if not dos_span:
        return
    try:
        _read_dos(data, result, dos_span, path)
    except OverflowFieldError as exc:
        # The eigenvalues (band gap) do not depend on the DOS: keep them, drop the DOS.
        result.dos_energies = result.dos_total = result.dos_integrated = result.pdos = None
        result.pdos_orbitals = []
        result.dos_error = exc.cause
        result.issues.append(f"DOS not available: {exc.cause}")


def _read_dos(data: bytes, result: Vasprun, dos_span: tuple[int, int], path: Path) -> None:
    total = _span(data, b"total", *dos_span, path)
    if total:
        nspin = _count(data, b'comment="spin', *total)
        table = _table(data, *total, 3, path, "total DOS").reshape(nspin, -1, 3)
        result.dos_energies = table[0, :, 0].copy()
        result.dos_total, result.dos_integrated = table[..., 1].copy(), table[..., 2].copy()
    part = _span(data, b"partial", *dos_span, path)
    if part and result.dos_energies is not None:
        fields = re.findall(rb"<field>\s*([^<]*?)\s*</field>", data[part[0] : data.find(b"<set>", *part)])
        orbitals = [f.decode() for f in fields[1:]]
        nions = _count(data, b'comment="ion ', *part)
        table = _table(data, *part, len(fields), path, "projected DOS")
        result.pdos = table.reshape(nions, -1, result.dos_energies.size, len(fields))[..., 1:].copy()
        result.pdos_orbitals = orbitals
