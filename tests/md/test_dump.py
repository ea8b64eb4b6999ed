import gzip
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxem.md import Trajectory, count_frames, iter_dump, read_dump, write_dump

# One configuration in an orthogonal box [1, 11) × [−2, 6) × [0, 6), written in every coordinate style.
LO = np.array([1.0, -2.0, 0.0])
L = np.array([10.0, 8.0, 6.0])
FRAC_U = np.array([[0.1, 0.2, 0.3], [1.25, -0.5, 0.75], [0.5, 0.5, 2.1]])  # unwrapped fractional
IDS = [3, 1, 2]  # file order (reader sorts by id): row k belongs to atom IDS[k]


def _atoms_lines(cols, frac_u, cell, origin, elements=("Si", "C", "C"), types=(2, 1, 1)):
    img = np.floor(frac_u)
    sw = frac_u - img
    vals = {"xs": sw, "xsu": frac_u, "x": origin + sw @ cell, "xu": origin + frac_u @ cell}
    out = []
    for k in range(len(frac_u)):
        row = []
        for c in cols:
            if c == "id":
                row.append(str(IDS[k]))
            elif c == "type":
                row.append(str(types[k]))
            elif c == "element":
                row.append(elements[k])
            elif c in ("ix", "iy", "iz"):
                row.append(str(int(img[k, "xyz".index(c[1])])))
            else:
                row.append(repr(float(vals["x" + c[1:]][k, "xyz".index(c[0])])))
        out.append(" ".join(row))
    return out


def _ortho_text(cols, timestep=100, frac_u=FRAC_U):
    lines = ["ITEM: TIMESTEP", str(timestep), "ITEM: NUMBER OF ATOMS", "3", "ITEM: BOX BOUNDS pp pp pp",
             f"{LO[0]} {LO[0] + L[0]}", f"{LO[1]} {LO[1] + L[1]}", f"{LO[2]} {LO[2] + L[2]}",
             "ITEM: ATOMS " + " ".join(cols)]
    return "\n".join(lines + _atoms_lines(cols, frac_u, np.diag(L), LO)) + "\n"


def _expected_unwrapped(cell=np.diag(L), origin=LO):
    order = np.argsort(IDS)
    return (origin + FRAC_U @ cell)[order]


@pytest.mark.parametrize("cols", [
    ["id", "type", "xu", "yu", "zu"],
    ["id", "type", "xsu", "ysu", "zsu"],
    ["id", "type", "x", "y", "z", "ix", "iy", "iz"],
    ["id", "type", "xs", "ys", "zs", "ix", "iy", "iz"],
    ["id", "element", "xs", "ys", "zs", "ix", "iy", "iz"],
])
def test_every_coordinate_style_gives_the_same_unwrapped_positions(tmp_path, cols):
    p = tmp_path / "a.dump"
    p.write_text(_ortho_text(cols))
    tr = read_dump(p, species=["C", "Si"])
    assert tr.unwrapped
    assert tr.ids.tolist() == [1, 2, 3]
    assert tr.numbers.tolist() == [6, 6, 14]
    assert np.allclose(tr.cells[0], np.diag(L)) and np.allclose(tr.origins[0], LO)
    assert np.allclose(tr.positions[0], _expected_unwrapped(), atol=1e-12)
    assert tr.timesteps.tolist() == [100]


def test_wrapped_without_images_stays_wrapped_for_one_frame(tmp_path):
    p = tmp_path / "a.dump"
    p.write_text(_ortho_text(["id", "type", "x", "y", "z"]))
    tr = read_dump(p, species=["C", "Si"])
    assert not tr.unwrapped
    s = tr.fractional()
    assert np.all((s >= 0) & (s < 1))
    assert np.allclose(tr.wrapped_positions()[0] + LO, tr.positions[0])


