import numpy as np
import pytest

from jaxem.apt.maps import density_map, density_profile, interface_position, plane_spacing, sdm_z


def _bcc(a=0.2866, n=14, rng=None):
    g = np.arange(n)
    c = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    p = np.concatenate([c, c + 0.5]) * a
    return p - p.mean(0)


def test_plane_spacing_perfect_and_noisy(rng):
    p = _bcc()
    d, contrast = plane_spacing(p)
    assert d == pytest.approx(0.1433, rel=2e-3) and contrast > 5
    q = p + rng.normal(0, [0.15, 0.15, 0.02], p.shape)  # APT-like: poor lateral, good depth resolution
    d2, _ = plane_spacing(q, r_lateral=0.5)
    assert d2 == pytest.approx(0.1433, rel=5e-3)
    c, h = sdm_z(p)
    assert c[np.argmax(h[c > 0.1] if False else h)] < 0.3


def test_density(rng):
    pos = rng.uniform(-5, 5, (200000, 3))
    z, rho = density_profile(pos, radius=3.0, bin_width=1.0)
    assert np.median(rho) == pytest.approx(200000 / 1000, rel=0.05)
    m, ea, eb = density_map(pos, (0, 1), bin_width=1.0)
    assert np.median(m) == pytest.approx(200.0, rel=0.05)


def test_interface_position(rng):
    pos = rng.uniform(-4, 4, (100000, 3))
    pos[:, 2] *= 3
    sol = np.where(np.abs(pos[:, 2] - 1.7) < 0.4, rng.uniform(size=len(pos)) < 0.3, rng.uniform(size=len(pos)) < 0.02)
    z0, w, amp = interface_position(pos, sol)
    assert z0 == pytest.approx(1.7, abs=0.1) and amp > 0.1


def test_sdm_z_huge_window_is_capped_without_listing_every_pair(rng):
    """A z_max far beyond the specimen makes every ion a neighbour of every other: the pair count is
    taken first and a random subset of ions keeps the listed pairs near max_pairs (no O(N²) list;
    the uncapped version needs ~13 GB here)."""
    p = rng.uniform(0, 10, (40000, 3))  # 8e8 pairs if all were listed
    c, h = sdm_z(p, r_lateral=100.0, z_max=100.0, bin_width=0.5, max_pairs=200_000)
    assert 0 < h.sum() <= 200_000 and h[c < 10].sum() == h.sum()
