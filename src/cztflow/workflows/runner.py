"""Run a written campaign node by node, in dependency order, resumably.

Each node folder records its own state, so the folder is the truth whichever way the
campaign runs (this runner, FireWorks, by hand):

* ``cztflow-run.json`` with ``status: finished``: done; never run again, never touched.
* ``.cztflow-running``: a run started and did not end (crash, kill, Ctrl-C).  The next run
  moves that attempt's outputs into ``attempts/NN/`` (nothing is deleted), restores the
  inputs from ``.cztflow-inputs/`` and starts again; the open engines (CHGNet, SevenNet,
  GPAW) continue a relaxation or a band from the last complete step of the archived
  trajectory.
* ``cztflow-run.json`` with ``status: failed``: the engine raised; the reason is recorded
  and the next run retries the same way.

A run claims a node before touching its folder (:mod:`cztflow.workflows.node_files`): an
exclusive lock that the kernel drops when the process dies.  Two runs of one campaign
released together never run the same node; the one that finds it claimed reports it as
*busy* and leaves the folder alone.

Every finished node has one row in an ASE database (SQLite in the campaign folder by
default, or any URL ``ase.db.connect`` accepts, PostgreSQL included), which each run first
brings in step with the folders (:mod:`cztflow.workflows.results_db`).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from cztflow.atomic_files import writable_problem
from cztflow.protocol import Protocol, default_protocol
from cztflow.workflows.config import RunConfig
from cztflow.workflows.engines.base import Engine, EngineError, NodeTask, make_engine
from cztflow.workflows.engines.folder_io import write_atomic
from cztflow.workflows.node_files import (
    LOCK,
    MARKER,
    RUNNING,
    NodeBusy,
    busy,
    claim_node,
    live_owner,
    mark_running,
    node_state,
    read_marker,
)
from cztflow.workflows.plan import engine_for_nodes, node_cost, read_campaign
from cztflow.workflows.results_db import (
    DB_NAME,
    open_database,
    open_results,
    record_node,
    sqlite_file,
    sync_database,
)
from cztflow.workflows.scheduler import critical_path, submitter
from cztflow.workflows.seeding import apply_seed, replace_geometry

__all__ = [
    "MARKER",
    "RUNNING",
    "NodeBusy",
    "RunReport",
    "node_state",
    "open_database",
    "refuse_unrunnable",
    "run_campaign",
    "run_node",
    "run_node_outcome",
]

INPUTS = ".cztflow-inputs"
_DFT = ("vasp", "gpaw")


@dataclass
class RunReport:
    """What :func:`run_campaign` did: node ids by outcome, failure reasons and notes.

    ``busy`` maps the nodes another live run held to its description; ``notes`` says what
    was repaired (a broken database rebuilt) or could not be recorded.
    """

    finished: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    blocked: list[str] = field(default_factory=list)
    busy: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    database: str = ""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


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
    """Copy the node's inputs into ``.cztflow-inputs/`` once (through a temporary folder)."""
    keep = folder / INPUTS
    for stale in folder.glob(f"{INPUTS}.*"):  # left by a killed run; we hold the claim
        shutil.rmtree(stale, ignore_errors=True)
    if keep.exists():
        return
    tmp = folder / f"{INPUTS}.{os.getpid()}.{secrets.token_hex(4)}"  # unique to this process
    tmp.mkdir()
    for name in _inputs_of(node):
        if (folder / name).is_file():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / name, tmp / name)
    os.replace(tmp, keep)


def _archive_attempt(folder: Path, node: dict[str, Any]) -> Path | None:
    """Move an unfinished attempt's outputs into attempts/NN and restore the inputs."""
    keep = folder / INPUTS
    protected = {INPUTS, "attempts", LOCK}
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


def _finished_record(folder: Path) -> dict[str, Any]:
    found = read_marker(folder)
    if found is None:
        raise EngineError(f"{folder / MARKER}: unreadable")
    return found[1]


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


def _prepare(folder: Path, node: dict[str, Any], state: str, engine: str) -> Path | None:
    """Under the claim: keep the inputs, archive an earlier attempt, mark the node running.

    Returns the archived attempt's folder, if there was one.
    """
    try:
        _snapshot_inputs(folder, node)
        archived = _archive_attempt(folder, node) if state != "pending" else None
        (folder / MARKER).unlink(missing_ok=True)
        (folder / RUNNING).unlink(missing_ok=True)  # archived already, unless it was an input
    except OSError as exc:
        raise EngineError(
            f"{folder}: cannot prepare the node ({exc.strerror or exc}: {exc.filename})"
        ) from None
    mark_running(folder, engine)
    return archived


def _execute(
    task: NodeTask, engine: Engine, prerelax: Engine | None, record: dict[str, Any]
) -> dict[str, Any]:
    """Run the engine in the claimed, prepared folder; write the marker; return it."""
    folder, node = task.folder, task.node
    start = time.perf_counter()
    try:
        record["seed"] = apply_seed(task.root, node, copy_charge=engine.name == "vasp")
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
    return record


def _run_claimed(
    root: Path,
    node: dict[str, Any],
    engine: Engine,
    protocol: Protocol,
    config: RunConfig,
    prerelax: Engine | None,
) -> dict[str, Any] | None:
    """Run the node while holding its claim; None if it was finished meanwhile."""
    folder = root / node["folder"]
    state = node_state(folder)
    if state == "finished":
        return None
    owner = live_owner(folder) if state == "interrupted" else None
    if owner is not None:
        raise busy(folder, owner)
    task = NodeTask(root, node, protocol, config)
    engine.check(task)
    archived = _prepare(folder, node, state, engine.name)
    if state == "interrupted" and archived is not None:
        task.resume_from = archived  # the open engines continue from its last complete step
    record: dict[str, Any] = {"node": node["id"], "kind": node["kind"], "started": _now()}
    if archived is not None:
        record["previous_attempt"] = archived.relative_to(folder).as_posix()
    return _execute(task, engine, prerelax, record)


