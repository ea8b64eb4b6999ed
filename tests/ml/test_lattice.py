"""The lattice step of the detector (jaxem.ml.lattice): lattice fits against known lattices (property test), the
node count of the searched region against its area, the dose from shot noise against Poisson images of known dose
and gain, the threshold's two limits, the evidence's peak/flank rule, and the decision on a synthetic FFT whose
faint spots only the lattice reveals."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxem import validate
from jaxem.ml import evaluate
from jaxem.ml import lattice as L
from jaxem.ml import peaks as D

N = 256


def _basis(len_a, len_b, angle_deg, rot_deg):
    t, r = np.deg2rad(angle_deg), np.deg2rad(rot_deg)
    a = len_a * np.array([np.cos(r), np.sin(r)])
    b = len_b * np.array([np.cos(r + t), np.sin(r + t)])
    return np.stack([a, b])


def _nodes(basis, n=N, hk_max=8):
    h, k = np.meshgrid(np.arange(-hk_max, hk_max + 1), np.arange(-hk_max, hk_max + 1), indexing="ij")
    hk = np.stack([h.ravel(), k.ravel()], 1)
    hk = hk[np.any(hk != 0, axis=1)]
    p = hk @ basis + n / 2
    ok = D._in_support(p, n)
    return p[ok], hk[ok]


def _same_lattice(b1, b2, tol=1e-2):
    """b2's rows are integer combinations of b1's and the cells have the same area."""
    m = b2 @ np.linalg.inv(b1)
    return np.allclose(m, np.round(m), atol=tol) and abs(abs(np.linalg.det(b1)) / abs(np.linalg.det(b2)) - 1) < tol


@settings(max_examples=25, deadline=None)
@given(st.floats(9.0, 40.0), st.floats(9.0, 40.0), st.floats(35.0, 145.0), st.floats(0.0, 360.0),
       st.integers(0, 2**31 - 1))
def test_fit_lattices_recovers_the_lattice_of_a_subset_of_nodes(len_a, len_b, angle, rot, seed):
    """A random 2-D lattice, ±a, ±b and a random half of the other nodes in the searched region, positions with
    0.15 px noise: one lattice, the same as the true one (integer change of basis, same cell), every point on it."""
    rng = np.random.default_rng(seed)
    basis = _basis(len_a, len_b, angle, rot)
    p, hk = _nodes(basis)
    first = (np.abs(hk).sum(1) == 1) & ((hk[:, 0] == 0) | (hk[:, 1] == 0))  # ±a, ±b
    pick = first | (rng.random(len(p)) < 0.5)
    half = hk[:, 0] > 0
    half |= (hk[:, 0] == 0) & (hk[:, 1] > 0)
    pick_half = pick & half
    pts = p[pick_half] + rng.normal(0.0, 0.15, (int(pick_half.sum()), 2))
    pts = np.concatenate([pts, N - pts])  # Friedel pairs, as the detector gives them
    if not D._in_support(pts, N).all() or len(pts) < 4:
        return
    bases, grain = L.fit_lattices(pts, N)
    assert len(bases) == 1 and (grain == 0).all()
    assert _same_lattice(basis, bases[0]), (basis, bases[0])


def test_two_grains_two_lattices():
    b1, b2 = _basis(14.0, 21.0, 90.0, 10.0), _basis(18.0, 18.0, 60.0, 47.0)
    p1, _ = _nodes(b1, hk_max=3)
    p2, _ = _nodes(b2, hk_max=2)
    d = np.linalg.norm(p1[:, None] - p2[None], axis=-1)
    p1, p2 = p1[d.min(1) > 3], p2[d.min(0) > 3]  # no coincident spots
    bases, grain = L.fit_lattices(np.concatenate([p1, p2]), N)
    assert len(bases) == 2
    first = 0 if len(p1) >= len(p2) else 1  # the lattice explaining more spots is found first
    assert (grain[:len(p1)] == first).all() and (grain[len(p1):] == 1 - first).all()
    assert _same_lattice(b1, bases[first]) and _same_lattice(b2, bases[1 - first])


@pytest.mark.parametrize("points", [np.zeros((0, 2)), [[100.0, 100.0], [156.0, 156.0]],
                                    [[128 + 10 * k, 128.0] for k in (-3, -2, -1, 1, 2, 3)]])
def test_no_lattice_from_too_few_or_collinear_spots(points):
    assert L.fit_lattices(points, N)[0] == []


def test_lattice_sites_fill_the_searched_region():
    """Node count = area of the searched annulus / cell area (to the boundary's share), all inside it."""
    basis = _basis(7.0, 9.0, 75.0, 20.0)
    s, hk = L.lattice_sites(basis, N)
    assert D._in_support(s, N).all() and np.allclose(hk @ basis + N / 2, s)
    r_max = D.R_MAX * N / 2
    # the annulus dc_radius ≤ r ≤ r_max, minus the parts of the disc beyond the 3 px border margin
    yy, xx = np.mgrid[:N, :N] + 0.5
    area = np.sum(D._in_support(np.stack([yy.ravel(), xx.ravel()], 1), N))
    assert len(s) == pytest.approx(area / abs(np.linalg.det(basis)), rel=0.03)
    assert r_max > N / 2  # the Nyquist circle is cut by the borders: the count above includes that
    with pytest.raises(validate.InputError, match="basis"):
        L.lattice_sites([[1.0, 2.0], [2.0, 4.0]], N)


@pytest.mark.parametrize("dose, gain, pixel", [(2.0, 1.0, 0.4), (50.0, 7.5, 0.4), (20.0, 0.3, 0.2)])
def test_effective_dose_of_poisson_images(dose, gain, pixel):
    """Counts = gain × Poisson(dose × I) with a lattice-fringe I of mean 1: the estimate is the dose (any gain),
    converted to the canonical 0.4 Å pixel by (0.4/pixel)²."""
    rng = np.random.default_rng(3)
    y, x = np.mgrid[:256, :256]
    intensity = 1 + 0.2 * np.cos(2 * np.pi * x / 9.3) * np.cos(2 * np.pi * y / 6.1)
    counts = gain * rng.poisson(dose * intensity).astype(float)
    assert L.effective_dose(counts, pixel) == pytest.approx(dose * (0.4 / pixel) ** 2, rel=0.08)


@pytest.mark.parametrize("image, match", [(np.zeros((64, 64)), "positive mean"), (np.ones((64, 64)), "noise"),
                                          (np.ones((64, 40)), "square"), (np.full((64, 64), np.nan), "image")])
def test_effective_dose_bad_images(image, match):
    with pytest.raises(validate.InputError, match=match):
        L.effective_dose(image)


def test_threshold_limits():
    """Shot-noise limited (ρ = 1): T = scale·√(D/D_L) up to D_L; background limited (ρ = 0): T = scale at every dose;
    never below the floor."""
    c = L.DOSE_SCALE
    assert L.threshold(25.0, 1.0) == pytest.approx(c * 0.5)
    assert L.threshold(400.0, 1.0) == pytest.approx(c)  # capped at the label dose
    assert L.threshold(400.0, 0.0) == pytest.approx(c)
    assert L.threshold(0.01, 1.0) == pytest.approx(L.FLOOR)
    assert L.threshold(25.0, 0.5) == pytest.approx(c * np.sqrt(0.5 * 0.25 + 0.5))
    with pytest.raises(validate.InputError, match="dose"):
        L.threshold(-1.0)


def _noise_fft(seed=0, n=N):
    """|F| of circular complex Gaussian noise with E|F|² = 1 (Rayleigh, median √(ln 2))."""
    rng = np.random.default_rng(seed)
    f = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))) / np.sqrt(2)
    f = 0.5 * (f + np.conj(np.roll(np.flip(f, (0, 1)), 1, (0, 1))))  # Hermitian: |F(k)| = |F(−k)|
    return np.abs(f) * np.sqrt(2)


