"""FFT-spot detection: U-Net probability map → spots, classical baselines, and detection metrics.

Pipeline (after ICN2's ``peaks_recognition``/``symetrize``, with our own choices):

1. Canonical FFT (:func:`canonical_image`): the image is cropped to at most N·px₀ = 102.4 Å and
   resampled to the canonical pixel px₀ = 0.4 Å (so Δk = 1/(N·px₀) ≈ 0.00977 1/Å for N = 256, the
   sampling the network was trained on), then padded to N with its mean.
2. Probability p = σ(U-Net(x)), symmetrised p ← (p + p(−k))/2 (|F| is centrosymmetric).
3. Seeds: local maxima of p (3 × 3) above ``low`` (not one seed per connected component: crowded
   spots 3–5 px apart merge into one component at high dose). A seed is kept when p ≥ ``threshold``
   (default :data:`THRESHOLD`; ICN2 used 0.69) or, hysteresis, when p ≥ ``low`` and the FFT itself
   shows the spot: its background-flattened log|F| in robust noise units of *this* image
   (:func:`robust_z`, 3 × 3 maximum) is ≥ ``z_min`` — :data:`Z_MIN` is the median measured z of
   spots at the label's visibility limit SNR = 5 (see below). Each seed is moved uphill on the
   Gaussian-smoothed (σ = 1 px) log|F| within ``climb`` px (hill-climb), duplicates merged.
4. Sub-pixel refinement: a separable parabola through the 3 × 3 log|F| neighbourhood.
5. Search region: spots outside the region where a spot can be labelled in the canonical FFT (near the zero
   frequency, at the borders, beyond the Nyquist circle) are dropped (:func:`_in_support`, :data:`DC_RADIUS`).
6. Friedel filter: a spot is kept only if a spot lies within ``friedel_tol`` px of its mirror
   through the centre; the pair is then made exactly centrosymmetric (r ← (r − r_mate)/2).
7. Lattice step (when the image's dose is known, :mod:`jaxem.ml.lattice`): the reciprocal lattice(s) of the
   spots are fitted, and every lattice site is decided by the FFT's measured SNR there against a threshold that
   scales with √dose; this finds the faint spots of a low-dose FFT along the rows that its strong spots define.

Baselines (classical, shipped for comparison; thresholds in robust noise units so that they transfer
between images): :func:`detect_peak_local_max` (scikit-image ``peak_local_max`` on the background-
flattened log|F|, robust z ≥ ``k``) and :func:`detect_blob_log` (``blob_log`` on the same robust-z map).

Metrics: one-to-one matching within a radius r [px] (Hungarian, ``scipy.optimize.linear_sum_assignment``
with cost 10⁶ beyond r) → precision, recall, F1, RMSE of matched positions; Friedel consistency.
"""
from __future__ import annotations

import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage

from .. import pytree, validate
from .render import CANONICAL_N, CANONICAL_PIXEL, fft_input

MIN_SIZE = 64  # [px] smallest image accepted
#: probability threshold of the shipped network (first chosen by a sweep of 0.5 / 0.7 / 0.85 on the held-out set;
#: re-checked on *training* structures, 64 images per dose: 0.8 / 0.85 / 0.9 with the hysteresis below are within
#: ±0.003 in F1 at every dose without the lattice step. With the lattice step (:mod:`jaxem.ml.lattice`), tuned with
#: it on training structures, 32 images per dose: 0.9 gave F1 0.848 / 0.977 / 0.995 at 2 / 20 / 100 e⁻/px against
#: 0.838 / 0.975 / 0.994 at 0.85 and 0.837 / 0.968 / 0.995 at 0.95 (the U-Net's spots now give the lattice; the faint
#: ones are decided on it), so 0.9 since 2026-12-06)
THRESHOLD = 0.9
#: hysteresis of step 3: lower probability and FFT significance [robust σ]. Calibration (benchmarks/ffnet.py held-out
#: set, 8 structures × 16 images × 3 doses): labelled spots with expected SNR 5–6 have median measured z 2.9–3.3,
#: SNR 6–8 3.5–3.7, SNR < 4 ≤ 2.4; the network gives p < 0.85 to 16–43 % of SNR 5–12 spots at 100 e⁻/px (crowded
#: two-grain images), which the hysteresis recovers where the FFT supports them
LOW = 0.5
Z_MIN = 3.2
#: step 5, the searched region, which is where a spot can be labelled (:mod:`.render`): at least DC_RADIUS [px]
#: from the zero frequency and EDGE [px] inside the borders (the label's ``dc_radius``/``edge``), and within
#: R_MAX × N/2 of the centre: the bank holds frequencies up to the canonical Nyquist |k| ≤ 1/(2 px₀) (N/2 px), which
#: the renderer scales by at most 1 + 0.02. Beyond the Nyquist circle the FFT corners hold only aliased
#: harmonics of the non-linear parts of the image formation (intensity clipping, Poisson counting); at the borders
#: a real spot wraps around. These were 26 of the 78 false positives at 100 e⁻/px (benchmarks/ffnet.py --misses).
DC_RADIUS = 6.0
EDGE = 3.0
R_MAX = 1.02
#: optional seed tests on the measured SNR (:func:`_local_snr`), off by default: ``snr_min`` accepts p ≥ ``low``
#: seeds whose measured SNR reaches it (an alternative to ``z_min``), ``snr_floor`` rejects p ≥ ``threshold`` seeds
#: below it. Tuned on training structures (threshold 0.9, snr_min 5, snr_floor 4.5 was best there, +0.002 to +0.006
#: F1) they moved held-out F1 by −0.003 / +0.001 / +0.001 at 2 / 20 / 100 e⁻/px: inside the noise, not adopted.
SNR_MIN = None
SNR_FLOOR = None


