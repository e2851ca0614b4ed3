"""A fake engine and a four-node campaign for the crash-safety tests (milliseconds a node).

The fake engine writes what the open engines write (``cztflow-result.json`` and a CONTCAR
equal to the POSCAR) with an energy fixed by the node id, so a run gives the same report
every time.  Each start of a node is appended to ``$CZTFLOW_FAKE_LOG`` (``O_APPEND``, one
line each), which is how the tests count nodes that ran twice.
"""

from __future__ import annotations

import os
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from cztflow.workflows.engines.base import Engine, NodeTask
from cztflow.workflows.engines.folder_io import atoms_from_poscar, write_contcar, write_result

#: Substrate, adsorbate, bcc K and the K atom: one adsorption energy in the report.
SPEC = "relax: [znte-111, k-bcc]\nstatic: [k-atom]\nadsorption: {znte-111: {sites: [K-hollow-1]}}\n"
NODES = ("relax/znte-111", "relax/k-bcc", "static/k-atom", "relax/znte-111-K-hollow-1")
REPORT_FILES = ("fig1.md", "fig1.csv", "fig1.json", "fig1.png", "fig1.pdf")


def fake_energy(node_id: str, natoms: int) -> float:
    """A reproducible energy for ``node_id``: -3 eV an atom plus up to 1 eV from the id."""
    return -3.0 * natoms + (zlib.crc32(node_id.encode()) % 1000) / 1000.0


class FakeEngine(Engine):
    """Writes a finished result at once (after ``$CZTFLOW_FAKE_SECONDS``, default 0).

    ``$CZTFLOW_FAKE_SHIFT`` (eV) is added to every energy: a redone node gets another value.
    """

    name = "fake"
    kinds = ("relax", "static", "neb", "workfunction", "bands", "dos", "chgdiff")

    def settings(self, task: NodeTask) -> dict[str, Any]:
        """The engine's name and version."""
        return {"engine": "fake", "version": "1"}

    def run(self, task: NodeTask) -> dict[str, Any]:
        """Log the start, wait, write CONTCAR and ``cztflow-result.json``; return the summary."""
        log = os.environ.get("CZTFLOW_FAKE_LOG")
        if log:
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            os.write(fd, f"{task.node['id']} {os.getpid()}\n".encode())
            os.close(fd)
        time.sleep(float(os.environ.get("CZTFLOW_FAKE_SECONDS", "0")))
        atoms, template = atoms_from_poscar(task.folder / "POSCAR")
        energy = fake_energy(task.node["id"], len(atoms)) + float(os.environ.get("CZTFLOW_FAKE_SHIFT", "0"))
        record = {
            "engine": self.settings(task),
            "node": task.node["id"],
            "kind": task.kind,
            "status": "finished",
            "energy": energy,
            "free_energy": energy,
            "efermi": None,
            "forces": np.zeros((len(atoms), 3)),
            "ionic_steps": 1,
            "electronic_converged": True,
            "ionic_converged": True,
            "issues": [],
        }
        write_contcar(task.folder, atoms, template)
        write_result(task.folder, atoms, record)
        return {"energy": energy, "ionic_steps": 1, "converged": True}


def use_fake_engine() -> None:
    """Make every engine the runner builds a :class:`FakeEngine` (this process only)."""
    import cztflow.workflows.runner as runner

    runner.make_engine = lambda name, config: FakeEngine(config)  # type: ignore[assignment]


def run_fake(root: Path, **options: Any) -> Any:
    """Run the campaign in ``root`` with the fake engine; return the run report."""
    from cztflow.workflows.plan import parse_engine_choices
    from cztflow.workflows.runner import run_campaign

    use_fake_engine()
    return run_campaign(root, parse_engine_choices([]), **options)
