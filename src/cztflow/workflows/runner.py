"""Run a written campaign node by node, in dependency order, resumably.

Each node folder records its own state, so the folder is the truth whichever way the
campaign runs (this runner, FireWorks, by hand):

* ``cztflow-run.json`` with ``status: finished``: done; never run again, never touched.
* ``.cztflow-running``: a run started and did not end (crash, kill, Ctrl-C).  The next run
  moves that attempt's outputs into ``attempts/NN/`` (nothing is deleted), restores the
  inputs from ``.cztflow-inputs/`` and starts again; the open engines (CHGNet, SevenNet,
  GPAW) continue a relaxation or a band from the last complete step of the archived
  trajectory.  While the process named in the marker is still alive on this host, another
  run refuses the node instead (two runs of one campaign would otherwise write into the
  same folder).
* ``cztflow-run.json`` with ``status: failed``: the engine raised; the reason is recorded
  and the next run retries the same way.

Every finished node is also written, once, to an ASE database (SQLite in the campaign
folder by default, or any URL ``ase.db.connect`` accepts, PostgreSQL included).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cztflow.protocol import Protocol, default_protocol
from cztflow.workflows.config import RunConfig
from cztflow.workflows.engines.base import Engine, EngineError, NodeTask, make_engine
from cztflow.workflows.engines.folder_io import write_atomic
from cztflow.workflows.plan import engine_for_nodes, node_cost, read_campaign
from cztflow.workflows.scheduler import critical_path, submitter
from cztflow.workflows.seeding import apply_seed, replace_geometry

__all__ = ["MARKER", "RUNNING", "RunReport", "node_state", "run_campaign", "run_node"]

MARKER = "cztflow-run.json"
RUNNING = ".cztflow-running"
INPUTS = ".cztflow-inputs"
DB_NAME = "results.db"
_DFT = ("vasp", "gpaw")


@dataclass
class RunReport:
    """What :func:`run_campaign` did: node ids by outcome, and failure reasons."""

    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    database: str = ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _live_owner(folder: Path) -> str | None:
    """Who is running ``folder`` now: the marker's process, if it is alive on this host.

    A marker written on another host (a shared cluster file system) or by a process that is
    gone, or one that cannot be read, names no owner: the attempt counts as interrupted.
    """
    try:
        owner = json.loads((folder / RUNNING).read_text(encoding="utf-8"))
        pid = int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if owner.get("host") != socket.gethostname() or pid == os.getpid():
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None  # gone (a reused pid of another program is no Python process, below)
    if b"python" not in cmdline and b"cztflow" not in cmdline:
        return None
    return f"process {pid} on {owner['host']} (started {owner.get('started', '?')})"


def node_state(folder: Path) -> str:
    """``finished``, ``failed``, ``interrupted`` or ``pending``, from the folder's marker files."""
    marker = folder / MARKER
    if marker.is_file():
        try:
            return str(json.loads(marker.read_text(encoding="utf-8")).get("status", "failed"))
        except json.JSONDecodeError:
            return "interrupted"
    if (folder / RUNNING).exists():
        return "interrupted"
    return "pending"


def campaign_protocol(doc: dict[str, Any], root: Path) -> Protocol:
    """The protocol the campaign was written with (the packaged one; its hash must match)."""
    protocol = default_protocol()
    written = (doc.get("protocol") or {}).get("hash")
    if written and written != protocol.hash:
        raise EngineError(
            f"{root / 'campaign.json'}: written with protocol {written[:12]}, but this cztflow has "
            f"{protocol.short_hash}; rewrite the campaign (cztflow campaign write) before running it"
        )
    return protocol


def _inputs_of(node: dict[str, Any]) -> list[str]:
    return sorted(node.get("inputs", {}))


def _snapshot_inputs(folder: Path, node: dict[str, Any]) -> None:
    keep = folder / INPUTS
    if keep.exists():
        return
    tmp = folder / f"{INPUTS}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    for name in _inputs_of(node):
        if (folder / name).is_file():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / name, tmp / name)
    tmp.mkdir(exist_ok=True)
    os.replace(tmp, keep)


def _archive_attempt(folder: Path, node: dict[str, Any]) -> Path | None:
    """Move an unfinished attempt's outputs into attempts/NN and restore the inputs."""
    keep = folder / INPUTS
    protected = {INPUTS, "attempts"}
    moved = []
    attempts = folder / "attempts"
    number = len(list(attempts.glob("[0-9][0-9]"))) + 1 if attempts.is_dir() else 1
    target = attempts / f"{number:02d}"
    inputs = set(_inputs_of(node))
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] in protected or not path.is_file() or rel.as_posix() in inputs:
            continue
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target / rel)
        moved.append(rel)
    if keep.is_dir():
        for path in keep.rglob("*"):
            if path.is_file():
                shutil.copy2(path, folder / path.relative_to(keep))
    return target if moved else None


def _write_marker(folder: Path, record: dict[str, Any]) -> None:
    write_atomic(folder / MARKER, json.dumps(record, indent=1, default=str) + "\n")


