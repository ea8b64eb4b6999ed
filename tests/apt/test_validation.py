"""No silent wrong answers in jaxem.apt: every public boundary names the argument, the value and the
expected range; NaN masses get a clear error with their count; one pytree mechanism; the
calibrations are init/step pairs compiled once."""
import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import pytree, validate
from jaxem.apt import (isotopes, maps, profiles, ranging, reconstruct, spectrum, synthetic, tem_guided, tip_image,
                       tipshape)
from jaxem.apt.rangefile import RangeTable


def _p(**kw):
    base = dict(kF=900.0, xi=1.5, eta=0.5, L=100.0, omega=0.0118, detector_radius=40.0)
    base.update(kw)
    return reconstruct.ReconParams(**base)


def test_nan_masses_get_a_clear_error_with_the_count():
    m = np.array([27.0, np.nan, 13.5, np.nan, 9.0])
    with pytest.raises(validate.InputError, match=r"mass holds 2 NaN/inf value\(s\) \[Da\] \(first at index \(1,\)\)"):
        spectrum.mass_spectrum(m)
    with pytest.raises(validate.InputError, match=r"mass holds 1 NaN/inf"):
        spectrum.mass_spectrum(np.array([27.0, np.inf]), 0.01)
    table = RangeTable([26.5], [27.5], [{"Al": 1}])
    with pytest.raises(validate.InputError, match=r"mass holds 2 NaN/inf"):
        ranging.range_counts(m, table)


def test_mass_spectrum_bin_guard_and_ranges():
    with pytest.raises(validate.InputError, match=r"bin_width = 1e-09 Da .* bins"):
        spectrum.mass_spectrum(np.array([1.0, 200.0]), 1e-9)
    with pytest.raises(validate.InputError, match=r"bin_width must be > 0 \[Da\]"):
        spectrum.mass_spectrum(np.array([1.0, 2.0]), 0.0)
    with pytest.raises(validate.InputError, match=r"mass_range must be \(lo, hi\)"):
        spectrum.mass_spectrum(np.array([1.0, 2.0]), 0.1, (5.0, 1.0))
    c, h = spectrum.mass_spectrum(np.array([]), 0.5)  # no ions: an empty histogram, not an error
    assert h.sum() == 0


def test_calibration_arguments():
    cal = spectrum.MassCalibration(0.0, 100.0, 0.0, 0.0)
    with pytest.raises(validate.InputError, match=r"v_dc must be > 0 \[V\]"):
        spectrum.tof_to_mass(cal, np.array([1000.0]), -5000.0)
    with pytest.raises(validate.InputError, match=r"cal.L must be > 0 \[mm\]"):
        spectrum.tof_to_mass(cal.replace(L=-1.0), np.array([1000.0]), 5000.0)
    with pytest.raises(validate.InputError, match=r"tof holds 1 NaN"):
        spectrum.fit_calibration(np.array([1.0, np.nan, 3.0, 4.0]), 5000.0, [27.0])
    with pytest.raises(validate.InputError, match=r"fit \(unknown parameter name\) must be one of .*did you mean 't0'"):
        spectrum.fit_calibration(np.arange(1.0, 10.0), 5000.0, [27.0], fit=("t1", "L"))
    with pytest.raises(validate.InputError, match=r"known_masses must be > 0 \[Da\]"):
        spectrum.fit_calibration(np.arange(1.0, 10.0), 5000.0, [27.0, -1.0])
    with pytest.raises(validate.InputError, match=r"window must be in \(0, 1\)"):
        spectrum.fit_calibration(np.arange(1.0, 10.0), 5000.0, [27.0], window=0.0)


