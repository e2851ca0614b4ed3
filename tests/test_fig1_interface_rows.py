"""The heterostructure rows of the Fig. 1 report, on finished outputs with a known answer.

The outputs are written with the engines' own writers (``write_volumetric``,
``write_result``) into a campaign written by ``cztflow campaign write``, so the report reads
them exactly as it reads a GPAW run; only the densities and eigenvalues are constructed, so
that the expected charge transfer and band character are known exactly.
"""

from __future__ import annotations

import numpy as np
import pytest

from cztflow.report import collect_fig1
from cztflow.workflows.campaign import load_campaign
from cztflow.workflows.engines.folder_io import atoms_from_poscar, write_result, write_volumetric
from cztflow.workflows.writer import write_campaign

SPEC = """name: interface
systems:
  czt-thin: {builder: cote2-znte, args: {cote2_layers: 1, znte_layers: 1, cote2_fixed_layers: 0}}
relax: [czt-thin]
electronic: [czt-thin]
chgdiff:
  czt-thin: [cote2, znte]
deviations:
  - {tag: ENCUT, value: 350, nodes: ["chgdiff/*", "bands/*", "dos/*"], reason: "cost of the test run"}
"""
GRID = (3, 3, 240)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("interface")
    (tmp / "spec.yaml").write_text(SPEC)
    root = tmp / "camp"
    write_campaign(load_campaign(tmp / "spec.yaml"), root, potcar_spec=True)
    return root


def _finish(folder, atoms, **fields):
    record = {
        "engine": {"engine": "gpaw", "version": "test", "lcao": fields.pop("lcao", False)},
        "node": folder.name,
        "kind": "static",
        "status": "finished",
        "energy": -1.0,
        "forces": np.zeros((len(atoms), 3)),
        "ionic_steps": 0,
        "efermi": 0.0,
        **fields,
    }
    write_result(folder, atoms, record)


def _gaussians(z_grid, centres, c, width=0.35):
    """Sum of unit-normalised Gaussians along z (1/Å), periodic in c."""
    out = np.zeros_like(z_grid)
    for z0 in centres:
        d = (z_grid - z0 + c / 2) % c - c / 2
        out += np.exp(-0.5 * (d / width) ** 2) / (width * np.sqrt(2 * np.pi))
    return out


def _write_chgdiff(root, gained_by_cote2):
    """Parts: 2 e per atom in Gaussians; whole: their sum plus q moved from ZnTe to CoTe2."""
    folders = {role: root / "chgdiff/czt-thin" / role for role in ("whole", "cote2", "znte")}
    loaded = {role: atoms_from_poscar(f / "POSCAR") for role, f in folders.items()}
    atoms, _ = loaded["whole"]
    c = float(atoms.cell.lengths()[2])
    volume = atoms.get_volume()
    area = volume / c
    z = np.arange(GRID[2]) * c / GRID[2]
    line = {role: 2.0 * _gaussians(z, a.positions[:, 2], c) for role, (a, _) in loaded.items()}
    centre = {role: float(np.mean(loaded[role][0].positions[:, 2])) for role in ("cote2", "znte")}
    q = gained_by_cote2
    line["whole"] = (
        line["cote2"]
        + line["znte"]
        + q * (_gaussians(z, [centre["cote2"]], c) - _gaussians(z, [centre["znte"]], c))
    )
    for role, (a, template) in loaded.items():
        grid = np.broadcast_to(line[role] / area * volume, GRID).copy()  # ρ·V, as a CHGCAR stores it
        write_volumetric(folders[role] / "CHGCAR", a, template, grid)
        _finish(folders[role], a, kind="chgdiff", lcao=True)


@pytest.mark.parametrize(("q", "direction"), [(0.25, "ZnTe → CoTe2"), (-0.1, "CoTe2 → ZnTe")])
def test_charge_transfer_rows_give_the_amount_and_direction(campaign, q, direction):
    _write_chgdiff(campaign, q)
    rows = {r.quantity: r for r in collect_fig1(campaign).rows}
    gained = rows["Electrons gained by CoTe2 at the interface"]
    assert gained.material == "CoTe2/ZnTe"
    assert gained.value == pytest.approx(q, abs=2e-3)
    assert gained.node == "chgdiff/czt-thin/whole, chgdiff/czt-thin/cote2, chgdiff/czt-thin/znte"
    assert gained.settings == "protocol"  # LCAO has no plane-wave cutoff: ENCUT = 350 left out
    moved = rows["Direction of electron transfer"]
    assert moved.value == direction
    assert moved.paper == "ZnTe → CoTe2"
    assert moved.difference == ("agrees" if q > 0 else "differs")


def _write_bands(root, metal):
    """Two spin channels over a 6-point path; one band crosses E_F = 0 when ``metal``,
    else the gap runs from −1.0 eV (top of the lowest band) to 0.6 eV."""
    kpts = np.column_stack([np.linspace(0, 0.5, 6), np.zeros(6), np.zeros(6)])
    low = np.tile(np.linspace(-3.0, -1.0, 6), (2, 1))
    mid = np.tile(np.linspace(-0.4, 0.4, 6) if metal else np.linspace(0.6, 0.9, 6), (2, 1))
    high = low + 5.0
    eig = np.stack([low, mid, high], axis=-1)  # (spin, k, band)
    occ = (eig < 0).astype(float)
    for kind in ("bands", "dos"):
        folder = root / kind / "czt-thin"
        atoms, _ = atoms_from_poscar(folder / "POSCAR")
        _finish(folder, atoms, kind=kind, kpoints=kpts, eigenvalues=eig, occupations=occ)


@pytest.mark.parametrize(("metal", "value", "gap"), [(True, "metal", 0.0), (False, "semiconductor", 1.6)])
def test_heterostructure_band_character(campaign, metal, value, gap):
    _write_bands(campaign, metal)
    rows = {(r.quantity, r.material): r for r in collect_fig1(campaign).rows}
    character = rows[("Band character", "CoTe2/ZnTe")]
    assert character.value == value
    assert character.paper == "metal"
    assert rows[("Band gap", "CoTe2/ZnTe")].value == pytest.approx(gap, abs=1e-6)
    assert character.settings == "ENCUT = 350"  # plane waves: the deviation applies
