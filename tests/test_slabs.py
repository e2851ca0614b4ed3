import math

import numpy as np
import pytest

from cztflow.structures import cote2_001_slab, znte_110_slab, znte_111_slab
from cztflow.structures.checks import vacuum_thickness, with_vacuum

A_ZNTE = 6.101
BOND_ZNTE = A_ZNTE * math.sqrt(3) / 4  # 2.642 Å
BOND_COTE = math.sqrt(3.804**2 / 3 + (5.406 / 4) ** 2)  # 2.579 Å


def _top_species(s):
    z = s.cart_coords[:, 2]
    return {s[i].specie.symbol for i in np.flatnonzero(z > z.max() - 0.1)}


def _fixed(s):
    return sum(1 for f in s.site_properties["selective_dynamics"] if not any(f))


def _nearest(s, i, skip=()):
    d = s.distance_matrix[i].copy()
    d[i] = np.inf
    d[[j for j, site in enumerate(s) if site.specie.symbol in skip]] = np.inf
    return d.min()


def test_cote2_001_geometry():
    s = cote2_001_slab(3)
    assert s.composition.formula == "Co3 Te6"
    assert _top_species(s) == {"Te"}
    z = np.sort(s.cart_coords[:, 2])
    # three trilayers: 2 c + 2 z c thick
    assert z[-1] - z[0] == pytest.approx(2 * 5.406 + 0.5 * 5.406, abs=1e-9)
    assert vacuum_thickness(s) == pytest.approx(20.0, abs=1e-9)
    assert s.lattice.c == pytest.approx(20.0 + 2.5 * 5.406)
    assert np.allclose(s.lattice.matrix[2, :2], 0) and np.allclose(s.lattice.matrix[:2, 2], 0)
    assert _fixed(s) == 3  # bottom trilayer, protocol default
    co = [i for i, site in enumerate(s) if site.specie.symbol == "Co"]
    assert all(_nearest(s, i) == pytest.approx(BOND_COTE, abs=1e-6) for i in co)


def test_cote2_001_supercell_and_fixed_layers():
    s = cote2_001_slab(2, supercell=(4, 4), fixed_layers=0)
    assert len(s) == 2 * 3 * 16
    assert s.lattice.a == pytest.approx(4 * 3.804)
    assert _fixed(s) == 0


def test_znte_111_is_te_terminated_and_capped():
    s = znte_111_slab(4)
    assert s.composition.formula == "Zn4 Te4 H1"
    assert _top_species(s) == {"Te"}
    z = s.cart_coords[:, 2]
    bottom = int(np.argmin(z))
    assert s[bottom].specie.symbol == "H"
    assert s.site_properties["pseudo_charge"][bottom] == 1.5
    assert sum(1 for c in s.site_properties["pseudo_charge"] if c) == 1
    assert _nearest(s, bottom) == pytest.approx(1.55, abs=1e-6)
    assert s.lattice.a == pytest.approx(A_ZNTE / math.sqrt(2))
    # every Zn and Te keeps the bulk bond length
    for i, site in enumerate(s):
        if site.specie.symbol != "H":
            assert _nearest(s, i, skip=("H",)) == pytest.approx(BOND_ZNTE, abs=1e-6)
    # 4 bilayers: 3 periods of a√3/3 plus the close spacing a√3/12, plus the H cap
    thickness = 3 * A_ZNTE * math.sqrt(3) / 3 + A_ZNTE * math.sqrt(3) / 12 + 1.55
    assert z.max() - z.min() == pytest.approx(thickness, abs=1e-9)
    assert vacuum_thickness(s) == pytest.approx(20.0, abs=1e-9)
    assert _fixed(s) == 5  # two bilayers and the cap


def test_znte_111_unpassivated_has_no_hydrogen():
    s = znte_111_slab(3, passivate=False, fixed_layers=0, supercell=(2, 2))
    assert s.composition.formula == "Zn12 Te12"


def test_znte_110_is_non_polar():
    s = znte_110_slab(6)
    assert s.lattice.abc[:2] == pytest.approx((A_ZNTE / math.sqrt(2), A_ZNTE))
    layers = s.site_properties["layer"]
    for k in range(6):
        members = [s[i].specie.symbol for i in range(len(s)) if layers[i] == k]
        assert sorted(members) == ["Te", "Zn"]
    z = np.unique(np.round(s.cart_coords[:, 2], 6))
    assert np.diff(z) == pytest.approx(np.full(5, A_ZNTE / (2 * math.sqrt(2))))
    assert all(_nearest(s, i) == pytest.approx(BOND_ZNTE, abs=1e-6) for i in range(len(s)))


def test_vacuum_argument():
    assert vacuum_thickness(cote2_001_slab(2, vacuum=25.0)) == pytest.approx(25.0)


def test_with_vacuum_needs_inplane_vectors_in_xy():
    from pymatgen.core import Lattice, Structure

    bad = Structure(Lattice([[3, 0, 1], [0, 3, 0], [0, 0, 9]]), ["Co"], [[0, 0, 0]])
    with pytest.raises(ValueError, match="in-plane lattice vectors must lie in the xy plane"):
        with_vacuum(bad, 20.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cote2_001_slab(0), "layers must be a positive integer, got 0"),
        (lambda: cote2_001_slab(2, fixed_layers=2), "fixed_layers must be between 0 and layers - 1"),
        (lambda: znte_111_slab(4, supercell=(0, 1)), "supercell must be two positive integers"),
        (lambda: znte_111_slab(4, supercell=(1.5, 1)), "supercell must be two positive integers"),
        (lambda: znte_110_slab(-2), "layers must be a positive integer"),
        (lambda: cote2_001_slab(2, a=1.0), "atoms overlap"),
    ],
)
def test_bad_slab_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_ase_atoms_through_the_adaptor_keep_fixed_atoms_and_caps():
    from pymatgen.io.ase import AseAtomsAdaptor

    s = znte_111_slab(4, supercell=(2, 2))
    atoms = AseAtomsAdaptor().get_atoms(s)
    fixed = [i for i, f in enumerate(s.site_properties["selective_dynamics"]) if not any(f)]
    assert len(fixed) == 4 * (2 * 2 + 1)  # two bilayers (2 atoms each) and the cap, per cell
    assert sorted(atoms.constraints[0].get_indices()) == fixed
    assert list(atoms.arrays["pseudo_charge"]).count(1.5) == 4
    assert set(atoms.arrays["block"]) == {"znte"}
