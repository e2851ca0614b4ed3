"""Charge-density difference Δρ = ρ(AB) − ρ(A) − ρ(B) across an interface.

CHGCAR stores ρ·V on the grid. The planar integral λ(z) = ∬ Δρ dx dy (e/Å) is the plane
mean of the stored values divided by c; its running integral ΔQ(z) = ∫ λ dz, started in
the middle of the vacuum where Δρ vanishes, is the charge moved across the plane at z.
At the interface plane (midway between the facing atoms of A and B) it is the charge
transferred between the fragments.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cztflow.analysis.errors import AnalysisError
from cztflow.analysis.volumetric import VolumetricData

__all__ = ["ChargeDifference", "charge_difference"]

#: Lattices that differ by more than this (Å, any component) are different cells.
CELL_TOLERANCE = 1e-3


@dataclass
class ChargeDifference:
    """Planar-averaged charge-density difference and the charge moved across the interface.

    Attributes
    ----------
    z
        Plane positions along c (Å), starting in the middle of the vacuum.
    planar
        λ(z): Δρ integrated over each plane (e/Å); positive means electrons gained.
    cumulative
        ΔQ(z) = ∫ λ dz from the vacuum middle (e).
    interface_z
        The interface plane (Å, in the same coordinate as ``z``).
    transferred_charge
        Electrons gained by fragment A (negative: A lost electrons to B).
    lower
        Which fragment lies below the interface along +c, ``"A"`` or ``"B"``.
    """

    z: np.ndarray
    planar: np.ndarray
    cumulative: np.ndarray
    interface_z: float
    transferred_charge: float
    lower: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, with the profile."""
        return {
            "transferred_charge": self.transferred_charge,
            "interface_z": self.interface_z,
            "lower_fragment": self.lower,
            "z": self.z.tolist(),
            "planar": self.planar.tolist(),
            "cumulative": self.cumulative.tolist(),
        }


def _check_same_cell(whole: VolumetricData, part: VolumetricData, name: str) -> None:
    if part.grid != whole.grid:
        raise AnalysisError(
            part.path, f"{name} grid {part.grid} differs from AB grid {whole.grid} ({whole.path})"
        )
    if np.abs(part.lattice - whole.lattice).max() > CELL_TOLERANCE:
        raise AnalysisError(
            part.path, f"{name} cell differs from the AB cell ({whole.path}) by more than {CELL_TOLERANCE} Å"
        )


def charge_difference(
    whole: VolumetricData, part_a: VolumetricData, part_b: VolumetricData
) -> ChargeDifference:
    """Δρ of an interface from the CHGCARs of AB, A and B in the same cell and grid.

    Raises
    ------
    AnalysisError
        If the grids or cells differ, the atoms of A and B do not add up to those of AB, or
        A and B are not separated along c.
    """
    _check_same_cell(whole, part_a, "A")
    _check_same_cell(whole, part_b, "B")
    if sorted(s or "" for s in part_a.species + part_b.species) != sorted(s or "" for s in whole.species):
        raise AnalysisError(whole.path, "atoms of A and B do not add up to the atoms of AB")
    nz = whole.grid[2]
    c = float(np.linalg.norm(whole.lattice[2]))
    dz = c / nz
    planes = whole.data.mean(axis=(0, 1)) - part_a.data.mean(axis=(0, 1)) - part_b.data.mean(axis=(0, 1))
    planar = planes / c  # plane mean of ρV over c = ∬ρ dx dy for a c ⟂ ab cell

    za = np.mod(part_a.frac[:, 2], 1.0)
    zb = np.mod(part_b.frac[:, 2], 1.0)
    allz = np.sort(np.concatenate([za, zb]))
    gaps = np.diff(np.concatenate([allz, [allz[0] + 1]]))
    # vacuum middle (fractional, in [0, 1): a slab centred at 0.5 puts it at 1.0 before the mod)
    vac = float(np.mod(allz[int(np.argmax(gaps))] + gaps.max() / 2, 1.0))
    ua, ub = np.mod(za - vac, 1.0), np.mod(zb - vac, 1.0)  # heights above the vacuum middle
    if ua.max() <= ub.min():
        lower, gap = "A", (ua.max(), ub.min())
    elif ub.max() <= ua.min():
        lower, gap = "B", (ub.max(), ua.min())
    else:
        raise AnalysisError(whole.path, "atoms of A and B overlap along c: there is no interface plane")
    interface = (gap[0] + gap[1]) / 2 * c

    shift = round(vac * nz)  # nz when the middle lies within half a plane below c
    planar = np.roll(planar, -(shift % nz))
    cumulative = np.cumsum(planar) * dz
    z = np.arange(nz) * dz + (shift * dz - vac * c)  # starts within dz/2 of the vacuum middle
    below = float(np.interp(interface, z + dz / 2, cumulative))  # cumsum reaches each plane's upper edge
    return ChargeDifference(
        z=z,
        planar=planar,
        cumulative=cumulative,
        interface_z=float(interface),
        transferred_charge=below if lower == "A" else -below,
        lower=lower,
    )
