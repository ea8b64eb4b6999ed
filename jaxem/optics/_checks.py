"""Checks shared by the optics functions (public boundary, outside jit); scalars, arrays and angles
are checked with :mod:`jaxem.validate` and :class:`jaxem.beam.Beam`."""
from __future__ import annotations

from .. import validate


def check_aberrations(aberrations):
    """``None`` → zero aberrations; otherwise must be an :class:`~jaxem.optics.Aberrations` with finite
    concrete coefficients (traced ones pass)."""
    from .aberrations import Aberrations, check_finite

    if aberrations is None:
        return Aberrations()
    if not isinstance(aberrations, Aberrations):
        raise validate.InputTypeError(
            f"aberrations must be a jaxem.optics.Aberrations (e.g. Aberrations(C10=-50.0, C30=1e4)), "
            f"got {type(aberrations).__name__}")
    check_finite(aberrations)
    return aberrations
