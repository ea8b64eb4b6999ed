import numpy as np
import pytest

from jaxem.apt import RangeTable, format_rrng, read_rng, read_rrng, write_rrng

from ._samples import sample_dir

RRNG_COMMA = """[Ions]
Number=3
Ion1=Mo
Ion2=O
Ion3=Fe
[Ranges]
Number=4
Range1=22,8615 23,3120 Vol:0,01530 Mo:1 Color:33FFFF
Range2=45,7000 46,2500 Vol:0,01530 Mo:1 Color:33FFFF
Range3=55,6000 56,4000 Vol:0,04000 Mo:1 O:2 Color:FF0000
Range4=27,8000 28,1000 Vol:0,01178 Fe:1 Color:FF00FF
"""

RNG = """3 3
Fe
Fe 1.00 0.00 1.00
Cr
Cr 1.00 0.20 0.80
O
O 0.00 0.80 1.00
--------- Fe Cr O
. 27.8000 28.1000 1 0 0
. 33.8980 34.8020 0 1 1
. 25.9 26.1 0 1 0
"""


def test_rrng_decimal_commas_molecular(tmp_path):
    (tmp_path / "m.rrng").write_text(RRNG_COMMA)
    t = read_rrng(tmp_path / "m.rrng")
    np.testing.assert_allclose(t.lo, [22.8615, 45.7, 55.6, 27.8])
    assert t.ions[2] == (("Mo", 1), ("O", 2))
    assert t.ion_names == ["Mo", "MoO2", "Fe"]
    np.testing.assert_allclose(t.volume[2], 0.04)
    np.testing.assert_array_equal(t.assign([23.0, 56.0, 10.0, 28.0, 23.3120]), [0, 1, -1, 2, -1])


def test_rrng_roundtrip_byte_exact(tmp_path):
    (tmp_path / "m.rrng").write_text(RRNG_COMMA)
    t = read_rrng(tmp_path / "m.rrng")
    write_rrng(tmp_path / "a.rrng", t)
    t2 = read_rrng(tmp_path / "a.rrng")
    assert t2 == t
    write_rrng(tmp_path / "b.rrng", t2)
    assert (tmp_path / "a.rrng").read_bytes() == (tmp_path / "b.rrng").read_bytes()


def test_rng_and_errors(tmp_path):
    (tmp_path / "a.rng").write_text(RNG)
    t = read_rng(tmp_path / "a.rng")
    assert t.ion_names == ["Fe", "CrO", "Cr"] and t.color[0] == "FF00FF"
    (tmp_path / "o.rrng").write_text(RRNG_COMMA.replace("27,8000 28,1000", "23,0000 24,0000"))
    with pytest.raises(ValueError, match=r"o\.rrng.*overlapping ranges 1 .*and 4"):
        read_rrng(tmp_path / "o.rrng")
    (tmp_path / "n.rrng").write_text(RRNG_COMMA.replace("Number=4", "Number=5"))
    with pytest.raises(ValueError, match="Number=5"):
        read_rrng(tmp_path / "n.rrng")
    (tmp_path / "b.rng").write_text(RNG.replace(". 25.9 26.1 0 1 0", ". 25.9 26.1 0 1"))
    with pytest.raises(ValueError, match=r"b\.rng.*line 11"):
        read_rng(tmp_path / "b.rng")
    with pytest.raises(ValueError, match="hi="):
        RangeTable([2.0], [1.0], [{"Fe": 1}])


def test_rrng_agrees_with_ifes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ifes = pytest.importorskip("ifes_apt_tc_data_modeling.rrng.rrng_reader")
    (tmp_path / "m.rrng").write_text(RRNG_COMMA)
    r = ifes.ReadRrngFileFormat(str(tmp_path / "m.rrng"))
    theirs = sorted(tuple(np.round(m.ranges.magnitude[0], 4)) for m in r.rrng["molecular_ions"])
    t = read_rrng(tmp_path / "m.rrng")
    assert theirs == sorted(zip(np.round(t.lo, 4), np.round(t.hi, 4)))


