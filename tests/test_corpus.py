"""Real VASP outputs from public repositories (``tests/corpus``): every file is read to the
run's own printed numbers, flagged or refused for its true cause, and no damaged copy of a
file gives a number that is not the run's.

The files are committed in ``tests/corpus/files`` (``$CZTFLOW_VASP_CORPUS`` points at another
folder), so these tests run on a clean clone with no network.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "corpus"))

from corpus import ENTRIES, Entry, cache_dir

from cztflow.analysis import errors as errors_module
from cztflow.analysis import read_electronic, read_run
from cztflow.analysis.electronic import band_gap
from cztflow.analysis.errors import MalformedFileError, TruncatedFileError, VaspOutputError
from cztflow.analysis.neb import analyze_neb, read_neb
from cztflow.analysis.oszicar import read_oszicar
from cztflow.analysis.outcar import read_outcar
from cztflow.analysis.poscar import read_poscar
from cztflow.analysis.textfile import read_bytes
from cztflow.analysis.vasprun import read_vasprun
from cztflow.analysis.volumetric import read_planar_average, read_volumetric

BY_NAME = {entry.name: entry for entry in ENTRIES}


@pytest.fixture(scope="session")
def vasp_corpus() -> Path:
    """The corpus folder; fails when a file is missing (they are committed, not fetched)."""
    root = cache_dir()
    missing = [entry.file for entry in ENTRIES if not (root / entry.file).is_file()]
    if missing:
        pytest.fail(
            f"{root} lacks {len(missing)} corpus files, such as {missing[0]}: python tests/corpus/corpus.py"
        )
    return root


def _read(path: Path, kind: str) -> tuple[dict[str, float | None], bool, list[str]]:
    """The numbers a reader gives, whether they are trusted (converged), and the issues."""
    if kind == "oszicar":
        osz = read_oszicar(path)
        numbers = {
            "final_energy": osz.final_energy,
            "free_energy": float(osz.free_energies[-1]),
            "ionic_steps": len(osz.final_energies),
        }
        return numbers, not osz.incomplete_step, osz.issues
    if kind == "volumetric":
        data = read_volumetric(path)
        numbers = {f"block{i}": float(np.abs(block).sum()) for i, block in enumerate(data.blocks)}
        return numbers, True, []
    run = read_vasprun(path) if kind == "vasprun" else read_outcar(path)
    numbers = {
        "final_energy": run.final_energy,
        "free_energy": run.free_energy,
        "energy_without_entropy": run.energy_without_entropy,
        "efermi": run.efermi,
        "ionic_steps": run.ionic_steps,
    }
    return numbers, run.converged, run.issues


@pytest.mark.parametrize("entry", ENTRIES, ids=[entry.name for entry in ENTRIES])
def test_corpus_file(vasp_corpus, entry: Entry):
    path = vasp_corpus / entry.file
    if entry.kind == "input":  # a NEB tree's geometries and INCAR: read by the NEB test below
        if entry.name.rsplit("/", 1)[-1] != "INCAR":
            lattice, _, frac = read_poscar(path)
            assert lattice.shape == (3, 3) and len(frac) > 0
        return
    if entry.expect == "refused":
        # read_run is what refuses a run (read_vasprun still gives a GW run's eigenvalues).
        with pytest.raises(getattr(errors_module, entry.error)) as info:
            read_run(path) if entry.kind in ("outcar", "vasprun") else _read(path, entry.kind)
        assert str(path) in str(info.value) and entry.words in str(info.value)
        return
    numbers, trusted, issues = _read(path, entry.kind)
    for key, value in entry.reference.items():
        # An OUTCAR prints E-fermi with 4 decimals; everything else is compared exactly.
        # VASP 5.2 prints the OUTCAR's energies with 6 decimals.
        tolerance = 1e-4 if key == "efermi" and entry.kind == "outcar" else 1e-8
        if round(value, 6) == value and key != "ionic_steps":
            tolerance = max(tolerance, 1e-6)
        assert numbers[key] == pytest.approx(value, abs=tolerance), key
    if entry.expect == "flagged":
        assert not trusted and any(entry.words in issue for issue in issues), issues
    else:
        assert trusted, issues


def test_linear_response_vasprun_takes_the_ground_state_scf(vasp_corpus):
    """LEPSILON/IBRION 8: the step's <energy> is followed by linear-response <scstep>s."""
    run = read_vasprun(vasp_corpus / BY_NAME["phonopy/NaCl_dfpt_vasp5211/vasprun.xml"].file)
    assert run.final_energy == pytest.approx(-216.828297, abs=1e-6)  # the OUTCAR's energy(sigma->0)
    assert run.electronic_steps == 18  # the ground-state SCF, not the 39 <scstep>s of the file
    born = read_vasprun(vasp_corpus / BY_NAME["aiida/born_effective_charge/vasprun.xml"].file)
    assert born.final_energy == pytest.approx(-115.01774737, abs=1e-8)  # not -7.97 (a DFPT step)


