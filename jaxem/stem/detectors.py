"""STEM detectors acting on diffraction patterns, all with one interface.

A diffraction pattern DP(k) = |F[ψ](k)|²/N is the fraction of the incident probe per reciprocal
pixel, unshifted (zero frequency at [0, 0], FFT order) on the (ny, nx) grid of the simulation.
Scattering angles are θ = λ|k| [mrad]; the :class:`~jaxem.beam.Beam` converts (the detectors never
derive λ themselves).

Every detector is a static, hashable :func:`jaxem.pytree.dataclass` with

* ``prepare(beam, grid) -> state``: a pytree of arrays (masks, weights, crop indices) for that grid;
  the detector's angles are checked against the grid here (``beam.check_angle(...,
  limit="nyquist")``): an angle the grid cannot hold is an error, never a silent crop;
* ``apply(state, dp) -> signal``: pure and jit-compatible, ``dp`` (…, ny, nx) → (…, *signal);
* ``signal_axes(beam, grid)``: the :class:`~jaxem.measurement.Axis` of each signal dimension;
* ``measurements(signal, leading_axes, metadata, beam, grid) -> {name: Measurement}``.

:func:`jaxem.stem.stem_scan` uses only this interface, so a new detector needs nothing else.

* :class:`AnnularDetector` — BF, ABF, ADF, HAADF: inner ≤ θ < outer [mrad]; ``outer=inf``
  integrates to the grid's limit (every reciprocal pixel with θ ≥ inner, corners included).
  ``weighting="centre"`` (default, as abTEM and Prismatic) includes a pixel when its centre lies in
  the annulus; ``"fraction"`` weights it by the fraction of its area inside (:func:`annulus_fractions`),
  so the detector's area is exact on any k-sampling (PRISM's coarser grid, ``benchmarks/prism_pixelation.py``).
* :class:`SegmentedDetector` — rings × azimuthal segments (DPC), rotated by ``rotation`` [rad].
* :class:`PixelatedDetector` — the pattern centred (zero frequency in the middle), cropped to
  ``max_angle`` [mrad] and binned (4D-STEM).
* :class:`CenterOfMassDetector` — first moment of the pattern (θy, θx) [mrad] within ``max_angle``.

Band limit: the multislice band-limits every wave to 2/3 of the Nyquist frequency (anti-aliasing), so
nothing is scattered beyond the band edge θ_b = λ·k_cut (:func:`band_edge`; the soft aperture reaches
zero there). An annulus or segmented ring whose inner angle is at or beyond θ_b would collect exactly
nothing: an error naming the detector, the band edge and the sampling that would reach it. A finite
outer angle beyond θ_b is a stated crop: a ``UserWarning`` says the detector collects [inner, θ_b]
only (``outer = inf`` means "to the grid's limit" and is not warned). Pixelated and centre-of-mass
detectors may reach to the Nyquist angle (the pattern shows the zeros; the centre of mass is unchanged).
"""
from __future__ import annotations

import math
import warnings

import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from ..beam import as_beam
from ..grid import Grid
from ..measurement import Axis, Measurement

__all__ = ["Detector", "AnnularDetector", "annulus_fractions", "WEIGHTINGS", "SegmentedDetector", "PixelatedDetector", "CenterOfMassDetector",
           "MaskState", "CropState", "scan_signal_ndim"]

FRACTION = "fraction of probe intensity"


def _grid(grid) -> Grid:
    if not isinstance(grid, Grid):
        raise validate.InputTypeError(f"grid must be a jaxem Grid, got {type(grid).__name__}")
    return grid


def _angles(beam, grid):
    """(θy, θx) [mrad] on the (ny, nx) reciprocal grid, FFT order (float64)."""
    ky, kx = (np.fft.fftfreq(n, d) for n, d in zip(grid.gpts, grid.sampling))
    return np.meshgrid(beam.frequency_to_mrad(ky), beam.frequency_to_mrad(kx), indexing="ij")


