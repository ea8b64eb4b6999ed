"""Fit parameters: a pytree dataclass whose fields carry their units, bounds of the same shape, and
the bijections to an unconstrained space in which optimisers work.

A parameter set is a :func:`jaxem.pytree.dataclass` (for HRTEM: :class:`HRTEMParams`) whose fields
are arrays (scalars or per-column arrays) declared with ``pytree.field(units=...)``. A field set to
``None`` is absent: a *partial* parameter set (the free parameters of a fit, the unconstrained
coordinates z, one side of the bounds) is the same class with only some fields set, so everything
stays one pytree type. ``params.replace(defocus=...)`` changes a value; :func:`select` keeps some
fields; :func:`merge` overlays a partial set onto a full one.

:class:`Bounds` hold a lower and an upper parameter set (same class, same shapes, ``±inf`` allowed;
the fields that are set are the bounded = free parameters). Units come from the class. The map to
unconstrained coordinates z is chosen per element:

* both limits finite: x = lo + (hi − lo)·sigmoid(z)   (z = logit((x − lo)/(hi − lo)))
* only lo finite:     x = lo + softplus(z)              (z = log(expm1(x − lo)))
* only hi finite:     x = hi − softplus(z)
* none finite:        x = z

so every z ∈ ℝ gives an x strictly inside the bounds and gradient methods need no projection.
:meth:`Bounds.check` raises a clear error when a start lies outside (or on) its bounds. For
Bayesian optimisation the same (finite) bounds define the unit box: :func:`to_unit` / :func:`from_unit`.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate

__all__ = ["HRTEMParams", "Bounds", "select", "merge", "names_of", "to_unconstrained", "from_unconstrained",
           "to_unit", "from_unit", "flat_size", "describe", "from_mapping", "to_json"]


@pytree.dataclass
class HRTEMParams:
    """Parameters of the HRTEM image model (:class:`jaxem.hrtem.HRTEMModel`); arrays per column C.

    Optics: ``defocus`` Δf = −C10 [Å]; ``Cs`` = C30 [Å]; ``A1`` = C12 as the Cartesian pair
    (C12 cos 2φ12, C12 sin 2φ12) [Å]; ``B2`` = C21 (cos φ21, sin φ21) [Å]; ``A2`` = C23 (cos 3φ,
    sin 3φ) [Å]; ``S3`` = C32 [Å] and ``A3`` = C34 [Å] (pairs); ``focal_spread`` rms Δ [Å];
    ``convergence`` 1/e half-width of the illumination angles [mrad]; ``image_spread`` (σ_y, σ_x) [Å].
    Specimen: ``thickness`` [Å]; ``xy`` (C, 2) column positions (x, y) [Å]; ``B`` (C,) Debye–Waller
    factors [Å²]; ``occupancy`` (C,) column fraction (dimensionless). Alignment: ``shift`` (y, x)
    [Å]; ``rotation`` [rad]; ``scale``, ``background``, ``contrast`` (dimensionless).

    Fields left ``None`` are absent (partial parameter sets: free parameters, bounds, z).
    """

    defocus: Any = pytree.field(default=None, units="Å")
    Cs: Any = pytree.field(default=None, units="Å")
    A1: Any = pytree.field(default=None, units="Å")
    B2: Any = pytree.field(default=None, units="Å")
    A2: Any = pytree.field(default=None, units="Å")
    S3: Any = pytree.field(default=None, units="Å")
    A3: Any = pytree.field(default=None, units="Å")
    focal_spread: Any = pytree.field(default=None, units="Å")
    convergence: Any = pytree.field(default=None, units="mrad")
    image_spread: Any = pytree.field(default=None, units="Å")
    thickness: Any = pytree.field(default=None, units="Å")
    xy: Any = pytree.field(default=None, units="Å")
    B: Any = pytree.field(default=None, units="Å²")
    occupancy: Any = pytree.field(default=None, units="")
    shift: Any = pytree.field(default=None, units="Å")
    rotation: Any = pytree.field(default=None, units="rad")
    scale: Any = pytree.field(default=None, units="")
    background: Any = pytree.field(default=None, units="")
    contrast: Any = pytree.field(default=None, units="")

    def __post_init__(self):
        # leaves are numbers, arrays, tracers, None (absent) or pytree placeholders; never text
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, (str, bytes, dict, complex)):
                unit = f" [{f.metadata['units']}]" if f.metadata.get("units") else ""
                raise validate.InputTypeError(f"{f.name} must be a number or an array{unit}, got "
                                              f"{type(v).__name__} {v!r:.60}")


# ---- partial parameter sets ---------------------------------------------------------------------
def _check_dataclass(params, name: str = "params"):
    if not dataclasses.is_dataclass(params) or isinstance(params, type):
        raise validate.InputTypeError(f"{name} must be a parameter set (a jaxem.pytree.dataclass such as "
                                      f"HRTEMParams), got {type(params).__name__}")


def _fields(params) -> tuple:
    return tuple(f.name for f in dataclasses.fields(params))


def names_of(params) -> tuple:
    """Names of the fields of ``params`` that are set (not ``None``), in field order."""
    _check_dataclass(params)
    return tuple(n for n in _fields(params) if getattr(params, n) is not None)


def _check_names(params, names, name: str = "names") -> tuple:
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    known = _fields(params)
    for n in names:
        if n not in known:
            hint = validate.closest(n, known)
            raise validate.InputError(f"{name} contains {n!r}, which is not a field of {type(params).__name__}; "
                                      f"known: {', '.join(known)}" + (f" (did you mean {hint!r}?)" if hint else ""))
    return names


def select(params, names):
    """The same parameter class with only the fields ``names`` set (the others ``None``)."""
    _check_dataclass(params)
    names = _check_names(params, names)
    missing = [n for n in names if getattr(params, n) is None]
    if missing:
        raise validate.InputError(f"params has no value for {missing} (fields that are set: {names_of(params)})")
    return type(params)(**{n: getattr(params, n) for n in names})


def merge(base, update):
    """``base`` with the fields that are set in ``update`` replaced (pure; traceable)."""
    _check_dataclass(base, "base")
    _check_dataclass(update, "update")
    return base.replace(**{n: getattr(update, n) for n in _fields(update) if getattr(update, n) is not None})


def from_mapping(cls_or_params, mapping, name: str = "params"):
    """A partial parameter set from ``{field: value}`` (e.g. a TOML table), or ``cls_or_params`` (an
    instance) with those fields replaced; unknown keys are an error that names the closest field."""
    if mapping is None:
        return cls_or_params if not isinstance(cls_or_params, type) else cls_or_params()
    if dataclasses.is_dataclass(mapping) and not isinstance(mapping, type):
        return mapping if isinstance(cls_or_params, type) else merge(cls_or_params, mapping)
    if not hasattr(mapping, "items"):
        raise validate.InputTypeError(f"{name} must be a mapping of parameter names to values or a parameter "
                                      f"set, got {type(mapping).__name__}")
    cls = cls_or_params if isinstance(cls_or_params, type) else type(cls_or_params)
    known = tuple(f.name for f in dataclasses.fields(cls))
    for key in mapping:
        if key not in known:
            hint = validate.closest(key, known)
            raise validate.InputError(f"{name} has an unknown parameter {key!r}; known: {', '.join(known)}"
                                      + (f" (did you mean {hint!r}?)" if hint else ""))
    for key, value in mapping.items():  # values are numbers or arrays (units in the field metadata)
        if isinstance(value, (str, bytes, dict, complex)):
            unit = pytree.units_of(cls).get(key)
            raise validate.InputTypeError(f"{name}.{key} must be an array or a number{f' [{unit}]' if unit else ''}, "
                                          f"got {type(value).__name__} {value!r:.60}")
    if isinstance(cls_or_params, type):
        return cls(**dict(mapping))
    return cls_or_params.replace(**dict(mapping))


def to_json(params) -> dict:
    """``{field: {"value": number or nested list, "units": str}}`` for the fields that are set."""
    units = pytree.units_of(params)
    return {n: {"value": np.asarray(getattr(params, n)).tolist(), "units": units.get(n, "")}
            for n in names_of(params)}


def describe(params) -> str:
    """One line per set parameter (scalars printed, arrays summarised), with its units."""
    units = pytree.units_of(params)
    lines = []
    for n in names_of(params):
        a = np.asarray(getattr(params, n))
        val = f"{float(a):.6g}" if a.size == 1 else f"shape {a.shape}, mean {a.mean():.4g}, std {a.std():.3g}"
        lines.append(f"{n:>16s} = {val} {units.get(n, '')}".rstrip())
    return "\n".join(lines)


# ---- bounds -------------------------------------------------------------------------------------
@pytree.dataclass
class Bounds:
    """Lower and upper limits of the free parameters: two parameter sets of the same class with the
    same fields set, in the parameters' units (−inf/+inf = no limit).

    Build with :meth:`create`; the set fields are :attr:`names`; units come from the class.
    """

    lower: Any
    upper: Any

    @classmethod
    def create(cls, like, **limits) -> "Bounds":
        """Bounds from ``name=(lo, hi)`` keywords; scalars broadcast to the shape of the field in ``like``
        (a parameter set, or a parameter class when every limit has its final shape).

        Raises :class:`~jaxem.validate.InputError` naming the parameter unless lo < hi everywhere
        (no NaN; ±inf allowed), or for unknown names.
        """
        params = like() if isinstance(like, type) else like
        _check_dataclass(params, "like")
        _check_names(params, tuple(limits), "bounds")
        units = pytree.units_of(params)
        lo, hi = {}, {}
        for name, item in limits.items():
            if isinstance(item, str) or np.ndim(item) == 0 or len(item) != 2:
                raise validate.InputError(f"bounds for {name!r} must be a (lo, hi) pair [{units.get(name, '')}], "
                                          f"got {item!r}")
            ref = getattr(params, name)
            shape = np.shape(ref) if ref is not None else np.broadcast_shapes(np.shape(item[0]), np.shape(item[1]))
            try:
                a = np.broadcast_to(np.asarray(item[0], np.float64), shape).copy()
                b = np.broadcast_to(np.asarray(item[1], np.float64), shape).copy()
            except (ValueError, TypeError):
                raise validate.InputError(f"bounds for {name!r} must be numbers or arrays broadcastable to the "
                                          f"parameter's shape {shape}, got {item!r}") from None
            _check_pair(name, a, b, units.get(name, ""))
            lo[name], hi[name] = a, b
        return cls(type(params)(**lo), type(params)(**hi))

    @property
    def names(self) -> tuple:
        """The bounded (free) parameter names, in field order."""
        return names_of(self.lower)

    @property
    def units(self) -> dict:
        return pytree.units_of(self.lower)

    def subset(self, names) -> "Bounds":
        """Bounds of ``names`` only (each must be bounded here)."""
        names = _check_names(self.lower, names)
        missing = [n for n in names if getattr(self.lower, n) is None]
        if missing:
            raise validate.InputError(f"no bounds for parameters {missing}; bounded: {list(self.names)}")
        return Bounds(select(self.lower, names), select(self.upper, names))

    def validate(self) -> "Bounds":
        """Check lo < hi (no NaN) for every bounded field; returns self."""
        units = self.units
        for n in self.names:
            _check_pair(n, np.asarray(getattr(self.lower, n), float), np.asarray(getattr(self.upper, n), float),
                        units.get(n, ""))
        return self

    def check(self, params, what: str = "params") -> None:
        """Raise :class:`~jaxem.validate.InputError` unless every bounded value of ``params`` is set,
        of the bounds' shape, finite and strictly inside its bounds."""
        _check_dataclass(params, what)
        units = self.units
        for name in self.names:
            lo = np.asarray(getattr(self.lower, name), float)
            hi = np.asarray(getattr(self.upper, name), float)
            unit = units.get(name, "")
            v = getattr(params, name, None)
            if v is None:
                raise validate.InputError(f"{what} has no value for {name!r} (bounded parameters: "
                                          f"{list(self.names)})")
            x = np.asarray(v, np.float64)
            if x.shape != lo.shape:
                raise validate.InputError(f"{what}.{name} has shape {x.shape}, its bounds have shape {lo.shape}")
            n_bad, first = validate.finite_report(x)
            if n_bad:
                raise validate.InputError(f"{what}.{name} holds {n_bad} NaN/inf value(s) [{unit}] (first at "
                                          f"index {first})")
            bad = (x <= lo) | (x >= hi)
            if np.any(bad):
                i = tuple(int(v) for v in np.argwhere(bad)[0]) if x.ndim else ()
                xi, li, ui = (float(np.asarray(v)[i]) for v in (x, lo, hi))
                raise validate.InputError(
                    f"{what}.{name}{list(i) if i else ''} = {xi:.6g} {unit} lies outside its bounds "
                    f"({li:.6g}, {ui:.6g}) {unit}; widen the bounds or move the start")


