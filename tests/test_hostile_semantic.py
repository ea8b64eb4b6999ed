"""Well-typed but physically wrong inputs: never a silently wrong answer.

``tests/test_hostile_inputs*.py`` feed wrong *types* (None, strings, NaN, empty arrays); this file feeds
values of the right type that are physically wrong or at the edge of validity, each of which used to
give a silently wrong result or a crash deep inside (IndexError, ValueError from a reduction). Each test
checks the answer against something independent (CODATA constants, the Poisson law, analytic free
propagation, geometric optics) or checks that the error names the argument, the value and the range.
"""
from __future__ import annotations

import math
import re
import warnings

import jax
import numpy as np
import pytest
import scipy.constants as sc

import jaxem as jx
from jaxem import noise, optics, stem
from jaxem.structure import Structure

BEAM = jx.Beam(300e3)
GRID = jx.Grid((40, 40), (0.195, 0.195))  # band edge 2/3 Nyquist ≈ 33.6 mrad at 300 kV


# ---- beam energy: a range with a reason, relativistic values right across it ----------------------------------
@pytest.mark.parametrize("energy", [1.0, 300, 300.0, 999.0])
def test_sub_kev_beam_is_an_error_naming_energy_and_kv(energy):
    # Beam(300) was a silent 300 eV beam (λ = 0.708 Å) where 300 kV was meant
    with pytest.raises(ValueError, match=r"energy must be ≥ 1000 eV.*did you mean .* kV"):
        jx.Beam(energy)


@pytest.mark.parametrize("energy", [1e3, 10e3, 300e3, 10e6, 1e8])
def test_relativistic_wavelength_and_gamma_against_codata(energy):
    mc2 = sc.m_e * sc.c**2 / sc.e  # eV
    lam = sc.h * sc.c / (sc.e * math.sqrt(energy * (energy + 2 * mc2))) * 1e10  # Å
    b = jx.Beam(energy)
    assert b.wavelength == pytest.approx(lam, rel=1e-6)
    assert b.gamma == pytest.approx(1 + energy / mc2, rel=1e-8)  # CODATA 2018 vs 2022 m_e c² differ by 1.4e-9
    # σ = 2π m γ e λ / h² [rad/(V·Å)] (Kirkland 2010, eq. 5.6)
    sigma = 2 * math.pi * sc.m_e * (1 + energy / mc2) * sc.e * lam * 1e-10 / sc.h**2 * 1e-10
    assert b.sigma == pytest.approx(sigma, rel=1e-6)


def test_beam_energy_limits_accept_their_bounds():
    assert jx.Beam(1e3).energy == 1e3 and jx.Beam("1 keV").energy == 1e3 and jx.Beam(1e8).energy == 1e8
    with pytest.raises(ValueError, match="energy"):
        jx.Beam(1.01e8)


# ---- Poisson counts at any dose ---------------------------------------------------------------------------------
def test_poisson_is_exact_and_unchanged_at_ordinary_doses():
    key = jax.random.PRNGKey(3)
    lam = np.linspace(0.0, 50.0, 64).astype(np.float32)
    assert np.array_equal(np.asarray(noise.poisson(key, lam)), np.asarray(jax.random.poisson(key, lam)))
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    assert np.array_equal(noise.poisson_numpy(rng_a, lam), rng_b.poisson(lam))


@pytest.mark.parametrize("lam", [3e9, 1e12, 1e30])
def test_poisson_does_not_saturate_at_high_dose(lam):
    # jax.random.poisson saturated at 2**31 - 1: λ = 1e12 came back as 2.1e9
    n = 4000
    for draw in (np.asarray(noise.poisson(jax.random.PRNGKey(0), np.full(n, lam, np.float32)), np.float64),
                 noise.poisson_numpy(np.random.default_rng(0), np.full(n, lam))):
        assert abs(draw.mean() - lam) < 5 * math.sqrt(lam / n) + 1e-6 * lam  # float32 resolution at 1e30
        if lam < 1e20:  # the spread √λ is resolved in float32 only up to ~1e14
            assert 0.85 < draw.var() / lam < 1.15


