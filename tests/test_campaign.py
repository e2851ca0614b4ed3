"""The campaign graph, campaign.json, and idempotent, output-safe writing."""

from __future__ import annotations

import json
import shutil
from collections import Counter

import numpy as np
import pytest

from conftest import REPO
from cztflow.protocol import default_protocol
from cztflow.workflows.campaign import KINDS, load_campaign
from cztflow.workflows.lock import ProtocolLockError
from cztflow.workflows.writer import write_campaign

SMALL = """
name: small
relax: [cote2-bulk, cote2-001, znte-111]
workfunction: [cote2-001]
electronic: [cote2-bulk]
"""


def _spec(tmp_path, text, name="spec.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_fig1_campaign_graph(fig1_campaign):
    doc = json.loads((fig1_campaign / "campaign.json").read_text())
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert len(nodes) == 71
    assert Counter(n["kind"] for n in nodes.values()) == {
        "relax": 52,
        "static": 4,
        "neb": 3,
        "workfunction": 3,
        "bands": 3,
        "dos": 3,
        "chgdiff": 3,
    }
    assert {n["kind"] for n in nodes.values()} <= set(KINDS)
    for n in nodes.values():
        assert {"id", "kind", "system", "folder", "deps", "protocol_hash", "structure_hash"} <= set(n)
        assert n["protocol_hash"] == default_protocol().hash
        assert all(d in nodes for d in n["deps"])
        assert (fig1_campaign / n["folder"] / "INCAR").is_file()
    assert nodes["relax/cote2-bulk"]["calc"] == "relax-bulk"
    assert nodes["relax/cote2-001-4x4"]["calc"] == "relax"
    assert nodes["neb/cote2-001-4x4"]["deps"] == [
        "relax/cote2-001-4x4-K-hollow-1",
        "relax/cote2-001-4x4-K-hollow-1-hop",
    ]
    assert nodes["neb/cote2-znte-3x3"]["site"] == "hollow-3"
    assert nodes["bands/cote2-bulk"]["deps"] == ["static/cote2-bulk"]
    assert nodes["static/cote2-bulk"]["deps"] == ["relax/cote2-bulk"]
    assert nodes["chgdiff/cote2-znte/znte"]["role"] == "part"
    # the adsorption nodes cover every site of the study: 4 + 4 + (12 + 4 intercalated) + 8
    ads = [i for i, n in nodes.items() if n["kind"] == "relax" and "site" in n and not i.endswith("-hop")]
    assert len(ads) == 36 and sum("-Kint-" in i for i in ads) == 4
    # NEB folders in the VTST layout
    assert sorted(p.name for p in (fig1_campaign / "neb" / "znte-111-3x3").iterdir() if p.is_dir()) == [
        f"{i:02d}" for i in range(7)
    ]
    assert doc["protocol"]["hash"] == default_protocol().hash and doc["deviations"] == []


def test_triplet_shares_the_fft_grid_and_dipole_plane(fig1_campaign):
    def tags(folder):
        return dict(
            line.split(" = ")
            for line in (fig1_campaign / folder / "INCAR").read_text().splitlines()
            if " = " in line and not line.startswith("#")
        )

    whole, cote2, znte = (tags(f"chgdiff/cote2-znte/{r}") for r in ("whole", "cote2", "znte"))
    for tag in ("NGX", "NGY", "NGZ", "NGXF", "NGYF", "NGZF", "DIPOL"):
        assert whole[tag] == cote2[tag] == znte[tag], tag
    assert (whole["NGXF"], whole["NGZF"]) == ("108", "672")


def test_writing_again_is_idempotent_and_never_overwrites_outputs(tmp_path, fig1_campaign):
    out = tmp_path / "c"
    shutil.copytree(fig1_campaign, out)
    spec = REPO / "workflows" / "fig1.yaml"
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    report = write_campaign(load_campaign(spec), out, potcar_spec=True)
    assert len(report.unchanged) == 71 and not (report.new or report.updated or report.kept)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamp

    # a finished node keeps its inputs and outputs when the spec changes
    (out / "relax/cote2-bulk/OUTCAR").write_text("finished\n")
    before = (out / "relax/cote2-bulk/INCAR").read_text()
    changed = spec.read_text().replace("incar: []", 'incar:\n  - {nodes: ["relax/*"], tags: {NCORE: 4}}')
    report = write_campaign(load_campaign(_spec(tmp_path, changed, "fig1.yaml")), out, potcar_spec=True)
    assert report.kept == {"relax/cote2-bulk": ["INCAR"]}
    assert (out / "relax/cote2-bulk/INCAR").read_text() == before
    assert (out / "relax/cote2-bulk/OUTCAR").read_text() == "finished\n"
    assert len(report.updated) == 51 and all(f == ["INCAR"] for f in report.updated.values())
    assert "NCORE = 4" in (out / "relax/znte-111-3x3/INCAR").read_text()
    doc = json.loads((out / "campaign.json").read_text())
    assert next(n for n in doc["nodes"] if n["id"] == "relax/cote2-bulk")["pending_changes"] == ["INCAR"]


def test_dropped_nodes_are_reported_not_deleted(tmp_path):
    out = tmp_path / "c"
    write_campaign(load_campaign(_spec(tmp_path, SMALL)), out, potcar_spec=True)
    smaller = SMALL.replace("electronic: [cote2-bulk]", "")
    report = write_campaign(load_campaign(_spec(tmp_path, smaller, "b.yaml")), out, potcar_spec=True)
    assert report.stale == ["bands/cote2-bulk", "dos/cote2-bulk", "static/cote2-bulk"]
    assert (out / "bands/cote2-bulk/INCAR").is_file()


def test_deviation_is_stamped_in_incar_and_campaign(tmp_path):
    text = SMALL + (
        'deviations:\n  - {tag: ENCUT, value: 520, reason: "cutoff convergence", nodes: ["relax/*"]}\n'
    )
    out = tmp_path / "c"
    write_campaign(load_campaign(_spec(tmp_path, text)), out, potcar_spec=True)
    incar = (out / "relax/cote2-001/INCAR").read_text()
    assert "# deviation: ENCUT = 520 (cutoff convergence)" in incar and "ENCUT = 520" in incar
    assert "ENCUT = 450.0" in (out / "workfunction/cote2-001/INCAR").read_text()
    doc = json.loads((out / "campaign.json").read_text())
    assert doc["deviations"][0]["tag"] == "ENCUT"
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes["relax/cote2-001"]["deviations"][0]["value"] == 520
    assert nodes["workfunction/cote2-001"]["deviations"] == []


def test_spin_deviation_runs_a_cell_with_moments_unpolarised(tmp_path):
    from cztflow.workflows.validate import validate

    reason = "bulk CoTe2 converges to 0.000 muB"
    text = SMALL + f'deviations:\n  - {{tag: ISPIN, value: 1, reason: "{reason}", nodes: ["*/cote2-bulk"]}}\n'
    out = tmp_path / "c"
    write_campaign(load_campaign(_spec(tmp_path, text)), out, potcar_spec=True)
    for node in ("relax/cote2-bulk", "static/cote2-bulk", "dos/cote2-bulk"):
        incar = (out / node / "INCAR").read_text()
        assert "ISPIN = 1" in incar and "MAGMOM" not in incar
        assert f"# deviation: ISPIN = 1 ({reason})" in incar
    slab = (out / "relax/cote2-001/INCAR").read_text()
    assert "ISPIN = 2" in slab and "MAGMOM" in slab and "# deviation" not in slab
    assert "# deviation" not in (out / "relax/znte-111/INCAR").read_text()  # no moments: nothing to declare
    nodes = {n["id"]: n for n in json.loads((out / "campaign.json").read_text())["nodes"]}
    assert [d["tag"] for d in nodes["bands/cote2-bulk"]["deviations"]] == ["ISPIN"]
    assert validate(out) == []
    # a spin-polarised INCAR in a node declared unpolarised is a finding, and so is the reverse
    dos = out / "dos/cote2-bulk/INCAR"
    dos.write_text(dos.read_text().replace("ISPIN = 1", "ISPIN = 2\nMAGMOM = 1.0 0.0 0.0"))
    slab_incar = out / "relax/cote2-001/INCAR"
    slab_incar.write_text(slab.replace("ISPIN = 2", "ISPIN = 1"))
    found = {(f.folder, f.check, f.item, f.expected) for f in validate(out)}
    assert ("dos/cote2-bulk", "decision", "ISPIN", "1 (declared deviation)") in found
    assert ("relax/cote2-001", "decision", "ISPIN", "2 (Co or K present: spin_polarisation)") in found


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("relax: [cote2-bulkk]", "relax: unknown system 'cote2-bulkk'"),
        (
            "relax: [cote2-bulk]\nworkfunction: [cote2-001]",
            "workfunction of cote2-001 needs it under 'relax'",
        ),
        ("relax: [cote2-001]\nadsorption: [cote2-001]", "cote2-001 has no adsorption sites"),
        ("relaxx: [cote2-bulk]", "unknown key(s) relaxx"),
        ("relax: [cote2-bulk]\ndeviations: [{tag: ENCUT, value: 520}]", "needs a reason"),
        (
            "relax: [cote2-bulk]\ndeviations: [{tag: NELM, value: 200, reason: 'more SCF steps'}]",
            "deviations[0]: NELM cannot be declared as a deviation: it is a free tag",
        ),
        (
            "relax: [cote2-bulk]\ndeviations: [{tag: ENCUT, value: abc, reason: 'a typo in the value'}]",
            "deviations[0]: ENCUT = 'abc': 'abc' is not a number",
        ),
        (
            "relax: [cote2-bulk]\ndeviations: [{tag: ENMAX, value: 520, reason: 'cutoff by its other name'}]",
            "deviations[0]: ENMAX is VASP's other name for ENCUT; declare that",
        ),
        (
            "relax: [cote2-bulk]\ndeviations: [{tag: KPOINTS, value: [2, 2], reason: 'two numbers'}]",
            "deviations[0]: a KPOINTS deviation is a mesh of three positive integers",
        ),
        (
            "relax: [cote2-bulk]\nincar: [{nodes: ['*'], tags: {METAGGA: SCAN}}]",
            "incar[0].tags: METAGGA is not a free tag",
        ),
        (
            "relax: [cote2-bulk]\nincar: [{nodes: ['*'], tags: {images: 3}}]",
            "incar[0].tags: IMAGES is locked by the protocol at 5",
        ),
        (
            "relax: [cote2-bulk]\nincar: [{nodes: ['*'], tags: {enmax: 520}}]",
            "incar[0].tags: enmax (read by VASP as ENCUT) is locked by the protocol at 450.0",
        ),
        (
            "relax: [cote2-bulk]\nincar: [{nodes: ['*'], tags: {ALGO: Exact}}]",
            "incar[0].tags: ALGO = Exact changes the physics",
        ),
        (
            "relax: [cote2-bulk]\nincar: [{nodes: ['*'], tags: {KSPACING: 5.0}}]",
            "incar[0].tags: KSPACING is not a free tag",
        ),
        (
            "relax: [znte-bulk]\ndeviations: [{tag: ISPIN, value: 2, reason: 'spin for ZnTe too'}]",
            "deviations[0]: an ISPIN deviation can only be 1",
        ),
        (
            "relax: [cote2-bulk]\nincar: [{nodes: ['*'], tags: {ISPIN: 1}}]",
            "incar[0].tags: ISPIN follows the protocol decision 'spin_polarisation'",
        ),
        (
            "relax: [cote2-bulk]\nincar: [{nodes: ['*'], tags: {ENCUT: 500}}]",
            "ENCUT is locked by the protocol",
        ),
        ("relax: [cote2-znte]\nchgdiff: {cote2-znte: [cote2, mxene]}", "no atoms of block mxene"),
        ("relax: [cote2-bulk, cote2-bulk]", "relax/cote2-bulk is listed twice"),
        ("systems: {cote2-001: {builder: cote2-001}}", "cote2-001 are study systems"),
        ("systems: {small: {args: {layers: 2}}}", "small needs a 'builder'"),
        (
            "systems: {small: {builder: cote2-001, args: {layerz: 2}}}\nrelax: [small]",
            "takes no argument layerz",
        ),
        (
            "relax: [znte-111]\nadsorption: {znte-111: {sites: [K-hollow-9]}}",
            "no site(s) K-hollow-9; it has K-ontop-1, K-bridge-1, K-hollow-1, K-hollow-2",
        ),
        ("relax: [znte-111]\nmigration: {znte-111: {}}", "znte-111 needs a starting 'site'"),
        (
            "relax: [znte-111]\nadsorption: {znte-111: {sites: [K-hollow-1]}}\n"
            "migration: {znte-111: {site: hollow-1, to: hollow-2}}",
            "znte-111: unknown migration option(s) to; known: site, end",
        ),
        (
            "relax: [znte-111]\nadsorption: {znte-111: {sites: [K-hollow-1]}}\n"
            "migration: {znte-111: {site: hollow-1, end: hollow-9}}",
            "znte-111: no end site 'hollow-9'; have ontop-1, bridge-1, hollow-1, hollow-2",
        ),
        (
            "relax: [znte-111]\nadsorption: {znte-111: {sites: [K-hollow-1]}}\n"
            "migration: {znte-111: {site: hollow-1, end: hollow-1}}",
            "migration end 'hollow-1' is its start",
        ),
        (
            "relax: [cote2-bulk]\nengine_options: {vasp: {ranks: 4}}",
            "engine_options.vasp: a spec may set gpaw, mlip",
        ),
        (
            "relax: [cote2-bulk]\nengine_options: {gpaw: {lcao_above: 12}}",
            "unknown key(s) engine_options.gpaw.lcao_above; known: lcao_above_atoms, basis, grid_spacing",
        ),
    ],
)
def test_bad_specs_name_the_file_and_the_entry(tmp_path, text, message):
    path = _spec(tmp_path, text)
    with pytest.raises((ValueError, ProtocolLockError)) as err:
        campaign = load_campaign(path)
        write_campaign(campaign, tmp_path / "out", potcar_spec=True)
    assert message in str(err.value)
    assert "spec.yaml" in str(err.value) or "relax/cote2-bulk" in str(err.value)


