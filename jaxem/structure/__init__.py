"""Atomic structures: the Structure pytree, built-in crystals, zone-axis orientation, slicing along
the beam, and ASE/CIF import/export.

Public API: :class:`Structure`, :func:`as_structure` (a Structure or an ``ase.Atoms``),
:func:`slice_assignment`, :func:`slices_for_structure`, :func:`check_in_cell` (the pbc rule of
:mod:`~jaxem.structure.slicing`), :func:`atomic_number`, :func:`symbol`, :mod:`crystals` (:func:`crystal`, :func:`list_crystals`, the
builders ``Si``, ``diamond``, ``Ni``, ``SrTiO3``, ``ZnO``, ``SiC_3C``, ``SiC_4H``, ``BaTiO3``),
:func:`zone_axis` (+ :class:`ZoneAxisInfo`), :func:`read_cif`, :func:`write_cif`, :func:`read`,
:func:`write`, :func:`from_ase`, :func:`to_ase`.

Example::

    from jaxem.structure import crystals, zone_axis
    sto = zone_axis(crystals.SrTiO3(), [0, 0, 1]).repeat(8, 8, 26)
"""
from . import crystals
from .crystals import (BaTiO3, Ni, Si, SiC_3C, SiC_4H, SrTiO3, ZnO, crystal, crystal_info, diamond,
                       list_crystals)
from .elements import atomic_number, symbol
from .io import read, read_cif, to_ase, write, write_cif
from .orientation import ZoneAxisInfo, pure_translations, zone_axis
from .slicing import check_in_cell, slice_assignment, slices_for_structure
from .structure import Structure, as_structure, from_ase

__all__ = [
    "Structure", "as_structure", "atomic_number", "symbol", "slice_assignment", "slices_for_structure",
    "check_in_cell",
    "crystals", "crystal", "crystal_info", "list_crystals", "Si", "diamond", "Ni", "SrTiO3", "ZnO",
    "SiC_3C", "SiC_4H", "BaTiO3", "zone_axis", "ZoneAxisInfo", "pure_translations",
    "read_cif", "write_cif", "read", "write", "from_ase", "to_ase",
]