def test_poisson_rejects_negative_and_nan_expectations():
    with pytest.raises(ValueError, match="dose"):
        noise.poisson(jax.random.PRNGKey(0), np.array([-1.0]), "dose")
    with pytest.raises(ValueError, match="dose"):
        noise.poisson_numpy(np.random.default_rng(0), np.array([np.nan]), "dose")


def test_hrtem_image_at_huge_dose_keeps_its_mean():
    from jaxem.hrtem.model import synthesize
    img = np.full((16, 16), 0.8, np.float32)
    out = np.asarray(synthesize(jax.random.PRNGKey(0), img, 1e12, 1.0))  # was 0.0017 (saturated counts / dose)
    assert np.allclose(out.mean(), 0.8, rtol=1e-4)


def test_eds_counts_at_huge_dose():
    from jaxem.eds.synthetic import poisson_counts
    out = np.asarray(poisson_counts(jax.random.PRNGKey(0), np.full(256, 1e12, np.float32)), np.float64)
    assert abs(out.mean() / 1e12 - 1) < 1e-5


# ---- detectors beyond the simulated band: an error or a stated crop, never a silent zero ------------------------
def test_annulus_beyond_the_band_edge_is_an_error():
    edge = stem.detectors.band_edge(BEAM, GRID)
    assert BEAM.cutoff_angle(GRID) < edge < BEAM.nyquist_angle(GRID)
    # 40–50 mrad lies inside the grid's Nyquist angle (50.8) but beyond the band: it collected exactly 0
    with pytest.raises(ValueError, match=r"'HAADF' inner angle of 40 mrad .* band edge 33.\d+ mrad.*nothing"):
        stem.AnnularDetector(40.0, 50.0, "HAADF").mask(BEAM, GRID)
    with pytest.raises(ValueError, match=r"'dpc' inner angle"):
        stem.SegmentedDetector(40.0, 50.0, name="dpc").masks(BEAM, GRID)


def test_annulus_reaching_beyond_the_band_is_a_stated_exact_crop():
    edge = stem.detectors.band_edge(BEAM, GRID)
    with pytest.warns(UserWarning, match=rf"'ADF' outer angle 48 mrad .* collects \[20, {edge:.4g}\] mrad only"):
        cropped = stem.AnnularDetector(20.0, 48.0, "ADF").mask(BEAM, GRID)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # outer = inf ("to the grid's limit") and outer within the band: no warning
        full = stem.AnnularDetector(20.0, float("inf")).mask(BEAM, GRID)
        stem.AnnularDetector(20.0, 30.0).mask(BEAM, GRID)
    # a band-limited pattern (anything multislice makes) gives the same signal as the open annulus
    k = np.hypot(*np.meshgrid(*(np.fft.fftfreq(n, d) for n, d in zip(GRID.gpts, GRID.sampling)), indexing="ij"))
    pattern = np.where(BEAM.frequency_to_mrad(k) < edge, np.random.default_rng(0).random(GRID.gpts), 0.0)
    assert np.sum(cropped * pattern) == pytest.approx(np.sum(full * pattern), rel=1e-12)


# ---- structures: vacuum, duplicates, everything at one point ----------------------------------------------------
def _empty():
    return Structure.create(np.zeros((0, 3)), np.zeros(0, int), [4.0, 4.0, 4.0])


def test_structure_without_atoms_is_vacuum():
    # was an IndexError (potential) and a ValueError "Need at least one array to stack" (absorptive)
    for pot in (jx.potential(_empty(), sampling=0.2),
                jx.absorptive_potential(_empty(), BEAM, sampling=0.2, model="aperture")):
        assert np.all(np.asarray(pot.array) == 0)
        wave = jx.plane_wave(pot.grid, BEAM)
        out = np.asarray(jx.multislice(wave, pot).array)
        assert np.allclose(out, out.flat[0], atol=1e-6) and np.allclose(np.abs(out), 1.0, atol=1e-6)
    with pytest.raises(ValueError, match="Debye"):
        jx.frozen_phonon_multislice(jax.random.PRNGKey(0), _empty(), jx.plane_wave(pot.grid, BEAM), n_configs=2)


