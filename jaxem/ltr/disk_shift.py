"""Disk-shift maps of one Bragg disk from (denoised) 4D-STEM data: bending contours, strain, tilt.

For each scan position the pattern is cropped to a square window of half width ``half_width`` [px]
around the nominal disk centre c₀ (ky, kx) [px], and the disk position is measured by

* ``"com"``: the centre of mass of the crop after subtracting a background plane fitted to its
  border (clipped at 0) and restricting to a circle of radius ``radius + 2`` around the window
  centre, or
* ``"xcorr"``: the peak of the FFT cross-correlation with a template (default: the scan-averaged
  crop), refined to sub-pixel precision by a parabola through the peak and its neighbours on each
  axis.

The shift s = c − c₀ [px] is returned per position as (s_y, s_x), with its radial component along
g = c₀ − beam centre (the "relative radial disk shift"). Pure JAX, ``vmap``-ed over positions.
Multiply by the detector sampling [1/Å] for reciprocal-space units.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, validate


def _crops(data, center, h):
    cy, cx = (int(round(c)) for c in center)
    ny, nx = data.shape[-2:]
    if not (h <= cy < ny - h and h <= cx < nx - h):
        raise validate.InputError(f"window center {tuple(center)} ± half_width {h} px must lie inside the detector "
                                  f"({ny}, {nx})")
    return data[..., cy - h:cy + h + 1, cx - h:cx + h + 1], (cy, cx)


@jax.jit
def _com(win, radius):
    w = win.shape[-1]
    h = (w - 1) // 2
    yn, xn = np.mgrid[-h:h + 1, -h:h + 1].astype(np.float64)             # static (shape-determined)
    # background plane a + b·y + c·x least-squares fitted to the crop border (removes a sloped halo)
    edge = (np.abs(yn) == h) | (np.abs(xn) == h)
    P = jnp.asarray(np.linalg.pinv(np.stack([np.ones(edge.sum()), yn[edge], xn[edge]], -1)), win.dtype)
    coef = jnp.einsum("kb,...b->...k", P, win[..., edge])
    yy, xx = jnp.asarray(yn, win.dtype), jnp.asarray(xn, win.dtype)
    plane = coef[..., 0, None, None] + coef[..., 1, None, None] * yy + coef[..., 2, None, None] * xx
    mask = (yy ** 2 + xx ** 2) <= (radius + 2.0) ** 2
    s = jnp.where(mask, jnp.maximum(win - plane, 0.0), 0.0)
    tot = jnp.maximum(s.sum((-1, -2)), 1e-12)
    return jnp.stack([(s * yy).sum((-1, -2)) / tot, (s * xx).sum((-1, -2)) / tot], -1), tot


def _parabola(cm, c0, cp):
    den = cm - 2 * c0 + cp
    return jnp.where(jnp.abs(den) > 1e-12, 0.5 * (cm - cp) / den, 0.0)


@jax.jit
def _xcorr(win, template):
    w = win.shape[-1]
    a = win - win.mean((-1, -2), keepdims=True)
    t = template - template.mean()
    cc = jnp.fft.ifft2(jnp.fft.fft2(a) * jnp.conj(jnp.fft.fft2(t))).real     # cc[d] = Σ a(x+d) t(x)

    def peak(c):
        i = jnp.argmax(c)
        iy, ix = i // w, i % w
        dy = _parabola(c[(iy - 1) % w, ix], c[iy, ix], c[(iy + 1) % w, ix])
        dx = _parabola(c[iy, (ix - 1) % w], c[iy, ix], c[iy, (ix + 1) % w])
        sy = jnp.where(iy > w // 2, iy - w, iy) + dy
        sx = jnp.where(ix > w // 2, ix - w, ix) + dx
        return jnp.stack([sy, sx])

    return jax.vmap(peak)(cc.reshape(-1, w, w)).reshape(*win.shape[:-2], 2)


def disk_shift_map(data, center, radius: float, half_width: int | None = None, method: str = "com",
                   beam_center=None, template=None, precision=None) -> dict:
    """Shift of one disk at every scan position.

    Args:
        data: 4D-STEM (scan_y, scan_x, ny, nx) [counts] (e.g. a denoised :func:`denoise_events` result).
        center: nominal disk centre (ky, kx) [px].
        radius: disk radius [px].
        half_width: crop half width [px] (default ⌈radius⌉ + 2; keep neighbouring disks out of the crop).
        method: ``"com"`` or ``"xcorr"``.
        beam_center: direct-beam centre (ky, kx) [px] for the radial component (default detector centre).
        template: (2h+1, 2h+1) template for ``"xcorr"`` (default: scan-averaged crop).
        precision: 'float32' (default) or 'float64'.

    Returns:
        dict: ``shift`` (scan_y, scan_x, 2) [px], ``radial`` (scan_y, scan_x) [px] along ĝ,
        ``intensity`` (scan_y, scan_x) [counts] in the crop, ``valid`` (False where the crop is empty).
    """
    validate.array(data, "data", ndim=4, kind="real", units="counts")
    d = np.asarray(data)
    radius = validate.scalar(radius, "radius", "px", positive=True)
    validate.choice(method, "method", ("com", "xcorr"))
    center = validate.pair(center, "center", "px")
    h = int(np.ceil(radius)) + 2 if half_width is None else validate.integer(half_width, "half_width", lo=1)
    if beam_center is not None:
        beam_center = validate.pair(beam_center, "beam_center", "px")
    win, (cy, cx) = _crops(d, center, h)
    dt = accel.real_dtype(precision)
    win = jnp.asarray(win, dt)
    com, tot = _com(win, jnp.asarray(radius, dt))
    if method == "com":
        shift = np.asarray(com)
    else:
        if template is not None:
            validate.array(template, "template", shape=win.shape[-2:], ndim=2, kind="real")
        tpl = win.mean((0, 1)) if template is None else jnp.asarray(template, dt)
        # the template's own centre of mass makes the xcorr shift absolute (relative to the window centre)
        tcom, _ = _com(tpl[None], jnp.asarray(radius, dt))
        shift = np.asarray(_xcorr(win, tpl)) + np.asarray(tcom)[0]
    shift = shift + (np.array([cy, cx]) - np.asarray(center, np.float64))[None, None]
    ny, nx = d.shape[-2:]
    bc = np.array([ny // 2, nx // 2] if beam_center is None else beam_center, np.float64)
    g = np.asarray(center, np.float64) - bc
    ghat = g / max(np.linalg.norm(g), 1e-12)
    valid = np.asarray(tot) > 1e-9
    shift = np.where(valid[..., None], shift, 0.0)
    return {"shift": shift, "radial": shift @ ghat, "intensity": np.asarray(tot), "valid": valid}
