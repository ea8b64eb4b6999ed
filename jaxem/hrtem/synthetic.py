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

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from ..optics import Aberrations
from ..structure import crystals
from .model import HRTEMModel, synthesize


class Problem(NamedTuple):
    """Model, true parameters, noisy data, noise-free image and the starting guess."""

    model: HRTEMModel
    truth: dict
    data: jnp.ndarray
    clean: jnp.ndarray
    start: dict


def batio3_model(cells: int = 3, repeats: int = 8, sampling: float = 0.1, method: str = "envelope",
                 n_focal: int = 8, precision: str = "float32", n_tilt: int = 3) -> HRTEMModel:
    """Periodic BaTiO3 [001] model of cells × cells × ``repeats`` unit cells at ``sampling`` [Å]."""
    s = crystals.BaTiO3().repeat(cells, cells, repeats)
    return HRTEMModel(s, 300e3, sampling=sampling, slice_thickness=2.1, method=method, n_focal=n_focal,
                      n_tilt=n_tilt, precision=precision)


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
                   start_offsets: dict | None = None, seed: int = 0, precision: str = "float32") -> Problem:
    """Build the synthetic problem (see the module docstring; lengths [Å], dose [e⁻/Å²]).

    ``start_offsets`` (added to the truth for the starting guess) default to: defocus +40 Å (4 nm),
    Cs +3e4 Å (3 µm), A1 → (0, 0), thickness −2 cells; column positions start at the undisplaced
    reference.
    """
    model = batio3_model(cells, repeats, sampling, method, n_focal, precision)
    ab = Aberrations(C10=-defocus, C30=Cs, C12=float(np.hypot(*A1)), phi12=float(np.arctan2(A1[1], A1[0]) / 2))
    truth = model.default_params(ab, thickness=thickness_cells * model.unit_length, focal_spread=focal_spread,
                                 image_spread=image_spread)
    truth["xy"] = jnp.asarray(displaced_columns(model, ti_shift, o_shift, jitter, seed), model.dtype)
    clean = model.render(truth)
    data = synthesize(jax.random.PRNGKey(seed), jnp.maximum(clean, 0.0), dose, model.grid.sampling, readout_noise)
    off = {"defocus": 40.0, "Cs": 3e4, "thickness": -2 * model.unit_length}
    off.update(start_offsets or {})
    start = dict(truth)
    for k, v in off.items():
        start[k] = jnp.asarray(np.asarray(truth[k]) + v, model.dtype)
    start["A1"] = jnp.zeros(2, model.dtype)
    start["xy"] = jnp.asarray(model.column_xy, model.dtype)
    return Problem(model, truth, data, clean, start)


def errors(model: HRTEMModel, fitted: dict, truth: dict) -> dict:
    """Fit errors: defocus, Cs, |ΔA1| [Å], thickness [unit cells], column RMS [Å], Ti–O displacement [Å]."""
    from .displacements import polar_displacements

    xy_f, xy_t = np.asarray(fitted["xy"], float), np.asarray(truth["xy"], float)
    d_f, _ = polar_displacements(xy_f, model.column_species, model.lengths)
    d_t, _ = polar_displacements(xy_t, model.column_species, model.lengths)
    return {
        "defocus": abs(float(fitted["defocus"]) - float(truth["defocus"])),
        "Cs": abs(float(fitted["Cs"]) - float(truth["Cs"])),
        "A1": float(np.hypot(*(np.asarray(fitted["A1"], float) - np.asarray(truth["A1"], float)))),
        "thickness_cells": abs(float(fitted["thickness"]) - float(truth["thickness"])) / model.unit_length,
        "columns_rms": float(np.sqrt(np.mean(np.sum((xy_f - xy_t) ** 2, axis=1)))),
        "ti_o_max": float(np.max(np.abs(d_f - d_t))),
        "ti_o_mean_error": np.abs(d_f.mean(0) - d_t.mean(0)).tolist(),
    }
