"""K adsorption sites: symmetry-distinct top, bridge and hollow sites, and K placement.

Site enumeration is pymatgen's ``AdsorbateSiteFinder`` (Delaunay triangulation of the
top atomic plane, reduced by the slab's symmetry).  This module adds names, a
description of what lies under each site, and K placed at a chosen distance from the
nearest surface atom, either on the top surface or intercalated between two blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pymatgen.core import Structure
from pymatgen.core.adsorption import AdsorbateSiteFinder

from cztflow.protocol import default_protocol
from cztflow.structures.checks import check_structure, with_vacuum
from cztflow.structures.surface_symmetry import canonical_xy, inplane_operations

__all__ = ["AdsorptionSite", "add_k", "blocks_only", "intercalate_k", "k_sites", "lower_part"]

_KINDS = ("ontop", "bridge", "hollow")
_Z_STEP = 0.01  # Å, resolution of the height search


@dataclass(frozen=True)
class AdsorptionSite:
    """A lateral adsorption position on a slab's top surface.

    Attributes
    ----------
    name
        ``"<kind>-<n>"``, unique within one slab, e.g. ``"hollow-2"``.
    kind
        ``"ontop"``, ``"bridge"`` or ``"hollow"``.
    xy
        Cartesian x, y in Å.
    above
        Element and depth of the nearest atom right under the site (lateral offset below
        0.5 Å), e.g. ``"Te@0.00"`` for an ontop site or ``"Co@1.35"`` for a hollow over Co;
        ``"-"`` if none lies under it.
    """

    name: str
    kind: str
    xy: tuple[float, float]
    above: str

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "xy": [round(v, 4) + 0.0 for v in self.xy],  # + 0.0: no -0.0 from a -1e-16
            "above": self.above,
        }


def _beneath(slab: Structure, xy: np.ndarray) -> tuple[float, str] | None:
    """Depth below the top and element of the highest atom within 0.5 Å laterally of ``xy``."""
    cart = slab.cart_coords
    top = cart[:, 2].max()
    best = None
    for shift in np.ndindex(3, 3):
        offset = (np.array(shift) - 1) @ slab.lattice.matrix[:2, :2]
        lateral = np.linalg.norm(cart[:, :2] + offset - xy, axis=1)
        for i in np.flatnonzero(lateral < 0.5):
            depth = top - cart[i, 2]
            if best is None or depth < best[0]:
                best = (float(depth), slab[i].specie.symbol)
    return best


def _label(beneath: tuple[float, str] | None) -> str:
    """``AdsorptionSite.above`` for a :func:`_beneath` result, e.g. ``"Co@1.35"``."""
    return "-" if beneath is None else f"{beneath[1]}@{beneath[0]:.2f}"


def k_sites(
    slab: Structure,
    *,
    kinds: tuple[str, ...] = _KINDS,
    surface_depth: float = 0.5,
    symprec: float = 0.01,
) -> list[AdsorptionSite]:
    """Symmetry-distinct adsorption sites on the top surface of ``slab``.

    Parameters
    ----------
    slab
        A slab with c along z and the surface on top.
    kinds
        Site kinds to return, from ``ontop``, ``bridge``, ``hollow``.
    surface_depth
        Atoms within this depth (Å) of the topmost atom form the surface plane.
    symprec
        Threshold (Å) for merging sites equivalent by symmetry or proximity.

    Returns
    -------
    list of AdsorptionSite
        By kind, and within a kind numbered by what lies under the site: the deeper atom
        first (``-``, nothing under it, first of all), as the fcc hollow comes before the hcp
        hollow on a close-packed surface; then the element, then x, then y.  Each
        site is the member of its symmetry class nearest the cell origin
        (:func:`~cztflow.structures.surface_symmetry.canonical_xy`), so names and positions do
        not depend on which member pymatgen's site finder returns.
    """
    unknown = sorted(set(kinds) - set(_KINDS))
    if unknown:
        raise ValueError(f"unknown site kind {', '.join(unknown)}; choose from {', '.join(_KINDS)}")
    finder = AdsorbateSiteFinder(slab, height=surface_depth)
    found = finder.find_adsorption_sites(
        distance=0.0, symm_reduce=symprec, near_reduce=symprec, positions=tuple(kinds)
    )
    ops = inplane_operations(slab, symprec)
    sites = []
    for kind in kinds:
        ranked = []
        for p in found[kind]:
            x, y = (float(v) for v in canonical_xy(slab, np.asarray(p[:2]), ops))
            beneath = _beneath(slab, np.array([x, y]))
            depth, element = beneath or (np.inf, "")
            ranked.append(((-round(depth, 2), element, round(x, 3), round(y, 3)), x, y, _label(beneath)))
        for n, (_key, x, y, above) in enumerate(sorted(ranked), start=1):
            sites.append(AdsorptionSite(f"{kind}-{n}", kind, (x, y), above))
    return sites


def _min_distance(structure: Structure, point: np.ndarray, indices: np.ndarray) -> float:
    frac = structure.lattice.get_fractional_coords(point)
    return float(structure.lattice.get_all_distances(frac, structure.frac_coords[indices]).min())


def _lowest_height(structure: Structure, xy, indices: np.ndarray, distance: float) -> float:
    """Lowest z at which a point at ``xy`` keeps ``distance`` from the atoms ``indices``.

    The search never goes below the topmost of those atoms, so K cannot sink through an
    open channel into the slab.
    """
    floor = float(structure.cart_coords[indices, 2].max())
    z = floor + distance
    while z - _Z_STEP >= floor and (
        _min_distance(structure, np.array([*xy, z - _Z_STEP]), indices) >= distance
    ):
        z -= _Z_STEP
    return z


def _with_k(structure: Structure, position: np.ndarray, vacuum: float) -> Structure:
    out = structure.copy()
    layer = max(out.site_properties.get("layer", [0])) + 1
    props = {"selective_dynamics": [True] * 3, "layer": layer, "block": "K", "pseudo_charge": 0.0}
    props = {k: v for k, v in props.items() if k in out.site_properties}
    out.append("K", position, coords_are_cartesian=True, properties=props)
    return with_vacuum(out, vacuum)


def add_k(
    slab: Structure,
    site: AdsorptionSite,
    *,
    distance: float | None = None,
    vacuum: float | None = None,
) -> Structure:
    """Place one K atom over ``site``, ``distance`` Å from the nearest atom.

    The K sits at the lowest height where no slab atom is closer than ``distance``; the
    cell is then re-sized so the vacuum above K is the protocol's.

    Parameters
    ----------
    slab
        The clean slab.
    site
        A site from :func:`k_sites` on the same slab.
    distance
        K to nearest-atom distance in Å; default from the protocol (``k_adsorption_height``).
    vacuum
        Vacuum in Å; default from the protocol.
    """
    protocol = default_protocol()
    distance = float(protocol.decision("k_adsorption_height").value) if distance is None else distance
    if not distance > 0:
        raise ValueError(f"distance must be positive, got {distance!r}")
    vacuum = protocol.vacuum if vacuum is None else vacuum
    every = np.arange(len(slab))
    z = _lowest_height(slab, site.xy, every, distance)
    out = _with_k(slab, np.array([*site.xy, z]), vacuum)
    out.properties["adsorption"] = {**site.as_dict(), "distance": distance, "intercalated": False}
    return check_structure(out, f"K on {site.name}", expected=slab.composition + {"K": 1}, min_vacuum=vacuum)


def intercalate_k(
    structure: Structure,
    site: AdsorptionSite,
    *,
    lower_block: str = "cote2",
    distance: float | None = None,
    vacuum: float | None = None,
) -> Structure:
    """Place one K between ``lower_block`` and the block above it, opening the gap.

    The K sits over ``site`` (a site of the lower block's top surface, from
    :func:`k_sites` on :func:`lower_part`) at ``distance`` from the lower block; every atom
    above the lower block is then lifted rigidly until none is closer than ``distance``
    to the K.

    Parameters
    ----------
    structure
        A stacked structure whose sites carry the ``block`` property.
    site
        Lateral position, from the lower block's top surface.
    lower_block
        ``block`` label of the lower material.
    distance
        K to nearest-atom distance in Å; default from the protocol.
    vacuum
        Vacuum in Å; default from the protocol.
    """
    protocol = default_protocol()
    distance = float(protocol.decision("k_adsorption_height").value) if distance is None else distance
    vacuum = protocol.vacuum if vacuum is None else vacuum
    lower_idx, upper_idx = _split_blocks(structure, lower_block)
    z = _lowest_height(structure, site.xy, lower_idx, distance)
    k_pos = np.array([*site.xy, z])
    lifted = structure.copy()
    lift = 0.0
    while True:
        pts = lifted.cart_coords[upper_idx] + [0.0, 0.0, lift]
        frac = lifted.lattice.get_fractional_coords(pts)
        d = lifted.lattice.get_all_distances(lifted.lattice.get_fractional_coords(k_pos), frac)
        if d.min() >= distance:
            break
        lift += _Z_STEP
    # no wrapping: _with_k rebuilds the cell around the lifted atoms
    lifted.translate_sites(upper_idx.tolist(), [0.0, 0.0, lift], frac_coords=False, to_unit_cell=False)
    out = _with_k(lifted, k_pos, vacuum)
    out.properties["adsorption"] = {
        **site.as_dict(),
        "distance": distance,
        "intercalated": True,
        "lower_block": lower_block,
        "gap_opened": round(lift, 3),
    }
    return check_structure(
        out,
        f"K intercalated at {site.name}",
        expected=structure.composition + {"K": 1},
        min_vacuum=vacuum,
    )


def _split_blocks(structure: Structure, lower_block: str) -> tuple[np.ndarray, np.ndarray]:
    blocks = structure.site_properties.get("block")
    if blocks is None:
        raise ValueError("structure has no 'block' site property; build it with cztflow")
    lower = np.array([i for i, b in enumerate(blocks) if b == lower_block])
    if lower.size == 0:
        raise ValueError(f"no atoms of block {lower_block!r}; blocks present: {sorted(set(blocks))}")
    top = structure.cart_coords[lower, 2].max()
    upper = np.array(
        [i for i, b in enumerate(blocks) if b != lower_block and structure.cart_coords[i, 2] > top]
    )
    if upper.size == 0:
        raise ValueError(f"nothing lies above block {lower_block!r}; use add_k for a surface site")
    return lower, upper


def lower_part(structure: Structure, lower_block: str = "cote2") -> Structure:
    """The atoms of ``lower_block`` alone, for finding intercalation sites."""
    _split_blocks(structure, lower_block)  # checks that something lies above it
    return blocks_only(structure, [lower_block])


def blocks_only(structure: Structure, blocks: list[str]) -> Structure:
    """The atoms whose ``block`` is one of ``blocks``, in the same cell.

    Used to enumerate sites with the symmetry of part of a stack, e.g. the CoTe2/ZnTe
    surface of a composite whose mixed-termination MXene has no symmetry.
    """
    labels = structure.site_properties.get("block")
    if labels is None:
        raise ValueError("structure has no 'block' site property; build it with cztflow")
    missing = sorted(set(blocks) - set(labels))
    if missing:
        raise ValueError(f"no atoms of block {', '.join(missing)}; present: {sorted(set(labels))}")
    out = structure.copy()
    out.remove_sites([i for i, b in enumerate(labels) if b not in blocks])
    return out
