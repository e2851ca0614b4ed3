"""Shared fixtures."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def paper() -> dict:
    """The paper's reported numbers (cztflow/data/paper.yaml)."""
    return yaml.safe_load((resources.files("cztflow") / "data" / "paper.yaml").read_text())


@pytest.fixture(scope="session")
def vasp_outputs() -> Path:
    """Real VASP outputs in ../shared/vasp-outputs; skips when the folder is absent."""
    path = SHARED / "vasp-outputs"
    if not path.is_dir():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="session")
def fig1_campaign(tmp_path_factory) -> Path:
    """The Fig. 1 campaign written once per test session (read-only: copy before editing)."""
    from cztflow.workflows.campaign import load_campaign
    from cztflow.workflows.writer import write_campaign

    out = tmp_path_factory.mktemp("fig1") / "campaign"
    write_campaign(load_campaign(REPO / "workflows" / "fig1.yaml"), out, potcar_spec=True)
    return out
