"""In-plane symmetry of a slab: the operations that keep the surface on top, and site orbits.

Site names must not depend on which member of a symmetry class a library happens to return
first (pymatgen's ``AdsorbateSiteFinder`` returns a different one from release to release),
so each class is represented by one member chosen here by a fixed rule.
"""

from __future__ import annotations

import numpy as np
from pymatgen.core import Structure
from pymatgen.core.operations import SymmOp
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

__all__ = ["canonical_xy", "inplane_operations"]

_DIGITS = 6  # fractional coordinates are compared to 1e-6


def inplane_operations(slab: Structure, symprec: float = 0.01) -> list[SymmOp]:
    """Symmetry operations of ``slab`` (fractional) that keep the surface normal (no flip in z)."""
    ops = SpacegroupAnalyzer(slab, symprec=symprec).get_symmetry_operations(cartesian=False)
    return [
        op
        for op in ops
        if np.allclose(op.rotation_matrix[2], [0, 0, 1]) and np.allclose(op.rotation_matrix[:2, 2], 0)
    ]


def _wrapped(frac: np.ndarray) -> np.ndarray:
    """Fractional a, b wrapped into the cell, a value within 1e-6 below 1 read as 0."""
    out = np.mod(frac, 1.0)
    out[out > 1.0 - 10.0**-_DIGITS] -= 1.0
    return out


def canonical_xy(slab: Structure, xy: np.ndarray, ops: list[SymmOp]) -> np.ndarray:
    """The member of the orbit of the lateral point ``xy`` (Cartesian, Å) that represents it.

    The orbit is wrapped into the cell; its representative is the member nearest the cell
    origin, and of those at the same distance the one with the smaller fractional a, then b.

    Returns
    -------
    numpy.ndarray
        Cartesian x, y in Å.
    """
    lattice = slab.lattice
    frac = lattice.get_fractional_coords([float(xy[0]), float(xy[1]), 0.0])
    members = [_wrapped(op.operate(frac)[:2]) for op in ops] or [_wrapped(frac[:2])]

    def key(f: np.ndarray) -> tuple[float, float, float]:
        cart = lattice.get_cartesian_coords([f[0], f[1], 0.0])[:2]
        return (round(float(np.linalg.norm(cart)), 4), round(float(f[0]), 4), round(float(f[1]), 4))

    best = min(members, key=key)
    return lattice.get_cartesian_coords([best[0], best[1], 0.0])[:2]
