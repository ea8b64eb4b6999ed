"""Vendor files through RosettaSciIO, checked: no truncated or damaged file is read as valid data.

RosettaSciIO (``rsciio``) reads the formats; several of its readers take a damaged file for an
interrupted acquisition and return what they can (a half-truncated Merlin ``.mib`` loads as fewer
scan rows, a truncated NanoMegas ``.blo`` is zero-padded, a truncated Bruker ``.bcf`` gives an
all-zero cube — or crashes the process — and a truncated EMSA file has fewer channels). So before a
file is handed to rsciio its size is checked against its own header, and after it the counts are
checked against what the header announced:

* Merlin ``.mib`` [Quantum Detectors]: every frame is a text header (``MQ1,<seq>,<header bytes>,
  <chips>,<width>,<height>,<U08|U16|U32>,…``) followed by width × height pixels; the sibling ``.hdr``
  announces ``Frames in Acquisition (Number)``. File size = frames × (header + pixels × itemsize).
* NanoMegas ``.blo``: header ``IMGBLO`` with the data offset (u32 at byte 12), the pattern size
  ``DP_SZ`` (u16 at 20) and the scan ``NX``, ``NY`` (u16 at 24, 26); every pattern is preceded by
  6 bytes. File size ≥ offset + NX·NY·(6 + DP_SZ²).
* Bruker ``.bcf`` (an AidAim SFS container): magic ``AAMVHFSS``, chunk size (u32 at 0x128) and the
  number of chunks (u32 at 0x148); chunk *k* occupies bytes 0x118 + k·size … so the file holds at
  least 0x118 + chunks × size bytes, and every chunk of every internal file must lie inside it.
* EMSA/MSA text (no binary bytes): ``#FORMAT`` first, at least ``#NPOINTS`` channels and a closing
  ``#ENDOFDATA`` line.
* EMPAD ``.xml`` + ``.raw``: 130 × 128 float32 (128 × 128 pixels and 2 footer rows) per frame.
* HDF5 files (EMD, DECTRIS ARINA, HyperSpy ``.hspy``): HDF5 itself refuses a truncated file; in
  addition every chunked dataset must have all its chunks stored (an unstored chunk would read as
  the fill value).

Every foreign error (struct, XML, h5py, NumPy …) is re-raised as
:class:`~jaxem.validate.FileFormatError` naming the file (:func:`jaxem.validate.reading`), and a
size mismatch names the expected and the found size (:func:`jaxem.validate.check_size`).
``allow_partial=True`` accepts HDF5 datasets with unstored chunks (read as the fill value) and says
so in the signal (``"jaxem_incomplete"``); a file shorter than its header is always an error.
"""
from __future__ import annotations

import importlib
import math
import os
import struct
import warnings
from pathlib import Path

import numpy as np

from .. import validate
from ..validate import FileFormatError

__all__ = ["read_signals", "resolve", "PLUGIN_NAMES", "PluginUnavailable", "check_mib", "check_blockfile", "check_bcf", "check_msa",
           "check_hdf5_chunks"]

#: rosettasciio plugin → what the file is called in messages
PLUGIN_NAMES = {"quantumdetector": "Merlin .mib file", "blockfile": "NanoMegas blockfile",
                "bruker": "Bruker file", "msa": "EMSA/MSA file", "emd": "EMD/HDF5 file",
                "arina": "DECTRIS ARINA file", "empad": "EMPAD file", "de": "Direct Electron file",
                "hspy": "HyperSpy HDF5 file", "ripple": "Ripple file",
                "digitalmicrograph": "DigitalMicrograph file"}
_EAGER_ONLY = {"arina"}          # rosettasciio has no lazy reader
_HDF5 = {"emd", "arina", "hspy"}
_LAZY_FIRST = {"empad"}          # read lazily, check sizes, then load


class PluginUnavailable(validate.InputError):
    """A rosettasciio plugin exists but cannot be imported here (an optional dependency is missing)."""


