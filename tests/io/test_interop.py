"""Differential tests: jaxem outputs as the peers' ecosystems read them.

Every output kind goes through every exit — ``Measurement.to_hyperspy()``, ``.to_xarray()``,
``jaxem.io.save`` → ``hyperspy.api.load`` (.zspy/.hspy/.h5; .zarr through rosettasciio's zspy reader,
which HyperSpy 2.x's ``load`` cannot reach for a ``.zarr`` directory) and ``xr.open_zarr`` — and the
peers' view is compared with quantities computed independently of the Measurement: the probe
positions of the ``GridScan``, the thickness of the exit slices, the θ = 0 pixel of a vacuum
diffraction pattern, the beam energy in keV and the Q pixel size k = θ/λ of py4DSTEM.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import jaxem as jx
from jaxem import Axis, Measurement
from jaxem.io import SIGNAL_GROUP, load, save

hs = pytest.importorskip("hyperspy.api")
xr = pytest.importorskip("xarray")

A = 3.905  # SrTiO3 lattice parameter [Å]
SCAN = ((0.0, 0.0), (2.7, 3.6), (3, 4))  # start, end [Å], gpts: 0.9 Å pixels (py4DSTEM needs square ones)


def _quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import logging

        logging.getLogger("hyperspy.io").setLevel(logging.ERROR)
        return f(*a, **k)


def _hs_axes(s):
    """(name, scale, units, offset, size, navigate) in array order."""
    return [(a.name, a.scale, a.units, a.offset, a.size, a.navigate) for a in s.axes_manager._axes]


def _expected_axes(m, nav):
    return [(a.name, a.sampling, a.units, a.offset, n, a.name in nav) for a, n in zip(m.axes, m.shape)]


def _peer_signals(m, tmp_path, tag):
    """The HyperSpy signals of every exit: in memory, and loaded from each file jaxem writes."""
    out = {"to_hyperspy": _quiet(m.to_hyperspy)}
    for suffix in (".zspy", ".hspy", ".h5", ".zarr"):
        path = save(m, tmp_path / f"{tag}{suffix}")
        if suffix == ".zarr":
            from hyperspy.io import dict2signal
            from rsciio.zspy import file_reader

            out[suffix] = _quiet(lambda: dict2signal(file_reader(str(path))[0]))
        else:
            out[suffix] = _quiet(hs.load, str(path), **({"reader": "hspy"} if suffix == ".h5" else {}))
        back = load(path)  # jaxem → file → jaxem is exact
        assert back.axes == m.axes and back.n_signal == m.n_signal
        assert back.array.dtype == np.asarray(m.array).dtype
        assert np.array_equal(np.asarray(back.array), np.asarray(m.array), equal_nan=True)
        if suffix in (".zarr", ".zspy"):
            ds = xr.open_zarr(path, group=SIGNAL_GROUP)
            assert ds["data"].dims == m.dims
            for a, n in zip(m.axes, m.shape):
                if a.name in ds.coords:
                    np.testing.assert_allclose(ds[a.name].values, a.offset + a.sampling * np.arange(n))
                    assert ds[a.name].attrs["units"] == a.units
            assert Measurement.from_xarray(ds).axes == m.axes  # exact, not re-derived from float steps
    return out


def check_exits(m, tmp_path, tag, nav, signal_type="", energy_kev=None, convergence=None):
    """Every exit of ``m`` shows the data, dtype, axes (name, scale, units, offset, navigate) and the
    HyperSpy metadata the microscopist expects; ``nav`` names the navigation axes."""
    expected = _expected_axes(m, nav)
    for exit_, s in _peer_signals(m, tmp_path, tag).items():
        where = f"{tag} via {exit_}"
        assert _hs_axes(s) == expected, where
        assert np.asarray(s.data).dtype == np.asarray(m.array).dtype, where
        assert np.array_equal(np.asarray(s.data), np.asarray(m.array), equal_nan=True), where
        assert s.metadata.Signal.signal_type == signal_type, where
        if energy_kev is not None:
            assert float(s.metadata.Acquisition_instrument.TEM.beam_energy) == pytest.approx(energy_kev), where
        if convergence is not None:
            assert float(s.metadata.Acquisition_instrument.TEM.convergence_angle) == pytest.approx(convergence), where
        assert jx.Measurement.from_hyperspy(s).axes == m.axes, where
        assert jx.Measurement.from_hyperspy(s).n_signal == m.n_signal, where
    x = m.to_xarray()
    assert x.dims == m.dims
    back = Measurement.from_xarray(x)
    assert back.axes == m.axes
    assert np.array_equal(np.asarray(back.array), np.asarray(m.array), equal_nan=True)


@pytest.fixture(scope="module")
def scans():
    from jaxem.potential import potential
    from jaxem.stem import AnnularDetector, CenterOfMassDetector, GridScan, PixelatedDetector, STEMSimulation, \
        stem_scan
    from jaxem.structure import crystals

    pot = potential(crystals.SrTiO3().repeat(1, 1, 2), sampling=0.15, slice_thickness=A / 2)
    sim = STEMSimulation(300e3, 15.0, (PixelatedDetector(25.0, 2), AnnularDetector(25.0, 45.0, "ADF"),
                                       CenterOfMassDetector(20.0)))
    scan = GridScan(*SCAN)
    plain = stem_scan(sim, scan, pot, progress=False)
    thick = stem_scan(sim, scan, pot, progress=False, exit_planes=2)
    return scan, pot, plain, thick


def test_scan_axes_are_the_probe_positions(scans):
    """HyperSpy's scan calibration puts every pixel at its probe position (pixel-centre convention)."""
    scan, _, plain, _ = scans
    s = _quiet(plain["ADF"].to_hyperspy)
    pos = scan.positions()  # (ny, nx, 2) [Å], independent of the Measurement's axes
    ay, ax = s.axes_manager["scan_y"], s.axes_manager["scan_x"]
    np.testing.assert_allclose(ay.axis, pos[:, 0, 0], atol=1e-12)
    np.testing.assert_allclose(ax.axis, pos[0, :, 1], atol=1e-12)


