"""No silent wrong answers in jaxem.eds: boundary checks (argument, value, range, units) and the NaN
policy for maps (bad pixels masked, listed, good pixels unchanged)."""
import dataclasses

import jax
import numpy as np
import pytest

from jaxem import accel, validate
from jaxem.eds import (absorption, cliff_lorimer, composition, cross_section, data, geometry, spectrum,
                       synthetic, zeta)

from test_zeta import ELS, A, LINES, MAC, RHO, W, ZETA  # the ZnO set-up shared with the ζ tests

DOSE = float(zeta.electron_dose(0.5, 0.2))


def _map(shape=(3, 4)):
    t = np.linspace(20.0, 250.0, int(np.prod(shape))).reshape(shape)
    lam = np.asarray(synthetic.expected_counts(W, RHO * t * 1e-7, DOSE, ZETA, MAC, 22.0))
    return np.asarray(synthetic.poisson_counts(jax.random.PRNGKey(0), lam), np.float64)


# ---- parameters ---------------------------------------------------------------------------------
def test_negative_mass_thickness_is_rejected_everywhere():
    I = _map()
    with pytest.raises(validate.InputError, match=r"mass_thickness must be ≥ 0 \[g/cm²\].*-0\.0001"):
        cliff_lorimer.cliff_lorimer_quantification(I, [1.0, 1.0], A, mass_thickness=-1e-4, mac=MAC,
                                                   take_off_deg=22.0)
    with pytest.raises(validate.InputError, match=r"mass_thickness must be ≥ 0 .*1 value"):
        zeta.thickness_nm(np.array([1e-5, -1e-5]), RHO)
    with pytest.raises(validate.InputError, match="mass_thickness"):
        synthetic.expected_counts(W, -1e-5, DOSE, ZETA)
    with pytest.raises(validate.InputError, match="mass_thickness"):
        absorption.absorption_chi(np.ones(2), -1e-5, 22.0)
    with pytest.raises(validate.InputError, match="mass_thickness"):
        zeta.zeta_from_standard(I, W, -1e-5, DOSE)
    with pytest.raises(validate.InputError, match="thickness_nm"):
        cliff_lorimer.cliff_lorimer_quantification(I, [1.0, 1.0], A, thickness_nm=-5.0, density=RHO, mac=MAC,
                                                   take_off_deg=22.0)


@pytest.mark.parametrize("toa", [0.0, 90.0, -5.0, 120.0, np.nan, "95 deg"])
def test_take_off_angle_outside_0_90_is_rejected(toa):
    I = _map()
    with pytest.raises(validate.InputError, match="take_off_deg"):
        zeta.zeta_factor(I, ZETA, DOSE, A, mac=MAC, take_off_deg=toa)
    with pytest.raises(validate.InputError, match="take_off_deg"):
        cliff_lorimer.cliff_lorimer_quantification(I, [1.0, 1.0], A, mass_thickness=1e-5, mac=MAC, take_off_deg=toa)
    with pytest.raises(validate.InputError, match="take_off_deg"):
        synthetic.expected_counts(W, 1e-5, DOSE, ZETA, MAC, toa)
    with pytest.raises(validate.InputError, match="take_off_deg"):
        zeta.zeta_from_standard(I, W, 1e-5, DOSE, mac=MAC, take_off_deg=toa)


def test_take_off_angle_string_with_units_is_parsed():
    I = _map()
    a = zeta.zeta_factor(I, ZETA, DOSE, A, mac=MAC, take_off_deg="22 deg")
    b = zeta.zeta_factor(I, ZETA, DOSE, A, mac=MAC, take_off_deg=22.0)
    np.testing.assert_array_equal(np.asarray(a.atomic_fractions), np.asarray(b.atomic_fractions))


@pytest.mark.parametrize("current, time, name", [(0.0, 1.0, "beam_current_nA"), (-1.0, 1.0, "beam_current_nA"),
                                                 (1.0, 0.0, "live_time_s"), (1.0, np.inf, "live_time_s"),
                                                 (np.nan, 1.0, "beam_current_nA")])
