"""The aberration function χ in Krivanek polar notation, to 5th order.

    χ(α, φ) = (2π/λ) Σ_{n,m} C_nm α^{n+1}/(n+1) · cos(m (φ − φ_nm))            [rad]

with α = λ|k| the scattering angle [rad], φ the azimuth [rad], C_nm [Å] and φ_nm [rad]. Sign
conventions (tested in ``tests/optics/test_aberrations.py``):

* ``C10 = −Δf``: a positive defocus Δf (Kirkland's underfocus, Scherzer Δf > 0) is ``C10 < 0``, so
  χ = π λ k² (½ Cs λ² k² − Δf) as in Kirkland (2010) eq. 3.42.
* ``C30 = Cs``; ``C12``/``φ12`` is two-fold astigmatism, ``C21``/``φ21`` axial coma, ``C23``/``φ23``
  three-fold astigmatism, and so on (Krivanek, Dellby & Lupini, Ultramicroscopy 78 (1999) 1).
* A probe is ψ(k) = A(k)·exp(−iχ(k)); an image wave is ψ_exit(k)·exp(−iχ(k)).

:class:`Aberrations` is a pytree whose coefficients are leaves, so gradients with respect to every
coefficient are available.
"""
from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .. import pytree, validate

#: (n, m) of the coefficients C_nm, in the order of the dataclass fields
ABERRATION_ORDERS = (
    (1, 0), (1, 2), (2, 1), (2, 3), (3, 0), (3, 2), (3, 4),
    (4, 1), (4, 3), (4, 5), (5, 0), (5, 2), (5, 4), (5, 6),
)

_ALIASES = {
    "Cs": "C30", "C5": "C50", "astigmatism": "C12", "astigmatism_angle": "phi12",
    "coma": "C21", "coma_angle": "phi21", "Cc": None,
}