@pytest.mark.parametrize("positions, match", [
    ([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]], r"atoms 0 and 1 coincide \(distance 0 Å.*occupancy of 2 > 1"),
    ([[0.0, 1.0, 1.0], [4.0, 1.0, 1.0]], r"atoms 0 and 1 coincide \(distance 0 Å, nearest periodic image"),
    ([[2.0, 2.0, 2.0]] * 5, r"occupancy of 5 > 1"),
])
def test_duplicated_atoms_are_an_error(positions, match):
    s = Structure.create(positions, ["Si"] * len(positions), [4.0, 4.0, 4.0])
    with pytest.raises(ValueError, match=match):
        jx.potential(s, sampling=0.2)


def test_a_mixed_site_is_the_occupancy_weighted_sum():
    mixed = Structure.create([[2.0, 2.0, 2.0]] * 2, ["Sr", "Ba"], [4.0, 4.0, 4.0], occupancy=[0.5, 0.5])
    sr = Structure.create([[2.0, 2.0, 2.0]], ["Sr"], [4.0, 4.0, 4.0])
    ba = Structure.create([[2.0, 2.0, 2.0]], ["Ba"], [4.0, 4.0, 4.0])
    v = [np.asarray(jx.potential(s, sampling=0.2).array, np.float64) for s in (mixed, sr, ba)]
    assert np.allclose(v[0], 0.5 * (v[1] + v[2]), rtol=1e-5, atol=1e-4)


# ---- probes that do not fit their cell ---------------------------------------------------------------------------
@pytest.mark.parametrize("aberrations, reach", [(dict(C10=-1e6), 1e6 * 0.02), (dict(C30=1e7), 1e7 * 0.02**3)])
def test_probe_wrapping_around_its_cell_is_warned(aberrations, reach):
    # geometric optics: a ray at the aperture edge α₀ is displaced by Δf·α₀ (defocus) or Cs·α₀³ (spherical)
    match = re.escape(f"reaches ±{reach:.4g} Å along y") + ".* wraps around the periodic"
    with pytest.warns(UserWarning, match=match):
        jx.probe(GRID, BEAM, 20.0, optics.Aberrations(**aberrations))


