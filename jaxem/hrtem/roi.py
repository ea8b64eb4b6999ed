"""Regions of interest: split a large image into overlapping ROIs, fit them together, stitch.

A field of view of (Ny, Nx) unit cells is cut into ROIs of ``roi_cells`` × ``roi_cells`` cells with a
stride of ``stride`` cells (overlap = roi_cells − stride). Every ROI is fitted with the same periodic
:class:`~jaxem.hrtem.model.HRTEMModel` (its supercell = one ROI), so all ROIs run as one batch:
``vmap`` over the ROI axis of the data and of the optimiser state (and, with several devices, the
ROI axis is sharded over a 1-D mesh). Per ROI: a thickness scan over the exit planes (vectorised)
picks the start, then L-BFGS refines thickness, positions and the chosen parameters.

Stitching: each ROI column is mapped to its global column (ROI origin + local reference position);
overlapping estimates are averaged with weights exp(−r²/2w²), r the distance to the ROI centre, so
ROI edges count less. ROIs whose data contain NaN/inf, whose loss is non-finite, or whose loss
exceeds ``fail_factor`` × the median are marked failed, reported, and left out of the stitch.
"""
from __future__ import annotations

import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import pytree, validate
from .gradient import check_model, gradient_fitter, history_array, init_states, make_objective, run_steps
from .losses import get_loss
from .params import Bounds, from_unconstrained, merge, names_of, select, to_unconstrained


def split_rois(image, cell_pixels, roi_cells: int, stride: int):
    """Cut ``image`` (Ny·py, Nx·px) into ROIs of roi_cells² cells every ``stride`` cells.

    Args:
        image: (ny, nx) real array whose size is a whole number of cells (NaN pixels are allowed:
            :func:`fit_rois` reports and skips the ROIs that hold them).
        cell_pixels: (py, px) pixels per unit cell (integers ≥ 1).
        roi_cells: ROI side in cells, ≥ 1.
        stride: step between ROIs in cells, in 1…roi_cells (< roi_cells for overlap).
    Returns:
        (rois (R, roi_cells·py, roi_cells·px), origins (R, 2) in cells (row, col)).
    """
    validate.array(image, "image", ndim=2, kind="real", finite=False)
    img = np.asarray(image)
    py, px = validate.pair(cell_pixels, "cell_pixels", kind=int, lo=1)
    roi_cells = validate.integer(roi_cells, "roi_cells", lo=1)
    stride = validate.integer(stride, "stride", lo=1, hi=roi_cells)
    if img.shape[0] % py or img.shape[1] % px:
        raise validate.InputError(f"image shape {img.shape} must be a whole number of cells of {py}×{px} pixels "
                                  f"(cell_pixels)")
    ncy, ncx = img.shape[0] // py, img.shape[1] // px
    if roi_cells > min(ncy, ncx):
        raise validate.InputError(f"roi_cells={roi_cells} exceeds the field of {ncy}×{ncx} cells")
    ys = list(range(0, ncy - roi_cells + 1, stride))
    xs = list(range(0, ncx - roi_cells + 1, stride))
    if ys[-1] != ncy - roi_cells:
        ys.append(ncy - roi_cells)
    if xs[-1] != ncx - roi_cells:
        xs.append(ncx - roi_cells)
    origins = np.array([(y, x) for y in ys for x in xs])
    rois = np.stack([img[y * py:(y + roi_cells) * py, x * px:(x + roi_cells) * px] for y, x in origins])
    return rois, origins


@pytree.dataclass
class ROIResult:
    """Per-ROI fits and their status.

    Attributes:
        params: fitted :class:`~jaxem.hrtem.HRTEMParams` stacked along a leading ROI axis.
        losses: (R,) final losses (NaN for ROIs not fitted).
        ok: (R,) bool, False for failed ROIs.
        origins: (R, 2) ROI origins in cells.
        history: (n, 3) rows (wall time [s], evaluations, median loss).
        messages: per-ROI status strings (static).
    """

    params: Any
    losses: Any
    ok: Any
    origins: Any
    history: Any
    messages: tuple = pytree.field(static=True, default=())


