"""A corpus of real VASP outputs from public repositories, kept in this repository.

The files live in ``tests/corpus/files/`` (``NOTICE.md`` there names each source, its
licence and copyright line): only files whose licence allows redistribution (MIT, BSD,
Apache-2.0) are kept, so the corpus tests run on a clean clone with no network. Each entry
records where its file comes from (repository, commit, path, licence) and the file's
SHA-256. ``python tests/corpus/corpus.py`` adds the files of new entries to the folder,
from a local git mirror of the repository when one is found (``--mirrors``, default
``/work/.mirror/<owner>+<name>/repo``) or else from raw.githubusercontent.com at the
recorded commit. Some entries are stored compressed (``compress``), so that the readers
meet plain, .gz, .bz2 and .xz files.

Reference values are the runs' own printed numbers: the ``FREE ENERGIE OF THE
ION-ELECTRON SYSTEM`` block of the last ionic step of the OUTCAR (``TOTEN``, ``energy
without entropy``, ``energy(sigma->0)``) and the OUTCAR's last ``E-fermi`` line before it;
for a vasprun.xml without an OUTCAR, the last ground-state ``<scstep>`` (cross-checked
against pymatgen where pymatgen is right). They were never produced by cztflow.

The folder is ``tests/corpus/files/``; ``$CZTFLOW_VASP_CORPUS`` points the tests and the
fetcher at another one.
"""

from __future__ import annotations

import argparse
import bz2
import gzip
import hashlib
import lzma
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ENTRIES", "Entry", "cache_dir", "fetch"]

CUSTODIAN = ("materialsproject/custodian", "e22cc8853e29c5534024045e2d628ffa027fe83a", "MIT")
AIIDA = ("aiida-vasp/aiida-vasp", "5ca8fb2d2e39624ff2594771c555385b446a6921", "MIT")
PHONOPY = ("phonopy/phonopy", "3a3e0f099da5de2556e75d72ea89b3bb22c8e97e", "BSD-3-Clause")
NOMAD_PARSERS = ("nomad-coe/electronic-parsers", "82206430661c84bcfd9ab4a836d3458310c31dbc", "Apache-2.0")
#: The GW run's OUTCAR was removed from electronic-parsers after this commit (835c5ff).
NOMAD_PARSERS_GW = ("nomad-coe/electronic-parsers", "a8aa78d1c7b3c2016627de11962b46d5aa9a7f9e", "Apache-2.0")
NOMAD = ("nomad-coe/nomad", "6fa4db512e99a175e0c2478904ebb4319ef58f61", "Apache-2.0")
#: nomad's GeZnNa2 relaxation (VASP 4.6.35) was removed after this commit (8d262cd).
NOMAD_2019 = ("nomad-coe/nomad", "d11c9ca720cd944560e98d78e9859b7911338fcd", "Apache-2.0")


@dataclass(frozen=True)
class Entry:
    """One file of the corpus.

    Attributes
    ----------
    name
        Path in the corpus folder (the run's folder, then the file name with any
        compression suffix added by ``compress``).
    source
        (repository, commit, licence).
    path
        Path inside the repository.
    sha256
        Of the file as stored in the repository.
    classes
        What the file covers (run type, VASP version, the failure class of issue 21).
    expect
        ``"agree"`` (parses, converged, equals ``reference``), ``"flagged"`` (parses, not
        converged, an issue contains ``words``) or ``"refused"`` (raises ``error`` whose
        message contains ``words``).
    reference
        final_energy, free_energy, energy_without_entropy, efermi, ionic_steps, as printed by
        the run (keys absent when the file does not print them).
    compress
        "", "gz", "bz2" or "xz": how the corpus folder stores it.
    """

    name: str
    source: tuple[str, str, str]
    path: str
    sha256: str
    classes: tuple[str, ...]
    expect: str = "agree"
    reference: dict[str, float] = field(default_factory=dict)
    words: str = ""
    error: str = ""
    compress: str = ""

    @property
    def file(self) -> str:
        """Path in the corpus folder, with the suffix of the compression applied there."""
        return f"{self.name}.{self.compress}" if self.compress else self.name

    @property
    def kind(self) -> str:
        """``"outcar"``, ``"vasprun"``, ``"oszicar"``, ``"volumetric"``, or ``"input"`` for the
        POSCAR, CONTCAR and INCAR that complete a run's folder (a NEB tree's geometries)."""
        base = self.name.rsplit("/", 1)[-1]
        if base.split(".")[0] in ("POSCAR", "CONTCAR", "INCAR"):
            return "input"
        for key, kind in (("OUTCAR", "outcar"), ("vasprun", "vasprun"), ("OSZICAR", "oszicar")):
            if key in base:
                return kind
        return "volumetric"


#: The corpus files, committed with the tests.
FILES = Path(__file__).resolve().parent / "files"


def cache_dir() -> Path:
    """The corpus folder: ``$CZTFLOW_VASP_CORPUS``, else ``tests/corpus/files``."""
    env = os.environ.get("CZTFLOW_VASP_CORPUS")
    return Path(env) if env else FILES


_OPENERS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


def _from_mirror(entry: Entry, mirrors: Path) -> bytes | None:
    git_dir = mirrors / entry.source[0].replace("/", "+") / "repo"
    if not git_dir.is_dir():
        return None
    for rev in (entry.source[1], "HEAD"):
        done = subprocess.run(
            ["git", f"--git-dir={git_dir}", "show", f"{rev}:{entry.path}"], capture_output=True, check=False
        )
        if done.returncode == 0 and hashlib.sha256(done.stdout).hexdigest() == entry.sha256:
            return done.stdout
    return None


