"""Area-fraction weights of annular detectors (AnnularDetector(weighting='fraction')): exact areas
(analytic π(r₂² − r₁²)), agreement with a fine supersampling of each pixel, the centre-inclusion mask
where a pixel lies wholly inside or outside, the PRISM path (f = 1 equals multislice with the same
weights), and errors naming the argument."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jaxem import Beam, Grid
from jaxem.potential import potential
from jaxem.stem import AnnularDetector, GridScan, STEMSimulation, stem_scan
from jaxem.stem.detectors import annulus_fractions
from jaxem.structure import crystals
from jaxem.validate import InputError

A = 3.905


@settings(max_examples=25, deadline=None)
@given(a=st.one_of(st.just(0.0), st.floats(0.01, 0.6)), b=st.floats(0.02, 1.0), ny=st.integers(24, 90), nx=st.integers(24, 90),
       dy=st.floats(0.05, 0.2), dx=st.floats(0.05, 0.2))
def test_fraction_weights_give_the_exact_annulus_area(a, b, ny, nx, dy, dx):
    beam, grid = Beam(300e3), Grid((ny, nx), (dy, dx))
    lim = beam.nyquist_angle(grid) - 2 * max(beam.angular_sampling(grid))  # the annulus inside the grid
    inner = a * lim
    outer = inner + b * (lim - inner)
    w = AnnularDetector(inner, outer, weighting="fraction").mask(beam, grid)
    px = np.prod(beam.angular_sampling(grid))
    assert np.all((w >= 0) & (w <= 1))
    assert abs(w.sum() * px - np.pi * (outer ** 2 - inner ** 2)) <= 1e-9 * np.pi * outer ** 2
    hard = AnnularDetector(inner, outer).mask(beam, grid)
    inside, outside = w == 1.0, w == 0.0
    assert np.all(hard[inside] == 1) and np.all(hard[outside] == 0)  # differ only on edge pixels


def test_fractions_match_a_fine_supersampling_of_each_pixel():
    rng = np.random.default_rng(3)
    ty, tx = rng.uniform(-12, 12, 400), rng.uniform(-12, 12, 400)
    pix, (r1, r2) = (1.3, 0.9), (4.1, 9.7)
    got = annulus_fractions(ty, tx, pix, r1, r2)
    s = 400  # s × s sub-pixel centres: error ≲ perimeter/s per pixel
    u = (np.arange(s) + 0.5) / s - 0.5
    sy, sx = ty[:, None, None] + pix[0] * u[None, :, None], tx[:, None, None] + pix[1] * u[None, None, :]
    r = np.hypot(sy, sx)
    ref = ((r >= r1) & (r < r2)).mean((1, 2))
    assert np.max(np.abs(got - ref)) < 5e-3 and 0.1 < np.mean((got > 0) & (got < 1)) < 0.9
    assert np.all(annulus_fractions(ty, tx, pix, r1, np.inf) >= got)  # outer = inf: no outer edge


def test_fraction_detector_through_prism_at_f1_equals_multislice():
    sto = crystals.SrTiO3().repeat(2, 2, 1)
    pot = potential(sto, gpts=(48, 48), slice_thickness=A / 2)
    dets = (AnnularDetector(25.0, 55.0, "frac", weighting="fraction"), AnnularDetector(25.0, 55.0, "centre"))
    sim = STEMSimulation(300e3, 15.0, dets)
    scan = GridScan.create((0.0, 0.0), (A, A), gpts=(2, 2))
    ms = stem_scan(sim, scan, pot, method="multislice", progress=False)
    pr = stem_scan(sim, scan, pot, method="prism", interpolation=1, progress=False)
    np.testing.assert_allclose(np.asarray(pr["frac"].array), np.asarray(ms["frac"].array), rtol=2e-5)
    assert not np.allclose(np.asarray(ms["frac"].array), np.asarray(ms["centre"].array), rtol=1e-4)
    assert ms["frac"].metadata["detector"]["weighting"] == "fraction"


def test_bad_weighting_is_named():
    with pytest.raises(InputError, match="weighting"):
        AnnularDetector(10.0, 20.0, weighting="area")


def test_prism_f2_floor_is_the_hard_aperture_and_the_detector_pixelation():
    """SrTiO3 [001] 8 × 8 cells, one slice, ADF 40–60 mrad, f = 2 (window 15.6 Å), PRISM's construction vs
    multislice of the exact probe (prism_error_estimate, equal to prism_scan there: test_prism_accuracy).
    Two parts of the error: the hard aperture's Airy tails (1 % of the vacuum probe outside the window; a
    2 mrad raised-cosine edge leaves 0.04 %) and the annulus's pixelation on the coarser lattice (area
    weights remove it). Measured: 1.45 % (hard, centre), 0.73 % (hard, fraction), 0.73 % (edge, centre),
    0.007 % (edge, fraction)."""
    from jaxem.stem.prism_accuracy import prism_error_estimate, window_leakage

    pot = potential(crystals.SrTiO3().repeat(8, 8, 1), gpts=(288, 288), slice_thickness=A)
    pos = GridScan.create((0.0, 0.0), (A, A), gpts=(3, 3)).positions().reshape(-1, 2) + np.asarray(pot.grid.extent) / 2
    err, leak = {}, {}
    for edge in (0.0, 2.0):
        for w in ("centre", "fraction"):
            sim = STEMSimulation(300e3, 20.0, (AnnularDetector(40.0, 60.0, "ADF", weighting=w),), edge_width=edge)
            err[edge, w] = prism_error_estimate(sim, pot, 2, positions=pos)["haadf"]
        leak[edge] = window_leakage(sim, pot.grid, A, 2)
    assert leak[0.0] > 0.008 and leak[2.0] < 0.001
    assert err[2.0, "fraction"] < 5e-4
    assert min(err[0.0, "fraction"], err[2.0, "centre"]) > 10 * err[2.0, "fraction"]
    assert err[0.0, "centre"] > err[0.0, "fraction"] and err[0.0, "centre"] > err[2.0, "centre"]