def _check_pair(name, a, b, unit):
    if np.any(np.isnan(a)) or np.any(np.isnan(b)) or np.any(a >= b):
        i = np.argwhere(np.isnan(a) | np.isnan(b) | (a >= b))[0] if a.ndim else ()
        ai, bi = (float(np.asarray(v)[tuple(i)]) for v in (a, b))
        raise validate.InputError(f"bounds for {name!r} need lo < hi (no NaN) [{unit}], got lo={ai:.6g}, "
                                  f"hi={bi:.6g}" + (f" at index {list(map(int, i))}" if a.ndim else ""))


# ---- bijections ---------------------------------------------------------------------------------
def _softplus_inv(y):
    return y + jnp.log(-jnp.expm1(-y))


def _limits(lo, hi, dtype):
    lo, hi = jnp.asarray(lo), jnp.asarray(hi)
    lo_f, hi_f = jnp.isfinite(lo), jnp.isfinite(hi)
    return lo_f, hi_f, jnp.where(lo_f, lo, 0.0).astype(dtype), jnp.where(hi_f, hi, 1.0).astype(dtype)


def _one_to_z(x, lo, hi):
    x = jnp.asarray(x)
    x = x.astype(accel.dtypes_of(x)[0])
    lo_f, hi_f, lo_s, hi_s = _limits(lo, hi, x.dtype)
    both = (x - lo_s) / (hi_s - lo_s)
    both = jnp.log(both) - jnp.log1p(-both)
    low = _softplus_inv(jnp.maximum(x - lo_s, 1e-30))
    high = _softplus_inv(jnp.maximum(hi_s - x, 1e-30))
    return jnp.where(lo_f & hi_f, both, jnp.where(lo_f, low, jnp.where(hi_f, high, x)))


