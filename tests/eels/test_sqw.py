"""S(q, ω) in: a TACAW spectrum (and its Measurement, meV or THz) through eels.from_sqw and the same peak
fits as a measured map, against the analytic frequencies of a toy dispersion."""
import numpy as np
import pytest

from jaxem import eels
from jaxem.measurement import Axis, Measurement
from jaxem.phonons import tacaw_spectrum
from jaxem.phonons.tacaw import H_MEV_FS
from jaxem.validate import InputError

QS = np.linspace(0.05, 0.5, 10)                  # spatial frequency 1/d [1/Å] along a path
F = 8.0 * np.sin(np.pi * QS / 1.0)               # THz: an acoustic-like branch


@pytest.fixture(scope="module")
def spec():
    """Exit waves Ψ(q, t) = Ψ₀ + a·e^{2πi f(q) t}: with numpy's forward FFT the line sits at E = +h·f (loss)."""
    dt, n = 5.0, 256                             # fs; bin h/(nΔt) = 3.23 meV
    t = np.arange(n) * dt * 1e-3                 # ps
    psi = 1.0 + 0.01 * np.exp(2j * np.pi * F[None] * t[:, None])
    return tacaw_spectrum(psi, dt, window_name="hann")


def test_from_sqw_tacaw_spectrum_and_measurement(spec):
    m = eels.from_sqw(spec, q=(QS, "1/Å"), q_convention="spatial")
    assert m.axes[0].sampling == pytest.approx(2 * np.pi * (QS[1] - QS[0]))       # angular q
    assert m.axes[-1].units == "eV" and m.axes[-1].offset == 0.0                   # loss side only
    assert m.axes[-1].sampling == pytest.approx(H_MEV_FS / (256 * 5.0) * 1e-3)
    assert m.metadata["quantity"] == "S(q,ω)" and m.metadata["source"] == "TACAW S(q,E)"
    E = m.axes[-1].values(m.shape[-1])
    fit = eels.fit_peaks(m.with_array(m.numpy() * 1e8), (0.002, E[-1]), kind="lorentz", background="none")
    expect = F * H_MEV_FS * 1e-3 * 1e-3          # h·f [eV] (f in THz = 1e-3/fs)
    assert np.abs(fit.center[:, 0] - expect).max() < 0.25 * m.axes[-1].sampling
    # its Measurement (energy first, meV) with a calibrated q axis, and the same in THz
    mm = spec.to_measurement([Axis("q", QS[1] - QS[0], "1/Å", QS[0])])
    m2 = eels.from_sqw(mm, q_convention="spatial")
    np.testing.assert_allclose(m2.numpy(), m.numpy())
    thz = Measurement(mm.numpy(), (Axis("nu", mm.axes[0].sampling / H_MEV_FS * 1e3, "THz",
                                        mm.axes[0].offset / H_MEV_FS * 1e3), mm.axes[1]))
    m3 = eels.from_sqw(thz, q_convention="spatial")
    np.testing.assert_allclose(m3.axes[-1].sampling, m.axes[-1].sampling, rtol=1e-9)
    both = eels.from_sqw(spec, q=(QS, "1/Å"), side="both")
    assert both.axes[-1].offset < 0 and both.shape[-1] == 256
    with pytest.raises(InputError, match="TacawSpectrum has no calibrated q axis"):
        eels.from_sqw(spec)
    with pytest.raises(InputError, match="side"):
        eels.from_sqw(spec, q=(QS, "1/Å"), side="gain")
