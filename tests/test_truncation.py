"""No reader returns data from a truncated, damaged or unreadable file.

Every real instrument sample in ``../shared/data/vendor`` (and the APT samples in
``$JAXEM_APT_SAMPLES``, and files jaxem writes itself) is cut at several offsets — 0, a few bytes
into the header, 25 %, 50 %, 75 % and one byte short of the end — and overwritten with garbage at
the start; each reader must raise a ``ValueError`` (``FileFormatError``) naming the file. Text
formats are cut one meaningful character short of the end (trailing whitespace, or what follows
the EMSA '#ENDOFDATA' keyword, carries no data).
POS/EPOS files have no header, so a cut on a record boundary is indistinguishable from a smaller
file; their cuts fall inside a record. Directories, missing and unreadable paths are errors naming
the path too.
"""
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest

from jaxem.validate import FileFormatError

ROOT = Path(__file__).resolve().parents[1]
VENDOR = Path(os.environ.get("JAXEM_VENDOR_DATA", ROOT / ".." / "shared" / "data" / "vendor"))
GARBAGE = bytes((i * 37 + 11) % 256 for i in range(64))  # includes NUL and control bytes
CUTS = ("zero", "header", "25%", "50%", "75%", "end-1")


def _readers():
    pytest.importorskip("rsciio")
    from jaxem.eds.readers import read_eds
    from jaxem.ltr.vendor import read_frames
    from jaxem.phase.io import read_4dstem

    return {"read_4dstem": read_4dstem, "read_eds": read_eds, "read_frames": read_frames}


def _cut(size: int, where: str, text_end: int | None = None) -> int:
    end = size if text_end is None else text_end
    return {"zero": 0, "header": min(20, size - 1), "25%": end // 4, "50%": end // 2, "75%": 3 * end // 4,
            "end-1": end - 1}[where]


def _text_end(raw: bytes) -> int:
    """End of the meaningful text: trailing whitespace, and what follows an EMSA file's closing
    '#ENDOFDATA' keyword, carry no data."""
    if b"#ENDOFDATA" in raw:
        return raw.index(b"#ENDOFDATA") + len(b"#ENDOFDATA")
    return len(raw.rstrip())


# (sample, reader, kind); Merlin samples live in zip archives: "zip/member"
VENDOR_CASES = [
    ("bruker/test_TEM.bcf", "read_eds", "binary"),
    ("bruker/bruker_nano.spx", "read_eds", "text"),
    ("bruker/extracted_from_bcf.spx", "read_eds", "text"),
    ("msa/example2.msa", "read_eds", "text"),
    ("msa/example1.msa", "read_eds", "text"),
    ("emd/Si100_4D.emd", "read_4dstem", "binary"),
    ("emd/py4DSTEM_size2x3x4x5.h5", "read_4dstem", "binary"),
    ("emd/fei_example_dpc_titles.emd", "read_4dstem", "binary"),
    ("blockfile/test1.blo", "read_4dstem", "binary"),
    ("blockfile/test2.blo", "read_frames", "binary"),
    ("arina/test_00_data_000001.h5", "read_4dstem", "binary"),
    ("quantumdetector/Merlin_navigation4x2_ROI.zip/001_4x2_6bit.mib", "read_4dstem", "binary"),
    ("quantumdetector/Merlin_navigation4x2_ROI.zip/001_4x2_6bit.mib", "read_frames", "binary"),
    ("quantumdetector/Merlin_navigation4x2_ROI.zip/002_4x2_6bit_roi128.mib", "read_4dstem", "binary"),
    ("quantumdetector/Merlin_Single_Quad.zip/Single_9_Frame_CounterDepth_24_Rows_256.mib", "read_frames", "binary"),
    ("quantumdetector/Merlin_Single_Quad.zip/Quad_1_Frame_CounterDepth_12_Rows_256.mib", "read_frames", "binary"),
]


def _materialise(tmp_path: Path, sample: str) -> Path:
    """A private copy of the sample (and, for .mib, its .hdr) in its own folder."""
    if ".zip/" in sample:
        archive, member = sample.split(".zip/")
        z = VENDOR / f"{archive}.zip"
        if not z.exists():
            pytest.skip(f"vendor sample {z} absent")
        with zipfile.ZipFile(z) as f:
            for m in (member, member[:-4] + ".hdr"):
                if m in f.namelist():
                    (tmp_path / m).write_bytes(f.read(m))
        return tmp_path / member
    src = VENDOR / sample
    if not src.exists():
        pytest.skip(f"vendor sample {src} absent")
    dst = tmp_path / src.name
    shutil.copyfile(src, dst)
    return dst


