"""A campaign: every calculation behind Fig. 1 as a graph of nodes with dependencies.

A spec file (``workflows/fig1.yaml``) names systems of the study per calculation group;
:func:`load_campaign` turns it into :class:`Node` objects, each holding the input set that
writes its folder.  Dependencies say where a node's starting point comes from once its
parents have run (``seed``): a static starts from its relaxation's CONTCAR, a band from
the end points' relaxations, a charge-difference part from the relaxed whole.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from pymatgen.core import Structure

from cztflow.geometry import axis_gaps, cell_kind
from cztflow.protocol import Protocol, default_protocol, load_protocol
from cztflow.structures.adsorption import blocks_only
from cztflow.structures.study import Built, adsorbates, build_system, migration_path, study
from cztflow.workflows.config import parse_engine_options
from cztflow.workflows.incar_policy import check_deviation_values, deviable_tags, free_settings_problems
from cztflow.workflows.inputsets import (
    BandStructureSet,
    BulkRelaxSet,
    ChargeDensitySet,
    DosSet,
    ProtocolInputSet,
    SlabRelaxSet,
    StaticSet,
    WorkFunctionSet,
)
from cztflow.workflows.lock import Deviation, parse_deviations
from cztflow.workflows.neb_inputs import CINEBSet
from cztflow.workflows.node_paths import unsafe_node_id
from cztflow.workflows.vaspfiles import incar_tag_types

__all__ = ["KINDS", "Campaign", "Node", "load_campaign"]

#: Node kinds, as ``campaign.json`` lists them.
KINDS = ("relax", "static", "workfunction", "chgdiff", "bands", "dos", "neb")

_GROUPS = ("relax", "static", "adsorption", "migration", "workfunction", "electronic", "chgdiff")
_KEYS = {"name", "protocol", "deviations", "incar", "systems", "engine_options", *_GROUPS}


@dataclass
class Node:
    """One calculation of a campaign.

    Attributes
    ----------
    id
        Unique id, also the folder relative to the campaign root (``relax/cote2-bulk``).
    kind
        One of :data:`KINDS`.
    system
        Study system (or adsorbate/hop name) the structure comes from.
    deps
        Ids of the nodes whose results this one needs.
    input_set
        Writes the folder.
    seed
        How a runner restarts this node from its parents' results.
    extra
        Kind-specific facts recorded in ``campaign.json`` (charge-difference roles).
    """

    id: str
    kind: str
    system: str
    deps: list[str]
    input_set: ProtocolInputSet
    seed: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Campaign:
    """A loaded campaign spec: its nodes in dependency order, protocol and deviations."""

    name: str
    spec_file: str
    spec_hash: str
    protocol: Protocol
    deviations: tuple[Deviation, ...]
    nodes: dict[str, Node]
    engine_options: dict[str, dict[str, Any]] = field(default_factory=dict)


def _list(spec: Mapping[str, Any], key: str, source: str) -> list:
    value = spec.get(key) or []
    if not isinstance(value, list | dict):
        raise ValueError(f"{source}: {key!r} must be a list of system names")
    return list(value)


def _adsorbate_seed(substrate: str) -> dict[str, str]:
    return {"from": f"relax/{substrate}", "how": "CONTCAR of the substrate; the adsorbate moves with it"}


def _named(spec: Mapping[str, Any], key: str, source: str) -> list[tuple[str, Any]]:
    """A group given as a list of names, or as a mapping of name to its options."""
    value = spec.get(key) or []
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    return [(str(name), None) for name in _list(spec, key, source)]


def _own_systems(raw: Any, source: str) -> dict[str, dict[str, Any]]:
    """The spec's own systems: name -> {builder, args}, as in study.yaml."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{source}: 'systems' must map a name to {{builder: ..., args: {{...}}}}")
    clash = sorted(set(raw) & set(study()["systems"]))
    if clash:
        raise ValueError(f"{source}: systems: {', '.join(clash)} are study systems; pick new names")
    for name, entry in raw.items():
        if not isinstance(entry, Mapping) or "builder" not in entry:
            raise ValueError(f"{source}: systems: {name} needs a 'builder' (and optional 'args')")
        if not isinstance(entry["builder"], str):
            raise ValueError(
                f"{source}: systems: {name}: builder: expected a builder name, found {entry['builder']!r}"
            )
        if not isinstance(entry.get("args") or {}, Mapping):
            raise ValueError(f"{source}: systems: {name}: args: expected a mapping, found {entry['args']!r}")
    return {str(k): dict(v) for k, v in raw.items()}