def test_spec_systems_and_site_subsets(tmp_path):
    path = _spec(
        tmp_path,
        """
systems:
  cote2-2x2: {builder: cote2-001, args: {layers: 2, supercell: [2, 2]}}
relax: [cote2-2x2]
adsorption:
  cote2-2x2: {sites: [K-hollow-1, K-ontop-1]}
migration:
  cote2-2x2: {site: hollow-1}
""",
    )
    campaign = load_campaign(path)
    nodes = campaign.nodes
    assert len(nodes["relax/cote2-2x2"].input_set.structure) == 2 * 3 * 4
    sites = [n for n in nodes if n.startswith("relax/cote2-2x2-K-")]
    assert sites == [
        "relax/cote2-2x2-K-hollow-1",
        "relax/cote2-2x2-K-ontop-1",
        "relax/cote2-2x2-K-hollow-1-hop",
    ]
    ads = nodes["relax/cote2-2x2-K-hollow-1"]
    assert ads.deps == ["relax/cote2-2x2"]
    assert ads.seed["from"] == "relax/cote2-2x2" and "adsorbate" in ads.seed["how"]
    assert nodes["neb/cote2-2x2"].deps == ["relax/cote2-2x2-K-hollow-1", "relax/cote2-2x2-K-hollow-1-hop"]


def test_migration_to_a_named_end_site(tmp_path):
    """``end`` makes the hop go to the nearest image of another site: hollow-2 → hollow-1 on
    ZnTe(111) is a/√3 long (a = 4.314 Å), not the a of the hop between equivalent hollows."""
    path = _spec(
        tmp_path,
        """
relax: [znte-111]
adsorption:
  znte-111: {sites: [K-hollow-2]}
migration:
  znte-111: {site: hollow-2, end: hollow-1}
""",
    )
    nodes = load_campaign(path).nodes
    final = nodes["relax/znte-111-K-hollow-2-hop"]
    assert final.extra["site"] == "hollow-1"
    images = nodes["neb/znte-111"].input_set.images
    k_start, k_end = images[0].cart_coords[-1], images[-1].cart_coords[-1]
    assert np.linalg.norm(k_end[:2] - k_start[:2]) == pytest.approx(4.3136 / np.sqrt(3), abs=2e-3)
    assert len(images) == 7
