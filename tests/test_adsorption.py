import numpy as np
import pytest

from cztflow.structures import (
    add_k,
    cote2_001_slab,
    cote2_znte_interface,
    intercalate_k,
    k_sites,
    znte_111_slab,
)
from cztflow.structures.adsorption import lower_part
from cztflow.structures.checks import vacuum_thickness


def _k_min_distance(s):
    k = len(s) - 1
    assert s[k].specie.symbol == "K"
    d = s.distance_matrix[k].copy()
    d[k] = np.inf
    return d.min()


def test_cote2_has_four_distinct_sites():
    sites = k_sites(cote2_001_slab(3, supercell=(3, 3)))
    assert [s.name for s in sites] == ["ontop-1", "bridge-1", "hollow-1", "hollow-2"]
    under = {s.name: s.above for s in sites}
    assert under["ontop-1"] == "Te@0.00"
    # the two hollows, numbered by what lies under them, deeper first: the lower Te, then the Co
    assert (under["hollow-1"], under["hollow-2"]) == ("Te@2.70", "Co@1.35")
    # each site is the member of its class nearest the cell origin: hollow-2 sits on the Co at 0, 0
    assert sites[3].xy == pytest.approx((0.0, 0.0), abs=1e-9)


def test_site_names_do_not_depend_on_which_class_member_the_site_finder_returns(monkeypatch):
    """pymatgen's AdsorbateSiteFinder returns a different member of a symmetry class from
    release to release; k_sites must give the same names and positions for any member."""
    from pymatgen.core.adsorption import AdsorbateSiteFinder

    from cztflow.structures.surface_symmetry import inplane_operations

    slab = cote2_znte_interface()
    reference = k_sites(slab)
    ops = inplane_operations(slab)
    lattice = slab.lattice
    original = AdsorbateSiteFinder.find_adsorption_sites

    def other_members(self, *args, **kwargs):
        found = original(self, *args, **kwargs)
        moved = {}
        for kind, points in found.items():
            moved[kind] = []
            for n, p in enumerate(points):
                op = ops[(n * 5 + 3) % len(ops)]  # a different operation for each site
                frac = op.operate(lattice.get_fractional_coords(p)) + np.array([1.0, -1.0, 0.0])
                moved[kind].append(lattice.get_cartesian_coords(frac))
        return moved

    monkeypatch.setattr(AdsorbateSiteFinder, "find_adsorption_sites", other_members)
    again = k_sites(slab)
    assert [s.name for s in again] == [s.name for s in reference]
    assert [s.above for s in again] == [s.above for s in reference]
    assert np.allclose([s.xy for s in again], [s.xy for s in reference], atol=1e-6)
    assert len(ops) > 1


def test_site_count_does_not_depend_on_supercell():
    assert len(k_sites(znte_111_slab(4))) == len(k_sites(znte_111_slab(4, supercell=(3, 3)))) == 4


def test_k_is_placed_at_the_requested_distance_with_full_vacuum():
    slab = cote2_001_slab(3, supercell=(3, 3))
    for site in k_sites(slab):
        s = add_k(slab, site)
        assert _k_min_distance(s) == pytest.approx(3.4, abs=0.011)
        assert vacuum_thickness(s) == pytest.approx(20.0, abs=1e-6)
        assert s.site_properties["selective_dynamics"][-1] == [True, True, True]
        assert s.properties["adsorption"]["name"] == site.name
    ontop = add_k(slab, k_sites(slab)[0])
    # over a Te atom, K sits straight above it
    assert ontop.cart_coords[-1, 2] - ontop.cart_coords[:-1, 2].max() == pytest.approx(3.4, abs=0.011)


def test_hollow_sits_lower_than_ontop():
    slab = znte_111_slab(4, supercell=(3, 3))
    sites = {s.name: s for s in k_sites(slab)}
    height = {n: add_k(slab, s).cart_coords[-1, 2] for n, s in sites.items()}
    assert height["hollow-1"] < height["bridge-1"] < height["ontop-1"]


def test_intercalation_opens_the_gap():
    s = cote2_znte_interface()
    sites = k_sites(lower_part(s))
    k = intercalate_k(s, sites[-1])
    blocks = np.array(k.site_properties["block"])
    z = k.cart_coords[:, 2]
    kz = z[blocks == "K"][0]
    assert z[blocks == "cote2"].max() < kz < z[blocks == "znte"].min()
    assert _k_min_distance(k) == pytest.approx(3.4, abs=0.011)
    # the interface record survives the re-sizing of the cell
    assert k.properties["interface"] == s.properties["interface"]
    opened = k.properties["adsorption"]["gap_opened"]
    assert opened > 0
    assert z[blocks == "znte"].min() - z[blocks == "cote2"].max() == pytest.approx(2.8 + opened, abs=1e-6)
    assert vacuum_thickness(k) >= 20.0 - 1e-6


def test_bad_site_arguments():
    slab = cote2_001_slab(2)
    with pytest.raises(ValueError, match="unknown site kind fcc"):
        k_sites(slab, kinds=("fcc",))
    with pytest.raises(ValueError, match="distance must be positive"):
        add_k(slab, k_sites(slab)[0], distance=0)
    with pytest.raises(ValueError, match="nothing lies above block 'cote2'"):
        intercalate_k(slab, k_sites(slab)[0])
    with pytest.raises(ValueError, match="no atoms of block 'mxene'"):
        lower_part(cote2_znte_interface(), "mxene")


def test_k_never_sinks_below_the_top_plane():
    # a sparse 'surface' of two Te atoms 9 Å apart: K over the gap would fall through
    from pymatgen.core import Lattice, Structure

    sparse = Structure(
        Lattice([[9.0, 0, 0], [0, 9.0, 0], [0, 0, 30.0]]),
        ["Te", "Te"],
        [[0, 0, 0.5], [0.5, 0.5, 0.45]],
        coords_are_cartesian=False,
    )
    from cztflow.structures.adsorption import AdsorptionSite

    site = AdsorptionSite("gap", "hollow", (4.5, 0.0), "-")
    s = add_k(sparse, site, vacuum=20.0)
    top = max(s.cart_coords[:-1, 2])
    assert s.cart_coords[-1, 2] == pytest.approx(top, abs=0.011)


def test_site_record_has_no_negative_zero():
    """A site at x = -1e-16 (what a symmetry operation leaves) is recorded as 0.0, so
    index.json does not change with the arithmetic's rounding."""
    import json

    from cztflow.structures.adsorption import AdsorptionSite

    site = AdsorptionSite("ontop-1", "ontop", (-1e-16, 2.1962), "Te@0.00")
    assert json.dumps(site.as_dict()["xy"]) == "[0.0, 2.1962]"
