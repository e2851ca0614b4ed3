"""The paper's computational protocol as one frozen, typed object.

The values live in ``cztflow/data/protocol.yaml``; this module only loads and checks
them.  Settings stated by the paper carry a unit and a pointer to where the paper states
them; settings the paper leaves open are *decisions*, each with its reason.  The protocol
has a stable content hash that generated inputs are stamped with.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

__all__ = ["Calculation", "Decision", "Protocol", "Setting", "default_protocol", "load_protocol"]

#: Settings every protocol file must state (the paper's section 2.4 and 3.1).
REQUIRED_SETTINGS = (
    "xc_functional",
    "pseudopotentials",
    "encut",
    "smearing",
    "sigma",
    "ediff",
    "force_tolerance",
    "dispersion",
    "vacuum",
    "surface_kpoints",
    "neb_method",
    "neb_images",
    "adsorption_energy",
)

#: Decisions every protocol file must record (things the paper leaves open).
REQUIRED_DECISIONS = (
    "bulk_kpoint_density",
    "spin_polarisation",
    "lreal",
    "dipole_correction",
    "potcars",
    "pseudo_hydrogen",
    "fixed_layers",
    "adsorbate_reference",
)


def _freeze(obj: Any) -> Any:
    """Return an immutable copy of nested YAML data (dicts become mapping proxies)."""
    if isinstance(obj, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in obj.items()})
    if isinstance(obj, list | tuple):
        return tuple(_freeze(v) for v in obj)
    return obj


@dataclass(frozen=True)
class Setting:
    """A setting the paper states.

    Attributes
    ----------
    name
        Key in the protocol file, e.g. ``"encut"``.
    value
        The value in ``unit``.
    unit
        Physical unit, or ``None`` for a label.
    source
        Where the paper states it (section and sentence topic).
    vasp
        The INCAR tags that express it (empty if it is not an INCAR tag).
    scope
        The one calculation kind its tags belong to (``"neb"`` for IMAGES), or
        ``None`` for every calculation.
    """

    name: str
    value: Any
    unit: str | None
    source: str
    vasp: Mapping[str, Any]
    scope: str | None = None


@dataclass(frozen=True)
class Decision:
    """A setting the paper leaves open, with what cztflow does and why.

    Attributes
    ----------
    name
        Key in the protocol file, e.g. ``"potcars"``.
    value
        The chosen value.
    unit
        Physical unit, or ``None``.
    reason
        Why this choice was made.
    vasp
        The INCAR tags that express it (empty if none).
    locked
        Whether its tags join the protocol lock (like a stated setting's).
    """

    name: str
    value: Any
    unit: str | None
    reason: str
    vasp: Mapping[str, Any]
    locked: bool = False


@dataclass(frozen=True)
class Calculation:
    """The INCAR tags of one kind of calculation (relax, static, neb, ...), and why.

    Attributes
    ----------
    kind
        Key in the protocol's ``calculations``, e.g. ``"relax-bulk"``.
    vasp
        Tags added on top of the locked settings and the decisions.
    reason
        Why these tags.
    """

    kind: str
    vasp: Mapping[str, Any]
    reason: str


@dataclass(frozen=True)
class Protocol:
    """The computational protocol: stated settings, recorded decisions and a content hash.

    Use :func:`default_protocol` for the paper's protocol; the typed properties give the
    values that code needs most.
    """

    name: str
    paper: str
    settings: Mapping[str, Setting]
    decisions: Mapping[str, Decision]
    calculations: Mapping[str, Calculation]
    hash: str
    source_file: str

    # ---- typed access to the values the code uses -------------------------------------
    @property
    def encut(self) -> float:
        """Plane-wave cutoff in eV."""
        return float(self.settings["encut"].value)

    @property
    def sigma(self) -> float:
        """Gaussian smearing width in eV."""
        return float(self.settings["sigma"].value)

    @property
    def ediff(self) -> float:
        """Electronic convergence criterion in eV."""
        return float(self.settings["ediff"].value)

    @property
    def force_tolerance(self) -> float:
        """Ionic convergence criterion: largest force in eV/Å."""
        return float(self.settings["force_tolerance"].value)

    @property
    def vacuum(self) -> float:
        """Vacuum thickness along the surface normal in Å."""
        return float(self.settings["vacuum"].value)

    @property
    def surface_kpoints(self) -> tuple[int, int, int]:
        """Monkhorst–Pack mesh for surface cells."""
        kx, ky, kz = (int(k) for k in self.settings["surface_kpoints"].value)
        return (kx, ky, kz)

    @property
    def neb_images(self) -> int:
        """Number of intermediate CI-NEB images."""
        return int(self.settings["neb_images"].value)

    @property
    def short_hash(self) -> str:
        """First 12 hex digits of :attr:`hash`, for file headers."""
        return self.hash[:12]

    def _entry(self, table: Mapping[str, Any], name: str, what: str) -> Any:
        try:
            return table[name]
        except KeyError:
            known = ", ".join(sorted(table))
            raise KeyError(f"protocol {self.name!r} has no {what} {name!r}; known: {known}") from None

    def decision(self, name: str) -> Decision:
        """Return the recorded decision ``name``.

        Raises
        ------
        KeyError
            If the protocol records no such decision; the message lists those it has.
        """
        return self._entry(self.decisions, name, "decision")

    def calculation(self, kind: str) -> Calculation:
        """Return the INCAR tags of calculation kind ``kind``.

        Raises
        ------
        KeyError
            If the protocol defines no such kind; the message lists those it has.
        """
        return self._entry(self.calculations, kind, "calculation")

    def initial_moments(self, symbols: Iterable[str]) -> list[float]:
        """The initial moment of each atom (decision ``initial_magmom``), in the order given."""
        moments = self.decision("initial_magmom").value
        return [float(moments.get(s, moments["default"])) for s in symbols]

    def locked_vasp_tags(self, kind: str | None = None) -> dict[str, Any]:
        """INCAR tags under the protocol lock: the stated settings' and locked decisions'.

        Parameters
        ----------
        kind
            A calculation kind: only the tags that apply to it (IMAGES and LCLIMB only
            to ``"neb"``).  ``None`` gives every locked tag.
        """
        tags: dict[str, Any] = {}
        for setting in self.settings.values():
            if kind is None or setting.scope in (None, kind):
                tags.update(setting.vasp)
        for decision in self.decisions.values():
            if decision.locked:
                tags.update(decision.vasp)
        return tags


def _content_hash(raw: Mapping[str, Any]) -> str:
    canonical = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _require(mapping: Any, key: str, where: str, path: str) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise ValueError(f"{path}: {where} has no {key!r} entry")
    return mapping[key]


def load_protocol(path: str | Path) -> Protocol:
    """Load and check a protocol file.

    Parameters
    ----------
    path
        A YAML file with ``name``, ``paper``, ``settings`` and ``decisions``.

    Returns
    -------
    Protocol
        The frozen protocol with its content hash.

    Raises
    ------
    ValueError
        If the file is not valid YAML, or a required setting or decision, or a
        setting's ``value``/``source`` or a decision's ``value``/``reason``, is missing.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise ValueError(f"{path}: expected a mapping at top level, found {type(raw).__name__}")
    name = str(_require(raw, "name", "the file", str(path)))
    paper = str(_require(raw, "paper", "the file", str(path)))
    raw_settings = _require(raw, "settings", "the file", str(path))
    raw_decisions = _require(raw, "decisions", "the file", str(path))
    raw_calculations = _require(raw, "calculations", "the file", str(path))
    for key in REQUIRED_SETTINGS:
        _require(raw_settings, key, "settings", str(path))
    for key in REQUIRED_DECISIONS:
        _require(raw_decisions, key, "decisions", str(path))

    settings = {}
    for key, entry in raw_settings.items():
        settings[key] = Setting(
            name=key,
            value=_freeze(_require(entry, "value", f"setting {key!r}", str(path))),
            unit=entry.get("unit"),
            source=str(_require(entry, "source", f"setting {key!r}", str(path))),
            vasp=_freeze(entry.get("vasp", {})),
            scope=entry.get("scope"),
        )
    decisions = {}
    for key, entry in raw_decisions.items():
        decisions[key] = Decision(
            name=key,
            value=_freeze(_require(entry, "value", f"decision {key!r}", str(path))),
            unit=entry.get("unit"),
            reason=str(_require(entry, "reason", f"decision {key!r}", str(path))),
            vasp=_freeze(entry.get("vasp", {})),
            locked=bool(entry.get("locked", False)),
        )
    calculations = {}
    for key, entry in raw_calculations.items():
        calculations[key] = Calculation(
            kind=key,
            vasp=_freeze(_require(entry, "vasp", f"calculation {key!r}", str(path))),
            reason=str(_require(entry, "reason", f"calculation {key!r}", str(path))),
        )
    return Protocol(
        name=name,
        paper=paper,
        settings=MappingProxyType(settings),
        decisions=MappingProxyType(decisions),
        calculations=MappingProxyType(calculations),
        hash=_content_hash(raw),
        source_file=str(path),
    )


@lru_cache(maxsize=1)
def default_protocol() -> Protocol:
    """The protocol of Pan et al. (2023), shipped as ``cztflow/data/protocol.yaml``."""
    ref = resources.files("cztflow") / "data" / "protocol.yaml"
    with resources.as_file(ref) as path:
        return load_protocol(path)
