"""The potential's public boundary: ASE input, pbc-aware slicing, grid and slice ranges, precision."""
import ase
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jaxem.accel import PRECISION_ALIASES, resolve_precision
from jaxem.potential import potential, potential_layout
from jaxem.structure import Structure, crystals, from_ase

CELL = [4.0, 4.0, 5.0]


def _flat(p):
    return np.asarray(p.full())


def test_potential_accepts_ase_atoms_and_keeps_their_debye_waller_factors():
    atoms = ase.Atoms("SrTiO", positions=[[1.0, 1.2, 0.5], [3.0, 2.7, 2.1], [0.3, 3.1, 3.9]], cell=CELL, pbc=True)
    atoms.set_array("bfactor", np.array([0.6, 0.4, 0.7]))
    got = potential(atoms, sampling=0.2, slice_thickness=1.0, debye_waller=True, precision="float64")
    ref = potential(from_ase(atoms), sampling=0.2, slice_thickness=1.0, debye_waller=True, precision="float64")
    np.testing.assert_array_equal(_flat(got), _flat(ref))
    plain = potential(from_ase(atoms).replace(u2=jnp.zeros((3, 3))), sampling=0.2, debye_waller=True,
                      precision="float64")
    assert not np.allclose(_flat(got), _flat(plain))  # B was used


def _slice_of_atom(structure, **kw):
    return int(np.asarray(potential_layout(structure, sampling=0.25, **kw).slice_index)[0])


def test_atom_on_the_top_face_wraps_to_the_first_slice_only_when_periodic_along_z():
    top = Structure.create([[2.0, 2.0, 5.0]], ["Au"], CELL)
    assert _slice_of_atom(top, slice_thickness=1.0) == 0  # ASE convention: the top face is the next bottom
    assert _slice_of_atom(top.replace(pbc=(True, True, False)), slice_thickness=1.0) == 4
    # and in the potential: the periodic top-face atom is where an atom at z = 0 is
    zero = top.replace(positions=jnp.asarray([[2.0, 2.0, 0.0]]))
    np.testing.assert_array_equal(_flat(potential(top, sampling=0.25, slice_thickness=1.0)),
                                  _flat(potential(zero, sampling=0.25, slice_thickness=1.0)))


def test_atoms_outside_along_the_beam_wrap_when_periodic_and_are_rejected_otherwise():
    far = Structure.create([[2.0, 2.0, 1.2], [1.0, 1.0, 50.0]], ["O", "Au"], CELL)
    near = far.replace(positions=jnp.asarray([[2.0, 2.0, 1.2], [1.0, 1.0, 0.0]]))
    np.testing.assert_allclose(_flat(potential(far, sampling=0.25)), _flat(potential(near, sampling=0.25)),
                               atol=1e-5)
    with pytest.raises(ValueError, match=r"structure.positions: 1 atom\(s\) lie outside the cell along z \(first: "
                                         r"atom 1 at z = 50 Å; the cell spans z ∈ \[0, 5\] Å\) and the cell is not "
                                         r"periodic along z"):
        potential(far.replace(pbc=(True, True, False)), sampling=0.25)


def test_atoms_outside_laterally_are_rejected_when_not_periodic():
    s = Structure.create([[-3.0, 2.0, 1.0], [2.0, 9.0, 1.0]], ["O", "O"], CELL, pbc=(False, False, True))
    with pytest.raises(ValueError, match=r"1 atom\(s\) lie outside the cell along x \(first: atom 0 at x = -3 Å"):
        potential(s, sampling=0.25)
    ok = s.replace(pbc=True)
    assert potential(ok, sampling=0.25).n_slices == 5
    # an ase.Atoms without pbc (ASE's default) is not periodic: its atoms must lie in the cell
    atoms = ase.Atoms("O", positions=[[2.0, 2.0, 7.0]], cell=CELL)
    with pytest.raises(ValueError, match="along z"):
        potential(atoms, sampling=0.25)


