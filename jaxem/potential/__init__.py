"""Atomic potentials: parametrizations (Lobato, Kirkland), projected slices, absorptive form factors."""
from .parametrizations import PARAMETRIZATIONS, Parametrization, get_parametrization
from .projected import (PotentialLayout, PotentialSlices, build_potential, potential, potential_builder,
                        potential_layout, projected_potential_slices)
from .tds import (absorptive_form_factor, absorptive_table, aperture_absorptive_form_factor, elastic_form_factor,
                  tds_cross_section)
from .absorptive import absorptive_potential, absorptive_potential_builder, mean_absorption_coefficient

__all__ = [
    "PARAMETRIZATIONS", "Parametrization", "get_parametrization",
    "PotentialLayout", "PotentialSlices", "build_potential", "potential", "potential_builder", "potential_layout",
    "projected_potential_slices",
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
