import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jax.test_util import check_grads

from jaxem import Beam, Grid, physics
from jaxem.potential import potential, potential_builder
from jaxem.propagate import (fresnel_propagator, multislice, multislice_array, plane_wave,
                             transmission_functions, waves_from_array)
from jaxem.structure import Structure


def srtio3_cell():
    a = 3.905
    return Structure.create([[0, 0, 0], [a / 2, a / 2, a / 2], [a / 2, a / 2, 0], [a / 2, 0, a / 2],
                             [0, a / 2, a / 2]], ["Sr", "Ti", "O", "O", "O"], [a, a, a])


def test_default_dtype_is_complex64():
    pot = potential(srtio3_cell(), sampling=0.2, slice_thickness=2.0)
    out = multislice(plane_wave(pot.grid, 300e3), pot)
    assert out.array.dtype == jnp.complex64 and pot.array.dtype == jnp.float32


def test_vacuum_propagation_conserves_norm_and_composes():
    grid = Grid((64, 64), (0.2, 0.2))
    y, x = np.meshgrid(np.arange(64) * 0.2, np.arange(64) * 0.2, indexing="ij")
    psi = jnp.asarray(np.exp(-((x - 6.4) ** 2 + (y - 6.4) ** 2) / 2.0), jnp.complex128)
    p1 = fresnel_propagator(grid, Beam(200e3), 30.0, dtype=jnp.complex128)
    p2 = fresnel_propagator(grid, Beam(200e3), 50.0, dtype=jnp.complex128)
    p12 = fresnel_propagator(grid, Beam(200e3), 80.0, dtype=jnp.complex128)
    one = jnp.ones((1, 64, 64), jnp.complex128)
    a = multislice_array(multislice_array(psi, one, jnp.array([0]), p1), one, jnp.array([0]), p2)
    b = multislice_array(psi, one, jnp.array([0]), p12)
    assert np.allclose(a, b, atol=1e-10)
    assert float(jnp.sum(jnp.abs(b) ** 2)) == pytest.approx(float(jnp.sum(jnp.abs(psi) ** 2)), rel=1e-10)


def test_norm_conserved_to_antialias_loss_100_slices():
    crystal = srtio3_cell().repeat(1, 1, 50)  # 100 slices of a real potential
    losses = {}
    for sampling in (0.1, 0.05, 0.03):
        pot = potential(crystal, sampling=sampling, slice_thickness=3.905 / 2, precision="float64")
        assert pot.n_slices == 100
        out = multislice(plane_wave(pot.grid, 300e3, precision="float64"), pot)
        losses[sampling] = 1.0 - float(jnp.mean(jnp.abs(out.array) ** 2))
        if sampling == 0.1:
            # without the anti-alias aperture (raw exp(iσv), unfiltered propagator) the scheme is
            # unitary: every loss above is the anti-alias aperture's doing
            sigma = physics.interaction_constant(300e3)
            t = jnp.exp(1j * sigma * pot.array.astype(jnp.complex128))
            ky, kx = pot.grid.frequencies(jnp.float64)
            prop = jnp.exp(-1j * jnp.pi * physics.wavelength(300e3) * pot.slice_thickness
                           * (ky[:, None] ** 2 + kx[None] ** 2))
            psi = multislice_array(jnp.ones(pot.grid.gpts, jnp.complex128), t, jnp.asarray(pot.sequence), prop)
            assert float(jnp.mean(jnp.abs(psi) ** 2)) == pytest.approx(1.0, abs=1e-10)
    # the anti-alias loss is the high-angle scattering beyond 2/3 Nyquist: it vanishes as the grid refines
    assert losses[0.1] > losses[0.05] > losses[0.03] > 0
    assert losses[0.03] < 0.01


