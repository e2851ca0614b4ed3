"""Every Fig. 1 quantity of a finished campaign, with its provenance.

:func:`collect_fig1` walks ``campaign.json``, groups nodes by the material they model
(:mod:`.materials`), and computes with :mod:`cztflow.analysis`:

* K adsorption energies at the most stable site, against bcc K and against the K atom;
* the highest K migration barrier of each CI-NEB band;
* work functions of the CoTe2 and ZnTe slabs, their difference, and the vacuum-level
  step across the CoTe2/ZnTe slab;
* band gap or metallic character of each band structure / DOS;
* the charge moved across the CoTe2/ZnTe interface.

A quantity whose runs are missing or rejected becomes a *problem* (what and why), never a
number.  Runs may come from VASP or any cztflow engine: the readers are the same.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from cztflow.analysis import read_electronic, read_run
from cztflow.analysis.adsorption import adsorption_energy, most_stable
from cztflow.analysis.chgdiff import charge_difference
from cztflow.analysis.electronic import band_gap, band_path_distances
from cztflow.analysis.errors import AnalysisError, VaspOutputError
from cztflow.analysis.neb import analyze_neb, read_neb
from cztflow.analysis.poscar import read_poscar
from cztflow.analysis.textfile import find_output
from cztflow.analysis.volumetric import read_planar_average, read_volumetric
from cztflow.analysis.workfunction import work_function
from cztflow.report.materials import LABELS, MATERIALS, material_of
from cztflow.result_format import RESULT_FILE

__all__ = ["Fig1Data", "Row", "collect_fig1", "paper_values"]

_FAILURES = (VaspOutputError, AnalysisError, ValueError, OSError)


@dataclass
class Row:
    """One line of the Fig. 1 table.

    Attributes
    ----------
    quantity, material
        What and on which material (as the paper names it).
    value
        The computed number, or a word (``metal``) where the quantity is a character.
    unit
        Unit of ``value`` and ``paper``.
    paper
        The paper's value (number or word), None where the paper gives none.
    difference
        value − paper for numbers; ``agrees`` / ``differs`` for words; None without a paper value.
    engine
        Engine, version and model that produced the numbers.
    settings
        Protocol deviations declared for the node(s), or ``protocol``.
    node
        Campaign node(s) the value comes from.
    note
        Site, reference or side, in words.
    """

    quantity: str
    material: str
    value: float | str | None
    unit: str
    paper: float | str | None
    difference: float | str | None
    engine: str
    settings: str
    node: str
    note: str = ""


@dataclass
class Fig1Data:
    """What :func:`collect_fig1` found: the table rows, the figure's data and the gaps."""

    root: str
    campaign: str
    rows: list[Row] = field(default_factory=list)
    panels: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: rows and problems (the figure data stays out)."""
        return {
            "format": "cztflow-fig1/1",
            "campaign": self.campaign,
            "root": self.root,
            "rows": [asdict(r) for r in self.rows],
            "problems": self.problems,
        }


def paper_values() -> dict[str, Any]:
    """The paper's Fig. 1 numbers (``data/paper.yaml``)."""
    text = (resources.files("cztflow") / "data" / "paper.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["fig1"]


def _engine(run: Any) -> str:
    info = run.parameters.get("engine") if isinstance(run.parameters, dict) else None
    if isinstance(info, dict):
        name = f"{info.get('engine', '?')} {info.get('version', '')}".strip()
        extra = [str(info[k]) for k in ("model", "mode") if info.get(k)]
        if info.get("dispersion"):
            extra.append("D3")
        return f"{name} ({', '.join(extra)})" if extra else name
    return f"VASP {run.vasp_version}".strip()


class _Campaign:
    """campaign.json plus the material of each node, read once."""

    def __init__(self, root: Path) -> None:
        path = root / "campaign.json"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: missing; give a folder written by 'cztflow campaign write'")
        try:
            self.doc = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON: {exc}") from None
        self.root = root
        self.nodes = {n["id"]: n for n in self.doc.get("nodes", [])}
        self.material = {nid: self._material(n) for nid, n in self.nodes.items()}

    def _material(self, node: dict[str, Any]) -> str | None:
        folder = self.root / node["folder"]
        poscar = folder / ("00/POSCAR" if node["kind"] == "neb" else "POSCAR")
        try:
            return material_of(read_poscar(poscar)[1])
        except _FAILURES:
            return None

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [n for n in self.nodes.values() if n["kind"] == kind]

    def folder(self, node_id: str) -> Path:
        return self.root / self.nodes[node_id]["folder"]

    def _lcao(self, node_id: str) -> bool:
        """Whether an open engine ran this node in LCAO (no plane-wave cutoff); False if unknown."""
        try:
            doc = json.loads((self.folder(node_id) / RESULT_FILE).read_text(encoding="utf-8"))
            return bool(doc["engine"].get("lcao"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return False

    def settings(self, *node_ids: str) -> str:
        """The declared deviations of ``node_ids``, tag by tag; ENCUT is left out for LCAO runs."""
        devs: dict[str, list[str]] = {}
        for nid in node_ids:
            lcao = self._lcao(nid)
            for dev in self.nodes[nid].get("deviations", []):
                if lcao and dev["tag"] == "ENCUT":
                    continue
                shown = str(dev["value"])
                if shown not in devs.setdefault(dev["tag"], []):
                    devs[dev["tag"]].append(shown)
        return ", ".join(f"{k} = {' / '.join(v)}" for k, v in sorted(devs.items())) or "protocol"

    def first(self, kind: str, material: str, **match: Any) -> dict[str, Any] | None:
        for node in self.of_kind(kind):
            if self.material[node["id"]] == material and all(node.get(k) == v for k, v in match.items()):
                return node
        return None


def _diff(value: Any, paper: Any) -> float | str | None:
    if paper is None or value is None:
        return None
    if isinstance(paper, int | float) and isinstance(value, int | float):
        return round(float(value) - float(paper), 4)
    return "agrees" if str(value).split()[0] == str(paper).split()[0] else "differs"


class _Collector:
    def __init__(self, root: Path) -> None:
        self.c = _Campaign(root)
        self.paper = paper_values()
        self.data = Fig1Data(str(root), str(self.c.doc.get("name", root.name)))

    def row(
        self,
        quantity: str,
        material: str,
        value: Any,
        unit: str,
        paper: Any,
        run: Any,
        nodes: list[str],
        note: str = "",
    ) -> None:
        self.data.rows.append(
            Row(
                quantity,
                LABELS.get(material, material),
                value,
                unit,
                paper,
                _diff(value, paper),
                _engine(run),
                self.c.settings(*nodes),
                ", ".join(nodes),
                note,
            )
        )

    def problem(self, what: str, exc: Exception | str) -> None:
        self.data.problems.append(f"{what}: {exc}")

    # --- adsorption ------------------------------------------------------------------------
    def references(self) -> dict[str, tuple[str, Any]]:
        refs: dict[str, tuple[str, Any]] = {}
        for node in self.c.nodes.values():
            if node["kind"] not in ("relax", "static") or node.get("substrate"):
                continue
            try:
                species = read_poscar(self.c.folder(node["id"]) / "POSCAR")[1]
            except _FAILURES:
                continue
            if set(species) == {"K"}:
                kind = (
                    "atom"
                    if node.get("geometry") in ("molecule", "atom") or node["kind"] == "static"
                    else "bulk"
                )
                try:
                    refs[kind] = (node["id"], read_run(self.c.folder(node["id"])))
                except _FAILURES as exc:
                    self.problem(f"K reference {node['id']}", exc)
        return refs

    def adsorption(self) -> None:
        refs = self.references()
        if not refs:
            self.problem(
                "K adsorption energy", "the campaign has no finished K reference (bcc K or the K atom)"
            )
        paper = self.paper["adsorption_energy"]["values"]
        panel: dict[str, Any] = {}
        substrates = dict.fromkeys(
            n["substrate"] for n in self.c.of_kind("relax") if n.get("substrate") and n.get("site")
        )
        done: set[str] = set()
        for sub in substrates:
            sub_id = f"relax/{sub}"
            material = self.c.material.get(sub_id)
            if material is None or material in done or sub_id not in self.c.nodes:
                continue
            sites = [
                n
                for n in self.c.of_kind("relax")
                if n.get("substrate") == sub and not str(n.get("site", "")).endswith("'")
            ]
            try:
                sub_run = read_run(self.c.folder(sub_id))
                runs = [(n["id"], read_run(self.c.folder(n["id"]))) for n in sites]
            except _FAILURES as exc:
                self.problem(f"K adsorption on {LABELS[material]} ({sub})", exc)
                continue
            done.add(material)
            for kind in ("bulk", "atom"):
                if kind not in refs:
                    continue
                ref_id, ref_run = refs[kind]
                try:
                    energies = [
                        adsorption_energy(r, sub_run, ref_run, reference_kind=kind, site=nid)
                        for nid, r in runs
                    ]
                except _FAILURES as exc:
                    self.problem(f"K adsorption on {LABELS[material]} vs {kind} K", exc)
                    continue
                best = most_stable(energies)
                site = best.site.split(f"{sub}-")[-1]
                what = "bcc K" if kind == "bulk" else "the K atom"
                self.row(
                    f"K adsorption energy (vs {what})",
                    material,
                    round(best.adsorption_energy, 4),
                    "eV",
                    paper.get(material),
                    runs[0][1],
                    [best.site, sub_id, ref_id],
                    f"most stable of {len(energies)} sites: {site}",
                )
                if kind == "bulk":
                    panel[material] = {
                        "energy": best.adsorption_energy,
                        "paper": paper.get(material),
                        "site": site,
                        "sites": {e.site.split(f"{sub}-")[-1]: e.adsorption_energy for e in energies},
                    }
        self.data.panels["adsorption"] = panel

    # --- migration -------------------------------------------------------------------------
    def migration(self) -> None:
        paper = self.paper["migration_barrier"]["values"]
        panel: dict[str, Any] = {}
        for node in self.c.of_kind("neb"):
            material = self.c.material[node["id"]]
            if material is None or material in panel:
                continue
            try:
                band = read_neb(self.c.folder(node["id"]))
                result = analyze_neb(band)
            except _FAILURES as exc:
                self.problem(f"K migration barrier {node['id']}", exc)
                continue
            run = read_run(band.images[1].source)
            # the band's own warnings always; each image's issues only when it is not converged
            band_warnings = [w for w in result.warnings if not w.startswith("image ")]
            flags = "".join(f"; {w}" for w in band_warnings)
            if not result.converged:
                flags += "; not converged: " + "; ".join(result.warnings)
            self.row(
                "K migration barrier (highest)",
                material,
                round(result.barrier_forward, 4),
                "eV",
                paper.get(material),
                run,
                [node["id"]],
                f"hop from {node.get('site', '?')}, climbing image {result.climbing_image}{flags}",
            )
            panel[material] = {
                "distances": result.distances.tolist(),
                "energies": result.energies.tolist(),
                "spline_s": result.spline_s.tolist(),
                "spline_energies": result.spline_energies.tolist(),
                "paper": paper.get(material),
            }
        self.data.panels["neb"] = panel

    # --- work functions --------------------------------------------------------------------
    def _work_function(self, node_id: str) -> tuple[Any, Any, Any]:
        folder = self.c.folder(node_id)
        locpot, planar = read_planar_average(find_output(folder, "LOCPOT"))
        run = read_run(folder)
        if run.efermi is None:
            raise AnalysisError(folder, "the run printed no Fermi level")
        c = float(np.linalg.norm(locpot.lattice[2]))
        try:
            return work_function(planar, c, locpot.frac[:, 2], run.efermi), run, locpot
        except ValueError as exc:
            raise AnalysisError(locpot.path, str(exc)) from None

    def _work_function_of(self, material: str) -> tuple[dict[str, Any], Any, Any, Any] | None:
        """The first work-function node of ``material`` and its analysis; None if absent or failed."""
        node = self.c.first("workfunction", material)
        if node is None:
            return None
        try:
            return (node, *self._work_function(node["id"]))
        except _FAILURES as exc:
            self.problem(f"work function {node['id']}", exc)
            return None

    @staticmethod
    def _side(result: Any, side: str) -> float:
        for level, phi in zip(result.vacuum_levels, result.work_functions, strict=True):
            if level.side in (side, "both"):
                return phi
        return result.work_functions[0]

    def work_functions(self) -> None:
        paper = self.paper["work_function"]["values"]
        phis: dict[str, tuple[float, str]] = {}
        for material in ("cote2", "znte"):
            found = self._work_function_of(material)
            if found is None:
                continue
            node, result, run, _ = found
            phi = self._side(result, "top")
            phis[material] = (phi, node["id"])
            self.data.panels.setdefault("slab_potentials", {})[material] = {
                "z": result.z.tolist(),
                "profile": (result.profile - result.efermi).tolist(),
                "phi": phi,
            }
            warn = "; " + "; ".join(result.warnings) if result.warnings else ""
            self.row(
                "Work function",
                material,
                round(phi, 4),
                "eV",
                paper.get(material),
                run,
                [node["id"]],
                f"top face, dipole-corrected, E_F = {result.efermi:.3f} eV{warn}",
            )
        if len(phis) == 2:
            step = phis["cote2"][0] - phis["znte"][0]
            paper_step = round(paper["cote2"] - paper["znte"], 4) if {"cote2", "znte"} <= set(paper) else None
            self.data.rows.append(
                Row(
                    "Work-function difference Φ(CoTe2) − Φ(ZnTe)",
                    "CoTe2/ZnTe",
                    round(step, 4),
                    "eV",
                    paper_step,
                    _diff(round(step, 4), paper_step),
                    self.data.rows[-1].engine,
                    self.c.settings(phis["cote2"][1], phis["znte"][1]),
                    f"{phis['cote2'][1]}, {phis['znte'][1]}",
                    "drives electrons from ZnTe to CoTe2 when positive (paper: 6.81 − 5.31)",
                )
            )
        found = self._work_function_of("cote2-znte")
        if found is None:
            return
        node, result, run, locpot = found
        sides = {lv.side: phi for lv, phi in zip(result.vacuum_levels, result.work_functions, strict=True)}
        note = ", ".join(f"Φ {side} = {phi:.3f} eV" for side, phi in sides.items())
        self.row(
            "Vacuum-level step across the CoTe2/ZnTe slab (top − bottom)",
            "cote2-znte",
            round(result.step, 4),
            "eV",
            None,
            run,
            [node["id"]],
            f"ZnTe face on top, CoTe2 face below; {note}",
        )
        c = float(np.linalg.norm(locpot.lattice[2]))
        self.data.panels["potential"] = {
            "z": result.z.tolist(),
            "profile": (result.profile - result.efermi).tolist(),
            "work_functions": sides,
            "c": c,
            "node": node["id"],
        }

    # --- electronic structure --------------------------------------------------------------
    def electronic(self) -> None:
        paper = self.paper["band_character"]["values"]
        panel: dict[str, Any] = {}
        for material in ("cote2", "znte", "cote2-znte"):
            bands = self.c.first("bands", material)
            dos = self.c.first("dos", material)
            nodes = [n for n in (bands, dos) if n is not None]
            if not nodes:
                continue
            gaps, entry, run = [], {}, None
            for node in nodes:
                try:
                    run = read_electronic(self.c.folder(node["id"]))
                    if run.eigenvalues is None or run.efermi is None:
                        raise AnalysisError(run.path, "holds no eigenvalues or no Fermi level")
                    gaps.append(band_gap(run.eigenvalues, efermi=run.efermi, method="fermi"))
                except _FAILURES as exc:
                    self.problem(f"band gap {node['id']}", exc)
                    continue
                if node is bands and run.kpoints is not None:
                    reciprocal = run.reciprocal_lattice
                    if reciprocal is None:  # rows without the 2π, as vasprun.xml stores them
                        reciprocal = np.linalg.inv(np.asarray(run.lattice, dtype=float)).T
                    entry["k"] = band_path_distances(run.kpoints, reciprocal).tolist()
                    entry["bands"] = (run.eigenvalues - run.efermi).tolist()
                if node is dos and run.dos_energies is not None and run.dos_total is not None:
                    entry["dos_energies"] = (np.asarray(run.dos_energies) - run.efermi).tolist()
                    entry["dos"] = (
                        np.asarray(run.dos_total).sum(axis=0).tolist()
                        if np.ndim(run.dos_total) == 2
                        else np.asarray(run.dos_total).tolist()
                    )
            if not gaps or run is None:
                continue
            metal = any(g.is_metal for g in gaps)
            gap = 0.0 if metal else min(g.gap for g in gaps)
            kind = (
                "" if metal else (" direct" if all(g.direct for g in gaps if g.gap == gap) else " indirect")
            )
            value = "metal" if metal else "semiconductor"
            self.row(
                "Band character",
                material,
                value,
                "",
                paper.get(material),
                run,
                [n["id"] for n in nodes],
                "bands cross E_F" if metal else f"gap {gap:.3f} eV{kind} (PBE)",
            )
            self.row(
                "Band gap",
                material,
                round(gap, 4),
                "eV",
                None,
                run,
                [n["id"] for n in nodes],
                "0 for a metal; the paper shows gaps but states no value",
            )
            entry["gap"] = gap
            panel[material] = entry
        self.data.panels["electronic"] = panel

    # --- charge transfer -------------------------------------------------------------------
    def charge_transfer(self) -> None:
        groups: dict[str, dict[str, Any]] = {}
        for node in self.c.of_kind("chgdiff"):
            groups.setdefault(node.get("group", node["system"]), {}).setdefault(
                node.get("role", "?"), []
            ).append(node)
        for group, roles in groups.items():
            if len(roles.get("whole", [])) != 1 or len(roles.get("part", [])) != 2:
                self.problem(f"charge transfer {group}", "needs one whole and two part nodes")
                continue
            whole, parts = roles["whole"][0], roles["part"]
            try:
                grids = [
                    read_volumetric(find_output(self.c.folder(n["id"]), "CHGCAR"), max_blocks=1)
                    for n in (whole, *parts)
                ]
                result = charge_difference(*grids)
                run = read_run(self.c.folder(whole["id"]))
            except _FAILURES as exc:
                self.problem(f"charge transfer {group}", exc)
                continue
            names = [material_of(g.species) for g in grids[1:]]
            if "cote2" not in names:
                self.problem(f"charge transfer {group}", "no part is CoTe2 alone")
                continue
            gained = result.transferred_charge if names[0] == "cote2" else -result.transferred_charge
            direction = "ZnTe → CoTe2" if gained > 0 else "CoTe2 → ZnTe"
            self.row(
                "Electrons gained by CoTe2 at the interface",
                "cote2-znte",
                round(gained, 4),
                "e",
                None,
                run,
                [n["id"] for n in (whole, *parts)],
                f"{direction}; Δρ = ρ(AB) − ρ(CoTe2) − ρ(ZnTe) integrated to the interface plane",
            )
            self.row(
                "Direction of electron transfer",
                "cote2-znte",
                direction,
                "",
                "ZnTe → CoTe2",
                run,
                [whole["id"]],
                "the paper states the direction from the work functions, no amount",
            )
            self.data.panels["chgdiff"] = {
                "z": result.z.tolist(),
                "planar": result.planar.tolist(),
                "cumulative": result.cumulative.tolist(),
                "interface_z": result.interface_z,
                "group": group,
            }
            break


def collect_fig1(root: str | Path) -> Fig1Data:
    """Every Fig. 1 quantity the finished runs under ``root`` allow.

    Parameters
    ----------
    root
        A campaign folder (``campaign.json`` plus node folders), run by any engine.

    Raises
    ------
    FileNotFoundError
        If ``root`` has no ``campaign.json``.
    ValueError
        If ``campaign.json`` is not valid JSON.
    """
    collector = _Collector(Path(root))
    for step in (
        collector.adsorption,
        collector.migration,
        collector.work_functions,
        collector.electronic,
        collector.charge_transfer,
    ):
        step()
    order = {LABELS[m]: i for i, m in enumerate(MATERIALS)}
    collector.data.rows.sort(key=lambda r: (_quantity_order(r.quantity), order.get(r.material, 99)))
    return collector.data


def _quantity_order(quantity: str) -> int:
    for i, prefix in enumerate(
        (
            "K adsorption energy (vs bcc",
            "K adsorption energy (vs the",
            "K migration",
            "Work function",
            "Work-function",
            "Vacuum",
            "Band character",
            "Band gap",
            "Electrons",
            "Direction",
        )
    ):
        if quantity.startswith(prefix):
            return i
    return 99
