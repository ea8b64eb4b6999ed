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
