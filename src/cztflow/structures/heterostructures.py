"""The study's heterostructures: CoTe2(001)/ZnTe(111), and CoTe2 or CoTe2/ZnTe on Ti3C2Tx."""

from __future__ import annotations

from collections.abc import Mapping

from pymatgen.core import Structure

from cztflow.protocol import default_protocol
from cztflow.structures.bulk import COTE2_A, COTE2_C, ZNTE_A
from cztflow.structures.interface import CoincidenceCell, coincidence_cells, stack_slabs
from cztflow.structures.mxene import MXENE_A, ti3c2tx
from cztflow.structures.slabs import cote2_001_slab, znte_111_slab

__all__ = ["cote2_znte_interface", "interface_candidates", "mxene_stack", "pick_cell"]

_STRAIN_SIDE = {"znte": "upper", "cote2": "lower", "split": "split"}
#: Vertical gap between the MXene's top termination and CoTe2's bottom Te (Å).
MXENE_GAP = 3.0


def pick_cell(
    cells: list[CoincidenceCell],
    lower_supercell: int | None,
    what: str,
    max_strain: float,
    max_area: float,
) -> CoincidenceCell:
    """The smallest cell, or the one whose lower side is ``lower_supercell``×``lower_supercell``.

    Raises
    ------
    ValueError
        If there is no candidate, or none of the requested size; the message lists what
        was found.
    """
    if not cells:
        raise ValueError(
            f"{what}: no coincidence cell with |strain| ≤ {100 * max_strain:g}% within "
            f"{max_area:g} Å²; raise max_strain or max_area"
        )
    if lower_supercell is None:
        return cells[0]
    label = f"{lower_supercell}×{lower_supercell}"
    for cell in cells:
        if cell.lower_label == label:
            return cell
    have = "; ".join(f"{c.lower_label} / {c.upper_label}" for c in cells)
    raise ValueError(f"{what}: no {label} cell within the limits; candidates: {have}")


def _interface_slabs(
    cote2_layers: int,
    znte_layers: int,
    cote2_a: float,
    cote2_c: float,
    znte_a: float,
    cote2_fixed_layers: int | None,
) -> tuple[Structure, Structure]:
    lower = cote2_001_slab(cote2_layers, a=cote2_a, c=cote2_c, fixed_layers=cote2_fixed_layers)
    upper = znte_111_slab(znte_layers, a=znte_a, passivate=False, fixed_layers=0)
    return lower, upper


def interface_candidates(
    *,
    cote2_layers: int = 3,
    znte_layers: int = 4,
    max_strain: float | None = None,
    max_area: float = 250.0,
    strain_on: str = "znte",
    cote2_a: float = COTE2_A,
    znte_a: float = ZNTE_A,
) -> list[dict[str, object]]:
    """Every CoTe2(001)/ZnTe(111) coincidence cell, smallest first, with its atom count.

    Returns
    -------
    list of dict
        :meth:`CoincidenceCell.summary` (cells, area, strain of each side in percent)
        plus ``natoms`` for the given layer counts.
    """
    if strain_on not in _STRAIN_SIDE:
        raise ValueError(f"strain_on must be one of znte, cote2, split; got {strain_on!r}")
    lower, upper = _interface_slabs(cote2_layers, znte_layers, cote2_a, COTE2_C, znte_a, 0)
    cells = coincidence_cells(lower, upper, max_strain=max_strain, max_area=max_area)
    return [
        {
            **c.summary(_STRAIN_SIDE[strain_on]),
            "natoms": c.lower_cells * len(lower) + c.upper_cells * len(upper),
        }
        for c in cells
    ]


def cote2_znte_interface(
    *,
    cote2_layers: int = 3,
    znte_layers: int = 4,
    cote2_supercell: int | None = None,
    max_strain: float | None = None,
    max_area: float = 250.0,
    strain_on: str = "znte",
    interlayer_distance: float | None = None,
    shift: tuple[float, float] = (0.0, 0.0),
    vacuum: float | None = None,
    cote2_a: float = COTE2_A,
    cote2_c: float = COTE2_C,
    znte_a: float = ZNTE_A,
    cote2_fixed_layers: int | None = None,
) -> Structure:
    """CoTe2(001) below, ZnTe(111) above, bonded Zn-face to CoTe2's top Te.

    The ZnTe bottom Zn plane faces CoTe2's Te, so the interface needs no pseudo-H; the
    ZnTe top is its Te surface.  The cell is the smallest coincidence cell within
    ``max_strain`` (2×2 CoTe2 on √3×√3 R30° ZnTe with experimental lattices), or the
    one with ``cote2_supercell``×``cote2_supercell`` CoTe2 cells (3 gives √7×√7 R19.1°).

    Parameters
    ----------
    cote2_layers, znte_layers
        CoTe2 trilayers and ZnTe bilayers.
    cote2_supercell
        Pick the cell with this n×n CoTe2 supercell instead of the smallest.
    max_strain
        Largest |principal strain| accepted; default from the protocol.
    max_area
        Largest supercell area searched, Å².
    strain_on
        ``"znte"`` (CoTe2 keeps its lattice), ``"cote2"``, or ``"split"``.
    interlayer_distance
        Vertical CoTe2 Te to ZnTe Zn distance in Å; default from the protocol.
    shift
        Lateral shift of the ZnTe block in fractions of the supercell vectors.
    vacuum
        Vacuum in Å; default from the protocol.
    cote2_a, cote2_c, znte_a
        Bulk lattice parameters in Å (use relaxed values to rebuild on them).
    cote2_fixed_layers
        Bottom CoTe2 trilayers kept fixed; default from the protocol.

    Returns
    -------
    Structure
        With ``properties["interface"]`` giving the cell, area and the strain of each side.
    """
    if strain_on not in _STRAIN_SIDE:
        raise ValueError(f"strain_on must be one of znte, cote2, split; got {strain_on!r}")
    protocol = default_protocol()
    max_strain = float(protocol.decision("interface_strain").value) if max_strain is None else max_strain
    gap = (
        float(protocol.decision("interlayer_distance").value)
        if interlayer_distance is None
        else interlayer_distance
    )
    lower, upper = _interface_slabs(cote2_layers, znte_layers, cote2_a, cote2_c, znte_a, cote2_fixed_layers)
    cells = coincidence_cells(lower, upper, max_strain=max_strain, max_area=max_area)
    cell = pick_cell(cells, cote2_supercell, "CoTe2(001)/ZnTe(111)", max_strain, max_area)
    return stack_slabs(
        lower,
        upper,
        cell,
        strain_on=_STRAIN_SIDE[strain_on],
        gap=gap,
        shift=shift,
        vacuum=vacuum,
    )