def test_exit_planes_equal_separate_runs():
    crystal = srtio3_cell().repeat(1, 1, 4)
    pot = potential(crystal, sampling=0.15, slice_thickness=2.0)
    series = multislice(plane_wave(pot.grid, 300e3), pot, exit_planes=2)
    assert series.array.shape[0] == 4
    for j, nz in enumerate((1, 2, 3, 4)):
        part = potential(srtio3_cell().repeat(1, 1, nz), sampling=0.15, slice_thickness=2.0)
        single = multislice(plane_wave(part.grid, 300e3), part)
        assert np.allclose(series.array[j], single.array, atol=2e-5)
    listed = multislice(plane_wave(pot.grid, 300e3), pot, exit_planes=[3, 8])
    assert np.allclose(listed.array[1], series.array[-1], atol=1e-6)


def test_batches_equal_individual_runs_under_small_budget():
    pot = potential(srtio3_cell().repeat(1, 1, 2), sampling=0.2, slice_thickness=2.0)
    rng = np.random.default_rng(0)
    arr = jnp.asarray(np.exp(1j * rng.uniform(0, 1, (5,) + pot.grid.gpts)), jnp.complex64)
    w = waves_from_array(arr, pot.grid, 200e3)
    batched = multislice(w, pot, memory_budget=3 * arr[0].nbytes * 8)  # forces several batches
    for i in range(5):
        single = multislice(waves_from_array(arr[i], pot.grid, 200e3), pot)
        assert np.allclose(batched.array[i], single.array, atol=1e-5)


def test_tilt_shifts_a_packet_laterally():
    grid = Grid((128, 128), (0.1, 0.1))
    y, x = np.meshgrid(np.arange(128) * 0.1, np.arange(128) * 0.1, indexing="ij")
    psi = jnp.asarray(np.exp(-((x - 6.4) ** 2 + (y - 6.4) ** 2) / 0.5), jnp.complex128)
    dz, tilt = 200.0, (0.0, 10.0)  # 10 mrad along x
    p = fresnel_propagator(grid, Beam(300e3, tilt=tilt), dz, dtype=jnp.complex128)
    out = np.abs(np.asarray(multislice_array(psi, jnp.ones((1, 128, 128), jnp.complex128), jnp.array([0]), p))) ** 2
    cx = (out * x).sum() / out.sum()
    assert cx - 6.4 == pytest.approx(dz * np.tan(10e-3), abs=0.02)


def test_against_abtem_exit_wave_and_diffraction():
    abtem = pytest.importorskip("abtem")
    import ase

    a = 3.905
    atoms = ase.Atoms("SrTiOOO", scaled_positions=[[0, 0, 0], [.5, .5, .5], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]],
                      cell=[a, a, a], pbc=True) * (3, 3, 6)
    # 240 grid points put every atom on a grid point (abTEM deposits off-grid atoms bilinearly)
    mine_pot = potential(Structure.from_ase(atoms).replace(z_repeats=6), gpts=240, slice_thickness=a / 2)
    exit_ = multislice(plane_wave(mine_pot.grid, 300e3), mine_pot).array
    ab_pot = abtem.Potential(atoms, gpts=240, slice_thickness=a / 2, projection="infinite", parametrization="lobato")
    ref = abtem.PlaneWave(energy=300e3).multislice(ab_pot).compute().array.T
    i1, i2 = np.abs(np.asarray(exit_)) ** 2, np.abs(ref) ** 2
    assert np.linalg.norm(i1 - i2) / np.linalg.norm(i2) < 0.01
    d1, d2 = np.abs(np.fft.fft2(np.asarray(exit_))) ** 2, np.abs(np.fft.fft2(ref)) ** 2
    assert np.linalg.norm(d1 - d2) / np.linalg.norm(d2) < 0.01


@settings(max_examples=4)
@given(st.sampled_from([0.08, 0.06, 0.05]))
def test_diffraction_pattern_is_sampling_invariant(sampling):
    cell = srtio3_cell().repeat(1, 1, 3)
    ref_pot = potential(cell, sampling=0.04, slice_thickness=3.905 / 2, precision="float64")
    pot = potential(cell, sampling=sampling, slice_thickness=3.905 / 2, precision="float64")
    beams = [(0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2)]  # (h, k) of the 3.905 Å cell

    def beam_intensities(p):
        psi = multislice(plane_wave(p.grid, 300e3, precision="float64"), p).array
        f = np.abs(np.fft.fft2(np.asarray(psi))) ** 2 / psi.size**2
        return np.array([f[h, k] for h, k in beams])

    assert np.allclose(beam_intensities(pot), beam_intensities(ref_pot), rtol=2e-2, atol=1e-5)


