"""`cztflow validate`: a clean campaign passes; each realistic mistake is caught by name.

Each mutation starts from a copy of the written Fig. 1 campaign, makes one mistake a
person or a script could make, and asserts the finding (folder, file, check, item) and
the words of its expected/found values.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cztflow.cli import app
from cztflow.workflows.validate import validate
from cztflow.workflows.vaspfiles import read_poscar


def set_tag(root: Path, folder: str, tag: str, value: str | None) -> None:
    """Set (or with None remove) an INCAR tag."""
    path = root / folder / "INCAR"
    lines = [ln for ln in path.read_text().splitlines() if not re.match(rf"{tag}\s*=", ln)]
    if value is not None:
        lines.append(f"{tag} = {value}")
    path.write_text("\n".join(lines) + "\n")


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count))


def write_poscar(path: Path, matrix, species, counts, frac, flags=None) -> None:
    lines = [
        "mutated",
        "1.0",
        *(" ".join(f"{x:.10f}" for x in row) for row in matrix),
        " ".join(species),
        " ".join(map(str, counts)),
    ]
    if flags is not None:
        lines.append("Selective dynamics")
    lines.append("direct")
    for i, f in enumerate(frac):
        extra = "" if flags is None else " " + " ".join("F" if x else "T" for x in flags[i])
        lines.append(" ".join(f"{x:.10f}" for x in f) + extra)
    path.write_text("\n".join(lines) + "\n")


def mutate_poscar(path: Path, change) -> None:
    p = read_poscar(path)
    matrix, frac, species, counts = p.matrix.copy(), p.frac.copy(), list(p.species), list(p.counts)
    flags = p.fixed.copy() if p.selective else None
    matrix, frac, species, counts, flags = change(matrix, frac, species, counts, flags)
    write_poscar(path, matrix, species, counts, frac, flags)


def thin_vacuum(matrix, frac, species, counts, flags):
    cart = frac @ matrix
    new = matrix.copy()
    new[2, 2] -= 9.0
    return new, np.linalg.solve(new.T, cart.T).T, species, counts, flags


def overlap(matrix, frac, species, counts, flags):
    frac[1] = frac[0] + [0.01, 0.0, 0.0]
    return matrix, frac, species, counts, flags


def no_flags(matrix, frac, species, counts, flags):
    return matrix, frac, species, counts, None


def swap_groups(matrix, frac, species, counts, flags):
    n0 = counts[0]
    order = list(range(n0, sum(counts))) + list(range(n0))
    frac = frac[order]
    flags = flags[order] if flags is not None else None
    return matrix, frac, species[1:] + species[:1], counts[1:] + counts[:1], flags


def jump(matrix, frac, species, counts, flags):
    frac[-1] = frac[-1] + np.linalg.solve(matrix.T, [3.0, 0.0, 0.0])
    return matrix, frac, species, counts, flags


def bigger_cell(matrix, frac, species, counts, flags):
    return matrix * [[1.01], [1.0], [1.0]], frac, species, counts, flags


def unknown_element(matrix, frac, species, counts, flags):
    return matrix, frac, ["Xx", *species[1:]], counts, flags


def campaign_json(root: Path, change) -> None:
    path = root / "campaign.json"
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


BULK, SLAB, NEB, WF = (
    "relax/cote2-bulk",
    "relax/cote2-001-4x4",
    "neb/znte-111-3x3",
    "workfunction/znte-111-3x3",
)
PART = "chgdiff/cote2-znte/znte"

# (id, mutation, folder, file, check, item, words in expected or found)
MUTATIONS = [
    ("encut-lowered", lambda r: set_tag(r, BULK, "ENCUT", "400"), BULK, "INCAR", "locked", "ENCUT", "400"),
    ("encut-missing", lambda r: set_tag(r, BULK, "ENCUT", None), BULK, "INCAR", "locked", "ENCUT", "missing"),
    ("sigma-widened", lambda r: set_tag(r, SLAB, "SIGMA", "0.2"), SLAB, "INCAR", "locked", "SIGMA", "0.2"),
    (
        "tetrahedron-smearing",
        lambda r: set_tag(r, BULK, "ISMEAR", "-5"),
        BULK,
        "INCAR",
        "locked",
        "ISMEAR",
        "-5",
    ),
    ("ediff-loose", lambda r: set_tag(r, SLAB, "EDIFF", "1E-4"), SLAB, "INCAR", "locked", "EDIFF", "0.0001"),
    (
        "ediffg-energy",
        lambda r: set_tag(r, SLAB, "EDIFFG", "0.03"),
        SLAB,
        "INCAR",
        "locked",
        "EDIFFG",
        "0.03",
    ),
    ("d3-becke-johnson", lambda r: set_tag(r, SLAB, "IVDW", "12"), SLAB, "INCAR", "locked", "IVDW", "12"),
    ("pbesol", lambda r: set_tag(r, BULK, "GGA", "PS"), BULK, "INCAR", "locked", "GGA", "PS"),
    ("prec-normal", lambda r: set_tag(r, BULK, "PREC", "Normal"), BULK, "INCAR", "locked", "PREC", "Normal"),
    ("lasph-off", lambda r: set_tag(r, BULK, "LASPH", ".FALSE."), BULK, "INCAR", "locked", "LASPH", "False"),
    (
        "misspelled-tag",
        lambda r: edit(r / BULK / "INCAR", "ENCUT =", "ENCTU ="),
        BULK,
        "INCAR",
        "unknown-tag",
        "ENCTU",
        "did you mean ENCUT",
    ),
    (
        "not-a-number",
        lambda r: set_tag(r, BULK, "NSW", "ten"),
        BULK,
        "INCAR",
        "type",
        "NSW",
        "not an integer",
    ),
    (
        "no-equals-sign",
        lambda r: edit(r / BULK / "INCAR", "NELM = 200", "NELM 200"),
        BULK,
        "INCAR",
        "syntax",
        "line 17",
        "NELM 200",
    ),
    (
        "repeated-tag",
        lambda r: edit(r / SLAB / "INCAR", "SIGMA = 0.05", "SIGMA = 0.05\nSIGMA = 0.1"),
        SLAB,
        "INCAR",
        "repeated",
        "SIGMA",
        "again on line",
    ),
    (
        "magmom-length",
        lambda r: set_tag(r, BULK, "MAGMOM", "2*1.0"),
        BULK,
        "INCAR",
        "magmom",
        "MAGMOM",
        "3 values",
    ),
    (
        "ispin-off-with-co",
        lambda r: set_tag(r, BULK, "ISPIN", "1"),
        BULK,
        "INCAR",
        "decision",
        "ISPIN",
        "spin_polarisation",
    ),
    (
        "static-with-ionic-steps",
        lambda r: set_tag(r, "static/k-atom", "NSW", "50"),
        "static/k-atom",
        "INCAR",
        "contradiction",
        "NSW",
        "IBRION = -1",
    ),
    (
        "cell-relax-on-slab",
        lambda r: set_tag(r, SLAB, "ISIF", "3"),
        SLAB,
        "INCAR",
        "physics",
        "ISIF",
        "closes the vacuum",
    ),
    (
        "relax-without-steps",
        lambda r: set_tag(r, SLAB, "NSW", "0"),
        SLAB,
        "INCAR",
        "contradiction",
        "NSW",
        "> 0 for a relaxation",
    ),
    (
        "surface-mesh-3x3",
        lambda r: edit(r / SLAB / "KPOINTS", "2 2 1", "3 3 1"),
        SLAB,
        "KPOINTS",
        "locked",
        "mesh",
        "3 3 1",
    ),
    (
        "surface-mesh-gamma",
        lambda r: edit(r / SLAB / "KPOINTS", "Monkhorst", "Gamma"),
        SLAB,
        "KPOINTS",
        "locked",
        "scheme",
        "gamma",
    ),
    (
        "slab-kz-2",
        lambda r: edit(r / SLAB / "KPOINTS", "2 2 1", "2 2 2"),
        SLAB,
        "KPOINTS",
        "kpoints",
        "mesh",
        "1 subdivision",
    ),
    (
        "bulk-mesh-coarse",
        lambda r: edit(r / BULK / "KPOINTS", "10 10 6", "2 2 2"),
        BULK,
        "KPOINTS",
        "kpoints",
        "mesh",
        "at least 10 10 6",
    ),
    (
        "kspacing-and-kpoints",
        lambda r: set_tag(r, BULK, "KSPACING", "0.3"),
        BULK,
        "INCAR",
        "contradiction",
        "KSPACING",
        "overrides",
    ),
    (
        "potcar-order-swapped",
        lambda r: (r / BULK / "POTCAR.spec").write_text("Te\nCo\n"),
        BULK,
        "POTCAR.spec",
        "species-order",
        "Co",
        "Te",
    ),
    (
        "k-without-semicore",
        lambda r: (r / "relax/k-bcc/POTCAR.spec").write_text("K\n"),
        "relax/k-bcc",
        "POTCAR.spec",
        "potcar",
        "K",
        "K_sv",
    ),
    (
        "potcar-missing",
        lambda r: (r / BULK / "POTCAR.spec").unlink(),
        BULK,
        "POTCAR",
        "missing",
        "POTCAR",
        "neither",
    ),
    (
        "vacuum-too-thin",
        lambda r: mutate_poscar(r / SLAB / "POSCAR", thin_vacuum),
        SLAB,
        "POSCAR",
        "vacuum",
        "thickness",
        "≥ 20 Å",
    ),
    (
        "atoms-overlap",
        lambda r: mutate_poscar(r / SLAB / "POSCAR", overlap),
        SLAB,
        "POSCAR",
        "close-contact",
        "atoms 1 and 2",
        "Å",
    ),
    (
        "no-selective-dynamics",
        lambda r: mutate_poscar(r / SLAB / "POSCAR", no_flags),
        SLAB,
        "POSCAR",
        "selective-dynamics",
        "flags",
        "absent",
    ),
    (
        "unknown-element",
        lambda r: mutate_poscar(r / BULK / "POSCAR", unknown_element),
        BULK,
        "POSCAR",
        "species",
        "Xx",
        "element",
    ),
    (
        "truncated-poscar",
        lambda r: (r / BULK / "POSCAR").write_text(
            "\n".join((r / BULK / "POSCAR").read_text().splitlines()[:9])
        ),
        BULK,
        "POSCAR",
        "malformed",
        "POSCAR",
        "truncated",
    ),
    ("neb-images-tag", lambda r: set_tag(r, NEB, "IMAGES", "4"), NEB, "INCAR", "neb", "IMAGES", "5"),
    (
        "neb-folder-missing",
        lambda r: shutil.rmtree(r / NEB / "03"),
        NEB,
        "(folder)",
        "neb",
        "folders",
        "00 01 02",
    ),
    (
        "neb-end-point-missing",
        lambda r: (r / NEB / "06" / "POSCAR").unlink(),
        NEB,
        "06/POSCAR",
        "missing",
        "06/POSCAR",
        "none",
    ),
    (
        "neb-atom-order",
        lambda r: mutate_poscar(r / NEB / "04" / "POSCAR", swap_groups),
        NEB,
        "04/POSCAR",
        "neb",
        "atoms",
        "Zn",
    ),
    (
        "neb-no-climbing",
        lambda r: set_tag(r, NEB, "LCLIMB", ".FALSE."),
        NEB,
        "INCAR",
        "locked",
        "LCLIMB",
        "False",
    ),
    ("neb-vasp-optimiser", lambda r: set_tag(r, NEB, "IBRION", "2"), NEB, "INCAR", "neb", "IBRION", "VTST"),
    (
        "neb-atom-jumps",
        lambda r: mutate_poscar(r / NEB / "03" / "POSCAR", jump),
        NEB,
        "03/POSCAR",
        "neb",
        "spacing",
        "moves",
    ),
    (
        "images-outside-neb",
        lambda r: set_tag(r, SLAB, "IMAGES", "5"),
        SLAB,
        "INCAR",
        "contradiction",
        "IMAGES",
        "outside a NEB",
    ),
    (
        "dipole-on-bulk",
        lambda r: set_tag(r, BULK, "LDIPOL", ".TRUE."),
        BULK,
        "INCAR",
        "dipole",
        "LDIPOL",
        "bulk",
    ),
    (
        "dipole-wrong-axis",
        lambda r: set_tag(r, WF, "IDIPOL", "1"),
        WF,
        "INCAR",
        "dipole",
        "IDIPOL",
        "surface normal",
    ),
    (
        "dipole-off-centre",
        lambda r: set_tag(r, WF, "DIPOL", "0.5 0.5 0.05"),
        WF,
        "INCAR",
        "dipole",
        "DIPOL",
        "centre of mass",
    ),
    (
        "dipole-missing-on-slab",
        lambda r: set_tag(r, SLAB, "LDIPOL", None),
        SLAB,
        "INCAR",
        "dipole",
        "LDIPOL",
        "dipole_correction",
    ),
    (
        "workfunction-without-potential",
        lambda r: set_tag(r, WF, "LVHAR", None),
        WF,
        "INCAR",
        "workfunction",
        "LVHAR",
        "LOCPOT",
    ),
    (
        "chgdiff-grid-mismatch",
        lambda r: set_tag(r, PART, "NGZF", "640"),
        PART,
        "INCAR",
        "chgdiff",
        "NGZF",
        "672",
    ),
    (
        "chgdiff-cell-mismatch",
        lambda r: mutate_poscar(r / PART / "POSCAR", bigger_cell),
        PART,
        "POSCAR",
        "chgdiff",
        "cell",
        "different",
    ),
    (
        "chgdiff-dipole-plane",
        lambda r: set_tag(r, PART, "DIPOL", "0.5 0.5 0.4"),
        PART,
        "INCAR",
        "dipole",
        "DIPOL",
        "whole system",
    ),
    (
        "undeclared-deviation",
        lambda r: edit(r / BULK / "INCAR", "# node:", "# deviation: ENCUT = 520 (test)\n# node:"),
        BULK,
        "INCAR",
        "deviation",
        "header",
        "declared in the spec",
    ),
    (
        "lreal-auto-small-cell",
        lambda r: set_tag(r, BULK, "LREAL", "Auto"),
        BULK,
        "INCAR",
        "decision",
        "LREAL",
        "Auto",
    ),
    (
        "bands-self-consistent",
        lambda r: set_tag(r, "bands/cote2-bulk", "ICHARG", None),
        "bands/cote2-bulk",
        "INCAR",
        "bands",
        "ICHARG",
        "11",
    ),
    (
        "bands-on-a-mesh",
        lambda r: shutil.copy(r / "dos/cote2-bulk/KPOINTS", r / "bands/cote2-bulk/KPOINTS"),
        "bands/cote2-bulk",
        "KPOINTS",
        "kpoints",
        "mode",
        "line mode",
    ),
    (
        "protocol-changed",
        lambda r: campaign_json(r, lambda d: d["protocol"].update(hash="0" * 64)),
        ".",
        "campaign.json",
        "protocol",
        "hash",
        "000000000000",
    ),
    (
        "dangling-dependency",
        lambda r: campaign_json(r, lambda d: d["nodes"][-1]["deps"].append("relax/nope")),
        "chgdiff/cote2-znte/znte",
        "campaign.json",
        "campaign",
        "deps",
        "relax/nope",
    ),
    (
        "node-folder-deleted",
        lambda r: shutil.rmtree(r / "dos/znte-bulk"),
        "dos/znte-bulk",
        "(folder)",
        "campaign",
        "folder",
        "missing",
    ),
]


def test_the_valid_campaign_has_no_findings(fig1_campaign):
    assert validate(fig1_campaign) == []


def test_there_are_at_least_30_distinct_mutations():
    assert len({m[0] for m in MUTATIONS}) == len(MUTATIONS) >= 30


@pytest.mark.parametrize("mutation", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_mistake_is_caught_by_name(tmp_path, fig1_campaign, mutation):
    _id, change, folder, file, check, item, words = mutation
    root = tmp_path / "c"
    shutil.copytree(fig1_campaign, root)
    change(root)
    findings = validate(root)
    hits = [f for f in findings if (f.folder, f.file, f.check, f.item) == (folder, file, check, item)]
    assert hits, "\n".join(f.line() for f in findings) or "no findings"
    assert any(words in f.expected or words in f.found for f in hits), [f.line() for f in hits]


def test_cli_exit_codes_and_json(tmp_path, fig1_campaign):
    runner = CliRunner()
    clean = runner.invoke(app, ["validate", str(fig1_campaign)])
    assert clean.exit_code == 0 and "clean" in clean.output
    root = tmp_path / "c"
    shutil.copytree(fig1_campaign, root)
    set_tag(root, BULK, "ENCUT", "400")
    bad = runner.invoke(app, ["validate", str(root), "--json"])
    assert bad.exit_code == 1
    doc = json.loads(bad.output)
    assert doc["findings"] == [
        {
            "folder": BULK,
            "file": "INCAR",
            "check": "locked",
            "item": "ENCUT",
            "expected": "450",
            "found": "400",
        }
    ]
    text = runner.invoke(app, ["validate", str(root)])
    assert "relax/cote2-bulk: INCAR: locked: ENCUT: expected 450; found 400" in text.output
    missing = runner.invoke(app, ["validate", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output


def test_a_plain_folder_tree_without_campaign_json(tmp_path, fig1_campaign):
    root = tmp_path / "runs"
    shutil.copytree(fig1_campaign / "relax" / "cote2-bulk", root / "a")
    shutil.copytree(fig1_campaign / "neb" / "znte-111-3x3", root / "b")
    assert validate(root) == []
    set_tag(root, "b", "SPRING", "-5")  # still fine
    set_tag(root, "a", "ENCUT", "520")
    assert [(f.folder, f.item) for f in validate(root)] == [("a", "ENCUT")]
    # a deviation stamped in a stand-alone INCAR counts as declared
    edit(root / "a" / "INCAR", "# node:", "# deviation: ENCUT = 520 (cutoff convergence)\n# node:")
    assert validate(root) == []


def test_the_validator_does_not_import_pymatgen_core(fig1_campaign):
    code = (
        "import sys; from cztflow.workflows.validate import validate; "
        f"validate({str(fig1_campaign)!r}); "
        "print(sorted(m for m in sys.modules if m.startswith(('pymatgen.core', 'pymatgen.io', 'scipy'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
