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