def _one_from_z(z, lo, hi):
    z = jnp.asarray(z)
    lo_f, hi_f, lo_s, hi_s = _limits(lo, hi, z.dtype)
    both = lo_s + (hi_s - lo_s) * jax.nn.sigmoid(z)
    return jnp.where(lo_f & hi_f, both, jnp.where(lo_f, lo_s + jax.nn.softplus(z),
                                                    jnp.where(hi_f, hi_s - jax.nn.softplus(z), z)))


def _check_bounds(bounds) -> None:
    if not isinstance(bounds, Bounds):
        raise validate.InputTypeError(f"bounds must be a jaxem.hrtem.Bounds, got {type(bounds).__name__}")


def _map(fn, params, bounds: Bounds):
    _check_bounds(bounds)
    _check_dataclass(params)
    out = {}
    for n in bounds.names:
        v = getattr(params, n, None)
        if v is None:
            raise validate.InputError(f"params has no value for the bounded parameter {n!r}")
        out[n] = fn(v, getattr(bounds.lower, n), getattr(bounds.upper, n))
    return type(bounds.lower)(**out)


@validate.typed
def to_unconstrained(params, bounds: Bounds):
    """z = T⁻¹(x) for the bounded fields of ``params`` (a partial set of the same class)."""
    return _map(_one_to_z, params, bounds)


