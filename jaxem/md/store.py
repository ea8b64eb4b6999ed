"""The on-disk MD trajectory store: a zarr v3 group written frame chunk by frame chunk.

Layout (one directory, ``*.zarr``)::

    positions   (n_frames, n_atoms, 3) float64  unwrapped Cartesian positions [Å]
    velocities  (n_frames, n_atoms, 3) float64  [Å/ps]
    timesteps   (n_frames,) int64               MD step of each frame (production starts at 0)
    temperature, potential_energy, kinetic_energy, total_energy   (n_frames,) [K], [eV] (whole cell)
    numbers     (n_atoms,) int32                atomic numbers
    cell        (3, 3) float64                  lattice vectors as rows [Å]
    attrs["jaxem_md"] = {layout, version, key, complete, n_frames, timestep_fs, temperature_K, …}

The store is built in a temporary directory next to its destination and swapped in whole
(:func:`jaxem.atomic.atomic_path`); ``complete`` is set last. A run that fails or is killed leaves no
store at the destination (or the previous one), so a half-written trajectory never looks complete.
Reads check the mark, every frame chunk's presence and that it decodes; a bad one is a
:class:`~jaxem.validate.FileFormatError` naming the store and the first frame it affects.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from .. import validate
from ..validate import FileFormatError, InputError
from .trajectory import Trajectory

__all__ = ["LAYOUT", "VERSION", "TrajectoryWriter", "writing", "read_trajectory", "read_info", "read_thermo",
           "THERMO_FIELDS"]

LAYOUT, VERSION = "jaxem-md-trajectory", 1
THERMO_FIELDS = ("temperature", "potential_energy", "kinetic_energy", "total_energy")
_TARGET_CHUNK_BYTES = 8 * 2**20


def frames_per_chunk(n_atoms: int, n_frames: int) -> int:
    """Frames per chunk: about 8 MiB of float64 positions, at least 1, at most ``n_frames``."""
    return int(max(1, min(n_frames, _TARGET_CHUNK_BYTES // (24 * max(n_atoms, 1)))))


class TrajectoryWriter:
    """Streams frames into a store directory ``root`` (normally the temporary one of :func:`writing`)."""

    def __init__(self, root: Path, numbers, cell, n_frames: int, attrs: dict):
        import zarr

        self.root = Path(root)
        self.n_frames, self.n_atoms = int(n_frames), len(numbers)
        self.cf = frames_per_chunk(self.n_atoms, self.n_frames)
        g = zarr.open_group(str(self.root), mode="w", zarr_format=3)
        self.group = g
        vec = dict(shape=(self.n_frames, self.n_atoms, 3), chunks=(self.cf, self.n_atoms, 3), dtype="float64",
                   fill_value=np.nan)
        self.arrays = {"positions": g.create_array("positions", **vec),
                       "velocities": g.create_array("velocities", **vec),
                       "timesteps": g.create_array("timesteps", shape=(self.n_frames,), chunks=(self.cf,),
                                                   dtype="int64", fill_value=-1)}
        for name in THERMO_FIELDS:
            self.arrays[name] = g.create_array(name, shape=(self.n_frames,), chunks=(self.cf,), dtype="float64",
                                               fill_value=np.nan)
        g.create_array("numbers", data=np.asarray(numbers, np.int32))
        g.create_array("cell", data=np.asarray(cell, np.float64))
        self.attrs = dict(attrs, layout=LAYOUT, version=VERSION, complete=False, n_frames=self.n_frames,
                          frames_per_chunk=self.cf)
        g.attrs["jaxem_md"] = self.attrs
        self.buffer, self.written = [], 0

    def append(self, positions, velocities, step: int, thermo: dict) -> None:
        """Add one frame (positions, velocities (n_atoms, 3), its MD step, thermo values); a full chunk
        is written at once."""
        self.buffer.append((positions, velocities, int(step), [float(thermo[k]) for k in THERMO_FIELDS]))
        if len(self.buffer) == self.cf or self.written + len(self.buffer) == self.n_frames:
            self._flush()

    def _flush(self) -> None:
        if not self.buffer:
            return
        a, b = self.written, self.written + len(self.buffer)
        self.arrays["positions"][a:b] = np.stack([f[0] for f in self.buffer])
        self.arrays["velocities"][a:b] = np.stack([f[1] for f in self.buffer])
        self.arrays["timesteps"][a:b] = np.asarray([f[2] for f in self.buffer], np.int64)
        th = np.asarray([f[3] for f in self.buffer], np.float64)
        for k, name in enumerate(THERMO_FIELDS):
            self.arrays[name][a:b] = th[:, k]
        self.written, self.buffer = b, []

    def finish(self, **attrs) -> None:
        """Check every frame was written, then set ``complete`` (the last write)."""
        self._flush()
        if self.written != self.n_frames:
            raise RuntimeError(f"trajectory store {self.root}: {self.written} of {self.n_frames} frames written")
        self.attrs.update(attrs, complete=True)
        self.group.attrs["jaxem_md"] = self.attrs


@contextlib.contextmanager
def writing(path, numbers, cell, n_frames: int, attrs: dict):
    """Context manager yielding a :class:`TrajectoryWriter` for the store ``path``; the store appears
    at ``path`` (atomically) only if the block finishes and ``finish`` was called."""
    from ..atomic import atomic_path

    path = Path(path)
    with atomic_path(path, is_dir=True) as tmp:
        w = TrajectoryWriter(tmp, numbers, cell, n_frames, attrs)
        yield w
        if not w.attrs.get("complete"):
            raise RuntimeError(f"trajectory store {path}: the writer was not finished")


def _open(path):
    import zarr

    p = validate.path(path, "path", must_exist=False)
    if not p.is_dir():
        raise FileNotFoundError(f"path: trajectory store {str(p)!r} does not exist")
    try:
        g = zarr.open_group(str(p), mode="r")
        info = dict(g.attrs.get("jaxem_md") or {})
    except Exception as exc:  # noqa: BLE001 - foreign errors name the file
        raise FileFormatError(p, f"not a zarr trajectory store ({type(exc).__name__}: {exc})") from None
    if info.get("layout") != LAYOUT:
        raise FileFormatError(p, f"not a jaxem MD trajectory store (layout {info.get('layout')!r}, "
                                 f"expected {LAYOUT!r})")
    if info.get("complete") is not True:
        raise FileFormatError(p, "incomplete: the MD run that wrote it never marked it complete (interrupted run)")
    return p, g, info


def read_info(path) -> dict:
    """The metadata of a complete store (``attrs["jaxem_md"]``)."""
    return _open(path)[2]


def _check_chunks(p: Path, g, info: dict, names, lo: int, hi: int) -> None:
    """Every chunk covering frames [lo, hi) of ``names`` is stored (zarr would return fill values)."""
    cf = int(info["frames_per_chunk"])
    for name in names:
        arr = g[name]
        if arr.shape[0] != info["n_frames"]:
            raise FileFormatError(p, f"array {name!r} has {arr.shape[0]} frames, the header says {info['n_frames']}")
        for k in range(lo // cf, (hi - 1) // cf + 1):
            key = "/".join(["c", str(k)] + ["0"] * (arr.ndim - 1))
            if not (p / name / key).is_file():
                raise FileFormatError(p, f"truncated or damaged: chunk {name}/{key} (frames {k * cf}–"
                                         f"{min((k + 1) * cf, info['n_frames']) - 1}) is missing; first bad "
                                         f"frame {k * cf}")


def _read(p, g, info, name, sl):
    cf = int(info["frames_per_chunk"])
    try:
        return np.asarray(g[name][sl])
    except Exception as exc:  # noqa: BLE001 - a chunk that does not decode
        lo = sl.start or 0
        raise FileFormatError(p, f"damaged: array {name!r} frames from {lo} (chunk {lo // cf}) cannot be read "
                                 f"({type(exc).__name__}: {exc})") from None


def _frames(info, start, stop) -> slice:
    n = int(info["n_frames"])
    start = 0 if start is None else int(start)
    stop = n if stop is None else int(stop)
    if not (0 <= start < stop <= n):
        raise InputError(f"frames [start, stop) must lie in [0, {n}] with start < stop, got [{start}, {stop})")
    return slice(start, stop)


def read_thermo(path, start=None, stop=None) -> dict:
    """{timesteps, temperature [K], potential_energy, kinetic_energy, total_energy [eV]} per frame."""
    p, g, info = _open(path)
    sl = _frames(info, start, stop)
    names = ("timesteps",) + THERMO_FIELDS
    _check_chunks(p, g, info, names, sl.start, sl.stop)
    return {name: _read(p, g, info, name, sl) for name in names}


def read_trajectory(path, start=None, stop=None) -> Trajectory:
    """The :class:`~jaxem.md.Trajectory` of frames [start, stop) of a complete store (unwrapped
    positions [Å], velocities [Å/ps], ``timestep_fs`` set)."""
    p, g, info = _open(path)
    sl = _frames(info, start, stop)
    _check_chunks(p, g, info, ("positions", "velocities", "timesteps"), sl.start, sl.stop)
    pos = _read(p, g, info, "positions", sl)
    vel = _read(p, g, info, "velocities", sl)
    bad = ~np.isfinite(pos).all(axis=(1, 2))
    if bad.any():
        raise FileFormatError(p, f"damaged: frame {sl.start + int(np.argmax(bad))} holds non-finite positions")
    return Trajectory.create(pos, np.asarray(g["numbers"][:]), np.asarray(g["cell"][:]),
                             timesteps=_read(p, g, info, "timesteps", sl), velocities=vel,
                             timestep_fs=float(info["timestep_fs"]), unwrapped=True)
