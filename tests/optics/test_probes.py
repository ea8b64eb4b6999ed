import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import j1

from jaxem import physics
from jaxem.grid import Grid
from jaxem.optics import Aberrations, Aperture, aperture_function, chi_from_frequencies, probe, probe_transfer

E = 300e3
LAM = physics.wavelength(E)


def test_airy_pattern():
    """Aberration-free probe = Airy pattern, absolutely normalised:
    |ψ_j|² = Δx Δy · π k₀² · (2 J₁(v)/v)², v = 2π k₀ r, k₀ = α₀/λ."""
    n, d, a0 = 512, 0.05, 20.0
    g = Grid((n, n), (d, d))
    centre = n * d / 2
    intensity = np.abs(np.asarray(probe(g, E, a0, positions=[centre, centre], precision="float64"))) ** 2
    y = (np.arange(n) - n / 2) * d
    r = np.hypot(y[:, None], y[None, :])
    k0 = a0 * 1e-3 / LAM
    v = 2 * np.pi * k0 * r
    airy = np.ones_like(v)
    np.divide(2 * j1(v), v, out=airy, where=v > 0)
    ref = d * d * np.pi * k0**2 * airy**2
    near = r < 3.0  # centre disc and the first four rings
    assert np.max(np.abs(intensity - ref)[near]) < 3e-3 * ref.max()
    # first zero at r = 0.61 λ/α₀
    r0 = 3.8317 / (2 * np.pi * k0)
    assert r0 == pytest.approx(0.6098 * LAM / (a0 * 1e-3), rel=1e-3)
    iz = int(round(r0 / d))
    assert intensity[n // 2, n // 2 + iz] < 2e-3 * intensity.max()


def test_norm_and_dtypes():
    g = Grid((64, 48), (0.1, 0.12))
    ab = Aberrations.create(defocus=80.0, Cs=1e6, C12=20.0)
    p32 = probe(g, E, 15.0, ab)
    p64 = probe(g, E, 15.0, ab, precision="float64")
    assert p32.dtype == jnp.complex64 and p64.dtype == jnp.complex128
    assert p32.shape == (64, 48)
    assert float(jnp.sum(jnp.abs(p64) ** 2)) == pytest.approx(1.0, abs=1e-12)
    assert float(jnp.sum(jnp.abs(p32) ** 2)) == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(p32, p64, atol=1e-5)


def test_transfer_is_aperture_times_phase():
    g = Grid((32, 40), (0.1, 0.1))
    ab = Aberrations.create(defocus=50.0, C23=300.0, phi23=0.2)
    t = probe_transfer(g, E, 20.0, ab, edge_width=2.0, precision="float64")
    ky, kx = g.frequencies(jnp.float64)
    a = aperture_function(1e3 * LAM * ky[:, None], 1e3 * LAM * kx[None, :], Aperture(20.0, 2.0))
    ref = np.asarray(a) * np.exp(-1j * np.asarray(chi_from_frequencies(ab, ky, kx, LAM)))
    assert np.allclose(t, ref, atol=1e-12)


def test_positions_batch_and_default():
    g = Grid((32, 32), (0.1, 0.1))
    pos = np.array([[[1.0, 2.0], [0.5, 0.5]], [[1.6, 1.6], [3.0, 0.2]]])
    batch = probe(g, E, 20.0, positions=pos)
    assert batch.shape == (2, 2, 32, 32)
    single = probe(g, E, 20.0, positions=pos[1, 0])
    assert np.allclose(batch[1, 0], single, atol=1e-6)
    centred = np.abs(np.asarray(probe(g, E, 20.0))) ** 2
    assert np.unravel_index(np.argmax(centred), centred.shape) == (16, 16)


@given(st.floats(5.0, 30.0), st.floats(-300.0, 300.0), st.floats(0.0, 3.2), st.floats(0.0, 3.2))
def test_norm_property(a0, defocus, y0, x0):
    g = Grid((32, 32), (0.1, 0.1))
    p = probe(g, E, a0, Aberrations.create(defocus=defocus, Cs=5e5), positions=[y0, x0], precision="float64")
    assert float(jnp.sum(jnp.abs(p) ** 2)) == pytest.approx(1.0, abs=1e-12)


@given(st.integers(-10, 10), st.integers(-10, 10), st.floats(-200.0, 200.0))
def test_shift_of_position_shifts_intensity(sy, sx, defocus):
    g = Grid((32, 24), (0.1, 0.125))
    ab = Aberrations.create(defocus=defocus, C12=30.0, phi12=0.5, C21=500.0)
    p0 = np.array([1.23, 0.71])
    i0 = np.abs(np.asarray(probe(g, E, 20.0, ab, positions=p0, precision="float64"))) ** 2
    i1 = np.abs(np.asarray(probe(g, E, 20.0, ab, positions=p0 + [sy * 0.1, sx * 0.125],
                                 precision="float64"))) ** 2
    assert np.allclose(np.roll(i0, (sy, sx), axis=(0, 1)), i1, atol=1e-12)


def test_probe_against_abtem():
    """abTEM 1.0.11 probe with the same hard aperture and aberrations. abTEM indexes arrays and
    positions as (x, y) and normalises Σ|Ψ(k)|² = 1, i.e. Σ|ψ|² = 1/N: transpose and × √N."""
    abtem = pytest.importorskip("abtem")
    abtem.config.set({"precision": "float64"})
    kw = dict(C10=-120.0, C12=40.0, phi12=0.7, C21=800.0, phi21=1.3, C23=500.0, phi23=0.3, C30=2e5)
    ref = abtem.Probe(semiangle_cutoff=20.0, energy=200e3, gpts=(64, 48), sampling=(0.08, 0.1), soft=False, **kw)
    ref = np.asarray(ref.build(scan=[(1.7, 2.2)], lazy=False).array)
    ref = ref.T * np.sqrt(ref.size)
    got = probe(Grid((48, 64), (0.1, 0.08)), 200e3, 20.0, Aberrations.create(**kw), positions=[2.2, 1.7],
                precision="float64")
    assert np.max(np.abs(np.asarray(got) - ref)) < 1e-7 * np.abs(ref).max()


def test_jit_and_grad():
    g = Grid((32, 32), (0.1, 0.1))
    f = jax.jit(lambda c10: jnp.sum(jnp.abs(probe(g, E, 20.0, Aberrations(C10=c10), precision="float64"))[16, 16:20]))
    assert np.isfinite(float(jax.grad(f)(jnp.float64(-50.0))))
    ref = jnp.sum(jnp.abs(probe(g, E, 20.0, Aberrations(C10=-50.0), precision="float64"))[16, 16:20])
    assert float(f(jnp.float64(-50.0))) == pytest.approx(float(ref), rel=1e-12)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(beam=0.0), ValueError, "energy must be > 0"),
    (dict(beam=-3.0), ValueError, "energy"),
    (dict(beam="300 furlongs"), ValueError, "energy"),
    (dict(grid=(32, 32)), TypeError, "grid must be a jaxem Grid"),
    (dict(semi_angle=0.0), ValueError, "semi_angle must be > 0"),
    (dict(semi_angle=float("nan")), ValueError, "semi_angle must be finite"),
    (dict(semi_angle=200.0), ValueError, r"semi_angle \(plus half the edge width\) of 200 mrad exceeds the anti-aliased limit"),
    (dict(semi_angle=60.0, edge_width=10.0), ValueError, "semi_angle .* of 65 mrad exceeds the anti-aliased limit"),
    (dict(edge_width=50.0), ValueError, "edge_width must be ≤ 2·semi_angle"),
    (dict(edge_width=-1.0), ValueError, "edge_width must be ≥ 0"),
    (dict(positions=[1.0, 2.0, 3.0]), ValueError, r"positions must have shape \(..., 2\)"),
    (dict(positions=[[1.0, float("nan")]]), ValueError, r"positions holds 1 NaN/inf value\(s\) \[Å\] \(first at index \(0, 1\)\)"),
    (dict(aberrations="C10=3"), TypeError, "Aberrations"),
])
def test_bad_input(kwargs, exc, match):
    args = dict(grid=Grid((32, 32), (0.1, 0.1)), beam=E, semi_angle=20.0)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        probe(**args)