@functools.partial(jax.jit, static_argnames=("render", "loss"))
def _thickness_losses(data, params, thicknesses, render, loss):
    """(R, T) loss of every ROI at each thickness (other parameters from ``params``)."""

    def per_roi(d):
        return jax.vmap(lambda t: loss(render(params.replace(thickness=t)), d))(thicknesses)

    return jax.lax.map(per_roi, data)


@validate.typed
def fit_rois(model, rois, params, names=("thickness", "xy"), bounds: Bounds | None = None, loss="l2",
             steps: int = 40, log_every: int = 10, thickness_scan: bool = True, fail_factor: float = 5.0,
             shard: bool = True, origins=None) -> ROIResult:
    """Fit every ROI (R, ny, nx) with ``model`` from the common start ``params`` (batched).

    Args:
        model: periodic :class:`~jaxem.hrtem.HRTEMModel` whose grid equals one ROI.
        rois: (R, ny, nx) data; ROIs holding NaN/inf are not fitted and are reported.
        params: common starting :class:`~jaxem.hrtem.HRTEMParams`.
        names: free parameters (per ROI).
        bounds: bounds of ``names`` (default ``model.default_bounds``).
        loss: loss name or callable.
        steps: L-BFGS steps, ≥ 1.
        log_every: steps per compiled chunk between log entries, ≥ 1.
        thickness_scan: start each ROI at its best exit-plane thickness.
        fail_factor: ROIs with loss > fail_factor × median are marked failed, > 0.
        shard: shard the ROI axis over the available devices when it divides evenly.
        origins: (R, 2) ROI origins in cells (from :func:`split_rois`), kept in the result.
    """
    check_model(model)
    validate.array(rois, "rois", ndim=3, shape=(None,) + tuple(model.gpts), kind="real", finite=False)
    model.check_params(params)
    steps = validate.integer(steps, "steps", lo=1)
    log_every = validate.integer(log_every, "log_every", lo=1)
    fail_factor = validate.scalar(fail_factor, "fail_factor", positive=True)
    rois = np.asarray(rois, float)
    n = rois.shape[0]
    if origins is not None:
        validate.array(origins, "origins", shape=(n, 2), kind="real")
    messages = ["ok"] * n
    finite = np.all(np.isfinite(rois), axis=(1, 2))
    for i in np.flatnonzero(~finite):
        count, first = validate.finite_report(rois[i])
        messages[i] = f"ROI {i}: data contain {count} NaN/inf pixels (first at {first}); not fitted"
    data = jnp.asarray(np.where(np.isfinite(rois), rois, 0.0), model.dtype)
    names = names_of(select(params, names))
    bounds = model.default_bounds(params, names) if bounds is None else bounds.validate().subset(names)
    bounds.check(params, "params (start)")
    lossf = get_loss(loss)
    t0 = time.perf_counter()
    starts = jax.tree.map(lambda v: jnp.repeat(jnp.asarray(v)[None], n, axis=0), params)
    if thickness_scan and "thickness" in names:
        ts = model.unit_length * np.arange(1, model.repeats + 1)
        ts = np.clip(ts, np.asarray(bounds.lower.thickness) + 1e-3 * model.unit_length,
                     np.asarray(bounds.upper.thickness) - 1e-3 * model.unit_length)
        grid_losses = _thickness_losses(data, params, jnp.asarray(ts, model.dtype), model._render_impl, lossf)
        starts = starts.replace(thickness=jnp.asarray(ts, model.dtype)[jnp.argmin(grid_losses, axis=1)])

    fitter = gradient_fitter(make_objective(model._render_impl, lossf), "lbfgs", steps=steps)
    z0 = jax.vmap(lambda s: to_unconstrained(s, bounds))(select(starts, names))
    if shard and len(jax.devices()) > 1 and n % len(jax.devices()) == 0:
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        mesh = Mesh(np.array(jax.devices()), ("roi",))
        sh = NamedSharding(mesh, PartitionSpec("roi"))
        data = jax.device_put(data, sh)
        z0 = jax.device_put(z0, sh)
    inputs, axes = (data, params, bounds), (0, None, None)
    state = init_states(z0, inputs, fitter, axes)
    history = [(time.perf_counter() - t0, n, float(np.median(np.asarray(state.best_loss))))]
    done = 0
    while done < steps:
        state = run_steps(state, inputs, fitter, log_every, axes)
        done += log_every
        history.append((time.perf_counter() - t0, n * (done + 1), float(np.median(np.asarray(state.best_loss)))))
    losses = np.asarray(state.best_loss, float)
    fitted = jax.vmap(lambda z: from_unconstrained(z, bounds))(state.best_z)
    full = merge(starts, fitted)
    ok = finite & np.isfinite(losses)
    med = np.median(losses[ok]) if ok.any() else np.nan
    for i in range(n):
        if not finite[i]:
            continue
        if not np.isfinite(losses[i]):
            messages[i] = f"ROI {i}: loss is not finite"
            ok[i] = False
        elif losses[i] > fail_factor * med:
            messages[i] = f"ROI {i}: loss {losses[i]:.4g} > {fail_factor} × median {med:.4g}; fit failed"
            ok[i] = False
    losses = np.where(finite, losses, np.nan)
    origins = np.zeros((n, 2), int) if origins is None else np.asarray(origins, int)
    return ROIResult(full, losses, ok, origins, history_array(history), tuple(messages))