def _plugin_module(plugin: str):
    name = str(plugin).removeprefix("rsciio.")
    try:
        return name, importlib.import_module(f"rsciio.{name}")
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        if missing not in (f"rsciio.{name}", "rsciio") or not isinstance(exc, ModuleNotFoundError):
            raise PluginUnavailable(f"rosettasciio's {name!r} reader cannot be imported ({type(exc).__name__}: "
                                    f"{exc}); install the optional dependency it needs") from None
        known = sorted(PLUGIN_NAMES)
        hint = validate.closest(name, known)
        raise validate.InputError(f"reader {plugin!r} is not a rosettasciio plugin; known here: {known}"
                                  + (f" (did you mean {hint!r}?)" if hint else "")) from None


def resolve(path, reader, suffixes: dict, what: str) -> tuple[Path, str]:
    """(checked path, rosettasciio plugin): ``reader`` if given, else the plugin ``suffixes`` maps the
    file's suffix to; an unknown suffix is an :class:`~jaxem.validate.InputError` listing the known."""
    path = validate.path(path, "path", kind="file")
    plugin = reader or suffixes.get(path.suffix.lower())
    if plugin is None:
        raise validate.InputError(f"no {what} reader known for the suffix {path.suffix!r} of {path} (known: "
                                  f"{sorted(suffixes)}); pass reader='<rosettasciio plugin>'")
    return path, plugin


def _head(path: Path, n: int, magic: bytes, what: str) -> bytes:
    """The first ``n`` bytes of ``path``, which must start with ``magic``."""
    with open(path, "rb") as fh:
        head = fh.read(n)
    if len(head) < n or not head.startswith(magic):
        raise FileFormatError(path, f"not a {what}: expected a {n}-byte header starting with {magic!r}, found "
                                    f"{len(head)} bytes starting with {head[:len(magic)]!r}")
    return head


def read_signals(path, plugin: str, *, lazy: bool = False, allow_partial: bool = False, **kwargs) -> list:
    """Read ``path`` with rosettasciio's ``plugin`` after checking it against its header.

    Args:
        path: the file (a directory, a missing or an unreadable file are errors naming it).
        plugin: rosettasciio plugin name (``"quantumdetector"``, ``"blockfile"``, ``"bruker"`` …).
        lazy: ask for Dask arrays where the plugin supports it.
        allow_partial: accept HDF5 datasets with unstored chunks (see module docstring).
        **kwargs: passed to the plugin's ``file_reader``.

    Returns:
        rosettasciio's list of signal dictionaries (``data``, ``axes``, ``metadata`` …); a signal read
        from an incomplete HDF5 file (only with ``allow_partial``) carries ``"jaxem_incomplete"``.

    Raises:
        FileFormatError: the file is truncated, damaged or not of the format (names the file, and
            the expected and found size or count).
    """
    name, mod = _plugin_module(plugin)
    path = validate.path(path, "path", kind="file")
    if name == "quantumdetector" and path.suffix.lower() == ".hdr":
        path = validate.path(path.with_suffix(".mib"), "path (the .mib beside the .hdr)", kind="file")
    what = PLUGIN_NAMES.get(name, f"{name} file")
    info = {}
    if name == "quantumdetector":
        info = check_mib(path)
    elif name == "blockfile":
        info = check_blockfile(path)
    elif name == "bruker" and path.suffix.lower() == ".bcf":
        check_bcf(path)
    elif name == "msa":
        info = check_msa(path)
    elif name in _HDF5:
        info["incomplete"] = check_hdf5_chunks(path, what, allow_partial=allow_partial)
    if name in _EAGER_ONLY:
        lazy = False
    # EMPAD: map lazily first, so the raw file's size is checked before NumPy reads (and reshapes) it
    load_later = name in _LAZY_FIRST and not lazy
    with validate.reading(path, what), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rsciio warns where it pads or guesses: checked below instead
        signals = mod.file_reader(str(path), lazy=lazy or load_later, **kwargs)
    if not isinstance(signals, list) or not signals:
        raise FileFormatError(path, f"holds no signal that rosettasciio's {name!r} reader can read")
    for s in signals:
        _apply_mapping(s)
    if info.get("incomplete"):
        for s in signals:
            s["jaxem_incomplete"] = info["incomplete"]
    if name == "quantumdetector":
        _check_frames_read(path, signals, info)
    elif name == "msa":
        _check_msa(path, signals, info)
    elif name == "empad":
        _check_empad(path, signals)
    if load_later:
        with validate.reading(path, what):
            for s in signals:
                s["data"] = np.asarray(s["data"])
    elif name == "blockfile":
        _check_frames_read(path, signals, info)
    return signals


