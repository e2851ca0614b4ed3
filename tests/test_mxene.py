import numpy as np
import pytest

from cztflow.structures import ti3c2tx
from cztflow.structures.checks import vacuum_thickness


def _lateral(s, symbol, top=True):
    z = s.cart_coords[:, 2]
    idx = [i for i, site in enumerate(s) if site.specie.symbol == symbol]
    pick = max(idx, key=lambda i: z[i]) if top else min(idx, key=lambda i: z[i])
    return s.frac_coords[pick, :2] % 1.0


@pytest.mark.parametrize(
    ("termination", "formula"),
    [("O", "Ti3 C2 O2"), ("F", "Ti3 C2 F2"), ("OH", "Ti3 H2 C2 O2"), ("bare", "Ti3 C2")],
)
def test_uniform_terminations(termination, formula):
    s = ti3c2tx(termination)
    assert s.composition.formula == formula
    assert s.lattice.a == pytest.approx(3.05)
    assert vacuum_thickness(s) == pytest.approx(20.0, abs=1e-9)


def test_fcc_site_sits_over_the_inner_ti_and_hcp_over_carbon():
    fcc, hcp = ti3c2tx("F", site="fcc"), ti3c2tx("F", site="hcp")
    z = fcc.cart_coords[:, 2]
    ti = [i for i, site in enumerate(fcc) if site.specie.symbol == "Ti"]
    inner = sorted(ti, key=lambda i: z[i])[1]
    assert np.allclose(_lateral(fcc, "F"), fcc.frac_coords[inner, :2] % 1.0, atol=1e-6)
    assert np.allclose(_lateral(hcp, "F"), _lateral(hcp, "C"), atol=1e-6)
    assert not np.allclose(_lateral(fcc, "F"), _lateral(hcp, "F"), atol=1e-3)


def test_ti_o_bond_length():
    s = ti3c2tx("O")
    o = [i for i, site in enumerate(s) if site.specie.symbol == "O"]
    for i in o:
        d = s.distance_matrix[i]
        ti = [j for j, site in enumerate(s) if site.specie.symbol == "Ti"]
        assert d[ti].min() == pytest.approx(1.97, abs=0.005)


def test_mixed_termination_counts_and_seed():
    mix = {"O": 0.5, "OH": 0.25, "F": 0.25}
    s = ti3c2tx(mix, supercell=(2, 2))
    # per side 2 O + 1 OH + 1 F; both sides
    assert s.composition.as_dict() == {"Ti": 12, "C": 8, "O": 6, "H": 2, "F": 2}
    again = ti3c2tx(mix, supercell=(2, 2))
    assert np.allclose(s.cart_coords, again.cart_coords)
    other = [ti3c2tx(mix, supercell=(2, 2), seed=k) for k in range(1, 6)]
    assert any([site.specie.symbol for site in o] != [site.specie.symbol for site in s] for o in other)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"termination": "Cl"}, "unknown termination Cl"),
        ({"termination": {"O": 0.3, "F": 0.7}, "supercell": (2, 2)}, "gives 1.2 sites"),
        ({"termination": {"O": 0.5, "F": 0.25}, "supercell": (2, 2)}, "add up to 0.75"),
        ({"termination": "O", "site": "bridge"}, "unknown termination site 'bridge'"),
        ({"termination": "O", "a": 0}, "a must be positive"),
    ],
)
def test_bad_mxene_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ti3c2tx(**kwargs)
