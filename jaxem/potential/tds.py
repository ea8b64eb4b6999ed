"""Absorptive (imaginary) atomic form factors: thermal diffuse scattering and aperture losses.

**Hall–Hirsch absorptive form factor of an Einstein solid.** Electrons scattered by thermal
vibrations into diffuse (TDS) directions are removed from the elastic wave; in the elastic
(Yoshioka) equations this appears as an imaginary potential V′. For an atom vibrating
isotropically and independently with ⟨u²⟩ = B/(8π²) per direction [Å²] its form factor is
(Hall & Hirsch, Proc. R. Soc. A 286 (1965) 158; Bird & King, Acta Cryst. A46 (1990) 202, eq. 8;
Weickenmeier & Kohl, Acta Cryst. A47 (1991) 590, eq. 12)

    f′(g) = γ (k/4π) ∫ dΩ f_e(|Q|) f_e(|Q − g|) [ D(g) − D(Q) D(Q − g) ],    D(x) = exp(−B|x|²/4)

with Q = K′ − K the scattering vector on the Ewald sphere (|K| = |K′| = 1/λ), dΩ the solid angle of
K′, k = 2π/λ [1/Å], γ = 1 + E/(m0c²), f_e(q) [Å] the (non-relativistic) electron scattering factor of
any parametrization (q in 1/Å, q = 2 sin θ/λ) and g [1/Å] a frequency of the zero-order Laue zone.
The units are those of f_e [Å]; f′ enters jaxem's slices exactly like f: v′(k) = KAPPA·f′(k)/A and
t = exp(iσ(v + iv′)). One factor γ is in f′, the other in σ (which holds the relativistic mass), so
that the relativistic amplitude is F = γ(f + if′).

*Optical theorem*: at g = 0 the bracket is 1 − exp(−B|Q|²/2) and γ f′(0) = (k/4π) σ_TDS, with
σ_TDS = ∫ dΩ γ² f_e² (1 − D²) [Å²] the Einstein TDS cross-section, i.e. σ_TDS = 2γλ f′(0)
(:func:`tds_cross_section`). A crystal with n atoms per Å³ then attenuates the elastic intensity at
μ = Σ n_j σ_TDS,j [1/Å], which is exactly 2σ⟨v′⟩/Δz of the slices (σ = interaction constant).

*Quadrature* (NumPy/JAX float64 on the host). ``geometry="sphere"`` (default) integrates over the
whole Ewald sphere with the exact measure dΩ = λ² Q dQ dφ, Q = |Q| ∈ [0, 2/λ],
Q⊥ = Q·sqrt(1 − (λQ/2)²), Q_z = −λQ²/2; ``geometry="plane"`` is the small-angle form (Q_z = 0,
Q ∈ [0, ∞)), f′(g) ≈ (γλ/2) ∫ d²q f(q) f(|q − g|)[…]. The integrand peaks at Q = 0 and at Q = g, so
it is split by a smooth partition of unity b(Q) = exp(−|Q⊥ − g|²/2ℓ²), ℓ = min(g/4, 1 Å⁻¹):
(1 − b)·integrand in polar coordinates about the forward beam (Gauss–Legendre in u, Q = c·u/(1 − u),
uniform midpoint rule in φ ∈ [0, π], mirror symmetry), b·integrand in polar coordinates about g
(Gauss–Legendre in ρ ≤ 6ℓ). Each piece is smooth in its own coordinates.

Tables f′(g) on a uniform 1-D grid of |g| are cached per (parametrization, Z, B, energy, geometry,
g_max) and interpolated with ``jnp.interp`` onto the 2-D FFT grid (jit-friendly). The frequencies g
are integrated in batches whose size comes from the memory budget (``memory_budget``, see
:func:`jaxem.accel.batch_size`); the result does not depend on it.

The electron energy enters through a :class:`jaxem.beam.Beam` (λ and γ); every function takes
``beam`` = a Beam, an energy [eV] or a string such as ``"300 kV"``.

**Aperture absorption** (Dr. Probe ``celslc -abs`` without ``-dwf``, no thermal motion): the
intensity an atom scatters beyond a band limit A(q⊥) is treated as absorbed,
f′_ap(g) = γ(k/4π) ∫ dΩ f(Q) f(|Q − g|)[A(g) − A(Q⊥) A(Q⊥ − g)] (small-angle form, the aperture
being a frequency cut-off of the grid), with per-angle radial panels at the aperture edges.
"""
from __future__ import annotations

