"""Acceptance metrics of detection and indexing on rendered images of (held-out) structures.

* :func:`detection_metrics`: at each dose [e⁻/px], ``n`` images rendered from a bank; the U-Net
  pipeline and the two baselines are matched one-to-one to the visible labels within ``radius`` px
  (:func:`jaxem.ml.peaks.match`); precision/recall/F1 pooled over images, localisation RMSE [px]
  of matched U-Net spots, Friedel consistency of the U-Net spots.
* :func:`indexing_metrics`: single-grain images; spots detected by the U-Net are indexed against
  candidate tables; phase and zone top-1 over images with ≥ 3 non-collinear visible spot pairs,
  largest d error (relative) and inter-spot angle error [deg] of the refined lattice against the true
  spot positions; cases flagged ambiguous are counted separately (``ambiguous``) and excluded from
  the top-1 denominators (they are reported, not hidden).
"""
from __future__ import annotations

import jax
import numpy as np

from . import peaks as D
from .index import _angle, index_spots
from .render import RenderConfig, render_batch


def _batches(key, bank, n, cfg, chunk=8):
    out = []
    for i in range(0, n, chunk):
        key, sub = jax.random.split(key)
        out.append(jax.device_get(render_batch(sub, bank, min(chunk, n - i), cfg)))
    return out


def detection_metrics(bank, doses=(2.0, 20.0, 100.0), n: int = 16, seed: int = 0, config=None, variables=None,
                      radius: float = 2.0, render: RenderConfig = RenderConfig(), threshold: float = D.THRESHOLD) -> dict:
    """{dose: {'unet': {precision, recall, f1, rmse_px, friedel}, 'peak_local_max': {…}, 'blob_log': {…}}}."""
    if variables is None:
        from .train import load_default

        config, variables, _ = load_default()
    results = {}
    key = jax.random.PRNGKey(seed)
    for dose in doses:
        cfg = render.replace(dose=(float(dose), float(dose)))
        tallies = {m: [0, 0, 0] for m in ("unet", "peak_local_max", "blob_log")}
        dists, friedel = [], []
        for smp in _batches(jax.random.fold_in(key, int(dose * 1000)), bank, n, cfg):
            prob = np.asarray(D.probability(smp.fft, config, variables))
            for b in range(smp.fft.shape[0]):
                true = np.asarray(smp.spots[b])[np.asarray(smp.visible[b])]
                mag = np.asarray(_magnitude(smp.image[b]))
                found = {"unet": D.peaks_from_probability(prob[b], mag, threshold=threshold)[0],
                         "peak_local_max": D.detect_peak_local_max(mag)[0], "blob_log": D.detect_blob_log(mag)[0]}
                for m, pos in found.items():
                    tp, fp, fn, d = D.match(pos, true, radius)
                    t = tallies[m]
                    t[0] += tp
                    t[1] += fp
                    t[2] += fn
                    if m == "unet":
                        dists.append(d)
                        friedel.append((D.friedel_consistency(pos), len(pos)))
        res = {m: D.scores(*t) for m, t in tallies.items()}
        dd = np.concatenate(dists) if dists else np.zeros(0)
        res["unet"]["rmse_px"] = float(np.sqrt(np.mean(dd**2))) if dd.size else float("nan")
        wsum = sum(w for _, w in friedel)
        res["unet"]["friedel"] = float(sum(f * w for f, w in friedel) / wsum) if wsum else 1.0
        results[float(dose)] = res
    return results


def _magnitude(image):
    from .render import fft_input

    return fft_input(image)[1]


def _pairs(g):
    half = g[(g[:, 0] > 1e-12) | ((np.abs(g[:, 0]) <= 1e-12) & (g[:, 1] > 0))]
    return sum(1 for i in range(len(half)) for j in range(i + 1, len(half)) if 10.0 <= _angle(half[i], half[j]) <= 170.0)


