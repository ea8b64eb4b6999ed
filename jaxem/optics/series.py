"""Series of imaging conditions: a focal (or any other aberration / coherence) series in one call.

The most common HRTEM acquisition is a focal series: the same exit wave ψ_e imaged at defocus values
Δf_1 … Δf_n. In jaxem a series is given by making one or more lens parameters 1-D arrays instead of
numbers, e.g. ``Aberrations(C10=np.array([-100., -50., 0.]))`` or ``focal_spread=np.array([0., 20.,
40.])``; :func:`jaxem.hrtem_image`, :func:`jaxem.optics.image_intensity`, :func:`jaxem.optics.ctf` and
:func:`~jaxem.optics.ctf_profile` then return a stack with a leading series axis of length n. This
module is the one mechanism that recognises such a series, checks it and names its axis; the image
or CTF of each element is computed by mapping the single-condition function over the series values
inside one jitted call (``jax.lax.map`` in batches sized by the memory policy, i.e. ``vmap`` over a
batch and ``scan`` over the batches), so a repeated call with another series of the same length
does not recompile and gradients flow to every series value.

Parameters that may be a series (:data:`SERIES_PARAMETERS`): every :class:`Aberrations` field
(C_nm [Å], φ_nm [rad]) and ``focal_spread`` [Å], ``source_angle`` [mrad].

Several series at once are **zipped**, not crossed: all must have the same length n and element i
of the result uses the i-th value of each (e.g. a focal series with a drifting two-fold
astigmatism). Series of different lengths are an error that names every series parameter and its
length; for a grid of conditions (say defocus × Cs) build it with ``np.meshgrid`` and pass the
raveled arrays.

Series axis (:meth:`Series.axis`): for one series parameter with evenly spaced values it is a
calibrated :class:`~jaxem.measurement.Axis` (offset = first value, sampling = step): ``defocus``
[Å] for C10 (values Δf = −C10, Kirkland's underfocus convention of :class:`Aberrations`), else the
parameter's name in its units. Unevenly spaced values, several series parameters or traced values
give an index axis ``series`` [index]; the values are then recorded in the metadata
(:meth:`Series.metadata`), as :func:`jaxem.propagate.multislice.exit_plane_axis` does for uneven
exit planes.
"""
from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from .. import validate
from .aberrations import Aberrations

#: parameters of the lens and of the partial coherence that may be given as a 1-D series
COHERENCE_PARAMETERS = ("focal_spread", "source_angle")
SERIES_PARAMETERS = tuple(Aberrations.__dataclass_fields__) + COHERENCE_PARAMETERS
#: most elements of one series (images are computed in memory-sized batches, but a longer
#: series is almost certainly a mistake, e.g. an image passed as a coefficient)
MAX_SERIES = 1 << 16


def _units(name: str) -> str:
    if name == "focal_spread":
        return "Å"
    if name == "source_angle":
        return "mrad"
    return "rad" if name.startswith("phi") else "Å"


@dataclasses.dataclass(frozen=True)
class Series:
    """A recognised series: the names of the series parameters (static, in
    :data:`SERIES_PARAMETERS` order), their length and their values (arrays, possibly traced)."""

    names: tuple
    length: int
    values: tuple  # one (length,) array per name

    def substitute(self, aberrations: Aberrations, focal_spread, source_angle, values):
        """:func:`substitute` with this series' names."""
        return substitute(self.names, aberrations, focal_spread, source_angle, values)

    @property
    def concrete(self) -> bool:
        return not validate.is_traced(self.values)

    def axis(self):
        """The :class:`~jaxem.measurement.Axis` of the series (module docstring)."""
        from ..measurement import Axis

        if len(self.names) == 1 and self.concrete:
            name = self.names[0]
            v = np.asarray(self.values[0], np.float64)
            label, units = ("defocus", "Å") if name == "C10" else (name, _units(name))
            if name == "C10":
                v = -v  # Δf = −C10
            steps = np.diff(v)
            if v.size == 1:
                return Axis(label, 1.0, units, float(v[0]))
            if steps[0] != 0 and np.allclose(steps, steps[0], rtol=1e-9, atol=0.0):
                return Axis(label, float(steps[0]), units, float(v[0]))
        return Axis("series", 1.0, "index")

    def metadata(self) -> dict:
        """{"parameters": {name: {"value": [...], "units"}}, "length"} (values omitted when traced)."""
        params = {}
        for name, v in zip(self.names, self.values):
            params[name] = {"value": None if validate.is_traced(v) else np.asarray(v, np.float64).tolist(),
                            "units": _units(name)}
        return {"parameters": params, "length": int(self.length), "combination": "zipped (element i uses the "
                "i-th value of every series parameter)"}


