"""Bad input gets one line naming the file, the key and the cause; paths stay in the campaign."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from conftest import REPO
from cztflow.cli import _warn_potcars_in_git, app
from cztflow.workflows.campaign import _KEYS, load_campaign
from cztflow.workflows.config import ConfigError, load_config
from cztflow.workflows.validate import validate
from cztflow.workflows.writer import write_campaign


def _load(tmp_path, text: str):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    campaign = load_campaign(path)
    write_campaign(campaign, tmp_path / "out", potcar_spec=True)
    return campaign


#: A wrong YAML type for every top-level key of the campaign spec.
WRONG = {
    "name": "[1, 2]",
    "protocol": "{a: 1}",
    "deviations": "{tag: ENCUT}",
    "incar": "{NCORE: 4}",
    "systems": "[cote2-001]",
    "engine_options": "[gpaw]",
    "relax": "cote2-bulk",
    "static": "{k-atom: 1}",
    "adsorption": "42",
    "migration": "[[1]]",
    "workfunction": "3.5",
    "electronic": "[1, 2]",
    "chgdiff": "{cote2-znte: cote2}",
}


def test_the_schema_walk_covers_every_key():
    assert set(WRONG) == _KEYS


@pytest.mark.parametrize("key", sorted(WRONG))
def test_every_spec_key_refuses_a_wrong_type(tmp_path, key):
    with pytest.raises(ValueError) as err:
        _load(tmp_path, f"{key}: {WRONG[key]}\n")
    message = str(err.value)
    assert message.startswith(f"{tmp_path / 'spec.yaml'}: {key}"), message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("{supercell: 2}", "builder cote2-001: args.supercell = 2: expected tuple[int, int]"),
        ("{vacuum: -5}", "args.vacuum = -5 Å: below 8 Å the cell is not detected as a slab"),
        ("{vacuum: 5}", "args.vacuum = 5 Å: below 8 Å the cell is not detected as a slab"),
        ("{layers: 0}", "args.layers = 0: must be at least 1"),
        ("{layers: three}", "args.layers = 'three': expected int"),
        ("{supercell: [2, 0]}", "args.supercell = [2, 0]: each repeat must be at least 1"),
        ("{a: -3.8}", "args.a = -3.8: must be positive"),
    ],
)
def test_builder_arguments_are_checked_at_load(tmp_path, args, message):
    with pytest.raises(ValueError) as err:
        _load(tmp_path, f"systems: {{small: {{builder: cote2-001, args: {args}}}}}\nrelax: [small]\n")
    assert "spec.yaml: systems: small: " in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "relax: [cote2-bulk]\nengine_options: {gpaw: {grid_spacing: fine}}",
            "engine_options.gpaw.grid_spacing = 'fine': expected a number",
        ),
        (
            "relax: [cote2-bulk]\nengine_options: {mlip: {optimizer: 3}}",
            "mlip.optimizer = 3: expected a string",
        ),
        ("protocol: nothere.yaml\nrelax: [cote2-bulk]", "protocol: nothere.yaml: no such protocol file"),
    ],
)
def test_options_and_protocol_name_the_key(tmp_path, text, message):
    with pytest.raises(ValueError) as err:
        _load(tmp_path, text)
    assert "spec.yaml" in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "relax: [znte-111]\nadsorption: {znte-111: {sites: K-hollow-1}}",
            "adsorption: znte-111: option sites = 'K-hollow-1': expected a list of names",
        ),
        (
            "relax: [znte-111]\nadsorption: {znte-111: {sites_from: 3}}",
            "adsorption: znte-111: option sites_from = 3: expected a list of names",
        ),
        (
            "relax: [znte-111]\nadsorption: {znte-111: {intercalate: 5}}",
            "adsorption: znte-111: option intercalate = 5: expected a name",
        ),
        (
            "relax: [cote2-bulk]\ndeviations: [{tag: ENCUT, value: 520, reason: 'a cutoff check', nodes: 5}]",
            "deviations[0]: nodes: expected a glob pattern or a list of them, found 5",
        ),
        (
            "relax: [cote2-bulk]\ndeviations: [{tag: [ENCUT], value: 520, reason: 'a cutoff check'}]",
            "deviations[0]: tag: expected an INCAR tag name, found ['ENCUT']",
        ),
        (
            "relax: [cote2-bulk]\ndeviations: [{tag: ENCUT, value: 520, reason: 12345678901}]",
            "deviations[0]: a deviation from the protocol needs a reason (10+ characters of text)",
        ),
        ("systems: {x: {builder: 3}}\nrelax: [x]", "systems: x: builder: expected a builder name, found 3"),
        ("systems: {x: {builder: cote2-001, args: [1]}}\nrelax: [x]", "systems: x: args: expected a mapping"),
        (
            "relax: [cote2-bulk]\nincar: [{tags: {NCORE: [1, 2]}}]",
            "incar[0].tags: NCORE = [1, 2]: expected one int",
        ),
        (
            "relax: [cote2-bulk]\nincar: [{tags: {NELM: abc}}]",
            "incar[0].tags: NELM = 'abc': 'abc' is not an integer",
        ),
        (
            "relax: [cote2-bulk]\nincar: [{nodes: 5, tags: {NCORE: 4}}]",
            "incar[0].nodes must be a glob pattern",
        ),
    ],
)
def test_nested_spec_values_name_the_key(tmp_path, text, message):
    with pytest.raises(ValueError) as err:
        _load(tmp_path, text)
    assert str(err.value).startswith(str(tmp_path / "spec.yaml")) and message in str(err.value)


def test_a_node_cannot_leave_the_campaign_folder(tmp_path):
    text = "systems: {'../../../../outside': {builder: cote2-bulk}}\nrelax: ['../../../../outside']\n"
    with pytest.raises(ValueError, match=r"spec.yaml: system '\.\./\.\./\.\./\.\./outside' gives node"):
        _load(tmp_path, text)
    assert not (tmp_path.parent / "outside").exists()


def test_validate_refuses_a_campaign_json_folder_outside(fig1_campaign, tmp_path):
    root = tmp_path / "campaign"
    doc = json.loads((fig1_campaign / "campaign.json").read_text())
    node = next(n for n in doc["nodes"] if n["id"] == "relax/cote2-bulk")
    shutil.copytree(fig1_campaign / node["id"], root / node["id"])
    shutil.copytree(fig1_campaign / node["id"], tmp_path / "outside")
    escaped = dict(node, folder="../outside", id="relax/escaped")
    (root / "campaign.json").write_text(json.dumps({**doc, "nodes": [dict(node, deps=[]), escaped]}))
    findings = [f.line() for f in validate(root)]
    assert findings == [
        "../outside: campaign.json: campaign: folder: expected a folder inside the campaign; found ../outside"
    ]


def test_gitignore_covers_potcars_anywhere_but_not_the_spec():
    def ignored(path: str) -> bool:
        return (
            subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", path], check=False).returncode == 0
        )

    assert ignored("fig1-campaign/relax/cote2-bulk/POTCAR")
    assert ignored("deep/a/b/c/POTCAR.gz")
    assert not ignored("fig1-campaign/relax/cote2-bulk/POTCAR.spec")


def test_potcars_in_a_git_work_tree_are_warned_about(tmp_path, capsys):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    folder = tmp_path / "campaign" / "relax" / "x"
    folder.mkdir(parents=True)
    (folder / "POTCAR").write_text("licensed\n")
    _warn_potcars_in_git(tmp_path / "campaign", [folder / "POTCAR"])
    err = capsys.readouterr().err
    assert "1 POTCAR file(s) written inside the git work tree" in err
    assert "NOT ignored: add 'POTCAR' to .gitignore" in err
    (tmp_path / ".gitignore").write_text("POTCAR\n")
    _warn_potcars_in_git(tmp_path / "campaign", [folder / "POTCAR"])
    assert "git ignores them here" in capsys.readouterr().err
    outside = tmp_path.parent / f"{tmp_path.name}-nogit"
    outside.mkdir()
    (outside / "POTCAR").write_text("licensed\n")
    _warn_potcars_in_git(outside, [outside / "POTCAR"])
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("vasp: {incar: {images: 3}}", "vasp.incar: IMAGES is not a free tag"),
        ("vasp: {incar: {METAGGA: SCAN}}", "vasp.incar: METAGGA is not a free tag"),
        ("vasp: {incar: {ncore: 4, ENMAX: 500}}", "vasp.incar: ENMAX (read by VASP as ENCUT)"),
        ("vasp: {incar: NCORE}", "vasp.incar must map INCAR tags to values"),
        ("gpaw: {grid_spacing: fine}", "gpaw.grid_spacing = 'fine': expected a number"),
        ("vasp: {ranks: many}", "vasp.ranks = 'many': expected a positive whole number"),
        ("vasp: {walltime_seconds: 2.5}", "vasp.walltime_seconds = 2.5: expected a positive whole number"),
        ("vasp: {command: 42}", "vasp.command = 42: expected a command line or a list of its words"),
        ("vasp: {max_errors: -1}", "vasp.max_errors = -1: must be positive"),
    ],
)
def test_machine_configuration_is_checked(tmp_path, yaml_text, message):
    path = tmp_path / "cztflow.yaml"
    path.write_text(yaml_text + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_cli_gives_one_line_and_exit_2(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("systems: {small: {builder: cote2-001, args: {supercell: 2}}}\nrelax: [small]\n")
    result = CliRunner().invoke(app, ["campaign", "write", str(spec), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    want = "systems: small: cote2-001: builder cote2-001: args.supercell = 2: expected tuple[int, int]"
    assert lines == [f"error: {spec}: {want}"]


def test_validate_cli_on_unknown_species_is_a_finding(fig1_campaign, tmp_path):
    root = tmp_path / "c"
    shutil.copytree(fig1_campaign / "relax" / "znte-111-3x3", root / "slab")
    poscar = root / "slab" / "POSCAR"
    lines = poscar.read_text().splitlines()
    lines[5] = lines[5].replace("Zn", "Xx")
    poscar.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "cztflow.cli", "validate", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert "slab: POSCAR: species: Xx: expected an element symbol; found Xx" in out.stdout


def test_a_deviation_admits_a_refused_tag_with_its_value(tmp_path):
    text = (
        "relax: [cote2-bulk, znte-bulk]\n"
        "deviations: [{tag: LDAU, value: true, reason: 'DFT+U check of the Co d states', "
        "nodes: [relax/cote2-bulk]}]\n"
    )
    _load(tmp_path, text)
    root = tmp_path / "out"
    incar = (root / "relax" / "cote2-bulk" / "INCAR").read_text()
    assert "# deviation: LDAU = .TRUE. (DFT+U check of the Co d states)" in incar
    assert "LDAU = True" in incar
    assert "LDAU" not in (root / "relax" / "znte-bulk" / "INCAR").read_text()
    assert validate(root) == []
    (root / "relax" / "znte-bulk" / "INCAR").write_text(
        (root / "relax" / "znte-bulk" / "INCAR").read_text() + "LDAU = .TRUE.\n"
    )
    (root / "relax" / "cote2-bulk" / "INCAR").write_text(incar.replace("LDAU = True", "LDAU = False"))
    assert sorted(f.line() for f in validate(root)) == [
        "relax/cote2-bulk: INCAR: refused: LDAU: expected .TRUE. (declared deviation); found .FALSE.",
        "relax/znte-bulk: INCAR: refused: LDAU: expected absent: neither locked, derived nor free "
        "(a deviation may declare it); found .TRUE.",
    ]
