"""The complex-object OBF (phase.direct.obf, object_type="complex"): its per-frequency solve against a
float64 NumPy least-squares reference, its transfer against the analytic one, and the separation of
phase and amplitude on a simulated weak complex object exp(a + iφ) (independent forward model:
``phase.synthetic.simulate_4dstem`` with a log-amplitude)."""
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.optics.aberrations import Aberrations
from jaxem.phase import direct, geometry
from jaxem.phase.stack import bright_field_stack
from jaxem.phase.synthetic import simulate_dataset, white_noise_phase
from jaxem.phase.transfer import measured_transfer, stack_transfer

from .forward import SAMPLING, SEMIANGLE, ENERGY, make_dataset, support


def _corr(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


@pytest.fixture(scope="module")
def wpo():
    ds, phi = make_dataset(48, sigma=0.01, aberrations=Aberrations.create(C10=150.0))
    return bright_field_stack(ds, precision="float64"), ds, phi


@pytest.fixture(scope="module")
def complex_object():
    n = 48
    phi = white_noise_phase(n, 0.01, 1)
    a = white_noise_phase(n, 0.01, 2)  # an independent white-noise log-amplitude of the same strength
    ds = simulate_dataset(phi, SAMPLING, ENERGY, SEMIANGLE, Aberrations.create(C10=150.0), log_amplitude=a)
    return bright_field_stack(ds, precision="float64"), ds, phi, a


@pytest.mark.parametrize("floor", [None, 0.01])
def test_per_frequency_solve_equals_numpy_least_squares(floor):
    # at every scan frequency: columns c_φ, c_a over the bright-field pixels, data G(q, k) (the FFT of the
    # mean-removed vBF images, times w_k), signal Gram Σ w c*c/d, noise Gram Σ w² c*c/d; estimate
    # row_0((M̂ + ρI)⁻¹)·b̂ in unit-diagonal scaling, divided by its noise standard deviation
    ds, _ = make_dataset(12, sigma=0.01, aberrations=Aberrations.create(C10=80.0, C12=20.0, phi12=0.3), rotation=0.2)
    st = bright_field_stack(ds, precision="float64")
    ab = ds.aberrations
    w = np.ones(st.n_bf) if floor is None else np.asarray(direct.contrast_weights(st, floor))
    got = np.asarray(direct.reconstruct_spectrum(st, "obf", ab, 0.2, weights=None if floor is None else w))
    qy, qx = direct.fine_frequencies(st.scan_shape, st.scan_sampling, 1, jnp.float64)
    c0, c1, d = (np.asarray(x) for x in direct.complex_columns(ab, st.k_scan(0.2), qy, qx, st.wavelength, st.cutoff,
                                                              st.edge, st.probe_norm(), st.n_bf,
                                                              geometry.active_orders(ab)))
    d = np.broadcast_to(d, c0.shape)
    v = np.asarray(st.vbf)
    g = np.fft.fft2(v - v.mean((1, 2), keepdims=True)) * w[:, None, None]
    ref = np.zeros(st.scan_shape, complex)
    rho = direct.COMPLEX_RIDGE
    for iy in range(st.scan_shape[0]):
        for ix in range(st.scan_shape[1]):
            if iy == 0 and ix == 0:
                continue
            C = np.stack([c0[:, iy, ix], c1[:, iy, ix]], 1) / np.sqrt(d[:, iy, ix])[:, None]   # whitened columns
            y = g[:, iy, ix] / np.sqrt(d[:, iy, ix])
            S = (C.conj().T * w) @ C
            N = (C.conj().T * w**2) @ C
            if S[0, 0].real <= 1e-12:
                continue
            D = np.diag(1 / np.sqrt(np.maximum(S.diagonal().real, 1e-300)))
            if S[1, 1].real <= 1e-12:
                D[1, 1] = 0.0
            Sn, Nn, b = D @ S @ D, D @ N @ D, D @ (C.conj().T @ y)
            row = np.linalg.inv(Sn + rho * np.eye(2))[0]
            ref[iy, ix] = row @ b / np.sqrt((row @ Nn @ row.conj()).real) / 2
    assert np.abs(got - ref).max() < 1e-9 * np.abs(ref).max()


def test_transfer_matches_the_analytic_complex_transfer_not_the_phase_only_one(wpo):
    st, ds, phi = wpo
    m = support(st.scan_shape, st.scan_sampling, st.cutoff)
    t = measured_transfer(direct.obf(st, ds.aberrations), phi).real
    a = np.asarray(stack_transfer("obf", st, ds.aberrations)).real
    other = np.asarray(stack_transfer("obf", st, ds.aberrations, object_type="phase")).real
    assert np.all(a[m] > 0)
    assert np.median(t[m] / a[m]) == pytest.approx(1.0, abs=0.01)
    err = np.sqrt(np.mean((t[m] - a[m]) ** 2))
    assert err < 0.25 * np.sqrt(np.mean((t[m] - other[m]) ** 2))
    # the joint estimate gives up transfer (SNR) where the phase and amplitude columns overlap
    assert np.all(a[m] <= other[m] * (1 + 1e-6))


def test_complex_obf_separates_phase_and_amplitude(complex_object):
    st, ds, phi, a = complex_object
    ab = ds.aberrations
    ph, amp = direct.obf(st, ab, return_amplitude=True)
    only = direct.obf(st, ab, object_type="phase")
    lim = lambda x: np.real(np.fft.ifft2(np.fft.fft2(x) * support(st.scan_shape, st.scan_sampling, st.cutoff,
                                                                  lo=0.0, hi=2.0)))
    # the joint phase channel follows φ and is blind to a; the phase-only filter mixes a in
    assert _corr(ph, lim(phi)) > 0.75
    assert abs(_corr(ph, lim(a))) < 0.05
    assert abs(_corr(only, lim(a))) > 3 * abs(_corr(ph, lim(a)))
    # the amplitude channel follows a and is blind to φ
    assert _corr(amp, lim(a)) > 0.5
    assert abs(_corr(amp, lim(phi))) < 0.05


def test_pure_phase_object_amplitude_channel_is_empty(wpo):
    st, ds, phi = wpo
    ph, amp = direct.obf(st, ds.aberrations, return_amplitude=True)
    assert np.std(np.asarray(amp)) < 0.02 * np.std(np.asarray(ph))


def test_object_type_and_return_amplitude_are_checked(wpo):
    st, ds, _ = wpo
    with pytest.raises(ValueError, match="object_type must be one of 'complex', 'phase'"):
        direct.obf(st, ds.aberrations, object_type="amplitude")
    with pytest.raises(TypeError, match="return_amplitude must be True or False"):
        direct.obf(st, ds.aberrations, return_amplitude=1)
    with pytest.raises(ValueError, match="needs object_type='complex'"):
        direct.obf(st, ds.aberrations, object_type="phase", return_amplitude=True)
    with pytest.raises(ValueError, match="weights must be ≥ 0|weights: per-pixel weights must be ≥ 0"):
        direct.reconstruct_spectrum(st, "obf", ds.aberrations, weights=-np.ones(st.n_bf))
