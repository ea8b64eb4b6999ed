import numpy as np
import pytest

from jaxem.ltr import hdf5
from jaxem.ltr.dose import DoseSchedule
from jaxem.ltr.synthetic import SyntheticLTR, iter_events, simulate_events

SPEC = SyntheticLTR(scan_shape=(3, 4), n_frames=6, detector_shape=(16, 16),
                    centers=((8.0, 12.0),), intensity=(5.0,), critical_dose=(20.0,), floor=(0.0,),
                    growth=(None,), halo_sigma=4.0)


@pytest.mark.parametrize("layout", ["csr", "stempy"])
def test_roundtrip(tmp_path, layout):
    ev = simulate_events(SPEC, seed=3)
    path = hdf5.write_events(ev, tmp_path / "ev.h5", layout=layout)
    back = hdf5.read_events(path)
    np.testing.assert_array_equal(back.indices, ev.indices)
    np.testing.assert_array_equal(back.offsets, ev.offsets)
    assert back.scan_shape == ev.scan_shape and back.detector_shape == ev.detector_shape
    assert back.dose == ev.dose
    with hdf5.EventFile(path) as f:
        part = f.read_positions(5, 9)
        ref = ev.select_positions(5, 9)
        np.testing.assert_array_equal(part.indices, ref.indices)
        np.testing.assert_array_equal(part.offsets, ref.offsets)


def test_stempy_layout_attributes(tmp_path):
    import h5py

    ev = simulate_events(SPEC, seed=3)
    path = hdf5.write_events(ev, tmp_path / "ev.h5", layout="stempy")
    with h5py.File(path) as f:
        assert f.attrs["version"] == 3
        fr = f["electron_events/frames"]
        assert fr.shape == (12, 6) and (fr.attrs["Nx"], fr.attrs["Ny"]) == (16, 16)
        sp = f["electron_events/scan_positions"]
        assert (sp.attrs["Nx"], sp.attrs["Ny"]) == (4, 3)
        np.testing.assert_array_equal(fr[1, 2], ev.indices[ev.offsets[8]:ev.offsets[9]])


def test_streaming_writer_and_missing_dose(tmp_path):
    ev = simulate_events(SPEC, seed=0, positions_per_chunk=5)
    path = tmp_path / "stream.h5"
    with hdf5.EventWriter(path, SPEC.scan_shape, SPEC.n_frames, SPEC.detector_shape, SPEC.dose) as w:
        for chunk in iter_events(SPEC, seed=0, positions_per_chunk=5):
            w.append(chunk)
    back = hdf5.read_events(path)
    np.testing.assert_array_equal(back.indices, ev.indices)
    np.testing.assert_array_equal(back.offsets, ev.offsets)
    # an incomplete stream leaves no file behind
    bad = tmp_path / "bad.h5"
    with pytest.raises(ValueError, match="positions"):
        with hdf5.EventWriter(bad, SPEC.scan_shape, SPEC.n_frames, SPEC.detector_shape, SPEC.dose) as w:
            w.append(next(iter_events(SPEC, positions_per_chunk=5)))
    assert not bad.exists()
    # a file without dose metadata is refused unless a dose is given
    import h5py

    with h5py.File(path, "a") as f:
        del f["metadata"].attrs["jaxem_dose"]
    with pytest.raises(ValueError, match="dose metadata"):
        hdf5.read_events(path)
    d = DoseSchedule.from_frame_dose(1.0)
    assert hdf5.read_events(path, dose=d).dose == d


def _rewrite(path, fn):
    import h5py

    with h5py.File(path, "a") as f:
        fn(f)


@pytest.mark.parametrize("damage,match", [
    ("short_indices", r"expected \d+ events, found \d+ .*offsets\[-1\]"),
    ("no_attr", r"has no attribute 'Nx'"),
    ("scan_positions", r"expected 12 scan positions, found 11"),
    ("offsets", r"expected 73 offsets, found 72"),
    ("frame_dose", r"expected 6 frame doses, found 5"),
    ("no_group", r"no /electron_events group"),
])
def test_damaged_event_files_name_the_file_and_the_count(tmp_path, damage, match):
    from jaxem.validate import FileFormatError

    ev = simulate_events(SPEC, seed=3)
    path = hdf5.write_events(ev, tmp_path / "ev.h5", layout="csr")

    def fix(f):
        g = f["electron_events"] if "electron_events" in f else None
        if damage == "short_indices":
            idx = g["indices"][:-3]
            attrs = dict(g["indices"].attrs)
            del g["indices"]
            d = g.create_dataset("indices", data=idx)
            d.attrs.update(attrs)
        elif damage == "no_attr":
            del g["indices"].attrs["Nx"]
        elif damage == "scan_positions":
            attrs = dict(g["scan_positions"].attrs)
            del g["scan_positions"]
            g.create_dataset("scan_positions", data=np.arange(11, dtype=np.uint32)).attrs.update(attrs)
        elif damage == "offsets":
            off = g["offsets"][:-1]
            del g["offsets"]
            g.create_dataset("offsets", data=off)
        elif damage == "frame_dose":
            f["metadata"].attrs["jaxem_frame_dose"] = np.ones(5)
        else:
            del f["electron_events"]

    _rewrite(path, fix)
    with pytest.raises(FileFormatError, match=r"ev\.h5.*" + match):
        hdf5.read_events(path)


def test_out_of_range_events_and_positions(tmp_path):
    from jaxem.validate import FileFormatError

    ev = simulate_events(SPEC, seed=3)
    path = hdf5.write_events(ev, tmp_path / "ev.h5", layout="csr")

    def fix(f):
        f["electron_events/indices"][0] = 16 * 16 + 5  # outside the 16×16 detector

    _rewrite(path, fix)
    with hdf5.EventFile(path) as f:
        with pytest.raises(FileFormatError, match=r"ev\.h5: damaged events at positions \[0, 2\).*indices"):
            f.read_positions(0, 2)
        with pytest.raises(ValueError, match=r"\[start, stop\) = \[5, 99\)"):
            f.read_positions(5, 99)
        with pytest.raises(TypeError, match="start must be an integer"):
            f.read_positions(0.5, 2)
