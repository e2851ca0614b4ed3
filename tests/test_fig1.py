"""`cztflow fig1`: the packaged specs, the report and the end-to-end smoke run."""

from __future__ import annotations

import csv
import importlib.util
import io
import json

import pytest
from running_helpers import cli
from vasp_tree import as_vasp_tree

from cztflow.cli_fig1 import packaged_spec
from cztflow.report import Fig1Data, Row, collect_fig1
from cztflow.report.materials import material_of
from cztflow.report.table import COLUMNS, to_csv, to_markdown
from cztflow.workflows.campaign import load_campaign
from cztflow.workflows.lock import ProtocolLockError
from cztflow.workflows.writer import write_campaign


@pytest.mark.parametrize(
    ("species", "material"),
    [
        (["Co", "Te", "Te"], "cote2"),
        (["Zn", "Te", "H"], "znte"),
        (["Co", "Te", "Zn", "K"], "cote2-znte"),
        (["Ti", "C", "O", "Co", "Te", "Zn", "K"], "cote2-znte/ti3c2tx"),
        (["Ti", "C", "O", "Co", "Te"], "cote2/ti3c2tx"),
        (["K"], None),
        (["Ti", "C", "O"], None),
    ],
)
def test_material_of(species, material):
    assert material_of(species) == material


@pytest.fixture(scope="module")
def quick_campaign(tmp_path_factory):
    root = tmp_path_factory.mktemp("quick") / "campaign"
    write_campaign(load_campaign(packaged_spec(quick=True)), root, potcar_spec=True)
    return root


def test_kpoints_deviations_reach_bulk_dos_and_band_nodes(quick_campaign):
    dos = (quick_campaign / "dos/cote2-bulk/KPOINTS").read_text().split("\n")
    assert dos[2].strip().lower().startswith("g") and dos[3].split() == ["4", "4", "3"]
    bands = (quick_campaign / "bands/cote2-bulk/KPOINTS").read_text().split("\n")
    assert bands[1].strip() == "4" and bands[2].strip().lower().startswith("line")
    incar = (quick_campaign / "dos/cote2-bulk/INCAR").read_text()
    assert "# deviation: KPOINTS = 4 4 3 (smoke run: coarse bulk and DOS meshes)" in incar
    assert "# deviation: ENCUT = 250" in incar and "ENCUT = 250" in incar


def test_a_mesh_deviation_on_a_band_node_is_refused(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "relax: [cote2-bulk]\nelectronic: [cote2-bulk]\n"
        "deviations: [{tag: KPOINTS, value: [4, 4, 3], reason: 'coarse mesh for a test', nodes: ['*']}]\n"
    )
    with pytest.raises(ProtocolLockError, match="bands/cote2-bulk: a KPOINTS deviation for a band structure"):
        write_campaign(load_campaign(spec), tmp_path / "out", potcar_spec=True)


def test_report_of_an_unrun_campaign_lists_what_is_missing(quick_campaign):
    data = collect_fig1(quick_campaign)
    assert data.rows == []
    assert data.campaign == "fig1-quick"
    text = "\n".join(data.problems)
    assert "K adsorption on CoTe2 (cote2-1tl-2x2)" in text
    assert "no vasprun.xml, OUTCAR or cztflow-result.json" in text
    assert "work function workfunction/cote2-1tl" in text and "no LOCPOT" in text


def test_from_needs_a_campaign_folder(tmp_path):
    out = cli("fig1", "--from", str(tmp_path), "-o", str(tmp_path / "fig1"))
    assert out.returncode == 2
    assert f"{tmp_path / 'campaign.json'}: missing" in out.stderr


