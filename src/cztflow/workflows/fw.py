"""FireWorks: a campaign as a Workflow, one Firework per node, for HPC queues.

Each Firework runs :func:`cztflow.workflows.runner.run_node` through
:class:`CztflowNodeTask`, so a FireWorks run and a local run leave the same files and
markers in the node folder; VASP nodes run under custodian with the protocol lock.
Dependencies are the campaign's.  FireWorks' own files (``FW.json``, ``FW_offline.json``,
the queue script and the job's output) go to ``<campaign>/fireworks/<node folder>``
(``_launch_dir``), so a node folder holds one run and nothing else.  Each Firework carries
its own queue settings (``_queueadapter``: nodes, tasks, walltime and queue of its kind, from
the machine configuration's ``resources:``), which ``qlaunch -r`` and :func:`launch` apply.

The LaunchPad comes from the user's ``my_launchpad.yaml`` (MongoDB).  Without one,
cztflow uses FireWorks' serverless store: ``MONGOMOCK_SERVERSTORE_FILE`` pointing at
``<campaign>/fireworks-store.json`` (needs ``mongomock-persistence``).  That store is a
file that each process reads once and writes whole at exit, with no lock: two processes
lose each other's writes.  So cztflow opens it only inside :func:`launchpad_session`, which
holds ``fireworks-store.lock`` (``flock``), reads the file, and writes it back atomically
before releasing the lock; and compute jobs never open it: they run ``rlaunch singleshot
--offline`` on the ``FW.json`` that :func:`launch` reserved for them, and write
``FW_offline.json``, which the submitting side reads back (:func:`recover_offline_runs`).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cztflow.workflows.engines.base import EngineError

__all__ = [
    "LAUNCHES",
    "STORE_FILE",
    "STORE_LOCK",
    "fireworks_states",
    "launch",
    "launchpad_session",
    "lost_runs",
    "open_launchpad",
    "queue_settings",
    "recover_offline_runs",
    "requeue",
    "submit",
    "use_serverless_store",
]

STORE_FILE = "fireworks-store.json"
STORE_LOCK = "fireworks-store.lock"
#: Folder of the campaign that holds each Firework's launch folder (FireWorks' files, job output).
LAUNCHES = "fireworks"
_TIMEOUT_MS = 5000
_LOCK_WAIT_S = 300.0
_ACTIVE = ("RESERVED", "RUNNING")


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

    Use :func:`launchpad_session` instead: a serverless store opened here is read now and
    written by FireWorks only at interpreter exit, without a lock.

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


def _save_store(lp: Any) -> None:
    """Write the serverless store held by ``lp`` to its file atomically; stop its write at exit."""
    import bson.json_util

    store = lp.connection._store  # mongomock's ServerStore, as mongomock-persistence patches it
    path = Path(store._filename)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(bson.json_util.dumps(store.to_dict()))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    store._finalizer.detach()  # its exit-time write would put back this (soon stale) copy


@contextmanager
def launchpad_session(
    root: Path, launchpad_file: Path | None, *, wait_s: float = _LOCK_WAIT_S
) -> Iterator[Any]:
    """A LaunchPad for one block: the user's MongoDB, or the campaign's serverless store, locked.

    For the serverless store, the block holds ``root/fireworks-store.lock`` (``flock``; the
    kernel drops it if the process dies), reads the store when it starts and writes it back
    atomically when it ends, also after an error (as MongoDB would have kept the writes made
    until then).  Any other command that opens the store must hold the same lock, e.g.
    ``flock DIR/fireworks-store.lock lpad ...``.  A MongoDB LaunchPad needs no lock.

    Raises
    ------
    EngineError
        If the LaunchPad cannot be opened, or another process holds the store for ``wait_s``.
    """
    if launchpad_file is not None:
        yield open_launchpad(root, launchpad_file)
        return
    root = Path(root).resolve()
    fd = os.open(root / STORE_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EngineError(
                        f"{root / STORE_LOCK}: another process has held the FireWorks store for "
                        f"{wait_s:.0f} s; is a 'cztflow launch' or 'flock ... lpad' still running?"
                    ) from None
                time.sleep(0.1)
        lp = open_launchpad(root, None)
        try:
            yield lp
        finally:
            _save_store(lp)
    finally:
        os.close(fd)  # releases the lock


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def queue_settings(resources: dict[str, Any]) -> dict[str, Any]:
    """A Firework's ``_queueadapter`` from its kind's resources, for SLURM, PBS/Torque and PBS Pro.

    Parameters
    ----------
    resources
        :meth:`cztflow.workflows.config.RunConfig.resources` of the node's kind.

    Returns
    -------
    dict
        SLURM's ``nodes``/``ntasks``, Torque's ``nnodes``/``ppnode``, PBS Pro's
        ``select``/``ncpus``/``mpiprocs``, and ``walltime`` and ``queue`` when set.  A
        template ignores the keys it does not use.
    """
    nodes = int(resources.get("nodes") or 1)
    cores = int(resources.get("cores") or resources.get("ranks") or 1)
    per_node = max(1, -(-cores // nodes))
    out: dict[str, Any] = {
        "nodes": nodes,
        "ntasks": cores,
        "nnodes": nodes,
        "ppnode": per_node,
        "select": nodes,
        "ncpus": per_node,
        "mpiprocs": per_node,
    }
    if resources.get("walltime_seconds"):
        out["walltime"] = _hms(int(resources["walltime_seconds"]))
    if resources.get("queue"):
        out["queue"] = resources["queue"]
    return out


def _resource_kind(node: dict[str, Any], engine: str) -> str:
    if engine in ("chgnet", "sevenn"):
        return "mlip"
    return "gpaw" if engine == "gpaw" else str(node["kind"])


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

    Each Firework's ``_queueadapter`` holds its kind's resources from the machine
    configuration (``config_file``, else the usual places, see
    :func:`cztflow.workflows.config.load_config`).

    Returns
    -------
    dict
        ``added`` (bool), ``workflow`` (its id), ``fireworks`` (count).
    """
    from fireworks import Firework, Workflow

    from cztflow.workflows.config import load_config, with_engine_options
    from cztflow.workflows.fw_tasks import CztflowNodeTask
    from cztflow.workflows.plan import engine_for_nodes, read_campaign

    root = root.resolve()
    doc = read_campaign(root)
    existing = lp.workflows.find_one({"metadata.cztflow_campaign": str(root)})
    if existing is not None:
        return {"added": False, "workflow": existing["nodes"][0], "fireworks": len(existing["nodes"])}
    chosen = engine_for_nodes(doc["nodes"], engines)
    machine = with_engine_options(load_config(config_file, campaign=root), doc.get("engine_options") or {})
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
            "_launch_dir": str(root / LAUNCHES / node["folder"]),
            "_queueadapter": queue_settings(machine.resources(_resource_kind(node, chosen[node["id"]]))),
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


