"""Checks of one VASP input folder against the protocol and basic physics.

Each check appends :class:`Problem` tuples ``(file, check, item, expected, found)``; the
validator adds the folder.  Only NumPy-level imports: this is the CI dry-run path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from cztflow import geometry
from cztflow.protocol import Protocol
from cztflow.workflows.incar_policy import policy_violations
from cztflow.workflows.lock import (
    KPOINTS_TAG,
    SPIN_TAG,
    Deviation,
    deviation_for,
    lock_violations,
    same_value,
)
from cztflow.workflows.vaspfiles import (
    IncarFile,
    KpointsFile,
    PoscarFile,
    read_incar,
    read_kpoints,
    read_poscar,
    read_potcar_symbols,
)

__all__ = ["FolderInputs", "Problem", "check_folder", "infer_calc", "load_folder"]

#: NEB images: the largest displacement of any atom between neighbouring images (Å), and
#: the largest ratio between the longest and shortest image spacing.
NEB_MAX_STEP = 1.5
NEB_MAX_SPACING_RATIO = 3.0
#: How far (Å, along the normal) DIPOL may sit from the slab's centre of mass.
DIPOL_TOLERANCE = 1.0
_PSEUDO_H = {
    "H",
    "H.25",
    "H.33",
    "H.42",
    "H.5",
    "H.58",
    "H.66",
    "H.75",
    "H1.25",
    "H1.33",
    "H1.5",
    "H1.66",
    "H1.75",
}


class Problem(NamedTuple):
    """One finding in a folder: which file, which check, the item, expected and found."""

    file: str
    check: str
    item: str
    expected: str
    found: str


@dataclass
class FolderInputs:
    """What the validator read from one folder."""

    folder: Path
    incar: IncarFile | None
    kpoints: KpointsFile | None
    poscars: dict[str, PoscarFile] = field(default_factory=dict)  # "POSCAR" or "00/POSCAR", ...
    potcar: tuple[list[str], str] | None = None
    images: list[str] = field(default_factory=list)  # NEB image folders, sorted
    problems: list[Problem] = field(default_factory=list)


def _show(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_show(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def load_folder(folder: Path) -> FolderInputs:
    """Read INCAR, KPOINTS, POSCAR(s) and POTCAR symbols; unreadable files become problems."""
    out = FolderInputs(folder, None, None)
    if (folder / "INCAR").is_file():
        out.incar = read_incar(folder / "INCAR")
        out.problems += [Problem("INCAR", *p) for p in out.incar.problems]
    else:
        out.problems.append(Problem("INCAR", "missing", "INCAR", "an INCAR file", "none"))
    if (folder / "KPOINTS").is_file():
        try:
            out.kpoints = read_kpoints(folder / "KPOINTS")
        except ValueError as exc:
            out.problems.append(Problem("KPOINTS", "malformed", "KPOINTS", "a readable KPOINTS", str(exc)))
    else:  # KSPACING never stands in for the protocol's mesh (the allow-list refuses it too)
        out.problems.append(Problem("KPOINTS", "missing", "KPOINTS", "a KPOINTS file", "none"))
    out.images = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name.isdigit())
    names = [f"{d}/POSCAR" for d in out.images] if out.images else ["POSCAR"]
    for name in names:
        if not (folder / name).is_file():
            out.problems.append(Problem(name, "missing", name, "a POSCAR", "none"))
            continue
        # a runner seeds POSCAR from the parents' results and keeps the written one as
        # POSCAR.orig: the campaign's inputs are what the protocol governs
        written = folder / f"{name}.orig"
        try:
            out.poscars[name] = read_poscar(written if written.is_file() else folder / name)
        except ValueError as exc:
            out.problems.append(Problem(name, "malformed", name, "a readable POSCAR", str(exc)))
    out.potcar = read_potcar_symbols(folder)
    if out.potcar is None:
        out.problems.append(Problem("POTCAR", "missing", "POTCAR", "POTCAR or POTCAR.spec", "neither"))
    return out


def infer_calc(incar: dict[str, Any], kpoints: KpointsFile | None) -> str:
    """The calculation kind an INCAR describes, for folders outside a campaign."""
    if int(incar.get("IMAGES", 0) or 0) > 0:
        return "neb"
    if int(incar.get("ICHARG", 0) or 0) == 11:
        return "bands" if kpoints is not None and kpoints.mode == "line" else "dos"
    if incar.get("LVHAR") or incar.get("LVTOT"):
        return "workfunction"
    if "NGXF" in incar:
        return "chgdiff"
    if int(incar.get("NSW", 0) or 0) > 0 and int(incar.get("IBRION", -1)) >= 0:
        return "relax-bulk" if int(incar.get("ISIF", 2)) >= 3 else "relax"
    return "static"


def _geometry(pos: PoscarFile, protocol: Protocol) -> tuple[str, np.ndarray]:
    gaps = geometry.axis_gaps(pos.matrix, pos.frac)
    threshold = float(protocol.decision("geometry_detection").value["vacuum_gap"])
    return geometry.cell_kind(gaps, threshold), gaps


@dataclass
class Checker:
    """Runs every check of one folder; ``problems`` collects the findings."""

    inputs: FolderInputs
    calc: str
    protocol: Protocol
    node: str
    deviations: Sequence[Deviation]
    problems: list[Problem] = field(default_factory=list)

    def add(self, file: str, check: str, item: str, expected: Any, found: Any) -> None:
        self.problems.append(Problem(file, check, item, _show(expected), _show(found)))

    @property
    def tags(self) -> dict[str, Any]:
        return self.inputs.incar.values if self.inputs.incar else {}

    @property
    def first(self) -> PoscarFile | None:
        return next(iter(self.inputs.poscars.values()), None)

    # ---- INCAR ---------------------------------------------------------------------------------
    def locked(self) -> None:
        for tag, expected, found in lock_violations(
            self.tags, self.protocol.locked_vasp_tags(self.calc), self.node, self.deviations
        ):
            self.add("INCAR", "locked", tag, expected, "missing" if found is None else found)
        for check, tag, expected, found in policy_violations(
            self.tags, self.protocol, self.calc, self.node, self.deviations
        ):
            self.add("INCAR", check, tag, expected, found)
        if self.calc != "neb":
            for tag in ("IMAGES", "LCLIMB"):
                if self.tags.get(tag):
                    self.add("INCAR", "contradiction", tag, f"no {tag} outside a NEB", self.tags[tag])

    def contradictions(self, kind: str) -> None:
        t = self.tags
        nsw, ibrion = int(t.get("NSW", 0) or 0), int(t.get("IBRION", -1 if not t.get("NSW") else 0))
        if ibrion == -1 and nsw > 0:
            self.add("INCAR", "contradiction", "NSW", "0 with IBRION = -1 (no ionic update)", nsw)
        if self.calc.startswith("relax") and nsw == 0:
            self.add("INCAR", "contradiction", "NSW", "> 0 for a relaxation", nsw)
        if kind in ("slab", "molecule") and int(t.get("ISIF", 2)) >= 3:
            self.add("INCAR", "physics", "ISIF", f"≤ 2 for a {kind} (ISIF ≥ 3 closes the vacuum)", t["ISIF"])
        if t.get("KSPACING") is not None and self.inputs.kpoints is not None:
            self.add(
                "INCAR", "contradiction", "KSPACING", "absent (a KPOINTS file overrides it)", t["KSPACING"]
            )
        if t.get("LDIPOL") and "IDIPOL" not in t:
            self.add("INCAR", "contradiction", "IDIPOL", "set when LDIPOL = .TRUE.", "missing")

    def decisions(self, kind: str, pos: PoscarFile) -> None:
        p, t = self.protocol, self.tags
        wanted = p.initial_moments(pos.symbols)
        unpolarised = deviation_for(SPIN_TAG, self.node, self.deviations) is not None
        if unpolarised:  # a declared ISPIN = 1 deviation: no moments wanted
            wanted = [0.0] * len(wanted)
        magmom = t.get("MAGMOM")
        if magmom is not None and len(magmom) != len(wanted):
            self.add(
                "INCAR", "magmom", "MAGMOM", f"{len(wanted)} values (one per atom)", f"{len(magmom)} values"
            )
        elif any(wanted):
            if int(t.get("ISPIN", 1)) != 2:
                self.add(
                    "INCAR", "decision", "ISPIN", "2 (Co or K present: spin_polarisation)", t.get("ISPIN", 1)
                )
            if magmom is None or not same_value("MAGMOM", magmom, wanted):
                self.add("INCAR", "decision", "MAGMOM", "initial_magmom per atom", magmom or "missing")
        elif int(t.get("ISPIN", 1)) != 1:
            why = "declared deviation" if unpolarised else "no initial moment: spin_polarisation"
            self.add("INCAR", "decision", "ISPIN", f"1 ({why})", t["ISPIN"])
        if int(t.get("ISPIN", 1)) == 1 and magmom is not None and any(magmom):
            self.add("INCAR", "contradiction", "MAGMOM", "no moments with ISPIN = 1", "non-zero moments")
        small = len(wanted) <= int(p.decision("lreal_bulk_max_atoms").value)
        lreal = t.get("LREAL", False)
        want_lreal = False if small else p.decision("lreal").vasp["LREAL"]
        if not same_value("LREAL", lreal, want_lreal):
            self.add("INCAR", "decision", "LREAL", f"{_show(want_lreal)} for {len(wanted)} atoms", lreal)

    def calc_rules(self, kind: str) -> None:
        t, p = self.tags, self.protocol
        if self.calc == "workfunction" and not (t.get("LVHAR") or t.get("LVTOT")):
            self.add("INCAR", "workfunction", "LVHAR", ".TRUE. (LOCPOT for the planar average)", "missing")
        if self.calc in ("bands", "dos"):
            if int(t.get("ICHARG", 0) or 0) != 11:
                self.add(
                    "INCAR",
                    self.calc,
                    "ICHARG",
                    "11 (non-self-consistent from CHGCAR)",
                    t.get("ICHARG", "missing"),
                )
            if self.calc == "dos" and "LORBIT" not in t:
                self.add("INCAR", "dos", "LORBIT", "11 (projected DOS)", "missing")
        if self.calc == "neb":
            for tag, want in p.decision("neb_optimiser").vasp.items():
                if tag == "SPRING":
                    continue
                if tag not in t or not same_value(tag, t[tag], want):
                    self.add("INCAR", "neb", tag, f"{_show(want)} (VTST optimiser)", t.get(tag, "missing"))
        if self.calc == "chgdiff":
            for tag in ("NGXF", "NGYF", "NGZF"):
                if tag not in t:
                    self.add("INCAR", "chgdiff", tag, "a pinned FFT grid", "missing")

    def dipole(self, kind: str, pos: PoscarFile, whole_dipol: Any = None) -> None:
        t = self.tags
        if kind == "slab":
            if not t.get("LDIPOL"):
                self.add(
                    "INCAR",
                    "dipole",
                    "LDIPOL",
                    ".TRUE. on a slab (dipole_correction)",
                    t.get("LDIPOL", "missing"),
                )
                return
            if int(t.get("IDIPOL", 0) or 0) != 3:
                self.add(
                    "INCAR", "dipole", "IDIPOL", "3 (along the surface normal)", t.get("IDIPOL", "missing")
                )
            dipol = t.get("DIPOL")
            if dipol is None or len(dipol) != 3:
                self.add("INCAR", "dipole", "DIPOL", "three fractional coordinates", dipol or "missing")
                return
            if whole_dipol is not None:
                if not same_value("DIPOL", dipol, whole_dipol):
                    self.add("INCAR", "dipole", "DIPOL", f"{_show(whole_dipol)} (the whole system's)", dipol)
                return
            centre = geometry.slab_centre(pos.frac[:, 2], pos.symbols)
            delta = (float(dipol[2]) - centre + 0.5) % 1.0 - 0.5
            height = abs(float(np.linalg.det(pos.matrix))) / float(np.linalg.norm(np.cross(*pos.matrix[:2])))
            if abs(delta) * height > DIPOL_TOLERANCE:
                self.add("INCAR", "dipole", "DIPOL", f"z ≈ {centre:.3f} (slab centre of mass)", dipol[2])
        else:  # IDIPOL alone corrects the energy (and DIPOL places it): none of them off a slab
            for tag in ("LDIPOL", "IDIPOL", "DIPOL"):
                if t.get(tag) is not None and t.get(tag) is not False:
                    self.add("INCAR", "dipole", tag, f"absent on a {kind} cell", t[tag])

    # ---- KPOINTS --------------------------------------------------------------------------------
    def kpoints(self, kind: str, pos: PoscarFile) -> None:
        k, p = self.inputs.kpoints, self.protocol
        if k is None:
            return
        if self.calc == "bands":
            if k.mode != "line":
                self.add("KPOINTS", "kpoints", "mode", "line mode (band path)", k.mode)
            elif kind == "slab" and any(abs(pt[2]) > 1e-6 for pt in k.points):
                self.add("KPOINTS", "kpoints", "path", "k_z = 0 on a slab", "points with k_z ≠ 0")
            return
        if kind == "molecule":
            want = tuple(int(x) for x in p.decision("molecule_kpoints").value)
            if k.mode not in ("gamma", "monkhorst") or k.mesh != want:
                self.add(
                    "KPOINTS", "kpoints", "mesh", f"Gamma {_show(want)}", f"{k.mode} {_show(k.mesh or '')}"
                )
            return
        if k.mode not in ("gamma", "monkhorst"):
            self.add("KPOINTS", "kpoints", "mode", "an automatic mesh", k.mode)
            return
        if any(abs(x) > 1e-9 for x in k.shift):
            self.add("KPOINTS", "kpoints", "shift", "0 0 0 (the protocol's unshifted mesh)", k.shift)
        if kind == "bulk" and k.mode != "gamma":
            self.add("KPOINTS", "kpoints", "scheme", "Gamma-centred (bulk_kpoint_density)", k.mode)
        if kind == "slab" and k.mesh[2] != 1:
            self.add("KPOINTS", "kpoints", "mesh", "1 subdivision along the slab normal", k.mesh[2])
        dev = deviation_for(KPOINTS_TAG, self.node, self.deviations)
        if (dev is not None and kind == "bulk") or (dev is not None and self.calc == "dos"):
            if tuple(k.mesh) != tuple(int(x) for x in dev.value):
                self.add("KPOINTS", "locked", "mesh", f"{_show(dev.value)} (declared deviation)", k.mesh)
            return
        if self.calc == "dos":
            density = float(p.decision("dos_kpoint_density").value)
            want = geometry.kpoint_mesh(pos.matrix, density, (True, True, kind == "bulk"))
            if any(m < w for m, w in zip(k.mesh, want, strict=True)):
                self.add("KPOINTS", "kpoints", "mesh", f"at least {_show(want)} (dos_kpoint_density)", k.mesh)
            return
        if kind == "slab":
            dev = deviation_for(KPOINTS_TAG, self.node, self.deviations)
            want = tuple(int(x) for x in dev.value) if dev else p.surface_kpoints
            if k.mode != "monkhorst":
                self.add("KPOINTS", "locked", "scheme", "Monkhorst-Pack (surface mesh)", k.mode)
            if tuple(k.mesh) != tuple(want):
                self.add("KPOINTS", "locked", "mesh", _show(want), k.mesh)
        elif kind == "bulk":
            density = float(p.decision("bulk_kpoint_density").value)
            want = geometry.kpoint_mesh(pos.matrix, density, (True, True, True))
            if any(m < w for m, w in zip(k.mesh, want, strict=True)):
                self.add(
                    "KPOINTS", "kpoints", "mesh", f"at least {_show(want)} (bulk_kpoint_density)", k.mesh
                )

    # ---- POSCAR / POTCAR ------------------------------------------------------------------------
    def structure(self, name: str, pos: PoscarFile, kind: str, gaps: np.ndarray) -> None:
        for sym in pos.species:
            try:
                geometry.covalent_radius(sym)
            except ValueError:
                self.add(name, "species", sym, "an element symbol", sym)
                return
        bad = geometry.close_contacts(pos.matrix, pos.frac, pos.symbols, geometry.MIN_CONTACT_RATIO)
        if bad:
            i, j, d, thr = bad[0]
            self.add(
                name,
                "close-contact",
                f"atoms {i + 1} and {j + 1}",
                f"≥ {thr:.2f} Å",
                f"{d:.2f} Å ({len(bad)} pair(s))",
            )
        if kind == "other":
            self.add(
                name,
                "vacuum",
                "orientation",
                "vacuum along the third lattice vector only",
                f"gaps {_show([round(float(g), 2) for g in gaps])} Å",
            )
        if kind == "slab":
            if gaps[2] < self.protocol.vacuum - 0.01:
                self.add(name, "vacuum", "thickness", f"≥ {self.protocol.vacuum:g} Å", f"{gaps[2]:.2f} Å")
            if self.calc in ("relax", "neb") and not pos.selective:
                self.add(name, "selective-dynamics", "flags", "present on a slab relaxation", "absent")

    def potcar(self, pos: PoscarFile) -> None:
        if self.inputs.potcar is None:
            return
        symbols, source = self.inputs.potcar
        if len(symbols) != len(pos.species):
            self.add(
                source,
                "species-order",
                "count",
                f"{len(pos.species)} ({' '.join(pos.species)})",
                f"{len(symbols)} ({' '.join(symbols)})",
            )
            return
        table = self.protocol.decision("potcars").value
        for element, symbol in zip(pos.species, symbols, strict=True):
            base = symbol.split("_")[0].rstrip("0123456789.") or symbol
            base = "H" if symbol in _PSEUDO_H else base
            if base != element:
                self.add(source, "species-order", element, f"a POTCAR for {element} (POSCAR order)", symbol)
            elif element != "H" and element in table and symbol != table[element]:
                self.add(source, "potcar", element, f"{table[element]} (potcars decision)", symbol)

    # ---- NEB ---------------------------------------------------------------------------------------
    def neb(self) -> None:
        images, t = self.inputs.images, self.tags
        if not images:
            self.add("INCAR", "neb", "folders", "image folders 00…0N", "none")
            return
        expected = [f"{i:02d}" for i in range(len(images))]
        if images != expected:
            self.add("(folder)", "neb", "folders", " ".join(expected), " ".join(images))
        nimages = int(t.get("IMAGES", 0) or 0)
        if nimages != len(images) - 2:
            self.add("INCAR", "neb", "IMAGES", f"{len(images) - 2} (intermediate folders)", nimages)
        poscars = [self.inputs.poscars.get(f"{d}/POSCAR") for d in images]
        if any(p is None for p in poscars):
            return
        first = poscars[0]
        steps = []
        for i, pos in enumerate(poscars[1:], start=1):
            if pos.species != first.species or pos.counts != first.counts:
                self.add(
                    f"{images[i]}/POSCAR",
                    "neb",
                    "atoms",
                    f"{_show(first.species)} {_show(first.counts)}",
                    f"{_show(pos.species)} {_show(pos.counts)}",
                )
                return
            delta = pos.frac - poscars[i - 1].frac
            delta -= np.round(delta)
            disp = np.linalg.norm(delta @ first.matrix, axis=1)
            steps.append(float(np.sqrt((disp**2).sum())))
            if disp.max() > NEB_MAX_STEP:
                self.add(
                    f"{images[i]}/POSCAR",
                    "neb",
                    "spacing",
                    f"no atom moving more than {NEB_MAX_STEP} Å from image {images[i - 1]}",
                    f"atom {int(disp.argmax()) + 1} moves {disp.max():.2f} Å",
                )
        if steps and min(steps) < 1e-4:
            self.add("(folder)", "neb", "spacing", "distinct neighbouring images", "two identical images")
        elif steps and max(steps) / min(steps) > NEB_MAX_SPACING_RATIO:
            self.add(
                "(folder)",
                "neb",
                "spacing",
                f"even spacing (ratio ≤ {NEB_MAX_SPACING_RATIO:g})",
                f"ratio {max(steps) / min(steps):.1f}",
            )


def _is_element(symbol: str) -> bool:
    try:
        geometry.covalent_radius(symbol)
    except (ValueError, KeyError):
        return False
    return True


def check_folder(
    inputs: FolderInputs,
    calc: str,
    protocol: Protocol,
    node: str,
    deviations: Sequence[Deviation],
    whole_dipol: Any = None,
) -> list[Problem]:
    """Every check of one folder; ``calc`` is the protocol calculation kind (relax, neb, ...)."""
    c = Checker(inputs, calc, protocol, node, deviations)
    c.problems += inputs.problems
    if inputs.incar is not None:
        c.locked()
    pos = c.first
    if pos is None:
        return c.problems
    unknown = [(name, s) for name, p in inputs.poscars.items() for s in p.species if not _is_element(s)]
    if unknown:  # masses, radii and moments need elements: report and stop here
        for name, sym in unknown:
            c.add(name, "species", sym, "an element symbol", sym)
        return c.problems
    kind, gaps = _geometry(pos, protocol)
    if inputs.incar is not None:
        c.contradictions(kind)
        c.decisions(kind, pos)
        c.calc_rules(kind)
        c.dipole(kind, pos, whole_dipol)
    c.kpoints(kind, pos)
    for name, p in inputs.poscars.items():
        c.structure(name, p, kind, gaps if p is pos else _geometry(p, protocol)[1])
    c.potcar(pos)
    if calc == "neb":
        c.neb()
    return c.problems
