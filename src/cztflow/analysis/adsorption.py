"""Adsorption energies: E_ads = E(ad/sub) − m·E(sub) − n·μ(ad).

μ(ad) is the adsorbate's reference energy per atom: a bulk metal (bcc K, E/N of its
cell), an isolated atom (its total energy) or a molecule (E/N, e.g. ½E(H2)).
Compositions are checked: the adsorbed system must be m substrate cells plus n
adsorbate atoms, with m a whole number, so a 2×2 adsorption cell can be referred to a
1×1 substrate calculation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from cztflow.analysis.errors import AnalysisError
from cztflow.analysis.run import RunSummary
from cztflow.geometry import axis_gaps, cell_kind
from cztflow.protocol import default_protocol

__all__ = ["AdsorptionEnergy", "adsorption_energy", "most_stable"]

REFERENCE_KINDS = ("bulk", "atom", "molecule")


@dataclass(frozen=True)
class AdsorptionEnergy:
    """One adsorption energy and how it was made.

    Attributes
    ----------
    adsorption_energy
        E(ad/sub) − m·E(sub) − n·μ (eV), for all n adsorbate atoms together.
    per_adsorbate
        The same divided by n (eV).
    adsorbate, n_adsorbates, substrate_multiple
        The adsorbate element, its count n, and the number m of substrate cells in the
        adsorption cell.
    reference_kind, reference_energy
        ``"bulk"`` or ``"atom"`` and μ, the reference energy per adsorbate atom (eV).
    site
        A label for the adsorbed configuration (its file, unless given).
    """

    adsorption_energy: float
    per_adsorbate: float
    adsorbate: str
    n_adsorbates: int
    substrate_multiple: int
    reference_kind: str
    reference_energy: float
    site: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def _geometry(run: RunSummary) -> str:
    frac = np.linalg.solve(run.lattice.T, run.positions.T).T
    threshold = float(default_protocol().decision("geometry_detection").value["vacuum_gap"])
    return cell_kind(axis_gaps(run.lattice, frac), threshold)


def _reference(ref: RunSummary, kind: str) -> tuple[str, float, str]:
    composition = ref.composition
    if len(composition) != 1:
        raise AnalysisError(ref.path, f"reference must hold one element, found {composition}")
    ((element, count),) = composition.items()
    detected = _geometry(ref)
    if kind == "auto":
        kind = {"bulk": "bulk", "molecule": "atom" if count == 1 else "molecule"}.get(detected, detected)
    if kind not in REFERENCE_KINDS:
        raise AnalysisError(
            ref.path, f"unknown reference kind {kind!r}: use one of {REFERENCE_KINDS} or 'auto'"
        )
    if kind == "atom" and (count != 1 or detected != "molecule"):
        raise AnalysisError(
            ref.path,
            f"an isolated-atom reference must be one atom in a box, found {count} {element} "
            f"in a {detected} cell",
        )
    if kind == "molecule" and (count < 2 or detected != "molecule"):
        raise AnalysisError(
            ref.path,
            f"a molecule reference must be a molecule in a box, found {count} {element} in a {detected} cell",
        )
    if kind == "bulk" and detected != "bulk":
        raise AnalysisError(
            ref.path, f"a bulk reference must be a periodic crystal, this cell is a {detected}"
        )
    return element, ref.final_energy / count, kind


def _multiple(ads: RunSummary, sub: RunSummary, element: str) -> tuple[int, int]:
    a, s = ads.composition, sub.composition
    if set(s) == {element}:
        raise AnalysisError(
            sub.path,
            f"the substrate is pure {element}, the reference element: swap the reference and substrate?",
        )
    ratios = {el: a.get(el, 0) / n for el, n in s.items() if el != element}
    if not ratios or len(set(ratios.values())) != 1:
        raise AnalysisError(
            ads.path, f"composition {a} is not a whole number of substrate cells {s} ({sub.path})"
        )
    m = next(iter(ratios.values()))
    if m < 1 or m != int(m):
        raise AnalysisError(ads.path, f"holds {m:g} substrate cells of {sub.path}; it must be a whole number")
    m = int(m)
    extra = {el: n - m * s.get(el, 0) for el, n in a.items()}
    leftover = {el: n for el, n in extra.items() if n and el != element}
    if leftover or extra.get(element, 0) < 1:
        raise AnalysisError(
            ads.path, f"composition {a} minus {m} × {s} leaves {extra}: expected only {element} atoms"
        )
    return m, extra[element]


def adsorption_energy(
    adsorbed: RunSummary,
    substrate: RunSummary,
    reference: RunSummary,
    *,
    reference_kind: str = "auto",
    site: str | None = None,
    allow_unconverged: bool = False,
) -> AdsorptionEnergy:
    """E_ads of one adsorbed configuration.

    Parameters
    ----------
    adsorbed, substrate, reference
        Parsed runs (final energies are the sigma → 0 values).
    reference_kind
        ``"bulk"`` (μ = E/N of a crystal, e.g. bcc K), ``"atom"`` (μ = E of one atom in a
        box), ``"molecule"`` (μ = E/N of a homonuclear molecule in a box) or ``"auto"``
        (decided from the reference cell).
    site
        Label for the configuration.
    allow_unconverged
        Accept runs flagged unconverged. Off by default.

    Raises
    ------
    AnalysisError
        If a run is unconverged, the reference is not what ``reference_kind`` says, or
        the compositions do not add up.
    """
    if not allow_unconverged:
        for run in (adsorbed, substrate, reference):
            if not run.converged:
                raise AnalysisError(run.path, "run is not converged: " + "; ".join(run.issues))
    element, mu, kind = _reference(reference, reference_kind)
    m, n = _multiple(adsorbed, substrate, element)
    energy = adsorbed.final_energy - m * substrate.final_energy - n * mu
    return AdsorptionEnergy(
        adsorption_energy=energy,
        per_adsorbate=energy / n,
        adsorbate=element,
        n_adsorbates=n,
        substrate_multiple=m,
        reference_kind=kind,
        reference_energy=mu,
        site=site or str(adsorbed.path),
    )


def most_stable(energies: list[AdsorptionEnergy]) -> AdsorptionEnergy:
    """The configuration with the lowest adsorption energy per adsorbate."""
    if not energies:
        raise ValueError("no adsorption energies given")
    return min(energies, key=lambda e: e.per_adsorbate)
