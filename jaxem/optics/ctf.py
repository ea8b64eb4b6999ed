"""The contrast transfer function H(k) of an objective lens with partial-coherence envelopes.

    H(k) = A(λk) · exp(−i χ(k)) · E_t(k) · E_s(k)                                   (complex)

with A the objective aperture (:mod:`.apertures`), χ the aberration function
(:mod:`.aberrations`, C10 = −Δf) and, in the quasi-coherent (single-beam envelope) approximation,

* **temporal envelope** (focal spread): a Gaussian distribution of defocus with standard deviation
  Δ [Å] averages exp(−iπλδk²) into

      E_t(k) = exp(−½ (π λ Δ k²)²)

  (Kirkland 2010, eq. 3.46 with Δ the rms spread; Fejes 1977). Δ follows from the chromatic
  aberration coefficient and the instabilities, see :func:`focal_spread_from_instabilities`.
* **spatial envelope** (source size): a Gaussian distribution of illumination tilts β [rad] with
  1/e half-width θ_s, p(β) ∝ exp(−|β|²/θ_s²), averages exp(−i ∇_α χ·β) into

      E_s(k) = exp(−θ_s² |∇_α χ(α)|² / 4),   α = λk                                 (θ_s in rad)

  (Frank 1973; Kirkland 2010, eq. 3.48: for round aberrations |∇_α χ| = (2π/λ)(C10 α + C30 α³ + …)).
  The gradient with respect to the angle vector α [rad] is computed analytically
  (:func:`chi_gradient`) for all aberrations to 5th order.

For a weak phase object ψ = 1 + iφ the linear image spectrum is Ĩ(k) = δ(k) + 2 Φ(k) A E_t E_s sin χ,
i.e. the phase contrast transfer function is 2·sin χ·E_t·E_s (negative at Scherzer defocus: atoms
dark).

Units: k [1/Å], angles α [rad] in χ and its gradient but [mrad] for apertures and θ_s inputs,
λ [Å], Δ [Å], C_c [Å], energies [eV].

References: E. J. Kirkland, *Advanced Computing in Electron Microscopy*, 2nd ed. (Springer 2010),
§3.3; J. Frank, Optik 38, 519 (1973); P. L. Fejes, Acta Cryst. A33, 109 (1977); L. Reimer &
H. Kohl, *Transmission Electron Microscopy*, 5th ed. (Springer 2008), §6.4.
"""
from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
from .. import accel, physics, validate
from ..beam import as_beam
from ._checks import check_aberrations
from .aberrations import ABERRATION_ORDERS, Aberrations, chi, is_concrete_zero
from .apertures import Aperture, aperture_function, as_aperture, check_on_grid


@validate.typed
def chi_gradient(aberrations: Aberrations, alpha_y, alpha_x, wavelength):
    """Gradient ∇_α χ = (∂χ/∂α_y, ∂χ/∂α_x) [rad/rad] with respect to the angle vector α [rad].

    From χ = (2π/λ) Σ C_nm α^{n+1}/(n+1) cos(m(φ − φ_nm)):
    ∂χ/∂α = (2π/λ) Σ C_nm αⁿ cos(m(φ − φ_nm)) and
    (1/α) ∂χ/∂φ = −(2π/λ) Σ C_nm αⁿ m/(n+1) sin(m(φ − φ_nm)), rotated to Cartesian components.
    Every term vanishes at α = 0 (no singularity).

    Args:
        aberrations: coefficients C_nm [Å], φ_nm [rad].
        alpha_y, alpha_x: angle components [rad] (broadcastable arrays).
        wavelength: λ [Å].

    Returns:
        (g_y, g_x), each of the broadcast shape.
    """
    alpha_y, alpha_x = jnp.asarray(alpha_y), jnp.asarray(alpha_x)
    dtype = jnp.result_type(alpha_y, alpha_x)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.float32
    alpha_y, alpha_x = alpha_y.astype(dtype), alpha_x.astype(dtype)
    alpha = jnp.hypot(alpha_y, alpha_x)
    phi = jnp.arctan2(alpha_y, alpha_x)
    d_alpha = jnp.zeros(alpha.shape, dtype)
    d_phi = jnp.zeros(alpha.shape, dtype)  # (1/α) ∂χ/∂φ
    for n, m in ABERRATION_ORDERS:
        c, phi_nm = aberrations.coefficient(n, m)
        if is_concrete_zero(c):
            continue
        c = jnp.asarray(c, dtype)
        an = alpha**n
        if m:
            arg = m * (phi - jnp.asarray(phi_nm, dtype))
            d_alpha = d_alpha + c * an * jnp.cos(arg)
            d_phi = d_phi - c * an * (m / (n + 1)) * jnp.sin(arg)
        else:
            d_alpha = d_alpha + c * an
    scale = 2 * math.pi / wavelength
    cos, sin = jnp.cos(phi), jnp.sin(phi)
    gx = scale * (cos * d_alpha - sin * d_phi)
    gy = scale * (sin * d_alpha + cos * d_phi)
    return gy, gx


