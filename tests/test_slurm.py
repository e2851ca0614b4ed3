"""A real one-node SLURM cluster (scripts/slurm-local.sh): submit, qlaunch, follow, restart, report.

The session fixture starts slurmctld, slurmd and munge (installing them with apt as root when
missing) with 4 CPUs declared on the node (SlurmdParameters=config_overrides: 4 one-core jobs
at once on 2 real cores; the fake VASP mostly sleeps) and stops them at the end.  The tests
skip only where SLURM cannot be installed or started (not root, no apt-get).

Jobs run the tests' fake VASP (``tests/fake_vasp.py``), which writes real-format outputs.  The
store is the serverless one: compute jobs run ``rlaunch singleshot --offline`` and never open
it; every cztflow command that does holds ``fireworks-store.lock``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from running_helpers import cli, fake_vasp_config

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "slurm-local.sh"
CPUS = 4

SPEC = """name: slurm-e2e
protocol: default
systems:
  cote2-1tl: {builder: cote2-001, args: {layers: 1, fixed_layers: 0}}
relax: [k-bcc, cote2-1tl, cote2-bulk, znte-bulk]
static: [k-atom]
adsorption:
  cote2-1tl: {sites: [K-hollow-1, K-ontop-1]}
"""

#: The reference atom runs with an open engine (CHGNet + D3) in its own job, beside fake VASP.
ENGINES = ("--engine", "vasp", "--engine", "static=chgnet")
OPEN_ENGINE_NODES = ("static/k-atom",)


@pytest.fixture(scope="session")
def slurm() -> str:
    """A running one-node SLURM; its node name.  Stopped at the end if this session started it."""
    if shutil.which("bash") is None:
        pytest.skip("no bash to run scripts/slurm-local.sh")
    running = subprocess.run(["bash", str(SCRIPT), "status"], capture_output=True, text=True, timeout=30)
    started = False
    if running.returncode != 0:
        env = {**os.environ, "SLURM_LOCAL_CPUS": str(CPUS), "SLURM_LOCAL_WAIT": "60"}
        out = subprocess.run(
            ["bash", str(SCRIPT), "start"], capture_output=True, text=True, timeout=300, env=env
        )
        if out.returncode == 3:
            pytest.skip(f"SLURM cannot be installed or started here: {out.stderr.strip()}")
        assert out.returncode == 0, f"scripts/slurm-local.sh start failed:\n{out.stdout}\n{out.stderr}"
        started = True
    node = subprocess.run(["hostname", "-s"], capture_output=True, text=True, check=True).stdout.strip()
    yield node
    if started:
        out = subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"scripts/slurm-local.sh stop failed:\n{out.stderr}"


def _campaign(tmp: Path, spec: str, name: str) -> Path:
    (tmp / f"{name}.yaml").write_text(spec)
    out = cli("campaign", "write", str(tmp / f"{name}.yaml"), "-o", str(tmp / name))
    assert out.returncode == 0, out.stderr
    return tmp / name


def _machine(tmp: Path) -> Path:
    """Fake VASP as the VASP command, one core per node kind (resources.default)."""
    return fake_vasp_config(tmp, "resources:\n  default: {ranks: 1, cores: 1}\n")


def _qadapter(tmp: Path) -> Path:
    """The shipped SLURM adapter, with this machine's partition, rlaunch and no account."""
    from importlib import resources

    doc = yaml.safe_load((resources.files("cztflow") / "data" / "qadapters" / "slurm.yaml").read_text())
    assert "--offline" in doc["rocket_launch"]
    doc.update(
        rocket_launch=doc["rocket_launch"].replace("python ", f"{sys.executable} ", 1),
        queue="debug",
        account=None,
        pre_rocket="export OPENBLAS_NUM_THREADS=1",
        logdir=str(tmp / "fw_logs"),
    )
    (tmp / "fw_logs").mkdir(exist_ok=True)
    path = tmp / "my_qadapter.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _store(root: Path) -> dict:
    import bson.json_util

    return bson.json_util.loads((root / "fireworks-store.json").read_text())["fireworks"]


def _fireworks(root: Path) -> dict[str, dict]:
    return {doc["spec"]["cztflow_node"]: doc for _, doc in _store(root)["fireworks"]["documents"]}


def _marker(folder: Path) -> dict:
    return json.loads((folder / "cztflow-run.json").read_text())


