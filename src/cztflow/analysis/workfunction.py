"""Work function from the planar-averaged electrostatic potential of a slab.

The vacuum is the largest gap between atoms along the third lattice vector. If the
potential jumps inside it (the dipole layer of a dipole-corrected slab, LDIPOL/IDIPOL = 3),
the vacuum has two sides, each with its own vacuum level. On each side the *plateau* is
the part farther than ``min_distance`` from the outermost atoms and ``step_margin`` from
the jump; the vacuum level is the mean potential there, and its peak-to-peak spread is
the flatness. Φ = V_vac − E_F for each side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

__all__ = ["VacuumLevel", "WorkFunction", "work_function"]

#: A vacuum plateau flatter than this (peak to peak, eV) is converged.
FLAT_TOLERANCE = 0.05
#: A potential change larger than this (eV) across ``STEP_WIDTH`` inside the vacuum is a dipole step.
STEP_THRESHOLD = 0.1
STEP_WIDTH = 1.0


@dataclass(frozen=True)
class VacuumLevel:
    """One vacuum plateau.

    Attributes
    ----------
    side
        ``"top"`` (above the slab along +c) or ``"bottom"``; ``"both"`` without a dipole step.
    level
        Mean potential on the plateau (eV).
    spread
        Peak-to-peak variation on the plateau (eV).
    start, end
        Plateau bounds along c (Å, may exceed the cell length where it wraps).
    """

    side: str
    level: float
    spread: float
    start: float
    end: float


@dataclass
class WorkFunction:
    """Work function(s) of a slab.

    Attributes
    ----------
    efermi
        Fermi level (eV).
    vacuum_levels
        One per side (two for a dipole-corrected slab).
    work_functions
        Φ = V_vac − E_F of each side, in the same order (eV).
    step
        Potential step across the dipole layer (top − bottom, eV), 0 without one.
    z, profile
        Planar average along c: positions (Å) and potential (eV).
    warnings
        Why the result may be off (vacuum not flat, too thin).
    """

    efermi: float
    vacuum_levels: list[VacuumLevel]
    work_functions: list[float]
    step: float
    vacuum_width: float
    z: np.ndarray
    profile: np.ndarray
    warnings: list[str] = field(default_factory=list)

    def to_dict(self, *, profile: bool = False) -> dict[str, Any]:
        """JSON-ready fields; the profile only when asked."""
        out = {
            "efermi": self.efermi,
            "vacuum_levels": [v.level for v in self.vacuum_levels],
            "work_functions": self.work_functions,
            "sides": [asdict(v) for v in self.vacuum_levels],
            "step": self.step,
            "vacuum_width": self.vacuum_width,
            "warnings": self.warnings,
        }
        if profile:
            out["z"] = self.z.tolist()
            out["profile"] = self.profile.tolist()
        return out


def _vacuum(frac_z: np.ndarray) -> tuple[float, float]:
    """Fractional start and end (end > start, may exceed 1) of the largest empty gap."""
    z = np.sort(np.mod(frac_z, 1.0))
    gaps = np.diff(np.concatenate([z, [z[0] + 1.0]]))
    i = int(np.argmax(gaps))
    return float(z[i]), float(z[i] + gaps[i])


def _plateau(z: np.ndarray, v: np.ndarray, lo: float, hi: float, side: str) -> VacuumLevel | None:
    mask = (z >= lo) & (z <= hi)
    if mask.sum() < 2:
        return None
    part = v[mask]
    return VacuumLevel(side, float(part.mean()), float(np.ptp(part)), float(lo), float(hi))


def _side_name(level: VacuumLevel) -> str:
    return "the vacuum" if level.side == "both" else f"the {level.side} vacuum"


def _dipole_step(z: np.ndarray, v: np.ndarray, lo: float, hi: float, dz: float) -> float | None:
    """Position of a dipole step inside [lo, hi], or None.

    The profile is smoothed over ``STEP_WIDTH`` (this removes the grid-scale ripple of a
    coarse LOCPOT); a change of more than ``STEP_THRESHOLD`` across ``STEP_WIDTH`` is a step.
    Only the central half of the vacuum is searched: VASP puts the dipole layer opposite
    the slab centre, and near the surfaces the potential still rises towards its plateau.
    """
    half = max(1, round(STEP_WIDTH / dz / 2))
    kernel = np.ones(2 * half + 1) / (2 * half + 1)
    smooth = np.convolve(v, kernel, mode="same")
    jump = np.zeros_like(smooth)
    jump[half:-half] = smooth[2 * half :] - smooth[: -2 * half]
    jump[(z < lo) | (z > hi)] = 0.0
    at = int(np.argmax(np.abs(jump)))
    return float(z[at]) if abs(jump[at]) > STEP_THRESHOLD else None


def work_function(
    profile: np.ndarray,
    c_length: float,
    atom_frac_z: np.ndarray,
    efermi: float,
    *,
    min_distance: float = 4.0,
    step_margin: float = 1.0,
    flat_tolerance: float = FLAT_TOLERANCE,
    min_vacuum: float = 10.0,
) -> WorkFunction:
    """Vacuum levels and work functions from a planar-averaged potential.

    Parameters
    ----------
    profile
        Planar average of the LOCPOT along c (eV), one value per grid plane.
    c_length
        Length of the grid axis (Å); plane k sits at k·c/N.
    atom_frac_z
        Fractional coordinates of the atoms along c.
    efermi
        Fermi level of the same run (eV).
    min_distance
        Plateau starts this far from the outermost atom (Å).
    step_margin
        Plateau stops this far from a dipole step (Å).
    flat_tolerance
        Spread above which a plateau is flagged not flat (eV).
    min_vacuum
        Vacuum thinner than this (Å) is flagged.

    Raises
    ------
    ValueError
        If there is no vacuum gap at least ``2 * min_distance`` wide (a bulk cell), or no
        plateau survives the margins.
    """
    v = np.asarray(profile, dtype=float)
    n = v.size
    dz = c_length / n
    start, end = _vacuum(np.asarray(atom_frac_z, dtype=float))
    width = (end - start) * c_length
    if width < 2 * min_distance:
        raise ValueError(
            f"no vacuum: the largest gap between atoms along c is {width:.2f} Å, less than twice "
            f"min_distance = {min_distance} Å (is this a bulk cell?)"
        )
    # Unwrap the vacuum into one increasing stretch of grid planes.
    k0, k1 = int(np.ceil(start * n)), int(np.floor(end * n))
    ks = np.arange(k0, k1 + 1)
    z = ks * dz
    vv = v[np.mod(ks, n)]
    warnings: list[str] = []
    if width < min_vacuum:
        warnings.append(f"vacuum is {width:.1f} Å thick, thinner than {min_vacuum} Å")
    step_z = _dipole_step(z, vv, start * c_length + width / 4, end * c_length - width / 4, dz)
    near, far = start * c_length + min_distance, end * c_length - min_distance
    if step_z is not None:
        top = _plateau(z, vv, near, step_z - step_margin, "top")
        bottom = _plateau(z, vv, step_z + step_margin, far, "bottom")
        if top is None or bottom is None:
            raise ValueError(
                f"dipole step at {step_z % c_length:.2f} Å leaves no plateau on one side: vacuum too thin "
                f"({width:.1f} Å) for min_distance {min_distance} Å and step_margin {step_margin} Å"
            )
        levels, step = [top, bottom], top.level - bottom.level
    else:
        both = _plateau(z, vv, near, far, "both")
        if both is None:
            raise ValueError(f"vacuum of {width:.1f} Å leaves no plateau {min_distance} Å from the atoms")
        levels, step = [both], 0.0
    for level in levels:
        if level.spread > flat_tolerance:
            warnings.append(
                f"{_side_name(level)} is not flat: the potential varies by {level.spread:.3f} eV "
                f"(> {flat_tolerance} eV) on its plateau; add vacuum or check the dipole correction"
            )
        if level.end - level.start < 1.0:
            warnings.append(f"{_side_name(level)} plateau is only {level.end - level.start:.2f} Å long")
    return WorkFunction(
        efermi=float(efermi),
        vacuum_levels=levels,
        work_functions=[lv.level - float(efermi) for lv in levels],
        step=float(step),
        vacuum_width=float(width),
        z=np.arange(n) * dz,
        profile=v,
        warnings=warnings,
    )
