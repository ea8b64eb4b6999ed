"""A synthetic quantitative-HRTEM problem: BaTiO3 [001] with known residual aberrations, thickness,
in-plane Ti/O displacements and noise, plus a wrong-but-reasonable starting guess.

Geometry: the tetragonal P4mm cell (a = 3.9998 Å, c = 4.018 Å; Buttner & Maslen 1992) with c along
the beam. Its published polar shifts are along c, hence invisible in [001] projection; the problem
therefore adds known *in-plane* displacements (as in an a-domain or under in-plane strain): Ti
columns by ``ti_shift`` and pure O columns by ``o_shift`` [Å], plus a random per-column jitter of
rms ``jitter`` [Å]. Columns: Ba, Ti+O (Ti and its apical O share (x, y)), and two pure O columns.

Imaging (defaults): 300 kV, Δf = 80 Å, Cs = −15 µm, two-fold astigmatism A1 = (20, −15) Å, rms focal
spread 20 Å, image spread 0.2 Å, thickness 6 unit cells (24.1 Å), dose 1e4 e⁻/Å² with Poisson noise
and 1 count rms readout noise.
"""
from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from ..beam import Beam
from ..optics import Aberrations
from ..structure import crystals
from .model import HRTEMModel, synthesize
from .params import HRTEMParams


@pytree.dataclass
class Problem:
    """Model (static), true parameters, noisy data, noise-free image and the starting guess."""

    model: HRTEMModel = pytree.field(static=True)
    truth: HRTEMParams = None
    data: Any = None
    clean: Any = None
    start: HRTEMParams = None


def batio3_model(cells: int = 3, repeats: int = 8, sampling: float = 0.1, method: str = "envelope",
                 n_focal: int = 8, precision=None, n_tilt: int = 3, beam=None) -> HRTEMModel:
    """Periodic BaTiO3 [001] model of cells × cells × ``repeats`` unit cells at ``sampling`` [Å]
    (``beam``: a :class:`jaxem.Beam` or energy; default 300 keV)."""
    cells = validate.integer(cells, "cells", lo=1)
    repeats = validate.integer(repeats, "repeats", lo=1)
    s = crystals.BaTiO3().repeat(cells, cells, repeats)
    return HRTEMModel(s, Beam(300e3) if beam is None else beam, sampling=sampling, slice_thickness=2.1,
                      method=method, n_focal=n_focal, n_tilt=n_tilt, precision=precision)


def displaced_columns(model: HRTEMModel, ti_shift=(0.08, 0.03), o_shift=(-0.03, 0.0), jitter: float = 0.01,
                      seed: int = 0) -> np.ndarray:
    """True column positions (C, 2) [Å]: reference + in-plane Ti/O shifts + random jitter."""
    xy = np.array(model.column_xy, float)
    rng = np.random.default_rng(seed)
    for c, sp in enumerate(model.column_species):
        if 22 in sp:
            xy[c] += ti_shift
        elif sp == [8]:
            xy[c] += o_shift
    return xy + jitter * rng.standard_normal(xy.shape)


def batio3_problem(cells: int = 3, repeats: int = 8, sampling: float = 0.1, method: str = "envelope",
                   n_focal: int = 8, dose: float = 1e4, readout_noise: float = 1.0, defocus: float = 80.0,
                   Cs: float = -1.5e5, A1=(20.0, -15.0), thickness_cells: int = 6, focal_spread: float = 20.0,
                   image_spread: float = 0.2, ti_shift=(0.08, 0.03), o_shift=(-0.03, 0.0), jitter: float = 0.01,
                   start_offsets=None, seed: int = 0, precision=None, beam=None) -> Problem:
    """Build the synthetic problem (see the module docstring; lengths [Å], dose [e⁻/Å²]).

    ``start_offsets`` (a partial :class:`HRTEMParams` or mapping, added to the truth for the starting
    guess) default to: defocus +40 Å (4 nm), Cs +3e4 Å (3 µm), thickness −2 cells; A1 starts at
    (0, 0) and the column positions at the undisplaced reference. ``beam``: :class:`jaxem.Beam` or
    energy [eV] (default 300 keV).
    """
    from .params import from_mapping, merge, names_of

    model = batio3_model(cells, repeats, sampling, method, n_focal, precision, beam=beam)
    A1 = validate.pair(A1, "A1", "Å")
    ab = Aberrations(C10=-defocus, C30=Cs, C12=float(np.hypot(*A1)), phi12=float(np.arctan2(A1[1], A1[0]) / 2))
    truth = model.default_params(ab, thickness=thickness_cells * model.unit_length, focal_spread=focal_spread,
                                 image_spread=image_spread)
    truth = truth.replace(xy=jnp.asarray(displaced_columns(model, ti_shift, o_shift, jitter, seed), model.dtype))
    clean = model.render(truth)
    data = synthesize(jax.random.PRNGKey(seed), jnp.maximum(clean, 0.0), dose, model.grid.sampling, readout_noise)
    off = merge(HRTEMParams(defocus=40.0, Cs=3e4, thickness=-2 * model.unit_length),
                from_mapping(HRTEMParams, start_offsets, "start_offsets"))
    start = truth.replace(**{k: jnp.asarray(np.asarray(getattr(truth, k)) + np.asarray(getattr(off, k)), model.dtype)
                             for k in names_of(off)})
    start = start.replace(A1=jnp.zeros(2, model.dtype), xy=jnp.asarray(model.column_xy, model.dtype))
    return Problem(model, truth, data, clean, start)