def band_edge(beam, grid) -> float:
    """Band edge θ_b [mrad] of a simulation on ``grid``: the angle of the anti-alias cut-off (2/3 of the
    Nyquist frequency), where the soft aperture reaches zero; no simulated wave scatters beyond it."""
    return float(beam.frequency_to_mrad(grid.antialias_cutoff))


def _name(value) -> str:
    if not isinstance(value, str) or not value:
        raise validate.InputTypeError(f"detector name must be a non-empty string, got {value!r}")
    return value


def _check_range(inner, outer, what: str):
    inner = validate.scalar(inner, f"{what} inner", "mrad", nonnegative=True, allow_traced=False)
    outer = validate.scalar(outer, f"{what} outer", "mrad", finite=False, allow_traced=False)
    if math.isnan(outer) or not outer > inner:
        raise validate.InputError(f"{what} needs 0 ≤ inner < outer [mrad] (outer = inf: to the grid's "
                                  f"limit), got inner={inner!r}, outer={outer!r}")
    return inner, outer


@pytree.dataclass
class MaskState:
    """Prepared weights (…, ny, nx) of a linear detector (FFT order)."""

    masks: object


@pytree.dataclass
class CropState:
    """Prepared row/column indices (FFT order) of a centred crop of the pattern."""

    rows: object
    cols: object
    gpts: tuple = pytree.field(static=True, default=None)  # the (ny, nx) of the patterns it applies to


class Detector:
    """The detector interface (see the module docstring); concrete detectors subclass it."""

    name: str = "detector"

    def prepare(self, beam, grid):  # pragma: no cover - interface
        raise NotImplementedError

    def apply(self, state, dp):  # pragma: no cover - interface
        raise NotImplementedError

    def signal_axes(self, beam, grid) -> tuple:
        """Axes of the per-position signal (none for a scalar signal)."""
        return ()

    def channel_names(self) -> tuple:
        """Names of the measurements this detector returns."""
        return (self.name,)

    def to_dict(self) -> dict:
        """JSON-ready description with units (file metadata)."""
        units = pytree.units_of(self)
        out = {"type": type(self).__name__}
        for k, v in ((f, getattr(self, f)) for f in self.__dataclass_fields__):
            if isinstance(v, float) and not math.isfinite(v):
                v = str(v)  # 'inf' (JSON has no infinity)
            out[k] = {"value": v, "units": units[k]} if k in units else v
        return out

    def quantity(self) -> dict:
        return {"quantity": FRACTION}

    def measurements(self, signal, leading_axes, metadata, beam, grid) -> dict:
        """{name: Measurement} of ``signal`` (…, *signal) with ``leading_axes`` for the leading dimensions."""
        meta = {**metadata, "detector": self.to_dict(), **self.quantity()}
        sig_axes = tuple(self.signal_axes(as_beam(beam), grid))
        return {self.name: Measurement(signal, tuple(leading_axes) + sig_axes, meta,
                                       scan_signal_ndim(leading_axes, sig_axes))}


def scan_signal_ndim(leading_axes, signal_axes) -> int | None:
    """HyperSpy's signal/navigation split of a scan measurement (``Measurement.signal_ndim``): the
    detector's signal axes are the signal and the scan (and thickness) axes navigate — a 4D-STEM
    pattern per position (2), a centre-of-mass vector per position (1). A scalar detector gives an
    image (None: the two scan axes are the signal); with a thickness axis after the scan axes the
    signal is the thickness profile at each position (1), so the scan axes still navigate and
    HyperSpy's ``signal.T`` is the thickness-navigated image stack."""
    if signal_axes:
        return len(signal_axes)
    return None if len(leading_axes) <= 2 else len(leading_axes) - 2


def _check_pattern(dp, gpts) -> None:
    """The patterns (…, ny, nx) must be on the grid the detector was prepared for (shapes are static,
    so this also holds under jit)."""
    shape = tuple(jnp.shape(dp))
    if len(shape) < 2 or shape[-2:] != tuple(gpts):
        raise validate.InputError(f"dp must be diffraction patterns (…, {gpts[0]}, {gpts[1]}) on the grid the "
                                  f"detector was prepared for, got shape {shape}")


