"""Atomic structures: the Structure pytree, slicing along the beam, and builders/IO.

Public API: :class:`Structure`, :func:`slice_assignment`, :func:`atomic_number`, :func:`symbol`.
"""
from .elements import atomic_number, symbol
from .structure import Structure
from .slicing import slice_assignment, slices_for_structure

__all__ = ["Structure", "atomic_number", "symbol", "slice_assignment", "slices_for_structure"]