def _positions(path: Path) -> list[float]:
    """The first atom's fractional coordinates of a one-atom-type POSCAR/CONTCAR written here."""
    return [float(x) for x in path.read_text().splitlines()[8].split()[:3]]


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    best = now = 0
    for _, step in events:
        now += step
        best = max(best, now)
    return best


def _squeue_running() -> int:
    out = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i"], capture_output=True, text=True)
    return len(out.stdout.split())


def _follow(launch: subprocess.Popen, root: Path, limit_s: float) -> tuple[int, list[dict]]:
    """Poll squeue and `cztflow status` while `cztflow launch --watch` runs; most jobs seen running."""
    most, snapshots = 0, []
    deadline = time.monotonic() + limit_s
    while launch.poll() is None:
        if time.monotonic() > deadline:
            launch.kill()
            pytest.fail(f"cztflow launch --watch still running after {limit_s:.0f} s; squeue:\n{_squeue()}")
        most = max(most, _squeue_running())
        status = cli("status", str(root), "--json", timeout=120)
        assert status.returncode == 0, status.stderr
        snapshots.append({r["node"]: r["fireworks"] for r in json.loads(status.stdout)})
        time.sleep(1)
    return most, snapshots


def _squeue() -> str:
    return subprocess.run(["squeue"], capture_output=True, text=True).stdout


def test_campaign_runs_on_slurm_with_concurrent_jobs_once_each(slurm, tmp_path):
    root = _campaign(tmp_path, SPEC, "camp")
    machine = _machine(tmp_path)
    submitted = cli("submit", str(root), *ENGINES, "--config", str(machine))
    assert submitted.returncode == 0 and "with 7 fireworks" in submitted.stdout, submitted.stderr
    spec = _fireworks(root)["relax/k-bcc"]["spec"]
    assert spec["_queueadapter"]["ntasks"] == 1 and spec["_queueadapter"]["nodes"] == 1
    assert spec["_launch_dir"] == str(root.resolve() / "fireworks" / "relax" / "k-bcc")

    env = {"FAKE_VASP_STEPS": "3", "FAKE_VASP_SLEEP": "1.5"}
    start = time.monotonic()
    launch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cztflow.cli",
            "launch",
            str(root),
            "-q",
            str(_qadapter(tmp_path)),
            "--watch",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    most_in_queue, snapshots = _follow(launch, root, limit_s=150)
    out, err = launch.communicate()
    elapsed = time.monotonic() - start
    assert launch.returncode == 0, f"{out}\n{err}"
    assert out.count("submitted ") == 7, out

    # every Firework COMPLETED exactly once: one launch each, none archived (no rerun)
    fws = _fireworks(root)
    assert {fw["state"] for fw in fws.values()} == {"COMPLETED"}, {k: v["state"] for k, v in fws.items()}
    assert all(len(fw["launches"]) == 1 and not fw.get("archived_launches") for fw in fws.values())
    launches = _store(root)["launches"]["documents"]
    assert len(launches) == 7
    # every node folder holds one finished run: VASP ran once, nothing archived
    spans = []
    for node in json.loads((root / "campaign.json").read_text())["nodes"]:
        folder = root / node["folder"]
        marker = _marker(folder)
        assert marker["status"] == "finished", (node["id"], marker)
        if node["id"] in OPEN_ENGINE_NODES:  # CHGNet + D3 in the job, one result, no VASP
            assert marker["engine"]["engine"] == "chgnet" and not (folder / "fake_vasp_attempts").exists()
            assert isinstance(marker["summary"]["energy"], float)
        else:
            assert (folder / "fake_vasp_attempts").read_text() == "1", node["id"]
        assert not (folder / "attempts").exists(), node["id"]
        assert not (folder / "FW.json").exists()  # FireWorks' files live in fireworks/<node>
        spans.append(tuple(datetime.fromisoformat(marker[k]).timestamp() for k in ("started", "ended")))
    overlap = _max_overlap(spans)
    print(
        f"\nSLURM e2e: {elapsed:.1f} s, {most_in_queue} jobs running at once in squeue, "
        f"{overlap} nodes running at once, {len(snapshots)} status calls during the run"
    )
    assert most_in_queue >= CPUS and overlap >= CPUS
    assert any("RUNNING" in s.values() for s in snapshots)  # status followed the jobs

    final = cli("status", str(root), "--json")
    rows = json.loads(final.stdout)
    assert {r["state"] for r in rows} == {"finished"} and {r["fireworks"] for r in rows} == {"COMPLETED"}
    assert all(r["lost"] is None for r in rows)

    # the report equals the one from a local run of the same campaign
    local = _campaign(tmp_path, SPEC, "local")
    ran = cli("run", str(local), *ENGINES, "--config", str(machine), env=env | {"FAKE_VASP_SLEEP": "0"})
    assert ran.returncode == 0, ran.stderr
    reports = {}
    for name, folder in (("slurm", root), ("local", local)):
        made = cli("fig1", "--from", str(folder), "-o", str(tmp_path / f"fig1-{name}"))
        assert made.returncode in (0, 1), made.stderr
        reports[name] = (tmp_path / f"fig1-{name}" / "fig1.csv").read_text()
    assert "K adsorption energy" in reports["slurm"]
    assert reports["slurm"] == reports["local"]


