"""Harmonic phonons: published potential predictions, neutron data, phonopy's own thermal
displacements, analytic limits, and the JAX Hessian route against finite displacements and LAMMPS."""
import math

import numpy as np
import pytest

from jaxem.phonons import harmonic_phonons, hessian_force_constants, mean_square_displacements, mode_amplitudes, morse_energy
from jaxem.phonons.harmonic import HBAR_EV_PS, KB_EV, AMU_A2_PS2
from jaxem.validate import InputError, InputTypeError

from .conftest import G, L, X, cubic, needs_lammps

pytestmark = needs_lammps


def test_ni_cuni_eam_zone_boundary(ni_harmonic):
    # phonopy + CuNi.eam.alloy (reference note §2.5): X TA/LA 6.24/8.59, L TA/LA 4.05/8.84 THz
    f = ni_harmonic.frequencies([X, L])
    got = np.array([f[0, 0], f[0, 2], f[1, 0], f[1, 2]])
    np.testing.assert_allclose(got, [6.24, 8.59, 4.05, 8.84], atol=0.05)
    assert f[0, 0] == pytest.approx(f[0, 1], abs=1e-6) and f[1, 0] == pytest.approx(f[1, 1], abs=1e-6)  # TA degenerate
    # neutron data at 296 K, Birgeneau, Cordes, Dolling & Woods, Phys. Rev. 136, A1359 (1964)
    np.testing.assert_allclose(got, [6.27, 8.55, 4.24, 8.88], rtol=0.05)


def test_sic_vashishta_gamma_x_l(sic_harmonic):
    # reference note §3.3 (SiC.vashishta, a = 4.3582 Å): Γ 26.76; X 11.54, 17.08, 24.9, 24.9, 29.2;
    # L 7.70, 16.90, 25.6, 25.6, 29.6 THz (optic values given to 0.1 THz: tolerance 0.05 + half a digit)
    f = sic_harmonic.frequencies([G, X, L])
    np.testing.assert_allclose(f[0, :3], 0.0, atol=1e-3)
    np.testing.assert_allclose(f[0, 3:], 26.76, atol=0.05)
    np.testing.assert_allclose(f[1, [0, 1, 2]], [11.54, 11.54, 17.08], atol=0.05)
    np.testing.assert_allclose(f[2, [0, 1, 2]], [7.70, 7.70, 16.90], atol=0.05)
    np.testing.assert_allclose(f[1, 3:], [24.9, 24.9, 29.2], atol=0.1)
    np.testing.assert_allclose(f[2, 3:], [25.6, 25.6, 29.6], atol=0.1)


def test_msd_matches_phonopy_thermal_displacements(sic_harmonic):
    # phonopy's own ThermalDisplacements (quantum, zero point included) on the same mesh
    ph = sic_harmonic.phonopy
    ph.run_mesh([6, 6, 6], with_eigenvectors=True, is_mesh_symmetry=False, is_gamma_center=True)
    ph.run_thermal_displacements(temperatures=[0.0, 300.0], freq_min=1e-3)
    ref = np.asarray(ph.thermal_displacements.thermal_displacements).reshape(2, -1, 3)  # (T, atoms, 3)
    for k, t in enumerate((0.0, 300.0)):
        ours = sic_harmonic.mean_square_displacements(t, quantum=True, mesh=(6, 6, 6))
        np.testing.assert_allclose(ours, ref[k], rtol=1e-6)


def test_msd_limits_and_b_factor(sic_small):
    q = sic_small.commensurate_qpoints()
    f, e = sic_small.modes(q)
    m = sic_small.primitive_masses
    # classical is linear in T, zero at T = 0; quantum → classical + ħ²/(12 M k_B T) per live mode at high T
    c1 = mean_square_displacements(f, e, m, 1000.0, quantum=False)
    c2 = mean_square_displacements(f, e, m, 2000.0, quantum=False)
    np.testing.assert_allclose(c2, 2 * c1, rtol=1e-12)
    np.testing.assert_allclose(mean_square_displacements(f, e, m, 0.0, quantum=False), 0.0)
    t = 20000.0
    live = (np.abs(f) > 1e-3)[..., None, None] * np.abs(e) ** 2
    corr = HBAR_EV_PS**2 / (12 * KB_EV * t) / AMU_A2_PS2 * live.sum((0, 1)) / len(q) / m[:, None]
    qu = mean_square_displacements(f, e, m, t, quantum=True)
    cl = mean_square_displacements(f, e, m, t, quantum=False)
    np.testing.assert_allclose(qu - cl, corr, rtol=2e-3)
    # zero point: one mode at ω gives ħ/(2Mω); B = 8π²⟨u²⟩
    a0 = mode_amplitudes(np.array([10.0]), 0.0)
    assert a0[0] == pytest.approx(HBAR_EV_PS / (2 * 2 * math.pi * 10.0) / AMU_A2_PS2, rel=1e-12)
    b = sic_small.b_factors(300.0, qpoints=q)
    np.testing.assert_allclose(b, 8 * math.pi**2 * sic_small.mean_square_displacements(300.0, qpoints=q).mean(1))


