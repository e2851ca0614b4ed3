"""Helpers for the tests that run campaigns: write a small campaign, run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cztflow.workflows.campaign import load_campaign
from cztflow.workflows.writer import write_campaign

CLI = [sys.executable, "-m", "cztflow.cli"]
FAKE_VASP = Path(__file__).resolve().parent / "fake_vasp.py"


def small_campaign(tmp: Path, spec: str, name: str = "camp") -> Path:
    """Write ``spec`` (YAML text) as a campaign under ``tmp/name``; return the folder."""
    spec_file = tmp / f"{name}.yaml"
    spec_file.write_text(spec)
    root = tmp / name
    write_campaign(load_campaign(spec_file), root, potcar_spec=True)
    return root


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: int = 600):
    """Run ``cztflow ARGS`` in a fresh process (FireWorks reads its store variable at import)."""
    full_env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout
    )


def fake_vasp_config(tmp: Path, extra: str = "") -> Path:
    """A machine configuration whose VASP command is the fake VASP program (``extra``: more YAML)."""
    path = tmp / "machine.yaml"
    path.write_text(
        "vasp:\n"
        f"  command: [{sys.executable!r}, {str(FAKE_VASP)!r}]\n"
        "  polling_seconds: 0.2\n"
        "  max_errors: 3\n" + extra
    )
    return path
