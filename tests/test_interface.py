import numpy as np
import pytest

from cztflow.structures import cote2_znte_interface, interface_candidates, mxene_stack
from cztflow.structures.checks import vacuum_thickness


def test_candidates_match_the_known_coincidence_cells():
    cells = interface_candidates()
    first = cells[0]
    assert (first["lower"], first["upper"]) == ("2×2", "√3×√3 R30.0°")
    assert first["area"] == pytest.approx(50.13, abs=0.01)
    assert first["mismatch_percent"] == pytest.approx(1.818, abs=0.001)
    assert first["natoms"] == 60
    by_label = {(c["lower"], c["upper"]): c for c in cells}
    large = by_label[("3×3", "√7×√7 R19.1°")]
    assert large["area"] == pytest.approx(112.79, abs=0.01)
    assert large["mismatch_percent"] == pytest.approx(0.017, abs=0.001)
    assert large["natoms"] == 137
    assert [c["area"] for c in cells] == sorted(c["area"] for c in cells)
    assert all(c["mismatch_percent"] <= 2.0 for c in cells)


def test_default_interface_strains_znte_only():
    s = cote2_znte_interface()
    info = s.properties["interface"]
    assert s.composition.as_dict() == {"Co": 12.0, "Te": 36.0, "Zn": 12.0}
    assert info["strain_percent"]["lower"] == pytest.approx([0.0, 0.0], abs=1e-9)
    assert info["strain_percent"]["upper"] == pytest.approx([1.8178, 1.8178], abs=1e-4)
    assert s.lattice.a == pytest.approx(2 * 3.804)
    assert vacuum_thickness(s) == pytest.approx(20.0, abs=1e-9)
    assert "H" not in s.composition


def test_interlayer_distance_and_blocks():
    s = cote2_znte_interface(interlayer_distance=3.1)
    blocks = np.array(s.site_properties["block"])
    z = s.cart_coords[:, 2]
    assert z[blocks == "znte"].min() - z[blocks == "cote2"].max() == pytest.approx(3.1, abs=1e-9)
    bottom = [i for i in np.flatnonzero(blocks == "znte") if z[i] < z[blocks == "znte"].min() + 0.01]
    assert {s[int(i)].specie.symbol for i in bottom} == {"Zn"}


@pytest.mark.parametrize(("side", "lower", "upper"), [("cote2", -1.785, 0.0), ("split", -0.9, 0.9)])
def test_strain_side(side, lower, upper):
    info = cote2_znte_interface(strain_on=side).properties["interface"]["strain_percent"]
    assert max(info["lower"], key=abs) == pytest.approx(lower, abs=0.02)
    assert max(info["upper"], key=abs) == pytest.approx(upper, abs=0.02)


def test_pick_the_larger_cell():
    s = cote2_znte_interface(cote2_supercell=3)
    assert len(s) == 137
    assert s.properties["interface"]["upper"] == "√7×√7 R19.1°"


def test_unreachable_strain_and_missing_cell():
    with pytest.raises(ValueError, match=r"no coincidence cell with \|strain\| ≤ 0.01% within 60 Å²"):
        cote2_znte_interface(max_strain=1e-4, max_area=60)
    with pytest.raises(ValueError, match="no 5×5 cell within the limits; candidates: 2×2"):
        cote2_znte_interface(cote2_supercell=5)
    with pytest.raises(ValueError, match="strain_on must be one of"):
        cote2_znte_interface(strain_on="both")


def test_overlapping_gap_is_rejected():
    with pytest.raises(ValueError, match="atoms overlap"):
        cote2_znte_interface(interlayer_distance=0.5)


@pytest.mark.slow
def test_cote2_on_mxene_is_4x4_on_5x5():
    s = mxene_stack("cote2", termination="O")
    info = s.properties["interface"]
    assert info["lower"] == "5×5 Ti3C2Tx"
    assert s.composition.as_dict() == {"Ti": 75, "C": 50, "O": 50, "Co": 48, "Te": 96}
    assert info["strain_percent"]["lower"] == pytest.approx([-0.2234, -0.2234], abs=1e-3)
    assert info["strain_percent"]["upper"] == pytest.approx([0, 0], abs=1e-9)
    fixed = sum(1 for f in s.site_properties["selective_dynamics"] if not any(f))
    assert fixed == 25 * 3  # bottom O, Ti and C planes of the MXene
