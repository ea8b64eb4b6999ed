"""`stem.prism.band_gpts`: the S-matrix band grid, for every interpolation factor that divides a grid.

Regression: an f with a prime factor > 7 (11, 13, …: a grid of 176 or 264 points admits them) has no
7-smooth multiple, and the search for one never ended — `stem_scan(method="auto")` hung in
`choose_method`, which tries every f that divides the grid.
"""
import math

import pytest

from jaxem.grid import Grid
from jaxem.stem import prism_run
from jaxem.stem.prism import band_gpts


def _smooth(n):
    for p in (2, 3, 5, 7):
        while n % p == 0:
            n //= p
    return n == 1


def _brute(grid, f):
    """Smallest f·s ≥ the anti-alias band with s 7-smooth (capped at the grid), by enumeration."""
    out = []
    for n, L, fi in zip(grid.gpts, grid.extent, f):
        need = 2 * int(math.floor(grid.antialias_cutoff * L + 1e-9)) + 2
        m = next(fi * s for s in range(1, 10 * n) if fi * s >= need and _smooth(s))
        out.append(n if m >= n else m)
    return tuple(out)


@pytest.mark.parametrize("n", [64, 96, 176, 210, 264, 286, 400])
@pytest.mark.parametrize("sampling", [0.05, 0.2])
def test_band_grid_for_every_divisor(n, sampling):
    grid = Grid((n, n), (sampling, sampling))
    for f in (d for d in range(1, 33) if n % d == 0):
        band = band_gpts(grid, (f, f))
        assert band == _brute(grid, (f, f))
        assert all(b % f == 0 and b <= n for b in band)


def test_auto_method_choice_terminates_on_a_grid_with_a_factor_11():
    import jaxem as jx

    structure = jx.zone_axis(jx.crystals.SrTiO3(), [0, 0, 1]).repeat(2, 2, 1)
    pot = jx.potential(structure, gpts=(176, 176), slice_thickness=1.95)
    sim = jx.stem.STEMSimulation("300 kV", 20.0, detectors=[jx.stem.AnnularDetector(60, 150)])
    scan = jx.stem.GridScan((0.0, 0.0), (3.9, 3.9), (4, 4))
    method, f = prism_run.choose_method(sim, scan, pot)
    assert method in ("prism", "multislice")
