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
        typer.echo(f"{s.name:12s} {s.kind:7s} x={s.xy[0]:8.3f} y={s.xy[1]:8.3f}  over {s.above}")


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


def _plain(obj: Any) -> Any:
    """Mapping proxies and tuples of a frozen protocol as plain JSON types."""
    if hasattr(obj, "items"):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, tuple | list):
        return [_plain(v) for v in obj]
    return obj


if __name__ == "__main__":
    app()