def _triclinic_text(cols):
    # xlo=0, xhi=10, ylo=0, yhi=8, zlo=0, zhi=6, xy=2, xz=-1, yz=1.5 (bounds by hand):
    # xlo_bound = 0 + min(0, 2, -1, 1) = -1, xhi_bound = 10 + max(0, 2, -1, 1) = 12
    # ylo_bound = 0 + min(0, 1.5) = 0,      yhi_bound = 8 + max(0, 1.5) = 9.5
    cell = np.array([[10.0, 0, 0], [2.0, 8.0, 0], [-1.0, 1.5, 6.0]])
    lines = ["ITEM: TIMESTEP", "0", "ITEM: NUMBER OF ATOMS", "3", "ITEM: BOX BOUNDS xy xz yz pp pp pp",
             "-1.0 12.0 2.0", "0.0 9.5 -1.0", "0.0 6.0 1.5", "ITEM: ATOMS " + " ".join(cols)]
    return "\n".join(lines + _atoms_lines(cols, FRAC_U, cell, np.zeros(3))) + "\n", cell


@pytest.mark.parametrize("cols", [["id", "type", "xs", "ys", "zs", "ix", "iy", "iz"], ["id", "type", "xu", "yu", "zu"],
                                  ["id", "type", "x", "y", "z", "ix", "iy", "iz"]])
def test_triclinic_bounds_to_lattice_vectors(tmp_path, cols):
    text, cell = _triclinic_text(cols)
    p = tmp_path / "tri.dump"
    p.write_text(text)
    tr = read_dump(p, species=["C", "Si"])
    assert np.allclose(tr.cells[0], cell, atol=1e-12)
    assert np.allclose(tr.origins[0], 0.0)
    assert np.allclose(tr.positions[0], _expected_unwrapped(cell, np.zeros(3)), atol=1e-12)


def test_general_triclinic_abc_origin(tmp_path):
    text = "\n".join(["ITEM: TIMESTEP", "5", "ITEM: NUMBER OF ATOMS", "1", "ITEM: BOX BOUNDS abc origin pp pp pp",
                      "4 1 0 0.5", "0 5 1 -1", "1 0 6 2", "ITEM: ATOMS id element xs ys zs", "1 O 0.5 0.5 0.5"]) + "\n"
    p = tmp_path / "g.dump"
    p.write_text(text)
    tr = read_dump(p)
    cell = np.array([[4, 1, 0], [0, 5, 1], [1, 0, 6.0]])
    assert np.allclose(tr.cells[0], cell) and np.allclose(tr.origins[0], [0.5, -1, 2])
    assert np.allclose(tr.positions[0, 0], [0.5, -1, 2] + 0.5 * cell.sum(0))


def test_agrees_with_ase_reader(tmp_path):
    ase_io = pytest.importorskip("ase.io")
    for name, text in (("o.dump", _ortho_text(["id", "type", "x", "y", "z"])),
                       ("t.dump", _triclinic_text(["id", "type", "x", "y", "z"])[0])):
        p = tmp_path / name
        p.write_text(text)
        tr = read_dump(p, species=["C", "Si"], unwrap="none")
        atoms = ase_io.read(p, format="lammps-dump-text", index=-1, specorder=["C", "Si"])
        assert np.allclose(np.asarray(atoms.cell), tr.cells[0], atol=1e-9)
        assert atoms.get_atomic_numbers().tolist() == tr.numbers.tolist()
        assert np.allclose(atoms.get_positions(), tr.positions[0], atol=1e-9)
        assert np.allclose(atoms.get_celldisp().ravel(), tr.origins[0], atol=1e-12)


def test_gzip_equals_plain(tmp_path):
    text = _ortho_text(["id", "element", "xu", "yu", "zu"]) * 1
    plain, gz = tmp_path / "a.dump", tmp_path / "a.dump.gz"
    plain.write_text(text)
    with gzip.open(gz, "wt") as f:
        f.write(text)
    a, b = read_dump(plain), read_dump(gz)
    assert np.array_equal(a.positions, b.positions) and np.array_equal(a.numbers, b.numbers)