@pytree.dataclass
class Aberrations:
    """Aberration coefficients C_nm [Å] and azimuths φ_nm [rad] (Krivanek polar notation), all
    differentiable pytree leaves (units in the field metadata, ``pytree.units_of(Aberrations)``).

    Build it directly with keyword coefficients, e.g. ``Aberrations(C10=-50.0, C30=-1e4)`` (C10 = −Δf:
    Δf = 50 Å underfocus; C30 = Cs). :meth:`create` also takes the aliases ``defocus`` (= −C10),
    ``Cs`` (= C30), ``C5`` (= C50), ``astigmatism`` (= C12) and ``coma`` (= C21) and validates the values.
    """

    C10: float = pytree.field(units="Å", default=0.0)
    C12: float = pytree.field(units="Å", default=0.0)
    phi12: float = pytree.field(units="rad", default=0.0)
    C21: float = pytree.field(units="Å", default=0.0)
    phi21: float = pytree.field(units="rad", default=0.0)
    C23: float = pytree.field(units="Å", default=0.0)
    phi23: float = pytree.field(units="rad", default=0.0)
    C30: float = pytree.field(units="Å", default=0.0)
    C32: float = pytree.field(units="Å", default=0.0)
    phi32: float = pytree.field(units="rad", default=0.0)
    C34: float = pytree.field(units="Å", default=0.0)
    phi34: float = pytree.field(units="rad", default=0.0)
    C41: float = pytree.field(units="Å", default=0.0)
    phi41: float = pytree.field(units="rad", default=0.0)
    C43: float = pytree.field(units="Å", default=0.0)
    phi43: float = pytree.field(units="rad", default=0.0)
    C45: float = pytree.field(units="Å", default=0.0)
    phi45: float = pytree.field(units="rad", default=0.0)
    C50: float = pytree.field(units="Å", default=0.0)
    C52: float = pytree.field(units="Å", default=0.0)
    phi52: float = pytree.field(units="rad", default=0.0)
    C54: float = pytree.field(units="Å", default=0.0)
    phi54: float = pytree.field(units="rad", default=0.0)
    C56: float = pytree.field(units="Å", default=0.0)
    phi56: float = pytree.field(units="rad", default=0.0)

    @classmethod
    def create(cls, defocus=None, **kwargs) -> "Aberrations":
        """Build from keywords: field names, the aliases above, and ``defocus`` Δf [Å] (= −C10).

        Raises ``TypeError`` for unknown names and ``ValueError`` for non-finite values.
        """
        fields = set(cls.__dataclass_fields__)
        values = {}
        for key, val in kwargs.items():
            name = _ALIASES.get(key, key)
            if name is None or name not in fields:
                hint = validate.closest(key, sorted(fields) + [k for k, v in _ALIASES.items() if v] + ["defocus"])
                raise validate.InputTypeError(
                    f"unknown aberration coefficient {key!r}; expected one of {sorted(fields)} or aliases "
                    f"{sorted(k for k, v in _ALIASES.items() if v)} / 'defocus'"
                    + (f" (did you mean {hint!r}?)" if hint else ""))
            if name in values:
                raise validate.InputError(f"aberration {name} given twice (as {key!r} and by another alias)")
            values[name] = val
        if defocus is not None:
            if "C10" in values:
                raise validate.InputError("give either defocus (= −C10) or C10, not both")
            values["C10"] = -defocus
        out = cls(**values)
        check_finite(out)
        return out

    def __post_init__(self):
        # leaves may be tracers, arrays or pytree placeholders (None, masks); never text or mappings
        for key in self.__dataclass_fields__:
            val = getattr(self, key)
            if isinstance(val, (str, bytes, dict, complex)):
                raise validate.InputTypeError(f"aberration {key} must be a real number "
                                              f"[{pytree.units_of(self)[key]}], got {type(val).__name__} {val!r:.60}")

    @property
    def defocus(self):
        """Δf = −C10 [Å]."""
        return -self.C10

    def coefficient(self, n: int, m: int):
        """(C_nm [Å], φ_nm [rad]) for order (n, m); φ is 0 for round aberrations (m = 0)."""
        c = getattr(self, f"C{n}{m}")
        phi = getattr(self, f"phi{n}{m}") if m else 0.0
        return c, phi

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @staticmethod
    def __jaxem_check__(value, name):
        """At a public function's boundary (:func:`jaxem.validate.typed`): finite concrete coefficients."""
        check_finite(value)

    def to_metadata(self) -> dict:
        """JSON-ready {name: {"value", "units"}} of the non-zero coefficients (concrete values only; a
        series, :mod:`jaxem.optics.series`, as a list)."""
        units = pytree.units_of(self)
        out = {}
        for k, v in self.to_dict().items():
            if validate.is_traced(v):
                continue
            v = np.asarray(v, np.float64)
            if np.any(v != 0.0):  # a series (1-D array) is written as a list
                out[k] = {"value": v.tolist() if v.ndim else float(v), "units": units[k]}
        return out


#: largest accepted magnitude of an aberration coefficient [Å] (1 m; a Cs of 1 mm is 1e7 Å)
MAX_COEFFICIENT = 1e10


def check_finite(aberrations: Aberrations) -> None:
    """Raise naming the coefficient if a concrete coefficient is not a finite real scalar."""
    units = pytree.units_of(aberrations)
    for key, val in aberrations.to_dict().items():
        if validate.is_traced(val):
            continue
        if val is None:
            raise validate.InputTypeError(f"aberration {key} must be a real number [{units[key]}], got None")
        if np.ndim(val):
            validate.array(val, f"aberration {key}", kind="real", units=units[key])
            big = float(np.max(np.abs(np.asarray(val)))) if np.size(val) else 0.0
        else:
            big = abs(validate.scalar(val, f"aberration {key}", units[key]))
        if units[key] == "Å" and big > MAX_COEFFICIENT:
            raise validate.InputError(f"aberration {key} = {big:.4g} Å is beyond any lens (|C| ≤ {MAX_COEFFICIENT:g} Å "
                                      f"= 1 m); give the coefficient in Å")


def is_concrete_zero(c) -> bool:
    """True for a coefficient that is a concrete 0 (not traced): its χ term is skipped (XLA does not
    fold 0·x, and most of the 25 coefficients are usually zero)."""
    if validate.is_traced(c):
        return False
    try:
        return not np.any(np.asarray(c))
    except Exception:  # noqa: BLE001 - anything unusual is evaluated, not skipped
        return False


