"""Running campaigns: configuration, engine choice, the CHGNet engine, resume, VASP under custodian."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from running_helpers import CLI, cli, fake_vasp_config, small_campaign

from cztflow.analysis import read_run
from cztflow.workflows.config import ConfigError, RunConfig, load_config
from cztflow.workflows.engines.base import EngineError
from cztflow.workflows.plan import OPEN_DEFAULT, engine_for_nodes, parse_engine_choices
from cztflow.workflows.runner import MARKER, RUNNING, node_state

BULK = "name: bulk\nrelax: [cote2-bulk, k-bcc]\nstatic: [k-atom]\n"


# --- configuration and engine choice --------------------------------------------------------


def test_config_unknown_key_names_file_and_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("vasp:\n  comand: vasp_std\n")
    with pytest.raises(ConfigError, match=r"c\.yaml: unknown key\(s\) vasp\.comand"):
        load_config(path)


def test_config_vasp_command_ranks_and_missing():
    config = RunConfig(vasp={"command": "srun -n {ranks} vasp_std", "ranks": 128})
    assert config.vasp_command() == ["srun", "-n", "128", "vasp_std"]
    with pytest.raises(ConfigError, match="no VASP command configured"):
        RunConfig().vasp_command()
    with pytest.raises(ConfigError, match=r"vasp\.ranks is not set"):
        RunConfig(vasp={"command": "mpirun -np {ranks} vasp_std"}).vasp_command()


def test_engine_choices():
    assert parse_engine_choices([]) == OPEN_DEFAULT
    assert set(parse_engine_choices(["vasp"]).values()) == {"vasp"}
    mixed = parse_engine_choices(["chgnet", "workfunction=gpaw"])
    assert mixed["relax"] == "chgnet" and mixed["workfunction"] == "gpaw" and mixed["bands"] == "chgnet"
    with pytest.raises(EngineError, match=r"unknown engine .mace.*chgnet, sevenn, gpaw, vasp"):
        parse_engine_choices(["mace"])
    with pytest.raises(EngineError, match="unknown node kind 'phonon'"):
        parse_engine_choices(["phonon=gpaw"])


def test_static_follows_its_bands_engine():
    nodes = [
        {"id": "static/x", "kind": "static", "deps": []},
        {"id": "bands/x", "kind": "bands", "deps": ["static/x"]},
        {"id": "static/k", "kind": "static", "deps": []},
    ]
    chosen = engine_for_nodes(nodes, parse_engine_choices([]))
    assert chosen == {"static/x": "gpaw", "bands/x": "gpaw", "static/k": "chgnet"}
    nodes.append({"id": "dos/x", "kind": "dos", "deps": ["static/x"]})
    with pytest.raises(EngineError, match="static/x feeds bands and DOS run by different engines"):
        engine_for_nodes(nodes, parse_engine_choices(["dos=vasp"]))


def test_cli_refuses_unknown_engine_and_missing_vasp_command(tmp_path):
    root = small_campaign(tmp_path, BULK)
    bad = cli("run", str(root), "--engine", "mace")
    assert bad.returncode == 2 and "unknown engine 'mace'" in bad.stderr
    home = tmp_path / "home"
    home.mkdir()
    novasp = cli("run", str(root), "--engine", "vasp", env={"HOME": str(home), "CZTFLOW_CONFIG": ""})
    assert novasp.returncode == 2 and "no VASP command configured" in novasp.stderr
    assert node_state(root / "relax/cote2-bulk") == "pending"  # refused before anything ran


def test_mlip_cannot_run_electronic_nodes(tmp_path):
    root = small_campaign(tmp_path, "relax: [cote2-001]\nworkfunction: [cote2-001]\n")
    out = cli("run", str(root), "--engine", "chgnet")
    assert out.returncode == 2
    assert "engine chgnet cannot run workfunction nodes" in out.stderr
    assert "--engine workfunction=ENGINE" in out.stderr


# --- CHGNet + D3, end to end -----------------------------------------------------------------


def test_critical_path_puts_long_chains_first():
    from cztflow.workflows.scheduler import critical_path

    nodes = [
        {"id": "relax/a", "deps": []},
        {"id": "relax/b", "deps": []},
        {"id": "static/a", "deps": ["relax/a"]},
        {"id": "bands/a", "deps": ["static/a"]},
        {"id": "dos/a", "deps": ["static/a"]},
    ]
    cost = {"relax/a": 1.0, "relax/b": 5.0, "static/a": 3.0, "bands/a": 4.0, "dos/a": 1.0}
    assert critical_path(nodes, cost) == {
        "relax/a": 8.0,  # 1 + 3 + 4: its chain outweighs the 5 of relax/b
        "relax/b": 5.0,
        "static/a": 7.0,
        "bands/a": 4.0,
        "dos/a": 1.0,
    }


def test_jobs_below_one_are_refused(tmp_path):
    root = small_campaign(tmp_path, BULK)
    out = cli("run", str(root), "--jobs", "0")
    assert out.returncode == 2 and "--jobs" in out.stderr


@pytest.mark.slow
def test_chgnet_campaign_end_to_end_and_rerun(tmp_path):
    import ase.db

    root = small_campaign(tmp_path, BULK)
    first = cli("run", str(root), "--engine", "chgnet", "--jobs", "2")  # two worker processes
    assert first.returncode == 0, first.stderr
    assert "3 finished, 0 already done" in first.stdout
    run = read_run(root / "relax/cote2-bulk")
    assert run.parameters["engine"]["engine"] == "chgnet"
    assert run.parameters["engine"]["dispersion"]["cutoffs_angstrom"]["two_body"] == 50.2
    assert run.converged and run.max_force <= 0.03
    a = np.linalg.norm(run.lattice[0])
    assert abs(a - 3.804) / 3.804 < 0.03  # trigonal CoTe2, a = 3.804 Å (XRD); MLIP + D3 within 3 %
    assert run.composition == {"Co": 1, "Te": 2}
    rows = {row.node: row for row in ase.db.connect(root / "results.db").select()}
    assert set(rows) == {"relax/cote2-bulk", "relax/k-bcc", "static/k-atom"}
    assert rows["relax/k-bcc"].energy == pytest.approx(read_run(root / "relax/k-bcc").final_energy)
    stamp = (root / "relax/cote2-bulk/cztflow-result.json").stat().st_mtime_ns
    second = cli("run", str(root), "--engine", "chgnet")
    assert "0 finished, 3 already done" in second.stdout
    assert (root / "relax/cote2-bulk/cztflow-result.json").stat().st_mtime_ns == stamp
    assert len(ase.db.connect(root / "results.db")) == 3


@pytest.mark.slow
def test_kill_and_resume(tmp_path):
    root = small_campaign(tmp_path, "relax: [k-bcc, cote2-001, znte-bulk]\n")
    slow = root / "relax/cote2-001"
    proc = subprocess.Popen(
        [*CLI, "run", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    deadline = time.time() + 120

    def steps_logged() -> int:
        log = slow / "relax.log"
        return sum(line.startswith("BFGS:") for line in log.read_text().splitlines()) if log.is_file() else 0

    while not ((slow / RUNNING).exists() and steps_logged() >= 3) and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert node_state(root / "relax/k-bcc") == "finished"
    assert node_state(slow) == "interrupted"
    assert node_state(root / "relax/znte-bulk") == "pending"
    kept = (root / "relax/k-bcc/cztflow-result.json").read_text()
    resumed = cli("run", str(root))
    assert resumed.returncode == 0, resumed.stderr
    assert "2 finished, 1 already done" in resumed.stdout
    assert (root / "relax/k-bcc/cztflow-result.json").read_text() == kept  # never rerun or rewritten
    assert (slow / "attempts/01/relax.traj").is_file()  # the killed attempt is kept, not deleted
    marker = json.loads((slow / MARKER).read_text())
    assert marker["status"] == "finished" and marker["previous_attempt"] == "attempts/01"
    assert read_run(slow).converged
    # the relaxation went on from the killed attempt's last complete step, not from the POSCAR
    from ase.io import read

    killed = read(slow / "attempts/01/relax.traj", ":")
    assert len(killed) >= 2
    assert marker["summary"]["resumed"] == {"from": "attempts/01", "steps_before": len(killed) - 1}
    # recorded beside the trajectory too, so a second interruption still counts these steps
    assert json.loads((slow / "relax.resumed.json").read_text()) == marker["summary"]["resumed"]
    first = read(slow / "relax.traj", 0)
    assert np.allclose(first.positions, killed[-1].positions)
    assert not np.allclose(first.positions, killed[0].positions)


def test_last_complete_step_of_an_interrupted_trajectory(tmp_path):
    """Relaxations resume from the last frame, bands from the last whole band; an unreadable
    file or no archived attempt gives nothing to resume."""
    from ase.build import bulk
    from ase.io import Trajectory

    from cztflow.workflows.engines.ase_runs import last_complete_step
    from cztflow.workflows.engines.base import NodeTask

    attempt = tmp_path / "attempts/01"
    attempt.mkdir(parents=True)
    with Trajectory(str(attempt / "neb.traj"), "w") as traj:
        for i in range(7):  # two whole bands of three images, and one image of a third
            atoms = bulk("Cu")
            atoms.positions[0, 0] = 0.1 * i
            traj.write(atoms)
    (attempt / "relax.traj").write_bytes((attempt / "neb.traj").read_bytes())
    node = {"id": "relax/x", "kind": "relax", "folder": "relax/x"}
    task = NodeTask(tmp_path, node, None, RunConfig(), workdir=tmp_path, resume_from=attempt)  # type: ignore[arg-type]
    (last,), steps = last_complete_step(task, "relax", ["Cu"])
    assert steps == 6 and last.positions[0, 0] == pytest.approx(0.6)
    band, steps = last_complete_step(task, "neb", ["Cu"], per_step=3)
    assert steps == 1 and [a.positions[0, 0] for a in band] == pytest.approx([0.3, 0.4, 0.5])
    with pytest.raises(EngineError, match=r"attempts/01/neb\.traj: holds Cu, not this node's atoms"):
        last_complete_step(task, "neb", ["K"], per_step=3)
    # that attempt had itself resumed one of 22 steps: all of them count
    (attempt / "neb.resumed.json").write_text('{"from": "attempts/00", "steps_before": 22}')
    assert last_complete_step(task, "neb", ["Cu"], per_step=3)[1] == 23
    (attempt / "neb.resumed.json").write_text("{}")
    with pytest.raises(EngineError, match=r"attempts/01/neb\.resumed\.json: unreadable record"):
        last_complete_step(task, "neb", ["Cu"], per_step=3)
    (attempt / "relax.traj").write_bytes(b"not a trajectory")
    assert last_complete_step(task, "relax", ["Cu"]) is None
    task.resume_from = None
    assert last_complete_step(task, "neb", ["Cu"], per_step=3) is None


def test_a_node_another_live_run_holds_is_refused_untouched(tmp_path):
    """Two runs of one campaign: the second refuses the node the first is running (its marker
    names a live Python process on this host) and moves nothing; once that process is gone the
    node counts as interrupted and is redone."""
    import socket
    import sys

    root = small_campaign(tmp_path, "relax: [k-bcc]\n")
    folder = root / "relax/k-bcc"
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        owner = {"pid": other.pid, "host": socket.gethostname(), "engine": "chgnet", "started": "now"}
        (folder / RUNNING).write_text(json.dumps(owner))
        (folder / "relax.traj").write_text("partial")
        refused = cli("run", str(root), "--engine", "chgnet")
        assert refused.returncode != 0
        said = refused.stdout + refused.stderr
        assert f"is being run by process {other.pid} on {socket.gethostname()}" in said
        assert (folder / "relax.traj").read_text() == "partial" and not (folder / "attempts").exists()
    finally:
        other.kill()
        other.wait()
    resumed = cli("run", str(root), "--engine", "chgnet")
    assert resumed.returncode == 0, resumed.stderr
    assert (folder / "attempts/01/relax.traj").read_text() == "partial"
    assert node_state(folder) == "finished"


@pytest.mark.slow
def test_chgnet_neb_hop_is_symmetric(tmp_path):
    """A K hop between translation-equivalent sites: equal ends, the climbing image on the maximum."""
    from ase.build import make_supercell
    from ase.constraints import FixAtoms
    from ase.optimize import BFGS
    from pymatgen.io.ase import AseAtomsAdaptor

    from cztflow.analysis.neb import analyze_neb, read_neb
    from cztflow.protocol import default_protocol
    from cztflow.structures.slabs import cote2_001_slab
    from cztflow.workflows.engines.base import NodeTask
    from cztflow.workflows.engines.mlip import MlipEngine

    slab = AseAtomsAdaptor().get_atoms(cote2_001_slab(layers=1, fixed_layers=0))
    slab = make_supercell(slab, np.diag([3, 1, 1]))
    step = slab.cell[0] / 3  # one primitive vector: the next site is the same site
    start = slab.copy()
    start.append("K")
    start.positions[-1] = [0.0, 0.0, slab.positions[:, 2].max() + 3.0]
    start.set_constraint(FixAtoms(indices=range(len(slab))))
    engine = MlipEngine("chgnet", RunConfig())
    start.calc = engine.calculator(default_protocol())
    BFGS(start, logfile=None).run(fmax=0.01, steps=200)
    images = []
    for i in range(7):
        atoms = start.copy()
        atoms.positions[-1] += step * i / 6
        images.append(atoms)
    neb = tmp_path / "neb"
    for i, atoms in enumerate(images):
        (neb / f"{i:02d}").mkdir(parents=True)
        atoms.write(neb / f"{i:02d}/POSCAR", format="vasp", direct=True)
    (neb / "INCAR").write_text(
        "IMAGES = 5\nLCLIMB = .TRUE.\nNSW = 150\nEDIFFG = -0.05\nSPRING = -5\nIBRION = 3\n"
    )
    task = NodeTask(
        tmp_path, {"id": "neb/test", "kind": "neb", "folder": "neb"}, default_protocol(), RunConfig()
    )
    summary = engine.run(task)
    result = analyze_neb(read_neb(neb))
    assert abs(result.energies[0] - result.energies[-1]) < 1e-4  # the same site (CHGNet is float32)
    assert result.converged
    assert result.climbing_image == int(np.argmax(result.energies))  # CI sits on the band maximum
    assert 0.0 < result.barrier_forward < 1.5
    assert summary["barrier"] == pytest.approx(result.barrier_forward, abs=1e-6)


# --- VASP under custodian, with the protocol lock ------------------------------------------


def _vasp_run(tmp_path: Path, scenario: str, spec: str = "static: [k-atom]\n"):
    root = small_campaign(tmp_path, spec)
    out = cli(
        "run",
        str(root),
        "--engine",
        "vasp",
        "--config",
        str(fake_vasp_config(tmp_path)),
        env={"FAKE_VASP_SCENARIO": scenario},
    )
    return root, out


@pytest.mark.slow
def test_custodian_recovers_when_the_lock_allows(tmp_path):
    root, out = _vasp_run(tmp_path, "edddav,ok")
    assert out.returncode == 0, out.stderr
    folder = root / "static/k-atom"
    log = json.loads((folder / "corrections.json").read_text())
    assert [e["handler"] for e in log] == ["VaspErrorHandler"]
    assert "edddav" in log[0]["errors"] and "refused" not in log[0]
    assert "ALGO = All" in (folder / "INCAR").read_text()
    assert read_run(folder).final_energy == pytest.approx(-3.5)
    marker = json.loads((folder / MARKER).read_text())
    assert marker["status"] == "finished" and marker["summary"]["corrections"] == 1
    # the record is read from the outputs, not assumed from custodian's exit
    assert marker["summary"]["energy"] == pytest.approx(-3.5)
    assert marker["summary"]["converged"] is True and marker["summary"]["file"] == "vasprun.xml"


@pytest.mark.slow
def test_custodian_stops_when_a_correction_would_change_a_locked_tag(tmp_path):
    root, out = _vasp_run(tmp_path, "zbrent,ok")
    assert out.returncode == 1
    folder = root / "static/k-atom"
    assert "refused" in out.stderr and "EDIFF" in out.stderr
    log = json.loads((folder / "corrections.json").read_text())
    assert log[-1]["refused"][0]["tag"] == "EDIFF"
    assert log[-1]["refused"][0]["correction"] == pytest.approx(1e-7)
    assert "EDIFF = 1e-06" in (folder / "INCAR").read_text()  # the protocol's value was put back
    assert node_state(folder) == "failed"


def test_adsorbate_starts_on_the_relaxed_substrate(tmp_path):
    """The substrate's atoms take its relaxed positions and the K moves with them."""
    from ase.io import read

    from cztflow.workflows.seeding import apply_seed

    root = small_campaign(tmp_path, "relax: [znte-111]\nadsorption: {znte-111: {sites: [K-hollow-1]}}\n")
    sub = read(root / "relax/znte-111/POSCAR", format="vasp")
    relaxed = sub.copy()
    relaxed.positions += [0.10, -0.05, 0.20]
    relaxed.positions[0] += [0.0, 0.0, 0.3]  # one atom moves on its own
    relaxed.write(root / "relax/znte-111/CONTCAR", format="vasp", direct=True)
    doc = json.loads((root / "campaign.json").read_text())
    node = next(n for n in doc["nodes"] if n["id"] == "relax/znte-111-K-hollow-1")
    before = read(root / node["folder"] / "POSCAR", format="vasp")
    assert "CONTCAR of the substrate" in apply_seed(root, node)
    after = read(root / node["folder"] / "POSCAR", format="vasp")
    k = [i for i, s in enumerate(after.get_chemical_symbols()) if s == "K"]
    assert len(k) == 1 and len(after) == len(sub) + 1
    np.testing.assert_allclose(after.positions[k[0]] - before.positions[k[0]], [0.10, -0.05, 0.20], atol=1e-6)
    np.testing.assert_allclose(after.cell[:], before.cell[:], atol=1e-6)  # the taller adsorbate cell stays
    others = [i for i in range(len(after)) if i not in k]
    moved = np.linalg.norm(after.positions[others] - before.positions[others], axis=1)
    assert sorted(np.round(moved, 6))[-1] == pytest.approx(np.linalg.norm([0.10, -0.05, 0.50]), abs=1e-6)
    assert (root / node["folder"] / "POSCAR.orig").is_file()


def test_adsorbate_seed_refuses_a_substrate_it_does_not_contain(tmp_path):
    from ase.io import read

    from cztflow.workflows.seeding import apply_seed

    root = small_campaign(tmp_path, "relax: [znte-111]\nadsorption: {znte-111: {sites: [K-hollow-1]}}\n")
    doc = json.loads((root / "campaign.json").read_text())
    node = next(n for n in doc["nodes"] if n["id"] == "relax/znte-111-K-hollow-1")
    orig = read(root / "relax/znte-111/POSCAR", format="vasp")
    orig.positions[0] += [1.0, 0.0, 0.0]  # the parent started elsewhere: not this adsorbate's substrate
    orig.write(root / "relax/znte-111/POSCAR.orig", format="vasp", direct=True)
    orig.write(root / "relax/znte-111/CONTCAR", format="vasp", direct=True)
    with pytest.raises(EngineError, match="does not hold every atom of the parent"):
        apply_seed(root, node)
