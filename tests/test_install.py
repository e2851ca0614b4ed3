"""Install anywhere: the wheel holds every data file, the open engines are extras, no Linux-only
call at import, ``cztflow --version``, and a VASP-only install into a clean venv works.

The slow test builds the wheel, installs it without the open-engine extras into a fresh venv
(no system site packages) as user nobody when we are root, and runs the VASP user's commands
there: ``--version``, ``campaign write``, ``validate``, ``fig1 --from`` on a finished campaign in
VASP's formats, and ``run`` of a CHGNet node, which must stop with the one-line 'mlip' error.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from importlib import resources
from importlib.metadata import version
from pathlib import Path

import pytest
from crash_helpers import SPEC, run_fake
from running_helpers import cli, small_campaign
from vasp_tree import as_vasp_tree

import cztflow
from cztflow.cli_fig1 import MAX_DEFAULT_JOBS, default_jobs
from cztflow.workflows.engines.base import EngineError, make_engine, missing_extra, require_engine

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "cztflow" / "data"
#: Modules of the open-engine extras; none may be importable in the VASP-only venv.
OPEN_MODULES = ("torch", "chgnet", "dftd3", "sevenn", "gpaw", "numba")
MLIP_ERROR = (
    "error: the CHGNet engine needs the 'mlip' extra (torch, chgnet, dftd3 missing): "
    "pip install 'cztflow[mlip]'"
)


def _build_wheel(dest: Path) -> Path:
    """Build cztflow's wheel from a copy of the sources (so the repository gets no build/)."""
    src = dest / "src-copy"
    src.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(
        REPO / "src",
        src / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.nbi", "*.nbc"),
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(dest),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    shutil.rmtree(src)
    (wheel,) = dest.glob("cztflow-*.whl")
    return wheel


@pytest.fixture(scope="module")
def place() -> Iterator[Path]:
    """A folder every user can read (the wheel, the fixture campaign) with a ``work`` folder
    and a ``home`` every user can write (the clean venv's user may be nobody)."""
    root = Path(tempfile.mkdtemp(prefix="cztflow-install-", dir="/tmp"))
    root.chmod(0o755)
    for name in ("work", "home"):
        (root / name).mkdir()
        (root / name).chmod(0o777)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def wheel(place: Path) -> Path:
    """cztflow's wheel, built once for this module."""
    return _build_wheel(place / "dist")


# --- the wheel --------------------------------------------------------------------------------


def test_wheel_holds_every_data_file(wheel: Path) -> None:
    """Every file under src/cztflow/data (campaigns and qadapters included) is in the wheel."""
    shipped = {p.relative_to(DATA.parent.parent).as_posix() for p in DATA.rglob("*") if p.is_file()}
    assert "cztflow/data/campaigns/fig1-open.yaml" in shipped  # what `cztflow fig1` loads
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert shipped <= names, sorted(shipped - names)
        for name in shipped:
            assert archive.read(name) == (DATA.parent.parent / name).read_bytes(), name
        metadata = archive.read(f"cztflow-{version('cztflow')}.dist-info/METADATA").decode()
    requires = [
        line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")
    ]
    core = [r for r in requires if "extra ==" not in r]
    assert not [r for r in core if r.split(">")[0].split("=")[0].strip() in OPEN_MODULES], core
    for package in (
        "pymatgen",
        "ase",
        "custodian",
        "fireworks",
        "numpy",
        "scipy",
        "spglib",
        "typer",
        "matplotlib",
    ):
        assert any(r.startswith(package) for r in core), package
    assert any(r.startswith("chgnet") and 'extra == "mlip"' in r for r in requires)
    assert any(r.startswith("dftd3") and 'extra == "mlip"' in r for r in requires)


def test_every_resource_the_package_loads_is_a_data_file() -> None:
    """The files read through importlib.resources exist under data/ (so the wheel test covers them)."""
    packaged = {
        "protocol.yaml",
        "study.yaml",
        "paper.yaml",
        "campaigns/fig1-open.yaml",
        "campaigns/fig1-quick.yaml",
    }
    for name in packaged:
        assert (resources.files("cztflow") / "data" / name).is_file(), name


# --- version, import on any OS, missing extras ------------------------------------------------


def test_version_is_the_installed_distributions() -> None:
    out = cli("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"cztflow {version('cztflow')}\n"
    assert cztflow.__version__ == version("cztflow") == "0.1.0"


def test_cli_imports_without_sched_getaffinity() -> None:
    """macOS has no os.sched_getaffinity: importing every command must not call it."""
    code = (
        "import os; del os.sched_getaffinity; import cztflow.cli, cztflow.cli_fig1 as f; "
        "print(f.default_jobs())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == min(MAX_DEFAULT_JOBS, os.cpu_count() or 1)


def test_default_jobs_falls_back_to_cpu_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    for count, jobs in ((16, 4), (2, 2), (None, 1)):
        monkeypatch.setattr(os, "cpu_count", lambda count=count: count)
        assert default_jobs() == jobs


def test_missing_extras_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("chgnet", "dftd3", "gpaw"):
        monkeypatch.setitem(sys.modules, module, None)  # import and find_spec now fail
    assert missing_extra("chgnet") == (
        "the CHGNet engine needs the 'mlip' extra (chgnet, dftd3 missing): pip install 'cztflow[mlip]'"
    )
    assert missing_extra("gpaw") == (
        "the GPAW engine needs the 'gpaw' extra (gpaw, dftd3 missing): pip install 'cztflow[gpaw]'"
    )
    assert missing_extra("vasp") is None
    with pytest.raises(EngineError, match=r"^the GPAW engine needs the 'gpaw' extra"):
        require_engine("gpaw")
    with pytest.raises(EngineError, match=r"^the CHGNet engine needs the 'mlip' extra"):
        make_engine("chgnet", None)  # type: ignore[arg-type]


def test_run_without_the_mlip_extra_is_one_line(tmp_path: Path) -> None:
    """`cztflow run` of a CHGNet node where chgnet cannot be imported: one line, exit 2, no traceback."""
    root = small_campaign(tmp_path, "relax: [k-bcc]\n")
    code = (
        "import sys; sys.modules['chgnet'] = None; from cztflow.cli import app; "
        f"sys.argv = ['cztflow', 'run', {str(root)!r}]; app()"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "error: the CHGNet engine needs the 'mlip' extra (chgnet missing): pip install 'cztflow[mlip]'"
    )
    assert not (root / "results.db").exists()  # stopped before anything ran


# --- a VASP-only install into a clean venv ----------------------------------------------------


def _other_user() -> tuple[list[str], str]:
    """The command prefix that runs as user nobody when we are root, and who that is."""
    if os.geteuid() != 0:
        return [], f"the current user (uid {os.geteuid()}, not root)"
    setpriv = shutil.which("setpriv")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        return [], "root (no user nobody here)"
    if setpriv is None:
        return [], "root (no setpriv here)"
    prefix = [setpriv, f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]
    if subprocess.run([*prefix, "true"], capture_output=True).returncode != 0:
        return [], "root (setpriv cannot switch to nobody here)"
    return prefix, "nobody"


def _python_for(prefix: list[str]) -> str | None:
    """A Python >= 3.10 with venv that the user of ``prefix`` may run: ours first, then the
    system's (ours may live where nobody can enter, e.g. under /root/.pyenv)."""
    candidates = [
        getattr(sys, "_base_executable", sys.executable),
        "/usr/bin/python3",
        shutil.which("python3"),
    ]
    probe = (
        "import os, sys, venv, ensurepip; "
        "sys.exit(sys.version_info < (3, 10) or not os.access(os.path.realpath(sys.executable), os.X_OK))"
    )
    for exe in dict.fromkeys(c for c in candidates if c):
        if subprocess.run([*prefix, exe, "-c", probe], capture_output=True, timeout=60).returncode == 0:
            return exe
    return None


def _pypi_reachable() -> bool:
    try:
        with urllib.request.urlopen("https://pypi.org/simple/pip/", timeout=10) as reply:
            return reply.status == 200
    except OSError:
        return False


def _wheelhouse(prefix: list[str]) -> Path:
    """A folder of the dependencies' wheels, kept between runs and writable by the venv's user.

    pip's own HTTP cache stays empty here (the replies from PyPI on this network are not
    cacheable: 0 bytes after an install), so the wheels pip downloads are kept instead.
    """
    default = Path(tempfile.gettempdir()) / "cztflow-test-wheelhouse"
    house = Path(os.environ.get("CZTFLOW_TEST_WHEELHOUSE", default))
    house.mkdir(parents=True, exist_ok=True)
    if prefix:
        nobody = pwd.getpwnam("nobody")
        for path in [house, *house.rglob("*")]:
            if path.stat().st_uid != nobody.pw_uid:
                os.chown(path, nobody.pw_uid, nobody.pw_gid, follow_symlinks=False)
    return house


@pytest.mark.slow
def test_vasp_only_install_into_a_clean_venv(place: Path, wheel: Path) -> None:
    if not _pypi_reachable():
        pytest.skip("PyPI (https://pypi.org) is not reachable: cannot install the wheel's dependencies")
    prefix, user = _other_user()
    base_python = _python_for(prefix)
    if base_python is None and prefix:
        prefix, user = [], "root (user nobody may run no Python >= 3.10 with venv here)"
        base_python = _python_for(prefix)
    assert base_python is not None
    work = place / "work"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")
    }
    env.update(
        HOME=str(place / "home"),
        MPLCONFIGDIR=str(place / "home" / "mpl"),
        OPENBLAS_NUM_THREADS="1",
        COLUMNS="200",
    )

    def as_user(*args: str | Path, timeout: int = 600) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*prefix, *map(str, args)], capture_output=True, text=True, env=env, cwd=work, timeout=timeout
        )

    venv = work / "venv"
    made = as_user(base_python, "-m", "venv", venv)
    assert made.returncode == 0, made.stderr
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    house = _wheelhouse(prefix)
    pip = (venv / "bin/python", "-m", "pip")
    offline = (*pip, "install", "-q", "--no-index", "--find-links", house, wheel)
    start = time.monotonic()
    installed = as_user(*offline, timeout=900)
    how = "from the kept wheels"
    if installed.returncode != 0:  # first run, or new dependencies: fetch them from PyPI
        fetched = as_user(*pip, "download", "-q", "-d", house, wheel, timeout=900)
        assert fetched.returncode == 0, fetched.stdout + fetched.stderr
        installed = as_user(*offline, timeout=900)
        how = "downloading from PyPI"
    seconds = time.monotonic() - start
    assert installed.returncode == 0, installed.stdout + installed.stderr
    print(f"\nclean-venv install of {wheel.name} ({how}) with {base_python} as {user}: {seconds:.1f} s")
    if prefix:
        assert (venv / "pyvenv.cfg").stat().st_uid == pwd.getpwnam("nobody").pw_uid
    python, cztflow_bin = venv / "bin/python", venv / "bin/cztflow"

    # a VASP user's install: no open engine, and nothing from the dev venv
    probe = as_user(
        python, "-c", f"import importlib.util as u; print([m for m in {OPEN_MODULES!r} if u.find_spec(m)])"
    )
    assert probe.stdout.strip() == "[]", probe.stdout + probe.stderr
    where = as_user(python, "-c", "import cztflow; print(cztflow.__file__)")
    assert where.stdout.strip().startswith(str(venv)), where.stdout + where.stderr

    out = as_user(cztflow_bin, "--version")
    assert out.returncode == 0 and out.stdout == f"cztflow {version('cztflow')}\n", out.stdout + out.stderr

    (work / "spec.yaml").write_text(SPEC)
    out = as_user(cztflow_bin, "campaign", "write", "spec.yaml", "-o", "camp", "--potcar-spec")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip().startswith("4 nodes in camp: 4 new")
    out = as_user(cztflow_bin, "validate", "camp")
    assert out.returncode == 0, out.stdout + out.stderr
    # the same inputs as the dev install writes (same protocol and study data)
    dev = small_campaign(place, SPEC, name="dev-camp")
    for name in (
        "relax/znte-111/INCAR",
        "relax/znte-111/POSCAR",
        "relax/k-bcc/KPOINTS",
        "relax/k-bcc/POTCAR.spec",
    ):
        assert (work / "camp" / name).read_text() == (dev / name).read_text(), name

    # an MLIP node stops at once with the one-line message naming the extra
    out = as_user(cztflow_bin, "run", "camp", "--only", "relax/k-bcc")
    assert out.returncode == 2
    assert out.stderr.strip() == MLIP_ERROR
    assert not (work / "camp" / "results.db").exists()

    # the report from a finished campaign in VASP's file formats, as the dev install gives it
    run_fake(dev)
    vasp = as_vasp_tree(dev, place / "vasp-camp")
    assert not list(vasp.rglob("cztflow-result.json")) and list(vasp.rglob("OUTCAR"))
    expected = cli("fig1", "--from", str(vasp), "-o", str(place / "dev-fig1"))
    assert expected.returncode == 0, expected.stderr
    out = as_user(cztflow_bin, "fig1", "--from", vasp, "-o", "fig1")
    assert out.returncode == 0, out.stdout + out.stderr
    for name in ("fig1.png", "fig1.pdf"):
        assert (work / "fig1" / name).stat().st_size > 1000, name
    assert (work / "fig1" / "fig1.csv").read_text() == (place / "dev-fig1" / "fig1.csv").read_text()
    got = json.loads((work / "fig1" / "fig1.json").read_text())
    want = json.loads((place / "dev-fig1" / "fig1.json").read_text())
    assert got["rows"] == want["rows"] and got["problems"] == want["problems"]
    ads = {(r["quantity"], r["material"]): r for r in got["rows"]}[("K adsorption energy (vs bcc K)", "ZnTe")]
    assert ads["engine"].startswith("VASP") and isinstance(ads["value"], float)