def _add_spot(mag, r, c, amp, width=0.8):
    yy, xx = np.mgrid[:mag.shape[0], :mag.shape[1]]
    for (rr, cc) in ((r, c), (N - r, N - c)):
        mag += amp * np.exp(-((yy - rr) ** 2 + (xx - cc) ** 2) / (2 * width**2))
    return mag


def test_site_evidence_reads_a_peak_not_a_flank():
    mag = _add_spot(_noise_fft(1), 100.3, 90.6, 300.0, width=1.2)
    ev, rho = L.site_evidence([[100.3, 90.6], [100.3, 93.6], [60.0, 170.0]], mag)
    assert ev[0] > 100 and ev[1] == 0.0  # 3 px down the flank of a strong spot: no local maximum, no evidence
    assert ev[2] < 4.0  # noise: |F|/σ of a Rayleigh variable, max of 4 pixels
    assert np.allclose(rho, 1.0, atol=0.2)  # white noise: the ring power is the shot floor


def test_decide_on_lattice_finds_faint_spots_only_at_low_dose():
    """A lattice whose ±a, ±b, ±(a+b) spots are strong (the detections passed in) and whose other nodes hold
    faint spots of |F|/σ ≈ 5 in white noise. At 2 e⁻/px (threshold at the floor, 1.9) the faint nodes are spots
    (recall ≥ 0.9, nothing off the lattice); at 400 e⁻/px (threshold 7) they are not, and the strong ones stay."""
    basis = _basis(16.0, 19.0, 80.0, 12.0)
    nodes, hk = _nodes(basis)
    strong = (np.abs(hk).max(1) == 1) & (np.abs(hk.sum(1)) <= 2) & (hk[:, 0] * hk[:, 1] >= 0)
    mag = _noise_fft(2)
    half = (hk[:, 0] > 0) | ((hk[:, 0] == 0) & (hk[:, 1] > 0))
    for p, s in zip(nodes[half], strong[half]):
        mag = _add_spot(mag, p[0], p[1], 200.0 if s else 5.0)
    det = nodes[strong]
    prob = np.zeros((N, N))
    pos, score, grain = L.decide_on_lattice(det, np.ones(len(det)), prob, mag, dose=2.0)
    tp, fp, fn, d = D.match(pos, nodes, 1.0)
    assert fp == 0 and tp / len(nodes) >= 0.9 and (grain == 0).all()
    assert D.friedel_consistency(pos) == 1.0
    pos_hi, _, _ = L.decide_on_lattice(det, np.ones(len(det)), prob, mag, dose=400.0)
    assert D.match(pos_hi, det, 1.0)[:3] == (len(det), 0, 0)
    # no lattice (two spots): the detections are returned unchanged
    p2, s2, g2 = L.decide_on_lattice(det[:2], np.ones(2), prob, mag, dose=2.0)
    assert np.array_equal(p2, det[:2]) and (g2 == -1).all()


