"""The ``cztflow`` command line.

Heavy imports (pymatgen, ASE) happen inside the commands, so ``cztflow --help`` and the
light commands start fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml

app = typer.Typer(
    help="DFT workflow for CoTe2/ZnTe heterostructures on Ti3C2Tx (Pan et al., 2023).",
    no_args_is_help=True,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    """Print ``cztflow VERSION`` and stop, when ``--version`` is given."""
    if value:
        from cztflow import __version__

        typer.echo(f"cztflow {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Options that come before the command (``cztflow --version``)."""


_OUTPUT_HELP = "File (POSCAR, .vasp, .cif, .extxyz), or a folder with --all."

Params = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Builder argument as KEY=VALUE (VALUE is YAML)."),
]


def _params(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--param")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise typer.BadParameter(f"{item!r}: value is not YAML: {exc}") from exc
    return out


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _summary_table(entries: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(entries)} structures")
    for col in ("name", "kind", "formula", "atoms", "a", "b", "c", "γ", "strain %"):
        table.add_column(col, justify="right" if col in ("atoms", "a", "b", "c", "γ") else "left")
    for e in entries:
        lat = e["lattice"]
        strain = e.get("strain")
        strain_txt = (
            "" if not strain else ", ".join(f"{side} {max(v, key=abs):+.2f}" for side, v in strain.items())
        )
        table.add_row(
            e["name"],
            e["kind"],
            e["formula"],
            str(e["natoms"]),
            f"{lat['a']:.3f}",
            f"{lat['b']:.3f}",
            f"{lat['c']:.2f}",
            f"{lat['gamma']:.1f}",
            strain_txt,
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)


@app.command()
def build(
    system: Annotated[str | None, typer.Argument(help="Study system or builder name.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help=_OUTPUT_HELP)] = Path("structures"),
    params: Params = None,
    k_site: Annotated[str | None, typer.Option(help="Add one K on this site (see `cztflow sites`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Build the whole study into a folder.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary table.")] = False,
) -> None:
    """Build one structure to a file, or the whole study (--all) to a folder with index.json."""
    from cztflow.structures.study import build_all, build_system, stale_files

    if all_:
        if system is not None or params or k_site:
            _fail("--all takes no SYSTEM, --param or --k-site")
        if output.exists() and not output.is_dir():
            _fail(f"{output}: exists and is not a folder")
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("building", total=None)
            entries = build_all(output, progress=lambda b: progress.update(task, description=b.name))
        if not quiet:
            _summary_table(entries)
        typer.echo(f"wrote {len(entries)} structures and index.json to {output}")
        stale = stale_files(output, entries)
        if stale:
            typer.echo(
                f"note: {len(stale)} .vasp file(s) in {output} are not in this study "
                f"(left in place): {', '.join(stale[:5])}{' …' if len(stale) > 5 else ''}"
            )
        return
    if system is None:
        _fail("name a SYSTEM or use --all")
    from cztflow.structures.adsorption import add_k, k_sites
    from cztflow.structures.io import file_format, index_entry, write_structure

    try:
        file_format(output)
        built = build_system(system, _params(params))
        structure = built.structure
        if k_site:
            sites = {s.name: s for s in k_sites(structure)}
            if k_site not in sites:
                _fail(f"{system} has no site {k_site!r}; sites: {', '.join(sites)}")
            structure = add_k(structure, sites[k_site])
    except ValueError as exc:
        _fail(str(exc))
    text = write_structure(structure, output, built.name)
    entry = index_entry(
        structure,
        name=built.name,
        file=str(output),
        kind=built.kind,
        builder=built.builder,
        args=built.args,
        text=text,
    )
    if not quiet:
        _summary_table([entry])


@app.command()
def sites(
    system: Annotated[str, typer.Argument(help="Study system or builder name.")],
    params: Params = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the symmetry-distinct K adsorption sites on a slab's top surface."""
    from cztflow.structures.adsorption import k_sites
    from cztflow.structures.study import build_system

    try:
        found = k_sites(build_system(system, _params(params)).structure)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps([s.as_dict() for s in found], indent=1))
        return
    for s in found:
        x, y = (round(v, 3) + 0.0 for v in s.xy)  # + 0.0: a rounded -1e-16 prints as 0.000, not -0.000
        typer.echo(f"{s.name:12s} {s.kind:7s} x={x:8.3f} y={y:8.3f}  over {s.above}")


@app.command()
def interfaces(
    max_strain: Annotated[float, typer.Option(help="Largest |principal strain| (fraction).")] = 0.02,
    max_area: Annotated[float, typer.Option(help="Largest supercell area, Å².")] = 250.0,
    strain_on: Annotated[str, typer.Option(help="znte, cote2 or split.")] = "znte",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List CoTe2(001)/ZnTe(111) coincidence cells: area, strain on each side, atoms."""
    from cztflow.structures.heterostructures import interface_candidates

    try:
        cells = interface_candidates(max_strain=max_strain, max_area=max_area, strain_on=strain_on)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(cells, indent=1, ensure_ascii=False))
        return
    typer.echo(
        f"{'CoTe2':>18s} {'ZnTe':>18s} {'area Å²':>9s} {'ε CoTe2 %':>10s} {'ε ZnTe %':>9s} {'atoms':>6s}"
    )
    for c in cells:
        s = c["strain_percent"]
        typer.echo(
            f"{c['lower']:>18s} {c['upper']:>18s} {c['area']:9.2f} "
            f"{max(s['lower'], key=abs):+10.3f} {max(s['upper'], key=abs):+9.3f} "
            f"{c['natoms']:6d}"
        )


@app.command()
def protocol(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show the paper's protocol: stated settings, recorded decisions and the hash."""
    from cztflow.protocol import default_protocol

    p = default_protocol()
    if as_json:
        data = {
            "name": p.name,
            "paper": p.paper,
            "hash": p.hash,
            "settings": {
                k: {"value": s.value, "unit": s.unit, "source": s.source} for k, s in p.settings.items()
            },
            "decisions": {
                k: {"value": d.value, "unit": d.unit, "reason": d.reason} for k, d in p.decisions.items()
            },
        }
        typer.echo(json.dumps(data, indent=1, ensure_ascii=False, default=_plain))
        return
    typer.echo(f"{p.name}  ({p.paper})\nhash {p.hash}\n\nstated by the paper:")
    for s in p.settings.values():
        unit = f" {s.unit}" if s.unit else ""
        typer.echo(f"  {s.name:18s} {_plain(s.value)!s:28s}{unit:6s}  [{s.source}]")
    typer.echo("\ndecided by cztflow (the paper is silent):")
    for d in p.decisions.values():
        typer.echo(f"  {d.name:22s} {_plain(d.value)!s}")


campaign_app = typer.Typer(help="Write a campaign's VASP input folders from a spec.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")


def _warn_potcars_in_git(output: Path, candidates: list[Path]) -> None:
    """Warn when licensed POTCARs were written inside a git work tree (and say if git ignores them)."""
    import subprocess

    written = [p for p in candidates if p.is_file()]
    if not written:
        return
    try:
        top = subprocess.run(
            ["git", "-C", str(output), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:  # no git on this machine
        return
    if top.returncode != 0:
        return
    ignored = (
        subprocess.run(
            ["git", "-C", str(output), "check-ignore", "-q", str(written[0].resolve())], check=False
        ).returncode
        == 0
    )
    state = "git ignores them here" if ignored else "they are NOT ignored: add 'POTCAR' to .gitignore"
    typer.echo(
        f"warning: {len(written)} POTCAR file(s) written inside the git work tree {top.stdout.strip()}; "
        f"POTCARs are licensed and must not be committed ({state})",
        err=True,
    )


@campaign_app.command("write")
def campaign_write(
    spec: Annotated[Path, typer.Argument(help="Campaign spec, e.g. workflows/fig1.yaml.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Campaign folder.")] = Path("campaign"),
    potcar_spec: Annotated[
        bool | None,
        typer.Option(
            "--potcar-spec/--potcar",
            help="Force POTCAR.spec or real POTCARs (default: POTCAR when PMG_VASP_PSP_DIR is set).",
        ),
    ] = None,
) -> None:
    """Write one input folder per node and campaign.json; unchanged folders stay untouched."""
    from rich.progress import Progress

    from cztflow.workflows.campaign import load_campaign
    from cztflow.workflows.lock import ProtocolLockError
    from cztflow.workflows.writer import write_campaign

    if not spec.is_file():
        _fail(f"{spec}: no such spec file")
    try:
        with Progress(transient=True) as progress:
            task = progress.add_task("building structures", total=None)
            campaign = load_campaign(spec)
            progress.update(task, total=len(campaign.nodes), description="writing")
            report = write_campaign(
                campaign,
                output,
                potcar_spec=potcar_spec,
                progress=lambda n: progress.update(task, advance=1, description=n.id),
            )
    except (ValueError, ProtocolLockError, OSError) as exc:
        _fail(str(exc))
    typer.echo(
        f"{len(campaign.nodes)} nodes in {output}: {len(report.new)} new, "
        f"{len(report.unchanged)} unchanged, {len(report.updated)} updated, "
        f"{len(report.kept)} kept (outputs present)"
    )
    _warn_potcars_in_git(output, [output / n / "POTCAR" for n in campaign.nodes])
    for node, files in report.updated.items():
        typer.echo(f"  updated {node}: {', '.join(files)}")
    for node, files in report.kept.items():
        typer.echo(f"  kept {node}: has outputs; not rewritten although {', '.join(files)} changed")
    if report.stale:
        typer.echo(
            f"  {len(report.stale)} node(s) of the previous campaign.json are no longer in the spec "
            f"(folders left in place): {', '.join(report.stale[:5])}"
        )


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="Campaign folder, tree of VASP input folders, or one folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Machine configuration: also check each NEB's ranks against IMAGES."),
    ] = None,
) -> None:
    """Dry-run check of VASP inputs against the protocol; exit 0 when clean, 1 otherwise."""
    from cztflow.workflows.validate import validate as run_validation

    try:
        machine = None
        if config is not None:
            from cztflow.workflows.config import load_config

            machine = load_config(config)
        findings = run_validation(path, config=machine)
    except (FileNotFoundError, ValueError) as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(
            json.dumps(
                {"path": str(path), "findings": [f.as_dict() for f in findings]}, indent=1, ensure_ascii=False
            )
        )
    else:
        for f in findings:
            typer.echo(f.line())
        typer.echo(f"{len(findings)} problem(s) in {path}" if findings else f"{path}: clean")
    raise typer.Exit(code=1 if findings else 0)


def _plain(obj: Any) -> Any:
    """Mapping proxies and tuples of a frozen protocol as plain JSON types."""
    if hasattr(obj, "items"):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        return [_plain(v) for v in obj]
    return obj


def _register_analysis() -> None:
    from cztflow.cli_analysis import analyze_app, parse

    app.command("parse")(parse)
    app.add_typer(analyze_app, name="analyze")


_register_analysis()


def _register_running() -> None:
    from cztflow.cli_run import launch, run, status, submit

    app.command("run")(run)
    app.command("submit")(submit)
    app.command("launch")(launch)
    app.command("status")(status)


_register_running()


def _register_fig1() -> None:
    from cztflow.cli_fig1 import fig1

    app.command("fig1")(fig1)


_register_fig1()


if __name__ == "__main__":
    app()