def open_database(root: Path, url: str | None) -> Any:
    import ase.db

    return ase.db.connect(url or str(root / DB_NAME))


def _record_in_db(db: Any, root: Path, node: dict[str, Any], marker: dict[str, Any]) -> None:
    """Add the node's final structure and numbers to the database unless a row exists."""
    import ase.io

    if any(True for _ in db.select(node=node["id"])):
        return
    folder = root / node["folder"]
    geometry = folder / "CONTCAR"
    if not geometry.is_file() or node["kind"] == "neb":
        geometry = folder / ("00/POSCAR" if node["kind"] == "neb" else "POSCAR")
    atoms = ase.io.read(geometry, format="vasp")
    summary = marker.get("summary") or {}
    pairs = {
        "node": node["id"],
        "kind": node["kind"],
        "system": node.get("system", ""),
        "engine": marker["engine"]["engine"],
        "converged": bool(summary.get("converged", False)),
    }
    for key in ("barrier", "ionic_steps"):
        if isinstance(summary.get(key), int | float):
            pairs[key] = summary[key]
    if isinstance(summary.get("energy"), int | float):
        from ase.calculators.singlepoint import SinglePointCalculator

        atoms.calc = SinglePointCalculator(atoms, energy=float(summary["energy"]))
    db.write(atoms, key_value_pairs=pairs, data={"summary": summary, "engine": marker["engine"]})


def _prerelax(task: NodeTask, mlip: Engine) -> dict[str, Any]:
    """Relax the structure (or converge the band) with the MLIP first; the DFT run starts from it."""
    folder = task.folder
    work = folder / "prerelax"
    shutil.rmtree(work, ignore_errors=True)
    for name in _inputs_of(task.node):
        if (folder / name).is_file():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / name, work / name)
    for sub in folder.glob("[0-9][0-9]"):  # seeded NEB images and copied end results
        for item in sub.iterdir():
            if item.is_file():
                (work / sub.name).mkdir(parents=True, exist_ok=True)
                shutil.copy2(item, work / sub.name / item.name)
    pre = NodeTask(task.root, task.node, task.protocol, task.config, workdir=work)
    summary = mlip.run(pre)
    if task.kind == "neb":
        for sub in sorted(work.glob("[0-9][0-9]"))[1:-1]:
            replace_geometry(folder / sub.name / "POSCAR", sub / "CONTCAR")
    else:
        replace_geometry(folder / "POSCAR", work / "CONTCAR")
    return {"engine": mlip.settings(pre), "summary": summary}


def run_node(
    root: Path,
    node: dict[str, Any],
    engine: Engine,
    *,
    protocol: Protocol,
    config: RunConfig,
    prerelax: Engine | None = None,
    db: Any = None,
) -> dict[str, Any]:
    """Run one node unless it is finished; return its marker record.

    Raises
    ------
    EngineError
        If a parent is unfinished or the engine fails (the failure is recorded first).
    KeyboardInterrupt
        Passed on; the node stays marked as interrupted and is redone on the next run.
    """
    folder = root / node["folder"]
    state = node_state(folder)
    if state == "finished":
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
        if db is not None:
            _record_in_db(db, root, node, marker)
        return marker
    for dep in node.get("deps", []):
        if node_state(root / dep) != "finished":
            raise EngineError(f"{folder}: parent {dep} has not finished")
    owner = _live_owner(folder) if state == "interrupted" else None
    if owner is not None:
        raise EngineError(f"{folder}: is being run by {owner}; wait for it, or stop it and run again")
    task = NodeTask(root, node, protocol, config)
    engine.check(task)
    _snapshot_inputs(folder, node)
    archived = _archive_attempt(folder, node) if state != "pending" else None
    if state == "interrupted" and archived is not None:
        task.resume_from = archived  # the open engines continue from its last complete step
    (folder / MARKER).unlink(missing_ok=True)
    running = {"pid": os.getpid(), "host": socket.gethostname(), "engine": engine.name, "started": _now()}
    write_atomic(folder / RUNNING, json.dumps(running))
    record: dict[str, Any] = {"node": node["id"], "kind": node["kind"], "started": _now()}
    if archived is not None:
        record["previous_attempt"] = archived.relative_to(folder).as_posix()
    start = time.perf_counter()
    try:
        record["seed"] = apply_seed(root, node, copy_charge=engine.name == "vasp")
        if prerelax is not None and engine.name in _DFT and node["kind"] in ("relax", "neb"):
            record["prerelax"] = _prerelax(task, prerelax)
        record["engine"] = engine.settings(task)
        record["summary"] = engine.run(task)
        record["status"] = "finished"
    except (EngineError, OSError, ValueError, RuntimeError) as exc:
        record.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        record.setdefault("engine", {"engine": engine.name})
        _write_marker(folder, {**record, "ended": _now()})
        (folder / RUNNING).unlink(missing_ok=True)
        raise EngineError(f"{folder}: {engine.name} failed: {exc}") from exc
    record.update(ended=_now(), wall_seconds=round(time.perf_counter() - start, 2))
    _write_marker(folder, record)
    (folder / RUNNING).unlink(missing_ok=True)
    if db is not None:
        _record_in_db(db, root, node, record)
    return record