def test_beam_current_and_time_must_be_positive(current, time, name):
    with pytest.raises(validate.InputError, match=name):
        zeta.electron_dose(current, time)


def test_dose_and_factors_nan_or_nonpositive():
    I = _map()
    with pytest.raises(validate.InputError, match=r"dose must be finite"):
        zeta.zeta_factor(I, ZETA, np.nan, A)
    d = np.full(I.shape[:-1], DOSE)
    d[1, 2] = 0.0
    with pytest.raises(validate.InputError, match=r"dose must be > 0 \[electrons\].*first at index \(1, 2\)"):
        zeta.zeta_factor(I, ZETA, d, A)
    d[1, 2] = np.nan
    with pytest.raises(validate.InputError, match=r"dose holds 1 NaN/inf value.*\(1, 2\)"):
        zeta.zeta_factor(I, ZETA, d, A)
    with pytest.raises(validate.InputError, match=r"zeta_factors holds 1 NaN"):
        zeta.zeta_factor(I, [163.0, np.nan], DOSE, A)
    with pytest.raises(validate.InputError, match=r"zeta_factors must be > 0 \[kg/m²\], got zeta_factors\[1\] = -1"):
        zeta.zeta_factor(I, [163.0, -1.0], DOSE, A)
    with pytest.raises(validate.InputError, match="k_factors"):
        cliff_lorimer.cliff_lorimer_quantification(I, [np.inf, 1.0], A)
    with pytest.raises(validate.InputError, match="tol"):
        zeta.zeta_factor(I, ZETA, DOSE, A, tol=np.nan)
    with pytest.raises(validate.InputError, match="max_iter"):
        zeta.zeta_factor(I, ZETA, DOSE, A, mac=MAC, take_off_deg=22.0, max_iter=0)
    with pytest.raises(validate.InputError, match=r"mac must have shape \(2, 2\)"):
        zeta.zeta_factor(I, ZETA, DOSE, A, mac=MAC[:1], take_off_deg=22.0)
    with pytest.raises(validate.InputError, match="mac holds 1 NaN"):
        zeta.zeta_factor(I, ZETA, DOSE, A, mac=np.array([[1.0, np.nan], [1.0, 1.0]]), take_off_deg=22.0)
    with pytest.raises(validate.InputError, match="density"):
        zeta.thickness_nm(1e-5, -2.0)
    with pytest.raises(validate.InputError, match="beam_energy"):
        cross_section.ionization_cross_section("Zn", "K", -200e3)
    with pytest.raises(validate.InputError, match="solid_angle_sr"):
        cross_section.theoretical_zeta_factors(LINES, 200e3, solid_angle_sr=0.0)
    with pytest.raises(validate.InputError, match="reference"):
        cliff_lorimer.fit_k_factors(I, W, reference=5)


def test_unknown_elements_and_lines_suggest_the_closest():
    with pytest.raises(validate.InputError, match=r"unknown element 'ZN'.*did you mean 'Zn'"):
        data.element("ZN")
    with pytest.raises(validate.InputError, match=r"unknown X-ray line 'Zn_Kb1'.*did you mean 'Zn_Kb'"):
        data.parse_line("Zn_Kb1")
    with pytest.raises(validate.InputError, match=r"unknown element 'Xx'"):
        data.mac_matrix(["O_Ka"], ["Xx"])
    with pytest.raises(validate.InputError, match=r"table must be one of.*did you mean 'elam'"):
        data.mac_matrix(LINES, ELS, table="elamm")
    with pytest.raises(validate.InputError, match=r"no built-in density for phase 'ZnO2'.*did you mean 'ZnO'"):
        data.phase_density("ZnO2")
    with pytest.raises(validate.InputError, match="shell must be one of"):
        cross_section.ionization_cross_section("Zn", "Q", 200e3)
    with pytest.raises(validate.InputError, match=r"energy must be (in \[0.1, 30\] keV|within the table range)"):
        data.mass_attenuation_np("Zn", 50.0)
    with pytest.raises(validate.InputError, match="layers"):
        geometry.detector_efficiency(5.0, layers=(("Al", -1.0, 2.7),))