def test_element_column_vs_type_with_species_order(tmp_path):
    p1, p2 = tmp_path / "e.dump", tmp_path / "t.dump"
    p1.write_text(_ortho_text(["id", "element", "xu", "yu", "zu"]))
    p2.write_text(_ortho_text(["id", "type", "xu", "yu", "zu"]))
    a = read_dump(p1)
    b = read_dump(p2, species=["C", "Si"])
    c = read_dump(p2, species={1: 6, 2: "Si"})
    assert a.numbers.tolist() == b.numbers.tolist() == c.numbers.tolist() == [6, 6, 14]
    swapped = read_dump(p2, species=["Si", "C"])
    assert swapped.numbers.tolist() == [14, 14, 6]


def _multi_frame_text(n_frames, cols=("id", "type", "xu", "yu", "zu"), drop_atom_in=None):
    rng = np.random.default_rng(0)
    texts = []
    for t in range(n_frames):
        fu = FRAC_U + 0.01 * rng.standard_normal(FRAC_U.shape)
        text = _ortho_text(list(cols), timestep=10 * t, frac_u=fu)
        if drop_atom_in == t:
            text = text.replace("NUMBER OF ATOMS\n3", "NUMBER OF ATOMS\n2").rsplit("\n", 2)[0] + "\n"
        texts.append(text)
    return "".join(texts)


def test_multiple_frames_selection_and_count(tmp_path):
    p = tmp_path / "m.dump"
    p.write_text(_multi_frame_text(7))
    assert count_frames(p) == 7
    tr = read_dump(p, species=["C", "Si"])
    assert tr.positions.shape == (7, 3, 3) and tr.timesteps.tolist() == list(range(0, 70, 10))
    sub = read_dump(p, species=["C", "Si"], start=1, stop=6, step=2)
    assert sub.timesteps.tolist() == [10, 30, 50]
    assert np.array_equal(sub.positions, tr.positions[1:6:2])
    frames = list(iter_dump(p, start=5))
    assert [f.timestep for f in frames] == [50, 60]


def test_timestep_fs_gives_times(tmp_path):
    p = tmp_path / "m.dump"
    p.write_text(_multi_frame_text(3))
    tr = read_dump(p, species=["C", "Si"], timestep_fs=0.5)
    assert np.allclose(tr.times, [0, 5, 10]) and tr.frame_interval_fs == 5.0


# ---- writer round trips -------------------------------------------------------------------------
STYLES = [("id", "type", "xu", "yu", "zu"), ("id", "element", "xsu", "ysu", "zsu"),
          ("id", "type", "x", "y", "z", "ix", "iy", "iz"), ("id", "element", "xs", "ys", "zs", "ix", "iy", "iz")]


@settings(max_examples=12)
@given(style=st.sampled_from(STYLES), tilt=st.lists(st.floats(-2.0, 2.0), min_size=3, max_size=3),
       gz=st.booleans(), seed=st.integers(0, 10_000))
def test_writer_reader_round_trip(tmp_path_factory, style, tilt, gz, seed):
    rng = np.random.default_rng(seed)
    cell = np.array([[9.0, 0, 0], [tilt[0], 7.0, 0], [tilt[1], tilt[2], 8.0]])
    nf, na = 4, 5
    frac = rng.uniform(-1.5, 2.5, (1, na, 3)) + np.cumsum(rng.normal(0, 0.05, (nf, na, 3)), axis=0)
    origin = np.array([0.5, -1.0, 2.0])
    pos = origin + frac @ cell
    vel = rng.normal(size=(nf, na, 3))
    tr = Trajectory.create(pos, rng.choice([6, 14, 8], na), cell, origin, timesteps=np.arange(nf) * 7,
                           ids=np.arange(na) + 10, velocities=vel, unwrapped=True)
    path = tmp_path_factory.mktemp("rt") / ("t.dump.gz" if gz else "t.dump")
    write_dump(path, tr, columns=style + ("vx", "vy", "vz"))
    back = read_dump(path, species=[z for z in sorted(set(tr.numbers.tolist()))])
    assert back.unwrapped
    assert np.allclose(back.positions, pos, atol=1e-9)
    assert np.allclose(back.cells, tr.cells, atol=1e-12) and np.allclose(back.origins, origin, atol=1e-12)
    assert np.array_equal(back.numbers, tr.numbers) and np.array_equal(back.ids, tr.ids)
    assert np.array_equal(back.timesteps, tr.timesteps) and np.allclose(back.velocities, vel, atol=1e-9)