def _linear_apply(state, dp):
    _check_pattern(dp, tuple(jnp.shape(state.masks))[-2:])
    return jnp.tensordot(dp, state.masks.astype(dp.dtype), axes=((-2, -1), (-2, -1)))


#: values of ``AnnularDetector(weighting=…)``
WEIGHTINGS = ("centre", "fraction")


def _g(u, r):
    """∫₀ᵘ √(r² − t²) dt for 0 ≤ u ≤ r."""
    return 0.5 * (u * np.sqrt(np.maximum(r * r - u * u, 0.0)) + r * r * np.arcsin(np.clip(u / r, -1.0, 1.0)))


def _quadrant(x, y, r):
    """Signed area of the rectangle between (0, 0) and (x, y) inside the disk |θ| < r (odd in x and y):
    for x, y ≥ 0, ∫₀ˣ min(y, √(r² − u²)) du = y·min(x, u*) + G(min(x, r)) − G(min(x, u*)), u* = √(r² − y²)."""
    s = np.sign(x) * np.sign(y)
    x, y = np.abs(x), np.abs(y)
    us = np.sqrt(np.maximum(r * r - y * y, 0.0))
    a, b = np.minimum(x, us), np.minimum(x, r)
    return s * (y * a + _g(b, r) - _g(a, r))


def _disk_fractions(ty, tx, dy, dx, r):
    if r <= 0:
        return np.zeros(np.broadcast(ty, tx).shape)
    if math.isinf(r):
        return np.ones(np.broadcast(ty, tx).shape)
    y0, y1, x0, x1 = ty - dy / 2, ty + dy / 2, tx - dx / 2, tx + dx / 2
    area = _quadrant(x1, y1, r) - _quadrant(x0, y1, r) - _quadrant(x1, y0, r) + _quadrant(x0, y0, r)
    return np.clip(area / (dy * dx), 0.0, 1.0)


def annulus_fractions(theta_y, theta_x, pixel, inner, outer) -> np.ndarray:
    """Fraction (float64) of each reciprocal pixel, centred at (θy, θx) [mrad] with sides ``pixel`` =
    (dθy, dθx) [mrad], that lies in the annulus inner ≤ |θ| < outer [mrad] (``outer = inf``: no outer
    edge). Exact: the area of a rectangle inside a disk centred on the origin is a sum of four signed
    quadrant areas, each ∫ min(y, √(r² − u²)) du in closed form; so Σ fractions × dθy·dθx equals
    π(outer² − inner²) for an annulus inside the grid."""
    ty, tx = np.asarray(theta_y, np.float64), np.asarray(theta_x, np.float64)
    dy, dx = (float(v) for v in pixel)
    w = _disk_fractions(ty, tx, dy, dx, float(outer)) - _disk_fractions(ty, tx, dy, dx, float(inner))
    return np.where(w < 1e-12, 0.0, np.where(w > 1 - 1e-12, 1.0, w))  # whole pixels exactly 0 or 1


