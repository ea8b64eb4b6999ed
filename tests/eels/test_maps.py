"""q–E maps in and results out: units, q convention, calibration errors, masks, HyperSpy and files."""
import warnings

import numpy as np
import pytest

from jaxem import Beam, eels
from jaxem.measurement import Axis
from jaxem.validate import InputError

E = np.arange(0.0, 40.0, 0.5)
Q = np.linspace(0.0, 1.0, 11)


def _data(nq=11):
    return eels.drude_map(np.linspace(0, 1, nq), E, seed=None, counts_per_peak=1e3)[0].numpy()


def test_units_and_conventions():
    d = _data()
    m = eels.qe_map(d, (Q * 10, "1/nm"), (E * 1e3, "meV"))
    assert m.axes[0].units == "1/Å" and m.axes[0].sampling == pytest.approx(0.1)
    assert m.axes[1].units == "eV" and m.axes[1].sampling == pytest.approx(0.5)
    assert m.metadata["q_convention"] == "angular"
    sp = eels.qe_map(d, Axis("k", 0.1, "1/Å"), Axis("E", 0.5, "eV"), q_convention="spatial")
    assert sp.axes[0].sampling == pytest.approx(2 * np.pi * 0.1)
    beam = Beam("100 kV")
    mr = eels.qe_map(d, (np.arange(11) * 2.0, "mrad"), (E, "eV"), beam=beam)
    assert mr.axes[0].sampling == pytest.approx(2 * np.pi * 2e-3 / beam.wavelength)
    thz = eels.from_sqw(d, q=(Q, "1/Å"), energy=(np.arange(E.size) * 10.0, "THz"))
    assert thz.axes[1].sampling == pytest.approx(10 * 4.135667696e-3) and thz.metadata["quantity"] == "S(q,ω)"


def test_rad_without_beam_is_refused():
    with pytest.raises(InputError, match="q axis 'q' is in mrad.*beam="):
        eels.qe_map(_data(), (np.arange(11) * 1.0, "mrad"), (E, "eV"))


@pytest.mark.parametrize("q,energy,match", [
    (Axis("q", 1.0, "pixels"), (E, "eV"), "q axis 'q' is uncalibrated"),
    ((Q, "1/Å"), Axis("E", 1.0, "pixels"), "energy axis is uncalibrated"),
    ((Q, "1/Å"), (E, "keV/s"), "energy axis has units"),
    ((np.r_[Q[:5], Q[4], Q[6:]], "1/Å"), (E, "eV"), "q axis 'q' is not monotonic"),
    ((Q ** 2, "1/Å"), (E, "eV"), "q axis 'q' is not uniformly spaced"),
    ((Q, "1/Å"), (np.r_[E[:3], E[2:-1]], "eV"), "energy axis is not monotonic"),
    ((Q[:5], "1/Å"), (E, "eV"), "q axis 'q' has 5 values"),
])
def test_axis_errors(q, energy, match):
    with pytest.raises(InputError, match=match):
        eels.qe_map(_data(), q, energy)


def test_decreasing_axes_are_reversed():
    d = _data()
    m = eels.qe_map(d[::-1, ::-1], (Q[::-1], "1/Å"), (E[::-1], "eV"))
    assert np.array_equal(m.numpy(), d) and m.axes[0].offset == 0.0


def test_negative_counts_and_nan_pixels():
    d = _data()
    d[2, 5] = -3.0
    with pytest.raises(InputError, match=r"data holds 1 negative count\(s\) \(first at index \(2, 5\)"):
        eels.qe_map(d, (Q, "1/Å"), (E, "eV"))
    d[3, 7] = np.nan
    m = eels.qe_map(d, (Q, "1/Å"), (E, "eV"), negative="mask")
    bp = m.metadata["bad_pixels"]
    assert bp["count"] == 2 and bp["indices"] == [[2, 5], [3, 7]] and np.isnan(m.numpy()[2, 5])
    with pytest.raises(InputError, match="no valid pixel"):
        eels.qe_map(np.full((3, 4), np.nan), (Q[:3], "1/Å"), (E[:4], "eV"))


def test_hyperspy_in_and_out():
    exspy = pytest.importorskip("exspy")
    d = _data()
    s = exspy.signals.EELSSpectrum(d)
    s.axes_manager[0].name, s.axes_manager[0].units, s.axes_manager[0].scale = "q", "1/nm", 1.0
    s.axes_manager[-1].name, s.axes_manager[-1].units, s.axes_manager[-1].scale = "Energy loss", "eV", 0.5
    s.set_microscope_parameters(beam_energy=100.0)
    m = eels.from_hyperspy(s)
    assert m.axes[0].sampling == pytest.approx(0.1) and m.beam().energy == pytest.approx(1e5)
    f = eels.fit_peaks(s, (5.0, 35.0), background="none")
    out = f.measurement("center").to_hyperspy()
    ax = out.axes_manager.signal_axes[0]
    assert (ax.name, ax.units) == ("q", "1/Å") and ax.scale == pytest.approx(0.1)
    assert out.data.shape == (2, 11)       # estimate (value, sigma) × q
    np.testing.assert_allclose(out.data[0], eels.bulk_dispersion(np.linspace(0, 1, 11), 15.0, 0.4), atol=1e-6)
    L = eels.loss_function(m)
    hs = L.to_hyperspy()
    assert [a.units for a in hs.axes_manager._axes] == ["1/Å", "eV"]
    with pytest.raises(InputError, match="q axis 'q' has units 'eV'"):      # E as navigation: refused
        eels.from_hyperspy(s.T)
    import hyperspy.api as hs
    with pytest.raises(InputError, match="one signal"):
        eels.from_hyperspy(hs.signals.Signal2D(np.zeros((3, 4, 5))))


def test_files(tmp_path):
    hs = pytest.importorskip("hyperspy.api")
    from jaxem import io

    d = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = hs.signals.Signal1D(d)
        s.axes_manager[0].units, s.axes_manager[0].scale = "1/Å", 0.1
        s.axes_manager[1].units, s.axes_manager[1].scale = "eV", 0.5
        s.save(tmp_path / "map.hspy")
    m = eels.read(tmp_path / "map.hspy")
    assert np.array_equal(m.numpy(), d) and m.metadata["reader"] == "hspy"
    io.save(m, tmp_path / "map.zspy")
    m2 = eels.read(tmp_path / "map.zspy")
    assert np.array_equal(m2.numpy(), d) and m2.axes == m.axes
    (tmp_path / "bad.hspy").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="bad.hspy"):
        eels.read(tmp_path / "bad.hspy")
    with pytest.raises(InputError, match="suffix"):
        eels.read(_touch(tmp_path / "x.foo"))


def _touch(p):
    p.write_text("x")
    return p