def test_stem_images(scans, tmp_path):
    _, _, plain, thick = scans
    # an ADF image is a Signal2D with the two scan axes as signal
    check_exits(plain["ADF"], tmp_path, "adf", nav=(), energy_kev=300.0, convergence=15.0)
    # detector angles (HyperSpy has no key for them) travel in original_metadata with their units
    t = _quiet(hs.load, str(save(plain["ADF"], tmp_path / "adf_md.hspy")))
    det = t.original_metadata.detector.as_dictionary()
    assert det["inner"] == {"value": 25.0, "units": "mrad"} and det["outer"] == {"value": 45.0, "units": "mrad"}
    # with a thickness axis the scan still navigates (before: the signal was (scan_x, thickness))
    m = thick["ADF"]
    check_exits(m, tmp_path, "adf_t", nav=("scan_y", "scan_x"), energy_kev=300.0, convergence=15.0)
    s = _quiet(m.to_hyperspy)
    dz = m.value("thickness", "Å")  # plane thicknesses recorded by the scan [Å]
    np.testing.assert_allclose(s.axes_manager["thickness"].axis, dz)
    stack = s.T  # the thickness-navigated image stack
    assert stack.axes_manager.navigation_shape == (len(dz),)
    assert stack.axes_manager.signal_shape == (SCAN[2][1], SCAN[2][0])
    np.testing.assert_array_equal(stack.inav[1].data, np.asarray(m.array)[:, :, 1])


def test_center_of_mass(scans, tmp_path):
    _, _, plain, thick = scans
    # a (θy, θx) vector per probe position: scan navigates (before: the signal was (scan_x, component))
    check_exits(plain["com"], tmp_path, "com", nav=("scan_y", "scan_x"), energy_kev=300.0)
    check_exits(thick["com"], tmp_path, "com_t", nav=("scan_y", "scan_x", "thickness"))
    assert _quiet(plain["com"].to_hyperspy).axes_manager.signal_shape == (2,)


def test_4dstem(scans, tmp_path):
    _, _, plain, thick = scans
    check_exits(plain["pixelated"], tmp_path, "px", nav=("scan_y", "scan_x"), signal_type="electron_diffraction",
                energy_kev=300.0, convergence=15.0)
    check_exits(thick["pixelated"], tmp_path, "px_t", nav=("scan_y", "scan_x", "thickness"),
                signal_type="electron_diffraction")


