"""Benchmark: read an EPOS file and reconstruct it (conventional Bas and TEM-guided) with jaxem,
against established Python packages in the same run.

Peers (test/benchmark-only, never imported by the library):
* reading: ``ifes-apt-tc-data-modeling`` (Apache-2.0) ``ReadEposFileFormat`` (memory-mapped);
* reconstruction: ``apyt`` (AGPL-3.0, numba) ``get_geometry_classic`` + ``reconstruct``.

Default: 10⁶ ions; ``--full``: 10⁷ ions (the issue's size). Prints a table (ions/s) and writes
``benchmarks/results/apt.json`` atomically.

    python benchmarks/apt.py [--full] [--n N]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from jaxem.apt import EPOS_DTYPE, read_epos, tip_profiles, write_epos  # noqa: E402
from jaxem.apt.reconstruct import ReconParams, reconstruct_bas  # noqa: E402
from jaxem.apt.tem_guided import guided_tables, reconstruct_tem  # noqa: E402
from jaxem.io.atomic import atomic_write_text  # noqa: E402

KF, XI, ETA, L, OMEGA, RDET = 900.0, 1.5, 0.5, 100.0, 0.0118, 40.0


def make_file(path, n, seed=0):
    rng = np.random.default_rng(seed)
    cols = {k: np.zeros(n, np.float32) for k in EPOS_DTYPE.names[:9]}
    r = RDET * np.sqrt(rng.uniform(size=n))
    phi = rng.uniform(0, 2 * np.pi, n)
    cols["x_det"], cols["y_det"] = (r * np.cos(phi)).astype(np.float32), (r * np.sin(phi)).astype(np.float32)
    cols["v_dc"] = np.linspace(5000, 9000, n, dtype=np.float32)
    cols["mass"] = rng.uniform(1, 100, n).astype(np.float32)
    cols["delta_pulse"] = np.ones(n, np.int32)
    cols["multiplicity"] = np.ones(n, np.int32)
    write_epos(path, cols)


def timed(f, repeat=3):
    best = np.inf
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def jaxem_read(path):
    e = read_epos(path)
    return (np.ascontiguousarray(e["x_det"], np.float32), np.ascontiguousarray(e["y_det"], np.float32),
            np.ascontiguousarray(e["v_dc"], np.float32))


def ifes_read(path):
    from ifes_apt_tc_data_modeling.epos.epos_reader import ReadEposFileFormat

    r = ReadEposFileFormat(str(path))
    xy = r.get_hit_positions().magnitude
    return xy[:, 0], xy[:, 1], r.get_standing_voltage().magnitude.ravel()


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="10⁷ ions (default 10⁶)")
    ap.add_argument("--n", type=int, default=None)
    args = ap.parse_args(argv)
    n = args.n or (10_000_000 if args.full else 1_000_000)
    rows = []
    p = ReconParams(kF=jnp.float32(KF), xi=jnp.float32(XI), eta=jnp.float32(ETA), L=jnp.float32(L),
                    omega=jnp.float32(OMEGA), detector_radius=jnp.float32(RDET))
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # the ifes peer writes a log file into the working directory
        path = Path(tmp) / "bench.epos"
        make_file(path, n)
        os.sync() if hasattr(os, "sync") else None
        t_read, (x, y, v) = timed(lambda: jaxem_read(path))
        xj, yj, vj = jax.device_put(x), jax.device_put(y), jax.device_put(v)
        t0 = time.perf_counter()
        reconstruct_bas(p, xj, yj, vj).block_until_ready()
        t_compile = time.perf_counter() - t0
        t_bas, _ = timed(lambda: reconstruct_bas(p, xj, yj, vj).block_until_ready())
        cnt = np.linspace(0, n, 20)
        R = np.asarray(v, np.float64)[np.minimum(cnt.astype(int), n - 1)] / KF
        prof = tip_profiles(cnt, -np.linspace(0, 200, 20), R, 15.0)
        tabs = guided_tables(prof)
        reconstruct_tem(p, xj, yj, tabs)[0].block_until_ready()
        t_tem, _ = timed(lambda: reconstruct_tem(p, xj, yj, tabs)[0].block_until_ready())
        rows.append(("read EPOS (x_det, y_det, V)", "jaxem read_epos (memmap)", t_read))
        rows.append(("reconstruct Bas (voltage law)", "jaxem (jit; compile %.2f s excluded)" % t_compile, t_bas))
        rows.append(("reconstruct TEM-guided", "jaxem (jit)", t_tem))
        rows.append(("read + Bas", "jaxem", t_read + t_bas))
        try:
            t_iread, (xi_, yi_, vi_) = timed(lambda: ifes_read(path))
            # ion for ion; ifes assumes V_DC in kV in the file and returns volts ×10³
            assert np.array_equal(xi_, x) and np.array_equal(yi_, y) and np.allclose(vi_ / 1e3, v, rtol=1e-6)
            rows.append(("read EPOS (x_det, y_det, V)", "ifes-apt-tc-data-modeling 0.5.0", t_iread))
        except ImportError:
            t_iread = None
        try:
            import apyt.reconstruction.basic as apyt_basic

            xy = np.stack([x, y], 1).astype(np.float64)
            th_m = XI * np.arctan(RDET / L)

            def apyt_recon(xy=xy, v=v):
                r = np.asarray(v, np.float64) / KF
                z, r = apyt_basic.get_geometry_classic(np.full(len(r), OMEGA / ETA), r, th_m)
                return apyt_basic.reconstruct(xy, -z, r, L, XI)

            apyt_recon(xy[:1000], v[:1000])  # numba compile
            t_apyt, _ = timed(apyt_recon)
            rows.append(("reconstruct Bas (voltage law)", "apyt 0.1.0.dev3 classic (numba)", t_apyt))
            if t_iread is not None:
                rows.append(("read + Bas", "ifes + apyt", t_iread + t_apyt))
        except ImportError:
            pass
        os.chdir(cwd)
    print(f"\nAPT benchmark: {n:,} ions, {platform.machine()} {os.cpu_count()} cores, JAX {jax.__version__} "
          f"({jax.default_backend()})")
    print(f"{'stage':32s} {'code':42s} {'time [s]':>9s} {'ions/s':>12s}")
    for stage, code, t in rows:
        print(f"{stage:32s} {code:42s} {t:9.3f} {n / t:12.3e}")
    res = {"n_ions": n, "machine": f"{platform.machine()} {os.cpu_count()} cores", "backend": jax.default_backend(),
           "rows": [{"stage": s, "code": c, "seconds": t, "ions_per_s": n / t} for s, c, t in rows]}
    out = Path(__file__).resolve().parent / "results" / "apt.json"
    atomic_write_text(out, json.dumps(res, indent=2))
    print(f"wrote {out}")
    return res


if __name__ == "__main__":
    main()
