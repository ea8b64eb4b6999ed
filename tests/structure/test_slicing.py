"""Slice assignment along the beam never drops an atom; slices divide the depth evenly."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jaxem.structure import slice_assignment, slices_for_structure
from jaxem.structure.slicing import BOUNDARY_TOLERANCE


@given(
    depth=st.floats(1.0, 60.0),
    n=st.integers(1, 40),
    z=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=60),
    extra=st.sampled_from([[], [0.0], [1.0], [-1e-12], [1.0 + 1e-12]]),
    periodic=st.booleans(),
)
def test_every_atom_lands_in_exactly_one_valid_slice(depth, n, z, extra, periodic):
    # z given as fractions of the depth, including the cell top (1.0) and rounding just outside it
    zz = np.array(list(z) + list(extra)) * depth
    dz = depth / n
    idx = slice_assignment(zz, dz, n, periodic=periodic)
    assert idx.shape == zz.shape and idx.dtype == np.int32
    assert np.all((idx >= 0) & (idx < n))
    assert np.bincount(idx, minlength=n).sum() == len(zz)  # each atom counted once
    # an atom within BOUNDARY_TOLERANCE (slice units, float32-safe) below a boundary belongs to the slice above
    # it (documented); near the top face of a periodic stack that is slice 0 of the next cell
    btol = BOUNDARY_TOLERANCE * dz
    interior = (zz > 1e-6 * depth) & (zz < depth - 1.01 * btol)
    lo, hi = idx * dz, (idx + 1) * dz
    tol = 1e-9 * depth + 1e-12
    assert np.all((zz[interior] >= lo[interior] - btol - tol) & (zz[interior] < hi[interior] - btol + tol))
    assert np.all(idx[zz <= 0] == 0)
    # the top face is the bottom face of the next cell when the stack is periodic (ASE's pbc rule)
    assert np.all(idx[zz >= depth] == (0 if periodic else n - 1))


@given(n=st.integers(1, 12), frac=st.lists(st.floats(0.02, 0.98), min_size=1, max_size=20),
       shifts=st.lists(st.integers(-6, 6), min_size=20, max_size=20))
def test_periodic_assignment_is_invariant_under_lattice_shifts(n, frac, shifts):
    depth = 5.0
    # keep atoms off slice boundaries (where rounding of z + k·L may cross them)
    u = (np.floor(np.array(frac) * n) + 0.05 + 0.9 * (np.array(frac) * n % 1)) / n
    z = u * depth
    moved = z + np.array(shifts[: len(z)]) * depth
    dz = depth / n
    assert np.array_equal(slice_assignment(moved, dz, n, periodic=True), slice_assignment(z, dz, n, periodic=True))


def test_atoms_outside_a_non_periodic_stack_are_rejected_with_count_index_and_range():
    with pytest.raises(ValueError, match=r"z: 2 atom\(s\) lie outside the cell along z \(first: atom 1 at z = 50 Å; "
                                         r"the cell spans z ∈ \[0, 5\] Å\)"):
        slice_assignment([1.0, 50.0, -3.0], 1.0, 5)
    # within the tolerance of the faces: kept in the first/last slice
    assert slice_assignment([-1e-5, 5.0 + 1e-5], 1.0, 5).tolist() == [0, 4]
    # periodic: wrapped
    assert slice_assignment([50.0, -0.5, 5.0], 1.0, 5, periodic=True).tolist() == [0, 4, 0]


def test_atoms_on_slice_boundaries_go_to_the_upper_slice():
    dz, n = 0.5, 4
    z = np.array([0.0, 0.5, 1.0, 1.5, 2.0])  # exactly representable boundaries
    assert slice_assignment(z, dz, n).tolist() == [0, 1, 2, 3, 3]


def test_bad_slicing_input_raises():
    with pytest.raises(ValueError, match=r"z holds 1 NaN/inf value\(s\) \[Å\] \(first at index \(1,\)\)"):
        slice_assignment([0.0, np.nan], 1.0, 2)
    with pytest.raises(ValueError, match="thickness must be > 0"):
        slice_assignment([0.0], 0.0, 2)
    with pytest.raises(ValueError, match="n_slices must be ≥ 1"):
        slice_assignment([0.0], 1.0, 0)


@given(depth=st.floats(0.5, 500.0), dz=st.floats(0.1, 10.0))
def test_slices_for_structure_divides_depth_evenly(depth, dz):
    n, t = slices_for_structure(depth, dz)
    assert n >= 1 and math.isclose(n * t, depth, rel_tol=1e-12)
    assert t <= dz * (1 + 1e-9)
    if n > 1:
        assert depth / (n - 1) > dz * (1 - 1e-9)  # n is the fewest slices not thicker than dz


@pytest.mark.parametrize("depth,dz,match", [(10.0, 0.0, "slice_thickness"), (10.0, -1.0, "slice_thickness"),
                                            (10.0, float("nan"), "slice_thickness"), (0.0, 1.0, "depth")])
def test_slices_for_structure_rejects_bad_values(depth, dz, match):
    with pytest.raises(ValueError, match=match):
        slices_for_structure(depth, dz)


def test_boundary_atoms_are_consistent_in_float32_and_float64():
    # regression: float32 coordinates put atoms on slice boundaries into neighbouring slices at random
    import numpy as np

    from jaxem.structure import crystals, slice_assignment, slices_for_structure

    a = 3.9053
    for dtype in (np.float32, np.float64):
        z = (np.array([0.0, a / 2, a, 1.5 * a, 2 * a, 25.5 * a]).astype(dtype)).astype(np.float64)
        n, dz = slices_for_structure(np.float64(np.float32(26 * a)), a / 2)
        assert n == 52
        assert list(slice_assignment(z, dz, n)) == [0, 1, 2, 3, 4, 51]
    # periodic-unit potential and flat slicing agree for a crystal whose planes sit on boundaries
    from jaxem.potential import potential

    sto = crystals.SrTiO3().repeat(1, 1, 4)
    p = potential(sto, sampling=0.2, slice_thickness=a / 2)
    q = potential(sto.replace(z_repeats=1), sampling=0.2, slice_thickness=a / 2)
    assert p.n_slices == q.n_slices == 8
    assert np.allclose(p.full(), q.full(), atol=1e-3)
