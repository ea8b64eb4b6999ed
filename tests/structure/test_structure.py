"""The Structure pytree: validation, Debye–Waller conventions, repeat/wrap/center invariants, ASE."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from ase.data import atomic_masses
from hypothesis import given
from hypothesis import strategies as st

from jaxem.structure import Structure, from_ase

CELL = np.array([[4.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 6.0]])


def _density(s):  # g/cm³ from ASE's atomic masses (independent of jaxem)
    mass = np.sum(atomic_masses[np.asarray(s.numbers)] * np.asarray(s.occupancy))
    return mass * 1.66053906660 / abs(np.linalg.det(np.asarray(s.cell)))


def test_B_and_u2_conventions():
    s = Structure.create([[0, 0, 0], [1, 1, 1]], ["Si", "O"], 5.0 * np.eye(3), B={"Si": 0.5, "O": 0.8})
    np.testing.assert_allclose(np.asarray(s.u2)[:, 0], np.array([0.5, 0.8]) / (8 * math.pi**2))
    np.testing.assert_allclose(np.asarray(s.B), [0.5, 0.8])
    t = Structure.create([[0, 0, 0]], [14], [5.0, 5.0, 5.0], U_iso=0.01)
    np.testing.assert_allclose(np.asarray(t.B), 8 * math.pi**2 * 0.01)
    a = Structure.create([[0, 0, 0]], [14], [5.0, 5.0, 5.0], u2=[[0.01, 0.02, 0.03]])
    np.testing.assert_allclose(np.asarray(a.B), 8 * math.pi**2 * 0.02)
    assert np.asarray(a.occupancy).tolist() == [1.0]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(positions=[[0, 0, np.nan]]), "NaN"),
        (dict(positions=[[0, 0, np.inf]]), "NaN"),
        (dict(B=-0.1), "≥ 0"),
        (dict(cell=[[1, 0, 0], [2, 0, 0], [0, 0, 1]]), "volume"),
        (dict(cell=[5.0, 5.0, 0.0]), "volume"),
        (dict(numbers=["Xx"]), "unknown element"),
        (dict(positions=[[0, 0]]), "shape"),
        (dict(occupancy=1.5), "occupancy"),
        (dict(B=0.5, u2=0.01), "at most one"),
        (dict(B={"O": 0.5}), "missing"),
        (dict(z_repeats=0), "z_repeats"),
    ],
)
def test_bad_input_raises_clear_errors(kwargs, match):
    args = dict(positions=[[0.0, 0.0, 0.0]], numbers=["Si"], cell=[5.0, 5.0, 5.0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        Structure.create(**args)


@given(nx=st.integers(1, 3), ny=st.integers(1, 3), nz=st.integers(1, 4), seed=st.integers(0, 100))
def test_repeat_preserves_density_and_composition(nx, ny, nz, seed):
    r = np.random.default_rng(seed)
    s = Structure.create(r.uniform(0, 4, (4, 3)), ["Sr", "Ti", "O", "O"], CELL, B=r.uniform(0, 1, 4),
                         occupancy=r.uniform(0.2, 1, 4))
    big = s.repeat(nx, ny, nz)
    assert len(big) == len(s) * nx * ny * nz
    assert big.z_repeats == nz
    assert math.isclose(_density(big), _density(s), rel_tol=1e-12)
    np.testing.assert_allclose(np.asarray(big.lengths), np.asarray(s.lengths) * [nx, ny, nz])
    # each copy is the original shifted by a lattice vector
    pos = np.asarray(big.positions).reshape(-1, len(s), 3) - np.asarray(s.positions)[None]
    frac = pos @ np.linalg.inv(CELL)
    np.testing.assert_allclose(frac, np.round(frac), atol=1e-9)
    np.testing.assert_allclose(np.asarray(big.B).reshape(-1, len(s)), np.tile(np.asarray(s.B), (len(pos), 1)))


def test_repeat_rejects_bad_counts():
    s = Structure.create([[0, 0, 0]], ["Si"], CELL)
    for bad, match in [((0, 1, 1), "nx must be ≥ 1, got 0"), ((1.5, 1, 1), "nx must be an integer, got 1.5"),
                       ((1, -2, 1), "ny must be ≥ 1, got -2"), ((1, 1, "2"), "nz must be an integer")]:
        with pytest.raises((ValueError, TypeError), match=match):
            s.repeat(*bad)


@given(seed=st.integers(0, 10_000), skew=st.floats(-2.0, 2.0))
def test_wrap_is_idempotent_and_keeps_lattice_equivalence(seed, skew):
    r = np.random.default_rng(seed)
    cell = np.array([[4.0, 0.0, 0.0], [skew, 5.0, 0.0], [0.3, -0.7, 6.0]])
    s = Structure.create(r.uniform(-20, 20, (7, 3)), [14] * 7, cell)
    w = s.wrap()
    ww = w.wrap()
    np.testing.assert_allclose(np.asarray(ww.positions), np.asarray(w.positions), atol=1e-9)
    frac = np.asarray(w.positions) @ np.linalg.inv(cell)
    assert np.all((frac >= -1e-12) & (frac < 1 + 1e-12))
    d = (np.asarray(w.positions) - np.asarray(s.positions)) @ np.linalg.inv(cell)
    np.testing.assert_allclose(d, np.round(d), atol=1e-9)


def test_center_centres_the_bounding_box():
    s = Structure.create([[0.1, 0.2, 0.3], [1.1, 2.2, 1.3]], ["C", "C"], CELL).center()
    pos = np.asarray(s.positions)
    np.testing.assert_allclose((pos.min(0) + pos.max(0)) / 2, np.diag(CELL) / 2, atol=1e-12)


def test_check_orthorhombic():
    Structure.create([[0, 0, 0]], ["Si"], CELL).check_orthorhombic()
    hexagonal = np.array([[3.0, 0, 0], [-1.5, 3.0 * math.sqrt(3) / 2, 0], [0, 0, 5.0]])
    with pytest.raises(ValueError, match="orthorhombic"):
        Structure.create([[0, 0, 0]], ["Zn"], hexagonal).check_orthorhombic()


def test_ase_round_trip_keeps_u2_and_occupancy():
    s = Structure.create([[0, 0, 0], [1, 2, 3]], ["Sr", "O"], CELL, u2=[[0.01, 0.02, 0.03], [0.004, 0.004, 0.005]],
                         occupancy=[1.0, 0.75])
    atoms = s.to_ase()
    assert atoms.get_chemical_symbols() == ["Sr", "O"] and all(atoms.pbc)
    back = from_ase(atoms)
    for name in ("positions", "numbers", "cell", "u2", "occupancy"):
        np.testing.assert_allclose(np.asarray(getattr(back, name)), np.asarray(getattr(s, name)))
    plain = Structure.from_ase(atoms, B=0.5)
    np.testing.assert_allclose(np.asarray(plain.B), 0.5)


def test_structure_is_a_pytree_usable_under_jit():
    s = Structure.create([[0, 0, 0], [1, 2, 3]], ["Sr", "O"], CELL, B=0.5)
    leaves = jax.tree_util.tree_leaves(s)
    assert len(leaves) == 5  # positions, numbers, cell, u2, occupancy (z_repeats is static)

    @jax.jit
    def mean_z(st):
        return jnp.mean(st.positions[:, 2] * st.occupancy)

    assert float(mean_z(s)) == pytest.approx(1.5)
    g = jax.grad(lambda p: mean_z(s.with_positions(p)))(s.positions)
    np.testing.assert_allclose(np.asarray(g)[:, 2], 0.5)


# ---- validation at every construction (issue 13) ------------------------------------------------
@pytest.mark.parametrize("change,match", [
    (lambda s: s.replace(positions=s.positions.at[0, 2].set(jnp.nan)),
     r"positions holds 1 NaN/inf value\(s\) \[Å\] \(first at index \(0, 2\)\)"),
    (lambda s: s.with_positions(s.positions.at[1, 0].set(jnp.inf)), r"positions holds 1 NaN/inf .*\(1, 0\)"),
    (lambda s: s.replace(u2=-s.u2), r"u2 \(Debye–Waller ⟨u²⟩\) must be ≥ 0 Å², got -"),
    (lambda s: s.replace(occupancy=s.occupancy * 1.5), r"occupancy must lie in \[0, 1\], got 1.5 at atom 0"),
    (lambda s: s.replace(occupancy=s.occupancy - 2.0), r"occupancy must lie in \[0, 1\], got -1 at atom 0"),
    (lambda s: s.replace(numbers=s.numbers * 0), r"numbers\[0\] = 0 is not an atomic number in 1…103"),
    (lambda s: s.replace(cell=s.cell.at[2, 2].set(jnp.nan)), r"cell holds 1 NaN/inf"),
    (lambda s: s.replace(cell=s.cell * 0), r"cell must have a non-zero volume"),
    (lambda s: s.replace(positions=s.positions[:1]), r"numbers must have shape \(1,\) to match positions of shape"),
    (lambda s: s.replace(z_repeats=0), r"z_repeats must be ≥ 1, got 0"),
    (lambda s: s.replace(pbc=(True, False)), r"pbc must be a bool or three bools"),
])
def test_replace_validates_like_create(change, match):
    s = Structure.create([[0, 0, 0], [1, 2, 3]], ["Sr", "O"], CELL, B=0.5)
    with pytest.raises(ValueError, match=match):
        change(s)


def test_constructor_validates_concrete_values_but_not_tracers():
    with pytest.raises(ValueError, match=r"positions holds 1 NaN/inf"):
        Structure(np.array([[0.0, 0.0, np.nan]]), np.array([14]), CELL, np.zeros((1, 3)), np.ones(1))
    s = Structure.create([[0, 0, 0], [1, 2, 3]], ["Sr", "O"], CELL, B=0.5)
    # under jit/vmap the leaves are tracers (only shapes are checked); pytree utilities keep working
    out = jax.jit(lambda st: st.replace(positions=st.positions * jnp.nan).positions)(s)
    assert np.all(np.isnan(np.asarray(out)))
    stacked = jnp.stack([s.positions, s.positions + 1.0])
    np.testing.assert_allclose(jax.vmap(lambda p: s.with_positions(p).positions.sum())(stacked),
                               [6.0, 12.0])
    assert jax.tree.map(lambda x: x, s).pbc == (True, True, True)


@pytest.mark.parametrize("bad,hint", [("Sl", "Si"), ("Xx", "Xe"), ("silicon", "Si"), ("Tii", "Ti")])
def test_unknown_element_suggests_the_closest_symbol(bad, hint):
    with pytest.raises(ValueError, match=rf"numbers\[1\]: unknown element '{bad}'; did you mean '{hint}'"):
        Structure.create([[0, 0, 0], [1, 1, 1]], ["O", bad], CELL)


def test_pbc_is_static_follows_ase_and_wrap_follows_it():
    s = Structure.create([[-1.0, 2.0, 7.0]], ["Si"], CELL, pbc=(True, True, False))
    assert s.pbc == (True, True, False) and len(jax.tree_util.tree_leaves(s)) == 5
    np.testing.assert_allclose(np.asarray(s.wrap().positions), [[3.0, 2.0, 7.0]])  # z not periodic: kept
    atoms = s.to_ase()
    assert atoms.pbc.tolist() == [True, True, False]
    assert from_ase(atoms).pbc == (True, True, False)
    assert Structure.create([[0, 0, 0]], ["Si"], CELL).pbc == (True, True, True)