def test_4dstem_to_py4dstem(scans):
    """stem_scan → py4DSTEM DataCube (through phase.Dataset4D): R pixel [Å], Q pixel k = θ/λ [1/Å] and the
    origin at the θ = 0 pixel."""
    pytest.importorskip("py4DSTEM")
    from jaxem.phase import Dataset4D

    m = scans[2]["pixelated"]
    dc = _quiet(Dataset4D.from_measurement(m).to_py4dstem)
    cal = dc.calibration
    assert dc.data.shape == m.shape
    assert cal.get_R_pixel_size() == pytest.approx(0.9) and cal.get_R_pixel_units() == "A"
    lam = jx.Beam("300 kV").wavelength  # [Å]
    assert cal.get_Q_pixel_units() == "A^-1"
    assert cal.get_Q_pixel_size() == pytest.approx(m.axes[-1].sampling * 1e-3 / lam, rel=1e-9)
    # the origin is where θ = 0 falls, in (binned) pixels: with 2×2 binning it lies between pixel centres
    zero = tuple(-a.offset / a.sampling for a in m.axes[2:])
    assert zero[0] % 1 != 0  # (a fractional origin; rounding it would shift every k by a quarter pixel)
    assert (cal.get_qx0_mean(), cal.get_qy0_mean()) == pytest.approx(zero)
    assert cal.get_convergence_semiangle_mrad() == pytest.approx(15.0)
    # and back: a DataCube from py4DSTEM gives the same pattern axes in 1/Å
    back = Dataset4D.from_py4dstem(dc, energy=300e3).to_measurement()
    assert _quiet(back.to_hyperspy).metadata.Signal.signal_type == "electron_diffraction"  # before: ''
    assert _hs_axes(_quiet(back.to_hyperspy))[:2] == _expected_axes(m, ("scan_y", "scan_x"))[:2]
    for a, b in zip(back.axes[2:], m.axes[2:]):
        assert b.units == "mrad" and a.units == "1/Å"
        assert a.sampling == pytest.approx(b.sampling * 1e-3 / lam) and a.offset == pytest.approx(b.offset * 1e-3 / lam)


@pytest.fixture(scope="module")
def exit_waves():
    pot = jx.potential(jx.crystals.SrTiO3().repeat(2, 2, 1), sampling=0.2, slice_thickness=1.95)
    beam = jx.Beam("300 kV")
    return pot, beam, jx.multislice(jx.plane_wave(pot.grid, beam), pot)


def test_diffraction_pattern_origin(exit_waves, tmp_path):
    pot, beam, ew = exit_waves
    dp = jx.diffraction_pattern(ew, max_angle=40)
    check_exits(dp, tmp_path, "dp", nav=(), signal_type="electron_diffraction", energy_kev=300.0)
    # vacuum: all intensity in the θ = 0 pixel, and HyperSpy's axes put that pixel at 0 mrad
    vac = jx.diffraction_pattern(jx.plane_wave(pot.grid, beam), max_angle=40)
    s = _quiet(vac.to_hyperspy)
    iy, ix = np.unravel_index(np.argmax(np.asarray(vac.array)), vac.shape)
    assert s.axes_manager["θy"].index2value(iy) == pytest.approx(0.0, abs=1e-12)
    assert s.axes_manager["θx"].index2value(ix) == pytest.approx(0.0, abs=1e-12)
    assert s.axes_manager["θx"].scale == pytest.approx(1e3 * beam.wavelength / pot.grid.extent[1])


def test_hrtem_image(exit_waves, tmp_path):
    pot, _, ew = exit_waves
    im = jx.hrtem_image(ew, jx.Aberrations(C10=-50.0, C30=-1e4), objective_aperture=25.0)
    check_exits(im, tmp_path, "hrtem", nav=(), energy_kev=300.0)
    s = _quiet(im.to_hyperspy)
    assert s.axes_manager["x"].scale * im.shape[1] == pytest.approx(pot.grid.extent[1])


def test_eels_qe_map(tmp_path):
    from jaxem.eels.maps import qe_map

    exspy = pytest.importorskip("exspy")
    data = np.random.default_rng(0).poisson(50, (5, 40)).astype(float)
    m = qe_map(data, Axis("q", 0.05, "1/Å"), Axis("E", 0.1, "eV", -1.0), beam=jx.Beam("60 kV"))
    check_exits(m, tmp_path, "eels", nav=("q",), signal_type="EELS", energy_kev=60.0)
    assert isinstance(_quiet(m.to_hyperspy), exspy.signals.EELSSpectrum)
    assert isinstance(_quiet(hs.load, str(save(m, tmp_path / "e2.hspy"))), exspy.signals.EELSSpectrum)


