"""Gradients (check_grads, float64), reconstruction quality on simulated data (Adam and L-BFGS),
compile-once, warm start, the k_z regulariser, checkpoints with resume, result Measurements and
argument errors."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxem import io as jio
from jaxem import ptycho
from jaxem.optics import Aberrations

from .conftest import SAMPLING, dataset


@pytest.fixture(scope="module")
def tiny():
    ds, phi = dataset(n=15, step=3, aberrations=Aberrations(C10=-30.0))
    data = ptycho.prepare(ds, object_extent=(15 * SAMPLING,) * 2, precision="float64")
    return ds, phi, data


def test_gradients_match_finite_differences(tiny):
    ds, phi, data = tiny
    model = ptycho.Model(data.geometry, 2, 8.0, (("C10", -30.0),))
    cfg = ptycho.SolverConfig(batch=5, n_batches=1, tv=1e-3, kz=1e-2, absorption_l2=1e-2, rate_positions=0.1,
                              rate_aberrations=1.0, fit_aberrations=("C10",))
    p0 = ptycho.init_params(model, data.n_positions, 2, precision="float64")
    rng = np.random.default_rng(0)
    p0 = p0.replace(phase=jnp.asarray(0.1 * rng.standard_normal(p0.phase.shape)),
                    absorption=jnp.asarray(0.01 * rng.random(p0.phase.shape)),
                    offsets=jnp.asarray(0.05 * rng.standard_normal(p0.offsets.shape)))
    arrays = (data.amplitudes, data.positions, data.weights, data.detector_mask)
    idx, valid = jnp.asarray([0, 3, 7, 11, 20]), jnp.ones(5)
    norm = jnp.sum(data.amplitudes ** 2)

    def f(phase, absorption, probe, c10, offsets):
        p = p0.replace(phase=phase, absorption=absorption, probe=probe, aberrations=Aberrations(C10=c10),
                       offsets=offsets)
        return ptycho.loss(p, model, cfg, arrays, idx, valid, norm)

    check_grads(jax.jit(f), (p0.phase, p0.absorption, p0.probe, jnp.asarray(-25.0), p0.offsets), order=1, modes=("rev",),
                eps=1e-5, atol=1e-6, rtol=1e-4)


def test_kz_regulariser_is_the_slice_difference_penalty():
    rng = np.random.default_rng(4)
    phi = rng.standard_normal((3, 6, 5))
    p = ptycho.PtychoParams(phase=jnp.asarray(phi), absorption=jnp.zeros_like(phi), probe=jnp.zeros((1, 2, 4, 4)),
                            aberrations=Aberrations(), offsets=jnp.zeros((2, 2)))
    cfg = ptycho.SolverConfig(kz=0.7)
    expected = 0.7 * sum(np.mean((phi[s + 1] - phi[s]) ** 2) for s in range(2))
    assert float(ptycho.solver._regulariser(p, cfg)) == pytest.approx(expected, rel=1e-12)
    # its 3D Fourier form: Σ_s⟨(Δ_z φ)²⟩ = Σ_{k,kz} 4 sin²(π kz/S)|Φ|²/N for a periodic stack (here the
    # open stack: the wrap-around pair is added by hand to compare)
    full = sum(np.mean((np.roll(phi, -1, 0) - phi)[s] ** 2) for s in range(3))
    spec = np.fft.fftn(phi)
    w = 4 * np.sin(np.pi * np.fft.fftfreq(3))[:, None, None] ** 2
    assert full == pytest.approx(np.sum(w * np.abs(spec) ** 2) / phi.size / 30, rel=1e-12)


# one configuration for the Adam tests (the step compiles once per configuration)
KW = dict(batch=9, n_modes=2, rate_positions=0.01, fit_aberrations=("C10",), progress=False, seed=3)


def test_single_slice_reconstruction_recovers_the_phase(tiny):
    ds, phi, data = tiny
    res = ptycho.reconstruct(data, iterations=30, aberrations=ds.aberrations, **KW)
    hist = res.history
    assert hist[-1, 3] < 0.05 * hist[0, 3]
    assert res.error < 0.01
    c = ptycho.correlation(res.object.array[0], ptycho.metrics.fourier_resample(phi, res.object.shape[1:]))
    assert c > 0.95, c
    # result Measurements with axes, written and read back in jaxem's layout
    assert res.object.dims == ("slice", "y", "x") and res.object.axes[1].units == "Å"
    assert res.probe.shape[0] == 2 and np.iscomplexobj(res.probe.array)
    assert abs(float(res.aberrations.C10) + 30.0) < 3.0  # fitted C10 stays at the truth


def test_checkpoint_resume_equals_uninterrupted_run(tiny, tmp_path):
    ds, phi, data = tiny
    kw = dict(iterations=2, aberrations=ds.aberrations, **KW)
    full = ptycho.reconstruct(data, **{**kw, "iterations": 4})
    path = tmp_path / "ck.npz"
    ptycho.reconstruct(data, checkpoint=path, **kw)
    compiled = ptycho.solver._step._cache_size()  # the jitted kernel behind the validating public step
    resumed = ptycho.reconstruct(data, checkpoint=path, **kw)
    assert ptycho.solver._step._cache_size() == compiled   # a repeated call compiles nothing
    assert int(resumed.state.count) == 4 and resumed.history.shape == (4, 4)
    np.testing.assert_allclose(np.asarray(resumed.params.phase), np.asarray(full.params.phase), atol=1e-12)
    np.testing.assert_allclose(float(resumed.aberrations.C10), float(full.aberrations.C10), atol=1e-10)
    with pytest.raises(ValueError, match="checkpoint .* another reconstruction"):
        ptycho.reconstruct(data, checkpoint=path, **{**kw, "n_modes": 1})


def test_result_saves_with_axes(tiny, tmp_path):
    ds, phi, data = tiny
    res = ptycho.reconstruct(data, iterations=0, aberrations=ds.aberrations, **KW)
    jio.save(res.object, tmp_path / "obj.zspy")
    back = jio.load(tmp_path / "obj.zspy")
    assert back.dims == res.object.dims and back.axes[2].sampling == pytest.approx(data.geometry.sampling[1])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_slices=3), "slice_thickness"),
    (dict(n_slices=0), "n_slices"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(fit_aberrations=("C11",)), "fit_aberrations"),
    (dict(rate_object=-1.0), "rate_object"),
    (dict(batch=0), "batch"),
    (dict(kz=-1.0), "kz"),
    (dict(warm_start=-1), "warm_start"),
    (dict(oversampling=1.5), "oversampling|prepared"),
])
def test_argument_errors(tiny, kwargs, match):
    ds, phi, data = tiny
    with pytest.raises((ValueError, TypeError), match=match):
        ptycho.reconstruct(data, iterations=0, progress=False, **kwargs)


def test_data_type_error():
    with pytest.raises(TypeError, match="data must be"):
        ptycho.reconstruct(np.zeros((4, 4, 8, 8)), progress=False)


def test_lbfgs_reconstruction(tiny):
    ds, phi, data = tiny
    res = ptycho.reconstruct(data, iterations=30, optimizer="lbfgs", aberrations=ds.aberrations, batch=9,
                             rate_object=0.1, progress=False)
    err = res.history[:, 3]
    assert np.all(np.diff(err) <= 1e-15)      # accepted points only: the error never rises
    assert res.error < 1e-5, res.error
    c = ptycho.correlation(res.object.array[0], ptycho.metrics.fourier_resample(phi, res.object.shape[1:]))
    assert c > 0.99, c


def test_warm_start_splits_the_single_slice_phase(tiny):
    ds, phi, data = tiny
    single = ptycho.reconstruct(data, iterations=3, aberrations=ds.aberrations, **KW)
    res = ptycho.reconstruct(data, n_slices=2, slice_thickness=10.0, iterations=0, warm_start=3,
                             aberrations=ds.aberrations, **KW)
    ph = np.asarray(res.object.array)
    np.testing.assert_allclose(ph[0], ph[1])
    np.testing.assert_allclose(ph[0] + ph[1], np.asarray(single.object.array)[0], atol=1e-12)
    np.testing.assert_allclose(np.asarray(res.params.probe), np.asarray(single.params.probe))


def test_public_step_checks_then_runs_the_same_compiled_kernel(tiny):
    """The public ``step``/``full_error`` validate outside jit, then run the jitted kernels: same numbers,
    nothing recompiled on a repeated call, and a bad argument named before any tracing."""
    _, _, data = tiny
    model = ptycho.Model(data.geometry)
    cfg = ptycho.SolverConfig(batch=data.n_positions)
    arrays = (data.amplitudes, data.positions, data.weights, data.detector_mask)
    state = ptycho.init(ptycho.init_params(model, data.n_positions, precision="float64"), model, cfg)
    a = ptycho.step(state, model, cfg, arrays)
    b = ptycho.solver._step(state, model, cfg, arrays)
    assert float(a.loss) == float(b.loss) and np.array_equal(np.asarray(a.params.phase), np.asarray(b.params.phase))
    compiled = ptycho.solver._step._cache_size()
    ptycho.step(a, model, cfg, arrays)
    assert ptycho.solver._step._cache_size() == compiled
    assert float(ptycho.full_error(a.params, model, cfg, arrays)) == float(
        ptycho.solver._full_error(a.params, model, cfg, arrays))
    with pytest.raises(ValueError, match="optimizer"):
        ptycho.SolverConfig(optimizer="sgd")
    with pytest.raises(ValueError, match=r"data\[2\] \(weights\)"):
        ptycho.step(a, model, cfg, arrays[:2] + (arrays[2][:-1], arrays[3]))