def _apply_mapping(signal: dict) -> None:
    """Apply a reader's ``mapping`` (original-metadata path → (metadata path, conversion)) to the
    signal's ``metadata``, as HyperSpy does when it builds a signal from the dictionary: some readers
    (e.g. NanoMegas blockfile: beam energy, camera length, scan rotation) put the calibration only in
    ``original_metadata`` and leave the metadata to this step. An entry whose conversion fails or
    gives ``None`` is left out (as in HyperSpy)."""
    mapping = signal.get("mapping") or {}
    original = signal.get("original_metadata") or {}
    md = signal.setdefault("metadata", {})
    for source, target in mapping.items():
        try:
            target_path, convert = target
            value = original
            for key in str(source).split("."):
                value = value[key]
            if convert is not None:
                value = convert(value)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, ArithmeticError):
            continue
        if value is None:
            continue
        node = md
        *parents, leaf = str(target_path).split(".")
        for key in parents:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        else:
            node[leaf] = value


# ---- Merlin .mib ------------------------------------------------------------------------------
_MIB_ITEMSIZE = {"U08": 1, "U16": 2, "U32": 4, "U64": 8}


def _read_hdr(hdr: Path) -> dict:
    with validate.reading(hdr, "Merlin .hdr file"):
        text = hdr.read_bytes().decode("latin-1")
    lines = [ln.strip("\x00 \r") for ln in text.splitlines()]
    if not lines or not lines[0].startswith("HDR") or not any(ln.startswith("End") for ln in lines):
        raise FileFormatError(hdr, "not a complete Merlin acquisition header (expected an 'HDR' first "
                                   "line and an 'End' line): truncated or damaged")
    out = {}
    for ln in lines[1:]:
        key, sep, value = ln.partition("\t")
        if sep:
            out[key.rstrip(":").strip()] = value.strip()
    return out


def check_mib(path) -> dict:
    """Check a Merlin ``.mib`` file's size against its first frame header and its ``.hdr``.

    Returns:
        ``{"frames": expected frames or None, "frames_in_file": whole frames, "frame_bytes": …}``.

    Raises:
        FileFormatError: no MIB header, a trailing partial frame, fewer (or more) frames than the
            ``.hdr`` announces (an interrupted acquisition), or a misaligned last frame.
    """
    path = Path(path)
    size = os.path.getsize(path)
    with validate.reading(path, "Merlin .mib file"), open(path, "rb") as fh:
        head = fh.read(768)
    fields = head.decode("latin-1").split(",")
    try:
        if fields[0] != "MQ1":
            raise ValueError
        header_bytes, width, height, kind = int(fields[2]), int(fields[4]), int(fields[5]), fields[6]
    except (ValueError, IndexError):
        raise FileFormatError(path, f"no complete Merlin frame header at byte 0 (expected 'MQ1,…' and at "
                                    f"least 384 bytes, found {size} bytes starting with {head[:16]!r}): "
                                    f"truncated, damaged or not a .mib file") from None
    out = {"frames": None, "frames_in_file": None, "frame_bytes": None}
    if kind not in _MIB_ITEMSIZE:  # RAW (R64) frames: rosettasciio refuses them itself
        return out
    frame = header_bytes + width * height * _MIB_ITEMSIZE[kind]
    whole, rest = divmod(size, frame)
    out.update(frame_bytes=frame, frames_in_file=whole)
    hdr = path.with_suffix(".hdr")
    expected = None
    if hdr.exists():
        meta = _read_hdr(hdr)
        try:
            expected = int(meta.get("Frames in Acquisition (Number)", "0")) or None
        except ValueError:
            raise FileFormatError(hdr, f"'Frames in Acquisition (Number)' is "
                                       f"{meta.get('Frames in Acquisition (Number)')!r}, not an integer") from None
    out["frames"] = expected
    if rest or (expected is not None and whole != expected):
        want = (expected or whole + 1) * frame
        hint = (f"{expected} frames" if expected else "a whole number of frames") + \
               f" of {frame} bytes ({header_bytes}-byte header + {width}×{height} {kind} pixels)" + \
               (f" announced by {hdr.name}" if expected else "") + f"; found {whole} whole frames" + \
               (f" and {rest} trailing bytes" if rest else "")
        validate.check_size(path, want, size, "bytes", hint)
    if whole:
        with open(path, "rb") as fh:
            fh.seek((whole - 1) * frame)
            if fh.read(3) != b"MQ1":
                raise FileFormatError(path, f"frame {whole} does not start with a Merlin header at byte "
                                            f"{(whole - 1) * frame}: the file is damaged or its frames "
                                            f"are not all {frame} bytes")
    return out