def _incar_overrides(
    raw: Any, source: str, protocol: Protocol
) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """The spec's ``incar:`` entries: free tags only (the allow-list), per node pattern."""
    if raw is not None and not isinstance(raw, list):
        raise ValueError(f"{source}: 'incar' must be a list of {{nodes: [...], tags: {{...}}}}")
    out = []
    for i, entry in enumerate(raw or []):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("tags"), Mapping):
            raise ValueError(f"{source}: incar[{i}] needs 'nodes' (glob patterns) and 'tags' (a mapping)")
        unknown = sorted(set(entry) - {"nodes", "tags"})
        if unknown:
            raise ValueError(f"{source}: incar[{i}]: unknown key(s) {', '.join(unknown)}; use nodes, tags")
        nodes = entry.get("nodes", ["*"])
        if not isinstance(nodes, str | list) or not all(isinstance(n, str) for n in nodes):
            raise ValueError(f"{source}: incar[{i}].nodes must be a glob pattern or a list of them")
        problems = free_settings_problems(entry["tags"], protocol)
        if problems:
            raise ValueError(f"{source}: incar[{i}].tags: {problems[0]}")
        nodes = (nodes,) if isinstance(nodes, str) else tuple(nodes)
        out.append((nodes, {str(k).strip().upper(): v for k, v in entry["tags"].items()}))
    return out