def test_probe_warning_threshold_is_half_the_cell():
    half = 0.5 * GRID.extent[0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jx.probe(GRID, BEAM, 20.0, optics.Aberrations(C10=-0.95 * half / 0.02))
        jax.jit(lambda c: jx.probe(GRID, BEAM, 20.0, optics.Aberrations(C10=c)))(1e6)  # traced: not checked
    with pytest.warns(UserWarning, match="wraps"):
        jx.probe(GRID, BEAM, 20.0, optics.Aberrations(C10=-1.05 * half / 0.02))


# ---- Debye–Waller factors: unit slips and ignored species ------------------------------------------------------
@pytest.mark.parametrize("kw, match", [
    (dict(B=1e6), r"u2 \(Debye–Waller ⟨u²⟩\) must be ≤ 5 Å² \(B ≤ 395 Å²\), got 1.267e\+04 Å²"),  # B in pm²
    (dict(u2=50.0), r"must be ≤ 5 Å²"),
    (dict(B={"Si": 0.5, "Au": 0.3}), r"B given per species names \['Au'\], which the structure does not contain"),
])
def test_debye_waller_unit_slips_and_ignored_species_are_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        Structure.create([[1.0, 1.0, 1.0]], ["Si"], [4.0, 4.0, 4.0], **kw)


def test_largest_debye_waller_factor_still_accepted():
    s = Structure.create([[1.0, 1.0, 1.0]], ["Si"], [4.0, 4.0, 4.0], u2=5.0)
    assert float(s.B[0]) == pytest.approx(8 * math.pi**2 * 5.0)


# ---- positions single precision cannot hold ----------------------------------------------------------------------
def test_far_away_atom_in_single_precision_is_an_error_not_a_misplaced_atom():
    # an atom 4e6 Å = 1e6 periods away was wrapped in float32 and misplaced by up to 0.25 Å (23 % potential error)
    far = np.array([[2.0 + 4e6, 2.0, 2.0]], np.float32)
    with pytest.raises(ValueError, match=r"positions\[0\] = \[4000002.0, 2.0, 2.0\] Å lies beyond ±65536 Å.*0.25 Å"):
        Structure(far, np.array([14]), np.eye(3, dtype=np.float32) * 4, np.zeros((1, 3), np.float32),
                  np.ones(1, np.float32))


@pytest.mark.parametrize("offset", [4e4, 4e6])
def test_far_away_atom_in_double_precision_lands_in_place(offset):
    # float64 positions (x64 is on in the tests) with the default float32 potential: the cast came before the
    # wrap and misplaced the atom (23 % at 4e6 Å); the lateral wrap is now done in float64
    far = Structure.create([[2.0 + offset, 2.0 - offset, 2.0]], ["Si"], [4.0, 4.0, 4.0])
    assert far.positions.dtype == np.float64
    ref = Structure.create([[2.0, 2.0, 2.0]], ["Si"], [4.0, 4.0, 4.0])
    a, b = (np.asarray(jx.potential(s, gpts=(32, 32)).array) for s in (far, ref))
    assert np.abs(a - b).max() < 1e-5 * np.abs(b).max()


def test_probe_on_a_cell_smaller_than_its_airy_disc_is_warned():
    # a 2 × 2 grid of 0.1 Å: only the zero frequency lies in a 20 mrad aperture; the "probe" was a flat 0.5
    with pytest.warns(UserWarning, match=r"Airy radius 0.61λ/α = 0.6\d+ Å .* exceeds half the cell extent 0.2 Å"):
        p = jx.probe(jx.Grid((2, 2), (0.1, 0.1)), BEAM, 20.0)
    assert np.allclose(np.abs(np.asarray(p)), 0.5)


# ---- the command line: wrong-but-typed configuration values -------------------------------------------------------
CONFIG = """
[beam]
energy = {energy}
[structure]
crystal = "Si"
zone_axis = [1, 1, 0]
B = {B}
[potential]
gpts = [16, 16]
slice_thickness = 1.92
[output]
path = "out"
"""


@pytest.mark.parametrize("energy, B, message", [
    ("300", "{ Si = 0.5 }", "energy must be ≥ 1000 eV"),  # kV meant: was a silent 300 eV run
    ('"300 kV"', "{ Si = 0.5, Au = 0.3 }", "B given per species names ['Au']"),  # was silently ignored
    ('"300 kV"', "{ Si = 5000.0 }", "must be ≤ 5 Å²"),
])
def test_simulate_config_with_physically_wrong_values_is_one_error_line(tmp_path, capsys, energy, B, message):
    from jaxem.cli.main import main
    path = tmp_path / "run.toml"
    path.write_text(CONFIG.format(energy=energy, B=B))
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


# ---- files: every dtype and awkward names round-trip -----------------------------------------------------------
@pytest.mark.parametrize("suffix", [".zarr", ".hspy"])
def test_io_round_trips_edge_arrays_and_names(tmp_path, suffix):
    arrays = {"f16": np.arange(6, dtype=np.float16).reshape(2, 3), "c128": np.arange(6).reshape(2, 3) * (1 + 2j),
              "bool": np.arange(6).reshape(2, 3) % 2 == 0, "0d": np.array(3.5), "empty": np.zeros((0, 3))}
    for label, a in arrays.items():
        m = jx.Measurement(a, tuple(jx.Axis(f"a{i}", 0.5, "Å") for i in range(a.ndim)), {"energy": 3e5})
        path = tmp_path / f"run ü Å {label}{suffix}"
        jx.save(m, path)
        back = jx.load(path)
        assert np.asarray(back.array).dtype == a.dtype and np.array_equal(np.asarray(back.array), a), label
        assert back.axes == m.axes


def test_isolated_object_touching_a_non_periodic_lateral_face_is_warned():
    import ase
    touching = ase.Atoms("Au", positions=[[0.3, 2.0, 2.0]], cell=[8.0, 8.0, 4.0])  # ASE's default: pbc false
    with pytest.warns(UserWarning, match=r"not periodic along x \(pbc false\) but an atom lies 0.3 Å from its face"):
        jx.potential(touching, sampling=0.25)
    touching.center(vacuum=2.0, axis=(0, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        jx.potential(touching, sampling=0.25)
        jx.potential(Structure.create([[0.0, 0.0, 1.0]], ["Au"], [4.0, 4.0, 2.0]), sampling=0.25)  # periodic
