"""Benchmark and acceptance metrics of the FFT-spot U-Net, the baselines and the indexer on held-out
structures (never seen in training: :func:`jaxem.ml.library.split`). Writes benchmarks/results/ffnet.json.

* held-out set: the first zone axis that simulates of each held-out structure (≤ 24 atoms), ``--zones`` of them;
* detection P/R/F1 at 2, 20, 100 e⁻/px (match radius 2 px), U-Net pipeline (with its lattice step, the image's dose
  estimated from its own shot noise: :mod:`jaxem.ml.lattice`) vs ``peak_local_max`` and ``blob_log``; ablations:
  the U-Net pipeline without the lattice step and the baselines followed by the lattice step; each with a 95 % percentile-bootstrap interval over images (``ci95``; 2,000 resamples);
  U-Net localisation RMSE [px] and Friedel consistency; ``--misses`` adds a breakdown of the U-Net's false
  negatives / positives by label SNR, grain count, crowding and distance to the centre;
* every score twice: strict (every label with expected SNR ≥ 5 counts) and ``ignoring_difficult`` (spots with
  expected SNR in :data:`jaxem.ml.evaluate.DIFFICULT` = [3.5, 6.5) neither rewarded nor penalised, the PASCAL VOC
  convention); the baselines at their shipped thresholds and at a sweep of thresholds (``peak_local_max@k``,
  ``blob_log@k``), whose best F1 *chosen on the held-out set itself* is the "best baseline in hindsight" that the
  U-Net margin is also reported against (``margins``);
* ``label_ceiling``: F1 of an oracle with exact spot positions that calls a spot visible when its measured SNR
  is ≥ 5 (:func:`jaxem.ml.evaluate.label_ceiling`): the ceiling the label's own noise sets;
* indexing phase/zone top-1 (≥ 3 non-collinear visible pairs), d and angle errors, ambiguous cases,
  against a candidate set of held-out + training structures;
* throughput: FFTs/s through the U-Net at 256² (batch 8) and images/s of the simulate-and-train step.

    python benchmarks/ffnet.py            # 8 held-out zones, 64 images per dose (16 for indexing)
    python benchmarks/ffnet.py --smoke    # 2 zones, 4 images per dose (checks it runs)
    python benchmarks/ffnet.py --throughput-only   # the throughput rows alone (benchmarks/gpu/run_on_device.sh)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from _common import median_time, print_table, write_results  # noqa: E402


def held_out_bank(n_zones: int, max_atoms: int = 24, per_structure: int = 1):
    from jaxem.ml import bank, library

    _, held = library.split(library.list_structures(max_atoms=max_atoms))
    banks, names = [], []
    for sid in held:
        s = library.get_structure(sid)
        for uvw in library.zone_axes(s, max_sum=3)[:per_structure]:
            if len(names) >= n_zones:
                break
            try:
                b, _ = bank.simulate_zone(s, uvw, entry=len(names))
            except ValueError:
                continue
            banks.append(b)
            names.append((sid, tuple(uvw)))
        if len(names) >= n_zones:
            break
    return bank.Bank.concatenate(banks), names


def candidate_tables(names, n_confusers: int):
    from jaxem.ml import index, kinematic, library

    train_ids, _ = library.split(library.list_structures(max_atoms=24))
    ids = sorted({n[0] for n in names}) + train_ids[:n_confusers]
    tables = {}
    for sid in ids:
        s = library.get_structure(sid)
        for uvw in library.zone_axes(s, max_sum=3):
            try:
                frame = kinematic.zone_frame(s, uvw) if (sid, tuple(uvw)) in names else None
                tables[(sid, tuple(uvw))] = kinematic.zone_table(s, uvw, frame=frame)
            except ValueError:
                continue
    return index.candidates(tables)


def miss_summary(records) -> dict:
    """The U-Net's misses by cause. False negatives: 'coincident' (another label ≤ 3 px away: two spots in one
    peak), 'borderline' (label SNR < 8, near the label's limit 5), 'strong' (SNR ≥ 8); false positives:
    'sub_threshold' (≤ 2 px from a real spot whose expected SNR is below the label's limit), 'duplicate' (another
    detection ≤ 3 px away), 'other'. Plus counts in two-grain images and histograms of SNR / probability."""
    fn = [r for r in records if r["kind"] == "fn"]
    fp = [r for r in records if r["kind"] == "fp"]

    def bands(vals, edges):
        h = np.histogram(vals, bins=list(edges) + [np.inf])[0] if len(vals) else np.zeros(len(edges), int)
        return {f">={e:g}": int(v) for e, v in zip(edges, h)}

    def fn_cause(r):
        return "coincident" if r["nearest_visible_px"] <= 3 else "borderline" if r["snr"] < 8 else "strong"

    def fp_cause(r):
        if r["nearest_label_px"] <= 2 and r["nearest_label_snr"] < 5:
            return "sub_threshold"
        return "duplicate" if r["nearest_spot_px"] <= 3 else "other"

    causes = {f"fn_{k}": sum(fn_cause(r) == k for r in fn) for k in ("coincident", "borderline", "strong")}
    causes.update({f"fp_{k}": sum(fp_cause(r) == k for r in fp) for k in ("sub_threshold", "duplicate", "other")})
    return {"fn": len(fn), "fp": len(fp), **causes,
            "fn_two_grain": sum(r["grains"] == 2 for r in fn), "fp_two_grain": sum(r["grains"] == 2 for r in fp),
            "fn_strong_two_grain": sum(fn_cause(r) == "strong" and r["grains"] == 2 for r in fn),
            "fn_by_snr": bands([r["snr"] for r in fn], (0, 6, 8, 12, 20)),
            "fn_by_p": bands([r["p"] for r in fn], (0, 0.1, 0.3, 0.5, 0.85)),
            "fn_r_centre_median": float(np.median([r["r_centre"] for r in fn])) if fn else float("nan"),
            "fn_images": len({r["image"] for r in fn}), "fp_images": len({r["image"] for r in fp})}


#: Baseline thresholds swept [robust σ] (the shipped defaults, tuned on training structures, are peak_local_max
#: k = 3.5 and blob_log k = 1.5: :data:`jaxem.ml.peaks.PEAK_LOCAL_MAX_K`, :data:`jaxem.ml.peaks.BLOB_LOG_K`).
SWEEP = {"peak_local_max": (2.5, 3.0, 3.5, 4.0), "blob_log": (1.0, 1.25, 1.5, 2.0, 3.0)}


def margins(det) -> dict:
    """U-Net F1 minus the better baseline's, per dose: against the shipped baselines and against the best threshold
    of the sweep (chosen on this set: an upper bound on a tuned baseline), strict and ignoring difficult spots."""
    out = {}
    for dose, r in det.items():
        row = {}
        for score in ("strict", "ignoring_difficult"):
            def f1(m):
                return r[m]["f1"] if score == "strict" else r[m]["ignoring_difficult"]["f1"]
            shipped = max(("peak_local_max", "blob_log"), key=f1)
            best = max((m for m in r if m.startswith(("peak_local_max", "blob_log")) and "+" not in m), key=f1)
            row[score] = {"unet": f1("unet"), "shipped_baseline": shipped, "shipped_f1": f1(shipped),
                          "margin_vs_shipped": f1("unet") - f1(shipped), "best_baseline": best,
                          "best_f1": f1(best), "margin_vs_best": f1("unet") - f1(best)}
            with_lattice = [m for m in ("peak_local_max+lattice", "blob_log+lattice") if m in r]
            if with_lattice:
                bl = max(with_lattice, key=f1)
                row[score].update(baseline_with_lattice=bl, baseline_with_lattice_f1=f1(bl),
                                  margin_vs_baseline_with_lattice=f1("unet") - f1(bl))
        out[str(dose)] = row
    return out


def throughput(config, variables, dev_bank) -> dict:
    """FFTs/s through the U-Net at 256² (batch 8) and images/s of the simulate-and-train step (batch 4, two 128² crops
    each), medians of 3 after warm-up, on JAX's default device (named with its kind: the card on a GPU)."""
    from jaxem.ml import train
    from jaxem.ml.peaks import probability

    x = jax.random.normal(jax.random.PRNGKey(0), (8, 256, 256))
    t_net = median_time(lambda: probability(x, config, variables).block_until_ready(), repeats=3)
    state = train.init(jax.random.PRNGKey(0), config, batch=8, crop=128, crops=2)
    state = train.step(state, dev_bank)
    holder = {"s": state}

    def one():
        holder["s"] = train.step(holder["s"], dev_bank)
        holder["s"].loss.block_until_ready()

    t_step = median_time(one, repeats=3, warmup=0)
    dev = jax.devices()[0]
    return {"unet_ffts_per_s_256_batch8": 8 / t_net, "train_pipeline_images_per_s": 4 / t_step,
            "train_pipeline_crops_per_s": 8 / t_step, "device": str(dev),
            "device_kind": getattr(dev, "device_kind", dev.platform), "jax": jax.__version__}


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--throughput-only", action="store_true",
                   help="only the throughput rows (a synthetic bank), to results/ffnet_throughput.json (the GPU procedure)")
    p.add_argument("--zones", type=int, default=8)
    p.add_argument("--images", type=int, default=64, help="detection images per dose")
    p.add_argument("--index-images", type=int, default=16, help="indexing images per dose")
    p.add_argument("--misses", action="store_true", help="break the U-Net's misses down (written to the JSON)")
    p.add_argument("--confusers", type=int, default=12)
    args = p.parse_args(argv)
    if args.smoke:
        args.zones, args.images, args.index_images, args.confusers = 2, 4, 4, 2
    if args.throughput_only:
        from jaxem.ml import render, train

        load0 = os.getloadavg()
        from jaxem.ml.bank import Bank

        # a synthetic bank (the throughput does not depend on the structures; no NCrystal/spglib needed on the device)
        rng = np.random.default_rng(0)
        k = rng.uniform(-1.0, 1.0, (4, 64, 2))
        dev_bank = render.device_bank(Bank(k, np.full((4, 64), 0.02), rng.uniform(0, 2 * np.pi, (4, 64)),
                                           np.arange(4, dtype=np.int32), np.full(4, 50.0), np.zeros(4)))
        config, variables, _ = train.load_default()
        thr = throughput(config, variables, dev_bank)
        print(f"U-Net: {thr['unet_ffts_per_s_256_batch8']:.1f} FFT/s (256², batch 8); pipeline "
              f"{thr['train_pipeline_images_per_s']:.2f} images/s on {thr['device_kind']}")
        print("wrote", write_results("ffnet_throughput", {**thr, "loadavg_start": load0, "loadavg_end": os.getloadavg()}))
        return

    from jaxem.ml import evaluate, render, train

    load0 = os.getloadavg()
    t0 = time.time()
    host_bank, names = held_out_bank(args.zones)
    dev_bank = render.device_bank(host_bank)
    t_bank = time.time() - t0
    config, variables, info = train.load_default()

    inputs = evaluate.detection_inputs(dev_bank, n=args.images, config=config, variables=variables)
    det = evaluate.detection_metrics(inputs=inputs, details=args.misses, baseline_thresholds=SWEEP, ablations=True)
    ceiling = evaluate.label_ceiling(inputs)
    del inputs
    rows = []
    for dose, r in det.items():
        for m in [k for k in r if k != "misses"] + ["ceiling (oracle)"]:
            v = ceiling[dose] if m == "ceiling (oracle)" else r[m]
            e = v["ignoring_difficult"]
            rows.append([dose, m, v["precision"], v["recall"], v["f1"], "[{:.3f}, {:.3f}]".format(*v["ci95"]["f1"]),
                         e["precision"], e["recall"], e["f1"], "[{:.3f}, {:.3f}]".format(*e["ci95"]["f1"]),
                         v.get("rmse_px", float("nan")), v.get("friedel", float("nan"))])
    print_table(["dose e/px", "method", "P", "R", "F1", "F1 95% CI", "P (diff. ign.)", "R (diff. ign.)",
                 "F1 (diff. ign.)", "F1 CI (diff. ign.)", "RMSE px", "Friedel"], rows)
    marg = margins(det)
    for d, m in marg.items():
        print(f"U-Net margin @ {d} e/px: " + "; ".join(
            f"{k}: {v['margin_vs_shipped']:+.3f} vs {v['shipped_baseline']}, {v['margin_vs_best']:+.3f} vs "
            f"{v['best_baseline']}" for k, v in m.items()))
    misses = {str(d): miss_summary(r.pop("misses")) for d, r in det.items() if "misses" in r}
    for d, s in misses.items():
        print(f"misses @ {d} e/px: {s}")

    cands = candidate_tables(names, args.confusers)
    idx = {}
    for dose in (20.0, 100.0):
        res = evaluate.indexing_metrics(dev_bank, names, cands, n=args.index_images, dose=dose, config=config,
                                        variables=variables)
        res.pop("rows")
        idx[dose] = res
        print(f"indexing @ {dose} e/px: {res}")

    thr = throughput(config, variables, dev_bank)
    from jaxem.ml import lattice, peaks

    out = {"held_out_zones": [[n[0], list(n[1])] for n in names], "images_per_dose": args.images,
           "index_images_per_dose": args.index_images,
           "detector": {"threshold": peaks.THRESHOLD, "low": peaks.LOW, "z_min": peaks.Z_MIN,
                        "lattice": {"floor": lattice.FLOOR, "dose_scale": lattice.DOSE_SCALE,
                                    "prob_weight": lattice.PROB_WEIGHT, "label_dose": lattice.LABEL_DOSE}},
           "detection": {str(k): v for k, v in det.items()},
           "label_ceiling": {str(k): v for k, v in ceiling.items()}, "margins": marg,
           "difficult_band_expected_snr": list(evaluate.DIFFICULT), "baseline_sweep": SWEEP, "indexing": {str(k): v for k, v in idx.items()},
           **({"misses": misses} if misses else {}),
           "candidates": len(cands.names),
           "throughput": thr,
           "weights": {"steps": info.get("steps"), "filters": config.filters},
           "bank_seconds": t_bank, "loadavg_start": load0, "loadavg_end": os.getloadavg(), "smoke": args.smoke}
    print(f"U-Net: {thr['unet_ffts_per_s_256_batch8']:.1f} FFT/s (256², batch 8); pipeline "
          f"{thr['train_pipeline_images_per_s']:.2f} images/s ({thr['device']}), load {os.getloadavg()}")
    print("wrote", write_results("ffnet", out, quick=args.smoke))


if __name__ == "__main__":
    main()