class _Builder:
    """Turns a parsed spec into nodes."""

    def __init__(
        self, spec: Mapping[str, Any], source: str, protocol: Protocol, deviations: tuple[Deviation, ...]
    ) -> None:
        self.spec, self.source, self.protocol = spec, source, protocol
        self.deviations = deviations
        self.structures: dict[str, Built] = {}
        self.overrides = _incar_overrides(spec.get("incar"), source, protocol)
        self.nodes: dict[str, Node] = {}
        self.own_systems = _own_systems(spec.get("systems"), source)

    def structure(self, name: str, group: str) -> Structure:
        """Build study system ``name`` once (only systems the spec names are built)."""
        if name not in self.structures:
            if name in self.own_systems:
                entry = self.own_systems[name]
                try:
                    built = build_system(entry["builder"], entry.get("args") or {})
                except ValueError as exc:
                    raise ValueError(f"{self.source}: systems: {name}: {exc}") from None
                self.structures[name] = replace(built, name=name, args=dict(entry.get("args") or {}))
                return self.structures[name].structure
            systems = study()["systems"]
            if name not in systems:
                known = ", ".join([*systems, *self.own_systems])
                raise ValueError(f"{self.source}: {group}: unknown system {name!r}; known: {known}")
            self.structures[name] = build_system(name)
        return self.structures[name].structure

    def options(self, group: str, name: str, given: Any) -> dict[str, Any]:
        """Adsorption or migration options: the spec's own, else those of study.yaml."""
        if given is not None:
            if not isinstance(given, Mapping):
                raise ValueError(f"{self.source}: {group}: {name}: options must be a mapping")
            return dict(given)
        table = study().get(group, {})
        if name not in table:
            what = "adsorption sites" if group == "adsorption" else "K hop"
            raise ValueError(
                f"{self.source}: {group}: {name} has no {what} in the study (study.yaml); "
                f"give its options in the spec, e.g. {{{name}: {{}}}}"
            )
        return dict(table[name] or {})

    def settings(self, node_id: str) -> dict[str, Any]:
        tags: dict[str, Any] = {}
        for patterns, extra in self.overrides:
            if any(fnmatch.fnmatchcase(node_id, p) for p in patterns):
                tags.update(extra)
        return {
            "protocol": self.protocol,
            "deviations": self.deviations,
            "node": node_id,
            "user_incar_settings": tags,
        }

    def add(
        self,
        node_id: str,
        kind: str,
        system: str,
        cls: type[ProtocolInputSet],
        deps: list[str] | None = None,
        seed: dict | None = None,
        extra: dict | None = None,
        **kwargs: Any,
    ) -> Node:
        if node_id in self.nodes:
            raise ValueError(f"{self.source}: node {node_id} is listed twice")
        problem = unsafe_node_id(node_id)
        if problem:
            raise ValueError(f"{self.source}: system {system!r} gives node {node_id!r}: {problem}")
        for dep in deps or []:
            if dep not in self.nodes:
                raise ValueError(f"{self.source}: {node_id} needs {dep}, which the spec does not include")
        node = Node(
            node_id,
            kind,
            system,
            list(deps or []),
            cls(**kwargs, **self.settings(node_id)),
            dict(seed or {}),
            dict(extra or {}),
        )
        self.nodes[node_id] = node
        return node

    def relax(self, name: str) -> None:
        s = self.structure(name, "relax")
        threshold = float(self.protocol.decision("geometry_detection").value["vacuum_gap"])
        bulk = cell_kind(axis_gaps(s.lattice.matrix, s.frac_coords), threshold) == "bulk"
        self.add(f"relax/{name}", "relax", name, BulkRelaxSet if bulk else SlabRelaxSet, structure=s)

    def adsorption(self, substrate: str, given: Any = None) -> None:
        self.structure(substrate, "adsorption")
        if f"relax/{substrate}" not in self.nodes:
            raise ValueError(f"{self.source}: adsorption on {substrate} needs it under 'relax' (E_sub)")
        options = self.options("adsorption", substrate, given)
        try:
            found = list(adsorbates(self.structures[substrate], options))
        except ValueError as exc:
            raise ValueError(f"{self.source}: adsorption: {exc}") from None
        for built in found:
            self.add(
                f"relax/{built.name}",
                "relax",
                built.name,
                SlabRelaxSet,
                deps=[f"relax/{substrate}"],
                seed=_adsorbate_seed(substrate),
                structure=built.structure,
                extra={"substrate": substrate, "site": built.args["site"]},
            )

    def migration(self, substrate: str, given: Any = None) -> None:
        hop = self.options("migration", substrate, given)
        if "site" not in hop:
            raise ValueError(f"{self.source}: migration: {substrate} needs a starting 'site'")
        site = hop["site"]
        initial = f"relax/{substrate}-K-{site}"
        if initial not in self.nodes:
            raise ValueError(f"{self.source}: migration on {substrate} needs it under 'adsorption'")
        try:
            images = [b.structure for b in migration_path(self.structures[substrate], hop)]
        except ValueError as exc:
            raise ValueError(f"{self.source}: migration: {exc}") from None
        final = f"relax/{substrate}-K-{site}-hop"
        self.add(
            final,
            "relax",
            substrate,
            SlabRelaxSet,
            deps=[f"relax/{substrate}"],
            seed=_adsorbate_seed(substrate),
            structure=images[-1],
            extra={"substrate": substrate, "site": hop.get("end", f"{site}'")},
        )
        self.add(
            f"neb/{substrate}",
            "neb",
            substrate,
            CINEBSet,
            deps=[initial, final],
            images=images,
            seed={
                "initial": initial,
                "final": final,
                "how": "CONTCARs of both ends, IDPP images, "
                "end-point OUTCARs copied into 00 and the last folder",
            },
            extra={"substrate": substrate, "site": site},
        )

    def after_relax(self, name: str, group: str, kind: str, cls: type[ProtocolInputSet]) -> Node:
        self.structure(name, group)
        parent = f"relax/{name}"
        if parent not in self.nodes:
            raise ValueError(f"{self.source}: {group} of {name} needs it under 'relax'")
        return self.add(
            f"{kind}/{name}",
            kind,
            name,
            cls,
            deps=[parent],
            seed={"from": parent, "how": "CONTCAR"},
            structure=self.structures[name].structure,
        )

    def electronic(self, name: str) -> None:
        scf = self.after_relax(name, "electronic", "static", StaticSet)
        for kind, cls in (("bands", BandStructureSet), ("dos", DosSet)):
            self.add(
                f"{kind}/{name}",
                kind,
                name,
                cls,
                deps=[scf.id],
                structure=scf.input_set.structure,
                seed={"from": scf.id, "how": "POSCAR and CHGCAR (ICHARG = 11)"},
            )

    def chgdiff(self, whole: str, parts: list[str]) -> None:
        self.structure(whole, "chgdiff")
        parent = f"relax/{whole}"
        if parent not in self.nodes:
            raise ValueError(f"{self.source}: chgdiff of {whole} needs it under 'relax'")
        if not isinstance(parts, list) or len(parts) < 2:
            raise ValueError(f"{self.source}: chgdiff {whole}: give at least two blocks, e.g. [cote2, znte]")
        s = self.structures[whole].structure
        first = self.add(
            f"chgdiff/{whole}/whole",
            "chgdiff",
            whole,
            ChargeDensitySet,
            deps=[parent],
            seed={"from": parent, "how": "CONTCAR"},
            structure=s,
            extra={"group": whole, "role": "whole", "parts": parts},
        )
        grid = first.input_set.pinned_grid()
        dipol = first.input_set.incar.get("DIPOL")
        for block in parts:
            try:
                part = blocks_only(s, [block])
            except ValueError as exc:
                raise ValueError(f"{self.source}: chgdiff {whole}: {exc}") from None
            self.add(
                f"chgdiff/{whole}/{block}",
                "chgdiff",
                whole,
                ChargeDensitySet,
                deps=[parent],
                seed={"from": parent, "how": f"CONTCAR, block {block} only, same cell"},
                structure=part,
                fft_grid=grid,
                dipol=dipol,  # one dipole plane for the whole triplet
                extra={"group": whole, "role": "part"},
            )


