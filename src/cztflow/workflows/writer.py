"""Write a campaign: one input folder per node, and ``campaign.json``; idempotent and safe.

Writing again leaves unchanged folders untouched (not even their timestamps), rewrites
and reports the files of folders whose inputs changed, and never touches a folder that
already holds outputs (it reports the difference instead).  Nodes that disappeared from
the spec are reported, never deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cztflow import __version__
from cztflow.workflows.campaign import Campaign, Node
from cztflow.workflows.node_paths import unsafe_node_id

__all__ = ["OUTPUT_FILES", "WriteReport", "has_outputs", "write_campaign"]

#: Files whose presence means VASP (or another engine) has run in a folder.
OUTPUT_FILES = (
    "OUTCAR",
    "OSZICAR",
    "vasprun.xml",
    "CONTCAR",
    "CHGCAR",
    "LOCPOT",
    "WAVECAR",
    "EIGENVAL",
    "cztflow-result.json",
    "cztflow-run.json",
    ".cztflow-running",
)

CAMPAIGN_FILE = "campaign.json"


@dataclass
class WriteReport:
    """What :func:`write_campaign` did, node by node.

    ``new``, ``unchanged`` and ``updated`` list node ids; ``updated`` and ``kept`` map a
    node id to the files whose content differs (``kept``: not written because the folder
    holds outputs); ``stale`` lists node ids in an older ``campaign.json`` but not in the
    spec.
    """

    new: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    updated: dict[str, list[str]] = field(default_factory=dict)
    kept: dict[str, list[str]] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def has_outputs(folder: Path, inputs: dict[str, str]) -> list[str]:
    """Output files under ``folder`` that are not among this node's ``inputs`` (relative paths)."""
    found = []
    if not folder.is_dir():
        return found
    for root, _dirs, files in os.walk(folder):
        for name in files:
            rel = (Path(root) / name).relative_to(folder).as_posix()
            if name in OUTPUT_FILES and rel not in inputs:
                found.append(rel)
    return sorted(found)


def _node_record(campaign: Campaign, node: Node, files: dict[str, str]) -> dict[str, Any]:
    structure_files = sorted(k for k in files if k.endswith("POSCAR"))
    structure_hash = _sha("".join(files[k] for k in structure_files))
    applied = [d.as_dict() for d in campaign.deviations if d.header_line() in files["INCAR"]]
    iset = node.input_set
    return {
        "id": node.id,
        "kind": node.kind,
        "calc": iset.calc,
        "system": node.system,
        "folder": node.id,
        "deps": node.deps,
        "input_set": type(iset).__name__,
        "geometry": iset.geometry,
        "natoms": len(iset.structure),
        "protocol_hash": campaign.protocol.hash,
        "structure_hash": structure_hash,
        "inputs": {name: _sha(text) for name, text in sorted(files.items())},
        "deviations": applied,
        "seed": node.seed,
        **node.extra,
    }


def _write_files(folder: Path, files: dict[str, str], only: list[str] | None = None) -> None:
    for name, text in files.items():
        if only is not None and name not in only:
            continue
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)


def write_campaign(
    campaign: Campaign, outdir: str | Path, *, potcar_spec: bool | None = None, progress: Any = None
) -> WriteReport:
    """Write every node's folder under ``outdir`` and ``outdir/campaign.json``.

    Parameters
    ----------
    campaign
        From :func:`cztflow.workflows.campaign.load_campaign`.
    outdir
        The campaign root; created if missing.
    potcar_spec
        ``None``: real POTCARs if ``PMG_VASP_PSP_DIR`` is set, else ``POTCAR.spec``.
    progress
        Called with each node after it is handled.

    Returns
    -------
    WriteReport
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    report = WriteReport()
    records = []
    root = outdir.resolve()
    for node in campaign.nodes.values():
        folder = outdir / node.id
        if not folder.resolve().is_relative_to(root) or unsafe_node_id(node.id):
            raise ValueError(f"{campaign.spec_file}: node {node.id!r} would be written outside {outdir}")
        files = node.input_set.files(potcar_spec=potcar_spec)
        changed = [
            name
            for name, text in files.items()
            if not (folder / name).is_file() or (folder / name).read_text(encoding="utf-8") != text
        ]
        if not folder.exists():
            _write_files(folder, files)
            report.new.append(node.id)
        elif not changed:
            report.unchanged.append(node.id)
        elif has_outputs(folder, files):
            report.kept[node.id] = changed
        else:
            _write_files(folder, files, only=changed)
            report.updated[node.id] = changed
        records.append(_node_record(campaign, node, files))
        if node.id in report.kept:
            records[-1]["pending_changes"] = report.kept[node.id]
        if progress:
            progress(node)
    index = outdir / CAMPAIGN_FILE
    if index.is_file():
        try:
            old = {n["id"] for n in json.loads(index.read_text(encoding="utf-8")).get("nodes", [])}
        except (json.JSONDecodeError, AttributeError, TypeError, KeyError):
            old = set()
        report.stale = sorted(old - set(campaign.nodes))
    doc = {
        "name": campaign.name,
        "spec": Path(campaign.spec_file).name,
        "spec_hash": campaign.spec_hash,
        "cztflow": __version__,
        "protocol": {
            "name": campaign.protocol.name,
            "hash": campaign.protocol.hash,
            "paper": campaign.protocol.paper,
        },
        "deviations": [d.as_dict() for d in campaign.deviations],
        "engine_options": campaign.engine_options,
        "stale": report.stale,
        "nodes": records,
    }
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    if not index.is_file() or index.read_text(encoding="utf-8") != text:
        _write_files(outdir, {CAMPAIGN_FILE: text})
    return report
