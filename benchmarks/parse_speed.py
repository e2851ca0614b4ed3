"""cztflow's VASP readers against pymatgen, on the same files, in the same run.

    python benchmarks/parse_speed.py [--quick] [--json OUT] [--workdir DIR] [--shared DIR]

For each case both readers run in their own fresh process, so that peak memory
(ru_maxrss) is measured per reader. Two times are kept: the first call (what a one-shot
``cztflow analyze`` meets: cold allocator, nothing cached yet) and the
best of ``--repeat`` further calls.
The table gives seconds, the speed ratio pymatgen/cztflow, the largest difference of the
numbers (must be ≤ 1e-6 eV), and peak memory above the interpreter's own as a multiple of
the data (the uncompressed file size).

Cases: final energy from OUTCAR and from vasprun.xml, the planar average of a LOCPOT, and
NEB image energies, on the real files in ../shared/vasp-outputs (skipped if absent) and
on large files generated here: a ~100 MB vasprun.xml (a relaxation whose ionic steps are
copies of a real VASP 5.4 run) and a 300×300×600 LOCPOT in VASP's E18.11 format (1 GB).
``--quick`` shrinks the generated files to ~10 MB and 100×100×200, for a smoke test.
No assertion: the numbers are for the docs (docs/parsing.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "vasp-outputs"
CORPUS = Path(os.environ.get("CZTFLOW_VASP_CORPUS", Path.home() / ".cache" / "cztflow" / "vasp-corpus"))


# ---------------------------------------------------------------- the measured calls (worker side)


def _ours(kind: str, path: str):
    if kind == "outcar":
        from cztflow.analysis.outcar import read_outcar

        return [read_outcar(path).final_energy]
    if kind == "vasprun":
        from cztflow.analysis.vasprun import read_vasprun

        return [read_vasprun(path, electronic=False).final_energy]
    if kind == "locpot":
        from cztflow.analysis.volumetric import read_planar_average

        return read_planar_average(path)[1].tolist()
    if kind == "neb":
        from cztflow.analysis.neb import read_neb

        return read_neb(path).energies.tolist()
    raise ValueError(kind)


def _pymatgen(kind: str, path: str):
    import warnings

    warnings.simplefilter("ignore")
    if kind == "outcar":
        from pymatgen.io.vasp import Outcar

        return [Outcar(path).final_energy]
    if kind == "vasprun":
        from pymatgen.io.vasp import Vasprun

        run = Vasprun(
            path, parse_dos=False, parse_eigen=False, parse_projected_eigen=False, parse_potcar_file=False
        )
        return [float(run.final_energy)]
    if kind == "locpot":
        from pymatgen.io.vasp import Locpot

        return list(Locpot.from_file(path).get_average_along_axis(2))
    if kind == "neb":
        from pymatgen.analysis.transition_state import NEBAnalysis

        return list(NEBAnalysis.from_dir(path).energies)
    raise ValueError(kind)


def _import(impl: str, kind: str) -> None:
    """Import what a reader needs, so that import time and memory are not measured."""
    if impl == "ours":
        import cztflow.analysis.neb
        import cztflow.analysis.vasprun
        import cztflow.analysis.volumetric  # noqa: F401
    else:
        import pymatgen.analysis.transition_state
        import pymatgen.io.vasp  # noqa: F401


def worker(impl: str, kind: str, path: str, repeat: int) -> None:
    _import(impl, kind)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    call = _ours if impl == "ours" else _pymatgen
    start = time.perf_counter()
    values = call(kind, path)
    first = time.perf_counter() - start
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        values = call(kind, path)
        best = min(best, time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {"seconds": best, "first": first, "values": [float(v) for v in values], "rss_kb": peak - base}
        )
    )


# ---------------------------------------------------------------- generated files


def vasp_e18(values: np.ndarray) -> list[str]:
    """Values in VASP's LOCPOT format: ' 0.12345678901E+01' / ' -.12345678901E+01'."""
    out = []
    for v in values:
        mantissa, exponent = f"{abs(v):.10E}".split("E")
        head = " 0." if v >= 0 else " -."
        out.append(head + mantissa.replace(".", "") + f"E{int(exponent) + 1:+03d}")
    return out


