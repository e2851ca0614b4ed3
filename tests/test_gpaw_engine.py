"""GPAW: one work-function node end to end (a 9-atom CoTe2 slab, with declared speed deviations)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from running_helpers import cli, small_campaign

pytest.importorskip(
    "gpaw",
    reason="GPAW is not installed: scripts/bootstrap.sh skips it without root and without "
    "libxc/FFTW/OpenBLAS (see the docs page Installing on a cluster)",
)

SPEC = """
relax: [cote2-001]
workfunction: [cote2-001]
deviations:
  - {tag: ENCUT, value: 300, reason: "test speed", nodes: ["workfunction/*"]}
  - {tag: EDIFF, value: 1.0e-5, reason: "test speed", nodes: ["workfunction/*"]}
  - {tag: ISPIN, value: 1, reason: "test speed", nodes: ["workfunction/*"]}
"""


@pytest.mark.slow
def test_gpaw_work_function_node(tmp_path):
    from cztflow.analysis import read_run
    from cztflow.analysis.volumetric import read_planar_average
    from cztflow.analysis.workfunction import work_function

    root = small_campaign(tmp_path, SPEC)
    out = cli("run", str(root), "--engine", "relax=chgnet", "--engine", "workfunction=gpaw")
    assert out.returncode == 0, out.stderr
    folder = root / "workfunction/cote2-001"
    run = read_run(folder)
    settings = run.parameters["engine"]
    assert settings["engine"] == "gpaw" and settings["encut"] == 300.0
    assert settings["dipole_layer"] == "xy" and settings["smearing"]["width"] == 0.05
    locpot, planar = read_planar_average(folder / "LOCPOT")
    assert locpot.grid[2] > 100 and np.isfinite(planar).all()
    frac = np.linalg.solve(run.lattice.T, run.positions.T).T
    wf = work_function(planar, float(np.linalg.norm(run.lattice[2])), frac[:, 2], run.efermi)
    assert wf.work_functions and all(3.0 < phi < 7.0 for phi in wf.work_functions)  # PBE: 4-6 eV
    relaxed = read_run(root / "relax/cote2-001")
    assert np.allclose(run.positions, relaxed.positions, atol=1e-6)  # seeded from the relaxation
    marker = json.loads((folder / "cztflow-run.json").read_text())
    assert marker["seed"].startswith("CONTCAR of relax/cote2-001")


@pytest.mark.slow
def test_prerelax_with_chgnet_before_gpaw(tmp_path):
    """The MLIP relaxes first; GPAW starts from its geometry; both step counts are recorded."""
    from cztflow.analysis import read_run

    spec = (
        "relax: [znte-bulk]\n"
        "deviations:\n"
        "  - {tag: ENCUT, value: 300, reason: test speed}\n"
        "  - {tag: EDIFF, value: 1.0e-5, reason: test speed}\n"
        "  - {tag: KPOINTS, value: [4, 4, 4], reason: test speed}\n"
    )
    root = small_campaign(tmp_path, spec)
    out = cli("run", str(root), "--engine", "gpaw", "--prerelax", "chgnet")
    assert out.returncode == 0, out.stderr
    folder = root / "relax/znte-bulk"
    marker = json.loads((folder / "cztflow-run.json").read_text())
    assert marker["prerelax"]["engine"]["engine"] == "chgnet"
    assert marker["prerelax"]["summary"]["ionic_steps"] >= 1
    assert marker["engine"]["engine"] == "gpaw" and isinstance(marker["summary"]["ionic_steps"], int)
    pre = read_run(folder / "prerelax")
    start = (folder / "POSCAR").read_text().splitlines()[2:5]
    assert np.allclose([[float(x) for x in ln.split()] for ln in start], pre.lattice, atol=1e-6)
    assert read_run(folder).parameters["engine"]["engine"] == "gpaw"


def test_campaign_engine_options_choose_lcao_and_ediff_is_per_cell(tmp_path):
    """A spec's engine_options reach the engine (over the machine default of 40 atoms), and
    EDIFF becomes GPAW's total-energy criterion, not its per-electron default."""
    from cztflow.workflows.config import RunConfig, with_engine_options
    from cztflow.workflows.engines.base import NodeTask
    from cztflow.workflows.engines.gpaw_engine import GpawEngine
    from cztflow.workflows.plan import read_campaign
    from cztflow.workflows.runner import campaign_protocol

    spec = (
        "systems:\n"
        "  czt-thin: {builder: cote2-znte, args: {cote2_layers: 1, znte_layers: 1, cote2_fixed_layers: 0}}\n"
        "relax: [czt-thin]\n"
        "chgdiff: {czt-thin: [cote2, znte]}\n"
        "engine_options: {gpaw: {lcao_above_atoms: 12, grid_spacing: 0.22}}\n"
    )
    root = small_campaign(tmp_path, spec)
    doc = read_campaign(root)
    assert doc["engine_options"] == {"gpaw": {"lcao_above_atoms": 12, "grid_spacing": 0.22}}
    machine = RunConfig()
    config = with_engine_options(machine, doc["engine_options"])
    assert config.gpaw["lcao_above_atoms"] == 12 and machine.gpaw["lcao_above_atoms"] == 40
    nodes = {n["id"]: n for n in doc["nodes"]}
    protocol = campaign_protocol(doc, root)
    modes = {}
    for node_id in ("chgdiff/czt-thin/whole", "chgdiff/czt-thin/znte"):  # 18 and 6 atoms
        task = NodeTask(root, nodes[node_id], protocol, config)
        modes[node_id] = GpawEngine(config).settings(task)["mode"]
    # the grid goes into the recorded mode, so the report's engine column shows it
    lcao = "lcao (dzp, h = 0.22 Å)"
    assert modes == {"chgdiff/czt-thin/whole": lcao, "chgdiff/czt-thin/znte": lcao}
    default = GpawEngine(machine).settings(NodeTask(root, nodes["chgdiff/czt-thin/whole"], protocol, machine))
    assert default["mode"].startswith("pw (")
    settings = GpawEngine(config).settings(NodeTask(root, nodes["chgdiff/czt-thin/whole"], protocol, config))
    assert settings["scf_energy_per_cell"] == 1e-6  # the protocol's EDIFF
    calc = GpawEngine(config)._calculator(
        NodeTask(root, nodes["chgdiff/czt-thin/whole"], protocol, config), settings, tmp_path / "g.txt"
    )
    assert calc.parameters.convergence["energy"] == {"name": "energy", "tol": 1e-6, "relative": False}
