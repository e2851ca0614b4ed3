"""Fig. 1 analyses as pure functions: adsorption, NEB, work function, band gap, Δρ."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from fakes import neb_tree, outcar_text, volumetric_text, write

from cztflow.analysis.adsorption import adsorption_energy, most_stable
from cztflow.analysis.chgdiff import charge_difference
from cztflow.analysis.electronic import band_gap, band_path_distances, dos_by_element
from cztflow.analysis.errors import AnalysisError, MissingOutputError
from cztflow.analysis.neb import analyze_neb, read_neb
from cztflow.analysis.outcar import read_outcar
from cztflow.analysis.poscar import read_poscar
from cztflow.analysis.run import RunSummary
from cztflow.analysis.vasprun import read_vasprun
from cztflow.analysis.volumetric import planar_average, read_volumetric
from cztflow.analysis.workfunction import work_function


def _summary(species: list[str], energy: float, lattice: np.ndarray, frac: np.ndarray, **kw) -> RunSummary:
    lattice = np.asarray(lattice, dtype=float)
    defaults = dict(
        vasp_version="6.4.2",
        free_energy=energy,
        energy_without_entropy=energy,
        efermi=0.0,
        ionic_steps=1,
        electronic_steps=10,
        electronic_converged=True,
        ionic_converged=True,
        finished=True,
    )
    defaults.update(kw)
    return RunSummary(
        path=Path(f"/runs/{energy}"),
        final_energy=energy,
        species=species,
        lattice=lattice,
        positions=np.asarray(frac) @ lattice,
        **defaults,
    )


# ---- adsorption -----------------------------------------------------------------------------------------


def test_atomate2_o_on_au_adsorption_energy(vasp_outputs):
    root = vasp_outputs / "adsorption/O_on_Au100_RPBE_atomate2"
    atom, slab, ads = (read_outcar(next((root).glob(f"0{i}_*")) / "OUTCAR") for i in (1, 2, 3))
    result = adsorption_energy(ads, slab, atom)
    # atomate2's tests/vasp/flows/test_adsorption.py lists -2.0976731399999906 eV for this configuration
    assert result.adsorption_energy == pytest.approx(-2.09767314, abs=1e-8)
    assert result.reference_kind == "atom" and result.substrate_multiple == 1 and result.n_adsorbates == 1


def _slab(n_cells: int, n_k: int, energy: float) -> RunSummary:
    nz = 4 * n_cells
    frac = [[i / nz, 0, 0.1] for i in range(nz)] + [[0.5, 0.5, 0.3]] * n_k
    return _summary(["Zn"] * nz + ["K"] * n_k, energy, np.diag([4.0 * n_cells, 4.0, 30.0]), frac)


BCC_K = _summary(["K", "K"], -2.0, np.eye(3) * 5.3, [[0, 0, 0], [0.5, 0.5, 0.5]])
K_ATOM = _summary(["K"], -0.2, np.eye(3) * 15, [[0.5, 0.5, 0.5]])


def test_adsorption_scales_substrate_supercell_and_picks_reference():
    sub = _slab(1, 0, -10.0)
    ads = _slab(4, 1, -42.5)
    bulk = adsorption_energy(ads, sub, BCC_K)
    assert bulk.substrate_multiple == 4 and bulk.reference_kind == "bulk"
    assert bulk.adsorption_energy == pytest.approx(-42.5 + 40.0 + 1.0)
    atom = adsorption_energy(ads, sub, K_ATOM, reference_kind="atom")
    assert atom.adsorption_energy == pytest.approx(-42.5 + 40.0 + 0.2)
    two = adsorption_energy(_slab(4, 2, -44.0), sub, BCC_K)
    assert two.n_adsorbates == 2 and two.per_adsorbate == pytest.approx((-44.0 + 40.0 + 2.0) / 2)
    assert most_stable([bulk, two]).per_adsorbate == pytest.approx(-1.5)


def test_adsorption_refuses_bad_compositions_references_and_unconverged_runs():
    sub = _slab(1, 0, -10.0)
    with pytest.raises(AnalysisError, match=r"leaves .*expected only K atoms"):
        adsorption_energy(
            _summary(["Zn"] * 4 + ["Te"], -12.0, np.diag([4, 4, 30.0]), [[0, 0, 0.1]] * 5), sub, BCC_K
        )
    with pytest.raises(AnalysisError, match=r"holds 1\.25 substrate cells"):
        adsorption_energy(
            _summary(["Zn"] * 5 + ["K"], -12.0, np.diag([4, 4, 30.0]), [[0, 0, 0.1]] * 6), sub, BCC_K
        )
    with pytest.raises(AnalysisError, match="isolated-atom reference must be one atom in a box, found 2 K"):
        adsorption_energy(_slab(1, 1, -11.0), sub, BCC_K, reference_kind="atom")
    with pytest.raises(
        AnalysisError, match="bulk reference must be a periodic crystal, this cell is a molecule"
    ):
        adsorption_energy(_slab(1, 1, -11.0), sub, K_ATOM, reference_kind="bulk")
    bad = _slab(1, 1, -11.0)
    bad.electronic_converged, bad.issues = False, ["SCF stopped at NELM"]
    with pytest.raises(AnalysisError, match="run is not converged: SCF stopped at NELM"):
        adsorption_energy(bad, sub, BCC_K)
    assert adsorption_energy(bad, sub, BCC_K, allow_unconverged=True).adsorption_energy == pytest.approx(0.0)


# ---- NEB --------------------------------------------------------------------------------------------------


def test_neb_barriers_climbing_image_and_spline(tmp_path):
    band = read_neb(neb_tree(tmp_path / "neb", [-10.0, -9.8, -9.6, -9.75, -10.1], [0, -0.5, 0.0, 0.4, 0]))
    result = analyze_neb(band)
    assert result.energies.tolist() == pytest.approx([0, 0.2, 0.4, 0.25, -0.1])
    assert result.barrier_forward == pytest.approx(0.4) and result.barrier_reverse == pytest.approx(0.5)
    assert result.climbing_image == 2 and result.converged and not result.warnings
    step = 0.3 * 8.0 / 4  # K moves 0.075 of an 8 Å cell per image
    assert result.distances == pytest.approx(np.arange(5) * step)
    assert result.spline_barrier_forward == pytest.approx(0.4, abs=1e-9)  # zero slope at the CI
    # the profile passes through the images with dE/ds = -F_tangent
    assert np.interp(result.distances, result.spline_s, result.spline_energies) == pytest.approx(
        result.energies
    )


def test_neb_flags_climbing_image_off_the_maximum_and_unconverged_images(tmp_path):
    band = read_neb(
        neb_tree(tmp_path / "neb", [-10.0, -9.7, -9.6, -9.9, -10.0], [0, -2.0, -3.0, 2.0, 0], reached=False)
    )
    result = analyze_neb(band)
    assert not result.converged
    assert any("band maximum lies between images 02 and 03" in w for w in result.warnings)
    assert any(w.startswith("image 01: relaxation stopped") for w in result.warnings)


def test_neb_flags_a_more_stable_site_inside_the_band(tmp_path):
    """A hop between equivalent sites that crosses a deeper site: the forward barrier from the
    start understates the climb from that site, and the warning gives both numbers."""
    band = read_neb(neb_tree(tmp_path / "neb", [-10.0, -9.9, -10.2, -9.85, -10.0], [0, 0, 0, 0, 0]))
    result = analyze_neb(band)
    assert result.barrier_forward == pytest.approx(0.15)
    assert result.climbing_image == 3
    assert result.warnings == [
        "a more stable site inside the band: image 02 lies 0.200 eV below the lower end point, "
        "and the highest image is 0.350 eV above it; the hop does not start from the most stable "
        "site on its path"
    ]


def test_neb_real_vtst_images_with_endpoint_relaxations(vasp_outputs, tmp_path):
    src = vasp_outputs / "neb/NH3_inversion_vtst_vasp544"
    neb = tmp_path / "neb"
    shutil.copytree(src, neb)
    with pytest.raises(MissingOutputError, match="no OUTCAR for the end-point energy"):
        read_neb(neb)
    ends = []
    for name in ("00", "04"):
        lattice, _species, frac = read_poscar(src / name / "POSCAR")
        ends.append(
            write(
                tmp_path / f"relax-{name}" / "OUTCAR",
                outcar_text(species={"H": 3, "N": 1}, lattice=lattice, frac=frac, energies=[-19.5012]),
            ).parent
        )
    result = analyze_neb(read_neb(neb, initial=ends[0], final=ends[1]))
    # images 01-03 from their own OUTCARs: energy(sigma->0) of the last step
    assert (result.energies[1:4] + -19.5012).tolist() == pytest.approx(
        [-19.49550593, -19.27978461, -19.4955073]
    )
    assert result.climbing_image == 2
    assert result.barrier_forward == pytest.approx(-19.27978461 + 19.5012)


def test_neb_endpoints_from_campaign_json(tmp_path):
    root = tmp_path / "campaign"
    neb_tree(root / "neb" / "zn", [-10.0, -9.8, -9.6, -9.75, -10.1], [0, -0.5, 0.0, 0.4, 0])
    for end in ("00", "04"):
        (root / "neb" / "zn" / end / "OUTCAR").unlink()
    lattice = np.diag([8.0, 8.0, 20.0])
    for name, energy in (("ini", -10.0), ("fin", -10.1)):
        write(
            root / "relax" / name / "OUTCAR",
            outcar_text(
                species={"Zn": 1, "K": 1},
                lattice=lattice,
                frac=[[0.5, 0.5, 0.5], [0.1, 0.2, 0.6]],
                energies=[energy],
            ),
        )
    nodes = [
        {"id": "relax/ini", "folder": "relax/ini"},
        {"id": "relax/fin", "folder": "relax/fin"},
        {"id": "neb/zn", "folder": "neb/zn", "seed": {"initial": "relax/ini", "final": "relax/fin"}},
    ]
    (root / "campaign.json").write_text(json.dumps({"nodes": nodes}))
    band = read_neb(root / "neb" / "zn")
    assert band.images[0].source == root / "relax/ini/OUTCAR"
    assert analyze_neb(band).barrier_reverse == pytest.approx(0.5)


def test_neb_identical_images_have_noneb_tree(vasp_outputs, tmp_path):
    neb = tmp_path / "neb"
    shutil.copytree(vasp_outputs / "neb/NH3_inversion_vasp620", neb)
    for end in ("00", "04"):
        shutil.copy(neb / "01" / "OUTCAR", neb / end / "OUTCAR")
    with pytest.raises(
        AnalysisError, match=r"images 0\d and 0\d are at the same geometry: no band to follow"
    ):
        analyze_neb(read_neb(neb))


# ---- work function ----------------------------------------------------------------------------------------


def test_work_function_from_surfaxe_planar_average(vasp_outputs):
    folder = vasp_outputs / "workfunction/SnO2_slabs_surfaxe/101"
    rows = list(csv.reader((folder / "potential.csv").open()))[1:]
    planar = np.array([float(r[0]) for r in rows])
    lattice, _, frac = read_poscar(folder / "POSCAR")
    efermi = read_outcar(folder / "OUTCAR").efermi
    result = work_function(planar, float(np.linalg.norm(lattice[2])), frac[:, 2], efermi)
    assert len(result.vacuum_levels) == 1 and result.step == 0.0
    assert result.vacuum_levels[0].level == pytest.approx(7.92607, abs=1e-4)
    assert result.vacuum_levels[0].spread < 0.001
    assert result.work_functions[0] == pytest.approx(7.92607 - 0.7721, abs=1e-4)
    assert not result.warnings


def test_work_function_warns_on_a_rough_vacuum(vasp_outputs):
    data = read_volumetric(vasp_outputs / "workfunction/SnO2_slab_LOCPOT_macrodensity/LOCPOT.gz")
    result = work_function(
        planar_average(data.data), float(np.linalg.norm(data.lattice[2])), data.frac[:, 2], 0.0
    )
    assert result.vacuum_width == pytest.approx(18.5926, abs=1e-3)  # 38.859 Å (top O) to 17.451 Å + c
    assert any("the vacuum is not flat: the potential varies by 0.297 eV" in w for w in result.warnings)


def test_dipole_corrected_slab_has_two_work_functions():
    n, c = 400, 40.0
    z = np.arange(n) * c / n
    profile = np.where((z > 10) & (z < 20), -10.0, np.where(z <= 10, 5.0, np.where(z < 30, 5.6, 5.0)))
    result = work_function(profile, c, np.array([0.27, 0.48]), 1.0)
    assert [lv.side for lv in result.vacuum_levels] == ["top", "bottom"]
    assert result.work_functions == pytest.approx([4.6, 4.0])
    assert result.step == pytest.approx(0.6)


def test_work_function_refuses_bulk_and_warns_thin_vacuum(vasp_outputs):
    data = read_volumetric(vasp_outputs / "workfunction/Si_bulk_static_atomate/LOCPOT.gz", max_blocks=1)
    with pytest.raises(ValueError, match=r"no vacuum: the largest gap between atoms along c is 2\.90 Å"):
        work_function(planar_average(data.data), float(np.linalg.norm(data.lattice[2])), data.frac[:, 2], 5.6)
    profile = np.where(np.arange(100) < 60, -5.0, 3.0)
    thin = work_function(profile, 15.0, np.array([0.0, 0.55]), 0.0)
    assert any("thinner than 10.0 Å" in w for w in thin.warnings)


# ---- band gap and DOS -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "gap", "direct"),
    [
        ("electronic/Si2_static_vasp621_aiida/vasprun.xml", 0.6023, False),
        (
            "electronic/Si2_bands_vasp544_aiida/vasprun.xml",
            0.5493,
            False,
        ),  # MP smearing: occupations 0.95-1.04
        ("workfunction/Si_bulk_static_atomate/vasprun.xml.gz", 0.6506, False),  # pymatgen: 0.6506, indirect
    ],
)
def test_semiconductor_gaps_agree_between_methods(vasp_outputs, name, gap, direct):
    run = read_vasprun(vasp_outputs / name)
    occ = band_gap(run.eigenvalues, run.occupations)
    fermi = band_gap(run.eigenvalues, efermi=run.efermi, method="fermi")
    assert occ.gap == pytest.approx(gap, abs=1e-4) and occ.direct == direct and not occ.is_metal
    assert fermi.gap == pytest.approx(occ.gap) and fermi.vbm == occ.vbm


def test_metals_are_detected(vasp_outputs):
    inas = read_vasprun(vasp_outputs / "electronic/InAs_static_vasp535_aiida/vasprun.xml")
    assert band_gap(
        inas.eigenvalues, inas.occupations
    ).is_metal  # a triplet at 4.2811 eV holds 2/3 occupation
    assert band_gap(inas.eigenvalues, efermi=inas.efermi, method="fermi").is_metal  # band 37 crosses E_F
    al = read_vasprun(vasp_outputs / "electronic/Al_static_aiida/vasprun.xml")
    assert band_gap(al.eigenvalues, al.occupations).is_metal


def test_band_gap_input_errors():
    eig = np.array([[[0.0, 1.0]]])
    with pytest.raises(ValueError, match="occupation method needs the occupations"):
        band_gap(eig)
    with pytest.raises(ValueError, match="unknown gap method 'x'"):
        band_gap(eig, method="x")
    with pytest.raises(ValueError, match="every state is occupied"):
        band_gap(eig, np.ones_like(eig))


def test_dos_by_element_and_band_distances(vasp_outputs):
    run = read_vasprun(
        vasp_outputs / "adsorption/H_on_Ir100_RPBE_atomate/03_H_on_Ir100_2x2_conf0/vasprun.xml.gz"
    )
    by_element = dos_by_element(run.pdos, run.species)
    assert list(by_element) == ["H", "Ir"] and by_element["Ir"].shape == (2, 301)
    assert np.allclose(by_element["Ir"] + by_element["H"], run.pdos.sum(axis=(0, 3)))
    bands = read_vasprun(vasp_outputs / "electronic/Si_bands_line_atomate/vasprun.xml.gz")
    x = band_path_distances(bands.kpoints, bands.reciprocal_lattice)
    assert x[0] == 0 and np.all(np.diff(x) >= 0) and x.size == 164


# ---- charge-density difference ----------------------------------------------------------------------------


def _chgcar(path: Path, species: dict[str, int], frac: np.ndarray, rho: np.ndarray) -> Path:
    lattice = np.diag([3.0, 3.0, 30.0])
    volume = 3.0 * 3.0 * 30.0
    return write(path, volumetric_text(species, lattice, frac, rho * volume))


@pytest.mark.parametrize("offset", [0.0, 1.9, 2.0])  # vacuum middle at 28, 29.9 (wraps) and 30 Å
def test_charge_difference_transfers_the_moved_charge(tmp_path, offset):
    nz = 120
    z = (np.arange(nz) + 0.5) * 30.0 / nz
    grid = np.ones((4, 4, nz))
    lo, up = 10.0 + offset, 16.0 + offset
    lower = np.exp(-((z - lo) ** 2)) * grid  # fragment A around z = 10 Å (+ offset)
    upper = np.exp(-((z - up) ** 2)) * grid  # fragment B around z = 16 Å (+ offset)
    # B → A: 0.05·√π/2 e/Å² over the 9 Å² plane, well inside each fragment's side of the interface
    moved = 0.05 * (np.exp(-4 * (z - lo - 1.5) ** 2) - np.exp(-4 * (z - up + 1.5) ** 2)) * grid
    fa, fb = np.array([[0, 0, lo / 30]]), np.array([[0, 0, up / 30]])
    ab = read_volumetric(
        _chgcar(tmp_path / "AB", {"Zn": 1, "Te": 1}, np.vstack([fa, fb]), lower + upper + moved)
    )
    a = read_volumetric(_chgcar(tmp_path / "A", {"Zn": 1}, fa, lower))
    b = read_volumetric(_chgcar(tmp_path / "B", {"Te": 1}, fb, upper))
    result = charge_difference(ab, a, b)
    expected = 0.05 * np.sqrt(np.pi) / 2 * 9.0
    assert result.lower == "A"
    # heights above the middle of the 24 Å vacuum (12 Å below A): the interface, 3 Å above A, is at 15 Å
    assert result.interface_z == pytest.approx(15.0, abs=1e-9)
    assert result.z[0] == pytest.approx(0.0, abs=30.0 / nz)  # the profile starts at the vacuum middle
    assert result.transferred_charge == pytest.approx(expected, rel=2e-3)
    assert charge_difference(ab, b, a).transferred_charge == pytest.approx(-expected, rel=2e-3)


def test_charge_difference_refuses_mismatched_grids(tmp_path):
    frac = np.array([[0, 0, 0.3]])
    ab = read_volumetric(
        _chgcar(tmp_path / "AB", {"Zn": 1, "Te": 1}, np.vstack([frac, frac + 0.2]), np.ones((2, 2, 8)))
    )
    a = read_volumetric(_chgcar(tmp_path / "A", {"Zn": 1}, frac, np.ones((2, 2, 10))))
    b = read_volumetric(_chgcar(tmp_path / "B", {"Te": 1}, frac + 0.2, np.ones((2, 2, 8))))
    with pytest.raises(AnalysisError, match=r"A grid \(2, 2, 10\) differs from AB grid \(2, 2, 8\)"):
        charge_difference(ab, a, b)


def test_neb_image_without_vtst_tangent_is_refused(tmp_path):
    from cztflow.analysis.errors import MalformedFileError

    neb = neb_tree(tmp_path / "neb", [-10.0, -9.8, -9.6, -9.75, -10.1], [0, -0.5, 0.0, 0.4, 0])
    text = (neb / "02" / "OUTCAR").read_text()
    (neb / "02" / "OUTCAR").write_text("\n".join(x for x in text.splitlines() if "NEB: projections" not in x))
    with pytest.raises(MalformedFileError, match=r"02/OUTCAR: no tangent force \(VTST 'NEB: projections'\)"):
        read_neb(neb)
