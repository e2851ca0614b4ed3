"""Compute jobs write only their node's records; ``cztflow status`` builds results.db from them."""

from __future__ import annotations

import ase.db
import pytest
from crash_helpers import NODES, SPEC, FakeEngine, fake_energy, run_fake
from running_helpers import cli, small_campaign


def test_status_builds_the_database_from_the_node_records(tmp_path):
    root = small_campaign(tmp_path, SPEC)
    report = run_fake(root)
    assert sorted(report.finished) == sorted(NODES)
    (root / "results.db").unlink()  # as after jobs that wrote no database
    out = cli("status", str(root))
    assert out.returncode == 0, out.stderr
    assert "results.db: 4 node(s) brought in step with their folders" in out.stdout
    rows = {row.node: row for row in ase.db.connect(root / "results.db", use_lock_file=False).select()}
    assert sorted(rows) == sorted(NODES)
    for node, row in rows.items():
        assert row.energy == pytest.approx(fake_energy(node, row.natoms))
    again = cli("status", str(root))
    assert "results.db" not in again.stdout  # nothing changed the second time


def test_a_firework_writes_no_database_unless_given_one(tmp_path, monkeypatch):
    import cztflow.workflows.engines.base as base
    from cztflow.workflows.fw_tasks import CztflowNodeTask

    root = small_campaign(tmp_path, "relax: [k-bcc]\n")
    monkeypatch.setattr(base, "make_engine", lambda name, config: FakeEngine(config))
    action = CztflowNodeTask(root=str(root), node="relax/k-bcc", engine="chgnet").run_task({})
    assert action.stored_data["status"] == "finished"
    assert action.stored_data["summary"]["energy"] == pytest.approx(fake_energy("relax/k-bcc", 1))
    assert not (root / "results.db").exists()
