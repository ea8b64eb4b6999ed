"""Acceptance: the aberration fit from parallax shifts recovers C10, C12, φ12 and the rotation of a
simulated dataset within 2 % / 2 % / 1° / 0.5°, also when started from zero."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jaxem.optics.aberrations import Aberrations
from jaxem import phase
from jaxem.phase import alignment, geometry
from jaxem.phase.stack import bright_field_stack


@settings(max_examples=8)
@given(st.floats(-3.0, 3.0), st.floats(-3.0, 3.0))
def test_cross_correlation_recovers_known_shift(dy, dx):
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(32, 32))
    ref = np.real(np.fft.ifft2(np.fft.fft2(ref) * np.exp(-((np.fft.fftfreq(32)[:, None] ** 2
                                                             + np.fft.fftfreq(32)[None, :] ** 2) / 0.05))))
    moved = alignment.shift_images(jnp.asarray(ref)[None], jnp.asarray([[-dy, -dx]]))  # ref(r + d)
    s = np.asarray(alignment.cross_correlation_shifts(moved, ref))
    np.testing.assert_allclose(s[0], [dy, dx], atol=0.02)
    back = np.asarray(alignment.shift_images(moved, jnp.asarray(s)))[0]
    assert np.abs(back - ref).max() < 0.05 * np.abs(ref).max()


@settings(max_examples=10)
@given(st.floats(-300, 300), st.floats(0, 80), st.floats(-np.pi / 2, np.pi / 2), st.floats(-1.5, 1.5),
       st.booleans())
def test_linear_map_fit_is_exact_on_model_shifts(c10, c12, phi12, theta, transpose):
    lam = 0.0197
    rng = np.random.default_rng(5)
    k_det = rng.uniform(-1, 1, (40, 2))
    ab = Aberrations(C10=c10, C12=c12, phi12=phi12)
    ky, kx = geometry.rotate_frequencies(jnp.asarray(k_det[:, 0]), jnp.asarray(k_det[:, 1]), theta, transpose)
    s = np.asarray(geometry.parallax_shifts(ab, ky, kx, lam))
    fit, th, res = alignment.fit_linear_map(k_det, s, lam, transpose)
    assert res < 1e-9
    # (C10, θ) and (−C10, θ ± π) describe the same shifts: compare the predicted shifts, and the
    # parameters in the branch with θ in (−π/2, π/2]
    ky2, kx2 = geometry.rotate_frequencies(jnp.asarray(k_det[:, 0]), jnp.asarray(k_det[:, 1]), th, transpose)
    s2 = np.asarray(geometry.parallax_shifts(fit, ky2, kx2, lam))
    np.testing.assert_allclose(s2, s, atol=1e-8)
    assert -np.pi / 2 < th <= np.pi / 2 + 1e-12
    same_branch = abs(theta - th) < 1e-6
    if same_branch:
        assert fit.C10 == pytest.approx(c10, abs=1e-6)
        assert fit.C12 == pytest.approx(c12, abs=1e-6)


def test_higher_order_fit_is_exact_on_model_shifts():
    lam = 0.0197
    rng = np.random.default_rng(6)
    k = rng.uniform(-1, 1, (80, 2))
    ab = Aberrations.create(C10=120.0, C12=20.0, phi12=0.3, C21=800.0, phi21=-0.4, C23=500.0, phi23=0.2, C30=2e4)
    s = np.asarray(geometry.parallax_shifts(ab, jnp.asarray(k[:, 0]), jnp.asarray(k[:, 1]), lam))
    fit, res = alignment.fit_higher_orders(k, s, lam)
    assert res < 1e-8
    for name in ("C10", "C12", "phi12", "C21", "phi21", "C23", "phi23", "C30"):
        assert getattr(fit, name) == pytest.approx(getattr(ab, name), rel=1e-6, abs=1e-6), name


@pytest.mark.parametrize("start", ["zero", "near"])
def test_parallax_fit_recovers_aberrations_and_rotation(wpo_rotated, start):
    ds, _ = wpo_rotated
    st = bright_field_stack(ds, precision="float64")
    kw = {} if start == "zero" else {"aberrations": Aberrations(C10=120.0), "rotation": np.deg2rad(-8.0)}
    if start == "near":  # a nearby start needs no bootstrap from the inner pixels
        kw.update(radii=(0.6, 1.0), iterations=2)
    fit = phase.fit_parallax(st, **kw)
    true = ds.aberrations
    assert fit.aberrations.C10 == pytest.approx(true.C10, rel=0.02)
    assert fit.aberrations.C12 == pytest.approx(true.C12, rel=0.02)
    assert np.rad2deg(abs(fit.aberrations.phi12 - true.phi12)) < 1.0
    assert np.rad2deg(abs(fit.rotation - ds.rotation)) < 0.5
    assert fit.residual < 0.05  # Å


def test_alignment_errors_name_the_argument(wpo_rotated):
    with pytest.raises(ValueError, match="images"):
        alignment.cross_correlation_shifts(np.zeros((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="ref"):
        alignment.cross_correlation_shifts(np.zeros((2, 4, 4)), np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match="k_det and shifts"):
        alignment.fit_linear_map(np.zeros((5, 2)), np.zeros((4, 2)), 0.02)
    with pytest.raises(ValueError, match="wavelength"):
        alignment.fit_linear_map(np.ones((5, 2)), np.ones((5, 2)), 0.0)
    with pytest.raises(TypeError, match="stack"):
        phase.fit_parallax(wpo_rotated[0])


def test_shift_and_prediction_arguments_checked(wpo_rotated):
    with pytest.raises(ValueError, match="shifts must have shape"):
        alignment.shift_images(jnp.zeros((3, 8, 8)), jnp.zeros((2, 2)))
    st = bright_field_stack(wpo_rotated[0])
    with pytest.raises(ValueError, match="rotation must be finite"):
        alignment.predicted_shifts(st, Aberrations(C10=1.0), float("nan"))


def test_fit_parallax_warm_call_compiles_nothing(wpo_defocus, compile_counter):
    """Issue 20: a repeated fit must not trace or compile (the old one compiled 84 times)."""
    ds, _ = wpo_defocus
    st = bright_field_stack(ds)
    first = phase.fit_parallax(st)
    with compile_counter() as c:
        again = phase.fit_parallax(st)
    assert c.count == 0, c.events
    assert again.aberrations.C10 == first.aberrations.C10
    assert first.aberrations.C10 == pytest.approx(150.0, rel=0.02)
    with compile_counter() as c:  # the counter itself can fail: a fresh program compiles
        jax.jit(lambda x: x * 3.0 + 1.0)(jnp.ones(7))
    assert c.count > 0


def test_fit_parallax_arguments_checked(wpo_defocus):
    st = bright_field_stack(wpo_defocus[0])
    with pytest.raises(ValueError, match="bins"):
        phase.fit_parallax(st, bins=(0,))
    with pytest.raises(ValueError, match="tol"):
        phase.fit_parallax(st, tol=0.0)
    with pytest.raises(ValueError, match="lowpass"):
        phase.fit_parallax(st, lowpass=-1.0)
    with pytest.raises(ValueError, match="radii"):
        phase.fit_parallax(st, radii=(0.01,))
