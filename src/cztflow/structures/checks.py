"""Geometry checks that every builder applies to what it returns, and slab geometry helpers."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from pymatgen.core import Composition, Lattice, Structure

from cztflow import geometry

__all__ = [
    "MIN_CONTACT_RATIO",
    "check_close_contacts",
    "check_stoichiometry",
    "check_structure",
    "check_vacuum",
    "close_contacts",
    "vacuum_thickness",
    "with_vacuum",
]

MIN_CONTACT_RATIO = geometry.MIN_CONTACT_RATIO


def close_contacts(
    structure: Structure, ratio: float = MIN_CONTACT_RATIO
) -> list[tuple[int, int, float, float]]:
    """Pairs of atoms closer than ``ratio`` times the sum of their covalent radii.

    Parameters
    ----------
    structure
        Any periodic structure.
    ratio
        Fraction of the covalent-radius sum below which a contact counts as overlap.

    Returns
    -------
    list of (i, j, distance, threshold)
        Each offending pair once (i < j), sorted by distance; minimum-image distances.
    """
    symbols = [site.specie.symbol for site in structure]
    return geometry.close_contacts(structure.lattice.matrix, structure.frac_coords, symbols, ratio)


def check_close_contacts(structure: Structure, what: str, ratio: float = MIN_CONTACT_RATIO) -> None:
    """Raise ``ValueError`` naming the closest overlapping pair, if any."""
    bad = close_contacts(structure, ratio)
    if bad:
        i, j, d, t = bad[0]
        si, sj = structure[i].specie.symbol, structure[j].specie.symbol
        pair = f"{si}{i} and its periodic image" if i == j else f"{si}{i}–{sj}{j}"
        raise ValueError(
            f"{what}: atoms overlap: {pair} at {d:.3f} Å is below {t:.3f} Å "
            f"({ratio:g} × covalent-radius sum); {len(bad)} such pair(s)"
        )


def vacuum_thickness(structure: Structure) -> float:
    """Largest empty gap along the third lattice vector, measured along the surface normal.

    The gap is found in periodic fractional coordinates, so a slab that wraps across the
    cell boundary is measured correctly.
    """
    return float(geometry.axis_gaps(structure.lattice.matrix, structure.frac_coords)[2])


def check_vacuum(structure: Structure, minimum: float, what: str) -> None:
    """Raise ``ValueError`` if the vacuum along the normal is thinner than ``minimum`` Å."""
    vac = vacuum_thickness(structure)
    if vac < minimum - 1e-6:
        raise ValueError(f"{what}: vacuum is {vac:.2f} Å along the normal, below {minimum:.2f} Å")


def check_stoichiometry(structure: Structure, expected: Mapping[str, float] | Composition, what: str) -> None:
    """Raise ``ValueError`` if the composition differs from ``expected`` (element counts)."""
    want = Composition(expected)
    have = structure.composition
    if not have.almost_equals(want, atol=1e-6):
        raise ValueError(f"{what}: composition is {have.formula}, expected {want.formula}")


def check_structure(
    structure: Structure,
    what: str,
    *,
    expected: Mapping[str, float] | Composition | None = None,
    min_vacuum: float | None = None,
    ratio: float = MIN_CONTACT_RATIO,
) -> Structure:
    """Apply the standard checks and return ``structure`` unchanged.

    Parameters
    ----------
    structure
        The structure to check.
    what
        A name for the structure, used in error messages.
    expected
        Element counts the structure must have, if given.
    min_vacuum
        Smallest vacuum along the normal in Å, for slabs.
    ratio
        Close-contact threshold as a fraction of the covalent-radius sum.

    Raises
    ------
    ValueError
        Naming ``what`` and the failed check.
    """
    check_close_contacts(structure, what, ratio)
    if expected is not None:
        check_stoichiometry(structure, expected, what)
    if min_vacuum is not None:
        check_vacuum(structure, min_vacuum, what)
    return structure


def with_vacuum(structure: Structure, vacuum: float) -> Structure:
    """Return a copy with c along z, the slab centred and ``vacuum`` Å of empty space.

    The in-plane lattice vectors must lie in the xy plane.  Cartesian positions are kept
    up to a common shift along z; site properties and ``properties`` are kept.
    """
    matrix = structure.lattice.matrix
    if abs(matrix[0, 2]) > 1e-8 or abs(matrix[1, 2]) > 1e-8:
        raise ValueError("with_vacuum: in-plane lattice vectors must lie in the xy plane")
    cart = structure.cart_coords.copy()
    zmin, zmax = float(cart[:, 2].min()), float(cart[:, 2].max())
    thickness = zmax - zmin
    c = thickness + vacuum
    cart[:, 2] += c / 2.0 - (zmin + zmax) / 2.0
    lattice = Lattice([matrix[0], matrix[1], [0.0, 0.0, c]])
    frac = lattice.get_fractional_coords(cart)
    frac[:, :2] = np.mod(frac[:, :2], 1.0)
    frac[np.isclose(frac, 1.0, atol=1e-10)] = 0.0
    return Structure(
        lattice,
        structure.species,
        frac,
        site_properties=structure.site_properties,
        properties=dict(structure.properties),
        to_unit_cell=False,
    )
