"""The simulation grid: a periodic 2D sampling of the plane normal to the beam.

A :class:`Grid` keeps ``extent = gpts × sampling`` exactly: it stores the number of grid points and
the sampling [Å] and derives the extent. Array axes follow the house convention ``(..., ny, nx)``,
so every per-axis tuple here is ordered ``(y, x)``. Reciprocal space keeps the zero frequency at
index ``[0, 0]`` (numpy FFT order); only display code shifts it to the centre.

The anti-alias aperture removes frequencies above 2/3 of the Nyquist frequency, with a raised-cosine
edge of width ``taper`` [1/Å], so that the product of two band-limited functions is not aliased
(Kirkland 2010, §6.8). It is applied to both the transmission function and the propagator.
"""
from __future__ import annotations

import math
from typing import Sequence

import jax.numpy as jnp
import numpy as np

from . import pytree, validate


ANTIALIAS_FRACTION = 2.0 / 3.0


#: largest number of grid points per axis (2^17: a 131072² complex64 wave is 128 GiB)
MAX_GPTS = 1 << 17


def _pair(value, name: str, kind=float) -> tuple:
    """A (y, x) pair of grid points (integers in [1, MAX_GPTS]) or of lengths [Å] (finite, > 0;
    strings with units such as ``'0.5 nm'`` are parsed)."""
    if kind is int:
        return validate.pair(value, name, kind=int, lo=1, hi=MAX_GPTS)
    return validate.pair(value, name, "Å", positive=True, allow_traced=False)


@pytree.dataclass
class Grid:
    """Periodic real-space grid.

    Attributes:
        gpts: number of grid points ``(ny, nx)``.
        sampling: pixel size ``(dy, dx)`` [Å].

    The grid is hashable and static under ``jit`` (it determines array shapes).
    """

    gpts: tuple[int, int] = pytree.field(static=True)
    sampling: tuple[float, float] = pytree.field(static=True, units="Å")

    def __post_init__(self):
        object.__setattr__(self, "gpts", _pair(self.gpts, "gpts", int))
        object.__setattr__(self, "sampling", _pair(self.sampling, "sampling", float))

    # ---- constructors -------------------------------------------------------------------------
    @classmethod
    def from_extent(cls, extent, sampling=None, gpts=None, fft_friendly: bool = False) -> "Grid":
        """Grid covering ``extent`` [Å] (y, x) given either ``sampling`` [Å] or ``gpts``.

        With ``sampling``, gpts = ceil(extent / sampling) (rounded up to the next FFT-friendly size,
        a product of 2, 3, 5 and 7, when ``fft_friendly``) and the sampling is then adjusted down so
        that the extent is kept exactly: the pixel size never exceeds the one asked for.
        """
        extent = _pair(extent, "extent", float)
        if (sampling is None) == (gpts is None):
            raise ValueError("give exactly one of sampling [Å] or gpts together with extent")
        if gpts is None:
            sampling = _pair(sampling, "sampling", float)
            gpts = tuple(int(math.ceil(e / s - 1e-9)) for e, s in zip(extent, sampling))
            if fft_friendly:
                gpts = tuple(next_fft_size(n) for n in gpts)
        gpts = _pair(gpts, "gpts", int)
        return cls(gpts=gpts, sampling=tuple(e / n for e, n in zip(extent, gpts)))

    # ---- derived ------------------------------------------------------------------------------
    @property
    def extent(self) -> tuple[float, float]:
        """Size of the periodic cell ``(Ly, Lx)`` [Å]."""
        return tuple(n * d for n, d in zip(self.gpts, self.sampling))

    @property
    def shape(self) -> tuple[int, int]:
        return self.gpts

    @property
    def area(self) -> float:
        """Cell area [Å²]."""
        ly, lx = self.extent
        return ly * lx

    @property
    def reciprocal_sampling(self) -> tuple[float, float]:
        """Frequency spacing ``(1/Ly, 1/Lx)`` [1/Å]."""
        return tuple(1.0 / e for e in self.extent)

    @property
    def nyquist(self) -> float:
        """Nyquist frequency of the coarsest axis [1/Å]."""
        return 1.0 / (2.0 * max(self.sampling))

    @property
    def antialias_cutoff(self) -> float:
        """Anti-alias cut-off frequency: 2/3 of the Nyquist frequency [1/Å]."""
        return ANTIALIAS_FRACTION * self.nyquist

    @property
    def antialias_taper(self) -> float:
        """Width of the raised-cosine edge of the anti-alias aperture [1/Å]."""
        return 0.01 / max(self.sampling)

    # ---- arrays -------------------------------------------------------------------------------
    def coordinates(self, dtype=jnp.float32):
        """Real-space coordinates ``(y, x)`` [Å], each of shape (ny,) / (nx,)."""
        return tuple(jnp.arange(n, dtype=dtype) * d for n, d in zip(self.gpts, self.sampling))

    def frequencies(self, dtype=jnp.float32):
        """Spatial frequencies ``(ky, kx)`` [1/Å] in FFT order, shapes (ny,) and (nx,)."""
        return tuple(jnp.asarray(np.fft.fftfreq(n, d), dtype=dtype) for n, d in zip(self.gpts, self.sampling))

    def k2(self, dtype=jnp.float32):
        """|k|² [1/Å²] on the (ny, nx) reciprocal grid (FFT order)."""
        ky, kx = self.frequencies(dtype)
        return ky[:, None] ** 2 + kx[None, :] ** 2

    def antialias_aperture(self, dtype=jnp.float32):
        """Soft-edged 2/3-Nyquist aperture on the (ny, nx) reciprocal grid (FFT order), values in [0, 1]."""
        return soft_aperture(jnp.sqrt(self.k2(dtype)), self.antialias_cutoff, self.antialias_taper)

    def with_gpts(self, gpts) -> "Grid":
        """Same extent, different number of grid points."""
        return Grid.from_extent(self.extent, gpts=gpts)


def next_fft_size(n: int) -> int:
    """Smallest integer ≥ ``n`` whose prime factors are all in {2, 3, 5, 7} (fast FFT sizes)."""
    m = max(1, int(n))
    while True:
        r = m
        for p in (2, 3, 5, 7):
            while r % p == 0:
                r //= p
        if r == 1:
            return m
        m += 1


def soft_aperture(k, cutoff, taper):
    """Raised-cosine aperture: 1 for ``k ≤ cutoff − taper``, 0 for ``k ≥ cutoff`` [same units as k]."""
    k = jnp.asarray(k)
    if not jnp.issubdtype(k.dtype, jnp.floating):
        k = k.astype(jnp.result_type(float))
    if taper <= 0:
        return (k < cutoff).astype(k.dtype)
    x = jnp.clip((k - (cutoff - taper)) / taper, 0.0, 1.0)
    return (0.5 * (1.0 + jnp.cos(jnp.pi * x))).astype(k.dtype)


def check_gpts_sequence(gpts: Sequence[int]) -> tuple[int, int]:
    return _pair(gpts, "gpts", int)
