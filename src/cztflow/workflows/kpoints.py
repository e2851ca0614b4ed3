"""k-point meshes and band paths that follow the protocol.

* surface cells (slabs): the paper's Monkhorst–Pack mesh (2×2×1);
* bulk cells: a Γ-centred mesh with spacing at most ``bulk_kpoint_density`` (2π included);
* an atom or molecule in a box: Γ only;
* DOS runs: a Γ-centred mesh at ``dos_kpoint_density`` (one k-point along a slab normal);
* band structures: pymatgen's high-symmetry path, in the cell's own reciprocal basis,
  with only the k_z = 0 segments for slabs.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
from pymatgen.core import Structure
from pymatgen.io.vasp.inputs import Kpoints

from cztflow.geometry import kpoint_mesh
from cztflow.protocol import Protocol

__all__ = ["band_path", "line_mode_kpoints", "mesh_kpoints"]


def mesh_kpoints(structure: Structure, geometry: str, protocol: Protocol, *, dos: bool = False) -> Kpoints:
    """The KPOINTS of a self-consistent (or, with ``dos``, DOS) run for ``geometry``.

    Parameters
    ----------
    structure
        The cell.
    geometry
        ``"bulk"``, ``"slab"`` or ``"molecule"`` (see :func:`cztflow.geometry.cell_kind`).
    protocol
        Gives the surface mesh, the bulk and DOS densities and the molecule mesh.
    dos
        A denser Γ-centred mesh for a non-self-consistent DOS run.

    Raises
    ------
    ValueError
        For any other geometry (e.g. vacuum along the first or second vector).
    """
    matrix = structure.lattice.matrix
    if geometry == "molecule":
        mesh = [int(k) for k in protocol.decision("molecule_kpoints").value]
        return Kpoints.gamma_automatic(tuple(mesh))
    if geometry not in ("bulk", "slab"):
        raise ValueError(f"no k-point rule for a {geometry!r} cell: put the vacuum along the third vector")
    periodic = (True, True, geometry == "bulk")
    if dos:
        spacing = float(protocol.decision("dos_kpoint_density").value)
        return Kpoints.gamma_automatic(tuple(kpoint_mesh(matrix, spacing, periodic)))
    if geometry == "slab":
        return Kpoints.monkhorst_automatic(protocol.surface_kpoints)
    spacing = float(protocol.decision("bulk_kpoint_density").value)
    return Kpoints.gamma_automatic(tuple(kpoint_mesh(matrix, spacing, periodic)))


def band_path(structure: Structure, *, in_plane: bool) -> list[tuple[str, np.ndarray, str, np.ndarray]]:
    """Segments of the Setyawan–Curtarolo path, in fractional coordinates of this cell.

    pymatgen's ``HighSymmKpath`` defines the path on the standard primitive cell; the
    points are converted through Cartesian coordinates to this cell's reciprocal basis,
    so a supercell gets the folded path.  With ``in_plane`` (slabs), only segments whose
    ends both lie in the k_z = 0 plane are kept.

    Returns
    -------
    list of (label, k_start, label, k_end)
    """
    from pymatgen.symmetry.bandstructure import HighSymmKpath

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kpath = HighSymmKpath(structure, path_type="setyawan_curtarolo", symprec=0.01)
    prim_recip = kpath.prim.lattice.reciprocal_lattice
    own_recip = structure.lattice.reciprocal_lattice
    points = {}
    for label, frac in kpath.kpath["kpoints"].items():
        cart = prim_recip.get_cartesian_coords(frac)
        points[label] = np.round(own_recip.get_fractional_coords(cart), 10)
    segments = []
    for branch in kpath.kpath["path"]:
        for a, b in itertools.pairwise(branch):
            ka, kb = points[a], points[b]
            if in_plane and (abs(ka[2]) > 1e-6 or abs(kb[2]) > 1e-6):
                continue
            segments.append((a, ka, b, kb))
    if not segments:
        raise ValueError(f"{structure.formula}: the high-symmetry path has no segment in the k_z = 0 plane")
    return segments


def line_mode_kpoints(
    structure: Structure, geometry: str, protocol: Protocol, *, divisions: int | None = None
) -> Kpoints:
    """Line-mode KPOINTS along :func:`band_path`; ``divisions`` points per segment (default: protocol)."""
    divisions = divisions or int(protocol.decision("band_path").value["points_per_segment"])
    kpts, labels = [], []
    for a, ka, b, kb in band_path(structure, in_plane=geometry == "slab"):
        kpts += [ka, kb]
        labels += [a, b]
    return Kpoints(
        "band path (Setyawan-Curtarolo, cell basis)",
        num_kpts=divisions,
        style=Kpoints.supported_modes.Line_mode,
        coord_type="Reciprocal",
        kpts=[tuple(float(x) for x in k) for k in kpts],
        labels=labels,
    )
