"""The starting object of a reconstruction: vacuum, or the integrated centre of mass (iCoM) of the
data, whose sign is right at any thickness.

Why not start from vacuum. The gradient of the amplitude loss at φ = 0 is the linear (weak-phase)
response of the data, and for a strongly scattering specimen — SrTiO3 at 30 kV and 3.1 nm, where the
exit wave is no longer e^{iσΣv} (|ψ_exit| ranges 0.08…3.1 under a unit plane wave, its phase is
uncorrelated with σΣv) — that response has the wrong sign: SSB and parallax give correlation −0.5 and
−0.7 with the projected potential, and gradient descent from vacuum walks into an inverted-contrast
local minimum (per-slice correlation −0.8; amplitude error 0.0028, ten times the 0.00024 reached
from the true object; measured noise-free with 8 slices, :mod:`~jaxem.ptycho.study`). Seeding with even a
tenth of the true phase lands in the right basin.

Why the iCoM. By Ehrenfest's theorem the centre of mass of a diffraction pattern is the expectation of
the transverse force on the electron, ⟨k⟩ = −(σ/2π)∫ dz ∫ |ψ(r, z)|² ∇v(r, z) d²r (Müller-Caspary et
al., Ultramicroscopy 178, 62 (2017)): a probe-intensity-weighted potential gradient at every
thickness, so the integrated CoM keeps the sign of the projected potential where the linear methods
invert it (0.74 above). Its magnitude is not the phase's (the weighting by the spreading probe
shrinks it; 1/8 of σΣv above), so the seed is a·iCoM with a > 0 chosen by the data error over a
geometric ladder of scales: the data fix the magnitude, Ehrenfest the sign. (The data error alone
cannot fix the sign: along this line it is lower at −8·iCoM than at any positive scale.)

The CoM is taken from the prepared amplitudes themselves (scan frame, centred, masked pixels and
dropped frames excluded), integrated on the scan grid by :func:`jaxem.phase.com.icom` and
interpolated onto the object grid (cubic spline, periodic for a periodic cell; zero, the mean, outside
a non-periodic scan field); each of the S slices starts with 1/S of it.
"""
from __future__ import annotations

import numpy as np

from .. import validate
from .data import PtychoData

__all__ = ["com_field", "icom_phase", "icom_seed", "SEED_SCALES"]

#: scales a of the seed a·iCoM tried by :func:`icom_seed` (a ≥ 0: the sign is Ehrenfest's)
SEED_SCALES = (1.0, 2.0, 4.0, 8.0, 16.0)


def _grid_scan(data: PtychoData, what: str):
    validate.instance(data, "data", PtychoData, "a ptycho.PtychoData (from ptycho.prepare)")
    if len(data.scan_shape) != 2:
        raise validate.InputError(f"{what} needs a grid scan (data.scan_shape (S_y, S_x)), got positions listed "
                                  f"as {data.scan_shape}: give start='vacuum' or an initial phase array")
    sy, sx = data.scan_shape
    pos = np.asarray(data.positions, np.float64).reshape(sy, sx, 2)
    step = (float(pos[1, 0, 0] - pos[0, 0, 0]) if sy > 1 else 1.0, float(pos[0, 1, 1] - pos[0, 0, 1]) if sx > 1 else 1.0)
    if min(step) <= 0:
        raise validate.InputError(f"{what} needs increasing scan positions, got steps {step} Å")
    return pos, step


@validate.typed
def com_field(data: PtychoData) -> np.ndarray:
    """Scan-frame centre of mass (S_y, S_x, 2) [1/Å] of the prepared patterns (k_y, k_x), over the
    pixels in the loss; a dropped frame gets its scan neighbours' mean (0 if it has none)."""
    _grid_scan(data, "com_field")
    g = data.geometry
    i = np.asarray(data.amplitudes, np.float64) ** 2 * np.asarray(data.detector_mask, np.float64)[None]
    ny, nx = g.detector
    ky = (np.arange(ny) - ny // 2) / (g.window[0] * g.sampling[0])
    kx = (np.arange(nx) - nx // 2) / (g.window[1] * g.sampling[1])
    tot = i.sum(axis=(1, 2))
    good = (np.asarray(data.weights) > 0) & (tot > 0)
    safe = np.where(good, tot, 1.0)
    com = np.stack([np.einsum("pyx,y->p", i, ky) / safe, np.einsum("pyx,x->p", i, kx) / safe], -1)
    com[~good] = com[good].mean(0) if good.any() else 0.0
    return com.reshape(tuple(data.scan_shape) + (2,))


@validate.typed
def icom_phase(data: PtychoData) -> np.ndarray:
    """Integrated CoM phase [rad] (S_y, S_x) of the prepared data, mean removed."""
    from ..phase.com import icom

    _, step = _grid_scan(data, "icom_phase")
    img = np.asarray(icom(com_field(data), step), np.float64)
    return img - img.mean()


def _on_object_grid(data: PtychoData, img: np.ndarray) -> np.ndarray:
    """The scan-grid image ``img`` interpolated at the object pixels."""
    from scipy import ndimage

    g = data.geometry
    pos, step = _grid_scan(data, "the iCoM seed")
    oy, ox = g.object_shape
    y = (np.arange(oy) * g.sampling[0] - pos[0, 0, 0]) / step[0]
    x = (np.arange(ox) * g.sampling[1] - pos[0, 0, 1]) / step[1]
    yy, xx = np.meshgrid(y, x, indexing="ij")
    sy, sx = img.shape
    cell = (sy * step[0], sx * step[1])
    covers = g.periodic and all(abs(c - o * s) < 1e-3 * c for c, o, s in zip(cell, g.object_shape, g.sampling))
    if covers:  # the scan tiles the periodic cell: interpolate periodically
        return ndimage.map_coordinates(img, [yy, xx], order=3, mode="grid-wrap")
    return ndimage.map_coordinates(img, [yy, xx], order=3, mode="constant", cval=0.0)


@validate.typed
def icom_seed(data: PtychoData, n_slices: int, error_of=None, scales=SEED_SCALES):
    """(S, O_y, O_x) initial slice phases a·iCoM/S and the chosen scale a.

    ``error_of``: a function of the (S, O_y, O_x) phase returning the data error (the caller's model
    and probe); the scale a ∈ ``scales`` with the lowest error is kept (the first scale if None)."""
    validate.instance(data, "data", PtychoData, "a ptycho.PtychoData (from ptycho.prepare)")
    n_slices = validate.integer(n_slices, "n_slices", lo=1, hi=1000)
    if error_of is not None:
        validate.function(error_of, "error_of", "a function of the slice phases returning the data error, or None")
    if isinstance(scales, (str, bytes, dict)) or np.ndim(scales) != 1 or not len(scales):
        raise validate.InputError(f"scales must be a non-empty sequence of positive numbers, got {scales!r}")
    scales = tuple(validate.scalar(a, "scales", "", positive=True) for a in scales)
    base = _on_object_grid(data, icom_phase(data))[None].repeat(n_slices, 0) / n_slices
    if error_of is None:
        return scales[0] * base, float(scales[0])
    errors = [float(error_of(a * base)) for a in scales]
    best = int(np.argmin(errors))
    return scales[best] * base, float(scales[best])
