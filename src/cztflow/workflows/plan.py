"""Which engine runs which node: ``--engine`` choices, the open-engine default, the campaign file.

``--engine chgnet`` sets every kind; ``--engine workfunction=gpaw`` sets one kind and may
be repeated.  Kinds left unset take the open-engine default: CHGNet + D3 for energies,
relaxations and barriers, GPAW for work functions, band structures, DOS and charge
densities.  A static run that feeds bands or DOS always uses their engine, because the
non-self-consistent run needs its density.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cztflow.workflows.engines.base import ENGINE_NAMES, EngineError

__all__ = ["OPEN_DEFAULT", "engine_for_nodes", "parse_engine_choices", "read_campaign"]

#: The embedded default: open engines only.
OPEN_DEFAULT = {
    "relax": "chgnet",
    "static": "chgnet",
    "neb": "chgnet",
    "workfunction": "gpaw",
    "bands": "gpaw",
    "dos": "gpaw",
    "chgdiff": "gpaw",
}


def parse_engine_choices(choices: Iterable[str]) -> dict[str, str]:
    """Turn ``["chgnet", "workfunction=gpaw"]`` into an engine per kind.

    Raises
    ------
    EngineError
        For an unknown engine or kind (the message lists the known ones).
    """
    out = dict(OPEN_DEFAULT)
    for choice in choices:
        kind, _, name = choice.rpartition("=")
        name = name.strip().lower()
        if name not in ENGINE_NAMES:
            raise EngineError(
                f"--engine {choice}: unknown engine {name!r}; cztflow knows {', '.join(ENGINE_NAMES)}"
            )
        if not kind:
            out = dict.fromkeys(OPEN_DEFAULT, name)
        elif kind in OPEN_DEFAULT:
            out[kind] = name
        else:
            raise EngineError(
                f"--engine {choice}: unknown node kind {kind!r}; kinds are {', '.join(OPEN_DEFAULT)}"
            )
    return out


def read_campaign(root: Path) -> dict[str, Any]:
    """``root/campaign.json``, with a clear error when it is missing or unreadable."""
    path = root / "campaign.json"
    if not path.is_file():
        raise EngineError(
            f"{path}: missing; write the campaign first (cztflow campaign write SPEC -o {root})"
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EngineError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    ids = set()
    for node in doc.get("nodes", []):
        missing = [d for d in node.get("deps", []) if d not in ids]
        if missing:
            raise EngineError(f"{path}: node {node['id']} comes before its parent(s) {', '.join(missing)}")
        ids.add(node["id"])
    return doc


def node_cost(node: dict[str, Any], engine: str) -> float:
    """Expected wall time of a node in arbitrary units, for weighting a progress bar's ETA.

    A rough hand-set model, checked only against the order of the node times measured on
    2 cores (CHGNet: 0.3 s for 9 atoms, 82 s for 281; GPAW: 17–135 s per cycle): MLIP cost
    grows with the atom count and the images of a band, GPAW much faster.  It weights the
    progress bar; it decides nothing.
    """
    n = int(node.get("natoms") or 10)
    images = 5 if node["kind"] == "neb" else 1
    if engine in ("chgnet", "sevenn"):
        return 0.5 + images * 0.03 * n * (1 + n / 100)
    if engine == "gpaw":
        return 10.0 + (3.0 * n if n > 40 else 4.0 * n) * images
    return 60.0 * images


def engine_for_nodes(nodes: list[dict[str, Any]], per_kind: dict[str, str]) -> dict[str, str]:
    """The engine of every node id under ``per_kind``, statics following their bands/DOS."""
    chosen = {n["id"]: per_kind[n["kind"]] for n in nodes}
    feeds: dict[str, str] = {}
    for n in nodes:
        if n["kind"] in ("bands", "dos"):
            for dep in n["deps"]:
                if feeds.get(dep, chosen[n["id"]]) != chosen[n["id"]]:
                    raise EngineError(
                        f"{dep} feeds bands and DOS run by different engines "
                        f"({feeds[dep]}, {chosen[n['id']]}); "
                        "give --engine bands=X and --engine dos=X the same engine"
                    )
                feeds[dep] = chosen[dep] = chosen[n["id"]]
    return chosen
