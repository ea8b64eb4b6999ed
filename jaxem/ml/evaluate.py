"""Acceptance metrics of detection and indexing on rendered images of (held-out) structures.

* :func:`detection_metrics`: at each dose [e⁻/px], ``n`` images rendered from a bank; the U-Net
  pipeline and the two baselines are matched one-to-one to the visible labels within ``radius`` px
  (:func:`jaxem.ml.peaks.match`); precision/recall/F1 pooled over images with a 95 % bootstrap interval over
  images (:func:`bootstrap_interval`), localisation RMSE [px] of matched U-Net spots, Friedel consistency of
  the U-Net spots; optionally one record per U-Net miss. :func:`detection_inputs` renders the set once so that
  detector variants are compared on the same images.
* :func:`label_ceiling`: the F1 that the label's own noise allows a detector reading a measured SNR.
* Difficult spots (:data:`DIFFICULT`): every score is also given *ignoring difficult spots*, the PASCAL VOC
  convention (Everingham et al., IJCV 88, 303 (2010)): a spot whose expected SNR lies in the band around the
  label's limit is a coin flip in any one noisy image (its measured SNR scatters by ≈ 0.7–1 around the expected
  one), so detecting it is neither rewarded nor penalised (:func:`jaxem.ml.peaks.match` ``ignore``). The strict
  scores (every label with expected SNR ≥ 5 counts) are kept beside them.
* :func:`indexing_metrics`: single-grain images; spots detected by the U-Net are indexed against
  candidate tables; phase and zone top-1 over images with ≥ 3 non-collinear visible spot pairs,
  largest d error (relative) and inter-spot angle error [deg] of the refined lattice against the true
  spot positions; cases flagged ambiguous are counted separately (``ambiguous``) and excluded from
  the top-1 denominators (they are reported, not hidden).
"""
from __future__ import annotations

import jax
import numpy as np

from .. import validate
from . import peaks as D
from .index import _angle, index_spots
from .lattice import _dose_from_magnitude, decide_on_lattice
from .render import RenderConfig, render_batch


#: Expected-SNR band [lo, hi) of difficult spots: the label's limit (SNR 5, :mod:`.render`) ± 1.5 units, about
#: 2 standard deviations of the measured SNR |S + N|/σ around S/σ (sd ≈ 0.7 for circular Gaussian noise, see
#: ``tests/ml/test_evaluate.py::test_local_snr_against_rayleigh_noise``). Fixed before any score was computed with it.
DIFFICULT = (3.5, 6.5)


@validate.typed
def split_difficult(spots, visible, snr, n: int | None = None, difficult=DIFFICULT,
                    render: RenderConfig = RenderConfig()):
    """(certain, difficult) boolean masks of one image's labelled spots (:class:`jaxem.ml.render.Sample` fields
    ``spots`` (S, 2) [px], ``visible`` (S,), ``snr`` (S,), an n × n FFT, n = ``render.n`` by default): *certain* are the visible spots with
    expected SNR ≥ ``difficult[1]``; *difficult* the spots inside the labelled region (``render.dc_radius``,
    ``render.edge``) whose expected SNR lies in [``difficult[0]``, ``difficult[1]``) (module docstring). Pass them
    to :func:`jaxem.ml.peaks.match` as ``true=spots[certain], ignore=spots[difficult]``."""
    lo, hi = _check_band(difficult)
    spots = D._points(spots, "spots")
    visible = np.asarray(validate.array(visible, "visible", shape=(len(spots),), kind="bool", min_size=0), bool)
    snr = np.asarray(validate.array(snr, "snr", kind="real", shape=(len(spots),), min_size=0), float)
    area = D._in_support(spots, render.n if n is None else n, dc_radius=render.dc_radius, edge=render.edge, r_max=np.inf)
    certain = visible & (snr >= hi)
    return certain, area & (snr >= lo) & ~certain


def _difficult_split(img, band, render: RenderConfig):
    return split_difficult(img["spots"], img["visible"], img["snr"], img["prob"].shape[0], band, render)


