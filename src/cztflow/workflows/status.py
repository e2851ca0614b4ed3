"""Where a campaign stands: each node's state from its folder, plus FireWorks' view when submitted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cztflow.workflows.node_files import node_state, read_marker
from cztflow.workflows.plan import read_campaign

__all__ = ["campaign_status"]


def _result(marker: dict[str, Any]) -> str:
    summary = marker.get("summary") or {}
    if marker.get("status") == "failed":
        return str(marker.get("error", ""))[:80]
    if isinstance(summary.get("barrier"), int | float):
        return f"barrier {summary['barrier']:.3f} eV"
    if isinstance(summary.get("energy"), int | float):
        return f"E = {summary['energy']:.4f} eV"
    if isinstance(summary.get("efermi"), int | float):
        return f"E_F = {summary['efermi']:.3f} eV"
    return ""


def campaign_status(root: str | Path, launchpad: Path | None = None) -> list[dict[str, Any]]:
    """One row per node: id, kind, state, engine, a short result, the FireWorks state, lost runs.

    FireWorks is consulted when ``launchpad`` is given or the campaign has a serverless
    store (``fireworks-store.json``); otherwise those columns are empty.  Offline runs are
    read back first (their ``FW_offline.json``), under the store's lock for the serverless
    store.  ``lost`` gives why a run was lost with its job (the queue job ended without a
    result, or no ping for FireWorks' expiration time); ``cztflow launch --requeue-lost``
    makes it ready again.
    """
    root = Path(root)
    doc = read_campaign(root)
    fw_states: dict[str, str] = {}
    lost: dict[str, str] = {}
    if launchpad is not None or (root / "fireworks-store.json").is_file():
        from cztflow.workflows.fw import (
            _queue_jobs,
            fireworks_states,
            launchpad_session,
            lost_runs,
            recover_offline_runs,
        )

        jobs = _queue_jobs()  # before reading back: a job gone by then had written its result
        with launchpad_session(root, launchpad) as lp:
            recover_offline_runs(root, lp)
            fw_states = fireworks_states(root, lp)
            lost = {run["node"]: run["reason"] for run in lost_runs(root, lp, jobs)}
    rows = []
    for node in doc["nodes"]:
        folder = root / node["folder"]
        found = read_marker(folder)
        marker: dict[str, Any] = found[1] if found else {}
        rows.append(
            {
                "node": node["id"],
                "kind": node["kind"],
                "state": node_state(folder),
                "engine": (marker.get("engine") or {}).get("engine"),
                "result": _result(marker) if marker else None,
                "fireworks": fw_states.get(node["id"]),
                "lost": lost.get(node["id"]),
            }
        )
    return rows
