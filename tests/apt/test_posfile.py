import numpy as np
import pytest
from hypothesis import given, strategies as st

from jaxem.apt import EPOS_DTYPE, POS_DTYPE, multi_hit_events, read_epos, read_pos, write_epos, write_pos

from ._samples import sample_dir


def _random_epos(rng, n):
    d = {k: rng.normal(size=n).astype(np.float32) * 30 for k in EPOS_DTYPE.names[:9]}
    d["delta_pulse"] = rng.integers(0, 1000, n).astype(np.int32)
    mult = np.ones(n, np.int32)
    mult[1::3] = 2
    mult[2::3] = 0
    mult[-1] = 1 if n % 3 != 2 else 2
    if n % 3 == 2:
        mult[-1] = 0
        mult[-2] = 2
    d["multiplicity"] = mult
    return d


def test_pos_roundtrip_byte_exact(tmp_path, rng):
    raw = rng.integers(0, 2**32, 4 * 1000, dtype=np.uint64).astype(">u4").tobytes()
    # arbitrary bit patterns incl. NaN payloads must survive
    src = tmp_path / "a.pos"
    src.write_bytes(raw)
    with pytest.raises(ValueError, match=r"a\.pos.*NaN/inf.*mass \[Da\]: \d+ ion"):
        read_pos(src)  # by default NaN/inf positions and masses are an error naming the count
    p = read_pos(src, check_finite=False)
    assert len(p) == 1000 and isinstance(p, np.memmap)
    write_pos(tmp_path / "b.pos", p)
    assert (tmp_path / "b.pos").read_bytes() == raw


def test_epos_roundtrip_byte_exact_and_values(tmp_path, rng):
    d = _random_epos(rng, 3001)
    write_epos(tmp_path / "a.epos", d)
    e = read_epos(tmp_path / "a.epos")
    for k in EPOS_DTYPE.names:
        np.testing.assert_array_equal(e[k], d[k])
    write_epos(tmp_path / "b.epos", e)
    assert (tmp_path / "a.epos").read_bytes() == (tmp_path / "b.epos").read_bytes()
    # layout: big-endian, 44-byte records, x of ion 1 at byte 44
    raw = (tmp_path / "a.epos").read_bytes()
    assert len(raw) == 44 * 3001
    assert np.frombuffer(raw[44:48], ">f4")[0] == d["x"][1]
    assert np.frombuffer(raw[44 + 40:44 + 44], ">i4")[0] == d["multiplicity"][1]


@given(st.integers(1, 200))
def test_pos_write_read_any_length(n):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as t:
        x = np.arange(4 * n, dtype=np.float32).reshape(n, 4)
        d = {k: x[:, i] for i, k in enumerate(["x", "y", "z", "mass"])}
        write_pos(Path(t) / "a.pos", d)
        p = read_pos(Path(t) / "a.pos")
        assert len(p) == n
        np.testing.assert_array_equal(p["mass"], x[:, 3])


def test_truncated_files_name_offset(tmp_path):
    (tmp_path / "t.pos").write_bytes(b"\0" * 35)
    with pytest.raises(ValueError, match=r"t\.pos.*offset 32"):
        read_pos(tmp_path / "t.pos")
    (tmp_path / "t.epos").write_bytes(b"\0" * 100)
    with pytest.raises(ValueError, match=r"t\.epos.*offset 88"):
        read_epos(tmp_path / "t.epos")
    with pytest.raises(ValueError, match="data lacks the POS columns"):
        write_pos(tmp_path / "x.pos", {"x": np.zeros(2)})
    # an empty file is not "0 ions": it is an error, and so is writing one
    (tmp_path / "e.pos").write_bytes(b"")
    with pytest.raises(ValueError, match=r"e\.pos.*empty \(0 bytes\)"):
        read_pos(tmp_path / "e.pos")
    with pytest.raises(ValueError, match="data holds 0 ions"):
        write_pos(tmp_path / "z.pos", {k: np.zeros(0, np.float32) for k in POS_DTYPE.names})
    with pytest.raises(IsADirectoryError, match="is a directory"):
        read_epos(tmp_path)


