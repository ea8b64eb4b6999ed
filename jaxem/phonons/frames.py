"""The one kernel of vibrational scattering: a batch of atomic snapshots → elastic multislice → Ψ(q)
per snapshot (and per probe position).

Every vibrational method of :mod:`jaxem.phonons` stands on this: TACAW takes the snapshots of one
trajectory as a time series Ψ(q, t_j); frequency-resolved frozen phonons (FRFPMS) take band-filtered
or band-limited ensembles and reduce them to ⟨|Ψ|²⟩ − |⟨Ψ⟩|²; frozen-trajectory excitation takes
ensembles of excited copies at each delay. Each snapshot is one frozen configuration (positions R_j
[Å] of the same atoms as the equilibrium ``structure``); its potential is built on the layout of the
equilibrium structure (atom-to-slice assignment fixed, as in every frozen-phonon run of
:mod:`jaxem.propagate`), and the incident wave (a plane wave or a batch of STEM probes) is propagated
by the package's one slice step (:func:`jaxem.propagate.multislice_array`).

Output: Ψ(q) in unshifted FFT order, normalised so that Σ_q |Ψ(q)|² is the fraction of the incident
beam that reaches the exit surface (1 without absorption), optionally kept only on a region of
interest of q (``q_region``) so memory grows with the region, not the grid. Snapshots are processed
in ``vmap`` batches whose size comes from the memory policy (:func:`jaxem.accel.batch_size`), inside
one jitted ``lax.map``; :func:`frame_waves_to_zarr` streams chunks of frames to disk so that memory
does not grow with the number of frames.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from .. import accel, pytree, validate
from ..beam import Beam
from ..grid import Grid
from ..measurement import Axis, Measurement
from ..potential import potential_layout
from ..propagate.ensembles import member_transmissions
from ..propagate.multislice import fresnel_propagator, multislice_array
from ..propagate.waves import Waves, check_waves
from ..structure import Structure


@pytree.dataclass
class FrameWaves:
    """Exit waves of a batch of snapshots in reciprocal space.

    Attributes:
        array: Ψ(q), complex, shape (n_frames, [n_probes,] ny, nx) (unshifted FFT order) or
            (n_frames, [n_probes,] n_q) on a region of interest; Σ|Ψ|² = transmitted fraction.
        q_index: static (iy, ix) integer tuples of the region of interest, or None (whole grid).
        grid, beam: grid [Å] and beam of the waves (static).
        time_step: interval between frames [fs] (static; None for an ensemble without time order).
    """

    array: jnp.ndarray
    q_index: tuple | None = pytree.field(static=True, default=None)
    grid: Grid | None = pytree.field(static=True, default=None)
    beam: Beam | None = pytree.field(static=True, default=None)
    time_step: float | None = pytree.field(static=True, default=None, units="fs")

    @property
    def n_frames(self) -> int:
        return int(self.array.shape[0])

    def q_vectors(self) -> np.ndarray:
        """(…, 2) spatial frequencies (qy, qx) [1/Å] of the stored q points (whole grid: (ny, nx, 2))."""
        ky, kx = (np.fft.fftfreq(n, d) for n, d in zip(self.grid.gpts, self.grid.sampling))
        if self.q_index is None:
            return np.stack(np.meshgrid(ky, kx, indexing="ij"), -1)
        iy, ix = (np.asarray(a) for a in self.q_index)
        return np.stack([ky[iy], kx[ix]], -1)

    def to_measurement(self) -> Measurement:
        """Ψ(q) with calibrated axes (frame [fs or index], probe, qy/qx [1/Å] or q point)."""
        a = np.asarray(self.array)
        axes = [Axis("t", self.time_step, "fs") if self.time_step else Axis("frame", 1.0, "")]
        if a.ndim - 1 - (1 if self.q_index is not None else 2) == 1:
            axes.append(Axis("probe", 1.0, ""))
        if self.q_index is None:
            ny, nx = self.grid.gpts
            dy, dx = (1.0 / (n * d) for n, d in zip(self.grid.gpts, self.grid.sampling))
            a = np.fft.fftshift(a, axes=(-2, -1))
            axes += [Axis("qy", dy, "1/Å", -(ny // 2) * dy), Axis("qx", dx, "1/Å", -(nx // 2) * dx)]
            md = {}
        else:
            axes.append(Axis("q_point", 1.0, ""))
            md = {"q_vectors_per_angstrom": self.q_vectors().tolist()}
        return Measurement(a, tuple(axes), {"quantity": "exit wave Ψ(q)", "units": "√(fraction of beam)",
                                            "beam": self.beam.to_dict() if self.beam else None, **md})


@validate.typed
def region_indices(q_region, grid: Grid) -> tuple | None:
    """Integer (iy, ix) FFT indices of a region of interest of q.

    ``q_region`` is None (the whole grid), a boolean mask (ny, nx) in unshifted FFT order, or a
    sequence of (qy, qx) spatial frequencies [1/Å], each of which must lie on the grid's frequency
    lattice within 1e-6 of a pixel and inside its Nyquist range (an error names the offender)."""
    validate.instance(grid, "grid", Grid)
    if q_region is None:
        return None
    ny, nx = grid.gpts
    arr = np.asarray(q_region)
    if arr.dtype == bool:
        if arr.shape != (ny, nx):
            raise validate.InputError(f"q_region: a mask must have the grid's shape {(ny, nx)}, got {arr.shape}")
        iy, ix = np.nonzero(arr)
    else:
        q = np.asarray(validate.array(arr, "q_region", ndim=2, shape=(2,), kind="real", units="1/Å", finite=True),
                       float)
        dqy, dqx = (1.0 / (n * d) for n, d in zip(grid.gpts, grid.sampling))
        fy, fx = q[:, 0] / dqy, q[:, 1] / dqx
        ry, rx = np.rint(fy), np.rint(fx)
        off = np.flatnonzero((np.abs(fy - ry) > 1e-6) | (np.abs(fx - rx) > 1e-6))
        if off.size:
            i = int(off[0])
            raise validate.InputError(f"q_region[{i}] = {tuple(q[i])} 1/Å is not on the grid's frequency lattice "
                                      f"(steps {dqy:.6g}, {dqx:.6g} 1/Å); use multiples of the steps")
        out = np.flatnonzero((ry < -(ny // 2)) | (ry > (ny - 1) // 2) | (rx < -(nx // 2)) | (rx > (nx - 1) // 2))
        if out.size:
            i = int(out[0])
            raise validate.InputError(
                f"q_region[{i}] = {tuple(q[i])} 1/Å is outside the grid (|qy| ≤ {(ny // 2) * dqy:.4g}, "
                f"|qx| ≤ {(nx // 2) * dqx:.4g} 1/Å); use a finer sampling or drop the point")
        iy, ix = ry.astype(int) % ny, rx.astype(int) % nx
    if len(iy) == 0:
        raise validate.InputError("q_region selects no q point")
    return tuple(int(i) for i in iy), tuple(int(i) for i in ix)


def check_frames(frames, structure: Structure, name: str = "frames") -> np.ndarray:
    """(n_frames, N, 3) positions [Å] of the structure's N atoms, finite; an error otherwise."""
    return validate.array(frames, name, ndim=3, shape=(len(structure), 3), kind="real", units="Å", finite=True)


