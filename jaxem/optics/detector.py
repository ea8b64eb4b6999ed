"""Incoherent blurring of an image intensity: image spread and detector MTF.

Both act on the *intensity* I(r) (not on the wave), as multiplications of its Fourier transform:

    Ĩ(k) ← Ĩ(k) · G(k) · MTF(k)

* **Image spread** (vibration, drift, instabilities): convolution with a Gaussian of standard
  deviation σ [Å] per axis, G(k) = exp(−2π² (σ_x² k_x² + σ_y² k_y²)); the information limit from
  image spread is ≈ π σ (Thust, Phys. Rev. Lett. 102, 220801 (2009); Dr. Probe ``wavimg``).
  On the periodic grid G is cut at Nyquist, so for σ below ~2 pixels the blur kernel rings with
  negative lobes of the order of G at Nyquist (≤ 3e-9 for σ ≥ 2 pixels).
* **Detector MTF**: the parametric form of Van den Broek, Van Aert & Van Dyck, Microsc. Microanal.
  18, 336 (2012),

      MTF(q) = (a − c) / (1 + (q / (2b))^d) + c,        q = |k| / k_Nyquist  (dimensionless)

  with k_Nyquist = 1/(2 p) for a detector pixel of size p [Å] referred to the specimen, times an
  optional pixel-integration factor sinc(k_y p_y)·sinc(k_x p_x) (sinc(x) = sin(πx)/(πx); 2/π at
  Nyquist). a = MTF(0) (1 for a normalised MTF), c the plateau at high q, b the half-width scale,
  d the steepness.
"""
from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate


@pytree.dataclass
class DetectorMTF:
    """Parameters of the parametric detector MTF (pytree; a, b, c, d are differentiable leaves).

    Attributes:
        a: MTF at zero frequency (1 for a normalised MTF), > 0.
        b: frequency scale (dimensionless, in units of Nyquist), > 0.
        c: high-frequency plateau, ≥ 0.
        d: steepness exponent, > 0.
        pixel_size: detector pixel size referred to the specimen [Å]; None = the image sampling.
        pixel_sinc: multiply by the pixel-integration sinc (static).
    """

    a: float = pytree.field(units="", default=1.0)
    b: float = pytree.field(units="", default=0.5)
    c: float = pytree.field(units="", default=0.0)
    d: float = pytree.field(units="", default=2.0)
    pixel_size: tuple | None = pytree.field(static=True, units="Å", default=None)
    pixel_sinc: bool = pytree.field(static=True, default=True)

    @classmethod
    def create(cls, a=1.0, b=0.5, c=0.0, d=2.0, pixel_size=None, pixel_sinc=True) -> "DetectorMTF":
        """Validated MTF parameters (see the class attributes for ranges and units)."""
        validate.scalar(a, "a", positive=True)
        validate.scalar(b, "b", positive=True)
        validate.scalar(c, "c", nonnegative=True)
        validate.scalar(d, "d", positive=True)
        if pixel_size is not None:
            pixel_size = validate.pair(pixel_size, "pixel_size", "Å", positive=True, allow_traced=False)
        validate.flag(pixel_sinc, "pixel_sinc")
        return cls(a=a, b=b, c=c, d=d, pixel_size=pixel_size, pixel_sinc=bool(pixel_sinc))

    def __post_init__(self):
        for k in "abcd":  # leaves: numbers, arrays, tracers or pytree placeholders; never text
            if isinstance(getattr(self, k), (str, bytes, dict, complex)):
                raise validate.InputTypeError(f"DetectorMTF {k} must be a real number, got {getattr(self, k)!r:.60}")
        if self.pixel_size is not None:  # static: always concrete
            object.__setattr__(self, "pixel_size", validate.pair(self.pixel_size, "pixel_size", "Å", positive=True,
                                                                 allow_traced=False))

    @staticmethod
    def __jaxem_check__(value, name):
        """At a public function's boundary (:func:`jaxem.validate.typed`): :meth:`check`."""
        value.check(name)

    def check(self, name: str = "mtf") -> "DetectorMTF":
        """Validate concrete values (ranges of :meth:`create`), naming ``name``; returns self."""
        if not isinstance(self, DetectorMTF):
            raise validate.InputTypeError(f"{name} must be a jaxem.optics.DetectorMTF, got {type(self).__name__}")
        if not validate.is_traced((self.a, self.b, self.c, self.d)):
            try:
                DetectorMTF.create(self.a, self.b, self.c, self.d, self.pixel_size, self.pixel_sinc)
            except (TypeError, ValueError) as err:
                raise type(err)(f"{name}: {err}") from None
        return self

    def to_metadata(self) -> dict:
        """JSON-ready description (concrete values only)."""
        out = {k: float(getattr(self, k)) for k in "abcd" if not validate.is_traced(getattr(self, k))}
        out["pixel_size"] = None if self.pixel_size is None else {"value": list(self.pixel_size), "units": "Å"}
        out["pixel_sinc"] = bool(self.pixel_sinc)
        return out