#: The YAML shape of each top-level spec key: (check, words for the message).
_SHAPES: dict[str, tuple[Any, str]] = {
    "name": (lambda v: isinstance(v, str), "a string"),
    "protocol": (lambda v: v is None or isinstance(v, str), "'default' or a protocol file next to the spec"),
    "deviations": (lambda v: v is None or isinstance(v, list), "a list of {tag, value, reason, nodes}"),
    "incar": (lambda v: v is None or isinstance(v, list), "a list of {nodes, tags}"),
    "systems": (lambda v: v is None or isinstance(v, Mapping), "a mapping of name to {builder, args}"),
    "engine_options": (lambda v: v is None or isinstance(v, Mapping), "a mapping of gpaw/mlip settings"),
    "chgdiff": (
        lambda v: (
            v is None
            or (
                isinstance(v, Mapping)
                and all(isinstance(p, list) and all(isinstance(x, str) for x in p) for p in v.values())
            )
        ),
        "a mapping of system to its blocks, e.g. {cote2-znte: [cote2, znte]}",
    ),
}
for _key in ("relax", "static", "workfunction", "electronic"):
    _SHAPES[_key] = (
        lambda v: v is None or (isinstance(v, list) and all(isinstance(x, str) for x in v)),
        "a list of system names",
    )
for _key in ("adsorption", "migration"):
    _SHAPES[_key] = (
        lambda v: (
            v is None
            or (isinstance(v, list) and all(isinstance(x, str) for x in v))
            or (isinstance(v, Mapping) and all(o is None or isinstance(o, Mapping) for o in v.values()))
        ),
        "a list of system names, or a mapping of system name to its options",
    )


def _check_shapes(spec: Mapping[str, Any], source: str) -> None:
    """Refuse a top-level key of the wrong YAML shape, naming the file and the key."""
    for key, value in spec.items():
        check, words = _SHAPES.get(key, (lambda v: True, ""))
        if not check(value):
            raise ValueError(f"{source}: {key}: expected {words}, found {value!r}")


def load_campaign(path: str | Path) -> Campaign:
    """Read a campaign spec and build its nodes (and the structures it names).

    Raises
    ------
    ValueError
        Naming the file and the entry: unknown keys or systems, a node whose parent is not
        in the spec, a bad deviation or ``incar`` entry.
    """
    import hashlib

    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(spec, Mapping):
        raise ValueError(f"{path}: expected a mapping at top level")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
    source = str(path)
    _check_shapes(spec, source)
    proto_ref = spec.get("protocol", "default")
    if proto_ref in (None, "default"):
        protocol = default_protocol()
    elif not (path.parent / proto_ref).is_file():
        raise ValueError(f"{source}: protocol: {proto_ref}: no such protocol file next to the spec")
    else:
        try:
            protocol = load_protocol(path.parent / proto_ref)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: protocol: {proto_ref}: {exc}") from None
    deviable = deviable_tags(protocol, incar_tag_types())
    deviations = parse_deviations(spec.get("deviations"), source, deviable)
    check_deviation_values(deviations, source)
    b = _Builder(spec, source, protocol, deviations)
    for name in _list(spec, "relax", source):
        b.relax(name)
    for name in _list(spec, "static", source):
        b.add(f"static/{name}", "static", name, StaticSet, structure=b.structure(name, "static"))
    for name, given in _named(spec, "adsorption", source):
        b.adsorption(name, given)
    for name, given in _named(spec, "migration", source):
        b.migration(name, given)
    for name in _list(spec, "workfunction", source):
        b.after_relax(name, "workfunction", "workfunction", WorkFunctionSet)
    for name in _list(spec, "electronic", source):
        b.electronic(name)
    chgdiff = spec.get("chgdiff") or {}
    if not isinstance(chgdiff, Mapping):
        raise ValueError(
            f"{source}: 'chgdiff' must map a system to its blocks, e.g. cote2-znte: [cote2, znte]"
        )
    for whole, parts in chgdiff.items():
        b.chgdiff(whole, parts)
    return Campaign(
        name=str(spec.get("name") or path.stem),
        spec_file=source,
        spec_hash=hashlib.sha256(text.encode()).hexdigest(),
        protocol=protocol,
        deviations=deviations,
        nodes=b.nodes,
        engine_options=parse_engine_options(spec.get("engine_options"), source),
    )
