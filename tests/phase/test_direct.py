"""Acceptance: measured transfer functions of SSB, OBF and parallax on a white-noise WPO (300 kV,
20 mrad, C10 = 150 Å) against their analytic forms; sign properties; batching and precision."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.optics.aberrations import Aberrations
from jaxem.phase import direct
from jaxem.phase.stack import bright_field_stack
from jaxem.phase.transfer import measured_transfer, stack_transfer

from .forward import make_dataset, support


@pytest.fixture(scope="module")
def stack(wpo_defocus):
    ds, phi = wpo_defocus
    return bright_field_stack(ds, precision="float64"), ds, phi


def _corr(a, b):
    return float(np.corrcoef(a, b)[0, 1])


@pytest.mark.parametrize("method", ["ssb", "obf", "parallax"])
def test_transfer_function_matches_analytic(stack, method):
    st, ds, phi = stack
    img = {"ssb": direct.ssb, "obf": direct.obf, "parallax": direct.parallax}[method](st, ds.aberrations)
    t = measured_transfer(img, phi)
    w = direct.contrast_weights(st) if method != "obf" else None  # the default weights (OBF: none)
    a = np.asarray(stack_transfer(method, st, ds.aberrations, weights=w))
    m = support(st.scan_shape, st.scan_sampling, st.cutoff)
    assert _corr(t.real[m], a.real[m]) >= 0.95
    # the reconstruction is in radians of σφ: the transfer has the analytic magnitude, not just its shape
    assert np.median(t.real[m] / a.real[m]) == pytest.approx(1.0, abs=0.02)
    if method in ("ssb", "obf"):
        assert np.mean(t.real[m] > 0) >= 0.995  # positive at (practically) every frequency in the support
        assert np.all(a.real[m] > 0)


def test_parallax_positive_after_flip(stack):
    st, ds, phi = stack
    m = support(st.scan_shape, st.scan_sampling, st.cutoff)
    plain = measured_transfer(direct.parallax(st, ds.aberrations), phi)
    flipped = measured_transfer(direct.parallax(st, ds.aberrations, flip=True), phi)
    assert np.mean(plain.real[m] > 0) < 0.8  # contrast reversals without flipping
    a = np.asarray(stack_transfer("parallax", st, ds.aberrations)).real
    strong = m & (np.abs(a) > 0.05 * np.abs(a[m]).max())
    assert np.mean(flipped.real[strong] > 0) >= 0.99


def test_batching_and_precision_invariance(stack):
    st, ds, _ = stack
    ref = np.asarray(direct.ssb(st, ds.aberrations))
    small = np.asarray(direct.ssb(st, ds.aberrations, memory_budget=3 * 48 * 48 * 16 * 10 * 7))  # odd batches
    np.testing.assert_allclose(small, ref, rtol=1e-9, atol=1e-12 * np.abs(ref).max())
    st32 = st.replace(vbf=st.vbf.astype(jnp.float32), k_det=st.k_det.astype(jnp.float32))
    img32 = direct.ssb(st32, ds.aberrations)
    assert img32.dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(img32), ref, atol=2e-3 * np.abs(ref).max())


def test_upsampled_ssb_keeps_low_frequencies(wpo_defocus):
    ds, phi = make_dataset(48, step=2, aberrations=Aberrations.create(C10=150.0))
    st = bright_field_stack(ds, precision="float64")
    up = np.asarray(direct.ssb(st, ds.aberrations, upsampling=2))
    assert up.shape == (48, 48)
    t = measured_transfer(up, phi)
    a = np.asarray(stack_transfer("ssb", st, ds.aberrations, upsampling=2))
    m = support((48, 48), (0.25, 0.25), st.cutoff, lo=0.1, hi=1.0)
    assert _corr(t.real[m], a.real[m]) > 0.6  # aliased sidebands make it noisier, but the form is kept


def test_upsampling_beyond_bf_limit_warns(stack):
    st, ds, _ = stack
    with pytest.warns(UserWarning, match="bright-field limit"):
        direct.reconstruct_spectrum(st, "parallax", ds.aberrations, upsampling=4)
    with pytest.raises(TypeError, match="upsampling"):
        direct.ssb(st, ds.aberrations, upsampling=1.5)
    with pytest.raises(ValueError, match="method"):
        direct.reconstruct_spectrum(st, "tcbf")


def test_gradients_wrt_aberrations_and_rotation():
    ds, phi = make_dataset(12, aberrations=Aberrations.create(C10=50.0), sigma=0.05)
    st = bright_field_stack(ds, precision="float64")

    def make(method):
        @jax.jit
        def loss(c10, theta):
            ab = Aberrations(C10=c10, C12=5.0, phi12=0.3)
            img = direct._image(direct.reconstruct_spectrum(st, method, ab, theta))
            return jnp.sum(img * jnp.asarray(phi))
        return loss

    # reverse-mode gradients against float64 central differences (what check_grads does for order 1,
    # with fewer recompilations)
    x0 = (50.0, 0.01)
    steps = (1e-3, 1e-6)
    for method in ("ssb", "parallax"):  # OBF shares SSB's Γ path
        f = make(method)
        g = jax.grad(f, argnums=(0, 1))(*x0)
        for i, h in enumerate(steps):
            xp = list(x0)
            xm = list(x0)
            xp[i] += h
            xm[i] -= h
            fd = (float(f(*xp)) - float(f(*xm))) / (2 * h)
            assert float(g[i]) == pytest.approx(fd, rel=1e-4, abs=1e-10), (method, i)
            assert fd != 0


def test_rotation_nan_and_bad_arguments_are_rejected(stack):
    st, ds, _ = stack
    with pytest.raises(ValueError, match="rotation must be finite"):
        direct.ssb(st, ds.aberrations, rotation=float("nan"))  # was an all-zero image
    with pytest.raises(ValueError, match="aberrations.C10"):
        direct.obf(st, Aberrations(C10=float("inf")))
    with pytest.raises(ValueError, match="upsampling"):
        direct.parallax(st, upsampling=0)
    with pytest.raises(TypeError, match="stack must be a BFStack"):
        direct.ssb(ds)
    with pytest.raises(ValueError, match="memory_budget"):
        direct.ssb(st, memory_budget="lots")


def test_one_nan_pixel_is_masked_in_the_stack_methods(wpo_defocus):
    from jaxem.phase import reconstruct

    ds, _ = wpo_defocus
    a = np.array(ds.array)
    filled = a.copy()
    k = (24, 30)  # a bright-field pixel
    filled[3, 4][k] = np.delete(a[:, :, k[0], k[1]].ravel(), 3 * 48 + 4).mean()
    a[3, 4][k] = np.nan
    a[:, :, 0, 0] = np.inf  # a dead pixel outside the bright field: bad in every frame
    filled[:, :, 0, 0] = 0.0
    st = bright_field_stack(ds.replace(array=a), precision="float64")
    assert st.bad.n_values == 1 + 48 * 48 and st.bad.dead_pixels == ((0, 0),)
    assert np.all(np.isfinite(np.asarray(st.vbf)))
    ref = bright_field_stack(ds.replace(array=filled), precision="float64")
    for method in ("ssb", "obf", "parallax"):
        img = reconstruct(st, method, ds.aberrations)
        assert np.all(np.isfinite(np.asarray(img.array)))
        want = reconstruct(ref, method, ds.aberrations).array
        np.testing.assert_allclose(np.asarray(img.array), np.asarray(want), atol=1e-12)
        assert img.metadata["bad_data"]["n_scan_positions"] == 48 * 48


@pytest.mark.parametrize("shape, u", [((16, 16), 2), ((15, 13), 1), ((16, 13), 2)])
def test_half_plane_evaluation_equals_every_frequency(shape, u):
    # the kernels are evaluated on the columns 0…Nx/2 and mirrored (plus the Nyquist row when Ny is
    # even): the spectrum must equal a direct evaluation of every term at every frequency
    from jaxem.phase import geometry

    ds, _ = make_dataset(16, sigma=0.01, aberrations=Aberrations.create(C10=80.0, C12=20.0, phi12=0.3), rotation=0.2)
    st = bright_field_stack(ds.replace(array=np.asarray(ds.array)[:shape[0], :shape[1]]), precision="float64")
    ab = ds.aberrations
    n, sy, sx = st.vbf.shape
    qy, qx = direct.fine_frequencies((sy, sx), st.scan_sampling, u, st.k_det.dtype)
    k = st.k_scan(0.2)
    norm = st.probe_norm()
    g = jnp.tile(jnp.fft.fft2(st.vbf - st.vbf.mean((1, 2), keepdims=True)), (1, u, u))
    for method in ("ssb", "obf", "parallax", "obf_complex"):
        num, den = direct._terms(method, g, jnp.ones(n), k, qy, qx, ab, n, norm, st.wavelength, st.cutoff,
                                 st.edge, geometry.active_orders(ab), st.scan_sampling, u, False)
        if method == "obf":
            num = jnp.where(den > 1e-12, num / jnp.sqrt(jnp.where(den > 1e-12, den, 1.0)), 0.0)
        if method == "obf_complex":
            num = direct._solve_complex(num, den, direct.COMPLEX_RIDGE)[0]
        ref = np.asarray(num.at[0, 0].set(0.0)) * u * u / 2
        name, kind = ("obf", "complex") if method == "obf_complex" else (method, "phase")
        got = np.asarray(direct.reconstruct_spectrum(st, name, ab, 0.2, u, object_type=kind))
        assert np.abs(got - ref).max() < 1e-12 * np.abs(ref).max(), method


def test_flip_and_flip_mask_arguments_checked(stack):
    st, ds, _ = stack
    with pytest.raises(TypeError, match="flip must be True or False"):
        direct.parallax(st, ds.aberrations, flip="yes")
    with pytest.raises(ValueError, match="wavelength must be > 0"):
        direct.flip_mask(ds.aberrations, (8, 8), (1.0, 1.0), 1, 0.0)


def _band_truth(phi, st):
    q = np.hypot(*np.meshgrid(np.fft.fftfreq(phi.shape[0], st.scan_sampling[0]),
                              np.fft.fftfreq(phi.shape[1], st.scan_sampling[1]), indexing="ij"))
    f = np.fft.fft2(phi)
    return f * (q <= 2 * st.cutoff)


@pytest.mark.parametrize("floor", [None, 0.03, 0.01])
def test_weighted_parallax_transfer_matches_the_analytic_weak_phase_transfer(stack, floor):
    # T_w(q) = Σ_k w_k|ψ(k)||ψ(k − q)|/Σ_k|ψ(k)|²·sin χ(q) (direct module docstring), computed from the
    # aperture and χ alone (transfer module) with the weights of the data; None = intensity weights
    st, ds, phi = stack
    w = None if floor is None else direct.contrast_weights(st, floor)
    t = measured_transfer(direct.parallax(st, ds.aberrations, contrast_floor=floor), phi)
    a = np.asarray(stack_transfer("parallax", st, ds.aberrations, weights=w)).real
    other = np.asarray(stack_transfer("parallax", st, ds.aberrations,
                                      weights=direct.contrast_weights(st, 0.0) if floor is None else None)).real
    m = support(st.scan_shape, st.scan_sampling, st.cutoff)
    strong = m & (np.abs(a) > 0.05 * np.abs(a[m]).max())
    assert np.median(t.real[strong] / a[strong]) == pytest.approx(1.0, abs=0.02)
    err = np.sqrt(np.mean((t.real[m] - a[m]) ** 2))
    # the test discriminates: the other weighting's transfer is measurably further from the data
    assert err < 0.25 * np.sqrt(np.mean((t.real[m] - other[m]) ** 2))


def test_contrast_weights_raise_the_flipped_correlation_as_the_analytic_transfer_predicts(stack):
    # prediction: the band-limited object filtered by |T_w(q)| (flip: sgn(sin χ)·T_w = |T_w|),
    # correlated with the band-limited object; measured: the flipped parallax image of the data
    st, ds, phi = stack
    truth_f = _band_truth(phi, st)
    truth = np.real(np.fft.ifft2(truth_f)).ravel()
    got = {}
    for floor in (None, 0.03):
        w = None if floor is None else direct.contrast_weights(st, floor)
        a = np.asarray(stack_transfer("parallax", st, ds.aberrations, weights=w)).real
        predicted = _corr(np.real(np.fft.ifft2(truth_f * np.abs(a))).ravel(), truth)
        measured = _corr(np.asarray(direct.parallax(st, ds.aberrations, flip=True, contrast_floor=floor)).ravel(),
                         truth)
        assert measured == pytest.approx(predicted, abs=0.01), floor
        got[floor] = measured
    assert got[0.03] > got[None] + 0.01  # the contrast normalisation flattens the transfer towards 2k_probe


def test_contrast_weights_and_weights_arguments_checked(stack):
    st, ds, _ = stack
    w = np.asarray(direct.contrast_weights(st, 0.03))
    m = np.asarray(st.vbf).mean((1, 2))
    assert np.sum(w * m) == pytest.approx(np.sum(m), rel=1e-9)  # normalised: q → 0 transfer unchanged
    assert w.max() / w.min() == pytest.approx((m.max() * 1.03) / (m.min() + 0.03 * m.max()), rel=1e-9)
    with pytest.raises(ValueError, match="contrast_floor must be ≥ 0"):
        direct.parallax(st, ds.aberrations, contrast_floor=-0.1)
    dark = st.replace(vbf=st.vbf.at[0].set(0.0))
    with pytest.raises(ValueError, match="contrast_floor: 1 bright-field pixel"):
        direct.contrast_weights(dark, 0.0)
    # a negative mean (ringing of a resampled detector at the disk edge) is no intensity, not an error
    ringing = st.replace(vbf=st.vbf.at[0].set(-1e-3 * float(m.max())))
    wr = np.asarray(direct.contrast_weights(ringing, 0.03))
    assert np.all(np.isfinite(wr)) and wr[0] == pytest.approx(wr.max(), rel=1e-6)
    with pytest.raises(ValueError, match="contrast_floor must be ≥ 0"):
        direct.ssb(st, ds.aberrations, contrast_floor=-0.1)
    with pytest.raises(ValueError, match="contrast_floor must be ≥ 0"):
        direct.obf(st, ds.aberrations, contrast_floor=-1e-3)
    with pytest.raises(ValueError, match="weights must have shape"):
        direct.reconstruct_spectrum(st, "obf", ds.aberrations, weights=w[:-1])
    with pytest.raises(ValueError, match="weights must have shape"):
        direct.reconstruct_spectrum(st, "parallax", ds.aberrations, weights=w[:-1])
    with pytest.raises(ValueError, match="weights holds 1 NaN/inf"):
        direct.reconstruct_spectrum(st, "parallax", ds.aberrations, weights=np.where(np.arange(w.size) == 3, np.nan, w))
    with pytest.raises(ValueError, match="weights: per-pixel weights apply to methods 'ssb', 'obf' and 'parallax'"):
        stack_transfer("icom", st, ds.aberrations, weights=w)
    with pytest.raises(ValueError, match="weights holds 1 NaN/inf"):
        stack_transfer("obf", st, ds.aberrations, weights=np.where(np.arange(w.size) == 3, np.inf, w))


@pytest.mark.parametrize("method, floor", [("ssb", 0.03), ("ssb", None), ("obf", 0.01), ("obf", None)])
def test_weighted_ssb_obf_transfer_matches_the_analytic_weak_phase_transfer(stack, method, floor):
    # SSB: T_w = ½Σ_k w_k|Γ̂|; OBF: T_w = ½Σ_k w_k|Γ̂|²/d_k / sqrt(Σ_k w_k²|Γ̂|²/d_k) (the OBF sum normalised
    # by the noise of the weighted channels), from the aperture and χ alone, with the weights of the
    # data; the measured transfer of the reconstruction must match in shape and magnitude, and be
    # measurably closer to it than to the other weighting's transfer (the test discriminates)
    st, ds, phi = stack
    w = None if floor is None else direct.contrast_weights(st, floor)
    img = getattr(direct, method)(st, ds.aberrations, contrast_floor=floor)
    t = measured_transfer(img, phi).real
    a = np.asarray(stack_transfer(method, st, ds.aberrations, weights=w)).real
    other = np.asarray(stack_transfer(method, st, ds.aberrations,
                                      weights=direct.contrast_weights(st, 0.0) if floor is None else None)).real
    m = support(st.scan_shape, st.scan_sampling, st.cutoff)
    assert np.all(a[m] > 0)
    assert np.median(t[m] / a[m]) == pytest.approx(1.0, abs=0.02)
    err = np.sqrt(np.mean((t[m] - a[m]) ** 2))
    assert err < 0.25 * np.sqrt(np.mean((t[m] - other[m]) ** 2))
