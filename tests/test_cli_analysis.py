"""``cztflow parse`` and ``cztflow analyze``: JSON keys, values and exit status."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from fakes import neb_tree, outcar_text, volumetric_text, write
from typer.testing import CliRunner

from cztflow.cli import app

runner = CliRunner()


def _json(args: list[str], code: int = 0) -> dict:
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def test_parse_json_summary(vasp_outputs):
    data = _json(["parse", str(vasp_outputs / "neb/NH3_inversion_vtst_vasp544/02/OUTCAR"), "--json"])
    assert data["final_energy"] == pytest.approx(-19.27978461, abs=1e-8)
    assert data["free_energy"] == pytest.approx(-19.27591934, abs=1e-8)
    assert data["efermi"] == pytest.approx(-4.925)
    assert data["converged"] is True and data["ionic_steps"] == 23 and data["vasp_version"] == "5.4.4"


def test_parse_flags_unconverged_with_exit_1(vasp_outputs):
    data = _json(["parse", str(vasp_outputs / "odd/ionic_unconverged_aiida/vasprun.xml"), "--json"], code=1)
    assert data["converged"] is False and "NSW = 5" in data["issues"][0]


def test_parse_rejects_a_cut_file_with_exit_2(vasp_outputs):
    result = runner.invoke(
        app, ["parse", str(vasp_outputs / "odd/relax_truncated_vasprun_aiida/vasprun.xml"), "--json"]
    )
    assert result.exit_code == 2
    assert "relax_truncated_vasprun_aiida/vasprun.xml: file is cut off inside <scstep>" in result.output


def test_parse_table_output(vasp_outputs):
    result = runner.invoke(app, ["parse", str(vasp_outputs / "electronic/Si_relax_atomate")])
    assert result.exit_code == 0 and "-10.84671647 eV" in result.output


def _adsorption_args(vasp_outputs) -> list[str]:
    root = vasp_outputs / "adsorption/O_on_Au100_RPBE_atomate2"
    return [
        "analyze",
        "adsorption",
        "--ads",
        str(root / "03_ads_static_O_on_Au100_conf0"),
        "--sub",
        str(root / "02_slab_static_Au100_Au16"),
        "--ref",
        str(root / "01_mol_static_O_atom"),
    ]


def test_analyze_adsorption_json(vasp_outputs):
    data = _json([*_adsorption_args(vasp_outputs), "--json"])
    assert data["adsorption_energy"] == pytest.approx(-2.09767314, abs=1e-8)
    assert data["sites"][0]["reference_kind"] == "atom"


def test_analyze_adsorption_rejects_a_wrong_reference(vasp_outputs):
    result = runner.invoke(app, [*_adsorption_args(vasp_outputs), "--ref-kind", "bulk"])
    assert result.exit_code == 2 and "a bulk reference must be a periodic crystal" in result.output


def test_analyze_neb_json(tmp_path):
    neb_tree(tmp_path, [-5.0, -4.8, -4.7, -4.9, -5.1], [0, -0.3, 0, 0.3, 0])
    data = _json(["analyze", "neb", str(tmp_path), "--json"])
    assert data["energies"] == pytest.approx([0, 0.2, 0.3, 0.1, -0.1])
    assert data["barrier_forward"] == pytest.approx(0.3) and data["barrier_reverse"] == pytest.approx(0.4)
    assert data["climbing_image"] == 2


def test_analyze_neb_names_the_missing_endpoint(vasp_outputs, tmp_path):
    shutil.copytree(vasp_outputs / "neb/NH3_inversion_vtst_vasp544", tmp_path / "neb")
    result = runner.invoke(app, ["analyze", "neb", str(tmp_path / "neb"), "--json"])
    assert result.exit_code == 2 and "neb/00: no OUTCAR for the end-point energy" in result.output


def _slab_locpot(folder, efermi: float | None):
    lattice = np.diag([3.0, 3.0, 40.0])
    z = np.arange(80) * 0.5
    profile = np.where((z > 10) & (z < 20), -10.0, np.where(z <= 10, 5.0, np.where(z < 30, 5.6, 5.0)))
    grid = np.broadcast_to(profile, (2, 2, 80))
    write(
        folder / "LOCPOT",
        volumetric_text({"Zn": 1, "Te": 1}, lattice, np.array([[0, 0, 0.27], [0, 0, 0.48]]), grid),
    )
    if efermi is not None:
        write(
            folder / "OUTCAR",
            outcar_text(
                species={"Zn": 1, "Te": 1},
                lattice=lattice,
                frac=[[0, 0, 0.27], [0, 0, 0.48]],
                energies=[-7.0],
                efermi=efermi,
                nsw=0,
                ibrion=-1,
            ),
        )


def test_analyze_workfunction_json(tmp_path):
    _slab_locpot(tmp_path, efermi=1.0)
    data = _json(["analyze", "workfunction", str(tmp_path), "--json"])
    assert data["efermi"] == 1.0
    assert data["vacuum_levels"] == pytest.approx([5.6, 5.0])
    assert data["work_functions"] == pytest.approx([4.6, 4.0])


def test_analyze_workfunction_without_fermi_level(tmp_path):
    _slab_locpot(tmp_path, efermi=None)
    result = runner.invoke(app, ["analyze", "workfunction", str(tmp_path)])
    assert result.exit_code == 2 and "no vasprun.xml, OUTCAR or cztflow-result.json" in result.output
    assert _json(["analyze", "workfunction", str(tmp_path), "--efermi", "2.0", "--json"])[
        "work_functions"
    ] == (pytest.approx([3.6, 3.0]))


def test_analyze_gap_json(vasp_outputs):
    data = _json(
        ["analyze", "gap", str(vasp_outputs / "electronic/Si2_static_vasp621_aiida/vasprun.xml"), "--json"]
    )
    assert data["gap"] == pytest.approx(0.6023, abs=1e-4)
    assert data["direct"] is False and data["is_metal"] is False
    assert data["fermi_level_based"]["gap"] == pytest.approx(0.6023, abs=1e-4)
    metal = _json(["analyze", "gap", str(vasp_outputs / "electronic/Al_static_aiida"), "--json"])
    assert metal["is_metal"] is True and metal["gap"] == 0.0


def test_analyze_chgdiff_json(tmp_path):
    lattice = np.diag([3.0, 3.0, 30.0])
    z = (np.arange(60) + 0.5) * 0.5
    base = np.ones((2, 2, 60))
    moved = 0.02 * (np.exp(-4 * (z - 11.5) ** 2) - np.exp(-4 * (z - 14.5) ** 2)) * base * 270.0
    fa, fb = [[0, 0, 10 / 30]], [[0, 0, 16 / 30]]
    write(
        tmp_path / "AB" / "CHGCAR",
        volumetric_text({"Zn": 1, "Te": 1}, lattice, np.array(fa + fb), 2 * base + moved),
    )
    write(tmp_path / "A" / "CHGCAR", volumetric_text({"Zn": 1}, lattice, np.array(fa), base))
    write(tmp_path / "B" / "CHGCAR", volumetric_text({"Te": 1}, lattice, np.array(fb), base))
    data = _json(
        ["analyze", "chgdiff", str(tmp_path / "AB"), str(tmp_path / "A"), str(tmp_path / "B"), "--json"]
    )
    assert data["transferred_charge"] == pytest.approx(0.02 * np.sqrt(np.pi) / 2 * 9.0, rel=1e-3)
    assert len(data["z"]) == len(data["planar"]) == len(data["cumulative"]) == 60