@pytree.dataclass(eq=False)
class Spots:
    """Detected spots: positions (M, 2) (row, col) [px] in the centred canonical FFT (zero frequency at
    (N/2, N/2)); score (M,); g (M, 2) = (g_x, g_y) [1/Å]; dk [1/Å per px]."""

    positions: np.ndarray
    score: np.ndarray
    g: np.ndarray = pytree.field(units="1/Å")
    dk: float = pytree.field(static=True, default=1.0 / (CANONICAL_N * CANONICAL_PIXEL))

    def __len__(self) -> int:
        return int(np.shape(self.positions)[0])


def _points(value, name: str) -> np.ndarray:
    """(M, 2) points [px or 1/Å] (a single (2,) point allowed; M may be 0), finite."""
    a = np.asarray(validate.array(value, name, kind="real", min_size=0), float)
    if a.size and a.shape[-1] != 2 or a.ndim > 2:
        raise validate.InputError(f"{name} must be points of shape (M, 2), got shape {a.shape}")
    return a.reshape(-1, 2)


def _square(value, name: str, batched: bool = False):
    """A square map (n, n) (or a batch (B, n, n)) of real values, finite, n ≥ 8."""
    a = validate.array(value, name, ndim=3 if batched else 2, kind="real")
    if a.shape[-1] != a.shape[-2] or a.shape[-1] < 8:
        raise validate.InputError(f"{name} must be square maps of at least 8 × 8 pixels, got shape {tuple(a.shape)}")
    return a


def to_g(positions, n: int = CANONICAL_N, dk: float = 1.0 / (CANONICAL_N * CANONICAL_PIXEL)) -> np.ndarray:
    """(row, col) [px] → (g_x, g_y) [1/Å] (x = column, y = row, zero at (n/2, n/2))."""
    p = _points(positions, "positions")
    return np.stack([(p[:, 1] - n / 2) * dk, (p[:, 0] - n / 2) * dk], axis=1)


def from_g(g, n: int = CANONICAL_N, dk: float = 1.0 / (CANONICAL_N * CANONICAL_PIXEL)) -> np.ndarray:
    g = _points(g, "g")
    return np.stack([g[:, 1] / dk + n / 2, g[:, 0] / dk + n / 2], axis=1)


def check_image(image, name: str = "image") -> np.ndarray:
    """A square, finite, real 2-D image of at least 64 px (else ``InputError`` naming ``name``)."""
    a = validate.array(image, name, ndim=2, kind="real", finite=True)
    a = np.asarray(a, np.float64)
    if a.shape[0] != a.shape[1]:
        raise validate.InputError(f"{name} must be square (crop it to a square region first), got shape {a.shape}")
    if a.shape[0] < MIN_SIZE:
        raise validate.InputError(f"{name} must be at least {MIN_SIZE} × {MIN_SIZE} px, got {a.shape}")
    return a


