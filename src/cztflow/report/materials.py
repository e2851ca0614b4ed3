"""Which Fig. 1 material a campaign node models, read from its atoms.

The report must work for any campaign (the open-engine spec, the paper-size VASP spec, a
user's own), so nodes are grouped by what they hold, not by their names: CoTe2 alone,
ZnTe alone, the CoTe2/ZnTe heterostructure, and either on Ti3C2Tx.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["LABELS", "MATERIALS", "material_of"]

#: Material keys in Fig. 1 order (the paper's keys where it has values).
MATERIALS = ("cote2", "znte", "cote2-znte", "cote2-znte/ti3c2tx", "cote2/ti3c2tx")

#: How each material is written in the table and the figure.
LABELS = {
    "cote2": "CoTe2",
    "znte": "ZnTe",
    "cote2-znte": "CoTe2/ZnTe",
    "cote2-znte/ti3c2tx": "CoTe2/ZnTe/Ti3C2Tx",
    "cote2/ti3c2tx": "CoTe2/Ti3C2Tx",
}


def material_of(species: Iterable[str | None]) -> str | None:
    """The material key for a set of species (K and pseudo-H ignored), or None if none fits.

    >>> material_of(["Co", "Te", "Te", "K"])
    'cote2'
    >>> material_of(["Ti", "C", "O", "Co", "Te", "Zn"])
    'cote2-znte/ti3c2tx'
    """
    found = {s for s in species if s}
    found = {s.split("_")[0].split(".")[0] for s in found} - {"K", "H"}
    mxene = "Ti" in found
    has_co, has_zn = "Co" in found, "Zn" in found
    if "Te" not in found:
        return None
    if has_co and has_zn:
        return "cote2-znte/ti3c2tx" if mxene else "cote2-znte"
    if has_co:
        return "cote2/ti3c2tx" if mxene else "cote2"
    if has_zn and not mxene:
        return "znte"
    return None
