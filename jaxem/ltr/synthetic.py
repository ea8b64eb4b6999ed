"""Synthetic LTR-STEM data with known truth: Bragg disks that fade or grow, diffuse background, events.

The expected counts of component k in frame t at position p are

* fading reflection:  λ = I_k·m_k(p)·[f_k + (1 − f_k)·exp(−D_t / (D_c,k·c(p)))]   (floor fraction f_k),
* growing reflection: λ = I_k·m_k(p)·X(D_t),  X(D) = 1 − exp(−[K(D − D₀)]ⁿ) for D > D₀ (JMAK),
* direct beam, amorphous halo (a Gaussian around the centre, σ [px]) and a flat background: constant,

with D_t the cumulative dose at frame centre [e⁻/Å²] (:func:`jaxem.ltr.dose.cumulative_dose`),
m_k(p) an optional per-position intensity modulation and c(p) an optional critical-dose map factor.
Disks (uniform, radius r [px]) are shifted by a smooth per-position field s(p) [px] (a bending
contour). Events are drawn exactly from this model: the count of each component in each frame is
Poisson, each electron lands uniformly in its disk (or Gaussian/flat for the background) and falls
in the pixel containing it (pixel i covers [i − ½, i + ½)); events off the detector are lost.
:func:`expected_frames` returns the matching expected counts per pixel (disk–pixel overlap by 16×16
supersampling; halo by exact error-function integrals).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from .dose import DoseSchedule, cumulative_dose
from .events import EventData, make_events


def _square_lattice(detector_shape, spacing: float, orders: int = 2):
    cy, cx = detector_shape[0] // 2, detector_shape[1] // 2
    out = []
    for h in range(-orders, orders + 1):
        for k in range(-orders, orders + 1):
            if (h, k) != (0, 0) and max(abs(h), abs(k)) <= orders:
                out.append((cy + h * spacing, cx + k * spacing))
    return tuple(out)


@dataclass(frozen=True)
class SyntheticLTR:
    """Parameters of a synthetic LTR-STEM acquisition (see the module docstring).

    Attributes:
        scan_shape: (scan_y, scan_x).
        n_frames: frames per position.
        detector_shape: (ny, nx) pixels.
        frame_dose: fluence per frame [e⁻/Å²].
        centers: reflection centres (ky, kx) [px] (the direct beam is added at the detector centre).
        intensity: counts per frame at D = 0 (fading) or at saturation (growing), per reflection.
        critical_dose: D_c [e⁻/Å²] per reflection (``inf`` = stable); ignored for growing ones.
        floor: residual fraction f per fading reflection.
        growth: per reflection ``None`` (fading) or JMAK ``(K [Å²/e⁻], n, D0 [e⁻/Å²])``.
        radius: disk radius [px].
        direct_beam: direct-beam counts per frame.
        halo: amorphous-halo counts per frame; halo_sigma [px] its Gaussian width.
        flat: flat-background counts per frame (whole detector).
        shift_amplitude: amplitude of the disk-shift field [px].
        dc_contrast: critical-dose map factor c(p) = 1 + dc_contrast·(2x/(sx−1) − 1) (x = scan column).
        detector_sampling: detector pixel size [1/Å].
    """

    scan_shape: tuple = (8, 8)
    n_frames: int = 50
    detector_shape: tuple = (32, 32)
    frame_dose: float = 2.0
    centers: tuple = ((16.0, 24.0), (24.0, 16.0), (16.0, 8.0), (8.0, 16.0))
    intensity: tuple = (10.0, 10.0, 10.0, 10.0)
    critical_dose: tuple = (20.0, 20.0, 20.0, 20.0)
    floor: tuple = (0.0, 0.0, 0.0, 0.0)
    growth: tuple = (None, None, None, None)
    radius: float = 2.0
    direct_beam: float = 10.0
    halo: float = 5.0
    halo_sigma: float = 8.0
    flat: float = 2.0
    shift_amplitude: float = 0.0
    dc_contrast: float = 0.0
    detector_sampling: float = 0.02
    modulation: np.ndarray | None = field(default=None, compare=False)

    def __post_init__(self):
        k = len(self.centers)
        for name in ("intensity", "critical_dose", "floor", "growth"):
            if len(getattr(self, name)) != k:
                raise ValueError(f"{name} needs one entry per reflection ({k}), got {len(getattr(self, name))}")
        if self.radius <= 0 or self.frame_dose <= 0 or self.n_frames < 1:
            raise ValueError("radius [px], frame_dose [e-/A^2] and n_frames must be > 0")

    @property
    def n_positions(self) -> int:
        return int(np.prod(self.scan_shape))

    @property
    def dose(self) -> DoseSchedule:
        return DoseSchedule.from_frame_dose(self.frame_dose)

    @property
    def doses(self) -> np.ndarray:
        """Cumulative dose at frame centres [e⁻/Å²]."""
        return cumulative_dose(np.full(self.n_frames, self.frame_dose))

    @property
    def all_centers(self) -> np.ndarray:
        """Nominal centres of reflections then the direct beam (ky, kx) [px]."""
        c = np.array(self.centers, np.float64).reshape(-1, 2)
        return np.vstack([c, [[self.detector_shape[0] // 2, self.detector_shape[1] // 2]]])

    def g_magnitude(self) -> np.ndarray:
        """|g| of each reflection [1/Å]."""
        c = np.array(self.centers, np.float64).reshape(-1, 2) - self.all_centers[-1]
        return np.hypot(c[:, 0], c[:, 1]) * self.detector_sampling

    def shift(self, positions) -> np.ndarray:
        """Disk shift (dy, dx) [px] at flat ``positions``: a smooth bending-contour-like field."""
        sy, sx = self.scan_shape
        y, x = np.divmod(np.asarray(positions), sx)
        a = self.shift_amplitude
        return np.stack([a * np.sin(2 * np.pi * (x + 0.5 * y) / max(sx, 2)),
                         a * np.cos(2 * np.pi * y / max(sy, 2))], -1)

    def dc_factor(self, positions) -> np.ndarray:
        """Critical-dose map factor c(p) (dimensionless)."""
        sx = self.scan_shape[1]
        x = np.asarray(positions) % sx
        return 1.0 + self.dc_contrast * (2 * x / max(sx - 1, 1) - 1)

    def weights(self, positions) -> np.ndarray:
        """Expected counts (n_sel, n_frames, K + 3): reflections, direct beam, halo, flat."""
        positions = np.atleast_1d(positions)
        D = self.doses[None, :, None]
        k = len(self.centers)
        w = np.zeros((positions.size, self.n_frames, k + 3))
        mod = np.ones((positions.size, k)) if self.modulation is None else \
            np.asarray(self.modulation).reshape(self.n_positions, k)[positions]
        cf = self.dc_factor(positions)[:, None, None]
        I0 = np.array(self.intensity, np.float64)[None, None, :] * mod[:, None, :]
        dc = np.array(self.critical_dose, np.float64)[None, None, :] * cf
        f = np.array(self.floor, np.float64)[None, None, :]
        decay = f + (1 - f) * np.exp(-D / dc)
        grow = np.zeros((1, self.n_frames, k))
        for j, g in enumerate(self.growth):
            if g is not None:
                K, n, D0 = g
                grow[0, :, j] = jmak(self.doses, K, n, D0)
        is_growth = np.array([g is not None for g in self.growth])[None, None, :]
        w[..., :k] = I0 * np.where(is_growth, grow, decay)
        w[..., k] = self.direct_beam
        w[..., k + 1] = self.halo
        w[..., k + 2] = self.flat
        return w

    def templates(self, position) -> np.ndarray:
        """Probability per pixel of one electron of each component at one position: (K + 3, ny, nx)."""
        ny, nx = self.detector_shape
        k = len(self.centers)
        out = np.zeros((k + 3, ny, nx))
        s = 16
        sub = (np.arange(s) + 0.5) / s - 0.5
        centers = self.all_centers + self.shift(position)[None, :]
        r = self.radius
        pad = int(np.ceil(r + np.abs(centers).max() + 1)) - min(ny, nx) // 2
        pad = max(pad, int(np.ceil(r)) + 1)
        yy = (np.arange(-pad, ny + pad)[:, None] + sub[None, :]).ravel()
        xx = (np.arange(-pad, nx + pad)[:, None] + sub[None, :]).ravel()
        for j, (cy, cx) in enumerate(centers):  # K + 1 disks, each a small supersampling
            inside = ((yy[:, None] - cy) ** 2 + (xx[None, :] - cx) ** 2) <= r * r
            cover = inside.reshape(ny + 2 * pad, s, nx + 2 * pad, s).sum((1, 3))
            # normalised on the padded grid: the probability lost off the detector stays lost
            out[j] = cover[pad:pad + ny, pad:pad + nx] / cover.sum()
        c0 = self.all_centers[-1]
        gy = ndtr((np.arange(ny) + 0.5 - c0[0]) / self.halo_sigma) - ndtr((np.arange(ny) - 0.5 - c0[0]) / self.halo_sigma)
        gx = ndtr((np.arange(nx) + 0.5 - c0[1]) / self.halo_sigma) - ndtr((np.arange(nx) - 0.5 - c0[1]) / self.halo_sigma)
        out[k + 1] = gy[:, None] * gx[None, :]
        out[k + 2] = 1.0 / (ny * nx)
        return out


def jmak(dose, K: float, n: float, D0: float) -> np.ndarray:
    """JMAK/Avrami transformed fraction X(D) = 1 − exp(−[K(D − D₀)]ⁿ) for D > D₀, else 0.

    Args:
        dose: dose D [e⁻/Å²]. K: rate [Å²/e⁻]. n: Avrami exponent. D0: onset dose [e⁻/Å²].
    """
    x = np.maximum(np.asarray(dose, np.float64) - D0, 0.0) * K
    return 1.0 - np.exp(-x ** n)


def expected_frames(spec: SyntheticLTR, positions) -> np.ndarray:
    """Expected counts per pixel (n_sel, n_frames, ny, nx) at flat ``positions`` (the truth)."""
    positions = np.atleast_1d(positions)
    w = spec.weights(positions)
    return np.stack([np.einsum("tk,kyx->tyx", w[i], spec.templates(p)) for i, p in enumerate(positions)])


def _sample_chunk(spec: SyntheticLTR, positions: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = spec.detector_shape
    w = spec.weights(positions)                    # (P, T, C)
    P, T, C = w.shape
    n = rng.poisson(w).ravel()
    gid = np.repeat(np.arange(P * T * C), n)        # grouped by segment (p, t), then component
    comp = gid % C
    seg = gid // C
    pos = positions[seg // T]
    k = len(spec.centers)
    centers = spec.all_centers[np.minimum(comp, k)] + spec.shift(pos)
    m = gid.size
    r = spec.radius * np.sqrt(rng.random(m))
    th = 2 * np.pi * rng.random(m)
    y = centers[:, 0] + r * np.sin(th)
    x = centers[:, 1] + r * np.cos(th)
    halo = comp == k + 1
    c0 = spec.all_centers[-1]
    y[halo] = c0[0] + spec.halo_sigma * rng.standard_normal(halo.sum())
    x[halo] = c0[1] + spec.halo_sigma * rng.standard_normal(halo.sum())
    flat = comp == k + 2
    y[flat] = rng.random(flat.sum()) * ny - 0.5
    x[flat] = rng.random(flat.sum()) * nx - 0.5
    iy, ix = np.floor(y + 0.5).astype(np.int64), np.floor(x + 0.5).astype(np.int64)
    ok = (iy >= 0) & (iy < ny) & (ix >= 0) & (ix < nx)
    idx = (iy * nx + ix)[ok]
    counts = np.bincount(seg[ok], minlength=P * T)
    return idx.astype(np.int32), counts


def iter_events(spec: SyntheticLTR, seed: int = 0, positions_per_chunk: int = 256):
    """Yield EventData chunks (scan shape (1, n)) of consecutive positions; reproducible per seed."""
    for start in range(0, spec.n_positions, positions_per_chunk):
        stop = min(spec.n_positions, start + positions_per_chunk)
        rng = np.random.default_rng([seed, start])
        idx, counts = _sample_chunk(spec, np.arange(start, stop), rng)
        yield make_events(idx, np.concatenate([[0], np.cumsum(counts)]), (1, stop - start), spec.n_frames,
                          spec.detector_shape, spec.dose, detector_sampling=spec.detector_sampling, check=False)


def simulate_events(spec: SyntheticLTR, seed: int = 0, positions_per_chunk: int = 256) -> EventData:
    """Draw the whole synthetic dataset as one in-memory :class:`EventData`."""
    idx, counts = [], []
    for chunk in iter_events(spec, seed, positions_per_chunk):
        idx.append(np.asarray(chunk.indices))
        counts.append(np.diff(np.asarray(chunk.offsets)))
    c = np.concatenate(counts)
    return make_events(np.concatenate(idx), np.concatenate([[0], np.cumsum(c)]), spec.scan_shape,
                       spec.n_frames, spec.detector_shape, spec.dose, detector_sampling=spec.detector_sampling)


def decay_series(n_repeats: int, doses, i0: float, critical_dose: float, floor: float, seed: int = 0,
                 onset: float = 0.0):
    """Poisson counts (n_repeats, n_frames) of one reflection: λ = B + I₀·exp(−(D − D_on)₊/D_c).

    ``floor`` is B/I₀. Returns (counts, λ). Used for coverage tests of the critical-dose fit.
    """
    D = np.asarray(doses, np.float64)
    lam = i0 * floor + i0 * np.exp(-np.maximum(D - onset, 0.0) / critical_dose)
    rng = np.random.default_rng(seed)
    return rng.poisson(np.broadcast_to(lam, (n_repeats, D.size))), lam