def test_scancel_mid_run_is_lost_then_requeued_and_continues_from_contcar(slurm, tmp_path):
    root = _campaign(tmp_path, "name: restart\nprotocol: default\nrelax: [k-bcc]\n", "camp")
    machine = _machine(tmp_path)
    assert cli("submit", str(root), "--engine", "vasp", "--config", str(machine)).returncode == 0
    qadapter = _qadapter(tmp_path)
    env = {"FAKE_VASP_STEPS": "6", "FAKE_VASP_SLEEP": "1"}
    first = cli("launch", str(root), "-q", str(qadapter), env=env)
    assert first.returncode == 0 and "submitted relax/k-bcc as job" in first.stdout, first.stderr
    job = first.stdout.split("as job ")[1].split()[0]
    folder = root / "relax" / "k-bcc"
    deadline = time.monotonic() + 60
    while (folder / "OSZICAR").read_text().count(" F= ") < 2 if (folder / "OSZICAR").is_file() else True:
        assert time.monotonic() < deadline, f"no two ionic steps after 60 s; squeue:\n{_squeue()}"
        time.sleep(0.2)
    subprocess.run(["scancel", job], check=True)
    deadline = time.monotonic() + 30
    while job in subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split():
        assert time.monotonic() < deadline, f"job {job} still in the queue 30 s after scancel"
        time.sleep(0.5)
    steps_done = (folder / "OSZICAR").read_text().count(" F= ")
    assert 2 <= steps_done < 6

    status = cli("status", str(root), "--json")
    row = json.loads(status.stdout)[0]
    assert row["state"] == "interrupted" and row["fireworks"] == "RUNNING"
    assert row["lost"] == f"queue job {job} ended (RUNNING) without finishing the run"
    table = cli("status", str(root))
    assert f"cztflow launch {root} -q my_qadapter.yaml --requeue-lost" in table.stderr

    again = cli(
        "launch", str(root), "-q", str(qadapter), "--requeue-lost", "--watch", "1", env=env, timeout=120
    )
    assert again.returncode == 0, again.stderr
    assert "requeued relax/k-bcc" in again.stdout and "1 COMPLETED" in again.stdout
    fw = _fireworks(root)["relax/k-bcc"]
    assert fw["state"] == "COMPLETED" and len(fw["launches"]) == 1 and len(fw["archived_launches"]) == 1

    marker = _marker(folder)
    assert marker["status"] == "finished" and marker["previous_attempt"] == "attempts/01"
    resumed = marker["summary"]["resumed"]
    assert resumed == {"from": "attempts/01", "steps_before": steps_done, "images": ["."]}
    assert marker["summary"]["ionic_steps_total"] == steps_done + 6
    # the stopped attempt's files are kept; the new run started from its CONTCAR
    kept = folder / "attempts" / "01"
    assert (kept / "OSZICAR").read_text().count(" F= ") == steps_done
    assert _positions(folder / "POSCAR") == pytest.approx(_positions(kept / "CONTCAR"), abs=1e-9)
    first_x = _positions(folder / ".cztflow-inputs" / "POSCAR")[0]
    final_x = _positions(folder / "CONTCAR")[0]
    assert final_x == pytest.approx(first_x + 0.001 * (steps_done + 6), abs=1e-8)
