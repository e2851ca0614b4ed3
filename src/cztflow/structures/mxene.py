"""Ti3C2Tx MXene monolayers with O, OH, F or mixed terminations on both sides."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from pymatgen.core import Structure

from cztflow.protocol import default_protocol
from cztflow.structures.checks import check_structure
from cztflow.structures.slabs import SlabSites, make_slab

__all__ = ["MXENE_A", "TERMINATIONS", "termination_counts", "ti3c2tx"]

#: In-plane lattice parameter of Ti3C2Tx from XRD (Å).
MXENE_A = 3.05
#: Height of the carbon and outer-Ti planes above the central Ti plane (Å): Ti(inner)–C
#: 2.21 Å and Ti(outer)–C 2.06 Å at a = 3.05 Å.
_Z_C, _Z_TI = 1.335, 2.404
#: Terminations: atoms as (species, height above the outer Ti plane in Å).  Heights follow
#: Ti–O 1.97 Å, Ti–F 2.17 Å and Ti–O(H) 2.15 Å with O–H 0.97 Å, over a hollow site.
TERMINATIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "O": (("O", 0.883),),
    "F": (("F", 1.268),),
    "OH": (("O", 1.233), ("H", 2.203)),
}
_HOLLOW_SITES = ("fcc", "hcp")


def termination_counts(fractions: Mapping[str, float], sites: int) -> dict[str, int]:
    """Number of each termination on one side with ``sites`` hollow sites.

    Raises
    ------
    ValueError
        For an unknown termination, negative fractions, fractions that do not add up to 1,
        or a fraction that does not give a whole number of sites.
    """
    unknown = sorted(set(fractions) - set(TERMINATIONS))
    if unknown:
        raise ValueError(f"unknown termination {', '.join(unknown)}; choose from {', '.join(TERMINATIONS)}")
    if any(f < 0 for f in fractions.values()):
        raise ValueError(f"termination fractions must not be negative: {dict(fractions)}")
    total = sum(fractions.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"termination fractions add up to {total:g}, not 1: {dict(fractions)}")
    counts = {}
    for name, frac in fractions.items():
        n = frac * sites
        if not math.isclose(n, round(n), abs_tol=1e-6):
            raise ValueError(
                f"fraction {frac:g} of {name} on {sites} sites per side gives {n:g} sites; "
                f"use multiples of 1/{sites} or another supercell"
            )
        counts[name] = round(n)
    return counts


def ti3c2tx(
    termination: str | Mapping[str, float] = "O",
    *,
    site: str = "fcc",
    supercell: tuple[int, int] = (1, 1),
    a: float = MXENE_A,
    vacuum: float | None = None,
    fixed_layers: int | None = None,
    seed: int = 0,
) -> Structure:
    """A Ti3C2Tx monolayer, terminated on both sides.

    Ti(outer)–C–Ti(inner)–C–Ti(outer) in P-3m1 stacking; terminations sit on hollow sites
    of the outer Ti plane: ``fcc`` (above the inner Ti, where F is found) or ``hcp``
    (above C).

    Parameters
    ----------
    termination
        ``"O"``, ``"OH"``, ``"F"``, ``"bare"``, or a mapping of fractions such as
        ``{"O": 0.5, "OH": 0.25, "F": 0.25}``, applied to each side.
    site
        Hollow site of the terminations: ``"fcc"`` or ``"hcp"``.
    supercell
        In-plane repetition (n, m); a mixed termination needs n·m·fraction to be whole.
    a
        In-plane lattice parameter in Å.
    vacuum
        Vacuum in Å; default from the protocol.
    fixed_layers
        Bottom atomic planes kept fixed; default from the protocol (``fixed_layers.mxene``).
    seed
        Seed of the random arrangement of a mixed termination (the same seed gives the
        same structure).

    Raises
    ------
    ValueError
        For an unknown termination or site, fractions that do not fit the supercell, or a
        geometry that fails the checks.
    """
    protocol = default_protocol()
    if site not in _HOLLOW_SITES:
        raise ValueError(f"unknown termination site {site!r}; choose from fcc, hcp")
    if not a > 0:
        raise ValueError(f"a must be positive, got {a!r}")
    if len(supercell) != 2 or any(int(n) != n or n < 1 for n in supercell):
        raise ValueError(f"supercell must be two positive integers, got {supercell!r}")
    n, m = int(supercell[0]), int(supercell[1])
    if fixed_layers is None:
        fixed_layers = int(protocol.decision("fixed_layers").value["mxene"])
    vacuum = protocol.vacuum if vacuum is None else vacuum

    if isinstance(termination, str):
        fractions = {} if termination == "bare" else {termination: 1.0}
    else:
        fractions = dict(termination)
    counts = termination_counts(fractions, n * m) if fractions else {}

    cell = np.array([[a, 0.0, 0.0], [-a / 2.0, a * math.sqrt(3.0) / 2.0, 0.0]])
    col_a = np.zeros(3)
    col_b = (cell[0] + 2 * cell[1]) / 3.0
    col_c = (2 * cell[0] + cell[1]) / 3.0
    # (species, lateral column, z, layer index from the bottom)
    core = [
        ("Ti", col_b, -_Z_TI, 1),
        ("C", col_c, -_Z_C, 2),
        ("Ti", col_a, 0.0, 3),
        ("C", col_b, _Z_C, 4),
        ("Ti", col_c, _Z_TI, 5),
    ]
    hollow = {"fcc": (col_a, col_a), "hcp": (col_b, col_c)}[site]  # (top, bottom)
    rng = np.random.default_rng(seed)
    sites: SlabSites = []
    for i in range(n):
        for j in range(m):
            shift = i * cell[0] + j * cell[1]
            sites.extend((sp, col + shift + [0, 0, z], lay, 0.0) for sp, col, z, lay in core)
    for side, sign, layer in (("bottom", -1.0, 0), ("top", 1.0, 6)):
        labels = [name for name, k in counts.items() for _ in range(k)]
        if not labels:
            continue  # bare MXene
        rng.shuffle(labels)
        column = hollow[0] if side == "top" else hollow[1]
        for label, (i, j) in zip(labels, np.ndindex(n, m), strict=True):
            shift = i * cell[0] + j * cell[1] + column
            for sp, h in TERMINATIONS[label]:
                sites.append((sp, shift + np.array([0.0, 0.0, sign * (_Z_TI + h)]), layer, 0.0))
    big = np.array([n * cell[0], m * cell[1]])
    slab = make_slab(big, sites, block="mxene", fixed_layers=fixed_layers, supercell=(1, 1), vacuum=vacuum)
    expected = {"Ti": 3 * n * m, "C": 2 * n * m}
    for name, k in counts.items():
        for sp, _h in TERMINATIONS[name]:
            expected[sp] = expected.get(sp, 0) + 2 * k
    label = termination if isinstance(termination, str) else dict(termination)
    return check_structure(slab, f"Ti3C2 ({label}, {site}) {n}x{m}", expected=expected, min_vacuum=vacuum)
