"""The front door: the README's "Ten lines" in the new style (Beam, Waves, Measurements) on a small cell."""
import jax.numpy as jnp
import numpy as np
import pytest

import jaxem as jx
import jaxem.potential  # noqa: F401  (the subpackage import must not hide jx.potential())


def test_lazy_front_door_runs_the_architecture_example():
    sto = jx.zone_axis(jx.crystals.SrTiO3(), [0, 0, 1]).repeat(2, 2, 2)
    pot = jx.potential(sto, sampling=0.15, slice_thickness=1.96)
    exit_wave = jx.multislice(jx.plane_wave(pot.grid, jx.Beam("300 kV")), pot)
    image = jx.hrtem_image(exit_wave, jx.Aberrations(C10=-50.0, C30=-1e4), objective_aperture=25.0,
                           focal_spread=30.0)
    assert isinstance(image, jx.Measurement) and image.shape == pot.grid.gpts
    assert bool(jnp.all(jnp.isfinite(image.array)))
    assert image.metadata["beam"]["energy"] == {"value": 300e3, "units": "eV"}
    for name in ("multislice", "Beam", "Waves", "plane_wave", "hrtem_image", "Aberrations", "diffraction_pattern",
                 "image_intensity", "fourier_shift"):
        assert name in dir(jx) and getattr(jx, name) is not None
    with pytest.raises(AttributeError):
        jx.not_a_thing


def test_readme_ten_lines_run_verbatim():
    """The README's "Ten lines" block, executed as written except the big cell (8×8×26 → 2×2×4)."""
    import re
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = re.search(r"## Ten lines\s+```python\n(.*?)```", readme, re.S).group(1)
    assert "repeat(8, 8, 26)" in code
    ns = {}
    exec(compile(code.replace("repeat(8, 8, 26)", "repeat(2, 2, 4)"), "README.md", "exec"), ns)
    image, haadf, exit_wave = ns["image"], ns["haadf"], ns["exit_wave"]
    assert isinstance(image, jx.Measurement) and image.axes[-1].units == "Å" and float(image.array.min()) > 0
    assert image.metadata["beam"]["energy"] == {"value": 300e3, "units": "eV"}
    dp = jx.diffraction_pattern(exit_wave, max_angle=60)
    assert dp.axes[-1].units == "mrad" and float(dp.array.sum()) == pytest.approx(1.0, abs=0.05)
    assert haadf.shape == (4, 4) and np.all(np.asarray(haadf.array) > 0)