@validate.typed
def detector_mtf(ky, kx, pixel_size, mtf: DetectorMTF):
    """MTF(k) on frequencies (``ky``, ``kx``) [1/Å] for pixels of size ``pixel_size`` (y, x) [Å].

    Returns a real array of the broadcast shape (dtype of ``ky``/``kx``).
    """
    ky, kx = jnp.asarray(ky), jnp.asarray(kx)
    dtype = jnp.result_type(ky, kx)
    py, px = pixel_size
    qy, qx = 2 * py * ky, 2 * px * kx
    q = jnp.hypot(qy, qx)
    x = q / (2 * jnp.asarray(mtf.b, dtype))
    pos = x > 0
    # x**d with a safe log so that gradients with respect to d stay finite at q = 0
    xd = jnp.where(pos, jnp.exp(jnp.asarray(mtf.d, dtype) * jnp.log(jnp.where(pos, x, 1.0))), 0.0)
    a, c = jnp.asarray(mtf.a, dtype), jnp.asarray(mtf.c, dtype)
    out = (a - c) / (1 + xd) + c
    if mtf.pixel_sinc:
        out = out * jnp.sinc(py * ky) * jnp.sinc(px * kx)
    return out.astype(dtype)


def image_spread_envelope(ky, kx, sigma):
    """G(k) = exp(−2π² (σ_y² k_y² + σ_x² k_x²)), the transform of a normalised Gaussian blur.

    Args:
        ky, kx: frequencies [1/Å] (broadcastable).
        sigma: standard deviation σ [Å], scalar (isotropic) or (σ_y, σ_x).
    """
    ky, kx = jnp.asarray(ky), jnp.asarray(kx)
    dtype = jnp.result_type(ky, kx)
    s = jnp.asarray(sigma, dtype)
    sy, sx = (s, s) if s.ndim == 0 else (s[0], s[1])
    return jnp.exp(-2 * jnp.pi**2 * (sy**2 * ky**2 + sx**2 * kx**2)).astype(dtype)


def check_image_spread(image_spread):
    """Validate σ [Å] (scalar or (σ_y, σ_x) pair, ≥ 0)."""
    if image_spread is None:
        return None
    if validate.is_traced(image_spread):
        return image_spread
    if np.ndim(image_spread) == 0:
        validate.scalar(image_spread, "image_spread", "Å", nonnegative=True)
    else:
        try:
            vals = tuple(image_spread)
        except TypeError:
            vals = ()
        if len(vals) != 2:
            raise validate.InputError(f"image_spread must be σ or (σ_y, σ_x) [Å], got {image_spread!r}")
        for v in vals:
            validate.scalar(v, "image_spread", "Å", nonnegative=True)
    return image_spread


@validate.typed
def blur_intensity(intensity, grid, image_spread=None, mtf: DetectorMTF | None = None):
    """Apply image spread and detector MTF to an intensity (…, ny, nx) on ``grid`` (pure, jit-able).

    Args:
        intensity: real array (…, ny, nx); its dtype sets the precision.
        grid: :class:`jaxem.grid.Grid` (sampling [Å]).
        image_spread: σ [Å] or (σ_y, σ_x) [Å], or None.
        mtf: :class:`DetectorMTF` or None.

    Returns:
        real array like ``intensity``. A constant image stays constant (×MTF(0) = a).
    """
    if not validate.is_traced(intensity):  # the public boundary (inside jit everything passes)
        if not hasattr(grid, "gpts"):
            raise validate.InputTypeError(f"grid must be a jaxem Grid, got {type(grid).__name__}")
        validate.array(intensity, "intensity", min_ndim=2, shape=tuple(grid.gpts), kind="real")
    check_image_spread(image_spread)
    if mtf is not None:
        DetectorMTF.check(mtf)
    if image_spread is None and mtf is None:
        return intensity
    return _blur(intensity, grid, image_spread, mtf)


@functools.partial(jax.jit, static_argnames=("grid",))
def _blur(intensity, grid, image_spread, mtf):
    dtype = intensity.dtype
    ky, kx = grid.frequencies(dtype)
    ky, kx = ky[:, None], kx[None, :]
    factor = jnp.ones((ky.shape[0], kx.shape[1]), dtype)
    if image_spread is not None:
        factor = factor * image_spread_envelope(ky, kx, image_spread)
    if mtf is not None:
        ps = mtf.pixel_size if mtf.pixel_size is not None else grid.sampling
        factor = factor * detector_mtf(ky, kx, ps, mtf)
    out = jnp.fft.ifft2(jnp.fft.fft2(intensity) * factor).real
    return out.astype(dtype)