@validate.typed
def chi(aberrations: Aberrations, alpha, phi, wavelength):
    """Aberration phase χ(α, φ) [rad].

    Args:
        aberrations: coefficients (C_nm [Å], φ_nm [rad]).
        alpha: scattering angle [rad] (array).
        phi: azimuth [rad] (array, broadcastable with ``alpha``).
        wavelength: electron wavelength λ [Å].
    """
    alpha = jnp.asarray(alpha)
    dtype = alpha.dtype if jnp.issubdtype(alpha.dtype, jnp.floating) else jnp.float32
    out = jnp.zeros(jnp.broadcast_shapes(jnp.shape(alpha), jnp.shape(phi)), dtype)
    for n, m in ABERRATION_ORDERS:
        c, phi_nm = aberrations.coefficient(n, m)
        if is_concrete_zero(c):
            continue
        term = jnp.asarray(c, dtype) * alpha ** (n + 1) / (n + 1)
        if m:
            term = term * jnp.cos(m * (phi - jnp.asarray(phi_nm, dtype)))
        out = out + term
    return (2 * jnp.pi / wavelength) * out


@validate.typed
def chi_cartesian(aberrations: Aberrations, alpha_y, alpha_x, wavelength):
    """χ [rad] as a polynomial in the Cartesian angle components (``alpha_y``, ``alpha_x``) [rad].

    The same function as :func:`chi`, written with ω = α_x + iα_y as
    α^{n+1} cos(m(φ − φ_nm)) = (α²)^{(n+1−m)/2} · Re[ω^m e^{−imφ_nm}] (n + 1 − m is even for every
    Krivanek coefficient). No arctan2 or square root appears, so gradients with respect to the
    angles are finite everywhere, including at α = 0 (needed when the angles themselves depend on a
    fitted parameter, e.g. beam tilts scaled by the convergence semi-angle).
    """
    alpha_y, alpha_x = jnp.asarray(alpha_y), jnp.asarray(alpha_x)
    dtype = jnp.result_type(alpha_y, alpha_x)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.float32
    ay, ax = alpha_y.astype(dtype), alpha_x.astype(dtype)
    a2 = ax * ax + ay * ay
    # Re/Im of ω^m by the recursion ω^{m+1} = ω^m · ω (real arithmetic, no complex dtype needed)
    re, im = [jnp.ones_like(a2)], [jnp.zeros_like(a2)]
    for _ in range(6):
        re.append(re[-1] * ax - im[-1] * ay)
        im.append(re[-2] * ay + im[-1] * ax)
    out = jnp.zeros(a2.shape, dtype)
    for n, m in ABERRATION_ORDERS:
        c, phi_nm = aberrations.coefficient(n, m)
        if is_concrete_zero(c):
            continue
        radial = a2 ** ((n + 1 - m) // 2)
        if m:
            p = m * jnp.asarray(phi_nm, dtype)
            ang = re[m] * jnp.cos(p) + im[m] * jnp.sin(p)
        else:
            ang = 1.0
        out = out + jnp.asarray(c, dtype) * radial * ang / (n + 1)
    return (2 * jnp.pi / wavelength) * out


def polar_frequencies(ky, kx, wavelength):
    """(α [rad], φ [rad]) on the reciprocal grid spanned by ``ky``, ``kx`` [1/Å] (1D arrays)."""
    kyy, kxx = ky[:, None], kx[None, :]
    k = jnp.sqrt(kxx**2 + kyy**2)
    return wavelength * k, jnp.arctan2(kyy, kxx)


@validate.typed
def chi_from_frequencies(aberrations: Aberrations, ky, kx, wavelength):
    """χ [rad] on the (ny, nx) reciprocal grid of 1D frequencies ``ky``, ``kx`` [1/Å]."""
    alpha, phi = polar_frequencies(ky, kx, wavelength)
    return chi(aberrations, alpha, phi, wavelength)
