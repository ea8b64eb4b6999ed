"""``jaxem simulate`` [stem]: ``haadf_weighting`` sets the annular detector's pixel weights
(``jaxem.stem.AnnularDetector(weighting=)``); bad values and a weighting without a detector are named."""
import pytest

from jaxem.cli import stem_config
from jaxem.stem import AnnularDetector
from jaxem.stem.detectors import WEIGHTINGS
from jaxem.validate import InputError, InputTypeError

from .test_simulate_command import STEM as CONFIG  # a minimal [stem] config


def _load(tmp_path, extra):
    path = tmp_path / "scan.toml"
    path.write_text(CONFIG + extra)
    return stem_config.load_stem_config(path)


@pytest.mark.parametrize("weighting", [None, "centre", "fraction"])
def test_haadf_weighting_reaches_the_detector(tmp_path, weighting):
    extra = "haadf = [40.0, 80.0]\n" + ("" if weighting is None else f'haadf_weighting = "{weighting}"\n')
    sim, _, _, _ = stem_config._setup(_load(tmp_path, extra), None)
    [haadf] = [d for d in sim.detectors if isinstance(d, AnnularDetector)]
    assert (haadf.inner, haadf.outer, haadf.name) == (40.0, 80.0, "HAADF")
    assert haadf.weighting == (weighting or "centre")
    check = stem_config.SCHEMA["haadf_weighting"]
    with pytest.raises(InputError) as err:  # the CLI offers exactly the detector's weightings
        check("haadf_weighting", "nearest")
    assert f"one of {', '.join(map(repr, WEIGHTINGS))}, got" in str(err.value)
    assert all(check("haadf_weighting", w) == w for w in WEIGHTINGS)


def test_haadf_weighting_hostile(tmp_path):
    with pytest.raises(InputError, match=r"haadf_weighting must be one of 'centre', 'fraction', got 'area'"):
        _load(tmp_path, 'haadf = [40.0, 80.0]\nhaadf_weighting = "area"\n')
    with pytest.raises(InputError, match=r"did you mean 'fraction'"):
        _load(tmp_path, 'haadf = [40.0, 80.0]\nhaadf_weighting = "fractoin"\n')
    with pytest.raises(InputTypeError, match="haadf_weighting must be a string, got int 1"):
        _load(tmp_path, "haadf = [40.0, 80.0]\nhaadf_weighting = 1\n")
    with pytest.raises(InputError, match=r"haadf_weighting .* needs haadf = \[inner, outer\]"):
        _load(tmp_path, 'haadf_weighting = "fraction"\n')
