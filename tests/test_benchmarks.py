"""The parse-speed benchmark still runs, and both readers agree on every case (no timing asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO, SHARED


@pytest.mark.slow
def test_parse_speed_benchmark_quick(tmp_path):
    out = tmp_path / "results.json"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "parse_speed.py"),
            "--quick",
            "--repeat",
            "1",
            "--json",
            str(out),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    rows = json.loads(out.read_text())
    kinds = {row["kind"] for row in rows}
    expected = {"outcar", "vasprun", "locpot", "neb"} if (SHARED / "vasp-outputs").is_dir() else {"locpot"}
    assert kinds == expected
    for row in rows:
        assert row["max_abs_diff"] <= 1e-6, row
        assert row["cztflow_s"] > 0 and row["pymatgen_s"] > 0