def _missing_folder(folder: Path) -> EngineError:
    """The error for a node whose folder is gone."""
    return EngineError(
        f"{folder}: node folder missing (deleted?); write the campaign again "
        "(cztflow campaign write SPEC -o CAMPAIGN) to restore its inputs"
    )


def run_node_outcome(
    root: Path,
    node: dict[str, Any],
    engine: Engine,
    *,
    protocol: Protocol,
    config: RunConfig,
    prerelax: Engine | None = None,
    db: Any = None,
) -> tuple[dict[str, Any], bool]:
    """Run one node unless it is finished; return its marker record and whether it ran here.

    Raises
    ------
    NodeBusy
        If another live process is running the node (its folder is left untouched).
    EngineError
        If the folder is missing, a parent is unfinished or the engine fails (the failure
        is recorded first).
    KeyboardInterrupt
        Passed on; the node stays marked as interrupted and is redone on the next run.
    """
    folder = root / node["folder"]
    if not folder.is_dir():
        raise _missing_folder(folder)
    record = None
    if node_state(folder) != "finished":
        for dep in node.get("deps", []):
            if node_state(root / dep) != "finished":
                raise EngineError(f"{folder}: parent {dep} has not finished")
        with claim_node(folder):
            record = _run_claimed(root, node, engine, protocol, config, prerelax)
    ran = record is not None
    record = record or _finished_record(folder)
    if db is not None:
        record_node(db, root, node)
    return record, ran


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
    """Run one node unless it is finished; return its marker record (see :func:`run_node_outcome`)."""
    return run_node_outcome(root, node, engine, protocol=protocol, config=config, prerelax=prerelax, db=db)[0]


def refuse_unrunnable(root: Path, nodes: list[dict[str, Any]], db_url: str | None) -> None:
    """Refuse, before anything runs, node folders that are gone and folders that cannot be written."""
    for node in nodes:
        if not (root / node["folder"]).is_dir():
            raise _missing_folder(root / node["folder"])
    database = sqlite_file(root, db_url)
    if database is not None and (problem := writable_problem(database.parent)):
        raise EngineError(
            f"{database.parent}: not writable ({problem}); cztflow run keeps {database.name} there "
            "(give --db elsewhere, or make the folder writable)"
        )
    for node in nodes:
        folder = root / node["folder"]
        if node_state(folder) != "finished" and (problem := writable_problem(folder)):
            raise EngineError(
                f"{folder}: not writable ({problem}); node {node['id']} writes its outputs there"
            )


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
        ``blocked``, ``busy``, ``started``).
    jobs
        Nodes run side by side, each in its own worker process with one thread
        (:mod:`cztflow.workflows.scheduler`); 1 runs them one by one in this process.

    Returns
    -------
    RunReport

    Raises
    ------
    EngineError
        Before anything runs, for a node folder that is gone or a folder that cannot be
        written; and for a results database that cannot be created or written.
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

    refuse_unrunnable(root, nodes, db_url)  # refuse before running anything
    for node in nodes:
        engine(chosen[node["id"]]).check(NodeTask(root, node, protocol, config))
    pre = engine(prerelax) if prerelax else None
    if pre is not None and pre.name not in ("chgnet", "sevenn"):
        raise EngineError(f"--prerelax {prerelax}: pre-relaxation needs an MLIP engine (chgnet or sevenn)")
    db, repaired = open_results(root, db_url)
    report = RunReport(database=db_url or str(root / DB_NAME), notes=[repaired] if repaired else [])
    report.notes += sync_database(db, root, doc["nodes"])[1]
    ids = {n["id"] for n in nodes}
    cost = {n["id"]: node_cost(n, chosen[n["id"]]) for n in nodes}
    first = critical_path(nodes, cost)
    pending = list(nodes)
    ok: set[str] = set()
    bad: set[str] = set()
    running: dict[Future[tuple[dict[str, Any], bool]], dict[str, Any]] = {}

    def tell(node: dict[str, Any], outcome: str) -> None:
        if progress:
            progress(node, outcome)

    def run_here(node: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        chosen_engine = engine(chosen[node["id"]])
        return run_node_outcome(root, node, chosen_engine, protocol=protocol, config=config, prerelax=pre)

    def settle_without_running() -> None:
        for node in list(pending):
            if any(dep in bad for dep in node.get("deps", [])):
                bad.add(node["id"])
                report.blocked.append(node["id"])
                tell(node, "blocked")
            elif node_state(root / node["folder"]) == "finished":  # its row: sync_database
                ok.add(node["id"])
                report.skipped.append(node["id"])
                tell(node, "skipped")
            else:
                continue
            pending.remove(node)

    def collect(future: Future[tuple[dict[str, Any], bool]]) -> None:
        node = running.pop(future)
        try:
            ran = future.result()[1]
        except NodeBusy as exc:
            bad.add(node["id"])
            report.busy[node["id"]] = str(exc)
            tell(node, "busy")
            return
        except (EngineError, BrokenProcessPool) as exc:
            died = f"{root / node['folder']}: its worker process died ({exc})"
            reason = str(exc) if isinstance(exc, EngineError) else died
            bad.add(node["id"])
            report.failed[node["id"]] = reason
            tell(node, "failed")
            return
        record_node(db, root, node)
        ok.add(node["id"])
        (report.finished if ran else report.skipped).append(node["id"])
        tell(node, "finished" if ran else "skipped")

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
