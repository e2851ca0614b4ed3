"""Pure structure builders for every system of the study.

Each builder takes explicit keyword arguments, returns a pymatgen ``Structure`` (use
``pymatgen.io.ase.AseAtomsAdaptor`` for ASE ``Atoms``), and checks what it returns: no
overlapping atoms, the protocol's vacuum on slabs, and the expected stoichiometry.
"""

from cztflow.structures.adsorption import AdsorptionSite, add_k, intercalate_k, k_sites
from cztflow.structures.bulk import cote2_bulk, cote2_marcasite_bulk, k_atom, k_bcc, znte_bulk
from cztflow.structures.heterostructures import (
    cote2_znte_interface,
    interface_candidates,
    mxene_stack,
)
from cztflow.structures.interface import CoincidenceCell, coincidence_cells, stack_slabs
from cztflow.structures.migration import equivalent_neighbor, migration_endpoints, neb_path
from cztflow.structures.mxene import ti3c2tx
from cztflow.structures.slabs import cote2_001_slab, znte_110_slab, znte_111_slab

__all__ = [
    "AdsorptionSite",
    "CoincidenceCell",
    "add_k",
    "coincidence_cells",
    "cote2_001_slab",
    "cote2_bulk",
    "cote2_marcasite_bulk",
    "cote2_znte_interface",
    "equivalent_neighbor",
    "intercalate_k",
    "interface_candidates",
    "k_atom",
    "k_bcc",
    "k_sites",
    "migration_endpoints",
    "mxene_stack",
    "neb_path",
    "stack_slabs",
    "ti3c2tx",
    "znte_110_slab",
    "znte_111_slab",
    "znte_bulk",
]
