"""FRFPMS band filters, parity pairs, Jacobi–Anger satellites, elliptical regions, time-resolved TDS."""
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import jv

from jaxem import Grid
from jaxem.phonons import FrameKernel
from jaxem.phonons.frfpms import (band_edges, band_pass, check_unwrapped, ellipse_mask, frfpms, incoherent,
                                  parity_split, region_intensities, satellite_intensities)
from jaxem.phonons.tacaw import H_MEV_FS, KB_MEV
from jaxem.potential import get_parametrization
from jaxem.propagate import plane_wave
from jaxem.structure import Ni, Structure
from jaxem.validate import InputError

A = 3.905


def _oscillators(structure, dt, n, energies, amp=0.04, seed=0):
    """Analytic harmonic trajectory: every atom a sum of oscillators at ``energies`` [meV] (bin-aligned)
    with random amplitudes and phases; returns (n, N, 3) positions."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) * dt
    u = 0.0
    for e in energies:
        a = rng.normal(0, amp, (len(structure), 3))
        ph = rng.uniform(0, 2 * np.pi, (len(structure), 3))
        u = u + a[None] * np.cos(2 * np.pi * e / H_MEV_FS * t[:, None, None] + ph[None])
    return np.asarray(structure.positions)[None] + u


def test_band_pass_partitions_the_motion():
    s = Structure.create([[0, 0, 0], [A / 2, A / 2, A / 2]], ["Sr", "Ti"], [A, A, A]).repeat(2, 1, 1)
    dt, n = 5.0, 240
    bin_e = H_MEV_FS / (n * dt)
    traj = _oscillators(s, dt, n, [10 * bin_e, 25 * bin_e, 40 * bin_e])
    bands = band_edges(n // 2 * bin_e + 1e-9, 6)
    parts = np.asarray(band_pass(traj, dt, bands, reference=s.positions, cell=s.lengths))
    u = traj - np.asarray(s.positions)
    du = parts - np.asarray(s.positions)
    np.testing.assert_allclose(du.sum(0), u - u.mean(0), atol=1e-12)  # partition of all ω ≠ 0
    # ⟨u²⟩ per atom adds up over bands (different frequencies are orthogonal over the run)
    np.testing.assert_allclose((du ** 2).mean(1).sum(0), ((u - u.mean(0)) ** 2).mean(0), rtol=1e-10)
    # no spectral weight outside each band
    e = np.abs(np.fft.fftfreq(n, dt) * H_MEV_FS)
    spec = np.abs(np.fft.fft(du, axis=1)) ** 2
    for b, (lo, hi) in enumerate(bands):
        outside = (e < lo) | (e >= hi)
        assert spec[b][outside].max() < 1e-12 * max(spec.max(), 1e-300) + 1e-20


def test_unwrapped_and_band_checks():
    s = Structure.create([[0, 0, 0]], ["Ni"], [3.5, 3.5, 3.5])
    traj = np.zeros((8, 1, 3))
    traj[5:, 0, 0] = 3.4  # an atom crossing the boundary, wrapped back
    with pytest.raises(InputError, match=r"atom 0 jumps by 3.4 Å along x between frames 4 and 5 .* xu yu zu"):
        check_unwrapped(traj, s.lengths)
    with pytest.raises(InputError, match=r"bands\[0\] = \(1, 2\) meV is narrower than .* energy bin"):
        band_pass(np.zeros((8, 1, 3)), 5.0, [[1.0, 2.0]])
    with pytest.raises(InputError, match="bands must be .*E_lo < E_hi"):
        band_pass(np.zeros((8, 1, 3)), 5.0, [[200.0, 100.0]])


@pytest.fixture(scope="module")
def thin():
    s = Structure.create([[0, 0, 0], [A / 2, A / 2, A / 2], [A / 2, A / 2, 0], [A / 2, 0, A / 2],
                          [0, A / 2, A / 2]], ["Sr", "Ti", "O", "O", "O"], [A, A, A])
    grid = Grid.from_extent((A, A), sampling=0.25)
    return s, FrameKernel(s, plane_wave(grid, 300e3, precision="float64"), slice_thickness=A)


def test_parity_pairs(thin):
    s, kernel = thin
    static = np.repeat(np.asarray(s.positions)[None], 3, 0)
    p = parity_split(kernel, static)
    assert float(jnp.max(p.one_phonon)) == 0.0  # ψ_odd of a static crystal is exactly 0
    # one-phonon intensity of a two-frequency trajectory = sum over its two bands (thin specimen)
    dt, n = 5.0, 120
    bin_e = H_MEV_FS / (n * dt)
    traj = _oscillators(s, dt, n, [6 * bin_e, 20 * bin_e], amp=0.03, seed=3)
    full = parity_split(kernel, traj)
    bands = np.array([[bin_e / 2, 13 * bin_e], [13 * bin_e, 40 * bin_e]])
    parts = band_pass(traj, dt, bands, reference=s.positions)
    summed = sum(parity_split(kernel, parts[b]).one_phonon for b in range(2))
    assert float(summed.sum()) == pytest.approx(float(full.one_phonon.sum()), rel=0.03)
    # pairs conserve the total: ⟨|Ψ|²⟩ = ⟨|ψ_odd|²⟩ + ⟨|ψ_even|²⟩
    np.testing.assert_allclose(np.asarray(full.total), np.asarray(full.one_phonon + full.even_diffuse + full.elastic),
                               atol=1e-14)


def test_frfpms_bands_add_up_and_loss_gain(thin):
    s, kernel = thin
    dt, n = 5.0, 120
    bin_e = H_MEV_FS / (n * dt)
    traj = _oscillators(s, dt, n, [6 * bin_e, 20 * bin_e], amp=0.03, seed=4)
    bands = np.array([[bin_e / 2, 13 * bin_e], [13 * bin_e, 40 * bin_e]])
    r = frfpms(s, plane_wave(kernel.grid, 300e3, precision="float64"), traj, dt, bands, slice_thickness=A)
    full = incoherent(kernel(traj))
    # thin specimen: the diffuse intensity is one-phonon to first order, so the bands add up
    assert float(r.intensity.sum()) == pytest.approx(float(full.sum()), rel=0.05)
    loss, gain = r.loss_gain(300.0)
    e = r.centres
    np.testing.assert_allclose(np.asarray(gain / loss)[:, 1, 0], np.exp(-e / (KB_MEV * 300.0)), rtol=1e-10)


@pytest.mark.parametrize("amplitude", [0.1, 0.2])
def test_jacobi_anger_satellites_of_a_frozen_ta_wave(amplitude):
    """u_j = A ε sin(2π q·R_j), ε ⊥ q (a transverse wave) in a one-cell Ni slab, one slice: the
    satellites at G + n q carry |F₀(G)|² J_n²(2π G·ε A) (Jacobi–Anger), scaled by f(|G+nq|)²/f(|G|)²."""
    s = Ni(B=0.0).repeat(8, 1, 1)
    a = float(Ni().lengths[0])
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), sampling=0.1)
    k = FrameKernel(s, plane_wave(grid, 300e3, precision="float64"), slice_thickness=float(s.lengths[2]))
    r = np.asarray(s.positions)
    q = 1 / (8 * a)
    u = np.zeros_like(r)
    u[:, 1] = amplitude * np.sin(2 * np.pi * q * r[:, 0])  # displacement along y, wave along x
    g = (2 / a, 0.0)                                       # (qy, qx): the (020) spot, G·ε ≠ 0
    orders = np.array([-2, -1, 0, 1, 2])
    sat = satellite_intensities(np.abs(np.asarray(k.pure(jnp.asarray(r + u)))) ** 2, grid, g, (0.0, q), orders)
    bragg = satellite_intensities(np.abs(np.asarray(k.pure(jnp.asarray(r)))) ** 2, grid, g, (0.0, 0.0), (0,))[0]
    par = get_parametrization("lobato")
    f = np.asarray(par.scattering_factor((28,), jnp.asarray(np.hypot(g[0], orders * q))))[0]
    f0 = np.asarray(par.scattering_factor((28,), jnp.asarray([g[0]])))[0, 0]
    pred = bragg * jv(orders, 2 * np.pi * g[0] * amplitude) ** 2 * (f / f0) ** 2
    np.testing.assert_allclose(sat, pred, rtol=0.02)


def test_ellipse_mask_area_and_subpixel_shift():
    grid = Grid.from_extent((40.0, 40.0), gpts=(200, 200))
    dq = 1 / 40.0
    m = ellipse_mask(grid, (10 * dq, -5 * dq), (7.3 * dq, 5.2 * dq), angle=0.4)
    assert m.sum() * dq * dq == pytest.approx(np.pi * 7.3 * 5.2 * dq * dq, rel=0.01)
    m2 = ellipse_mask(grid, (10.37 * dq, -5.21 * dq), (7.3 * dq, 5.2 * dq), angle=0.4)
    assert abs(m2.sum() - m.sum()) < 0.01 * m.sum()
    pattern = np.ones(grid.gpts)
    assert float(region_intensities(pattern, m)[0]) == pytest.approx(m.sum())
    with pytest.raises(InputError, match="semi_axes .* below half a pixel"):
        ellipse_mask(grid, (0, 0), (dq / 10, dq / 10))


def test_standing_wave_satellite_oscillates_at_twice_the_frequency():
    """u ∝ sin(q·R) cos ωt: the first-order satellite intensity J_1²(x cos ωt) oscillates at 2ω."""
    s = Ni(B=0.0).repeat(4, 1, 1)
    a = float(Ni().lengths[0])
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), sampling=0.2)
    k = FrameKernel(s, plane_wave(grid, 300e3, precision="float64"), slice_thickness=float(s.lengths[2]))
    r = np.asarray(s.positions)
    q, dt, n = 1 / (4 * a), 10.0, 64
    omega_e = 8 * H_MEV_FS / (n * dt)  # 8 bins
    t = np.arange(n) * dt
    u = np.zeros((n,) + r.shape)
    u[..., 1] = 0.15 * np.sin(2 * np.pi * q * r[:, 0])[None] * np.cos(2 * np.pi * omega_e / H_MEV_FS * t)[:, None]
    pats = np.abs(np.asarray(k(r[None] + u))) ** 2
    g = (2 / a, 0.0)
    dq = 1 / grid.extent[1]
    mask = ellipse_mask(grid, (g[0], q), (1.5 * dq, 1.5 * dq))
    trace = np.asarray(region_intensities(pats, mask))[:, 0]
    spec = np.abs(np.fft.rfft(trace - trace.mean())) ** 2
    assert int(np.argmax(spec)) == 16  # 2ω = 16 bins