def _check_band(difficult):
    if difficult is None:
        return None
    v = np.asarray(difficult, float) if not isinstance(difficult, (str, bytes, dict)) else np.zeros(0)
    if v.shape != (2,) or not np.all(np.isfinite(v)) or not 0 <= v[0] <= v[1]:
        raise validate.InputError(f"difficult must be an expected-SNR band (lo, hi) with 0 ≤ lo ≤ hi, or None; got "
                                  f"{difficult!r}")
    return float(v[0]), float(v[1])


_IMAGE_KEYS = ("prob", "mag", "spots", "visible", "snr")


def _check_inputs(inputs) -> dict:
    """``inputs`` of :func:`detection_inputs`: a non-empty {dose [e⁻/px]: [image record, …]}."""
    if not isinstance(inputs, dict) or not inputs:
        raise validate.InputError(f"inputs must be a non-empty {{dose [e/px]: [image records]}} dict from "
                                  f"ml.evaluate.detection_inputs, got {type(inputs).__name__} {inputs!r:.80}")
    for dose, images in inputs.items():
        validate.scalar(dose, "inputs (dose key)", "e/px", positive=True)
        if isinstance(images, (str, bytes, dict)) or not hasattr(images, "__len__"):
            raise validate.InputError(f"inputs[{dose!r}] must be a list of image records, got {type(images).__name__}")
        for img in images:
            missing = [k for k in _IMAGE_KEYS if not isinstance(img, dict) or k not in img]
            if missing:
                raise validate.InputError(f"inputs[{dose!r}] holds an image record without {missing} (records come "
                                          f"from ml.evaluate.detection_inputs)")
    return inputs


def _pooled(counts, n_boot: int, band=None) -> dict:
    """Pooled {precision, recall, f1, ci95} of per-image (tp, fp, fn) rows (+ the difficult band when given)."""
    c = np.asarray(counts).reshape(-1, 3)
    out = {**D.scores(*(int(v) for v in c.sum(0))), "ci95": bootstrap_interval(c, n_boot)}
    return out if band is None else {**out, "band": list(band)}


def _batches(key, bank, n, cfg, chunk=8):
    out = []
    for i in range(0, n, chunk):
        key, sub = jax.random.split(key)
        out.append(jax.device_get(render_batch(sub, bank, min(chunk, n - i), cfg)))
    return out


@validate.typed
def detection_inputs(bank, doses=(2.0, 20.0, 100.0), n: int = 16, seed: int = 0, config=None, variables=None,
                     render: RenderConfig = RenderConfig()) -> dict:
    """The rendered evaluation set, once: {dose: [per-image dict]} with ``prob`` (U-Net map), ``mag`` (|F|),
    ``dose_est`` (the image's dose from its own shot noise, :func:`jaxem.ml.lattice.effective_dose`) [e⁻/px],
    ``spots`` (S, 2) [px], ``visible`` (S,), ``snr`` (S,), ``grain`` (S,), ``grains`` (number present). The same
    ``seed`` gives the same images (so post-processing variants are compared on identical inputs)."""
    if variables is None:
        from .train import load_default

        config, variables, _ = load_default()
    key = jax.random.PRNGKey(seed)
    out = {}
    for dose in doses:
        cfg = render.replace(dose=(float(dose), float(dose)))
        images = []
        for smp in _batches(jax.random.fold_in(key, int(dose * 1000)), bank, n, cfg):
            prob = np.asarray(D.probability(smp.fft, config, variables))
            for b in range(smp.fft.shape[0]):
                mag = np.asarray(_magnitude(smp.image[b]))
                images.append({"prob": prob[b], "mag": mag,
                               "dose_est": _dose_from_magnitude(mag, float(np.mean(smp.image[b]))),
                               "spots": np.asarray(smp.spots[b]), "visible": np.asarray(smp.visible[b]),
                               "snr": np.asarray(smp.snr[b]), "grain": np.asarray(smp.grain[b]),
                               "grains": int(np.sum(smp.present[b]))})
        out[float(dose)] = images
    return out