def test_peaks_from_probability_lattice_step_needs_a_dose():
    """Without a dose (or with lattice=False) the pipeline is the one before the lattice step."""
    basis = _basis(16.0, 19.0, 80.0, 12.0)
    nodes, hk = _nodes(basis)
    mag = _noise_fft(4)
    yy, xx = np.mgrid[:N, :N]
    prob = np.zeros((N, N))
    for p in nodes[np.abs(hk).max(1) == 1]:
        mag = _add_spot(mag, p[0], p[1], 100.0) if p[0] < N / 2 else mag
        prob = np.maximum(prob, 0.99 * np.exp(-((yy - p[0]) ** 2 + (xx - p[1]) ** 2) / 2.0))
    mag = 0.5 * (mag + np.roll(np.flip(mag, (0, 1)), 1, (0, 1)))
    a = D.peaks_from_probability(prob, mag)[0]
    b = D.peaks_from_probability(prob, mag, dose=50.0, lattice=False)[0]
    c = D.peaks_from_probability(prob, mag, dose=50.0)[0]
    assert np.array_equal(a, b) and len(a) >= 4
    assert D.match(c, a, 1.0)[:3] == (len(a), 0, 0)  # nothing faint to add at this dose; the strong spots stay


def test_ablations_in_detection_metrics():
    rng = np.random.default_rng(0)
    img = {"prob": np.zeros((N, N)), "mag": np.exp(rng.normal(0.0, 0.3, (N, N))), "spots": np.zeros((0, 2)),
           "visible": np.zeros(0, bool), "snr": np.zeros(0), "grain": np.zeros(0, int), "grains": 1, "dose_est": 5.0}
    res = evaluate.detection_metrics(inputs={5.0: [img]}, n_boot=10, ablations=True)[5.0]
    assert {"unet (no lattice)", "peak_local_max+lattice", "blob_log+lattice"} <= set(res)


def test_detect_skips_the_lattice_step_with_a_warning_for_an_image_not_in_counts():
    """A normalised (zero-mean) image has no dose: detect() warns, and gives the spots of the step before."""
    rng = np.random.default_rng(5)
    y, x = np.mgrid[:128, :128] * 0.4
    img = np.cos(2 * np.pi * x / 3.1) + np.cos(2 * np.pi * y / 2.3) + 0.3 * rng.normal(size=(128, 128))
    img -= img.mean()
    with pytest.warns(UserWarning, match="lattice step skipped"):
        spots = D.detect(img, 0.4)
    plain = D.detect(img, 0.4, lattice=False)
    assert np.array_equal(spots.positions, plain.positions)
    with pytest.raises(validate.InputError, match="dose"):
        D.detect(img, 0.4, dose=-3.0)
