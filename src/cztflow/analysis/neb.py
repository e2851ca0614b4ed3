"""CI-NEB bands: read the image folders, then barriers and a smooth energy profile.

Images 01…N−1 come from their own OUTCARs (energy sigma → 0, and the VTST projection of
the true force on the band tangent). The end points come from OUTCARs in 00 and N, as
cztflow's NEB folders hold them (copied from the end-point relaxations), or from the
end-point relaxations a campaign records, or from folders given explicitly.

The profile follows VTST's nebresults.pl (nebspline.pl): along the band coordinate s (the
cumulative root-sum-square displacement between images, minimum-image convention) each
segment is a cubic that matches the image energies and the slopes dE/ds = −F_tangent
(0 at the relaxed end points).
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cztflow.analysis.engine_output import read_engine_result
from cztflow.analysis.errors import AnalysisError, MalformedFileError, MissingOutputError
from cztflow.analysis.outcar import read_outcar
from cztflow.analysis.poscar import read_poscar
from cztflow.analysis.run import RunSummary
from cztflow.analysis.textfile import find_output
from cztflow.result_format import RESULT_FILE

__all__ = ["NebBand", "NebImage", "NebResult", "analyze_neb", "read_neb"]

#: The band maximum may exceed the climbing image by this much (eV) before it is flagged.
CLIMB_TOLERANCE = 0.02
#: Two consecutive images closer than this (Å, band coordinate) are one geometry. A CONTCAR
#: prints 16 digits and a POSCAR fewer, so the same positions differ by ~1e-13 Å, not 0.
SAME_GEOMETRY = 1e-4


@dataclass
class NebImage:
    """One image of a band."""

    index: int
    energy: float
    tangent_force: float
    lattice: np.ndarray
    frac: np.ndarray
    converged: bool
    source: Path
    issues: list[str] = field(default_factory=list)


@dataclass
class NebBand:
    """The images of a CI-NEB run, end points included."""

    directory: Path
    images: list[NebImage]
    climbing: bool

    @property
    def energies(self) -> np.ndarray:
        """Image energies (eV, absolute)."""
        return np.array([image.energy for image in self.images])


@dataclass
class NebResult:
    """Barriers and profile of a band.

    Attributes
    ----------
    energies
        Image energies relative to the initial state (eV).
    distances
        Band coordinate of each image (Å).
    barrier_forward, barrier_reverse
        Highest image minus the initial / final image (eV).
    climbing_image
        Index of the climbing image (the highest intermediate image), or None when the
        run did not climb (LCLIMB = .FALSE.).
    spline_s, spline_energies
        The smooth profile (Å, eV relative to the initial state).
    spline_barrier_forward
        Maximum of the profile minus the initial state (eV).
    converged
        Every image converged and the climbing image is the band maximum.
    warnings
        What failed, in words.
    """

    energies: np.ndarray
    distances: np.ndarray
    barrier_forward: float
    barrier_reverse: float
    climbing_image: int | None
    spline_s: np.ndarray
    spline_energies: np.ndarray
    spline_barrier_forward: float
    converged: bool
    warnings: list[str] = field(default_factory=list)

    def to_dict(self, *, profile: bool = False) -> dict[str, Any]:
        """JSON-ready fields; the spline only when asked."""
        out = {
            "energies": self.energies.tolist(),
            "distances": self.distances.tolist(),
            "barrier_forward": self.barrier_forward,
            "barrier_reverse": self.barrier_reverse,
            "climbing_image": self.climbing_image,
            "spline_barrier_forward": self.spline_barrier_forward,
            "converged": self.converged,
            "warnings": self.warnings,
        }
        if profile:
            out["spline_s"] = self.spline_s.tolist()
            out["spline_energies"] = self.spline_energies.tolist()
        return out


def _image_folders(directory: Path) -> list[Path]:
    folders = sorted(p for p in directory.iterdir() if p.is_dir() and re.fullmatch(r"\d\d", p.name))
    if len(folders) < 3:
        raise MissingOutputError(
            directory, f"a NEB folder needs image folders 00, 01, …; found {len(folders)}"
        )
    expected = [f"{i:02d}" for i in range(len(folders))]
    if [p.name for p in folders] != expected:
        raise MissingOutputError(
            directory, f"image folders {[p.name for p in folders]} are not 00…{expected[-1]}"
        )
    return folders


def _geometry(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    for name in ("CONTCAR", "POSCAR"):
        try:
            lattice, _, frac = read_poscar(find_output(folder, name))
        except MissingOutputError:
            continue
        if len(frac):
            return lattice, frac
    raise MissingOutputError(folder, "no CONTCAR or POSCAR for the image geometry")


def _campaign_endpoints(directory: Path) -> tuple[Path, Path] | None:
    """The end-point relaxation folders a campaign.json records for this NEB folder."""
    for root in [directory, *directory.parents]:
        manifest = root / "campaign.json"
        if manifest.is_file():
            nodes = json.loads(manifest.read_text())["nodes"]
            by_id = {node["id"]: node for node in nodes}
            for node in nodes:
                if (root / node["folder"]).resolve() == directory.resolve():
                    seed = node.get("seed") or {}
                    if seed.get("initial") in by_id and seed.get("final") in by_id:
                        return root / by_id[seed["initial"]]["folder"], root / by_id[seed["final"]]["folder"]
            return None
    return None


def _image_run(folder: Path) -> RunSummary:
    """The run of one image folder: its OUTCAR, or an open engine's cztflow-result.json."""
    try:
        return read_outcar(find_output(folder, "OUTCAR"))
    except MissingOutputError:
        if (folder / RESULT_FILE).is_file():
            return read_engine_result(folder / RESULT_FILE)
        raise MissingOutputError(folder, f"no OUTCAR or {RESULT_FILE} in this image folder") from None