@validate.typed
def stitch_columns(model, result: ROIResult, origins=None, cell_size=(1.0, 1.0), width_cells: float = 1.0) -> dict:
    """Merge per-ROI column positions into one field of columns (weighted over overlaps).

    Args:
        model: the per-ROI model (its reference columns and species).
        result: :class:`ROIResult` from :func:`fit_rois`.
        origins: (R, 2) ROI origins in cells (row, col) (default: ``result.origins``).
        cell_size: (ax, ay) unit-cell size [Å], > 0.
        width_cells: weight width w in cells, > 0.
    Returns:
        dict with ``xy`` (G, 2) global column positions [Å], ``species`` (list of G), ``weight`` (G,),
        ``count`` (G,) number of ROIs that contributed, and ``thickness`` per ROI [Å] with ``centres``.
    """
    origins = result.origins if origins is None else origins
    validate.array(origins, "origins", shape=(len(result.ok), 2), kind="real")
    ax, ay = validate.pair(cell_size, "cell_size", "Å", positive=True)
    width_cells = validate.scalar(width_cells, "width_cells", positive=True)
    ref = np.asarray(model.column_xy)
    lx, ly = model.lengths
    centre = np.array([lx / 2, ly / 2])
    xy_fit = np.asarray(result.params.xy, float)
    keys, acc, wsum, cnt, species = {}, [], [], [], []
    for r, (oy, ox) in enumerate(np.asarray(origins)):
        if not result.ok[r]:
            continue
        shift = np.array([ox * ax, oy * ay])
        for c in range(len(ref)):
            key = tuple(np.round((ref[c] + shift) / 0.05).astype(int))
            dist = np.hypot(*(ref[c] - centre)) / ax
            w = np.exp(-0.5 * (dist / width_cells) ** 2)
            if key not in keys:
                keys[key] = len(acc)
                acc.append(np.zeros(2))
                wsum.append(0.0)
                cnt.append(0)
                species.append(model.column_species[c])
            g = keys[key]
            acc[g] = acc[g] + w * (xy_fit[r, c] + shift)
            wsum[g] += w
            cnt[g] += 1
    wsum = np.asarray(wsum)
    xy = np.asarray(acc) / wsum[:, None] if acc else np.zeros((0, 2))
    centres = np.array([[ox * ax + lx / 2, oy * ay + ly / 2] for oy, ox in np.asarray(origins)])
    return {"xy": xy, "species": species, "weight": wsum, "count": np.asarray(cnt),
            "thickness": np.asarray(result.params.thickness, float), "centres": centres}


def stack_params(params_list):
    """Stack a list of parameter sets along a new leading axis."""
    return jax.tree.map(lambda *v: jnp.stack(v), *params_list)
