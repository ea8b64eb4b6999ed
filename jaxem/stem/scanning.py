"""Batched probe scanning with detectors, for all thermal models.

For each probe position r0 the incident wave is ψ0 = F⁻¹[P(k)·exp(−2πik·r0)], with P the probe
transfer A(k)·exp(−iχ(k)) normalised so Σ|ψ0|² = 1; it is propagated by multislice, and its
diffraction pattern DP = |F[ψ]|²/N (fraction of the probe per pixel) goes to the detectors.

Thermal models:
* ``thermal=None``: the given potential (real, or complex V + iV′ for an absorptive model).
* ``thermal="einstein"``: frozen phonons, ``n_configs`` random Einstein configurations of
  ``structure`` (⟨u²⟩ from its Debye–Waller factors); detector signals averaged over configurations.
* ``thermal="snapshots"``: frozen phonons from given positions (n, N, 3), e.g. MD snapshots.

Positions run through ``lax.map`` in batches sized from the memory budget; configurations are averaged
with running sums (:func:`jaxem.propagate.ensemble_mean`). The scan is cut into chunks of rows
(a progress bar counts them); 4D-STEM chunks can be streamed to zarr (:func:`jaxem.stem.store.stem_scan_to_zarr`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import physics
from ..accel import batch_size as budget_batch_size
from ..accel import memory_budget as get_budget
from ..measurement import Axis, Measurement
from ..optics import Aberrations
from ..optics.probes import probe_transfer
from ..potential import PotentialSlices, potential_layout
from ..propagate.ensembles import ensemble_mean, member_transmissions
from ..propagate.multislice import fresnel_propagator, multislice_array, transmission_functions
from .detectors import AnnularDetector, CenterOfMassDetector, PixelatedDetector, SegmentedDetector
from .scan import GridScan


@dataclass(frozen=True)
class STEMSimulation:
    """Everything but the specimen: beam, probe, detectors (static configuration).

    Attributes:
        energy: [eV]; semi_angle: convergence semi-angle [mrad]; aberrations: probe aberrations.
        detectors: tuple of detectors; edge_width: probe aperture edge [mrad].
    """

    energy: float
    semi_angle: float
    detectors: tuple
    aberrations: Aberrations = field(default_factory=Aberrations)
    edge_width: float = 0.0


def _plan(sim: STEMSimulation, grid):
    lin, names, pix, com = [], [], [], []
    for d in sim.detectors:
        if isinstance(d, (AnnularDetector, SegmentedDetector)):
            lin.append(d.masks(grid, sim.energy))
            names += d.channel_names()
        elif isinstance(d, PixelatedDetector):
            pix.append(d)
        elif isinstance(d, CenterOfMassDetector):
            com.append(d)
        else:
            raise TypeError(f"unknown detector {d!r}")
    masks = np.concatenate(lin) if lin else np.zeros((0,) + grid.gpts)
    return masks, names, pix, com


def _multislice_tds(psi, trans, seq, prop, vdet, sigma):
    """Multislice that also accumulates the single-inelastic TDS signal Σ_n 2σ Σ_r |ψ_n|² v′_det,n
    of each detector-specific absorptive potential ``vdet`` (D, n_unique, ny, nx) [V·Å]."""

    def step(carry, index):
        psi, acc = carry
        acc = acc + 2 * sigma * jnp.tensordot(vdet[:, index], jnp.abs(psi) ** 2, axes=((1, 2), (0, 1)))
        psi = jnp.fft.ifft2(jnp.fft.fft2(psi * trans[index]) * prop)
        return (psi, acc), None

    acc0 = jnp.zeros(vdet.shape[0], vdet.dtype)
    (psi, acc), _ = jax.lax.scan(step, (psi, acc0), seq)
    return psi, acc


def _scan_kernel(positions, trans, seq, prop, probe_k, masks, com_weights, com_dets, pix_dets, grid, energy, batch,
                 vdet=None, sigma=0.0):
    """Detector signals for positions (P, 2) through one potential (pure; jit by the caller)."""
    ky, kx = grid.frequencies(jnp.float64 if probe_k.dtype == jnp.complex128 else jnp.float32)
    npix = grid.gpts[0] * grid.gpts[1]

    def one(r0):
        ramp = jnp.exp(-2j * jnp.pi * (ky[:, None] * r0[0] + kx[None, :] * r0[1])).astype(probe_k.dtype)
        psi = jnp.fft.ifft2(probe_k * ramp)
        out = {}
        if vdet is None:
            psi = multislice_array(psi, trans, seq, prop)
        else:
            psi, out["tds"] = _multislice_tds(psi, trans, seq, prop, vdet, sigma)
        dp = jnp.abs(jnp.fft.fft2(psi)) ** 2 / npix
        if masks.shape[0]:
            out["lin"] = jnp.tensordot(dp, masks, axes=((0, 1), (1, 2)))
        for j, (c, w) in enumerate(zip(com_dets, com_weights)):
            out[f"com{j}"] = c.apply(dp, w)
        for j, d in enumerate(pix_dets):
            out[f"pix{j}"] = d.apply(dp, grid, energy)
        return out

    return jax.lax.map(one, positions, batch_size=batch)


_STATIC = ("com_dets", "pix_dets", "grid", "energy", "batch")


@partial(jax.jit, static_argnames=_STATIC)
def _scan_static(positions, trans, seq, prop, probe_k, masks, com_weights, vdet=None, sigma=0.0, *, com_dets,
                 pix_dets, grid, energy, batch):
    return _scan_kernel(positions, trans, seq, prop, probe_k, masks, com_weights, com_dets, pix_dets, grid, energy,
                        batch, vdet, sigma)


@partial(jax.jit, static_argnames=_STATIC + ("einstein",))
def _scan_thermal(positions, members, structure, layout, sigma, prop, probe_k, masks, com_weights, *, einstein,
                  com_dets, pix_dets, grid, energy, batch):
    seq = jnp.asarray(layout.sequence, jnp.int32)

    def member(m):
        t = member_transmissions(m, structure, layout, sigma, probe_k.dtype, einstein)
        return _scan_kernel(positions, t, seq, prop, probe_k, masks, com_weights, com_dets, pix_dets, grid, energy,
                            batch)

    return ensemble_mean(member, members, 1)


def stem_scan(sim: STEMSimulation, scan: GridScan, potential: PotentialSlices | None = None, structure=None,
              thermal=None, n_configs: int = 8, key=None, snapshots=None,
              parametrization: str = "lobato", memory_budget=None, progress: bool = True,
              chunk_callback=None, precision=None, tds_potentials=None) -> dict:
    """Simulate a STEM scan; returns {detector name: Measurement}.

    Args:
        sim: beam, probe and detectors.
        scan: probe positions (must lie inside the cell).
        potential: for ``thermal=None`` (real or absorptive complex potential).
        structure: for frozen phonons (``thermal='einstein'`` or ``'snapshots'``).
        thermal: None, 'einstein' or 'snapshots'.
        n_configs, key: Einstein configurations and PRNG key; snapshots: (n, N, 3) positions [Å].
        parametrization: potential parametrization for frozen phonons.
        memory_budget: bytes (default from :mod:`jaxem.accel`).
        chunk_callback: called as ``f(row_slice, {name: array})`` after each chunk of rows (streaming).
        tds_potentials: for an absorptive ``potential`` (thermal=None): {name: detector-specific
            absorptive potential} (``jaxem.potential.absorptive_potential(..., detector=(inner, outer))``
            on the same structure and slicing); adds the single-inelastic TDS signal ``<name>_tds``
            (fraction of the probe) that the absorptive model removes and the detector collects
            (Allen et al., Ultramicroscopy 96 (2003) 47).
    """
    if thermal not in (None, "einstein", "snapshots"):
        raise ValueError(f"thermal must be None, 'einstein' or 'snapshots', got {thermal!r}")
    if not isinstance(potential, PotentialSlices):
        raise TypeError("potential= must be PotentialSlices (for frozen phonons: the static structure's "
                        "potential, which fixes the grid and the slicing)")
    if thermal is not None:
        if structure is None:
            raise ValueError(f"thermal={thermal!r} needs structure=Structure")
        flat = structure.replace(z_repeats=1)
    grid = potential.grid
    scan.check_inside(grid.extent)
    physics.wavelength(sim.energy)
    cdtype = jnp.complex128 if precision == "float64" else jnp.complex64
    rdtype = jnp.float64 if precision == "float64" else jnp.float32

    pk = probe_transfer(grid, sim.energy, sim.semi_angle, sim.aberrations, sim.edge_width, precision=precision)
    npix = grid.gpts[0] * grid.gpts[1]
    pk = (pk * jnp.sqrt(npix / jnp.sum(jnp.abs(pk) ** 2))).astype(cdtype)
    masks_np, names, pix_dets, com_dets = _plan(sim, grid)
    masks = jnp.asarray(masks_np, rdtype)
    com_weights = tuple(jnp.asarray(c.weights(grid, sim.energy), rdtype) for c in com_dets)
    sigma = physics.interaction_constant(sim.energy)
    prop = fresnel_propagator(grid, sim.energy, potential.slice_thickness, dtype=cdtype)

    positions = scan.positions()
    pix_bytes = sum(int(np.prod(d.crop(grid, sim.energy))) // d.bin**2 for d in pix_dets) * 4
    per_position = 8 * npix * 10 + pix_bytes
    pos_batch = budget_batch_size(per_position, scan.n_positions, memory_budget)
    out_bytes_per_row = scan.gpts[1] * (pix_bytes + 16 * (len(names) + 2))
    rows_per_chunk = max(1, min(scan.gpts[0], int(get_budget(memory_budget) // max(1, 4 * out_bytes_per_row))))

    static = dict(com_dets=tuple(com_dets), pix_dets=tuple(pix_dets), grid=grid, energy=float(sim.energy),
                  batch=int(pos_batch))
    tds_names, vdet = [], None
    if tds_potentials:
        if thermal is not None:
            raise ValueError("tds_potentials belong to the absorptive model (thermal=None)")
        for name, tp in tds_potentials.items():
            if not isinstance(tp, PotentialSlices) or tp.sequence != potential.sequence or tp.grid != grid:
                raise ValueError(f"tds_potentials[{name!r}] must be PotentialSlices on the same grid and slicing "
                                 "as potential")
            tds_names.append(name)
        vdet = jnp.stack([jnp.imag(tp.array) if jnp.iscomplexobj(tp.array) else tp.array
                          for tp in tds_potentials.values()]).astype(rdtype)
    if thermal is None:
        trans = transmission_functions(potential.array, sigma, grid, cdtype)
        seq = jnp.asarray(potential.sequence, jnp.int32)
        run_chunk = partial(_scan_static, trans=trans, seq=seq, prop=prop, probe_k=pk, masks=masks,
                            com_weights=com_weights, vdet=vdet, sigma=jnp.asarray(sigma, rdtype), **static)
        n_members = 1
    else:
        layout = potential_layout(flat, gpts=grid.gpts, slice_thickness=potential.slice_thickness,
                                  parametrization=parametrization, precision=precision)
        if thermal == "einstein":
            if n_configs is None or int(n_configs) < 1:
                raise ValueError(f"n_configs must be ≥ 1, got {n_configs!r}")
            if float(jnp.max(flat.u2)) <= 0:
                raise ValueError("frozen phonons need Debye–Waller factors: the structure has B = 0 everywhere")
            members = jax.random.split(key if key is not None else jax.random.key(0), int(n_configs))
        else:
            members = jnp.asarray(snapshots, rdtype)
            if members.ndim != 3 or members.shape[1:] != (len(flat), 3):
                raise ValueError(f"snapshots must have shape (n, {len(flat)}, 3) [Å], got {members.shape}")
        n_members = int(members.shape[0])
        st = flat.replace(positions=flat.positions.astype(rdtype), u2=flat.u2.astype(rdtype))
        run_chunk = partial(_scan_thermal, members=members, structure=st, layout=layout, sigma=sigma, prop=prop,
                            probe_k=pk, masks=masks, com_weights=com_weights, einstein=thermal == "einstein",
                            **static)

    from tqdm.auto import tqdm

    results = {}
    bar = tqdm(total=scan.gpts[0], desc="STEM scan (rows)", disable=not progress, unit="row")
    for r0 in range(0, scan.gpts[0], rows_per_chunk):
        rows = slice(r0, min(scan.gpts[0], r0 + rows_per_chunk))
        pos = jnp.asarray(positions[rows].reshape(-1, 2), rdtype)
        out = run_chunk(pos)
        nrow = rows.stop - rows.start
        chunk = {k: np.asarray(v).reshape((nrow, scan.gpts[1]) + v.shape[1:]) for k, v in out.items()}
        if chunk_callback is not None:
            chunk_callback(rows, chunk)
        for k, v in chunk.items():
            if chunk_callback is None or not k.startswith("pix"):
                results.setdefault(k, []).append(v)
        bar.update(nrow)
    bar.close()
    return _measurements(results, names, pix_dets, com_dets, scan, grid, sim, thermal, n_members, tds_names)


def _measurements(results, names, pix_dets, com_dets, scan, grid, sim, thermal, n_members, tds_names=()):
    scan_axes = (Axis("scan_y", scan.sampling[0], "Å", scan.start[0]), Axis("scan_x", scan.sampling[1], "Å", scan.start[1]))
    meta = {"energy": sim.energy, "semi_angle_mrad": sim.semi_angle, "thermal": thermal or "static",
            "n_configurations": n_members}
    out = {}
    if "lin" in results:
        lin = np.concatenate(results["lin"])
        for i, name in enumerate(names):
            out[name] = Measurement(lin[..., i], scan_axes, {**meta, "quantity": "fraction of probe intensity"})
    if "tds" in results:
        tds = np.concatenate(results["tds"])
        for i, name in enumerate(tds_names):
            out[f"{name}_tds"] = Measurement(tds[..., i], scan_axes, {
                **meta, "quantity": "single-inelastic TDS into the detector, fraction of probe intensity"})
    for j, c in enumerate(com_dets):
        if f"com{j}" in results:
            arr = np.concatenate(results[f"com{j}"])
            out[c.name] = Measurement(arr, scan_axes + (Axis("component (θy, θx)"),), {**meta, "units": "mrad"})
    for j, d in enumerate(pix_dets):
        if f"pix{j}" in results:
            arr = np.concatenate(results[f"pix{j}"])
            sy, sx = d.sampling(grid, sim.energy)
            my, mx = arr.shape[-2:]
            axes = scan_axes + (Axis("θy", sy, "mrad", -(my // 2) * sy), Axis("θx", sx, "mrad", -(mx // 2) * sx))
            out[d.name] = Measurement(arr, axes, {**meta, "quantity": "fraction of probe intensity"})
    return out
