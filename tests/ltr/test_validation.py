"""No silent wrong answers in jaxem.ltr: dose, frame and shape arguments are checked (argument, value,
range, units); one memory policy (memory_budget); the stated dose is the simulated one."""
import jax
import numpy as np
import pytest

from jaxem import accel, physics, pytree, validate
from jaxem.ltr import (chunked, critical_dose, denoise, disk_shift, dose, events, kinetics, metrics, poisson,
                       reduce, reflection_shape, synthetic)

SPEC = synthetic.SyntheticLTR(scan_shape=(3, 4), n_frames=12, detector_shape=(16, 16),
                              centers=((8.0, 12.0), (4.0, 8.0)), intensity=(5.0, 3.0), critical_dose=(20.0, 10.0),
                              floor=(0.0, 0.1), growth=(None, (0.05, 2.0, 5.0)), halo_sigma=4.0)


def test_one_elementary_charge():
    assert dose.ELEMENTARY_CHARGE is physics.ELEMENTARY_CHARGE


@pytest.mark.parametrize("kw, match", [
    (dict(current_pA=0.0), r"current_pA must be > 0 \[pA\]"),
    (dict(frame_time_s=np.inf), r"frame_time_s must be finite \[s\]"),
    (dict(scan_step="-2 angstrom"), r"scan_step must be > 0 \[Å\]"),
    (dict(probe_diameter="abc"), r"probe_diameter must be a number in Å"),
    (dict(area="areal dose"), r"area must be one of 'areal', 'probe'"),
])
def test_dose_schedule_arguments(kw, match):
    args = dict(current_pA=1.0, frame_time_s=1e-3, scan_step=1.0, probe_diameter=1.0)
    args.update(kw)
    with pytest.raises(validate.InputError, match=match):
        dose.DoseSchedule(**args)


def test_dose_schedule_units_and_hashable():
    s = dose.DoseSchedule("10 pA", "1 ms", "0.5 nm", 2.0)
    assert s.current_pA == pytest.approx(10.0) and s.frame_time_s == pytest.approx(1e-3)
    assert s.scan_step == pytest.approx(5.0)
    assert hash(s) == hash(dose.DoseSchedule(10.0, 1e-3, 5.0, 2.0))
    with pytest.raises(validate.InputError, match=r"frame_doses must be > 0 .*first at frame 1"):
        dose.cumulative_dose([1.0, 0.0, 2.0])
    with pytest.raises(validate.InputError, match=r"n_frames must be ≥ 1"):
        s.frame_doses(0)


def test_events_shape_and_frame_arguments():
    d = dose.DoseSchedule.from_frame_dose(1.0)
    with pytest.raises(validate.InputError, match=r"n_frames must be ≥ 1"):
        events.make_events(np.zeros(0, np.int32), [0], (1, 1), 0, (4, 4), d)
    with pytest.raises(validate.InputError, match=r"scan_shape must be a pair"):
        events.make_events(np.zeros(0, np.int32), [0, 0], (1, 1, 1), 2, (4, 4), d)
    with pytest.raises(validate.InputError, match=r"detector_shape must be ≥ 1"):
        events.make_events(np.zeros(0, np.int32), [0, 0], (1, 1), 2, (0, 4), d)
    with pytest.raises(validate.InputError, match=r"frame_dose holds 1 NaN/inf"):
        events.make_events(np.zeros(0, np.int32), [0, 0, 0], (1, 1), 2, (4, 4), d, frame_dose=[1.0, np.nan])
    with pytest.raises(validate.InputError, match=r"detector_sampling must be > 0"):
        events.make_events(np.zeros(0, np.int32), [0, 0], (1, 1), 1, (4, 4), d, detector_sampling=0.0)
    with pytest.raises(validate.InputError, match=r"frames holds 1 NaN/inf value.*first at index \(0, 0, 1, 2, 3\)"):
        f = np.zeros((1, 1, 2, 5, 5))
        f[0, 0, 1, 2, 3] = np.nan
        events.count_electrons(f, 1.0, dose=d)
    with pytest.raises(validate.InputError, match=r"factor must be in \[1, 12\]"):
        events.bin_frames(synthetic.simulate_events(SPEC), 13)
    with pytest.raises(validate.InputError, match=r"positions must be flat scan indices in \[0, 12\)"):
        events.densify(synthetic.simulate_events(SPEC), [12])