def test_gradients_positions_and_b_through_multislice_float64():
    from jaxem.potential.projected import PotentialSlices

    s = Structure.create([[1.0, 1.2, 0.3], [2.1, 2.6, 0.7]], ["Ti", "O"], [3.2, 3.2, 1.0], B=[0.4, 0.6])
    grid = Grid((16, 16), (0.2, 0.2))
    base = potential(s, gpts=(16, 16), slice_thickness=1.0, precision="float64", debye_waller=True)
    target = jnp.asarray(np.random.default_rng(1).uniform(0.5, 1.5, (16, 16)))

    build = potential_builder(s, gpts=(16, 16), slice_thickness=1.0, precision="float64", debye_waller=True)

    def loss(positions, u2):
        p = build(s.replace(positions=positions, u2=u2))
        w = multislice(plane_wave(grid, 200e3, precision="float64"), p)
        return jnp.mean((jnp.abs(w.array) ** 2 - target) ** 2)

    assert isinstance(base, PotentialSlices)
    check_grads(loss, (s.positions, s.u2), order=1, modes=["rev"], eps=1e-4, atol=1e-4, rtol=1e-3)


def test_bad_inputs():
    pot = potential(srtio3_cell(), sampling=0.2)
    other = plane_wave(Grid((8, 8), (0.2, 0.2)), 300e3)
    with pytest.raises(ValueError, match="waves.grid .* does not match"):
        multislice(other, pot)
    with pytest.raises(ValueError, match=r"exit_planes must be slice counts in 1…4 \(the potential has 4 slices\)"):
        multislice(plane_wave(pot.grid, 300e3), pot, exit_planes=[0, 99])
    with pytest.raises(ValueError, match="exit_planes must be ≥ 1"):
        multislice(plane_wave(pot.grid, 300e3), pot, exit_planes=0)
    with pytest.raises(TypeError, match="exit_planes must be an integer"):
        multislice(plane_wave(pot.grid, 300e3), pot, exit_planes=[1.5])
    with pytest.raises(TypeError, match="waves must be jaxem Waves"):
        multislice(np.ones(pot.grid.gpts), pot)
    with pytest.raises(TypeError, match="potential must be PotentialSlices"):
        multislice(plane_wave(pot.grid, 300e3), np.ones(pot.grid.gpts))
    with pytest.raises(ValueError, match="energy"):
        plane_wave(pot.grid, -300e3)
    with pytest.raises(ValueError, match="tilt"):
        plane_wave(pot.grid, Beam(300e3, tilt=(np.nan, 0)))


def test_nan_input_wave_is_rejected_with_count_and_first_index():
    pot = potential(srtio3_cell(), sampling=0.2)
    w = plane_wave(pot.grid, 300e3)
    bad = w.replace(array=w.array.at[2, 5].set(jnp.nan).at[7, 1].set(jnp.inf))
    with pytest.raises(ValueError, match=r"waves.array holds 2 NaN/inf value\(s\) \(first at index \(2, 5\)\)"):
        multislice(bad, pot)


def test_tilt_beyond_the_grid_is_an_error():
    pot = potential(srtio3_cell(), sampling=0.2)
    tilted = plane_wave(pot.grid, 300e3).replace(beam=Beam(300e3, tilt=(0.0, 500.0)))  # built past the check
    with pytest.raises(ValueError, match="beam tilt of 500 mrad exceeds the anti-aliased limit"):
        multislice(tilted, pot)
    from jaxem.propagate import multislice_tilts

    with pytest.raises(ValueError, match=r"tilts \(largest, with the beam tilt\) of 500 mrad exceeds"):
        multislice_tilts(pot, 300e3, np.array([[0.0, 0.0], [500.0, 0.0]]))
    with pytest.raises(ValueError, match=r"tilts holds 1 NaN/inf"):
        multislice_tilts(pot, 300e3, np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="potential was built for"):
        multislice_tilts(pot.replace(energy=200e3), 300e3, np.zeros((1, 2)))