def _n_frames(signal) -> int:
    shape = np.shape(signal["data"])
    return int(np.prod(shape[:-2])) if len(shape) >= 2 else 0


def _check_frames_read(path, signals, info):
    """rosettasciio read as many frames as the header announced (no silent crop or padding)."""
    expected = info.get("frames") or info.get("frames_in_file")
    if expected is None:
        return
    found = max(_n_frames(s) for s in signals)
    validate.check_size(path, expected, found, "frames",
                        "rosettasciio read a different number of frames than the header announces")


# ---- NanoMegas blockfile ----------------------------------------------------------------------
def check_blockfile(path) -> dict:
    """Check a ``.blo`` file's size against its header (see module docstring)."""
    path = Path(path)
    size = os.path.getsize(path)
    head = _head(path, 28, b"IMGBLO", "NanoMegas blockfile")
    offset = struct.unpack_from("<I", head, 12)[0]
    dp, nx, ny = struct.unpack_from("<H", head, 20)[0], *struct.unpack_from("<HH", head, 24)
    if not (28 <= offset and dp > 0 and nx > 0 and ny > 0):
        raise FileFormatError(path, f"damaged blockfile header: data offset {offset}, pattern size {dp}, "
                                    f"scan {nx}×{ny}")
    want = offset + nx * ny * (6 + dp * dp)
    if size < want:
        validate.check_size(path, want, size, "bytes",
                            f"{nx}×{ny} patterns of {dp}×{dp} bytes after the 6-byte frame marker, from "
                            f"byte {offset}")
    return {"frames": nx * ny}


# ---- Bruker .bcf (SFS container) ----------------------------------------------------------------
_SFS_BASE = 0x118


def check_bcf(path) -> None:
    """Check a Bruker ``.bcf`` (SFS container) against the chunk count in its header, and every
    internal file's chunks against the file size (see module docstring)."""
    path = Path(path)
    size = os.path.getsize(path)
    head = _head(path, 0x14C, b"AAMVHFSS", "Bruker .bcf (SFS container)")
    chunk = struct.unpack_from("<I", head, 0x128)[0]
    tree, n_items, n_chunks = struct.unpack_from("<III", head, 0x140)
    if not (64 <= chunk <= 1 << 26 and 0 < n_chunks and tree < n_chunks and n_items > 0):
        raise FileFormatError(path, f"damaged SFS header: chunk size {chunk} B, {n_chunks} chunks, file "
                                    f"table at chunk {tree} with {n_items} entries")
    want = _SFS_BASE + n_chunks * chunk
    if size < want:
        validate.check_size(path, want, size, "bytes", f"{n_chunks} SFS chunks of {chunk} B after a "
                                                       f"{_SFS_BASE}-byte header")
    _check_sfs_items(path, size)


def _check_sfs_items(path, size) -> None:
    """Every chunk of every file inside the container lies within the file (uses rsciio's SFS
    table parser; skipped if that private API is not available)."""
    try:
        from rsciio.bruker._api import SFS_reader
    except ImportError:  # pragma: no cover - rsciio changed its internals
        return
    with validate.reading(path, "Bruker .bcf file"):
        sfs = SFS_reader(str(path))
        items = []

        def walk(node):
            for v in node.values():
                walk(v) if isinstance(v, dict) else items.append(v)

        walk(sfs.vfs)
        for it in items:
            n = math.ceil(it.size / sfs.usable_chunk)
            ptr = np.asarray(getattr(it, "pointers", np.zeros(0)))
            last = it.size - (n - 1) * sfs.usable_chunk if n else 0
            if ptr.size != n or (n and (ptr.min() < 0 or ptr[:-1].max(initial=0) + sfs.usable_chunk > size
                                        or ptr[-1] + last > size)):
                raise FileFormatError(path, f"internal file {it.name!r} ({it.size} B in {n} chunks) points "
                                            f"beyond the end of the file ({size} B) or has a short chunk "
                                            f"table ({ptr.size} of {n} entries): truncated or damaged")


