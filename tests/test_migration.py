import numpy as np
import pytest

from cztflow.structures import add_k, cote2_001_slab, k_sites, migration_endpoints, neb_path, znte_111_slab


@pytest.fixture(scope="module")
def slab():
    return cote2_001_slab(3, supercell=(3, 3))


def test_hop_to_the_nearest_equivalent_site_is_one_lattice_vector(slab):
    hollow = next(s for s in k_sites(slab) if s.kind == "hollow")
    initial, final = migration_endpoints(slab, hollow)
    assert initial.properties["migration"]["hop"] == pytest.approx(3.804, abs=1e-6)
    shift = final.cart_coords[-1] - initial.cart_coords[-1]
    assert np.linalg.norm(shift[:2]) == pytest.approx(3.804, abs=1e-6)
    assert shift[2] == pytest.approx(0.0, abs=1e-6)
    assert np.allclose(initial.cart_coords[:-1], final.cart_coords[:-1])


def test_hop_between_the_two_hollows(slab):
    sites = {s.name: s for s in k_sites(slab)}
    initial, final = migration_endpoints(slab, sites["hollow-1"], sites["hollow-2"])
    # fcc to the nearest hcp hollow is a/√3, through a periodic image if need be
    assert initial.properties["migration"]["hop"] == pytest.approx(3.804 / np.sqrt(3), abs=1e-4)
    shift = final.cart_coords[-1] - initial.cart_coords[-1]
    assert np.linalg.norm(shift[:2]) == pytest.approx(3.804 / np.sqrt(3), abs=1e-6)


def test_idpp_path_has_protocol_images_evenly_spaced(slab):
    hollow = next(s for s in k_sites(slab) if s.kind == "hollow")
    path = neb_path(*migration_endpoints(slab, hollow))
    assert len(path) == 7
    assert [p.properties["neb_image"] for p in path] == list(range(7))
    steps = [np.linalg.norm(path[i + 1].cart_coords - path[i].cart_coords) for i in range(6)]
    assert max(steps) / min(steps) < 1.05
    assert sum(steps) == pytest.approx(3.804, rel=0.02)


def test_znte_path_keeps_atoms_apart():
    slab = znte_111_slab(4, supercell=(3, 3))
    hollow = next(s for s in k_sites(slab) if s.kind == "hollow")
    path = neb_path(*migration_endpoints(slab, hollow), n_images=3)
    assert len(path) == 5


def test_bad_paths(slab):
    sites = k_sites(slab)
    initial, final = migration_endpoints(slab, sites[0])
    with pytest.raises(ValueError, match="n_images must be at least 1"):
        neb_path(initial, final, n_images=0)
    with pytest.raises(ValueError, match="method must be 'idpp' or 'linear'"):
        neb_path(initial, final, method="spline")
    shorter = final.copy()
    shorter.remove_sites([0])
    with pytest.raises(ValueError, match="same atoms in the same order"):
        neb_path(initial, shorter)
    with pytest.raises(ValueError, match=r"below 1\.0 Å"):
        migration_endpoints(slab, sites[0], sites[0])


def test_a_site_on_a_rotation_axis_has_no_hop_to_its_own_image():
    # hollow-2 of the 3x3/sqrt7 heterostructure sits on the 3-fold axis: its only
    # equivalent sites are its periodic images, and a "hop" there would move nothing
    from cztflow.structures.migration import equivalent_neighbor
    from cztflow.structures.study import build_system

    slab = build_system("cote2-znte-3x3").structure
    sites = {s.name: s for s in k_sites(slab)}
    with pytest.raises(ValueError, match="other than its own periodic images"):
        equivalent_neighbor(slab, sites["hollow-2"])
    hop = equivalent_neighbor(slab, sites["hollow-3"])
    assert np.linalg.norm(np.subtract(hop.xy, sites["hollow-3"].xy)) == pytest.approx(4.313, abs=1e-3)


@pytest.mark.slow
def test_every_study_hop_moves_k_by_more_than_an_angstrom():
    from cztflow.structures.study import iter_study

    ends: dict[str, list] = {}
    for b in iter_study():
        if b.kind == "neb-image" and b.args["image"] in (0, 6):
            ends.setdefault(b.args["substrate"], []).append(b.structure)
    assert len(ends) == 3
    for name, (first, last) in ends.items():
        delta = last.frac_coords[-1] - first.frac_coords[-1]
        delta -= np.round(delta)
        assert np.linalg.norm(first.lattice.get_cartesian_coords(delta)) > 1.0, name


def test_hop_between_sites_at_different_heights_shares_one_cell():
    """K sits lower over one ZnTe(111) hollow than over the other; each end keeps its own
    height above the slab, in the taller of the two cells (the band needs one cell)."""
    slab = znte_111_slab(layers=2, supercell=(2, 2), fixed_layers=1)
    sites = {s.name: s for s in k_sites(slab)}
    alone = {n: add_k(slab, sites[n]) for n in ("hollow-1", "hollow-2")}

    def height(s):
        return s.cart_coords[-1, 2] - s.cart_coords[:-1, 2].max()

    assert abs(height(alone["hollow-1"]) - height(alone["hollow-2"])) > 0.05
    initial, final = migration_endpoints(slab, sites["hollow-2"], sites["hollow-1"])
    assert np.allclose(initial.lattice.matrix, final.lattice.matrix)
    assert initial.lattice.c == pytest.approx(max(s.lattice.c for s in alone.values()), abs=1e-6)
    assert height(initial) == pytest.approx(height(alone["hollow-2"]), abs=1e-6)
    assert height(final) == pytest.approx(height(alone["hollow-1"]), abs=1e-6)
    assert initial.properties["adsorption"]["name"] == "hollow-2"
    assert len(neb_path(initial, final)) == 7
