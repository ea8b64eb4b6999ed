"""Plane-wave multislice of SrTiO3 [001]: jaxem vs abTEM, and the propagation loop vs the FFT floor.

Case (issue 2): 8×8×26 cells, 0.05 Å sampling, 300 kV, Lobato, infinite projection, slices of half a
cell (52 slices). Warm = median of repeats in one process; cold = a fresh process (imports and
compilation included; jaxem with its persistent compilation cache warm from an earlier run and,
separately, empty). Writes benchmarks/results/multislice_plane_wave.json and prints a table.

Usage: python benchmarks/multislice_plane_wave.py [--repeats N] [--cells NX NY NZ] [--no-abtem] [--no-write]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import cold_time, median_time, print_table, write_results  # noqa: E402

A = 3.905

JAXEM_CODE = """
import jax, jax.numpy as jnp, numpy as np
from jaxem import Beam
from jaxem.structure import Structure
from jaxem.potential import potential
from jaxem.propagate import plane_wave, multislice
a = {a}
unit = Structure.create([[0,0,0],[a/2,a/2,a/2],[a/2,a/2,0],[a/2,0,a/2],[0,a/2,a/2]], ['Sr','Ti','O','O','O'], [a,a,a])
crystal = unit.repeat({nx}, {ny}, {nz})
def run():
    pot = potential(crystal, sampling=0.05, slice_thickness=a/2)
    return multislice(plane_wave(pot.grid, Beam(300e3)), pot).array.block_until_ready()
"""

ABTEM_CODE = """
import numpy as np, ase, abtem
abtem.config.set({{"progress_bar": False}})
a = {a}
atoms = ase.Atoms('SrTiOOO', scaled_positions=[[0,0,0],[.5,.5,.5],[.5,.5,0],[.5,0,.5],[0,.5,.5]], cell=[a,a,a], pbc=True) * ({nx}, {ny}, {nz})
def run():
    pot = abtem.Potential(atoms, sampling=0.05, slice_thickness=a/2, projection='infinite', parametrization='lobato')
    return abtem.PlaneWave(energy=300e3).multislice(pot).compute().array
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cells", type=int, nargs=3, default=(8, 8, 26))
    ap.add_argument("--no-abtem", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="print only (smoke runs at other sizes)")
    args = ap.parse_args()
    nx, ny, nz = args.cells
    fmt = dict(a=A, nx=nx, ny=ny, nz=nz)

    import jax
    import jax.numpy as jnp

    ns = {}
    exec(JAXEM_CODE.format(**fmt), ns)
    warm_jaxem = median_time(ns["run"], args.repeats)

    # propagation loop alone vs the floor of two FFTs per slice
    from jaxem import Beam
    from jaxem.potential import potential
    from jaxem.propagate import ExitPlanes, fresnel_propagator, multislice_array, transmission_functions

    beam = Beam(300e3)
    pot = potential(ns["crystal"], sampling=0.05, slice_thickness=A / 2)
    t = transmission_functions(pot.array, beam, pot.grid)
    prop = fresnel_propagator(pot.grid, beam, pot.slice_thickness)
    seq = jnp.asarray(pot.sequence)
    psi0 = jnp.ones(pot.grid.gpts, jnp.complex64)
    loop = median_time(lambda: multislice_array(psi0, t, seq, prop).block_until_ready(), args.repeats)
    # the same loop recording a thickness series every two slices through the observer hook
    planes = ExitPlanes(tuple(range(2, pot.n_slices + 1, 2)))
    loop_obs = median_time(lambda: multislice_array(psi0, t, seq, prop, observer=planes)[1].block_until_ready(),
                           args.repeats)

    @jax.jit
    def fft_floor(psi):
        def body(c, _):
            return jnp.fft.ifft2(jnp.fft.fft2(c)), None
        return jax.lax.scan(body, psi, None, length=pot.n_slices)[0]

    floor = median_time(lambda: fft_floor(psi0).block_until_ready(), args.repeats)
    pot_time = median_time(lambda: potential(ns["crystal"], sampling=0.05, slice_thickness=A / 2).array.block_until_ready(), args.repeats)

    run_line = "\nrun()\n"
    with tempfile.TemporaryDirectory() as cache:
        env = {"JAX_COMPILATION_CACHE_DIR": cache, "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
               "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}
        cold_jaxem_empty = cold_time(JAXEM_CODE.format(**fmt) + run_line, env)
        cold_jaxem_cached = cold_time(JAXEM_CODE.format(**fmt) + run_line, env)

    rows = [
        ["jaxem end to end (warm)", warm_jaxem],
        ["jaxem potential only (warm)", pot_time],
        ["jaxem propagation loop (warm)", loop],
        ["jaxem loop + exit plane every 2 slices (warm)", loop_obs],
        ["FFT floor: 2 FFTs × slices (warm)", floor],
        ["jaxem cold, empty compile cache", cold_jaxem_empty],
        ["jaxem cold, persistent cache", cold_jaxem_cached],
    ]
    result = {"case": {"cells": [nx, ny, nz], "sampling_A": 0.05, "energy_eV": 300e3, "gpts": list(pot.grid.gpts),
                       "n_slices": pot.n_slices},
              "seconds": {r[0]: r[1] for r in rows}, "ratios": {"propagation / FFT floor": loop / floor}}
    if not args.no_abtem:
        ns_ab = {}
        exec(ABTEM_CODE.format(**fmt), ns_ab)
        warm_abtem = median_time(ns_ab["run"], max(2, args.repeats // 2))
        cold_abtem = cold_time(ABTEM_CODE.format(**fmt) + run_line)
        rows += [["abTEM end to end (warm)", warm_abtem], ["abTEM cold", cold_abtem]]
        result["seconds"].update({"abTEM end to end (warm)": warm_abtem, "abTEM cold": cold_abtem})
        result["ratios"].update({
            "abTEM warm / jaxem warm": warm_abtem / warm_jaxem,
            "abTEM cold / jaxem cold (empty cache)": cold_abtem / cold_jaxem_empty,
            "abTEM cold / jaxem cold (cached)": cold_abtem / cold_jaxem_cached,
        })
    print_table(["measurement", "seconds"], rows)
    print()
    print_table(["ratio", "value"], [[k, v] for k, v in result["ratios"].items()])
    if not args.no_write:
        print("wrote", write_results("multislice_plane_wave", result))


if __name__ == "__main__":
    main()
