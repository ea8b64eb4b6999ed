"""Atomic potentials: parametrizations (Lobato, Kirkland) and projected-potential slices."""
from .parametrizations import PARAMETRIZATIONS, Parametrization, get_parametrization
from .projected import (PotentialLayout, PotentialSlices, build_potential, potential, potential_builder,
                        potential_layout, projected_potential_slices)

__all__ = ["PARAMETRIZATIONS", "Parametrization", "get_parametrization", "PotentialLayout", "PotentialSlices", "build_potential", "potential", "potential_builder", "potential_layout",
           "projected_potential_slices"]
