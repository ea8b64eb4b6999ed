"""Well-typed but physically wrong inputs on the analysis side: never a silently wrong answer.

Second pass after ``tests/test_hostile_semantic.py`` (simulation side). Each class here used to give a
silently wrong result (a reconstruction with a calibration that contradicts the data, a lost peak, a
density in kg/m³ used as g/cm³, a 300 eV "beam" for 300 kV, atoms 0.3 Å apart fed to MD) or a crash
deep inside (an all-NaN synthetic map). Each test checks the error names the argument, the value and
the range, or that the behaviour is warned, and that the correct input still passes (so that the
check cannot be one that always fires).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import jaxem as jx
from jaxem import phase
from jaxem.phase import geometry


@pytest.fixture(scope="module")
def ds():
    # 16×16 scan, 32×32 detector (0.125 1/Å px); 20 mrad at 300 kV = 1.016 1/Å = 8.1 px BF radius
    return phase.simulate_dataset(phase.white_noise_phase(32, 0.02), 0.25, 300e3, 20.0,
                                  jx.Aberrations(C10=80.0), step=2)


def _no_warning(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


# ---- detector rotation: degrees given as radians ------------------------------------------------------------
@pytest.mark.parametrize("theta", [30.0, -90.0, 7.0])
def test_rotation_beyond_two_pi_is_degrees_as_radians(ds, theta):
    with pytest.raises(ValueError, match=r"rotation must be in \[−2π, 2π\] rad.*degrees given as radians"):
        ds.replace(rotation=theta)
    with pytest.raises(ValueError, match="rotation"):
        phase.reconstruct(ds, "icom", rotation=theta)
    with pytest.raises(ValueError, match="rotation"):
        phase.simulate_4dstem(np.zeros((8, 8)), 0.25, 300e3, 20.0, rotation=theta)


def test_rotation_in_range_and_in_degrees_string_pass():
    assert geometry.check_rotation(2 * math.pi) == pytest.approx(2 * math.pi)
    assert geometry.check_rotation(-3.0) == -3.0
    assert geometry.check_rotation("30 deg") == pytest.approx(math.radians(30))


# ---- calibration against the measured bright-field disk (every direct method) ----------------------------
def test_measured_disk_matches_the_true_calibration(ds):
    disk = phase.find_bright_field(phase.mean_pattern(ds))
    assert disk.radius == pytest.approx(ds.probe_cutoff / ds.detector_sampling[0], rel=0.05)  # 8.13 px
    assert np.allclose(disk.center, ds.center, atol=0.5)
    _no_warning(lambda: phase.wdd(ds))  # the right calibration passes silently
    _no_warning(lambda: phase.com_field(ds))


@pytest.mark.parametrize("method", ["wdd", "icom", "ssb"])
@pytest.mark.parametrize("change, predicted", [(dict(semiangle=2.0), r"0\.813"), (dict(semiangle=30.0), r"12\.2"),
                                               (dict(detector_sampling=(1.25, 1.25)), r"0\.813")])
def test_semiangle_or_detector_sampling_contradicting_the_disk_is_an_error(ds, method, change, predicted):
    # WDD and iCoM used to accept a 10× slip silently (only the BF stack compared the disk)
    with pytest.raises(ValueError, match=r"detector_sampling/semiangle: the bright-field disk of the data has "
                                         rf"radius [78]\.\d+ px, but .* predicts {predicted} px"):
        phase.reconstruct(ds.replace(**change), method)


@pytest.mark.parametrize("method", ["wdd", "icom", "ssb"])
def test_center_off_the_measured_disk_is_an_error(ds, method):
    off = ds.replace(center=(ds.center[0] + 4.0, ds.center[1]))
    with pytest.raises(ValueError, match=r"center: the bright-field disk of the data is centred at \(16\.00, 16\.00\)"
                                         r" px, 4 px from center"):
        phase.reconstruct(off, method)
    _no_warning(lambda: phase.com_field(ds.replace(center=(ds.center[0] + 1.0, ds.center[1]))))  # 1 px: tolerated


def test_constant_cube_warns_that_there_is_no_disk(ds):
    flat = ds.replace(array=np.ones(ds.shape, np.float32))
    with pytest.warns(UserWarning, match="no bright-field disk in the mean pattern"):
        phase.reconstruct(flat, "ssb")


def test_all_zero_and_negative_cubes_are_errors(ds):
    with pytest.raises(ValueError, match="ds.array: the mean pattern intensity must be finite and > 0"):
        phase.reconstruct(ds.replace(array=np.zeros(ds.shape, np.float32)), "ssb")
    with pytest.raises(ValueError, match="ds.array"):
        phase.reconstruct(ds.replace(array=-np.asarray(ds.array)), "ssb")


# ---- saturated / clipped detectors ------------------------------------------------------------------------
def test_saturated_uint8_disk_warns_and_unsaturated_does_not(ds):
    a = np.asarray(ds.array, np.float64) / float(np.max(ds.array))
    with pytest.warns(UserWarning, match=r"% of the bright-field values sit at the uint8 maximum 255"):
        phase.bright_field_stack(ds.replace(array=np.clip(3 * 255 * a, 0, 255).astype(np.uint8)))
    with pytest.warns(UserWarning, match="sit at the data maximum"):  # a float cube clipped at a third
        phase.bright_field_stack(ds.replace(array=np.minimum(a, a.max() / 3)))
    _no_warning(lambda: phase.bright_field_stack(ds.replace(array=np.round(200 * a).astype(np.uint8))))
    # low-count integer data reach their maximum often without any saturation: no warning
    counts = np.random.default_rng(0).poisson(3 * a / a.mean()).astype(np.uint16)
    _no_warning(lambda: phase.bright_field_stack(ds.replace(array=counts)))
    # a noise-free flat disk whose brightest frame holds the maximum in every disk pixel is not clipped
    disk = (np.hypot(*np.mgrid[-16:16, -16:16]) <= 8).astype(np.float32)
    scale = np.random.default_rng(1).uniform(0.9, 1.1, ds.scan_shape + (1, 1)).astype(np.float32)
    _no_warning(lambda: phase.bright_field_stack(ds.replace(array=disk * scale)))


def test_uint8_and_uint16_sums_do_not_overflow(ds):
    full = np.full(ds.shape, 255, np.uint8)  # a uint8 sum over 256 frames would wrap at 256
    assert phase.mean_pattern(ds.replace(array=full)).max() == 255.0
    pattern = np.zeros(ds.detector_shape, np.uint16)
    yy, xx = np.indices(ds.detector_shape)
    pattern[np.hypot(yy - 16, xx - 16) <= 8] = 60000  # 256 frames × 197 px × 6e4 = 3e9 counts > 2**31
    stack = _no_warning(lambda: phase.bright_field_stack(ds.replace(array=np.broadcast_to(pattern, ds.shape).copy())))
    assert stack.i0 == pytest.approx(60000.0 * np.count_nonzero(pattern), rel=1e-12)  # mean pattern total


# ---- EDS ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("e0", [300.0, 200.0, 999.0])
def test_eds_beam_energy_in_kv_written_as_ev_is_an_error(e0):
    from jaxem import eds

    with pytest.raises(ValueError, match=rf"beam_energy must be in \[1000, 1e\+08\] eV.*did you mean {e0:g} kV"):
        eds.ionization_cross_section("Zn", "K", e0)
    with pytest.raises(ValueError, match="beam_energy"):
        eds.theoretical_k_factors(["O_Ka", "Zn_Ka"], e0)


def test_eds_cross_section_is_zero_below_the_edge_and_positive_above():
    from jaxem import eds

    assert float(eds.ionization_cross_section("Zn", "K", 9.0e3)) == 0.0  # Zn K edge 9.659 keV
    assert float(eds.ionization_cross_section("Zn", "K", 200e3)) > 0.0


@pytest.mark.parametrize("density", [5606.0, 7874.0, 1e4])
def test_eds_density_in_kg_per_m3_is_an_error(density):
    from jaxem import eds

    match = rf"density must be ≤ 22.6 g/cm³.*{density / 1e3:g} g/cm³"
    with pytest.raises(ValueError, match=match):
        eds.phase_density(density)
    with pytest.raises(ValueError, match=match):
        eds.thickness_nm(1e-5, density)
    with pytest.raises(ValueError, match="density"):
        eds.thickness_nm(np.array([1e-5, 2e-5]), np.array([5.6, density]))
    with pytest.raises(ValueError, match=match):
        eds.cliff_lorimer_quantification(np.array([[1e3, 3e3]]), np.array([1.0, 2.0]), eds.atomic_weights(["O", "Zn"]),
                                         thickness_nm=50.0, density=density,
                                         mac=eds.mac_matrix(["O_Ka", "Zn_Ka"], ["O", "Zn"]), take_off_deg=20.0)


def test_eds_osmium_density_and_thickness_pass():
    from jaxem import eds

    assert eds.phase_density(22.59) == 22.59
    # t = ρt/ρ: 5.606e-6 g/cm² of ZnO at 5.606 g/cm³ is 10 nm
    assert float(eds.thickness_nm(5.606e-6, eds.phase_density("ZnO"))) == pytest.approx(10.0, rel=1e-3)


def test_eds_repeated_lines_or_elements_are_an_error():
    from jaxem import eds

    with pytest.raises(ValueError, match=r"lines must not repeat an entry.*\['Zn_Ka'\] repeated"):
        eds.mac_matrix(["O_Ka", "Zn_Ka", "Zn_Ka"], ["O", "Zn"])
    with pytest.raises(ValueError, match=r"elements must not repeat.*\['Zn'\] repeated"):
        eds.atomic_weights(["Zn", "O", "Zn"])
    with pytest.raises(ValueError, match="lines must not repeat"):
        eds.theoretical_zeta_factors(["O_Ka", "O_Ka"], 200e3)
    assert eds.mac_matrix(["Fe_Ka", "Fe_La"], ["Fe"]).shape == (2, 1)  # two lines of one element are fine


# ---- EELS ---------------------------------------------------------------------------------------------------
def _eels_map(zlp_counts):
    from jaxem import eels

    q, E = np.linspace(0.01, 0.5, 4), np.arange(-5, 80, 0.1)
    L = np.exp(-((E[None, :] - 15) / 3) ** 2) * np.ones((4, 1))
    return eels.synthetic_map(q, E, L, zlp_counts=zlp_counts, counts_per_peak=1e4, seed=None)


def test_eels_huge_thickness_is_an_error_not_an_all_nan_map():
    # t/λ = 1e4: the plural-scattering series e^(t/λ) overflowed into an all-NaN map
    with pytest.raises(ValueError, match=r"counts_per_peak/zlp_counts: the rows have t/λ = 1e\+04"):
        _eels_map(1.0)


def test_eels_deconvolution_t_over_lambda_is_poisson_and_warned_when_huge():
    from jaxem import eels

    thin = _no_warning(lambda: eels.deconvolve(_eels_map(1e5)))
    # Poisson plural scattering: I_total/I_0 = e^(t/λ) with t/λ = single counts / I_0 = 0.1
    assert np.allclose(thin.metadata["thickness_over_mfp"], 0.1, rtol=0.02)
    with pytest.warns(UserWarning, match=r"qe: t/λ = 5.\d+ \(total counts / ZLP counts\) exceeds 5"):
        eels.deconvolve(_eels_map(1.6e3))


# ---- ptychography: scan step beyond the probe ---------------------------------------------------------------
def test_ptycho_step_larger_than_the_probe_warns(ds):
    from jaxem import ptycho

    focused = ds.replace(aberrations=jx.Aberrations())  # probe diameter 1.22 λ/α = 1.2 Å at 300 kV, 20 mrad
    _no_warning(lambda: ptycho.prepare(focused))  # 0.5 Å step
    with pytest.warns(UserWarning, match=r"scan step 10 Å exceeds the probe diameter ≈ 1.2 Å"):
        ptycho.prepare(focused.replace(scan_sampling=(10.0, 10.0)))
    # defocused by 400 Å the probe is 2·(400·0.02 + 0.6) = 17 Å wide: a 10 Å step overlaps
    _no_warning(lambda: ptycho.prepare(focused.replace(scan_sampling=(10.0, 10.0),
                                                       aberrations=jx.Aberrations(C10=400.0))))


# ---- APT ----------------------------------------------------------------------------------------------------
def test_apt_all_events_in_one_bin_are_ranged():
    from jaxem import apt

    mass = np.full(1000, 27.0)
    centres, counts = apt.mass_spectrum(mass, 0.1)
    assert centres[-1] > 27.0 + 0.01  # the heaviest event is inside the last bin, not on its edge
    lo, hi, peak = apt.auto_ranges(centres, counts)
    assert len(lo) == 1 and np.count_nonzero((mass >= lo[0]) & (mass < hi[0])) == 1000  # was: no range at all
    # a peak in the first bin of an explicit range too
    c, n = apt.mass_spectrum(np.full(500, 1.01), 0.1, mass_range=(1.0, 5.0))
    assert len(apt.auto_ranges(c, n)[0]) == 1


def test_apt_hits_outside_the_detector_warn():
    import jax.numpy as jnp

    from jaxem import apt

    p = apt.ReconParams(**{k: jnp.asarray(v, jnp.float64) for k, v in dict(
        kF=30.0, xi=1.6, eta=0.5, L=100.0, omega=0.0166, detector_radius=40.0).items()})
    v = np.array([5000.0, 5000.0])
    _no_warning(lambda: apt.reconstruct_bas(p, np.array([30.0, 1.0]), np.array([20.0, 1.0]), v))
    with pytest.warns(UserWarning, match=r"x_det, y_det: a hit lies 100 mm from the detector centre.*40 mm"):
        apt.reconstruct_bas(p, np.array([100.0, 1.0]), np.array([0.0, 1.0]), v)
    with pytest.raises(ValueError, match=r"ReconParams.eta=1.5 outside the range \(0, 1\]"):
        apt.reconstruct_bas(p.__class__(**{**{f: getattr(p, f) for f in ("kF", "xi", "L", "omega", "detector_radius",
                                                                          "R0", "shank_angle", "z0")}, "eta": 1.5}),
                            np.array([1.0]), np.array([1.0]), np.array([5000.0]))


# ---- MD -------------------------------------------------------------------------------------------------------
def test_md_atoms_closer_than_half_an_angstrom_are_an_error(tmp_path):
    from ase.build import bulk

    from jaxem import md
    from jaxem.md.engine import check_min_distance

    si = bulk("Si", "diamond", a=5.43, cubic=True)
    check_min_distance(si.positions, si.cell.array)  # Si–Si 2.35 Å
    md.write_data_file(tmp_path / "ok.lmp", si)
    bad = si.copy()
    bad.positions[1] = bad.positions[0] + [0.3, 0.0, 0.0]
    with pytest.raises(ValueError, match=r"structure: atoms 0 and 1 are 0.3 Å apart.*closer than 0.5 Å"):
        md.write_data_file(tmp_path / "bad.lmp", bad)
    # across the periodic boundary of a triclinic cell
    cell = np.array([[4.0, 0.0, 0.0], [1.0, 4.0, 0.0], [0.0, 0.0, 4.0]])
    with pytest.raises(ValueError, match=r"atoms 0 and 1 are 0.2 Å apart"):
        check_min_distance(np.array([[0.1, 2.0, 2.0], [3.9, 2.0, 2.0]]), cell)


@pytest.mark.parametrize("settings, match", [(dict(temperature=1e5), r"temperature must be ≤ 10000 K"),
                                             (dict(temperature=0.0), r"temperature must be > 0"),
                                             (dict(timestep_fs=100.0), r"timestep_fs must be in \(0, 10\] fs")])
def test_md_settings_out_of_physical_range(settings, match):
    from jaxem import md

    with pytest.raises(ValueError, match=match):
        md.MDSettings(**settings)
    assert md.MDSettings(temperature=3500.0, timestep_fs=2.0).temperature == 3500.0


# ---- stores whose metadata contradict themselves or the data ----------------------------------------------
def test_loaded_store_with_contradicting_metadata(ds, tmp_path):
    import jaxem.io

    m = ds.to_measurement()
    path = tmp_path / "scan.zarr"
    jaxem.io.save(m.with_array(m.array, semi_angle={"value": 2.0, "units": "mrad"}), path)  # the disk is 20 mrad
    loaded = phase.Dataset4D.from_measurement(jaxem.io.load(path))
    assert loaded.semiangle == 2.0
    with pytest.raises(ValueError, match=r"detector_sampling/semiangle: the bright-field disk of the data"):
        phase.reconstruct(loaded, "wdd")
    # 'energy' and 'beam' entries that disagree: the beam used to win silently
    with pytest.raises(ValueError, match=r"metadata contradicts itself: 'energy' is 200000 eV but 'beam' has 300000"):
        phase.Dataset4D.from_measurement(m.with_array(m.array, energy={"value": 200e3, "units": "eV"}))
    agree = m.with_array(m.array, energy={"value": 300e3, "units": "eV"})
    assert phase.Dataset4D.from_measurement(agree).energy == 300e3
    with pytest.raises(ValueError, match="rotation must be in"):
        phase.Dataset4D.from_measurement(m.with_array(m.array, rotation={"value": 30.0, "units": "rad"}))