@pytest.mark.parametrize("run", ["aiida/basic_run_vasp535", "aiida/nelm_vasp544"])
def test_vasp5_energy_without_entropy_matches_the_outcar(vasp_corpus, run):
    """VASP <= 5.4 shifts the fields of the step's <energy> block; pymatgen shares the bug."""
    outcar = read_outcar(vasp_corpus / BY_NAME[f"{run}/OUTCAR"].file)
    vasprun = read_vasprun(vasp_corpus / BY_NAME[f"{run}/vasprun.xml"].file)
    assert outcar.energy_without_entropy != outcar.final_energy  # smearing: the two differ
    assert vasprun.energy_without_entropy == pytest.approx(outcar.energy_without_entropy, abs=1e-8)
    assert vasprun.final_energy == pytest.approx(outcar.final_energy, abs=1e-8)


@pytest.mark.parametrize("name", ["kpoints_opt_vasp660", "kpoints_opt_spin_vasp660"])
def test_kpoints_opt_blocks_are_not_the_steps_own(vasp_corpus, name):
    """VASP 6 writes a <dos comment="kpoints_opt"> and <eigenvalues_kpoints_opt> besides the main ones."""
    entry = BY_NAME[f"phonopy/{name}/vasprun.xml.xz"]
    run = read_electronic(vasp_corpus / entry.file)
    assert run.efermi == pytest.approx(
        entry.reference["efermi"], abs=1e-8
    )  # the main <dos>, after <eigenvalues>
    assert abs(run.efermi - 8.7388) > 5e-4  # not the kpoints_opt <dos> that comes first
    assert run.eigenvalues.shape[1] == len(run.kpoints)
    assert run.dos_energies is not None and run.dos_total.shape[1] == run.dos_energies.size


def test_nwrite1_outcar_takes_species_from_potcar_lines(vasp_corpus):
    run = read_outcar(vasp_corpus / BY_NAME["custodian/lobster_v51_NaCl/OUTCAR"].file)
    assert run.species == ["Na"] * 4 + ["Cl"] * 4
    assert run.final_energy == pytest.approx(-27.11090125, abs=1e-8)


def test_band_gap_survives_an_overflowed_dos_value(vasp_corpus, tmp_path):
    source = vasp_corpus / BY_NAME["custodian/indirect_gap_vasp522/vasprun.xml"].file
    text = read_bytes(source)
    total = text.index(b"<total>")
    row = text.index(b"<r>", total) + 3
    field = re.match(rb"\s*\S+\s+(\S+)", text[row:])  # the density of the first DOS row
    damaged = text[: row + field.start(1)] + b"*" * len(field.group(1)) + text[row + field.end(1) :]
    path = tmp_path / "vasprun.xml"
    path.write_bytes(damaged)
    intact, hurt = read_electronic(source), read_electronic(path)
    assert hurt.dos_total is None and "overflowed" in hurt.dos_error
    assert np.array_equal(hurt.eigenvalues, intact.eigenvalues)
    assert band_gap(hurt.eigenvalues, hurt.occupations) == band_gap(intact.eigenvalues, intact.occupations)
    assert band_gap(intact.eigenvalues, intact.occupations).gap > 0


def test_outcar_cut_inside_its_last_energy_gives_no_cut_number(vasp_corpus, tmp_path):
    text = read_bytes(vasp_corpus / BY_NAME["custodian/postprocess_FeO_relax/OUTCAR"].file)
    value = text.rindex(b"energy(sigma->0) =") + len(b"energy(sigma->0) =      -28.2")
    path = tmp_path / "OUTCAR"
    path.write_bytes(text[:value])
    with pytest.raises(TruncatedFileError, match="energy block of ionic step 28 is cut off"):
        read_outcar(path)