@pytest.mark.parametrize("precision", __import__("jaxem").accel.PRECISION_ALIASES)
def test_probe_honours_every_precision_alias(precision):
    from jaxem.accel import resolve_precision

    p = probe(Grid((16, 16), (0.1, 0.1)), E, 20.0, precision=precision)
    assert p.dtype == (jnp.complex128 if resolve_precision(precision) == "float64" else jnp.complex64)


def test_fourier_shift_and_phase_ramp():
    from jaxem.optics import fourier_shift, phase_ramp

    g = Grid((32, 24), (0.1, 0.125))
    img = np.random.default_rng(0).random((32, 24))
    # integer-pixel shifts are rolls; the batch of shifts broadcasts
    out = fourier_shift(jnp.asarray(img), np.array([[0.3, -0.25], [0.0, 0.125]]), g)
    assert out.shape == (2, 32, 24) and out.dtype == jnp.float64
    np.testing.assert_allclose(out[0], np.roll(img, (3, -2), axis=(0, 1)), atol=1e-12)
    np.testing.assert_allclose(out[1], np.roll(img, (0, 1), axis=(0, 1)), atol=1e-12)
    # sub-pixel shifts compose, and complex arrays stay complex
    half = fourier_shift(jnp.asarray(img + 0j), (0.05, 0.0), g)
    np.testing.assert_allclose(fourier_shift(half, (0.05, 0.0), g).real, np.roll(img, 1, axis=0), atol=1e-12)
    ky, kx = g.frequencies(jnp.float32)
    r = phase_ramp(ky, kx, jnp.zeros((5, 2)))
    assert r.shape == (5, 32, 24) and r.dtype == jnp.complex64 and np.allclose(r, 1.0)
    with pytest.raises(ValueError, match=r"shift must have shape \(2,\)"):
        fourier_shift(jnp.asarray(img), (1.0, 2.0, 3.0), g)
    with pytest.raises(ValueError, match=r"shift holds 1 NaN/inf"):
        fourier_shift(jnp.asarray(img), (np.nan, 0.0), g)
    with pytest.raises(ValueError, match=r"array must have shape \(32, 24\)"):
        fourier_shift(jnp.ones((8, 8)), (0.0, 0.0), g)
