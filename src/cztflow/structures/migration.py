"""K migration paths: NEB end points between adjacent equivalent sites, and IDPP images.

The end points are K on one site and K on the nearest site equivalent to it by the
slab's symmetry (pymatgen's ``SpacegroupAnalyzer``), which is how the paper describes the
hop: "from one most stable position to the adjacent one".  The intermediate images come
from ASE's image-dependent pair potential interpolation.
"""

from __future__ import annotations

import numpy as np
from ase.mep import NEB
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from cztflow.protocol import default_protocol
from cztflow.structures.adsorption import AdsorptionSite, add_k
from cztflow.structures.checks import close_contacts
from cztflow.structures.surface_symmetry import inplane_operations

__all__ = ["equivalent_neighbor", "migration_endpoints", "neb_path"]


def equivalent_neighbor(slab: Structure, site: AdsorptionSite, *, symprec: float = 0.01) -> AdsorptionSite:
    """The nearest site equivalent to ``site`` by the slab's in-plane symmetry.

    Returns
    -------
    AdsorptionSite
        Named ``"<site.name>'"``, with x, y possibly outside the cell: it is the periodic
        image closest to ``site``, so a straight hop joins the two.

    Raises
    ------
    ValueError
        If the only equivalent sites are ``site``'s own periodic images (a hop by a whole
        cell vector moves nothing): pass the end site explicitly.
    """
    lattice = slab.lattice
    start = np.array([*site.xy, 0.0])
    frac = lattice.get_fractional_coords(start)
    best: tuple[tuple[float, float, float], np.ndarray] | None = None
    for op in inplane_operations(slab, symprec):
        image = op.operate(frac)
        delta = image - frac
        delta[:2] -= np.round(delta[:2])
        if np.linalg.norm(lattice.get_cartesian_coords([delta[0], delta[1], 0.0])) < 0.1:
            continue  # the site itself, or its image by a whole cell vector
        for shift in np.ndindex(3, 3):
            d = delta.copy()
            d[:2] += np.array(shift) - 1
            cart = lattice.get_cartesian_coords(d)
            key = _hop_key(cart[:2])
            if key[0] > 0.1 and (best is None or key < best[0]):
                best = (key, cart)
    if best is None:
        raise ValueError(
            f"{site.name} has no symmetry-equivalent neighbour in this cell other than its own "
            "periodic images; name the end site"
        )
    xy = start[:2] + best[1][:2]
    return AdsorptionSite(site.name + "'", site.kind, (float(xy[0]), float(xy[1])), site.above)


def _hop_key(step: np.ndarray) -> tuple[float, float, float]:
    """Order of candidate hops: shortest first; equal lengths (to 1e-6 Å) by x, then y.

    Hops across half a supercell come in equal pairs (+a/2 and -a/2); without the
    tie-break the choice followed rounding noise and the order of spglib's operations.
    """
    return (round(float(np.hypot(step[0], step[1])), 6), round(float(step[0]), 6), round(float(step[1]), 6))


def _nearest_image(slab: Structure, start: AdsorptionSite, end: AdsorptionSite) -> AdsorptionSite:
    """``end`` moved by a lattice vector to the image closest to ``start``."""
    inplane = slab.lattice.matrix[:2, :2]
    delta = np.subtract(end.xy, start.xy) @ np.linalg.inv(inplane)
    delta -= np.round(delta)
    candidates = [(delta + np.array(t) - 1) @ inplane for t in np.ndindex(3, 3)]
    best = min(candidates, key=_hop_key)
    xy = np.add(start.xy, best)
    return AdsorptionSite(end.name, end.kind, (float(xy[0]), float(xy[1])), end.above)


def _in_cell_of(adsorbed: Structure, taller: Structure) -> Structure:
    """``adsorbed`` (slab + K, last) rebuilt in the cell of ``taller``, the same slab with K higher.

    K sits at a different height over different sites, and :func:`add_k` sizes each cell
    for the vacuum above its own K; a band needs one cell, so both ends take the taller.
    """
    out = taller.copy()
    dz = float(taller.cart_coords[0, 2] - adsorbed.cart_coords[0, 2])
    k = adsorbed.cart_coords[-1] + np.array([0.0, 0.0, dz])
    out.replace(
        len(out) - 1,
        "K",
        k,
        coords_are_cartesian=True,
        properties={key: adsorbed.site_properties[key][-1] for key in adsorbed.site_properties},
    )
    out.properties = dict(adsorbed.properties)
    return out