def temporal_envelope(k, wavelength, focal_spread):
    """E_t(k) = exp(−½ (π λ Δ k²)²) for a Gaussian focal spread of standard deviation Δ [Å].

    Args:
        k: spatial frequency magnitude |k| [1/Å] (array).
        wavelength: λ [Å].
        focal_spread: Δ [Å], the rms defocus spread (abTEM/Kirkland's 1/e width is √2·Δ).
    """
    k = jnp.asarray(k)
    dtype = k.dtype if jnp.issubdtype(k.dtype, jnp.floating) else jnp.float32
    d = jnp.asarray(focal_spread, dtype)
    return jnp.exp(-0.5 * (math.pi * wavelength * d * k.astype(dtype) ** 2) ** 2)


@validate.typed
def spatial_envelope(aberrations: Aberrations, alpha_y, alpha_x, wavelength, source_angle):
    """E_s = exp(−(θ_s/1000)² |∇_α χ|² / 4) for a Gaussian source of 1/e half-width θ_s [mrad].

    Args:
        aberrations: coefficients C_nm [Å], φ_nm [rad].
        alpha_y, alpha_x: angle components [rad].
        wavelength: λ [Å].
        source_angle: θ_s [mrad], 1/e half-width of the illumination-angle distribution
            (the standard deviation per Cartesian component is θ_s/√2).
    """
    gy, gx = chi_gradient(aberrations, alpha_y, alpha_x, wavelength)
    theta = jnp.asarray(source_angle, gy.dtype) * 1e-3
    return jnp.exp(-0.25 * theta**2 * (gy**2 + gx**2))


def focal_spread_from_instabilities(Cc, beam, energy_spread=0.0, voltage_instability=0.0,
                                    current_instability=0.0, relativistic=True) -> float:
    """Rms focal spread Δ [Å] from chromatic aberration and instabilities.

        Δ = C_c · sqrt[(κ σ_E/E)² + (κ σ_V/V)² + (2 σ_I/I)²]

    with κ = (1 + E/E₀)/(1 + E/(2E₀)) the relativistic correction (E₀ = m₀c²; κ = 1 if
    ``relativistic`` is False) (Reimer & Kohl 2008, eq. 6.43; Kirkland 2010, eq. 3.45).

    Args:
        Cc: chromatic aberration coefficient C_c [Å] (1 mm = 1e7 Å), ≥ 0.
        beam: :class:`~jaxem.beam.Beam` or its energy E [eV] (> 0, or e.g. ``"300 kV"``).
        energy_spread: standard deviation σ_E of the beam energy [eV] (FWHM/2.3548), ≥ 0.
        voltage_instability: relative rms fluctuation σ_V/V of the high tension, ≥ 0.
        current_instability: relative rms fluctuation σ_I/I of the objective-lens current, ≥ 0.
        relativistic: apply κ.

    Returns:
        Δ [Å].
    """
    e = as_beam(beam).energy
    for name, val, unit in [("Cc", Cc, "Å"), ("energy_spread", energy_spread, "eV"),
                            ("voltage_instability", voltage_instability, ""),
                            ("current_instability", current_instability, "")]:
        validate.scalar(val, name, unit, nonnegative=True, allow_traced=False)
    kappa = 1.0
    if relativistic:
        ratio = e / physics.ELECTRON_REST_ENERGY
        kappa = (1 + ratio) / (1 + 0.5 * ratio)
    return float(Cc) * math.sqrt((kappa * float(energy_spread) / e) ** 2
                                 + (kappa * float(voltage_instability)) ** 2
                                 + (2 * float(current_instability)) ** 2)


@functools.partial(jax.jit, static_argnames=("include_phase",))
@validate.typed
def transfer_function(aberrations: Aberrations, ky, kx, wavelength, aperture: Aperture | None = None,
                      focal_spread=0.0, source_angle=0.0, include_phase=True):
    """H(k) = A(λk) exp(−iχ(k)) E_t(k) E_s(k) at frequencies (``ky``, ``kx``) [1/Å] (pure, jit-able).

    Args:
        aberrations: coefficients C_nm [Å], φ_nm [rad].
        ky, kx: spatial frequencies [1/Å] (broadcastable arrays; dtype sets the precision).
        wavelength: λ [Å].
        aperture: objective :class:`~jaxem.optics.apertures.Aperture` (angles in mrad) or None.
        focal_spread: rms focal spread Δ [Å] (0: no temporal envelope).
        source_angle: 1/e half-width θ_s of the source-angle distribution [mrad].
        include_phase: if False return the real amplitude A·E_t·E_s only.

    Returns:
        complex array (complex64 for float32 input, complex128 for float64).
    """
    ky, kx = jnp.asarray(ky), jnp.asarray(kx)
    dtype = jnp.result_type(ky, kx)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.float32
    ay, ax = wavelength * ky.astype(dtype), wavelength * kx.astype(dtype)
    amp = temporal_envelope(jnp.hypot(ky, kx).astype(dtype), wavelength, focal_spread)
    amp = amp * spatial_envelope(aberrations, ay, ax, wavelength, source_angle)
    if aperture is not None:
        amp = amp * aperture_function(1e3 * ay, 1e3 * ax, aperture)
    _, cdtype = accel.dtypes(dtype)
    if not include_phase:
        return amp.astype(cdtype)
    phase = chi(aberrations, jnp.hypot(ay, ax), jnp.arctan2(ay, ax), wavelength)
    return (amp * jnp.exp(-1j * phase.astype(dtype))).astype(cdtype)


