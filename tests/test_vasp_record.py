"""A VASP node's record comes from its outputs, read by the strict readers, not from custodian."""

from __future__ import annotations

import numpy as np
import pytest
from fakes import outcar_text

from cztflow.workflows.engines.vasp_record import vasp_summary

LATTICE = np.diag([4.0, 4.0, 20.0])
FRAC = np.array([[0.0, 0.0, 0.1], [0.5, 0.5, 0.2]])


def _outcar(folder, energies, **kw) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    forces = kw.pop("forces", np.array([[0.0, 0.0, 0.01], [0.0, 0.0, -0.02]]))
    text = outcar_text(
        species={"Zn": 1, "Te": 1}, lattice=LATTICE, frac=FRAC, energies=energies, forces=forces, **kw
    )
    (folder / "OUTCAR").write_text(text)


def test_a_converged_relaxation_records_its_energy_steps_and_forces(tmp_path):
    _outcar(tmp_path, [-7.1, -7.25, -7.3])
    summary = vasp_summary(tmp_path)
    assert summary["energy"] == pytest.approx(-7.3)
    assert summary["converged"] is True and summary["ionic_steps"] == 3
    assert summary["max_force"] == pytest.approx(0.02)
    assert summary["file"] == "OUTCAR" and summary["issues"] == []


def test_an_unconverged_run_is_recorded_as_such_with_the_reason(tmp_path):
    _outcar(
        tmp_path, [-7.1, -7.2], nsw=2, reached=False, forces=np.array([[0.0, 0.0, 0.5], [0.0, 0.0, -0.5]])
    )
    summary = vasp_summary(tmp_path)
    assert summary["converged"] is False and summary["ionic_converged"] is False
    assert summary["energy"] == pytest.approx(-7.2)
    assert summary["issues"] and any("NSW" in issue or "force" in issue for issue in summary["issues"])


def test_a_broken_run_gives_no_number(tmp_path):
    _outcar(tmp_path, [-7.1, -7.25])
    text = (tmp_path / "OUTCAR").read_text()
    (tmp_path / "OUTCAR").write_text(text[: text.rindex("energy(sigma->0)") + 25])
    summary = vasp_summary(tmp_path)
    assert summary["energy"] is None and summary["converged"] is False
    assert "OUTCAR" in summary["issues"][0]


def test_a_neb_records_every_image_and_its_barrier(tmp_path):
    for i, energy in enumerate([-7.3, -7.1, -6.9, -7.05, -7.3]):
        _outcar(tmp_path / f"{i:02d}", [energy], nsw=0, ibrion=-1)
    (tmp_path / "02" / "OUTCAR").write_text("")
    summary = vasp_summary(tmp_path, neb=True)
    assert summary["energies"][1] == pytest.approx(-7.1) and summary["energies"][2] is None
    assert summary["barrier"] is None and summary["converged"] is False
    assert summary["issues"][0].startswith("image 02: ")
    _outcar(tmp_path / "02", [-6.9], nsw=0, ibrion=-1)
    summary = vasp_summary(tmp_path, neb=True)
    assert summary["energies"] == pytest.approx([-7.3, -7.1, -6.9, -7.05, -7.3])
    assert summary["barrier"] == pytest.approx(0.4) and summary["converged"] is True
    assert "energy" not in summary  # a band has no single energy (as the open engines record it)
