import math

import numpy as np
import pytest
from pymatgen.analysis.diffraction.xrd import XRDCalculator
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from cztflow.structures import cote2_bulk, cote2_marcasite_bulk, k_atom, k_bcc, znte_bulk


def _two_theta(structure, hkl, wavelength):
    d = structure.lattice.d_hkl(hkl)
    return math.degrees(2 * math.asin(wavelength / (2 * d)))


def test_cote2_is_trigonal_cdi2_type():
    s = cote2_bulk()
    assert SpacegroupAnalyzer(s).get_space_group_symbol() == "P-3m1"
    assert s.lattice.a == pytest.approx(3.804) and s.lattice.c == pytest.approx(5.406)
    # Co–Te bond for z = 1/4: sqrt(a²/3 + (c/4)²)
    co_te = math.sqrt(3.804**2 / 3 + (5.406 / 4) ** 2)
    assert s.get_distance(0, 1) == pytest.approx(co_te, abs=1e-6)
    assert co_te == pytest.approx(2.5788, abs=1e-4)


def test_cote2_reproduces_the_papers_xrd_lines(paper):
    xrd = paper["xrd_cote2"]
    s = cote2_bulk()
    pattern = XRDCalculator(wavelength=xrd["wavelength"]).get_pattern(s, two_theta_range=(20, 65))
    for peak in xrd["peaks"]:
        calc = _two_theta(s, peak["hkl"], xrd["wavelength"])
        assert calc == pytest.approx(peak["two_theta"], abs=0.05), peak
        # the reflection is not extinct: a computed line of >= 1 % lies within 0.05°
        near = np.abs(np.asarray(pattern.x) - calc) < 0.05
        assert near.any() and np.asarray(pattern.y)[near].max() >= 1.0, peak


def test_marcasite_misses_the_110_line(paper):
    s = cote2_marcasite_bulk()
    pattern = XRDCalculator().get_pattern(s, two_theta_range=(45, 50))
    assert not np.any(np.abs(np.asarray(pattern.x) - 47.8) < 0.3)


def test_znte_zinc_blende_bond_and_cells():
    prim, conv = znte_bulk(), znte_bulk(primitive=False)
    assert len(prim) == 2 and len(conv) == 8
    assert SpacegroupAnalyzer(prim).get_space_group_symbol() == "F-43m"
    zn = next(i for i, site in enumerate(conv) if site.specie.symbol == "Zn")
    assert min(conv.get_distance(zn, j) for j in range(8) if j != zn) == pytest.approx(
        6.101 * math.sqrt(3) / 4, abs=1e-6
    )
    assert prim.volume == pytest.approx(6.101**3 / 4)


def test_k_references():
    assert k_bcc().volume == pytest.approx(5.225**3 / 2)
    assert len(k_bcc(primitive=False)) == 2
    atom = k_atom()
    assert atom.lattice.abc == pytest.approx((15.0, 15.5, 16.0))
    assert atom.frac_coords[0] == pytest.approx([0.5, 0.5, 0.5])


def test_lattice_overrides():
    assert cote2_bulk(a=3.9, c=5.5).lattice.abc == pytest.approx((3.9, 3.9, 5.5))
    assert znte_bulk(a=6.2, primitive=False).lattice.a == pytest.approx(6.2)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: cote2_bulk(a=0), "a must be positive"),
        (lambda: cote2_bulk(z_te=0.6), "z_te must lie in"),
        (lambda: cote2_bulk(a=1.5), "atoms overlap: Co0 and its periodic image at 1.500"),
        (lambda: znte_bulk(a=-1), "a must be positive"),
        (lambda: k_atom(box=(5, 15, 15)), "at least 10"),
    ],
)
def test_bad_bulk_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