# ---- EMSA/MSA ---------------------------------------------------------------------------------
def check_msa(path) -> dict:
    """Check an EMSA/MSA text file before reading: text only, ``#FORMAT`` first, ``#ENDOFDATA`` last.

    Returns:
        ``{"npoints": …}`` from the header, checked against the values read afterwards.
    """
    path = Path(path)
    with validate.reading(path, "EMSA/MSA file"):
        raw = path.read_bytes()
    control = sum(raw.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    if control:
        raise FileFormatError(path, f"holds {control} binary (control) bytes: an EMSA/MSA file is text; "
                                    f"damaged or not an MSA file")
    text = raw.decode("latin-1")
    if not text.lstrip("\ufeff \r\n").upper().startswith("#FORMAT"):
        raise FileFormatError(path, f"does not start with the '#FORMAT' keyword (found {text[:20]!r}): damaged "
                                    f"or not an EMSA/MSA file")
    keys = {}
    for ln in text.splitlines():
        if ln.startswith("#"):
            key, _, value = ln[1:].partition(":")
            keys.setdefault(key.split("-")[0].strip().upper(), value.strip())
    if "ENDOFDATA" not in keys:
        raise FileFormatError(path, "has no '#ENDOFDATA' line: the file is truncated (an EMSA/MSA file "
                                    "ends with '#ENDOFDATA')")
    try:
        return {"npoints": int(float(keys["NPOINTS"]))}
    except (KeyError, ValueError):
        raise FileFormatError(path, f"'#NPOINTS' is missing or not a number ({keys.get('NPOINTS')!r})") from None


def _check_msa(path, signals, info) -> None:
    npoints = info["npoints"]
    found = int(np.size(signals[0]["data"]))
    if found < npoints:  # more values than announced occur in real files (the EMSA example has 21 for 20)
        validate.check_size(path, npoints, found, "channels", "'#NPOINTS' in the header vs data values read")


# ---- EMPAD ------------------------------------------------------------------------------------
_EMPAD_FRAME = 130 * 128 * 4  # 128 × 128 float32 pixels + 2 footer rows


def _check_empad(path, signals) -> None:
    om = signals[0].get("original_metadata", {})
    try:
        raw = Path(path).parent / str(om["root"]["raw_file"]["filename"])
    except (KeyError, TypeError):
        return
    raw = validate.path(raw, "EMPAD raw file (named in the .xml)", kind="file")
    want = _n_frames(signals[0]) * _EMPAD_FRAME
    found = os.path.getsize(raw)
    if found < want:
        validate.check_size(raw, want, found, "bytes",
                            f"{_n_frames(signals[0])} frames of 130×128 float32 announced by {Path(path).name}")


# ---- HDF5 -------------------------------------------------------------------------------------
def check_hdf5_chunks(path, what: str = "HDF5 file", allow_partial: bool = False) -> str | None:
    """Every dataset in the HDF5 file is stored inside it, chunked ones with all their chunks
    (:func:`jaxem.io.hdf5_checks.check_dataset`; HDF5 would read a missing chunk as the fill value).
    A file that is not HDF5 is left to its reader.

    Returns:
        None if complete; with ``allow_partial``, a description of what is missing instead of an error.
    """
    import h5py

    from .hdf5_checks import check_dataset

    path = Path(path)
    incomplete = []
    with validate.reading(path, what):
        if not h5py.is_hdf5(str(path)):
            return None
        with h5py.File(path, "r") as f:
            names = []
            f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
            for name in names:
                ds = f[name]
                check_dataset(ds, path, name, allow_partial=allow_partial)
                if allow_partial and ds.chunks and ds.size:
                    want = int(np.prod([-(-s // c) for s, c in zip(ds.shape, ds.chunks)]))
                    got = ds.id.get_num_chunks()
                    if got < want:
                        incomplete.append(f"dataset {name!r}: {want - got} of {want} chunks missing")
    if incomplete:
        return "; ".join(incomplete) + " (read as the fill value)"
    return None