def test_hs_load_cannot_open_zarr_directory(tmp_path):
    """The documented limitation (jaxem.io.layout): if HyperSpy learns to open .zarr directories, the
    docstrings should say so — this test then fails and points there."""
    path = save(Measurement(np.ones((2, 3), np.float32), (Axis("y"), Axis("x"))), tmp_path / "a.zarr")
    with pytest.raises((ValueError, OSError)):
        _quiet(hs.load, str(path), reader="zspy")


def test_complex_ptycho_probe_modes(tmp_path):
    """Complex outputs (ptychography probe modes / transmissions: axes (mode|slice, y, x)) keep their
    dtype and values through every exit, the modes navigate, and the probe's ``semiangle`` (the key the
    ptychography and phase packages write) reaches HyperSpy's convergence angle (before: dropped)."""
    rng = np.random.default_rng(1)
    waves = (rng.normal(size=(2, 8, 6)) + 1j * rng.normal(size=(2, 8, 6))).astype(np.complex64)
    paxes = (Axis("mode", 1.0, "pixels"), Axis("y", 0.3, "Å", -4 * 0.3), Axis("x", 0.3, "Å", -3 * 0.3))
    m = Measurement(waves, paxes, {"quantity": "probe wave", "units": "1", "title": "probe modes",
                                   "energy": {"value": 200e3, "units": "eV"},
                                   "semiangle": {"value": 21.4, "units": "mrad"}})
    check_exits(m, tmp_path, "probe", nav=("mode",), energy_kev=200.0, convergence=21.4)
    assert type(_quiet(m.to_hyperspy)).__name__ == "ComplexSignal2D"


def test_eds_spectrum_image(tmp_path):
    """EDS spectrum images leave jaxem as exspy EDS_TEM signals (jaxem.eds.to_hyperspy; EDSData is not a
    Measurement) and keep energy/navigation calibration, live time and beam energy through HyperSpy's own
    files and back."""
    exspy = pytest.importorskip("exspy")
    from jaxem.eds import EDSData, from_hyperspy, to_hyperspy

    counts = np.random.default_rng(2).poisson(3.0, (2, 3, 64)).astype(np.float64)
    energy = 0.1 + 0.02 * np.arange(64)  # [keV]
    nav = (Axis("y", 1.5, "nm", 0.0), Axis("x", 2.0, "nm", 1.0))
    d = EDSData(counts, energy, nav, {"beam_energy": 200e3, "live_time": 1.5, "elevation_deg": 18.0,
                                      "azimuth_deg": 45.0, "elements": ["Fe", "O"]})
    for suffix in (None, ".hspy"):  # HyperSpy cannot save .zspy with zarr 3 (rsciio 0.15 uses zarr 2 API)
        s = _quiet(to_hyperspy, d)
        if suffix:
            _quiet(s.save, str(tmp_path / f"eds{suffix}"))
            s = _quiet(hs.load, str(tmp_path / f"eds{suffix}"))
        assert isinstance(s, exspy.signals.EDSTEMSpectrum) and s.metadata.Signal.signal_type == "EDS_TEM"
        assert s.axes_manager.navigation_shape == (3, 2)  # HyperSpy: x first
        assert s.axes_manager["y"].scale == 1.5 and s.axes_manager["x"].offset == 1.0
        assert s.axes_manager["x"].units == "nm"
        e = s.axes_manager.signal_axes[0]
        np.testing.assert_allclose(e.axis, energy, rtol=1e-12) and e.units == "keV"
        tem = s.metadata.Acquisition_instrument.TEM
        assert tem.beam_energy == pytest.approx(200.0) and tem.Detector.EDS.live_time == pytest.approx(1.5)
        back = from_hyperspy(s)
        assert back.nav_axes == nav
        assert np.array_equal(back.counts, counts)
        np.testing.assert_allclose(back.energy, energy, rtol=1e-12)


