"""Benchmark of the LTR-STEM event pipeline: sums, virtual detectors, critical-dose map, bounded memory.

Default (≈ 2–3 min on 2 CPU cores): a 128×128-position, 50-frame synthetic dataset on a 64×64
detector (~20 e⁻/frame, ~16 M events). Times

* summed pattern and virtual-detector time series (jaxem segment sums) against NumPy ``bincount``
  (the peer: the same reduction, single-threaded, same run) — events per second;
* the full D_c map: per-reflection time series + Poisson ML fit at every position × reflection;
* bounded memory: in fresh processes, the virtual-detector series are computed by streaming the
  HDF5 event file with a memory budget smaller than the event data (``--memory-budget``) and by loading
  it whole; the growth of the resident memory (sampled every 2 ms, above the level after
  compilation) of each is reported.

``--full``: 256×256 positions, 50 frames, ~60 e⁻/frame (~200 M events, ~0.8 GB of indices on disk).
Writes ``benchmarks/results/ltr.json`` atomically and prints a table.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def _spec(scan, frames, per_frame):
    from jaxem.ltr.synthetic import SyntheticLTR

    c = 32.0
    centers = ((c, c + 12), (c + 12, c), (c, c - 12), (c - 12, c), (c + 12, c + 12), (c - 12, c - 12),
               (c + 12, c - 12), (c - 12, c + 12))
    scale = per_frame / 40.0
    g = np.hypot(*(np.array(centers) - c).T) / 12
    return SyntheticLTR(scan_shape=(scan, scan), n_frames=frames, detector_shape=(64, 64), frame_dose=2.0,
                        centers=centers, intensity=tuple(np.full(8, 2.5 * scale)),
                        critical_dose=tuple(25.0 / g ** 2), floor=tuple(np.full(8, 0.1)), growth=(None,) * 8,
                        radius=3.0, direct_beam=10 * scale, halo=8 * scale, halo_sigma=14.0, flat=2 * scale,
                        shift_amplitude=0.5, dc_contrast=0.3, detector_sampling=0.02)


_CHILD = """
import json, sys, threading, time
import numpy as np, psutil
from jaxem.ltr import hdf5, reduce
mode, path, memory_budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
proc, peak, stop = psutil.Process(), [0], [False]
def sample():
    while not stop[0]:
        peak[0] = max(peak[0], proc.memory_info().rss)
        time.sleep(0.002)
with hdf5.EventFile(path) as f:
    labels = reduce.disk_labels(f.detector_shape, [(32, 44), (44, 32)], 3.0)
    n = max(1, min(f.n_positions, 4096))
    reduce.label_series(f.read_positions(0, n), labels)             # compile before measuring
    base = proc.memory_info().rss
    peak[0] = base
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t0 = time.perf_counter()
    src = f if mode == "stream" else f.read()
    out = reduce.label_series(src, labels, memory_budget=memory_budget if mode == "stream" else 2**40).numpy()
    dt = time.perf_counter() - t0
    stop[0] = True
    th.join()
