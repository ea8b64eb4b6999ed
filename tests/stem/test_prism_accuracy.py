"""PRISM accuracy at f > 1 against probe-by-probe multislice: SrTiO3 [001], 300 kV, 20 mrad (issue 19),
and the accuracy model (prism_error_estimate) against the measured error.

HAADF: max|ΔI|/max(I) over a 3 × 3 raster of the unit cell. 4D-STEM: PRISM's patterns lie on a
reciprocal grid f times coarser, |F[ψ·W]|² of the exit wave cut to the window W (L/f) around the
probe; the reference is the same quantity of the exact multislice exit wave (so the comparison
measures PRISM's approximation, the periodic probe of the coarse plane waves, not the pixel size),
relative L2 per pattern.
"""
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem import Beam
from jaxem.optics import probe
from jaxem.potential import potential
from jaxem.propagate import multislice, waves_from_array
from jaxem.stem import AnnularDetector, GridScan, PixelatedDetector, STEMSimulation, prism_error_estimate, prism_scan
from jaxem.stem.prism import _crop_indices, _to_band, band_gpts, window_grid
from jaxem.structure import crystals

A = 3.905
F = (2, 2)


@pytest.fixture(scope="module")
def case():
    pot = potential(crystals.SrTiO3().repeat(4, 4, 1), gpts=(160, 160), slice_thickness=A / 2)
    beam = Beam(300e3)
    dets = (AnnularDetector(45.0, 66.0, "HAADF"), PixelatedDetector(40.0, name="dp"))
    sim = STEMSimulation(beam, 20.0, dets)
    scan = GridScan.create((0.0, 0.0), (A, A), gpts=(3, 3))
    pr = prism_scan(sim, scan, pot, interpolation=F, progress=False)
    # exact exit waves of the same probes, then the window around each probe on the same band grid
    grid = pot.grid
    pos = scan.positions().reshape(-1, 2)
    exit_ = multislice(waves_from_array(probe(grid, beam, 20.0, positions=pos), grid, beam), pot).array
    band = band_gpts(grid, F)
    # same values on the band grid; Σ|ψ|² = 1 per band pixel as PRISM's probe (probe() has it per grid pixel)
    wb = np.asarray(_to_band(exit_, grid.gpts, band)) * np.sqrt(grid.gpts[0] * grid.gpts[1] / (band[0] * band[1]))
    w = tuple(m // f for m, f in zip(band, F))
    d = tuple(L / m for L, m in zip(grid.extent, band))
    wg = window_grid(grid, F)
    st = dets[1].prepare(beam, wg)
    ref_dp, ref_haadf = [], []
    hstate = dets[0].prepare(beam, grid)
    for p, psi, full in zip(pos, wb, np.asarray(exit_)):
        s = [int(np.round(p[i] / d[i])) - w[i] // 2 for i in range(2)]
        win = psi[np.arange(s[0], s[0] + w[0]) % band[0]][:, np.arange(s[1], s[1] + w[1]) % band[1]]
        dp = np.zeros(wg.gpts)
        dp[np.ix_(_crop_indices(wg.gpts[0], w[0]), _crop_indices(wg.gpts[1], w[1]))] = \
            np.abs(np.fft.fft2(win)) ** 2 / (w[0] * w[1])
        ref_dp.append(np.asarray(dets[1].apply(st, jnp.asarray(dp))))
        ref_haadf.append(float(dets[0].apply(hstate, jnp.abs(jnp.fft.fft2(full)) ** 2 / full.size)))
    return sim, pot, pr, np.reshape(ref_haadf, (3, 3)), np.reshape(ref_dp, (3, 3) + ref_dp[0].shape)


def _haadf_error(pr, ref):
    return float(np.max(np.abs(np.asarray(pr["HAADF"].array) - ref)) / np.max(ref))


def test_f2_haadf_and_4d_against_multislice_and_the_model(case):
    """Window 7.8 Å (4 × 4 cells at f = 2; the benchmark's 8 × 8 cells at f = 4): the errors measured here
    are bounded by the accuracy model, which is not absurdly loose (the 1 % / 2 % targets at f = 2 on
    8 × 8 cells, window 15.6 Å, are measured by benchmarks/prism.py)."""
    sim, pot, pr, ref_haadf, ref_dp = case
    err = _haadf_error(pr, ref_haadf)
    dp = np.asarray(pr["dp"].array)
    rel = float(np.max(np.sqrt(((dp - ref_dp) ** 2).sum((-2, -1)) / (ref_dp ** 2).sum((-2, -1)))))
    est = prism_error_estimate(sim, pot, F)
    assert est["window"] == pytest.approx(tuple(L / 2 for L in pot.grid.extent), rel=1e-9)
    assert 1e-4 < err <= est["haadf"] <= 10 * err, (err, est)
    assert 1e-3 < rel <= est["pattern"] <= 10 * rel, (rel, est)
    # f = 1 at the same positions is exact
    one = prism_scan(sim, GridScan.create((0.0, 0.0), (A, A), gpts=(3, 3)), pot, progress=False)
    assert _haadf_error(one, ref_haadf) < 1e-5