def migration_endpoints(
    slab: Structure,
    start: AdsorptionSite,
    end: AdsorptionSite | None = None,
    *,
    distance: float | None = None,
    min_hop: float = 1.0,
) -> tuple[Structure, Structure]:
    """Initial and final states of one K hop on ``slab``.

    Parameters
    ----------
    slab
        The clean slab (a supercell big enough that K does not meet its images).
    start
        Site of the initial state.
    end
        Site of the final state (its periodic image nearest ``start`` is used); default:
        the nearest site equivalent to ``start``.
    distance
        K to nearest-atom distance in Å; default from the protocol.
    min_hop
        Smallest accepted hop length in Å.

    Raises
    ------
    ValueError
        If the hop is shorter than ``min_hop``.
    """
    end = equivalent_neighbor(slab, start) if end is None else _nearest_image(slab, start, end)
    hop = float(np.linalg.norm(np.subtract(end.xy, start.xy)))
    if hop < min_hop:
        raise ValueError(f"hop {start.name} → {end.name} is {hop:.2f} Å, below {min_hop} Å")
    initial = add_k(slab, start, distance=distance)
    final = add_k(slab, end, distance=distance)
    if final.lattice.c > initial.lattice.c + 1e-6:
        initial = _in_cell_of(initial, final)
    elif initial.lattice.c > final.lattice.c + 1e-6:
        final = _in_cell_of(final, initial)
    # keep the unwrapped end position so the path is the short one
    k_final = final.cart_coords[-1].copy()
    k_final[:2] = end.xy
    final.replace(
        len(final) - 1,
        "K",
        k_final,
        coords_are_cartesian=True,
        properties={k: final.site_properties[k][-1] for k in final.site_properties},
    )
    for s in (initial, final):
        s.properties["migration"] = {"start": start.as_dict(), "end": end.as_dict(), "hop": round(hop, 4)}
    return initial, final


def _unwrapped(first: np.ndarray, last: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """``last``'s fractional positions moved by whole cells to the image nearest ``first``.

    A step of exactly half a cell vector (a hop across half a supercell) has two nearest
    images; it keeps the direction the end point was given in, where ASE's minimum-image
    interpolation picks either by rounding noise (ASE 3.29 turned one golden hop round).
    """
    step = last - first
    shift = np.where(np.abs(step) > 0.5 + tol, np.round(step), 0.0)
    return last - shift


def neb_path(
    initial: Structure, final: Structure, *, n_images: int | None = None, method: str = "idpp"
) -> list[Structure]:
    """End points plus ``n_images`` interpolated images (ASE ``NEB.interpolate``).

    Parameters
    ----------
    initial, final
        End points with the same atoms in the same order and the same cell.
    n_images
        Intermediate images; default from the protocol (5).
    method
        ``"idpp"`` (default) or ``"linear"``.

    Returns
    -------
    list of Structure
        ``n_images + 2`` structures, end points included.

    Raises
    ------
    ValueError
        If the end points differ in atoms or cell, or an image has overlapping atoms
        (the message names the image).
    """
    n_images = default_protocol().neb_images if n_images is None else n_images
    if n_images < 1:
        raise ValueError(f"n_images must be at least 1, got {n_images!r}")
    if method not in ("idpp", "linear"):
        raise ValueError(f"method must be 'idpp' or 'linear', got {method!r}")
    if [s.specie.symbol for s in initial] != [s.specie.symbol for s in final]:
        raise ValueError("end points must hold the same atoms in the same order")
    if not np.allclose(initial.lattice.matrix, final.lattice.matrix, atol=1e-6):
        raise ValueError("end points must share the same cell")
    adaptor = AseAtomsAdaptor()
    first, last = adaptor.get_atoms(initial), adaptor.get_atoms(final)
    last.set_cell(first.cell)
    last.set_scaled_positions(_unwrapped(first.get_scaled_positions(False), last.get_scaled_positions(False)))
    images = [first] + [first.copy() for _ in range(n_images)] + [last]
    band = NEB(images, method="improvedtangent")
    band.interpolate(method=method, mic=False, apply_constraint=False)
    path = []
    for i, atoms in enumerate(images):
        s = initial.copy()
        for j in range(len(s)):
            s.replace(
                j,
                s[j].species,
                atoms.positions[j],
                coords_are_cartesian=True,
                properties={k: s.site_properties[k][j] for k in s.site_properties},
            )
        bad = close_contacts(s)
        if bad:
            a, b, d, t = bad[0]
            raise ValueError(
                f"NEB image {i:02d}: atoms {s[a].specie.symbol}{a}–{s[b].specie.symbol}{b} "
                f"at {d:.3f} Å, below {t:.3f} Å"
            )
        s.properties = {**initial.properties, "neb_image": i, "neb_images": n_images}
        path.append(s)
    return path
