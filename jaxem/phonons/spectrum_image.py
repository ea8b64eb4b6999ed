"""Vibrational STEM spectrum images by TACAW: a focused probe at every scan position, the exit waves
of an NVE trajectory through a spectrometer's collection aperture, and the phonon spectrum at each
position (Castellanos-Reyes, Zeiger & Rusz, PRL 134, 036402 (2025); the atomic-resolution
vibrational maps of their Fig. 4 and of Zeiger & Rusz, PRB 104, 104301 (2021)).

For probe position r_p the exit waves Ψ_p(q, t_j) of the frames (:class:`~jaxem.phonons.frames.FrameKernel`,
all probes of a snapshot sharing its transmission functions) give, with the time mean removed and the
window w applied (:func:`~jaxem.phonons.tacaw.tacaw_spectrum`),

    S(r_p, E) = Σ_{q ∈ aperture} S_cl(q, E; r_p)   [× p(E), the harmonic quantum factor, at equilibrium],

the intensity [fraction of the incident beam per energy bin] that an aperture of radius θ_a [mrad]
centred at θ_c [mrad] collects in each bin. Parseval holds per position: without a window,
Σ_E S(r_p, E) equals the frozen-phonon thermal diffuse intensity of the same snapshots inside the
aperture (tests/phonons/test_spectrum_image.py checks it against
:func:`jaxem.propagate.frozen_phonon_multislice`).

Memory: the exit waves of all frames are needed for the time transform, i.e.
n_frames × probes × aperture pixels complex numbers; probes are processed in chunks whose size comes
from the memory policy (:func:`jaxem.accel.batch_size`), one compiled kernel for all chunks.
"""
from __future__ import annotations

import numpy as np

from .. import accel, validate
from ..beam import as_beam
from ..measurement import Axis, Measurement
from ..optics import Aberrations, probe
from ..potential.projected import lateral_grid
from ..propagate.waves import waves_from_array
from ..stem.scan import GridScan
from ..structure import Structure
from .frames import FrameKernel, check_frames, map_frames_waves
from .frfpms import check_unwrapped
from .tacaw import tacaw_spectrum

__all__ = ["collection_mask", "tacaw_spectrum_image"]


def collection_mask(grid, beam, radius, center=(0.0, 0.0), name: str = "collection_radius") -> np.ndarray:
    """Boolean (ny, nx) mask (unshifted FFT order) of a spectrometer aperture of ``radius`` [mrad]
    centred at ``center`` (θy, θx) [mrad]: the pixels whose scattering angle lies within it. The
    whole aperture must lie inside the grid's anti-aliased band (an error names the sampling that
    would do) and must contain at least one pixel."""
    beam = as_beam(beam)
    r = validate.scalar(radius, name, "mrad", positive=True)
    cy, cx = validate.pair(center, "collection_center", "mrad")
    beam.check_angle(float(np.hypot(cy, cx)) + r, grid, name=f"{name} + |collection_center|")
    ky, kx = (np.fft.fftfreq(n, d) for n, d in zip(grid.gpts, grid.sampling))
    ty, tx = (beam.frequency_to_mrad(k) for k in (ky, kx))
    mask = (ty[:, None] - cy) ** 2 + (tx[None, :] - cx) ** 2 <= r * r
    if not mask.any():
        step = float(beam.frequency_to_mrad(1.0 / max(e for e in grid.extent)))
        raise validate.InputError(f"{name} = {r:g} mrad at collection_center = ({cy:g}, {cx:g}) mrad contains no "
                                  f"pixel of the diffraction grid (angular step ≈ {step:.3g} mrad); use a larger "
                                  f"radius or a larger cell")
    return mask


