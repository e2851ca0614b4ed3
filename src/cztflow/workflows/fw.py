"""FireWorks: a campaign as a Workflow, one Firework per node, for HPC queues.

Each Firework runs :func:`cztflow.workflows.runner.run_node` through
:class:`CztflowNodeTask` in the node's folder (``_launch_dir``), so a FireWorks run and a
local run leave the same files and markers; VASP nodes run under custodian with the
protocol lock.  Dependencies are the campaign's.

The LaunchPad comes from the user's ``my_launchpad.yaml`` (MongoDB).  Without one,
cztflow uses FireWorks' serverless store: ``MONGOMOCK_SERVERSTORE_FILE`` pointing at
``<campaign>/fireworks-store.json`` (needs ``mongomock-persistence``).  The variable must
be set before FireWorks is imported, so :func:`use_serverless_store` is called first.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cztflow.workflows.engines.base import EngineError

__all__ = ["STORE_FILE", "fireworks_states", "open_launchpad", "submit", "use_serverless_store"]

STORE_FILE = "fireworks-store.json"
_TIMEOUT_MS = 5000


def use_serverless_store(root: Path) -> Path:
    """Point FireWorks at ``root/fireworks-store.json`` (created as ``{}``); call before importing it."""
    import sys

    store = (root / STORE_FILE).resolve()
    if not store.is_file():
        store.write_text("{}", encoding="utf-8")
    current = os.environ.get("MONGOMOCK_SERVERSTORE_FILE")
    if "fireworks" in sys.modules and current != str(store):
        raise EngineError(
            "FireWorks was imported before the serverless store was chosen; run this in a fresh process"
        )
    os.environ["MONGOMOCK_SERVERSTORE_FILE"] = str(store)
    return store


def open_launchpad(root: Path, launchpad_file: Path | None) -> Any:
    """The user's LaunchPad (checked reachable), or the serverless store of the campaign.

    Raises
    ------
    EngineError
        If the file is missing or unreadable, or its MongoDB does not answer within 5 s.
    """
    if launchpad_file is None:
        use_serverless_store(root)
        from fireworks import LaunchPad

        lp = LaunchPad(strm_lvl="ERROR")  # the defaults, as rlaunch uses them
        if lp.fw_id_assigner.find_one({}) is None:  # a new store: FireWorks' own initialisation
            lp.reset("", require_password=False)
        return lp
    if not launchpad_file.is_file():
        raise EngineError(f"{launchpad_file}: no such LaunchPad file")
    import yaml
    from fireworks import LaunchPad

    try:
        doc = yaml.safe_load(launchpad_file.read_text(encoding="utf-8")) or {}
        # fail within 5 s instead of pymongo's 30 s when the server is down, unless the file says otherwise
        doc.setdefault("mongoclient_kwargs", {}).setdefault("serverSelectionTimeoutMS", _TIMEOUT_MS)
        lp = LaunchPad.from_dict(doc)
    except Exception as exc:  # YAML errors, unknown keys: FireWorks raises plain exceptions
        raise EngineError(f"{launchpad_file}: not a usable LaunchPad file: {exc}") from None
    try:
        lp.connection.admin.command("ping")
    except Exception as exc:  # pymongo's ServerSelectionTimeoutError and friends
        raise EngineError(
            f"{launchpad_file}: cannot reach the LaunchPad's MongoDB at {lp.host}:{lp.port}: "
            f"{type(exc).__name__}"
        ) from None
    return lp


def submit(
    root: Path,
    lp: Any,
    engines: dict[str, str],
    *,
    prerelax: str | None = None,
    config_file: Path | None = None,
    db_url: str | None = None,
) -> dict[str, Any]:
    """Add the campaign as one Workflow unless it is already on the LaunchPad.

    Returns
    -------
    dict
        ``added`` (bool), ``workflow`` (its id), ``fireworks`` (count).
    """
    from fireworks import Firework, Workflow

    from cztflow.workflows.fw_tasks import CztflowNodeTask
    from cztflow.workflows.plan import engine_for_nodes, read_campaign

    root = root.resolve()
    doc = read_campaign(root)
    existing = lp.workflows.find_one({"metadata.cztflow_campaign": str(root)})
    if existing is not None:
        return {"added": False, "workflow": existing["nodes"][0], "fireworks": len(existing["nodes"])}
    chosen = engine_for_nodes(doc["nodes"], engines)
    fireworks: dict[str, Firework] = {}
    for node in doc["nodes"]:
        task = CztflowNodeTask(
            root=str(root),
            node=node["id"],
            engine=chosen[node["id"]],
            prerelax=prerelax,
            config=str(config_file) if config_file else None,
            db=db_url,
        )
        spec = {
            "_launch_dir": str(root / node["folder"]),
            "cztflow_campaign": str(root),
            "cztflow_node": node["id"],
        }
        fireworks[node["id"]] = Firework(
            [task], spec=spec, name=node["id"], parents=[fireworks[d] for d in node.get("deps", [])] or None
        )
    wf = Workflow(
        list(fireworks.values()),
        name=f"cztflow:{doc.get('name', root.name)}",
        metadata={"cztflow_campaign": str(root), "spec_hash": doc.get("spec_hash")},
    )
    ids = lp.add_wf(wf)
    return {"added": True, "workflow": min(ids.values()), "fireworks": len(fireworks)}


def fireworks_states(root: Path, lp: Any) -> dict[str, str]:
    """FireWorks state (READY, RUNNING, COMPLETED, FIZZLED, …) of each node id of this campaign."""
    root = root.resolve()
    return {
        doc["spec"]["cztflow_node"]: doc["state"]
        for doc in lp.fireworks.find(
            {"spec.cztflow_campaign": str(root)}, {"spec.cztflow_node": 1, "state": 1}
        )
    }