def test_writer_is_atomic_and_rejects_bad_columns(tmp_path):
    tr = Trajectory.create(np.zeros((1, 1, 3)), ["C"], [3.0, 3.0, 3.0])
    with pytest.raises(ValueError, match="unsupported dump columns"):
        write_dump(tmp_path / "x.dump", tr, columns=("id", "foo"))
    with pytest.raises(ValueError, match="velocities"):
        write_dump(tmp_path / "x.dump", tr, columns=("id", "type", "x", "y", "z", "vx", "vy", "vz"))
    assert not (tmp_path / "x.dump").exists()


# ---- unwrapping ---------------------------------------------------------------------------------
def _random_walk(rng, nf=60, na=8, step=0.08):
    cell = np.array([[6.0, 0, 0], [1.0, 5.0, 0], [0.5, -0.7, 7.0]])
    frac = rng.uniform(0, 1, (1, na, 3)) + np.cumsum(rng.normal(0, step, (nf, na, 3)), axis=0)
    return frac @ cell, cell


def test_unwrapping_from_image_flags_and_by_continuity(tmp_path, rng):
    pos, cell = _random_walk(rng)
    assert np.ptp(pos @ np.linalg.inv(cell), axis=0).max() > 1.0  # atoms do cross boundaries
    tr = Trajectory.create(pos, ["Si"] * pos.shape[1], cell, unwrapped=True)
    with_images, no_images = tmp_path / "i.dump", tmp_path / "n.dump"
    write_dump(with_images, tr, columns=("id", "type", "x", "y", "z", "ix", "iy", "iz"))
    write_dump(no_images, tr, columns=("id", "type", "x", "y", "z"))
    a = read_dump(with_images, species=["Si"])
    b = read_dump(no_images, species=["Si"])  # continuity from frame 0's wrapped position
    c = read_dump(no_images, species=["Si"], unwrap="none")
    assert np.allclose(a.positions, pos, atol=1e-9)
    shift = pos[0] - b.positions[0]  # frame 0 is wrapped: a whole lattice vector per atom
    assert np.allclose(np.round(shift @ np.linalg.inv(cell)), shift @ np.linalg.inv(cell), atol=1e-9)
    assert np.allclose(b.positions + shift, pos, atol=1e-9)
    assert not c.unwrapped and np.all((c.fractional() >= -1e-12) & (c.fractional() < 1 + 1e-12))
    assert np.allclose(c.unwrap().positions, b.positions, atol=1e-9)
    with pytest.raises(ValueError, match="unwrap='images'"):
        read_dump(no_images, species=["Si"], unwrap="images")


# ---- errors -------------------------------------------------------------------------------------
def _expect(tmp_path, text, pattern, line=None, species=("C", "Si"), name="bad.dump"):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ValueError) as err:
        read_dump(p, species=species)
    msg = str(err.value)
    assert re.search(pattern, msg), msg
    assert name in msg
    if line is not None:
        assert f"line {line}" in msg, msg


