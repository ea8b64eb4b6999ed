import jax.numpy as jnp
import numpy as np
import pytest

from jaxem.hrtem.displacements import polar_displacements
from jaxem.hrtem.roi import fit_rois, split_rois, stitch_columns
from jaxem.hrtem.synthetic import batio3_model, displaced_columns
from jaxem.optics import Aberrations
from jaxem.validate import InputError


def test_split_rois_shapes_and_overlap():
    img = np.arange(40 * 60, dtype=float).reshape(40, 60)
    rois, origins = split_rois(img, (10, 10), roi_cells=2, stride=1)
    assert rois.shape == (3 * 5, 20, 20)
    assert origins[0].tolist() == [0, 0] and origins[-1].tolist() == [2, 4]
    np.testing.assert_array_equal(rois[6], img[10:30, 10:30])
    with pytest.raises(InputError, match="whole number of cells"):
        split_rois(img[:-1], (10, 10), 2, 1)
    with pytest.raises(InputError, match="stride must be in"):
        split_rois(img, (10, 10), 2, 3)
    with pytest.raises(InputError, match="roi_cells must be ≥ 1"):
        split_rois(img, (10, 10), 0, 1)
    with pytest.raises(InputError, match="cell_pixels must be ≥ 1"):
        split_rois(img, (0, 10), 2, 1)
    with pytest.raises(InputError, match="image must have 2 dimensions"):
        split_rois(img[None], (10, 10), 2, 1)


def test_fit_rois_argument_errors():
    m = batio3_model(cells=1, repeats=2, sampling=0.5)
    p = m.default_params()
    with pytest.raises(InputError, match=r"rois must have shape \(any, 8, 8\)"):
        fit_rois(m, np.ones((2, 7, 7)), p)
    with pytest.raises(InputError, match="steps must be ≥ 1"):
        fit_rois(m, np.ones((2,) + tuple(m.gpts)), p, steps=0)
    with pytest.raises(InputError, match="fail_factor must be > 0"):
        fit_rois(m, np.ones((2,) + tuple(m.gpts)), p, fail_factor=0.0)


def test_fit_rois_batched_with_a_failed_roi_and_stitch():
    field_model = batio3_model(cells=3, repeats=4, sampling=0.25)
    roi_model = batio3_model(cells=2, repeats=4, sampling=0.25)
    ab = Aberrations(C10=-60.0, C30=-1.5e5)
    truth = field_model.default_params(ab, thickness=3 * field_model.unit_length, focal_spread=20.0)
    # cell-periodic displacements so every 2×2 window is an exact periodic ROI
    unit = batio3_model(cells=1, repeats=4, sampling=0.25)
    d_unit = displaced_columns(unit, jitter=0.0) - unit.column_xy
    def site(c):  # column type from its fractional position (multiples of 1/2)
        return tuple((np.round(np.asarray(c) / 3.9998 * 2) % 2).astype(int))

    d_map = {site(c): dv for c, dv in zip(unit.column_xy, d_unit)}
    truth = truth.replace(xy=jnp.asarray([c + d_map[site(c)] for c in field_model.column_xy]))
    field = np.asarray(field_model.render(truth))
    py = field.shape[0] // 3
    rois, origins = split_rois(field, (py, py), roi_cells=2, stride=1)
    rois[3, 3, 3] = np.nan  # a broken ROI must not sink the others
    start = roi_model.default_params(ab, thickness=2 * roi_model.unit_length, focal_spread=20.0)
    res = fit_rois(roi_model, rois, start, names=("thickness", "xy"), steps=8, log_every=8,
                   origins=origins)
    assert rois.shape[0] == 4  # = the 4 fake CPU devices of the test session: the ROI axis is sharded
    assert not res.ok[3] and "NaN" in res.messages[3]
    assert res.ok.sum() == 3 and np.isnan(res.losses[3])
    np.testing.assert_allclose(res.params.thickness[res.ok], 3 * roi_model.unit_length, atol=0.3)
    np.testing.assert_array_equal(res.origins, origins)
    st = stitch_columns(roi_model, res, cell_size=(3.9998, 3.9998))
    # the failed ROI (origin (1, 1)) alone covered cell (2, 2): 32 of the 36 columns are stitched
    assert len(st["xy"]) == 32 and st["count"].max() == 3
    truth_xy = np.asarray(truth.xy)
    err = [np.min(np.hypot(*(truth_xy - c).T)) for c in st["xy"]]
    assert np.sqrt(np.mean(np.square(err))) < 0.02
    # Ti–O displacements per good ROI against the truth
    d_ref, _ = polar_displacements(truth.xy, field_model.column_species, field_model.lengths)
    assert np.abs(d_ref).max() > 0.05
    for r in np.flatnonzero(res.ok):
        d_fit, _ = polar_displacements(res.params.xy[r], roi_model.column_species, roi_model.lengths)
        np.testing.assert_allclose(d_fit, np.broadcast_to(d_ref[0], d_fit.shape), atol=0.02)


def test_fit_field_recovers_thickness_gradient_and_displacement_field():
    from jaxem.hrtem.synthetic import batio3_field, fit_field

    fp = batio3_field(cells=4, roi_cells=2, repeats=6, sampling=0.25, thickness_cells=(2.0, 5.0))
    # the truth has a gradient and a non-uniform displacement field
    assert np.ptp(fp.thickness_map) > 2 * fp.field_model.unit_length
    r = fit_field(fp, stride=1, steps=10, log_every=10)
    assert r["n_rois"] == 9 and r["n_ok"] == 9
    assert np.ptp(r["d_true"][:, 0]) > 0.1  # Ti–O displacement varies across the field (±8 pm)
    print("field fit: thickness RMS", r["thickness_rms_cells"], "cells; displacement RMS", r["d_rms"], "Å")
    assert r["thickness_rms_cells"] < 0.1
    assert r["d_rms"] < 0.04 and len(r["d_fit"]) == 16