# CPU batches of frames use the house's working set (accel.cpu_working_set): measured here at 64²–512²,
# a batch whose estimated working set exceeds about 16 MiB runs 1.5–3× slower per frame
# (benchmarks/phonon_spectroscopy.py).


class FrameKernel:
    """The compiled snapshot → Ψ(q) map for one (structure layout, incident wave, region) setting.

    Build it once (``FrameKernel(structure, waves, …)``) and call :meth:`pure` inside jit/grad or
    :meth:`__call__` on a batch of frames; repeated calls with the same frame count compile nothing.
    """

    def __init__(self, structure: Structure, waves: Waves, *, slice_thickness: float = 1.0,
                 parametrization: str = "lobato", q_region=None):
        check_waves(waves)
        if not isinstance(structure, Structure):
            raise validate.InputTypeError(f"structure must be a jaxem Structure, got {type(structure).__name__}")
        if waves.array.ndim not in (2, 3):
            raise validate.InputError(f"waves must be one incident wave (ny, nx) or a batch of probes (n, ny, nx), "
                                      f"got shape {waves.array.shape}")
        self.structure = structure.replace(z_repeats=1)
        self.grid, self.beam = waves.grid, waves.beam
        self.layout = potential_layout(self.structure, gpts=self.grid.gpts, slice_thickness=slice_thickness,
                                       parametrization=parametrization,
                                       precision=accel.precision_of(waves.array))
        self.psi0 = waves.array
        self.norm = float(waves.norm)
        self.prop = fresnel_propagator(self.grid, self.beam, float(self.layout.slice_thickness), waves.array.dtype)
        self.q_index = region_indices(q_region, self.grid)
        self.n_probes = 1 if waves.array.ndim == 2 else waves.array.shape[0]
        # probes of one snapshot share its transmission functions and are propagated in batches from the
        # memory policy: on a CPU a whole line of probes at once runs 2× slower than batches that stay in
        # cache (measured at 256², 64 probes; benchmarks/phonon_spectroscopy.py)
        item = jnp.dtype(self.psi0.dtype).itemsize
        self.probe_batch = int(accel.batch_size(4 * item * self.grid.gpts[0] * self.grid.gpts[1], self.n_probes,
                                                None, cpu_cap=accel.cpu_working_set()))

    def pure(self, positions):
        """Ψ(q) of one snapshot (N, 3) [Å]: ([n_probes,] ny, nx) or ([n_probes,] n_q). Pure; jit/grad-safe."""
        return self.pure_waves(positions, self.psi0)

    def pure_waves(self, positions, psi0):
        """:meth:`pure` for other incident waves ``psi0`` of the kernel's shape (a chunk of a scan's probes:
        one compiled kernel serves every chunk)."""
        t = member_transmissions(positions.astype(self.structure.positions.dtype), self.structure, self.layout,
                                 self.beam, self.psi0.dtype, False)
        seq = tuple(self.layout.sequence)
        head = jnp.asarray(seq[:-1], jnp.int32)
        scale = 1 / jnp.sqrt(self.grid.gpts[0] * self.grid.gpts[1] * self.norm).astype(self.prop.real.dtype)
        q_index = None if self.q_index is None else tuple(jnp.asarray(i) for i in self.q_index)

        def exit_k(w):  # Ψ(q) of the exit wave: the last slice's inverse FFT and the output's FFT cancel
            if len(seq) > 1:
                w = multislice_array(w, t, head, self.prop)
            fk = jnp.fft.fft2(w * t[seq[-1]]) * (self.prop * scale)
            return fk if q_index is None else fk[..., q_index[0], q_index[1]]

        if psi0.ndim == 3 and self.probe_batch < psi0.shape[0]:
            return jax.lax.map(exit_k, psi0, batch_size=self.probe_batch)
        return exit_k(psi0)

    def bytes_per_frame(self) -> int:
        npix = self.grid.gpts[0] * self.grid.gpts[1]
        item = jnp.dtype(self.psi0.dtype).itemsize
        n_out = npix if self.q_index is None else len(self.q_index[0])
        return int(item * (npix * (3 * len(self.layout.sequence) + 8 * self.probe_batch) + n_out * self.n_probes))

    def __call__(self, frames, memory_budget=None) -> jnp.ndarray:
        frames = jnp.asarray(check_frames(frames, self.structure), self.structure.positions.dtype)
        n = frames.shape[0]
        batch = accel.batch_size(self.bytes_per_frame(), n, memory_budget, cpu_cap=accel.cpu_working_set())
        return _map_frames(self, frames, int(batch))

    def __hash__(self):
        return id(self)


