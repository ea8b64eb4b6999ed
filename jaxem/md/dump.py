"""LAMMPS text dump files (``dump custom`` / ``dump atom``, plain or gzip): streaming reader and writer.

A dump file is a sequence of frames, each::

    ITEM: TIMESTEP              <step>
    ITEM: NUMBER OF ATOMS       <N>
    ITEM: BOX BOUNDS pp pp pp   3 lines "lo hi"              (orthogonal)
    ITEM: BOX BOUNDS xy xz yz pp pp pp   3 lines "lo_bound hi_bound tilt"   (restricted triclinic)
    ITEM: BOX BOUNDS abc origin pp pp pp 3 lines "ax ay az ox" …         (general triclinic, LAMMPS ≥ 2024)
    ITEM: ATOMS id type x y z …  N lines, one per atom, in any order

Coordinates may be wrapped ``x y z``, scaled ``xs ys zs`` (fractional), unwrapped ``xu yu zu`` or
scaled-unwrapped ``xsu ysu zsu``; ``ix iy iz`` are image flags. Species come from an ``element``
column (``dump_modify element``) or from ``type`` with a user-given species order (type k →
``species[k-1]``, or a {type: symbol} dict). Other ``ITEM:`` sections (TIME, UNITS) are skipped.

Triclinic bounds → lattice vectors (LAMMPS documentation, "Howto triclinic: triclinic
(non-orthogonal) simulation boxes", and the ``dump`` command page): the dump stores the bounding box

    xlo_bound = xlo + min(0, xy, xz, xy + xz),   xhi_bound = xhi + max(0, xy, xz, xy + xz)
    ylo_bound = ylo + min(0, yz),                yhi_bound = yhi + max(0, yz)
    zlo_bound = zlo,                             zhi_bound = zhi

and the lattice vectors are a = (xhi − xlo, 0, 0), b = (xy, yhi − ylo, 0), c = (xz, yz, zhi − zlo)
with origin (xlo, ylo, zlo); a scaled coordinate s maps to r = origin + s·[a; b; c].

Reading streams frame by frame (:func:`iter_dump`); :func:`read_dump` first counts the frames (a
fast byte scan) and fills preallocated arrays, so a large dump never sits in memory twice.
Units are those of the run (LAMMPS ``metal``: Å, Å/ps).
"""
from __future__ import annotations

import gzip
import itertools
from pathlib import Path
from typing import Iterator

import numpy as np

from .. import pytree, validate
from ..validate import FileFormatError
from .trajectory import Trajectory, unwrap_by_continuity, unwrap_by_images

_COORD_SETS = (("xu", "yu", "zu"), ("xsu", "ysu", "zsu"), ("x", "y", "z"), ("xs", "ys", "zs"))


@pytree.dataclass(eq=False)
class DumpFrame:
    """One frame of a dump file, atoms sorted by id.

    Attributes:
        timestep: MD step number.
        ids: (N,) atom ids (ascending).
        types: (N,) LAMMPS atom types (or None).
        elements: (N,) element symbols from an ``element`` column (or None).
        positions: (N, 3) Cartesian positions [Å] (wrapped or unwrapped, see ``unwrapped``).
        images: (N, 3) image flags (or None).
        velocities: (N, 3) velocities [Å/ps in metal units] (or None).
        cell: (3, 3) lattice vectors as rows [Å].
        origin: (3,) cell origin [Å].
        unwrapped: whether ``positions`` came from unwrapped columns.
        line: line number (1-based) of the frame's ``ITEM: TIMESTEP``.
    """

    timestep: int = pytree.field(static=True)
    ids: np.ndarray
    types: np.ndarray | None
    elements: np.ndarray | None
    positions: np.ndarray = pytree.field(units="Å")
    images: np.ndarray | None
    velocities: np.ndarray | None = pytree.field(units="Å/ps")
    cell: np.ndarray = pytree.field(units="Å")
    origin: np.ndarray = pytree.field(units="Å")
    unwrapped: bool = pytree.field(static=True)
    line: int = pytree.field(static=True)


