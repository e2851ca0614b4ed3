"""The parse-speed benchmark still runs, and both readers agree on every case (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, SHARED


@pytest.mark.slow
def test_parse_speed_benchmark_quick(tmp_path):
    out = tmp_path / "results.json"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "parse_speed.py"),
            "--quick",
            "--repeat",
            "1",
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    rows = json.loads(out.read_text())
    kinds = {row["kind"] for row in rows}
    expected = {"outcar", "vasprun", "locpot", "neb"} if (SHARED / "vasp-outputs").is_dir() else {"locpot"}
    assert kinds == expected
    for row in rows:
        assert row["max_abs_diff"] <= 1e-6, row
        assert row["cztflow_s"] > 0 and row["pymatgen_s"] > 0


def test_prerelax_benchmark_campaign_follows_the_protocol_and_reads_step_counts(tmp_path):
    """The benchmark's campaign writes and validates; its table reads the markers' counts."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    import prerelax_gpaw as bench

    from cztflow.workflows.plan import read_campaign
    from cztflow.workflows.validate import validate

    root = tmp_path / "unrelaxed"
    bench.write(root)
    # every departure, spin off included, is a declared deviation
    assert validate(root) == []
    incar = (root / "relax/znte110-3l-2x1-K-hollow-1/INCAR").read_text()
    assert "ISPIN = 1" in incar and "MAGMOM" not in incar and "# deviation: ISPIN = 1 (K gives" in incar
    doc = read_campaign(root)
    assert sorted(n["id"] for n in doc["nodes"]) == sorted(bench.NODES.values())
    assert doc["engine_options"] == {"gpaw": {"lcao_above_atoms": 1000}, "mlip": {"neb_optimizer": "BFGS"}}
    # the spec's band optimiser reaches GPAW's CI-NEB (the machine default stays FIRE), and its
    # plane-wave choice every node
    from cztflow.workflows.config import RunConfig, with_engine_options
    from cztflow.workflows.engines.base import NodeTask
    from cztflow.workflows.engines.gpaw_engine import GpawEngine
    from cztflow.workflows.runner import campaign_protocol

    nodes = {n["id"]: n for n in doc["nodes"]}
    protocol = campaign_protocol(doc, root)
    machine = RunConfig()
    config = with_engine_options(machine, doc["engine_options"])
    chosen = {}
    for node_id in ("neb/znte110-3l-2x1", "relax/znte110-3l-2x1-K-hollow-1"):
        settings = GpawEngine(config).settings(NodeTask(root, nodes[node_id], protocol, config))
        chosen[node_id] = (settings["optimizer"], settings["mode"])
    assert chosen == {
        "neb/znte110-3l-2x1": ("BFGS", "pw (250 eV)"),
        "relax/znte110-3l-2x1-K-hollow-1": ("BFGS", "pw (250 eV)"),
    }
    default = GpawEngine(machine).settings(NodeTask(root, nodes["neb/znte110-3l-2x1"], protocol, machine))
    assert default["optimizer"] == "FIRE"
    results = {}
    for mode, (steps, pre) in {"unrelaxed": (12, None), "prerelaxed": (4, 30)}.items():
        for node in bench.NODES.values():
            folder = tmp_path / mode / node
            folder.mkdir(parents=True, exist_ok=True)
            marker = {
                "status": "finished",
                "wall_seconds": 1.0,
                "summary": {"ionic_steps": steps, "force_calls": steps + 1, "converged": True},
            }
            if pre:
                marker["prerelax"] = {"summary": {"ionic_steps": pre, "force_calls": pre + 1}}
            (folder / "cztflow-run.json").write_text(json.dumps(marker))
        results[mode] = {label: bench.counts(tmp_path / mode, node) for label, node in bench.NODES.items()}
    table = bench.table(results)
    assert "| K adsorption relaxation (hop start) | 12 | 4 | 3.0 | 13 | 5 | 2.6 | 30 |" in table
    # a band continued after an interruption: 6 steps of 5 moving images, after 9 killed steps
    band = tmp_path / "unrelaxed/neb/znte110-3l-2x1/cztflow-run.json"
    summary = {"energies": [0.0] * 7, "ionic_steps": 6, "force_calls": 30, "converged": True}
    summary["resumed"] = {"from": "attempts/01", "steps_before": 9}
    band.write_text(json.dumps({"status": "finished", "wall_seconds": 1.0, "summary": summary}))
    got = bench.counts(tmp_path / "unrelaxed", "neb/znte110-3l-2x1")
    assert (got["dft_ionic_steps"], got["dft_force_calls"]) == (15, 75)