import math
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from .. import validate
from ..accel import batch_size, float64_mode
from ..beam import Beam, as_beam
from ..structure.elements import atomic_number
from .parametrizations import PARAMETRIZATIONS, Parametrization, get_parametrization

GEOMETRIES = ("sphere", "plane")
#: table spacing of |g| [1/Å]
TABLE_STEP = 0.04
_RADIAL_SCALE = 1.0  # c of the radial map Q = c u/(1 − u) [1/Å]
#: (radial, angular, local) nodes; agrees with the Weickenmeier–Kohl closed form to < 1e-8 for
#: g ≤ 2 Å⁻¹ and < 1e-4 relative (of a value ~1e-3 f′(0)) at larger g (tests/potential/test_absorptive.py)
DEFAULT_QUADRATURE = (96, 48, 32)


def _gauss_legendre01(n: int):
    x, w = np.polynomial.legendre.leggauss(int(n))
    return 0.5 * (x + 1.0), 0.5 * w


def _resolve_parametrization(parametrization):
    if isinstance(parametrization, str):
        return get_parametrization(parametrization)
    if not hasattr(parametrization, "scattering_factor"):
        raise TypeError("parametrization must be a name ('lobato', 'kirkland') or an object with a "
                        f"scattering_factor(numbers, k) method, got {type(parametrization).__name__}")
    return parametrization


_BLOCK = 1 << 15


def _form_factor_fn(parametrization, z: int):
    """f_e(q) [Å] of element z as a float64 function of a NumPy array q [1/Å] (evaluated by a jitted
    float64 kernel on fixed-size blocks, so it compiles once)."""
    if isinstance(parametrization, str):
        return _named_form_factor_fn(parametrization, z)
    return _make_form_factor_fn(_resolve_parametrization(parametrization), z)


@lru_cache(maxsize=None)
def _named_form_factor_fn(name: str, z: int):
    return _make_form_factor_fn(get_parametrization(name), z)


def _numpy_form_factor_fn(par: Parametrization, z: int):
    """The formulas of :class:`Parametrization` evaluated in NumPy float64 (no compilation)."""
    rows = {k: np.asarray(v, np.float64)[z][:, None] for k, v in par.coefficients.items()}

    def fe(q):
        q = np.asarray(q, np.float64)
        k2 = (q * q).ravel()[None, :]
        if par.name == "lobato":
            bk2 = rows["b"] * k2
            out = np.sum(rows["a"] * (2.0 + bk2) / (1.0 + bk2) ** 2, axis=0)
        else:
            out = np.sum(rows["a"] / (k2 + rows["b"]) + rows["c"] * np.exp(-rows["d"] * k2), axis=0)
        return out.reshape(q.shape)

    return fe


