"""Slice assignment along the beam never drops an atom; slices divide the depth evenly."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jaxem.structure import slice_assignment, slices_for_structure


@given(
    depth=st.floats(1.0, 60.0),
    n=st.integers(1, 40),
    z=st.lists(st.floats(-1e-3, 1.0), min_size=1, max_size=60),
    extra=st.sampled_from([[], [0.0], [1.0], [-1e-12], [1.0 + 1e-12]]),
)
def test_every_atom_lands_in_exactly_one_valid_slice(depth, n, z, extra):
    # z given as fractions of the depth, including the cell top (1.0) and small negative values
    zz = np.array(list(z) + list(extra)) * depth
    dz = depth / n
    idx = slice_assignment(zz, dz, n)
    assert idx.shape == zz.shape and idx.dtype == np.int32
    assert np.all((idx >= 0) & (idx < n))
    assert np.bincount(idx, minlength=n).sum() == len(zz)  # each atom counted once
    interior = (zz > 1e-6 * depth) & (zz < depth * (1 - 1e-6))
    lo, hi = idx * dz, (idx + 1) * dz
    tol = 1e-9 * depth + 1e-12
    assert np.all((zz[interior] >= lo[interior] - tol) & (zz[interior] < hi[interior] + tol))
    assert np.all(idx[zz <= 0] == 0)
    assert np.all(idx[zz >= depth] == n - 1)


def test_atoms_on_slice_boundaries_go_to_the_upper_slice():
    dz, n = 0.5, 4
    z = np.array([0.0, 0.5, 1.0, 1.5, 2.0])  # exactly representable boundaries
    assert slice_assignment(z, dz, n).tolist() == [0, 1, 2, 3, 3]


def test_bad_slicing_input_raises():
    with pytest.raises(ValueError, match="NaN"):
        slice_assignment([0.0, np.nan], 1.0, 2)
    with pytest.raises(ValueError, match="thickness"):
        slice_assignment([0.0], 0.0, 2)
    with pytest.raises(ValueError, match="n_slices"):
        slice_assignment([0.0], 1.0, 0)


@given(depth=st.floats(0.5, 500.0), dz=st.floats(0.1, 10.0))
def test_slices_for_structure_divides_depth_evenly(depth, dz):
    n, t = slices_for_structure(depth, dz)
    assert n >= 1 and math.isclose(n * t, depth, rel_tol=1e-12)
    assert t <= dz * (1 + 1e-9)
    if n > 1:
        assert depth / (n - 1) > dz * (1 - 1e-9)  # n is the fewest slices not thicker than dz


@pytest.mark.parametrize("depth,dz", [(10.0, 0.0), (10.0, -1.0), (10.0, float("nan")), (0.0, 1.0)])
def test_slices_for_structure_rejects_bad_values(depth, dz):
    with pytest.raises(ValueError):
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
