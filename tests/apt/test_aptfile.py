import numpy as np
import pytest

from jaxem.apt import read_apt, read_pos, write_apt
from jaxem.apt.aptfile import SECTION_HEADER

from ._samples import sample_dir


def _columns(rng, n):
    return {
        "tofc": rng.uniform(100, 900, n).astype(np.float32),
        "Mass": rng.uniform(1, 100, n).astype(np.float32),
        "XDet_mm": rng.uniform(-40, 40, n).astype(np.float32),
        "YDet_mm": rng.uniform(-40, 40, n).astype(np.float32),
        "Multiplicity": np.ones(n, np.int32),
        "Voltage": rng.uniform(3000, 9000, n).astype(np.float32),
        "Detector Coordinates": rng.uniform(-40, 40, (n, 2)).astype(np.float32),
        "Position": rng.normal(size=(n, 3)).astype(np.float32),
        "MyVendorThing": np.arange(n, dtype=np.uint16),
    }


UNITS = {"tofc": "ns", "Mass": "Da", "XDet_mm": "mm", "YDet_mm": "mm", "Voltage": "V",
         "Detector Coordinates": "mm", "Position": "nm"}


def test_fixture_sections_names_units_counts(tmp_path, rng):
    cols = _columns(rng, 777)
    write_apt(tmp_path / "f.apt", cols, UNITS, filename="fixture.apt")
    a = read_apt(tmp_path / "f.apt")
    assert a.ion_count == 777 and a.filename == "fixture.apt"
    assert list(a.sections) == list(cols)
    assert a.unknown == ("MyVendorThing",)
    for k, v in cols.items():
        s = a.sections[k]
        assert s.count == 777 and s.unit == UNITS.get(k, "")
        np.testing.assert_array_equal(a[k], v.reshape(777, -1))
    pos = a.sections["Position"]
    assert pos.header_size == 172
    bbox = np.frombuffer(pos.extra, "<f4")
    np.testing.assert_allclose(bbox, np.concatenate([cols["Position"].min(0), cols["Position"].max(0)]))
    assert a.sections["Multiplicity"].data.dtype == np.int32
    assert a.sections["Detector Coordinates"].data.shape == (777, 2)


def test_bad_files_name_offset(tmp_path, rng):
    write_apt(tmp_path / "f.apt", {"Mass": np.ones(10, np.float32), "tofc": np.ones(10, np.float32)})
    raw = (tmp_path / "f.apt").read_bytes()
    (tmp_path / "t.apt").write_bytes(raw[:-3])
    with pytest.raises(ValueError, match=r"t\.apt.*truncated.*'tofc'.*offset 728"):
        read_apt(tmp_path / "t.apt")
    bad = bytearray(raw)
    bad[540:544] = b"XYZ\0"
    (tmp_path / "s.apt").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match=r"s\.apt.*offset 540"):
        read_apt(tmp_path / "s.apt")
    # record count that disagrees with the byte count
    bad = bytearray(raw)
    fields = list(SECTION_HEADER.unpack(bytes(bad[540:540 + 148])))
    fields[-2] = 11
    bad[540:540 + 148] = SECTION_HEADER.pack(*fields)
    (tmp_path / "m.apt").write_bytes(bytes(bad))
    with pytest.raises(ValueError, match=r"m\.apt.*'Mass'.*offset 540.*mis-sized"):
        read_apt(tmp_path / "m.apt")
    (tmp_path / "h.apt").write_bytes(raw[:100])
    with pytest.raises(ValueError, match="truncated"):
        read_apt(tmp_path / "h.apt")


def test_agrees_with_ifes_on_fixture(tmp_path, rng, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ifes = pytest.importorskip("ifes_apt_tc_data_modeling.apt.apt6_reader")
    cols = _columns(rng, 500)
    cols.pop("MyVendorThing")
    write_apt(tmp_path / "f.apt", cols, UNITS)
    r = ifes.ReadAptFileFormat(str(tmp_path / "f.apt"))
    a = read_apt(tmp_path / "f.apt")
    np.testing.assert_array_equal(r.get_reconstructed_positions().magnitude, a["Position"])
    np.testing.assert_array_equal(r.get_mass_to_charge_state_ratio().magnitude.ravel(), a["Mass"][:, 0])
    np.testing.assert_array_equal(r.get_named_quantity("XDet_mm").magnitude.ravel(), a["XDet_mm"][:, 0])


def test_real_sample(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = sample_dir()
    if d is None:
        pytest.skip("APAV sample files not available (set JAXEM_APT_SAMPLES)")
    a = read_apt(d / "Si.apt")
    assert a.ion_count == 945211 and a.unknown == ()
    names = {k: (s.unit, s.data.shape[1], s.data.dtype.kind) for k, s in a.sections.items()}
    assert names == {"tofc": ("ns", 1, "f"), "Mass": ("Da", 1, "f"), "XDet_mm": ("mm", 1, "f"),
                     "YDet_mm": ("mm", 1, "f"), "Multiplicity": ("", 1, "i"),
                     "Detector Coordinates": ("mm", 2, "f"), "Position": ("nm", 3, "f")}
    p = read_pos(d / "Si.pos")
    np.testing.assert_array_equal(a["Position"], np.stack([p["x"], p["y"], p["z"]], 1))
    np.testing.assert_array_equal(a["Detector Coordinates"][:, 0], a["XDet_mm"][:, 0])
    ifes = pytest.importorskip("ifes_apt_tc_data_modeling.apt.apt6_reader")
    r = ifes.ReadAptFileFormat(str(d / "Si.apt"))
    np.testing.assert_array_equal(r.get_reconstructed_positions().magnitude, a["Position"])
    np.testing.assert_array_equal(r.get_mass_to_charge_state_ratio().magnitude.ravel(), a["Mass"][:, 0])


def test_nan_masses_empty_and_headeronly_files(tmp_path, rng):
    from jaxem.validate import FileFormatError

    mass = np.ones(20, np.float32)
    mass[[3, 9]] = np.nan
    write_apt(tmp_path / "n.apt", {"Mass": mass, "tofc": np.ones(20, np.float32)})
    with pytest.raises(FileFormatError, match=r"n\.apt.*Mass \[Da\]: 2 ion\(s\) \(first: ion 3\)"):
        read_apt(tmp_path / "n.apt")
    assert np.isnan(read_apt(tmp_path / "n.apt", check_finite=False)["Mass"][3, 0])
    raw = (tmp_path / "n.apt").read_bytes()
    (tmp_path / "h.apt").write_bytes(raw[:540])  # the file header alone
    with pytest.raises(FileFormatError, match=r"h\.apt.*holds no section.*20 ions announced"):
        read_apt(tmp_path / "h.apt")
    (tmp_path / "e.apt").write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"e\.apt.*expected 540 bytes, found 0"):
        read_apt(tmp_path / "e.apt")
    with pytest.raises(ValueError, match="columns must be a non-empty dict"):
        write_apt(tmp_path / "x.apt", {})
    with pytest.raises(ValueError, match=r"columns must all have the same number of ions, got \[2, 3\]"):
        write_apt(tmp_path / "x.apt", {"a": np.zeros(2), "b": np.zeros(3)})
    with pytest.raises(ValueError, match=r"columns\['c'\]: dtype complex128"):
        write_apt(tmp_path / "x.apt", {"c": np.zeros(2, complex)})
    with pytest.raises(KeyError, match=r"no section 'mass'.*did you mean 'Mass'"):
        read_apt(tmp_path / "n.apt", check_finite=False)["mass"]