def _assert_refused(fn, path: Path, *args, **kwargs):
    with pytest.raises(ValueError, match=path.name.replace(".", r"\.")) as info:
        out = fn(path, *args, **kwargs)
        np.asarray(getattr(out, "array", getattr(out, "counts", out)))  # lazy data must fail too
    assert isinstance(info.value, FileFormatError), f"{type(info.value).__name__}: {info.value}"
    return info.value


@pytest.mark.parametrize("where", CUTS)
@pytest.mark.parametrize("sample,reader,kind", VENDOR_CASES, ids=[f"{c[1]}-{Path(c[0]).name}" for c in VENDOR_CASES])
def test_truncated_vendor_file_is_refused(tmp_path, sample, reader, kind, where):
    fn = _readers()[reader]
    path = _materialise(tmp_path, sample)
    raw = path.read_bytes()
    with open(path, "r+b") as f:
        f.truncate(_cut(len(raw), where, _text_end(raw) if kind == "text" else None))
    _assert_refused(fn, path)


@pytest.mark.parametrize("sample,reader,kind", VENDOR_CASES, ids=[f"{c[1]}-{Path(c[0]).name}" for c in VENDOR_CASES])
def test_garbage_header_is_refused(tmp_path, sample, reader, kind):
    fn = _readers()[reader]
    path = _materialise(tmp_path, sample)
    with open(path, "r+b") as f:
        f.write(GARBAGE)
    _assert_refused(fn, path)


@pytest.mark.parametrize("where", ("zero", "25%", "50%", "75%"))
def test_truncated_merlin_header_file_is_refused(tmp_path, where):
    readers = _readers()
    mib = _materialise(tmp_path, "quantumdetector/Merlin_navigation4x2_ROI.zip/001_4x2_6bit.mib")
    hdr = mib.with_suffix(".hdr")
    raw = hdr.read_bytes()
    hdr.write_bytes(raw[:_cut(len(raw), where, raw.index(b"\nEnd") + 1)])
    with pytest.raises(FileFormatError, match=r"001_4x2_6bit\.hdr"):
        readers["read_4dstem"](mib)