@validate.typed
def tacaw_spectrum_image(structure: Structure, frames, time_step, scan: GridScan, *, energy, semi_angle,
                         collection_radius, collection_center=(0.0, 0.0), aberrations: Aberrations | None = None,
                         sampling=None, gpts=None, slice_thickness: float = 1.0, parametrization: str = "lobato",
                         window_name="hann", segment: int | None = None, overlap: float = 0.5, temperature=None,
                         max_frequency=None, energy_step=None, precision=None, memory_budget=None,
                         progress: bool = True) -> Measurement:
    """The vibrational spectrum S(r_p, E) at every probe position of ``scan``.

    Args:
        structure: the equilibrium structure (species, cell, slice layout; periodic laterally).
        frames: (n_frames, N, 3) unwrapped positions [Å] of consecutive NVE frames.
        time_step: Δt between frames [fs].
        scan: :class:`~jaxem.stem.GridScan` of probe positions [Å] inside the cell.
        energy: beam energy [eV] or a :class:`~jaxem.beam.Beam`; semi_angle: probe convergence [mrad];
        aberrations: the probe's (default none).
        collection_radius, collection_center: the spectrometer aperture [mrad] (centre (θy, θx)).
        sampling / gpts: the lateral grid (one of them) on the structure's cell.
        slice_thickness [Å], parametrization: the potential, as in :func:`~jaxem.phonons.frame_waves`.
        window_name, segment, overlap, temperature, max_frequency, energy_step: as in
            :func:`~jaxem.phonons.tacaw_spectrum` (``temperature`` applies the quantum factor:
            equilibrium trajectories only).
        precision: "float32" (default) or "float64"; memory_budget: bytes for the probe chunks.
        progress: a progress bar over probe chunks.
    Returns:
        :class:`~jaxem.measurement.Measurement` (scan_y, scan_x, E) [fraction of beam per bin], the
        energy axis ascending [meV].
    """
    from tqdm.auto import tqdm

    if not isinstance(structure, Structure):
        raise validate.InputTypeError(f"structure must be a jaxem Structure, got {type(structure).__name__}")
    if not isinstance(scan, GridScan):
        raise validate.InputTypeError(f"scan must be a jaxem GridScan, got {type(scan).__name__}")
    dt = validate.scalar(time_step, "time_step", "fs", positive=True)
    beam = as_beam(energy)
    flat = structure.replace(z_repeats=1)
    frames = check_frames(frames, flat)
    if frames.shape[0] < 4:
        raise validate.InputError(f"frames: {frames.shape[0]} frames; TACAW needs at least 4")
    check_unwrapped(frames, flat.cell)
    grid = lateral_grid(flat, sampling=sampling, gpts=gpts)
    scan.check_inside(grid.extent)
    mask = collection_mask(grid, beam, collection_radius, collection_center)
    positions = scan.positions().reshape(-1, 2)
    n_pos, n_q, n_f = len(positions), int(mask.sum()), frames.shape[0]
    item = np.dtype(accel.dtypes(precision)[1]).itemsize
    # per probe: its incident wave, and Ψ(t, q), its fluctuation and a segment's transform on the aperture
    per_probe = item * (grid.gpts[0] * grid.gpts[1] + 3 * n_f * n_q)
    budget = accel.memory_budget(memory_budget)
    if per_probe > budget:
        raise validate.InputError(
            f"one probe's exit waves ({n_f} frames × {n_q} aperture pixels) need {per_probe / 2**20:.4g} MiB, more "
            f"than the memory budget of {budget / 2**20:.4g} MiB; use a smaller collection_radius, fewer frames "
            f"per call, or a larger memory_budget")
    chunk = int(accel.batch_size(per_probe, n_pos, memory_budget))
    n_chunks = -(-n_pos // chunk)
    # equal chunks: one compiled kernel (padding repeats the last position and is dropped); the probes of a
    # chunk are built when it runs, so memory does not grow with the scan
    positions = np.concatenate([positions, np.repeat(positions[-1:], n_chunks * chunk - n_pos, 0)])

    def probes(c):
        return probe(grid, beam, semi_angle, aberrations, positions=positions[c * chunk:(c + 1) * chunk],
                     precision=precision)

    kernel = FrameKernel(flat, waves_from_array(probes(0), grid, beam, norm=1.0), slice_thickness=slice_thickness,
                         parametrization=parametrization, q_region=mask)
    frames_dev = np.asarray(frames, np.dtype(kernel.structure.positions.dtype))
    f_batch = int(accel.batch_size(kernel.bytes_per_frame(), n_f, memory_budget, cpu_cap=accel.cpu_working_set()))
    out, spec = [], None
    for c in tqdm(range(n_chunks), disable=not progress, desc="probe chunks", unit="chunk"):
        psi_t = map_frames_waves(kernel, frames_dev, kernel.psi0 if c == 0 else probes(c), f_batch)
        spec = tacaw_spectrum(psi_t, dt, window_name=window_name, segment=segment, overlap=overlap,
                              temperature=temperature, max_frequency=max_frequency, energy_step=energy_step)
        out.append(np.asarray(spec.intensity.sum(-1)).T)  # (chunk, n_E)
    s = np.concatenate(out)[:n_pos].reshape(tuple(scan.gpts) + (-1,))
    e = np.asarray(spec.energy)
    axes = tuple(scan.axes()) + (Axis("E", float(e[1] - e[0]), "meV", float(e[0])),)
    return Measurement(s, axes, {
        "quantity": "TACAW vibrational spectrum image", "units": "fraction of beam per energy bin",
        "beam": beam.to_dict(), "semi_angle_mrad": float(validate.scalar(semi_angle, "semi_angle", "mrad")),
        "collection_radius_mrad": float(collection_radius), "collection_center_mrad": list(map(float, collection_center)),
        "quantum_factor": spec.quantum, "temperature": spec.temperature, "segments": spec.n_segments,
        "segment_frames": spec.segment_frames, "time_step_fs": dt, "window": str(window_name),
        "scan": scan.to_dict()})
