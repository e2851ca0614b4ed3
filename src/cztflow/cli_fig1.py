"""``cztflow fig1``: Fig. 1 end to end, or from finished runs with ``--from``."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from cztflow.cli_run import ConfigOpt, EngineOpt, _fail, run_with_progress

#: Most nodes run side by side by default (each worker holds its own CHGNet model and GPAW
#: arrays, up to ~1.5 GB; more rarely have independent work here).
MAX_DEFAULT_JOBS = 4


def default_jobs() -> int:
    """Nodes run side by side when ``--jobs`` is not given: the usable cores, at most 4.

    Returns
    -------
    int
        The cores this process may run on (``os.sched_getaffinity``, Linux) or, where that
        call does not exist (macOS, Windows), ``os.cpu_count()``; between 1 and
        :data:`MAX_DEFAULT_JOBS`.
    """
    affinity = getattr(os, "sched_getaffinity", None)
    cores = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return min(MAX_DEFAULT_JOBS, max(1, cores))


#: The packaged campaign specs: the default open-engine run and the smoke run.
SPECS = {"default": "fig1-open.yaml", "quick": "fig1-quick.yaml"}


def packaged_spec(quick: bool = False) -> Path:
    """Path of the packaged open-engine campaign spec (``--quick``: the smoke-run one)."""
    name = SPECS["quick" if quick else "default"]
    return Path(str(resources.files("cztflow") / "data" / "campaigns" / name))


def _refuse_unwritable(outdir: Path) -> None:
    """Stop (exit 2, one line) before any work if the report cannot be written into ``outdir``."""
    from cztflow.atomic_files import writable_problem

    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _fail(OSError(f"{outdir}: cannot create the report folder ({exc.strerror or exc})"))
    problem = writable_problem(outdir)
    if problem:
        _fail(OSError(f"{outdir}: not writable ({problem}); the report (fig1.md, .csv, …) goes there"))


def _write_report(data: Any, outdir: Path) -> list[Path]:
    """Write the tables and the figure, each file whole or not at all."""
    from cztflow.report.figure import write_figure
    from cztflow.report.table import write_tables

    try:
        return write_tables(data, outdir) + write_figure(data, outdir)
    except OSError as exc:
        _fail(OSError(f"{outdir}: cannot write the report ({exc.strerror or exc}); earlier files are kept"))
    return []


def _report(root: Path, outdir: Path) -> int:
    """Collect, write the tables and the figure; return how many quantities are missing."""
    from rich.console import Console
    from rich.table import Table

    from cztflow.report import collect_fig1

    _refuse_unwritable(outdir)
    try:
        data = collect_fig1(root)
    except (FileNotFoundError, ValueError) as exc:
        _fail(exc)
    paths = _write_report(data, outdir)
    table = Table(title=f"Fig. 1 — {data.campaign}")
    for column in ("quantity", "material", "computed", "paper", "difference"):
        table.add_column(column, justify="left" if column in ("quantity", "material") else "right")
    for r in data.rows:
        cells = [r.value, r.paper, r.difference]
        shown = ["—" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in cells]
        table.add_row(r.quantity, r.material, *shown)
    console = Console(width=140)
    console.print(table)
    for problem in data.problems:
        typer.secho(f"not computed: {problem}", fg=typer.colors.YELLOW, err=True)
    typer.echo("wrote " + ", ".join(str(p) for p in paths))
    return len(data.problems)


def fig1(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for fig1.md/csv/json/png/pdf.")] = Path(
        "fig1"
    ),
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from", help="A finished campaign folder (VASP or any engine): report only, run nothing."
        ),
    ] = None,
    quick: Annotated[
        bool, typer.Option("--quick", help="Smaller cells: a smoke run of about 3 minutes.")
    ] = False,
    spec: Annotated[
        Path | None, typer.Option(help="Campaign spec to run instead of the packaged open-engine one.")
    ] = None,
    campaign: Annotated[
        Path | None, typer.Option(help="Campaign folder to write and run (default: OUT/campaign).")
    ] = None,
    engine: EngineOpt = None,
    prerelax: Annotated[
        str | None, typer.Option(help="Relax with this MLIP before VASP/GPAW (see 'cztflow run').")
    ] = None,
    config: ConfigOpt = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Nodes run side by side, each in its own process with one thread "
            f"(default: the usable cores, at most {MAX_DEFAULT_JOBS}).",
        ),
    ] = None,
) -> None:
    """Regenerate Fig. 1: build, write and validate the campaign, run it, and report against the paper.

    Re-running reuses every finished node. Exit 1 when some quantity could not be computed
    (the report lists what and why), 2 when the spec, campaign or inputs are rejected.
    """
    if from_dir is not None:
        if not (from_dir / "campaign.json").is_file():
            _fail(FileNotFoundError(f"{from_dir / 'campaign.json'}: missing; --from needs a campaign folder"))
        raise typer.Exit(code=1 if _report(from_dir, out) else 0)

    from cztflow.workflows.campaign import load_campaign
    from cztflow.workflows.config import ConfigError, load_config
    from cztflow.workflows.engines.base import EngineError, require_engine
    from cztflow.workflows.lock import ProtocolLockError
    from cztflow.workflows.plan import parse_engine_choices
    from cztflow.workflows.validate import validate
    from cztflow.workflows.writer import write_campaign

    spec = spec or packaged_spec(quick)
    root = campaign or out / "campaign"
    _refuse_unwritable(out)  # before hours of running, not after
    try:
        engines = parse_engine_choices(engine or [])
        settings = load_config(config, campaign=root)
        typer.echo(f"building the structures of {spec.name} …")
        loaded = load_campaign(spec)
        for name in sorted({engines[kind] for kind in {node.kind for node in loaded.nodes.values()}}):
            require_engine(name)  # a missing extra stops here, before the campaign is written
        summary = write_campaign(loaded, root, potcar_spec=True)
    except (ValueError, ProtocolLockError, EngineError, ConfigError, OSError) as exc:
        _fail(exc)
    typer.echo(
        f"campaign {root}: {len(loaded.nodes)} nodes, {len(summary.new)} new, "
        f"{len(summary.unchanged)} unchanged, {len(summary.kept)} kept with their outputs"
    )
    findings = validate(root)
    if findings:
        for finding in findings:
            typer.secho(f"invalid: {finding.line()}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2)
    typer.echo(f"validated {root}: follows the protocol and its {len(loaded.deviations)} declared deviations")
    report = run_with_progress(root, engines, settings, prerelax=prerelax, jobs=jobs or default_jobs())
    missing = _report(root, out)
    raise typer.Exit(code=1 if (missing or report.failed or report.blocked or report.busy) else 0)