def test_error_missing_columns(tmp_path):
    _expect(tmp_path, _ortho_text(["id", "type", "x", "y"]), "no complete coordinate set", line=9)
    _expect(tmp_path, _ortho_text(["type", "xu", "yu", "zu"]), "no 'id' column", line=9)
    _expect(tmp_path, _ortho_text(["id", "xu", "yu", "zu"]), "'type' or 'element'", line=9)


def test_error_unknown_type(tmp_path):
    _expect(tmp_path, _ortho_text(["id", "type", "xu", "yu", "zu"]), r"no species given for atom type\(s\) \[2\]",
            species=["C"])
    _expect(tmp_path, _ortho_text(["id", "type", "xu", "yu", "zu"]), r"species=\[", species=None)
    text = _ortho_text(["id", "element", "xu", "yu", "zu"]).replace(" Si ", " Xq ")
    _expect(tmp_path, text, "unknown element 'Xq'", line=1, name="el.dump")


def test_error_inconsistent_atom_counts(tmp_path):
    text = _multi_frame_text(3, drop_atom_in=1)
    _expect(tmp_path, text, "inconsistent atom counts.*timestep 10 has 2 atoms.*first frame has 3", line=13)


def test_error_truncated_files(tmp_path):
    text = _multi_frame_text(2)
    lines = text.splitlines()
    _expect(tmp_path, "\n".join(lines[:-1]) + "\n", "truncated: expected 3 atom lines from line 22, found 2")
    _expect(tmp_path, "\n".join(lines[:15]) + "\n", "truncated: expected number of atoms", line=15, name="b.dump")
    _expect(tmp_path, "\n".join(lines[:18]) + "\n", "truncated: expected box bounds", line=18, name="d.dump")
    gz = tmp_path / "c.dump.gz"
    raw = gzip.compress(text.encode())
    gz.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"c\.dump\.gz.*(truncated|corrupt)"):
        read_dump(gz, species=["C", "Si"])


def test_error_bad_numbers_and_headers(tmp_path):
    text = _ortho_text(["id", "type", "xu", "yu", "zu"]).replace("0.0", "abc", 1)
    _expect(tmp_path, text, "cannot parse", line=None)
    text = _ortho_text(["id", "type", "xu", "yu", "zu"])
    bad_row = text.splitlines()
    bad_row[10] = bad_row[10] + " 7"
    _expect(tmp_path, "\n".join(bad_row) + "\n", "has 6 values, expected 5", line=11, name="r.dump")
    _expect(tmp_path, "hello\n" + text, "expected 'ITEM: TIMESTEP'", line=1, name="h.dump")
    _expect(tmp_path, text.replace("\n2 1 ", "\n1 1 "), "duplicate atom ids", line=1, name="dup.dump")
    tri, _ = _triclinic_text(["id", "type", "xu", "yu", "zu"])
    _expect(tmp_path, tri.replace("-1.0 12.0 2.0", "-1.0 12.0"), "triclinic box 'lo_bound hi_bound tilt'", line=6,
            name="tri.dump")
    with pytest.raises(FileNotFoundError):
        read_dump(tmp_path / "missing.dump")
    with pytest.raises(ValueError, match="unwrap must be"):
        read_dump(tmp_path / "h.dump", unwrap="sometimes")


def test_count_frames_across_chunk_boundaries(tmp_path):
    p = tmp_path / "m.dump"
    p.write_text(_multi_frame_text(9))
    assert {count_frames(p, chunk_size=c) for c in (1, 5, 13, 14, 15, 97, 10_000)} == {9}


def test_shipped_sic_dump():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "jaxem" / "data" / "md" / "sic_300K.dump.gz"
    tr = read_dump(path, timestep_fs=0.5)
    assert tr.positions.shape == (101, 64, 3) and tr.unwrapped and tr.frame_interval_fs == 10.0
    assert sorted(set(tr.numbers.tolist())) == [6, 14] and np.sum(tr.numbers == 6) == 32
    assert np.allclose(tr.cells, np.diag([8.72] * 3))