def _campaign_fw_ids(root: Path, lp: Any) -> dict[int, str]:
    """Firework id -> node id, for this campaign's Fireworks."""
    return {
        doc["fw_id"]: doc["spec"]["cztflow_node"]
        for doc in lp.fireworks.find(
            {"spec.cztflow_campaign": str(root)}, {"fw_id": 1, "spec.cztflow_node": 1}
        )
    }


def recover_offline_runs(root: Path, lp: Any) -> list[str]:
    """Read back the ``FW_offline.json`` of this campaign's offline runs (``lpad recover_offline``).

    Returns
    -------
    list of str
        Problems: runs whose ``FW_offline.json`` could not be read back (left for next time).
    """
    root = Path(root).resolve()
    ids = _campaign_fw_ids(root, lp)
    problems = []
    for run in lp.offline_runs.find({"completed": False, "deprecated": False}, {"launch_id": 1, "fw_id": 1}):
        if run["fw_id"] not in ids:
            continue
        with warnings.catch_warnings():  # "Unable to find FW_ping.json": the offline rocket writes none
            warnings.simplefilter("ignore")
            failed = lp.recover_offline(run["launch_id"], ignore_errors=True)
        if failed is not None:
            problems.append(f"{ids[run['fw_id']]}: launch {run['launch_id']}: FW_offline.json unreadable")
    return problems