def _make_form_factor_fn(par, z):
    if isinstance(par, Parametrization) and par.name in PARAMETRIZATIONS:
        return _numpy_form_factor_fn(par, z)
    kernel = jax.jit(lambda k: par.scattering_factor([z], k)[0])

    def fe(q):
        q = np.asarray(q, np.float64)
        flat = q.ravel()
        n = flat.size
        size = _BLOCK if n > 4096 else 4096
        nb = -(-n // size)
        padded = np.zeros(nb * size)
        padded[:n] = flat
        with float64_mode():
            out = [np.asarray(kernel(jnp.asarray(b, jnp.float64)), np.float64) for b in padded.reshape(nb, size)]
        return np.concatenate(out)[:n].reshape(q.shape)

    return fe


def _check_inputs(z, B, beam, geometry=None, need_b=True):
    """(Z, B [Å²], tilt-free Beam) after validation."""
    z = atomic_number(z)
    beam = Beam(as_beam(beam).energy)  # the tilt plays no part in a form factor (and keeps caches shared)
    if need_b:
        b = validate.scalar(B, "B", "Å²", positive=True)
    else:
        b = 0.0
    if geometry is not None:
        validate.choice(geometry, "geometry", GEOMETRIES)
    return z, b, beam


def _check_detector(detector):
    if detector is None:
        return None
    inner, outer = validate.pair(detector, "detector", "mrad", nonnegative=True, finite=False)
    if not (math.isfinite(inner) and inner < outer):
        raise validate.InputError(f"detector must be (inner, outer) with 0 ≤ inner < outer [mrad], got {detector!r}")
    return inner, outer


def _check_quadrature(quadrature):
    try:
        nodes = tuple(quadrature)
    except TypeError:
        nodes = ()
    if len(nodes) != 3:
        raise validate.InputError(f"quadrature must be three node counts (radial, angular, local), got {quadrature!r}")
    return tuple(validate.integer(n, "quadrature", lo=2) for n in nodes)


def _g_batch(n_g: int, n_radial: int, n_angle: int, n_local: int, memory_budget) -> int:
    """Frequencies integrated together: ~10 float64 temporaries per node of system 0 and ~15 of
    system 1 for each g (host NumPy; on the CPU backend at most ~8 MiB unless a budget is given)."""
    per_g = 8 * (10 * n_radial * n_angle + 15 * n_local * n_local)
    return batch_size(per_g, max(1, n_g), memory_budget, cpu_cap=8 << 20)


def _hall_hirsch(fe, g, b_factor, beam, geometry, n_radial, n_angle, n_local, detector=None, memory_budget=None):
    """f′(g) [Å] for a float64 array g [1/Å] (see module docstring). With ``detector`` = (inner, outer)
    [mrad], only TDS scattered into that annulus counts (detector-specific absorptive factor)."""
    lam = beam.wavelength
    gamma = beam.gamma
    chunk = _g_batch(g.size, n_radial, n_angle, n_local, memory_budget)
    k0 = 1.0 / lam
    m = b_factor / 4.0  # D(x) = exp(-m |x|^2)
    sphere = geometry == "sphere"

    def in_detector(q3):
        if detector is None:
            return np.ones_like(q3)
        theta = 2e3 * np.arcsin(np.clip(lam * q3 / 2, 0, 1)) if sphere else 1e3 * lam * q3
        return ((theta >= detector[0]) & (theta < detector[1])).astype(np.float64)

    # system 0: polar about the forward beam
    c = _RADIAL_SCALE
    u_max = 2 * k0 / (c + 2 * k0) if sphere else 1.0
    u, wu = _gauss_legendre01(n_radial)
    u, wu = u * u_max, wu * u_max
    q = c * u / (1 - u)
    wq = wu * c / (1 - u) ** 2 * q  # Q dQ
    qp = q * np.sqrt(np.clip(1 - (lam * q / 2) ** 2, 0, None)) if sphere else q
    phi = (np.arange(n_angle) + 0.5) * np.pi / n_angle
    wphi = 2 * np.pi / n_angle
    cphi = np.cos(phi)
    f_q = fe(q)  # radial only
    w0 = (wq * f_q)[:, None] * wphi  # (Nr, Nφ) without the angular factor

    # system 1: polar about g (transverse plane), Gauss–Legendre in ρ ≤ 6ℓ
    rho01, wrho01 = _gauss_legendre01(n_local)
    psi = (np.arange(n_local) + 0.5) * np.pi / n_local
    wpsi = 2 * np.pi / n_local
    cpsi, spsi = np.cos(psi), np.sin(psi)

    out = np.zeros(g.shape, np.float64)
    for s in range(0, g.size, chunk):
        gg = g[s:s + chunk][:, None, None]  # (G, 1, 1)
        ell = np.minimum(gg / 4.0, 1.0)
        dg = np.exp(-m * gg**2)
        # --- system 0
        d2_perp = qp[:, None] ** 2 - 2 * gg * qp[:, None] * cphi + gg**2  # |Q⊥ − g|²
        qg2 = q[:, None] ** 2 - 2 * gg * qp[:, None] * cphi + gg**2  # |Q − g|² (3-D)
        bump = np.where(gg > 0, np.exp(-d2_perp / (2 * np.maximum(ell, 1e-30) ** 2)), 0.0)
        bracket = dg * -np.expm1(-m * (q[:, None] ** 2 + qg2 - gg**2))
        i0 = np.sum(w0 * fe(np.sqrt(np.maximum(qg2, 0))) * bracket * (1 - bump) * in_detector(q)[:, None],
                    axis=(1, 2))
        # --- system 1 (only where g > 0)
        rho = 6 * ell * rho01[:, None]  # (G, Nρ, 1)
        wrho = 6 * ell * wrho01[:, None] * rho * wpsi
        qx = gg + rho * cpsi
        qy = rho * spsi
        qp2 = qx**2 + qy**2
        if sphere:
            inside = qp2 < k0**2
            root = np.sqrt(np.where(inside, k0**2 - qp2, 1.0))
            qz = -qp2 / (k0 + root)
            jac = np.where(inside, k0 / root, 0.0)
        else:
            qz, jac = 0.0, 1.0
        q2 = qp2 + qz**2
        qg2 = rho**2 + qz**2
        bracket = dg * -np.expm1(-m * (q2 + qg2 - gg**2))
        bump = np.exp(-rho**2 / (2 * np.maximum(ell, 1e-30) ** 2))
        i1 = np.sum(wrho * jac * fe(np.sqrt(q2)) * fe(np.sqrt(qg2)) * bracket * bump * in_detector(np.sqrt(q2)),
                    axis=(1, 2))
        i1 = np.where(g[s:s + chunk] > 0, i1, 0.0)
        out[s:s + chunk] = i0 + i1
    return gamma * lam / 2 * out


def absorptive_form_factor(element, B, beam, g, parametrization="lobato", geometry: str = "sphere",
                           quadrature=DEFAULT_QUADRATURE, detector=None, memory_budget=None):
    """Hall–Hirsch absorptive (TDS) form factor f′(g) [Å] of an Einstein-model atom.

    Args:
        element: chemical symbol or atomic number.
        B: isotropic Debye–Waller factor [Å²] (> 0).
        beam: the electron beam (a :class:`~jaxem.beam.Beam`, an energy [eV] or e.g. ``"300 kV"``).
        g: spatial frequencies |g| [1/Å] (any shape, ≥ 0).
        parametrization: 'lobato', 'kirkland' or any object with ``scattering_factor(numbers, k)``
            returning f_e [Å] for k [1/Å].
        geometry: 'sphere' (exact Ewald sphere, default) or 'plane' (small-angle approximation).
        quadrature: (radial, angular, local) node counts of the 2-D quadrature.
        detector: optional (inner, outer) scattering angles [mrad]: count only the TDS electrons that
            leave within this annulus (the detector-specific absorptive factor used for the
            single-inelastic TDS signal of an annular detector; Allen et al., Ultramicroscopy 96 (2003) 47).
        memory_budget: bytes (or e.g. ``"512M"``) for the batches of ``g`` integrated together.
    Returns:
        float64 NumPy array of f′(g) [Å], shape of ``g``; includes one relativistic factor γ.
    """
    detector = _check_detector(detector)
    z, b, beam = _check_inputs(element, B, beam, geometry)
    g = np.asarray(validate.array(g, "g", kind="real", units="1/Å", nonnegative=True, min_size=0), np.float64)
    nr, na, nl = _check_quadrature(quadrature)
    out = _hall_hirsch(_form_factor_fn(parametrization, z), g.ravel(), b, beam, geometry, nr, na, nl,
                       detector=detector, memory_budget=memory_budget)
    return out.reshape(g.shape)


def tds_cross_section(element, B, beam, parametrization="lobato", geometry: str = "sphere"):
    """Einstein-model TDS cross-section σ_TDS = 2γλ f′(0) [Å²] (optical theorem) of one atom at
    ``beam`` (a Beam, an energy [eV] or e.g. ``"300 kV"``)."""
    beam = as_beam(beam)
    fp0 = absorptive_form_factor(element, B, beam, np.zeros(1), parametrization, geometry)[0]
    return 2 * beam.gamma * beam.wavelength * float(fp0)


def elastic_form_factor(element, B, k, parametrization="lobato"):
    """Debye–Waller-smeared elastic form factor f_e(k)·exp(−B k²/4) [Å] at frequencies ``k`` [1/Å].

    ``B`` [Å²] ≥ 0. This is the factor jaxem's slices use with ``debye_waller=True``
    (exp(−2π²⟨u²⟩k²) with ⟨u²⟩ = B/8π²).
    """
    z = atomic_number(element)
    b = validate.scalar(B, "B", "Å²", nonnegative=True)
    k = np.asarray(validate.array(k, "k", kind="real", units="1/Å", min_size=0), np.float64)
    return _form_factor_fn(parametrization, z)(k) * np.exp(-b * k**2 / 4)


def _table_grid(g_max: float) -> np.ndarray:
    n = int(math.ceil(g_max / TABLE_STEP - 1e-9)) + 1
    return np.arange(n) * TABLE_STEP


@lru_cache(maxsize=512)
def _cached_table(name, z, b, beam, geometry, g_max, detector=None, memory_budget=None):
    g = _table_grid(g_max)
    return g, _hall_hirsch(_form_factor_fn(name, z), g, b, beam, geometry, *DEFAULT_QUADRATURE, detector=detector,
                           memory_budget=memory_budget)


def absorptive_table(element, B, beam, g_max, parametrization="lobato", geometry: str = "sphere", detector=None,
                     memory_budget=None):
    """Radial table (g [1/Å], f′(g) [Å]) of the Hall–Hirsch form factor on 0 … ≥ g_max [1/Å] in steps
    of :data:`TABLE_STEP` at ``beam`` (a Beam, an energy [eV] or e.g. ``"300 kV"``); cached per
    (parametrization, Z, B, energy, geometry, g_max) for named parametrizations (B rounded to
    1e-6 Å², g_max rounded up to 1 Å⁻¹). ``detector`` (inner, outer) [mrad] restricts it to TDS
    leaving into that annulus (see :func:`absorptive_form_factor`)."""
    z, b, beam = _check_inputs(element, B, beam, geometry)
    g_max = float(math.ceil(max(validate.scalar(g_max, "g_max", "1/Å", positive=True), 1.0)))
    det = _check_detector(detector)
    if isinstance(parametrization, str):
        parametrization = validate.choice(parametrization, "parametrization", PARAMETRIZATIONS)
        return _cached_table(parametrization, z, round(b, 6), beam, geometry, g_max, det, memory_budget)
    g = _table_grid(g_max)
    return g, _hall_hirsch(_form_factor_fn(parametrization, z), g, b, beam, geometry, *DEFAULT_QUADRATURE,
                           detector=det, memory_budget=memory_budget)


# ---------------------------------------------------------------------------------------------
# aperture absorption
def _soft_edge(k, cutoff, taper):
    if taper <= 0:
        return (k < cutoff).astype(np.float64)
    x = np.clip((k - (cutoff - taper)) / taper, 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * x))