def _endpoint(folder: Path, fallback: Path | None, index: int) -> NebImage:
    for candidate in [folder] + ([fallback] if fallback else []):
        try:
            run = _image_run(candidate)
        except MissingOutputError:
            continue
        outcar = run.path
        try:
            lattice, frac = _geometry(folder)
        except MissingOutputError:
            lattice, frac = run.lattice, np.linalg.solve(run.lattice.T, run.positions.T).T
        return NebImage(index, run.final_energy, 0.0, lattice, frac, run.converged, outcar, list(run.issues))
    where = f"{folder}" + (f" or {fallback}" if fallback else "")
    raise MissingOutputError(
        folder,
        f"no OUTCAR for the end-point energy in {where}: copy the end-point relaxation's OUTCAR there, "
        "run inside a campaign whose campaign.json names the end-point relaxations, or pass "
        "--initial/--final",
    )


def read_neb(
    directory: str | Path, *, initial: str | Path | None = None, final: str | Path | None = None
) -> NebBand:
    """Read a VTST CI-NEB folder (00 … N).

    Parameters
    ----------
    directory
        The NEB folder.
    initial, final
        End-point relaxation folders to take the end energies from when 00 and N hold no
        OUTCAR. Without them, the campaign.json above ``directory`` is consulted.

    Raises
    ------
    MissingOutputError
        If an image has no OUTCAR or an end point has no energy anywhere.
    VaspOutputError
        If an OUTCAR is unreadable (the exception names it).
    """
    directory = Path(directory)
    folders = _image_folders(directory)
    ends = (Path(initial), Path(final)) if initial and final else _campaign_endpoints(directory)
    images = [_endpoint(folders[0], ends[0] if ends else None, 0)]
    climbing = True
    for index, folder in enumerate(folders[1:-1], start=1):
        run: RunSummary = _image_run(folder)
        outcar = run.path
        climbing = str(run.parameters.get("LCLIMB", "T")).upper().lstrip(".").startswith("T")
        if run.tangent_force is None:
            raise MalformedFileError(outcar, "no tangent force (VTST 'NEB: projections'): not a CI-NEB image")
        lattice, frac = _geometry(folder)
        images.append(
            NebImage(
                index,
                run.final_energy,
                run.tangent_force,
                lattice,
                frac,
                run.converged,
                outcar,
                list(run.issues),
            )
        )
    images.append(_endpoint(folders[-1], ends[1] if ends else None, len(folders) - 1))
    natoms = {len(image.frac) for image in images}
    if len(natoms) != 1:
        raise AnalysisError(directory, f"images have different numbers of atoms: {sorted(natoms)}")
    return NebBand(directory, images, climbing)