def test_fit_arguments():
    D = dose.cumulative_dose(np.full(12, 2.0))
    y = np.ones((2, 12))
    y_nan = y.copy()
    y_nan[1, 4] = np.nan
    with pytest.raises(validate.InputError, match=r"counts holds 1 NaN/inf value.*first at index \(1, 4\)"):
        critical_dose.fit_decay(y_nan, D)
    with pytest.raises(validate.InputError, match=r"counts must be ≥ 0; 2 value.*\(0, 3\)"):
        critical_dose.fit_decay(np.where(np.arange(12) == 3, -1.0, y), D)
    with pytest.raises(validate.InputError, match=r"doses must be strictly increasing.*doses\[2\]"):
        critical_dose.fit_decay(y, np.r_[D[:2], D[1], D[3:]])
    with pytest.raises(validate.InputError, match="level"):
        critical_dose.fit_decay(y, D, level=1.0)
    with pytest.raises(validate.InputError, match="onset"):
        critical_dose.fit_decay(y, D, onset="auto")
    with pytest.raises(validate.InputError, match="onset"):
        critical_dose.fit_decay(y, D, onset=-1.0)
    with pytest.raises(validate.InputError, match="floor must be one of"):
        critical_dose.fit_decay(y, D, floor="fre")
    with pytest.raises(validate.InputError, match=r"counts holds 1 NaN"):
        kinetics.fit_jmak(y_nan, D)
    with pytest.raises(validate.InputError, match="alpha"):
        kinetics.emergence_dose(y, D, alpha=0.0)
    with pytest.raises(validate.InputError, match=r"stack must be ≥ 0"):
        reflection_shape.fit_spots(-np.ones((2, 7, 7)))
    with pytest.raises(validate.InputError, match="sampling"):
        reflection_shape.shape_vs_dose(np.ones((2, 7, 7)), (0, 0), (3, 3), -1.0)
    with pytest.raises(validate.InputError, match="half_width"):
        disk_shift.disk_shift_map(np.ones((1, 1, 16, 16)), (8, 8), 2.0, half_width=0)
    with pytest.raises(validate.InputError, match=r"z_soft = 5.0 must be ≤ z_hard"):
        denoise.denoise_stacks(np.zeros((1, 2, 8, 8)), z_soft=5.0)
    with pytest.raises(validate.InputError, match=r"unknown parameters \['z_hrad'\].*did you mean 'z_hard'"):
        denoise.denoise_stacks(np.zeros((1, 2, 8, 8)), z_hrad=3)
    with pytest.raises(validate.InputError, match="max_dose"):
        denoise.selective_sum(np.ones((2, 5, 3, 3)), [1, 3, 5, 7, 9], -1.0)
    with pytest.raises(validate.InputError, match="estimate"):
        metrics.psnr(np.ones(3), np.ones(4))


def test_one_memory_policy_argument_name():
    ev = synthetic.simulate_events(SPEC, seed=1)
    for fn in (chunked.chunk_positions, chunked.iter_chunks, reduce.sum_pattern, reduce.sum_frames,
               critical_dose.fit_decay, denoise.denoise_events, denoise.denoise_stacks, kinetics.fit_jmak,
               reflection_shape.fit_spots, synthetic.iter_events, synthetic.simulate_events):
        import inspect

        params = inspect.signature(fn).parameters
        assert "memory_budget" in params and "budget" not in params, fn.__name__
    with pytest.raises(validate.InputError, match="memory_budget"):
        reduce.sum_pattern(ev, memory_budget="lots")
    a = reduce.sum_frames(ev, memory_budget="2K").numpy()
    b = reduce.sum_frames(ev, memory_budget="1G").numpy()
    np.testing.assert_array_equal(a, b)
    # unweighted counts accumulate as integers (exact beyond float32's 2²⁴)
    lab = reduce.disk_labels(SPEC.detector_shape, SPEC.centers, 2.0)
    assert reduce.label_series(ev, lab).numpy().dtype.kind == "i"


def test_synthetic_events_do_not_depend_on_the_chunking():
    spec = SPEC.replace(scan_shape=(17, 20))           # 340 positions: two random-stream blocks
    a = synthetic.simulate_events(spec, seed=5)
    b = synthetic.simulate_events(spec, seed=5, positions_per_chunk=7)
    c = synthetic.simulate_events(spec, seed=5, memory_budget="1K")
    for other in (b, c):
        np.testing.assert_array_equal(a.indices, other.indices)
        np.testing.assert_array_equal(a.offsets, other.offsets)


# ---- the stated dose is the simulated dose -----------------------------------------------------
def test_beam_electrons_follow_the_stated_dose():
    s = SPEC
    d = s.dose
    n_beam = s.beam_electrons
    # the schedule states exactly the simulated beam: N = frame dose × step² = I·t/e
    assert d.electrons_per_frame == pytest.approx(n_beam, rel=1e-12)
    assert d.areal_dose_per_frame == pytest.approx(s.frame_dose, rel=1e-12)
    assert d.scan_step ** 2 * s.frame_dose == pytest.approx(n_beam, rel=1e-12)
    # the components never need more electrons than the beam delivers, and the beam is not inflated
    w = s.weights(np.arange(s.n_positions)).sum(-1)
    assert np.all(w <= n_beam * (1 + 1e-12)) and w.max() == pytest.approx(n_beam, rel=1e-12)
    assert np.all(s.lost_electrons(np.arange(s.n_positions)) >= -1e-9)