def test_hrtem_thickness_series(exit_waves, tmp_path):
    """A multislice thickness series through hrtem_image and diffraction_pattern keeps its thickness axis
    when it is passed as a calibrated Axis (before: only names, so the series was 'batch0' [pixels])."""
    pot, beam, _ = exit_waves
    waves = jx.multislice(jx.plane_wave(pot.grid, beam), jx.potential(jx.crystals.SrTiO3().repeat(2, 2, 2),
                                                                     sampling=0.2, slice_thickness=1.95),
                          exit_planes=[2, 4])
    dz = 1.95
    t = Axis("thickness", 2 * dz, "Å", 2 * dz)
    im = jx.hrtem_image(waves, jx.Aberrations(C10=-50.0), objective_aperture=25.0, batch_axes=[t])
    check_exits(im, tmp_path, "hrtem_t", nav=("thickness",), energy_kev=300.0)
    s = _quiet(im.to_hyperspy)
    np.testing.assert_allclose(s.axes_manager["thickness"].axis, [2 * dz, 4 * dz])
    dp = jx.diffraction_pattern(waves, max_angle=30, batch_axes=[t])
    check_exits(dp, tmp_path, "dp_t", nav=("thickness",), signal_type="electron_diffraction", energy_kev=300.0)
    with pytest.raises(ValueError, match="batch_axes must name the 1 leading axes"):
        jx.hrtem_image(waves, jx.Aberrations(C10=-50.0), batch_axes=[t, "extra"])


def test_lazy_4dstem_stays_lazy(scans, tmp_path):
    """A 4D-STEM store loaded lazily reaches HyperSpy as a lazy signal with the same calibration, and
    HyperSpy's own lazy load of the .zspy agrees chunk for chunk."""
    m = scans[2]["pixelated"]
    path = save(m, tmp_path / "lazy.zspy")
    s = _quiet(load(path, lazy=True).to_hyperspy)
    assert s._lazy and _hs_axes(s) == _expected_axes(m, ("scan_y", "scan_x"))
    t = _quiet(hs.load, str(path), lazy=True)
    assert t._lazy and _hs_axes(t) == _hs_axes(s)
    assert np.array_equal(np.asarray(s.data.compute()), np.asarray(m.array))
    assert np.array_equal(np.asarray(t.data.compute()), np.asarray(m.array))
    # HyperSpy's scan units convert (pint knows Å): 0.9 Å → 0.09 nm
    s.axes_manager["scan_x"].convert_to_units("nm")
    assert s.axes_manager["scan_x"].scale == pytest.approx(m.axes[1].sampling / 10)


def test_phase_reconstruction(scans, tmp_path):
    """A phase image reconstructed from jaxem's own 4D-STEM scan (iCoM) keeps the scan sampling [Å] and
    the beam through every exit."""
    from jaxem.phase import Dataset4D, reconstruct

    m = scans[2]["pixelated"]
    img = _quiet(reconstruct, Dataset4D.from_measurement(m), method="icom", rotation=0.0)
    check_exits(img, tmp_path, "icom", nav=(), energy_kev=300.0)
    s = _quiet(img.to_hyperspy)
    assert (s.axes_manager["y"].scale, s.axes_manager["x"].scale) == pytest.approx((0.9, 0.9))
    assert s.metadata.Signal.quantity == "phase (rad)"


def test_simulate_uneven_exit_planes(tmp_path):
    """``jaxem simulate`` with exit planes every 3 slices when 3 does not divide the slice count (planes
    3, 6, …, n): the files' leading axis must not claim an even thickness step (before: it ended at a
    thickness beyond the specimen's)."""
    from jaxem.cli.main import main

    cfg = tmp_path / "sim.toml"
    cfg.write_text(f"""
[structure]
crystal = "SrTiO3"
repeat = [1, 1, 5]
[potential]
sampling = 0.3
slice_thickness = 1.3
[beam]
energy = 300e3
[output]
path = "out"
exit_planes = 3
""")
    assert main(["simulate", str(cfg), "--quiet"]) == 0
    dp = load(tmp_path / "out" / "diffraction.zarr")
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    n, dz = summary["n_slices"], summary["slice_thickness"]["value"]
    planes = list(range(3, n + 1, 3)) + ([n] if n % 3 else [])
    assert n % 3 and len(planes) >= 3 and dp.shape[0] == len(planes)
    assert dp.axes[0] == Axis("exit plane", 1.0, "index")  # an Axis is uniform: the planes are not
    np.testing.assert_allclose(dp.value("thickness", "Å"), np.asarray(planes) * dz, rtol=1e-9)
    assert dp.metadata["exit_slices"] == planes
    s = _quiet(dp.to_hyperspy)
    assert s.axes_manager.navigation_shape == (len(planes),) and s.metadata.Signal.signal_type == "electron_diffraction"
