import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads
from scipy.special import k0

from jaxem import physics
from jaxem.potential import get_parametrization, potential, projected_potential_slices
from jaxem.potential.projected import _atom_tables
from jaxem.structure import Structure


def kirkland_projected_potential(r, z):
    """Kirkland (2010) eq. C.20: isolated-atom projected potential [V·Å] (closed form, real space)."""
    c = get_parametrization("kirkland").coefficients
    a, b, cc, d = (c[n][z] for n in "abcd")
    a0e = physics.BOHR_RADIUS * physics.COULOMB
    return (4 * math.pi**2 * a0e * np.sum(a[:, None] * k0(2 * math.pi * r[None] * np.sqrt(b[:, None])), 0)
            + 2 * math.pi**2 * a0e * np.sum((cc / d)[:, None] * np.exp(-math.pi**2 * r[None] ** 2 / d[:, None]), 0))


@pytest.mark.parametrize("z", [6, 29, 79])
def test_matches_closed_form_real_space_kirkland(z):
    L = 16.0
    s = Structure.create([[L / 2, L / 2, 0.5]], [z], [L, L, 1.0])
    p = potential(s, sampling=0.04, slice_thickness=1.0, parametrization="kirkland", precision="float64")
    v = np.asarray(p.array[0])
    ny, nx = v.shape
    row = v[ny // 2, nx // 2:]  # along +x from the atom
    r = np.arange(row.size) * 0.04
    sel = (r > 0.3) & (r < 2.0)
    ref = kirkland_projected_potential(r[sel], z)
    # the periodic sum adds the cell-average (k = 0) term and distant images; remove the mean
    mean_term = physics.KAPPA * float(get_parametrization("kirkland").scattering_factor([z], np.array([0.0]))[0, 0]) / L**2
    got = row[sel]
    assert np.allclose(got, ref + mean_term, rtol=2e-2, atol=0.02 * ref.max())


def test_mean_potential_prefactor():
    s = Structure.create([[1.1, 2.3, 0.2], [4.0, 1.0, 0.7], [3.3, 3.3, 1.9]], ["Sr", "Ti", "O"], [5.0, 4.0, 2.0])
    p = potential(s, sampling=0.1, slice_thickness=1.0, precision="float64")
    f0 = np.asarray(get_parametrization("lobato").scattering_factor([38, 22, 8], np.array([0.0])))[:, 0]
    want = physics.KAPPA * f0.sum() / (5.0 * 4.0)
    assert float(jnp.mean(p.full().sum(0))) == pytest.approx(want, rel=1e-10)


def test_against_abtem_infinite_projection():
    abtem = pytest.importorskip("abtem")
    import ase

    # abTEM deposits atoms bilinearly and divides by one sinc, which blurs off-grid atoms by a few
    # per cent; on grid points both are exact up to that sinc, so compare there
    pos = [[1.35, 2.10, 0.3], [3.90, 0.75, 1.4], [0.20, 3.30, 2.6]]
    atoms = ase.Atoms("SrTiO", positions=pos, cell=[5.2, 4.4, 3.0])
    mine = potential(Structure.from_ase(atoms), gpts=(88, 104), slice_thickness=1.0, precision="float64")
    ref = abtem.Potential(atoms, gpts=(104, 88), slice_thickness=1.0, projection="infinite",
                          parametrization="lobato").build().compute().array
    ref = np.transpose(ref, (0, 2, 1))
    got = np.asarray(mine.full())
    assert got.shape == ref.shape
    assert np.linalg.norm(got - ref) / np.linalg.norm(ref) < 0.01


def test_subpixel_translation_is_an_exact_fourier_shift():
    s = Structure.create([[1.3, 2.2, 0.5], [2.9, 0.7, 0.5]], ["Sr", "O"], [4.0, 3.2, 1.0])
    a = np.asarray(potential(s, sampling=0.1, precision="float64").array[0])
    for shift in ([0.2, 0.0, 0.0], [0.037, -0.21, 0.0]):
        b = np.asarray(potential(s.translate(shift), sampling=0.1, precision="float64").array[0])
        ky, kx = np.fft.fftfreq(32, 0.1), np.fft.fftfreq(40, 0.1)
        ramp = np.exp(-2j * np.pi * (kx[None] * shift[0] + ky[:, None] * shift[1]))
        fa = np.fft.fft2(a) * ramp
        fa[16, :] = fa[:, 20] = 0  # Nyquist bins carry the real part only
        fb = np.fft.fft2(b)
        fb[16, :] = fb[:, 20] = 0
        assert np.allclose(fb, fa, atol=1e-8 * np.abs(fa).max())
    # whole-pixel shifts are exact rolls
    c = np.asarray(potential(s.translate([0.3, 0.2, 0.0]), sampling=0.1, precision="float64").array[0])
    assert np.allclose(c, np.roll(a, (2, 3), axis=(0, 1)), atol=1e-9 * np.abs(a).max())


def test_periodic_unit_is_reused_and_equals_full_slicing():
    unit = Structure.create([[1.0, 1.0, 0.5], [2.0, 2.5, 1.6]], ["Si", "O"], [4.0, 4.0, 2.0])
    crystal = unit.repeat(1, 1, 3)
    p = potential(crystal, sampling=0.1, slice_thickness=1.0)
    assert p.array.shape[0] == 2 and p.n_slices == 6 and p.sequence == (0, 1) * 3
    flat = crystal.replace(z_repeats=1)  # no periodicity information: every slice computed
    q = potential(flat, sampling=0.1, slice_thickness=1.0)
    assert q.array.shape[0] == 6
    assert np.allclose(p.full(), q.full(), atol=1e-4)
    # displaced copies are detected and sliced in full instead of silently reused
    moved = crystal.with_positions(crystal.positions.at[-1, 0].add(0.3))
    assert potential(moved, sampling=0.1, slice_thickness=1.0).array.shape[0] == 6


def test_no_atom_dropped_at_cell_boundaries():
    z = [0.0, 2.0, -0.05, 1.999999]  # top face, slightly below, rounding
    # laterally apart: z = 0 and z = 2 are one site of the periodic cell (coincident atoms are an error)
    s = Structure.create([[0.5 + 0.6 * i, 1, zz] for i, zz in enumerate(z)], ["C"] * 4, [3.0, 3.0, 2.0])
    p = potential(s, sampling=0.1, slice_thickness=0.5, precision="float64")
    one = potential(Structure.create([[1, 1, 1.0]], ["C"], [3.0, 3.0, 2.0]), sampling=0.1,
                    slice_thickness=0.5, precision="float64")
    assert float(p.full().sum()) == pytest.approx(4 * float(one.full().sum()), rel=1e-10)


def test_debye_waller_smearing_is_gaussian_in_fourier_space():
    s0 = Structure.create([[2.0, 2.0, 0.5]], ["Au"], [4.0, 4.0, 1.0], B=0.8)
    plain = potential(s0, sampling=0.05, precision="float64")
    smeared = potential(s0, sampling=0.05, precision="float64", debye_waller=True)
    k2 = np.asarray(plain.grid.k2(np.float64))
    ratio = np.fft.fft2(smeared.array[0]) / np.fft.fft2(plain.array[0])
    mask = k2 < 4.0
    assert np.allclose(ratio[mask], np.exp(-0.8 / 4 * k2[mask]), rtol=1e-6)


def test_occupancy_scales_potential():
    s = Structure.create([[2.0, 2.0, 0.5]], ["Ba"], [4.0, 4.0, 1.0], occupancy=0.25)
    full = Structure.create([[2.0, 2.0, 0.5]], ["Ba"], [4.0, 4.0, 1.0])
    a = potential(s, sampling=0.1, precision="float64").array
    b = potential(full, sampling=0.1, precision="float64").array
    assert np.allclose(a, 0.25 * b)


def test_gradients_positions_u2_occupancy_float64():
    s = Structure.create([[1.3, 1.7, 0.2], [2.9, 2.2, 0.6]], ["O", "Ti"], [4.0, 4.0, 1.0], B=[0.5, 0.4])
    species, idx = np.unique(np.asarray(s.numbers), return_inverse=True)
    table = jnp.asarray(_atom_tables(np.zeros(len(s), np.int32), idx.ravel(), 1, len(species)))
    from jaxem.grid import Grid

    grid = Grid((16, 16), (0.25, 0.25))
    form = get_parametrization("lobato").scattering_factor(species, jnp.sqrt(grid.k2(jnp.float64)))
    target = jnp.asarray(np.random.default_rng(0).normal(size=(16, 16)))

    def loss(pos, u2, occ):
        v = projected_potential_slices(pos, u2, occ, table, form, grid, debye_waller=True)
        return jnp.sum((v[0] / 100.0 - target) ** 2) * 1e-3

    check_grads(loss, (s.positions, s.u2, s.occupancy), order=1, modes=["rev"], eps=1e-4, atol=1e-3, rtol=1e-3)


def test_bad_inputs():
    tilted = Structure.create([[0, 0, 0]], ["C"], [[3, 0, 0], [1, 3, 0], [0, 0, 3]])
    with pytest.raises(ValueError, match="orthorhombic"):
        potential(tilted, sampling=0.1)
    ok = Structure.create([[0, 0, 0]], ["C"], [3, 3, 3])
    with pytest.raises(ValueError, match="sampling"):
        potential(ok, sampling=-0.1)
    with pytest.raises(ValueError, match="parametrization"):
        potential(ok, sampling=0.1, parametrization="nope")
    with pytest.raises(ValueError, match="slice_thickness"):
        potential(ok, sampling=0.1, slice_thickness=0)
    with pytest.raises(TypeError):
        potential("SrTiO3", sampling=0.1)
