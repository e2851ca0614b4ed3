"""Writing structures by file extension, and their index entries."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.cif import CifWriter
from pymatgen.io.vasp import Poscar

from cztflow.poscar_format import poscar_text

__all__ = ["FORMATS", "file_format", "index_entry", "render_structure", "write_structure"]

FORMATS = {".vasp": "poscar", ".poscar": "poscar", ".cif": "cif", ".extxyz": "extxyz", ".xyz": "extxyz"}
#: Significant figures of POSCAR coordinates: enough for 1e-9 Å, stable across runs.
_FIGURES = 10


def file_format(path: str | Path) -> str:
    """``"poscar"``, ``"cif"`` or ``"extxyz"`` from a file name.

    Names starting with POSCAR or CONTCAR are POSCAR files; otherwise the extension
    decides.

    Raises
    ------
    ValueError
        For an extension cztflow does not write.
    """
    path = Path(path)
    if path.name.upper().startswith(("POSCAR", "CONTCAR")):
        return "poscar"
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(
            f"{path}: cannot tell the format from '{path.suffix or path.name}'; use POSCAR or one of {known}"
        ) from None


def _comment(structure: Structure, name: str) -> str:
    charges = structure.site_properties.get("pseudo_charge") or []
    pseudo = sorted({c for c in charges if c})
    extra = "".join(f" | pseudo-H Z={c:g} on H" for c in pseudo)
    return f"{name} | {structure.composition.reduced_formula} | cztflow{extra}"


def render_structure(structure: Structure, fmt: str, name: str) -> str:
    """The text of ``structure`` in format ``fmt`` (see :data:`FORMATS`)."""
    if fmt == "poscar":
        return poscar_text(Poscar(structure, comment=_comment(structure, name)), _FIGURES)
    if fmt == "cif":
        return str(CifWriter(structure))
    if fmt == "extxyz":
        import io

        from ase.io import write

        atoms = AseAtomsAdaptor().get_atoms(structure)
        atoms.info["name"] = name
        buf = io.StringIO()
        write(buf, atoms, format="extxyz")
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}; known: poscar, cif, extxyz")


def write_structure(structure: Structure, path: str | Path, name: str | None = None) -> str:
    """Write ``structure`` to ``path`` in the format its name implies; return the text.

    POSCAR files keep selective dynamics; the comment line names the structure and any
    pseudo-hydrogen charge.
    """
    path = Path(path)
    text = render_structure(structure, file_format(path), name or path.stem)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def index_entry(
    structure: Structure,
    *,
    name: str,
    file: str,
    kind: str,
    builder: str,
    args: dict[str, Any],
    text: str,
) -> dict[str, Any]:
    """The ``index.json`` record of one written structure."""
    lat = structure.lattice
    charges = structure.site_properties.get("pseudo_charge") or [0.0] * len(structure)
    sd = structure.site_properties.get("selective_dynamics")
    entry: dict[str, Any] = {
        "name": name,
        "file": file,
        "kind": kind,
        "formula": structure.composition.formula.replace(" ", ""),
        "natoms": len(structure),
        "lattice": {
            k: round(float(v), 6)
            for k, v in zip(("a", "b", "c", "alpha", "beta", "gamma"), (*lat.abc, *lat.angles), strict=True)
        },
        "strain": structure.properties.get("interface", {}).get("strain_percent"),
        "builder": builder,
        "args": args,
        "fixed_atoms": sum(1 for f in sd if not any(f)) if sd else 0,
        "pseudo_hydrogen": [{"index": i, "charge": c} for i, c in enumerate(charges) if c],
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }
    for key in ("interface", "adsorption", "migration", "neb_image"):
        if key in structure.properties:
            entry[key] = structure.properties[key]
    return entry