def canonical_image(image, pixel_size=None, n: int = CANONICAL_N) -> np.ndarray:
    """Image resampled to the canonical pixel (0.4 Å) and size n (see module docstring).

    ``pixel_size`` [Å] (or "0.05 nm"); None means the image already has the canonical pixel."""
    a = check_image(image)
    px = CANONICAL_PIXEL if pixel_size is None else validate.scalar(pixel_size, "pixel_size", "Å", positive=True)
    side = min(a.shape[0], int(np.floor(n * CANONICAL_PIXEL / px)))
    o = (a.shape[0] - side) // 2
    a = a[o:o + side, o:o + side]
    m = int(round(side * px / CANONICAL_PIXEL))
    if m < MIN_SIZE:
        raise validate.InputError(f"image covers only {side * px:.1f} Å; at least {MIN_SIZE * CANONICAL_PIXEL:.0f} Å "
                                  f"(pixel_size {px} Å × {side} px) is needed for the canonical FFT")
    if m != side:
        a = np.asarray(jax.image.resize(jnp.asarray(a), (m, m), method="lanczos3"), np.float64)
    if m < n:
        out = np.full((n, n), a.mean())
        out[(n - m) // 2:(n - m) // 2 + m, (n - m) // 2:(n - m) // 2 + m] = a
        a = out
    return a[:n, :n]


def rot180(p):
    """p(−k) on a centred grid (index i → (n − i) mod n)."""
    validate.array(p, "p", min_ndim=2, finite=False)
    return jnp.roll(jnp.flip(p, axis=(-2, -1)), 1, axis=(-2, -1))


@functools.partial(jax.jit, static_argnums=(0,))
def _probability(config, variables, x):
    from .unet import predict_logits

    p = jax.nn.sigmoid(predict_logits(config, variables, x))
    return 0.5 * (p + rot180(p))


def probability(x, config=None, variables=None):
    """Symmetrised spot probability (B, n, n) of network inputs x (B, n, n) (default: shipped weights)."""
    _square(x, "x", batched=True)
    if variables is None:
        from .train import load_default

        config, variables, _ = load_default()
    return _probability(config, variables, jnp.asarray(x, jnp.float32))


def _climb(logf, r, c, radius):
    n = logf.shape[0]
    for _ in range(4 * radius):
        r0, r1, c0, c1 = max(r - 1, 0), min(r + 2, n), max(c - 1, 0), min(c + 2, n)
        win = logf[r0:r1, c0:c1]
        i, j = np.unravel_index(int(np.argmax(win)), win.shape)
        nr, nc = r0 + i, c0 + j
        if (nr, nc) == (r, c):
            break
        r, c = nr, nc
    return r, c


def _subpixel(logf, r, c):
    n = logf.shape[0]
    if not (0 < r < n - 1 and 0 < c < n - 1):
        return float(r), float(c)

    def vertex(a, b, d):
        den = a - 2 * b + d
        return 0.0 if den >= 0 else float(np.clip(0.5 * (a - d) / den, -0.5, 0.5))

    return r + vertex(logf[r - 1, c], logf[r, c], logf[r + 1, c]), c + vertex(logf[r, c - 1], logf[r, c], logf[r, c + 1])


def peaks_from_probability(prob, fft_mag, threshold: float = THRESHOLD, climb: int = 2, friedel: bool = True,
                           friedel_tol: float = 1.5, dc_radius: float = DC_RADIUS, low: float | None = LOW,
                           z_min: float | None = Z_MIN, edge: float = EDGE, r_max: float | None = None,
                           snr_min: float | None = SNR_MIN, snr_floor: float | None = SNR_FLOOR,
                           dose: float | None = None, lattice: bool = True):
    """Spots (positions (M, 2) [px], score (M,)) from one probability map and |F| (steps 3–7 above).
    ``low=None`` switches the hysteresis off (seeds need p ≥ ``threshold``); ``r_max`` [px] defaults to
    :data:`R_MAX` × n/2. ``dose`` [e⁻/px per canonical pixel] (:func:`jaxem.ml.lattice.effective_dose`) enables the
    lattice step 7 (``lattice=False`` or ``dose=None`` skips it: its threshold needs the dose)."""
    prob = np.asarray(_square(prob, "prob"), np.float64)
    mag = np.asarray(_square(fft_mag, "fft_mag"), np.float64)
    if mag.shape != prob.shape:
        raise validate.InputError(f"fft_mag has shape {mag.shape}, prob {prob.shape}: they must match")
    logf = ndimage.gaussian_filter(np.log1p(mag), 1.0)
    n = prob.shape[0]
    floor = threshold if low is None else min(low, threshold)
    seeds = np.argwhere((prob >= floor) & (prob == ndimage.maximum_filter(prob, 3)))
    if len(seeds) and (floor < threshold or snr_floor is not None):
        p = prob[seeds[:, 0], seeds[:, 1]]
        keep = p >= threshold
        snr = _local_snr(mag)[seeds[:, 0], seeds[:, 1]] if snr_min is not None or snr_floor is not None else None
        if snr_floor is not None:
            keep &= snr >= snr_floor
        if floor < threshold and z_min is not None:
            keep |= ndimage.maximum_filter(robust_z(mag), 3)[seeds[:, 0], seeds[:, 1]] >= z_min
        if floor < threshold and snr_min is not None:
            keep |= snr >= snr_min
        seeds = seeds[keep]
    if len(seeds) == 0:
        return np.zeros((0, 2)), np.zeros(0)
    found = {}
    for (r, c) in seeds:
        r, c = int(r), int(c)
        rr, cc = _climb(logf, r, c, climb) if climb > 0 else (r, c)
        if abs(rr - r) > climb or abs(cc - c) > climb:
            rr, cc = r, c
        if np.hypot(rr - n / 2, cc - n / 2) < dc_radius:
            continue
        found[(rr, cc)] = max(found.get((rr, cc), 0.0), float(prob[r, c]))
    if not found:
        return np.zeros((0, 2)), np.zeros(0)
    pos = np.array([_subpixel(logf, r, c) for (r, c) in found], float)
    score = np.array(list(found.values()))
    keep = _in_support(pos, n, dc_radius, edge, R_MAX * n / 2 if r_max is None else r_max)
    pos, score = pos[keep], score[keep]
    if friedel:  # after the support cut, so that a spot whose mate was cut goes too
        pos, score = friedel_filter(pos, score, n, friedel_tol)
    if lattice and dose is not None:
        from .lattice import decide_on_lattice

        r_max = R_MAX * n / 2 if r_max is None else r_max
        pos, score, _ = decide_on_lattice(pos, score, prob, mag, dose, dc_radius=dc_radius, edge=edge, r_max=r_max)
        if friedel:
            pos, score = friedel_filter(pos, score, n, friedel_tol)
    return pos, score


def _in_support(pos, n: int, dc_radius: float = DC_RADIUS, edge: float = EDGE, r_max: float | None = None):
    """Mask of spots inside the searched region of a centred n × n FFT (step 5): ``dc_radius`` ≤ r ≤ ``r_max``
    [px] from the zero frequency and at least ``edge`` px inside the borders."""
    pos = _points(pos, "pos")
    n = validate.integer(n, "n", lo=1)
    r = np.hypot(pos[:, 0] - n / 2, pos[:, 1] - n / 2)
    r_max = R_MAX * n / 2 if r_max is None else r_max
    return (r >= dc_radius) & (r <= r_max) & np.all((pos >= edge) & (pos <= n - 1 - edge), axis=1)


def friedel_filter(pos, score, n: int, tol: float = 1.5):
    """Keep spots whose centrosymmetric mate (through (n/2, n/2)) is present within ``tol`` px, and make
    each kept pair exactly centrosymmetric (the mean of r and −r_mate)."""
    pos = _points(pos, "pos")
    score = np.asarray(validate.array(score, "score", ndim=1, kind="real", min_size=0), float)
    if score.shape[0] != pos.shape[0]:
        raise validate.InputError(f"score has {score.shape[0]} values for {pos.shape[0]} positions (pos)")
    n = validate.integer(n, "n", lo=1)
    tol = validate.scalar(tol, "tol", "px", positive=True)
    if len(pos) == 0:
        return pos, score
    rel = pos - n / 2
    d = np.linalg.norm(rel[:, None, :] + rel[None, :, :], axis=-1)
    np.fill_diagonal(d, np.inf)
    mate = np.argmin(d, axis=1)
    keep = d[np.arange(len(pos)), mate] <= tol
    sym = 0.5 * (rel - rel[mate])
    return (sym + n / 2)[keep], score[keep]


def detect(image=None, pixel_size=None, *, x=None, fft_mag=None, config=None, variables=None,
           threshold: float = THRESHOLD, friedel: bool = True, dose=None, lattice: bool = True) -> Spots:
    """Detect FFT spots of an HRTEM ``image`` (square, ≥ 64 px; ``pixel_size`` [Å]) with the U-Net, or of
    precomputed canonical inputs ``x``/``fft_mag`` (n, n).

    ``dose`` [e⁻/px per canonical 0.4 Å pixel] sets the lattice step's threshold (:mod:`jaxem.ml.lattice`); by
    default it is estimated from the image's own shot noise (:func:`jaxem.ml.lattice.effective_dose`; an image
    not in counts, such as a normalised one, needs it given). With ``x``/``fft_mag`` and no ``dose``, or
    ``lattice=False``, the lattice step is skipped."""
    if dose is not None:
        dose = validate.scalar(dose, "dose", "e/px", positive=True)
    if x is None:
        img = canonical_image(image, pixel_size)
        x, fft_mag = fft_input(jnp.asarray(img, jnp.float32))
        if lattice and dose is None:
            from .lattice import effective_dose

            try:
                dose = effective_dose(image, pixel_size)
            except validate.InputError as exc:  # not counts (normalised, filtered): no dose, no lattice step
                warnings.warn(f"ml.detect: lattice step skipped, the image's dose is unknown ({exc})", stacklevel=2)
    p = np.asarray(probability(jnp.asarray(x)[None], config, variables)[0])
    pos, score = peaks_from_probability(p, np.asarray(fft_mag), threshold=threshold, friedel=friedel,
                                        dose=dose, lattice=lattice)
    n = p.shape[0]
    return Spots(pos, score, to_g(pos, n))


def _local_snr(fft_mag, r_in: float = 3.0, r_out: float = 8.0, peak: bool = True) -> np.ndarray:
    """Measured amplitude signal-to-noise ratio of |F| at every pixel: the 3 × 3 maximum of |F| (``peak=False``:
    |F| itself) over the local noise σ̂ = median(|F| in the annulus r_in ≤ ρ ≤ r_out [px]) / √(ln 2). Noise in F is
    circular complex Gaussian (Poisson counts and amorphous background summed over many pixels), so |F| of the
    background is Rayleigh with E|F|² = σ² and median σ √(ln 2); this is the measured counterpart of the label's
    expected SNR = |signal| / σ (:mod:`.render`). Calibration on rendered training images: median measured SNR
    5.0–5.3 for labels with expected SNR 5–6, 8.5–8.7 for 8–12."""
    mag = np.asarray(_square(fft_mag, "fft_mag"), np.float64)
    yy, xx = np.mgrid[-int(r_out):int(r_out) + 1, -int(r_out):int(r_out) + 1]
    rr = np.hypot(yy, xx)
    med = ndimage.median_filter(mag, footprint=(rr >= r_in) & (rr <= r_out), mode="wrap")
    return (ndimage.maximum_filter(mag, 3) if peak else mag) * np.sqrt(np.log(2.0)) / np.maximum(med, 1e-30)


# ----------------------------------------------------------------------------- baselines

def robust_z(fft_mag, sigma: float = 8.0, dc_radius: float = 5.0) -> np.ndarray:
    """Background-flattened log|F| in robust noise units: (L − G_σ L − median)/(1.4826 MAD), DC masked."""
    lf = np.log1p(np.asarray(_square(fft_mag, "fft_mag"), np.float64))
    flat = lf - ndimage.gaussian_filter(lf, sigma)
    n = flat.shape[0]
    yy, xx = np.mgrid[:n, :n]
    dc = np.hypot(yy - n / 2, xx - n / 2) < dc_radius
    v = flat[~dc]
    med = np.median(v)
    z = (flat - med) / (1.4826 * np.median(np.abs(v - med)) + 1e-12)
    z[dc] = 0.0
    return z


#: Baseline thresholds [robust σ], tuned on *training* structures (``benchmarks/ffnet.py``'s sweep run on the training
#: bank: 24 images per dose at 2 / 20 / 100 e⁻/px, labels at the label dose, difficult spots ignored) for the best
#: mean F1 with precision ≥ 0.95 at every dose: peak_local_max 3.5 (0.518 / 0.835 / 0.919; 3.25 falls to precision
#: 0.944 at 100 e⁻/px), blob_log 1.5 (0.603 / 0.893 / 0.959; 1.25 falls to 0.854). Before 2026-12-06 they were 4 and 3,
#: not tuned (F1 0.435 / 0.776 / 0.868 and 0.168 / 0.422 / 0.602 there).
PEAK_LOCAL_MAX_K = 3.5
BLOB_LOG_K = 1.5


def detect_peak_local_max(fft_mag, k: float = PEAK_LOCAL_MAX_K, min_distance: int = 3, friedel: bool = False):
    """Baseline: ``skimage.feature.peak_local_max`` on :func:`robust_z` with threshold ``k`` robust σ."""
    from skimage.feature import peak_local_max

    z = robust_z(fft_mag)
    pos = peak_local_max(z, min_distance=min_distance, threshold_abs=k, exclude_border=2).astype(float)
    score = z[pos[:, 0].astype(int), pos[:, 1].astype(int)] if len(pos) else np.zeros(0)
    if friedel:
        pos, score = friedel_filter(pos, score, z.shape[0])
    return pos, score


def detect_blob_log(fft_mag, k: float = BLOB_LOG_K, friedel: bool = False):
    """Baseline: ``skimage.feature.blob_log`` (σ 1–3 px) on the robust-z map scaled so that ``k``
    robust σ is the threshold."""
    from skimage.feature import blob_log

    z = np.clip(robust_z(fft_mag), 0, None)
    blobs = blob_log(z / k, min_sigma=1.0, max_sigma=3.0, num_sigma=5, threshold=1.0, overlap=0.5,
                     exclude_border=2)
    pos = blobs[:, :2].astype(float) if len(blobs) else np.zeros((0, 2))
    score = z[pos[:, 0].astype(int), pos[:, 1].astype(int)] if len(pos) else np.zeros(0)
    if friedel:
        pos, score = friedel_filter(pos, score, z.shape[0])
    return pos, score


# ----------------------------------------------------------------------------- metrics

def _pairs_within(a, b, radius: float):
    """One-to-one assignment (Hungarian, least total distance) of points a to b within ``radius`` → (rows of a,
    rows of b, distances) of the matched pairs."""
    from scipy.optimize import linear_sum_assignment

    if len(a) == 0 or len(b) == 0:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0)
    d = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)
    r, c = linear_sum_assignment(np.where(d <= radius, d, 1e6))
    ok = d[r, c] <= radius
    return r[ok], c[ok], d[r[ok], c[ok]]