def test_real_range_files(tmp_path):
    d = sample_dir()
    if d is None:
        pytest.skip("APAV sample files not available (set JAXEM_APT_SAMPLES)")
    a, b = read_rrng(d / "Si.RRNG"), read_rng(d / "Si.RNG")
    assert len(a.lo) == len(b.lo) == 25
    oa, ob = np.argsort(a.lo), np.argsort(b.lo)
    np.testing.assert_array_equal(a.lo[oa], b.lo[ob])
    assert [dict(a.ions[i]) for i in oa] == [dict(b.ions[i]) for i in ob]
    assert set(a.ion_names) == {"Si", "Cr", "Cu", "C", "O", "CrO", "CrO2", "Cr2O"}
    write_rrng(tmp_path / "s.rrng", a)
    assert read_rrng(tmp_path / "s.rrng") == a
    # Si.RRNG is written with 4 decimals: our canonical form reproduces its range lines exactly
    src = [ln for ln in (d / "Si.RRNG").read_text().splitlines() if ln.startswith("Range")]
    ours = [ln for ln in format_rrng(a).splitlines() if ln.startswith("Range")]
    assert src == ours


@pytest.mark.parametrize("content,match", [
    (b"", r"RRNG file is empty"),
    (b"   \n\n", r"RRNG file is empty"),
    (bytes(range(256)) * 4, r"RRNG file is binary"),
    (RRNG_COMMA.split("[Ranges]")[1].encode(), r"line 2: 'Number=4' before the first section header"),
    (RRNG_COMMA.split("[Ranges]")[0].encode(), r"has no \[Ranges\] section"),
    (RRNG_COMMA.replace("[Ranges]\nNumber=4", "[Ranges]\nNumber=abc").encode(), r"line 7: \[ranges\] Number='abc' is not an integer"),
    (RRNG_COMMA.replace("Number=3", "Number=2").encode(), r"line 2: \[Ions\] Number=2 but 3 ions listed"),
    (RRNG_COMMA.replace("Color:FF00FF", "Color:FF00F").encode(), r"line 11: colour 'Color:FF00F' is not 6 hex"),
    (RRNG_COMMA.replace("Vol:0,04000", "Vol:x").encode(), r"line 10: cannot read the volume in 'Vol:x'"),
    (RRNG_COMMA.replace("Range2=45,7000", "Range2=").encode(), r"line 9: cannot read range bounds"),
    (RRNG_COMMA.replace("Range2=45,7000 46,2500", "Range2 45,7000 46,2500").encode(), r"line 9: expected 'key=value'"),
    (RRNG_COMMA.replace("22,8615", "nan").encode(), r"range 1 has a non-finite bound"),
])
def test_damaged_rrng_is_an_error_not_an_empty_table(tmp_path, content, match):
    (tmp_path / "d.rrng").write_bytes(content)
    with pytest.raises(ValueError, match=r"d\.rrng.*" + match):
        read_rrng(tmp_path / "d.rrng")


@pytest.mark.parametrize("content,match", [
    ("", r"RNG file is empty"),
    ("three 3\n", r"line 1: expected 'n_ions n_ranges'"),
    ("\n".join(RNG.splitlines()[:9]) + "\n", r"line 10: the file ends after 9 lines"),
    (RNG.replace("Cr 1.00 0.20 0.80", "Cr 1.00 x 0.80"), r"line 5: expected 'name r g b'"),
    (RNG.replace("--------- Fe Cr O", "Fe Cr O"), r"line 8: expected the '----- El1 El2 …' header"),
    (RNG.replace(". 25.9 26.1 0 1 0", ". 25.9 26.1 0 0 0"), r"line 11: range without ion composition"),
])
def test_damaged_rng_names_the_line(tmp_path, content, match):
    (tmp_path / "d.rng").write_text(content)
    with pytest.raises(ValueError, match=r"d\.rng.*" + match):
        read_rng(tmp_path / "d.rng")


def test_range_table_is_a_pytree(tmp_path):
    import jax

    (tmp_path / "m.rrng").write_text(RRNG_COMMA)
    t = read_rrng(tmp_path / "m.rrng")
    doubled = jax.tree.map(lambda a: a * 2, t)
    np.testing.assert_allclose(doubled.lo, 2 * t.lo)
    assert doubled.ions == t.ions and doubled.color == t.color
    assert len(jax.tree.leaves(t)) == 3  # lo, hi, volume; compositions and colours are static
    with pytest.raises(ValueError, match="lo, hi and ions must have equal length"):
        RangeTable([1.0, 2.0], [1.5], [{"Fe": 1}])