def indexing_metrics(bank, names, cands, n: int = 16, dose: float = 50.0, seed: int = 1, config=None,
                     variables=None, render: RenderConfig = RenderConfig(), use_labels: bool = False) -> dict:
    """Phase / zone top-1, d and angle errors (see module docstring). ``names[e]`` = (structure id, uvw)
    of bank entry e; ``use_labels`` indexes the true visible spots instead of the detected ones."""
    if variables is None and not use_labels:
        from .train import load_default

        config, variables, _ = load_default()
    cfg = render.replace(dose=(float(dose), float(dose)), p_two_grains=0.0)
    rows = []
    for smp in _batches(jax.random.PRNGKey(seed), bank, n, cfg):
        prob = None if use_labels else np.asarray(D.probability(smp.fft, config, variables))
        for b in range(smp.fft.shape[0]):
            vis = np.asarray(smp.visible[b]) & (np.asarray(smp.grain[b]) == 0)
            true = np.asarray(smp.spots[b])[vis]
            truth = names[int(smp.entry[b][0])]
            if use_labels:
                pos = true
            else:
                pos = D.peaks_from_probability(prob[b], np.asarray(_magnitude(smp.image[b])))[0]
            g = D.to_g(pos)
            eligible = _pairs(D.to_g(true)) >= 3
            grains = index_spots(g, cands) if len(g) else []
            row = {"truth": truth, "eligible": eligible, "phase_ok": False, "zone_ok": False, "ambiguous": False,
                   "d_err": np.nan, "angle_err": np.nan}
            if grains:
                G = grains[0]
                row.update(phase=G.phase, uvw=G.uvw, ambiguous=G.ambiguous, phase_ok=G.phase == truth[0],
                           zone_ok=(G.phase, tuple(G.uvw)) == (truth[0], tuple(truth[1])))
                # true positions of the grain's spots (nearest visible label)
                p = pos[G.spots]
                d = np.linalg.norm(p[:, None] - true[None], axis=-1)
                near = d.argmin(1)
                ok = d[np.arange(len(p)), near] <= 2.0
                if ok.sum() >= 2:
                    table = cands.tables[cands.names.index((G.phase, tuple(G.uvw)))]
                    pred = table.g[_rows(cands, G)][ok] @ G.matrix.T
                    gt = D.to_g(true[near[ok]])
                    row["d_err"] = float(np.max(np.abs(np.linalg.norm(gt, axis=1) / np.linalg.norm(pred, axis=1) - 1)))
                    row["angle_err"] = float(max((abs(_angle(pred[i], pred[j]) - _angle(gt[i], gt[j]))
                                                  for i in range(len(pred)) for j in range(i + 1, len(pred))), default=0))
            rows.append(row)
    el = [r for r in rows if r["eligible"] and not r["ambiguous"]]
    amb = [r for r in rows if r["eligible"] and r["ambiguous"]]
    return {"n": len(rows), "eligible": len(el) + len(amb), "ambiguous": len(amb),
            "phase_top1": float(np.mean([r["phase_ok"] for r in el])) if el else float("nan"),
            "zone_top1": float(np.mean([r["zone_ok"] for r in el])) if el else float("nan"),
            "ambiguous_phase_top1": float(np.mean([r["phase_ok"] for r in amb])) if amb else float("nan"),
            "d_err_median": float(np.nanmedian([r["d_err"] for r in el])) if el else float("nan"),
            "d_err_p90": float(np.nanpercentile([r["d_err"] for r in el], 90)) if el else float("nan"),
            "angle_err_median_deg": float(np.nanmedian([r["angle_err"] for r in el])) if el else float("nan"),
            "angle_err_p90_deg": float(np.nanpercentile([r["angle_err"] for r in el], 90)) if el else float("nan"),
            "rows": rows}


def _rows(cands, G):
    from .index import _rows as rows_of

    return rows_of(cands.tables[cands.names.index((G.phase, tuple(G.uvw)))], G.hkl)
