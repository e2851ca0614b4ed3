"""Band gaps, densities of states and band structures from parsed eigenvalues.

Pure functions over arrays (shape conventions of :class:`~cztflow.analysis.vasprun.Vasprun`:
eigenvalues and occupations are (nspin, nk, nbands)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["BandGap", "band_gap", "band_path_distances", "dos_by_element"]

#: A state counts as occupied above this occupation (0…1) in the occupation-based gap.
OCCUPIED = 0.5
#: Occupations between this and 1 minus this are fractional: a partly filled level, so a metal.
#: (Methfessel–Paxton smearing alone moves full or empty states by a few hundredths: 0.95 in Si.)
FRACTIONAL = 0.1


@dataclass(frozen=True)
class BandGap:
    """A band gap and where its edges lie.

    Attributes
    ----------
    gap
        CBM − VBM in eV (0 for a metal).
    direct
        True when VBM and CBM are at the same k-point.
    is_metal
        True when no gap separates occupied from empty states (occupation method) or a band
        crosses the Fermi level (Fermi-level method).
    vbm, cbm
        Band edges (eV, absolute), None for a metal.
    vbm_kpoint, cbm_kpoint
        Indices of the k-points of the edges, None for a metal.
    method
        ``"occupation"`` or ``"fermi"``.
    """

    gap: float
    direct: bool
    is_metal: bool
    vbm: float | None
    cbm: float | None
    vbm_kpoint: int | None
    cbm_kpoint: int | None
    method: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def _edges(eig: np.ndarray, occupied: np.ndarray, method: str) -> BandGap:
    if occupied.all() or not occupied.any():
        raise ValueError(f"{method} method: every state is {'occupied' if occupied.all() else 'empty'}")
    vbm_flat = np.argmax(np.where(occupied, eig, -np.inf))
    cbm_flat = np.argmin(np.where(occupied, np.inf, eig))
    vbm, cbm = float(eig.flat[vbm_flat]), float(eig.flat[cbm_flat])
    vbm_k = int(np.unravel_index(vbm_flat, eig.shape)[1])
    cbm_k = int(np.unravel_index(cbm_flat, eig.shape)[1])
    if cbm <= vbm:
        return BandGap(0.0, False, True, None, None, None, None, method)
    return BandGap(cbm - vbm, vbm_k == cbm_k, False, vbm, cbm, vbm_k, cbm_k, method)


def band_gap(
    eigenvalues: np.ndarray,
    occupations: np.ndarray | None = None,
    efermi: float | None = None,
    *,
    method: str = "occupation",
) -> BandGap:
    """The band gap, by occupations or by the Fermi level.

    Parameters
    ----------
    eigenvalues
        (nspin, nk, nbands) in eV.
    occupations
        Same shape, 0…1; needed for ``method="occupation"``.
    efermi
        Fermi level (eV); needed for ``method="fermi"``.
    method
        ``"occupation"``: a metal has a fractionally occupied state (between 0.1 and 0.9,
        a partly filled level) or CBM ≤ VBM; otherwise the VBM is the highest state occupied
        above 0.5 and the CBM the lowest state below it. ``"fermi"``: states below E_F are occupied;
        a metal has a band (same spin and band index) with eigenvalues on both sides of E_F.

    Raises
    ------
    ValueError
        If the input needed by the method is missing, or every state is on one side.
    """
    eig = np.asarray(eigenvalues, dtype=float)
    if eig.ndim != 3:
        raise ValueError(f"eigenvalues must be (nspin, nk, nbands), got shape {eig.shape}")
    if method == "occupation":
        if occupations is None:
            raise ValueError("occupation method needs the occupations")
        occ = np.asarray(occupations, dtype=float)
        if ((occ > FRACTIONAL) & (occ < 1 - FRACTIONAL)).any():
            return BandGap(0.0, False, True, None, None, None, None, method)
        return _edges(eig, occ > OCCUPIED, method)
    if method == "fermi":
        if efermi is None:
            raise ValueError("fermi method needs the Fermi level")
        below = eig <= efermi
        crossing = (below.any(axis=1) & ~below.all(axis=1)).any()
        if crossing:
            return BandGap(0.0, False, True, None, None, None, None, method)
        return _edges(eig, below, method)
    raise ValueError(f"unknown gap method {method!r}: use 'occupation' or 'fermi'")


def dos_by_element(pdos: np.ndarray, species: list[str]) -> dict[str, np.ndarray]:
    """Projected DOS summed over the orbitals and atoms of each element.

    Parameters
    ----------
    pdos
        (nions, nspin, nedos, norbitals), as read from vasprun.xml.
    species
        Element of each ion.

    Returns
    -------
    dict
        Element → (nspin, nedos) array, in order of first appearance.
    """
    pdos = np.asarray(pdos)
    if pdos.shape[0] != len(species):
        raise ValueError(f"projected DOS has {pdos.shape[0]} ions, the structure {len(species)}")
    per_ion = pdos.sum(axis=3)
    out: dict[str, np.ndarray] = {}
    for index, symbol in enumerate(species):
        out[symbol] = out.get(symbol, 0) + per_ion[index]
    return out


def band_path_distances(
    kpoints: np.ndarray, reciprocal_lattice: np.ndarray, points_per_line: int | None = None
) -> np.ndarray:
    """Cumulative distance along a k-path (1/Å, with the 2π), the x axis of a band plot.

    Parameters
    ----------
    kpoints
        Fractional k-points in path order.
    reciprocal_lattice
        Reciprocal lattice rows without the 2π (as vasprun.xml stores ``rec_basis``).
    points_per_line
        Points on each line of a VASP line-mode path. Between two lines whose corner points
        differ (a ``|`` break in the path, such as U|K) no distance is added, so that the
        next line starts where the previous one ended on the plot.
    """
    cart = np.asarray(kpoints, dtype=float) @ (2 * np.pi * np.asarray(reciprocal_lattice, dtype=float))
    steps = np.linalg.norm(np.diff(cart, axis=0), axis=1)
    if points_per_line:
        steps[points_per_line - 1 :: points_per_line] = 0.0
    return np.concatenate([[0.0], np.cumsum(steps)])
