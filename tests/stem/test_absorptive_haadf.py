"""Issue 3 acceptance: HAADF from the absorptive model (elastic + single-inelastic TDS) agrees with
frozen phonons within 10 % for thin SrTiO3."""
import jax
import numpy as np
import pytest

from jaxem.potential import absorptive_potential, potential
from jaxem.potential.tds import absorptive_form_factor
from jaxem.stem import AnnularDetector, GridScan, STEMSimulation, stem_scan
from jaxem.structure import crystals

A = 3.905


def test_detector_specific_factor_partitions_the_total():
    g = np.array([0.0, 0.7, 1.5, 3.0])
    full = absorptive_form_factor("Ti", 0.44, 300e3, g)
    parts = sum(absorptive_form_factor("Ti", 0.44, 300e3, g, detector=d) for d in [(0, 40), (40, 120), (120, 1e6)])
    assert np.allclose(parts, full, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="inner < outer"):
        absorptive_form_factor("Ti", 0.44, 300e3, g, detector=(50, 20))


def test_absorptive_haadf_matches_frozen_phonons_thin_srtio3():
    sto = crystals.SrTiO3().repeat(2, 2, 3)  # 11.7 Å
    kw = dict(sampling=0.05, slice_thickness=A / 2)
    pot_abs = absorptive_potential(sto, 300e3, **kw)
    pot_det = absorptive_potential(sto, 300e3, detector=(70.0, 125.0), **kw)
    sim = STEMSimulation(300e3, 20.0, (AnnularDetector(70.0, 125.0, "HAADF"),))
    scan = GridScan.create((0, 0), (A, A), gpts=(3, 3))
    ra = stem_scan(sim, scan, pot_abs, tds_potentials={"HAADF": pot_det}, progress=False)
    absorptive = np.asarray(ra["HAADF"].array) + np.asarray(ra["HAADF_tds"].array)
    fp = np.asarray(stem_scan(sim, scan, potential(sto, **kw), structure=sto, thermal="einstein", n_configs=16,
                              key=jax.random.key(7), progress=False)["HAADF"].array)
    # thin crystal: the TDS dominates the HAADF signal of the absorptive model
    assert np.mean(ra["HAADF_tds"].array) > 10 * np.mean(ra["HAADF"].array)
    assert np.mean(absorptive) == pytest.approx(np.mean(fp), rel=0.10)
    # on the Sr column (scan origin) too
    assert absorptive[0, 0] == pytest.approx(fp[0, 0], rel=0.10)
