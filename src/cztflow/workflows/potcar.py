"""POSCAR species order and the matching POTCAR symbols, pseudo-hydrogen included.

VASP pairs the i-th species group of the POSCAR with the i-th POTCAR.  A pseudo-H cap
(charge Z ≠ 1, e.g. ``H1.5``) needs its own POTCAR, so it must form its own species group
even where real H (an OH termination) is present.  :func:`vasp_order` groups the sites,
:func:`potcar_symbols` names each group's POTCAR from the protocol's ``potcars`` decision,
and :func:`write_potcar` writes real POTCARs when ``PMG_VASP_PSP_DIR`` is set and
``POTCAR.spec`` (one symbol per line) otherwise.  POTCARs are licensed: never commit them.
"""

from __future__ import annotations

import os
from pathlib import Path

from pymatgen.core import Structure

from cztflow.protocol import Protocol, default_protocol

__all__ = [
    "PSEUDO_H_POTCARS",
    "potcar_file",
    "potcar_symbols",
    "potcar_text",
    "species_groups",
    "vasp_order",
    "write_potcar",
]

#: Pseudo-hydrogen POTCARs in VASP's PBE sets, keyed by valence charge.
PSEUDO_H_POTCARS = {
    0.25: "H.25",
    0.33: "H.33",
    0.42: "H.42",
    0.5: "H.5",
    0.58: "H.58",
    0.66: "H.66",
    0.75: "H.75",
    1.25: "H1.25",
    1.33: "H1.33",
    1.5: "H1.5",
    1.66: "H1.66",
    1.75: "H1.75",
}


def _keys(structure: Structure) -> list[tuple[str, float]]:
    """(element, pseudo charge) of every site."""
    charges = structure.site_properties.get("pseudo_charge") or [0.0] * len(structure)
    return [(site.specie.symbol, float(q or 0.0)) for site, q in zip(structure, charges, strict=True)]


def vasp_order(structure: Structure) -> Structure:
    """A copy with sites grouped by (element, pseudo charge), groups in order of first appearance.

    The sort is stable, so the order of atoms within a group is kept.  Site properties
    travel with their sites.
    """
    keys = _keys(structure)
    first: dict[tuple[str, float], int] = {}
    for key in keys:
        first.setdefault(key, len(first))
    order = sorted(range(len(structure)), key=lambda i: first[keys[i]])
    out = Structure.from_sites([structure[i] for i in order])
    out.properties = dict(structure.properties)
    return out


def species_groups(structure: Structure) -> list[tuple[str, float, int]]:
    """Consecutive (element, pseudo charge, count) groups, as a POSCAR species line has them."""
    groups: list[tuple[str, float, int]] = []
    for element, charge in _keys(structure):
        if groups and groups[-1][:2] == (element, charge):
            groups[-1] = (element, charge, groups[-1][2] + 1)
        else:
            groups.append((element, charge, 1))
    return groups


def potcar_symbols(structure: Structure, protocol: Protocol | None = None) -> list[str]:
    """POTCAR symbol of each species group, in POSCAR order.

    Raises
    ------
    ValueError
        If an element has no POTCAR in the protocol's ``potcars`` decision, a pseudo-H
        charge has no VASP POTCAR, or the same species appears in two separate groups
        (call :func:`vasp_order` first).
    """
    protocol = protocol or default_protocol()
    table = protocol.decision("potcars").value
    symbols: list[str] = []
    seen: set[tuple[str, float]] = set()
    for element, charge, _count in species_groups(structure):
        if (element, charge) in seen:
            raise ValueError(
                f"species {element} (Z={charge:g}) appears in two separate groups; "
                "group the sites with vasp_order() first"
            )
        seen.add((element, charge))
        if charge:
            if element != "H":
                raise ValueError(f"a pseudo charge is only meaningful on H, found it on {element}")
            match = [s for z, s in PSEUDO_H_POTCARS.items() if abs(z - charge) < 0.006]
            if not match:
                known = ", ".join(f"{z:g}" for z in PSEUDO_H_POTCARS)
                raise ValueError(f"no pseudo-H POTCAR for Z={charge:g}; VASP has {known}")
            symbols.append(match[0])
        elif element in table:
            symbols.append(str(table[element]))
        else:
            raise ValueError(
                f"no POTCAR for {element} in the protocol's 'potcars' decision "
                f"({protocol.source_file}); it has {', '.join(sorted(table))}"
            )
    return symbols


def potcar_text(symbols: list[str], functional: str = "PBE_54") -> str:
    """The concatenated POTCAR for ``symbols`` from ``PMG_VASP_PSP_DIR`` (pymatgen's ``Potcar``).

    Raises
    ------
    ValueError
        If a POTCAR cannot be read (the message names the symbols and the directory).
    """
    from pymatgen.io.vasp.inputs import Potcar

    try:
        return str(Potcar(symbols, functional=functional))
    except (OSError, RuntimeError, ValueError) as exc:
        raise ValueError(
            f"cannot read POTCARs {symbols} ({functional}) from "
            f"PMG_VASP_PSP_DIR={os.environ.get('PMG_VASP_PSP_DIR')}: {exc}"
        ) from exc


def potcar_file(
    symbols: list[str], potcar_spec: bool | None = None, functional: str = "PBE_54"
) -> tuple[str, str]:
    """File name and text: ``("POTCAR", ...)`` or ``("POTCAR.spec", one symbol per line)``.

    ``potcar_spec=None`` chooses by whether ``PMG_VASP_PSP_DIR`` is set.
    """
    if potcar_spec is None:
        potcar_spec = not os.environ.get("PMG_VASP_PSP_DIR")
    if potcar_spec:
        return "POTCAR.spec", "".join(f"{s}\n" for s in symbols)
    return "POTCAR", potcar_text(symbols, functional)


def write_potcar(folder: str | Path, symbols: list[str], functional: str = "PBE_54") -> Path:
    """Write ``POTCAR`` if ``PMG_VASP_PSP_DIR`` is set, else ``POTCAR.spec``; return the path.

    Raises
    ------
    ValueError
        If ``PMG_VASP_PSP_DIR`` is set but a POTCAR cannot be read from it (the message
        names the symbol and the directory).
    """
    name, text = potcar_file(symbols, None, functional)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
