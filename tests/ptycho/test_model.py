"""The forward model against independent computations: the single-slice model of
jaxem.phase.synthetic, and a NumPy float64 multislice written here from the equations."""
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import ptycho
from jaxem.optics import Aberrations

from .conftest import dataset


def _setup(ds, phi_slices, dz, n_modes=1):
    data = ptycho.prepare(ds, oversampling=1.0, object_extent=(ds.shape[2] * 0.25,) * 2, precision="float64")
    model = ptycho.Model(data.geometry, len(phi_slices), dz,
                         tuple((k, float(v)) for k, v in ds.aberrations.to_dict().items()))
    params = ptycho.init_params(model, data.n_positions, n_modes, precision="float64")
    params = params.replace(phase=jnp.asarray(np.stack(phi_slices)))
    return data, model, params


def test_single_slice_equals_synthetic_model(small):
    ds, phi = small
    data, model, params = _setup(ds, [phi], 0.0)
    assert data.geometry.window == (27, 27) and data.geometry.object_shape == (27, 27)
    amp = np.asarray(ptycho.model_amplitudes(params, model, data.positions, jnp.arange(data.n_positions)))
    mask = np.asarray(data.detector_mask) > 0
    ref = np.asarray(data.amplitudes)
    assert mask.sum() > 200
    np.testing.assert_allclose(amp[:, mask], ref[:, mask], atol=1e-7 * ref.max())
    err = ptycho.amplitude_error(jnp.asarray(amp), data.amplitudes, data.weights, data.detector_mask)
    assert float(err) < 1e-12


def _numpy_multislice(psi, slices, beam, sampling, dz, n):
    k = np.fft.fftfreq(n, sampling)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    kc = 2 / 3 * 0.5 / sampling
    from jaxem.grid import Grid
    ap = np.asarray(Grid(gpts=(n, n), sampling=(sampling, sampling)).antialias_aperture(jnp.float64))
    assert np.all(ap[np.sqrt(k2) < 0.9 * kc] == 1.0)
    prop = np.exp(-1j * np.pi * beam.wavelength * dz * k2) * ap
    for t in slices:
        psi = np.fft.ifft2(np.fft.fft2(psi * t) * prop)
    return psi


def test_multislice_against_numpy(small):
    ds, phi = small
    phis = [0.6 * phi, 0.4 * np.roll(phi, 5, axis=1), 0.3 * phi.T]
    data, model, params = _setup(ds, phis, 12.0, n_modes=2)
    idx = jnp.asarray([0, 4, 7])
    amp = np.asarray(ptycho.model_amplitudes(params, model, data.positions, idx))
    g = data.geometry
    n = g.window[0]
    spectra = np.asarray(ptycho.probe_spectra(params, model))
    slices = [np.exp(1j * p) for p in phis]
    rows, cols = g.detector_indices
    for j, p in enumerate(np.asarray(idx)):
        r = np.asarray(data.positions)[p]
        k = np.fft.fftfreq(n, g.sampling[0])
        ramp = np.exp(-2j * np.pi * (k[:, None] * r[0] + k[None, :] * r[1]))
        inten = 0
        for m in range(2):
            # the window is the whole periodic cell: the probe sits at r, the object does not move
            psi = np.fft.ifft2(spectra[m] * ramp)
            exit_ = _numpy_multislice(psi, slices, g.beam, g.sampling[0], 12.0, n)
            inten = inten + np.abs(np.fft.fft2(exit_)) ** 2 / n ** 2
        ref = np.sqrt(inten[np.ix_(rows, cols)] + 1e-12)
        np.testing.assert_allclose(amp[j], ref, rtol=1e-9, atol=1e-12)


def test_mode_powers_and_intensity_conservation(small):
    ds, phi = small
    data, model, params = _setup(ds, [phi], 0.0, n_modes=3)
    spectra = np.asarray(ptycho.probe_spectra(params, model))
    n = data.geometry.window[0] ** 2
    power = np.sum(np.abs(spectra) ** 2, axis=(1, 2)) / n
    np.testing.assert_allclose(power, [0.9, 0.05, 0.05], rtol=1e-12)
    # a pure phase object conserves the intensity inside the anti-aliased band
    amp = np.asarray(ptycho.model_amplitudes(params, model, data.positions, jnp.arange(3)))
    assert np.all(np.sum(amp ** 2, axis=(1, 2)) <= 1 + 1e-9)
    assert np.all(np.sum(amp ** 2, axis=(1, 2)) > 0.97)


def test_aberration_parameter_moves_the_probe_phase(small):
    ds, phi = small
    data, model, params = _setup(ds, [phi], 0.0)
    p2 = params.replace(aberrations=Aberrations(C10=-40.0 + 25.0))
    s1, s2 = np.asarray(ptycho.probe_spectra(params, model)), np.asarray(ptycho.probe_spectra(p2, model))
    from jaxem.optics import probe_transfer
    g = data.geometry
    t1 = np.asarray(probe_transfer(g.grid, g.beam, g.semiangle, Aberrations(C10=-40.0), precision="float64"))
    t2 = np.asarray(probe_transfer(g.grid, g.beam, g.semiangle, Aberrations(C10=-15.0), precision="float64"))
    on = np.abs(t1) > 0
    np.testing.assert_allclose(s2[0][on] / s1[0][on], t2[on] / t1[on], rtol=1e-9)
