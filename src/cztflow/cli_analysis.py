"""``cztflow parse`` and ``cztflow analyze …``: finished runs into numbers.

Exit status: 0 when the result is clean, 1 when it was computed but is flagged
(unconverged run, warnings), 2 when a file is rejected (the message names it and why).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

analyze_app = typer.Typer(help="Fig. 1 quantities from finished runs.", no_args_is_help=True)

AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _reject(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _emit(data: dict[str, Any], as_json: bool, rows: list[tuple[str, str]], flagged: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=1, ensure_ascii=False))
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(show_header=False)
        table.add_column("quantity")
        table.add_column("value", justify="right")
        for key, value in rows:
            table.add_row(key, value)
        Console(width=120).print(table)
        for warning in data.get("warnings", []) + data.get("issues", []):
            typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    raise typer.Exit(code=1 if flagged else 0)


def _f(value: float | None, unit: str = "eV", digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f} {unit}"


def parse(
    path: Annotated[Path, typer.Argument(help="OUTCAR, vasprun.xml (any compression) or a run folder.")],
    as_json: AsJson = False,
) -> None:
    """Summary of a finished run; exit 1 if it is unconverged, 2 if the file is rejected."""
    from cztflow.analysis import VaspOutputError, read_run

    try:
        run = read_run(path)
    except VaspOutputError as exc:
        _reject(exc)
    data = run.to_dict()
    rows = [
        ("file", str(run.path)),
        ("VASP", run.vasp_version),
        ("final energy (σ→0)", _f(run.final_energy, digits=8)),
        ("free energy", _f(run.free_energy, digits=8)),
        ("E-fermi", _f(run.efermi)),
        ("ionic steps", str(run.ionic_steps)),
        ("converged", str(run.converged)),
    ]
    _emit(data, as_json, rows, flagged=not run.converged)


@analyze_app.command("adsorption")
def adsorption(
    ads: Annotated[list[Path], typer.Option("--ads", help="Adsorbed system (repeat for several sites).")],
    sub: Annotated[Path, typer.Option("--sub", help="Clean substrate.")],
    ref: Annotated[Path, typer.Option("--ref", help="Adsorbate reference: bcc K bulk or an isolated atom.")],
    ref_kind: Annotated[str, typer.Option(help="bulk, atom, molecule or auto.")] = "auto",
    allow_unconverged: Annotated[bool, typer.Option(help="Accept runs flagged unconverged.")] = False,
    as_json: AsJson = False,
) -> None:
    """E_ads = E(ad/sub) − m·E(sub) − n·μ(ref) per site, and the most stable site."""
    from cztflow.analysis import VaspOutputError, read_run
    from cztflow.analysis.adsorption import adsorption_energy, most_stable

    try:
        substrate, reference = read_run(sub), read_run(ref)
        results = [
            adsorption_energy(
                read_run(p),
                substrate,
                reference,
                reference_kind=ref_kind,
                site=str(p),
                allow_unconverged=allow_unconverged,
            )
            for p in ads
        ]
    except VaspOutputError as exc:
        _reject(exc)
    best = most_stable(results)
    data = {
        "adsorption_energy": best.adsorption_energy,
        "most_stable_site": best.site,
        "sites": [r.to_dict() for r in results],
    }
    rows = [(r.site, _f(r.adsorption_energy)) for r in results] + [("most stable", best.site)]
    _emit(data, as_json, rows, flagged=False)


@analyze_app.command("neb")
def neb(
    directory: Annotated[Path, typer.Argument(help="CI-NEB folder with 00 … N.")],
    initial: Annotated[
        Path | None, typer.Option(help="End-point relaxation for 00, if 00 has no OUTCAR.")
    ] = None,
    final: Annotated[
        Path | None, typer.Option(help="End-point relaxation for N, if N has no OUTCAR.")
    ] = None,
    profile: Annotated[bool, typer.Option(help="Include the spline profile in the JSON.")] = False,
    as_json: AsJson = False,
) -> None:
    """Image energies, forward/reverse barriers, climbing image and a force-aware profile."""
    from cztflow.analysis import VaspOutputError
    from cztflow.analysis.neb import analyze_neb, read_neb

    try:
        result = analyze_neb(read_neb(directory, initial=initial, final=final))
    except VaspOutputError as exc:
        _reject(exc)
    rows = [(f"image {i:02d}", _f(e)) for i, e in enumerate(result.energies)] + [
        ("forward barrier", _f(result.barrier_forward)),
        ("reverse barrier", _f(result.barrier_reverse)),
        ("climbing image", str(result.climbing_image)),
        ("spline barrier", _f(result.spline_barrier_forward)),
    ]
    _emit(
        result.to_dict(profile=profile), as_json, rows, flagged=not result.converged or bool(result.warnings)
    )


@analyze_app.command("workfunction")
def workfunction(
    directory: Annotated[Path, typer.Argument(help="Folder with a LOCPOT and an OUTCAR or vasprun.xml.")],
    efermi: Annotated[
        float | None, typer.Option(help="Fermi level (eV) when the folder has no OUTCAR.")
    ] = None,
    min_distance: Annotated[float, typer.Option(help="Plateau starts this far from the atoms (Å).")] = 4.0,
    profile: Annotated[bool, typer.Option(help="Include the planar average in the JSON.")] = False,
    as_json: AsJson = False,
) -> None:
    """Vacuum level(s) and Φ = V_vac − E_F of each side of a slab."""
    import numpy as np

    from cztflow.analysis import VaspOutputError, read_run
    from cztflow.analysis.errors import AnalysisError
    from cztflow.analysis.textfile import find_output
    from cztflow.analysis.volumetric import read_planar_average
    from cztflow.analysis.workfunction import work_function

    try:
        locpot, planar = read_planar_average(find_output(directory, "LOCPOT"))
        if efermi is None:
            efermi = read_run(directory).efermi
            if efermi is None:
                raise AnalysisError(directory, "the run printed no Fermi level; pass --efermi")
        c = float(np.linalg.norm(locpot.lattice[2]))
        try:
            result = work_function(planar, c, locpot.frac[:, 2], efermi, min_distance=min_distance)
        except ValueError as exc:
            raise AnalysisError(locpot.path, str(exc)) from None
    except VaspOutputError as exc:
        _reject(exc)
    rows = [("E-fermi", _f(result.efermi))]
    for level, phi in zip(result.vacuum_levels, result.work_functions, strict=True):
        rows += [(f"vacuum level ({level.side})", _f(level.level)), (f"Φ ({level.side})", _f(phi))]
    if result.step:
        rows.append(("dipole step", _f(result.step)))
    _emit(result.to_dict(profile=profile), as_json, rows, flagged=bool(result.warnings))


@analyze_app.command("gap")
def gap(
    path: Annotated[
        Path, typer.Argument(help="vasprun.xml (any compression), cztflow-result.json, or their folder.")
    ],
    as_json: AsJson = False,
) -> None:
    """Band gap by occupations and by the Fermi level; direct/indirect; metal or not."""
    from cztflow.analysis import VaspOutputError, read_electronic
    from cztflow.analysis.electronic import band_gap
    from cztflow.analysis.errors import AnalysisError

    try:
        run = read_electronic(path)
        if run.eigenvalues is None:
            raise AnalysisError(run.path, "holds no eigenvalues")
        try:
            by_occupation = band_gap(run.eigenvalues, run.occupations)
            by_fermi = (
                band_gap(run.eigenvalues, efermi=run.efermi, method="fermi")
                if run.efermi is not None
                else None
            )
        except ValueError as exc:
            raise AnalysisError(run.path, str(exc)) from None
    except VaspOutputError as exc:
        _reject(exc)
    data = {
        "gap": by_occupation.gap,
        "direct": by_occupation.direct,
        "is_metal": by_occupation.is_metal,
        "vbm": by_occupation.vbm,
        "cbm": by_occupation.cbm,
        "efermi": run.efermi,
        "fermi_level_based": by_fermi.to_dict() if by_fermi else None,
        "issues": run.issues,
    }
    rows = [
        ("gap (occupations)", _f(by_occupation.gap)),
        ("direct", str(by_occupation.direct)),
        ("metal", str(by_occupation.is_metal)),
        ("gap (Fermi level)", _f(by_fermi.gap) if by_fermi else "—"),
        ("metal (Fermi level)", str(by_fermi.is_metal) if by_fermi else "—"),
    ]
    _emit(data, as_json, rows, flagged=not run.converged)


@analyze_app.command("chgdiff")
def chgdiff(
    whole: Annotated[Path, typer.Argument(help="CHGCAR of the interface AB (or its folder).")],
    part_a: Annotated[Path, typer.Argument(help="CHGCAR of fragment A alone, same cell.")],
    part_b: Annotated[Path, typer.Argument(help="CHGCAR of fragment B alone, same cell.")],
    as_json: AsJson = False,
) -> None:
    """Δρ = ρ(AB) − ρ(A) − ρ(B): planar profile and the charge moved into A."""
    from cztflow.analysis import VaspOutputError
    from cztflow.analysis.chgdiff import charge_difference
    from cztflow.analysis.textfile import find_output
    from cztflow.analysis.volumetric import read_volumetric

    def load(p: Path):
        return read_volumetric(find_output(p, "CHGCAR") if p.is_dir() else p, max_blocks=1)

    try:
        result = charge_difference(load(whole), load(part_a), load(part_b))
    except VaspOutputError as exc:
        _reject(exc)
    rows = [
        ("charge gained by A", _f(result.transferred_charge, "e")),
        ("interface plane", _f(result.interface_z, "Å", 2)),
        ("fragment below it", result.lower),
    ]
    _emit(result.to_dict(), as_json, rows, flagged=False)
