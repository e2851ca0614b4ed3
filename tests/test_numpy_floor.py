"""The readers on the lowest NumPy that pyproject.toml allows (1.26), not only on the venv's 2.x.

NumPy 1.26 differs where the readers are most fragile: ``np.fromstring`` returns the numbers
before a bad field with a DeprecationWarning instead of raising, which once turned overflowed
fields into truncation and refused bare three-digit exponents. The test installs
numpy==1.26.4 with pip into a cache folder under ``.venv/`` (reused once there) and runs the
reader and corpus tests in a subprocess with that NumPy first on ``sys.path``. It skips only
when PyPI cannot be reached, or when no NumPy 1.26 wheel exists for this Python.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import urllib.parse
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FLOOR = "1.26.4"
#: Cache of the floor NumPy, per Python version: ``.venv`` is rebuilt by scripts/bootstrap.sh,
#: which a clean clone (CI) does first.
CACHE = REPO / ".venv" / "numpy-floor" / f"numpy-{FLOOR}-py{sys.version_info[0]}{sys.version_info[1]}"
#: The readers: what must import with NumPy alone (no scipy, pymatgen, ase or numba).
READERS = [
    "cztflow.analysis.e18",
    "cztflow.analysis.electronic",
    "cztflow.analysis.errors",
    "cztflow.analysis.oszicar",
    "cztflow.analysis.outcar",
    "cztflow.analysis.poscar",
    "cztflow.analysis.run",
    "cztflow.analysis.textfile",
    "cztflow.analysis.vasprun",
    "cztflow.analysis.volumetric",
]


def _index_reachable() -> bool:
    """True when pip's index (PIP_INDEX_URL, else PyPI) accepts a TCP connection."""
    url = urllib.parse.urlsplit(os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple"))
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=5):
            return True
    except OSError:
        return False


def _floor_numpy() -> Path:
    """The folder holding numpy==1.26.4, installed by pip on first use."""
    if (CACHE / "numpy" / "__init__.py").is_file():
        return CACHE
    if sys.version_info >= (3, 13):
        pytest.skip(f"NumPy {FLOOR} has no wheel for Python {sys.version_info[0]}.{sys.version_info[1]}")
    partial = CACHE.with_name(f"{CACHE.name}.{os.getpid()}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"),
            *("--only-binary", ":all:", "--target", str(partial), f"numpy=={FLOOR}"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        shutil.rmtree(partial, ignore_errors=True)
        if not _index_reachable():
            pytest.skip(f"PyPI is unreachable: cannot install numpy=={FLOOR} ({done.stderr.strip()[-200:]})")
        pytest.fail(f"pip install numpy=={FLOOR} failed:\n{done.stdout}\n{done.stderr}")
    try:  # a concurrent run may have won: keep its copy
        partial.rename(CACHE)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)
    return CACHE


def _run_with_floor(code: str, timeout: int) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter whose first ``sys.path`` entry holds NumPy 1.26."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_floor_numpy()), str(REPO / "src")])
    env.pop("PYTHONSTARTUP", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_readers_import_numpy_alone_under_numpy_1_26():
    """The readers import NumPy 1.26 and the standard library only, so nothing else pins NumPy."""
    done = _run_with_floor(
        f"""
        import importlib, sys
        import numpy
        assert numpy.__version__ == {FLOOR!r}, numpy.__version__
        for name in {READERS!r}:
            importlib.import_module(name)
        loaded = {{name.split(".")[0] for name in sys.modules}}
        print(sorted(loaded & {{"scipy", "pymatgen", "ase", "numba", "spglib", "yaml"}}))
        """,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.slow
def test_reader_tests_pass_under_numpy_1_26():
    """tests/test_readers.py and tests/test_corpus.py, damage property included, on NumPy 1.26.4.

    About 30 s on the 2-core development machine once NumPy 1.26.4 is cached (5 s to install).
    """
    done = _run_with_floor(
        f"""
        import sys
        import numpy
        assert numpy.__version__ == {FLOOR!r}, numpy.__version__
        import pytest
        tests = ["tests/test_readers.py", "tests/test_corpus.py"]
        code = pytest.main(["-q", "-x", "-p", "no:cacheprovider", *tests])
        print("numpy", numpy.__version__, "exit", int(code))
        sys.exit(int(code))
        """,
        timeout=600,
    )
    tail = (done.stdout + done.stderr)[-4000:]
    assert done.returncode == 0, tail
    assert f"numpy {FLOOR} exit 0" in done.stdout
    assert " passed" in done.stdout and " failed" not in done.stdout, tail
