"""``cztflow run``, ``status``, ``submit`` and ``launch``: executing a written campaign."""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import Annotated, Any

import typer

EngineOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--engine",
        "-e",
        help="ENGINE for every kind, or KIND=ENGINE (repeatable). Engines: chgnet, sevenn, gpaw, vasp. "
        "Unset kinds: chgnet for relax/static/neb, gpaw for workfunction/bands/dos/chgdiff.",
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Machine configuration YAML (VASP command, ranks, engine options)."),
]


JobsOpt = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        help="Nodes run side by side, each in its own process with one thread (use the core count).",
    ),
]


def _fail(exc: Exception, code: int = 2) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)


def run(
    directory: Annotated[Path, typer.Argument(help="Campaign folder written by 'cztflow campaign write'.")],
    engine: EngineOpt = None,
    prerelax: Annotated[
        str | None, typer.Option(help="Relax (or converge the NEB band) with this MLIP before VASP/GPAW.")
    ] = None,
    db: Annotated[str | None, typer.Option(help="ASE database URL (default: DIR/results.db).")] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="Run only node ids matching these glob patterns.")
    ] = None,
    config: ConfigOpt = None,
    jobs: JobsOpt = 1,
) -> None:
    """Run a campaign's nodes in dependency order, resuming where an earlier run stopped."""
    from cztflow.workflows.config import ConfigError, load_config
    from cztflow.workflows.engines.base import EngineError
    from cztflow.workflows.plan import parse_engine_choices

    def selected(node: dict[str, Any]) -> bool:
        return not only or any(fnmatch.fnmatchcase(node["id"], p) for p in only)

    try:
        engines = parse_engine_choices(engine or [])
        settings = load_config(config, campaign=directory)
    except (EngineError, ConfigError) as exc:
        _fail(exc)
    report = run_with_progress(
        directory, engines, settings, prerelax=prerelax, db=db, only=selected, jobs=jobs
    )
    if report.failed or report.blocked or report.busy:
        raise typer.Exit(code=1)


def run_with_progress(
    directory: Path,
    engines: dict[str, str],
    settings: Any,
    *,
    prerelax: str | None = None,
    db: str | None = None,
    only: Any = None,
    jobs: int = 1,
) -> Any:
    """Run the campaign under a progress bar with an ETA; print the outcome; return the report.

    The bar advances by each node's expected cost (:func:`cztflow.workflows.plan.node_cost`),
    so the ETA reflects that a GPAW heterostructure takes longer than a CHGNet bulk cell.
    """
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from cztflow.workflows.config import ConfigError
    from cztflow.workflows.engines.base import EngineError, require_engine
    from cztflow.workflows.plan import engine_for_nodes, node_cost, read_campaign
    from cztflow.workflows.runner import refuse_unrunnable, run_campaign

    try:
        nodes = [n for n in read_campaign(directory)["nodes"] if only is None or only(n)]
        chosen = engine_for_nodes(nodes, engines)
        for name in sorted(set(chosen.values()) | ({prerelax} if prerelax else set())):
            require_engine(name)  # a missing extra: one line, before the progress bar
        refuse_unrunnable(directory, nodes, db)  # before the progress bar: one line, nothing else
    except (EngineError, ConfigError) as exc:
        _fail(exc)
    cost = {n["id"]: node_cost(n, chosen[n["id"]]) for n in nodes}
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[done]}/{task.fields[count]} nodes"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        job = bar.add_task("nodes", total=sum(cost.values()), done=0, count=len(nodes))

        running: list[str] = []

        def progress(node: dict[str, Any], outcome: str) -> None:
            if outcome == "started":
                running.append(node["id"])
            elif node["id"] in running:
                running.remove(node["id"])
            bar.update(job, description=", ".join(running) or "nodes")
            if outcome == "started":
                return
            bar.update(job, advance=cost.get(node["id"], 0.0), done=bar.tasks[0].fields["done"] + 1)
            if outcome in ("failed", "busy"):
                colour = "red" if outcome == "failed" else "yellow"
                console.print(f"[{colour}]{outcome}[/{colour}] {node['id']}")

        try:
            report = run_campaign(
                directory,
                engines,
                config=settings,
                prerelax=prerelax,
                db_url=db,
                only=only,
                progress=progress,
                jobs=jobs,
            )
        except (EngineError, ConfigError) as exc:
            _fail(exc)
        except KeyboardInterrupt:
            console.print("interrupted: finished nodes are kept; run the same command again to resume")
            raise typer.Exit(code=130) from None
    busy = f", {len(report.busy)} busy in another run" if report.busy else ""
    typer.echo(
        f"{len(report.finished)} finished, {len(report.skipped)} already done, {len(report.failed)} failed, "
        f"{len(report.blocked)} blocked{busy}; results in {report.database}"
    )
    for note in report.notes:
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    for node_id, reason in report.failed.items():
        typer.secho(f"failed {node_id}: {reason}", fg=typer.colors.RED, err=True)
    for node_id, reason in report.busy.items():
        typer.secho(f"busy {node_id}: {reason}", fg=typer.colors.YELLOW, err=True)
    return report


LaunchpadOpt = Annotated[
    Path | None,
    typer.Option(
        "--launchpad",
        "-l",
        help="my_launchpad.yaml (MongoDB). Default: the serverless store DIR/fireworks-store.json.",
    ),
]