def test_half_merlin_is_not_a_smaller_scan(tmp_path):
    """The review's example: half a 4×2 Merlin scan loaded as a 2×2 scan; now expected and found sizes."""
    readers = _readers()
    mib = _materialise(tmp_path, "quantumdetector/Merlin_navigation4x2_ROI.zip/001_4x2_6bit.mib")
    assert readers["read_4dstem"](mib).shape == (2, 4, 256, 256)
    with open(mib, "r+b") as f:
        f.truncate(mib.stat().st_size // 2)
    err = _assert_refused(readers["read_4dstem"], mib)
    assert "expected 527360 bytes, found 263680" in str(err) and "8 frames" in str(err)
    err = _assert_refused(readers["read_frames"], mib)  # ltr.read_frames: not 4 of 8 frames
    assert "found 4 whole frames" in str(err)


def test_half_bcf_is_not_an_empty_cube(tmp_path):
    readers = _readers()
    bcf = _materialise(tmp_path, "bruker/test_TEM.bcf")
    with open(bcf, "r+b") as f:
        f.truncate(bcf.stat().st_size // 2)
    err = _assert_refused(readers["read_eds"], bcf)
    assert "expected 332056 bytes, found 166028" in str(err)


@pytest.mark.parametrize("reader,name,kind", [
    ("read_4dstem", "x.mib", "file"), ("read_4dstem", "x.emd", "file"), ("read_4dstem", "x.zarr", "dir"),
    ("read_eds", "x.bcf", "file"), ("read_eds", "x.msa", "file"), ("read_frames", "x.mib", "file"),
    ("read_pos", "x.pos", "file"), ("read_epos", "x.epos", "file"), ("read_apt", "x.apt", "file"),
    ("read_rrng", "x.rrng", "file"), ("read_rng", "x.rng", "file"), ("read_events", "x.h5", "file")])
def test_missing_directory_and_unreadable_paths(tmp_path, reader, name, kind):
    from jaxem import apt
    from jaxem.ltr.hdf5 import read_events

    fns = {**_readers(), "read_pos": apt.read_pos, "read_epos": apt.read_epos, "read_apt": apt.read_apt,
           "read_rrng": apt.read_rrng, "read_rng": apt.read_rng, "read_events": read_events}
    fn = fns[reader]
    with pytest.raises(FileNotFoundError, match=r"missing_" + name.replace(".", r"\.")):
        fn(tmp_path / f"missing_{name}")
    wrong = tmp_path / name
    if kind == "file":
        wrong.mkdir()
        with pytest.raises(IsADirectoryError, match=rf"{name.replace('.', chr(92) + '.')} is a directory"):
            fn(wrong)
    else:
        wrong.write_bytes(b"not a store")
        with pytest.raises(NotADirectoryError, match="expected a directory"):
            fn(wrong)
    if os.geteuid() == 0:
        return  # root reads a chmod-000 file: nothing to test
    locked = tmp_path / f"locked_{name}"
    locked.mkdir() if kind == "dir" else locked.write_bytes(b"x" * 64)
    locked.chmod(0)
    try:
        with pytest.raises(PermissionError, match="locked_"):
            fn(locked)
    finally:
        locked.chmod(0o700)


# ---- jaxem's own files ------------------------------------------------------------------------
def _jaxem_files(tmp_path):
    """One small file of each kind jaxem writes and reads back (name → (path, reader))."""
    from jaxem import apt
    from jaxem.ltr import hdf5
    from jaxem.ltr.synthetic import SyntheticLTR, simulate_events

    rng = np.random.default_rng(0)
    n = 300
    pos = {k: rng.normal(size=n).astype(np.float32) for k in apt.POS_DTYPE.names}
    epos = {k: rng.normal(size=n).astype(np.float32) for k in apt.EPOS_DTYPE.names[:9]}
    epos.update(delta_pulse=np.ones(n, np.int32), multiplicity=np.ones(n, np.int32))
    table = apt.RangeTable([10.0, 20.0, 30.0], [11.0, 21.0, 31.5], [{"Fe": 1}, {"Cr": 1}, {"Cr": 1, "O": 1}])
    rng_text = ("2 2\nFe\nFe 1.0 0.0 1.0\nCr\nCr 0.2 0.2 0.8\n------ Fe Cr\n. 10.0 11.0 1 0\n"
                ". 20.0 21.0 0 1\n")
    (tmp_path / "t.rng").write_text(rng_text)
    spec = SyntheticLTR(scan_shape=(2, 3), n_frames=4, detector_shape=(8, 8), centers=((4.0, 4.0),),
                        intensity=(3.0,), critical_dose=(20.0,), floor=(0.0,), growth=(None,), halo_sigma=2.0)
    ev = simulate_events(spec, seed=1)
    from jaxem.io import save
    from jaxem.phase.dataset import Dataset4D
    from jaxem.phase.io import read_4dstem, to_measurement

    ds = Dataset4D(rng.random((3, 4, 6, 6)).astype(np.float32), (0.5, 0.5), energy=200e3)
    return {
        "measurement_h5": (save(to_measurement(ds), tmp_path / "m.h5"), read_4dstem),
        "pos": (apt.write_pos(tmp_path / "t.pos", pos), apt.read_pos),
        "epos": (apt.write_epos(tmp_path / "t.epos", epos), apt.read_epos),
        "apt": (apt.write_apt(tmp_path / "t.apt", {"Mass": pos["mass"], "Position": np.stack([pos["x"], pos["y"], pos["z"]], 1)}),
                apt.read_apt),
        "rrng": (apt.write_rrng(tmp_path / "t.rrng", table), apt.read_rrng),
        "rng": (tmp_path / "t.rng", apt.read_rng),
        "events_csr": (hdf5.write_events(ev, tmp_path / "csr.h5", layout="csr"), hdf5.read_events),
        "events_stempy": (hdf5.write_events(ev, tmp_path / "stempy.h5", layout="stempy"), hdf5.read_events),
    }


_RECORD = {"pos": 16, "epos": 44}
_TEXT = {"rrng", "rng"}


@pytest.mark.parametrize("where", CUTS)
@pytest.mark.parametrize("kind", ["pos", "epos", "apt", "rrng", "rng", "events_csr", "events_stempy",
                                  "measurement_h5"])
def test_truncated_jaxem_files_are_refused(tmp_path, kind, where):
    path, fn = _jaxem_files(tmp_path)[kind]
    raw = Path(path).read_bytes()
    fn(path)  # the intact file reads
    cut = _cut(len(raw), where, _text_end(raw) if kind in _TEXT else None)
    if kind in _RECORD and cut % _RECORD[kind] == 0 and cut:
        cut += 5  # headerless records: a cut on a record boundary is a valid smaller file
    Path(path).write_bytes(raw[:cut])
    _assert_refused(fn, Path(path))


@pytest.mark.parametrize("kind", ["pos", "epos", "apt", "rrng", "rng", "events_csr", "events_stempy",
                                  "measurement_h5"])
def test_garbage_in_jaxem_files_is_refused(tmp_path, kind):
    path, fn = _jaxem_files(tmp_path)[kind]
    raw = bytearray(Path(path).read_bytes())
    if kind in _RECORD:  # no header: the garbage lands in the values (NaN/inf masses or positions)
        raw[:4 * _RECORD[kind]] = b"\xff" * 4 * _RECORD[kind]
    else:
        raw[:len(GARBAGE)] = GARBAGE
    Path(path).write_bytes(bytes(raw))
    _assert_refused(fn, Path(path))


def _chunk_files(path):
    from jaxem.io import SIGNAL_GROUP

    return sorted(c for c in (path / SIGNAL_GROUP / "data" / "c").rglob("*") if c.is_file())


def _store(tmp_path):
    from jaxem.phase.dataset import Dataset4D
    from jaxem.phase.io import write_zarr

    a = np.random.default_rng(0).random((4, 4, 6, 6)).astype(np.float32)
    ds = Dataset4D(a, (0.5, 0.5), energy=200e3, detector_sampling=(0.02, 0.02), center=(3.0, 3.0))
    return write_zarr(ds, tmp_path / "s.zarr", scan_chunks=(1, 4)), a


def test_zarr_store_with_missing_chunks_is_refused(tmp_path):
    from jaxem.phase.io import read_4dstem

    path, a = _store(tmp_path)
    chunks = _chunk_files(path)
    assert len(chunks) == 4
    for c in chunks[1::2]:
        c.unlink()
    for lazy in (True, False):
        with pytest.raises(FileFormatError, match=r"s\.zarr.*2 of its 4 chunks are missing"):
            read_4dstem(path, lazy=lazy)
    ds = read_4dstem(path, allow_partial=True)
    assert "allow_partial=True" in ds.metadata["incomplete"]
    np.testing.assert_array_equal(np.asarray(ds.array)[0], a[0])


@pytest.mark.parametrize("damage", ["chunk_half", "array_metadata", "group_metadata", "no_data"])
def test_damaged_zarr_store_is_refused(tmp_path, damage):
    from jaxem.phase.io import read_4dstem

    from jaxem.io import SIGNAL_GROUP

    path, _ = _store(tmp_path)
    if damage == "chunk_half":
        chunk = _chunk_files(path)[0]
        chunk.write_bytes(chunk.read_bytes()[: chunk.stat().st_size // 2])
    elif damage == "array_metadata":
        meta = path / SIGNAL_GROUP / "data" / "zarr.json"
        meta.write_bytes(meta.read_bytes()[: meta.stat().st_size // 2])
    elif damage == "group_metadata":
        (path / "zarr.json").write_bytes(GARBAGE)
    else:
        shutil.rmtree(path / SIGNAL_GROUP / "data")
    _assert_refused(read_4dstem, path)


def test_hdf5_with_unwritten_chunks_is_refused(tmp_path):
    """A vendor HDF5 file whose chunked dataset was never fully written reads as an error, not as
    the fill value (the check every HDF5-based vendor reader runs first)."""
    import h5py

    from jaxem.io.vendor import check_hdf5_chunks

    p = tmp_path / "partial.emd"
    with h5py.File(p, "w") as f:
        d = f.create_dataset("datacube", shape=(4, 4, 8, 8), chunks=(1, 4, 8, 8), dtype="f4")
        d[0] = d[2] = 1.0
    with pytest.raises(FileFormatError, match=r"partial\.emd.*'datacube' is incomplete: 2 of its 4 chunks"):
        check_hdf5_chunks(p)
    assert "2 of 4 chunks missing" in check_hdf5_chunks(p, allow_partial=True)
    _readers()
    from jaxem.phase.io import read_4dstem

    with pytest.raises(FileFormatError, match=r"partial\.emd.*2 of its 4 chunks"):
        read_4dstem(p)