def _open(path: Path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def count_frames(path, chunk_size: int = 1 << 24) -> int:
    """Number of ``ITEM: TIMESTEP`` headers in a dump file (plain or gzip), by a byte scan in chunks of
    ``chunk_size`` bytes."""
    path = validate.path(path, "path", kind="file")
    chunk_size = validate.integer(chunk_size, "chunk_size", lo=1)
    key, n, tail = b"ITEM: TIMESTEP", 0, b""
    try:
        with _open(path) as f:
            while chunk := f.read(chunk_size):
                buf = tail + chunk
                n += buf.count(key)
                tail = buf[-(len(key) - 1):]  # shorter than key: a match straddling chunks is counted once
    except (EOFError, OSError, gzip.BadGzipFile) as e:
        raise FileFormatError(path, f"file truncated or corrupt ({e})") from None
    if n == 0:
        raise FileFormatError(path, "holds no 'ITEM: TIMESTEP' header: empty, or not a LAMMPS text dump")
    return n


class _Reader:
    def __init__(self, path: Path):
        self.path, self.f, self.line = path, _open(path), 0

    def error(self, msg, line=None):
        return ValueError(f"{self.path}, line {self.line if line is None else line}: {msg}")

    def readline(self, what: str) -> str:
        raw = self.f.readline()
        if not raw:
            raise self.error(f"file truncated: expected {what}, found end of file")
        self.line += 1
        return raw.decode("ascii", "replace").strip()

    def readlines(self, n: int, what: str) -> list[bytes]:
        lines = list(itertools.islice(self.f, n))
        start = self.line + 1
        self.line += len(lines)
        if len(lines) < n:
            raise self.error(f"file truncated: expected {n} {what} lines from line {start}, found {len(lines)}")
        return lines


def _numbers(reader: _Reader, text: str, count: int, what: str) -> list[float]:
    parts = text.split()
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise reader.error(f"cannot parse {what} from {text!r}") from None
    if len(vals) < count:
        raise reader.error(f"expected {count} numbers for {what}, got {text!r}")
    return vals


def _box(reader: _Reader, header: str):
    flags = header.split()[2:]
    general, tilted = "abc" in flags and "origin" in flags, "xy" in flags
    what = ("general triclinic box 'ax ay az origin'" if general else
            "triclinic box 'lo_bound hi_bound tilt'" if tilted else "box bounds 'lo hi'")
    rows = [_numbers(reader, reader.readline("box bounds"), 4 if general else 3 if tilted else 2, what)
            for _ in range(3)]
    if general:  # LAMMPS ≥ 2024 general triclinic: rows are a, b, c and one origin component each
        return np.array([r[:3] for r in rows]), np.array([r[3] for r in rows])
    if tilted:
        (xlb, xhb, xy), (ylb, yhb, xz), (zlb, zhb, yz) = (r[:3] for r in rows)
        xlo = xlb - min(0.0, xy, xz, xy + xz)
        xhi = xhb - max(0.0, xy, xz, xy + xz)
        ylo, yhi = ylb - min(0.0, yz), yhb - max(0.0, yz)
        cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhb - zlb]])
        return cell, np.array([xlo, ylo, zlb])
    lo = np.array([r[0] for r in rows])
    hi = np.array([r[1] for r in rows])
    return np.diag(hi - lo), lo


def _atoms(reader: _Reader, header: str, n: int, timestep: int, frame_line: int) -> DumpFrame:
    cols = header.split()[2:]
    index = {c: i for i, c in enumerate(cols)}
    if "id" not in index:
        raise reader.error(f"ATOMS section has no 'id' column (columns: {' '.join(cols)})")
    if "type" not in index and "element" not in index:
        raise reader.error(f"ATOMS section needs a 'type' or 'element' column (columns: {' '.join(cols)})")
    coords = next((s for s in _COORD_SETS if all(c in index for c in s)), None)
    if coords is None:
        raise reader.error("ATOMS section has no complete coordinate set (x y z, xs ys zs, xu yu zu or "
                           f"xsu ysu zsu); columns: {' '.join(cols)}")
    first = reader.line + 1
    lines = reader.readlines(n, "atom")
    tokens = b" ".join(lines).split()
    if len(tokens) != n * len(cols):
        for k, ln in enumerate(lines):
            if len(ln.split()) != len(cols):
                raise reader.error(f"atom line has {len(ln.split())} values, expected {len(cols)} ({' '.join(cols)})",
                                   first + k)
    table = np.array(tokens, dtype="S").reshape(n, len(cols))

    def num(names, dtype):
        sub = table[:, [index[c] for c in names]]
        try:
            return sub.astype(np.float64).astype(dtype) if dtype is not np.float64 else sub.astype(np.float64)
        except ValueError:
            for k in range(n):
                try:
                    sub[k].astype(np.float64)
                except ValueError:
                    raise reader.error(f"cannot parse {' '.join(names)} from {lines[k].decode().strip()!r}",
                                       first + k) from None
            raise

    ids = num(["id"], np.int64)[:, 0]
    order = np.argsort(ids, kind="stable")
    ids = ids[order]
    if np.any(np.diff(ids) == 0):
        raise reader.error(f"duplicate atom ids in frame at timestep {timestep}", frame_line)
    types = num(["type"], np.int64)[order, 0] if "type" in index else None
    elements = table[order, index["element"]].astype(str) if "element" in index else None
    cell, origin = reader.box
    xyz = num(list(coords), np.float64)[order]
    if coords[0].startswith("xs"):
        xyz = origin + xyz @ cell
    images = num(["ix", "iy", "iz"], np.int64)[order] if all(c in index for c in ("ix", "iy", "iz")) else None
    vel = num(["vx", "vy", "vz"], np.float64)[order] if all(c in index for c in ("vx", "vy", "vz")) else None
    return DumpFrame(timestep, ids, types, elements, xyz, images, vel, cell, origin, coords[0].endswith("u"),
                     frame_line)


