import json
from collections import Counter

import pytest
from pymatgen.core import Structure

from conftest import REPO
from cztflow.structures.study import build_all, build_system, builder_parameters

REQUIRED = {"name", "file", "formula", "natoms", "lattice", "kind", "strain", "builder", "args"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("structures")
    entries = build_all(out)
    return out, entries


@pytest.mark.slow
def test_committed_structures_are_exactly_the_build_output(generated):
    out, _ = generated
    committed = REPO / "structures"
    new = sorted(p.name for p in out.iterdir())
    old = sorted(p.name for p in committed.iterdir() if p.name != "README.md")
    assert new == old, "structures/ is stale: run `cztflow build --all -o structures/`"
    for name in new:
        assert (out / name).read_bytes() == (committed / name).read_bytes(), (
            f"structures/{name} differs from the build output; regenerate it"
        )


@pytest.mark.slow
def test_index_describes_every_file(generated):
    out, entries = generated
    index = json.loads((out / "index.json").read_text())
    assert index == json.loads(json.dumps(entries))
    kinds = Counter(e["kind"] for e in index)
    assert set(kinds) == {"bulk", "reference", "slab", "interface", "mxene", "adsorbate", "neb-image"}
    assert kinds["neb-image"] == 3 * 7
    for entry in index:
        assert set(entry) >= REQUIRED
        s = Structure.from_file(out / entry["file"])
        assert len(s) == entry["natoms"]
        assert s.lattice.abc == pytest.approx([entry["lattice"][k] for k in ("a", "b", "c")], abs=1e-6)
        if entry["kind"] == "interface":
            assert entry["strain"] is not None
    znte = next(e for e in index if e["name"] == "znte-111-3x3")
    assert len(znte["pseudo_hydrogen"]) == 9 and znte["pseudo_hydrogen"][0]["charge"] == 1.5
    assert "pseudo-H Z=1.5 on H" in (out / "znte-111-3x3.vasp").read_text().splitlines()[0]
    interface = next(e for e in index if e["name"] == "cote2-znte")
    assert interface["strain"]["upper"] == pytest.approx([1.8178, 1.8178], abs=1e-4)


def test_build_system_overrides_and_errors():
    built = build_system("cote2-001", {"layers": 2})
    assert built.structure.composition.formula == "Co2 Te4"
    assert built.args == {"layers": 2}
    assert "supercell" in builder_parameters("cote2-001")
    with pytest.raises(ValueError, match="unknown system 'graphene'"):
        build_system("graphene")
    with pytest.raises(ValueError, match="takes no argument layerz; it takes layers"):
        build_system("cote2-001", {"layerz": 2})