def errors(model: HRTEMModel, fitted: HRTEMParams, truth: HRTEMParams) -> dict:
    """Fit errors (a report): defocus, Cs, |ΔA1| [Å], thickness [unit cells], column RMS [Å], Ti–O
    displacement [Å]."""
    from .displacements import polar_displacements

    xy_f, xy_t = np.asarray(fitted.xy, float), np.asarray(truth.xy, float)
    d_f, _ = polar_displacements(xy_f, model.column_species, model.lengths)
    d_t, _ = polar_displacements(xy_t, model.column_species, model.lengths)
    return {
        "defocus": abs(float(fitted.defocus) - float(truth.defocus)),
        "Cs": abs(float(fitted.Cs) - float(truth.Cs)),
        "A1": float(np.hypot(*(np.asarray(fitted.A1, float) - np.asarray(truth.A1, float)))),
        "thickness_cells": abs(float(fitted.thickness) - float(truth.thickness)) / model.unit_length,
        "columns_rms": float(np.sqrt(np.mean(np.sum((xy_f - xy_t) ** 2, axis=1)))),
        "ti_o_max": float(np.max(np.abs(d_f - d_t))),
        "ti_o_mean_error": np.abs(d_f.mean(0) - d_t.mean(0)).tolist(),
    }


@pytree.dataclass
class FieldProblem:
    """A field of view of BaTiO3 [001] with a thickness gradient and a Ti–O displacement field.

    Attributes:
        field_model: periodic model of the whole field (its columns are the truth's columns).
        roi_model: periodic model of one ROI (``roi_cells`` × ``roi_cells`` cells).
        truth: field parameters (column positions ``xy`` with the displacement field).
        thickness_map: (ny, nx) true thickness per pixel [Å].
        data: noisy field image (ny, nx); clean: noise-free image.
        start: common ROI starting parameters (reference columns, mid-range thickness).
        cell: unit-cell side a [Å]; cells: field side in cells.
    """

    field_model: HRTEMModel = pytree.field(static=True)
    roi_model: HRTEMModel = pytree.field(static=True)
    truth: HRTEMParams = None
    thickness_map: Any = None
    data: Any = None
    clean: Any = None
    start: HRTEMParams = None
    cell: float = pytree.field(static=True, units="Å", default=0.0)
    cells: int = pytree.field(static=True, default=0)


