"""Benchmark: ζ-factor quantification with iterative absorption correction of an N×N, 4-element
map — jaxem (jit, all pixels at once) vs exspy's EDSTEMSpectrum.quantification, same run, same
intensities, ζ-factors, dose, take-off angle and μ/ρ values (exspy's own table).

Default 256×256 (≈30 s on 2 CPU cores); ``--full`` runs the issue's 512×512.
Writes ``benchmarks/results/eds_quant.json`` atomically and prints a table.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "eds"))

LINES = ["O_Ka", "Al_Ka", "Ti_Ka", "Zn_Ka"]
ELS = ["O", "Al", "Ti", "Zn"]
ZETA = np.array([163.0, 120.0, 180.0, 228.0])
TOA = 22.0


def make_map(n, mac, seed=0):
    from jaxem.eds import data, synthetic, zeta

    rng = np.random.default_rng(seed)
    at = rng.dirichlet(np.ones(4) * 5, size=(n, n))
    from jaxem.eds.composition import atomic_to_weight

    w = np.asarray(atomic_to_weight(at, data.atomic_weights(ELS)))
    t = np.linspace(20, 250, n)[None, :].repeat(n, 0)
    dose = float(zeta.electron_dose(1.0, 1.0))
    lam = np.asarray(synthetic.expected_counts(w, 4.5 * t * 1e-7, dose, ZETA, mac, TOA))
    return rng.poisson(lam).astype(np.float64), dose, at


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--full", action="store_true", help="512×512 (the issue's size)")
    p.add_argument("--n", type=int, default=None)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    n = args.n or (512 if args.full else 256)

    import jax

    from exspy_peer import exspy_mac_matrix, exspy_quantify
    from jaxem.eds import data, zeta
    from jaxem.io import atomic_write_text

    mac = exspy_mac_matrix(LINES, ELS)
    I, dose, at_true = make_map(n, mac)
    aw = data.atomic_weights(ELS)
    rows = []
    for prec in ("float32", "float64"):
        if prec == "float64":
            jax.config.update("jax_enable_x64", True)
        Ii = I.astype(prec)
        r = zeta.zeta_factor(Ii, ZETA, dose, aw, mac=mac, take_off_deg=TOA, tol=1e-6)
        jax.block_until_ready(r.atomic_fractions)  # compile
        ts = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = zeta.zeta_factor(Ii, ZETA, dose, aw, mac=mac, take_off_deg=TOA, tol=1e-6)
            jax.block_until_ready(r.atomic_fractions)
            ts.append(time.perf_counter() - t0)
        rows.append((f"jaxem {prec}", min(ts), np.asarray(r.atomic_fractions, float),
                     int(np.asarray(r.iterations).max())))
    timing = {}
    ex, _ = exspy_quantify(I, LINES, "zeta", list(ZETA), take_off_deg=TOA, beam_current_nA=1.0,
                           live_time_s=1.0, absorption=True, convergence=1e-4, max_iterations=100,
                           timing=timing)
    t_ex = timing["seconds"]  # the quantification call only (signal set-up excluded)
    out = {"size": [n, n, 4], "machine": f"{platform.machine()} {jax.devices()[0].platform}",
           "exspy_s": t_ex, "results": []}
    print(f"ζ-factor + absorption correction, {n}×{n}×4 lines, take-off {TOA}°")
    print(f"{'code':<16}{'time [s]':>10}{'speed-up':>10}{'max |Δat| vs exspy':>22}{'iters':>7}")
    print(f"{'exspy 0.3.2':<16}{t_ex:>10.3f}{1.0:>10.1f}{'-':>22}{'':>7}")
    for name, t, at, it in rows:
        d = float(np.max(np.abs(at - ex)))
        print(f"{name:<16}{t:>10.3f}{t_ex / t:>10.1f}{d:>22.2e}{it:>7}")
        out["results"].append({"code": name, "seconds": t, "speedup_vs_exspy": t_ex / t,
                               "max_abs_atomic_fraction_diff_vs_exspy": d, "max_iterations": it})
    res_dir = ROOT / "benchmarks" / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(res_dir / "eds_quant.json", json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
