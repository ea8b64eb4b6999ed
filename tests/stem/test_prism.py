"""PRISM (jaxem.stem.prism, prism_run): f = 1 equals probe-by-probe multislice (float64), the vacuum
probe's pattern is the analytic |P(k)|² at every f, thermal/absorptive/thickness paths, errors, auto."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from jaxem import Beam, Grid
from jaxem.optics import Aberrations, transfer_function
from jaxem.optics.apertures import Aperture
from jaxem.potential import absorptive_potential, potential
from jaxem.potential.projected import PotentialSlices
from jaxem.stem import (AnnularDetector, CenterOfMassDetector, GridScan, PixelatedDetector, SegmentedDetector,
                        STEMSimulation, build_smatrix, choose_method, prism_error_estimate, prism_scan, stem_scan,
                        stem_scan_to_zarr)
from jaxem.stem import prism_signals, probe_coefficients
from jaxem.stem.prism import plane_wave_indices, window_grid
from jaxem.structure import crystals
from jaxem.validate import InputError

A = 3.905
ALL = (AnnularDetector(25.0, 55.0, "HAADF"), AnnularDetector(0.0, 8.0, "BF"), PixelatedDetector(30.0, name="dp"),
       CenterOfMassDetector(20.0), SegmentedDetector(3.0, 12.0, 4, 1))
SEMI = 15.0
ABER = Aberrations(C10=-30.0, C30=1e4, C12=10.0, phi12=0.3)


@pytest.fixture(scope="module")
def sto64():
    sto = crystals.SrTiO3().repeat(2, 2, 1)
    return sto, potential(sto, gpts=(48, 48), slice_thickness=A / 2, precision="float64")


def _close(a, b, rtol):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) <= rtol * np.max(np.abs(a)), np.max(np.abs(a - b)) / np.max(np.abs(a))


def test_f1_equals_multislice_float64_all_detectors(sto64):
    _, pot = sto64
    sim = STEMSimulation(300e3, SEMI, ALL, aberrations=ABER)
    scan = GridScan.create((0.1, 0.2), (A + 0.1, A + 0.2), gpts=(2, 2))
    ms = stem_scan(sim, scan, pot, method="multislice", precision="float64", progress=False)
    pr = stem_scan(sim, scan, pot, method="prism", precision="float64", progress=False)
    assert set(ms) == set(pr)
    for name in ms:
        _close(ms[name].array, pr[name].array, 1e-10)  # acceptance: 1e-4
        assert [a.name for a in ms[name].axes] == [a.name for a in pr[name].axes]
        assert np.allclose([a.sampling for a in ms[name].axes], [a.sampling for a in pr[name].axes])
    assert pr["HAADF"].metadata["method"] == "prism" and pr["HAADF"].metadata["interpolation"] == [1, 1]
    assert ms["HAADF"].metadata["method"] == "multislice"


def test_f1_thickness_series_and_frozen_phonons_equal_multislice(sto64):
    sto, pot = sto64
    sim = STEMSimulation(300e3, SEMI, ALL)
    scan = GridScan.create((0.0, 0.0), (A, A), gpts=(2, 2))
    kw = dict(precision="float64", progress=False)
    ms = stem_scan(sim, scan, pot, method="multislice", exit_planes=1, **kw)
    pr = prism_scan(sim, scan, pot, exit_planes=1, **kw)
    for name in ms:
        assert ms[name].axes[2].name == "thickness"
        _close(ms[name].array, pr[name].array, 1e-10)
    pr_static = pr
    th = dict(structure=sto, thermal="einstein", n_configs=2, key=jax.random.key(3), **kw)
    ms = stem_scan(sim, scan, pot, method="multislice", **th)
    pr = prism_scan(sim, scan, pot, **th)
    for name in ms:
        _close(ms[name].array, pr[name].array, 1e-10)
    # MD snapshots go through the same path: one snapshot of the static positions is the static specimen
    snap = prism_scan(sim, scan, pot, structure=sto, thermal="snapshots", snapshots=np.asarray(sto.positions)[None],
                      **kw)
    _close(pr_static["HAADF"].array[:, :, -1], snap["HAADF"].array, 1e-10)


def test_f1_absorptive_potential_equals_multislice():
    sto = crystals.SrTiO3(B={"Sr": 0.62, "Ti": 0.44, "O": 0.73}).repeat(2, 2, 1)
    pot = absorptive_potential(sto, Beam(300e3), gpts=(48, 48), slice_thickness=A / 2, precision="float64")
    sim = STEMSimulation(300e3, SEMI, ALL)
    scan = GridScan.create((0.0, 0.0), (A, A), gpts=(2, 2))
    ms = stem_scan(sim, scan, pot, method="multislice", precision="float64", progress=False)
    pr = prism_scan(sim, scan, pot, precision="float64", progress=False)
    for name in ms:
        _close(ms[name].array, pr[name].array, 1e-10)
    assert float(np.max(pr["BF"].array)) < 0.999  # absorption removed flux


_VACUUM = {}
_signals = jax.jit(prism_signals, static_argnums=3)


def _vacuum_smatrix(f):
    if f not in _VACUUM:
        grid = Grid((32, 32), (7.81 / 32,) * 2)
        vac = PotentialSlices(jnp.zeros((1, 32, 32)), (0, 0), 2.0, grid)
        beam = Beam(300e3)
        sm = build_smatrix(vac, beam, 20.0, f)
        dets = (PixelatedDetector(name="dp"), AnnularDetector(0.0, name="all"))
        states = tuple(d.prepare(beam, window_grid(grid, (f, f))) for d in dets)
        _VACUUM[f] = (sm, dets, states)
    return _VACUUM[f]


@settings(max_examples=6)
@given(f=st.sampled_from([1, 2]), y=st.floats(0, 7.8), x=st.floats(0, 7.8), df=st.floats(-40, 40))
def test_vacuum_pattern_is_the_aperture_at_every_f(f, y, x, df):
    """In vacuum the windowed probe is exactly periodic, so its pattern is |P(k)|²/Σ|P|² on the f-coarse
    plane waves, wherever the probe is and whatever the defocus (analytic)."""
    sm, dets, states = _vacuum_smatrix(f)
    grid, beam = sm.grid, sm.beam
    coeffs = probe_coefficients(sm, 20.0, Aberrations(C10=df))
    dp, total = _signals(sm, jnp.asarray([[y, x]], jnp.float32), coeffs, dets, states)
    assert float(total[0]) == pytest.approx(1.0, abs=1e-5)
    idx = plane_wave_indices(grid, beam, 20.0, (f, f))
    p = np.abs(np.asarray(transfer_function(Aberrations(), idx[:, 0] / grid.extent[0], idx[:, 1] / grid.extent[1],
                                            beam.wavelength, Aperture(20.0)))) ** 2
    dp = np.asarray(dp[0])
    c = np.array(dp.shape) // 2
    expect = np.zeros_like(dp)
    expect[c[0] + idx[:, 0] // f, c[1] + idx[:, 1] // f] = p / p.sum()
    np.testing.assert_allclose(dp, expect, atol=1e-5)


def test_bad_inputs_name_the_value_and_an_alternative(sto64):
    _, pot = sto64  # 48 × 48 grid, 7.8 Å cell
    sim = STEMSimulation(300e3, SEMI, (ALL[0],))
    scan = GridScan.create((0.0, 0.0), (A, A), gpts=(2, 2))
    with pytest.raises(InputError, match=r"interpolation = 5 does not divide the 48 grid points.*\[3, 4, 6\]"):
        prism_scan(sim, scan, pot, interpolation=5, progress=False)
    with pytest.raises(InputError, match=r"interpolation = 8 gives a PRISM window of 0.976.*probe's extent.*use "
                                         r"interpolation = "):
        prism_scan(sim, scan, pot, interpolation=8, progress=False)
    with pytest.raises(InputError, match=r"sim.semi_angle of 50 mrad exceeds the anti-aliased limit.*sampling ≤"):
        prism_scan(STEMSimulation(300e3, 50.0, (ALL[0],)), scan, pot, progress=False)
    with pytest.raises(InputError, match="interpolation"):
        prism_scan(sim, scan, pot, interpolation=0, progress=False)
    with pytest.raises(InputError, match="method"):
        stem_scan(sim, scan, pot, method="bloch", progress=False)
    with pytest.raises(InputError, match="interpolation and tolerance belong"):
        stem_scan(sim, scan, pot, method="multislice", interpolation=2, progress=False)
    with pytest.raises(InputError, match="tolerance"):
        stem_scan(sim, scan, pot, method="auto", tolerance=-1.0, progress=False)
    with pytest.raises(InputError, match="max_angle"):
        build_smatrix(pot, 300e3, 45.0)


def test_auto_picks_multislice_for_few_positions_and_prism_for_many(sto64):
    _, pot = sto64
    sim = STEMSimulation(300e3, SEMI, (ALL[0],))
    few = GridScan.create((0.0, 0.0), (A, A), gpts=(2, 2))
    many = GridScan.create((0.0, 0.0), (2 * A, 2 * A), gpts=(48, 48))
    thin = choose_method(sim, many, pot)  # 2 slices: the matrix product costs more than the multislice
    assert thin == ("multislice", None)
    pot = PotentialSlices(pot.array, pot.sequence * 30, pot.slice_thickness, pot.grid)  # 60 slices, 23 nm
    assert choose_method(sim, few, pot) == ("multislice", None)
    method, f = choose_method(sim, many, pot)
    assert method == "prism" and f == (1, 1)  # the 7.8 Å cell holds no larger window at 1e-3
    assert choose_method(sim, many, pot, tolerance=0.5)[1][0] >= 1
    est = prism_error_estimate(sim, pot, 2)
    assert est["haadf"] > 0 and est["window"] == pytest.approx((pot.grid.extent[0] / 2,) * 2)
    assert prism_error_estimate(sim, pot, 1)["haadf"] == 0.0


def test_stream_to_zarr_through_prism(sto64, tmp_path):
    _, pot = sto64
    pot32 = PotentialSlices(pot.array.astype(jnp.float32), pot.sequence, pot.slice_thickness, pot.grid)
    sim = STEMSimulation(300e3, SEMI, (ALL[0], PixelatedDetector(30.0, name="dp")))
    scan = GridScan.create((0.0, 0.0), (A, A), gpts=(3, 2))
    from jaxem.io import load

    res = stem_scan_to_zarr(tmp_path / "p.zarr", sim, scan, pot32, method="prism", progress=False)
    ref = stem_scan(sim, scan, pot32, method="prism", progress=False)
    np.testing.assert_allclose(res["HAADF"].array, ref["HAADF"].array, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.asarray(load(tmp_path / "p.zarr").array), ref["dp"].array, rtol=1e-3, atol=1e-7)
