"""The snapshot → Ψ(q) kernel: agrees with the frozen-phonon path of jaxem.propagate, q regions,
probe batches, streaming to zarr, bad input."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Grid
from jaxem.io import load
from jaxem.phonons import FrameWaves, frame_waves, frame_waves_to_zarr, region_indices
from jaxem.propagate import frozen_phonon_multislice, plane_wave, waves_from_array
from jaxem.structure import Structure
from jaxem.validate import InputError

A = 3.905


def srtio3(n=2, nz=1):
    return Structure.create([[0, 0, 0], [A / 2, A / 2, A / 2], [A / 2, A / 2, 0], [A / 2, 0, A / 2], [0, A / 2, A / 2]],
                            ["Sr", "Ti", "O", "O", "O"], [A, A, A],
                            B={"Sr": 0.62, "Ti": 0.41, "O": 0.72}).repeat(n, n, nz)


@pytest.fixture(scope="module")
def setup():
    s = srtio3()
    grid = Grid.from_extent((2 * A, 2 * A), sampling=0.2)
    wave = plane_wave(grid, 300e3, precision="float64")
    rng = np.random.default_rng(0)
    frames = np.asarray(s.positions)[None] + rng.normal(0, 0.08, (4, len(s), 3))
    return s, grid, wave, frames


def test_incoherent_average_equals_frozen_phonon_tds(setup):
    """⟨|Ψ(q)|²⟩ − |⟨Ψ(q)⟩|² of the frames is the TDS that jaxem.propagate's frozen-phonon path gives for
    the same snapshots (two code paths, one slice step)."""
    s, grid, wave, frames = setup
    fw = frame_waves(s, wave, frames, slice_thickness=A / 2)
    assert isinstance(fw, FrameWaves) and fw.array.shape == (4,) + grid.gpts and fw.array.dtype == jnp.complex128
    psi = np.asarray(fw.array)
    tds = np.mean(np.abs(psi) ** 2, 0) - np.abs(psi.mean(0)) ** 2
    ref = frozen_phonon_multislice(None, s, wave, snapshots=frames, slice_thickness=A / 2)
    np.testing.assert_allclose(tds, np.asarray(ref.tds_diffraction), atol=1e-12)
    total = np.sum(np.abs(psi) ** 2, axis=(1, 2))  # ≤ 1: only the anti-aliasing aperture removes intensity
    assert np.all(total <= 1 + 1e-12) and np.all(total > 0.99)


def test_q_region_and_probe_batch(setup):
    s, grid, wave, frames = setup
    full = np.asarray(frame_waves(s, wave, frames[:2], slice_thickness=A / 2).array)
    dq = 1 / (2 * A)
    q = np.array([[0.0, 0.0], [dq, 0.0], [-2 * dq, 3 * dq]])
    roi = frame_waves(s, wave, frames[:2], slice_thickness=A / 2, q_region=q)
    iy, ix = roi.q_index
    assert (iy, ix) == ((0, 1, grid.gpts[0] - 2), (0, 0, 3))
    np.testing.assert_allclose(np.asarray(roi.array), full[:, iy, ix], atol=1e-13)
    np.testing.assert_allclose(roi.q_vectors(), q, atol=1e-12)
    mask = np.zeros(grid.gpts, bool)
    mask[1, 0] = True
    assert region_indices(mask, grid) == ((1,), (0,))
    # two identical incident waves as a probe batch: both equal the single-wave result
    probes = waves_from_array(jnp.stack([wave.array, wave.array]), grid, wave.beam)
    both = np.asarray(frame_waves(s, probes, frames[:2], slice_thickness=A / 2).array)
    assert both.shape == (2, 2) + grid.gpts
    np.testing.assert_allclose(both[:, 1], full, atol=1e-12)


def test_streamed_store_equals_in_memory(setup, tmp_path):
    s, grid, wave, frames = setup
    path = frame_waves_to_zarr(tmp_path / "frames.zarr", s, wave, frames, time_step=5.0, frames_per_chunk=4,
                               slice_thickness=A / 2, progress=False)
    m = load(path)
    assert [a.name for a in m.axes] == ["t", "qy", "qx"] and m.axes[0].sampling == 5.0
    mem = np.fft.fftshift(np.asarray(frame_waves(s, wave, frames, slice_thickness=A / 2).array), axes=(-2, -1))
    np.testing.assert_allclose(np.asarray(m.array), mem, atol=1e-12)


def test_bad_input(setup):
    s, grid, wave, frames = setup
    with pytest.raises(InputError, match=r"frames must have shape \(20, 3\) \[Å\], got \(4, 5, 3\)"):
        frame_waves(s, wave, frames[:, :5])
    with pytest.raises(InputError, match="frames .*NaN"):
        frame_waves(s, wave, np.where(np.arange(3)[None, None] == 1, np.nan, frames))
    with pytest.raises(InputError, match=r"q_region\[0\] .* outside the grid"):
        region_indices([[100 / (2 * A), 0.0]], grid)
    with pytest.raises(InputError, match=r"q_region\[1\] .* not on the grid's frequency lattice"):
        region_indices([[0.0, 0.0], [0.01, 0.0]], grid)
    with pytest.raises(InputError, match="q_region: a mask must have the grid's shape"):
        region_indices(np.ones((3, 3), bool), grid)
    with pytest.raises(InputError, match="time_step"):
        frame_waves(s, wave, frames, time_step=-1.0)


@pytest.mark.parametrize("gpts, dw", [((24, 26), True), ((25, 27), False), ((24, 27), False), ((25, 26), True)])
def test_half_spectrum_potential_equals_the_full_sum(gpts, dw):
    """The snapshot kernel's potential (jaxem.potential: kx ≥ 0 half of the structure-factor product, then
    irfft2) equals Re ifft2 of the full separable sum written out here, to rounding (float64), on even and
    odd axes (Nyquist lines and corner), with and without Debye–Waller factors; and so do its gradients."""
    from jaxem import physics
    from jaxem.potential.projected import potential_layout, projected_potential_slices

    jax.config.update("jax_enable_x64", True)
    s = Structure.create([[0.3, 0.2, 0.1], [1.9, 2.1, 0.4], [0.9, 3.1, 0.2]], ["Sr", "Ti", "O"], [A, A, 1.0])
    s = s.replace(u2=jnp.full((3, 3), 0.012))
    lay = potential_layout(s, gpts=gpts, slice_thickness=1.0, precision="float64", debye_waller=dw)
    ky, kx = (np.fft.fftfreq(n, d) for n, d in zip(lay.grid.gpts, lay.grid.sampling))
    ff = np.asarray(lay.form_factors)

    def reference(pos):
        pos = np.asarray(pos)
        out = np.zeros(lay.grid.gpts, complex)
        for s_ in range(lay.table.shape[1]):
            for j in np.asarray(lay.table)[0, s_]:
                if j < 0:
                    continue
                dwf = np.exp(-2 * np.pi**2 * 0.012 * (ky[:, None] ** 2 + kx[None] ** 2)) if dw else 1.0
                out += ff[s_] * dwf * np.exp(-2j * np.pi * (ky[:, None] * pos[j, 1] + kx[None] * pos[j, 0]))
        return np.fft.ifft2(out * physics.KAPPA / lay.grid.area * np.prod(lay.grid.gpts)).real

    def built(pos):
        return projected_potential_slices(pos, s.u2, s.occupancy, lay.table, lay.form_factors, lay.grid,
                                          debye_waller=dw)[0]

    v = np.asarray(built(s.positions))
    ref = reference(s.positions)
    assert np.abs(v - ref).max() < 1e-12 * np.abs(ref).max()
    # gradient of a non-linear functional, against central differences of the reference
    g = np.asarray(jax.grad(lambda p: jnp.sum(jnp.cos(0.01 * built(p))))(s.positions))
    eps, (j, c) = 1e-5, (1, 0)
    dp = np.zeros((3, 3))
    dp[j, c] = eps
    fd = (np.sum(np.cos(0.01 * reference(s.positions + dp))) - np.sum(np.cos(0.01 * reference(s.positions - dp)))) / (2 * eps)
    assert g[j, c] == pytest.approx(fd, rel=1e-6)