def test_table_writers():
    data = Fig1Data("root", "demo")
    data.rows = [
        Row(
            "K adsorption energy (vs bcc K)", "CoTe2", -1.25, "eV", -0.69, -0.56, "chgnet", "protocol", "r/x"
        ),
        Row("Band character", "CoTe2", "metal", "", "semiconductor", "differs", "gpaw", "ENCUT = 350", "b/x"),
        Row("Band gap", "CoTe2", 0.0, "eV", None, None, "gpaw", "protocol", "bands/x", "a | b"),
    ]
    data.problems = ["work function: no LOCPOT"]
    rows = list(csv.reader(io.StringIO(to_csv(data.rows))))
    assert tuple(rows[0]) == COLUMNS
    assert rows[1][:6] == ["K adsorption energy (vs bcc K)", "CoTe2", "-1.25", "eV", "-0.69", "-0.56"]
    assert rows[3][4] == ""  # no paper value: an empty cell, not "None"
    md = to_markdown(data)
    assert "| K adsorption energy (vs bcc K) | CoTe2 | -1.250 | -0.690 | -0.560 | eV |" in md
    assert "a \\| b" in md  # a pipe inside a cell does not break the table
    assert "## Not computed\n\n- work function: no LOCPOT" in md
    assert "**Band character.** Trigonal CoTe2 is metallic" in md
    assert "**Work function.**" not in md  # only the quantities present are discussed


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("gpaw") is None or importlib.util.find_spec("chgnet") is None,
    reason="the quick run needs GPAW and CHGNet: scripts/bootstrap.sh skips GPAW without root and "
    "without libxc/FFTW/OpenBLAS (see the docs page Installing on a cluster)",
)
def test_fig1_quick_end_to_end_rerun_and_from(tmp_path):
    out = cli("fig1", "--quick", "-o", str(tmp_path / "fig1"), timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    folder = tmp_path / "fig1"
    for name in ("fig1.md", "fig1.csv", "fig1.json", "fig1.png", "fig1.pdf"):
        assert (folder / name).stat().st_size > 500, name
    doc = json.loads((folder / "fig1.json").read_text())
    assert doc["format"] == "cztflow-fig1/1" and doc["problems"] == []
    rows = {(r["quantity"], r["material"]): r for r in doc["rows"]}
    ads = rows[("K adsorption energy (vs bcc K)", "CoTe2")]
    assert ads["paper"] == -0.69 and ads["value"] < 0
    assert ads["difference"] == pytest.approx(ads["value"] - ads["paper"], abs=1e-4)
    assert ads["engine"].startswith("chgnet") and "relax/k-bcc" in ads["node"]
    atom = rows[("K adsorption energy (vs the K atom)", "CoTe2")]
    assert atom["value"] < ads["value"] - 0.3  # the K atom lies above bcc K by the cohesive energy
    assert rows[("Band character", "CoTe2")]["value"] == "metal"
    assert rows[("Band character", "ZnTe")]["value"] == "semiconductor"
    assert 0.5 < rows[("Band gap", "ZnTe")]["value"] < 2.0  # PBE underestimates 2.26 eV
    assert rows[("Band gap", "ZnTe")]["settings"].startswith("EDIFF = 0.0001, ENCUT = 250, KPOINTS")
    for material in ("CoTe2", "ZnTe", "CoTe2/ZnTe"):
        barrier = rows[("K migration barrier (highest)", material)]
        assert 0.0 <= barrier["value"] < 1.0 and barrier["node"].startswith("neb/")
    # every quick hop starts on hollow-1, the most stable of the two sites each spec computes,
    # so no band passes a more stable site (the note would say so)
    for material in ("CoTe2", "ZnTe", "CoTe2/ZnTe"):
        ads = rows[("K adsorption energy (vs bcc K)", material)]
        assert ads["note"] == "most stable of 2 sites: K-hollow-1"
        note = rows[("K migration barrier (highest)", material)]["note"]
        assert note.startswith("hop from hollow-1, climbing image") and "inside the band" not in note
    phi = rows[("Work function", "CoTe2")]["value"]
    assert 3.5 < phi < 6.5
    step = rows[("Work-function difference Φ(CoTe2) − Φ(ZnTe)", "CoTe2/ZnTe")]
    assert step["value"] == pytest.approx(phi - rows[("Work function", "ZnTe")]["value"], abs=2e-4)
    assert "Why the numbers differ from the paper" in (folder / "fig1.md").read_text()

    again = cli("fig1", "--quick", "-o", str(tmp_path / "fig1"), timeout=300)
    assert again.returncode == 0
    assert "0 finished, 29 already done" in again.stdout
    assert json.loads((folder / "fig1.json").read_text())["rows"] == doc["rows"]

    other = tmp_path / "from"
    again = cli("fig1", "--from", str(folder / "campaign"), "-o", str(other))
    assert again.returncode == 0, again.stderr
    assert json.loads((other / "fig1.json").read_text())["rows"] == doc["rows"]

    # the same campaign as a VASP run leaves it: OUTCARs, vasprun.xml, LOCPOT; the NEB end
    # points only in their relaxations' folders (found through campaign.json)
    vasp = as_vasp_tree(folder / "campaign", tmp_path / "vasp-campaign")
    assert not list(vasp.rglob("cztflow-result.json"))
    for band in (vasp / "neb").iterdir():
        ends = sorted(p for p in band.iterdir() if p.is_dir() and p.name.isdigit())
        for end in (ends[0], ends[-1]):
            (end / "OUTCAR").unlink()
    from_vasp = cli("fig1", "--from", str(vasp), "-o", str(tmp_path / "from-vasp"))
    assert from_vasp.returncode == 0, from_vasp.stdout + from_vasp.stderr
    vdoc = json.loads((tmp_path / "from-vasp" / "fig1.json").read_text())
    assert vdoc["problems"] == [] and len(vdoc["rows"]) == len(doc["rows"])
    for engine_row, vasp_row in zip(doc["rows"], vdoc["rows"], strict=True):
        assert vasp_row["engine"] == "VASP 5.4.4"
        for key in ("quantity", "material", "paper", "node", "settings"):
            assert vasp_row[key] == engine_row[key]
        if isinstance(engine_row["value"], float):
            # OUTCAR prints E-fermi to 1e-4 eV and vasprun.xml eigenvalues to 1e-4 eV
            assert vasp_row["value"] == pytest.approx(engine_row["value"], abs=2e-4), engine_row["quantity"]
        else:
            assert vasp_row["value"] == engine_row["value"]