def _distances(images: list[NebImage]) -> np.ndarray:
    steps = []
    for a, b in itertools.pairwise(images):
        delta = b.frac - a.frac
        delta -= np.round(delta)
        steps.append(float(np.sqrt(((delta @ b.lattice) ** 2).sum())))
    return np.concatenate([[0.0], np.cumsum(steps)])


def analyze_neb(
    band: NebBand, *, points_per_segment: int = 40, climb_tolerance: float = CLIMB_TOLERANCE
) -> NebResult:
    """Barriers, climbing image and the force-aware profile of a band.

    Raises
    ------
    AnalysisError
        If two consecutive images coincide (less than ``SAME_GEOMETRY`` apart along the
        band), so that no profile can be drawn; the message names the first such pair.
    """
    from scipy.interpolate import CubicHermiteSpline

    energies = band.energies - band.images[0].energy
    s = _distances(band.images)
    steps = np.diff(s)
    if np.any(steps <= SAME_GEOMETRY):
        at = int(np.flatnonzero(steps <= SAME_GEOMETRY)[0])  # the first pair that coincides
        raise AnalysisError(
            band.directory, f"images {at:02d} and {at + 1:02d} are at the same geometry: no band to follow"
        )
    slopes = np.array([-image.tangent_force for image in band.images])
    spline = CubicHermiteSpline(s, energies, slopes)
    grid = np.concatenate(
        [np.linspace(s[i], s[i + 1], points_per_segment, endpoint=False) for i in range(len(s) - 1)]
        + [[s[-1]]]
    )
    profile = spline(grid)
    top = int(np.argmax(energies[1:-1])) + 1
    warnings = [f"image {image.index:02d}: {issue}" for image in band.images for issue in image.issues]
    converged = all(image.converged for image in band.images)
    climbing = top if band.climbing else None
    peak = int(np.argmax(profile))
    if band.climbing:
        excess = float(profile[peak] - energies[top])
        if excess > climb_tolerance:
            segment = int(np.searchsorted(s, grid[peak], side="right")) - 1
            warnings.append(
                f"the band maximum lies between images {segment:02d} and {segment + 1:02d}, "
                f"{excess:.3f} eV above the climbing image {top:02d}: "
                "the climbing image has not reached the saddle point"
            )
            converged = False
    if energies[top] <= max(energies[0], energies[-1]):
        warnings.append("no intermediate image lies above both end points: the path has no barrier")
    low = int(np.argmin(energies[1:-1])) + 1
    depth = float(min(energies[0], energies[-1]) - energies[low])
    if depth > climb_tolerance:
        warnings.append(
            f"a more stable site inside the band: image {low:02d} lies {depth:.3f} eV below the lower "
            f"end point, and the highest image is {energies[top] - energies[low]:.3f} eV above it; "
            "the hop does not start from the most stable site on its path"
        )
    return NebResult(
        energies=energies,
        distances=s,
        barrier_forward=float(energies[top] - energies[0]),
        barrier_reverse=float(energies[top] - energies[-1]),
        climbing_image=climbing,
        spline_s=grid,
        spline_energies=profile,
        spline_barrier_forward=float(profile.max() - energies[0]),
        converged=converged,
        warnings=warnings,
    )
