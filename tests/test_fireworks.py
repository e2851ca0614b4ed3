"""FireWorks: submit on the serverless store (once), run with rlaunch rapidfire, status, bad LaunchPads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from running_helpers import cli, small_campaign

SPEC = "relax: [cote2-bulk, k-bcc]\nstatic: [k-atom]\n"


@pytest.mark.slow
def test_submit_twice_then_rapidfire_on_the_serverless_store(tmp_path):
    root = small_campaign(tmp_path, SPEC)
    first = cli("submit", str(root), "--engine", "chgnet")
    assert first.returncode == 0, first.stderr
    assert "added workflow" in first.stdout and "with 3 fireworks" in first.stdout
    second = cli("submit", str(root), "--engine", "chgnet")
    assert second.returncode == 0 and "nothing added" in second.stdout
    store = (root / "fireworks-store.json").resolve()
    rlaunch = Path(sys.executable).with_name("rlaunch")
    env = {**os.environ, "MONGOMOCK_SERVERSTORE_FILE": str(store), "OPENBLAS_NUM_THREADS": "1"}
    done = subprocess.run(
        [str(rlaunch), "rapidfire"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    status = cli("status", str(root), "--json")
    rows = {r["node"]: r for r in json.loads(status.stdout)}
    assert {r["fireworks"] for r in rows.values()} == {"COMPLETED"}
    assert {r["state"] for r in rows.values()} == {"finished"}
    assert rows["relax/k-bcc"]["engine"] == "chgnet"
    third = cli("submit", str(root))
    assert "nothing added" in third.stdout  # finished work is never queued again


def test_status_of_an_unrun_campaign(tmp_path):
    root = small_campaign(tmp_path, SPEC)
    out = cli("status", str(root), "--json")
    rows = json.loads(out.stdout)
    assert [r["state"] for r in rows] == ["pending"] * 3
    assert all(r["fireworks"] is None for r in rows)


def test_unreachable_launchpad_is_a_clear_error(tmp_path):
    root = small_campaign(tmp_path, SPEC)
    lpad = tmp_path / "my_launchpad.yaml"
    lpad.write_text(
        "host: localhost\nport: 1\nname: fw\nmongoclient_kwargs: {serverSelectionTimeoutMS: 300}\n"
    )
    out = cli("submit", str(root), "--launchpad", str(lpad))
    assert out.returncode == 2
    assert "cannot reach the LaunchPad's MongoDB at localhost:1" in out.stderr
    missing = cli("submit", str(root), "--launchpad", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml: no such LaunchPad file" in missing.stderr


def test_qadapter_templates_render_for_slurm_torque_and_pbs_pro():
    from importlib import resources

    import yaml
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

    folder = resources.files("cztflow") / "data" / "qadapters"
    scripts = {}
    for name in ("slurm", "pbs", "pbspro"):
        doc = yaml.safe_load((folder / f"{name}.yaml").read_text())
        doc.pop("_fw_name")
        if "template_file" in doc:
            doc["template_file"] = str(folder / "pbspro_template.txt")
        adapter = CommonAdapter(q_type=doc.pop("_fw_q_type"), **doc)
        scripts[name] = adapter.get_script_str(".")
    # the fallback size matches the documented command (srun -n {ranks}, ranks: 128)
    assert "#SBATCH --ntasks=128" in scripts["slurm"] and "rlaunch singleshot --offline" in scripts["slurm"]
    assert "#PBS -l nodes=1:ppn=128" in scripts["pbs"] and "rlaunch singleshot --offline" in scripts["pbs"]
    assert "#PBS -l select=1:ncpus=128:mpiprocs=128" in scripts["pbspro"]
    assert "nodes=" not in scripts["pbspro"] and "rlaunch singleshot --offline" in scripts["pbspro"]


def test_each_firework_carries_its_kinds_queue_settings():
    from cztflow.workflows.config import RunConfig
    from cztflow.workflows.fw import queue_settings
    from cztflow.workflows.resources import parse_resources

    config = RunConfig(source=None)
    config.vasp["ranks"] = 128
    config.resource_table = parse_resources(
        {"neb": {"ranks": 130, "nodes": 2, "walltime_seconds": 172800, "queue": "long"}}, "test"
    )
    neb = queue_settings(config.resources("neb"))
    assert neb == {
        "nodes": 2,
        "ntasks": 130,
        "nnodes": 2,
        "ppnode": 65,
        "select": 2,
        "ncpus": 65,
        "mpiprocs": 65,
        "walltime": "48:00:00",
        "queue": "long",
    }
    mlip = queue_settings(config.resources("mlip"))
    assert mlip["ntasks"] == 1 and "walltime" not in mlip and "queue" not in mlip
    assert queue_settings(config.resources("relax"))["ntasks"] == 128