def test_spectrum_boundaries():
    e = np.arange(0.1, 12.0, 0.01)
    y = spectrum.model_spectrum(e, {"O_Ka": 3000.0, "Zn_Ka": 6000.0}, 200.0, background=40.0)
    with pytest.raises(validate.InputError, match=r"spectra holds 1 NaN/inf value.*first at index \(7,\)"):
        spectrum.fit_intensities(np.where(np.arange(e.size) == 7, np.nan, y), e, LINES, 200.0)
    with pytest.raises(validate.InputError, match=r"spectra must be ≥ 0"):
        spectrum.window_intensities(y - 1e4, e, LINES)
    with pytest.raises(validate.InputError, match="beam_energy_kev"):
        spectrum.fit_intensities(y, e, LINES, -200.0)
    with pytest.raises(validate.InputError, match=r"energy_axis must be strictly increasing"):
        spectrum.fit_intensities(y, e[::-1], LINES, 200.0)
    with pytest.raises(validate.InputError, match="fwhm_mnka_ev"):
        spectrum.window_intensities(y, e, LINES, fwhm_mnka_ev=0.0)
    with pytest.raises(validate.InputError, match=r"fit_range"):
        spectrum.fit_intensities(y, e, LINES, 200.0, fit_range=(5.0, 1.0))


# ---- the NaN policy for maps ---------------------------------------------------------------------
def test_zeta_map_bad_pixels_masked_listed_and_good_pixels_unchanged():
    clean = _map()
    dirty = clean.copy()
    dirty[0, 1, 0] = np.nan
    dirty[2, 3, 1] = np.inf
    ref = zeta.zeta_factor(clean, ZETA, DOSE, A, mac=MAC, take_off_deg=22.0)
    r = zeta.zeta_factor(dirty, ZETA, DOSE, A, mac=MAC, take_off_deg=22.0)
    bad = np.zeros(clean.shape[:-1], bool)
    bad[0, 1] = bad[2, 3] = True
    assert np.asarray(r.bad_pixels).tolist() == [[0, 1], [2, 3]]
    assert np.all(np.asarray(r.status)[bad] == composition.BAD_INPUT)
    assert np.all(np.asarray(ref.bad_pixels).shape == (0, 2))
    for f in dataclasses.fields(r):
        if f.name == "bad_pixels":
            continue
        got, want = np.asarray(getattr(r, f.name)), np.asarray(getattr(ref, f.name))
        assert np.all(np.isfinite(got)), f.name
        np.testing.assert_array_equal(got[~bad], want[~bad], err_msg=f.name)
        assert np.all(got[bad] == 0) or f.name == "absorption_factors" or f.name == "status"


def test_cliff_lorimer_map_bad_pixels_and_bad_variance():
    clean = _map()
    var = clean + 3.0
    dirty_var = var.copy()
    dirty_var[1, 1, 0] = np.nan
    kw = dict(mass_thickness=np.full(clean.shape[:-1], 5e-5), mac=MAC, take_off_deg=22.0)
    ref = cliff_lorimer.cliff_lorimer_quantification(clean, [1.0, 1.2], A, variance=var, **kw)
    r = cliff_lorimer.cliff_lorimer_quantification(clean, [1.0, 1.2], A, variance=dirty_var, **kw)
    bad = np.zeros(clean.shape[:-1], bool)
    bad[1, 1] = True
    assert np.asarray(r.bad_pixels).tolist() == [[1, 1]]
    assert np.asarray(r.status)[1, 1] == composition.BAD_INPUT
    np.testing.assert_array_equal(np.asarray(r.atomic_fractions)[~bad], np.asarray(ref.atomic_fractions)[~bad])
    np.testing.assert_array_equal(np.asarray(r.atomic_sigma)[~bad], np.asarray(ref.atomic_sigma)[~bad])


