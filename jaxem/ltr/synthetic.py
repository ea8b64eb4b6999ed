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

**Dose bookkeeping.** The beam delivers the same number of electrons N to every frame. N is the
largest expected number of electrons of all components in any frame and at any position
(:attr:`SyntheticLTR.beam_electrons`), unless a ``scan_step`` is given, in which case
N = ``frame_dose`` × ``scan_step``² (and must be at least that largest count). The stated dose
(:attr:`SyntheticLTR.dose`) is built from N: ``frame_dose`` [e⁻/Å²] is the areal dose of N electrons
on a scan step of √(N/``frame_dose``) Å. The electrons of a frame that the components do not account
for (reflections that have faded, scattering outside the detector, energy loss) are not recorded, so
the recorded events per frame never exceed N; the demo states both numbers.

Events are drawn in blocks of :data:`RNG_BLOCK` consecutive positions, each with its own random
stream (seeded by ``seed`` and the block's first position), so the data of a seed do not depend on
the memory budget that sets how many blocks are drawn at once.
"""
from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from .. import accel, noise, pytree, validate
from .dose import DoseSchedule, cumulative_dose
from .events import EventData, make_events

#: positions per independent random stream (part of the definition of the synthetic data of a seed)
RNG_BLOCK = 256


def _square_lattice(detector_shape, spacing: float, orders: int = 2):
    cy, cx = detector_shape[0] // 2, detector_shape[1] // 2
    out = []
    for h in range(-orders, orders + 1):
        for k in range(-orders, orders + 1):
            if (h, k) != (0, 0) and max(abs(h), abs(k)) <= orders:
                out.append((cy + h * spacing, cx + k * spacing))
    return tuple(out)


def _static(default, units=None):
    return pytree.field(static=True, units=units, default=default)


@pytree.dataclass
class SyntheticLTR:
    """Parameters of a synthetic LTR-STEM acquisition (see the module docstring).

    Attributes:
        scan_shape: (scan_y, scan_x).
        n_frames: frames per position.
        detector_shape: (ny, nx) pixels.
        frame_dose: areal fluence per frame [e⁻/Å²].
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
        scan_step: scan step [Å] that, with ``frame_dose``, fixes the beam's electrons per frame;
            ``None`` (default): the step at which the beam delivers exactly the largest expected count.
        modulation: optional per-position intensity factors (n_positions, n_reflections) (a leaf).
    """

    scan_shape: tuple = _static((8, 8))
    n_frames: int = _static(50)
    detector_shape: tuple = _static((32, 32))
    frame_dose: float = _static(2.0, "e⁻/Å²")
    centers: tuple = _static(((16.0, 24.0), (24.0, 16.0), (16.0, 8.0), (8.0, 16.0)))
    intensity: tuple = _static((10.0, 10.0, 10.0, 10.0), "counts/frame")
    critical_dose: tuple = _static((20.0, 20.0, 20.0, 20.0), "e⁻/Å²")
    floor: tuple = _static((0.0, 0.0, 0.0, 0.0))
    growth: tuple = _static((None, None, None, None))
    radius: float = _static(2.0, "px")
    direct_beam: float = _static(10.0, "counts/frame")
    halo: float = _static(5.0, "counts/frame")
    halo_sigma: float = _static(8.0, "px")
    flat: float = _static(2.0, "counts/frame")
    shift_amplitude: float = _static(0.0, "px")
    dc_contrast: float = _static(0.0)
    detector_sampling: float = _static(0.02, "1/Å")
    scan_step: float | None = _static(None, "Å")
    modulation: np.ndarray | None = pytree.field(default=None, compare=False)

    def __post_init__(self):
        k = len(self.centers)
        for name in ("intensity", "critical_dose", "floor", "growth"):
            if len(getattr(self, name)) != k:
                raise validate.InputError(f"{name} needs one entry per reflection ({k}), got {len(getattr(self, name))}")
        validate.pair(self.scan_shape, "scan_shape", kind=int, lo=1)
        validate.pair(self.detector_shape, "detector_shape", kind=int, lo=1)
        validate.allocation((*self.scan_shape, *self.detector_shape), "scan_shape × detector_shape",
                            (self.scan_shape, self.detector_shape), "px")
        validate.integer(self.n_frames, "n_frames", lo=1)
        validate.scalar(self.frame_dose, "frame_dose", "e⁻/Å²", positive=True)
        for name in ("radius", "halo_sigma", "detector_sampling"):
            validate.scalar(getattr(self, name), name, pytree.units_of(self)[name], positive=True)
        for name in ("direct_beam", "halo", "flat", "shift_amplitude"):
            validate.scalar(getattr(self, name), name, pytree.units_of(self)[name], nonnegative=True)
        validate.scalar(self.dc_contrast, "dc_contrast", lo=0.0, hi=1.0, hi_open=True)
        centers = validate.array(np.asarray(self.centers, float).reshape(-1, 2), "centers", kind="real", units="px")
        ny, nx = self.detector_shape
        outside = ~((centers[:, 0] >= 0) & (centers[:, 0] <= ny - 1) & (centers[:, 1] >= 0) & (centers[:, 1] <= nx - 1))
        if np.any(outside):
            j = int(np.argmax(outside))
            raise validate.InputError(f"centers[{j}] = {tuple(centers[j])} px lies outside the detector "
                                      f"{tuple(self.detector_shape)} (pixels 0…{ny - 1}, 0…{nx - 1})")
        validate.array(np.asarray(self.intensity, float), "intensity", kind="real", nonnegative=True,
                       units="counts/frame", min_size=0)
        dc = np.asarray(self.critical_dose, float)
        if np.any(np.isnan(dc)) or np.any(dc <= 0):
            raise validate.InputError(f"critical_dose must be > 0 [e⁻/Å²] (inf = stable), got {self.critical_dose}")
        fl = np.asarray(self.floor, float)
        if not np.all((fl >= 0) & (fl <= 1)):
            raise validate.InputError(f"floor fractions must be in [0, 1], got {self.floor}")
        for j, g in enumerate(self.growth):
            if g is not None:
                if len(g) != 3:
                    raise validate.InputError(f"growth[{j}] must be None or (K [Å²/e⁻], n, D0 [e⁻/Å²]), got {g!r}")
                validate.scalar(g[0], f"growth[{j}] K", "Å²/e⁻", positive=True)
                validate.scalar(g[1], f"growth[{j}] n", positive=True)
                validate.scalar(g[2], f"growth[{j}] D0", "e⁻/Å²", nonnegative=True)
        if self.modulation is not None and not validate.is_traced(self.modulation):
            validate.array(self.modulation, "modulation", kind="real", nonnegative=True)
            if np.size(self.modulation) != self.n_positions * k:
                raise validate.InputError(f"modulation must have n_positions × n_reflections = "
                                          f"{self.n_positions} × {k} values, got shape {np.shape(self.modulation)}")
        if self.scan_step is not None:
            validate.scalar(self.scan_step, "scan_step", "Å", positive=True)
            beam = self.frame_dose * self.scan_step ** 2
            need = self.model_electrons
            if beam < need * (1 - 1e-9):
                raise validate.InputError(
                    f"scan_step = {self.scan_step:g} Å with frame_dose = {self.frame_dose:g} e⁻/Å² delivers "
                    f"{beam:.4g} e⁻ per frame, fewer than the {need:.4g} e⁻ the components expect; "
                    f"use scan_step ≥ {np.sqrt(need / self.frame_dose):.4g} Å or scan_step=None")

    @property
    def n_positions(self) -> int:
        return int(np.prod(self.scan_shape))

    @property
    def model_electrons(self) -> float:
        """Largest expected number of electrons of all components in one frame [e⁻] (over frames and
        positions: modulation and the critical-dose map factor taken at their maxima)."""
        k = len(self.centers)
        mod = np.ones(k) if self.modulation is None else \
            np.asarray(self.modulation, np.float64).reshape(self.n_positions, k).max(0)
        return float(np.max(self._components(mod, 1.0 + abs(self.dc_contrast)).sum(-1)))

    @property
    def beam_electrons(self) -> float:
        """Electrons the beam delivers per frame N [e⁻] (see the module docstring)."""
        if self.scan_step is not None:
            return float(self.frame_dose * self.scan_step ** 2)
        return self.model_electrons

    @property
    def dose(self) -> DoseSchedule:
        """The dose schedule that was simulated: ``frame_dose`` [e⁻/Å²] of :attr:`beam_electrons`
        electrons per frame on a scan step √(N/frame_dose) [Å] (probe d50 = scan step)."""
        step = self.scan_step if self.scan_step is not None else float(np.sqrt(self.beam_electrons / self.frame_dose))
        return DoseSchedule.from_frame_dose(self.frame_dose, scan_step=step)

    def _components(self, mod, cf):
        """Expected counts (n_frames, K + 3) for intensity factors ``mod`` (K,) and D_c factor ``cf``."""
        D = self.doses[:, None]
        k = len(self.centers)
        I0 = np.array(self.intensity, np.float64)[None, :] * mod[None, :]
        dc = np.array(self.critical_dose, np.float64)[None, :] * cf
        f = np.array(self.floor, np.float64)[None, :]
        decay = f + (1 - f) * np.exp(-D / dc)
        grow = np.zeros((self.n_frames, k))
        for j, g in enumerate(self.growth):  # a few reflections
            if g is not None:
                grow[:, j] = jmak(self.doses, *g)
        is_growth = np.array([g is not None for g in self.growth])[None, :]
        w = np.zeros((self.n_frames, k + 3))
        w[:, :k] = I0 * np.where(is_growth, grow, decay)
        w[:, k:] = (self.direct_beam, self.halo, self.flat)
        return w

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
        positions = self._positions(positions)
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
        for j, g in enumerate(self.growth):  # a few reflections
            if g is not None:
                grow[0, :, j] = jmak(self.doses, *g)
        is_growth = np.array([g is not None for g in self.growth])[None, None, :]
        w[..., :k] = I0 * np.where(is_growth, grow, decay)
        w[..., k] = self.direct_beam
        w[..., k + 1] = self.halo
        w[..., k + 2] = self.flat
        return w

    def lost_electrons(self, positions) -> np.ndarray:
        """Beam electrons per frame that no component accounts for (n_sel, n_frames) [e⁻] (≥ 0)."""
        return self.beam_electrons - self.weights(positions).sum(-1)

    def _positions(self, positions) -> np.ndarray:
        validate.array(positions, "positions", ndim=(0, 1), kind="integer")
        p = np.atleast_1d(np.asarray(positions))
        if p.size and (p.min() < 0 or p.max() >= self.n_positions):
            raise validate.InputError(f"positions must be flat scan indices in [0, {self.n_positions}), got "
                                      f"{p.min()}..{p.max()}")
        return p

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
        dose: dose D [e⁻/Å²]. K: rate [Å²/e⁻] (> 0). n: Avrami exponent (> 0). D0: onset dose [e⁻/Å²].
    """
    (validate.scalar if np.ndim(dose) == 0 else validate.array)(dose, "dose", units="e⁻/Å²")
    K = validate.scalar(K, "K", "Å²/e⁻", positive=True)
    n = validate.scalar(n, "n", positive=True)
    D0 = validate.scalar(D0, "D0", "e⁻/Å²")
    x = np.maximum(np.asarray(dose, np.float64) - D0, 0.0) * K
    return 1.0 - np.exp(-x ** n)


@validate.typed
def expected_frames(spec: SyntheticLTR, positions) -> np.ndarray:
    """Expected counts per pixel (n_sel, n_frames, ny, nx) at flat ``positions`` (the truth)."""
    positions = spec._positions(positions)
    w = spec.weights(positions)
    return np.stack([np.einsum("tk,kyx->tyx", w[i], spec.templates(p)) for i, p in enumerate(positions)])


def _sample_chunk(spec: SyntheticLTR, positions: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = spec.detector_shape
    w = spec.weights(positions)                    # (P, T, C)
    P, T, C = w.shape
    n = noise.poisson_numpy(rng, w, "expected counts per frame and component (SyntheticLTR.weights)",
                            integer=True).ravel()
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


def _check_spec(spec):
    if not isinstance(spec, SyntheticLTR):
        raise validate.InputTypeError(f"spec must be a SyntheticLTR, got {type(spec).__name__}")
    return spec


def blocks_per_chunk(spec: SyntheticLTR, memory_budget=None) -> int:
    """Random-stream blocks (:data:`RNG_BLOCK` positions each) drawn at once within the memory budget:
    a position's working set is its expected events (≈ 80 bytes each while drawing: ids, offsets,
    coordinates) plus its (n_frames × components) expected counts."""
    per_pos = int(80 * spec.beam_electrons * spec.n_frames + 16 * spec.n_frames * (len(spec.centers) + 3)) + 1
    n_blocks = -(-spec.n_positions // RNG_BLOCK)
    return accel.batch_size(per_pos * min(RNG_BLOCK, spec.n_positions), n_blocks, memory_budget)


def _block(spec, seed, b):
    """Events of the random-stream block starting at position ``b``: (indices, per-segment counts)."""
    rng = np.random.default_rng([seed, b])
    return _sample_chunk(spec, np.arange(b, min(spec.n_positions, b + RNG_BLOCK)), rng)


def iter_events(spec: SyntheticLTR, seed: int = 0, memory_budget=None, positions_per_chunk: int | None = None):
    """Yield EventData chunks (scan shape (1, n)) of consecutive positions; reproducible per seed.

    Args:
        spec: the acquisition.
        seed: random seed (≥ 0).
        memory_budget: memory budget [bytes or '256M'] that sets the chunk size (whole random-stream
            blocks of :data:`RNG_BLOCK` positions).
        positions_per_chunk: an explicit chunk size instead (≥ 1).

    The events of a seed are the same for every chunking.
    """
    _check_spec(spec)
    seed = validate.integer(seed, "seed", lo=0)
    if positions_per_chunk is not None:
        step = validate.integer(positions_per_chunk, "positions_per_chunk", lo=1)
    else:
        step = blocks_per_chunk(spec, memory_budget) * RNG_BLOCK
    dose, T, n = spec.dose, spec.n_frames, spec.n_positions
    cached = (None, None, None)                      # (block start, indices, segment offsets)
    for start in range(0, n, step):
        stop = min(n, start + step)
        idx, counts = [], []
        for b in range(start - start % RNG_BLOCK, stop, RNG_BLOCK):  # the blocks this chunk touches
            if cached[0] != b:
                i, c = _block(spec, seed, b)
                cached = (b, i, np.concatenate([[0], np.cumsum(c)]))
            _, i, off = cached
            lo, hi = max(start, b) - b, min(stop, b + RNG_BLOCK) - b
            idx.append(i[off[lo * T]:off[hi * T]])
            counts.append(np.diff(off[lo * T:hi * T + 1]))
        c = np.concatenate(counts)
        yield make_events(np.concatenate(idx), np.concatenate([[0], np.cumsum(c)]), (1, stop - start),
                          T, spec.detector_shape, dose, detector_sampling=spec.detector_sampling, check=False)


@validate.typed
def simulate_events(spec: SyntheticLTR, seed: int = 0, memory_budget=None,
                    positions_per_chunk: int | None = None) -> EventData:
    """Draw the whole synthetic dataset as one in-memory :class:`EventData` (its ``dose`` is
    :attr:`SyntheticLTR.dose`, the dose that was simulated)."""
    idx, counts = [], []
    for chunk in iter_events(spec, seed, memory_budget, positions_per_chunk):
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
    n_repeats = validate.integer(n_repeats, "n_repeats", lo=1)
    validate.array(doses, "doses", ndim=1, kind="real", units="e⁻/Å²")
    D = np.asarray(doses, np.float64)
    i0 = validate.scalar(i0, "i0", "counts/frame", nonnegative=True)
    critical_dose = validate.scalar(critical_dose, "critical_dose", "e⁻/Å²", positive=True)
    floor = validate.scalar(floor, "floor", nonnegative=True)
    onset = validate.scalar(onset, "onset", "e⁻/Å²", nonnegative=True)
    lam = i0 * floor + i0 * np.exp(-np.maximum(D - onset, 0.0) / critical_dose)
    rng = np.random.default_rng(validate.integer(seed, "seed", lo=0))
    counts = noise.poisson_numpy(rng, np.broadcast_to(lam, (n_repeats, D.size)),
                                 "expected counts λ = i0·(floor + exp(−(D − onset)₊/critical_dose))", integer=True)
    return counts, lam