def make_locpot(path: Path, nx: int, ny: int, nz: int) -> Path:
    """A slab-like LOCPOT: bulk-like potential for 40 % of c, vacuum plateau elsewhere.

    Every plane holds 50 different lines that cycle, with values whose plane mean is the
    profile value, so the file has the size and number format of a real 300×300×600 LOCPOT.
    """
    per_plane = nx * ny
    cycle = 250  # values in one cycle of 50 lines
    assert per_plane % cycle == 0
    z = np.arange(nz) / nz
    profile = np.where(np.abs(z - 0.3) < 0.2, -12.0 + 3.0 * np.cos(60 * np.pi * z), 4.35)
    rng = np.random.default_rng(7)
    with path.open("w") as handle:
        handle.write("generated slab\n   1.00000000000000\n")
        handle.write(f"    {nx * 0.0667:.6f} 0.000000 0.000000\n 0.000000 {ny * 0.0667:.6f} 0.000000\n")
        handle.write(f" 0.000000 0.000000 {nz * 0.0667:.6f}\n   Zn   Te\n     1     1\nDirect\n")
        handle.write("  0.000000  0.000000  0.200000\n  0.500000  0.500000  0.400000\n \n")
        handle.write(f"{nx:5d}{ny:5d}{nz:5d}\n")
        for k in range(nz):
            noise = rng.normal(0.0, 0.5, cycle)
            noise -= noise.mean()
            fields = vasp_e18(profile[k] + noise)
            lines = "".join("".join(fields[i : i + 5]) + "\n" for i in range(0, cycle, 5))
            handle.write(lines * (per_plane // cycle))
    return path


def make_vasprun(path: Path, target_bytes: int) -> Path:
    """A long relaxation: the real H/Ir(100) VASP 5.4.1 run (17 atoms, ISPIN 2) with its ionic steps repeated.

    (The Si8 relaxation cannot be used: pymatgen fails on its overflowed KINTER = ******.)
    """
    import gzip

    source = gzip.decompress(
        (SHARED / "adsorption/H_on_Ir100_RPBE_atomate/05_H_on_Ir100_2x2_conf2/vasprun.xml.gz").read_bytes()
    )
    first = source.find(b"<calculation>")
    last = source.rfind(b"</calculation>") + len(b"</calculation>")
    head, steps, tail = source[:first], source[first:last], source[last:]
    copies = max(1, (target_bytes - len(head) - len(tail)) // len(steps))
    with path.open("wb") as handle:
        handle.write(head)
        for _ in range(copies):
            handle.write(steps)
        handle.write(tail)
    return path


def make_neb(path: Path) -> Path:
    """The real NH3 CI-NEB images, with 01's and 03's OUTCARs as stand-in end points (both readers)."""
    source = SHARED / "neb/NH3_inversion_vtst_vasp544"
    shutil.copytree(source, path)
    (path / "vasprun.xml").unlink()  # pymatgen would read the corrupted one
    shutil.copy(source / "01/OUTCAR", path / "00/OUTCAR")
    shutil.copy(source / "03/OUTCAR", path / "04/OUTCAR")
    return path


# ---------------------------------------------------------------- driver


def measure(impl: str, kind: str, path: Path, repeat: int) -> dict:
    cmd = [sys.executable, __file__, "--worker", impl, kind, str(path), "--repeat", str(repeat)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if out.returncode:
        raise RuntimeError(f"{impl} {kind} {path}: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def read_seconds(path: Path, repeat: int = 3) -> float:
    """Best time to get the file's bytes: read it, decompressing a .gz/.bz2/.xz (the byte-read limit)."""
    from cztflow.analysis.textfile import read_bytes

    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        if path.is_dir():
            for file in sorted(path.rglob("OUTCAR*")):
                read_bytes(file)
        else:
            read_bytes(path)
        best = min(best, time.perf_counter() - start)
    return best


def data_bytes(path: Path) -> int:
    import gzip

    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("OUTCAR"))
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as handle:
            return len(handle.read())
    return path.stat().st_size


def cases(work: Path, quick: bool) -> list[tuple[str, str, Path]]:
    out = []
    if SHARED.is_dir():
        out += [
            (
                "outcar",
                "OUTCAR NH3 NEB image, 655 kB, 23 steps",
                SHARED / "neb/NH3_inversion_vtst_vasp544/01/OUTCAR",
            ),
            (
                "outcar",
                "OUTCAR H/Ir(100), .gz, 15 steps",
                SHARED / "adsorption/H_on_Ir100_RPBE_atomate/03_H_on_Ir100_2x2_conf0/OUTCAR.gz",
            ),
            (
                "vasprun",
                "vasprun Si relax, .gz, 3 steps",
                SHARED / "electronic/Si_relax_atomate/vasprun.xml.gz",
            ),
            (
                "vasprun",
                "vasprun H/Ir(100) pDOS, .gz",
                SHARED / "adsorption/H_on_Ir100_RPBE_atomate/05_H_on_Ir100_2x2_conf2/vasprun.xml.gz",
            ),
            (
                "locpot",
                "LOCPOT SnO2 slab 18×28×224, .gz",
                SHARED / "workfunction/SnO2_slab_LOCPOT_macrodensity/LOCPOT.gz",
            ),
            (
                "locpot",
                "LOCPOT Si, spin, 60×60×60, .gz",
                SHARED / "workfunction/Si_bulk_static_atomate/LOCPOT.gz",
            ),
            ("neb", "NEB NH3, 5 images (OUTCARs)", make_neb(work / "neb")),
        ]
    chgcar = CORPUS / "aiida/relax_wc_vasp541/CHGCAR.gz"  # python tests/corpus/corpus.py fetches it
    if chgcar.is_file():
        out.append(("locpot", "CHGCAR Si 32×32×32, .gz", chgcar))
    if SHARED.is_dir():
        size = 10_000_000 if quick else 100_000_000
        out.append(
            (
                "vasprun",
                f"vasprun generated, {size // 1_000_000} MB",
                make_vasprun(work / "vasprun.xml", size),
            )
        )
    grid = (100, 100, 200) if quick else (300, 300, 600)
    out.append(("locpot", "LOCPOT generated {}×{}×{}".format(*grid), make_locpot(work / "LOCPOT", *grid)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--worker", nargs=3, metavar=("IMPL", "KIND", "PATH"))
    parser.add_argument("--only", choices=["outcar", "vasprun", "locpot", "neb"], help="run one kind of case")
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker, repeat=args.repeat)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="cztflow-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    try:
        for kind, label, path in cases(work, args.quick):
            if args.only and kind != args.only:
                continue
            ours = measure("ours", kind, path, args.repeat)
            theirs = measure("pymatgen", kind, path, args.repeat)
            a, b = np.array(ours["values"]), np.array(theirs["values"])
            diff = float(np.abs(a - b).max()) if a.shape == b.shape else float("nan")
            size = data_bytes(path)
            row = {
                "case": label,
                "kind": kind,
                "cztflow_s": ours["seconds"],
                "pymatgen_s": theirs["seconds"],
                "speedup": theirs["seconds"] / ours["seconds"],
                "cztflow_first_s": ours["first"],
                "pymatgen_first_s": theirs["first"],
                "speedup_first_call": theirs["first"] / ours["first"],
                "max_abs_diff": diff,
                "read_bytes_s": read_seconds(path),
                "data_mb": size / 1e6,
                "cztflow_peak_over_data": ours["rss_kb"] * 1024 / size,
                "pymatgen_peak_over_data": theirs["rss_kb"] * 1024 / size,
            }
            rows.append(row)
            print(
                f"{label:45s} cztflow {row['cztflow_s']:8.4f} s  pymatgen {row['pymatgen_s']:8.4f} s  "
                f"×{row['speedup']:6.1f} (first call ×{row['speedup_first_call']:5.1f})  |Δ| {diff:.1e}  "
                f"bytes {row['read_bytes_s']:.4f} s (cztflow ×{row['cztflow_s'] / row['read_bytes_s']:.1f})  "
                f"peak/data {row['cztflow_peak_over_data']:.2f} "
                f"(pymatgen {row['pymatgen_peak_over_data']:.2f})",
                flush=True,
            )
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