def substitute(names, aberrations: Aberrations, focal_spread, source_angle, values):
    """(aberrations, focal_spread, source_angle) with the parameters ``names`` set to ``values`` (one
    scalar per name, e.g. the i-th element of each series; usable under ``jit``/``vmap``, where only
    the static names of a :class:`Series` are known)."""
    new = dict(zip(names, values))
    ab = {k: v for k, v in new.items() if k not in COHERENCE_PARAMETERS}
    if ab:
        aberrations = aberrations.replace(**ab)
    return aberrations, new.get("focal_spread", focal_spread), new.get("source_angle", source_angle)


def find_series(aberrations: Aberrations, focal_spread=0.0, source_angle=0.0) -> Series | None:
    """The :class:`Series` given by ``aberrations``/``focal_spread``/``source_angle`` (None when every
    parameter is a scalar). Focal spread and source angle are checked either way (every concrete
    series value, or the single value; :func:`jaxem.optics.ctf.check_coherence`), as are concrete
    series values (finite); traced ones pass.

    Raises:
        InputError: a parameter with 2 or more dimensions or no element, or series parameters of
            different lengths (naming each with its length).
    """
    from .ctf import check_coherence

    given = dict(aberrations.to_dict(), focal_spread=focal_spread, source_angle=source_angle)
    names, values = [], []
    for name in SERIES_PARAMETERS:
        v = given[name]
        nd = np.ndim(v) if not hasattr(v, "shape") else len(v.shape)
        if nd == 0:
            continue
        shape = tuple(jnp.shape(v))
        label = name if name in COHERENCE_PARAMETERS else f"aberration {name}"
        if nd > 1:
            raise validate.InputError(f"{label} must be a number or a 1-D series [{_units(name)}], got an array "
                                      f"of shape {shape}")
        if not 1 <= shape[0] <= MAX_SERIES:
            raise validate.InputError(f"{label}: a series needs 1…{MAX_SERIES} values [{_units(name)}], got "
                                      f"shape {shape}")
        names.append(name)
        values.append(v)
    check_coherence(0.0 if "focal_spread" in names else focal_spread,
                    0.0 if "source_angle" in names else source_angle)
    if not names:
        return None
    lengths = {n: int(jnp.shape(v)[0]) for n, v in zip(names, values)}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{n} ({k} values)" for n, k in lengths.items())
        raise validate.InputError(
            f"series parameters of different lengths: {listed}; several series are combined element by element "
            f"(zipped) and must have the same length (for a grid of conditions pass np.meshgrid(...) raveled)")
    for n, v in zip(names, values):
        if validate.is_traced(v):
            continue
        validate.array(v, n if n in COHERENCE_PARAMETERS else f"aberration {n}", kind="real", finite=True,
                       units=_units(n))
        if n in COHERENCE_PARAMETERS:
            for x in np.asarray(v, np.float64):
                check_coherence(x if n == "focal_spread" else 0.0, x if n == "source_angle" else 0.0)
    return Series(tuple(names), next(iter(lengths.values())), tuple(values))


def refuse_series(aberrations: Aberrations, what: str) -> None:
    """Raise a clear error when ``aberrations`` holds a series but ``what`` (e.g. a probe) takes one
    value per coefficient (instead of a broadcasting error from inside the computation)."""
    series = find_series(aberrations)
    if series is not None:
        raise validate.InputError(
            f"aberration {', '.join(series.names)} is a series ({series.length} values), but {what} takes one value "
            f"per coefficient; series (jaxem.optics.series) are for hrtem_image, image_intensity, ctf and "
            f"ctf_profile: call {what} once per value")


def all_zero(value) -> bool:
    """True for a concrete focal spread / source angle (number or series) that is 0 everywhere."""
    return not validate.is_traced(value) and not np.any(np.asarray(value, np.float64))