def batio3_field(cells: int = 6, roi_cells: int = 2, repeats: int = 8, sampling: float = 0.25,
                 thickness_cells=(2.5, 6.5), ti_amplitude: float = 0.08, defocus: float = 80.0, Cs: float = -1.5e5,
                 focal_spread: float = 20.0, image_spread: float = 0.2, dose: float = 1e4, readout_noise: float = 1.0,
                 seed: int = 0, method: str = "envelope") -> FieldProblem:
    """A synthetic field for ROI fitting (lengths [Å], dose [e⁻/Å²]).

    Ti(+apical O) columns are displaced by the periodic field
    d(x, y) = ``ti_amplitude`` · (cos 2πx/L, sin 2πy/L) [Å] (L the field side), O and Ba columns stay
    put, so the true Ti–O displacement of each Ti column is d at its position. The thickness rises
    linearly along the diagonal from ``thickness_cells[0]`` to ``[1]`` unit cells. The field image
    is built in the column approximation: one multislice of the periodic field gives the exit
    waves at every unit-cell plane; each pixel takes the image at its own thickness (linear
    interpolation between planes, as in :class:`HRTEMModel`). Poisson + readout noise as in
    :func:`synthesize`.
    """
    fm = batio3_model(cells, repeats, sampling, method=method)
    rm = batio3_model(roi_cells, repeats, sampling, method=method)
    a = float(fm.lengths[0]) / cells
    ab = Aberrations(C10=-defocus, C30=Cs)
    truth = fm.default_params(ab, focal_spread=focal_spread, image_spread=image_spread)
    xy = np.array(fm.column_xy, float)
    lx, ly = fm.lengths
    for c, sp in enumerate(fm.column_species):
        if 22 in sp:
            xy[c] += ti_amplitude * np.array([np.cos(2 * np.pi * xy[c, 0] / lx), np.sin(2 * np.pi * xy[c, 1] / ly)])
    truth = truth.replace(xy=jnp.asarray(xy, fm.dtype))
    waves = fm.exit_waves(truth)
    planes = fm.unit_length * np.arange(1, repeats + 1)
    stack = jax.jit(jax.vmap(lambda t: fm._align(fm._intensity(waves, truth.replace(thickness=t)), truth)))(
        jnp.asarray(planes, fm.dtype))
    stack = np.asarray(stack, float)
    ny, nx = fm.gpts
    yy, xx = np.meshgrid(np.arange(ny) / ny, np.arange(nx) / nx, indexing="ij")
    t_cells = thickness_cells[0] + (thickness_cells[1] - thickness_cells[0]) * 0.5 * (yy + xx)
    i0, w = fm.plane_weights(t_cells * fm.unit_length, xp=np)
    rows, cols = np.indices((ny, nx))
    clean = (1 - w) * stack[i0, rows, cols] + w * stack[i0 + 1, rows, cols]
    data = np.asarray(synthesize(jax.random.PRNGKey(seed), jnp.asarray(np.maximum(clean, 0.0)), dose,
                                 fm.grid.sampling, readout_noise))
    start = rm.default_params(ab, thickness=0.5 * sum(thickness_cells) * rm.unit_length, focal_spread=focal_spread,
                              image_spread=image_spread)
    return FieldProblem(fm, rm, truth, t_cells * fm.unit_length, data, clean, start, a, cells)


def fit_field(fp: FieldProblem, stride: int = 1, steps: int = 30, log_every: int = 10) -> dict:
    """Split ``fp.data`` into overlapping ROIs, fit them in parallel (thickness + columns), stitch,
    and compare with the truth.

    Returns a dict: ``result`` (:class:`~jaxem.hrtem.roi.ROIResult`), ``stitched`` (from
    :func:`~jaxem.hrtem.roi.stitch_columns`), per ROI ``thickness_fit`` / ``thickness_true`` (mean
    over the ROI) [Å] and ``centres`` [Å]; per Ti column ``ti_xy``, ``d_fit``, ``d_true`` (n, 2) [Å];
    and scalar errors ``thickness_rms_cells``, ``thickness_max_cells``, ``d_rms`` and ``d_max`` [Å],
    ``time`` [s].
    """
    import time

    from .displacements import polar_displacements
    from .roi import fit_rois, split_rois, stitch_columns

    t0 = time.perf_counter()
    rm, fm = fp.roi_model, fp.field_model
    roi_cells = int(round(rm.lengths[0] / fp.cell))
    px = fm.gpts[0] // fp.cells
    rois, origins = split_rois(fp.data, (px, px), roi_cells, stride)
    tmaps, _ = split_rois(fp.thickness_map, (px, px), roi_cells, stride)
    res = fit_rois(rm, rois, fp.start, names=("thickness", "xy"), steps=steps, log_every=log_every, origins=origins)
    st = stitch_columns(rm, res, cell_size=(fp.cell, fp.cell))
    lengths = fm.lengths
    d_fit, ti_xy = polar_displacements(st["xy"], st["species"], lengths)
    d_ref, ti_ref = polar_displacements(np.asarray(fp.truth.xy), fm.column_species, lengths)
    # match each stitched Ti column to its true column (periodic nearest)
    dd = ti_xy[:, None] - ti_ref[None]
    dd -= np.asarray(lengths) * np.round(dd / np.asarray(lengths))
    match = np.argmin(np.hypot(dd[..., 0], dd[..., 1]), axis=1)
    d_true = d_ref[match]
    t_fit = np.asarray(res.params.thickness, float)
    t_true = tmaps.reshape(len(tmaps), -1).mean(axis=1)
    ok = res.ok
    dt = (t_fit - t_true)[ok] / fm.unit_length
    err = np.hypot(*(d_fit - d_true).T)
    return {"result": res, "stitched": st, "thickness_fit": t_fit, "thickness_true": t_true, "centres": st["centres"],
            "ti_xy": ti_xy, "d_fit": d_fit, "d_true": d_true,
            "thickness_rms_cells": float(np.sqrt(np.mean(dt**2))), "thickness_max_cells": float(np.max(np.abs(dt))),
            "d_rms": float(np.sqrt(np.mean(err**2))), "d_max": float(np.max(err)), "n_rois": len(rois),
            "n_ok": int(ok.sum()), "time": time.perf_counter() - t0}
