"""CHGNet or SevenNet, each summed with DFT-D3 (zero damping), for relaxations, energies and CI-NEB.

The machine-learned potentials were trained on PBE(+U) data without dispersion, so D3
from the ``dftd3`` package is added through ASE's ``SumCalculator`` with VASP's IVDW = 11
cutoffs from the protocol.  Relaxations use an ASE optimiser to the protocol's force
criterion (|EDIFFG|) within NSW steps, keep the POSCAR's fixed atoms, and relax the cell
too when the INCAR asks for it (ISIF = 3, via ``FrechetCellFilter``).  CI-NEB uses ASE's
``NEB`` with one calculator per image, the improved tangent and climbing image.
"""

from __future__ import annotations

import warnings
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ase.calculators.mixing import SumCalculator
from ase.units import Bohr

from cztflow.workflows.engines.ase_runs import run_neb, run_single
from cztflow.workflows.engines.base import ENGINE_EXTRAS, Engine, EngineError, NodeTask
from cztflow.workflows.engines.folder_io import incar_values

__all__ = ["MlipEngine", "d3_calculator"]

_MODELS = {"chgnet": ("chgnet", "CHGNet 0.3.0"), "sevenn": ("sevenn", "7net-0")}


@cache
def _model(name: str, device: str) -> Any:
    if name == "chgnet":
        from chgnet.model import CHGNet

        return CHGNet.load(model_name="0.3.0", verbose=False, use_device=device)
    return None  # SevenNet loads its weights inside its calculator


def _package_version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def d3_calculator(protocol: Any) -> Any:
    """DFT-D3 zero damping for PBE with the protocol's cutoffs (VASP's IVDW = 11 defaults)."""
    try:
        from dftd3.ase import DFTD3
    except ImportError:
        raise EngineError(
            "DFT-D3 needs the 'dftd3' package (in the 'mlip', 'sevenn' and 'gpaw' extras): pip install dftd3"
        ) from None
    cut = protocol.decision("d3_cutoffs").value
    return DFTD3(
        method="PBE",
        damping="d3zero",
        realspace_cutoff={
            "disp2": float(cut["two_body"]),
            "disp3": 40.0 * Bohr,
            "cn": float(cut["coordination_number"]),
        },
    )


class MlipEngine(Engine):
    """A machine-learned potential plus D3: relax, static (energy) and neb nodes."""

    kinds = ("relax", "static", "neb")

    def __init__(self, name: str, config: Any) -> None:
        super().__init__(config)
        self.name = name
        self.package, self.model_name = _MODELS[name]

    def calculator(self, protocol: Any) -> SumCalculator:
        """A fresh MLIP + D3 calculator (the model weights are loaded once per process)."""
        device = str(self.config.mlip.get("device", "cpu"))
        # CHGNet 0.3 converts a tensor that needs grad to a float once per call; harmless, noisy
        warnings.filterwarnings(
            "ignore", message="Converting a tensor with requires_grad", category=UserWarning
        )
        try:
            if self.name == "chgnet":
                from chgnet.model.dynamics import CHGNetCalculator

                mlip = CHGNetCalculator(
                    model=_model("chgnet", device), use_device=device, on_isolated_atoms="ignore"
                )
            else:
                from sevenn.calculator import SevenNetCalculator

                mlip = SevenNetCalculator(model="7net-0", device=device)
        except ImportError as exc:
            label, extra, _ = ENGINE_EXTRAS[self.name]
            raise EngineError(
                f"the {label} engine needs the '{extra}' extra ({exc.name or exc} missing): "
                f"pip install 'cztflow[{extra}]'"
            ) from None
        return SumCalculator([mlip, d3_calculator(protocol)])

    def settings(self, task: NodeTask) -> dict[str, Any]:
        incar = incar_values(task.folder)
        cut = task.protocol.decision("d3_cutoffs").value
        return {
            "engine": self.name,
            "version": _package_version(self.package),
            "model": self.model_name,
            "dispersion": {
                "method": "DFT-D3 zero damping (PBE)",
                "package": f"dftd3 {_package_version('dftd3')}",
                "cutoffs_angstrom": dict(cut),
            },
            "optimizer": self.config.mlip["neb_optimizer" if task.kind == "neb" else "optimizer"],
            "fmax": abs(float(incar.get("EDIFFG", -task.protocol.force_tolerance))),
            "max_steps": int(incar.get("NSW", 0)),
            "cell_relax": int(incar.get("ISIF", 2)) >= 3,
            "device": self.config.mlip.get("device", "cpu"),
        }

    def run(self, task: NodeTask) -> dict[str, Any]:
        settings = self.settings(task)
        if task.kind == "neb":
            return run_neb(task, lambda: self.calculator(task.protocol), settings, settings["optimizer"])
        _atoms, summary = run_single(task, self.calculator(task.protocol), settings, settings["optimizer"])
        return summary
