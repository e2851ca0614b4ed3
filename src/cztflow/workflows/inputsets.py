"""VASP input sets that apply the paper's protocol: pymatgen ``VaspInputSet`` subclasses.

Every INCAR is assembled from the protocol only: the locked settings (ENCUT, GGA, PREC,
ISMEAR, SIGMA, EDIFF, EDIFFG, IVDW, LASPH; IMAGES and LCLIMB for NEB), the calculation
kind's tags, and the recorded decisions (ISPIN and MAGMOM from the initial moments,
LREAL from the cell size, the dipole correction on slabs).  ``user_incar_settings`` may
add or change free tags; a locked tag changes only through a :class:`Deviation` with a
reason, which is stamped into the INCAR header.  pymatgen's automatic ISMEAR, LREAL,
ISPIN and k-spacing rewrites are never used.

Sites are grouped with :func:`cztflow.workflows.potcar.vasp_order` rather than pymatgen's
sort, so a pseudo-H cap keeps its own species group and POTCAR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pymatgen.io.vasp.inputs import Incar, Kpoints, Poscar
from pymatgen.io.vasp.sets import VaspInputSet

from cztflow import geometry
from cztflow.poscar_format import poscar_text
from cztflow.protocol import Protocol, default_protocol
from cztflow.workflows.incar_policy import PINNED_FREE, canonical, free_settings_problems
from cztflow.workflows.kpoints import line_mode_kpoints, mesh_kpoints
from cztflow.workflows.lock import (
    KPOINTS_TAG,
    SPIN_TAG,
    Deviation,
    ProtocolLockError,
    deviation_for,
    same_value,
)
from cztflow.workflows.potcar import potcar_file, potcar_symbols, vasp_order

__all__ = [
    "INPUT_SETS",
    "BandStructureSet",
    "BulkRelaxSet",
    "ChargeDensitySet",
    "DosSet",
    "ProtocolInputSet",
    "SlabRelaxSet",
    "StampedIncar",
    "StaticSet",
    "WorkFunctionSet",
]

_CONFIG = {"INCAR": {}, "KPOINTS": {}, "POTCAR": {}, "POTCAR_FUNCTIONAL": "PBE_54"}


class StampedIncar(Incar):
    """An ``Incar`` that writes header comment lines first (protocol, node, deviations)."""

    header: tuple[str, ...] = ()

    def get_str(self, sort_keys: bool = True, pretty: bool = False) -> str:
        """The INCAR text: header comments, then the tags sorted by name."""
        body = super().get_str(sort_keys=sort_keys, pretty=pretty)
        return "".join(f"{line}\n" for line in self.header) + body

    def __str__(self) -> str:
        return self.get_str()


@dataclass
class ProtocolInputSet(VaspInputSet):
    """Base of the cztflow input sets: INCAR, KPOINTS, POSCAR and POTCAR from the protocol.

    Parameters
    ----------
    structure
        The cell; slabs carry ``selective_dynamics`` (and pseudo-H ``pseudo_charge``)
        site properties from the cztflow builders.
    protocol
        Defaults to :func:`cztflow.protocol.default_protocol`.
    deviations
        Declared departures from locked values (usually from a campaign spec).
    node
        Campaign node id, written to the INCAR header and used to match deviations.
    user_incar_settings
        Free tags to add or change (NCORE, ALGO, NELM, ...;
        :data:`cztflow.workflows.incar_policy.FREE_TAGS`); any other tag here raises
        :class:`ProtocolLockError` unless a deviation declares the same value.
    user_kpoints_settings
        A ``Kpoints`` object replacing the protocol's mesh; on a slab this needs a
        ``KPOINTS`` deviation.
    """

    calc: ClassVar[str] = "static"
    #: (geometry this set accepts, why), or None for any geometry.
    requires: ClassVar[tuple[str, str] | None] = None
    CONFIG: ClassVar[dict] = _CONFIG
    protocol: Protocol | None = None
    deviations: Sequence[Deviation] = ()
    node: str = ""
    sort_structure: bool = False

    def __post_init__(self) -> None:
        self.protocol = self.protocol or default_protocol()
        super().__post_init__()
        if self.requires and self.structure is not None and self.geometry != self.requires[0]:
            raise ValueError(
                f"{type(self).__name__}: {self.structure.reduced_formula} is a {self.geometry} cell; "
                f"{self.requires[1]}"
            )

    # ---- geometry --------------------------------------------------------------------------
    @property
    def ordered(self):
        """The structure with sites grouped by species (and pseudo-H charge), POSCAR order."""
        if self.structure is None:
            raise RuntimeError(f"{type(self).__name__}: no structure is associated with the input set")
        cached = getattr(self, "_ordered", None)
        if cached is None or cached[0] is not self.structure:
            self._ordered = (self.structure, vasp_order(self.structure))
        return self._ordered[1]

    @property
    def geometry(self) -> str:
        """``"bulk"``, ``"slab"``, ``"molecule"`` or ``"other"``, from the cell's empty gaps."""
        s = self.structure
        threshold = float(self.protocol.decision("geometry_detection").value["vacuum_gap"])
        return geometry.cell_kind(geometry.axis_gaps(s.lattice.matrix, s.frac_coords), threshold)

    # ---- INCAR ----------------------------------------------------------------------------
    def calc_tags(self) -> dict[str, Any]:
        """Tags of this calculation kind (from the protocol's ``calculations``)."""
        return dict(self.protocol.calculation(self.calc).vasp)

    def physics_tags(self) -> dict[str, Any]:
        """ISPIN/MAGMOM, LREAL and the dipole correction, from the decisions.

        A declared ``ISPIN`` deviation runs a cell with initial moments unpolarised (no MAGMOM).
        """
        p, s = self.protocol, self.ordered
        magmom = p.initial_moments(site.specie.symbol for site in s)
        tags: dict[str, Any] = {}
        if any(magmom) and self._deviation(SPIN_TAG) is None:
            tags.update(p.decision("spin_polarisation").vasp)
            tags["MAGMOM"] = magmom
        else:
            tags["ISPIN"] = 1
        small = len(s) <= int(p.decision("lreal_bulk_max_atoms").value)
        tags["LREAL"] = False if small else p.decision("lreal").vasp["LREAL"]
        if self.geometry == "slab" and p.decision("dipole_correction").value:
            tags.update(p.decision("dipole_correction").vasp)
            centre = geometry.slab_centre(s.frac_coords[:, 2], [site.specie.symbol for site in s])
            tags["DIPOL"] = [0.5, 0.5, round(centre, 6)]
        return tags

    def _deviation(self, tag: str) -> Deviation | None:
        return deviation_for(tag, self.node, self.deviations)

    @property
    def incar(self) -> StampedIncar:
        """The INCAR: locked tags, kind tags, decisions, then free overrides and deviations.

        Raises
        ------
        ProtocolLockError
            If ``user_incar_settings`` changes a locked tag without a matching deviation.
        """
        p = self.protocol
        tags: dict[str, Any] = dict(p.locked_vasp_tags(self.calc))
        tags.update(self.calc_tags())
        tags.update(self.physics_tags())
        needed = PINNED_FREE.get(self.calc, frozenset())
        for raw, value in (self.user_incar_settings or {}).items():
            tag = canonical(raw)
            dev = self._deviation(tag)
            if dev is not None and tag != SPIN_TAG and same_value(tag, dev.value, value):
                continue  # the deviation itself sets it below
            problems = free_settings_problems({raw: value}, p)
            if not problems and tag in needed and not same_value(tag, tags.get(tag), value):
                problems = [f"{tag} = {tags.get(tag)} is read by the next node of a {self.calc} run"]
            if problems:
                raise ProtocolLockError(f"{self.node or type(self).__name__}: {problems[0]}")
            tags[tag] = value
        used = []
        for dev in self.deviations:
            if dev.tag in (KPOINTS_TAG, SPIN_TAG) or not dev.applies_to(self.node):
                continue
            tags[dev.tag] = list(dev.value) if isinstance(dev.value, tuple) else dev.value
            used.append(dev)
        spin_dev = self._deviation(SPIN_TAG)
        if spin_dev is not None and any(p.initial_moments(site.specie.symbol for site in self.ordered)):
            used.append(spin_dev)
        kp_dev = self._deviation(KPOINTS_TAG)
        if kp_dev is not None and (self.geometry in ("slab", "bulk") or self.calc == "bands"):
            used.append(kp_dev)
        incar = StampedIncar({k: v for k, v in tags.items() if v is not None})
        incar.header = (
            f"# cztflow {self.calc} | protocol {p.name} {p.short_hash}",
            *((f"# node: {self.node}",) if self.node else ()),
            *(dev.header_line() for dev in used),
        )
        return incar

    # ---- KPOINTS --------------------------------------------------------------------------
    @property
    def kpoints(self) -> Kpoints:
        """The protocol's mesh for this cell; a slab's mesh changes only by deviation.

        Raises
        ------
        ProtocolLockError
            If ``user_kpoints_settings`` changes a slab's surface mesh without a
            ``KPOINTS`` deviation.
        """
        default = mesh_kpoints(self.ordered, self.geometry, self.protocol)
        dev = self._deviation(KPOINTS_TAG)
        if dev is not None and self.geometry == "slab":
            return Kpoints.monkhorst_automatic(tuple(int(k) for k in dev.value))
        if dev is not None and self.geometry == "bulk":
            return Kpoints.gamma_automatic(tuple(int(k) for k in dev.value))
        user = self.user_kpoints_settings
        if isinstance(user, Kpoints):
            if self.geometry == "slab" and user.kpts != default.kpts:
                raise ProtocolLockError(
                    f"{self.node or type(self).__name__}: the surface k-mesh is locked at "
                    f"{default.kpts[0]} ({self.protocol.source_file}); a different mesh needs "
                    "a 'deviations:' entry with tag KPOINTS and a reason"
                )
            return user
        return default

    # ---- POSCAR / POTCAR --------------------------------------------------------------------
    def poscar_comment(self) -> str:
        """First POSCAR line: node (or formula) and any pseudo-H charges."""
        s = self.ordered
        charges = sorted({float(q) for q in s.site_properties.get("pseudo_charge", []) if q})
        extra = f" | pseudo-H Z={','.join(f'{q:g}' for q in charges)}" if charges else ""
        return f"{self.node or s.reduced_formula}{extra}"

    @property
    def poscar(self) -> Poscar:
        """POSCAR with sites grouped as the POTCARs are, and the builder's selective dynamics."""
        s = self.ordered
        return Poscar(
            s, comment=self.poscar_comment(), selective_dynamics=s.site_properties.get("selective_dynamics")
        )

    @property
    def potcar_symbols(self) -> list[str]:
        """POTCAR symbol of each POSCAR species group (protocol's ``potcars``, pseudo-H)."""
        return potcar_symbols(self.ordered, self.protocol)

    # ---- files --------------------------------------------------------------------------------
    def files(self, potcar_spec: bool | None = None) -> dict[str, str]:
        """Every input file as text, keyed by its path relative to the calculation folder.

        Parameters
        ----------
        potcar_spec
            ``True`` writes ``POTCAR.spec`` (one symbol per line), ``False`` the real
            ``POTCAR`` (needs ``PMG_VASP_PSP_DIR``); ``None`` chooses by whether
            ``PMG_VASP_PSP_DIR`` is set.  All other files are identical either way.
        """
        name, text = potcar_file(self.potcar_symbols, potcar_spec, self.user_potcar_functional)
        return {
            "INCAR": self.incar.get_str(sort_keys=True),
            "KPOINTS": str(self.kpoints),
            "POSCAR": poscar_text(self.poscar),
            name: text,
        }

    def write_input(
        self,
        output_dir: str,
        make_dir_if_not_present: bool = True,
        include_cif: bool | str = False,
        potcar_spec: bool = False,
        zip_output: bool | str = False,
    ) -> None:
        """Write the inputs to ``output_dir``: POTCAR if ``PMG_VASP_PSP_DIR`` is set, else POTCAR.spec.

        ``include_cif`` and ``zip_output`` are accepted for pymatgen compatibility and
        ignored: campaign folders hold plain VASP inputs only.
        """
        folder = Path(output_dir)
        if make_dir_if_not_present:
            folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.files(potcar_spec=True if potcar_spec else None).items():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")


