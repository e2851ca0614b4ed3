"""VASP output readers: real files from ../shared/vasp-outputs and synthetic edge cases."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from fakes import outcar_text, poscar_text, volumetric_text, write

from cztflow.analysis import read_run
from cztflow.analysis.errors import (
    MalformedFileError,
    MissingOutputError,
    OverflowFieldError,
    TruncatedFileError,
    UnfinishedRunError,
    VaspOutputError,
)
from cztflow.analysis.oszicar import read_oszicar
from cztflow.analysis.outcar import read_outcar
from cztflow.analysis.textfile import find_output
from cztflow.analysis.vasprun import read_vasprun
from cztflow.analysis.volumetric import planar_average, read_volumetric

# (file, energy(sigma->0) of the last ionic step, as printed in the OUTCAR, E-fermi, ionic steps)
OUTCARS = [
    ("adsorption/H_on_Ir100_RPBE_atomate/01_bulk_Ir/OUTCAR.gz", -34.17463099, 9.7488, 1),
    ("adsorption/H_on_Ir100_RPBE_atomate/03_H_on_Ir100_2x2_conf0/OUTCAR.gz", -130.36848031, -1.6301, 15),
    ("adsorption/O_on_Au100_RPBE_atomate2/01_mol_static_O_atom/OUTCAR", -1.57792469, -7.0442, 1),
    ("neb/NH3_inversion_vtst_vasp544/02/OUTCAR", -19.27978461, -4.9250, 23),
    ("surface/MoO3_macrodensity/slab/OUTCAR.gz", -351.19713306, -1.9149, 1),
    ("workfunction/SnO2_slabs_surfaxe/101/OUTCAR", -470.60814607, 0.7721, 1),
]

# vasprun.xml next to an OUTCAR of the same run: the two must agree to 1e-8 eV.
PAIRED = [
    "adsorption/H_on_Ir100_RPBE_atomate/02_slab_Ir100_1x1",
    "adsorption/H_on_Ir100_RPBE_atomate/05_H_on_Ir100_2x2_conf2",
    "electronic/InAs_static_vasp535_aiida",
    "electronic/Si2_bands_vasp544_aiida",
    "electronic/Si_relax_atomate",
    "odd/ionic_unconverged_aiida",
    "surface/Li111_PBE_atomate/slab_111_Li12",
]

# Every data file in the shared folder that is rejected, with the words the reason must contain.
REJECTED = {
    "odd/unfinished_run_aiida/OUTCAR": (UnfinishedRunError, "no ionic step completed"),
    "odd/unfinished_run_aiida/vasprun.xml": (TruncatedFileError, "cut off inside <scstep> after 0 complete"),
    "odd/relax_truncated_vasprun_aiida/vasprun.xml": (TruncatedFileError, "after 18 complete ionic steps"),
    "neb/NH3_inversion_vtst_vasp544/vasprun.xml": (
        MalformedFileError,
        "26 <calculation> but 33 </calculation>",
    ),
}
# Files that parse but are flagged, with the words of the reason.
FLAGGED = {
    "odd/elec_unconverged_aiida/OUTCAR": "stopped at NELM = 8 iterations",
    "odd/elec_unconverged_aiida/vasprun.xml": "stopped at NELM = 8 iterations",
    "odd/ionic_unconverged_aiida/OUTCAR": "stopped after 5 of NSW = 5 ionic steps",
    "odd/ionic_unconverged_aiida/vasprun.xml": "stopped after 5 of NSW = 5 ionic steps",
    "odd/outcar_unfinished_aiida/OUTCAR": "run did not finish (no timing block); 12 ionic steps",
}


def _run_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and ("OUTCAR" in p.name or "vasprun" in p.name))


@pytest.mark.parametrize(("name", "energy", "efermi", "steps"), OUTCARS)
def test_outcar_final_values(vasp_outputs, name, energy, efermi, steps):
    run = read_outcar(vasp_outputs / name)
    assert run.final_energy == pytest.approx(energy, abs=1e-8)
    assert run.efermi == pytest.approx(efermi, abs=1e-4)
    assert run.ionic_steps == steps
    assert run.converged, run.issues


def test_outcar_reads_version_species_forces_and_free_energy(vasp_outputs):
    run = read_outcar(vasp_outputs / "neb/NH3_inversion_vtst_vasp544/02/OUTCAR")
    assert run.vasp_version == "5.4.4"
    assert run.species == ["H", "H", "H", "N"]  # POSCAR order: H 3, N 1
    assert run.free_energy == pytest.approx(-19.27591934, abs=1e-8)
    assert run.energy_without_entropy == pytest.approx(-19.28751515, abs=1e-8)
    assert run.forces.shape == (4, 3)
    assert run.max_force < 0.03  # EDIFFG = -0.02 was reached (with the NEB spring removed)
    assert run.electronic_steps == 3
    assert run.tangent_force == pytest.approx(-0.000001)


def test_outcar_spin_polarised_magnetisation(vasp_outputs):
    run = read_outcar(vasp_outputs / "odd/magnetization_ispin2_outcar_aiida/OUTCAR")
    assert run.parameters["ISPIN"] == 2
    assert run.magnetization == pytest.approx(6.4424922, abs=1e-6)  # hcp Co, 4 atoms: 1.61 μB/atom
    assert run.final_energy == pytest.approx(-28.41720662, abs=1e-8)


def test_vasp6_profiling_tail_still_counts_as_finished(vasp_outputs):
    run = read_outcar(
        vasp_outputs / "adsorption/O_on_Au100_RPBE_atomate2/03_ads_static_O_on_Au100_conf0/OUTCAR"
    )
    assert run.vasp_version == "6.3.2" and run.finished and run.converged


@pytest.mark.parametrize("folder", PAIRED)
def test_vasprun_agrees_with_outcar(vasp_outputs, folder):
    outcar = read_outcar(find_output(vasp_outputs / folder, "OUTCAR"))
    vasprun = read_vasprun(find_output(vasp_outputs / folder, "vasprun.xml"))
    assert vasprun.final_energy == pytest.approx(outcar.final_energy, abs=1e-8)
    assert vasprun.free_energy == pytest.approx(outcar.free_energy, abs=1e-8)
    assert vasprun.ionic_steps == outcar.ionic_steps
    assert vasprun.converged == outcar.converged
    assert vasprun.species == outcar.species


def test_vasp54_e0_quirk_is_corrected_and_vasp6_untouched(vasp_outputs):
    old = read_vasprun(vasp_outputs / "electronic/Si2_bands_vasp544_aiida/vasprun.xml")
    new = read_vasprun(vasp_outputs / "electronic/Si2_static_vasp621_aiida/vasprun.xml")
    assert old.e0_quirk and not new.e0_quirk
    assert old.final_energy == pytest.approx(-7.67442437, abs=1e-8)  # OUTCAR's energy(sigma->0)
    assert new.final_energy == pytest.approx(-8.24094279, abs=1e-8)


def test_vasprun_electronic_structure_matches_pymatgen(vasp_outputs):
    pytest.importorskip("pymatgen")
    from pymatgen.electronic_structure.core import Spin
    from pymatgen.io.vasp import Vasprun as PmgVasprun

    path = vasp_outputs / "adsorption/H_on_Ir100_RPBE_atomate/01_bulk_Ir/vasprun.xml.gz"
    ours = read_vasprun(path)
    theirs = PmgVasprun(str(path), parse_potcar_file=False)
    assert ours.efermi == pytest.approx(theirs.efermi, abs=1e-8)
    assert np.allclose(ours.kpoints, theirs.actual_kpoints)
    assert np.allclose(ours.kpoint_weights, theirs.actual_kpoints_weights)
    for index, spin in enumerate((Spin.up, Spin.down)):
        assert np.array_equal(ours.eigenvalues[index], theirs.eigenvalues[spin][..., 0])
        assert np.array_equal(ours.occupations[index], theirs.eigenvalues[spin][..., 1])
        assert np.array_equal(ours.dos_total[index], theirs.tdos.densities[spin])
    assert np.array_equal(ours.dos_energies, theirs.tdos.energies)
    ir0_d = sum(theirs.pdos[0][orb][Spin.up] for orb in theirs.pdos[0])
    assert np.allclose(ours.pdos[0, 0].sum(axis=1), ir0_d)
    assert ours.pdos_orbitals == ["s", "py", "pz", "px", "dxy", "dyz", "dz2", "dxz", "dx2"]


def test_every_shared_file_parses_or_is_rejected_with_a_reason(vasp_outputs):
    seen_rejected, seen_flagged = set(), set()
    for path in _run_files(vasp_outputs):
        name = path.relative_to(vasp_outputs).as_posix()
        if name in REJECTED:
            kind, words = REJECTED[name]
            with pytest.raises(kind, match=r".*") as info:
                read_run(path)
            assert words in str(info.value) and str(path) in str(info.value)
            seen_rejected.add(name)
            continue
        run = read_run(path)
        assert np.isfinite(run.final_energy) and run.natoms > 0
        if name in FLAGGED:
            assert not run.converged and any(FLAGGED[name] in issue for issue in run.issues), run.issues
            seen_flagged.add(name)
        else:
            assert run.converged, (name, run.issues)
    assert seen_rejected == set(REJECTED) and seen_flagged == set(FLAGGED)


def test_partial_mode_reads_last_complete_step_of_a_cut_vasprun(vasp_outputs):
    cut = read_vasprun(vasp_outputs / "odd/relax_truncated_vasprun_aiida/vasprun.xml", partial=True)
    whole = read_vasprun(vasp_outputs / "relax/Si8_relax_complete_aiida/vasprun.xml")
    assert cut.ionic_steps == 18 and whole.ionic_steps == 19
    assert not cut.finished and not cut.converged
    assert "cut off" in cut.issues[0]


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2", ".xz"])
def test_compressions_give_identical_results(vasp_outputs, tmp_path, suffix):
    raw = (vasp_outputs / "electronic/Si2_bands_vasp544_aiida/OUTCAR").read_bytes()
    opener = {"": open, ".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}[suffix]
    with opener(tmp_path / f"OUTCAR{suffix}", "wb") as handle:
        handle.write(raw)
    run = read_run(tmp_path)
    assert run.final_energy == pytest.approx(-7.67442437, abs=1e-8)


def test_cut_gzip_stream_is_truncated_error(vasp_outputs, tmp_path):
    data = (vasp_outputs / "electronic/Si_relax_atomate/OUTCAR.gz").read_bytes()
    (tmp_path / "OUTCAR.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedFileError, match="compressed stream is damaged or cut off"):
        read_outcar(tmp_path / "OUTCAR.gz")


def test_two_copies_of_an_output_are_refused(tmp_path):
    (tmp_path / "OUTCAR").write_text("x")
    (tmp_path / "OUTCAR.gz").write_bytes(gzip.compress(b"x"))
    with pytest.raises(MissingOutputError, match=r"several copies of OUTCAR \(OUTCAR, OUTCAR.gz\)"):
        find_output(tmp_path, "OUTCAR")


def test_relax2_wins_over_relax1(tmp_path):
    for name in ("OUTCAR.relax1.gz", "OUTCAR.relax2.gz"):
        (tmp_path / name).write_bytes(b"")
    assert find_output(tmp_path, "OUTCAR").name == "OUTCAR.relax2.gz"


def _fake(tmp_path: Path, **kw) -> Path:
    base = dict(
        species={"K": 1, "Zn": 1}, lattice=np.eye(3) * 10, frac=[[0, 0, 0], [0.5, 0.5, 0.5]], energies=[-3.0]
    )
    base.update(kw)
    return write(tmp_path / "OUTCAR", outcar_text(**base))


def test_overflowed_energy_is_refused_not_read(tmp_path):
    path = _fake(tmp_path, energies=[-3.0, -3.5])
    text = path.read_text().replace(
        "energy(sigma->0) =         -3.50000000", "energy(sigma->0) = **************"
    )
    path.write_text(text)
    with pytest.raises(OverflowFieldError, match=r"energy\(sigma->0\) of ionic step 2: a field overflowed"):
        read_outcar(path)


def test_overflowed_force_names_the_table(tmp_path):
    path = _fake(tmp_path, forces=[[0.1, 0.2, 0.3], [-0.1, -0.2, -0.3]])
    path.write_text(path.read_text().replace("      0.300000", "  ************", 1))
    with pytest.raises(OverflowFieldError, match="TOTAL-FORCE table of ionic step 1"):
        read_outcar(path)


def test_fused_fortran_numbers_are_split(tmp_path):
    path = _fake(
        tmp_path, frac=[[0, 0, 0], [0.5, 0.5, 0.5]], forces=[[0, 0, 0], [-123.4567, -234.5678, -345.6789]]
    )
    text = path.read_text()
    fused = text.replace("   -123.456700   -234.567800   -345.678900", "-123.456700-234.567800-345.678900")
    assert fused != text
    path.write_text(fused)
    run = read_outcar(path)
    assert run.forces[1].tolist() == [-123.4567, -234.5678, -345.6789]


def test_force_table_with_a_missing_value_is_malformed(tmp_path):
    path = _fake(tmp_path, forces=[[0.1, 0.2, 0.3], [0, 0, 0]])
    path.write_text(path.read_text().replace("      0.300000", "", 1))
    with pytest.raises(
        MalformedFileError, match="TOTAL-FORCE table of ionic step 1: row 1 has 5 numbers, expected 6"
    ):
        read_outcar(path)


def test_not_an_outcar(tmp_path):
    (tmp_path / "OUTCAR").write_text("hello\n")
    with pytest.raises(MalformedFileError, match="not an OUTCAR"):
        read_outcar(tmp_path / "OUTCAR")


def test_scf_at_nelm_is_unconverged(tmp_path):
    run = read_outcar(_fake(tmp_path, nelm=5, scf_steps=5))
    assert not run.electronic_converged
    assert "stopped at NELM = 5" in run.issues[0]


def test_oszicar(vasp_outputs):
    osz = read_oszicar(vasp_outputs / "neb/NH3_inversion_vtst_vasp544/02/OSZICAR")
    assert len(osz.final_energies) == 21
    assert osz.final_energy == pytest.approx(-19.279784)
    assert osz.free_energies[-1] == pytest.approx(-19.275919)
    assert osz.energy_changes[-1] == pytest.approx(-8.87352e-05)
    assert osz.electronic_steps[-1] == 4 and not osz.incomplete_step


def test_oszicar_incomplete_last_step(tmp_path):
    path = write(
        tmp_path / "OSZICAR",
        "DAV:   1    -0.1E+02   -0.1E+02   -0.7E+00    32   0.17E+01\n"
        "   1 F= -.10000000E+02 E0= -.10100000E+02  d E =-.100000E+02  mag=     1.0000\n"
        "DAV:   1    -0.1E+02   -0.1E+02   -0.7E+00    32   0.17E+01\n",
    )
    osz = read_oszicar(path)
    assert osz.final_energy == -10.1 and osz.magnetizations.tolist() == [1.0]
    assert osz.incomplete_step and "never completed" in osz.issues[0]
    with pytest.raises(UnfinishedRunError, match="no 'F=' line"):
        read_oszicar(write(tmp_path / "empty" / "OSZICAR", "DAV:   1  -0.1E+02\n"))


def test_locpot_matches_pymatgen_planar_average(vasp_outputs):
    pytest.importorskip("pymatgen")
    from pymatgen.io.vasp import Locpot

    path = vasp_outputs / "workfunction/SnO2_slab_LOCPOT_macrodensity/LOCPOT.gz"
    ours = read_volumetric(path)
    theirs = Locpot.from_file(str(path))
    assert ours.grid == (18, 28, 224)
    assert ours.species.count("Sn") == 9 and ours.species.count("O") == 18
    assert np.abs(planar_average(ours.data) - theirs.get_average_along_axis(2)).max() < 1e-10


def test_spin_locpot_has_two_blocks(vasp_outputs):
    data = read_volumetric(vasp_outputs / "workfunction/Si_bulk_static_atomate/LOCPOT.gz")
    assert len(data.blocks) == 2 and data.grid == (60, 60, 60)
    assert data.data[0, 0, 0] == pytest.approx(-107.54420947)
    assert (
        len(
            read_volumetric(
                vasp_outputs / "workfunction/Si_bulk_static_atomate/LOCPOT.gz", max_blocks=1
            ).blocks
        )
        == 1
    )


def test_chgcar_augmentation_is_skipped_and_spin_block_read(tmp_path):
    lattice, frac = np.eye(3) * 4, np.array([[0.0, 0.0, 0.0]])
    total = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4) + 1
    mag = -0.5 * total
    text = volumetric_text({"Co": 1}, lattice, frac, total)
    aug = "augmentation occupancies   1  4\n  0.1 0.2 0.3 0.4\n"
    spin = volumetric_text({"Co": 1}, lattice, frac, mag).split("\n", 9)[9]  # the grid line onwards
    path = write(tmp_path / "CHGCAR", text + aug + " 1.000\n" + spin + aug)
    data = read_volumetric(path)
    assert np.allclose(data.blocks[0], total) and np.allclose(data.blocks[1], mag)


def test_truncated_locpot(tmp_path):
    text = volumetric_text({"K": 1}, np.eye(3) * 4, np.zeros((1, 3)), np.ones((4, 4, 4)))
    path = write(tmp_path / "LOCPOT", text[: len(text) - 200])
    with pytest.raises(TruncatedFileError, match=r"grid block 1 ends after \d+ of 64 values"):
        read_volumetric(path)


def test_overflowed_locpot_value(tmp_path):
    text = volumetric_text({"K": 1}, np.eye(3) * 4, np.zeros((1, 3)), np.ones((4, 4, 4)))
    path = write(tmp_path / "LOCPOT", text.replace(" 0.10000000000E+01", " ****************", 1))
    with pytest.raises(OverflowFieldError, match="grid block 1: a value overflowed"):
        read_volumetric(path)


def test_poscar_header_errors_name_the_file(tmp_path):
    path = write(
        tmp_path / "LOCPOT", poscar_text({"K": 1}, np.eye(3), np.zeros((1, 3))).replace("1.0", "one", 1)
    )
    with pytest.raises(MalformedFileError, match=r"LOCPOT: structure header is not POSCAR format"):
        read_volumetric(path)


def test_missing_outputs_are_named(tmp_path):
    with pytest.raises(MissingOutputError, match=r"no vasprun\.xml, OUTCAR or cztflow-result\.json in"):
        read_run(tmp_path)
    with pytest.raises(VaspOutputError, match=r"not an OUTCAR, vasprun\.xml or cztflow-result\.json"):
        read_run(write(tmp_path / "notes.txt", "x"))


def test_read_run_prefers_vasprun_in_a_folder(vasp_outputs, tmp_path):
    for name in ("OUTCAR.gz", "vasprun.xml.gz"):
        shutil.copy(vasp_outputs / "electronic/Si_relax_atomate" / name, tmp_path / name)
    assert read_run(tmp_path).path.name == "vasprun.xml.gz"


def _big_grid() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.normal(0.0, 5.0, (50, 50, 48)) * 10.0 ** rng.integers(-3, 3, (50, 50, 48))


@pytest.fixture
def compiled_for_small_grids(monkeypatch):
    """Send the test grids (120 000 values) through the compiled path (when numba is installed)."""
    from cztflow.analysis import volumetric

    monkeypatch.setattr(volumetric, "_FAST_MIN", 1000)
    monkeypatch.setattr(volumetric, "USE_NUMBA", True)


def test_compiled_and_general_paths_agree(tmp_path, compiled_for_small_grids):
    from cztflow.analysis import volumetric
    from cztflow.analysis.volumetric import read_planar_average

    grid = _big_grid()  # 120 000 values; the test lowers the compiled-path threshold to reach it
    path = write(tmp_path / "LOCPOT", volumetric_text({"K": 1}, np.eye(3) * 9, np.zeros((1, 3)), grid))
    fast = read_volumetric(path).data
    general, _ = volumetric._general_block(
        np.frombuffer(path.read_bytes(), dtype=np.uint8),
        path.read_bytes().find(b"50 50 48\n") + 9,
        grid.size,
        path,
        1,
    )
    assert np.allclose(fast, grid, rtol=1e-10, atol=0)  # E18.11 keeps 11 significant digits
    assert np.array_equal(fast.transpose().ravel(), general)  # both correctly rounded: bit-identical
    data, means = read_planar_average(path)
    assert data.blocks == [] and data.grid == (50, 50, 48)
    assert np.abs(means - planar_average(fast)).max() < 1e-12 * np.abs(fast).max()


def test_compiled_path_falls_back_to_precise_errors(tmp_path, compiled_for_small_grids):
    text = volumetric_text({"K": 1}, np.eye(3) * 9, np.zeros((1, 3)), _big_grid())
    fields = text.split("\n")
    fields[5000] = fields[5000][:18] + " ****************" + fields[5000][36:]
    with pytest.raises(OverflowFieldError, match="grid block 1: a value overflowed"):
        read_volumetric(write(tmp_path / "over" / "LOCPOT", "\n".join(fields)))
    with pytest.raises(TruncatedFileError, match=r"grid block 1 ends after 1199\d\d of 120000 values"):
        read_volumetric(write(tmp_path / "cut" / "LOCPOT", text[: len(text) - 500]))


def test_bare_three_digit_exponents_are_restored(tmp_path):
    from cztflow.analysis.textfile import floats

    assert floats(b"0.1-100 -1.234-5.678 1.5-123.4 2.0D-03", "f", "t").tolist() == [
        1e-101,
        -1.234,
        -5.678,
        1.5,
        -123.4,
        0.002,
    ]
    text = volumetric_text({"K": 1}, np.eye(3) * 4, np.zeros((1, 3)), np.ones((4, 4, 4)))
    path = write(tmp_path / "CHGCAR", text.replace(" 0.10000000000E+01", " 0.12345678901-100", 1))
    data = read_volumetric(path)
    assert data.data[0, 0, 0] == pytest.approx(0.12345678901e-100, rel=1e-12) and data.data[1, 0, 0] == 1.0


def test_parse_floats_refuses_partial_text_under_numpy_1_26(monkeypatch):
    """NumPy 1.26 warns and returns the numbers before unreadable text; 2.x raises. Both raise here."""
    import warnings

    from cztflow.analysis import textfile

    def numpy_126(text, sep):
        warnings.warn("string or file could not be read to its end", DeprecationWarning, stacklevel=2)
        return np.array([1.0, 2.0])

    assert textfile.parse_floats(b"1.0 2.0").tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="could not be read to its end"):
        textfile.parse_floats(b"1.0 2.0 ***** 3.0")
    monkeypatch.setattr(textfile.np, "fromstring", numpy_126)
    with pytest.raises(ValueError, match="could not be read to its end"):
        textfile.parse_floats(b"1.0 2.0 ***** 3.0")


def test_md_oszicar_lines_are_ionic_steps(tmp_path):
    """Molecular dynamics writes ``N T= E= F= E0= EK= SP= SK=`` (VASP 6.3 Si-melting tutorial format)."""
    path = write(
        tmp_path / "OSZICAR",
        "RMM:  18    -0.338801478964E+03   -0.57656E-04   -0.60546E-04   262   0.494E-02\n"
        "   1 T=  2000. E= -.32251463E+03 F= -.33880148E+03 E0= -.33880148E+03  EK= 0.16287E+02 "
        "SP= 0.00E+00 SK= 0.00E+00\n"
        "RMM:   9    -0.338122995490E+03   -0.53416E-04   -0.72833E-04   288   0.348E-02\n"
        "   2 T=  1916. E= -.32252355E+03 F= -.33812300E+03 E0= -.33812299E+03  EK= 0.15599E+02 "
        "SP= -.49E-06 SK= 0.61E-12\n",
    )
    osz = read_oszicar(path)
    assert osz.final_energies.tolist() == [-338.80148, -338.12299]
    assert osz.free_energies.tolist() == [-338.80148, -338.123]
    assert osz.temperatures.tolist() == [2000.0, 1916.0]
    assert osz.electronic_steps == [18, 9] and not osz.incomplete_step
    cut = write(tmp_path / "cut" / "OSZICAR", path.read_text()[:-40])  # inside the last line
    assert read_oszicar(cut).final_energies.tolist() == [-338.80148] and read_oszicar(cut).incomplete_step


def test_numpy_e18_path_is_bit_identical_to_float(vasp_outputs, tmp_path):
    """Grids below the numba threshold are converted column-wise by NumPy (analysis.e18)."""
    from cztflow.analysis import e18
    from cztflow.analysis.textfile import read_bytes

    path = vasp_outputs / "workfunction/SnO2_slab_LOCPOT_macrodensity/LOCPOT.gz"
    raw = read_bytes(path)
    start = raw.index(b"18   28  224\n") + len(b"18   28  224\n")
    expected = np.array([float(t) for t in raw[start:].split()[: 18 * 28 * 224]])
    out = np.empty(expected.size)
    assert e18.parse_e18(np.frombuffer(raw, dtype=np.uint8), start, expected.size, out) is not None
    assert np.array_equal(out, expected)
    assert np.array_equal(read_volumetric(path).data.transpose().ravel(), expected)
    # Exponents beyond ±22 (tiny CHGCAR values) are converted one by one, still exactly.
    grid = np.full((4, 4, 4), 1.5)
    grid[1, 2, 3], grid[0, 0, 1] = 1.2345678901e-99, -9.8765432109e40
    text = volumetric_text({"K": 1}, np.eye(3) * 4, np.zeros((1, 3)), grid)
    data = read_volumetric(write(tmp_path / "CHGCAR", text)).data
    assert data[1, 2, 3] == float("0.12345678901E-98") and data[0, 0, 1] == float("-.98765432109E+41")


def _e18(value: float) -> bytes:
    """``value`` as VASP prints it in a grid (E18.11, leading '0.' or '-.')."""
    mantissa, exponent = f"{abs(value):.10E}".split("E")
    head = " 0." if value >= 0 else " -."
    return (head + mantissa.replace(".", "") + f"E{int(exponent) + 1:+03d}").encode()


def test_e18_path_matches_float_on_every_kind_of_field():
    """Mantissas of 0 and all nines, exponents across and beyond the single-division range."""
    from cztflow.analysis import e18

    rng = np.random.default_rng(11)
    values = rng.normal(0.0, 1.0, 40_000) * 10.0 ** rng.integers(-10, 11, 40_000)
    values[:6] = [0.0, 0.99999999999e11, -0.99999999999e-10, 1e-11, -1.0, 0.5]
    for case, extra in (("one division", []), ("wider", [1.5e11, -2.5e-12]), ("Python", [1e-40, 3e30])):
        numbers = np.concatenate([values, extra])
        fields = [b" 0.00000000000E+00" if not v else _e18(v) for v in numbers]
        text = b"".join(b"".join(fields[i : i + 5]) + b"\n" for i in range(0, len(fields), 5))
        out = np.empty(len(fields))
        end = e18.parse_e18(np.frombuffer(text, dtype=np.uint8), 0, len(fields), out)
        assert end == len(text), case
        expected = np.array([float(f) for f in fields])
        assert np.array_equal(out.view(np.int64), expected.view(np.int64)), case


_OUT_OF_PLACE = [(0, b"x"), (1, b"."), (1, b"/"), (1, b"+"), (2, b","), (5, b":"), (13, b"/")]
_OUT_OF_PLACE += [(14, b"D"), (15, b","), (15, b" "), (16, b"a"), (17, b"-"), (90, b" ")]


@pytest.mark.parametrize(("offset", "byte"), _OUT_OF_PLACE)
def test_e18_path_refuses_a_byte_out_of_place(offset, byte):
    """A byte E18.11 does not allow in its column sends the block to the general parser."""
    from cztflow.analysis import e18

    text = bytearray(b"".join(b"".join(_e18(0.1 * k + 1) for k in range(5)) + b"\n" for _ in range(40)))
    text[91 * 17 + offset : 91 * 17 + offset + 1] = byte
    out = np.empty(200)
    assert e18.parse_e18(np.frombuffer(bytes(text), dtype=np.uint8), 0, 200, out) is None


def test_numpy_path_is_bit_identical_to_numba_path(vasp_outputs, tmp_path, monkeypatch):
    """numba is optional (cztflow[fast]): with it forced off, grids and planar averages keep their bits."""
    pytest.importorskip("numba")
    from cztflow.analysis import fastgrid, volumetric
    from cztflow.analysis.volumetric import read_planar_average

    calls = []
    parse_fixed = fastgrid.parse_fixed
    monkeypatch.setattr(fastgrid, "parse_fixed", lambda *args: calls.append(1) or parse_fixed(*args))
    monkeypatch.setattr(volumetric, "_FAST_MIN", 1000)
    grid = _big_grid()
    grid[3, 4, 5], grid[6, 7, 8] = 1.2345678901e-40, -2.5e15  # one value per path beyond one division
    files = [
        write(tmp_path / "LOCPOT", volumetric_text({"K": 1}, np.eye(3) * 9, np.zeros((1, 3)), grid)),
        vasp_outputs / "workfunction/SnO2_slab_LOCPOT_macrodensity/LOCPOT.gz",
        vasp_outputs / "workfunction/Si_bulk_static_atomate/LOCPOT.gz",
    ]
    results = {}
    for numba in (True, False):
        monkeypatch.setattr(volumetric, "USE_NUMBA", numba)
        calls.clear()
        results[numba] = [
            ([b.copy() for b in read_volumetric(f).blocks], read_planar_average(f)[1]) for f in files
        ]
        assert len(calls) == (7 if numba else 0)  # 1 + 1 + 2 spin blocks, then 3 planar averages
    for (blocks_numba, mean_numba), (blocks_numpy, mean_numpy) in zip(
        results[True], results[False], strict=True
    ):
        assert len(blocks_numba) == len(blocks_numpy)
        for a, b in zip(blocks_numba, blocks_numpy, strict=True):
            assert np.array_equal(a.view(np.int64), b.view(np.int64))
        assert np.array_equal(mean_numba.view(np.int64), mean_numpy.view(np.int64))
    assert results[False][0][0][0][3, 4, 5] == float("0.12345678901E-39")
    assert results[False][0][0][0][6, 7, 8] == float("-.25000000000E+16")


def test_numba_is_imported_only_when_asked_for(vasp_outputs):
    """A LOCPOT read imports numba only with CZTFLOW_NUMBA=1 (and a grid above the threshold)."""
    import subprocess
    import sys

    path = vasp_outputs / "workfunction/SnO2_slab_LOCPOT_macrodensity/LOCPOT.gz"
    code = (
        "import sys; from cztflow.analysis import volumetric as v; v._FAST_MIN = 1000; "
        f"m = v.read_planar_average({str(path)!r})[1]; "
        "print(round(float(m.mean()), 9), 'numba' in sys.modules)"
    )
    seen = {}
    for flag in ("", "0", "1"):
        env = {k: v for k, v in os.environ.items() if k != "CZTFLOW_NUMBA"}
        if flag:
            env["CZTFLOW_NUMBA"] = flag
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        seen[flag] = done.stdout.split()
    assert seen[""][1] == seen["0"][1] == "False"
    assert seen[""][0] == seen["0"][0]
    try:
        import numba  # noqa: F401
    except ImportError:
        return
    assert seen["1"] == [seen[""][0], "True"]