@pytree.dataclass
class AnnularDetector(Detector):
    """Annulus inner ≤ θ < outer [mrad]; ``outer = inf`` (default) integrates to the grid's limit.

    Signal: the fraction of the probe intensity the annulus collects, Σ_k mask(k)·DP(k).
    ``weighting``: ``"centre"`` (mask 1 where the pixel's centre is in the annulus) or ``"fraction"``
    (the fraction of the pixel's area inside, :func:`annulus_fractions`).
    """

    inner: float = pytree.field(static=True, units="mrad")
    outer: float = pytree.field(static=True, units="mrad", default=float("inf"))
    name: str = pytree.field(static=True, default="annular")
    weighting: str = pytree.field(static=True, default="centre")

    def __post_init__(self):
        inner, outer = _check_range(self.inner, self.outer, f"AnnularDetector {self.name!r}")
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "outer", outer)
        object.__setattr__(self, "name", _name(self.name))
        object.__setattr__(self, "weighting", validate.choice(self.weighting, "weighting", WEIGHTINGS))

    def _check(self, beam, grid):
        beam.check_angle(self.inner, grid, f"detector {self.name!r} inner angle", limit="nyquist")
        beam.check_angle(self.outer, grid, f"detector {self.name!r} outer angle", limit="nyquist", allow_inf=True)
        edge = band_edge(beam, grid)
        if self.inner >= edge:
            raise validate.InputError(
                f"detector {self.name!r} inner angle of {self.inner:.4g} mrad is at or beyond the band edge "
                f"{edge:.4g} mrad of the simulation (2/3 Nyquist of a grid with sampling {max(grid.sampling):.4g} Å "
                f"at {beam.energy:.4g} eV): it would collect exactly nothing; use a sampling ≤ "
                f"{max(grid.sampling) * edge / self.inner / 1.05:.3g} Å or a smaller inner angle")
        if math.isfinite(self.outer) and self.outer > edge * (1 + 1e-9):
            warnings.warn(f"detector {self.name!r} outer angle {self.outer:.4g} mrad lies beyond the band edge "
                          f"{edge:.4g} mrad of the simulation (2/3 Nyquist of a grid with sampling "
                          f"{max(grid.sampling):.4g} Å): it collects [{self.inner:.4g}, {edge:.4g}] mrad only; use "
                          f"a sampling ≤ {max(grid.sampling) * edge / self.outer:.3g} Å to reach it", stacklevel=3)

    def mask(self, beam, grid) -> np.ndarray:
        """(ny, nx) float64 weights (FFT order)."""
        beam, grid = as_beam(beam), _grid(grid)
        self._check(beam, grid)
        ty, tx = _angles(beam, grid)
        if self.weighting == "fraction":
            return annulus_fractions(ty, tx, beam.angular_sampling(grid), self.inner, self.outer)
        theta = np.hypot(ty, tx)
        return ((theta >= self.inner) & (theta < self.outer)).astype(np.float64)

    def prepare(self, beam, grid) -> MaskState:
        return MaskState(self.mask(beam, grid))

    def apply(self, state: MaskState, dp):
        """(…, ny, nx) → (…,) fraction of the probe."""
        return _linear_apply(state, dp)


@pytree.dataclass
class SegmentedDetector(Detector):
    """``n_rings`` × ``n_segments`` sectors between inner and outer [mrad] (outer = inf: to the grid's
    limit, then the rings split [inner, Nyquist angle] evenly and the last one reaches the corners),
    segment 0 starting at azimuth ``rotation`` [rad] (counter-clockwise from +x towards +y).

    Signal: (…, n_rings·n_segments) fractions, ring-major; measurements ``<name>_r<i>_s<j>``.
    """

    inner: float = pytree.field(static=True, units="mrad")
    outer: float = pytree.field(static=True, units="mrad", default=float("inf"))
    n_segments: int = pytree.field(static=True, default=4)
    n_rings: int = pytree.field(static=True, default=1)
    rotation: float = pytree.field(static=True, units="rad", default=0.0)
    name: str = pytree.field(static=True, default="segmented")

    def __post_init__(self):
        inner, outer = _check_range(self.inner, self.outer, f"SegmentedDetector {self.name!r}")
        object.__setattr__(self, "inner", inner)
        object.__setattr__(self, "outer", outer)
        object.__setattr__(self, "n_segments", validate.integer(self.n_segments, "n_segments", lo=1))
        object.__setattr__(self, "n_rings", validate.integer(self.n_rings, "n_rings", lo=1))
        object.__setattr__(self, "rotation", validate.scalar(self.rotation, "rotation", "rad", allow_traced=False))
        object.__setattr__(self, "name", _name(self.name))

    def masks(self, beam, grid) -> np.ndarray:
        """(n_rings·n_segments, ny, nx) float64 weights (FFT order), ring-major."""
        beam, grid = as_beam(beam), _grid(grid)
        AnnularDetector(self.inner, self.outer, self.name)._check(beam, grid)
        ay, ax = _angles(beam, grid)
        theta = np.hypot(ay, ax)
        top = self.outer if math.isfinite(self.outer) else beam.nyquist_angle(grid)
        edges = np.linspace(self.inner, top, self.n_rings + 1)
        ring = np.searchsorted(edges, theta, side="right") - 1
        if not math.isfinite(self.outer):
            ring = np.where(theta >= top, self.n_rings - 1, ring)
        inside = (theta >= self.inner) & (theta < self.outer) & (ring >= 0) & (ring < self.n_rings)
        phi = (np.arctan2(ay, ax) - self.rotation) % (2 * np.pi)
        seg = np.minimum((phi / (2 * np.pi / self.n_segments)).astype(int), self.n_segments - 1)
        channel = np.where(inside, ring * self.n_segments + seg, -1)
        return (channel[None] == np.arange(self.n_rings * self.n_segments)[:, None, None]).astype(np.float64)

    def prepare(self, beam, grid) -> MaskState:
        return MaskState(self.masks(beam, grid))

    def apply(self, state: MaskState, dp):
        """(…, ny, nx) → (…, n_rings·n_segments) fractions of the probe."""
        return _linear_apply(state, dp)

    def channel_names(self) -> tuple:
        return tuple(f"{self.name}_r{r}_s{s}" for r in range(self.n_rings) for s in range(self.n_segments))

    def measurements(self, signal, leading_axes, metadata, beam, grid) -> dict:
        meta = {**metadata, "detector": self.to_dict(), **self.quantity()}
        return {name: Measurement(signal[..., i], tuple(leading_axes), {**meta, "channel": i},
                                  scan_signal_ndim(leading_axes, ()))
                for i, name in enumerate(self.channel_names())}


