"""The study's structures as data: build one by name, or all of them into a folder.

``cztflow/data/study.yaml`` lists the systems (a builder and its arguments), the
substrates that get K on every distinct site, and the K hops.  :func:`build_all` writes
each structure as a POSCAR plus ``index.json``.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pymatgen.core import Structure

from cztflow.protocol import default_protocol
from cztflow.structures.adsorption import add_k, blocks_only, intercalate_k, k_sites, lower_part
from cztflow.structures.builder_args import check_builder_args
from cztflow.structures.bulk import cote2_bulk, cote2_marcasite_bulk, k_atom, k_bcc, znte_bulk
from cztflow.structures.heterostructures import cote2_znte_interface, mxene_stack
from cztflow.structures.io import index_entry, write_structure
from cztflow.structures.migration import migration_endpoints, neb_path
from cztflow.structures.mxene import ti3c2tx
from cztflow.structures.slabs import cote2_001_slab, znte_110_slab, znte_111_slab

__all__ = [
    "BUILDERS",
    "Built",
    "adsorbates",
    "build_all",
    "build_system",
    "builder_parameters",
    "migration_path",
    "stale_files",
    "study",
]

#: CLI name -> (builder function, kind of structure it returns).
BUILDERS: dict[str, tuple[Callable[..., Structure], str]] = {
    "cote2-bulk": (cote2_bulk, "bulk"),
    "cote2-marcasite": (cote2_marcasite_bulk, "bulk"),
    "znte-bulk": (znte_bulk, "bulk"),
    "k-bcc": (k_bcc, "reference"),
    "k-atom": (k_atom, "reference"),
    "cote2-001": (cote2_001_slab, "slab"),
    "znte-111": (znte_111_slab, "slab"),
    "znte-110": (znte_110_slab, "slab"),
    "ti3c2tx": (ti3c2tx, "mxene"),
    "cote2-znte": (cote2_znte_interface, "interface"),
    "mxene-stack": (mxene_stack, "interface"),
}


@dataclass(frozen=True)
class Built:
    """One structure of the study with how it was made."""

    name: str
    kind: str
    builder: str
    args: dict[str, Any]
    structure: Structure


@lru_cache(maxsize=1)
def study() -> dict[str, Any]:
    """The parsed ``study.yaml``."""
    text = (resources.files("cztflow") / "data" / "study.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def builder_parameters(builder: str) -> list[str]:
    """Keyword arguments the builder ``builder`` accepts."""
    func, _kind = _builder(builder)
    return list(inspect.signature(func).parameters)


def _builder(name: str) -> tuple[Callable[..., Structure], str]:
    try:
        return BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown builder {name!r}; choose from {', '.join(BUILDERS)}") from None


def build_system(name: str, overrides: dict[str, Any] | None = None) -> Built:
    """Build a study system, or call a builder directly, with optional argument overrides.

    Parameters
    ----------
    name
        A system of ``study.yaml`` (e.g. ``"cote2-znte-3x3"``) or a builder name from
        :data:`BUILDERS` (e.g. ``"znte-111"``).
    overrides
        Keyword arguments that replace or add to the system's own.

    Raises
    ------
    ValueError
        For an unknown name or an argument the builder does not take (the message lists
        those it takes), or whatever the builder rejects.
    """
    systems = study()["systems"]
    if name in systems:
        builder, args = systems[name]["builder"], dict(systems[name]["args"])
    elif name in BUILDERS:
        builder, args = name, {}
    else:
        known = sorted(set(systems) | set(BUILDERS))
        raise ValueError(f"unknown system {name!r}; choose from {', '.join(known)}")
    if overrides is not None and not isinstance(overrides, dict):
        raise ValueError(f"{name}: args must map argument names to values, found {overrides!r}")
    args.update(overrides or {})
    func, kind = _builder(builder)
    accepted = builder_parameters(builder)
    unknown = sorted(set(args) - set(accepted))
    if unknown:
        raise ValueError(
            f"{name}: builder {builder} takes no argument {', '.join(unknown)}; "
            f"it takes {', '.join(accepted)}"
        )
    threshold = float(default_protocol().decision("geometry_detection").value["vacuum_gap"])
    check_builder_args(func, args, f"{name}: builder {builder}", min_vacuum=threshold)
    return Built(name, kind, builder, args, func(**args))


def _option_types(name: str, options: dict[str, Any], types: dict[str, type]) -> None:
    """Refuse an option of the wrong YAML type (a list must hold strings), naming it."""
    for key, kind in types.items():
        if key not in options:
            continue
        value = options[key]
        ok = isinstance(value, kind) and (kind is not list or all(isinstance(v, str) for v in value))
        if not ok:
            words = "a list of names" if kind is list else "a name"
            raise ValueError(f"{name}: option {key} = {value!r}: expected {words}")


def adsorbates(substrate: Built, options: dict[str, Any]) -> Iterator[Built]:
    """K on every distinct site of ``substrate`` (options as in study.yaml's ``adsorption``).

    ``options`` may hold ``sites_from`` (blocks whose symmetry sets the sites),
    ``intercalate`` (a lower block to put K above) and ``sites``, a list of labels such as
    ``K-hollow-1`` or ``Kint-ontop-1`` that keeps only those sites.

    Raises
    ------
    ValueError
        For an unknown option or a label in ``sites`` that the substrate does not have.
    """
    _option_types(substrate.name, options, {"sites_from": list, "intercalate": str, "sites": list})
    unknown = sorted(set(options) - {"sites_from", "intercalate", "sites"})
    if unknown:
        raise ValueError(
            f"{substrate.name}: unknown adsorption option(s) {', '.join(unknown)}; "
            "known: sites_from, intercalate, sites"
        )
    found = list(_all_adsorbates(substrate, options))
    wanted = options.get("sites")
    if wanted is None:
        yield from found
        return
    labels = {b.name[len(substrate.name) + 1 :]: b for b in found}
    missing = [w for w in wanted if w not in labels]
    if missing:
        raise ValueError(f"{substrate.name}: no site(s) {', '.join(missing)}; it has {', '.join(labels)}")
    for label in wanted:
        yield labels[label]


def _all_adsorbates(substrate: Built, options: dict[str, Any]) -> Iterator[Built]:
    slab = substrate.structure
    symmetric = blocks_only(slab, options["sites_from"]) if "sites_from" in options else slab
    for site in k_sites(symmetric):
        yield Built(
            f"{substrate.name}-K-{site.name}",
            "adsorbate",
            "add_k",
            {"substrate": substrate.name, "site": site.name},
            add_k(slab, site),
        )
    block = options.get("intercalate")
    if block:
        for site in k_sites(lower_part(slab, block)):
            yield Built(
                f"{substrate.name}-Kint-{site.name}",
                "adsorbate",
                "intercalate_k",
                {"substrate": substrate.name, "site": site.name, "lower_block": block},
                intercalate_k(slab, site, lower_block=block),
            )


def migration_path(substrate: Built, options: dict[str, Any]) -> Iterator[Built]:
    """The NEB images of one K hop on ``substrate`` (options as in study.yaml's ``migration``).

    ``options`` holds ``site``, the starting site, and may hold ``end``, the site the hop
    ends on (its periodic image nearest ``site``); without ``end`` the hop goes to the
    nearest site equivalent to ``site``.

    Raises
    ------
    ValueError
        For an unknown option, a site the substrate does not have, or an ``end`` equal to
        ``site``.
    """
    _option_types(substrate.name, options, {"site": str, "end": str})
    unknown = sorted(set(options) - {"site", "end"})
    if unknown:
        raise ValueError(
            f"{substrate.name}: unknown migration option(s) {', '.join(unknown)}; known: site, end"
        )
    slab = substrate.structure
    sites = {s.name: s for s in k_sites(slab)}
    for key in ("site", "end"):
        if key in options and options[key] not in sites:
            raise ValueError(f"{substrate.name}: no {key} site {options[key]!r}; have {', '.join(sites)}")
    if options.get("end") == options["site"]:
        raise ValueError(
            f"{substrate.name}: migration end {options['end']!r} is its start; leave 'end' out for "
            "a hop to the nearest equivalent site"
        )
    end = sites[options["end"]] if "end" in options else None
    initial, final = migration_endpoints(slab, sites[options["site"]], end)
    for i, image in enumerate(neb_path(initial, final)):
        yield Built(
            f"{substrate.name}-neb-{i:02d}",
            "neb-image",
            "neb_path",
            {"substrate": substrate.name, "site": options["site"], "image": i},
            image,
        )


def iter_study() -> Iterator[Built]:
    """Every structure of the study, in a fixed order."""
    spec = study()
    built: dict[str, Built] = {}
    for name in spec["systems"]:
        built[name] = build_system(name)
        yield built[name]
    for name, options in spec.get("adsorption", {}).items():
        yield from adsorbates(built[name], options or {})
    for name, options in spec.get("migration", {}).items():
        yield from migration_path(built[name], options)


def stale_files(outdir: str | Path, entries: list[dict]) -> list[str]:
    """Structure files in ``outdir`` that ``entries`` do not list (left by an older build).

    They are reported, never deleted: the folder may hold the user's own files.
    """
    listed = {e["file"] for e in entries}
    return sorted(p.name for p in Path(outdir).glob("*.vasp") if p.name not in listed)


def build_all(outdir: str | Path, progress: Callable[[Built], None] | None = None) -> list[dict]:
    """Write every structure of the study to ``outdir`` as ``<name>.vasp`` plus ``index.json``.

    Returns
    -------
    list of dict
        The index entries, as written to ``outdir/index.json``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    entries: list[dict] = []
    for item in iter_study():
        file = f"{item.name}.vasp"
        text = write_structure(item.structure, outdir / file, item.name)
        entries.append(
            index_entry(
                item.structure,
                name=item.name,
                file=file,
                kind=item.kind,
                builder=item.builder,
                args=item.args,
                text=text,
            )
        )
        if progress:
            progress(item)
    (outdir / "index.json").write_text(
        json.dumps(entries, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return entries
