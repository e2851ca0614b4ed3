"""Held-out style hand edits: every one is caught by ``validate``, or is physics-neutral by rule.

The generator below edits folders of the written Fig. 1 campaign the way people and
scripts do: every INCAR tag VASP (and VTST) knows, given a value other than the written
one, on each calculation kind; case, comment, continuation and synonym variants; every
KPOINTS style; POSCAR and NEB image edits.  An edit counts as caught when ``validate``
reports any finding for the edited folder.  The only edits allowed through are free tags
(:data:`cztflow.workflows.incar_policy.FREE_TAGS`, each with its reason) and edits listed
here as neutral with theirs.  The counts per class are printed with ``-s``.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from cztflow.workflows.incar_policy import FREE_TAGS, PINNED_FREE
from cztflow.workflows.validate import validate
from cztflow.workflows.vaspfiles import incar_tag_types, read_incar, read_poscar

#: One node of every calculation kind (and the charge-difference triplet).
NODES = {
    "relax": ["relax/znte-111-3x3"],
    "relax-bulk": ["relax/cote2-bulk"],
    "static": ["static/cote2-bulk"],
    "workfunction": ["workfunction/znte-111-3x3"],
    "bands": ["bands/znte-bulk"],
    "dos": ["dos/znte-bulk"],
    "neb": ["neb/znte-111-3x3"],
    "chgdiff": ["chgdiff/cote2-znte/whole", "chgdiff/cote2-znte/cote2", "chgdiff/cote2-znte/znte"],
}

#: Tags VASP 6.4+ reads that pymatgen's tag list lacks: the reader refuses them as unknown.
EXTRA_TAGS = {"XC": "PBE", "EFERMI": "MIDGAP", "IVDW_NL": "1", "LVDW": ".TRUE."}

TALLY: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def _print_tally():
    """Print the mutations tried per class when the module ends (shown with ``-s``)."""
    yield
    print("\nmutations tried:", dict(sorted(TALLY.items())))


@pytest.fixture(scope="module")
def mini(fig1_campaign, tmp_path_factory) -> dict[str, Path]:
    """A one-node campaign (a triplet for chgdiff) per kind, copied from the Fig. 1 campaign."""
    doc = json.loads((fig1_campaign / "campaign.json").read_text())
    out = {}
    for kind, ids in NODES.items():
        root = tmp_path_factory.mktemp(kind.replace("-", "_"))
        nodes = [dict(n, deps=[]) for n in doc["nodes"] if n["id"] in ids]
        (root / "campaign.json").write_text(json.dumps({**doc, "nodes": nodes}))
        for node_id in ids:
            shutil.copytree(fig1_campaign / node_id, root / node_id)
        assert validate(root) == [], f"the unedited {kind} campaign must be clean"
        out[kind] = root
    return out


def caught_after(root: Path, folder: str, edits: dict[str, str | None]) -> list[str]:
    """Findings in ``folder`` after writing ``edits`` (relative path -> text, None deletes)."""
    saved = {}
    for rel, text in edits.items():
        path = root / folder / rel
        saved[rel] = path.read_bytes() if path.exists() else None
        if text is None:
            path.unlink(missing_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    try:
        return [f.line() for f in validate(root) if f.folder == folder or f.folder.startswith(folder + "/")]
    finally:
        for rel, data in saved.items():
            path = root / folder / rel
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)


def _other(value, info: dict):
    """A value for a tag that differs from ``value`` (the written one, or None when absent)."""
    kind = info.get("type", "str")
    allowed = [v for v in info.get("values") or [] if v != value]
    if allowed:
        return allowed[-1]
    if kind == "bool":
        return ".FALSE." if value is True else ".TRUE."
    if kind == "int":
        return 7 if value is None else int(value) + 1
    if kind == "float":
        return 0.37 if value is None else float(value) * 1.7 + 0.37
    if kind == "list":
        return "3*0.37"
    if kind == "bool | str":
        return "On"
    return "Mutated"


def _with_tag(text: str, tag: str, value) -> str:
    lines = [ln for ln in text.splitlines() if ln.split("=")[0].strip().upper() != tag]
    return "\n".join([*lines, f"{tag} = {value}"]) + "\n"


def _neutral_tag(kind: str, tag: str) -> bool:
    """Free tags pass with a neutral value, except outputs the next node reads."""
    return tag in FREE_TAGS and tag not in PINNED_FREE.get(kind, frozenset())


def _free_value(tag: str, value):
    return {"ALGO": "Fast", "ICHARG": 1}.get(tag, value)


@pytest.mark.parametrize("kind", sorted(NODES))
def test_every_incar_tag_is_caught_or_free(mini, kind):
    root, folder = mini[kind], NODES[kind][-1]
    text = (root / folder / "INCAR").read_text()
    written = read_incar(root / folder / "INCAR").values
    tags = {**incar_tag_types(), **{t: {"type": "str"} for t in EXTRA_TAGS}}
    slipped = []
    for tag, info in sorted(tags.items()):
        value = EXTRA_TAGS.get(tag) or _other(written.get(tag), info)
        neutral = _neutral_tag(kind, tag)
        if neutral:
            value = _free_value(tag, value)
        found = caught_after(root, folder, {"INCAR": _with_tag(text, tag, value)})
        TALLY[f"incar tag ({'free' if neutral else 'caught'})"] += 1
        if bool(found) == neutral:
            slipped.append(
                f"{tag} = {value}: {'a free tag refused' if neutral else 'not caught'} {found[:1]}"
            )
    assert slipped == [], "\n".join(slipped)
    assert len(tags) > 400


def test_free_tags_have_reasons_and_physics_values_are_refused(mini):
    root, folder = mini["relax"], NODES["relax"][0]
    text = (root / folder / "INCAR").read_text()
    assert all(len(reason) > 10 for reason in FREE_TAGS.values())
    for tag, value in [("ALGO", "Exact"), ("ALGO", "GW0"), ("ALGO", "None"), ("ICHARG", 12), ("ICHARG", 11)]:
        found = caught_after(root, folder, {"INCAR": _with_tag(text, tag, value)})
        assert any(f"free: {tag}" in line for line in found), (tag, value, found)
        TALLY["free tag, physics value"] += 1
    for kind, tag, value in [("static", "LCHARG", ".FALSE."), ("workfunction", "LVHAR", ".FALSE.")]:
        root_k, folder_k = mini[kind], NODES[kind][0]
        found = caught_after(
            root_k, folder_k, {"INCAR": _with_tag((root_k / folder_k / "INCAR").read_text(), tag, value)}
        )
        assert any(tag in line for line in found), (kind, tag, found)
        TALLY["needed output switched off"] += 1


#: (name, edit of the relax-slab INCAR text, caught?) -- syntax variants of one change.
def _replace(old: str, new: str):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new)

    return edit


SYNTAX = [
    ("lower-case tag", _replace("ENCUT = 450.0", "encut = 520"), True),
    ("mixed-case tag", _replace("ENCUT = 450.0", "EnCuT=520"), True),
    ("blanks and comment", _replace("ENCUT = 450.0", "   ENCUT   =   520   # converged"), True),
    ("bang comment", _replace("ENCUT = 450.0", "ENCUT = 520 ! converged"), True),
    ("two statements on a line", _replace("ENCUT = 450.0", "NCORE = 4; ENCUT = 520"), True),
    ("quoted value", _replace("ENCUT = 450.0", 'ENCUT = "520"'), True),
    ("backslash continuation", _replace("ENCUT = 450.0", "ENCUT = \\\n 520"), True),
    ("repeated tag", _replace("ENCUT = 450.0", "ENCUT = 450.0\nENCUT = 520"), True),
    ("commented out", _replace("ENCUT = 450.0", "# ENCUT = 450.0"), True),
    ("synonym ENMAX", _replace("ENCUT = 450.0", "ENCUT = 450.0\nENMAX = 520"), True),
    ("synonym ENMAX alone", _replace("ENCUT = 450.0", "ENMAX = 450"), True),
    ("unit after value", _replace("ENCUT = 450.0", "ENCUT = 450 eV"), True),
    ("lower-case locked value", _replace("GGA = Pe", "GGA = ps"), True),
    ("Fortran exponent", _replace("EDIFF = 1e-06", "EDIFF = 1d-5"), True),
    ("tab before value", _replace("ENCUT = 450.0", "ENCUT =\t520"), True),
    # neutral by rule: the same values written otherwise
    ("same value, other spelling", _replace("ENCUT = 450.0", "encut = 4.5E2"), False),
    ("same EDIFF, Fortran exponent", _replace("EDIFF = 1e-06", "EDIFF = 1.0D-6"), False),
    ("logical spelled .T.", _replace("LASPH = True", "LASPH = .T."), False),
    ("trailing comment", _replace("ENCUT = 450.0", "ENCUT = 450.0  # the paper's cutoff"), False),
]


@pytest.mark.parametrize(("name", "edit", "caught"), SYNTAX, ids=[s[0] for s in SYNTAX])
def test_syntax_variants(mini, name, edit, caught):
    root, folder = mini["relax"], NODES["relax"][0]
    found = caught_after(root, folder, {"INCAR": edit((root / folder / "INCAR").read_text())})
    assert bool(found) == caught, found
    TALLY[f"incar syntax ({'caught' if caught else 'neutral'})"] += 1


def _kpoints(style: str, mesh: str, shift: str | None = None, count: int = 0) -> str:
    return "edited\n" + f"{count}\n{style}\n{mesh}\n" + (f"{shift}\n" if shift else "")


#: (name, kind, edits, caught?)
KPOINTS = [
    ("deleted", "relax", {"KPOINTS": None}, True),
    ("deleted, KSPACING", "relax", {"KPOINTS": None, "+INCAR": "KSPACING = 0.5"}, True),
    ("KSPACING beside KPOINTS", "relax", {"+INCAR": "KSPACING = 5.0"}, True),
    ("KGAMMA", "relax-bulk", {"+INCAR": "KGAMMA = .FALSE."}, True),
    ("slab mesh denser", "relax", {"KPOINTS": _kpoints("Monkhorst", "3 3 1")}, True),
    ("slab mesh Gamma-centred", "relax", {"KPOINTS": _kpoints("Gamma", "2 2 1")}, True),
    ("slab mesh shifted", "relax", {"KPOINTS": _kpoints("Monkhorst", "2 2 1", "0.5 0.5 0")}, True),
    ("slab two along z", "relax", {"KPOINTS": _kpoints("Monkhorst", "2 2 2")}, True),
    ("fully automatic", "relax", {"KPOINTS": "edited\n0\nAuto\n20\n"}, True),
    ("explicit list", "relax", {"KPOINTS": "edited\n1\nReciprocal\n0 0 0 1\n"}, True),
    (
        "line mode on a relaxation",
        "relax",
        {"KPOINTS": "edited\n10\nLine\nReciprocal\n0 0 0\n0.5 0 0\n"},
        True,
    ),
    ("generating vectors", "relax", {"KPOINTS": "edited\n0\nCartesian\n0.25 0 0\n0 0.25 0\n0 0 1\n"}, True),
    (
        "lower-case monkhorst (same mesh, but not the written file)",
        "relax",
        {"KPOINTS": _kpoints("monkhorst-pack", "2 2 1")},
        True,
    ),
    ("bulk Monkhorst", "relax-bulk", {"KPOINTS": _kpoints("Monkhorst", "10 10 6")}, True),
    ("bulk coarser", "relax-bulk", {"KPOINTS": _kpoints("Gamma", "4 4 2")}, True),
    (
        "bulk denser (allowed: at least the density)",
        "relax-bulk",
        {"KPOINTS": _kpoints("Gamma", "12 12 8")},
        True,
    ),
    ("dos coarser", "dos", {"KPOINTS": _kpoints("Gamma", "4 4 4")}, True),
    ("bands as a mesh", "bands", {"KPOINTS": _kpoints("Gamma", "8 8 8")}, True),
]


@pytest.mark.parametrize(("name", "kind", "edits", "caught"), KPOINTS, ids=[k[0] for k in KPOINTS])
def test_kpoints_styles(mini, name, kind, edits, caught):
    root, folder = mini[kind], NODES[kind][0]
    edits = dict(edits)
    if "+INCAR" in edits:
        edits["INCAR"] = (root / folder / "INCAR").read_text() + edits.pop("+INCAR") + "\n"
    found = caught_after(root, folder, edits)
    assert bool(found) == caught, found
    TALLY[f"kpoints ({'caught' if caught else 'neutral'})"] += 1


def _poscar_edit(change):
    def edit(text: str) -> str:
        lines = text.splitlines()
        change(lines)
        return "\n".join(lines) + "\n"

    return edit


def _move_atom(dx: float):
    def change(lines):
        first = 9 if lines[7].strip()[:1].lower() == "s" else 8
        parts = lines[first].split()
        parts[0] = f"{float(parts[0]) + dx:.10f}"
        lines[first] = "  ".join(parts)

    return change


def _set_line(index: int, text: str):
    def change(lines):
        lines[index] = text

    return change


POSCAR = [
    ("atom moved 0.001 (fractional)", _move_atom(0.001)),
    ("atom moved 0.1 (fractional)", _move_atom(0.1)),
    ("scale factor", _set_line(1, "1.01")),
    ("species renamed", _set_line(5, "Xx Te H")),
    ("comment line", _set_line(0, "my edit")),
]


@pytest.mark.parametrize(("name", "change"), POSCAR, ids=[p[0] for p in POSCAR])
@pytest.mark.parametrize("kind", ["relax", "relax-bulk", "static"])
def test_poscar_edits(mini, kind, name, change):
    root, folder = mini[kind], NODES[kind][0]
    text = (root / folder / "POSCAR").read_text()
    if name == "species renamed":
        species = read_poscar(root / folder / "POSCAR").species
        change = _set_line(5, " ".join(["Xx", *species[1:]]))
    found = caught_after(root, folder, {"POSCAR": _poscar_edit(change)(text)})
    assert found, f"{name} on {kind} not caught"
    TALLY["poscar (caught)"] += 1


def test_neb_image_edits(mini):
    root, folder = mini["neb"], NODES["neb"][0]
    images = sorted(p.name for p in (root / folder).iterdir() if p.is_dir())
    assert images == [f"{i:02d}" for i in range(7)]
    texts = {d: (root / folder / d / "POSCAR").read_text() for d in images}
    k_line = max(i for i, ln in enumerate(texts["03"].splitlines()) if ln.rstrip().endswith("K"))

    def moved(text: str, dx: float) -> str:
        lines = text.splitlines()
        parts = lines[k_line].split()
        parts[0] = f"{float(parts[0]) + dx:.10f}"
        lines[k_line] = "  ".join(parts)
        return "\n".join(lines) + "\n"

    cases = {
        "two images swapped": {"02/POSCAR": texts["03"], "03/POSCAR": texts["02"]},
        "an image deleted": {"03/POSCAR": None},
        "K jumps in one image": {"03/POSCAR": moved(texts["03"], 0.2)},
        "K nudged in one image": {"03/POSCAR": moved(texts["03"], 0.002)},
        "end point edited": {"00/POSCAR": moved(texts["00"], 0.01)},
        "IMAGES changed": {"INCAR": _with_tag((root / folder / "INCAR").read_text(), "IMAGES", 4)},
        "LCLIMB off": {"INCAR": _with_tag((root / folder / "INCAR").read_text(), "LCLIMB", ".FALSE.")},
        "SPRING changed": {"INCAR": _with_tag((root / folder / "INCAR").read_text(), "SPRING", -2)},
    }
    for name, edits in cases.items():
        assert caught_after(root, folder, edits), f"{name} not caught"
        TALLY["neb images (caught)"] += 1
    assert validate(root) == []


def test_chgdiff_grid_edit_is_caught(mini):
    root = mini["chgdiff"]
    folder = NODES["chgdiff"][1]
    text = (root / folder / "INCAR").read_text()
    ngx = read_incar(root / folder / "INCAR").values["NGX"]
    found = caught_after(root, folder, {"INCAR": _with_tag(text, "NGX", ngx + 2)})
    assert any("NGX" in line for line in found)
    TALLY["chgdiff grid (caught)"] += 1