def test_single_pixel_with_nan_is_rejected():
    with pytest.raises(validate.InputError, match=r"intensities holds 1 NaN/inf value.*first at index \(1,\)"):
        zeta.zeta_factor(np.array([100.0, np.nan]), ZETA, DOSE, A)


def test_spectrum_image_bad_pixels_flow_through_to_the_quantification():
    rng = np.random.default_rng(1)
    e = np.arange(0.1, 12.0, 0.01)
    y0 = spectrum.model_spectrum(e, {"O_Ka": 3000.0, "Zn_Ka": 6000.0}, 200.0, background=40.0)
    clean = rng.poisson(np.broadcast_to(y0, (2, 3, e.size))).astype(np.float64)
    dirty = clean.copy()
    dirty[1, 2, 100] = np.nan
    dirty[0, 0, 5] = -4.0  # a negative raw count is not a measurement
    for fn in (lambda s: spectrum.fit_intensities(s, e, LINES, 200.0),
               lambda s: spectrum.window_intensities(s, e, LINES)):
        i0, v0 = (np.asarray(a) for a in fn(clean))
        i1, v1 = (np.asarray(a) for a in fn(dirty))
        bad = np.zeros((2, 3), bool)
        bad[1, 2] = bad[0, 0] = True
        assert np.all(np.isnan(i1[bad])) and np.all(np.isnan(v1[bad]))
        # the good pixels are computed as if the bad ones were absent (the Pearson weights of the fit
        # come from the summed spectrum of the good pixels; the windows are per pixel)
        ig, vg = (np.asarray(a) for a in fn(clean[~bad]))
        np.testing.assert_allclose(i1[~bad], ig, rtol=1e-10)
        np.testing.assert_allclose(v1[~bad], vg, rtol=1e-10)
        r = zeta.zeta_factor(i1, ZETA, DOSE, A, variance=v1)
        assert sorted(np.asarray(r.bad_pixels).tolist()) == [[0, 0], [1, 2]]
        assert np.all(np.isfinite(np.asarray(r.atomic_fractions)))


# ---- one mechanism, one iteration shape, one precision vocabulary --------------------------------
def test_zeta_state_is_a_pytree_and_init_step_drive_to_the_result():
    I = _map((5,))
    ic = np.asarray(I, np.float32)
    st = zeta.zeta_init(ic, ZETA.astype(np.float32), np.float32(DOSE))
    leaves = jax.tree_util.tree_leaves(st)
    assert len(leaves) == 6
    step = jax.jit(zeta.zeta_step)
    for _ in range(50):
        st = step(st, ic, ZETA.astype(np.float32), np.float32(DOSE), MAC.astype(np.float32), np.float32(22.0),
                  np.float32(1e-6))
    r = zeta.zeta_factor(ic, ZETA, DOSE, A, mac=MAC, take_off_deg=22.0)
    np.testing.assert_allclose(np.asarray(st.weights), np.asarray(r.weight_fractions), rtol=1e-6)
    cst = cliff_lorimer.cliff_lorimer_init(ic, np.ones(2, np.float32))
    cst = cliff_lorimer.cliff_lorimer_step(cst, ic, np.ones(2, np.float32), np.full(5, 5e-5, np.float32),
                                           MAC.astype(np.float32), np.float32(22.0), np.float32(1e-6))
    assert isinstance(cst, cliff_lorimer.CliffLorimerState) and cst.iterations.shape == (5,)


@pytest.mark.parametrize("precision", accel.PRECISION_ALIASES)
def test_every_precision_alias(precision):
    I = _map((3,))
    try:
        want = accel.resolve_precision(precision)
    except validate.InputError:  # a float64 alias without JAX's 64-bit mode
        with pytest.raises(validate.InputError, match="64-bit"):
            zeta.zeta_factor(I, ZETA, DOSE, A, precision=precision)
        return
    for r in (zeta.zeta_factor(I, ZETA, DOSE, A, precision=precision),
              cliff_lorimer.cliff_lorimer_quantification(I, [1.0, 1.0], A, precision=precision)):
        assert str(r.atomic_fractions.dtype) == want
