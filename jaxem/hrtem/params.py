"""Bounded fit parameters: a pytree of values, a matching pytree of bounds, and the bijections to
an unconstrained space in which optimisers work.

A parameter set is a flat ``dict`` name → array (scalars or per-column arrays). Its
:class:`Bounds` hold, for each name, lower and upper limits of the same shape (``±inf`` allowed)
and the unit as a string. The map to unconstrained coordinates z is chosen per element:

* both limits finite: x = lo + (hi − lo)·sigmoid(z)   (z = logit((x − lo)/(hi − lo)))
* only lo finite:     x = lo + softplus(z)              (z = log(expm1(x − lo)))
* only hi finite:     x = hi − softplus(z)
* none finite:        x = z

so every z ∈ ℝ gives an x strictly inside the bounds and gradient methods need no projection.
:meth:`Bounds.check` raises a clear ``ValueError`` when a start lies outside (or on) its bounds.
For Bayesian optimisation the same bounds define the unit box: :func:`to_unit` / :func:`from_unit`.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct


@struct.dataclass
class Bounds:
    """Lower/upper limits per parameter (dicts name → array, same shapes as the parameters).

    Attributes:
        lower: dict of lower limits (−inf = none), in the parameter's unit.
        upper: dict of upper limits (+inf = none).
        units: dict name → unit string (static, for reports and error messages).
    """

    lower: dict
    upper: dict
    units: dict = struct.field(pytree_node=False, default_factory=dict)

    @classmethod
    def create(cls, spec: dict, like: dict | None = None) -> "Bounds":
        """From ``{name: (lo, hi, unit)}``; scalars are broadcast to the shapes in ``like``."""
        lo, hi, units = {}, {}, {}
        for name, item in spec.items():
            if len(item) not in (2, 3):
                raise ValueError(f"bounds for {name!r} must be (lo, hi) or (lo, hi, unit), got {item!r}")
            shape = np.shape(like[name]) if like is not None and name in like else np.shape(item[0])
            a = np.broadcast_to(np.asarray(item[0], np.float64), shape).copy()
            b = np.broadcast_to(np.asarray(item[1], np.float64), shape).copy()
            if np.any(np.isnan(a)) or np.any(np.isnan(b)) or np.any(a >= b):
                raise ValueError(f"bounds for {name!r} need lo < hi (no NaN), got lo={a}, hi={b}")
            lo[name], hi[name] = a, b
            units[name] = item[2] if len(item) == 3 else ""
        return cls(lo, hi, units)

    def names(self) -> tuple:
        return tuple(self.lower)

    def subset(self, names) -> "Bounds":
        names = tuple(names)
        missing = [n for n in names if n not in self.lower]
        if missing:
            raise ValueError(f"no bounds for parameters {missing}; known: {sorted(self.lower)}")
        return Bounds({n: self.lower[n] for n in names}, {n: self.upper[n] for n in names},
                      {n: self.units.get(n, "") for n in names})

    def check(self, params: dict, what: str = "params") -> None:
        """Raise ``ValueError`` unless every bounded value is finite and strictly inside its bounds."""
        for name, lo in self.lower.items():
            if name not in params:
                raise ValueError(f"{what} has no entry {name!r} (bounded parameters: {sorted(self.lower)})")
            x = np.asarray(params[name], np.float64)
            hi = self.upper[name]
            if x.shape != lo.shape:
                raise ValueError(f"{what}[{name!r}] has shape {x.shape}, bounds have shape {lo.shape}")
            if not np.all(np.isfinite(x)):
                raise ValueError(f"{what}[{name!r}] contains NaN/inf: {x}")
            bad = (x <= lo) | (x >= hi)
            if np.any(bad):
                i = tuple(int(v) for v in np.argwhere(bad)[0]) if x.ndim else ()
                xi, li, ui = (float(np.asarray(v)[i]) for v in (x, lo, hi))
                unit = self.units.get(name, "")
                raise ValueError(f"{what}[{name!r}]{list(i) if i else ''} = {xi:.6g} {unit} lies outside its "
                                 f"bounds ({li:.6g}, {ui:.6g}) {unit}; widen the bounds or move the start")


def _softplus_inv(y):
    return y + jnp.log(-jnp.expm1(-y))


def _one_to_z(x, lo, hi):
    lo_f, hi_f = np.isfinite(lo), np.isfinite(hi)
    x = jnp.asarray(x)
    dt = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else jnp.float32
    lo_s = jnp.asarray(np.where(lo_f, lo, 0.0), dt)
    hi_s = jnp.asarray(np.where(hi_f, hi, 1.0), dt)
    both = (x - lo_s) / (hi_s - lo_s)
    both = jnp.log(both) - jnp.log1p(-both)
    low = _softplus_inv(jnp.maximum(x - lo_s, 1e-30))
    high = _softplus_inv(jnp.maximum(hi_s - x, 1e-30))
    return jnp.where(lo_f & hi_f, both, jnp.where(lo_f, low, jnp.where(hi_f, high, x)))


def _one_from_z(z, lo, hi):
    lo_f, hi_f = np.isfinite(lo), np.isfinite(hi)
    dt = z.dtype
    lo_s = jnp.asarray(np.where(lo_f, lo, 0.0), dt)
    hi_s = jnp.asarray(np.where(hi_f, hi, 1.0), dt)
    both = lo_s + (hi_s - lo_s) * jax.nn.sigmoid(z)
    return jnp.where(lo_f & hi_f, both, jnp.where(lo_f, lo_s + jax.nn.softplus(z),
                                                    jnp.where(hi_f, hi_s - jax.nn.softplus(z), z)))


def to_unconstrained(params: dict, bounds: Bounds) -> dict:
    """z = T⁻¹(x) for the bounded names of ``params`` (see the module docstring)."""
    return {n: _one_to_z(params[n], bounds.lower[n], bounds.upper[n]) for n in bounds.lower}


def from_unconstrained(z: dict, bounds: Bounds) -> dict:
    """x = T(z): values strictly inside the bounds, differentiable in z."""
    return {n: _one_from_z(jnp.asarray(z[n]), bounds.lower[n], bounds.upper[n]) for n in bounds.lower}


def _require_finite(bounds: Bounds):
    for n in bounds.lower:
        if not (np.all(np.isfinite(bounds.lower[n])) and np.all(np.isfinite(bounds.upper[n]))):
            raise ValueError(f"the unit-box map needs finite bounds; {n!r} has lo={bounds.lower[n]}, "
                             f"hi={bounds.upper[n]}")


def flat_size(bounds: Bounds) -> int:
    """Number of scalar parameters covered by ``bounds``."""
    return int(sum(np.size(v) for v in bounds.lower.values()))


def to_unit(params: dict, bounds: Bounds):
    """Flatten the bounded parameters to u ∈ [0, 1]^d (finite bounds only), in the order of ``bounds``."""
    _require_finite(bounds)
    parts = [(jnp.ravel(jnp.asarray(params[n])) - bounds.lower[n].ravel()) /
             (bounds.upper[n] - bounds.lower[n]).ravel() for n in bounds.lower]
    return jnp.concatenate(parts)


def from_unit(u, bounds: Bounds) -> dict:
    """Inverse of :func:`to_unit`: u (d,) in [0, 1] → dict of bounded values (jit/vmap-safe)."""
    _require_finite(bounds)
    out, i = {}, 0
    for n, lo in bounds.lower.items():
        k = int(np.size(lo))
        seg = u[i:i + k].reshape(lo.shape)
        out[n] = jnp.asarray(lo, u.dtype) + jnp.asarray(bounds.upper[n] - lo, u.dtype) * seg
        i += k
    return out


def merge(base: dict, update: dict) -> dict:
    """``base`` with the entries of ``update`` replaced (pure; no mutation)."""
    return {**base, **update}


def describe(params: dict, bounds: Bounds | None = None) -> str:
    """One line per parameter (scalars printed, arrays summarised), with units from ``bounds``."""
    lines = []
    for n, v in params.items():
        a = np.asarray(v)
        unit = bounds.units.get(n, "") if bounds is not None else ""
        val = f"{float(a):.6g}" if a.size == 1 else f"shape {a.shape}, mean {a.mean():.4g}, std {a.std():.3g}"
        lines.append(f"{n:>16s} = {val} {unit}")
    return "\n".join(lines)


__all__ = ["Bounds", "to_unconstrained", "from_unconstrained", "to_unit", "from_unit", "flat_size", "merge",
           "describe"]