def test_mass_calibration_init_step_is_a_pure_pair():
    cal = spectrum.MassCalibration(2.0, 101.0, 0.0, 0.0, v_ref=6000.0)
    rng = np.random.default_rng(0)
    m = rng.choice([9.0, 13.5, 27.0], 300)
    v = rng.uniform(5000, 7000, 300)
    tof = np.asarray(spectrum.mass_to_tof(cal, m, v))
    st = spectrum.mass_calibration_init(cal.replace(t0=0.0, L=100.0), precision="float64")
    assert isinstance(st, spectrum.MassCalibrationState)
    args = (cal, jnp.asarray(tof), jnp.asarray(v), jnp.zeros(300), jnp.zeros(300), jnp.zeros(300), jnp.asarray(m),
            jnp.array([1.0, 1.0, 0.0, 0.0]))
    for _ in range(30):
        st = spectrum.mass_calibration_step(st, *args)
    out = spectrum.mass_calibration_params(st, cal)
    assert float(out.t0) == pytest.approx(2.0, abs=1e-3) and float(out.L) == pytest.approx(101.0, rel=1e-6)
    assert pytree.static_fields(spectrum.MassCalibration) == ("beta", "v_ref")
    assert pytree.units_of(spectrum.MassCalibration)["L"] == "mm"


def test_reconstruction_arguments():
    x = jnp.zeros(4)
    with pytest.raises(validate.InputError, match=r"projection must be one of 'linear', 'wide'.*did you mean 'wide'"):
        reconstruct.reconstruct_bas(_p(), x, x, jnp.ones(4), projection="wid")
    with pytest.raises(validate.InputError, match=r"ReconParams.kF=nan"):
        reconstruct.reconstruct_bas(_p(kF=np.nan), x, x, jnp.ones(4))
    with pytest.raises(validate.InputError, match=r"ReconParams.shank_angle=2.0 outside"):
        reconstruct.reconstruct_bas(_p(shank_angle=2.0), x, x, protocol="shank")
    with pytest.raises(validate.InputError, match=r"voltage must have one value per ion"):
        reconstruct.radius_and_apex(_p(), jnp.ones(3), 4)
    with pytest.raises(validate.InputTypeError, match=r"p must be a ReconParams"):
        reconstruct.reconstruct_bas({"kF": 1.0}, x, x, jnp.ones(4))
    with pytest.raises(validate.InputError, match=r"x_det holds 1 NaN/inf value\(s\) \[mm\] \(first at index \(2,\)\)"):
        reconstruct.reconstruct_bas(_p(), x.at[2].set(jnp.inf), x, jnp.ones(4))


def test_tip_shapes_and_tables_arguments():
    with pytest.raises(validate.InputError, match=r"R must be > 0 \[nm\]"):
        tipshape.conic_sag(np.linspace(0, 1, 3), -1.0)
    with pytest.raises(validate.InputError, match=r"alpha \(shank half-angle\) must be in \(0, π/2\)"):
        tipshape.conic_sag(np.linspace(0, 1, 3), 5.0, 0.0, 2.0)
    with pytest.raises(validate.InputError, match="r .*without sag"):
        tipshape.tip_profiles([0, 10], [0, -1], [5, 5], r=np.linspace(0, 1, 5))
    prof = tipshape.tip_profiles([0, 100], [0, -1], [5, 5])
    with pytest.raises(validate.InputError, match=r"n_theta must be ≥ 2"):
        tem_guided.guided_tables(prof, n_theta=1)
    with pytest.raises(validate.InputTypeError, match="profiles must be a TipProfiles"):
        tem_guided.guided_tables({"count": [0, 1]})
    with pytest.raises(validate.InputError, match=r"count_offset must be ≥ 0"):
        tem_guided.reconstruct_tem(_p(), jnp.zeros(3), jnp.zeros(3), tem_guided.guided_tables(prof), count_offset=-1.0)
    with pytest.raises(validate.InputError, match=r"voltage must be > 0 V"):
        tem_guided.calibration_data(prof, np.zeros(200), np.zeros(200), -np.ones(200), 0.14)
    with pytest.raises(validate.InputError, match="runs must be a non-empty list"):
        tem_guided.stitch_runs([])
    with pytest.raises(validate.InputError, match=r"runs\[0\] is missing \['voltage'\]"):
        tem_guided.stitch_runs([dict(x_det=np.zeros(3), y_det=np.zeros(3), profiles=prof)])