@pytree.dataclass
class PixelatedDetector(Detector):
    """The diffraction pattern within ``max_angle`` [mrad] (``inf``: the whole grid), centred (zero
    frequency in the middle) and binned by ``bin`` × ``bin`` pixels (4D-STEM).

    Signal: (…, my, mx) fractions of the probe per (binned) pixel; axes θy, θx [mrad] whose origin
    is the angle of the first (binned) pixel's centre, so θ = 0 lies at the pattern's centre.
    """

    max_angle: float = pytree.field(static=True, units="mrad", default=float("inf"))
    bin: int = pytree.field(static=True, default=1)
    name: str = pytree.field(static=True, default="pixelated")

    def quantity(self) -> dict:
        # HyperSpy signal type of diffraction patterns (pyxem's ElectronDiffraction2D where installed)
        return {"quantity": FRACTION, "signal_type": "electron_diffraction"}

    def __post_init__(self):
        object.__setattr__(self, "max_angle", validate.scalar(self.max_angle, "max_angle", "mrad", positive=True,
                                                              finite=False, allow_traced=False))
        if math.isnan(self.max_angle):
            raise validate.InputError(f"max_angle must be > 0 mrad, got {self.max_angle!r}")
        object.__setattr__(self, "bin", validate.integer(self.bin, "bin", lo=1))
        object.__setattr__(self, "name", _name(self.name))

    def crop(self, beam, grid) -> tuple:
        """Sizes (sy, sx) in pixels of the centred crop before binning (multiples of ``bin``)."""
        beam, grid = as_beam(beam), _grid(grid)
        beam.check_angle(self.max_angle, grid, f"detector {self.name!r} max_angle", limit="nyquist",
                         allow_inf=True)
        sizes = []
        for n, dtheta in zip(grid.gpts, beam.angular_sampling(grid)):
            h = min(n // 2 - 1 if n > 2 else 0, int(np.floor(self.max_angle / dtheta * (1 + 1e-12)))
                    if math.isfinite(self.max_angle) else n)
            size = ((2 * h + 1) // self.bin) * self.bin
            if size < 1:
                raise validate.InputError(
                    f"detector {self.name!r}: max_angle {self.max_angle:g} mrad holds {2 * h + 1} pixel(s) of "
                    f"{dtheta:.4g} mrad, fewer than one bin of {self.bin}; use a larger max_angle or bin")
            sizes.append(size)
        return tuple(sizes)

    def _first(self, size: int) -> int:
        # frequency index of the crop's first pixel: the central binned pixel is centred on θ = 0 for an
        # odd bin (half a pixel off for an even bin)
        return -((size // self.bin) // 2) * self.bin - self.bin // 2

    def _indices(self, size: int, n: int) -> np.ndarray:
        # frequency indices (…, −1, 0, 1, …) with the zero at the centre of the central (binned) pixel
        return (np.arange(size) + self._first(size)) % n

    def prepare(self, beam, grid) -> CropState:
        sy, sx = self.crop(beam, grid)
        return CropState(self._indices(sy, grid.gpts[0]).astype(np.int32),
                         self._indices(sx, grid.gpts[1]).astype(np.int32), tuple(grid.gpts))

    def apply(self, state: CropState, dp):
        """(…, ny, nx) unshifted → (…, my, mx) centred, cropped and binned."""
        if state.gpts is not None:
            _check_pattern(dp, state.gpts)
        out = jnp.take(jnp.take(dp, state.rows, axis=-2), state.cols, axis=-1)
        if self.bin > 1:
            b = self.bin
            sy, sx = out.shape[-2:]
            out = out.reshape(out.shape[:-2] + (sy // b, b, sx // b, b)).sum(axis=(-3, -1))
        return out

    def sampling(self, beam, grid) -> tuple:
        """Angular size (dθy, dθx) [mrad] of a (binned) pixel."""
        return tuple(d * self.bin for d in as_beam(beam).angular_sampling(_grid(grid)))

    def signal_axes(self, beam, grid) -> tuple:
        beam = as_beam(beam)
        axes = []
        for name, size, d in zip(("θy", "θx"), self.crop(beam, grid), beam.angular_sampling(grid)):
            # centre of binned pixel 0: first frequency index + (bin − 1)/2
            origin = (self._first(size) + (self.bin - 1) / 2) * d
            axes.append(Axis(name, d * self.bin, "mrad", float(origin)))
        return tuple(axes)


@pytree.dataclass
class CenterOfMassDetector(Detector):
    """Centre of mass (θy, θx) [mrad] of the pattern within ``max_angle`` [mrad] (default inf: all).

    Signal: (…, 2) = Σ θ·DP / Σ DP over θ ≤ max_angle (0 where the pattern is empty there).
    """

    max_angle: float = pytree.field(static=True, units="mrad", default=float("inf"))
    name: str = pytree.field(static=True, default="com")

    def __post_init__(self):
        v = validate.scalar(self.max_angle, "max_angle", "mrad", positive=True, finite=False, allow_traced=False)
        if math.isnan(v):
            raise validate.InputError(f"max_angle must be > 0 mrad, got {self.max_angle!r}")
        object.__setattr__(self, "max_angle", v)
        object.__setattr__(self, "name", _name(self.name))

    def weights(self, beam, grid) -> np.ndarray:
        """(3, ny, nx) float64: the aperture and θy, θx [mrad] inside it (FFT order)."""
        beam, grid = as_beam(beam), _grid(grid)
        beam.check_angle(self.max_angle, grid, f"detector {self.name!r} max_angle", limit="nyquist",
                         allow_inf=True)
        ay, ax = _angles(beam, grid)
        inside = (np.hypot(ay, ax) <= self.max_angle).astype(np.float64)
        return np.stack([inside, ay * inside, ax * inside])

    def prepare(self, beam, grid) -> MaskState:
        return MaskState(self.weights(beam, grid))

    def apply(self, state: MaskState, dp):
        """(…, ny, nx) → (…, 2) centre of mass (θy, θx) [mrad]."""
        moments = _linear_apply(state, dp)
        total = moments[..., :1]
        return jnp.where(total > 0, moments[..., 1:] / jnp.where(total > 0, total, 1), 0)

    def signal_axes(self, beam, grid) -> tuple:
        return (Axis("component (θy, θx)", 1.0, "index"),)

    def quantity(self) -> dict:
        return {"quantity": "centre of mass of the diffraction pattern", "units": "mrad"}