def _aperture_integral(fe, g, beam, cutoff, taper, n_panel=24, n_angle=96):
    """(γλ/2) ∫ d²q f(q) f(|q − g|)[A(g) − A(q) A(|q − g|)] for each g (small-angle form).

    Polar coordinates about q = 0; for every angle the radial axis is cut into panels at the aperture
    edges about 0 and about g (where the integrand has kinks), Gauss–Legendre in each panel and a
    mapped tail panel to infinity. Vectorised over g and angles.
    """
    lam, gamma = beam.wavelength, beam.gamma
    t, wt = _gauss_legendre01(n_panel)
    phi = (np.arange(n_angle) + 0.5) * np.pi / n_angle
    wphi = 2 * np.pi / n_angle
    cphi, sphi = np.cos(phi), np.sin(phi)
    radii = [cutoff - taper, cutoff] if taper > 0 else [cutoff]
    gg = g[:, None]  # (G, 1)
    bps = [np.broadcast_to(np.full(n_angle, r), (g.size, n_angle)) for r in radii]
    for r in radii:
        disc = r**2 - (gg * sphi) ** 2
        for sgn in (1.0, -1.0):
            root = gg * cphi + sgn * np.sqrt(np.maximum(disc, 0.0))
            bps.append(np.where((disc > 0) & (root > 0), root, 0.0))
    edges = np.concatenate([np.zeros((1, g.size, n_angle)), np.sort(np.stack(bps), axis=0)], axis=0)
    a_g = _soft_edge(gg[..., None], cutoff, taper)  # (G, 1, 1)
    total = np.zeros(g.size)

    def panel(r, w):  # r, w: (G, n, Nφ)
        rg = np.sqrt(np.maximum(r**2 - 2 * gg[..., None] * r * cphi + gg[..., None] ** 2, 0.0))
        bracket = a_g - _soft_edge(r, cutoff, taper) * _soft_edge(rg, cutoff, taper)
        return np.sum(w * fe(r) * fe(rg) * bracket, axis=(1, 2))

    for lo, hi in zip(edges[:-1], edges[1:]):  # finite panels, each (G, Nφ)
        r = lo[:, None, :] + (hi - lo)[:, None, :] * t[None, :, None]
        total += panel(r, (hi - lo)[:, None, :] * wt[None, :, None] * r)
    u = t[None, :, None]
    r = edges[-1][:, None, :] + _RADIAL_SCALE * u / (1 - u)  # tail to infinity
    total += panel(r, wt[None, :, None] * _RADIAL_SCALE / (1 - u) ** 2 * r)
    return gamma * lam / 2 * total * wphi