def mxene_stack(
    top: str = "cote2/znte",
    *,
    termination: str | Mapping[str, float] = "O",
    cote2_layers: int = 3,
    znte_layers: int = 4,
    max_strain: float = 0.005,
    max_area: float = 250.0,
    gap: float = MXENE_GAP,
    mxene_a: float = MXENE_A,
    cote2_a: float = COTE2_A,
    cote2_c: float = COTE2_C,
    znte_a: float = ZNTE_A,
    seed: int = 0,
    vacuum: float | None = None,
) -> Structure:
    """CoTe2 or CoTe2/ZnTe on a Ti3C2Tx monolayer (the CT and CZT composites).

    The MXene is strained to the CoTe2 lattice (with a = 3.05 Å, 5×5 MXene under 4×4
    CoTe2 is 0.22 % off).  For ``"cote2/znte"`` the CoTe2/ZnTe block is the default
    2×2/√3 interface, repeated as the coincidence cell requires.

    Parameters
    ----------
    top
        ``"cote2"`` or ``"cote2/znte"``.
    termination
        MXene termination, as for :func:`~cztflow.structures.mxene.ti3c2tx`; it must fit
        the MXene supercell that the match picks.
    cote2_layers, znte_layers
        CoTe2 trilayers and ZnTe bilayers.
    max_strain
        Largest |principal strain| on the MXene.
    max_area
        Largest supercell area searched, Å².
    gap
        Vertical gap between the MXene's top atom and CoTe2's bottom Te, Å.
    mxene_a
        MXene lattice parameter, Å.
    cote2_a, cote2_c, znte_a
        Bulk lattice parameters of CoTe2 and ZnTe, Å.
    seed
        Arrangement of a mixed termination.
    vacuum
        Vacuum in Å; default from the protocol.
    """
    protocol = default_protocol()
    fixed = protocol.decision("fixed_layers").value
    if top == "cote2":
        block = cote2_001_slab(cote2_layers, fixed_layers=0, a=cote2_a, c=cote2_c)
    elif top == "cote2/znte":
        block = cote2_znte_interface(
            cote2_layers=cote2_layers,
            znte_layers=znte_layers,
            cote2_fixed_layers=0,
            cote2_a=cote2_a,
            cote2_c=cote2_c,
            znte_a=znte_a,
        )
    else:
        raise ValueError(f"top must be 'cote2' or 'cote2/znte', got {top!r}")
    probe = ti3c2tx("bare", a=mxene_a)
    cells = coincidence_cells(probe, block, max_strain=max_strain, max_area=max_area)
    cell = pick_cell(cells, None, f"Ti3C2Tx/{top}", max_strain, max_area)
    n_mx = round(cell.lower_cells**0.5)
    if n_mx * n_mx != cell.lower_cells or cell.lower_label != f"{n_mx}×{n_mx}":
        raise ValueError(f"Ti3C2Tx/{top}: MXene cell {cell.lower_label} is not n×n")
    mxene = ti3c2tx(
        termination,
        supercell=(n_mx, n_mx),
        a=mxene_a,
        seed=seed,
        fixed_layers=int(fixed["mxene_support"]),
    )
    # match again with the n×n sheet as one cell: a mixed termination is laid out on the
    # whole supercell, so it cannot be built as a 1×1 cell and repeated
    cells = coincidence_cells(mxene, block, max_strain=max_strain, max_area=max_area)
    cell = pick_cell(cells, 1, f"Ti3C2Tx/{top}", max_strain, max_area)
    stacked = stack_slabs(mxene, block, cell, strain_on="lower", gap=gap, vacuum=vacuum)
    info = stacked.properties["interface"]
    info["lower"] = f"{n_mx}×{n_mx} Ti3C2Tx"
    info["upper"] = f"{cell.upper_label} of the {top} cell"
    if "interface" in block.properties:
        info["block"] = block.properties["interface"]
    return stacked