def _queue_jobs() -> set[str] | None:
    """Ids of the jobs the scheduler still holds (pending or running); None if it cannot tell."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or ""
    for command in (["squeue", "-h", "-o", "%i", *(["-u", user] if user else [])], ["qstat"]):
        if shutil.which(command[0]) is None:
            continue
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        lines = out.splitlines()[2:] if command[0] == "qstat" else out.splitlines()
        return {line.split()[0].split(".")[0] for line in lines if line.strip()}
    return None


def _reservation(launch: dict[str, Any]) -> str | None:
    for entry in launch.get("state_history") or []:
        if entry.get("reservation_id"):
            return str(entry["reservation_id"]).split(".")[0]
    return None


def lost_runs(root: Path, lp: Any, queue_jobs: set[str] | None = None) -> list[dict[str, Any]]:
    """Runs of this campaign lost with their job: reserved or running, but no job runs them.

    A run is lost when its queue job (the launch's reservation id) is no longer in the
    scheduler's queue (``queue_jobs``, taken *before* :func:`recover_offline_runs`) and its
    ``FW_offline.json`` holds no result; or when FireWorks' ``detect_lostruns`` finds it
    (no ping for ``RUN_EXPIRATION_SECS``, 4 h by default).

    Returns
    -------
    list of dict
        ``node``, ``fw_id``, ``launch_id``, ``job`` and ``reason`` of each lost run.
    """
    root = Path(root).resolve()
    ids = _campaign_fw_ids(root, lp)
    out: dict[int, dict[str, Any]] = {}
    current = [  # a rerun Firework's earlier launches are archived, not lost again
        launch_id
        for doc in lp.fireworks.find({"fw_id": {"$in": list(ids)}, "state": {"$in": list(_ACTIVE)}})
        for launch_id in doc.get("launches") or []
    ]
    for launch in lp.launches.find({"launch_id": {"$in": current}, "state": {"$in": list(_ACTIVE)}}):
        job = _reservation(launch)
        if queue_jobs is None or job is None or job in queue_jobs:
            continue
        offline = Path(launch.get("launch_dir") or "") / "FW_offline.json"
        try:
            done = "fwaction" in json.loads(offline.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            done = False
        if not done:
            out[launch["fw_id"]] = {
                "node": ids[launch["fw_id"]],
                "fw_id": launch["fw_id"],
                "launch_id": launch["launch_id"],
                "job": job,
                "reason": f"queue job {job} ended ({launch['state']}) without finishing the run",
            }
    launch_ids, fw_ids, _ = lp.detect_lostruns(query={"spec.cztflow_campaign": str(root)})
    for launch_id, fw_id in zip(launch_ids, fw_ids, strict=False):
        out.setdefault(
            fw_id,
            {
                "node": ids.get(fw_id, str(fw_id)),
                "fw_id": fw_id,
                "launch_id": launch_id,
                "job": None,
                "reason": "no ping from the run within FireWorks' RUN_EXPIRATION_SECS",
            },
        )
    return sorted(out.values(), key=lambda r: r["fw_id"])


def requeue(lp: Any, lost: list[dict[str, Any]]) -> list[str]:
    """Make lost runs READY again; the next launch continues each node from its folder.

    A reserved run is un-reserved; a running one is rerun (its launch archived by FireWorks).
    The node folder is left as it is: the next run archives the stopped attempt into
    ``attempts/NN`` and continues from it (VASP from its CONTCAR).

    Returns
    -------
    list of str
        The node ids requeued.
    """
    done = []
    for run in lost:
        lp.forget_offline(run["launch_id"])
        fw = lp.fireworks.find_one({"fw_id": run["fw_id"]}, {"state": 1})
        if fw and fw["state"] == "RESERVED":
            lp.cancel_reservation(run["launch_id"])
        else:
            lp.rerun_fw(run["fw_id"])
        done.append(run["node"])
    return done


def _load_qadapter(path: Path, serverless: bool) -> Any:
    """The queue adapter of ``path`` (FireWorks' format); offline rockets required with no MongoDB."""
    from fireworks.utilities.fw_serializers import load_object_from_file

    if not path.is_file():
        raise EngineError(f"{path}: no such queue adapter file")
    try:
        adapter = load_object_from_file(str(path))
    except Exception as exc:  # YAML errors, unknown adapter classes
        raise EngineError(f"{path}: not a usable queue adapter: {exc}") from None
    rocket = str(adapter.get("rocket_launch") or "")
    if "singleshot" not in rocket:
        raise EngineError(f"{path}: rocket_launch must run 'rlaunch singleshot' (one node per job)")
    if serverless and "--offline" not in rocket:
        raise EngineError(
            f"{path}: rocket_launch must end in 'singleshot --offline' with the serverless store: "
            "compute jobs may not open the store file (it is not safe for concurrent writers)"
        )
    return adapter


def launch(
    root: Path,
    lp: Any,
    qadapter_file: Path,
    *,
    nlaunches: int = 0,
    requeue_lost: bool = False,
    serverless: bool = True,
) -> dict[str, Any]:
    """One round of queue launching: read back offline runs, requeue lost ones, submit ready ones.

    This is FireWorks' ``qlaunch -r`` (reservation mode) for this campaign's Fireworks: each
    job gets one reserved Firework, its ``_queueadapter`` settings and its ``FW.json``.

    Parameters
    ----------
    root
        The campaign folder.
    lp
        The LaunchPad (from :func:`launchpad_session`).
    qadapter_file
        A FireWorks queue adapter file (see ``cztflow/data/qadapters``).
    nlaunches
        Submit at most this many jobs (0: every READY Firework).
    requeue_lost
        Make lost runs (:func:`lost_runs`) READY first, so this round submits them again.
    serverless
        The store is the serverless file: refuse an adapter whose rocket is not offline.

    Returns
    -------
    dict
        ``submitted`` (node id -> job id), ``lost`` (lost runs left), ``requeued`` (node ids),
        ``problems`` and ``states`` (count of Fireworks per state).
    """
    from fireworks import FWorker
    from fireworks.queue.queue_launcher import launch_rocket_to_queue

    root = Path(root).resolve()
    adapter = _load_qadapter(qadapter_file, serverless)
    jobs = _queue_jobs()
    problems = recover_offline_runs(root, lp)
    lost = lost_runs(root, lp, jobs)
    requeued = requeue(lp, lost) if requeue_lost and lost else []
    if requeued:
        lost = []
    submitted: dict[str, str] = {}
    ids = _campaign_fw_ids(root, lp)
    ready = sorted(d["fw_id"] for d in lp.fireworks.find({"fw_id": {"$in": list(ids)}, "state": "READY"}))
    for fw_id in ready[: nlaunches or None]:
        with warnings.catch_warnings():  # _queueadapter holds SLURM's, Torque's and PBS Pro's keys
            warnings.filterwarnings("ignore", message=".*for supported keys")
            job = launch_rocket_to_queue(
                lp, FWorker(), adapter, launcher_dir=str(root), reserve=True, fw_id=fw_id, strm_lvl="ERROR"
            )
        if not job:
            problems.append(
                f"{ids[fw_id]}: the queue refused the job; see {root / LAUNCHES} and FireWorks' log"
            )
            break
        submitted[ids[fw_id]] = str(job)
    states: dict[str, int] = {}
    for state in fireworks_states(root, lp).values():
        states[state] = states.get(state, 0) + 1
    return {
        "submitted": submitted,
        "lost": lost,
        "requeued": requeued,
        "problems": problems,
        "states": states,
    }