def match(pred, true, radius: float = 2.0, ignore=None):
    """One-to-one matching within ``radius`` [px] → (tp, fp, fn, distances of matched pairs [px]).

    ``ignore`` (M, 2) [px]: *difficult* spots (the PASCAL VOC convention, Everingham et al., IJCV 88, 303 (2010)):
    a prediction left unmatched by ``true`` that is matched (one-to-one, within ``radius``) to a difficult spot is
    neither a true nor a false positive, and an undetected difficult spot is not a false negative. Adding difficult
    spots can therefore only lower ``fp``; ``tp`` and ``fn`` never change."""
    pred, true = _points(pred, "pred"), _points(true, "true")
    ignore = np.zeros((0, 2)) if ignore is None else _points(ignore, "ignore")
    radius = validate.scalar(radius, "radius", "px", positive=True)
    r, c, d_ok = _pairs_within(pred, true, radius)
    left = np.ones(len(pred), bool)
    left[r] = False
    tp, fp = len(r), int(left.sum())
    if fp and len(ignore):
        fp -= len(_pairs_within(pred[left], ignore, radius)[0])
    return tp, fp, len(true) - tp, d_ok


def scores(tp: int, fp: int, fn: int) -> dict:
    tp, fp, fn = (validate.integer(v, k, lo=0) for v, k in ((tp, "tp"), (fp, "fp"), (fn, "fn")))
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def friedel_consistency(pos, n: int = CANONICAL_N, tol: float = 1.5) -> float:
    """Fraction of spots with a centrosymmetric mate within ``tol`` px (1 for no spots)."""
    pos = _points(pos, "pos")
    if len(pos) == 0:
        return 1.0
    rel = pos - n / 2
    d = np.linalg.norm(rel[:, None, :] + rel[None, :, :], axis=-1)
    np.fill_diagonal(d, np.inf)
    return float(np.mean(d.min(axis=1) <= tol))