def _check_aperture(cutoff, taper):
    cutoff = validate.scalar(cutoff, "cutoff", "1/Å", positive=True)
    taper = validate.scalar(taper, "taper", "1/Å", lo=0.0, hi=cutoff, hi_open=True)
    return cutoff, taper


def aperture_absorptive_form_factor(element, beam, g, cutoff, taper=0.0, parametrization="lobato"):
    """Absorptive form factor f′_ap(g) [Å] for the intensity an atom scatters beyond the band limit
    A(q) (1 below ``cutoff − taper``, raised-cosine edge, 0 above ``cutoff`` [1/Å]); no thermal motion.
    ``beam``: a Beam, an energy [eV] or e.g. ``"300 kV"``.

    At g = 0 this is (γλ/2) ∫ d²q f²(q)(1 − A(q)²): the (single-scattering) intensity removed by the
    aperture, which is also what a band-limited transmission function loses numerically.
    """
    z, _, beam = _check_inputs(element, 0.0, beam, need_b=False)
    cutoff, taper = _check_aperture(cutoff, taper)
    g = np.asarray(validate.array(g, "g", kind="real", units="1/Å", nonnegative=True, min_size=0), np.float64)
    out = _aperture_integral(_form_factor_fn(parametrization, z), g.ravel(), beam, cutoff, taper)
    return out.reshape(g.shape)


@lru_cache(maxsize=256)
def _cached_aperture_table(name, z, beam, cutoff, taper, g_max):
    n = int(math.ceil(g_max / 0.05)) + 1
    g = np.arange(n) * 0.05
    return g, _aperture_integral(_form_factor_fn(name, z), g, beam, cutoff, taper)


def aperture_table(name, element, beam, cutoff, taper, g_max):
    """Cached radial table (g [1/Å], f′_ap [Å]) for a named parametrization at ``beam`` (a Beam, an
    energy [eV] or e.g. ``"300 kV"``; see :func:`aperture_absorptive_form_factor`); tabulated with
    step 0.05 Å⁻¹ up to ``g_max`` [1/Å]."""
    name = validate.choice(name, "parametrization", PARAMETRIZATIONS)
    z, _, beam = _check_inputs(element, 0.0, beam, need_b=False)
    cutoff, taper = _check_aperture(cutoff, taper)
    g_max = validate.scalar(g_max, "g_max", "1/Å", positive=True)
    return _cached_aperture_table(name, z, beam, cutoff, taper, g_max)
