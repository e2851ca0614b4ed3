"""Golden-file tests of every input set, plus the protocol lock on user overrides.

The reference folders under tests/data/inputsets/ were written by these input sets and
checked by hand (tags, meshes, species order, pseudo-H POTCAR).  Set CZTFLOW_REGOLD=1 to
rewrite them after a deliberate change, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pymatgen.io.vasp.inputs import Incar, Kpoints, VaspInput
from pymatgen.io.vasp.sets import VaspInputSet

from cztflow.structures import cote2_001_slab, k_sites, migration_endpoints, neb_path
from cztflow.structures.study import build_system
from cztflow.workflows.inputsets import (
    BandStructureSet,
    BulkRelaxSet,
    ChargeDensitySet,
    DosSet,
    SlabRelaxSet,
    StaticSet,
    WorkFunctionSet,
)
from cztflow.workflows.lock import Deviation, ProtocolLockError
from cztflow.workflows.neb_inputs import CINEBSet

GOLDEN = Path(__file__).parent / "data" / "inputsets"


def _neb_images():
    slab = cote2_001_slab(3, supercell=(2, 2))
    hollow = next(s for s in k_sites(slab) if s.kind == "hollow")
    return neb_path(*migration_endpoints(slab, hollow))


CASES = {
    "bulk-relax-cote2": lambda: BulkRelaxSet(build_system("cote2-bulk").structure, node="relax/cote2-bulk"),
    "slab-relax-znte-111": lambda: SlabRelaxSet(build_system("znte-111").structure, node="relax/znte-111"),
    "static-k-atom": lambda: StaticSet(build_system("k-atom").structure, node="static/k-atom"),
    "workfunction-cote2-001": lambda: WorkFunctionSet(build_system("cote2-001").structure, node="wf"),
    "chgdiff-ti3c2o2": lambda: ChargeDensitySet(build_system("ti3c2o2").structure, node="chgdiff"),
    "bands-cote2-bulk": lambda: BandStructureSet(build_system("cote2-bulk").structure, node="bands"),
    "bands-cote2-001": lambda: BandStructureSet(build_system("cote2-001").structure, node="bands-slab"),
    "dos-znte-111": lambda: DosSet(build_system("znte-111").structure, node="dos"),
    "neb-cote2-001-2x2": lambda: CINEBSet(images=_neb_images(), node="neb/cote2-001-2x2"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_input_set_matches_golden_files(case):
    files = CASES[case]().files(potcar_spec=True)
    folder = GOLDEN / case
    if os.environ.get("CZTFLOW_REGOLD"):
        for name, text in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
    expected = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(files) == expected
    for name, text in files.items():
        assert text == (folder / name).read_text(), f"{case}/{name} differs from the golden file"


def test_golden_files_carry_the_protocol():
    incar = Incar.from_file(GOLDEN / "slab-relax-znte-111" / "INCAR")
    assert incar["ENCUT"] == 450 and incar["SIGMA"] == 0.05 and incar["ISMEAR"] == 0
    assert incar["EDIFF"] == 1e-6 and incar["EDIFFG"] == -0.03 and incar["IVDW"] == 11
    assert incar["ISIF"] == 2 and incar["LDIPOL"] is True and incar["IDIPOL"] == 3
    assert incar["ISPIN"] == 1 and "MAGMOM" not in incar  # ZnTe: no initial moment
    assert (GOLDEN / "slab-relax-znte-111" / "POTCAR.spec").read_text().split() == ["H1.5", "Zn", "Te"]
    assert Kpoints.from_file(GOLDEN / "slab-relax-znte-111" / "KPOINTS").kpts == [(2, 2, 1)]
    bulk = Incar.from_file(GOLDEN / "bulk-relax-cote2" / "INCAR")
    assert bulk["ISIF"] == 3 and bulk["ISPIN"] == 2 and bulk["MAGMOM"] == [1.0, 0.0, 0.0]
    assert bulk["LREAL"] is False and "LDIPOL" not in bulk
    assert Kpoints.from_file(GOLDEN / "bulk-relax-cote2" / "KPOINTS").kpts == [(10, 10, 6)]
    neb = Incar.from_file(GOLDEN / "neb-cote2-001-2x2" / "INCAR")
    assert (neb["IMAGES"], neb["LCLIMB"], neb["IBRION"], neb["POTIM"], neb["IOPT"]) == (5, True, 3, 0, 1)
    chg = Incar.from_file(GOLDEN / "chgdiff-ti3c2o2" / "INCAR")
    assert chg["NGXF"] == 2 * chg["NGX"] and chg["NGZF"] == 2 * chg["NGZ"]
    slab_path = Kpoints.from_file(GOLDEN / "bands-cote2-001" / "KPOINTS")
    assert all(abs(k[2]) < 1e-9 for k in slab_path.kpts) and len(slab_path.kpts) == 6


def test_they_are_pymatgen_input_sets(tmp_path):
    iset = SlabRelaxSet(build_system("znte-111").structure)
    assert isinstance(iset, VaspInputSet)
    vi = iset.get_input_set(potcar_spec=True)
    assert isinstance(vi, VaspInput) and vi["INCAR"]["ENCUT"] == 450
    iset.write_input(str(tmp_path / "run"))
    written = sorted(p.name for p in (tmp_path / "run").iterdir())
    assert written == ["INCAR", "KPOINTS", "POSCAR", "POTCAR.spec"]
    assert (tmp_path / "run" / "INCAR").read_text() == iset.files(potcar_spec=True)["INCAR"]


def test_locked_tag_override_needs_a_deviation():
    s = build_system("cote2-bulk").structure
    with pytest.raises(ProtocolLockError, match=r"relax/x: ENCUT is locked by the protocol at 450\.0"):
        _ = BulkRelaxSet(s, node="relax/x", user_incar_settings={"ENCUT": 520}).incar
    dev = Deviation("ENCUT", 520, "cutoff convergence check", ("relax/*",))
    incar = BulkRelaxSet(s, node="relax/x", deviations=[dev], user_incar_settings={"ENCUT": 520}).incar
    assert incar["ENCUT"] == 520
    assert "# deviation: ENCUT = 520 (cutoff convergence check)" in str(incar)
    # a deviation for other nodes does not apply
    other = Deviation("ENCUT", 520, "cutoff convergence check", ("static/*",))
    with pytest.raises(ProtocolLockError):
        _ = BulkRelaxSet(s, node="relax/x", deviations=[other], user_incar_settings={"ENCUT": 520}).incar
    # free tags pass
    assert BulkRelaxSet(s, user_incar_settings={"NCORE": 4}).incar["NCORE"] == 4


def test_surface_mesh_is_locked():
    s = build_system("cote2-001").structure
    with pytest.raises(ProtocolLockError, match="surface k-mesh is locked"):
        _ = SlabRelaxSet(s, user_kpoints_settings=Kpoints.monkhorst_automatic((4, 4, 1))).kpoints
    dev = Deviation("KPOINTS", (4, 4, 1), "denser mesh for a 1x1 cell", ("*",))
    iset = SlabRelaxSet(s, deviations=[dev])
    assert iset.kpoints.kpts == [(4, 4, 1)]
    assert "# deviation: KPOINTS = 4 4 1" in iset.files(potcar_spec=True)["INCAR"]


def test_wrong_geometry_is_refused():
    with pytest.raises(ValueError, match="ISIF = 3 would close its vacuum"):
        BulkRelaxSet(build_system("cote2-001").structure)
    with pytest.raises(ValueError, match="a work function needs a slab"):
        WorkFunctionSet(build_system("cote2-bulk").structure)
    images = _neb_images()
    with pytest.raises(ValueError, match="the protocol needs 7"):
        CINEBSet(images=images[:5])


def test_neb_carries_end_point_outcars(tmp_path):
    images = _neb_images()
    for name, s in (("a", images[0]), ("b", images[-1])):
        (tmp_path / name).mkdir()
        s.to(filename=str(tmp_path / name / "CONTCAR"), fmt="poscar")
        (tmp_path / name / "OUTCAR").write_text(f"OUTCAR of {name}\n")
    iset = CINEBSet.from_relaxed(tmp_path / "a", tmp_path / "b", node="neb/x")
    files = iset.files(potcar_spec=True)
    assert files["00/OUTCAR"] == "OUTCAR of a\n" and files["06/OUTCAR"] == "OUTCAR of b\n"
    assert len([k for k in files if k.endswith("POSCAR")]) == 7
    (tmp_path / "b" / "OUTCAR").unlink()
    with pytest.raises(FileNotFoundError, match=r"b/OUTCAR: missing"):
        CINEBSet.from_relaxed(tmp_path / "a", tmp_path / "b")


def test_real_potcar_replaces_only_the_spec(tmp_path, monkeypatch):
    # No licensed POTCAR library exists here, so the reading of pymatgen's Potcar is replaced
    # by a stand-in that records the symbols it was asked for; everything else is real.
    import cztflow.workflows.potcar as mod

    def stand_in(symbols, functional):
        return "".join(f"PAW_PBE {s}\n" for s in symbols)

    monkeypatch.setattr(mod, "potcar_text", stand_in)
    iset = SlabRelaxSet(build_system("znte-111").structure, node="relax/znte-111")
    spec = iset.files(potcar_spec=True)
    monkeypatch.setenv("PMG_VASP_PSP_DIR", str(tmp_path))
    real = iset.files()
    assert "POTCAR.spec" not in real and real["POTCAR"] == "PAW_PBE H1.5\nPAW_PBE Zn\nPAW_PBE Te\n"
    others = {k: v for k, v in spec.items() if k != "POTCAR.spec"}
    assert {k: v for k, v in real.items() if k != "POTCAR"} == others
    iset.write_input(str(tmp_path / "run"))
    assert (tmp_path / "run" / "POTCAR").is_file() and not (tmp_path / "run" / "POTCAR.spec").exists()


def test_poscar_text_never_prints_a_negative_zero():
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.vasp import Poscar

    from cztflow.poscar_format import poscar_text

    s = Structure(Lattice.cubic(4.0), ["K", "K"], [[-1e-17, 0.5, -0.0], [-0.25, 0.0, 0.5]])
    assert "-0.0000000000" in Poscar(s).get_str(significant_figures=10)  # what pymatgen prints
    text = poscar_text(Poscar(s))
    assert "-0.0" not in text
    lines = text.splitlines()
    assert lines[-2] == "   0.0000000000    0.5000000000    0.0000000000 K"
    assert lines[-1] == "  -0.2500000000    0.0000000000    0.5000000000 K"  # real negatives stay
