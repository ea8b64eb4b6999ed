"""The three thermal-scattering paths (absorptive potential, frozen phonons, plain multislice) agree where
physics says they must.

1. Without absorption and without phonons the absorptive path (``model="fraction", fraction=0``), the
   frozen-phonon path (static "snapshots") and plain multislice give the identical elastic wave.
2. Thin SrTiO3 [001] at 300 kV (3 unit cells, 11.7 Å): the Bragg beams of the Hall–Hirsch absorptive
   model and the elastic part |⟨Ψ⟩|² of Einstein frozen phonons agree within a few %, and the total
   diffuse fraction of frozen phonons matches the absorbed fraction 1 − N_abs/N_DW within 20%.

Why 20% and not less: the frozen-phonon TDS is counted only inside the grid's anti-alias aperture
(≈ 130 mrad at 0.05 Å sampling), whereas f′(0) integrates TDS over all angles; measured on this cell
(24 configurations) the ratio rises with finer sampling, 0.92 (0.049 Å) → 0.95 (0.033 Å) → 0.96
(0.024 Å). The rest is the finite ensemble (a few %), and the difference between a slice-wise
average absorption and the multislice-propagated diffuse intensity (channelling).
"""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.potential import absorptive_potential, mean_absorption_coefficient, potential
from jaxem.propagate import frozen_phonon_multislice, multislice, plane_wave
from jaxem.propagate.profiles import bragg_intensities, bragg_mask
from jaxem.structure import crystals, zone_axis

E = 300e3


def _sto(nz, tiling=3):
    cell = zone_axis(crystals.SrTiO3(), [0, 0, 1])
    a = float(cell.lengths[2])
    # atoms mid-slice (never on a slice boundary), so periodic and flat slicings agree
    return cell.translate([0.0, 0.0, a / 4]).repeat(tiling, tiling, nz), a / 2


def test_three_paths_identical_without_absorption_and_phonons():
    st, dz = _sto(2, tiling=2)
    gpts = (96, 96)
    plain = potential(st, gpts=gpts, slice_thickness=dz, precision="float64")
    frac0 = absorptive_potential(st, E, gpts=gpts, slice_thickness=dz, model="fraction", fraction=0.0,
                                 debye_waller=False, precision="float64")
    assert jnp.iscomplexobj(frac0.array) and float(jnp.max(jnp.abs(frac0.array.imag))) == 0.0
    w = plane_wave(plain.grid, E, precision="float64")
    psi_plain = multislice(w, plain, exit_planes=2).array
    psi_frac = multislice(w, frac0, exit_planes=2).array
    static = jnp.asarray(np.repeat(np.asarray(st.positions)[None], 2, axis=0))
    ens = frozen_phonon_multislice(None, st, w, snapshots=static, slice_thickness=dz, exit_planes=2)
    assert psi_plain.dtype == jnp.complex128 and psi_plain.shape == (2,) + gpts
    np.testing.assert_allclose(np.asarray(psi_frac), np.asarray(psi_plain), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(ens.mean_wave), np.asarray(psi_plain), rtol=0, atol=1e-10)
    dp = jnp.abs(jnp.fft.fft2(psi_plain)) ** 2 / (gpts[0] * gpts[1] * w.norm)
    np.testing.assert_allclose(np.asarray(ens.elastic_diffraction), np.asarray(dp), rtol=0, atol=1e-12)
    assert float(jnp.max(jnp.abs(ens.tds_diffraction))) < 1e-12


def test_thin_srtio3_absorptive_vs_frozen_phonons(capsys):
    nz, n_configs = 3, 24
    st, dz = _sto(nz)
    gpts = (240, 240)  # 0.049 Å; multiple of the 3×3 tiling so Bragg beams sit on pixels
    pot = absorptive_potential(st, E, gpts=gpts, slice_thickness=dz)
    w = plane_wave(pot.grid, E)
    psi = multislice(w, pot).array
    psi_dw = multislice(w, pot.replace(array=pot.array.real.astype(pot.array.dtype))).array
    n_abs, n_dw = (float(jnp.sum(jnp.abs(p) ** 2)) / w.norm for p in (psi, psi_dw))
    absorbed = 1.0 - n_abs / n_dw
    dp_abs = jnp.abs(jnp.fft.fft2(psi)) ** 2 / (gpts[0] * gpts[1] * w.norm)

    ens = frozen_phonon_multislice(jax.random.key(3), st, w, n_configs=n_configs, slice_thickness=dz)
    beams = [(0, 0), (1, 1), (0, 2), (2, 2), (1, 2)]
    b_abs = np.asarray(bragg_intensities(dp_abs, pot.grid, (3, 3), beams))
    b_fp = np.asarray(bragg_intensities(ens.elastic_diffraction, pot.grid, (3, 3), beams))
    rel = (b_fp - b_abs) / b_abs
    # unbiased TDS: |mean of n samples|² overestimates |⟨Ψ⟩|² by var/n
    tds = float(jnp.sum(ens.tds_diffraction)) * n_configs / (n_configs - 1)
    ratio = tds / absorbed
    mu_z = mean_absorption_coefficient(st, E) * float(st.lengths[2])
    off_bragg = np.asarray(ens.tds_diffraction)[bragg_mask(pot.grid, (3, 3), radius=0)]
    with capsys.disabled():
        print(f"\nthin SrTiO3 [001], {float(st.lengths[2]):.2f} Å, 300 kV, {n_configs} configs: Bragg rel. diff "
              f"(FP elastic − absorptive)/absorptive for {beams} = {np.round(rel * 100, 2)} %; "
              f"FP TDS fraction = {tds:.5f}, absorbed 1 − N_abs/N_DW = {absorbed:.5f}, ratio = {ratio:.3f}, "
              f"μz = {mu_z:.5f}")
    assert np.all(np.abs(rel[:4]) < 0.05), rel
    assert abs(ratio - 1) < 0.2, ratio
    assert absorbed == pytest.approx(mu_z, rel=0.2)  # thin crystal: absorption ≈ μz
    assert np.mean(off_bragg) > 0
