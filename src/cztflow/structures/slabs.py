"""Surface slabs: CoTe2(001), polar ZnTe(111) with a pseudo-H-capped bottom, non-polar ZnTe(110).

Every slab has its in-plane vectors in the xy plane, c along z, the protocol's vacuum,
and these site properties:

``selective_dynamics``
    ``[False] * 3`` on the fixed bottom layers, ``[True] * 3`` elsewhere.
``layer``
    Index of the (tri/bi/atomic) layer the atom belongs to, counted from the bottom.
``block``
    Which material the atom belongs to (``"cote2"``, ``"znte"``, ``"mxene"``, ``"K"``).
``pseudo_charge``
    Valence charge of a pseudo-hydrogen cap (e.g. 1.5 for VASP's ``H1.5``); 0.0 for
    ordinary atoms.

The layered slabs are stacked directly from the bulk geometry rather than through
pymatgen's ``SlabGenerator``: the termination (Te on top, a cut through the vdW gap or
through ZnTe's single vertical bond) and the pseudo-H caps are the whole point, and a
direct stack makes both explicit.  The tests check every bond length against the bulk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from pymatgen.core import Lattice, Structure

from cztflow.protocol import default_protocol
from cztflow.structures.bulk import COTE2_A, COTE2_C, ZNTE_A
from cztflow.structures.checks import check_structure, with_vacuum

__all__ = ["SlabSites", "cote2_001_slab", "make_slab", "znte_110_slab", "znte_111_slab"]

#: Zn–H distance of the pseudo-hydrogen cap (Å).
ZN_H_BOND = 1.55

SlabSites = list[tuple[str, Sequence[float], int, float]]
"""(species, Cartesian position, layer index, pseudo charge) for each atom of a slab."""


def _check_counts(layers: int, fixed_layers: int, supercell: Sequence[int]) -> tuple[int, int]:
    if not isinstance(layers, int | np.integer) or layers < 1:
        raise ValueError(f"layers must be a positive integer, got {layers!r}")
    if not 0 <= fixed_layers < layers:
        raise ValueError(
            f"fixed_layers must be between 0 and layers - 1 = {layers - 1}, got {fixed_layers!r}"
        )
    if len(supercell) != 2 or any(int(n) != n or n < 1 for n in supercell):
        raise ValueError(f"supercell must be two positive integers, got {supercell!r}")
    return int(supercell[0]), int(supercell[1])


def make_slab(
    inplane: np.ndarray,
    sites: SlabSites,
    *,
    block: str,
    fixed_layers: int,
    supercell: tuple[int, int],
    vacuum: float,
) -> Structure:
    """Assemble a slab from Cartesian sites in one surface cell.

    Parameters
    ----------
    inplane
        2×3 array, the in-plane lattice vectors (z components zero).
    sites
        (species, Cartesian position, layer, pseudo charge) per atom.
    block
        Material label stored in the ``block`` site property.
    fixed_layers
        Atoms with ``layer < fixed_layers`` are fixed.
    supercell
        In-plane repetition (n, m).
    vacuum
        Vacuum along z in Å.
    """
    species = [s[0] for s in sites]
    coords = np.array([s[1] for s in sites], dtype=float)
    coords[:, 2] -= coords[:, 2].min() - vacuum / 2.0  # nothing may wrap across z = 0
    layer = [int(s[2]) for s in sites]
    charge = [s[3] for s in sites]
    height = float(coords[:, 2].max() - coords[:, 2].min()) + vacuum
    lattice = Lattice([inplane[0], inplane[1], [0.0, 0.0, height]])
    props = {
        "selective_dynamics": [[lay >= fixed_layers] * 3 for lay in layer],
        "layer": layer,
        "block": [block] * len(sites),
        "pseudo_charge": charge,
    }
    slab = Structure(lattice, species, coords, coords_are_cartesian=True, site_properties=props)
    slab.make_supercell([supercell[0], supercell[1], 1])
    return with_vacuum(slab, vacuum)


def _hexagonal_inplane(a: float) -> np.ndarray:
    return np.array([[a, 0.0, 0.0], [-a / 2.0, a * math.sqrt(3.0) / 2.0, 0.0]])


def cote2_001_slab(
    layers: int = 3,
    *,
    supercell: tuple[int, int] = (1, 1),
    fixed_layers: int | None = None,
    vacuum: float | None = None,
    a: float = COTE2_A,
    c: float = COTE2_C,
    z_te: float = 0.25,
) -> Structure:
    """Te-terminated CoTe2(001): ``layers`` Te–Co–Te trilayers cut through the vdW gaps.

    Parameters
    ----------
    layers
        Number of trilayers (each one CoTe2 formula unit per surface cell).
    supercell
        In-plane repetition of the 1×1 cell.
    fixed_layers
        Bottom trilayers kept fixed; default from the protocol (``fixed_layers.cote2``).
    vacuum
        Vacuum in Å; default from the protocol.
    a, c, z_te
        Bulk lattice parameters and Te height, as for :func:`~cztflow.structures.bulk.cote2_bulk`.

    Raises
    ------
    ValueError
        For zero or negative layers, a fixed-layer count out of range, a bad supercell, or
        a geometry that fails the checks.
    """
    protocol = default_protocol()
    if fixed_layers is None:
        fixed_layers = int(protocol.decision("fixed_layers").value["cote2"])
    n, m = _check_counts(layers, fixed_layers, supercell)
    vacuum = protocol.vacuum if vacuum is None else vacuum
    inplane = _hexagonal_inplane(a)
    p13 = (inplane[0] + 2 * inplane[1]) / 3.0  # lateral (1/3, 2/3)
    p23 = (2 * inplane[0] + inplane[1]) / 3.0  # lateral (2/3, 1/3)
    dz = z_te * c
    sites: SlabSites = []
    for k in range(layers):
        z0 = k * c
        sites.append(("Te", p23 + np.array([0.0, 0.0, z0 - dz]), k, 0.0))
        sites.append(("Co", np.array([0.0, 0.0, z0]), k, 0.0))
        sites.append(("Te", p13 + np.array([0.0, 0.0, z0 + dz]), k, 0.0))
    slab = make_slab(
        inplane, sites, block="cote2", fixed_layers=fixed_layers, supercell=(n, m), vacuum=vacuum
    )
    return check_structure(
        slab,
        f"CoTe2(001) {layers}-trilayer slab",
        expected={"Co": layers * n * m, "Te": 2 * layers * n * m},
        min_vacuum=vacuum,
    )


def znte_111_slab(
    layers: int = 4,
    *,
    supercell: tuple[int, int] = (1, 1),
    fixed_layers: int | None = None,
    vacuum: float | None = None,
    a: float = ZNTE_A,
    passivate: bool = True,
) -> Structure:
    """Polar ZnTe(111): Te on top, pseudo-H caps under the bottom Zn.

    The slab is a stack of Zn–Te bilayers (spacing a√3/12) joined by single vertical
    Zn–Te bonds (length a√3/4); it is cut through those vertical bonds, so each surface
    atom has one dangling bond.  The top Te keeps it (the surface K adsorbs on); each
    bottom Zn gets a pseudo-hydrogen with the fractional valence charge the protocol
    records (``pseudo_hydrogen.Zn`` = 1.5 e, VASP's ``H1.5``) stored in ``pseudo_charge``.

    Parameters
    ----------
    layers
        Number of Zn–Te bilayers.
    supercell
        In-plane repetition of the 1×1 hexagonal cell (a/√2).
    fixed_layers
        Bottom bilayers kept fixed (the caps move with the bottom bilayer); default from
        the protocol (``fixed_layers.znte``).
    vacuum
        Vacuum in Å; default from the protocol.
    a
        Cubic lattice constant of ZnTe in Å.
    passivate
        Cap the bottom Zn with pseudo-H.
    """
    protocol = default_protocol()
    if fixed_layers is None:
        fixed_layers = int(protocol.decision("fixed_layers").value["znte"])
    n, m = _check_counts(layers, fixed_layers, supercell)
    vacuum = protocol.vacuum if vacuum is None else vacuum
    a_s = a / math.sqrt(2.0)
    inplane = _hexagonal_inplane(a_s)
    columns = [
        np.zeros(3),
        (2 * inplane[0] + inplane[1]) / 3.0,
        (inplane[0] + 2 * inplane[1]) / 3.0,
    ]
    period = a * math.sqrt(3.0) / 3.0  # one bilayer
    close = a * math.sqrt(3.0) / 12.0  # Zn–Te spacing inside a bilayer
    charge = float(protocol.decision("pseudo_hydrogen").value["Zn"])
    sites: SlabSites = []
    if passivate:
        sites.append(("H", columns[0] + [0, 0, -ZN_H_BOND], 0, charge))
    for k in range(layers):
        sites.append(("Zn", columns[k % 3] + [0, 0, k * period], k, 0.0))
        sites.append(("Te", columns[(k + 1) % 3] + [0, 0, k * period + close], k, 0.0))
    slab = make_slab(inplane, sites, block="znte", fixed_layers=fixed_layers, supercell=(n, m), vacuum=vacuum)
    expected = {"Zn": layers * n * m, "Te": layers * n * m}
    if passivate:
        expected["H"] = n * m
    return check_structure(slab, f"ZnTe(111) {layers}-bilayer slab", expected=expected, min_vacuum=vacuum)


def znte_110_slab(
    layers: int = 6,
    *,
    supercell: tuple[int, int] = (1, 1),
    fixed_layers: int | None = None,
    vacuum: float | None = None,
    a: float = ZNTE_A,
) -> Structure:
    """Non-polar ZnTe(110), the cleavage plane: each atomic layer holds one Zn and one Te.

    The surface cell is rectangular, a/√2 along [1−10] (x) by a along [001] (y); layers
    are a/(2√2) apart.

    Parameters
    ----------
    layers
        Number of atomic (110) layers.
    supercell
        In-plane repetition of the rectangular cell.
    fixed_layers
        Bottom layers kept fixed; default from the protocol (``fixed_layers.znte``).
    vacuum
        Vacuum in Å; default from the protocol.
    a
        Cubic lattice constant of ZnTe in Å.
    """
    protocol = default_protocol()
    if fixed_layers is None:
        fixed_layers = int(protocol.decision("fixed_layers").value["znte"])
    n, m = _check_counts(layers, fixed_layers, supercell)
    vacuum = protocol.vacuum if vacuum is None else vacuum
    spacing = a / (2 * math.sqrt(2.0))
    cell_x, cell_y = a / math.sqrt(2.0), a
    sites: SlabSites = [
        (species, (x, y, k * spacing), k, 0.0)
        for k in range(layers)
        for species, x, y in _znte_110_layer(a, k % 2)
    ]
    inplane = np.array([[cell_x, 0.0, 0.0], [0.0, cell_y, 0.0]])
    slab = make_slab(inplane, sites, block="znte", fixed_layers=fixed_layers, supercell=(n, m), vacuum=vacuum)
    return check_structure(
        slab,
        f"ZnTe(110) {layers}-layer slab",
        expected={"Zn": layers * n * m, "Te": layers * n * m},
        min_vacuum=vacuum,
    )


def _znte_110_layer(a: float, parity: int) -> list[tuple[str, float, float]]:
    """In-plane (x, y) of the Zn and Te in one (110) layer of zinc blende (0 or 1 mod 2).

    Found by rotating the conventional cell into x ∥ [1−10], y ∥ [001], z ∥ [110] and
    keeping the atoms of that layer, wrapped into the a/√2 × a surface cell.
    """
    frame = np.array([[1, -1, 0], [0, 0, 1], [1, 1, 0]], dtype=float)
    frame /= np.linalg.norm(frame, axis=1)[:, None]
    spacing = a / (2 * math.sqrt(2.0))
    cell = np.array([a / math.sqrt(2.0), a])
    zn = np.array([(0, 0, 0), (0, 0.5, 0.5), (0.5, 0, 0.5), (0.5, 0.5, 0)])
    found: dict[tuple[str, int, int], tuple[str, float, float]] = {}
    for species, basis in (("Zn", zn), ("Te", zn + 0.25)):
        for p in basis:
            for t in np.ndindex(3, 3, 3):
                x, y, z = frame @ (a * (p + np.array(t) - 1))
                if abs(z - parity * spacing) > 1e-6:
                    continue
                xy = np.mod([x, y], cell)
                xy[np.isclose(xy, cell)] = 0.0
                found[(species, *np.round(xy * 1e4).astype(int))] = (species, *xy)
    return sorted(found.values())
