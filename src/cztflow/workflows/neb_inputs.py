"""CI-NEB inputs in the VTST layout: one INCAR/KPOINTS/POTCAR and image folders 00…0N.

The INCAR carries the locked IMAGES and LCLIMB, and the VTST optimiser tags of the
protocol's ``neb_optimiser`` decision (IBRION 3, POTIM 0, IOPT, SPRING).  End points come
from relaxations: :meth:`CINEBSet.from_relaxed` reads their CONTCARs, interpolates the
images with IDPP, and copies their OUTCARs into ``00`` and ``0N`` so that the end-point
energies travel with the band (as VTST's ``nebresults.pl`` expects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pymatgen.core import Structure
from pymatgen.io.vasp.inputs import Poscar

from cztflow.poscar_format import poscar_text
from cztflow.workflows.inputsets import ProtocolInputSet
from cztflow.workflows.potcar import species_groups, vasp_order

__all__ = ["CINEBSet"]


@dataclass
class CINEBSet(ProtocolInputSet):
    """Climbing-image NEB over ``images`` (end points included), VTST style.

    Parameters
    ----------
    images
        The band: initial state, the protocol's number of intermediate images, final
        state.  ``structure`` is set to the first image.
    endpoint_outcars
        OUTCARs of the relaxed initial and final states, copied into ``00`` and the
        last folder when the inputs are written.

    Raises
    ------
    ValueError
        If the number of intermediate images is not the protocol's, or the images do not
        share one species order and atom count.
    """

    calc: ClassVar[str] = "neb"
    images: Sequence[Structure] = ()
    endpoint_outcars: tuple[str | Path, str | Path] | None = None

    def __post_init__(self) -> None:
        if self.images:
            self.structure = self.images[0]
        super().__post_init__()
        if not self.images:
            return
        wanted = self.protocol.neb_images + 2
        if len(self.images) != wanted:
            raise ValueError(
                f"CINEBSet: {len(self.images)} structures given; the protocol needs {wanted} "
                f"(two end points and {self.protocol.neb_images} images)"
            )
        first = species_groups(vasp_order(self.images[0]))
        for i, image in enumerate(self.images[1:], start=1):
            if species_groups(vasp_order(image)) != first:
                raise ValueError(f"CINEBSet: image {i:02d} has a different species order or count from 00")

    @classmethod
    def from_relaxed(cls, initial_dir: str | Path, final_dir: str | Path, **kwargs: Any) -> CINEBSet:
        """A band between two finished relaxations: their CONTCARs, IDPP images, their OUTCARs.

        Site properties (selective dynamics, pseudo-H charges) come from the CONTCARs.

        Raises
        ------
        FileNotFoundError
            If a CONTCAR or OUTCAR is missing (the message names it).
        """
        from cztflow.structures.migration import neb_path

        ends = []
        for folder in (Path(initial_dir), Path(final_dir)):
            for name in ("CONTCAR", "OUTCAR"):
                if not (folder / name).is_file():
                    raise FileNotFoundError(
                        f"{folder / name}: missing; the end-point relaxation has not finished"
                    )
            ends.append(Poscar.from_file(folder / "CONTCAR").structure)
        images = neb_path(ends[0], ends[1])
        return cls(
            images=images,
            endpoint_outcars=(Path(initial_dir) / "OUTCAR", Path(final_dir) / "OUTCAR"),
            **kwargs,
        )

    def calc_tags(self) -> dict[str, Any]:
        tags = super().calc_tags()
        tags.update(self.protocol.decision("neb_optimiser").vasp)
        return tags

    def files(self, potcar_spec: bool | None = None) -> dict[str, str]:
        """INCAR, KPOINTS and POTCAR(.spec) at the top, ``NN/POSCAR`` per image, end-point OUTCARs."""
        out = {k: v for k, v in super().files(potcar_spec).items() if k != "POSCAR"}
        for i, image in enumerate(self.images):
            ordered = vasp_order(image)
            comment = f"{self.node or ordered.reduced_formula} image {i:02d}"
            poscar = Poscar(
                ordered, comment=comment, selective_dynamics=ordered.site_properties.get("selective_dynamics")
            )
            out[f"{i:02d}/POSCAR"] = poscar_text(poscar)
        if self.endpoint_outcars:
            last = len(self.images) - 1
            for folder, source in zip(("00", f"{last:02d}"), self.endpoint_outcars, strict=True):
                out[f"{folder}/OUTCAR"] = Path(source).read_text(encoding="utf-8", errors="replace")
        return out
