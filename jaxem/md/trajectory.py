"""The Trajectory container: atom positions over time in a (possibly changing) periodic cell.

A trajectory is what an MD run leaves behind: ``frames`` snapshots of the same ``atoms`` (sorted by
their MD id), each with the cell it was recorded in. Positions are Cartesian (x, y, z) [Å] in the
simulation frame; the cell of frame t is spanned by the rows of ``cells[t]`` [Å] starting at
``origins[t]`` [Å] (LAMMPS's ``(xlo, ylo, zlo)``), so the fractional coordinates are
``s = (r − origin) @ inv(cell)``.

*Unwrapped* positions follow each atom continuously across periodic boundaries (needed for
displacement analysis: MSD, band-pass filters); *wrapped* positions lie inside the cell (what a
potential builder wants). :func:`unwrap_by_continuity` reconstructs unwrapped positions from wrapped
ones by the minimum-image convention between consecutive frames, which is exact as long as no atom
moves by more than half a cell length between two frames. :func:`unwrap_by_images` uses LAMMPS image
flags ``(ix, iy, iz)``: ``r_u = r + n @ cell``.

Velocities, when present, are in the units of the source (LAMMPS ``metal``: Å/ps).
"""
from __future__ import annotations

import numpy as np

from .. import pytree, validate


def _frac(positions, cells, origins):
    """Fractional coordinates (F, N, 3) of positions (F, N, 3) in cells (F, 3, 3) at origins (F, 3)."""
    return np.einsum("fnj,fjk->fnk", positions - origins[:, None, :], np.linalg.inv(cells))


def _check_volumes(cells) -> None:
    vol = np.abs(np.linalg.det(cells))
    if np.any(vol < 1e-9):
        i = int(np.argmax(vol < 1e-9))
        raise validate.InputError(f"cells must have non-zero volumes [Å³]; cell {i} is {cells[i].tolist()}")


def unwrap_by_images(positions, images, cells):
    """Unwrapped positions r + n·cell [Å] from wrapped ``positions`` (F, N, 3) [Å], integer image flags
    ``images`` (F, N, 3) and ``cells`` (F, 3, 3) [Å] (rows = lattice vectors)."""
    positions = np.asarray(validate.array(positions, "positions", ndim=3, shape=(3,), kind="real", units="Å"),
                           np.float64)
    images = validate.array(images, "images", shape=positions.shape, kind="numeric")
    cells = validate.array(cells, "cells", shape=(positions.shape[0], 3, 3), ndim=3, kind="real", units="Å")
    return positions + np.einsum("fnj,fjk->fnk", np.asarray(images, np.float64), np.asarray(cells, np.float64))


def unwrap_by_continuity(positions, cells, origins=None):
    """Unwrap wrapped ``positions`` (F, N, 3) [Å] by minimum-image continuity between frames.

    The fractional step of every atom between consecutive frames is folded into [−½, ½); the steps
    are accumulated (a cumulative sum over frames, no Python loop). Frame 0 stays as given. Exact when
    no atom moves more than half a lattice vector between two frames.

    Args:
        positions: (F, N, 3) positions [Å].
        cells: (F, 3, 3) lattice vectors as rows [Å] (may change between frames, e.g. NPT).
        origins: (F, 3) cell origins [Å] (default zero).
    Returns:
        (F, N, 3) unwrapped positions [Å] (float64).
    """
    positions = np.asarray(validate.array(positions, "positions", ndim=3, shape=(3,), kind="real", units="Å"),
                           np.float64)
    nf = positions.shape[0]
    cells = np.asarray(validate.array(cells, "cells", shape=(nf, 3, 3), ndim=3, kind="real", units="Å"), np.float64)
    _check_volumes(cells)
    origins = (np.zeros((nf, 3)) if origins is None else
               np.asarray(validate.array(origins, "origins", shape=(nf, 3), ndim=2, kind="real", units="Å"),
                          np.float64))
    s = _frac(positions, cells, origins)
    ds = np.diff(s, axis=0)
    ds -= np.round(ds)
    su = np.concatenate([s[:1], s[:1] + np.cumsum(ds, axis=0)], axis=0)
    return np.einsum("fnj,fjk->fnk", su, cells) + origins[:, None, :]


