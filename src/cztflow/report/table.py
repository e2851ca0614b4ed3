"""The Fig. 1 table as Markdown, CSV and JSON, with the honest-physics notes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from cztflow.atomic_files import remove_stale_temps, write_text_atomic
from cztflow.report.collect import Fig1Data, Row

__all__ = ["COLUMNS", "DISCUSSION", "to_csv", "to_json", "to_markdown", "write_tables"]

#: Table columns, in order (the CSV header and the Row fields).
COLUMNS = (
    "quantity",
    "material",
    "value",
    "unit",
    "paper",
    "difference",
    "engine",
    "settings",
    "node",
    "note",
)

#: Why computed values are expected to differ from the paper's, by quantity.
DISCUSSION = {
    "K adsorption energy": (
        "The paper's formula uses E_ad, 'the adsorbate in the structure', without saying whether "
        "that is bcc K or the K atom; the two references differ by the cohesive energy of K "
        "(0.93 eV measured, ~0.9 eV in PBE+D3), so both are given. The open run's energies come "
        "from CHGNet (trained on PBE/PBE+U data) plus D3, not from PBE itself; MLIP errors of "
        "0.1–0.3 eV on adsorption energies of an alkali on a telluride are usual."
    ),
    "K migration barrier": (
        "Barriers of 0.1–0.4 eV are set by a shallow energy landscape that an MLIP reproduces only "
        "roughly; the ordering of the three materials is the comparison to make, not the digits. "
        "The open run's hop on CoTe2/ZnTe uses the 2×2/√3 cell (60 atoms), not the paper's cell."
    ),
    "Work function": (
        "The paper's 6.81 eV for CoTe2 is far above the 5–5.5 eV typical of Te-terminated "
        "tellurides; a missing or mis-set dipole correction, or a Te-rich termination, could "
        "explain it. Here both faces are dipole-corrected (LDIPOL, IDIPOL = 3, or GPAW's dipole "
        "layer). For semiconducting ZnTe the Fermi level of a smeared slab sits in the gap, so "
        "its 'work function' depends on where E_F falls; only the sign of Φ(CoTe2) − Φ(ZnTe), "
        "which sets the direction of electron transfer, is robust."
    ),
    "Band character": (
        "Trigonal CoTe2 is metallic in experiment (a layered CdI2-type metal) and in PBE; the "
        "paper's gap for CoTe2 cannot be reproduced with standard PBE for either polymorph. "
        "ZnTe is a semiconductor with a PBE gap of about 1 eV against 2.26 eV measured, the usual "
        "PBE underestimate. The metallic heterostructure follows from the metallic CoTe2."
    ),
    "Electrons gained by CoTe2": (
        "The paper states only the direction, from the work functions. The amount depends on "
        "where the interface plane is drawn and on the strain of the coincidence cell."
    ),
}


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:+.3f}" if value < 0 else f"{value:.3f}"
    return str(value)


def to_markdown(data: Fig1Data) -> str:
    """The table, the problems and the discussion as one Markdown document."""
    out = [
        f"# Fig. 1 of Pan et al., Nano-Micro Lett. 15:225 (2023), recomputed: campaign `{data.campaign}`",
        "",
        "| quantity | material | computed | paper | difference | unit | engine | settings | node | note |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data.rows:
        out.append(
            "| "
            + " | ".join(
                _cell(x).replace("|", "\\|")
                for x in (
                    r.quantity,
                    r.material,
                    r.value,
                    r.paper,
                    r.difference,
                    r.unit,
                    r.engine,
                    r.settings,
                    r.node,
                    r.note,
                )
            )
            + " |"
        )
    if data.problems:
        out += ["", "## Not computed", ""] + [f"- {p}" for p in data.problems]
    out += ["", "## Why the numbers differ from the paper", ""]
    present = {r.quantity.split(" (")[0] for r in data.rows}
    for key, text in DISCUSSION.items():
        if any(q.startswith(key) for q in present):
            out += [f"**{key}.** {text}", ""]
    return "\n".join(out).rstrip() + "\n"


def to_csv(rows: list[Row]) -> str:
    """The rows as CSV with a header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(["" if getattr(r, c) is None else getattr(r, c) for c in COLUMNS])
    return buffer.getvalue()


def to_json(data: Fig1Data) -> str:
    """Rows and problems as JSON (format ``cztflow-fig1/1``)."""
    return json.dumps(data.to_dict(), indent=1, ensure_ascii=False) + "\n"


def write_tables(data: Fig1Data, outdir: str | Path) -> list[Path]:
    """Write ``fig1.md``, ``fig1.csv`` and ``fig1.json`` into ``outdir``; return the paths.

    Each file is written whole or not at all (:mod:`cztflow.atomic_files`): a kill leaves
    the previous report's file, and temporaries of killed writers are removed.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    files = {"fig1.md": to_markdown(data), "fig1.csv": to_csv(data.rows), "fig1.json": to_json(data)}
    remove_stale_temps(outdir, files)
    paths = []
    for name, text in files.items():
        write_text_atomic(outdir / name, text)
        paths.append(outdir / name)
    return paths