@partial(jax.jit, static_argnames=("kernel", "batch"))
def _map_frames(kernel: FrameKernel, frames, batch: int):
    return jax.lax.map(kernel.pure, frames, batch_size=batch)


@partial(jax.jit, static_argnames=("kernel", "batch"))
def map_frames_waves(kernel: FrameKernel, frames, psi0, batch: int):
    """Ψ(q) of every snapshot in ``frames`` for incident waves ``psi0`` (the kernel's shape), frames in
    batches of ``batch``: one compilation per kernel and shape."""
    return jax.lax.map(lambda p: kernel.pure_waves(p, psi0), frames, batch_size=batch)


@validate.typed
def frame_waves(structure: Structure, waves: Waves, frames, *, time_step=None, slice_thickness: float = 1.0,
                parametrization: str = "lobato", q_region=None, memory_budget=None) -> FrameWaves:
    """Ψ(q) of every snapshot in ``frames``.

    Args:
        structure: the equilibrium structure (sets species, cell, slice layout).
        waves: the incident wave: a plane wave (ny, nx) or a batch of STEM probes (n, ny, nx), on the
            lateral grid of the structure's cell.
        frames: (n_frames, N, 3) snapshot positions [Å] (MD frames, ensemble members …).
        time_step: interval between frames [fs] for a time series (TACAW), else None. A time series
            must have unwrapped coordinates (an atom jumping by half a cell between frames is an error).
        slice_thickness: [Å]; parametrization: "lobato" or "kirkland".
        q_region: keep only these q points (see :func:`region_indices`).
        memory_budget: bytes for batching snapshots (default: the memory policy's).
    Returns:
        :class:`FrameWaves`.
    """
    if time_step is not None:
        time_step = validate.scalar(time_step, "time_step", "fs", positive=True)
    kernel = FrameKernel(structure, waves, slice_thickness=slice_thickness, parametrization=parametrization,
                         q_region=q_region)
    if time_step is not None:
        from .frfpms import check_unwrapped

        check_unwrapped(check_frames(frames, kernel.structure), kernel.structure.cell)
    return FrameWaves(kernel(frames, memory_budget), kernel.q_index, kernel.grid, kernel.beam, time_step)