def test_recorded_events_agree_with_the_beam():
    spec = SPEC.replace(scan_shape=(8, 8), n_frames=40)
    ev = synthetic.simulate_events(spec, seed=3)
    per_frame = ev.counts.reshape(-1, spec.n_frames)
    expected = synthetic.expected_frames(spec, np.arange(spec.n_positions)).sum((2, 3))  # on the detector
    n = per_frame.size
    # recorded mean = expected mean within 5 Poisson standard errors …
    assert abs(per_frame.mean() - expected.mean()) < 5 * np.sqrt(expected.mean() / n)
    # … and never above what the beam delivers
    assert per_frame.mean(0).max() <= ev.dose.electrons_per_frame
    assert ev.dose == spec.dose


def test_explicit_scan_step_must_deliver_enough_electrons():
    need = SPEC.model_electrons
    ok = SPEC.replace(scan_step=float(np.sqrt(2 * need / SPEC.frame_dose)))
    assert ok.dose.electrons_per_frame == pytest.approx(2 * need)
    assert ok.lost_electrons(np.arange(3)).min() >= need * 0.99
    with pytest.raises(validate.InputError, match=r"scan_step = 1 Å .* fewer than"):
        SPEC.replace(scan_step=1.0)


def test_ltr_demo_states_the_simulated_dose():
    from jaxem.cli.sections import ltr as section

    spec = section._spec(True)
    ev = synthetic.simulate_events(spec, seed=0)
    ds = section.dose_summary(spec, ev)
    assert ds["beam_electrons_per_frame"] == pytest.approx(spec.beam_electrons)
    assert ds["areal_dose_per_frame"] == pytest.approx(spec.frame_dose)
    # the events recorded per frame follow from the stated beam: at most the beam, and most of it
    assert ds["max_recorded_events_per_frame"] <= ds["beam_electrons_per_frame"]
    assert ds["recorded_events_per_frame"] > 0.5 * ds["beam_electrons_per_frame"]
    assert ds["recorded_events_per_frame"] == pytest.approx(ds["expected_events_per_frame"], rel=0.1)


# ---- one pytree mechanism, one iteration shape -------------------------------------------------
def test_states_and_results_are_pytree_dataclasses():
    assert pytree.units_of(dose.DoseSchedule)["current_pA"] == "pA"
    st = poisson.fisher_scoring_init(lambda t, x: t[0] * jax.numpy.exp(-x / t[1]), jax.numpy.array([5.0, 10.0]),
                                     jax.numpy.arange(6.0), jax.numpy.array([5.0, 3, 2, 2, 1, 1]))
    assert isinstance(st, poisson.ScoringState) and len(jax.tree_util.tree_leaves(st)) == 3
    fit = critical_dose.fit_decay(np.random.default_rng(0).poisson(5.0, (2, 12)), dose.cumulative_dose(np.full(12, 2.0)))
    assert isinstance(fit, critical_dose.DecayFit) and fit.metadata["dose_unit"] == "e-/A^2"


def test_two_component_init_step_equals_driver():
    y = jax.numpy.array([9.0, 7, 5, 4, 3, 3, 2, 2])
    u = jax.numpy.ones(8)
    v = jax.numpy.exp(-jax.numpy.arange(8.0) / 3)
    ab, ll = poisson.linear_two_component(y, u, v, jax.numpy.array([1.0, 5.0]), 6)
    st = poisson.two_component_init(y, u, v, jax.numpy.array([1.0, 5.0]))
    step = jax.jit(poisson.two_component_step)
    for _ in range(6):
        st = step(st, y, u, v)
    np.testing.assert_allclose([st.a, st.b, st.loglik], [ab[0], ab[1], ll], rtol=1e-6)


@pytest.mark.parametrize("precision", accel.PRECISION_ALIASES)
def test_precision_aliases(precision):
    D = dose.cumulative_dose(np.full(12, 2.0))
    y = np.random.default_rng(0).poisson(5.0, (1, 12))
    try:
        want = accel.resolve_precision(precision)
    except validate.InputError:
        with pytest.raises(validate.InputError, match="64-bit"):
            kinetics.emergence_dose(y, D, precision=precision)
        return
    est, _ = denoise.denoise_stacks(np.zeros((1, 2, 8, 8)), precision=precision)
    assert str(est.dtype) == want