def bootstrap_interval(counts, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """Percentile bootstrap over images of the pooled scores: ``counts`` (I, 3) per-image (tp, fp, fn);
    images are resampled with replacement ``n_boot`` times → {precision, recall, f1: [lo, hi]}."""
    c = np.asarray(validate.array(counts, "counts", kind="real", min_size=0), float)
    if c.ndim != 2 or c.shape[1] != 3 or not np.all(np.isfinite(c)) or np.any(c < 0):
        raise validate.InputError(f"counts must be per-image (tp, fp, fn) of shape (I, 3), non-negative, got shape "
                                  f"{c.shape}")
    n_boot = validate.integer(n_boot, "n_boot", lo=1)
    level = validate.scalar(level, "level", lo=0.0, hi=1.0)
    if len(c) == 0:
        return {k: [float("nan")] * 2 for k in ("precision", "recall", "f1")}
    idx = np.random.default_rng(seed).integers(0, len(c), (n_boot, len(c)))
    tp, fp, fn = (c[:, j][idx].sum(1) for j in range(3))
    with np.errstate(invalid="ignore", divide="ignore"):
        s = {"precision": np.where(tp + fp > 0, tp / (tp + fp), 1.0),
             "recall": np.where(tp + fn > 0, tp / (tp + fn), 1.0),
             "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)}
    q = [100 * (1 - level) / 2, 100 * (1 + level) / 2]
    return {k: [float(v) for v in np.percentile(s[k], q)] for k in s}


def _local(img, pos, k, radius):
    """Descriptors of spot ``pos`` [px] in image record ``img``: distance to the centre, spots within 6 px."""
    n = img["prob"].shape[0]
    lab = img["spots"][img["visible"]]
    d_lab = np.linalg.norm(lab - pos, axis=1) if len(lab) else np.zeros(0)
    other = d_lab[d_lab > 1e-9]
    return {"row": float(pos[0]), "col": float(pos[1]), "r_centre": float(np.hypot(*(pos - n / 2))), "neighbours_6px": int(np.sum(other <= 6.0)),
            "nearest_visible_px": float(other.min()) if other.size else float("inf"),
            "visible_spots": int(len(lab)), "grains": img["grains"]}


@validate.typed
def detection_metrics(bank=None, doses=(2.0, 20.0, 100.0), n: int = 16, seed: int = 0, config=None, variables=None,
                      radius: float = 2.0, render: RenderConfig = RenderConfig(), threshold: float = D.THRESHOLD,
                      inputs=None, detector: dict | None = None, baselines: bool = True, n_boot: int = 2000,
                      details: bool = False, difficult=DIFFICULT, baseline_thresholds: dict | None = None,
                      ablations: bool = False) -> dict:
    """{dose: {'unet': {precision, recall, f1, ci95, rmse_px, friedel, ignoring_difficult}, 'peak_local_max': {…},
    'blob_log': {…}}}.

    Scores are pooled over images; ``ci95`` is the 95 % bootstrap interval over images
    (:func:`bootstrap_interval`). ``ignoring_difficult`` holds the same scores with the spots whose expected SNR lies
    in the band ``difficult`` (default :data:`DIFFICULT`; ``None`` leaves it out) treated as difficult (module
    docstring). ``inputs`` (from :func:`detection_inputs`) replaces rendering from ``bank``; ``detector`` are keyword
    options of :func:`jaxem.ml.peaks.peaks_from_probability`; ``baseline_thresholds`` {'peak_local_max' |
    'blob_log': thresholds k [robust σ]} adds one baseline per threshold, named 'peak_local_max@k' (the shipped
    defaults are always scored). ``details`` adds 'misses': one record per U-Net false negative (label SNR, grain,
    distance to the centre, crowding) and false positive (probability, robust z, distance to the nearest label of
    any SNR). ``ablations`` adds 'unet (no lattice)' (the U-Net pipeline without its lattice step,
    :mod:`jaxem.ml.lattice`) and 'peak_local_max+lattice' / 'blob_log+lattice' (the shipped baselines, Friedel
    filtered, followed by the same lattice step without the U-Net probability; only when every record carries
    its ``dose_est``): what the network and what the lattice step each contribute."""
    band = _check_band(difficult)
    extra = {}
    for name, ks in (baseline_thresholds or {}).items():
        if name not in ("peak_local_max", "blob_log"):
            raise validate.InputError(f"baseline_thresholds keys must be 'peak_local_max' or 'blob_log', got {name!r}")
        ks = validate.array(np.atleast_1d(ks) if not isinstance(ks, (str, bytes, dict)) else ks,
                            f"baseline_thresholds[{name!r}]", ndim=1, kind="real", units="robust σ")
        for k in np.asarray(ks, float):
            extra[f"{name}@{validate.scalar(k, f'baseline_thresholds[{name!r}]', positive=True):g}"] = (name, k)
    if inputs is None:
        inputs = detection_inputs(bank, doses, n, seed, config, variables, render)
    _check_inputs(inputs)
    opts = {"threshold": threshold, **(detector or {})}
    methods = (("unet", "peak_local_max", "blob_log") + tuple(extra)) if baselines else ("unet",)
    with_dose = all(img.get("dose_est") is not None for images in inputs.values() for img in images)
    if ablations:  # the baselines + lattice step need each image's dose (records of detection_inputs carry it)
        methods += ("unet (no lattice)",) + (("peak_local_max+lattice", "blob_log+lattice") if baselines and with_dose
                                             else ())
    detect = {"peak_local_max": D.detect_peak_local_max, "blob_log": D.detect_blob_log}
    results = {}
    for dose, images in inputs.items():
        counts = {m: [] for m in methods}
        easy = {m: [] for m in methods}
        dists, friedel, misses = [], [], []
        for i, img in enumerate(images):
            true = img["spots"][img["visible"]]
            found = {"unet": D.peaks_from_probability(img["prob"], img["mag"], **{"dose": img.get("dose_est"), **opts})[0]}
            if baselines:
                found["peak_local_max"] = D.detect_peak_local_max(img["mag"])[0]
                found["blob_log"] = D.detect_blob_log(img["mag"])[0]
                for m, (name, k) in extra.items():
                    found[m] = detect[name](img["mag"], k=k)[0]
            if ablations:
                found["unet (no lattice)"] = D.peaks_from_probability(img["prob"], img["mag"],
                                                                      **{**opts, "lattice": False})[0]
                if baselines and with_dose:
                    for name in ("peak_local_max", "blob_log"):
                        pos, sc = D.friedel_filter(*detect[name](img["mag"]), img["mag"].shape[0])
                        found[f"{name}+lattice"] = decide_on_lattice(pos, sc, np.zeros_like(img["prob"]), img["mag"],
                                                                     img["dose_est"], prob_weight=0.0)[0]
            if band is not None:
                certain, hard = _difficult_split(img, band, render)
            for m, pos in found.items():
                *t, d = D.match(pos, true, radius)
                counts[m].append(t)
                if m == "unet":
                    dists.append(d)
                if band is not None:
                    easy[m].append(D.match(pos, img["spots"][certain], radius, ignore=img["spots"][hard])[:3])
            pos = found["unet"]
            friedel.append((D.friedel_consistency(pos), len(pos)))
            if details:
                misses += _misses(img, pos, true, radius, i)
        res = {}
        for m in methods:
            res[m] = {**_pooled(counts[m], n_boot), "images": len(counts[m])}
            if band is not None:
                res[m]["ignoring_difficult"] = _pooled(easy[m], n_boot, band)
        dd = np.concatenate(dists) if dists else np.zeros(0)
        res["unet"]["rmse_px"] = float(np.sqrt(np.mean(dd**2))) if dd.size else float("nan")
        wsum = sum(w for _, w in friedel)
        res["unet"]["friedel"] = float(sum(f * w for f, w in friedel) / wsum) if wsum else 1.0
        if details:
            res["misses"] = misses
        results[float(dose)] = res
    return results


@validate.typed
def label_ceiling(inputs, snr_min: float = 5.0, n_boot: int = 2000, difficult=DIFFICULT,
                  render: RenderConfig = RenderConfig()) -> dict:
    """F1 of an oracle that knows every spot's exact position (labelled or not) and calls it visible when the
    *measured* SNR (:func:`jaxem.ml.peaks._local_snr`) is ≥ ``snr_min``: {dose: {precision, recall, f1, ci95,
    ignoring_difficult}}.

    The label is the *expected* SNR ≥ 5 (:mod:`.render`); one image shows only a noisy realisation of it (the
    measured |S + N|/σ has a spread ≈ 0.7–1 around S/σ), so spots near the limit are coin flips for any detector
    that reads them off this image. This oracle has perfect localisation and no missed peaks; its F1 estimates the
    ceiling that the label's own noise sets on a detector thresholding a measured SNR. ``ignoring_difficult``: the
    same oracle scored with the difficult spots of ``difficult`` ignored (module docstring)."""
    band = _check_band(difficult)
    _check_inputs(inputs)
    out = {}
    for dose, images in inputs.items():
        counts, easy = [], []
        for img in images:
            snr = D._local_snr(img["mag"])
            n = snr.shape[0]
            cand = (img["snr"] > 0.5) & D._in_support(img["spots"], n)
            r, c = np.clip(np.round(img["spots"][cand]).astype(int), 0, n - 1).T
            call, vis = snr[r, c] >= snr_min, img["visible"][cand]
            tp = int(np.sum(call & vis))
            counts.append((tp, int(np.sum(call & ~vis)), int(np.sum(vis)) - tp))
            if band is not None:
                certain, hard = (m[cand] for m in _difficult_split(img, band, render))
                tp = int(np.sum(call & certain))
                easy.append((tp, int(np.sum(call & ~certain & ~hard)), int(np.sum(certain)) - tp))
        out[float(dose)] = _pooled(counts, n_boot)
        if band is not None:
            out[float(dose)]["ignoring_difficult"] = _pooled(easy, n_boot, band)
    return out


def _misses(img, pos, true, radius, i):
    """False negatives and false positives of one image (see :func:`detection_metrics`)."""
    vis = np.flatnonzero(img["visible"])
    r, c, _ = D._pairs_within(np.asarray(pos, float).reshape(-1, 2), np.asarray(true, float).reshape(-1, 2), radius)
    matched_p, matched_t = set(r.tolist()), set(c.tolist())
    out = []
    z = D.robust_z(img["mag"])
    n = z.shape[0]
    for j, s in enumerate(vis):
        if j in matched_t:
            continue
        p = img["spots"][s]
        ri, ci = (int(np.clip(round(v), 0, n - 1)) for v in p)
        out.append({"kind": "fn", "image": i, "snr": float(img["snr"][s]), "grain": int(img["grain"][s]),
                    "p": float(img["prob"][max(ri - 1, 0):ri + 2, max(ci - 1, 0):ci + 2].max()),
                    "z": float(z[max(ri - 1, 0):ri + 2, max(ci - 1, 0):ci + 2].max()), **_local(img, p, s, radius)})
    everything = img["spots"][img["snr"] > 0]
    for j, p in enumerate(pos):
        if j in matched_p:
            continue
        ri, ci = (int(np.clip(round(v), 0, n - 1)) for v in p)
        dl = np.linalg.norm(everything - p, axis=1)
        k = int(np.argmin(dl)) if len(dl) else -1
        out.append({"kind": "fp", "image": i, "p": float(img["prob"][ri, ci]), "z": float(z[ri, ci]),
                    "nearest_label_px": float(dl[k]) if k >= 0 else float("inf"),
                    "nearest_label_snr": float(img["snr"][img["snr"] > 0][k]) if k >= 0 else 0.0,
                    "nearest_spot_px": float(np.delete(np.linalg.norm(pos - p, axis=1), j).min(initial=np.inf)),
                    **_local(img, p, None, radius)})
    return out


def _magnitude(image):
    from .render import fft_input

    return fft_input(image)[1]


def _pairs(g):
    half = g[(g[:, 0] > 1e-12) | ((np.abs(g[:, 0]) <= 1e-12) & (g[:, 1] > 0))]
    return sum(1 for i in range(len(half)) for j in range(i + 1, len(half)) if 10.0 <= _angle(half[i], half[j]) <= 170.0)


@validate.typed
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
                mag = np.asarray(_magnitude(smp.image[b]))
                pos = D.peaks_from_probability(prob[b], mag, dose=_dose_from_magnitude(mag, float(np.mean(smp.image[b]))))[0]
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
