"""APSuite 6 / IVAS 4 ``.apt`` files ("APT6"): a file header followed by self-describing sections.

Layout (little-endian; CAMECA APSuite 6 file-format description, as verified on the APAV ``Si.apt``
sample and in ``atomprobe-tc/ifes_apt_tc_data_modeling``):

* **file header, 540 B**: ``cSignature`` ``b"APT\\0"``, ``iHeaderSize`` i32 (= 540), ``iHeaderVersion``
  i32 (= 2), ``wcFilename`` 256 × UTF-16 code units, ``ftCreationTime`` u64 (Windows FILETIME),
  ``llIonCount`` u64.
* **sections**, each with a header of at least 148 B: ``b"SEC\\0"``, ``iHeaderSize`` i32,
  ``iHeaderVersion`` i32, ``wcSectionType`` 32 × UTF-16 (the name), ``iSectionVersion`` i32,
  ``eRelationshipType`` u32 (1 = one record per ion), ``eRecordType`` u32 (1 = fixed size),
  ``eRecordDataType`` u32 (1 signed int, 2 unsigned int, 3 float), ``iDataTypeSize`` i32 [bits],
  ``iRecordSize`` i32 [bytes], ``wcDataUnit`` 16 × UTF-16, ``llRecordCount`` u64, ``llByteCount`` u64.
  Extra header bytes follow (``Position`` has ``iHeaderSize`` = 172: a float32 bounding box of six
  values). Data start at ``section_start + iHeaderSize``; the next section starts after
  ``llByteCount`` data bytes.

Fixed-size sections are returned as memory-mapped arrays of shape (records, components). Sections
whose name is not in :data:`KNOWN_SECTIONS` are still read (the layout is self-describing) and listed
in ``AptFile.unknown``. A damaged file is a :class:`~jaxem.validate.FileFormatError` naming the file
and the byte offset: a bad signature, a truncated header or section, record sizes or counts that
disagree with the byte count or the ion count, a file with no section, and — unless
``check_finite=False`` — NaN/inf values in ``Mass`` (count and first ion). The format
has no section count, so a file cut exactly between two sections reads as a file with fewer
sections: check that the sections you need are present (``apt["Mass"]`` names the missing one).
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from .. import pytree, validate
from ..io.atomic import atomic_path
from ..validate import FileFormatError
from .posfile import nonfinite_columns, report_nonfinite

FILE_HEADER = struct.Struct("<4sii512sQQ")  # 540 B
SECTION_HEADER = struct.Struct("<4sii64siIIIii32sQQ")  # 148 B
#: section names registered in APSuite 6 exports (others are read and reported as unknown)
KNOWN_SECTIONS = frozenset(
    "tof tofc tofb Mass Voltage Vap pulse freq tElapsed erate xstage ystage zstage tstage TargetErate "
    "TargetFlux pulseDelta Pres VAnodeMon Temp AmbTemp FractureGuard Noise Uniformity xs ys zs rTip "
    "zApex zSphereCorr XDet_mm YDet_mm Multiplicity laserx lasery laserz laserpower Position_0 "
    "Position_1 Position_2".split()
) | {"Detector Coordinates", "Position", "Delta Pulse", "Epos ToF"}
_KINDS = {1: "i", 2: "u", 3: "f"}


@pytree.dataclass
class AptSection:
    """One section: name, unit, layout and (for fixed-size records) the data.

    Attributes:
        name: ``wcSectionType``.
        unit: ``wcDataUnit`` (e.g. ``"nm"``, ``"mm"``, ``"Da"``, ``"ns"``, ``"V"``).
        relationship: ``eRelationshipType`` (1 = one record per ion).
        record_type: ``eRecordType`` (1 = fixed size).
        data_type: ``eRecordDataType`` (1 int, 2 uint, 3 float).
        bits: ``iDataTypeSize`` [bits].
        record_size: ``iRecordSize`` [bytes].
        count: ``llRecordCount``.
        offset: byte offset of the section header in the file.
        header_size: ``iHeaderSize`` [bytes].
        extra: header bytes beyond the 148-byte common part (``Position``: bounding box).
        data: (count, components) array (memmap) for fixed records, raw ``uint8`` otherwise.
    """

    name: str = pytree.field(static=True)
    unit: str = pytree.field(static=True)
    relationship: int = pytree.field(static=True)
    record_type: int = pytree.field(static=True)
    data_type: int = pytree.field(static=True)
    bits: int = pytree.field(static=True, units="bits")
    record_size: int = pytree.field(static=True, units="B")
    count: int = pytree.field(static=True)
    offset: int = pytree.field(static=True, units="B")
    header_size: int = pytree.field(static=True, units="B")
    header_version: int = pytree.field(static=True, default=2)
    section_version: int = pytree.field(static=True, default=1)
    extra: bytes = pytree.field(static=True, default=b"")
    data: np.ndarray | None = pytree.field(default=None, repr=False)


@pytree.dataclass
class AptFile:
    """Parsed APT6 file: header fields, sections by name (the pytree leaves), and the names of the
    sections not in the registry."""

    path: Path = pytree.field(static=True)
    filename: str = pytree.field(static=True)
    creation_time: int = pytree.field(static=True, units="100 ns since 1601")
    ion_count: int = pytree.field(static=True)
    sections: dict = pytree.field(default_factory=dict)
    unknown: tuple = pytree.field(static=True, default=())

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.sections:
            hint = validate.closest(name, self.sections)
            raise KeyError(f"{self.path}: no section {name!r}; sections: {list(self.sections)}"
                           + (f" (did you mean {hint!r}?)" if hint else ""))
        return self.sections[name].data


def _utf16(b: bytes) -> str:
    s = b.decode("utf-16-le", errors="replace")
    return s.split("\x00", 1)[0]


def _dtype(path, off, data_type, bits):
    if data_type not in _KINDS or bits not in (8, 16, 32, 64) or (data_type == 3 and bits < 16):
        raise FileFormatError(
            path, f"APT file: section at byte offset {off} has unsupported element type "
                  f"(eRecordDataType={data_type}, iDataTypeSize={bits} bits); expected type 1/2/3 and 8–64 bits")
    return np.dtype(f"<{_KINDS[data_type]}{bits // 8}")


#: sections whose values must be finite (checked unless ``check_finite=False``)
FINITE_SECTIONS = {"Mass": "Da"}


def read_apt(path, memmap: bool = True, check_finite: bool = True) -> AptFile:
    """Read an APSuite 6 ``.apt`` file.

    Args:
        path: file path.
        memmap: map section data instead of loading it.
        check_finite: reject NaN/inf values in the ``Mass`` section (reads it once).

    Returns:
        :class:`AptFile`; ``apt["Position"]`` is an (n, 3) float32 array [nm], ``apt["Mass"]`` (n, 1)
        [Da], ``apt["Detector Coordinates"]`` (n, 2) [mm], etc.

    Raises:
        FileFormatError: bad signature, truncated header or data, inconsistent record sizes, a
            section count that disagrees with the ion count, no section at all, or NaN/inf masses
            (message names file and byte offset, or the count and the first ion).
    """
    path = validate.path(path, "path", kind="file")
    size = os.path.getsize(path)
    with validate.reading(path, "APT file"), open(path, "rb") as fh:
        head = fh.read(FILE_HEADER.size)
        if len(head) < FILE_HEADER.size:
            validate.check_size(path, FILE_HEADER.size, size, "bytes", "the APT file header alone needs 540 "
                                                                       "bytes at offset 0")
        sig, hsize, hver, fname, ctime, n_ions = FILE_HEADER.unpack(head)
        if sig != b"APT\x00":
            raise FileFormatError(path, f"APT file: signature {sig!r} at byte offset 0, expected b'APT\\x00'")
        if hsize < FILE_HEADER.size or hsize > size:
            raise FileFormatError(path, f"APT file: iHeaderSize={hsize} at byte offset 4 outside [540, {size}]")
        sections, unknown = {}, []
        off = hsize
        while off < size:
            fh.seek(off)
            raw = fh.read(SECTION_HEADER.size)
            if len(raw) < SECTION_HEADER.size:
                raise FileFormatError(
                    path, f"APT file is truncated: section header at byte offset {off} needs "
                          f"{SECTION_HEADER.size} bytes, only {len(raw)} left (expected at least {off + 148} "
                          f"bytes, found {size})")
            (ssig, shs, shv, name, sver, rel, rtype, dtype_code, bits, rsize, unit, count,
             nbytes) = SECTION_HEADER.unpack(raw)
            if ssig != b"SEC\x00":
                raise FileFormatError(path, f"APT file: section signature {ssig!r} at byte offset {off}, "
                                            f"expected b'SEC\\x00'")
            if shs < SECTION_HEADER.size:
                raise FileFormatError(path, f"APT file: section header size {shs} at byte offset {off + 4} < 148")
            name_s, unit_s = _utf16(name), _utf16(unit)
            start = off + shs
            if start + nbytes > size:
                raise FileFormatError(
                    path, f"APT file is truncated: section {name_s!r} (header at byte offset {off}) "
                          f"declares {nbytes} data bytes from offset {start}: expected at least "
                          f"{start + nbytes} bytes, found {size}")
            extra = fh.read(shs - SECTION_HEADER.size)
            data = None
            if rtype == 1:
                dt = _dtype(path, off, dtype_code, bits)
                if rsize <= 0 or rsize % dt.itemsize or rsize * count != nbytes:
                    raise FileFormatError(
                        path, f"APT file: section {name_s!r} at byte offset {off} is mis-sized: "
                              f"{count} records × {rsize} B ≠ {nbytes} data bytes (element {dt.itemsize} B)")
                if rel == 1 and count != n_ions:
                    raise FileFormatError(
                        path, f"APT file: section {name_s!r} at byte offset {off} has {count} records but "
                              f"the file header announces {n_ions} ions")
                shape = (count, rsize // dt.itemsize)
                if count == 0:
                    data = np.zeros(shape, dt)
                elif memmap:
                    data = np.memmap(path, dtype=dt, mode="r", offset=start, shape=shape)
                else:
                    fh.seek(start)
                    data = np.fromfile(fh, dtype=dt, count=shape[0] * shape[1]).reshape(shape)
                if check_finite and name_s in FINITE_SECTIONS and dt.kind == "f" and count:
                    report_nonfinite(path, "APT", nonfinite_columns(data, columns=(name_s,)), FINITE_SECTIONS)
            else:  # variable-size records: hand back the bytes
                fh.seek(start)
                data = np.frombuffer(fh.read(nbytes), np.uint8)
            if name_s not in KNOWN_SECTIONS:
                unknown.append(name_s)
            if name_s in sections:
                raise FileFormatError(path, f"APT file: duplicate section {name_s!r} at byte offset {off}")
            sections[name_s] = AptSection(name_s, unit_s, rel, rtype, dtype_code, bits, rsize, count, off, shs,
                                          shv, sver, extra, data)
            off = start + nbytes
    if not sections:
        raise FileFormatError(path, f"APT file holds no section after its {hsize}-byte header ({n_ions} ions "
                                    f"announced): truncated")
    return AptFile(path, _utf16(fname), ctime, n_ions, sections, tuple(unknown))


def write_apt(path, columns: dict, units: dict | None = None, filename: str = "",
              creation_time: int = 0) -> Path:
    """Write an APT6 file (fixed-size, one-record-per-ion sections) atomically.

    Args:
        path: target path.
        columns: section name → array of shape (n,) or (n, components); int/uint/float, 8–64 bit.
            ``"Position"`` (n, 3) gets the 172-byte header with its bounding box (min x, y, z, max
            x, y, z [nm]).
        units: section name → unit string (≤ 16 characters).
        filename: stored in ``wcFilename``.
        creation_time: Windows FILETIME [100 ns since 1601].

    Returns:
        The path written.
    """
    units = units or {}
    if not isinstance(columns, dict) or not columns:
        raise validate.InputError(f"columns must be a non-empty dict of section name → array, got {columns!r}")
    arrays = {k: np.asarray(v) for k, v in columns.items()}
    bad = [k for k, v in arrays.items() if v.ndim not in (1, 2)]
    if bad:
        raise validate.InputError(f"columns[{bad[0]!r}] must have shape (n,) or (n, components), got "
                                  f"{arrays[bad[0]].shape}")
    arrays = {k: (v[:, None] if v.ndim == 1 else v) for k, v in arrays.items()}
    ns = {v.shape[0] for v in arrays.values()}
    if len(ns) > 1:
        raise validate.InputError(f"columns must all have the same number of ions, got {sorted(ns)}")
    n = ns.pop()
    codes = {"i": 1, "u": 2, "f": 3}
    for name, a in arrays.items():
        if a.dtype.kind not in codes or a.dtype.itemsize not in (1, 2, 4, 8) or len(name) > 32:
            raise validate.InputError(f"columns[{name!r}]: dtype {a.dtype} or a name longer than 32 characters "
                                      f"cannot be written (int/uint/float of 8–64 bits)")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(FILE_HEADER.pack(b"APT\x00", FILE_HEADER.size, 2,
                                      filename.encode("utf-16-le")[:512].ljust(512, b"\0"), creation_time, n))
            for name, a in arrays.items():
                a = np.ascontiguousarray(a, a.dtype.newbyteorder("<"))
                extra = b""
                if name == "Position":
                    lo, hi = (a.min(0), a.max(0)) if n else (np.zeros(3), np.zeros(3))
                    extra = np.concatenate([lo, hi]).astype("<f4").tobytes()
                unit = units.get(name, "").encode("utf-16-le")[:32].ljust(32, b"\0")
                fh.write(SECTION_HEADER.pack(
                    b"SEC\x00", SECTION_HEADER.size + len(extra), 2,
                    name.encode("utf-16-le").ljust(64, b"\0"), 1, 1, 1, codes[a.dtype.kind],
                    8 * a.dtype.itemsize, a.dtype.itemsize * a.shape[1], unit, n, a.nbytes))
                fh.write(extra)
                a.tofile(fh)
    return Path(path)
