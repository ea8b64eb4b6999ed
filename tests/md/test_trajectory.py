import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jaxem.md import Trajectory, unwrap_by_continuity, unwrap_by_images
from jaxem.structure import Structure


def _traj(rng, nf=5, na=4):
    cell = np.array([[5.0, 0, 0], [0.0, 6.0, 0], [0, 0, 7.0]])
    pos = rng.uniform(-3, 10, (nf, na, 3))
    return Trajectory.create(pos, ["C", "Si", "C", "O"], cell, origins=[1.0, 2.0, 3.0], timestep_fs=1.0)


def test_create_validates_inputs(rng):
    good = rng.normal(size=(2, 3, 3))
    with pytest.raises(ValueError, match="positions must have shape"):
        Trajectory.create(good[0], [6, 6, 6], [3, 3, 3])
    with pytest.raises(ValueError, match="numbers must have length 3"):
        Trajectory.create(good, [6, 6], [3, 3, 3])
    with pytest.raises(ValueError, match="cells must have shape"):
        Trajectory.create(good, [6, 6, 6], np.eye(3)[None].repeat(3, 0))
    with pytest.raises(ValueError, match="non-zero volume"):
        Trajectory.create(good, [6, 6, 6], [3, 0, 3])
    with pytest.raises(ValueError, match="NaN"):
        Trajectory.create(np.full((1, 1, 3), np.nan), [6], [3, 3, 3])
    with pytest.raises(ValueError, match="unknown element"):
        Trajectory.create(good, [6, "Xx", 6], [3, 3, 3])
    with pytest.raises(ValueError, match="timestep_fs"):
        Trajectory.create(good, [6, 6, 6], [3, 3, 3], timestep_fs=0.0)
    with pytest.raises(ValueError, match="no timestep_fs"):
        Trajectory.create(good, [6, 6, 6], [3, 3, 3]).times


def test_frame_is_a_wrapped_structure_relative_to_the_origin(rng):
    tr = _traj(rng)
    st = tr.frame(-1)
    assert isinstance(st, Structure) and len(st) == 4
    assert np.asarray(st.numbers).tolist() == [6, 14, 6, 8]
    p = np.asarray(st.positions)
    assert np.all((p >= 0) & (p < np.array([5, 6, 7])))
    d = (tr.positions[-1] - tr.origins[-1]) - p  # differs by whole lattice vectors
    assert np.allclose(d / np.array([5, 6, 7]), np.round(d / np.array([5, 6, 7])))
    raw = tr.frame(0, wrap=False)
    assert np.allclose(np.asarray(raw.positions), tr.positions[0] - tr.origins[0])
    assert len(tr.to_structures()) == 5
    with pytest.raises(ValueError, match="frame index"):
        tr.frame(5)
    with_b = tr.frame(0, B=0.5)
    assert np.allclose(np.asarray(with_b.B), 0.5)


def test_from_structures_and_indexing(rng):
    tr = _traj(rng)
    back = Trajectory.from_structures(tr.to_structures(wrap=False), timesteps=tr.timesteps)
    assert np.allclose(back.positions, tr.positions - tr.origins[:, None])
    sub = tr[1:4:2]
    assert sub.n_frames == 2 and np.array_equal(sub.positions, tr.positions[[1, 3]])
    assert tr[2].n_frames == 1
    with pytest.raises(ValueError, match="different atoms"):
        Trajectory.from_structures([tr.frame(0), Structure.create([[0, 0, 0]], ["C"], [5, 6, 7])])


def test_unwrap_by_images_and_continuity_with_a_changing_cell(rng):
    nf, na = 40, 6
    scale = 1 + 0.01 * np.sin(np.arange(nf) / 5)[:, None, None]  # NPT-like breathing cell
    cells = scale * np.array([[5.0, 0, 0], [1.0, 5.5, 0], [0.3, -0.4, 6.0]])
    frac = rng.uniform(0, 1, (1, na, 3)) + np.cumsum(rng.normal(0, 0.1, (nf, na, 3)), axis=0)
    frac -= np.floor(frac[:1])  # frame 0 inside the cell (continuity keeps frame 0 as given)
    origins = np.tile([0.5, -0.5, 1.0], (nf, 1))
    true = origins[:, None] + np.einsum("fnj,fjk->fnk", frac, cells)
    images = np.floor(frac)
    wrapped = origins[:, None] + np.einsum("fnj,fjk->fnk", frac - images, cells)
    assert np.allclose(unwrap_by_images(wrapped, images, cells), true)
    assert np.allclose(unwrap_by_continuity(wrapped, cells, origins), true)
    tr = Trajectory.create(wrapped, ["Si"] * na, cells, origins)
    assert np.allclose(tr.unwrap().positions, true) and tr.unwrap().unwrapped


@given(seed=st.integers(0, 10_000), max_step=st.floats(0.01, 0.49), tilt=st.floats(-2.0, 2.0))
def test_continuity_unwrapping_inverts_wrapping_for_steps_below_half_a_cell(seed, max_step, tilt):
    rng = np.random.default_rng(seed)
    cell = np.array([[4.0, 0, 0], [tilt, 5.0, 0], [0.2, tilt / 2, 6.0]])
    frac = rng.uniform(0, 1, (1, 5, 3)) + np.cumsum(rng.uniform(-max_step, max_step, (30, 5, 3)), axis=0)
    frac -= np.floor(frac[:1])
    true = frac @ cell
    wrapped = (frac % 1.0) @ cell
    cells = np.broadcast_to(cell, (30, 3, 3))
    assert np.allclose(unwrap_by_continuity(wrapped, cells), true, atol=1e-9)


def test_trajectory_is_a_pytree_dataclass_validated_on_replace(rng):
    import jax

    tr = _traj(rng)
    assert jax.tree_util.tree_structure(tr).num_leaves == 6  # velocities None; timestep_fs, unwrapped static
    shifted = jax.tree.map(lambda x: x, tr)
    assert shifted.timestep_fs == 1.0 and np.array_equal(shifted.positions, tr.positions)
    bad = tr.positions.copy()
    bad[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"positions holds 1 NaN/inf value\(s\) \[Å\] \(first at index \(2, 1, 0\)\)"):
        tr.replace(positions=bad)
    with pytest.raises(ValueError, match=r"cells holds 45 NaN/inf value\(s\) \[Å\] \(first at index \(0, 0, 0\)\)"):
        tr.replace(cells=tr.cells * np.nan)
    with pytest.raises((ValueError, TypeError), match="frame index i must be an integer"):
        tr.frame(1.5)