def test_composition_and_profiles_arguments():
    with pytest.raises(validate.InputError, match=r"element 'FE' has no natural isotopes.*did you mean 'Fe'"):
        isotopes.isotope_pattern({"FE": 1})
    with pytest.raises(validate.InputError, match=r"charge must be ≥ 1"):
        isotopes.isotope_pattern("Fe", 0)
    with pytest.raises(validate.InputError, match=r"amounts must be ≥ 0"):
        ranging.composition(np.array([3.0, -1.0]))
    with pytest.raises(validate.InputError, match=r"pos holds 1 NaN/inf value\(s\) \[nm\]"):
        profiles.roi_coordinates(np.array([[0, 0, 0], [np.nan, 0, 0]]), (0, 0, 0), (0, 0, 1), 5.0, radius=1.0)
    with pytest.raises(validate.InputError, match=r"pos must have shape \(any, 3\)"):
        maps.sdm_z(np.zeros((5, 2)))
    with pytest.raises(validate.InputError, match=r"species must have shape \(3,\)"):
        profiles.composition_profile(np.zeros((3, 3)), np.zeros(2, int), (0, 0, -1), (0, 0, 1), 2.0, radius=1.0,
                                     bin_width=0.5)
    with pytest.raises(validate.InputError, match="voxel = 1e-05 nm gives a grid"):
        profiles.concentration_grid(np.array([[0, 0, 0], [10, 10, 10.0]]), np.array([True, False]), voxel=1e-5)
    with pytest.raises(validate.InputError, match=r"centres must be uniformly spaced"):
        ranging.auto_ranges(np.array([1.0, 2.0, 4.0]), np.ones(3))
    with pytest.raises(validate.InputError, match=r"image must have 2 dimensions"):
        tip_image.extract_profile(np.zeros(5), 0.25)


def test_synthetic_configuration_is_static_and_checked():
    tip = synthetic.SyntheticTip()
    assert hash(tip) == hash(synthetic.SyntheticTip())
    assert jax.tree_util.tree_leaves(tip) == []
    with pytest.raises(validate.InputError, match=r"generate\(\) parameter must be one of .*did you mean 'depth'"):
        synthetic.generate(deph=3.0)
    with pytest.raises(validate.InputError, match=r"K1 must be > -1"):
        synthetic.SyntheticTip(K1=-1.5)
    with pytest.raises(validate.InputError, match=r"solute must be \(element, charge\)"):
        synthetic.SyntheticTip(solute="Cu")
    assert {f.name for f in dataclasses.fields(synthetic.SyntheticRun)} >= {"x_det", "profiles", "tip"}


def test_guided_calibration_compiles_once():
    run = synthetic.generate(depth=6.0, interface_z=-3.0, n_profiles=5)
    base = run.params.replace(kF=850.0, xi=1.4, eta=0.45)
    kw = dict(steps=3, n_scan=5, block=500, precision="float32")
    tem_guided.calibrate(base, run.profiles, run.x_det, run.y_det, run.voltage, run.tip.d_spacing, **kw)
    n = tem_guided.guided_calibration_step._cache_size()
    res = tem_guided.calibrate(base.replace(kF=800.0), run.profiles, run.x_det, run.y_det, run.voltage,
                               run.tip.d_spacing, **kw)
    assert tem_guided.guided_calibration_step._cache_size() == n       # no recompilation
    assert res.losses.shape == (3,) and np.all(np.isfinite(np.asarray(res.losses)))
    problem = tem_guided.GuidedCalibrationProblem(
        base=jax.tree.map(lambda v: jnp.asarray(v, jnp.float32), base),
        data=tem_guided.calibration_data(run.profiles, run.x_det, run.y_det, run.voltage, run.tip.d_spacing, block=500),
        tables=tem_guided.guided_tables(run.profiles), weights=jnp.ones(3, jnp.float32),
        learning_rate=jnp.float32(0.02))
    st = tem_guided.guided_calibration_init(problem)
    st = tem_guided.guided_calibration_step(st, problem)
    assert int(st.count) == 1 and isinstance(tem_guided.guided_calibration_result(st, problem), reconstruct.ReconParams)
