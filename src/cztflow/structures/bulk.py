"""Bulk crystals of the study: trigonal CoTe2, zinc-blende ZnTe, bcc K and an isolated K atom.

Default lattice parameters are experimental; pass relaxed values to rebuild on them.
"""

from __future__ import annotations

from pymatgen.core import Lattice, Structure

from cztflow.structures.checks import check_structure

__all__ = ["cote2_bulk", "cote2_marcasite_bulk", "k_atom", "k_bcc", "znte_bulk"]

#: Trigonal CoTe2 lattice from a least-squares fit to the paper's eight XRD lines (Å).
COTE2_A, COTE2_C = 3.804, 5.406
#: Zinc-blende ZnTe lattice constant at room temperature (Å).
ZNTE_A = 6.101
#: bcc K lattice constant at 5 K (Å).
K_A = 5.225


def _positive(**values: float) -> None:
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")


def cote2_bulk(a: float = COTE2_A, c: float = COTE2_C, z_te: float = 0.25) -> Structure:
    """Trigonal CoTe2, P-3m1 (No. 164), CdI2 (1T) type, one formula unit.

    Co on 1a (0, 0, 0); Te on 2d (1/3, 2/3, z) and (2/3, 1/3, −z).  The defaults index
    all eight XRD lines the paper reports (Cu Kα) to within 0.05° 2θ (largest: 0.045° on
    (100)).

    Parameters
    ----------
    a, c
        Hexagonal lattice parameters in Å.
    z_te
        Fractional height of Te; it sets the trilayer thickness (2 z c).

    Raises
    ------
    ValueError
        If a lattice parameter is not positive, ``z_te`` is outside (0, 0.5), or atoms
        overlap.
    """
    _positive(a=a, c=c)
    if not 0.0 < z_te < 0.5:
        raise ValueError(f"z_te must lie in (0, 0.5), got {z_te!r}")
    structure = Structure.from_spacegroup(
        "P-3m1", Lattice.hexagonal(a, c), ["Co", "Te"], [[0, 0, 0], [1 / 3, 2 / 3, z_te]]
    )
    return check_structure(structure, "CoTe2 (P-3m1)", expected={"Co": 1, "Te": 2})


def cote2_marcasite_bulk(
    a: float = 5.30, b: float = 6.32, c: float = 3.89, x_te: float = 0.219, y_te: float = 0.364
) -> Structure:
    """Orthorhombic (marcasite, Pnnm) CoTe2, two formula units: a sensitivity check only.

    The paper's XRD list does not index on this polymorph (no line near 47.8°), but its
    HRTEM labels use orthorhombic indices.  Te positions are typical marcasite values.
    """
    _positive(a=a, b=b, c=c)
    structure = Structure.from_spacegroup(
        "Pnnm", Lattice.orthorhombic(a, b, c), ["Co", "Te"], [[0, 0, 0], [x_te, y_te, 0]]
    )
    return check_structure(structure, "CoTe2 (Pnnm)", expected={"Co": 2, "Te": 4})


def znte_bulk(a: float = ZNTE_A, primitive: bool = True) -> Structure:
    """Zinc-blende ZnTe, F-43m: Zn at (0, 0, 0), Te at (1/4, 1/4, 1/4).

    Parameters
    ----------
    a
        Cubic lattice constant in Å.
    primitive
        Return the 2-atom primitive cell instead of the 8-atom conventional cell.
    """
    _positive(a=a)
    conventional = Structure.from_spacegroup(
        "F-43m", Lattice.cubic(a), ["Zn", "Te"], [[0, 0, 0], [0.25, 0.25, 0.25]]
    )
    structure = conventional.get_primitive_structure() if primitive else conventional
    n = 1 if primitive else 4
    return check_structure(structure, "ZnTe (F-43m)", expected={"Zn": n, "Te": n})


def k_bcc(a: float = K_A, primitive: bool = True) -> Structure:
    """bcc potassium, Im-3m: the bulk reference for K adsorption energies.

    Parameters
    ----------
    a
        Cubic lattice constant in Å.
    primitive
        Return the 1-atom primitive cell instead of the 2-atom conventional cell.
    """
    _positive(a=a)
    conventional = Structure.from_spacegroup("Im-3m", Lattice.cubic(a), ["K"], [[0, 0, 0]])
    structure = conventional.get_primitive_structure() if primitive else conventional
    return check_structure(structure, "K (Im-3m)", expected={"K": 1 if primitive else 2})


def k_atom(box: tuple[float, float, float] = (15.0, 15.5, 16.0)) -> Structure:
    """An isolated K atom at the centre of an orthorhombic box.

    The box edges differ slightly so that the cell has no cubic symmetry, which lets a
    spin-polarised calculation reach the atomic ground state.

    Parameters
    ----------
    box
        Box edges in Å; each must be at least 10 Å.
    """
    if len(box) != 3 or min(box) < 10.0:
        raise ValueError(f"box must be three edges of at least 10 Å, got {box!r}")
    structure = Structure(Lattice.orthorhombic(*box), ["K"], [[0.5, 0.5, 0.5]])
    return check_structure(structure, "isolated K atom", expected={"K": 1})
