import pytest
from pymatgen.io.vasp import Poscar

from cztflow.structures import znte_111_slab
from cztflow.workflows.potcar import potcar_symbols, species_groups, vasp_order, write_potcar


@pytest.fixture(scope="module")
def capped_with_real_h():
    """A capped ZnTe(111) slab with a real H on a top Te: real H and pseudo-H together."""
    s = znte_111_slab(2, fixed_layers=0)
    top = max(range(len(s)), key=lambda i: s.cart_coords[i, 2])
    props = {"selective_dynamics": [True] * 3, "layer": 2, "block": "znte", "pseudo_charge": 0.0}
    s.append("H", s.cart_coords[top] + [0, 0, 1.7], coords_are_cartesian=True, properties=props)
    return s


def test_znte_slab_groups_and_potcars():
    s = vasp_order(znte_111_slab(4, supercell=(2, 2)))
    assert species_groups(s) == [("H", 1.5, 4), ("Zn", 0.0, 16), ("Te", 0.0, 16)]
    assert potcar_symbols(s) == ["H1.5", "Zn", "Te"]
    # the POSCAR species line matches the POTCAR list group for group
    assert Poscar(s).site_symbols == ["H", "Zn", "Te"]


def test_real_and_pseudo_h_stay_apart(capped_with_real_h):
    s = vasp_order(capped_with_real_h)
    symbols = potcar_symbols(s)
    assert symbols == ["H1.5", "Zn", "Te", "H"]
    assert Poscar(s).site_symbols == ["H", "Zn", "Te", "H"]
    assert [n for *_, n in species_groups(s)] == [1, 2, 2, 1]
    # site properties travel with their sites
    h15 = [i for i, c in enumerate(s.site_properties["pseudo_charge"]) if c == 1.5]
    assert all(s[i].specie.symbol == "H" for i in h15)


def test_ungrouped_species_are_refused():
    s = znte_111_slab(4)  # layer order: H, Zn, Te, Zn, Te, ...
    with pytest.raises(ValueError, match=r"Zn \(Z=0\) appears in two separate groups"):
        potcar_symbols(s)


def test_unknown_element_names_the_protocol_file():
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.cubic(10), ["Xe"], [[0, 0, 0]])
    with pytest.raises(
        ValueError, match=r"no POTCAR for Xe in the protocol's 'potcars' decision \(.*protocol\.yaml\)"
    ):
        potcar_symbols(s)


def test_odd_pseudo_charge_is_refused():
    s = znte_111_slab(2, fixed_layers=0)
    s.add_site_property("pseudo_charge", [0.9 if x.specie.symbol == "H" else 0.0 for x in s])
    with pytest.raises(ValueError, match=r"no pseudo-H POTCAR for Z=0\.9"):
        potcar_symbols(vasp_order(s))


def test_spec_without_psp_dir(tmp_path, monkeypatch):
    monkeypatch.delenv("PMG_VASP_PSP_DIR", raising=False)
    path = write_potcar(tmp_path, ["H1.5", "Zn", "Te"])
    assert path.name == "POTCAR.spec"
    assert path.read_text() == "H1.5\nZn\nTe\n"
    assert not (tmp_path / "POTCAR").exists()


def test_unreadable_psp_dir_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PMG_VASP_PSP_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=r"cannot read POTCARs .* from PMG_VASP_PSP_DIR="):
        write_potcar(tmp_path / "run", ["Zn", "Te"])
    assert not (tmp_path / "run" / "POTCAR").exists()
