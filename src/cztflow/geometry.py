"""Cell geometry on plain arrays: empty gaps, slab detection, slab centre, close contacts.

These functions take a 3×3 lattice matrix (rows are the lattice vectors, Å) and
fractional coordinates, so that both the structure builders and the input validator use
them; they import nothing heavier than NumPy, ASE's element table and pymatgen's compiled
neighbour search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from ase.data import atomic_masses, atomic_numbers, covalent_radii
from pymatgen.optimization.neighbors import find_points_in_spheres

__all__ = [
    "MIN_CONTACT_RATIO",
    "axis_gaps",
    "cell_kind",
    "close_contacts",
    "covalent_radius",
    "kpoint_mesh",
    "slab_centre",
]

#: Two atoms closer than this fraction of their covalent-radius sum are overlapping.
MIN_CONTACT_RATIO = 0.75


def covalent_radius(symbol: str) -> float:
    """Covalent radius of ``symbol`` in Å (ASE's table, Cordero et al.).

    Raises
    ------
    ValueError
        If ``symbol`` is not an element.
    """
    try:
        return float(covalent_radii[atomic_numbers[symbol]])
    except KeyError:
        raise ValueError(f"unknown element {symbol!r}") from None


def _spacings(matrix: np.ndarray) -> np.ndarray:
    """Distance between adjacent lattice planes spanned by the other two vectors."""
    recip = np.linalg.inv(np.asarray(matrix, dtype=float)).T
    return 1.0 / np.linalg.norm(recip, axis=1)


def axis_gaps(matrix: np.ndarray, frac: np.ndarray) -> np.ndarray:
    """Largest empty gap along each lattice direction, in Å across the lattice planes.

    For a slab with its third vector along z this is the vacuum thickness; the gap is
    found in periodic coordinates, so an object that wraps across the cell boundary is
    measured correctly.
    """
    frac = np.mod(np.asarray(frac, dtype=float), 1.0)
    gaps = np.empty(3)
    for axis in range(3):
        f = np.sort(frac[:, axis])
        gaps[axis] = np.diff(np.concatenate([f, [f[0] + 1.0]])).max()
    return gaps * _spacings(matrix)


def cell_kind(gaps: Sequence[float], threshold: float) -> str:
    """``"bulk"``, ``"slab"`` (vacuum along the third vector only), ``"molecule"`` or ``"other"``.

    ``"other"`` is a cell with vacuum along the first or second vector only: a slab in
    the wrong orientation, or a wire.
    """
    empty = [g >= threshold for g in gaps]
    if not any(empty):
        return "bulk"
    if all(empty):
        return "molecule"
    if empty == [False, False, True]:
        return "slab"
    return "other"


def slab_centre(frac_z: np.ndarray, symbols: Sequence[str]) -> float:
    """Fractional height of a slab's centre of mass along the third vector, in [0, 1).

    The slab is unwrapped at its largest empty gap first, so a slab that crosses the
    cell boundary has the right centre.
    """
    z = np.mod(np.asarray(frac_z, dtype=float), 1.0)
    order = np.sort(z)
    gaps = np.diff(np.concatenate([order, [order[0] + 1.0]]))
    start = order[(int(np.argmax(gaps)) + 1) % len(order)]  # first atom above the gap
    unwrapped = np.mod(z - start, 1.0) + start
    masses = np.array([atomic_masses[atomic_numbers[s]] for s in symbols])
    return float(np.mod(np.dot(masses, unwrapped) / masses.sum(), 1.0))


def close_contacts(
    matrix: np.ndarray, frac: np.ndarray, symbols: Sequence[str], ratio: float
) -> list[tuple[int, int, float, float]]:
    """Pairs closer than ``ratio`` times the sum of their covalent radii.

    Returns
    -------
    list of (i, j, distance, threshold)
        Each offending pair once (i ≤ j; i == j is an atom and its own periodic
        image), sorted by distance, then by index; minimum-image distances in Å.
    """
    matrix = np.ascontiguousarray(matrix, dtype=float)
    cart = np.ascontiguousarray(np.asarray(frac, dtype=float) @ matrix)
    radii = np.array([covalent_radius(s) for s in symbols])
    cutoff = ratio * 2.0 * float(radii.max())
    centre, neighbour, offsets, dist = find_points_in_spheres(
        cart, cart, r=cutoff, pbc=np.array([1, 1, 1], dtype=np.int64), lattice=matrix, tol=1e-8
    )
    threshold = ratio * (radii[centre] + radii[neighbour])
    itself = (centre == neighbour) & np.all(offsets == 0, axis=1)
    bad = (dist < threshold) & ~itself
    found: dict[tuple[int, int], tuple[float, float]] = {}
    for i, j, d, t in zip(centre[bad], neighbour[bad], dist[bad], threshold[bad], strict=True):
        key = (int(min(i, j)), int(max(i, j)))
        if key not in found or d < found[key][0]:
            found[key] = (float(d), float(t))
    # ties (an atom and its image at one lattice constant) by atom index, not by search order
    return sorted(
        ((i, j, d, t) for (i, j), (d, t) in found.items()), key=lambda x: (round(x[2], 9), x[0], x[1])
    )


def kpoint_mesh(matrix: np.ndarray, spacing: float, periodic: Sequence[bool]) -> list[int]:
    """Subdivisions so that the k-point spacing is at most ``spacing`` Å⁻¹ (2π included).

    Non-periodic directions (``periodic[i]`` false) get one subdivision.
    """
    recip = 2.0 * math.pi * np.linalg.inv(np.asarray(matrix, dtype=float)).T
    lengths = np.linalg.norm(recip, axis=1)
    return [
        max(1, math.ceil(float(b) / spacing - 1e-9)) if p else 1
        for b, p in zip(lengths, periodic, strict=True)
    ]
