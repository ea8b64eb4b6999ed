"""STEM detectors acting on diffraction patterns.

Diffraction patterns are fractions of the incident probe per reciprocal pixel, unshifted (zero
frequency at [0, 0]). Linear detectors (annular, segmented) are weight masks on that grid, so a
signal is Σ_k mask(k)·DP(k): the fraction of the beam the detector collects. Angles in mrad.

* :class:`AnnularDetector` — BF, ABF, ADF, HAADF by inner/outer angle.
* :class:`SegmentedDetector` — rings × azimuthal segments (DPC), with a rotation [rad].
* :class:`PixelatedDetector` — the pattern cropped to ``max_angle`` and binned (4D-STEM).
* :class:`CenterOfMassDetector` — first moment of the pattern (θy, θx) [mrad].
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from .. import physics


def _angles(grid, energy):
    lam = physics.wavelength(energy)
    ky, kx = (np.fft.fftfreq(n, d) for n, d in zip(grid.gpts, grid.sampling))
    ay, ax = np.meshgrid(ky * lam * 1e3, kx * lam * 1e3, indexing="ij")
    return ay, ax


def _check_range(inner, outer, what):
    if not (math.isfinite(inner) and math.isfinite(outer)) or inner < 0 or outer <= inner:
        raise ValueError(f"{what} needs 0 ≤ inner < outer [mrad], got inner={inner}, outer={outer}")


@dataclass(frozen=True)
class AnnularDetector:
    """Annulus inner ≤ θ < outer [mrad]."""

    inner: float
    outer: float
    name: str = "annular"

    def __post_init__(self):
        _check_range(self.inner, self.outer, f"AnnularDetector {self.name!r}")

    def masks(self, grid, energy) -> np.ndarray:
        ay, ax = _angles(grid, energy)
        theta = np.hypot(ay, ax)
        limit = grid.cutoff_angle(energy)
        if self.outer > limit + 1e-6 and math.isfinite(self.outer):
            raise ValueError(f"detector {self.name!r} reaches {self.outer} mrad but the grid only holds "
                             f"{limit:.4g} mrad at {energy:.4g} eV: use a finer sampling "
                             f"(≤ {max(grid.sampling) * limit / self.outer:.3g} Å)")
        return ((theta >= self.inner) & (theta < self.outer)).astype(np.float64)[None]

    def channel_names(self):
        return [self.name]


@dataclass(frozen=True)
class SegmentedDetector:
    """``n_rings`` × ``n_segments`` sectors between inner and outer [mrad], rotated by ``rotation`` [rad]."""

    inner: float
    outer: float
    n_segments: int = 4
    n_rings: int = 1
    rotation: float = 0.0
    name: str = "segmented"

    def __post_init__(self):
        _check_range(self.inner, self.outer, "SegmentedDetector")
        if self.n_segments < 1 or self.n_rings < 1:
            raise ValueError(f"n_segments and n_rings must be ≥ 1, got {self.n_segments}, {self.n_rings}")

    def masks(self, grid, energy) -> np.ndarray:
        AnnularDetector(self.inner, self.outer, self.name).masks(grid, energy)  # range check
        ay, ax = _angles(grid, energy)
        theta = np.hypot(ay, ax)
        phi = (np.arctan2(ay, ax) - self.rotation) % (2 * np.pi)
        edges = np.linspace(self.inner, self.outer, self.n_rings + 1)
        out = []
        for r in range(self.n_rings):
            ring = (theta >= edges[r]) & (theta < edges[r + 1])
            for s in range(self.n_segments):
                sector = (phi >= 2 * np.pi * s / self.n_segments) & (phi < 2 * np.pi * (s + 1) / self.n_segments)
                out.append((ring & sector).astype(np.float64))
        return np.stack(out)

    def channel_names(self):
        return [f"{self.name}_r{r}_s{s}" for r in range(self.n_rings) for s in range(self.n_segments)]


@dataclass(frozen=True)
class PixelatedDetector:
    """The diffraction pattern within ``max_angle`` [mrad] (centred), binned by ``bin`` pixels."""

    max_angle: float
    bin: int = 1
    name: str = "pixelated"

    def __post_init__(self):
        if not self.max_angle > 0 or int(self.bin) != self.bin or self.bin < 1:
            raise ValueError(f"PixelatedDetector needs max_angle > 0 mrad and an integer bin ≥ 1, "
                             f"got {self.max_angle}, {self.bin}")

    def crop(self, grid, energy) -> tuple:
        """Half-widths (hy, hx) in pixels of the cropped pattern, a multiple of ``bin`` in size."""
        lam = physics.wavelength(energy)
        halves = []
        for n, d in zip(grid.gpts, grid.sampling):
            dk = lam * 1e3 / (n * d)
            h = min(n // 2 - 1, int(np.floor(self.max_angle / dk)))
            size = ((2 * h + 1) // self.bin) * self.bin
            if size < 1:
                raise ValueError(f"PixelatedDetector: max_angle {self.max_angle} mrad holds no pixel after binning")
            halves.append(size)
        return tuple(halves)

    def apply(self, dp, grid, energy):
        """(…, ny, nx) unshifted pattern → (…, my, mx) centred, cropped and binned."""
        sy, sx = self.crop(grid, energy)
        ny, nx = grid.gpts
        iy = (np.arange(sy) - sy // 2) % ny
        ix = (np.arange(sx) - sx // 2) % nx
        out = dp[..., iy, :][..., ix]
        if self.bin > 1:
            b = self.bin
            out = out.reshape(out.shape[:-2] + (sy // b, b, sx // b, b)).sum(axis=(-3, -1))
        return out

    def sampling(self, grid, energy) -> tuple:
        lam = physics.wavelength(energy)
        return tuple(lam * 1e3 / (n * d) * self.bin for n, d in zip(grid.gpts, grid.sampling))


@dataclass(frozen=True)
class CenterOfMassDetector:
    """Centre of mass (θy, θx) [mrad] of the pattern within ``max_angle`` [mrad] (default: all)."""

    max_angle: float = math.inf
    name: str = "com"

    def weights(self, grid, energy):
        ay, ax = _angles(grid, energy)
        inside = (np.hypot(ay, ax) <= self.max_angle).astype(np.float64)
        return np.stack([inside, ay * inside, ax * inside])

    def apply(self, dp, weights):
        moments = jnp.tensordot(dp, weights, axes=((-2, -1), (-2, -1)))
        return moments[..., 1:] / jnp.maximum(moments[..., :1], 1e-30)
