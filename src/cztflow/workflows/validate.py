"""``cztflow validate``: the dry-run check of a campaign, or of any tree of VASP input folders.

Without VASP, POTCARs or network, every folder is checked against the protocol and
basic physics (see :mod:`cztflow.workflows.folder_checks`).  Inside a campaign (a folder
with ``campaign.json``) the validator also knows each node's kind, the declared
deviations and the charge-difference triplets, and checks the campaign's protocol hash
and dependencies.  It imports nothing heavier than NumPy so that it runs in well under a
second beyond interpreter start-up.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cztflow.protocol import Protocol, default_protocol
from cztflow.workflows.folder_checks import check_folder, infer_calc, load_folder
from cztflow.workflows.lock import Deviation, parse_deviations
from cztflow.workflows.node_paths import unsafe_node_id

__all__ = ["Finding", "validate"]


@dataclass(frozen=True)
class Finding:
    """One problem: where, which check, what was expected and what was found."""

    folder: str
    file: str
    check: str
    item: str
    expected: str
    found: str

    def line(self) -> str:
        """One human-readable line."""
        return (
            f"{self.folder}: {self.file}: {self.check}: {self.item}: "
            f"expected {self.expected}; found {self.found}"
        )

    def as_dict(self) -> dict[str, str]:
        """JSON-ready form."""
        return asdict(self)


def _header_deviations(header: list[str]) -> list[str]:
    return [line for line in header if line.startswith("# deviation:")]


def _header_protocol(header: list[str]) -> str | None:
    for line in header:
        if line.startswith("# cztflow") and "protocol" in line:
            return line.split()[-1]
    return None


def _deviations_from_header(header: list[str], where: str) -> tuple[Deviation, ...]:
    """Deviations stamped into a stand-alone folder's INCAR header (no campaign.json)."""
    raw = []
    for line in _header_deviations(header):
        body = line.removeprefix("# deviation:").strip()
        tag, _, rest = body.partition("=")
        value, _, reason = rest.strip().partition(" (")
        parts = value.split()
        parsed: Any = [float(x) for x in parts] if len(parts) > 1 else value
        raw.append({"tag": tag.strip(), "value": parsed, "reason": reason.rstrip(")")})
    try:
        return parse_deviations(raw, where)
    except ValueError:
        return ()


def _calc_folders(root: Path) -> list[Path]:
    """Folders holding an INCAR, NEB image folders excluded."""
    found = []
    for incar in sorted(root.rglob("INCAR")):
        folder = incar.parent
        if folder.name.isdigit() and (folder.parent / "INCAR").is_file():
            continue
        found.append(folder)
    return found


def validate(path: str | Path, protocol: Protocol | None = None, config: Any = None) -> list[Finding]:
    """Check a campaign folder, a tree of VASP input folders or one folder.

    With ``config`` (a :class:`cztflow.workflows.config.RunConfig`), each NEB's rank count
    (``resources.neb.ranks``) must divide over its IMAGES.

    Returns
    -------
    list of Finding
        Empty when everything follows the protocol.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist or holds no INCAR at all.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such file or folder")
    if root.is_file():
        root = root.parent
    protocol = protocol or default_protocol()
    findings: list[Finding] = []
    campaign = _read_campaign(root, protocol, findings)
    nodes = {n["folder"]: n for n in campaign["nodes"]} if campaign else {}
    deviations = parse_deviations(campaign.get("deviations"), str(root / "campaign.json")) if campaign else ()
    folders = [root / f for f in nodes] if campaign else _calc_folders(root)
    if not folders:
        raise FileNotFoundError(f"{root}: no INCAR found; nothing to validate")
    loaded = {}
    for folder in folders:
        rel = folder.relative_to(root).as_posix() if folder != root else "."
        if campaign and (unsafe_node_id(rel) or not folder.resolve().is_relative_to(root.resolve())):
            findings.append(
                Finding(rel, "campaign.json", "campaign", "folder", "a folder inside the campaign", rel)
            )
            continue
        if not folder.is_dir():
            findings.append(
                Finding(rel, "(folder)", "campaign", "folder", "present (listed in campaign.json)", "missing")
            )
            continue
        inputs = load_folder(folder)
        loaded[rel] = inputs
        node = nodes.get(rel)
        tags = inputs.incar.values if inputs.incar else {}
        header = inputs.incar.header if inputs.incar else []
        calc = node["calc"] if node else infer_calc(tags, inputs.kpoints)
        devs = deviations if campaign else _deviations_from_header(header, rel)
        stamped = _header_protocol(header)
        if stamped and stamped != protocol.short_hash:
            findings.append(Finding(rel, "INCAR", "protocol", "header hash", protocol.short_hash, stamped))
        if campaign:
            declared = {d.header_line() for d in deviations}
            for line in _header_deviations(header):
                if line not in declared:
                    findings.append(
                        Finding(
                            rel, "INCAR", "deviation", "header", "declared in the spec's deviations", line
                        )
                    )
        if node:
            findings += [Finding(rel, *p) for p in _edited_inputs(folder, node)]
        if config is not None and calc == "neb":
            findings += _neb_ranks(rel, tags, config)
        whole = _whole_dipol(node, nodes, loaded, root)
        for p in check_folder(inputs, calc, protocol, node["id"] if node else rel, devs, whole):
            findings.append(Finding(rel, *p))
    if campaign:
        findings += _triplets(campaign, loaded)
    return findings


def _neb_ranks(rel: str, tags: dict[str, Any], config: Any) -> list[Finding]:
    """A NEB's ranks from the configuration must be a multiple of its IMAGES."""
    from cztflow.workflows.resources import neb_ranks_problem

    images = int(tags.get("IMAGES") or 0)
    ranks = config.resources("neb")["ranks"]
    problem = neb_ranks_problem(ranks, images) if images else None
    if not problem:
        return []
    source = config.source.name if config.source else "configuration"
    return [
        Finding(rel, source, "resources", "resources.neb.ranks", f"a multiple of IMAGES = {images}", problem)
    ]