def check_coherence(focal_spread, source_angle) -> None:
    """focal_spread Δ [Å] in [0, 10⁶] and source_angle θ_s [mrad] in [0, 100] (far beyond any
    microscope: larger values would only wipe out the image), finite (traced values pass)."""
    for value, name, units, hi in ((focal_spread, "focal_spread", "Å", 1e6), (source_angle, "source_angle", "mrad", 100.0)):
        v = validate.scalar(value, name, units, nonnegative=True)
        if not validate.is_traced(v) and v > hi:
            raise validate.InputError(f"{name} must be ≤ {hi:g} {units} (beyond any microscope; it would wipe out "
                                      f"the image), got {value!r}")


def ctf(grid, beam, aberrations=None, objective_aperture=None, focal_spread=0.0, source_angle=0.0,
        precision=None):
    """The CTF H(k) on the (ny, nx) reciprocal grid of ``grid`` (FFT order).

    Args:
        grid: :class:`jaxem.grid.Grid`.
        beam: :class:`~jaxem.beam.Beam` or an energy [eV] (> 0, or e.g. ``"300 kV"``).
        aberrations: :class:`Aberrations` (None: none).
        objective_aperture: semi-angle [mrad] (hard edge), an :class:`Aperture`, or None; within the
            grid's Nyquist angle.
        focal_spread: rms focal spread Δ [Å], ≥ 0.
        source_angle: 1/e half-width θ_s of the source-angle distribution [mrad], ≥ 0.
        precision: any alias of ``accel.PRECISION_ALIASES`` (default float32).

    A coefficient of ``aberrations``, ``focal_spread`` or ``source_angle`` given as a 1-D array of n
    values (a focal series, :mod:`jaxem.optics.series`) gives the stack of n CTFs.

    Returns:
        (ny, nx) complex array ((n, ny, nx) for a series).
    """
    beam = as_beam(beam)
    ab = check_aberrations(aberrations)
    ap = as_aperture(objective_aperture, "objective_aperture")
    check_on_grid(ap, grid, beam, "objective_aperture")
    from .series import find_series  # series imports this module's check_coherence

    series = find_series(ab, focal_spread, source_angle)
    rdtype, _ = accel.dtypes(precision)
    ky, kx = grid.frequencies(rdtype)
    return _transfer(ab, ky[:, None], kx[None, :], beam.wavelength, ap, focal_spread, source_angle, series, rdtype)


def _transfer(ab, ky, kx, wavelength, ap, focal_spread, source_angle, series, rdtype):
    """:func:`transfer_function`, or for a series the stack (n, …) of one H per element (one jitted call)."""
    if series is None:
        return transfer_function(ab, ky, kx, wavelength, ap, focal_spread, source_angle)
    values = tuple(jnp.asarray(v, rdtype) for v in series.values)
    return _transfer_series(ab, ky, kx, wavelength, ap, focal_spread, source_angle, values, names=series.names)


@functools.partial(jax.jit, static_argnames=("names",))
def _transfer_series(ab, ky, kx, wavelength, ap, focal_spread, source_angle, values, names):
    from .series import substitute

    def one(vals):
        abj, fsj, saj = substitute(names, ab, focal_spread, source_angle, vals)
        return transfer_function(abj, ky, kx, wavelength, ap, fsj, saj)

    return jax.vmap(one)(values)


def ctf_profile(k, beam, aberrations=None, azimuth=0.0, objective_aperture=None, focal_spread=0.0,
                source_angle=0.0, precision=None):
    """H along a radial line of azimuth ``azimuth`` [rad] at frequencies ``k`` [1/Å] (for plots).

    The phase-contrast transfer of a weak phase object is ``-2 * H.imag`` = 2 sin χ E_t E_s A;
    the envelopes alone are ``abs(H)``.

    Args:
        k: 1D frequencies [1/Å].
        beam: :class:`~jaxem.beam.Beam` or an energy [eV].
        aberrations, objective_aperture, focal_spread, source_angle, precision: as in :func:`ctf`
            (a series gives (n, len(k))).
    """
    beam = as_beam(beam)
    ab = check_aberrations(aberrations)
    ap = as_aperture(objective_aperture, "objective_aperture")
    from .series import find_series

    series = find_series(ab, focal_spread, source_angle)
    validate.scalar(azimuth, "azimuth", "rad")
    validate.array(k, "k", kind="real", units="1/Å")
    rdtype, _ = accel.dtypes(precision)
    k = jnp.asarray(k).astype(rdtype)
    return _transfer(ab, k * jnp.sin(azimuth), k * jnp.cos(azimuth), beam.wavelength, ap, focal_spread,
                     source_angle, series, rdtype)
