"""Coincidence-lattice interfaces: CoTe2(001)/ZnTe(111) and stacks on Ti3C2Tx.

Candidate supercells come from pymatgen's Zur–McGill search (``ZSLGenerator``); this
module only turns its matches into integer supercell matrices, measures the strain on
each side, and stacks the two strained slabs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from pymatgen.analysis.interfaces.zsl import ZSLGenerator
from pymatgen.core import Lattice, Structure

from cztflow.protocol import default_protocol
from cztflow.structures.checks import check_structure, with_vacuum

__all__ = ["CoincidenceCell", "coincidence_cells", "stack_slabs", "supercell_label"]

_STRAIN_ON = ("upper", "lower", "split")


@dataclass(frozen=True)
class CoincidenceCell:
    """A common supercell of two slabs.

    Attributes
    ----------
    lower_matrix, upper_matrix
        2×2 integer matrices: rows of supercell vectors in units of each slab's in-plane
        cell vectors.
    lower_label, upper_label
        Readable names such as ``"2×2"`` or ``"√3×√3 R30.0°"``.
    area
        Area of the lower slab's supercell in Å² (before straining).
    mismatch
        Largest |principal strain| that maps the upper supercell onto the lower one.
    lower_cells, upper_cells
        Number of in-plane unit cells in each supercell.
    """

    lower_matrix: tuple[tuple[int, int], tuple[int, int]]
    upper_matrix: tuple[tuple[int, int], tuple[int, int]]
    lower_label: str
    upper_label: str
    area: float
    mismatch: float
    lower_cells: int
    upper_cells: int
    _lower_vectors: np.ndarray = field(repr=False, compare=False)
    _upper_vectors: np.ndarray = field(repr=False, compare=False)

    @property
    def is_wood(self) -> bool:
        """Whether both supercells have the shape of their unit cell (Wood notation)."""
        return not (self.lower_label.startswith("[") or self.upper_label.startswith("["))

    def common_lattice(self, strain_on: str = "upper") -> np.ndarray:
        """The 2×2 in-plane lattice (rows, a along x) both sides are strained to.

        ``"upper"`` keeps the lower slab's cell, ``"lower"`` keeps the upper one's, and
        ``"split"`` averages the two metrics so both sides share the strain.
        """
        if strain_on not in _STRAIN_ON:
            raise ValueError(f"strain_on must be one of {', '.join(_STRAIN_ON)}, got {strain_on!r}")
        g_low = self._lower_vectors @ self._lower_vectors.T
        g_up = self._upper_vectors @ self._upper_vectors.T
        g = {"upper": g_low, "lower": g_up, "split": (g_low + g_up) / 2.0}[strain_on]
        a, b = math.sqrt(g[0, 0]), math.sqrt(g[1, 1])
        cos_g = g[0, 1] / (a * b)
        sin_g = math.sqrt(1.0 - cos_g**2)
        return np.array([[a, 0.0], [b * cos_g, b * sin_g]])

    def strains(self, strain_on: str = "upper") -> dict[str, tuple[float, float]]:
        """Principal strains (ε1, ε2) applied to each side, keyed ``lower`` and ``upper``."""
        common = self.common_lattice(strain_on)
        return {
            "lower": _principal_strains(self._lower_vectors, common),
            "upper": _principal_strains(self._upper_vectors, common),
        }

    def summary(self, strain_on: str = "upper") -> dict[str, object]:
        """JSON-friendly description, with per-side strain in percent."""
        strains = self.strains(strain_on)
        return {
            "lower": self.lower_label,
            "upper": self.upper_label,
            "lower_matrix": [list(r) for r in self.lower_matrix],
            "upper_matrix": [list(r) for r in self.upper_matrix],
            "area": round(self.area, 3),
            "mismatch_percent": round(100 * self.mismatch, 4),
            "strain_on": strain_on,
            "strain_percent": {side: [round(100 * e, 4) + 0.0 for e in eps] for side, eps in strains.items()},
        }


def _principal_strains(reference: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """Principal strains of the 2D deformation that maps ``reference`` rows onto ``target``."""
    deformation = np.linalg.solve(reference, target)
    s = np.linalg.svd(deformation, compute_uv=False)
    e1, e2 = sorted(s - 1.0, key=abs, reverse=True)
    return float(e1), float(e2)


def _inplane(structure: Structure) -> np.ndarray:
    matrix = structure.lattice.matrix
    if np.abs(matrix[:2, 2]).max() > 1e-8 or np.abs(matrix[2, :2]).max() > 1e-8:
        raise ValueError("slab must have its in-plane vectors in xy and c along z")
    return matrix[:2, :2]


def _to_2d_frame(vectors: np.ndarray) -> np.ndarray:
    """Rotate two 2D row vectors so the first lies along +x (keeps handedness)."""
    angle = math.atan2(vectors[0, 1], vectors[0, 0])
    c, s = math.cos(-angle), math.sin(-angle)
    return vectors @ np.array([[c, s], [-s, c]])


def supercell_label(matrix: np.ndarray, unit: np.ndarray) -> str:
    """Wood-like label of a supercell: ``"2×2"``, ``"√7×√7 R19.1°"``, else the matrix."""
    sl = matrix @ unit
    n = round(abs(np.linalg.det(matrix)))
    la, lb = np.linalg.norm(sl, axis=1)
    ua, ub = np.linalg.norm(unit, axis=1)
    # a 60° and a 120° basis describe the same hexagonal lattice, hence the abs()
    same_shape = math.isclose(la / ua, lb / ub, rel_tol=1e-6) and math.isclose(
        abs(float(np.dot(sl[0], sl[1]) / (la * lb))),
        abs(float(np.dot(unit[0], unit[1]) / (ua * ub))),
        abs_tol=1e-6,
    )
    if not same_shape:
        return "[" + ", ".join(f"[{r[0]}, {r[1]}]" for r in matrix.astype(int)) + "]"
    angle = math.degrees(math.atan2(sl[0, 1], sl[0, 0]) - math.atan2(unit[0, 1], unit[0, 0]))
    angle = abs((angle + 30.0) % 60.0 - 30.0)  # hexagonal: angles are defined modulo 60°
    root = math.isqrt(n)
    size = f"{root}×{root}" if root * root == n else f"√{n}×√{n}"
    return size if angle < 0.05 else f"{size} R{angle:.1f}°"


def _integer_matrix(sl: np.ndarray, unit: np.ndarray) -> np.ndarray:
    m = sl @ np.linalg.inv(unit)
    rounded = np.round(m)
    if np.abs(m - rounded).max() > 1e-6:
        raise RuntimeError(f"ZSL supercell is not an integer combination of the cell: {m}")
    return rounded.astype(int)


def coincidence_cells(
    lower: Structure,
    upper: Structure,
    *,
    max_strain: float | None = None,
    max_area: float = 250.0,
    max_angle_tol: float = 0.01,
) -> list[CoincidenceCell]:
    """All distinct coincidence supercells of two slabs, smallest area first.

    Parameters
    ----------
    lower, upper
        Slabs with in-plane vectors in xy (the lower one is the substrate).
    max_strain
        Largest |principal strain| mapping upper onto lower; default from the protocol
        (``interface_strain``).
    max_area
        Largest supercell area to search, in Å².
    max_angle_tol
        Relative tolerance on the angle between the supercell vectors.

    Returns
    -------
    list of CoincidenceCell
        One per distinct (area, cell counts, mismatch), sorted by area then mismatch.
    """
    if max_strain is None:
        max_strain = float(default_protocol().decision("interface_strain").value)
    if not 0 < max_strain < 0.5:
        raise ValueError(f"max_strain must be in (0, 0.5), got {max_strain!r}")
    u_low, u_up = _inplane(lower), _inplane(upper)
    zsl = ZSLGenerator(
        max_area=max_area,
        max_length_tol=max_strain,
        max_angle_tol=max_angle_tol,
        bidirectional=True,
    )
    pad = np.zeros((2, 1))
    found: dict[tuple, CoincidenceCell] = {}
    for match in zsl(np.hstack([u_up, pad]), np.hstack([u_low, pad])):
        sl_up = np.asarray(match.film_sl_vectors, dtype=float)[:, :2]
        sl_low = np.asarray(match.substrate_sl_vectors, dtype=float)[:, :2]
        m_up, m_low = _integer_matrix(sl_up, u_up), _integer_matrix(sl_low, u_low)
        # Zur–McGill reduction can return a left-handed pair; swapping its two vectors
        # makes it right-handed, and the strain check below decides whether it still fits.
        if np.linalg.det(m_up) < 0:
            m_up, sl_up = m_up[::-1], sl_up[::-1]
        if np.linalg.det(m_low) < 0:
            m_low, sl_low = m_low[::-1], sl_low[::-1]
        d_up, d_low = np.linalg.det(m_up), np.linalg.det(m_low)
        mismatch = max(abs(e) for e in _principal_strains(_to_2d_frame(sl_up), _to_2d_frame(sl_low)))
        if mismatch > max_strain + 1e-9:
            continue
        area = abs(float(np.linalg.det(sl_low)))
        labels = supercell_label(m_low, u_low), supercell_label(m_up, u_up)
        wood = not (labels[0].startswith("[") or labels[1].startswith("["))
        key = (round(area, 3), round(abs(d_low)), round(abs(d_up)), round(mismatch, 6))
        if key in found and (found[key].is_wood or not wood):
            continue  # keep one cell per key, a Wood-notation one where there is one
        found[key] = CoincidenceCell(
            lower_matrix=tuple(tuple(int(x) for x in r) for r in m_low),
            upper_matrix=tuple(tuple(int(x) for x in r) for r in m_up),
            lower_label=labels[0],
            upper_label=labels[1],
            area=area,
            mismatch=mismatch,
            lower_cells=round(abs(d_low)),
            upper_cells=round(abs(d_up)),
            _lower_vectors=_to_2d_frame(sl_low),
            _upper_vectors=_to_2d_frame(sl_up),
        )
    return sorted(found.values(), key=lambda c: (round(c.area, 3), c.mismatch, not c.is_wood))


def _strained_block(slab: Structure, matrix, common: np.ndarray) -> tuple[list, np.ndarray, dict]:
    sup = slab.copy()
    sup.make_supercell([[matrix[0][0], matrix[0][1], 0], [matrix[1][0], matrix[1][1], 0], [0, 0, 1]])
    frac = sup.frac_coords
    xy = np.mod(frac[:, :2], 1.0) @ common
    z = sup.cart_coords[:, 2] - sup.cart_coords[:, 2].min()
    return list(sup.species), np.column_stack([xy, z]), sup.site_properties


def stack_slabs(
    lower: Structure,
    upper: Structure,
    cell: CoincidenceCell,
    *,
    strain_on: str = "upper",
    gap: float,
    shift: tuple[float, float] = (0.0, 0.0),
    vacuum: float | None = None,
) -> Structure:
    """Stack ``upper`` on ``lower`` in the coincidence supercell ``cell``.

    Parameters
    ----------
    lower, upper
        Slabs with in-plane vectors in xy; their site properties are kept.
    cell
        The supercell, from :func:`coincidence_cells` for the same two slabs.
    strain_on
        Which side is strained: ``"upper"``, ``"lower"`` or ``"split"``.
    gap
        Vertical distance in Å from the top atom of ``lower`` to the bottom atom of
        ``upper``.
    shift
        Lateral shift of ``upper`` in fractions of the supercell vectors.
    vacuum
        Vacuum in Å; default from the protocol.

    Returns
    -------
    Structure
        The interface, with ``properties["interface"]`` = ``cell.summary(strain_on)`` plus
        the gap and shift.

    Raises
    ------
    ValueError
        For a non-positive gap, an unknown ``strain_on``, or overlapping atoms.
    """
    if not gap > 0:
        raise ValueError(f"gap must be positive, got {gap!r}")
    vacuum = default_protocol().vacuum if vacuum is None else vacuum
    common = cell.common_lattice(strain_on)
    sp_low, xyz_low, props_low = _strained_block(lower, cell.lower_matrix, common)
    sp_up, xyz_up, props_up = _strained_block(upper, cell.upper_matrix, common)
    xyz_up[:, :2] += np.asarray(shift) @ common
    xyz_up[:, 2] += xyz_low[:, 2].max() + gap
    keys = sorted(set(props_low) & set(props_up))
    props = {k: list(props_low[k]) + list(props_up[k]) for k in keys}
    cart = np.vstack([xyz_low, xyz_up])
    lattice = Lattice([[*common[0], 0.0], [*common[1], 0.0], [0.0, 0.0, cart[:, 2].max() + 1.0]])
    raw = Structure(lattice, sp_low + sp_up, cart, coords_are_cartesian=True, site_properties=props)
    stacked = with_vacuum(raw, vacuum)
    stacked.properties["interface"] = {**cell.summary(strain_on), "gap": gap, "shift": list(shift)}
    return check_structure(
        stacked,
        f"{cell.lower_label} / {cell.upper_label} interface",
        expected=lower.composition * cell.lower_cells + upper.composition * cell.upper_cells,
        min_vacuum=vacuum,
    )