@validate.typed
def from_unconstrained(z, bounds: Bounds):
    """x = T(z): values strictly inside the bounds, differentiable in z (a partial set)."""
    return _map(_one_from_z, z, bounds)


def _require_finite(bounds: Bounds):
    for n in bounds.names:
        lo, hi = np.asarray(getattr(bounds.lower, n)), np.asarray(getattr(bounds.upper, n))
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise validate.InputError(f"the unit-box map needs finite bounds; {n!r} has lo={lo}, hi={hi}")


def flat_size(bounds: Bounds) -> int:
    """Number of scalar parameters covered by ``bounds``."""
    return int(sum(np.size(getattr(bounds.lower, n)) for n in bounds.names))


def to_unit(params, bounds: Bounds):
    """Flatten the bounded parameters to u ∈ [0, 1]^d (finite bounds only), in field order."""
    _check_bounds(bounds)
    _check_dataclass(params)
    _require_finite(bounds)
    parts = []
    for n in bounds.names:
        lo, hi = np.asarray(getattr(bounds.lower, n)), np.asarray(getattr(bounds.upper, n))
        parts.append((jnp.ravel(jnp.asarray(getattr(params, n))) - lo.ravel()) / (hi - lo).ravel())
    return jnp.concatenate(parts)


def from_unit(u, bounds: Bounds):
    """Inverse of :func:`to_unit`: u (d,) in [0, 1] → partial parameter set (jit/vmap-safe; the
    bounds may be traced)."""
    _check_bounds(bounds)
    if not validate.is_traced(bounds):
        _require_finite(bounds)
    out, i = {}, 0
    for n in bounds.names:
        lo, hi = jnp.asarray(getattr(bounds.lower, n)), jnp.asarray(getattr(bounds.upper, n))
        k = int(lo.size)
        seg = u[i:i + k].reshape(lo.shape)
        out[n] = jnp.asarray(lo, u.dtype) + jnp.asarray(hi - lo, u.dtype) * seg
        i += k
    return type(bounds.lower)(**out)
