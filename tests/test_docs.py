import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


@pytest.mark.slow
def test_docs_build_strict(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    if not mkdocs.exists():
        mkdocs = Path(shutil.which("mkdocs") or "mkdocs")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    gallery = (tmp_path / "site" / "generated" / "gallery" / "index.html").read_text()
    assert "cote2-znte-3x3" in gallery
    assert (tmp_path / "site" / "generated" / "models" / "cote2-znte-side.png").stat().st_size > 1000
    protocol = (tmp_path / "site" / "generated" / "protocol" / "index.html").read_text()
    assert "450.0" in protocol and "K_sv" in protocol
