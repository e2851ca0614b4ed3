import json

import pytest
from ase.io import read
from pymatgen.core import Structure
from typer.testing import CliRunner

from cztflow.cli import app

runner = CliRunner()


@pytest.mark.parametrize("name", ["POSCAR", "slab.vasp", "slab.cif", "slab.extxyz"])
def test_build_one_file_per_format(tmp_path, name):
    out = tmp_path / name
    result = runner.invoke(app, ["build", "znte-111", "-p", "supercell=[2, 2]", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    if name.endswith(".extxyz"):
        atoms = read(out)
        assert len(atoms) == 4 * (8 + 1)
    else:
        s = Structure.from_file(out)
        assert s.composition.as_dict() == {"Zn": 16, "Te": 16, "H": 4}


def test_build_with_k_site(tmp_path):
    out = tmp_path / "POSCAR"
    result = runner.invoke(app, ["build", "cote2-001", "--k-site", "hollow-2", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert Structure.from_file(out).composition["K"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "graphene", "-o", "x.vasp"], "unknown system 'graphene'"),
        (["build", "cote2-001", "-o", "x.pdb"], "cannot tell the format from '.pdb'"),
        (["build", "cote2-001", "-p", "layers", "-o", "x.vasp"], "expected KEY=VALUE"),
        (["build", "cote2-001", "-p", "layers=0", "-o", "x.vasp"], "args.layers = 0: must be at least 1"),
        (["build", "cote2-001", "--k-site", "hollow-9", "-o", "x.vasp"], "has no site 'hollow-9'"),
        (["build", "-o", "x.vasp"], "name a SYSTEM or use --all"),
    ],
)
def test_build_errors(tmp_path, args, message):
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    assert message in result.output


def test_build_all_refuses_a_file(tmp_path):
    f = tmp_path / "taken"
    f.write_text("x")
    result = runner.invoke(app, ["build", "--all", "-o", str(f)])
    assert result.exit_code == 2 and "exists and is not a folder" in result.output


def test_sites_json():
    result = runner.invoke(app, ["sites", "znte-111", "--json"])
    assert result.exit_code == 0
    sites = json.loads(result.output)
    assert [s["kind"] for s in sites] == ["ontop", "bridge", "hollow", "hollow"]


def test_interfaces_json():
    result = runner.invoke(app, ["interfaces", "--json", "--max-area", "120"])
    cells = json.loads(result.output)
    assert [(c["lower"], c["natoms"]) for c in cells] == [
        ("2×2", 60),
        ("[[2, 2], [-2, 2]]", 120),
        ("3×3", 137),
    ]


def test_protocol_json_has_hash():
    from cztflow.protocol import default_protocol

    data = json.loads(runner.invoke(app, ["protocol", "--json"]).output)
    assert data["hash"] == default_protocol().hash
    assert data["settings"]["encut"] == {
        "value": 450.0,
        "unit": "eV",
        "source": data["settings"]["encut"]["source"],
    }


@pytest.mark.slow
def test_build_all_reports_but_keeps_foreign_files(tmp_path):
    mine = tmp_path / "my-own.vasp"
    mine.write_text("not ours")
    result = runner.invoke(app, ["build", "--all", "-o", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    assert "wrote 75 structures" in result.output
    assert "1 .vasp file(s)" in result.output and "my-own.vasp" in result.output
    assert mine.read_text() == "not ours"
    assert len(json.loads((tmp_path / "index.json").read_text())) == 75


def test_sites_table_prints_no_negative_zero():
    """On a 2x2 CoTe2 trilayer two sites sit at x = -1e-16 before rounding."""
    params = ["-p", "layers=1", "-p", "fixed_layers=0", "-p", "supercell=[2, 2]"]
    result = runner.invoke(app, ["sites", "cote2-001", *params])
    assert result.exit_code == 0
    assert "-0.000" not in result.output
    assert "ontop-1      ontop   x=   0.000 y=   2.196  over Te@0.00" in result.output.splitlines()