@dataclass
class BulkRelaxSet(ProtocolInputSet):
    """Bulk relaxation of ions, cell shape and volume (ISIF 3); bulk cells only."""

    calc: ClassVar[str] = "relax-bulk"

    requires: ClassVar[tuple[str, str] | None] = ("bulk", "ISIF = 3 would close its vacuum; use SlabRelaxSet")


@dataclass
class SlabRelaxSet(ProtocolInputSet):
    """Fixed-cell relaxation (ISIF 2) of slabs, adsorbates, interfaces and references."""

    calc: ClassVar[str] = "relax"


@dataclass
class StaticSet(ProtocolInputSet):
    """Self-consistent static run writing CHGCAR, the parent of bands and DOS runs."""

    calc: ClassVar[str] = "static"


@dataclass
class WorkFunctionSet(ProtocolInputSet):
    """Static run writing LOCPOT (LVHAR) with the dipole correction at the slab's centre."""

    calc: ClassVar[str] = "workfunction"

    requires: ClassVar[tuple[str, str] | None] = (
        "slab",
        "a work function needs a slab with vacuum along the third vector",
    )


@dataclass
class ChargeDensitySet(ProtocolInputSet):
    """Static run writing CHGCAR on a pinned FFT grid, for Δρ = ρ(AB) − ρ(A) − ρ(B).

    Parameters
    ----------
    fft_grid
        ``(NGX, NGY, NGZ)`` and ``(NGXF, NGYF, NGZF)``; give the whole system's grid to
        all three members of a triplet.  ``None`` computes it from this cell with
        pymatgen's ``calculate_ng`` at the protocol's ENCUT and PREC.
    dipol
        The dipole plane of the whole system, given to its parts so that the triplet
        shares one (``None``: this cell's own centre).
    """

    calc: ClassVar[str] = "chgdiff"
    fft_grid: tuple[tuple[int, int, int], tuple[int, int, int]] | None = None
    dipol: Sequence[float] | None = None

    def physics_tags(self) -> dict[str, Any]:
        """As for every set, except that a part takes its whole's dipole plane (``dipol``)."""
        tags = super().physics_tags()
        if self.dipol is not None and "DIPOL" in tags:
            tags["DIPOL"] = list(self.dipol)
        return tags

    def pinned_grid(self) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        """The FFT grids written to the INCAR."""
        if self.fft_grid is not None:
            coarse, fine = self.fft_grid
            return tuple(coarse), tuple(fine)
        coarse, fine = self.calculate_ng(
            custom_encut=self.protocol.encut, custom_prec=str(self.protocol.decision("prec").value)
        )
        return tuple(int(n) for n in coarse), tuple(int(n) for n in fine)

    def calc_tags(self) -> dict[str, Any]:
        tags = super().calc_tags()
        coarse, fine = self.pinned_grid()
        tags.update(zip(("NGX", "NGY", "NGZ"), coarse, strict=True))
        tags.update(zip(("NGXF", "NGYF", "NGZF"), fine, strict=True))
        return tags


