"""Pre-processing of q–E maps: zero-loss removal, Fourier-log deconvolution, the loss function.

Per q row j(E) [counts] on an energy axis that includes the zero-loss peak (ZLP):

* **ZLP removal** (:func:`remove_zlp`).
  ``"reflected"``: the ZLP is taken as symmetric about its centre E_c (parabolic peak position), so
  z(E) = j(E) for E ≤ E_c and z(E) = j(2E_c − E) above (linear interpolation), tapered to zero over the
  last 10 % of the mirrored range (Egerton, *EELS in the Electron Microscope*, 3rd ed., §4.1.3).
  ``"fit"``: a pseudo-Voigt fitted by Poisson ML (:func:`~jaxem.eels.peaks.fit_peaks`) to E ≤ E_c + FWHM/2,
  where the loss signal is negligible, then evaluated on the whole axis.
  The axis must reach ≥ 2 FWHM below the ZLP centre; otherwise the ZLP is not covered and the
  removal is refused.
* **Fourier-log deconvolution** (:func:`deconvolve`): with Poisson plural scattering
  J(ν) = Z(ν)·exp(S(ν)/I₀), so the single-scattering distribution reconvolved with the ZLP is
  s_r = F⁻¹{Z·ln(J/Z)} (Egerton §4.2; the complex logarithm with its phase unwrapped from ν = 0).
  Reconvolving with Z keeps s_r on the measured axis and damps the noise where Z is small. Rows are
  padded to ≥ 2× their length (the tail decays with a cosine taper) so nothing wraps around.
* **Loss function** (:func:`loss_function`): L(q, E) = Im[−1/ε] ∝ s_r / (K(q, E)·A(q)) with the
  kinematic factor K = 1/(q² + q_E²), q_E from the beam (:func:`~jaxem.eels.model.characteristic_momentum`),
  or the slit-integrated K (:func:`~jaxem.eels.model.slit_kinematic_factor`), and an aperture
  transmission A(q). Losses below ``e_min`` (the ZLP tail) are set to 0; the result is put on the
  grid E_k = k·δE, k ≥ 0 (linear interpolation if the measured axis is offset), as the space–time
  transform needs E = 0 on the grid. L is in arbitrary units (one constant for the whole map).

Bad (NaN) pixels are filled by linear interpolation along E (whole bad rows along q) for the FFTs and
are NaN again in every output; the fill is reported in the metadata.
"""
from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate
from ..measurement import Axis, Measurement
from .maps import as_qe_map
from .model import characteristic_momentum, kinematic_factor, slit_kinematic_factor

__all__ = ["remove_zlp", "deconvolve", "loss_function", "zlp_center", "fill_bad"]