print(json.dumps({"growth": peak[0] - base, "seconds": dt, "output_bytes": out.nbytes}))
"""


def _child(mode, path, memory_budget):
    """Run one streamed or in-memory reduction in a fresh process; return its peak-RSS growth."""
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", _CHILD, mode, str(path), str(memory_budget)], capture_output=True,
                         text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="256×256 positions, ~60 e-/frame")
    ap.add_argument("--memory-budget", default="16M", help="memory budget for the streamed run (bytes or K/M/G)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "ltr.json"))
    args = ap.parse_args(argv)

    from jaxem.accel import parse_bytes
    from jaxem.io import atomic_write_text
    from jaxem.ltr import critical_dose, hdf5, reduce
    from jaxem.ltr.synthetic import iter_events

    scan, frames, per_frame = (256, 50, 60) if args.full else (128, 50, 20)
    spec = _spec(scan, frames, per_frame)
    rows, res = [], {"machine": f"{os.cpu_count()}-core CPU", "scan": [scan, scan], "frames": frames,
                     "detector": list(spec.detector_shape)}
    tmp = Path(tempfile.mkdtemp(prefix="jaxem_ltr_bench_"))
    path = tmp / "events.h5"
    t0 = time.perf_counter()
    with hdf5.EventWriter(path, spec.scan_shape, frames, spec.detector_shape, spec.dose,
                          detector_sampling=spec.detector_sampling) as w:
        for chunk in iter_events(spec, seed=0):
            w.append(chunk)
    res["generate_write_s"] = time.perf_counter() - t0
    file_bytes = path.stat().st_size
    with hdf5.EventFile(path) as f:
        n_events = f.n_events
    res["n_events"] = int(n_events)
    res["file_MB"] = file_bytes / 2**20
    rows.append(("generate + write events (HDF5, streamed)", res["generate_write_s"], n_events))

    ev = hdf5.read_events(path)
    idx = np.asarray(ev.indices)
    seg = ev.segment_ids()
    labels = reduce.disk_labels(spec.detector_shape, spec.centers, spec.radius)

    def timed(name, fn, repeat=2):
        fn()                                        # compile / warm up
        best = min((lambda t: (fn(), time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(repeat))
        rows.append((name, best, n_events))
        res[name] = {"seconds": best, "events_per_s": n_events / best}
        return best

    timed("sum pattern (jaxem segment_sum)", lambda: reduce.sum_pattern(ev))
    timed("sum pattern (numpy bincount, peer)", lambda: np.bincount(idx, minlength=ev.n_pixels))
    timed("virtual detectors x8 time series (jaxem)", lambda: reduce.label_series(ev, labels))
    flat = labels.ravel()

    def numpy_series():
        lab = flat[idx]
        m = lab > 0
        return np.bincount(seg[m].astype(np.int64) * 8 + lab[m] - 1, minlength=ev.n_segments * 8)

    timed("virtual detectors x8 time series (numpy, peer)", numpy_series)

    # full D_c map: time series + Poisson ML fit per position × reflection (first order: 4 reflections)
    t0, c0 = time.perf_counter(), time.process_time()
    series = reduce.label_series(ev, labels).numpy()[..., :4]
    fit = critical_dose.fit_decay(np.moveaxis(series, 2, -1), ev.cumulative_dose)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    n_fits = int(np.prod(fit.status.shape))
    rows.append((f"D_c map: series + {n_fits} Poisson fits", dt, n_events))
    ok = fit.ok
    res["dc_map"] = {"seconds": dt, "cpu_seconds": cpu, "events_per_s": n_events / dt, "fits": n_fits, "fits_per_s": n_fits / dt,
                     "ok_fraction": float(ok.mean()),
                     "median_dc_by_reflection": [float(np.median(fit.critical_dose[..., k][ok[..., k]]))
                                                 for k in range(4)],
                     "true_dc_first_order": float(spec.critical_dose[0])}

    # bounded memory: in fresh processes, stream the file with a small budget vs load it whole
    budget_bytes = parse_bytes(args.memory_budget, "--memory-budget")
    data_bytes = n_events * 4
    peaks = {mode: _child(mode, path, budget_bytes) for mode in ("stream", "in_memory")}
    res["bounded_memory"] = {"budget_MB": budget_bytes / 2**20, "event_data_MB": data_bytes / 2**20,
                             "peak_rss_growth_stream_MB": peaks["stream"]["growth"] / 2**20,
                             "peak_rss_growth_in_memory_MB": peaks["in_memory"]["growth"] / 2**20,
                             "output_MB": peaks["stream"]["output_bytes"] / 2**20,
                             "seconds_stream": peaks["stream"]["seconds"],
                             "events_per_s_stream": n_events / peaks["stream"]["seconds"]}
    rows.append((f"streamed virtual detectors, memory budget {args.memory_budget} (fresh process)",
                 peaks["stream"]["seconds"], n_events))
    # accuracy of the critical-dose fit on repeated decay series (the acceptance protocol)
    from jaxem.ltr.dose import cumulative_dose
    from jaxem.ltr.synthetic import decay_series

    Dd = cumulative_dose(np.full(50, 2.0))
    cases, reps = [(2, 0.0), (2, 0.2), (10, 0.0), (10, 0.2), (100, 0.0), (100, 0.2)], 300
    cnt = np.stack([decay_series(reps, Dd, i0, 20.0, fl, seed=100 + k)[0] for k, (i0, fl) in enumerate(cases)])
    fa = critical_dose.fit_decay(cnt, Dd, bias_correction=8)
    ll = critical_dose.fit_log_linear(cnt, Dd)
    acc = {"repeats": reps, "true_dc": 20.0, "cases": []}
    for k, (i0, fl) in enumerate(cases):
        ok = fa.ok[k]
        acc["cases"].append({
            "I0": i0, "floor": fl, "ok_fraction": float(ok.mean()),
            "median_mle": float(np.median(fa.critical_dose_mle[k][ok])),
            "mean_mle": float(np.mean(fa.critical_dose_mle[k][ok])),
            "median_bias_corrected": float(np.median(fa.critical_dose[k][ok])),
            "profile_coverage": float(np.mean((fa.ci_low[k] <= 20) & (20 <= fa.ci_high[k]))),
            "wald_coverage": float(np.mean((fa.wald_low[k] <= 20) & (20 <= fa.wald_high[k]))),
            "log_linear_median": float(np.nanmedian(ll[k]))})
    res["dc_accuracy"] = acc
    for p in tmp.iterdir():
        p.unlink()
    tmp.rmdir()

    print(f"\nLTR-STEM benchmark: {scan}×{scan} positions × {frames} frames, detector 64×64, "
          f"{n_events / 1e6:.1f} M events, {res['machine']}")
    print(f"{'step':58s} {'s':>8s} {'Mevents/s':>10s}")
    for name, s, n in rows:
        print(f"{name:58s} {s:8.2f} {n / s / 1e6:10.2f}")
    bm = res["bounded_memory"]
    print(f"bounded memory: event data {bm['event_data_MB']:.0f} MB, budget {bm['budget_MB']:.0f} MB; peak RSS "
          f"growth streamed {bm['peak_rss_growth_stream_MB']:.0f} MB vs loaded whole "
          f"{bm['peak_rss_growth_in_memory_MB']:.0f} MB (output {bm['output_MB']:.0f} MB in both)")
    print(f"D_c map: wall {res['dc_map']['seconds']:.1f} s, process CPU {res['dc_map']['cpu_seconds']:.1f} s "
          f"(all threads; the 2 cores are shared with other jobs)")
    acc = res["dc_accuracy"]
    print(f"D_c accuracy (D_c = 20 e-/A^2, 50 frames × 2 e-/A^2, {acc['repeats']} repeats per case):")
    print(f"{'I0 [counts/frame]':>18s} {'floor':>6s} {'median MLE':>11s} {'mean MLE':>9s} {'median BC':>10s} "
          f"{'profile cov':>12s} {'Wald cov':>9s} {'log-linear':>11s}")
    for r in acc["cases"]:
        print(f"{r['I0']:18.0f} {r['floor']:6.1f} {r['median_mle']:11.2f} {r['mean_mle']:9.2f} "
              f"{r['median_bias_corrected']:10.2f} {r['profile_coverage']:12.3f} {r['wald_coverage']:9.3f} "
              f"{r['log_linear_median']:11.1f}")
    print(f"D_c map: {res['dc_map']['fits_per_s']:.0f} fits/s, median D_c by reflection "
          f"{np.round(res['dc_map']['median_dc_by_reflection'], 1)} (truth {spec.critical_dose[0]:.1f} "
          f"× map factor 0.7–1.3)")
    out = Path(args.out)
    atomic_write_text(out, json.dumps(res, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
