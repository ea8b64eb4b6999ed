import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jaxem import Grid

extent = st.floats(1.0, 200.0)
sampling = st.floats(0.01, 1.0)
gpts = st.integers(1, 2048)


@given(extent, sampling)
def test_extent_equals_gpts_times_sampling(e, s):
    g = Grid.from_extent((e, e * 1.3), sampling=s)
    for ext, n, d, want in zip(g.extent, g.gpts, g.sampling, (e, e * 1.3)):
        assert ext == pytest.approx(n * d)
        assert ext == pytest.approx(want, rel=1e-12)
        assert d <= s * (1 + 1e-9)
        assert n == math.ceil(want / s - 1e-9)


@given(gpts, gpts, sampling)
def test_frequencies_match_numpy(ny, nx, s):
    g = Grid((ny, nx), (s, s))
    ky, kx = g.frequencies(np.float64)
    assert np.allclose(ky, np.fft.fftfreq(ny, s))
    assert np.allclose(kx, np.fft.fftfreq(nx, s))
    assert g.reciprocal_sampling[0] == pytest.approx(1 / (ny * s))


@given(st.integers(8, 256), sampling)
def test_antialias_aperture_bounds(n, s):
    g = Grid((n, n), (s, s))
    a = np.asarray(g.antialias_aperture(np.float64))
    k = np.sqrt(np.asarray(g.k2(np.float64)))
    assert np.all((a >= 0) & (a <= 1))
    assert np.all(a[k >= g.antialias_cutoff] == 0)
    assert np.all(a[k <= g.antialias_cutoff - g.antialias_taper] == 1)
    assert g.antialias_cutoff == pytest.approx(2 / 3 / (2 * s))


def test_check_angle():
    from jaxem.beam import Beam

    g = Grid((256, 256), (0.1, 0.1))
    beam = Beam(300e3)
    limit = beam.cutoff_angle(g)
    beam.check_angle(limit * 0.99, g)
    with pytest.raises(ValueError, match=r"aperture of .* mrad exceeds .* use a sampling ≤"):
        beam.check_angle(limit * 1.5, g, "aperture")
    assert beam.check_angle(float("inf"), g, "outer", allow_inf=True) == float("inf")
    assert beam.nyquist_angle(g) > limit


@pytest.mark.parametrize("kw", [dict(gpts=(0, 4), sampling=0.1), dict(gpts=(4, 4), sampling=-1.0),
                                dict(gpts=(4, 4), sampling=float("nan")), dict(gpts=(4.5, 4), sampling=0.1)])
def test_bad_grids(kw):
    with pytest.raises((ValueError, TypeError)):
        Grid(**kw)


def test_from_extent_needs_one_of():
    with pytest.raises(ValueError):
        Grid.from_extent(10.0)
    with pytest.raises(ValueError):
        Grid.from_extent(10.0, sampling=0.1, gpts=100)


@given(st.integers(1, 5000))
def test_next_fft_size(n):
    from jaxem.grid import next_fft_size

    m = next_fft_size(n)
    assert m >= n
    r = m
    for p in (2, 3, 5, 7):
        while r % p == 0:
            r //= p
    assert r == 1
    assert all(next_fft_size(k) == m for k in range(n, m + 1))  # smallest such size


def test_fft_friendly_grid_keeps_extent_and_refines_sampling():
    g = Grid.from_extent(15.62, sampling=0.05, fft_friendly=True)
    assert g.gpts == (315, 315) and g.extent[0] == pytest.approx(15.62) and g.sampling[0] < 0.05