def test_nan_in_a_chgcar_grid_is_refused(vasp_corpus, tmp_path):
    text = read_bytes(vasp_corpus / BY_NAME["aiida/relax_wc_vasp541/CHGCAR"].file)
    first = text.index(b"\n", text.index(b"32   32   32")) + 1
    value = re.match(rb"\s*(\S+)", text[first:])
    path = tmp_path / "CHGCAR"
    path.write_bytes(
        text[: first + value.start(1)] + b"NaN".rjust(len(value.group(1))) + text[first + value.end(1) :]
    )
    with pytest.raises(MalformedFileError, match="grid block 1: value 1 is nan"):
        read_volumetric(path)
    with pytest.raises(MalformedFileError, match="grid block 1: value 1 is nan"):
        read_planar_average(path)


def test_chgcar_cut_in_its_augmentation_occupancies_is_refused(vasp_corpus, tmp_path):
    """A spin-polarised CHGCAR cut after block 1 must not pass for a whole unpolarised one."""
    text = read_bytes(vasp_corpus / BY_NAME["aiida/relax_wc_vasp541/CHGCAR"].file)
    aug = text.index(b"augmentation occupancies   2")
    path = tmp_path / "CHGCAR"
    path.write_bytes(text[: text.index(b"\n", aug + 60) + 1])  # at a line end
    with pytest.raises(TruncatedFileError, match=r"atom 2 hold .* the file is cut before grid block 2"):
        read_volumetric(path)
    path.write_bytes(text[: aug + 60])  # inside a number
    with pytest.raises(TruncatedFileError, match="last line has no end of line after grid block 1"):
        read_volumetric(path)
    path.write_bytes(text + b"   0.000  0.000\n   32   3")  # cut in the magnetisation header
    with pytest.raises(TruncatedFileError, match="cut before grid block 2"):
        read_volumetric(path)


# ---------------------------------------------------------------------------------------
# Damage as a property: every corpus file, cut and corrupted, gives no number of its own.
# ---------------------------------------------------------------------------------------

_LAST_VALUE = {
    "outcar": rb"energy\(sigma->0\)\s*=\s*(\S+)",
    # VASP 4.6 writes no space before </i>: the number is what precedes the next tag.
    "vasprun": rb'<i name="e_fr_energy">\s*([^<\s]+)',
    "oszicar": rb"E0=\s*(\S+)",
}


#: Further values each reader reports, damaged in turn: E-fermi, an eigenvalue, a DOS value.
_OTHER_VALUES = {
    "outcar": {"E-fermi": rb"E-fermi :\s*(\S+)"},
    "vasprun": {
        "E-fermi": rb'<i name="efermi">\s*([^<\s]+)',
        # The step's own <eigenvalues> (two spaces in), not those inside <projected>.
        "an eigenvalue": rb"\n  <eigenvalues>\s*<array>[\s\S]*?<r>\s*(\S+)",
    },
}


def _last_value(text: bytes, kind: str) -> tuple[int, int]:
    """Span of the last energy number (or the first grid value of a volumetric file)."""
    if kind == "volumetric":
        grid = re.search(rb"(?m)^\s*\d+\s+\d+\s+\d+\s*\n\s*(\S+)", text)
        return grid.span(1)
    stop = len(text)
    if kind == "vasprun":  # the step's own <energy>, not a linear-response <scstep> after it
        stop = text.rfind(b"</calculation>")
        while text.rfind(b"<scstep>", 0, text.rfind(b"<energy>", 0, stop)) > text.rfind(
            b"</scstep>", 0, text.rfind(b"<energy>", 0, stop)
        ):
            stop = text.rfind(b"<scstep>", 0, text.rfind(b"<energy>", 0, stop))
    matches = list(re.finditer(_LAST_VALUE[kind], text[:stop]))
    return matches[-1].span(1)


