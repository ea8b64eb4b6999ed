"""Electron scattering factors f_e(k) [Å] of neutral atoms.

* ``lobato`` (default): I. Lobato & D. Van Dyck, Acta Cryst. A70 (2014) 636:
  f(k) = Σ_{i=1..5} a_i (2 + b_i k²) / (1 + b_i k²)².
* ``kirkland``: E. J. Kirkland, *Advanced Computing in Electron Microscopy*, 2nd ed. (2010), App. C:
  f(k) = Σ_{i=1..3} a_i / (k² + b_i) + c_i exp(−d_i k²).

k = |k| is the spatial frequency [1/Å] (= 2 sin θ / λ). Coefficients live in jaxem's own data files
``jaxem/data/{lobato,kirkland}.json`` (keyed from the published tables by
``tools/make_parametrization_data.py``). Z = 1…103.

The Fourier coefficient of an atom's projected potential on a periodic cell of area A [Å²] is
``KAPPA · f_e(k) / A`` [V·Å] with KAPPA = 2π a0 e (see :mod:`jaxem.physics`).
"""
from __future__ import annotations

import functools
import json
from importlib import resources

import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from ..accel import dtypes_of
from ..structure.elements import MAX_Z, atomic_number

PARAMETRIZATIONS = ("lobato", "kirkland")


@pytree.dataclass(eq=False)
class Parametrization:
    """A table of scattering-factor coefficients, indexed by Z (row 0 unused).

    Attributes:
        name: 'lobato' or 'kirkland' (static; selects the formula).
        reference: the publication (static).
        coefficients: {row name: (MAX_Z + 1, n) array} (the pytree leaves; Lobato rows a [Å], b [Å²],
            Kirkland rows a [Å⁻¹], b [Å⁻²], c [Å], d [Å²]).
    """

    name: str = pytree.field(static=True)
    reference: str = pytree.field(static=True)
    coefficients: dict

    def _rows(self, numbers) -> dict:
        zs = np.asarray([atomic_number(z if isinstance(z, str) else int(z), "numbers")
                         for z in np.atleast_1d(numbers)], dtype=np.int64)  # int even when empty (vacuum)
        return {k: v[zs] for k, v in self.coefficients.items()}

    def scattering_factor(self, numbers, k):
        """f_e [Å] for each Z in ``numbers`` (S,) at frequencies ``k`` [1/Å] (any shape) → (S, *k.shape).

        The result has the precision of ``k`` (float32 for integer ``k``)."""
        k = jnp.asarray(validate.array(k, "k", kind="real", units="1/Å", min_size=0))
        dtype = dtypes_of(k)[0]
        k2 = (k * k)[None, ...]
        rows = {n: jnp.asarray(v, dtype) for n, v in self._rows(numbers).items()}
        expand = (slice(None), slice(None)) + (None,) * k.ndim

        if self.name == "lobato":
            a, b = rows["a"][expand], rows["b"][expand]
            bk2 = b * k2[:, None]
            return jnp.sum(a * (2.0 + bk2) / (1.0 + bk2) ** 2, axis=1)
        a, b, c, d = (rows[n][expand] for n in ("a", "b", "c", "d"))
        k2e = k2[:, None]
        return jnp.sum(a / (k2e + b) + c * jnp.exp(-d * k2e), axis=1)


@functools.lru_cache(maxsize=None)
def get_parametrization(name: str = "lobato") -> Parametrization:
    """Load the named parametrization ('lobato' or 'kirkland')."""
    name = validate.choice(name, "parametrization", PARAMETRIZATIONS)
    doc = json.loads((resources.files("jaxem") / "data" / f"{name}.json").read_text())
    rows = doc["rows"]
    n = len(next(iter(doc["elements"].values()))[rows[0]])
    coeffs = {r: np.full((MAX_Z + 1, n), np.nan) for r in rows}
    for z, entry in doc["elements"].items():
        for r in rows:
            coeffs[r][int(z)] = entry[r]
    return Parametrization(name, doc["reference"], coeffs)