def _edited_inputs(folder: Path, node: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Input files (INCAR aside) whose content is not what ``campaign write`` recorded.

    A runner's seeded POSCAR keeps the written one as ``POSCAR.orig``, which is compared
    instead.  The INCAR is left to the tag rules, which tell a free machine tag (NCORE,
    added by the runner) from a physics change; every other input has one right content.
    """
    import hashlib

    out = []
    for name, digest in sorted((node.get("inputs") or {}).items()):
        if name == "INCAR" or name.endswith("/INCAR"):
            continue
        path = folder / name
        orig = path.with_name(path.name + ".orig")
        path = orig if orig.is_file() else path
        if not path.is_file():
            continue  # a missing file is reported by the folder checks
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            out.append(
                (name, "edited", name, "as written by cztflow (campaign.json inputs hash)", "other content")
            )
    return out


def _read_campaign(root: Path, protocol: Protocol, findings: list[Finding]) -> dict | None:
    path = root / "campaign.json"
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        ids = {n["id"] for n in doc["nodes"]}
        for n in doc["nodes"]:
            n["folder"], n["calc"], n["deps"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a cztflow campaign file: {exc}") from exc
    stamped = doc.get("protocol", {}).get("hash")
    if stamped != protocol.hash:
        findings.append(
            Finding(".", "campaign.json", "protocol", "hash", protocol.short_hash, str(stamped)[:12])
        )
    for n in doc["nodes"]:
        for dep in n["deps"]:
            if dep not in ids:
                findings.append(
                    Finding(
                        n["folder"], "campaign.json", "campaign", "deps", "nodes listed in campaign.json", dep
                    )
                )
    return doc


def _whole_dipol(node: dict | None, nodes: dict, loaded: dict, root: Path) -> Any:
    """For a charge-difference part, the DIPOL of its whole (one dipole plane per triplet)."""
    if not node or node.get("role") != "part":
        return None
    for rel, other in nodes.items():
        if other.get("group") == node.get("group") and other.get("role") == "whole":
            inputs = loaded.get(rel) or load_folder(root / rel)
            return inputs.incar.values.get("DIPOL") if inputs.incar else None
    return None


def _triplets(campaign: dict, loaded: dict) -> list[Finding]:
    """The members of each charge-difference group share the FFT grid and the cell."""
    import numpy as np

    out = []
    groups: dict[str, list[str]] = {}
    for n in campaign["nodes"]:
        if n.get("group") and n["folder"] in loaded:
            groups.setdefault(n["group"], []).append(n["folder"])
    for members in groups.values():
        ref = loaded[members[0]]
        for rel in members[1:]:
            other = loaded[rel]
            for tag in ("NGX", "NGY", "NGZ", "NGXF", "NGYF", "NGZF"):
                a = ref.incar.values.get(tag) if ref.incar else None
                b = other.incar.values.get(tag) if other.incar else None
                if a != b:
                    out.append(Finding(rel, "INCAR", "chgdiff", tag, f"{a} (as in {members[0]})", str(b)))
            pa, pb = ref.poscars.get("POSCAR"), other.poscars.get("POSCAR")
            if pa is not None and pb is not None and not np.allclose(pa.matrix, pb.matrix, atol=1e-6):
                out.append(
                    Finding(rel, "POSCAR", "chgdiff", "cell", f"the cell of {members[0]}", "a different cell")
                )
    return out
