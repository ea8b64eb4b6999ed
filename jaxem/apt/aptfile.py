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
in ``AptFile.unknown``. Inconsistent headers raise ``ValueError`` naming the file and byte offset.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_path

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


@dataclass
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

    name: str
    unit: str
    relationship: int
    record_type: int
    data_type: int
    bits: int
    record_size: int
    count: int
    offset: int
    header_size: int
    header_version: int = 2
    section_version: int = 1
    extra: bytes = b""
    data: np.ndarray | None = field(default=None, repr=False)


@dataclass
class AptFile:
    """Parsed APT6 file: header fields, sections by name, and names not in the registry."""

    path: Path
    filename: str
    creation_time: int
    ion_count: int
    sections: dict[str, AptSection]
    unknown: list[str]

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self.sections:
            raise KeyError(f"{self.path}: no section {name!r}; sections: {list(self.sections)}")
        return self.sections[name].data


def _utf16(b: bytes) -> str:
    s = b.decode("utf-16-le", errors="replace")
    return s.split("\x00", 1)[0]


def _dtype(path, off, data_type, bits):
    if data_type not in _KINDS or bits not in (8, 16, 32, 64):
        raise ValueError(
            f"APT file {str(path)!r}: section at byte offset {off} has unsupported element type "
            f"(eRecordDataType={data_type}, iDataTypeSize={bits} bits); expected type 1/2/3 and 8–64 bits"
        )
    return np.dtype(f"<{_KINDS[data_type]}{bits // 8}")


def read_apt(path, memmap: bool = True) -> AptFile:
    """Read an APSuite 6 ``.apt`` file.

    Args:
        path: file path.
        memmap: map section data instead of loading it.

    Returns:
        :class:`AptFile`; ``apt["Position"]`` is an (n, 3) float32 array [nm], ``apt["Mass"]`` (n, 1)
        [Da], ``apt["Detector Coordinates"]`` (n, 2) [mm], etc.

    Raises:
        ValueError: bad signature, truncated header or data, inconsistent record sizes, or a
            section count that disagrees with the ion count (message names file and byte offset).
    """
    path = Path(path)
    size = os.path.getsize(path)
    with open(path, "rb") as fh:
        head = fh.read(FILE_HEADER.size)
        if len(head) < FILE_HEADER.size:
            raise ValueError(f"APT file {str(path)!r} is truncated: {size} bytes, file header needs 540 at offset 0")
        sig, hsize, hver, fname, ctime, n_ions = FILE_HEADER.unpack(head)
        if sig != b"APT\x00":
            raise ValueError(f"APT file {str(path)!r}: signature {sig!r} at byte offset 0, expected b'APT\\x00'")
        if hsize < FILE_HEADER.size or hsize > size:
            raise ValueError(f"APT file {str(path)!r}: iHeaderSize={hsize} at byte offset 4 outside [540, {size}]")
        sections, unknown = {}, []
        off = hsize
        while off < size:
            fh.seek(off)
            raw = fh.read(SECTION_HEADER.size)
            if len(raw) < SECTION_HEADER.size:
                raise ValueError(
                    f"APT file {str(path)!r} is truncated: section header at byte offset {off} needs "
                    f"{SECTION_HEADER.size} bytes, only {len(raw)} left"
                )
            (ssig, shs, shv, name, sver, rel, rtype, dtype_code, bits, rsize, unit, count,
             nbytes) = SECTION_HEADER.unpack(raw)
            if ssig != b"SEC\x00":
                raise ValueError(f"APT file {str(path)!r}: section signature {ssig!r} at byte offset {off}, expected b'SEC\\x00'")
            if shs < SECTION_HEADER.size:
                raise ValueError(f"APT file {str(path)!r}: section header size {shs} at byte offset {off + 4} < 148")
            name_s, unit_s = _utf16(name), _utf16(unit)
            start = off + shs
            if start + nbytes > size:
                raise ValueError(
                    f"APT file {str(path)!r} is truncated: section {name_s!r} (header at byte offset {off}) "
                    f"declares {nbytes} data bytes from offset {start}, file ends at {size}"
                )
            extra = fh.read(shs - SECTION_HEADER.size)
            sec = AptSection(name_s, unit_s, rel, rtype, dtype_code, bits, rsize, count, off, shs,
                             shv, sver, extra)
            if rtype == 1:
                dt = _dtype(path, off, dtype_code, bits)
                if rsize % dt.itemsize or rsize * count != nbytes:
                    raise ValueError(
                        f"APT file {str(path)!r}: section {name_s!r} at byte offset {off} is mis-sized: "
                        f"{count} records × {rsize} B ≠ {nbytes} data bytes (element {dt.itemsize} B)"
                    )
                if rel == 1 and count != n_ions:
                    raise ValueError(
                        f"APT file {str(path)!r}: section {name_s!r} at byte offset {off} has {count} "
                        f"records but the file header announces {n_ions} ions"
                    )
                shape = (count, rsize // dt.itemsize)
                if count == 0:
                    sec.data = np.zeros(shape, dt)
                elif memmap:
                    sec.data = np.memmap(path, dtype=dt, mode="r", offset=start, shape=shape)
                else:
                    fh.seek(start)
                    sec.data = np.fromfile(fh, dtype=dt, count=shape[0] * shape[1]).reshape(shape)
            else:  # variable-size records: hand back the bytes
                fh.seek(start)
                sec.data = np.frombuffer(fh.read(nbytes), np.uint8)
            if name_s not in KNOWN_SECTIONS:
                unknown.append(name_s)
            if name_s in sections:
                raise ValueError(f"APT file {str(path)!r}: duplicate section {name_s!r} at byte offset {off}")
            sections[name_s] = sec
            off = start + nbytes
    return AptFile(path, _utf16(fname), ctime, n_ions, sections, unknown)


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
    arrays = {k: np.asarray(v) for k, v in columns.items()}
    arrays = {k: (v[:, None] if v.ndim == 1 else v) for k, v in arrays.items()}
    ns = {v.shape[0] for v in arrays.values()}
    if len(ns) > 1:
        raise ValueError(f"columns must all have the same number of ions, got {ns}")
    n = ns.pop() if ns else 0
    codes = {"i": 1, "u": 2, "f": 3}
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(FILE_HEADER.pack(b"APT\x00", FILE_HEADER.size, 2,
                                      filename.encode("utf-16-le")[:512].ljust(512, b"\0"), creation_time, n))
            for name, a in arrays.items():
                if a.dtype.kind not in codes or len(name) > 32:
                    raise ValueError(f"section {name!r}: dtype {a.dtype} or name length not writable")
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