@given(seed=st.integers(0, 10_000), shifts=st.lists(st.integers(-3, 3), min_size=12, max_size=12))
def test_wrapping_by_a_lattice_vector_leaves_the_potential_unchanged(seed, shifts):
    rng = np.random.default_rng(seed)
    n = 4
    # slices of 1 Å; keep atoms 0.05 Å off slice boundaries, where rounding of z + k·L may cross them
    z = rng.integers(0, 5, n) + rng.uniform(0.05, 0.95, n)
    pos = np.column_stack([rng.uniform(0, 4, n), rng.uniform(0, 4, n), z])
    s = Structure.create(pos, ["Sr", "Ti", "O", "C"], CELL, B=rng.uniform(0.1, 1.0, n))
    moved = s.with_positions(jnp.asarray(pos + np.array(shifts).reshape(n, 3) * CELL))
    kw = dict(sampling=0.25, slice_thickness=1.0, debye_waller=True, precision="float64")
    np.testing.assert_allclose(_flat(potential(moved, **kw)), _flat(potential(s, **kw)), atol=1e-9)


@pytest.mark.parametrize("kw,match", [
    (dict(sampling=10.0), r"sampling = 10 Å is too coarse to represent atomic potentials .* expected 0 < sampling "
                          r"≤ 1 Å"),
    (dict(sampling=-0.1), r"sampling must be > 0 \[Å\], got -0.1"),
    (dict(sampling="0.02 nm"), None),
    (dict(sampling=float("nan")), r"sampling must be finite"),
    (dict(gpts=1), r"gpts = \(1, 1\) gives a sampling of 3.905 Å .* i.e. gpts ≥ \(4, 4\)"),
    (dict(gpts=(8, 0)), r"gpts must be ≥ 1"),
    (dict(sampling=0.1, gpts=32), r"give exactly one of sampling \[Å\] or gpts"),
    (dict(), r"give exactly one of sampling \[Å\] or gpts"),
    (dict(sampling=0.1, slice_thickness=10), r"slice_thickness must lie in \(0, 3.9053\] Å \(the depth of the cell "
                                             r"along the beam\), got 10"),
    (dict(sampling=0.1, slice_thickness=0.0), r"slice_thickness must be > 0 \[Å\], got 0.0"),
    (dict(sampling=0.1, slice_thickness=-1), r"slice_thickness must be > 0"),
    (dict(sampling=0.1, parametrization="lobatto"), r"parametrization must be one of .* \(did you mean 'lobato'\?\)"),
    (dict(sampling=0.1, debye_waller="yes"), r"debye_waller must be True or False"),
    (dict(sampling=0.1, precision="half"), r"precision must be 'float32' or 'float64'"),
    (dict(sampling=0.1, memory_budget="lots"), r"memory_budget must be a number of bytes"),
])
def test_grid_and_slice_ranges_name_the_argument(kw, match):
    sto = crystals.SrTiO3()
    if match is None:  # strings with units are parsed
        assert potential(sto, slice_thickness=1.0, **kw).grid.sampling[0] <= 0.2
        return
    with pytest.raises((ValueError, TypeError), match=match):
        potential(sto, **kw)


def test_few_pixels_per_cell_are_rejected_naming_a_sampling_that_works():
    tiny = Structure.create([[0.5, 0.5, 0.5]], ["C"], [2.0, 2.0, 1.0])
    with pytest.raises(ValueError, match=r"sampling = 0.9 Å gives a 3 × 3 grid on a 2 × 2 Å \(y × x\) cell; at least 4 "
                                         r"pixels per axis .* sampling ≤ 0.5 Å"):
        potential(tiny, sampling=0.9)


@pytest.mark.parametrize("alias", PRECISION_ALIASES, ids=str)
def test_potential_honours_every_precision_alias(alias):
    s = Structure.create([[1.0, 1.0, 0.5]], ["Si"], [2.0, 2.0, 1.0])
    p = potential(s, sampling=0.25, precision=alias)
    want = jnp.float64 if resolve_precision(alias) == "float64" else jnp.float32
    assert p.array.dtype == want


def test_memory_budget_changes_batching_not_results():
    sto = crystals.SrTiO3().repeat(1, 1, 2).replace(z_repeats=1)
    small = potential_layout(sto, sampling=0.2, slice_thickness=0.5, memory_budget="1K")
    big = potential_layout(sto, sampling=0.2, slice_thickness=0.5, memory_budget="1G")
    assert small.batch == 1 and big.batch == 16
    a = potential(sto, sampling=0.2, slice_thickness=0.5, memory_budget=1)
    b = potential(sto, sampling=0.2, slice_thickness=0.5, memory_budget="1G")
    np.testing.assert_allclose(_flat(a), _flat(b), rtol=1e-5, atol=1e-5)