def fill_bad(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(filled copy, bad mask) of a (…q, E) array: NaN pixels interpolated linearly along E, rows
    without any valid pixel along the (flattened) q axis."""
    a = np.array(arr, float)
    bad = ~np.isfinite(a)
    if not bad.any():
        return a, bad
    flat = a.reshape(-1, a.shape[-1])
    fb = bad.reshape(flat.shape)
    x = np.arange(flat.shape[-1])
    rows = np.where(fb.any(1) & ~fb.all(1))[0]
    for r in rows:  # only rows that hold bad pixels
        flat[r, fb[r]] = np.interp(x[fb[r]], x[~fb[r]], flat[r, ~fb[r]])
    empty = fb.all(1)
    if empty.any():
        good = np.where(~empty)[0]
        for c in range(flat.shape[1]):
            flat[empty, c] = np.interp(np.where(empty)[0], good, flat[good, c])
    return flat.reshape(a.shape), bad


def _report(bad: np.ndarray) -> dict:
    return {"count": int(bad.sum()), "indices": np.argwhere(bad).tolist(),
            "filled_by": "linear interpolation along E (empty rows along q) for the FFTs; NaN in the outputs"}


def zlp_center(spectra, energy) -> tuple[np.ndarray, float]:
    """(centre E_c [eV] per row, FWHM [eV] of the summed ZLP): the parabolic maximum of each row near the
    maximum of the summed spectrum within |E| ≤ 5 eV."""
    s = np.asarray(spectra, float)
    E = np.asarray(energy, float)
    near = np.abs(E) <= 5.0
    if not near.any() or E[0] >= 0:
        raise validate.InputError(f"ZLP removal needs the zero-loss peak on the energy axis: the axis spans "
                                  f"[{E[0]:g}, {E[-1]:g}] eV and does not cover E = 0 with its negative side")
    tot = s.reshape(-1, s.shape[-1]).sum(0)
    i0 = int(np.argmax(np.where(near, tot, -np.inf)))
    half = tot[i0] / 2
    left = i0 - np.argmax(tot[i0::-1] < half) if (tot[:i0] < half).any() else 0
    right = i0 + np.argmax(tot[i0:] < half) if (tot[i0:] < half).any() else len(E) - 1
    dE = E[1] - E[0]
    fwhm = max((right - left - 1) * dE, dE)
    if E[i0] - E[0] < 2 * fwhm or not (tot[:i0] < half).any():
        raise validate.InputError(f"the energy axis starts at {E[0]:g} eV, only {E[i0] - E[0]:g} eV below the "
                                  f"zero-loss peak at {E[i0]:g} eV (FWHM {fwhm:.3g} eV); ZLP removal needs ≥ 2 FWHM "
                                  f"({2 * fwhm:.3g} eV) of its negative side on the axis")
    flat = s.reshape(-1, s.shape[-1])
    win = slice(max(i0 - 3 * int(fwhm / dE + 1), 1), min(i0 + 3 * int(fwhm / dE + 1), len(E) - 1))
    k = win.start + np.argmax(flat[:, win], 1)
    ym, y0, yp = flat[np.arange(len(k)), k - 1], flat[np.arange(len(k)), k], flat[np.arange(len(k)), k + 1]
    den = ym - 2 * y0 + yp
    off = np.where(den < 0, 0.5 * (ym - yp) / np.where(den < 0, den, -1.0), 0.0)
    return (E[k] + np.clip(off, -0.5, 0.5) * dE).reshape(s.shape[:-1]), float(fwhm)


@jax.jit
def _reflect(j, E, Ec):
    def row(y, c):
        x = 2 * c - E
        lo = E[0]
        mirrored = jnp.interp(x, E, y)
        span = jnp.maximum(c - lo, 1e-12)
        frac = jnp.clip((E - c) / span, 0.0, 1.0)                 # 0 at the centre, 1 where the mirror ends
        taper = jnp.where(frac < 0.9, 1.0, 0.5 * (1 + jnp.cos(jnp.pi * (frac - 0.9) / 0.1)))
        return jnp.where(E <= c, y, jnp.where(x >= lo, mirrored * taper, 0.0))

    return jax.vmap(row)(j, Ec)


def remove_zlp(qe, method: str = "reflected", *, precision=None) -> tuple[Measurement, Measurement]:
    """Split a q–E map into (zero-loss peak, remainder) Measurements (see the module docstring).

    Args:
        qe: the map (anything :func:`~jaxem.eels.maps.as_qe_map` takes), counts with the ZLP.
        method: ``"reflected"`` or ``"fit"``.
        precision: ``"float32"``/``"float64"`` (default: follows the data).

    Raises:
        InputError: the energy axis does not cover the ZLP (names the axis range and what is needed).
    """
    validate.choice(method, "method", ("reflected", "fit"))
    m = as_qe_map(qe, name="qe")
    E = m.axes[-1].values(m.shape[-1])
    arr, bad = fill_bad(m.array)
    Ec, fwhm = zlp_center(arr, E)
    flat = arr.reshape(-1, arr.shape[-1])
    if method == "reflected":
        rdt = accel.real_dtype(accel.select_precision(precision, m.array))
        z = np.asarray(_reflect(jnp.asarray(flat, rdt), jnp.asarray(E, rdt), jnp.asarray(Ec.ravel(), rdt)), float)
    else:
        from .peaks import PeakModel, fit_peaks, peak_shape

        hi = float(np.median(Ec)) + fwhm / 2
        fit = fit_peaks(m.with_array(arr), (E[0], hi), model=PeakModel("pseudo_voigt", 1, "none"),
                        centers=Ec.reshape(*Ec.shape, 1), precision=precision)
        p = fit.params.reshape(-1, 4)
        z = p[:, :1] * np.asarray(peak_shape("pseudo_voigt", E[None], p[:, 1:2], p[:, 2:3], p[:, 3:4]))
        z = np.where(np.isfinite(z), z, 0.0)
    z = z.reshape(arr.shape)
    rest = np.where(bad, np.nan, arr - z)
    md = {"zlp_method": method, "zlp_fwhm": {"value": fwhm, "units": "eV"},
          "zlp_center": {"value": Ec.tolist(), "units": "eV"}, "bad_pixels": _report(bad)}
    return (m.with_array(np.where(bad, np.nan, z), quantity="zero-loss counts", **md),
            m.with_array(rest, quantity="counts without ZLP", **md))


@jax.jit
def _fourier_log(j, z):
    T = j.shape[-1]
    N = j.shape[-1] * 2
    n_tail = N - T
    ramp = 0.5 * (1 + jnp.cos(jnp.pi * jnp.arange(1, n_tail + 1) / n_tail))
    jp = jnp.concatenate([j, j[:, -1:] * ramp[None]], -1)
    zp = jnp.concatenate([z, jnp.zeros((z.shape[0], n_tail), z.dtype)], -1)
    J, Z = jnp.fft.rfft(jp, axis=-1), jnp.fft.rfft(zp, axis=-1)
    small = jnp.abs(Z) <= 1e-10 * jnp.abs(Z[:, :1])
    r = J / jnp.where(small, 1.0, Z)
    logr = jnp.log(jnp.maximum(jnp.abs(r), jnp.finfo(j.dtype).tiny)) + 1j * jnp.unwrap(jnp.angle(r), axis=-1)
    S = jnp.where(small, 0.0, Z * logr)
    return jnp.fft.irfft(S, N, axis=-1)[:, :T]


@validate.typed
def deconvolve(qe, zlp: Measurement | None = None, *, method: str = "reflected", precision=None) -> Measurement:
    """Fourier-log deconvolution of plural scattering at every q (see the module docstring).

    Args:
        qe: the map with its ZLP (counts).
        zlp: the zero-loss part (from :func:`remove_zlp`); default: computed with ``method``.
    Returns:
        the single-scattering distribution reconvolved with the ZLP, s_r(q, E) [counts], on the map's axes.
    """
    m = as_qe_map(qe, name="qe")
    if zlp is None:
        zlp, _ = remove_zlp(m, method, precision=precision)
    validate.instance(zlp, "zlp", Measurement, "the ZLP Measurement from eels.remove_zlp")
    if tuple(zlp.shape) != tuple(m.shape):
        raise validate.InputError(f"zlp has shape {zlp.shape}, the map {m.shape}")
    arr, bad = fill_bad(m.array)
    z, _ = fill_bad(zlp.array)
    rdt = accel.real_dtype(accel.select_precision(precision, m.array))
    flat = arr.reshape(-1, arr.shape[-1])
    s = np.asarray(_fourier_log(jnp.asarray(flat, rdt), jnp.asarray(z.reshape(flat.shape), rdt)), float)
    s = np.where(bad, np.nan, s.reshape(arr.shape))
    i0 = z.reshape(flat.shape).sum(-1)
    t_over_lambda = np.log(np.maximum(flat.sum(-1), 1e-300) / np.maximum(i0, 1e-300))
    worst = float(np.nanmax(t_over_lambda)) if t_over_lambda.size else 0.0
    if worst > 5.0:
        warnings.warn(f"qe: t/λ = {worst:.3g} (total counts / ZLP counts) exceeds 5: the zero-loss peak holds only "
                      f"e^(−t/λ) = {np.exp(-worst):.2g} of the counts: its Poisson noise and any error in separating it "
                      f"from the plural scattering are amplified by the Fourier-log deconvolution (exact only for "
                      f"noise-free data); prefer a thinner region (Egerton, EELS in the Electron Microscope, 3rd ed., "
                      f"§4.2)", UserWarning, stacklevel=2)
    return m.with_array(s, quantity="single scattering (reconvolved with the ZLP)", deconvolution="Fourier-log",
                        thickness_over_mfp=t_over_lambda.reshape(arr.shape[:-1]).tolist(),
                        bad_pixels=_report(bad))


def loss_function(single, *, beam=None, slit_width=None, aperture=None, e_min: float = 0.0) -> Measurement:
    """L(q, E) = Im[−1/ε] (arbitrary units) from single-scattering counts (see the module docstring).

    Args:
        single: single-scattering map (e.g. :func:`deconvolve` output, or a map without ZLP).
        beam: Beam or energy (default: the map's); needed for q_E.
        slit_width: full width of the slit across q [1/Å] (2-D maps): the slit-integrated kinematic factor;
            ``None``: the point-aperture factor 1/(q² + q_E²).
        aperture: transmission A(q) of the q axis (array of the map's q shape, or a callable of q [1/Å]),
            divided out; pixels where A ≤ 0 are masked.
        e_min: losses below this [eV] (the ZLP tail) are set to 0.
    """
    m = as_qe_map(single, beam=beam, name="single")
    try:
        b = m.beam()
    except validate.InputError:
        raise validate.InputError("loss_function needs the beam energy for q_E: pass beam= (e.g. '100 kV') or "
                                  "read the map with its beam") from None
    e_min = validate.scalar(e_min, "e_min", "eV", nonnegative=True)
    E = m.axes[-1].values(m.shape[-1])
    qs = [a.values(n) for a, n in zip(m.axes[:-1], m.shape[:-1])]
    qabs = np.sqrt(sum(g ** 2 for g in np.meshgrid(*qs, indexing="ij")))
    qE = characteristic_momentum(E, b)
    if slit_width is not None and m.ndim != 2:
        raise validate.InputError("slit_width applies to 2-D (q, E) maps; a 3-D map resolves both q axes")
    with np.errstate(divide="ignore", invalid="ignore"):   # q = E = 0: K = inf, L = 0 there
        if slit_width is not None:
            w = validate.scalar(slit_width, "slit_width", "1/Å", positive=True)
            K = slit_kinematic_factor(qabs[..., None], qE, w)
        else:
            K = kinematic_factor(qabs[..., None], qE)
    A = np.ones(qabs.shape)
    if aperture is not None:
        A = np.asarray(aperture(qabs) if callable(aperture) else aperture, float)
        A = np.broadcast_to(validate.array(A, "aperture", kind="real"), qabs.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        L = np.asarray(m.array, float) / (K * np.where(A > 0, A, np.nan)[..., None])
    dE = m.axes[-1].sampling
    k0 = int(np.ceil(max(E[0], 0.0) / dE - 1e-9))
    grid = dE * np.arange(k0, int(np.floor(E[-1] / dE + 1e-9)) + 1)
    if grid.size < 2:
        raise validate.InputError(f"the energy axis [{E[0]:g}, {E[-1]:g}] eV holds no losses > 0")
    aligned = abs(E[0] / dE - round(E[0] / dE)) < 1e-6
    if aligned:
        i = int(round((grid[0] - E[0]) / dE))
        out = L[..., i:i + grid.size]
    else:
        flat = L.reshape(-1, L.shape[-1])
        out = np.stack([np.interp(grid, E, r) for r in flat]).reshape(*L.shape[:-1], grid.size)
    out = np.where(grid <= max(e_min, 0.0), 0.0, out)
    md = {"quantity": "loss function Im[-1/ε]", "units": "arb. units", "e_min": {"value": e_min, "units": "eV"},
          "kinematic_factor": "slit" if slit_width is not None else "1/(q²+q_E²)",
          "energy_regridded": not aligned, "beam": b.to_dict()}
    if slit_width is not None:
        md["slit_width"] = {"value": float(slit_width), "units": "1/Å"}
    axes = (*m.axes[:-1], Axis("E", dE, "eV", float(grid[0])))
    return Measurement(out, axes, {**m.metadata, **md}, signal_ndim=1)