def test_nan_masses_reported_with_count(tmp_path):
    d = {k: np.ones(50, np.float32) for k in POS_DTYPE.names}
    d["mass"][[7, 20, 33]] = np.nan
    d["mass"][40] = np.inf
    write_pos(tmp_path / "n.pos", d)
    with pytest.raises(ValueError, match=r"n\.pos.*mass \[Da\]: 4 ion\(s\) \(first: ion 7\)"):
        read_pos(tmp_path / "n.pos")
    d["x"][3] = np.nan  # positions are left to their consumers
    write_epos(tmp_path / "n.epos", {**{k: np.ones(50, np.float32) for k in EPOS_DTYPE.names[:9]}, "x": d["x"],
                                     "delta_pulse": np.ones(50, np.int32), "multiplicity": np.ones(50, np.int32)})
    assert np.isnan(read_epos(tmp_path / "n.epos")["x"][3])
    assert np.isnan(read_pos(tmp_path / "n.pos", check_finite=False)["mass"][7])


def test_memory_mapped_1e8_ions(tmp_path):
    # a sparse 1.6 GB POS file of 10⁸ ions: opening maps it, only touched pages are read
    path = tmp_path / "big.pos"
    with open(path, "wb") as f:
        f.truncate(16 * 10**8)
        f.seek(16 * (10**8 - 1))
        f.write(np.array([(1.0, 2.0, 3.0, 27.0)], dtype=POS_DTYPE).tobytes())
    p = read_pos(path, check_finite=False)  # the NaN/inf check would stream all 1.6 GB
    assert isinstance(p, np.memmap) and len(p) == 10**8
    assert tuple(p[-1]) == (1.0, 2.0, 3.0, 27.0) and p[12345]["mass"] == 0.0


def test_multiplicity_events():
    ev = multi_hit_events([1, 2, 0, 3, 0, 0, 1])
    np.testing.assert_array_equal(ev, [0, 1, 1, 2, 2, 2, 3])
    with pytest.raises(ValueError, match="inconsistent"):
        multi_hit_events([1, 2, 0, 0])


def test_agrees_with_ifes_reader_on_generated(tmp_path, rng, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ifes = pytest.importorskip("ifes_apt_tc_data_modeling.epos.epos_reader")
    d = _random_epos(rng, 2000)
    write_epos(tmp_path / "g.epos", d)
    r = ifes.ReadEposFileFormat(str(tmp_path / "g.epos"))
    e = read_epos(tmp_path / "g.epos")
    np.testing.assert_array_equal(r.get_reconstructed_positions().magnitude, np.stack([e["x"], e["y"], e["z"]], 1))
    np.testing.assert_array_equal(r.get_hit_positions().magnitude, np.stack([e["x_det"], e["y_det"]], 1))
    np.testing.assert_array_equal(r.get_ions_per_pulse().magnitude.ravel(), e["multiplicity"])


def test_real_sample_agrees_with_ifes_ion_for_ion(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = sample_dir()
    if d is None:
        pytest.skip("APAV sample files not available (set JAXEM_APT_SAMPLES)")
    pos_r = pytest.importorskip("ifes_apt_tc_data_modeling.pos.pos_reader")
    epos_r = pytest.importorskip("ifes_apt_tc_data_modeling.epos.epos_reader")
    p, e = read_pos(d / "Si.pos"), read_epos(d / "Si.epos")
    assert len(p) == len(e) == 945211
    rp = pos_r.ReadPosFileFormat(str(d / "Si.pos"))
    np.testing.assert_array_equal(rp.get_reconstructed_positions().magnitude, np.stack([p["x"], p["y"], p["z"]], 1))
    np.testing.assert_array_equal(rp.get_mass_to_charge_state_ratio().magnitude.ravel(), p["mass"])
    re_ = epos_r.ReadEposFileFormat(str(d / "Si.epos"))
    np.testing.assert_array_equal(re_.get_hit_positions().magnitude, np.stack([e["x_det"], e["y_det"]], 1))
    np.testing.assert_array_equal(re_.get_ions_per_pulse().magnitude.ravel(), e["multiplicity"])
    # documented invariant of the export: zeros = Σ(n − 1)·count(n)
    m = np.asarray(e["multiplicity"])
    assert (m == 0).sum() == 20366 == int(np.sum(np.clip(m - 1, 0, None)))
    write_epos(tmp_path / "c.epos", e)
    assert (tmp_path / "c.epos").read_bytes() == (d / "Si.epos").read_bytes()
