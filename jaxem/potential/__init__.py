"""Atomic potentials: parametrizations (Lobato, Kirkland), projected slices, absorptive form factors.

``potential(structure, sampling=…)`` takes a :class:`jaxem.structure.Structure` or an ``ase.Atoms``;
atoms on or outside the cell faces follow its ``pbc`` (see :mod:`jaxem.structure.slicing`), and the
grid must represent the potential (sampling ≤ :data:`MAX_SAMPLING` Å, ≥ :data:`MIN_GPTS` pixels per
axis). The absorptive models take the beam (a :class:`jaxem.beam.Beam`, an energy [eV] or
``"300 kV"``).
"""
from .parametrizations import PARAMETRIZATIONS, Parametrization, get_parametrization
from .projected import (MAX_SAMPLING, MIN_GPTS, PotentialLayout, PotentialSlices, build_potential, lateral_grid,
                        potential, potential_builder, potential_layout, projected_potential_slices)
from .tds import (absorptive_form_factor, absorptive_table, aperture_absorptive_form_factor, elastic_form_factor,
                  tds_cross_section)
from .absorptive import absorptive_potential, absorptive_potential_builder, mean_absorption_coefficient

__all__ = [
    "PARAMETRIZATIONS", "Parametrization", "get_parametrization",
    "PotentialLayout", "PotentialSlices", "build_potential", "potential", "potential_builder", "potential_layout",
    "projected_potential_slices", "lateral_grid", "MAX_SAMPLING", "MIN_GPTS",
    "absorptive_form_factor", "absorptive_table", "aperture_absorptive_form_factor", "elastic_form_factor",
    "tds_cross_section", "absorptive_potential", "absorptive_potential_builder", "mean_absorption_coefficient",
]


class _CallablePackage(__import__("types").ModuleType):
    """``jaxem.potential`` is both this package and the function users call first
    (``jx.potential(structure, sampling=…)``): once the package is imported, ``jaxem.potential`` is
    the package, so calling it delegates to :func:`potential`."""

    def __call__(self, *args, **kwargs):
        return potential(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallablePackage
