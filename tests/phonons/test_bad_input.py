"""Bad input at each public entry point of vibrational scattering (issue 15): Δt above the Nyquist limit
of the highest phonon, a trajectory too short for the requested resolution, wrapped coordinates where
unwrapped ones are needed, a q region outside the grid, non-equilibrium data given the quantum factor.
Each is a clear error naming the argument, or an explicit warning — never a silent wrong spectrum.

Where a check does not apply the table says why: tacaw_spectrum takes exit waves (positions and the
q region were checked where the waves were made: frame_waves / FrameKernel); fte_ensemble makes its
own unwrapped trajectories and its q is a mode (commensurate q-point, tested in test_fte)."""
import jax
import numpy as np
import pytest

from jaxem.grid import Grid
from jaxem.phonons import FrameKernel, frame_waves, frame_waves_to_zarr, fte, mode_projector, modal, tacaw_spectrum
from jaxem.phonons.frfpms import band_pass, frfpms
from jaxem.propagate import plane_wave
from jaxem.structure import Structure
from jaxem.validate import InputError

from .conftest import cubic, needs_lammps

A = 3.52


@pytest.fixture(scope="module")
def small():
    s = Structure.create([[0, 0, 0], [A / 2, A / 2, A / 2]], ["Ni", "Ni"], [A, A, A])
    grid = Grid.from_extent((A, A), gpts=(12, 12))
    wave = plane_wave(grid, 200e3, precision="float64")
    rng = np.random.default_rng(0)
    frames = np.asarray(s.positions)[None] + rng.normal(0, 0.03, (16, 2, 3))
    return s, grid, wave, frames


def _wrapped(frames, axis=0, at=9):
    out = np.array(frames)
    out[at:, 0, axis] += A  # atom 0 wrapped across the boundary from frame `at` on
    return out


# ---- tacaw_spectrum --------------------------------------------------------------------------------
def test_tacaw_spectrum(small):
    psi = np.exp(1j * np.random.default_rng(1).normal(size=(64, 5)))
    with pytest.raises(InputError, match=r"time_step = 40 fs is above the Nyquist limit 1/\(2 f_max\) = 16.08 fs .* 31.1 THz"):
        tacaw_spectrum(psi, 40.0, max_frequency=31.1)  # SiC's optic band at Δt = 40 fs
    with pytest.raises(InputError, match=r"energy_step = 1 meV needs segments of 828 frames .* has 64 frames"):
        tacaw_spectrum(psi, 5.0, energy_step=1.0)
    with pytest.raises(InputError, match=r"segment = 16 frames gives an energy bin of 51.7 meV, coarser than "
                                         r"energy_step = 20 meV; use ≥ 42 frames"):
        tacaw_spectrum(psi, 5.0, energy_step=20.0, segment=16)
    ok = tacaw_spectrum(psi, 5.0, energy_step=20.0)  # the shortest segment giving the bin, segments averaged
    assert ok.segment_frames == 42 and ok.bin_width <= 20.0 and ok.n_segments > 1
    drifting = np.r_[np.full(32, 300.0), np.full(32, 420.0)]
    with pytest.warns(UserWarning, match="not in equilibrium .* quantum factor assumes equilibrium"):
        tacaw_spectrum(psi, 5.0, temperature=300.0, temperatures=drifting)
    with pytest.raises(InputError, match="temperatures has 10 values for 64 frames"):
        tacaw_spectrum(psi, 5.0, temperature=300.0, temperatures=np.full(10, 300.0))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tacaw_spectrum(psi, 5.0, temperature=300.0, temperatures=np.full(64, 300.0))  # equilibrium: silent
        tacaw_spectrum(psi, 5.0, temperatures=drifting)  # classical spectrum: nothing to warn about


def test_time_series_waves_need_unwrapped_coordinates_and_a_q_region_on_the_grid(small, tmp_path):
    s, grid, wave, frames = small
    with pytest.raises(InputError, match=r"atom 0 jumps by 3.\d+ Å along x between frames 8 and 9 .* xu yu zu"):
        frame_waves(s, wave, _wrapped(frames), time_step=5.0)
    with pytest.raises(InputError, match=r"atom 0 jumps .* between frames 0 and 1"):  # across the chunk boundary
        frame_waves_to_zarr(tmp_path / "w.zarr", s, wave, _wrapped(frames, at=8), time_step=5.0, frames_per_chunk=8,
                            progress=False)
    assert not (tmp_path / "w.zarr").exists()
    frame_waves(s, wave, _wrapped(frames))  # an ensemble without time order: wrapping is harmless there
    with pytest.raises(InputError, match=r"q_region\[0\] = .* is outside the grid"):
        frame_waves(s, wave, frames, time_step=5.0, q_region=[[0.0, 7 / A]])


# ---- frfpms ------------------------------------------------------------------------------------------
def test_frfpms(small):
    s, grid, wave, frames = small
    with pytest.raises(InputError, match=r"time_step = 60 fs is above the Nyquist limit .* 9 THz"):
        frfpms(s, wave, frames, 60.0, [[1.0, 10.0]], max_frequency=9.0)
    with pytest.raises(InputError, match=r"bands\[1\] reaches 60 meV, above the Nyquist energy h/\(2Δt\) = 51.7 meV"):
        band_pass(frames, 40.0, [[5.0, 20.0], [20.0, 60.0]])
    with pytest.raises(InputError, match=r"bands\[0\] = \(10, 12\) meV is narrower than the trajectory's energy bin"):
        frfpms(s, wave, frames, 5.0, [[10.0, 12.0]])
    with pytest.raises(InputError, match=r"positions: atom 0 jumps by 3.\d+ Å .* xu yu zu"):
        frfpms(s, wave, _wrapped(frames), 5.0, [[60.0, 200.0]])
    with pytest.raises(InputError, match=r"q_region\[0\] = .* is outside the grid"):
        frfpms(s, wave, frames, 5.0, [[60.0, 200.0]], q_region=[[7 / A, 0.0]])
    drifting = np.r_[np.full(8, 300.0), np.full(8, 420.0)]
    with pytest.warns(UserWarning, match="not in equilibrium"):
        res = frfpms(s, wave, frames, 5.0, [[60.0, 200.0]], temperatures=drifting)
    assert res.equilibrium is False
    with pytest.warns(UserWarning, match="Bose loss/gain split assumes equilibrium"):
        res.loss_gain(300.0)


# ---- FTE and mode-resolved diffraction (need the harmonic model: LAMMPS) -----------------------------
@pytest.fixture(scope="module")
def ni1():
    from jaxem.phonons import harmonic_phonons

    jax.config.update("jax_enable_x64", True)
    h = harmonic_phonons(cubic("Ni", A), (1, 1, 1), potential="Ni", primitive="F")
    p = fte.paired_projector(mode_projector(h, "float64"))
    s = h.supercell
    grid = Grid.from_extent((float(s.lengths[1]), float(s.lengths[0])), gpts=(12, 12))
    k = FrameKernel(s, plane_wave(grid, 200e3, precision="float64"), slice_thickness=float(s.lengths[2]))
    rng = np.random.default_rng(2)
    pos = np.asarray(p.positions)[None, None] + rng.normal(0, 0.03, (2, 3) + p.positions.shape)
    return h, p, k, pos


@needs_lammps
def test_fte_ensemble_nyquist(ni1):
    h, p, k, _ = ni1
    f_max = float(np.max(p.frequencies))
    with pytest.raises(InputError, match=r"dump_every × timestep_fs = 60 fs is above the Nyquist limit .* highest "
                                         r"phonon frequency"):
        fte.fte_ensemble(h.supercell, "Ni", p, [0.0, 0.0, 0.0], 3, 0.1, temperature=300, n_copies=2, steps=600,
                         dump_every=30, timestep_fs=2.0)
    assert 1e3 / (2 * f_max) < 60.0
    with pytest.raises(InputError, match=r"steps \(100\) must be a multiple of dump_every \(30\)"):
        fte.fte_ensemble(h.supercell, "Ni", p, [0.0, 0.0, 0.0], 3, 0.1, temperature=300, n_copies=2, steps=100,
                         dump_every=30)


@needs_lammps
def test_time_resolved_and_mode_resolved_tds_need_unwrapped_coordinates(ni1):
    h, p, k, pos = ni1
    bad = np.array(pos)
    bad[1, 2:, 0, 1] += float(h.supercell.lengths[1])  # copy 1, atom 0 wrapped along y at delay 2
    with pytest.raises(InputError, match=r"positions\[1\]: atom 0 jumps by 3.\d+ Å along y between frames 1 and 2"):
        fte.time_resolved_tds(k, bad)
    with pytest.raises(InputError, match=r"positions must have shape \(4, 3\)"):
        fte.time_resolved_tds(k, pos[:, :, :2])
    sets = modal.branch_sets(p)
    with pytest.raises(InputError, match=r"positions: atom 0 is displaced by 3.5\d* Å along y from its reference "
                                         r"site .* wrapped"):
        modal.mode_resolved_tds(k, p, bad[:, 2], sets)
    with pytest.raises(InputError, match=r"q_region\[0\] = .* is outside the grid"):
        FrameKernel(h.supercell, plane_wave(k.grid, 200e3), q_region=[[0.0, 10 / A]])
    # the good input runs (so the checks are not always raising)
    assert np.asarray(fte.time_resolved_tds(k, pos)).shape == (3,) + k.grid.gpts