def _from_github(entry: Entry) -> bytes:
    url = f"https://raw.githubusercontent.com/{entry.source[0]}/{entry.source[1]}/{entry.path}"
    with urllib.request.urlopen(url, timeout=60) as response:
        return response.read()


def fetch(mirrors: Path, target: Path) -> list[str]:
    """Copy every entry into ``target``; return the names that could not be had."""
    missing = []
    for entry in ENTRIES:
        out = target / entry.file
        if out.is_file():
            continue
        data = _from_mirror(entry, mirrors)
        if data is None:
            try:
                data = _from_github(entry)
            except OSError:
                data = None
        if data is None or hashlib.sha256(data).hexdigest() != entry.sha256:
            missing.append(entry.name)
            continue
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(_OPENERS[entry.compress](data) if entry.compress else data)
    return missing


def main(argv: list[str] | None = None) -> int:
    """Fetch the files of the corpus that its folder lacks."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--target", type=Path, default=cache_dir())
    args = parser.parse_args(argv)
    missing = fetch(args.mirrors, args.target)
    total = sum(p.stat().st_size for p in args.target.rglob("*") if p.is_file())
    print(f"{len(ENTRIES) - len(missing)} of {len(ENTRIES)} files in {args.target} ({total / 1e6:.1f} MB)")
    for name in missing:
        print(f"missing: {name}", file=sys.stderr)
    return 1 if missing else 0


ENTRIES: list[Entry] = [
    Entry(
        "custodian/lobster_v51_NaCl/OUTCAR",
        CUSTODIAN,
        "tests/files/lobster/vasp_lobster_output_v51/OUTCAR",
        "4b00bf902e2ba200ac9cfddc0e6cdac19503d69b6f0607611953ecd6a012b71f",
        ("nwrite1", "vasp5.4", "tetrahedron"),
        reference={
            "final_energy": -27.11090125,
            "free_energy": -27.11090125,
            "energy_without_entropy": -27.11090125,
            "ionic_steps": 1,
            "efermi": -0.8923,
        },
    ),
    Entry(
        "custodian/lobster_v51_NaCl/vasprun.xml",
        CUSTODIAN,
        "tests/files/lobster/vasp_lobster_output_v51/vasprun.xml",
        "a7f9cacaa8889f772948dcccfa7573441a80bc5aee72a7486a3a883fff701714",
        ("vasp5.4", "tetrahedron"),
        reference={
            "final_energy": -27.11090125,
            "free_energy": -27.11090125,
            "energy_without_entropy": -27.11090125,
            "ionic_steps": 1,
            "efermi": -0.89230356,
        },
        compress="gz",
    ),
    Entry(
        "custodian/lobster_v51_NaCl/OSZICAR",
        CUSTODIAN,
        "tests/files/lobster/vasp_lobster_output_v51/OSZICAR",
        "46dc0b1a7d6c89b46c7493f18b401d0173058cb79194d81c37dedbab680dd90a",
        ("oszicar",),
        reference={"final_energy": -27.110901, "free_energy": -27.110901, "ionic_steps": 1},
    ),
    Entry(
        "custodian/lobster_541/OUTCAR",
        CUSTODIAN,
        "tests/files/lobster/vasp_lobster_output/OUTCAR",
        "291533f8136aef4e54e5eddae2333f436e78d2cb7ca9ec73500e1ccfa85e27c0",
        ("vasp5.4",),
        reference={
            "final_energy": -67.72457099,
            "free_energy": -67.72457099,
            "energy_without_entropy": -67.72457099,
            "ionic_steps": 1,
            "efermi": 2.5329,
        },
        compress="bz2",
    ),
    Entry(
        "custodian/lobster_541/vasprun.xml",
        CUSTODIAN,
        "tests/files/lobster/vasp_lobster_output/vasprun.xml",
        "401530329bf47f0efea657896511c8fad09214b8c9913fd8e47fa71d5bd4fd9a",
        ("vasp5.4",),
        reference={
            "final_energy": -67.72457099,
            "free_energy": -67.72457099,
            "energy_without_entropy": -67.72457099,
            "ionic_steps": 1,
            "efermi": 2.53291965,
        },
        compress="xz",
    ),
    Entry(
        "custodian/postprocess_FeO_relax/OUTCAR",
        CUSTODIAN,
        "tests/files/postprocess/OUTCAR",
        "4f7e38295e7b8428a4c2f8a0513cfef74823a1548b15ec2aaed08b2d8d57c8cb",
        ("vasp5.3", "ispin2", "relax", "dft+u"),
        reference={
            "final_energy": -28.21851457,
            "free_energy": -28.21851457,
            "energy_without_entropy": -28.21851457,
            "ionic_steps": 28,
            "efermi": 2.4155,
        },
        compress="gz",
    ),
    Entry(
        "custodian/postprocess_FeO_relax/vasprun.xml",
        CUSTODIAN,
        "tests/files/postprocess/vasprun.xml",
        "c8aa2dfbdacbb4cf570a2772a48b2080aad09e371faaf3dc712b049c045bd9c1",
        ("vasp5.3", "ispin2", "relax", "dft+u"),
        reference={
            "final_energy": -28.21851457,
            "free_energy": -28.21851457,
            "energy_without_entropy": -28.21851457,
            "ionic_steps": 28,
            "efermi": 2.41549698,
        },
    ),
    Entry(
        "custodian/postprocess_FeO_relax/OSZICAR",
        CUSTODIAN,
        "tests/files/postprocess/OSZICAR",
        "b08e0e0fb51a1af791ecfd51b3ea417e481634c760f4b55513bccb4a686a8b5e",
        ("oszicar", "ispin2"),
        reference={"final_energy": -28.218515, "free_energy": -28.218515, "ionic_steps": 28},
    ),
    Entry(
        "custodian/npt_nvt_md/OUTCAR",
        CUSTODIAN,
        "tests/files/npt_nvt/OUTCAR",
        "baa8a2f211da5890f9a56a7d575ea8dce6f6796c2d79a134fedc1c9388234555",
        ("md", "vasp5.4"),
        reference={
            "final_energy": -368.92647971,
            "free_energy": -368.92647971,
            "energy_without_entropy": -368.92647971,
            "ionic_steps": 10,
            "efermi": 1.973,
        },
        compress="xz",
    ),
    Entry(
        "custodian/lrf_comm/OUTCAR",
        CUSTODIAN,
        "tests/files/lrf_comm/OUTCAR",
        "6e17de39832a40f90be2a82247635225cee848d28dc9ee42ac5a67b8c45d9772",
        ("linear-response", "vasp5.4", "unfinished"),
        reference={
            "final_energy": -371.21386221,
            "free_energy": -371.21386221,
            "energy_without_entropy": -371.21386221,
            "ionic_steps": 1,
            "efermi": 2.2787,
        },
        compress="gz",
        expect="flagged",
        words="run did not finish (no timing block); 1 ionic steps completed",
    ),
    Entry(
        "custodian/potim/OUTCAR",
        CUSTODIAN,
        "tests/files/potim/OUTCAR",
        "4ad54560cbcf96f1565892f9c8b8a33204e88a6e844d937bbcdb4003090ae9ce",
        ("vasp5.3", "relax", "unfinished"),
        reference={
            "final_energy": 83.58389062,
            "free_energy": 83.57965717,
            "energy_without_entropy": 83.58812407,
            "ionic_steps": 3,
            "efermi": 3.9467,
        },
        compress="gz",
        expect="flagged",
        words="stopped after 3 of NSW = 200 ionic steps",
    ),
    Entry(
        "custodian/potim/OSZICAR",
        CUSTODIAN,
        "tests/files/potim/OSZICAR",
        "a79ba23cd77eac317a0d1907321080d6daf84df6017b4be46f203b3ff541ab9d",
        ("oszicar",),
        reference={"final_energy": 83.583891, "free_energy": 83.579657, "ionic_steps": 3},
        expect="flagged",
        words="file ends inside an SCF loop",
    ),
    Entry(
        "custodian/auto_nbands_vasp621/OUTCAR",
        CUSTODIAN,
        "tests/files/OUTCAR_auto_nbands",
        "793b626941087619b170b269e3787e2ae1740e5c0b6a9b0b84e818d20555c4b7",
        ("vasp6.2",),
        reference={
            "final_energy": -14.79281714,
            "free_energy": -14.78895187,
            "energy_without_entropy": -14.80054768,
            "ionic_steps": 1,
            "efermi": -8.9002,
        },
    ),
    Entry(
        "custodian/large_cell_real_optlay/OUTCAR",
        CUSTODIAN,
        "tests/files/large_cell_real_optlay/OUTCAR",
        "99f130178c65e6d94c1ba842360d0c4053d8ac847fc390af96bf6ddcc805c163",
        ("vasp5.3", "unfinished"),
        expect="refused",
        error="UnfinishedRunError",
        words="no ionic step completed",
    ),
    Entry(
        "custodian/max_force/vasprun.xml",
        CUSTODIAN,
        "tests/files/max_force/vasprun.xml",
        "d7c41a1c95d31171b5a988ff85abf91e9ed09359f1e48a7a86f22a6f34dc759b",
        ("vasp5.3", "relax"),
        reference={
            "final_energy": -469.03407561,
            "free_energy": -469.03407561,
            "energy_without_entropy": -469.03407561,
            "ionic_steps": 3,
            "efermi": -2.65764152,
        },
        compress="bz2",
    ),
    Entry(
        "custodian/indirect_gap_vasp522/vasprun.xml",
        CUSTODIAN,
        "tests/files/vasprun.xml.indirect",
        "fa2afa1e01c9805bfffe9581797e6b34db398e215c0304ea8a60bd9dab659f57",
        ("vasp5.2", "band-gap"),
        reference={
            "final_energy": -9.72296268,
            "free_energy": -9.72296268,
            "energy_without_entropy": -9.72296268,
            "ionic_steps": 1,
            "efermi": 5.6977647,
        },
        compress="gz",
    ),
    Entry(
        "custodian/fermi_smearing/vasprun.xml",
        CUSTODIAN,
        "tests/files/fermi_smearing/vasprun.xml",
        "4815e80068195adfc8f44e67637636ef0f19bdb9e52bee91347e70fb181da87d",
        ("vasp5.4", "relax"),
        reference={
            "final_energy": -3.74599651,
            "free_energy": -3.74599651,
            "energy_without_entropy": -3.74599651,
            "ionic_steps": 2,
            "efermi": 8.08747822,
        },
    ),
    Entry(
        "custodian/scan_unconverged/vasprun.xml",
        CUSTODIAN,
        "tests/files/unconverged/vasprun.xml.scan",
        "85aa42cd2820d56ee7aba9a27d4e148eade75bfd600324d68485b2d2fcae84f2",
        ("meta-gga", "vasp5.4"),
        reference={
            "final_energy": -157.58428872,
            "free_energy": -157.58428872,
            "energy_without_entropy": -157.58428872,
            "ionic_steps": 1,
            "efermi": 4.95251546,
        },
        compress="xz",
        expect="flagged",
        words="stopped at NELM = 100 iterations",
    ),
    Entry(
        "custodian/io_vasp642/OUTCAR.gz",
        CUSTODIAN,
        "tests/files/io/OUTCAR.gz",
        "78bcb8cd4d2e39d2ef36c4012d8dc391091ee64c0acc669419266858a6ca03a2",
        ("vasp6.4", "relax"),
        reference={
            "final_energy": -10.84147246,
            "free_energy": -10.84147289,
            "energy_without_entropy": -10.84147204,
            "ionic_steps": 3,
            "efermi": 5.913,
        },
    ),
    Entry(
        "custodian/io_vasp642/vasprun.xml.gz",
        CUSTODIAN,
        "tests/files/io/vasprun.xml.gz",
        "1eaae2de2047e91430d845c90ae74f28531a5ca768049643fc8ff4e9aa9f231d",
        ("vasp6.4", "relax"),
        reference={
            "final_energy": -10.84147246,
            "free_energy": -10.84147289,
            "energy_without_entropy": -10.84147204,
            "ionic_steps": 3,
            "efermi": 5.91297264,
        },
    ),
    Entry(
        "custodian/bad_vasprun_vasp5211/vasprun.xml",
        CUSTODIAN,
        "tests/files/bad_vasprun/vasprun.xml",
        "c9a3dd1533422f4014c9d7bb6d30207c97942a43dd146c775b255c56a4c1037d",
        ("vasp5.2", "cut", "dft+u"),
        compress="bz2",
        expect="refused",
        error="TruncatedFileError",
        words="cut off inside <structure> after 5 complete ionic steps",
    ),
    Entry(
        "custodian/hybrid_unconverged_vasp5211/vasprun.xml",
        CUSTODIAN,
        "tests/files/unconverged/vasprun.xml.electronic_hybrid_all",
        "fa8c53b1090c98840528a28c72b8510cf782ce0c78bfd3a4fb36ab3b099af36b",
        ("hybrid", "dft+u", "relax", "vasp5.2"),
        reference={
            "final_energy": -134.33107279,
            "free_energy": -134.33107279,
            "energy_without_entropy": -134.33107279,
            "ionic_steps": 5,
            "efermi": 0.63706997,
        },
        expect="flagged",
        words="stopped at NELM = 100 iterations",
        compress="bz2",
    ),
    Entry(
        "custodian/nonconv/OSZICAR",
        CUSTODIAN,
        "tests/files/nonconv/OSZICAR",
        "0a28b7ea42b7f85fd2719584ca5e03bff929adfea1d5e1da52bdf4fbbb020f8b",
        ("oszicar", "ispin2"),
        reference={"final_energy": -3.5078944, "free_energy": -3.5078944, "ionic_steps": 4},
    ),
    Entry(
        "aiida/born_effective_charge/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/born_effective_charge/OUTCAR",
        "5d17f325c2ecb10a717bdb2aef582170dbdc6419e50338a1f3c7ce0fbead72a7",
        ("linear-response", "vasp5.4"),
        reference={
            "final_energy": -115.01774737,
            "free_energy": -115.01774737,
            "energy_without_entropy": -115.01774737,
            "ionic_steps": 1,
            "efermi": 2.9186,
        },
        compress="gz",
    ),
    Entry(
        "aiida/born_effective_charge/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/born_effective_charge/vasprun.xml",
        "a9f7cf29da841040e6540da7f3b749651c96020c38127cee6d35f34989a4aa79",
        ("linear-response", "vasp5.4"),
        reference={
            "final_energy": -115.01774737,
            "free_energy": -115.01774737,
            "energy_without_entropy": -115.01774737,
            "ionic_steps": 1,
            "efermi": 2.91856759,
        },
    ),
    Entry(
        "aiida/born_effective_charge/OSZICAR",
        AIIDA,
        "src/aiida_vasp/test_data/born_effective_charge/OSZICAR",
        "d9b85b06f754a940771e122484dc48b5bb976fa4742362f3bd72b6c01e9bcba0",
        ("oszicar", "linear-response"),
        reference={"final_energy": -115.01775, "free_energy": -115.01775, "ionic_steps": 1},
        # The linear-response SCF lines follow the last F= line: an OSZICAR cannot tell
        # them from a killed run, so the reader flags it (the OUTCAR and vasprun.xml agree).
        expect="flagged",
        words="file ends inside an SCF loop",
    ),
    Entry(
        "aiida/lepsilon/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/lepsilon/vasprun.xml",
        "17cf71f9d66403f37785270f0d28658da7a7786b48a12e3626789171647c06b3",
        ("linear-response", "vasp5.4"),
        reference={
            "final_energy": -47.14178735,
            "free_energy": -47.14178735,
            "energy_without_entropy": -47.14178735,
            "ionic_steps": 1,
            "efermi": 4.91614259,
        },
    ),
    Entry(
        "aiida/localfield/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/localfield/vasprun.xml",
        "6124bfbabd035ccc660042d314660160a1b091958b7dd41f4096bec16d5be432",
        ("linear-response", "vasp5.4"),
        reference={
            "final_energy": -42.91113662,
            "free_energy": -42.91232073,
            "energy_without_entropy": -42.90995251,
            "ionic_steps": 1,
            "efermi": 5.96753682,
        },
        compress="gz",
    ),
    Entry(
        "aiida/dielectric_loptics/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/dielectric/vasprun.xml",
        "ea37a5c269054c7e5b1b5826c438effc70a2735ab777a35b9864bfccf3d99c4d",
        ("optics", "vasp5.4"),
        reference={
            "final_energy": -42.91113295,
            "free_energy": -42.91231648,
            "energy_without_entropy": -42.90994942,
            "ionic_steps": 1,
            "efermi": 5.96751531,
        },
    ),
    Entry(
        "aiida/disp_ibrion8/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/disp/vasprun.xml",
        "6966cd08c628ab59100891bc38d3314c48b3816bb53154e5bf6561700a26ef53",
        ("linear-response", "dfpt", "vasp5.4"),
        reference={
            "final_energy": -42.91113662,
            "free_energy": -42.91232073,
            "energy_without_entropy": -42.90995252,
            "ionic_steps": 1,
            "efermi": 5.96753686,
        },
        compress="bz2",
    ),
    Entry(
        "aiida/disp_details_ibrion6/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/disp_details/OUTCAR",
        "580d75dfd863ff9c12bcd9562b67f912e21f9d80de82ab8b3f15de660c89f0ab",
        ("finite-differences", "vasp5.4"),
        reference={
            "final_energy": -10.823296,
            "free_energy": -10.823296,
            "energy_without_entropy": -10.823296,
            "ionic_steps": 15,
            "efermi": 6.1727,
        },
        compress="xz",
    ),
    Entry(
        "aiida/disp_details_ibrion6/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/disp_details/vasprun.xml",
        "7a36bd2da2740fe123b2ef2b7586ce51792e0ee6a71e23fe28fc82bb3470d222",
        ("finite-differences", "vasp5.4"),
        reference={
            "final_energy": -10.823296,
            "free_energy": -10.823296,
            "energy_without_entropy": -10.823296,
            "ionic_steps": 15,
            "efermi": 6.17267267,
        },
    ),
    Entry(
        "aiida/phonondb/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/phonondb/OUTCAR",
        "74156bc5259b15d51cc5b480f8e7341ee10439a92bb6b2f170f4068d5ba8b6ea",
        ("vasp5.4",),
        reference={
            "final_energy": -459.8761413,
            "free_energy": -459.8761413,
            "energy_without_entropy": -459.8761413,
            "ionic_steps": 1,
            "efermi": 2.968,
        },
    ),
    Entry(
        "aiida/phonondb/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/phonondb/vasprun.xml",
        "505cb3fa963d852bfdd64623e0618779aee999f13f2a3262c8dae3f73ed360ed",
        ("vasp5.4",),
        reference={
            "final_energy": -459.8761413,
            "free_energy": -459.8761413,
            "energy_without_entropy": -459.8761413,
            "ionic_steps": 1,
            "efermi": 2.96801422,
        },
    ),
    Entry(
        "aiida/basic_run_vasp535/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/basic_run/OUTCAR",
        "ff7bfc42931b026ff7747fb3e02592951b7b830150b098d95e17ff5c55162d8a",
        ("vasp5.3", "smearing"),
        reference={
            "final_energy": -36.09616894,
            "free_energy": -36.09677152,
            "energy_without_entropy": -36.09556635,
            "ionic_steps": 1,
            "efermi": 4.2963,
        },
    ),
    Entry(
        "aiida/basic_run_vasp535/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/basic_run/vasprun.xml",
        "0e0c5c507767414e1d1d785b47ebf256c3c8f98bb76498f1837ff4a35e38d26e",
        ("vasp5.3", "smearing", "e_wo_entrp"),
        reference={
            "final_energy": -36.09616894,
            "free_energy": -36.09677152,
            "energy_without_entropy": -36.09556635,
            "ionic_steps": 1,
            "efermi": 4.29634683,
        },
        compress="gz",
    ),
    Entry(
        "aiida/nelm_vasp544/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/vasp_wc_nelm/calc-001/out/OUTCAR",
        "7d0790d8199cff13058ed19c78878ed17a21ea73444ac2a7f94091416ac77acf",
        ("vasp5.4", "smearing"),
        reference={
            "final_energy": -4.82467802,
            "free_energy": -4.82864309,
            "energy_without_entropy": -4.82071294,
            "ionic_steps": 1,
            "efermi": 9.9682,
        },
    ),
    Entry(
        "aiida/nelm_vasp544/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/vasp_wc_nelm/calc-001/out/vasprun.xml",
        "66366f69f2d3eb1a14f145054bdf212c94e863b1f86f667798bf9f6ce966a02a",
        ("vasp5.4", "smearing", "e_wo_entrp"),
        reference={
            "final_energy": -4.82467802,
            "free_energy": -4.82864309,
            "energy_without_entropy": -4.82071294,
            "ionic_steps": 1,
            "efermi": 9.96816623,
        },
    ),
    Entry(
        "aiida/basic_vasp621/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/basic/vasprun621.xml",
        "b55f07c9bce92d72e662ae6e232295b933b9bb6201a8136023b38a37b0ef890e",
        ("vasp6.2",),
        reference={
            "final_energy": -8.24094279,
            "free_energy": -8.24094623,
            "energy_without_entropy": -8.24093936,
            "ionic_steps": 1,
            "efermi": 6.44789926,
        },
    ),
    Entry(
        "aiida/relax_wc_vasp541/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/test_relax_wc/out/OUTCAR",
        "17330eeaeb952b870ba4c693c597a2bcd56048fdf5e98aae73f92c842f446022",
        ("vasp5.4", "relax"),
        reference={
            "final_energy": -10.8179159,
            "free_energy": -10.81791607,
            "energy_without_entropy": -10.81791574,
            "ionic_steps": 1,
            "efermi": 5.8332,
        },
        expect="flagged",
        words="stopped after 1 of NSW = 2 ionic steps",
    ),
    Entry(
        "aiida/relax_wc_vasp541/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/test_relax_wc/out/vasprun.xml",
        "33b8f69b9bdeb3ec8986af39f10505e17110e0cc1c190c8813d7469da457c088",
        ("vasp5.4", "relax"),
        reference={
            "final_energy": -10.8179159,
            "free_energy": -10.81791607,
            "energy_without_entropy": -10.81791574,
            "ionic_steps": 1,
            "efermi": 5.83318605,
        },
        expect="flagged",
        words="stopped after 1 of NSW = 1 ionic steps",
    ),
    Entry(
        "aiida/relax_wc_vasp541/CHGCAR",
        AIIDA,
        "src/aiida_vasp/test_data/test_relax_wc/out/CHGCAR",
        "bb04c26e665c06ce2305267e1bcbf01ad4864d0d74d0f3f56d7617ff6e667257",
        ("chgcar",),
        compress="gz",
    ),
    Entry(
        "aiida/spin_vasp541/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/spin/vasprun.xml",
        "3abe1744ff263095152ebbcca69547153cc156f3157f98cd8847d6f4f0e45649",
        ("ispin2", "vasp5.4"),
        reference={
            "final_energy": -42.91111184,
            "free_energy": -42.91229866,
            "energy_without_entropy": -42.90992503,
            "ionic_steps": 1,
            "efermi": 5.96622533,
        },
    ),
    Entry(
        "aiida/magnetization_single/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/magnetization_single/OUTCAR",
        "60f4fc433b13e5993e024950b03a3982f0dc41c895a6b27b4505434a192c1d87",
        ("ispin2", "vasp5.4"),
        reference={
            "final_energy": -7.70462057,
            "free_energy": -7.70419533,
            "energy_without_entropy": -7.70547105,
            "ionic_steps": 1,
            "efermi": 5.1675,
        },
    ),
    Entry(
        "aiida/relax_magmom_vasp620/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/relax-wc-keep-magmom/calc-000/out/OUTCAR",
        "101cbd2a7c0a8289ab368bc50b6143b2b0a033e8de5c03663aa749d91efef466",
        ("vasp6.2", "ispin2", "relax"),
        reference={
            "final_energy": -1.97227502,
            "free_energy": -1.97445235,
            "energy_without_entropy": -1.97009769,
            "ionic_steps": 5,
            "efermi": 0.3518,
        },
    ),
    Entry(
        "aiida/relax_magmom_vasp620/vasprun.xml",
        AIIDA,
        "src/aiida_vasp/test_data/relax-wc-keep-magmom/calc-000/out/vasprun.xml",
        "1bfa9f8516eb1ae2dc91d7c989fecddc4b7157c9dab08c7dab66d322d161a731",
        ("vasp6.2", "ispin2", "relax"),
        reference={
            "final_energy": -1.97227502,
            "free_energy": -1.97445235,
            "energy_without_entropy": -1.97009769,
            "ionic_steps": 5,
            "efermi": 0.35176312,
        },
    ),
    Entry(
        "phonopy/NaCl_dfpt_vasp5211/OUTCAR",
        PHONOPY,
        "example/NaCl-VASPdfpt/OUTCAR",
        "a78bff03dc78a14c4ceae5604d1495403d987e5bc1e85ece3978cba5385d4796",
        ("linear-response", "dfpt", "vasp5.2"),
        reference={
            "final_energy": -216.828297,
            "free_energy": -216.828297,
            "energy_without_entropy": -216.828297,
            "ionic_steps": 1,
            "efermi": 0.1379,
        },
        compress="xz",
    ),
    Entry(
        "phonopy/NaCl_dfpt_vasp5211/vasprun.xml",
        PHONOPY,
        "example/NaCl-VASPdfpt/vasprun.xml",
        "f65bfb5bb50303206cc83f06aa0da445862b1cbf0e6927808d48e80a6a926be2",
        ("linear-response", "dfpt", "vasp5.2"),
        reference={
            "final_energy": -216.828297,
            "free_energy": -216.828297,
            "energy_without_entropy": -216.828297,
            "ionic_steps": 1,
            "efermi": 0.20898553,
        },
        compress="gz",
    ),
    Entry(
        "phonopy/fc_dfpt_vasp5211/vasprun.xml.xz",
        PHONOPY,
        "test/interface/vasprun_fc.xml.xz",
        "b64e82f3606310bd8086ca1ac19f74feb66280c4e8a58a0a33d50274530e4802",
        ("linear-response", "dfpt", "vasp5.2"),
        reference={
            "final_energy": -216.828297,
            "free_energy": -216.82829701,
            "energy_without_entropy": -216.828297,
            "ionic_steps": 1,
            "efermi": 0.20898553,
        },
    ),
    Entry(
        "phonopy/kpoints_opt_vasp660/vasprun.xml.xz",
        PHONOPY,
        "test/interface/vasprun_kpoints_opt.xml.xz",
        "4f56032311ee743182f1945c46d3e68c7db5cf8322fb08bc2ce15e6cc972dcff",
        ("multiple-dos", "vasp6.6"),
        reference={
            "final_energy": -21.10777233,
            "free_energy": -21.10777233,
            "energy_without_entropy": -21.10777233,
            "ionic_steps": 1,
            "efermi": 8.73771591,
        },
    ),
    Entry(
        "phonopy/kpoints_opt_spin_vasp660/vasprun.xml.xz",
        PHONOPY,
        "test/interface/vasprun_kpoints_opt_spin.xml.xz",
        "fe0eecc1140c456a4bd93f964dd04d1ab7e12e1de46909f2ddc5cd28245ba6ad",
        ("multiple-dos", "ispin2", "vasp6.6"),
        reference={
            "final_energy": -21.10777233,
            "free_energy": -21.10777233,
            "energy_without_entropy": -21.10777233,
            "ionic_steps": 1,
            "efermi": 8.73771247,
        },
    ),
    Entry(
        "phonopy/Si_noncollinear_vasp660/vasprun.xml.xz",
        PHONOPY,
        "test/interface/vasprun_Si_noncollinear.xml.xz",
        "8b7c794f847c9af0e8901ffae941d71d5a2edcb04229999c27e6c344ee988f9a",
        ("soc", "vasp6.6"),
        reference={
            "final_energy": -10.83456657,
            "free_energy": -10.83456657,
            "energy_without_entropy": -10.83456657,
            "ionic_steps": 1,
            "efermi": 5.73211496,
        },
    ),
    Entry(
        "phonopy/Cr_vasp544/vasprun.xml.xz",
        PHONOPY,
        "example/Cr/vasprun.xml.xz",
        "1e1c9e1d8d97ba25e550da8c7042f7e96a25c3971f7ef8f867a848d6a15cf73b",
        ("vasp5.4",),
        reference={
            "final_energy": -163.97890938,
            "free_energy": -164.00238535,
            "energy_without_entropy": -163.95543341,
            "ionic_steps": 1,
            "efermi": 11.37435982,
        },
    ),
    Entry(
        "phonopy/GeSn_vca_vasp660/vasprun.xml.xz",
        PHONOPY,
        "test/interface/GeSn-vca-vasprun-001.xml.xz",
        "474ebb2bf37e5f35d2d84d3e8c0c784a12a96d3d134b688bcb1f4a55014c8873",
        ("vasp6.6",),
        reference={
            "final_energy": -67.9652745,
            "free_energy": -67.96528943,
            "energy_without_entropy": -67.96525957,
            "ionic_steps": 1,
            "efermi": 3.22215945,
        },
    ),
    Entry(
        "nomad/Zn_dftu_vasp4635/OUTCAR",
        NOMAD_PARSERS,
        "tests/data/vasp/dftu/single_parameter/OUTCAR",
        "982bce777ef676d45fb4d5dae74b10aa6aa424c48433f79f158294953eea4f49",
        ("vasp4.6", "dft+u"),
        reference={
            "final_energy": -0.915070,
            "free_energy": -0.915070,
            "energy_without_entropy": -0.915070,
            "ionic_steps": 1,
            "efermi": 3.3627,
        },
        compress="xz",
    ),
    Entry(
        "nomad/GeZnNa2_relax_vasp4635/OUTCAR.bz2",
        NOMAD_2019,
        "tests/data/parsers/vasp/GeZnNa2_Test/OUTCAR.relax1.bz2",
        "06055d8188df89945d2f96b479e77df9ad2226278d378364f2e6e992f3c79c05",
        ("vasp4.6", "relax", "ispin2", "smearing"),
        reference={
            "final_energy": -8.186087,
            "free_energy": -8.186158,
            "energy_without_entropy": -8.185945,
            "ionic_steps": 23,
            "efermi": 2.4833,
        },
    ),
    Entry(
        "nomad/GeZnNa2_relax_vasp4635/vasprun.xml",
        NOMAD_2019,
        "tests/data/parsers/vasp/GeZnNa2_Test/vasprun.xml.relax1",
        "c3c9aaecf8583be864625984bbe5fff4e1b7a8bfa2a85f34ae16cf56ef4b3d30",
        ("vasp4.6", "relax", "ispin2", "smearing", "e_wo_entrp"),
        # No <dos>, hence no E-fermi; the fields of the step's <energy> are shifted as in 5.4.
        reference={
            "final_energy": -8.18608694,
            "free_energy": -8.18615798,
            "energy_without_entropy": -8.18594486,
            "ionic_steps": 23,
        },
        compress="xz",
    ),
    Entry(
        "nomad/Si_relax2_vasp4635/vasprun.xml.xz",
        NOMAD,
        "tests/data/normalizers/dos/dos_si_vasp/vasprun.xml.relax2.xz",
        "fb55c00ed185b466cdf24bf20439233128d9508c3a36ec15dd007150085b3ade",
        ("vasp4.6", "relax", "smearing", "e_wo_entrp"),
        reference={
            "final_energy": -10.8474274,
            "free_energy": -10.84740604,
            "energy_without_entropy": -10.8474701,
            "ionic_steps": 3,
            "efermi": 5.64692767,
        },
    ),
    Entry(
        "nomad/Si_evgw0_vasp610/vasprun.xml",
        NOMAD_PARSERS,
        "tests/data/vasp/Si_GW/vasprun.xml",
        "a4120151169c1da654dd2a4bfbdffcec5d3225e98eb8d9b37f5674161cbbd4a7",
        ("gw", "vasp6.1"),
        compress="xz",
        expect="refused",
        error="NoEnergyError",
        words="no total energy in a GW run (ALGO = EVGW0)",
    ),
    Entry(
        "nomad/Si_evgw0_vasp610/OUTCAR",
        NOMAD_PARSERS_GW,
        "tests/data/vasp/Si_GW/OUTCAR",
        "2001f6b11e18ce185c38dd6141c6883ed9d02dd058f7767bae9d1e4dd89229ba",
        ("gw", "vasp6.1"),
        compress="xz",
        expect="refused",
        error="NoEnergyError",
        words="no total energy in a GW run (ALGO = EVGW0)",
    ),
    Entry(
        "nomad/F_rpar_vasp621/OUTCAR",
        NOMAD_PARSERS,
        "tests/data/vasp/alternative_pseudopotentials/F_GW/OUTCAR",
        "c67c30fa00bea0aad9ed3153328fa87db584e7ffcf6d151e7580a5b9a5f41b87",
        ("rpa", "vasp6.2"),
        compress="xz",
        expect="refused",
        error="NoEnergyError",
        words="no total energy in a GW run (ALGO = RPAR)",
    ),
    # A VTST CI-NEB tree (VTST 3.2, VASP 5.4.4, IMAGES = 3, LCLIMB = T, IOPT = 1): NH3 inversion.
    # The end points 00 and 04 hold POSCARs only, as aiida-vasp ships them (no end-point OUTCAR).
    Entry(
        "aiida/NH3_neb_vtst_vasp544/INCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb/INCAR",
        "6d2a35ca399dff6060b42c92b3517092fee8b0c3b672c3ac3f8731bb7283141c",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_vtst_vasp544/00/POSCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb/00/POSCAR",
        "a2454f435730782b336288f0aa4e095ced754e0bcff67541c5c7fb241f0413ae",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_vtst_vasp544/01/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb/01/OUTCAR",
        "146452f603a851c30365302a79b782ae074c76d05454c91477abb9d104ab942e",
        ("neb", "vtst", "vasp5.4", "relax"),
        reference={
            "final_energy": -19.49550593,
            "free_energy": -19.49164066,
            "energy_without_entropy": -19.50323647,
            "ionic_steps": 23,
            "efermi": -5.7149,
        },
        compress="xz",
    ),
    Entry(
        "aiida/NH3_neb_vtst_vasp544/01/CONTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb/01/CONTCAR",
        "701126de2c119be258d9e7fc380bbc139c74c767284bf0e95fb33039f5a5fac7",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_vtst_vasp544/02/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb/02/OUTCAR",
        "a725204fa1425ca6717f6d2135907c671074cdb28aed9dba02e2951d4ffcab66",
        ("neb", "vtst", "vasp5.4", "relax"),
        reference={
            "final_energy": -19.27978461,
            "free_energy": -19.27591934,
            "energy_without_entropy": -19.28751515,
            "ionic_steps": 23,
            "efermi": -4.9250,
        },
        compress="xz",
    ),
    Entry(
        "aiida/NH3_neb_vtst_vasp544/02/CONTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb/02/CONTCAR",
        "a9ab99c046aa89837f93ba9f41133ec8f7c88af05951939d7d576a1f51f55b1a",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_vtst_vasp544/03/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb/03/OUTCAR",
        "dc7a82403c60f6867a10101c9e762e05e966a81b3b7b45e53923c7f0a786e2b0",
        ("neb", "vtst", "vasp5.4", "relax"),
        reference={
            "final_energy": -19.49550730,
            "free_energy": -19.49164203,
            "energy_without_entropy": -19.50323784,
            "ionic_steps": 23,
            "efermi": -5.7150,
        },
        compress="xz",
    ),
    Entry(
        "aiida/NH3_neb_vtst_vasp544/03/CONTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb/03/CONTCAR",
        "698fee05f31c378fc244925cf47ffd6d83570c0cd0697ee81a0c125a35ff5bb2",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_vtst_vasp544/04/POSCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb/04/POSCAR",
        "d677f20dcf1fb0f4faab2d4ce6a1d3ed6349883d760e35f8096bdf42b85d1cf7",
        ("neb", "input"),
    ),
    # aiida-vasp's NEB workchain test (VASP 6.2.0, VTST, IMAGES = 3): all five input
    # geometries are the same, so each image stops after one ionic step at the same energy.
    Entry(
        "aiida/NH3_neb_workchain_vasp620/INCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb-workchain/calc-000/inp/INCAR",
        "c09f96130292a2196087ea759c18c722276362f7630c3367531250e00e428820",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_workchain_vasp620/00/POSCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb-workchain/calc-000/inp/00/POSCAR",
        "8af331670b48db2f84fb2ffa8da531b759296ed2aba19f9498f958f05f838a4b",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_workchain_vasp620/01/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb-workchain/calc-000/out/01/OUTCAR",
        "fe01132f68d8ab645733e3f4ed20b52b2528948d78800ee19cc448126e5c1dc9",
        ("neb", "vtst", "vasp6.2"),
        reference={
            "final_energy": -19.49544029,
            "free_energy": -19.49157502,
            "energy_without_entropy": -19.50317083,
            "ionic_steps": 1,
            "efermi": -5.7167,
        },
        compress="gz",
    ),
    Entry(
        "aiida/NH3_neb_workchain_vasp620/01/CONTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb-workchain/calc-000/out/01/CONTCAR",
        "fc38a582f6f740128c42970957e906c95fb4938ac6075115c7c46b3880a76125",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_workchain_vasp620/02/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb-workchain/calc-000/out/02/OUTCAR",
        "d95a0487561f7ffc26e17072c618c6b05cb176b307b0e358ffc84e53d7e9065d",
        ("neb", "vtst", "vasp6.2"),
        reference={
            "final_energy": -19.49544029,
            "free_energy": -19.49157502,
            "energy_without_entropy": -19.50317083,
            "ionic_steps": 1,
            "efermi": -5.7167,
        },
        compress="gz",
    ),
    Entry(
        "aiida/NH3_neb_workchain_vasp620/02/CONTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb-workchain/calc-000/out/02/CONTCAR",
        "fc38a582f6f740128c42970957e906c95fb4938ac6075115c7c46b3880a76125",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_workchain_vasp620/03/OUTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb-workchain/calc-000/out/03/OUTCAR",
        "63b4f8dad9a772c96fc7b9a04411a37d17accb65f33758e1a34678fd443a55ae",
        ("neb", "vtst", "vasp6.2"),
        reference={
            "final_energy": -19.49544029,
            "free_energy": -19.49157502,
            "energy_without_entropy": -19.50317083,
            "ionic_steps": 1,
            "efermi": -5.7167,
        },
        compress="gz",
    ),
    Entry(
        "aiida/NH3_neb_workchain_vasp620/03/CONTCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb-workchain/calc-000/out/03/CONTCAR",
        "fc38a582f6f740128c42970957e906c95fb4938ac6075115c7c46b3880a76125",
        ("neb", "input"),
    ),
    Entry(
        "aiida/NH3_neb_workchain_vasp620/04/POSCAR",
        AIIDA,
        "src/aiida_vasp/test_data/neb-workchain/calc-000/inp/04/POSCAR",
        "8af331670b48db2f84fb2ffa8da531b759296ed2aba19f9498f958f05f838a4b",
        ("neb", "input"),
    ),
]

if __name__ == "__main__":
    raise SystemExit(main())