def _frame_range(start, stop, step) -> tuple:
    """Checked frame selection: start ≥ 0, stop ≥ 0 or None, step ≥ 1 (integers)."""
    return (validate.integer(start, "start", lo=0), None if stop is None else validate.integer(stop, "stop", lo=0),
            validate.integer(step, "step", lo=1))


def iter_dump(path, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[DumpFrame]:
    """Yield the frames ``start:stop:step`` of a LAMMPS text dump (plain or .gz) one at a time.

    Skipped frames are read past without parsing. Errors (missing columns, truncated file, bad
    numbers) raise ``ValueError`` naming the file and line.
    """
    path = validate.path(path, "path", kind="file")
    start, stop, step = _frame_range(start, stop, step)
    reader = _Reader(path)
    k = 0
    try:
        while stop is None or k < stop:
            raw = reader.f.readline()
            if not raw:
                return
            reader.line += 1
            head = raw.decode("ascii", "replace").strip()
            if not head:
                continue
            if head != "ITEM: TIMESTEP":
                raise reader.error(f"expected 'ITEM: TIMESTEP', found {head[:60]!r}")
            frame_line = reader.line
            text = reader.readline("timestep")
            try:
                timestep = int(float(text.split()[0]))
            except (ValueError, IndexError):
                raise reader.error(f"cannot parse timestep from {text!r}") from None
            n, reader.box = None, None
            while True:
                item = reader.readline("an ITEM: line")
                if item.startswith("ITEM: NUMBER OF ATOMS"):
                    text = reader.readline("number of atoms")
                    try:
                        n = int(text.split()[0])
                    except (ValueError, IndexError):
                        raise reader.error("cannot parse the number of atoms") from None
                elif item.startswith("ITEM: BOX BOUNDS"):
                    reader.box = _box(reader, item)
                elif item.startswith("ITEM: ATOMS"):
                    if n is None or reader.box is None:
                        raise reader.error("ATOMS section before NUMBER OF ATOMS / BOX BOUNDS")
                    wanted = k >= start and (k - start) % step == 0
                    if wanted:
                        yield _atoms(reader, item, n, timestep, frame_line)
                    else:
                        reader.readlines(n, "atom")
                    break
                elif item.startswith("ITEM:"):
                    reader.readline(f"the value of {item}")  # TIME, UNITS, …: one value line
                else:
                    raise reader.error(f"unexpected line {item[:60]!r}")
            k += 1
    except (EOFError, OSError, gzip.BadGzipFile) as e:  # truncated gzip stream
        raise reader.error(f"file truncated or corrupt ({e})") from None
    finally:
        reader.f.close()


def _species_numbers(frame: DumpFrame, species, path) -> np.ndarray:
    from ..structure import atomic_number

    if frame.elements is not None:
        symbols, inverse = np.unique(frame.elements, return_inverse=True)
        try:
            return np.array([atomic_number(str(e)) for e in symbols], np.int32)[inverse]
        except ValueError as e:
            raise ValueError(f"{path}, line {frame.line}: {e}") from None
    if species is None:
        raise ValueError(f"{path}: the dump has 'type' but no 'element' column; give species=[…] in type order "
                         f"(types present: {sorted(set(frame.types.tolist()))})")
    mapping = dict(species) if isinstance(species, dict) else {k + 1: s for k, s in enumerate(species)}
    missing = sorted(set(frame.types.tolist()) - set(mapping))
    if missing:
        raise ValueError(f"{path}, line {frame.line}: no species given for atom type(s) {missing}; "
                         f"species maps types {sorted(mapping)}")
    types, inverse = np.unique(frame.types, return_inverse=True)
    return np.array([atomic_number(mapping[int(t)]) for t in types], np.int32)[inverse]


def read_dump(path, species=None, unwrap="auto", start: int = 0, stop: int | None = None, step: int = 1,
              timestep_fs: float | None = None) -> Trajectory:
    """Read a LAMMPS text dump (plain or .gz) into a :class:`Trajectory`.

    Args:
        path: dump file.
        species: species for ``type`` columns when there is no ``element`` column: a sequence in type
            order (type 1 first) or a {type: symbol or Z} dict.
        unwrap: 'auto' (unwrapped columns, else image flags, else minimum-image continuity when there
            are ≥ 2 frames), 'images' (require unwrapped columns or image flags), 'continuity'
            (ignore image flags) or 'none' (keep coordinates as written).
        start, stop, step: frame selection (indices into the file's frames).
        timestep_fs: duration of one MD step [fs] (LAMMPS metal: 1000 × the ``timestep`` in ps).
    Returns:
        :class:`Trajectory` with atoms sorted by id.
    """
    if unwrap not in ("auto", "images", "continuity", "none", None, False):
        raise ValueError(f"unwrap must be 'auto', 'images', 'continuity' or 'none', got {unwrap!r}")
    path = validate.path(path, "path", kind="file")
    start, stop, step = _frame_range(start, stop, step)
    total = count_frames(path)
    nsel = len(range(total)[slice(start, stop, step)])
    if nsel == 0:
        raise ValueError(f"{path}: no frames selected ({total} frames in file, start={start}, stop={stop}, step={step})")
    pos = cells = origins = images = vel = None
    ts = np.zeros(nsel, np.int64)
    k = -1
    for k, fr in enumerate(iter_dump(path, start, stop, step)):
        if k == 0:
            n = len(fr.ids)
            ids, types, numbers, unwrapped0 = fr.ids, fr.types, _species_numbers(fr, species, path), fr.unwrapped
            pos, cells, origins = np.empty((nsel, n, 3)), np.empty((nsel, 3, 3)), np.empty((nsel, 3))
            images = np.empty((nsel, n, 3), np.int64) if fr.images is not None else None
            vel = np.empty((nsel, n, 3)) if fr.velocities is not None else None
        else:
            if len(fr.ids) != n:
                raise ValueError(f"{path}, line {fr.line}: inconsistent atom counts: frame at timestep {fr.timestep} "
                                 f"has {len(fr.ids)} atoms, the first frame has {n}")
            if np.any(fr.ids != ids):
                raise ValueError(f"{path}, line {fr.line}: atom ids of timestep {fr.timestep} differ from the first frame")
            if types is not None and fr.types is not None and np.any(fr.types != types):
                raise ValueError(f"{path}, line {fr.line}: atom types changed at timestep {fr.timestep}")
        if k >= nsel:
            break
        pos[k], cells[k], origins[k], ts[k] = fr.positions, fr.cell, fr.origin, fr.timestep
        if images is not None:
            if fr.images is None:
                raise ValueError(f"{path}, line {fr.line}: image flags missing in this frame")
            images[k] = fr.images
        if vel is not None and fr.velocities is not None:
            vel[k] = fr.velocities
    if k + 1 < nsel:
        raise ValueError(f"{path}: expected {nsel} frames, read {k + 1}")
    unwrapped = unwrapped0
    if not unwrapped0 and unwrap not in ("none", None, False):
        if images is not None and unwrap != "continuity":
            pos, unwrapped = unwrap_by_images(pos, images, cells), True
        elif unwrap == "images":
            raise ValueError(f"{path}: unwrap='images' needs unwrapped coordinates (xu/xsu) or image flags (ix iy iz)")
        elif nsel > 1:
            pos, unwrapped = unwrap_by_continuity(pos, cells, origins), True
    return Trajectory.create(pos, numbers, cells, origins, ts, ids, vel, timestep_fs, unwrapped)


# ---- writer -------------------------------------------------------------------------------------
def _bounds(cell, origin):
    c = np.asarray(cell, np.float64)
    origin = [float(v) for v in origin]
    if abs(c[0, 1]) > 1e-12 or abs(c[0, 2]) > 1e-12 or abs(c[1, 2]) > 1e-12:
        raise ValueError(f"LAMMPS restricted triclinic cells need a ∥ x and b in the xy plane; got {c.tolist()}")
    (lx, _, _), (xy, ly, _), (xz, yz, lz) = c.tolist()
    xlo, ylo, zlo = origin
    if max(abs(xy), abs(xz), abs(yz)) < 1e-12:
        return "pp pp pp", [f"{xlo!r} {xlo + lx!r}", f"{ylo!r} {ylo + ly!r}", f"{zlo!r} {zlo + lz!r}"]
    xlb, xhb = xlo + min(0.0, xy, xz, xy + xz), xlo + lx + max(0.0, xy, xz, xy + xz)
    ylb, yhb = ylo + min(0.0, yz), ylo + ly + max(0.0, yz)
    return "xy xz yz pp pp pp", [f"{xlb!r} {xhb!r} {xy!r}", f"{ylb!r} {yhb!r} {xz!r}", f"{zlo!r} {zlo + lz!r} {yz!r}"]


@validate.typed
def write_dump(path, trajectory: Trajectory, columns=("id", "type", "element", "xu", "yu", "zu"),
               species_order=None, precision: int = 12) -> Path:
    """Write ``trajectory`` as a LAMMPS text dump (gzip when ``path`` ends in .gz), atomically.

    Args:
        path: output file.
        trajectory: the frames to write.
        columns: any of id type element x y z xs ys zs xu yu zu xsu ysu zsu ix iy iz vx vy vz.
            Wrapped coordinates and image flags are derived from the positions.
        species_order: symbols or Z giving type 1, 2, … (default: species sorted by Z).
        precision: significant digits of floats.
    """
    from ..atomic import atomic_path
    from ..structure import atomic_number, symbol

    if not isinstance(trajectory, Trajectory):
        raise validate.InputTypeError(f"trajectory must be a jaxem.md.Trajectory, got {type(trajectory).__name__}")
    allowed = {"id", "type", "element", "ix", "iy", "iz", "vx", "vy", "vz"} | {c for s in _COORD_SETS for c in s}
    bad = [c for c in columns if c not in allowed]
    if bad:
        raise ValueError(f"unsupported dump columns {bad}; allowed: {sorted(allowed)}")
    if any(c in columns for c in ("vx", "vy", "vz")) and trajectory.velocities is None:
        raise ValueError("columns ask for velocities but the trajectory has none")
    order = [atomic_number(s) for s in species_order] if species_order is not None else list(trajectory.species)
    missing = sorted(set(trajectory.species) - set(order))
    if missing:
        raise ValueError(f"species_order {species_order} lacks atomic numbers {missing}")
    nums = np.asarray(trajectory.numbers)
    type_of = {z: k + 1 for k, z in enumerate(order)}
    types = np.array([type_of[int(z)] for z in nums])
    elements = np.array([symbol(int(z)) for z in nums])
    path = Path(path)
    if int(precision) != precision or not 1 <= precision <= 17:
        raise ValueError(f"precision must be an integer in 1…17 significant digits, got {precision!r}")
    spec = {c: f"%.{precision}g" for c in allowed} | {"id": "%d", "type": "%d", "element": "%s",
                                                      "ix": "%d", "iy": "%d", "iz": "%d"}
    with atomic_path(path) as tmp:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(tmp, "wt", encoding="ascii") as f:
            for t in range(trajectory.n_frames):
                cell, origin = np.asarray(trajectory.cells[t]), np.asarray(trajectory.origins[t])
                flags, lines = _bounds(cell, origin)
                s = (np.asarray(trajectory.positions[t]) - origin) @ np.linalg.inv(cell)
                img = np.floor(s)
                sw = s - img
                vals = {"id": np.asarray(trajectory.ids), "type": types, "element": elements}
                derived = {"xs": sw, "xsu": s, "x": origin + sw @ cell, "xu": np.asarray(trajectory.positions[t])}
                for key, arr in derived.items():
                    for a, ax in enumerate("xyz"):
                        vals[ax + key[1:]] = arr[:, a]
                for a, ax in enumerate("xyz"):
                    vals["i" + ax] = img[:, a].astype(np.int64)
                    if trajectory.velocities is not None:
                        vals["v" + ax] = np.asarray(trajectory.velocities[t])[:, a]
                row_fmt = " ".join(spec[c] for c in columns)
                rows = map(row_fmt.__mod__, zip(*(vals[c].tolist() for c in columns)))
                f.write(f"ITEM: TIMESTEP\n{int(trajectory.timesteps[t])}\nITEM: NUMBER OF ATOMS\n{len(nums)}\n"
                        f"ITEM: BOX BOUNDS {flags}\n" + "\n".join(lines) + f"\nITEM: ATOMS {' '.join(columns)}\n")
                f.write("\n".join(rows) + "\n")
    return path