@dataclass
class BandStructureSet(ProtocolInputSet):
    """Non-self-consistent bands (ICHARG 11) along the high-symmetry path."""

    calc: ClassVar[str] = "bands"

    @property
    def kpoints(self) -> Kpoints:
        dev = self._deviation(KPOINTS_TAG)
        if dev is not None and not isinstance(dev.value, int):
            raise ProtocolLockError(
                f"{self.node}: a KPOINTS deviation for a band structure is the number of points per "
                f"segment (an integer), not {dev.value!r}"
            )
        return line_mode_kpoints(
            self.ordered, self.geometry, self.protocol, divisions=dev.value if dev is not None else None
        )


@dataclass
class DosSet(ProtocolInputSet):
    """Non-self-consistent DOS (ICHARG 11, LORBIT 11) on the protocol's denser mesh."""

    calc: ClassVar[str] = "dos"

    def calc_tags(self) -> dict[str, Any]:
        tags = super().calc_tags()
        tags.update(self.protocol.decision("dos_points").vasp)
        return tags

    @property
    def kpoints(self) -> Kpoints:
        dev = self._deviation(KPOINTS_TAG)
        if dev is not None and self.geometry in ("slab", "bulk"):
            return Kpoints.gamma_automatic(tuple(int(k) for k in dev.value))
        return mesh_kpoints(self.ordered, self.geometry, self.protocol, dos=True)


#: Campaign kind -> input set (``relax`` picks the bulk or slab set by the cell).
INPUT_SETS: dict[str, type[ProtocolInputSet]] = {
    "relax-bulk": BulkRelaxSet,
    "relax": SlabRelaxSet,
    "static": StaticSet,
    "workfunction": WorkFunctionSet,
    "chgdiff": ChargeDensitySet,
    "bands": BandStructureSet,
    "dos": DosSet,
}