@pytree.dataclass
class Trajectory:
    """Atom positions over time (host arrays; a pytree, so it can be passed through jax transforms).

    Attributes:
        positions: (frames, atoms, 3) Cartesian positions [Å].
        numbers: (atoms,) atomic numbers.
        cells: (frames, 3, 3) lattice vectors as rows [Å].
        origins: (frames, 3) cell origin (LAMMPS xlo, ylo, zlo) [Å].
        timesteps: (frames,) MD step number of each frame.
        ids: (atoms,) MD atom ids (sorted ascending).
        velocities: (frames, atoms, 3) velocities [Å/ps for LAMMPS metal units] or None.
        timestep_fs: duration of one MD step [fs] (static; None when unknown).
        unwrapped: whether ``positions`` are continuous across periodic boundaries (static).
    """

    positions: np.ndarray = pytree.field(units="Å")
    numbers: np.ndarray
    cells: np.ndarray = pytree.field(units="Å")
    origins: np.ndarray = pytree.field(units="Å")
    timesteps: np.ndarray
    ids: np.ndarray
    velocities: np.ndarray | None = pytree.field(default=None, units="Å/ps")
    timestep_fs: float | None = pytree.field(static=True, default=None, units="fs")
    unwrapped: bool = pytree.field(static=True, default=False)

    def __post_init__(self):
        # every concrete trajectory (create, replace, frames) is checked for NaN/inf; tracers and
        # pytree placeholders pass (jit/vmap)
        for name, units in (("positions", "Å"), ("cells", "Å"), ("origins", "Å"), ("velocities", "Å/ps")):
            value = getattr(self, name)
            if isinstance(value, np.ndarray) or (hasattr(value, "dtype") and not validate.is_traced(value)):
                validate.array(value, name, units=units, min_size=0)
        pos = self.positions
        if isinstance(pos, np.ndarray) and (pos.ndim != 3 or pos.shape[-1] != 3):
            raise validate.InputError(f"positions must have shape (frames, atoms, 3) [Å], got {pos.shape}")

    @classmethod
    def create(cls, positions, numbers, cells, origins=None, timesteps=None, ids=None, velocities=None,
               timestep_fs=None, unwrapped=False) -> "Trajectory":
        """Validated constructor.

        Args:
            positions: (frames, atoms, 3) [Å].
            numbers: (atoms,) atomic numbers or symbols.
            cells: (3, 3) or (frames, 3, 3) lattice vectors as rows [Å], or (3,) orthorhombic lengths [Å].
            origins: (3,) or (frames, 3) cell origins [Å] (default 0).
            timesteps: (frames,) MD step numbers (default 0, 1, 2, …).
            ids: (atoms,) atom ids (default 1…atoms).
            velocities: optional (frames, atoms, 3) [Å/ps].
            timestep_fs: MD step [fs] (> 0) or None.
            unwrapped: whether positions are unwrapped.
        """
        from ..structure.elements import atomic_numbers

        pos = np.asarray(validate.array(positions, "positions", kind="real", units="Å", min_size=0), np.float64)
        if pos.ndim != 3 or pos.shape[-1] != 3 or pos.shape[0] < 1:
            raise validate.InputError(f"positions must have shape (frames ≥ 1, atoms, 3), got {pos.shape}")
        nf, na = pos.shape[:2]
        nums = atomic_numbers(numbers, "numbers")
        if nums.shape != (na,):
            raise validate.InputError(f"numbers must have length {na} (atoms), got {nums.shape}")
        c = np.asarray(cells, np.float64)
        if c.shape == (3,):
            c = np.diag(c)
        if c.shape == (3, 3):
            c = np.broadcast_to(c, (nf, 3, 3)).copy()
        if c.shape != (nf, 3, 3):
            raise validate.InputError(f"cells must have shape (3, 3) or ({nf}, 3, 3), got {c.shape}")
        if np.any(np.abs(np.linalg.det(c)) < 1e-9):
            raise validate.InputError("every cell must have a non-zero volume")
        o = np.zeros((nf, 3)) if origins is None else np.broadcast_to(np.asarray(origins, np.float64), (nf, 3)).copy()
        ts = np.arange(nf, dtype=np.int64) if timesteps is None else np.asarray(timesteps, np.int64)
        if ts.shape != (nf,):
            raise validate.InputError(f"timesteps must have length {nf}, got {ts.shape}")
        ids_ = np.arange(1, na + 1, dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
        if ids_.shape != (na,):
            raise validate.InputError(f"ids must have length {na}, got {ids_.shape}")
        vel = None if velocities is None else np.asarray(velocities, np.float64)
        if vel is not None and vel.shape != pos.shape:
            raise validate.InputError(f"velocities must have shape {pos.shape}, got {vel.shape}")
        if timestep_fs is not None:
            timestep_fs = validate.scalar(timestep_fs, "timestep_fs", "fs", positive=True)
        return cls(pos, nums, c, o, ts, ids_, vel, None if timestep_fs is None else float(timestep_fs), bool(unwrapped))

    # ---- properties -----------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return int(self.positions.shape[0])

    @property
    def n_atoms(self) -> int:
        return int(self.positions.shape[1])

    def __len__(self) -> int:
        return self.n_frames

    @property
    def species(self) -> tuple[int, ...]:
        """Sorted unique atomic numbers."""
        return tuple(int(z) for z in np.unique(np.asarray(self.numbers)))

    @property
    def times(self) -> np.ndarray:
        """(frames,) time of each frame [fs] (needs ``timestep_fs``)."""
        if self.timestep_fs is None:
            raise validate.InputError("this trajectory has no timestep_fs; pass timestep_fs=… [fs] when reading it")
        return np.asarray(self.timesteps, np.float64) * self.timestep_fs

    @property
    def frame_interval_fs(self) -> float:
        """Time between consecutive frames [fs] (frames must be evenly spaced)."""
        t = self.times
        if len(t) < 2:
            raise validate.InputError("need at least 2 frames for a frame interval")
        d = np.diff(t)
        if not np.allclose(d, d[0], rtol=1e-9):
            raise validate.InputError(f"frames are not evenly spaced in time (steps {np.unique(np.diff(self.timesteps))})")
        return float(d[0])

    def fractional(self) -> np.ndarray:
        """(frames, atoms, 3) fractional coordinates of the positions."""
        return _frac(np.asarray(self.positions), np.asarray(self.cells), np.asarray(self.origins))

    # ---- transformations ------------------------------------------------------------------------
    def __getitem__(self, index) -> "Trajectory":
        """Frames selected by an int, slice or index array (a new Trajectory)."""
        idx = np.arange(self.n_frames)[index]
        idx = np.atleast_1d(idx)
        return self.replace(positions=self.positions[idx], cells=self.cells[idx], origins=self.origins[idx],
                            timesteps=self.timesteps[idx],
                            velocities=None if self.velocities is None else self.velocities[idx])

    def unwrap(self) -> "Trajectory":
        """Unwrapped copy (minimum-image continuity between frames; no-op if already unwrapped)."""
        if self.unwrapped:
            return self
        return self.replace(positions=unwrap_by_continuity(self.positions, self.cells, self.origins), unwrapped=True)

    def wrapped_positions(self) -> np.ndarray:
        """(frames, atoms, 3) positions mapped into each frame's cell, relative to its origin [Å]."""
        s = self.fractional() % 1.0
        return np.einsum("fnj,fjk->fnk", s, np.asarray(self.cells))

    # ---- to structures --------------------------------------------------------------------------
    def frame(self, i: int, wrap: bool = True, B=None, u2=None):
        """Frame ``i`` as a :class:`jaxem.structure.Structure` (positions relative to the cell origin).

        Args:
            i: frame index (negative counts from the end).
            wrap: map atoms into the cell (what multislice slicing wants); else keep unwrapped offsets.
            B, u2: optional Debye–Waller factors passed to ``Structure.create`` [Å²] (a snapshot
                already contains thermal displacements, so normally leave them unset).
        """
        from ..structure import Structure

        i = validate.integer(i, "frame index i", lo=-self.n_frames, hi=self.n_frames - 1) % self.n_frames
        cell = np.asarray(self.cells[i])
        if wrap:
            s = (np.asarray(self.positions[i]) - self.origins[i]) @ np.linalg.inv(cell)
            pos = (s % 1.0) @ cell
        else:
            pos = np.asarray(self.positions[i]) - self.origins[i]
        return Structure.create(pos, self.numbers, cell, B=B, u2=u2)

    def to_structures(self, wrap: bool = True) -> list:
        """All frames as a list of :class:`~jaxem.structure.Structure` (see :meth:`frame`)."""
        return [self.frame(i, wrap=wrap) for i in range(self.n_frames)]

    @classmethod
    def from_structures(cls, structures, timesteps=None, timestep_fs=None, unwrapped=True) -> "Trajectory":
        """Stack :class:`~jaxem.structure.Structure` snapshots of the same atoms into a trajectory."""
        structures = list(structures)
        if not structures:
            raise validate.InputError("need at least one structure")
        nums = np.asarray(structures[0].numbers)
        for k, st in enumerate(structures):
            if len(st) != len(nums) or np.any(np.asarray(st.numbers) != nums):
                raise validate.InputError(f"structure {k} has different atoms than structure 0")
        return cls.create(np.stack([np.asarray(s.positions) for s in structures]), nums,
                          np.stack([np.asarray(s.cell) for s in structures]), timesteps=timesteps,
                          timestep_fs=timestep_fs, unwrapped=unwrapped)
