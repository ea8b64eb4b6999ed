import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.hrtem.displacements import polar_displacements
from jaxem.hrtem.roi import fit_rois, split_rois, stitch_columns
from jaxem.hrtem.synthetic import batio3_model, displaced_columns
from jaxem.optics import Aberrations


def test_split_rois_shapes_and_overlap():
    img = np.arange(40 * 60, dtype=float).reshape(40, 60)
    rois, origins = split_rois(img, (10, 10), roi_cells=2, stride=1)
    assert rois.shape == (3 * 5, 20, 20)
    assert origins[0].tolist() == [0, 0] and origins[-1].tolist() == [2, 4]
    np.testing.assert_array_equal(rois[6], img[10:30, 10:30])
    with pytest.raises(ValueError, match="whole number of cells"):
        split_rois(img[:-1], (10, 10), 2, 1)
    with pytest.raises(ValueError, match="stride"):
        split_rois(img, (10, 10), 2, 3)


def test_polar_displacements_analytic():
    a = 4.0
    xy = np.array([[0, 0], [2.1, 2.05], [2, 0], [0, 2]], float)  # Ba, Ti(+O), O, O in one periodic cell
    d, pos = polar_displacements(xy, [[56], [8, 22], [8], [8]], (a, a))
    np.testing.assert_allclose(d, [[0.1, 0.05]], atol=1e-12)
    with pytest.raises(ValueError, match="pure Z=8"):
        polar_displacements(xy[:2], [[56], [8, 22]], (a, a))
    # a non-periodic field (huge lengths): the four O columns around Ti
    xy4 = np.array([[2.1, 2.05], [2, 0], [0, 2], [4, 2], [2, 4]], float)
    d, _ = polar_displacements(xy4, [[8, 22], [8], [8], [8], [8]], (1e9, 1e9))
    np.testing.assert_allclose(d, [[0.1, 0.05]], atol=1e-9)


def test_fit_rois_batched_with_a_failed_roi_and_stitch():
    field_model = batio3_model(cells=4, repeats=4, sampling=0.25)
    roi_model = batio3_model(cells=2, repeats=4, sampling=0.25)
    ab = Aberrations(C10=-60.0, C30=-1.5e5)
    truth = field_model.default_params(ab, thickness=3 * field_model.unit_length, focal_spread=20.0)
    # cell-periodic displacements so every 2×2 window is an exact periodic ROI
    unit = batio3_model(cells=1, repeats=4, sampling=0.25)
    d_unit = displaced_columns(unit, jitter=0.0) - unit.column_xy
    def site(c):  # column type from its fractional position (multiples of 1/2)
        return tuple((np.round(np.asarray(c) / 3.9998 * 2) % 2).astype(int))

    d_map = {site(c): dv for c, dv in zip(unit.column_xy, d_unit)}
    truth["xy"] = jnp.asarray([c + d_map[site(c)] for c in field_model.column_xy])
    field = np.asarray(field_model.render(truth))
    py = field.shape[0] // 4
    rois, origins = split_rois(field, (py, py), roi_cells=2, stride=1)
    rois[4, 3, 3] = np.nan  # a broken ROI must not sink the others
    start = roi_model.default_params(ab, thickness=2 * roi_model.unit_length, focal_spread=20.0)
    res = fit_rois(roi_model, rois, start, names=("thickness", "xy"), steps=12, log_every=12)
    assert not res.ok[4] and "NaN" in res.messages[4]
    assert res.ok.sum() == 8 and np.isnan(res.losses[4])
    np.testing.assert_allclose(res.params["thickness"][res.ok], 3 * roi_model.unit_length, atol=0.3)
    st = stitch_columns(roi_model, res, origins, (3.9998, 3.9998))
    assert len(st["xy"]) == 4 * 16  # all 64 columns of the 4×4 field are covered
    # the stitched field is one 4×4-cell periodic crystal: Ti–O displacement of every cell
    d_fit, _ = polar_displacements(st["xy"], st["species"], (4 * 3.9998, 4 * 3.9998))
    d_ref, _ = polar_displacements(truth["xy"], field_model.column_species, field_model.lengths)
    assert d_fit.shape == (16, 2) and np.abs(d_ref).max() > 0.05
    np.testing.assert_allclose(d_fit, d_ref, atol=0.02)