def run_campaign(
    root: str | Path,
    engines: dict[str, str],
    *,
    config: RunConfig | None = None,
    prerelax: str | None = None,
    db_url: str | None = None,
    only: Callable[[dict[str, Any]], bool] | None = None,
    progress: Callable[[dict[str, Any], str], None] | None = None,
    jobs: int = 1,
) -> RunReport:
    """Run every unfinished node of the campaign in ``root`` in dependency order.

    Parameters
    ----------
    root
        A folder written by ``cztflow campaign write``.
    engines
        Engine name per node kind (:func:`cztflow.workflows.plan.parse_engine_choices`).
    config
        Machine settings; by default :func:`cztflow.workflows.config.load_config`.
    prerelax
        An MLIP engine (``chgnet`` or ``sevenn``) that relaxes structures and NEB bands
        before a DFT engine (VASP or GPAW) starts from them.
    db_url
        ASE database to record results in; default ``root/results.db``.
    only
        Run only nodes for which this returns True (their parents must be finished).
    progress
        Called with each node and its outcome (``finished``, ``skipped``, ``failed``,
        ``blocked``, ``started``).
    jobs
        Nodes run side by side, each in its own worker process with one thread
        (:mod:`cztflow.workflows.scheduler`); 1 runs them one by one in this process.

    Returns
    -------
    RunReport
    """
    from cztflow.workflows.config import load_config, with_engine_options

    root = Path(root)
    doc = read_campaign(root)
    protocol = campaign_protocol(doc, root)
    config = with_engine_options(config or load_config(campaign=root), doc.get("engine_options") or {})
    nodes = [n for n in doc["nodes"] if only is None or only(n)]
    chosen = engine_for_nodes(doc["nodes"], engines)
    cache: dict[str, Engine] = {}

    def engine(name: str) -> Engine:
        if name not in cache:
            cache[name] = make_engine(name, config)
        return cache[name]

    for node in nodes:  # refuse before running anything
        engine(chosen[node["id"]]).check(NodeTask(root, node, protocol, config))
    pre = engine(prerelax) if prerelax else None
    if pre is not None and pre.name not in ("chgnet", "sevenn"):
        raise EngineError(f"--prerelax {prerelax}: pre-relaxation needs an MLIP engine (chgnet or sevenn)")
    db = open_database(root, db_url)
    report = RunReport(database=db_url or str(root / DB_NAME))
    ids = {n["id"] for n in nodes}
    cost = {n["id"]: node_cost(n, chosen[n["id"]]) for n in nodes}
    first = critical_path(nodes, cost)
    pending = list(nodes)
    ok: set[str] = set()
    bad: set[str] = set()
    running: dict[Future[dict[str, Any]], dict[str, Any]] = {}

    def tell(node: dict[str, Any], outcome: str) -> None:
        if progress:
            progress(node, outcome)

    def run_here(node: dict[str, Any]) -> dict[str, Any]:
        chosen_engine = engine(chosen[node["id"]])
        return run_node(root, node, chosen_engine, protocol=protocol, config=config, prerelax=pre)

    def settle_without_running() -> None:
        for node in list(pending):
            if any(dep in bad for dep in node.get("deps", [])):
                bad.add(node["id"])
                report.blocked.append(node["id"])
                tell(node, "blocked")
            elif node_state(root / node["folder"]) == "finished":
                run_node(root, node, engine(chosen[node["id"]]), protocol=protocol, config=config, db=db)
                ok.add(node["id"])
                report.skipped.append(node["id"])
                tell(node, "skipped")
            else:
                continue
            pending.remove(node)

    def collect(future: Future[dict[str, Any]]) -> None:
        node = running.pop(future)
        try:
            record = future.result()
        except (EngineError, BrokenProcessPool) as exc:
            died = f"{root / node['folder']}: its worker process died ({exc})"
            reason = str(exc) if isinstance(exc, EngineError) else died
            bad.add(node["id"])
            report.failed[node["id"]] = reason
            tell(node, "failed")
            return
        _record_in_db(db, root, node, record)
        ok.add(node["id"])
        report.finished.append(node["id"])
        tell(node, "finished")

    with submitter(jobs, run_here, root=root, engine_of=chosen, prerelax=prerelax, config=config) as submit:
        while pending or running:
            settle_without_running()
            ready = [n for n in pending if all(d in ok or d not in ids for d in n.get("deps", []))]
            if jobs > 1:
                ready.sort(key=lambda n: -first[n["id"]])
            for node in ready[: jobs - len(running)]:
                pending.remove(node)
                tell(node, "started")
                running[submit(node)] = node
            if not running:
                if pending:  # cannot happen with parents listed first; never loop forever
                    stuck = [n["id"] for n in pending]
                    raise EngineError(f"{root}: nodes {stuck} wait on nodes that never run")
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                collect(future)
    return report
