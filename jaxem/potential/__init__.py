"""Atomic potentials: parametrizations (Lobato, Kirkland) and projected-potential slices."""
from .parametrizations import PARAMETRIZATIONS, Parametrization, get_parametrization
from .projected import PotentialSlices, potential, potential_builder, projected_potential_slices

__all__ = ["PARAMETRIZATIONS", "Parametrization", "get_parametrization", "PotentialSlices", "potential", "potential_builder",
           "projected_potential_slices"]
