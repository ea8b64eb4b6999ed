"""Lattice-aware spot decisions: the reciprocal lattice of the detected spots says where the crystal's other spots
lie, and the FFT decides at each of those sites with a threshold that follows the dose.

Why. The spots of one grain are the nodes of a 2-D lattice, g = h·a* + k·b* (zero-order Laue zone of a zone axis).
A detector that reads each peak on its own (the U-Net's map, ``peak_local_max``, ``blob_log``) needs a peak to
stand out from the noise of the whole FFT: where a spot may be *anywhere*, a look-elsewhere threshold of ≈ 4–5 noise
units is the price of few false alarms. Once the lattice is known, a spot can only be at a few hundred sites, each
known to a fraction of a pixel, so a much weaker peak there is already significant. This is what a microscopist does
by eye (the strong spots give the lattice; the faint ones are read along its rows) and what lets low-dose FFTs be
read at all. It needs no phase library: the lattice comes from the spots themselves.

Steps (:func:`decide_on_lattice`, called by :func:`jaxem.ml.peaks.peaks_from_probability` when the dose is known):

1. :func:`fit_lattices`: from the detected spots P (Friedel pairs, relative to the zero frequency), candidate basis
   vectors are the shortest spots and the shortest spot differences; every non-collinear pair (a, b) is refined by
   least squares on its inliers (points within t = ``tol`` + ``rel_tol``·|p| px of a node h·a + k·b, integer h, k)
   and scored by the log-likelihood ratio against chance, Σ_inliers log(A/πt²) (A the cell area: a spot falls within
   t of some node by chance with probability πt²/A). So the lattice explaining the most spots wins, but a finer
   lattice (with empty nodes between the crystal's) gains less per spot it explains: a lattice fine enough to pass
   near the spots of two grains at once loses to the lattice of one. The least squares run until the inlier set is
   stable, and the basis is Lagrange–Gauss reduced. Up to ``max_grains`` lattices, each from the spots the previous
   ones left. A lattice needs ≥ 4 inliers (two Friedel pairs) spanning two dimensions.
2. :func:`lattice_sites`: the nodes inside the searched region (the label's ``dc_radius``/``edge``, the Nyquist
   circle; :func:`jaxem.ml.peaks._in_support`).
3. Evidence at a site (:func:`site_evidence`): the measured amplitude SNR |F|·√(ln 2)/median(|F| in the annulus
   3–8 px) (the statistic of :func:`jaxem.ml.peaks._local_snr`), the largest of the 2 × 2 pixels around the site, set
   to zero unless a local maximum of the smoothed log|F| lies within one pixel (so the flank of a strong neighbour is
   not evidence), plus ``prob_weight`` × the U-Net probability there.
4. Decision: a site is a spot when its evidence reaches T = max(``floor``, ``dose_scale``·√(ρ·D/D_L + 1 − ρ))
   (:func:`threshold`), D the image's dose per canonical pixel (:func:`effective_dose`, capped at D_L), D_L the label
   dose (100 e⁻/px, :class:`jaxem.ml.render.RenderConfig`), ρ the share of shot noise in the noise power on the
   site's ring |k| (:func:`_shot_fraction`). The ground truth is the crystal's spots that reach SNR 5 at D_L. The
   signal grows as D, shot noise power as D and the power of the amorphous background (and of everything else that
   scales with the image) as D², so a spot's expected SNR at dose D is its SNR at D_L divided by
   √(ρ·D_L/D + 1 − ρ); the threshold on the measured SNR therefore scales as √D where shot noise dominates and not
   at all where the background does, down to a floor set by false alarms among the sites at low dose. Sites are taken
   by their margin over T, largest first; one within ``exclusion`` px of a kept spot is skipped.
5. U-Net spots within ``snap`` px of a site are replaced by that site's decision (kept, at the U-Net's sub-pixel
   position, when accepted); U-Net spots on no lattice (a grain with too few spots for a lattice) are kept as they
   are.

The constants (:data:`FLOOR`, :data:`DOSE_SCALE`, :data:`PROB_WEIGHT`) were tuned on *training* structures only
(32 rendered images per dose at 2 / 20 / 100 e⁻/px) and then scored on the held-out structures
(``benchmarks/ffnet.py``). Tried and not adopted (training F1 at 2 e⁻/px): refining a lattice to an index-2 or -3
overlattice when its new nodes hold significantly more hits than a shifted null lattice (0.826 → 0.805: at 2 e⁻/px
the new nodes of the right overlattice hold too few visible spots to be told from the wrong ones); the RMS of the
2 × 2 pixels instead of their maximum (0.826 → 0.819); a threshold ∝ √D without the shot-noise share ρ (within
0.006 at every dose, but it rejects clear spots of high-dose images whose noise is the amorphous background).
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .. import validate
from .render import CANONICAL_PIXEL, fft_input, hann

#: decision threshold of step 4: floor [SNR units], scale at the label dose [SNR units], weight of the U-Net
#: probability in the evidence. Sweep on training structures only (32 images per dose, doses estimated from the images;
#: floor 1.7–2.6, scale 5–9, weight 1–2.5, with the U-Net threshold :data:`jaxem.ml.peaks.THRESHOLD` 0.7–0.95), rule:
#: the best mean F1 with precision ≥ 0.96 at every dose (0.95, the acceptance, plus 0.01 for the transfer to unseen
#: structures). 1.9 / 7 / 2 (U-Net threshold 0.9) gave F1 0.848 / 0.977 / 0.995 at 2 / 20 / 100 e⁻/px with precision
#: 0.971 / 0.997 / 0.998 (without this step 0.751 / 0.953 / 0.983); scale 6 lost 0.01 at 20 e⁻/px, scale 8–9 up to
#: 0.05 at 100 e⁻/px; floors 1.7–2.1 were within 0.005 in F1 at 2 e⁻/px, precision 0.954–0.977.
FLOOR = 1.9
DOSE_SCALE = 7.0
PROB_WEIGHT = 2.0
#: label dose D_L [e⁻/px] of the shipped weights' ground truth (:class:`jaxem.ml.render.RenderConfig`)
LABEL_DOSE = 100.0
#: step 1 inlier tolerance [px] (absolute + relative to |p|), steps 4–5 radii [px]
TOL = 0.6
REL_TOL = 0.003
EXCLUSION = 3.0
SNAP = 1.5
MIN_INLIERS = 4


def _canon(v):
    """Vectors with the sign that puts them in the half-plane x > 0 (or x = 0, y > 0)."""
    s = np.where((v[:, 0] > 1e-9) | ((np.abs(v[:, 0]) <= 1e-9) & (v[:, 1] > 0)), 1.0, -1.0)
    return v * s[:, None]


def _shortest(v, k: int, min_len: float, max_len: float) -> list:
    """Up to k shortest distinct vectors (± identified, 1 px apart) with min_len ≤ |v| ≤ max_len."""
    length = np.linalg.norm(v, axis=1)
    v = _canon(v[(length >= min_len) & (length <= max_len)])
    v = v[np.argsort(np.linalg.norm(v, axis=1), kind="stable")]
    out = []
    for u in v:
        if all(np.linalg.norm(u - w) > 1.0 for w in out):
            out.append(u)
            if len(out) >= k:
                break
    return out


def _inliers(p, basis, tol, rel_tol):
    h = np.round(p @ np.linalg.inv(basis))
    res = np.linalg.norm(p - h @ basis, axis=1)
    return res <= tol + rel_tol * np.linalg.norm(p, axis=1), h


def _two_d(h) -> bool:
    return len(h) >= 2 and np.linalg.matrix_rank(h) == 2


def _fit_one(p, tol, rel_tol, n_candidates, min_len, max_len, min_inliers):
    if len(p) < min_inliers:
        return None
    cands = _shortest(p, n_candidates, min_len, max_len)
    for v in _shortest((p[:, None] - p[None]).reshape(-1, 2), n_candidates, min_len, max_len):
        if all(np.linalg.norm(v - w) > 1.0 for w in cands):
            cands.append(v)
    best = None
    for i in range(len(cands)):
        for j in range(i + 1, len(cands)):
            a, b = cands[i], cands[j]
            area = abs(a[0] * b[1] - a[1] * b[0])
            if area < 0.25 * np.linalg.norm(a) * np.linalg.norm(b) or area < min_len ** 2:
                continue  # nearly collinear (< 14.5°) or finer than any labelled spot spacing
            basis, prev = np.stack([a, b]), None
            for _ in range(12):  # least squares on the inliers until the inlier set is stable
                ok, h = _inliers(p, basis, tol, rel_tol)
                if not _two_d(h[ok]):
                    break
                basis = np.linalg.lstsq(h[ok], p[ok], rcond=None)[0]
                if prev is not None and np.array_equal(ok, prev):
                    break
                prev = ok
            ok, h = _inliers(p, basis, tol, rel_tol)
            if ok.sum() < min_inliers or not _two_d(h[ok]):
                continue
            # log-likelihood ratio against chance: a spot lands within t of some node of a cell of area A by chance
            # with probability πt²/A, so each inlier is worth log(A/πt²); a finer lattice explains more spots but
            # each of them is worth less
            t = tol + rel_tol * np.linalg.norm(p[ok], axis=1)
            key = float(np.sum(np.log(abs(float(np.linalg.det(basis))) / (np.pi * t * t))))
            if key > 0 and (best is None or key > best[0]):
                best = (key, basis, ok)
    return None if best is None else (_reduce(best[1]), best[2])


def _reduce(basis):
    """Lagrange–Gauss reduction: the same lattice with its two shortest independent vectors."""
    a, b = np.array(basis[0], float), np.array(basis[1], float)
    if a @ a > b @ b:
        a, b = b, a
    for _ in range(64):
        m = np.round((a @ b) / (a @ a))
        b = b - m * a
        if b @ b >= a @ a:
            break
        a, b = b, a
    return np.stack([a, b])


def fit_lattices(positions, n: int, max_grains: int = 2, tol: float = TOL, rel_tol: float = REL_TOL,
                 n_candidates: int = 16, min_len: float = 3.0, min_inliers: int = MIN_INLIERS):
    """Reciprocal lattices of spots (step 1 of the module docstring).

    Args:
        positions: (M, 2) spots (row, col) [px] in a centred n × n FFT (zero frequency at (n/2, n/2)).
        n: FFT size [px]; max_grains: most lattices; tol [px], rel_tol: inlier tolerance tol + rel_tol·|p|;
        n_candidates: shortest spots and shortest differences tried as basis vectors (each);
        min_len: shortest basis vector [px]; min_inliers: fewest spots that make a lattice.

    Returns:
        (bases, grain): bases a list of (2, 2) arrays [px] whose rows (a, b) are (Δrow, Δcol) of the basis
        vectors, grain (M,) the lattice index of each spot (−1: on none).
    """
    from .peaks import _points

    pos = _points(positions, "positions")
    n = validate.integer(n, "n", lo=8)
    max_grains = validate.integer(max_grains, "max_grains", lo=1)
    tol = validate.scalar(tol, "tol", "px", positive=True)
    rel_tol = validate.scalar(rel_tol, "rel_tol", nonnegative=True)
    min_len = validate.scalar(min_len, "min_len", "px", positive=True)
    n_candidates = validate.integer(n_candidates, "n_candidates", lo=2)
    min_inliers = validate.integer(min_inliers, "min_inliers", lo=3)
    p = pos - n / 2
    grain = np.full(len(p), -1)
    bases = []
    for g in range(max_grains):
        left = np.flatnonzero(grain < 0)
        fit = _fit_one(p[left], tol, rel_tol, n_candidates, min_len, n / 2, min_inliers)
        if fit is None:
            break
        bases.append(fit[0])
        grain[left[fit[1]]] = g
    return bases, grain


def lattice_sites(basis, n: int, dc_radius: float = 6.0, edge: float = 3.0, r_max: float | None = None):
    """Nodes h·a + k·b of a lattice ``basis`` (2, 2) [px] inside the searched region of a centred n × n FFT
    (at least ``dc_radius`` px from the zero frequency, ``edge`` px inside the borders, within ``r_max`` px,
    default 1.02·n/2) → (S, 2) (row, col) [px] and their (h, k) (S, 2)."""
    from .peaks import R_MAX, _in_support

    b = np.asarray(validate.array(basis, "basis", shape=(2, 2), kind="real", finite=True), float)
    n = validate.integer(n, "n", lo=8)
    area = abs(float(np.linalg.det(b)))
    if area < 1.0:
        raise validate.InputError(f"basis must span a cell of at least 1 px², got {area:.3g} px² ({b.tolist()})")
    r_max = R_MAX * n / 2 if r_max is None else validate.scalar(r_max, "r_max", "px", positive=True)
    hmax = int(np.ceil(r_max * np.linalg.norm(np.linalg.inv(b), axis=0).max())) + 1
    h, k = np.meshgrid(np.arange(-hmax, hmax + 1), np.arange(-hmax, hmax + 1), indexing="ij")
    hk = np.stack([h.ravel(), k.ravel()], 1).astype(float)
    p = hk @ b + n / 2
    ok = _in_support(p, n, dc_radius, edge, r_max)
    return p[ok], hk[ok]


def _at(m, p):
    """Largest value of map m over the 2 × 2 pixels around each sub-pixel point p (S, 2)."""
    n = m.shape[0]
    r0 = np.clip(np.floor(p[:, 0]).astype(int), 0, n - 2)
    c0 = np.clip(np.floor(p[:, 1]).astype(int), 0, n - 2)
    return np.max(np.stack([m[r0, c0], m[r0 + 1, c0], m[r0, c0 + 1], m[r0 + 1, c0 + 1]]), axis=0)


class _Evidence:
    """The maps of step 3 for one FFT, computed once; calling it with sites (S, 2) [px] gives (evidence, ρ)."""

    def __init__(self, fft_mag, prob=None, prob_weight: float = PROB_WEIGHT):
        from .peaks import _local_snr, _square

        mag = np.asarray(_square(fft_mag, "fft_mag"), np.float64)
        self.n = mag.shape[0]
        logf = ndimage.gaussian_filter(np.log1p(mag), 1.0)
        peak_near = ndimage.maximum_filter(logf == ndimage.maximum_filter(logf, 3), 3)
        self.snr = np.where(peak_near, _local_snr(mag, peak=False), 0.0)
        self.rho = np.clip(_shot_fraction(mag), 0.0, 1.0)
        self.prob, self.weight = None, 0.0
        if prob is not None:
            p = np.asarray(_square(prob, "prob"), np.float64)
            if p.shape != mag.shape:
                raise validate.InputError(f"prob has shape {p.shape}, fft_mag {mag.shape}: they must match")
            self.prob, self.weight = p, validate.scalar(prob_weight, "prob_weight", nonnegative=True)

    def __call__(self, sites):
        if not len(sites):
            return np.zeros(0), np.zeros(0)
        ev = _at(self.snr, sites)
        if self.prob is not None:
            ev = ev + self.weight * _at(self.prob, sites)
        ring = np.clip(np.round(np.hypot(*(sites - self.n / 2).T)).astype(int), 0, len(self.rho) - 1)
        return ev, self.rho[ring]


def site_evidence(sites, fft_mag, prob=None, prob_weight: float = PROB_WEIGHT):
    """Evidence for a spot at each site (S, 2) [px] (step 3 of the module docstring) → (evidence (S,), shot (S,)).

    evidence: measured amplitude SNR of |F| (zero without a local maximum of the smoothed log|F| within one pixel)
    + ``prob_weight`` × ``prob``; shot: the fraction ρ = σ²_shot/σ²_ring ∈ [0, 1] of the noise power on the site's
    ring |k| that is shot noise (:func:`_shot_fraction`)."""
    from .peaks import _points

    return _Evidence(fft_mag, prob, prob_weight)(_points(sites, "sites"))


def _shot_fraction(mag):
    """ρ(|k|) per integer radius [px] of a centred |F| (n, n): the white shot-noise power (median |F|² at 0.6–0.95 of
    the Nyquist frequency) over the median |F|² of the ring at |k| (rings: the noise of an isotropic background,
    amorphous and shot, to which the few spots on a ring add nothing to the median)."""
    n = mag.shape[0]
    f = np.arange(n) - n / 2
    rad = np.hypot(f[:, None], f[None, :])
    ring = np.round(rad).astype(int).ravel()
    power = (mag * mag).ravel()
    order = np.argsort(ring, kind="stable")
    bounds = np.searchsorted(ring[order], np.arange(n + 2))
    med = np.array([np.median(power[order[bounds[i]:bounds[i + 1]]]) if bounds[i + 1] > bounds[i] else np.nan
                    for i in range(n + 1)])
    shot = _floor_power(mag)
    med = np.where(np.isfinite(med) & (med > 0), med, shot)
    return shot / med


def _floor_power(mag) -> float:
    """Median |F|² of a centred n × n |F| over 0.6–0.95 of the Nyquist frequency, where the specimen's spots are
    sparse and the amorphous background has decayed: σ²·ln 2 of the white (shot) noise."""
    n = mag.shape[0]
    f = np.arange(n) - n / 2
    rad = np.hypot(f[:, None], f[None, :])
    return float(np.median((mag * mag)[(rad >= 0.3 * n) & (rad <= 0.475 * n)]))


def threshold(dose, shot=1.0, floor: float = FLOOR, dose_scale: float = DOSE_SCALE, label_dose: float = LABEL_DOSE):
    """T = max(floor, dose_scale·√(ρ·D'/D_L + 1 − ρ)), D' = min(D, D_L) (step 4 of the module docstring): ``dose`` D
    [e⁻/px], ``shot`` ρ the shot-noise fraction of the noise power on the site's ring (1: shot-noise limited,
    T ∝ √D; 0: limited by a background that grows with the signal, T independent of D), ``label_dose`` D_L [e⁻/px].
    Above the label dose T stays at ``dose_scale``: a spot that this image shows clearly is a spot."""
    dose = validate.scalar(dose, "dose", "e/px", positive=True)
    rho = np.clip(np.asarray(shot, float), 0.0, 1.0)
    d = min(dose, float(label_dose))
    return np.maximum(float(floor), float(dose_scale) * np.sqrt(rho * d / label_dose + 1.0 - rho))


def decide_on_lattice(positions, score, prob, fft_mag, dose, floor: float = FLOOR, dose_scale: float = DOSE_SCALE,
                      prob_weight: float = PROB_WEIGHT, label_dose: float = LABEL_DOSE, exclusion: float = EXCLUSION,
                      snap: float = SNAP, dc_radius: float = 6.0, edge: float = 3.0, r_max: float | None = None,
                      max_grains: int = 2):
    """Steps 1–5 of the module docstring: detected spots (positions (M, 2) [px], score (M,)) of one centred FFT,
    its U-Net probability map ``prob`` and |F| ``fft_mag`` (n, n), and the image's ``dose`` [e⁻/px per canonical
    pixel] → (positions, score, on_lattice) with on_lattice (M',) the lattice index of each spot (−1: none).
    The score of a spot is the U-Net probability at its position."""
    from .peaks import _points, _square

    pos = _points(positions, "positions")
    sc = np.asarray(validate.array(score, "score", ndim=1, kind="real", min_size=0), float)
    if len(sc) != len(pos):
        raise validate.InputError(f"score has {len(sc)} values for {len(pos)} positions")
    p = np.asarray(_square(prob, "prob"), np.float64)
    mag = np.asarray(_square(fft_mag, "fft_mag"), np.float64)
    if mag.shape != p.shape:
        raise validate.InputError(f"fft_mag has shape {mag.shape}, prob {p.shape}: they must match")
    dose = validate.scalar(dose, "dose", "e/px", positive=True)
    n = p.shape[0]
    exclusion = validate.scalar(exclusion, "exclusion", "px", positive=True)
    snap = validate.scalar(snap, "snap", "px", positive=True)
    bases, _ = fit_lattices(pos, n, max_grains=max_grains)
    if not bases:
        return pos, sc, np.full(len(pos), -1)
    evidence = _Evidence(mag, p, prob_weight)
    region = dict(dc_radius=dc_radius, edge=edge, r_max=r_max)
    sites, grain = [], []
    for g, b in enumerate(bases):
        s, _ = lattice_sites(b, n, **region)
        sites.append(s)
        grain.append(np.full(len(s), g))
    sites, grain = np.concatenate(sites), np.concatenate(grain)
    ev, rho = evidence(sites)
    t = threshold(dose, rho, floor, dose_scale, label_dose)
    if len(pos):
        d = np.linalg.norm(pos[:, None] - sites[None], axis=-1)
        on_site = d.min(1) <= snap
    else:
        d, on_site = np.zeros((0, len(sites))), np.zeros(0, bool)
    kept, kept_score, kept_grain = list(pos[~on_site]), list(sc[~on_site]), [-1] * int((~on_site).sum())
    for j in np.argsort(-(ev - t), kind="stable"):
        if ev[j] < t[j]:
            break
        q = sites[j]
        if kept and np.linalg.norm(np.asarray(kept) - q, axis=1).min() <= exclusion:
            continue
        near = np.flatnonzero(d[:, j] <= snap) if len(pos) else np.zeros(0, int)
        if len(near):  # a U-Net spot on this site: its refined sub-pixel position
            q = pos[near[np.argmin(d[near, j])]]
        kept.append(q)
        kept_score.append(float(_at(p, q[None])[0]))
        kept_grain.append(int(grain[j]))
    if not kept:
        return np.zeros((0, 2)), np.zeros(0), np.zeros(0, int)
    return np.asarray(kept, float), np.asarray(kept_score, float), np.asarray(kept_grain, int)


def effective_dose(image, pixel_size=None) -> float:
    """Dose per *canonical* pixel [e⁻/px] that an image's own shot noise implies (no calibration needed).

    For counts C = g·N (N Poisson electrons, any gain g) the mean is g·D⟨I⟩ and the white noise variance g²·D⟨I⟩, so
    ⟨C⟩²/σ² = D⟨I⟩ whatever g (⟨I⟩ ≈ 1 for a bright-field image normalised to the vacuum level). σ² is read from
    the FFT: the median of |FFT(w·(C − ⟨C⟩))|² over 0.6–0.95 of the Nyquist frequency (where the specimen's
    spots are sparse and the amorphous background has decayed) divided by ln 2 (the median of an exponential
    variable) and Σw² (Hann window w). The value is converted from the image's pixel (``pixel_size`` [Å]; None:
    the canonical 0.4 Å) to the canonical pixel of 0.4 Å: D₀ = D·(0.4 Å/pixel_size)².

    It assumes uncorrelated (shot) noise and no dark offset: a detector whose point-spread function damps high
    frequencies (a scintillator-coupled camera) makes σ² smaller and the estimate larger. Pass the dose
    explicitly to :func:`jaxem.ml.peaks.detect` where it is known."""
    a = np.asarray(validate.array(image, "image", ndim=2, kind="real", finite=True), np.float64)
    if a.shape[0] != a.shape[1] or a.shape[0] < 16:
        raise validate.InputError(f"image must be square and at least 16 × 16 px, got shape {a.shape}")
    px = None if pixel_size is None else validate.scalar(pixel_size, "pixel_size", "Å", positive=True)
    return _dose_from_magnitude(np.asarray(fft_input(a)[1], np.float64), float(a.mean()), px)


def _dose_from_magnitude(mag, mean: float, pixel_size=None) -> float:
    """:func:`effective_dose` from an image's mean and its |F| = |FFT(w·(C − ⟨C⟩))| (centred, Hann window w, as
    :func:`jaxem.ml.render.fft_input` gives it), so that a caller holding |F| needs no second FFT."""
    if not mean > 0:
        raise validate.InputError(f"image must hold counts with a positive mean to estimate its dose, got mean "
                                  f"{mean:.3g}; pass dose= [e/px] explicitly")
    n = mag.shape[0]
    var = _floor_power(mag) / np.log(2.0) / float(np.sum(np.asarray(hann(n), np.float64) ** 2))
    if not var > 0:
        raise validate.InputError("image has no measurable noise at high spatial frequencies (a noise-free or "
                                  "low-pass filtered image): its dose cannot be estimated; pass dose= [e/px] explicitly")
    px = CANONICAL_PIXEL if pixel_size is None else pixel_size
    return mean * mean / var * (CANONICAL_PIXEL / px) ** 2
