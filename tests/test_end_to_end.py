"""Issue 12 acceptance, end to end: jaxem's simulation feeds its own reconstruction through a file, and
the same file opens in HyperSpy (calibrated axes), xarray (named dimensions) and py4DSTEM (DataCube
calibrations)."""
import numpy as np
import pytest

import jaxem as jx
from jaxem import phase
from jaxem.stem import stem_scan_to_zarr


def _corr(a, b):
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    beam = jx.Beam("300 kV")
    unit = jx.crystals.SrTiO3()
    sto = unit.repeat(2, 2, 1)                                    # 3.9 Å thick: a weak phase object
    pot = jx.potential(sto, sampling=0.1, slice_thickness=float(unit.lengths[2]) / 2)
    sim = jx.STEMSimulation(beam, 20.0, (jx.PixelatedDetector(60.0),), aberrations=jx.Aberrations(C10=30.0))
    scan = jx.GridScan.create((0, 0), pot.grid.extent, gpts=(16, 16))  # the whole periodic cell
    path = tmp_path_factory.mktemp("e2e") / "sto.zspy"
    stem_scan_to_zarr(path, sim, scan, potential=pot, progress=False)
    # the object: phase of the plane-wave exit wave, band-limited to the SSB band (2α/λ) and sampled on the scan
    exit_wave = jx.multislice(jx.plane_wave(pot.grid, beam), pot)
    obj = np.angle(np.asarray(exit_wave.array))
    ny, nx = obj.shape
    f = np.fft.fft2(obj)
    ky, kx = np.meshgrid(np.fft.fftfreq(ny, pot.grid.sampling[0]), np.fft.fftfreq(nx, pot.grid.sampling[1]),
                         indexing="ij")
    f[np.hypot(ky, kx) > 2 * beam.mrad_to_frequency(20.0)] = 0
    keep = np.r_[0:8, ny - 8:ny], np.r_[0:8, nx - 8:nx]           # 16×16 lowest frequencies = scan grid
    small = np.fft.ifft2(f[np.ix_(*keep)]).real * 16 * 16 / (ny * nx)
    return path, beam, sim, scan, small


def test_simulation_file_reconstruction(simulated):
    path, beam, sim, scan, obj = simulated
    ds = phase.read_4dstem(path)
    assert ds.scan_shape == (16, 16)
    assert np.allclose(ds.scan_sampling, scan.sampling)
    assert ds.energy == pytest.approx(beam.energy)
    stack = phase.bright_field_stack(ds)
    ab = sim.aberrations
    ssb = np.asarray(phase.ssb(stack, ab))
    par = np.asarray(phase.parallax(stack, ab, flip=True))
    assert np.all(np.isfinite(ssb)) and np.all(np.isfinite(par))
    assert _corr(ssb, obj) > 0.9, _corr(ssb, obj)          # measured 0.98
    assert _corr(par, obj) > 0.85, _corr(par, obj)         # measured 0.94
    # with the wrong sign of the defocus the SSB image no longer matches: the test can fail
    assert _corr(np.asarray(phase.ssb(stack, jx.Aberrations(C10=-30.0))), obj) < _corr(ssb, obj) - 0.2


def test_same_file_opens_in_hyperspy_xarray_and_py4dstem(simulated, tmp_path):
    hs = pytest.importorskip("hyperspy.api")
    xr = pytest.importorskip("xarray")
    path, beam, sim, scan, _ = simulated
    m = jx.load(path)
    s = hs.load(path)
    nav = s.axes_manager.navigation_axes
    sig = s.axes_manager.signal_axes
    assert s.data.shape == m.shape
    assert [a.units for a in nav] == ["Å", "Å"] and [a.units for a in sig] == ["mrad", "mrad"]
    assert nav[0].scale == pytest.approx(scan.sampling[1]) and nav[1].scale == pytest.approx(scan.sampling[0])
    assert sig[0].scale == pytest.approx(m.axes[3].sampling) and sig[0].offset == pytest.approx(m.axes[3].offset)
    np.testing.assert_array_equal(np.asarray(s.data), np.asarray(m.array))
    z = tmp_path / "sto.zarr"
    jx.save(m, z)
    from jaxem.io import SIGNAL_GROUP

    x = xr.open_zarr(z, group=SIGNAL_GROUP)["data"]
    assert x.dims == ("scan_y", "scan_x", "θy", "θx")
    assert float(x["scan_x"][1] - x["scan_x"][0]) == pytest.approx(scan.sampling[1])
    py4d = pytest.importorskip("py4DSTEM")
    ds = phase.read_4dstem(path)
    dc = ds.to_py4dstem() if hasattr(ds, "to_py4dstem") else None
    if dc is None:
        pytest.skip("Dataset4D.to_py4dstem not available")
    assert isinstance(dc, py4d.DataCube) and dc.data.shape == m.shape
    assert dc.calibration.get_R_pixel_size() == pytest.approx(scan.sampling[0])
    assert dc.calibration.get_R_pixel_units() in ("A", "Å")