def test_dos_and_band_structure(ni_harmonic):
    fr, total, proj = ni_harmonic.dos(mesh=(12, 12, 12), sigma=0.1)
    assert np.trapezoid(total, fr) == pytest.approx(3.0, rel=0.01)  # 3 branches per primitive atom
    np.testing.assert_allclose(proj.sum(0), total)
    d, f, ticks = ni_harmonic.band_structure([("Γ", G), ("X", X), ("L", L)], n_points=11)
    assert f.shape == (22, 3) and [t[1] for t in ticks] == ["Γ", "X", "L"]
    np.testing.assert_allclose(f[10], ni_harmonic.frequencies([X])[0], atol=1e-9)
    assert np.all(np.diff(d) >= 0) and d[0] == 0


def test_jax_hessian_route_against_finite_displacements_and_lammps():
    """fcc Ni with a Morse pair potential (Girifalco & Weizer, Phys. Rev. 114, 687 (1959): D = 0.4205 eV,
    α = 1.4199 1/Å, r₀ = 2.780 Å), cut at 5 Å: Φ from jax.hessian, from phonopy finite displacements of
    the JAX forces, and from phonopy finite displacements of LAMMPS `pair_style morse` agree."""
    import jax
    import jax.numpy as jnp

    from jaxem.md.potentials import Potential

    D, alpha, r0, rc = 0.4205, 1.4199, 2.780, 4.0
    unit = cubic("Ni", 3.52)
    n = (2, 2, 2)
    sc = unit.repeat(*n)
    energy = morse_energy(np.asarray(sc.cell, np.float64), D, alpha, r0, rc)
    h_jax = harmonic_phonons(unit, n, energy=energy, primitive="F")
    with jax.enable_x64(True):
        grad = jax.jit(jax.grad(energy))

        def jax_forces(atoms):  # the supercell's cell is fixed, so one compiled gradient serves every displacement
            return -np.asarray(grad(jnp.asarray(atoms.positions, jnp.float64)))

        h_fd = harmonic_phonons(unit, n, forces=jax_forces, primitive="F")
    pot = Potential(name="morse-Ni", elements=("Ni",), pair_style=f"morse {rc}", pair_coeff=(f"1 1 {D} {alpha} {r0}",))
    h_lmp = harmonic_phonons(unit, n, potential=pot, primitive="F")
    qs = [X, L, [0.25, 0, 0.25]]
    fj, ff, fl = (h.frequencies(qs) for h in (h_jax, h_fd, h_lmp))
    np.testing.assert_allclose(ff, fj, atol=2e-3)
    np.testing.assert_allclose(fl, fj, atol=2e-3)
    # the Hessian is symmetric and obeys the acoustic sum rule
    phi = hessian_force_constants(energy, np.asarray(sc.positions, np.float64))
    np.testing.assert_allclose(phi, np.transpose(phi, (1, 0, 3, 2)), atol=1e-10)
    np.testing.assert_allclose(phi.sum(1), 0.0, atol=1e-9)


def test_bad_inputs(sic_small):
    unit = cubic("Ni", 3.52)
    with pytest.raises(InputError, match="exactly one of potential, forces and energy"):
        harmonic_phonons(unit, (2, 2, 2))
    with pytest.raises(InputError, match="exactly one of potential, forces and energy"):
        harmonic_phonons(unit, (2, 2, 2), potential="Ni", forces=lambda a: 0)
    with pytest.raises(InputError, match="supercell"):
        harmonic_phonons(unit, (2, 2), potential="Ni")
    with pytest.raises(InputError, match="supercell"):
        harmonic_phonons(unit, (0, 2, 2), potential="Ni")
    with pytest.raises(InputTypeError, match="forces must be callable"):
        harmonic_phonons(unit, (2, 2, 2), forces=3.0)
    with pytest.raises(InputError, match="forces returned shape"):
        harmonic_phonons(unit, (2, 2, 2), forces=lambda a: np.zeros((3, 3)))
    with pytest.raises(InputError, match="displacement"):
        harmonic_phonons(unit, (2, 2, 2), potential="Ni", displacement=-0.01)
    with pytest.raises(InputError, match="element (Si|C) is not covered by the potential 'Ni'"):
        harmonic_phonons(cubic("SiC-3C", 4.36), (1, 1, 1), potential="Ni")
    with pytest.raises(InputError, match="frequencies: imaginary mode"):
        mode_amplitudes(np.array([[-1.0, 2.0]]), 300.0)
    with pytest.raises(InputError, match="temperature"):
        mode_amplitudes(np.array([1.0]), -5.0)
    with pytest.raises(InputError, match="eigenvectors: shape"):
        mean_square_displacements(np.ones((2, 6)), np.ones((2, 6, 3, 3)), np.ones(2), 300.0)
    with pytest.raises(InputError, match="path"):
        sic_small.band_structure([("Γ", G)])