def test_multislice_tilts_equals_tilted_plane_waves_and_lab_frame():
    from jaxem.propagate import multislice_tilts

    s = srtio3_cell().repeat(4, 4, 3)
    pot = potential(s, sampling=0.1, slice_thickness=1.9525, precision="float64")
    tilts = np.array([[0.0, 0.0], [1.5, -0.7], [-3.0, 2.0]])
    got = multislice_tilts(pot, 300e3, tilts, exit_planes=(2, 6), precision="float64")
    assert got.shape == (3, 2) + tuple(pot.grid.gpts)
    for t, g in zip(tilts, got):
        ref = multislice(plane_wave(pot.grid, Beam(300e3, tilt=tuple(t)), precision="float64"), pot,
                         exit_planes=(2, 6))
        np.testing.assert_allclose(g, ref.array, atol=1e-12)
    # tilts are relative to the beam's own tilt
    base = Beam(300e3, tilt=(1.0, 0.5))
    rel = multislice_tilts(pot, base, tilts[1:2] - np.array([[1.0, 0.5]]), exit_planes=(2, 6), precision="float64")
    np.testing.assert_allclose(rel[0], got[1], atol=1e-12)
    # lab frame: an untilted multislice of exp(2πi K·r) with K one grid frequency along x equals the
    # tilted-frame wave times the carrier, up to a global phase (and the anti-alias aperture, which
    # the two frames centre differently; only low frequencies are compared)
    lam = physics.wavelength(300e3)
    ny, nx = pot.grid.gpts
    kx0 = 1 / (nx * pot.grid.sampling[1])
    tilt_x = 1e3 * np.arctan(lam * kx0)
    frame = np.asarray(multislice_tilts(pot, 300e3, np.array([[0.0, tilt_x]]), precision="float64")[0])
    x = np.arange(nx) * pot.grid.sampling[1]
    carrier = np.exp(2j * np.pi * kx0 * x)[None, :] * np.ones((ny, 1))
    lab = np.asarray(multislice(waves_from_array(jnp.asarray(carrier), pot.grid, 300e3), pot).array)
    k = np.hypot(np.fft.fftfreq(ny, pot.grid.sampling[0])[:, None], np.fft.fftfreq(nx, pot.grid.sampling[1])[None])
    low = k < 0.4 * k.max()
    a = np.fft.ifft2(np.fft.fft2(lab * np.conj(carrier)) * low)
    b = np.fft.ifft2(np.fft.fft2(frame) * low)
    phase = np.vdot(b, a) / abs(np.vdot(b, a))
    err = np.linalg.norm(a - phase * b) / np.linalg.norm(b)
    print("tilted frame vs lab frame, relative difference at low frequencies:", err)
    assert err < 1e-3


def test_multislice_tilts_gradient_in_tilt_float64():
    from jaxem.propagate import multislice_tilts

    pot = potential(srtio3_cell().repeat(2, 2, 1), sampling=0.3, slice_thickness=1.9525, precision="float64")

    def f(theta):
        tilts = theta * jnp.array([[0.0, 0.0], [1.0, -0.5]])
        w = multislice_tilts(pot, 300e3, tilts, precision="float64")
        return jnp.sum(jnp.abs(jnp.fft.fft2(w)[..., 1, 2]) ** 2)

    check_grads(f, (jnp.float64(2.0),), order=1, modes=["fwd", "rev"], eps=1e-4)
    with pytest.raises(ValueError, match=r"tilts must have shape \(T, 2\)"):
        multislice_tilts(pot, 300e3, np.zeros(2))


@pytest.mark.parametrize("precision", __import__("jaxem").accel.PRECISION_ALIASES)
def test_multislice_tilts_honours_every_precision_alias(precision):
    from jaxem.accel import resolve_precision
    from jaxem.propagate import multislice_tilts

    pot = potential(srtio3_cell(), gpts=(12, 12), slice_thickness=3.905)
    out = multislice_tilts(pot, 300e3, np.zeros((1, 2)), precision=precision)
    assert out.dtype == (jnp.complex128 if resolve_precision(precision) == "float64" else jnp.complex64)