def _damages(text: bytes, kind: str) -> list[tuple[str, bytes]]:
    """Cut copies (at spread offsets and inside the last number), NaN and overflow
    injections into the last energy (or a grid value), and removed closing tags."""
    start, end = _last_value(text, kind)
    offsets = {int(len(text) * k / 12) for k in range(1, 12)} | {len(text) - 1, len(text) - 5}
    offsets |= {start + 1, (start + end) // 2, end - 1}
    cases = []
    for offset in sorted(offsets):
        if not text[offset:].strip():
            continue  # only the final newline or spaces removed: nothing is lost
        if kind == "oszicar" and text[offset - 1 : offset] == b"\n":
            offset -= 2  # an OSZICAR cut at a line end is a shorter, valid OSZICAR
        cases.append((f"cut at {offset}", text[:offset]))
    spans = {"the last value": (start, end)}
    for what, pattern in _OTHER_VALUES.get(kind, {}).items():
        found = list(re.finditer(pattern, text))
        if found:
            spans[what] = found[-1].span(1)
    for what, (a, b) in spans.items():
        for label, junk in (("NaN", b"NaN"), ("overflow", b"*" * (b - a))):
            cases.append((f"{label} in {what}", text[:a] + junk.rjust(b - a) + text[b:]))
    if kind == "vasprun":
        for tag in (b"</calculation>", b"</energy>", b"</scstep>", b"</eigenvalues>", b"</dos>", b"</set>"):
            at = text.rfind(tag)
            if at >= 0:
                cases.append((f"without the last {tag.decode()}", text[:at] + text[at + len(tag) :]))
    return cases


def _true_values(path: Path, kind: str) -> set[float]:
    """Every value the intact file holds for its steps: a cut copy may report an earlier step."""
    text = read_bytes(path)
    if kind == "outcar":
        heads = [m.end() for m in re.finditer(rb"FREE ENERGIE OF THE ION-ELECTRON SYSTEM", text)]
        found = [re.search(rb"energy\(sigma->0\)\s*=\s*(\S+)", text[h : h + 1500]) for h in heads]
        return {float(m.group(1)) for m in found if m}
    if kind == "oszicar":
        return {float(v) for v in re.findall(rb"E0=\s*(\S+)", text)}
    return set()


#: Every output file that gives numbers (inputs such as a NEB tree's POSCARs hold none).
_DAMAGEABLE = [e for e in ENTRIES if e.expect != "refused" and e.kind != "input"]


@pytest.mark.parametrize("entry", _DAMAGEABLE, ids=[e.name for e in _DAMAGEABLE])
def test_damaged_copies_give_no_number(vasp_corpus, tmp_path, entry):
    """Each damaged copy raises an error naming the file, or (OUTCAR or OSZICAR of a run
    cut between steps) is flagged and reports only a complete step of the intact file."""
    source = vasp_corpus / entry.file
    text = read_bytes(source)
    truth = _true_values(source, entry.kind)
    path = tmp_path / source.name.split(".")[0] if entry.kind != "vasprun" else tmp_path / "vasprun.xml"
    for label, damaged in _damages(text, entry.kind):
        path.write_bytes(damaged)
        try:
            numbers, trusted, issues = _read(path, entry.kind)
        except VaspOutputError as exc:
            assert str(path) in str(exc), (label, str(exc))
            continue
        assert not trusted and issues, (label, numbers)
        assert numbers["final_energy"] in truth, (label, numbers["final_energy"])


def test_gw_run_has_eigenvalues_but_no_energy(vasp_corpus):
    """A real EVGW0 run (VASP 6.1.0, Si): read_run refuses it for its true cause;
    read_electronic gives its quasiparticle eigenvalues, hence the gap."""
    path = vasp_corpus / BY_NAME["nomad/Si_evgw0_vasp610/vasprun.xml"].file
    with pytest.raises(errors_module.NoEnergyError, match=r"no total energy in a GW run \(ALGO = EVGW0\)"):
        read_run(path)
    gw = read_electronic(path)
    assert gw.final_energy is None and gw.converged and "no total energy" in gw.issues[0]
    assert gw.efermi == pytest.approx(2.37222257, abs=1e-8)
    assert gw.eigenvalues.shape == (1, 16, 72)  # spin, k-points, NBANDS as in the file
    gap = band_gap(gw.eigenvalues, gw.occupations)
    # Highest occupied 2.1320 eV at k-point 1 (Gamma), lowest empty 3.8526 eV at k-point 13.
    assert (gap.vbm, gap.cbm, gap.vbm_kpoint, gap.cbm_kpoint) == (2.132, 3.8526, 0, 12)
    assert gap.gap == pytest.approx(1.7206, abs=1e-9) and not gap.direct


@pytest.mark.parametrize(("run", "algo"), [("Si_evgw0_vasp610", "EVGW0"), ("F_rpar_vasp621", "RPAR")])
def test_gw_and_rpa_outcars_are_refused_for_their_true_cause(vasp_corpus, run, algo):
    """A finished GW or RPA OUTCAR has no FREE ENERGIE block: it is not an unfinished run."""
    path = vasp_corpus / BY_NAME[f"nomad/{run}/OUTCAR"].file
    with pytest.raises(errors_module.NoEnergyError, match=rf"no total energy in a GW run \(ALGO = {algo}\)$"):
        read_run(path)


def test_vasprun_efermi_item_without_its_end_is_refused(vasp_corpus, tmp_path):
    """VASP 4.6 writes ``<i name="efermi">      5.64692767</i>`` with no space before the tag: an
    item whose ``</i>`` is lost must be refused, not read as a run without E-fermi."""
    text = read_bytes(vasp_corpus / BY_NAME["nomad/Si_relax2_vasp4635/vasprun.xml.xz"].file)
    path = tmp_path / "vasprun.xml"
    path.write_bytes(text.replace(b"5.64692767</i>", b"5.64692767", 1))
    with pytest.raises(MalformedFileError, match=r"E-fermi of the DOS: .*5\.64692767.* not one number"):
        read_vasprun(path)
    assert (
        read_vasprun(vasp_corpus / BY_NAME["nomad/Si_relax2_vasp4635/vasprun.xml.xz"].file).efermi
        == 5.64692767
    )


def test_vasp46_outcar_takes_forces_and_lattice_after_the_energy(vasp_corpus):
    """VASP 4.6 prints a step's lattice and TOTAL-FORCE table after its energy block (VASP 5
    and 6 before it): the last step's forces and cell are those after the last energy."""
    outcar = read_outcar(vasp_corpus / BY_NAME["nomad/GeZnNa2_relax_vasp4635/OUTCAR.bz2"].file)
    vasprun = read_vasprun(vasp_corpus / BY_NAME["nomad/GeZnNa2_relax_vasp4635/vasprun.xml"].file)
    # The OUTCAR's last TOTAL-FORCE table (step 23); step 22's largest force is 0.050151.
    assert outcar.forces[:, 2].tolist() == [-0.000156, -0.049986, 0.034315, 0.015827]
    assert outcar.max_force == pytest.approx(0.049986, abs=1e-9)
    assert outcar.positions[1].tolist() == [0.0, 0.0, -0.37811]
    # ISIF = 3: the cell of step 23 (step 22's a is 3.229471611).
    assert np.diag(outcar.lattice).tolist() == [3.218730048, 3.869767446, 7.856450813]
    assert np.allclose(outcar.forces, vasprun.forces, atol=1e-6)
    assert np.allclose(outcar.lattice, vasprun.lattice, atol=1e-8)
    single = read_outcar(vasp_corpus / BY_NAME["nomad/Zn_dftu_vasp4635/OUTCAR"].file)
    assert single.forces is not None and single.max_force == 0.0  # NSW = 0: the one table, after the energy


def _printed(outcar: Path, pattern: bytes) -> float:
    """The last number the OUTCAR prints after ``pattern`` (read here with a regex, not cztflow)."""
    return float(re.findall(pattern + rb"\s*(\S+)", read_bytes(outcar))[-1])


def test_vtst_neb_tree_barrier_from_the_images_own_energies(vasp_corpus):
    """aiida-vasp's VTST CI-NEB of NH3 inversion (VASP 5.4.4, VTST 3.2, IMAGES = 3): the
    NEB reader gives each image's energy(sigma->0) and VTST tangent force as printed, and
    the barrier as computed here by hand from those energies."""
    tree = vasp_corpus / "aiida/NH3_neb_vtst_vasp544"
    # The end points 00 and 04 hold POSCARs only: refused for that cause, naming 00.
    with pytest.raises(
        errors_module.MissingOutputError, match=r"NH3_neb_vtst_vasp544/00: no OUTCAR for the end-point"
    ):
        read_neb(tree)
    # With the flanking images standing in for the end points (--initial/--final) the band
    # reads; every energy below is the OUTCAR's own last energy(sigma->0).
    band = read_neb(tree, initial=tree / "01", final=tree / "03")
    outcars = {i: tree / f"{i:02d}" / "OUTCAR.xz" for i in (1, 2, 3)}
    printed = {i: _printed(path, rb"energy\(sigma->0\) =") for i, path in outcars.items()}
    assert printed == {1: -19.49550593, 2: -19.27978461, 3: -19.4955073}
    assert band.energies.tolist() == [printed[1], printed[1], printed[2], printed[3], printed[3]]
    # VTST prints "NEB: projections on to tangent (spring, REAL)": the REAL one is the slope.
    tangent = {
        i: _printed(path, rb"projections on to tangent \(spring, REAL\)\s*\S+") for i, path in outcars.items()
    }
    assert [image.tangent_force for image in band.images[1:-1]] == [tangent[1], tangent[2], tangent[3]]
    assert tangent == {1: 0.00532, 2: -0.000001, 3: -0.007243}
    assert band.climbing and all(image.converged for image in band.images)
    result = analyze_neb(band)
    by_hand = max(printed.values()) - printed[1]  # highest image minus the first
    assert by_hand == pytest.approx(0.21572132, abs=1e-10)
    assert result.barrier_forward == pytest.approx(by_hand, abs=1e-10)
    assert result.barrier_reverse == pytest.approx(printed[2] - printed[3], abs=1e-10)
    assert result.climbing_image == 2 and result.converged and result.warnings == []
    # The saddle image has (almost) no tangent force, so the profile peaks at it.
    assert result.spline_barrier_forward == pytest.approx(by_hand, abs=1e-6)


def test_neb_tree_of_one_geometry_is_refused_naming_the_first_pair(vasp_corpus):
    """aiida-vasp's NEB workchain run (VASP 6.2.0): all five geometries are the same, so there
    is no band. 00's POSCAR and 01's CONTCAR print the same positions to different digits
    (5.6e-14 Å apart): the refusal names 00 and 01, not the exactly equal 01 and 02."""
    tree = vasp_corpus / "aiida/NH3_neb_workchain_vasp620"
    band = read_neb(tree, initial=tree / "01", final=tree / "03")
    energy = _printed(tree / "02" / "OUTCAR.gz", rb"energy\(sigma->0\) =")
    assert energy == -19.49544029 and band.energies.tolist() == [energy] * 5
    assert [image.tangent_force for image in band.images] == [0.0] * 5
    with pytest.raises(
        errors_module.AnalysisError, match=r"images 00 and 01 are at the same geometry: no band to follow"
    ):
        analyze_neb(band)


def _shared_files() -> list[Path]:
    """The shared folder's readable outputs (../shared/vasp-outputs), small enough to damage quickly."""
    root = Path(__file__).resolve().parents[1].parent / "shared" / "vasp-outputs"
    if not root.is_dir():
        return []
    refused = ("odd/unfinished_run_aiida/", "odd/relax_truncated", "NH3_inversion_vtst_vasp544/vasprun")
    found = []
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if not path.is_file() or any(r in name for r in refused) or path.stat().st_size > 3_000_000:
            continue
        if any(key in path.name for key in ("OUTCAR", "vasprun", "OSZICAR", "LOCPOT", "CHGCAR")):
            found.append(path)
    return found


def _kind(path: Path) -> str:
    for key, kind in (("OUTCAR", "outcar"), ("vasprun", "vasprun"), ("OSZICAR", "oszicar")):
        if key in path.name:
            return kind
    return "volumetric"


@pytest.mark.parametrize("source", _shared_files(), ids=lambda p: "/".join(p.parts[-3:]))
def test_damaged_copies_of_shared_files_give_no_number(tmp_path, source):
    """The same property over ../shared/vasp-outputs (skipped where that folder is absent)."""
    kind = _kind(source)
    text = read_bytes(source)
    truth = _true_values(source, kind)
    path = tmp_path / ("vasprun.xml" if kind == "vasprun" else source.name.split(".")[0])
    for label, damaged in _damages(text, kind):
        path.write_bytes(damaged)
        try:
            numbers, trusted, issues = _read(path, kind)
        except VaspOutputError as exc:
            assert str(path) in str(exc), (label, str(exc))
            continue
        assert not trusted and issues, (label, numbers)
        assert numbers["final_energy"] in truth, (label, numbers["final_energy"])