def submit(
    directory: Annotated[Path, typer.Argument(help="Campaign folder written by 'cztflow campaign write'.")],
    launchpad: LaunchpadOpt = None,
    engine: EngineOpt = None,
    prerelax: Annotated[str | None, typer.Option(help="MLIP pre-relaxation before VASP/GPAW.")] = None,
    db: Annotated[str | None, typer.Option(help="ASE database URL (default: DIR/results.db).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Add the campaign to a FireWorks LaunchPad as one Workflow (once; a second submit adds nothing)."""
    from cztflow.workflows.engines.base import EngineError
    from cztflow.workflows.fw import open_launchpad
    from cztflow.workflows.fw import submit as submit_workflow
    from cztflow.workflows.plan import parse_engine_choices

    try:
        engines = parse_engine_choices(engine or [])
        lp = open_launchpad(directory, launchpad)
        result = submit_workflow(directory, lp, engines, prerelax=prerelax, config_file=config, db_url=db)
    except EngineError as exc:
        _fail(exc)
    where = launchpad or f"{directory}/fireworks-store.json (serverless)"
    if result["added"]:
        typer.echo(f"added workflow {result['workflow']} with {result['fireworks']} fireworks to {where}")
    else:
        typer.echo(f"already on {where} as workflow {result['workflow']}: nothing added")


def _collect_records(directory: Path) -> int:
    """Build ``results.db`` from the node folders' own records (compute jobs never write it).

    Returns how many nodes' rows changed; a campaign folder that cannot be written is left
    alone (status only reads).
    """
    from cztflow.workflows.plan import read_campaign
    from cztflow.workflows.results_db import sync_database
    from cztflow.workflows.runner import open_database

    if not os.access(directory, os.W_OK):
        return 0
    nodes = read_campaign(directory)["nodes"]
    return sync_database(open_database(directory, None), directory, nodes)[0]


def status(
    directory: Annotated[Path, typer.Argument(help="Campaign folder.")],
    launchpad: LaunchpadOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Node states from the folders (finished, failed, interrupted, pending) and, if submitted, FireWorks."""
    import json

    from cztflow.workflows.engines.base import EngineError
    from cztflow.workflows.status import campaign_status

    try:
        rows = campaign_status(directory, launchpad)
        changed = _collect_records(directory)
    except EngineError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
        return
    from collections import Counter

    from rich.console import Console
    from rich.table import Table

    table = Table()
    for column in ("node", "kind", "state", "engine", "result", "fireworks"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["node"],
            row["kind"],
            row["state"],
            row["engine"] or "",
            row["result"] or "",
            (row["fireworks"] or "") + (" (lost)" if row.get("lost") else ""),
        )
    Console(width=140).print(table)
    counts = Counter(r["state"] for r in rows)
    typer.echo(", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    if changed:
        typer.echo(f"results.db: {changed} node(s) brought in step with their folders")
    fw_counts = Counter(r["fireworks"] for r in rows if r["fireworks"])
    if fw_counts:
        typer.echo("fireworks: " + ", ".join(f"{n} {state}" for state, n in sorted(fw_counts.items())))
    lost = [r for r in rows if r.get("lost")]
    for row in lost:
        typer.secho(f"lost {row['node']}: {row['lost']}", fg=typer.colors.RED, err=True)
    if lost:
        where = f" -l {launchpad}" if launchpad else ""
        typer.secho(
            f"requeue them with: cztflow launch {directory}{where} -q my_qadapter.yaml --requeue-lost "
            "(each continues from its folder: VASP from its CONTCAR)",
            fg=typer.colors.YELLOW,
            err=True,
        )


def launch(
    directory: Annotated[Path, typer.Argument(help="Campaign folder, submitted with 'cztflow submit'.")],
    qadapter: Annotated[
        Path, typer.Option("--qadapter", "-q", help="FireWorks queue adapter (see data/qadapters).")
    ],
    launchpad: LaunchpadOpt = None,
    nlaunches: Annotated[
        int, typer.Option(min=0, help="Jobs to submit per round (0: every ready node).")
    ] = 0,
    requeue_lost: Annotated[
        bool, typer.Option("--requeue-lost", help="Make runs lost with their job ready, and submit them.")
    ] = False,
    watch: Annotated[
        float,
        typer.Option(
            min=0, help="Repeat every SECONDS until no node is ready, reserved or running (0: once)."
        ),
    ] = 0,
) -> None:
    """Submit queue jobs for the ready nodes (FireWorks' qlaunch -r), reading finished jobs back first.

    Each job runs one node with 'rlaunch singleshot --offline': compute jobs never open the
    store. With the serverless store every round holds DIR/fireworks-store.lock.
    """
    import time

    from cztflow.workflows.engines.base import EngineError
    from cztflow.workflows.fw import launch as launch_round
    from cztflow.workflows.fw import launchpad_session

    while True:
        try:
            with launchpad_session(directory, launchpad) as lp:
                done = launch_round(
                    directory,
                    lp,
                    qadapter,
                    nlaunches=nlaunches,
                    requeue_lost=requeue_lost,
                    serverless=launchpad is None,
                )
        except EngineError as exc:
            _fail(exc)
        for node_id in done["requeued"]:
            typer.echo(f"requeued {node_id}")
        for node_id, job in done["submitted"].items():
            typer.echo(f"submitted {node_id} as job {job}")
        for run in done["lost"]:
            typer.secho(f"lost {run['node']}: {run['reason']}", fg=typer.colors.RED, err=True)
        for problem in done["problems"]:
            typer.secho(f"problem: {problem}", fg=typer.colors.YELLOW, err=True)
        states = done["states"]
        typer.echo("fireworks: " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())))
        active = sum(states.get(s, 0) for s in ("READY", "RESERVED", "RUNNING"))
        if not watch or not active or done["lost"]:
            if done["problems"]:
                raise typer.Exit(code=1)
            return
        time.sleep(watch)
