"""The FireWorks task that runs one campaign node (imported by FireWorks when a rocket launches)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fireworks import FiretaskBase, FWAction, explicit_serialize

__all__ = ["CztflowNodeTask"]


@explicit_serialize
class CztflowNodeTask(FiretaskBase):
    """Run node ``node`` of the campaign in ``root`` with ``engine`` (custodian inside for VASP).

    Optional parameters: ``prerelax`` (an MLIP engine), ``config`` (machine configuration
    file), ``db`` (ASE database URL).  A node that is already finished is not run again.
    """

    required_params = ("root", "node", "engine")
    optional_params = ("prerelax", "config", "db")

    def run_task(self, fw_spec: dict[str, Any]) -> FWAction:
        """Run the node; raise (so the Firework fizzles) if the engine fails."""
        from cztflow.workflows.config import load_config, with_engine_options
        from cztflow.workflows.engines.base import make_engine
        from cztflow.workflows.plan import read_campaign
        from cztflow.workflows.runner import campaign_protocol, open_database, run_node

        root = Path(self["root"])
        doc = read_campaign(root)
        node = next((n for n in doc["nodes"] if n["id"] == self["node"]), None)
        if node is None:
            raise ValueError(f"{root / 'campaign.json'}: no node {self['node']}")
        machine = load_config(self.get("config"), campaign=root)
        config = with_engine_options(machine, doc.get("engine_options") or {})
        engine = make_engine(self["engine"], config)
        prerelax = make_engine(self["prerelax"], config) if self.get("prerelax") else None
        marker = run_node(
            root,
            node,
            engine,
            protocol=campaign_protocol(doc, root),
            config=config,
            prerelax=prerelax,
            # a compute job writes only its node's own records; results.db is built from them
            # on the submitting side (status, launch, fig1 --from), never by concurrent jobs
            # over a shared file system.  An explicit database URL (PostgreSQL) is written to.
            db=open_database(root, self["db"]) if self.get("db") else None,
        )
        return FWAction(
            stored_data={"node": node["id"], "status": marker.get("status"), "summary": marker.get("summary")}
        )
