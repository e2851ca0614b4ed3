"""MkDocs hook: generate the protocol page, the structure table and pictures at build time.

Everything under docs/generated/ is rebuilt on each ``mkdocs build`` from the package's
own data (protocol.yaml, study.yaml), so the docs cannot drift from the code.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

VIEWS = {"side": "-90x", "top": ""}


def _protocol_page() -> str:
    from cztflow.protocol import default_protocol

    p = default_protocol()
    lines = [
        "# The protocol",
        "",
        f"`cztflow.protocol` loads `cztflow/data/protocol.yaml`: *{p.paper}*.",
        f"Content hash: `{p.hash}` (generated inputs carry its first 12 digits, `{p.short_hash}`).",
        "",
        "## Stated by the paper",
        "",
        "| setting | value | unit | VASP tags | where the paper states it |",
        "|---|---|---|---|---|",
    ]
    for s in p.settings.values():
        tags = ", ".join(f"`{k} = {v}`" for k, v in s.vasp.items())
        value = list(s.value) if isinstance(s.value, tuple) else s.value
        lines.append(f"| `{s.name}` | {value} | {s.unit or ''} | {tags} | {s.source} |")
    lines += [
        "",
        "## Decided by cztflow",
        "",
        "The paper is silent on these; each is a recorded decision, not a hidden default.",
        "",
        "| decision | value | why |",
        "|---|---|---|",
    ]
    for d in p.decisions.values():
        value = dict(d.value) if hasattr(d.value, "items") else d.value
        value = list(value) if isinstance(value, tuple) else value
        unit = f" {d.unit}" if d.unit else ""
        lines.append(f"| `{d.name}` | `{value}`{unit} | {d.reason} |")
    return "\n".join(lines) + "\n"


def _render(structure, path: Path, rotation: str) -> None:
    from ase.io import write
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = AseAtomsAdaptor().get_atoms(structure)
    write(path, atoms, format="png", rotation=rotation, scale=20 if len(atoms) < 100 else 10)


def _gallery(folder: Path) -> str:
    from cztflow.structures.study import build_system, study

    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Structure gallery",
        "",
        "Every system of `study.yaml`, rendered while the docs are built (side view along "
        "the surface, then top view). `cztflow build --all` also writes K on every "
        "distinct site of the adsorption substrates and the IDPP images of each K hop; "
        "`structures/index.json` lists them.",
        "",
        "| system | formula | atoms | cell (Å) | strain (%) |",
        "|---|---|---|---|---|",
    ]
    pictures = []
    for name in study()["systems"]:
        s = build_system(name).structure
        a, b, c = s.lattice.abc
        strain = s.properties.get("interface", {}).get("strain_percent")
        strain_txt = (
            "" if not strain else ", ".join(f"{side} {max(v, key=abs):+.2f}" for side, v in strain.items())
        )
        lines.append(
            f"| [{name}](#{name}) | {s.composition.reduced_formula} "
            f"({s.composition.formula.replace(' ', '')}) "
            f"| {len(s)} | {a:.3f} × {b:.3f} × {c:.2f} | {strain_txt} |"
        )
        pictures += [f"## {name}", ""]
        for view, rotation in VIEWS.items():
            _render(s, folder / f"{name}-{view}.png", rotation)
            pictures.append(f'![{name} {view} view](models/{name}-{view}.png){{ width="45%" }}')
        pictures.append("")
    return "\n".join([*lines, "", *pictures]) + "\n"


def on_pre_build(config, **_kwargs) -> None:
    out = Path(config["docs_dir"]) / "generated"
    out.mkdir(exist_ok=True)
    (out / "protocol.md").write_text(_protocol_page(), encoding="utf-8")
    (out / "gallery.md").write_text(_gallery(out / "models"), encoding="utf-8")