@validate.typed
def frame_waves_to_zarr(path, structure: Structure, waves: Waves, frames, *, time_step=None,
                        frames_per_chunk: int = 64, slice_thickness: float = 1.0, parametrization: str = "lobato",
                        q_region=None, memory_budget=None, progress: bool = True):
    """:func:`frame_waves` streamed to a store (``.zarr``/``.zspy``/``.hspy``) chunk by chunk of frames,
    so memory stays flat in the number of frames; the store is written atomically and appears only
    when every chunk is written. ``frames`` may be any array-like indexable along its first axis
    (a NumPy memmap or a zarr array of a stored trajectory). Returns the path."""
    from tqdm.auto import tqdm

    from ..io import writer

    if time_step is not None:
        time_step = validate.scalar(time_step, "time_step", "fs", positive=True)
    frames_per_chunk = validate.integer(frames_per_chunk, "frames_per_chunk", lo=1)
    kernel = FrameKernel(structure, waves, slice_thickness=slice_thickness, parametrization=parametrization,
                         q_region=q_region)
    shape_f = tuple(np.shape(frames))
    if len(shape_f) != 3 or shape_f[1:] != (len(kernel.structure), 3):
        raise validate.InputError(f"frames must have shape (n_frames, {len(kernel.structure)}, 3), got {shape_f}")
    n = shape_f[0]
    out_shape = jax.eval_shape(kernel.pure, jax.ShapeDtypeStruct((len(kernel.structure), 3),
                                                                  kernel.structure.positions.dtype)).shape
    template = FrameWaves(jnp.zeros((1,) + out_shape, kernel.psi0.dtype), kernel.q_index, kernel.grid, kernel.beam,
                          time_step).to_measurement()
    with writer(path, "path") as w:
        dims = tuple(a.name for a in template.axes)
        data = w.create((n,) + out_shape, kernel.psi0.dtype, dims,
                        chunks=(min(frames_per_chunk, n),) + out_shape)
        last = None
        for start in tqdm(range(0, n, frames_per_chunk), disable=not progress, desc="frames", unit="chunk"):
            chunk = np.asarray(frames[start:start + frames_per_chunk])
            if time_step is not None:  # a time series: unwrapped coordinates, checked across chunk boundaries
                from .frfpms import check_unwrapped

                check_unwrapped(chunk if last is None else np.concatenate([last, chunk]), kernel.structure.cell)
                last = chunk[-1:]
            block = np.asarray(kernel(chunk, memory_budget))
            if kernel.q_index is None:
                block = np.fft.fftshift(block, axes=(-2, -1))
            data[start:start + len(block)] = block
        w.finish(template.axes, template.metadata)
    return path
