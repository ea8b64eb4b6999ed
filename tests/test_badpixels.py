"""jaxem.badpixels: the one bad-pixel vocabulary of maps, and EDS and 4D-STEM results list their
masked pixels through it."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from jaxem import badpixels

SPECIALS = st.sampled_from([np.nan, np.inf, -np.inf, -1.0, 0.0, 2.5])


@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=4, max_side=4), elements=SPECIALS))
def test_bad_mask_and_listing_against_a_loop(a):
    """Against an explicit loop over the pixels (the definition): bad if any value of the pixel
    along the last axis is non-finite (or negative with nonnegative=True)."""
    for nonneg in (False, True):
        mask = badpixels.bad_mask(a, axis=-1, nonnegative=nonneg)
        assert mask.shape == a.shape[:-1]
        for idx in np.ndindex(a.shape[:-1]):
            px = a[idx]
            assert mask[idx] == any((not np.isfinite(v)) or (nonneg and v < 0) for v in px)
        listed = badpixels.indices(mask)
        assert listed.dtype == np.int64 and listed.shape == (int(mask.sum()), mask.ndim)
        assert [tuple(p) for p in listed] == sorted(idx for idx in np.ndindex(mask.shape) if mask[idx])
        assert badpixels.index_tuples(mask) == tuple(tuple(int(i) for i in p) for p in listed)


def test_integer_counts_and_tuple_axes():
    counts = np.array([[[1, 2], [3, -1]], [[0, 0], [5, 5]]])
    np.testing.assert_array_equal(badpixels.bad_mask(counts, nonnegative=True), [[False, True], [False, False]])
    assert not badpixels.bad_mask(counts).any()
    frames = np.ones((2, 3, 4, 4))
    frames[1, 2, 0, 3] = np.nan
    np.testing.assert_array_equal(badpixels.indices(badpixels.bad_mask(frames, axis=(2, 3))), [[1, 2]])
    assert badpixels.indices(np.zeros((3, 3), bool)).shape == (0, 2)


def test_eds_and_phase_list_bad_pixels_the_same_way():
    """A Cliff–Lorimer map and a 4D-STEM scan with the same bad positions list them identically
    (EDS as the int64 array, phase as tuples of the same indices)."""
    from jaxem.eds import cliff_lorimer_quantification
    from jaxem.phase import masking

    where = [(0, 2), (3, 1)]
    inten = np.full((4, 3, 2), 100.0)
    frames = np.ones((4, 3, 5, 5))
    for (i, j), v in zip(where, (np.nan, np.inf)):
        inten[i, j, 1] = v
        frames[i, j, 2, 2] = v
    res = cliff_lorimer_quantification(inten, [1.0, 1.2], [26.98, 15.999])
    _, _, bad = masking.scan(frames)
    assert res.bad_pixels.tolist() == [list(p) for p in sorted(where)]
    assert bad.scan_positions == tuple(sorted(where)) == badpixels.index_tuples(badpixels.bad_mask(frames, (2, 3)))
    np.testing.assert_array_equal(res.bad_pixels, badpixels.indices(badpixels.bad_mask(inten)))
